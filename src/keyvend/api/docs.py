"""`/openapi.json` built from the endpoint registry, and a `/docs` page that needs no CDN."""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from keyvend.api.registry import ENDPOINTS, Endpoint
from keyvend.templates import render_template

ENVELOPE = {
    "type": "object",
    "required": ["result", "error"],
    "properties": {
        "result": {"description": "The call's result; null on error."},
        "error": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["message", "code"],
                    "properties": {"message": {"type": "string"}, "code": {"type": "integer"}},
                },
            ]
        },
    },
}


@cache
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document for every registered endpoint."""
    schemas: dict[str, Any] = {"Envelope": ENVELOPE}
    paths = {e.path: {"post": _operation(e, schemas)} for e in _sorted()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Keyvend API",
            "version": version("keyvend"),
            "description": "FOSSBilling-compatible API. Every call also accepts GET with a "
            "query string, and form bodies with PHP-style brackets (config[custom_x]=1).",
        },
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
            },
        },
    }


def _operation(e: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = e.params.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    name = f"{e.role.title()}{e.module.title()}{e.method.title().replace('_', '')}Params"
    schemas[name] = schema
    ref = {"$ref": f"#/components/schemas/{name}"}
    operation: dict[str, Any] = {
        "operationId": f"{e.role}_{e.module}_{e.method}",
        "summary": e.summary,
        "tags": [e.module],
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {"schema": ref},
                "application/x-www-form-urlencoded": {"schema": ref},
            },
        },
        "responses": {
            "200": {
                "description": "Envelope with result, or error (code 9999, 715, ...)",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}
                },
            }
        },
    }
    if e.role != "guest":
        operation["security"] = [{"basic": []}, {"session": []}]
    return operation


def _sorted() -> list[Endpoint]:
    return sorted(ENDPOINTS.values(), key=lambda e: (e.module, e.role, e.method))


async def openapi_json(request: Request) -> JSONResponse:
    """The OpenAPI document."""
    return JSONResponse(openapi())


async def docs_page(request: Request) -> HTMLResponse:
    """A readable API reference, rendered on the server (works offline)."""
    endpoints = [
        {
            "path": e.path,
            "role": e.role,
            "module": e.module,
            "summary": e.summary,
            "params": _param_rows(e),
        }
        for e in _sorted()
    ]
    html = render_template("api/docs.html", endpoints=endpoints)
    return HTMLResponse(html)


def _param_rows(e: Endpoint) -> list[dict[str, Any]]:
    schema = e.params.model_json_schema()
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        kinds = [p.get("type", "object") for p in prop.get("anyOf", [prop])]
        rows.append(
            {
                "name": name,
                "type": " | ".join(k for k in kinds if k != "null"),
                "required": name in required,
                "description": prop.get("description", ""),
            }
        )
    return rows
