"""The FOSSBilling envelope, and the one place that maps errors to it."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.responses import JSONResponse

from keyvend.db.unit_of_work import CONFLICT_MESSAGE
from keyvend.domain.errors import Conflict, KeyvendError, RateLimited, ServiceUnavailable

log = logging.getLogger("keyvend.api")


def ok(result: Any) -> JSONResponse:
    """`{"result": ..., "error": null}`; schemas as `model_dump(mode="json")`."""
    return JSONResponse({"result": to_json(result), "error": None})


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
    response = JSONResponse(body, status_code=exc.status)
    if isinstance(exc, RateLimited | ServiceUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def error_response(exc: Exception) -> JSONResponse:
    """Turn any exception into the envelope; never leak a stack trace to the client."""
    if isinstance(exc, KeyvendError):
        return failure(exc)
    if isinstance(exc, IntegrityError):  # a race the unit of work did not see at commit
        return failure(Conflict(CONFLICT_MESSAGE))
    if isinstance(exc, OperationalError):
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return failure(KeyvendError("The database is busy or unavailable; please try again"))
    log.exception("unexpected error")
    response = failure(KeyvendError("Internal server error"))
    response.status_code = 500
    return response
