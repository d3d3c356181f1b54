"""The one route behind `/api/{role}/{module}/{method}`: parse, authenticate, validate, call."""

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


async def api_call(request: Request) -> JSONResponse:
    """Every API call enters here."""
    try:
        found = _endpoint(request)
        params = await read_params(request)
        call = await run_in_threadpool(_prepare, request, found)
        validated = validate(found.params, params)
        result = await run_in_threadpool(_run, found, call, validated)
        response = ok(result)
        _apply_cookies(request, response, call)
        return response
    except Exception as exc:
        return error_response(exc)


async def not_a_call(request: Request) -> JSONResponse:
    """Anything under /api/ that does not have the shape role/module/method."""
    return error_response(MalformedCall("Invalid API call: use /api/{role}/{module}/{method}"))


def _endpoint(request: Request) -> Endpoint:
    role = request.path_params["role"]
    module = request.path_params["module"]
    method = request.path_params["method"]
    if role not in ROLES:
        raise MalformedCall(f"Invalid API role {role[:32]!r}: use guest, client or admin")
    found = ENDPOINTS.get((role, module, method))
    if found is None:
        raise MethodNotFound(f"Method {role}/{module[:64]}/{method[:64]} does not exist", 740)
    return found


def _prepare(request: Request, found: Endpoint) -> Call:
    state = request.app.state
    actor = auth.identify(state.db, request, found.role)
    auth.require_role(found.role, actor)
    return Call(db=state.db, settings=state.settings, actor=actor, request=request)


def _run(found: Endpoint, call: Call, params: Params) -> Any:
    return found.handler(call, params)


def validate(model: type[Params], params: dict[str, Any]) -> Params:
    """Pydantic validation; the first problem becomes a message naming the parameter."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "parameters"
        raise InvalidInput(f"{where}: {error['msg']}") from None


def _apply_cookies(request: Request, response: JSONResponse, call: Call) -> None:
    secure = request.url.scheme == "https"
    for name, value, options in call.cookies:
        if value is None:
            response.delete_cookie(name, path="/", samesite="lax", secure=secure)
        else:
            response.set_cookie(name, value, path="/", samesite="lax", secure=secure, **options)
