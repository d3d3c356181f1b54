"""Sessions, CSRF and form plumbing shared by every page, so handlers stay a few lines each.

A handler is a plain function `(ctx) -> Response` that runs in a worker thread. The `page`
decorator resolves who is calling, refuses a POST whose hidden `csrf` field does not match, and
turns a service error the handler did not catch into an error page (never a 500 for bad input).
Logged-in users' forms carry their session's CSRF token; forms shown before login (log in, sign
up) carry a double-submit token from the `keyvend_form` cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from keyvend.api.registry import ENDPOINTS
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    KeyvendError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
)
from keyvend.domain.vault import new_token
from keyvend.edge import csrf
from keyvend.edge.cookies import (
    FLASH_COOKIE,
    FORM_COOKIE,
    SESSION_COOKIE,
    Cookie,
    login_cookies,
    write_cookies,
)
from keyvend.edge.ratelimit import Verdict, guard
from keyvend.services import auth
from keyvend.services.auth import Actor, Role
from keyvend.web.templating import render_template

MAX_FIELDS = 1000
MAX_VALUE = 20_000
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000
FORM_COOKIE_SECONDS = 24 * 3600
FLASH_COOKIE_SECONDS = 120
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
LOGIN_PAGES: dict[Role, str] = {"admin": "/admin", "client": "/"}
# The HTTP status of an error page, by error class; any other refusal is a 400.
PAGE_STATUS: dict[type[KeyvendError], int] = {
    NotFound: 404,
    Conflict: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    RateLimited: 429,
    ServiceUnavailable: 503,
}

Handler = Callable[["Ctx"], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


class FormValues:
    """Submitted fields: first value, every value of a repeated field, checkboxes."""

    def __init__(self, data: Mapping[str, list[str]] | None = None) -> None:
        self._data = dict(data or {})

    def get(self, name: str, default: str = "") -> str:
        values = self._data.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(self._data.get(name, []))

    def checked(self, name: str) -> bool:
        return self.get(name).strip().lower() in {"1", "on", "true", "yes"}

    def __contains__(self, name: object) -> bool:
        return name in self._data


@dataclass
class Ctx:
    """One request as a handler sees it: caller, CSRF token, form, and response helpers."""

    request: Request
    actor: Actor | None
    csrf: str
    form: FormValues = field(default_factory=FormValues)
    new_form_token: str | None = None
    cookies: list[Cookie] = field(default_factory=list)  # set on the response it returns

    @property
    def db(self) -> Database:
        database: Database = self.request.app.state.db
        return database

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings

    @property
    def actor_id(self) -> int:
        assert self.actor is not None, "the page decorator guarantees an actor"
        return self.actor.id

    def path_int(self, name: str) -> int:
        """An id from the path; ids beyond the database's integers do not exist."""
        value = int(self.request.path_params[name])
        if not 1 <= value <= MAX_ID:
            raise NotFound("Not found")
        return value

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)[:255]

    def page_number(self) -> int:
        """The `page` query parameter of a list, within 1 to MAX_PAGE."""
        text = self.query("page", "1")
        return min(int(text), MAX_PAGE) if is_number(text) and int(text) > 0 else 1

    def wants_json(self) -> bool:
        return "application/json" in self.request.headers.get("accept", "")

    def render(self, template: str, *, status: int = 200, **context: Any) -> Response:
        """An HTML page with the caller, CSRF token and any flash message filled in."""
        flash = self.request.cookies.get(FLASH_COOKIE)
        html = render_template(
            template,
            actor=self.actor,
            csrf=self.csrf,
            flash=unquote(flash)[:300] if flash else None,
            path=self.request.url.path,
            **context,
        )
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        if flash:
            self.cookies.append(Cookie(FLASH_COOKIE, None))
        return self._finish(response)

    def redirect(self, url: str, message: str | None = None) -> Response:
        """POST-redirect-GET; the message is shown once on the next page."""
        response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
        if message:
            self.cookies.append(Cookie(FLASH_COOKIE, quote(message), FLASH_COOKIE_SECONDS))
        return self._finish(response)

    def json(self, data: Any, status: int = 200) -> Response:
        return self._finish(JSONResponse(data, status_code=status, headers=SECURITY_HEADERS))

    def limit(self, call: tuple[str, str, str]) -> None:
        """Count this request against the rate limits of the API endpoint `call` (the one
        doing the same: log in, sign up), as that endpoint itself would."""
        policies = ENDPOINTS[call].policies
        guard(self.request.scope, lambda: None, policies=policies, verdict=Verdict())

    def start_session(self, session: auth.LoginSession, home: str, message: str) -> Response:
        """Set the session and CSRF cookies of a fresh login and go to `home`."""
        self.cookies.extend(login_cookies(session, self.settings.session_ttl_hours))
        return self.redirect(home, message)

    def _finish(self, response: Response) -> Response:
        cookies = list(self.cookies)
        if self.new_form_token:
            cookies.append(Cookie(FORM_COOKIE, self.new_form_token, FORM_COOKIE_SECONDS))
        write_cookies(self.request, response, cookies)
        return response


def page(role: Role | None) -> Callable[[Handler], Endpoint]:
    """Turn a handler into a route endpoint for `role` (None: anyone may see the page)."""

    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            form = await _read_form(request) if request.method == "POST" else FormValues()
            return await run_in_threadpool(_run, handler, role, request, form)

        endpoint.__doc__ = handler.__doc__
        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


def _run(handler: Handler, role: Role | None, request: Request, form: FormValues) -> Response:
    ctx = _context(request, role, form)
    if isinstance(ctx, Response):
        return ctx
    try:
        return handler(ctx)
    except KeyvendError as exc:
        return error_page(ctx, exc)


def error_page(ctx: Ctx, exc: KeyvendError) -> Response:
    """The one mapping of service errors to pages: the class's title, a page status."""
    status = next((s for cls, s in PAGE_STATUS.items() if isinstance(exc, cls)), 400)
    return ctx.render("error.html", status=status, title=exc.title, message=exc.message)


def _context(request: Request, role: Role | None, form: FormValues) -> Ctx | Response:
    """The caller of this request, or the response that refuses it."""
    db: Database = request.app.state.db
    token = request.cookies.get(SESSION_COOKIE)
    actor, session_csrf = _session(db, token) if token else (None, None)
    posted = request.method == "POST"
    if role is not None and (actor is None or actor.role != role):
        message = "Your session has expired; please log in again." if posted else None
        return Ctx(request, None, "").redirect(LOGIN_PAGES[role], message)
    form_token = request.cookies.get(FORM_COOKIE)
    fresh = None if session_csrf or form_token else new_token()
    ctx = Ctx(request, actor, session_csrf or form_token or fresh or "", form, fresh)
    sent = form.get(csrf.CSRF_FIELD)
    if posted and not csrf.form_ok(
        sent, session_csrf=session_csrf, form_token=form_token, public_page=role is None
    ):
        ctx.csrf = session_csrf or form_token or ""
        return ctx.render(
            "error.html",
            status=403,
            title="Form expired",
            message="This form could not be verified (its security token is missing or old). "
            "Go back, reload the page and submit it again.",
        )
    return ctx


def _session(db: Database, token: str) -> tuple[Actor | None, str | None]:
    """The actor and CSRF token of a live session, or (None, None)."""
    try:
        return auth.live_session(db, token)
    except KeyvendError:
        return None, None


async def _read_form(request: Request) -> FormValues:
    try:
        raw = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception:  # a malformed or oversized body is treated as an empty form
        return FormValues()
    data: dict[str, list[str]] = {}
    for name, value in raw.multi_items():
        if not isinstance(value, UploadFile):
            # NUL never belongs in a form value, and PostgreSQL refuses it in text columns.
            data.setdefault(name[:100], []).append(value[:MAX_VALUE].replace("\x00", ""))
    return FormValues(data)


def is_number(text: str) -> bool:
    """Only ASCII digits (`"²".isdigit()` is true, yet int() refuses it)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def form_id(text: str, what: str) -> int:
    """A record id chosen in a form; InvalidInput naming `what` when there is none."""
    text = text.strip()
    if not is_number(text) or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput(f"{what} is required: choose one from the list", field=what)
    return int(text)
