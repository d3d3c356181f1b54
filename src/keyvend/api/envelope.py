"""The FOSSBilling envelope, and the one place that maps errors to it."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.responses import JSONResponse

from keyvend.domain.errors import KeyvendError, RateLimited

log = logging.getLogger("keyvend.api")

INTERNAL = 9999


def http_status(code: int) -> int:
    """The HTTP status for an error code (DESIGN.md section 3)."""
    if 201 <= code <= 206:
        return 401
    if code == 403:
        return 403
    if code == 740:
        return 404
    if code in (701, 879):
        return 400
    if code == 429:
        return 429
    return 200


def ok(result: Any) -> JSONResponse:
    """`{"result": ..., "error": null}`."""
    return JSONResponse({"result": result, "error": None})


def failure(message: str, code: int) -> JSONResponse:
    """`{"result": null, "error": {"message": ..., "code": N}}` with its HTTP status."""
    body = {"result": None, "error": {"message": message, "code": code}}
    return JSONResponse(body, status_code=http_status(code))


def error_response(exc: Exception) -> JSONResponse:
    """Turn any exception into the envelope; never leak a stack trace to the client."""
    if isinstance(exc, KeyvendError):
        response = failure(exc.message, exc.code)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, IntegrityError):
        return failure("The change conflicts with existing data; please try again", INTERNAL)
    if isinstance(exc, OperationalError):
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return failure("The database is busy or unavailable; please try again", INTERNAL)
    log.exception("unexpected error")
    response = failure("Internal server error", INTERNAL)
    response.status_code = 500
    return response
