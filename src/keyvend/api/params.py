"""Reading call parameters: JSON body, form body with PHP-style brackets, query string."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from keyvend.domain.errors import MalformedBody

# python-multipart logs every malformed part it meets: a client's mistake, not ours to log.
logging.getLogger("python_multipart").setLevel(logging.ERROR)
logging.getLogger("multipart").setLevel(logging.ERROR)

MAX_BODY = 1_000_000
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_DEPTH = 5
MAX_FIELDS = 1000


async def read_params(request: Request) -> dict[str, Any]:
    """Query string first, then the body on top of it."""
    query = request.scope.get("query_string", b"")
    params = nest(parse_qsl(query.decode("latin-1"), keep_blank_values=True)) if query else {}
    if request.method != "POST":
        return params
    body = await request.body()
    if len(body) > MAX_BODY:
        raise MalformedBody(f"Request body is larger than {MAX_BODY} bytes")
    if not body.strip():
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        params.update(nest(parse_qsl(_text(body), keep_blank_values=True)))
    elif content_type == "multipart/form-data":
        params.update(nest(await _multipart(request)))
    else:
        params.update(_json_object(body))
    return params


async def _multipart(request: Request) -> list[tuple[str, str]]:
    """The text fields of a multipart body (files are ignored); a malformed one is a 701."""
    try:
        form = await request.form(max_fields=MAX_FIELDS)
    except (HTTPException, MultiPartException):
        raise MalformedBody("Request body is not a valid multipart form") from None
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


def _text(body: bytes) -> str:
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise MalformedBody("Request body is not valid UTF-8") from None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedBody("Request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise MalformedBody("Request body must be a JSON object")
    if not _is_text(value):
        raise MalformedBody("Request body holds a lone UTF-16 surrogate (\\ud800-\\udfff)")
    return value


def _is_text(value: Any) -> bool:
    """Whether every string in a decoded JSON value is valid Unicode (JSON's \\ud800 escapes
    can spell lone surrogates, which no database column or UTF-8 answer can hold)."""
    if isinstance(value, str):
        return value.isascii() or not _SURROGATE.search(value)
    if isinstance(value, dict):
        return all(_is_text(k) and _is_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_text(item) for item in value)
    return True


def nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style names to nested values: a[b][c]=1 -> {a: {b: {c: 1}}}; a[]=1 -> {a: [1]}."""
    if len(pairs) > MAX_FIELDS:
        raise MalformedBody(f"At most {MAX_FIELDS} parameters are accepted")
    result: dict[str, Any] = {}
    for name, value in pairs:
        path = _path(name)
        _put(result, path, value)
    return result


def _path(name: str) -> list[str]:
    head, bracket, rest = name.partition("[")
    if not bracket:
        return [name]
    *pieces, tail = ("[" + rest).split("]")
    # An unclosed bracket (a[b), text after the last one (a[b]c) or no name before the
    # first ([a]) would otherwise silently become another parameter.
    if not head or tail or not all(piece.startswith("[") for piece in pieces):
        raise MalformedBody(f"Malformed parameter name {name[:64]!r}")
    parts = [head, *(piece[1:] for piece in pieces)]
    if len(parts) > MAX_DEPTH:
        raise MalformedBody(f"Parameter {name[:64]!r} is nested too deeply")
    return parts


def _put(target: dict[str, Any], path: list[str], value: str) -> None:
    node: Any = target
    for index, key in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, list):
            if key != "" or not last:
                raise MalformedBody("Lists may only hold plain values (a[]=1)")
            node.append(value)
            return
        if last:
            if isinstance(node.get(key), dict | list):
                raise MalformedBody(f"Parameter {key[:64]!r} is given in two shapes")
            node[key] = value
            return
        following = path[index + 1]
        default: Any = [] if following == "" else {}
        child = node.setdefault(key, default)
        if not isinstance(child, dict | list) or isinstance(child, list) != (following == ""):
            raise MalformedBody(f"Parameter {key[:64]!r} is given in two shapes")
        node = child
