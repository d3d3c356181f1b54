"""An example request and answer for every endpoint, and the curl command that sends it.

The calls of the README's tour (`api.example_tour`) carry examples written from real answers
and are run by a test. Every other endpoint's example is built from its types: the required
parameters with plausible values, and an answer sampled from its result schema, so it always
has the documented shape.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from keyvend.api.example_tour import KEY, TIME, TOUR
from keyvend.api.registry import Endpoint
from keyvend.api.result_types import result_type

# What the shell variables of the examples stand for where a value must be shown.
SAMPLES = {"$KEY": KEY, "$CLIENT_TOKEN": "dLYi7-eV-of_8VozTe5z", "$APP_TOKEN": "kva_1nvwR_C8W"}
AUTH = {"admin": '-u "$ADMIN"', "client": '-u "client:$CLIENT_TOKEN"', "guest": ""}
_PLAIN = re.compile(r"[A-Za-z0-9_.@:/+,-]*")
_NAMED = {
    "email": "jo@example.com",
    "password": "correct-horse-battery",
    "first_name": "Jo",
    "name": "Weather API",
    "title": "Starter API",
    "period": "1M",
    "currency": "USD",
    "url": "https://example.com/hooks/keyvend",
    "key": "$KEY",
    "api_key": KEY,
    "token": "kva_1nvwR_C8W",
    "hash": "Xq3bQ9f1",
    "gateway": "bank_transfer",
}


@dataclass(frozen=True)
class Example:
    """A request's parameters (with shell variables), its result, and the variables it sets."""

    params: dict[str, Any]
    answer: Any
    sets: dict[str, str] = field(default_factory=dict)
    tested: bool = False  # run for real by the examples test (the tour's calls)

    def shown_params(self) -> dict[str, Any]:
        """The parameters with sample values in place of shell variables (for JSON)."""
        return {k: SAMPLES.get(v, v) if isinstance(v, str) else v for k, v in self.params.items()}


@cache
def tour() -> dict[str, Example]:
    """The tour's examples by `role/module/method`, in the order they run."""
    return {path: Example(params, answer, sets, True) for path, params, answer, sets in TOUR}


@cache
def of(e: Endpoint) -> Example:
    """The endpoint's example: the tour's, else one built from its types."""
    found = tour().get(e.path.removeprefix("/api/"))
    if found is not None:
        return found
    params = e.params.model_json_schema()
    required = params.get("required", [])
    request = {n: sample(params["properties"][n], params, n) for n in required}
    result = TypeAdapter(result_type(e)).json_schema(mode="serialization")
    return Example(request, sample(result, result))


def sample(schema: dict[str, Any], root: dict[str, Any], name: str = "") -> Any:
    """A plausible value of `schema` (its `$defs` in `root`), named `name`."""
    if "$ref" in schema:
        return sample(root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root, name)
    if "anyOf" in schema:
        kinds = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return sample(kinds[0], root, name) if kinds else None
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {n: sample(s, root, n) for n, s in properties.items()}
    if kind == "array":
        return [sample(schema.get("items", {}), root, name)]
    return _scalar(kind, schema.get("format", ""), name)


def _scalar(kind: str, form: str, name: str) -> Any:
    if kind == "boolean":
        return True
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if form == "date-time" or name.endswith("_at"):
        return TIME
    if form == "date":
        return TIME[:10]
    return _NAMED.get(name, name.replace("_", " ") or "text")


def curl(e: Endpoint, example: Example, *, bearer: bool = False) -> str:
    """The curl command of the example, as the README writes them (`$KV` is the API's URL)."""
    auth = '-H "Authorization: Bearer $APP_TOKEN"' if bearer else AUTH[e.role]
    words = ["curl -s", auth, f"$KV{e.path.removeprefix('/api')}"]
    words += [f"-d {_pair(name, value)}" for name, value in _form(example.params)]
    return " ".join(word for word in words if word)


def _form(params: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """PHP-style form fields: config[length]=32, events[]=key.reset, true as 1."""
    pairs: list[tuple[str, Any]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            pairs += _form(value, name)
        elif isinstance(value, list):
            pairs += [(f"{name}[]", item) for item in value]
        else:
            pairs.append((name, int(value) if isinstance(value, bool) else value))
    return pairs


def _pair(name: str, value: Any) -> str:
    text = f"{name}={value}"
    if isinstance(value, str) and value in SAMPLES:  # a shell variable, expanded by the shell
        return f'{name}="{value}"'
    return text if _PLAIN.fullmatch(text.replace("=", "", 1)) else shlex.quote(text)


def exports(example: Example) -> list[str]:
    """The shell lines that keep what a later example uses: `export KEY=<api_key>`."""
    return [
        f"export {var}=<{source or 'the result'} from the answer>"
        for var, source in example.sets.items()
    ]
