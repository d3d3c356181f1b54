"""The FOSSBilling envelope, and the one place that maps errors to it."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.responses import JSONResponse

from keyvend.db.unit_of_work import CONFLICT_MESSAGE
from keyvend.domain.errors import (
    DATABASE_UNAVAILABLE,
    Conflict,
    KeyvendError,
    RateLimited,
    ServiceUnavailable,
)

log = logging.getLogger("keyvend.api")
# API answers carry keys, tokens and key states that change at once: no cache may keep them.
NO_STORE = {"Cache-Control": "no-store"}
LOG_EVERY_SECONDS = 60.0
_last_logged: dict[tuple[str, str], float] = {}


class Envelope(JSONResponse):
    """JSON as Starlette writes it; text that UTF-8 cannot hold (a lone surrogate stored
    before input refused them) is written as JSON escapes instead of failing the answer."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, separators=(",", ":")).encode()


def ok(result: Any) -> JSONResponse:
    """`{"result": ..., "error": null}`; schemas as `model_dump(mode="json")`."""
    return Envelope({"result": to_json(result), "error": None}, headers=NO_STORE)


def to_json(result: Any) -> Any:
    """A service's result as JSON values: schemas dumped in JSON mode, anything else as is."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [to_json(item) for item in result]
    return result


def failure(exc: KeyvendError) -> JSONResponse:
    """`{"result": null, "error": {"message": ..., "code": N}}` with the class's HTTP status."""
    body = {"result": None, "error": {"message": exc.message, "code": exc.code}}
    response = JSONResponse(body, status_code=exc.status, headers=NO_STORE)
    if isinstance(exc, RateLimited | ServiceUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def error_response(exc: Exception) -> JSONResponse:
    """Turn any exception into the envelope; never leak a stack trace to the client."""
    if isinstance(exc, KeyvendError):
        return failure(exc)
    if isinstance(exc, IntegrityError):  # a race the unit of work did not see at commit
        return failure(Conflict(CONFLICT_MESSAGE))
    if isinstance(exc, OperationalError | InterfaceError | SQLAlchemyTimeout):
        # An outage, not a refusal: 503 lets clients tell the two apart (and serve stale).
        log.error("database unavailable: %s", type(getattr(exc, "orig", exc)).__name__)
        return failure(ServiceUnavailable(DATABASE_UNAVAILABLE))
    _log_once(exc)
    response = failure(KeyvendError("Internal server error"))
    response.status_code = 500
    return response


def _log_once(exc: Exception) -> None:
    """A server fault is logged with its traceback once a minute per kind and place, so a
    flood of one broken request cannot flood the log."""
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame else "?"
    key = (type(exc).__name__, where)
    now = time.monotonic()
    if now - _last_logged.get(key, -LOG_EVERY_SECONDS) < LOG_EVERY_SECONDS:
        return
    if len(_last_logged) > 1000:  # bounded: many kinds of fault cannot grow it for ever
        _last_logged.clear()
    _last_logged[key] = now
    log.error("unexpected error (logged once a minute)", exc_info=exc)
