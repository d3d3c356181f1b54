"""create_app(settings) -> the ASGI app: database, API routes, docs and pages."""

from __future__ import annotations

import gc
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, request_response

import keyvend.api.endpoints  # noqa: F401  (registers every endpoint)
from keyvend import lifespan
from keyvend.adapters.gateways import gateways_for
from keyvend.adapters.meter import RedisMeter
from keyvend.api import docs, key_events
from keyvend.api.dispatch import api_call, not_a_call
from keyvend.api.envelope import error_response
from keyvend.api.hot_path import HotPath
from keyvend.api.stripe_webhook import stripe_webhook
from keyvend.config import Settings, load_secret
from keyvend.db.engine import make_engine
from keyvend.db.unit_of_work import Clock, Database, utc_now
from keyvend.domain.errors import BodyTooLarge, MalformedCall, MethodNotFound, NotFound
from keyvend.domain.shop import Shop
from keyvend.domain.vault import KeyVault
from keyvend.edge.body_limit import BodyLimit
from keyvend.edge.client_address import proxy_middleware
from keyvend.edge.cors import cors_middleware
from keyvend.edge.headers import DOCS_HEADERS, NOSNIFF, WithHeaders
from keyvend.edge.ratelimit import RateLimiter
from keyvend.observability import routes as operations
from keyvend.observability.logs import configure_logging
from keyvend.observability.middleware import RequestContext
from keyvend.services import secret
from keyvend.services.key_feed import KeyFeed
from keyvend.web import pages
from keyvend.web.error_pages import error_page
from keyvend.web.page import Ctx

log = logging.getLogger("keyvend")


def build_database(settings: Settings, clock: Clock = utc_now) -> Database:
    """The engine and vault for these settings."""
    timeout = settings.database_timeout
    engine = make_engine(settings.effective_database_url, timeout=timeout)
    database = Database(
        engine,
        KeyVault(load_secret(settings)),
        clock,
        timeout=timeout,
        shop=Shop(
            currency=settings.currency,
            public_url=settings.effective_public_url,
            suspend_grace_days=settings.suspend_grace_days,
            mail_templates=settings.data_dir / "templates" / "email",
        ),
    )
    if settings.redis_url:
        # Quotas shared by every worker and host; the memory meter is the fallback.
        database.meter = RedisMeter(settings.redis_url, fallback=database.meter)
    return database


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    """A Keyvend ASGI app; tests pass their own settings (and clock, via `database`)."""
    settings = settings or Settings()
    configure_logging(settings)
    db = database or build_database(settings)
    routes = [
        *operations.routes(settings, db),
        Route(key_events.PATH, key_events.key_events, methods=["GET"]),
        Route("/api/{role}/{module}/{method}", api_call, methods=["GET", "POST"]),
        Route("/api/{rest:path}", not_a_call, methods=["GET", "POST"]),
        Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
        Route("/openapi.json", docs.openapi_json, methods=["GET"]),
        Route(
            "/docs", WithHeaders(request_response(docs.docs_page), DOCS_HEADERS), methods=["GET"]
        ),
        *pages.routes(),
        Mount("/static", app=WithHeaders(pages.static_files(), NOSNIFF), name="static"),
    ]
    app = Starlette(
        routes=routes,
        # The request id comes first (outermost), so every line logged for a request carries
        # it; then the proxy layer: everything inside, the fast lane included, sees the real
        # client and scheme in the scope.
        middleware=[
            Middleware(RequestContext, access_log=settings.access_log),
            *proxy_middleware(settings.trusted_proxies),
            *cors_middleware(settings.cors_origins),
            Middleware(BodyLimit, refuse=_too_large),
            Middleware(HotPath),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan.of_server_process(db, settings),
    )
    app.state.settings = settings
    app.state.db = db
    app.state.gateways = gateways_for(settings)
    # The limiter reads the database's clock, so tests drive both with one fake clock.
    app.state.limiter = RateLimiter(settings, clock=lambda: db.clock().timestamp())
    app.state.key_feed = KeyFeed(db)
    return app


def _too_large(path: str, exc: BodyTooLarge) -> Response:
    """The API's envelope for API calls, plain text for anything else."""
    if path.startswith("/api/"):
        return error_response(exc)
    return PlainTextResponse(exc.message, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        if exc.status_code == 405:
            return error_response(MalformedCall("Use GET or POST for API calls"))
        message = exc.detail or "Not found"
        return error_response(
            MethodNotFound(message) if exc.status_code == 404 else MalformedCall(message)
        )
    if exc.status_code == 404 and _is_browser(request):
        return error_page(Ctx(request, None, ""), NotFound("There is no page at this address."))
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


def _is_browser(request: Request) -> bool:
    """Whether the caller asked for HTML first (a browser), not JSON (an API client)."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split(",")[0]


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` and `keyvend serve` workers: settings from env."""
    settings = Settings()
    db = build_database(settings)
    # Refuse a secret that is not the database's, and adopt the token key that a secret
    # rotation keeps, so API tokens and sessions survive `keyvend secret rotate`.
    secret.check(db, settings)
    app = create_app(settings, database=db)
    # Everything imported and built so far lives as long as the worker: move it out of the
    # garbage collector's sight, so collections stay short on the hot path (lower p99).
    gc.collect()
    gc.freeze()
    return app
