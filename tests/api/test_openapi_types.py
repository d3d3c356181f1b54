"""The OpenAPI document is typed: every result, the statuses as enums, `key` required, errors
per operation, and a `servers` entry."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from keyvend.api import error_docs
from keyvend.api.openapi import operation_name
from keyvend.api.registry import ENDPOINTS, Endpoint
from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.domain.errors import error_classes
from keyvend.domain.invoice_states import InvoiceStatus, ItemStatus, TransactionStatus
from keyvend.domain.order_states import OrderStatus
from keyvend.domain.verification import VerifyCode
from keyvend.schemas.account import ClientStatus
from keyvend.schemas.email import EmailStatus
from keyvend.schemas.product import ProductStatus
from keyvend.schemas.system import ExtensionStatus
from keyvend.schemas.webhook import DeliveryStatus
from tests.conftest import SECRET

KEY_CHECKS = ["check", "get_info", "verify"]


def serve_docs(data_dir: Path, **settings: Any) -> TestClient:
    """An app whose documents are read without touching its (never migrated) database."""
    return TestClient(
        create_app(
            Settings(
                data_dir=data_dir,
                database_url=f"sqlite:///{data_dir / 'keyvend.db'}",
                secret_key=SECRET,
                **settings,
            )
        )
    )


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serve_docs(tmp_path_factory.mktemp("openapi")) as client:
        yield dict(client.get("/openapi.json").json())


def components(document: dict[str, Any]) -> dict[str, Any]:
    return dict(document["components"]["schemas"])


def result_of(document: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    """The schema of the endpoint's result (the envelope's `result` when there is no error)."""
    operation = document["paths"][endpoint.path]["post"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == f"#/components/schemas/{operation_name(endpoint)}Envelope"
    result = components(document)[ref.rsplit("/", 1)[1]]["properties"]["result"]
    typed, null = result["anyOf"]
    assert null == {"type": "null"}  # errors carry a null result
    return dict(typed)


def untyped_parts(schema: Any, named: dict[str, Any], seen: set[str], where: str) -> list[str]:
    """Where in `schema` (and the named schemas it uses) a value may be anything at all."""
    if not isinstance(schema, dict):
        return []
    if not schema:
        return [where]
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[1]
        if name in seen:
            return []
        seen.add(name)
        return untyped_parts(named[name], named, seen, name)
    found = []
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += untyped_parts(schema[key], named, seen, f"{where}.{key}")
    for name, prop in schema.get("properties", {}).items():
        found += untyped_parts(prop, named, seen, f"{where}.{name}")
    for index, part in enumerate(schema.get("anyOf", [])):
        found += untyped_parts(part, named, seen, f"{where}|{index}")
    return found


@pytest.mark.parametrize("key", sorted(ENDPOINTS), ids="/".join)
def test_every_endpoint_has_a_typed_result(document: dict[str, Any], key: Any) -> None:
    result = result_of(document, ENDPOINTS[key])
    assert result.get("type") or result.get("$ref") or result.get("anyOf"), result
    if result.get("type") == "object":  # a dict[str, Any] result says nothing of its fields
        assert result.get("properties"), f"{key}: an object result without fields"
    assert untyped_parts(result, components(document), set(), "result") == []


def named(document: dict[str, Any], model: str) -> dict[str, Any]:
    """A named schema: a component, or an endpoint's result type written in place."""
    if model in components(document):
        return dict(components(document)[model])
    results = [result_of(document, endpoint) for endpoint in ENDPOINTS.values()]
    return next(result for result in results if result.get("title") == model)


def enum_of(document: dict[str, Any], model: str, field: str) -> list[str]:
    prop = named(document, model)["properties"][field]
    ref = prop.get("$ref") or next(p["$ref"] for p in prop["anyOf"] if "$ref" in p)
    return list(components(document)[ref.rsplit("/", 1)[1]]["enum"])


@pytest.mark.parametrize(
    ("model", "field", "values"),
    [
        ("OrderPublic", "status", OrderStatus),
        ("InvoicePublic", "status", InvoiceStatus),
        ("InvoiceItemPublic", "status", ItemStatus),
        ("TransactionPublic", "status", TransactionStatus),
        ("ClientPublic", "status", ClientStatus),
        ("ProductPublic", "status", ProductStatus),
        ("KeyVerification", "code", VerifyCode),
        ("WebhookDeliveryPublic", "status", DeliveryStatus),
        ("EmailPublic", "status", EmailStatus),
        ("ExtensionPublic", "status", ExtensionStatus),
    ],
)
def test_statuses_are_enums_with_the_domains_values(
    document: dict[str, Any], model: str, field: str, values: type[StrEnum]
) -> None:
    assert enum_of(document, model, field) == [value.value for value in values]


@pytest.mark.parametrize("method", KEY_CHECKS)
def test_key_is_required_on_the_key_checks(document: dict[str, Any], method: str) -> None:
    endpoint = ENDPOINTS[("guest", "serviceapikey", method)]
    params = components(document)[f"{operation_name(endpoint)}Params"]
    assert "key" in params["required"]
    assert params["properties"]["key"]["type"] == "string"
    assert params["properties"]["key"]["minLength"] == 1


def test_the_key_checks_come_first(document: dict[str, Any]) -> None:
    first = list(document["paths"])[:3]
    assert first == [f"/api/guest/serviceapikey/{method}" for method in KEY_CHECKS]


def test_servers_is_the_documents_own_origin_without_a_public_url(
    document: dict[str, Any],
) -> None:
    assert [server["url"] for server in document["servers"]] == ["/"]


def test_servers_is_the_public_url_when_one_is_set(tmp_path: Path) -> None:
    with serve_docs(tmp_path, public_url="https://keys.example.com/") as client:
        servers = client.get("/openapi.json").json()["servers"]
    assert [server["url"] for server in servers] == ["https://keys.example.com"]


@pytest.mark.parametrize("key", sorted(ENDPOINTS), ids="/".join)
def test_every_operation_lists_the_error_codes_it_can_answer(
    document: dict[str, Any], key: Any
) -> None:
    endpoint = ENDPOINTS[key]
    operation = document["paths"][endpoint.path]["post"]
    listed = operation["x-keyvend-errors"]
    classes = {cls.__name__: cls for cls in error_classes()}
    assert listed, endpoint.path
    for item in listed:
        cls = classes[item["error"]]
        assert (item["code"], item["status"], item["title"]) == (cls.code, cls.status, cls.title)
        assert item["when"]
        assert f"{item['code']} {item['error']}" in operation["description"]
    codes = {item["code"] for item in listed}
    assert {701, 429, 503} <= codes  # every call: a bad body, the rate limits, an outage
    if endpoint.role != "guest":
        assert {201, 204, 205} <= codes and ({202} if endpoint.role == "client" else {203}) <= codes
        assert "401" in operation["responses"]
    if endpoint.applications:
        assert 715 in codes  # the key checks answer "module not active" when it is off


def test_the_specific_errors_name_registered_endpoints_and_real_error_classes() -> None:
    assert set(error_docs.SPECIFIC) <= set(ENDPOINTS)
    for docs in error_docs.SPECIFIC.values():
        assert all(doc.error in error_classes() for doc in docs)


def test_a_missing_key_is_documented_with_the_error_it_answers(document: dict[str, Any]) -> None:
    for method in KEY_CHECKS:
        listed = document["paths"][f"/api/guest/serviceapikey/{method}"]["post"]["x-keyvend-errors"]
        assert any("You must provide an API key" in item["when"] for item in listed), method
