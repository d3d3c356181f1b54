"""`/openapi.json` and `/docs`: the API reference, built from the registry, rendered on the
server (no script, no CDN: it works offline and under the docs page's strict CSP)."""

from __future__ import annotations

import json
from functools import lru_cache
from itertools import groupby
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from keyvend.api import error_docs, examples, snippets
from keyvend.api.hot_path import CALLS as KEY_CHECKS
from keyvend.api.key_events import PATH as EVENTS_PATH
from keyvend.api.openapi import openapi, operation_name, reading_order
from keyvend.api.registry import Endpoint
from keyvend.api.type_text import definitions, type_text
from keyvend.domain.errors import error_classes
from keyvend.templates import render_template


async def openapi_json(request: Request) -> JSONResponse:
    """The OpenAPI document; its `servers` entry is KEYVEND_PUBLIC_URL when that is set."""
    return JSONResponse(openapi(request.app.state.settings.public_url))


async def docs_page(request: Request) -> HTMLResponse:
    """A readable API reference, rendered on the server (works offline)."""
    return HTMLResponse(_page(request.app.state.settings.public_url, api_base(request)))


# The page is about 300 KB and takes about 10 ms to render: keep the last few renderings (one
# per address the server is reached at; bounded, since the Host header is the caller's).
@lru_cache(maxsize=8)
def _page(public_url: str | None, kv: str) -> str:
    document = openapi(public_url)
    endpoints = [_endpoint(e, document) for e in reading_order()]
    return render_template(
        "api/docs.html",
        kv=kv,
        endpoints=endpoints,
        contents=_contents(endpoints),
        events_path=EVENTS_PATH,
        error_classes=error_classes(),
        php=snippets.php(kv),
        javascript=snippets.javascript(kv),
    )


def api_base(request: Request) -> str:
    """What `$KV` stands for in the examples: the public URL's (or this server's) `/api`."""
    public: str | None = request.app.state.settings.public_url
    base = public or str(request.base_url)
    return base.rstrip("/") + "/api"


def anchor(path: str) -> str:
    """`guest-serviceapikey-check`: the section id of an endpoint's path."""
    return path.removeprefix("/api/").replace("/", "-")


def _contents(endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The table of contents: the key checks (and the stream), then each role by module."""
    checks = [e for e in endpoints if e["key_check"]]
    groups = [{"title": "Key checks", "modules": [{"name": "", "endpoints": checks}]}]
    rest = [e for e in endpoints if not e["key_check"]]
    for role, of_role in groupby(rest, key=lambda e: e["role"]):
        listed = list(of_role)
        modules = [
            {"name": module, "endpoints": list(of_module)}
            for module, of_module in groupby(listed, key=lambda e: e["module"])
        ]
        groups.append({"title": role.title(), "modules": modules})
    return groups


def _endpoint(e: Endpoint, document: dict[str, Any]) -> dict[str, Any]:
    components = document["components"]["schemas"]
    result = components[f"{operation_name(e)}Envelope"]["properties"]["result"]["anyOf"][0]
    example = examples.of(e)
    return {
        "path": e.path,
        "anchor": anchor(e.path),
        "role": e.role,
        "module": e.module,
        "method": e.method,
        "summary": e.summary,
        "key_check": e.path in KEY_CHECKS,
        "applications": e.applications,
        "params": _param_rows(components[f"{operation_name(e)}Params"]),
        "result": type_text(result),
        "definitions": "\n".join(definitions(result, components)),
        "errors": error_docs.errors_of(e),
        "curl": examples.curl(e, example),
        "bearer_curl": examples.curl(e, example, bearer=True) if e.applications else "",
        "exports": examples.exports(example),
        "answer": json.dumps({"result": example.answer, "error": None}, indent=2),
        "tested": example.tested,
    }


def _param_rows(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Each parameter: its name, type (null left out: leaving it out is the same), whether it
    is required and its description."""
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": type_text({"anyOf": _not_null(prop)}),
            "required": name in required,
            "description": next(
                (s["description"] for s in [prop, *_not_null(prop)] if "description" in s), ""
            ),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _not_null(prop: dict[str, Any]) -> list[dict[str, Any]]:
    kinds = [kind for kind in prop.get("anyOf", [prop]) if kind.get("type") != "null"]
    return kinds or [prop]
