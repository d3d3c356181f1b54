"""Each endpoint's result type, read from its handler's return annotation: one source of truth.

The handler says what it returns (`-> OrderPublic`, `-> Page[InvoicePublic]`, `-> KeyInfo`);
pydantic turns that type into the JSON Schema of the answer as `model_dump(mode="json")` writes
it (serialization mode: `Money` as a string, timestamps as date-time text).
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import TypeAdapter

from keyvend.api.registry import Endpoint

REF_TEMPLATE = "#/components/schemas/{model}"


def result_type(endpoint: Endpoint) -> Any:
    """The type the handler is annotated to return."""
    return typing.get_type_hints(endpoint.handler, include_extras=True)["return"]


def result_schema(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of the endpoint's result; the types it names are put in `components`."""
    schema = TypeAdapter(result_type(endpoint)).json_schema(
        mode="serialization", ref_template=REF_TEMPLATE
    )
    add_components(components, schema.pop("$defs", {}))
    return schema


def add_components(components: dict[str, Any], found: dict[str, Any]) -> None:
    """Add named schemas; one name must always mean one schema (else the document lies)."""
    for name, schema in found.items():
        known = components.setdefault(name, schema)
        assert known == schema, f"two different schemas are both named {name}"
