"""CORS for the guest endpoints only: pages on the configured origins may check keys from a
browser; admin and client calls, which authenticate, are never opened to other origins.

Off unless `KEYVEND_CORS_ORIGINS` names origins, and then not even installed, so the check
lane pays nothing for it by default."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

GUEST_PREFIX = "/api/guest/"
# What a browser may send and read: the application token, the revocation stream's resume
# point, and the headers that tell an application about its budget and the key feed.
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Last-Event-ID"]
EXPOSED_HEADERS = [
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "X-Keyvend-Seq",
    "X-Request-ID",
]
PREFLIGHT_MAX_AGE = 600


class GuestCors:
    """Send `/api/guest/...` requests (preflights included) through Starlette's CORS
    middleware; every other request goes straight to `app`."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            allow_credentials=False,  # guest calls carry a Bearer token, never cookies
            max_age=PREFLIGHT_MAX_AGE,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(GUEST_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def cors_middleware(origins: list[str]) -> list[Middleware]:
    """The CORS layer for `origins`, or none at all when CORS is off."""
    return [Middleware(GuestCors, origins=origins)] if origins else []
