"""Key checks made by an application: `Authorization: Bearer <application token>`.

Both lanes (the fast lane and the dispatcher) run such a call through `as_application`, so
they count and refuse alike: the call spends the application's budget, never the caller IP's
`guest` or `guest_miss` ones, and a wrong token is a 401 that spends one of the IP's guest
calls (so tokens cannot be guessed faster than keys).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.types import Scope

from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import Unauthenticated
from keyvend.edge.client_address import client_ip
from keyvend.edge.ratelimit import RateLimiter, Verdict, guard
from keyvend.services import application

T = TypeVar("T")
POLICIES = ("application",)
MAX_TOKEN = 200


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header; None for any other header."""
    if header is None or header[:7].lower() != "bearer ":
        return None
    return header[7:].strip()


def identify(scope: Scope, db: Database, token: str | None, *, verdict: Verdict) -> int:
    """The id of the application holding `token`; a wrong (or missing) one is Unauthenticated
    and spends one of the caller IP's guest calls."""
    try:
        if not token or len(token) > MAX_TOKEN or not token.isprintable():
            raise Unauthenticated(application.BAD_TOKEN)
        return application.identify(db, token)
    except Unauthenticated:
        limiter: RateLimiter = scope["app"].state.limiter
        limiter.count_bad_token(client_ip(scope), verdict)
        raise


def as_application(
    scope: Scope,
    db: Database,
    token: str,
    run: Callable[[], T],
    *,
    verdict: Verdict,
    missed: Callable[[T], bool] | None = None,
) -> T:
    """`run()` for the application holding `token`, counted against that application."""
    application_id = identify(scope, db, token, verdict=verdict)
    return guard(
        scope,
        run,
        policies=POLICIES,
        verdict=verdict,
        subject=f"application:{application_id}",
        missed=missed,
    )
