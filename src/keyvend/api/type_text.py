"""JSON Schema as people read a type: `list[OrderPublic]`, `"active" | "suspended"`, and the
fields of every named type a result uses, for the result blocks of `/docs`."""

from __future__ import annotations

import json
from typing import Any


def type_text(schema: dict[str, Any]) -> str:
    """One schema as a short type expression."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[1]
    if "anyOf" in schema:
        parts = [type_text(s) for s in schema["anyOf"]]
        return " | ".join(sorted(parts, key=lambda p: p == "null"))
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{type_text(schema.get('items', {}))}]"
    if kind == "object" and "properties" in schema:
        return str(schema.get("title", "object"))
    if kind == "object":
        values = schema.get("additionalProperties", True)
        return "object" if values in (True, {}) else f"dict[string, {type_text(values)}]"
    if kind == "string" and "format" in schema:
        return f"string ({schema['format']})"
    return str(kind) if kind else "any"


def definitions(schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    """`Name {field: type, ...}` or `Name = "a" | "b"` for the result's own object type (if it
    has one) and each named type it uses, nested ones after the ones naming them."""
    inline = [s for s in schema.get("anyOf", [schema]) if "properties" in s]
    lines = [line for s in inline for line in _block(type_text(s), s)]
    for name in _named(schema, components, []):
        lines += _block(name, components[name])
    return lines


def _block(name: str, schema: dict[str, Any]) -> list[str]:
    if "properties" not in schema:
        return [f"{name} = {type_text(schema)}"]
    required = set(schema.get("required", []))
    lines = [f"{name} {{"]
    for field, field_schema in schema["properties"].items():
        optional = "" if field in required else "?"
        lines.append(f"  {field}{optional}: {type_text(field_schema)}")
    return [*lines, "}"]


def _named(schema: Any, components: dict[str, Any], seen: list[str]) -> list[str]:
    """The component names `schema` refers to, depth first, each once."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                seen.append(name)
                _named(components[name], components, seen)
        for value in schema.values():
            _named(value, components, seen)
    elif isinstance(schema, list):
        for value in schema:
            _named(value, components, seen)
    return seen
