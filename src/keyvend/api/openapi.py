"""The OpenAPI 3.1 document, built from the endpoint registry.

Every operation has its parameters (the endpoint's `Params` model), a typed envelope whose
`result` is the handler's return type (`api.result_types`), the error codes it can answer
(`api.error_docs`, also as `x-keyvend-errors`) and an example (`api.examples`). The key checks
come first, as on `/docs`.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from typing import Any

from keyvend.api import error_docs, examples
from keyvend.api.hot_path import CALLS as KEY_CHECKS
from keyvend.api.registry import ENDPOINTS, Endpoint
from keyvend.api.result_types import REF_TEMPLATE, add_components, result_schema

ROLE_ORDER = {"guest": 0, "client": 1, "admin": 2}
ERROR = {
    "type": "object",
    "required": ["message", "code"],
    "properties": {
        "message": {"type": "string"},
        "code": {
            "type": "integer",
            "description": "FOSSBilling's error code (see x-keyvend-errors).",
        },
    },
    "additionalProperties": False,
}
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["result", "error"],
    "properties": {"result": {"type": "null"}, "error": {"$ref": "#/components/schemas/Error"}},
    "additionalProperties": False,
}
DESCRIPTION = (
    "FOSSBilling-compatible API. Every call is `POST /api/{role}/{module}/{method}` (GET with a "
    "query string works too) with a JSON body, or a form body with PHP-style brackets "
    "(`config[custom_x]=1`). Every answer is the envelope `{result, error}`: `error` is null "
    "on success, else `{message, code}` with `result` null. Client and admin calls use HTTP "
    "Basic (`client:<token>` or `admin:<token>`); the key checks also accept an application "
    "token (`Authorization: Bearer kva_...`). Readable reference: `/docs`."
)


def reading_order() -> list[Endpoint]:
    """The key checks first (what every application calls), then by role, module, method."""

    def rank(e: Endpoint) -> tuple[int, int, str, str]:
        if e.path in KEY_CHECKS:
            return (0, list(KEY_CHECKS).index(e.path), "", "")
        return (1, ROLE_ORDER[e.role], e.module, e.method)

    return sorted(ENDPOINTS.values(), key=rank)


def servers(public_url: str | None) -> list[dict[str, str]]:
    """The settings' public URL when there is one, else this document's own origin ("/")."""
    if public_url:
        return [{"url": public_url.rstrip("/"), "description": "KEYVEND_PUBLIC_URL"}]
    return [{"url": "/", "description": "The server that serves this document"}]


@cache
def openapi(public_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every registered endpoint."""
    schemas: dict[str, Any] = {"Error": ERROR, "ErrorEnvelope": ERROR_ENVELOPE}
    paths = {e.path: {"post": _operation(e, schemas)} for e in reading_order()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Keyvend API", "version": version("keyvend"), "description": DESCRIPTION},
        "servers": servers(public_url),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "Username `admin` or `client`, password the API token.",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "keyvend_session"},
                "application": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An application token (kva_...), on the key checks only.",
                },
            },
        },
    }


def operation_name(e: Endpoint) -> str:
    """`GuestServiceapikeyGetInfo`: the stem of the endpoint's component names."""
    return f"{e.role.title()}{e.module.title()}{e.method.title().replace('_', '')}"


def _operation(e: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    params = e.params.model_json_schema(ref_template=REF_TEMPLATE)
    add_components(schemas, params.pop("$defs", {}))
    name = operation_name(e)
    schemas[f"{name}Params"] = params
    schemas[f"{name}Envelope"] = _envelope(result_schema(e, schemas))
    ref = {"$ref": f"#/components/schemas/{name}Params"}
    errors = error_docs.errors_of(e)
    example = examples.of(e)
    operation: dict[str, Any] = {
        "operationId": f"{e.role}_{e.module}_{e.method}",
        "summary": e.summary,
        "description": _description(e, errors),
        "tags": [e.module],
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {"schema": ref, "example": example.shown_params()},
                "application/x-www-form-urlencoded": {"schema": ref},
            },
        },
        "responses": _responses(name, errors, example.answer),
        "x-keyvend-errors": [doc.as_json() for doc in errors],
    }
    if e.role != "guest":
        operation["security"] = [{"basic": []}, {"session": []}]
    return operation


def _envelope(result: dict[str, Any]) -> dict[str, Any]:
    """`{result, error}`: the result's type, or null when `error` is set."""
    return {
        "type": "object",
        "required": ["result", "error"],
        "properties": {
            "result": {"anyOf": [result, {"type": "null"}]},
            "error": {"anyOf": [{"type": "null"}, {"$ref": "#/components/schemas/Error"}]},
        },
        "additionalProperties": False,
    }


def _responses(name: str, errors: list[error_docs.ErrorDoc], answer: Any) -> dict[str, Any]:
    """200 with the typed envelope (refusals with code 9999 and 715 come with HTTP 200 too, as
    in FOSSBilling), then each other HTTP status the endpoint's errors use."""
    ok = {"result": answer, "error": None}
    responses: dict[str, Any] = {
        "200": {
            "description": "The envelope: the result, or a refusal (error code 9999, 715)",
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{name}Envelope"},
                    "example": ok,
                }
            },
        }
    }
    for doc in sorted(errors, key=lambda d: d.status):
        if doc.status == 200:
            continue
        response = responses.setdefault(
            str(doc.status),
            {
                "description": "",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
                },
            },
        )
        titles = [t for t in response["description"].split(", ") if t]
        response["description"] = ", ".join(dict.fromkeys([*titles, doc.error.title]))
    return responses


def _description(e: Endpoint, errors: list[error_docs.ErrorDoc]) -> str:
    lines = [e.summary, "", "Errors:"]
    lines += [f"- {d.code} {d.error.__name__} (HTTP {d.status}): {d.when}" for d in errors]
    if e.applications:
        lines += ["", "Also accepts `Authorization: Bearer <application token>`."]
    return "\n".join(lines)
