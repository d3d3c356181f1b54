"""The operator's endpoints: /healthz, /readyz and /metrics (outside /api: never rate limited)."""

from __future__ import annotations

import hmac

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from keyvend.config import Settings
from keyvend.db.models import Email
from keyvend.db.unit_of_work import Database
from keyvend.observability import metrics
from keyvend.observability.health import ReadinessProbe
from keyvend.schemas.email import EmailStatus
from keyvend.services import webhook

NO_STORE = {"Cache-Control": "no-store"}


def routes(settings: Settings, db: Database) -> list[Route]:
    """The three routes, bound to this app's database, Redis and metrics token."""
    probe = ReadinessProbe(db.engine, settings.redis_url)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    async def readyz(request: Request) -> JSONResponse:
        """Ready (200) when the database is reachable and migrated; Redis state beside it."""
        readiness = await probe.check()
        status = 200 if readiness.ready else 503
        return JSONResponse(readiness.as_json(), status_code=status, headers=NO_STORE)

    def metrics_text(request: Request) -> Response:
        """Prometheus text of every worker; with a metrics token, only for its bearer."""
        if token is not None and not _bearer_matches(request, token):
            return Response(
                "metrics token required\n",
                status_code=401,
                headers={**NO_STORE, "WWW-Authenticate": 'Bearer realm="metrics"'},
                media_type="text/plain",
            )
        body = metrics.exposition() + metrics.outbox_exposition(_outbox_counts(db))
        body += metrics.webhook_exposition(_webhook_counts(db))
        return Response(body, headers=NO_STORE, media_type=metrics.CONTENT_TYPE)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
    ]


def _webhook_counts(db: Database) -> dict[str, int]:
    """Webhook deliveries by status; none when the database cannot say."""
    try:
        return webhook.counts(db)
    except SQLAlchemyError:
        return {}


def _outbox_counts(db: Database) -> dict[str, int]:
    """Mails by status; every status present (0 too), none when the database cannot say."""
    try:
        with db.unit_of_work(read_only=True) as uow:
            rows = uow.session.execute(
                select(Email.status, func.count(Email.id)).group_by(Email.status)
            ).all()
    except SQLAlchemyError:
        return {}  # the process's own metrics still answer; /readyz tells of the database
    counts = dict.fromkeys((status.value for status in EmailStatus), 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


async def healthz(request: Request) -> JSONResponse:
    """The process answers; nothing else is touched."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    # Compared as bytes in constant time: the time taken says nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())
