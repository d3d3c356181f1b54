"""Every error page, in one place: service errors by class, and the refused forms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from keyvend.domain.errors import (
    Conflict,
    Forbidden,
    KeyvendError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
)

if TYPE_CHECKING:
    from keyvend.web.page import Ctx

# The HTTP status of an error page, by error class; any other refusal is a 400.
PAGE_STATUS: dict[type[KeyvendError], int] = {
    NotFound: 404,
    Conflict: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    RateLimited: 429,
    ServiceUnavailable: 503,
}


def status_of(exc: KeyvendError) -> int:
    """The page status of a service error, also for a form shown again with its message."""
    return next((s for cls, s in PAGE_STATUS.items() if isinstance(exc, cls)), 400)


def error_page(ctx: Ctx, exc: KeyvendError) -> Response:
    """The one mapping of service errors to pages: the class's title, a page status."""
    return ctx.render("error.html", status=status_of(exc), title=exc.title, message=exc.message)


def form_expired_page(ctx: Ctx) -> Response:
    """A posted form without the right CSRF token."""
    return ctx.render(
        "error.html",
        status=403,
        title="Form expired",
        message="This form could not be verified (its security token is missing or old). "
        "Go back, reload the page and submit it again.",
    )


def form_too_large_page(ctx: Ctx) -> Response:
    """A posted form whose body is over the page limit, refused unread."""
    return ctx.render(
        "error.html",
        status=413,
        title="Form too large",
        message="This form is larger than the server accepts. "
        "Go back, shorten what you entered and submit it again.",
    )
