"""The one route behind `/api/{role}/{module}/{method}`: limit, authenticate, validate, call."""

from __future__ import annotations

import functools
import time
from typing import Any

import structlog
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from keyvend.api import auth
from keyvend.api.applications import as_application, bearer_token
from keyvend.api.envelope import error_response, ok
from keyvend.api.hot_path import CALLS
from keyvend.api.params import read_params
from keyvend.api.registry import ENDPOINTS, ROLES, Call, Endpoint, Params
from keyvend.db.unit_of_work import acting_as
from keyvend.domain.errors import InvalidInput, LoginFailed, MalformedCall, MethodNotFound
from keyvend.edge.client_address import client_ip
from keyvend.edge.cookies import write_cookies
from keyvend.edge.off_loop import in_thread, key_read
from keyvend.edge.ratelimit import Verdict, guard
from keyvend.observability.metrics import NOT_FOUND as MISSED
from keyvend.observability.metrics import (
    check_outcome,
    failure_outcome,
    record_call,
    record_check,
)

security_log = structlog.get_logger("keyvend.security")
# Key checks that miss the fast lane (form bodies, credentials) are counted here.
KEY_CHECKS = frozenset(CALLS.values())


async def api_call(request: Request) -> JSONResponse:
    """Every API call enters here."""
    started = time.perf_counter()
    verdict = Verdict()
    call: Call | None = None
    found: Endpoint | None = None
    params: dict[str, Any] = {}
    result: Any = None
    failed: Exception | None = None
    try:
        found = _endpoint(request)
        params = await read_params(request)
        call = Call(
            db=request.app.state.db,
            settings=request.app.state.settings,
            actor=None,
            request=request,
        )
        run = functools.partial(_execute, found, call, params, verdict)
        db = call.db
        if found.inline:
            result = await key_read(db, run, metered=found.metered)
        else:
            result = await in_thread(db, run, gateway=found.gateway)
        response = ok(result)
    except Exception as exc:
        failed = exc
        if isinstance(exc, LoginFailed) and found is not None:
            _log_failed_login(request, found, params)
        response = error_response(exc)
    if call is not None:
        write_cookies(request, response, call.cookies)
    response.headers.update(verdict.headers())
    if found is not None and found.applications and request.app.state.db.key_cache.live:
        # As on the fast lane: which changes this key answer reflects (see `hot_path`).
        response.headers["X-Keyvend-Seq"] = str(request.app.state.key_feed.last_seq)
    _observe(found, response.status_code, time.perf_counter() - started, result, failed)
    return response


def _observe(
    found: Endpoint | None, status: int, seconds: float, result: Any, failed: Exception | None
) -> None:
    """Count the call (only registered endpoints by name) and, for key checks, the outcome."""
    if found is None:
        record_call("unknown", "unknown", "unknown", status)
        return
    record_call(found.role, found.module, found.method, status)
    if (found.role, found.module, found.method) in KEY_CHECKS:
        valid = result.get("valid") if isinstance(result, dict) else result
        outcome = failure_outcome(failed) if failed else check_outcome(bool(valid))
        if found.missed is not None and result is not None and found.missed(result):
            outcome = MISSED
        record_check(outcome, seconds)


def _log_failed_login(request: Request, found: Endpoint, params: dict[str, Any]) -> None:
    """A security event: who tried to log in, from where; the password never."""
    email = _login_named(params) or ""
    security_log.warning(
        "login failed",
        security_event="login_failed",
        account_type="admin" if found.module == "staff" else found.module,
        email=email[:254] if email.isprintable() else repr(email[:254]),
        client_ip=client_ip(request.scope),
    )


async def not_a_call(request: Request) -> JSONResponse:
    """Anything under /api/ that does not have the shape role/module/method."""
    return error_response(MalformedCall("Invalid API call: use /api/{role}/{module}/{method}"))


def _execute(found: Endpoint, call: Call, params: dict[str, Any], verdict: Verdict) -> Any:
    """Rate limits, authentication and validation, then the handler (in a worker thread)."""
    token = bearer_token(call.request.headers.get("authorization"))
    if found.applications and token is not None:
        return as_application(
            call.request.scope,
            call.db,
            token,
            lambda: _handle(found, call, params),
            verdict=verdict,
            missed=found.missed,
        )
    return guard(
        call.request.scope,
        lambda: _handle(found, call, params),
        policies=found.policies,
        verdict=verdict,
        identify=lambda: _identify(found, call),
        login=_login_named(params) if "login" in found.policies else None,
        missed=found.missed,
    )


def _handle(found: Endpoint, call: Call, params: dict[str, Any]) -> Any:
    """The handler, with the caller bound to the log context while it runs."""
    if call.actor is None:
        return found.handler(call, validate(found.params, params))
    actor = f"{call.actor.role}:{call.actor.id}"
    with structlog.contextvars.bound_contextvars(actor=actor), acting_as(actor):
        return found.handler(call, validate(found.params, params))


def _login_named(params: dict[str, Any]) -> str | None:
    """The account a login call names, for the per-account failure budget."""
    email = params.get("email")
    return email if isinstance(email, str) else None


def _identify(found: Endpoint, call: Call) -> str | None:
    """Authenticate the caller as `found`'s role requires; the account it is, if any."""
    call.actor = auth.identify(call.db, call.request, found.role)
    auth.require_role(found.role, call.actor)
    return None if call.actor is None else f"{call.actor.role}:{call.actor.id}"


def _endpoint(request: Request) -> Endpoint:
    role = request.path_params["role"]
    module = request.path_params["module"]
    method = request.path_params["method"]
    if role not in ROLES:
        raise MalformedCall(f"Invalid API role {role[:32]!r}: use guest, client or admin")
    found = ENDPOINTS.get((role, module, method))
    if found is None:
        raise MethodNotFound(f"Method {role}/{module[:64]}/{method[:64]} does not exist")
    return found


def validate(model: type[Params], params: dict[str, Any]) -> Params:
    """Pydantic validation; the first problem becomes a message naming the parameter."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "parameters"
        field = str(error["loc"][0]) if error["loc"] else None
        raise InvalidInput(f"{where}: {error['msg']}", field=field) from None
