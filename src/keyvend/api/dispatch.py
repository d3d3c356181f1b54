"""The one route behind `/api/{role}/{module}/{method}`: limit, authenticate, validate, call."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from keyvend.api import auth
from keyvend.api.envelope import error_response, ok
from keyvend.api.params import read_params
from keyvend.api.registry import ENDPOINTS, ROLES, Call, Endpoint, Params
from keyvend.domain.errors import InvalidInput, MalformedCall, MethodNotFound
from keyvend.edge.cookies import write_cookies
from keyvend.edge.ratelimit import Verdict, guard


async def api_call(request: Request) -> JSONResponse:
    """Every API call enters here."""
    verdict = Verdict()
    call: Call | None = None
    try:
        found = _endpoint(request)
        params = await read_params(request)
        call = Call(
            db=request.app.state.db,
            settings=request.app.state.settings,
            actor=None,
            request=request,
        )
        if found.inline:
            result = _execute(found, call, params, verdict)
        else:
            result = await run_in_threadpool(_execute, found, call, params, verdict)
        response = ok(result)
    except Exception as exc:
        response = error_response(exc)
    if call is not None:
        write_cookies(request, response, call.cookies)
    response.headers.update(verdict.headers())
    return response


async def not_a_call(request: Request) -> JSONResponse:
    """Anything under /api/ that does not have the shape role/module/method."""
    return error_response(MalformedCall("Invalid API call: use /api/{role}/{module}/{method}"))


def _execute(found: Endpoint, call: Call, params: dict[str, Any], verdict: Verdict) -> Any:
    """Rate limits, authentication and validation, then the handler (in a worker thread)."""
    return guard(
        call.request.scope,
        lambda: found.handler(call, validate(found.params, params)),
        policies=found.policies,
        verdict=verdict,
        identify=lambda: _identify(found, call),
        login=_login_named(params) if "login" in found.policies else None,
    )


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
