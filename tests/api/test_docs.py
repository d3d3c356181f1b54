"""The API documents itself: /openapi.json and /docs cover every registered endpoint."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from keyvend.api.registry import ENDPOINTS, Endpoint
from keyvend.app import create_app
from keyvend.config import Settings
from tests.conftest import SECRET


def resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    """Follow a local `#/components/schemas/Name` reference."""
    assert ref.startswith("#/components/schemas/"), ref
    return dict(document["components"]["schemas"][ref.rsplit("/", 1)[1]])


def body_schema(document: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    operation = document["paths"][endpoint.path]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) >= {"application/json", "application/x-www-form-urlencoded"}
    return resolve(document, content["application/json"]["schema"]["$ref"])


@pytest.fixture(scope="module")
def docs_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app whose docs are read without touching its (never migrated) database."""
    data_dir: Path = tmp_path_factory.mktemp("docs")
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'keyvend.db'}",
        secret_key=SECRET,
        rate_limit_enabled=False,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def openapi(docs_client: TestClient) -> dict[str, Any]:
    response = docs_client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return dict(response.json())


def test_openapi_is_version_3_1_and_lists_exactly_the_registered_endpoints(
    openapi: dict[str, Any],
) -> None:
    assert openapi["openapi"].startswith("3.1")
    assert openapi["info"]["title"]
    assert set(openapi["paths"]) == {endpoint.path for endpoint in ENDPOINTS.values()}


@pytest.mark.parametrize("key", sorted(ENDPOINTS), ids="/".join)
def test_openapi_describes_each_endpoints_parameters_and_envelope(
    openapi: dict[str, Any], key: tuple[str, str, str]
) -> None:
    endpoint = ENDPOINTS[key]
    operation = openapi["paths"][endpoint.path]["post"]
    assert operation["operationId"] == "_".join(key)
    assert operation["summary"] == endpoint.summary
    assert operation["summary"], f"{endpoint.path} has no docstring"
    schema = body_schema(openapi, endpoint)
    expected = endpoint.params.model_json_schema()
    assert set(schema.get("properties", {})) == set(expected.get("properties", {}))
    assert set(schema.get("required", [])) == set(expected.get("required", []))
    envelope = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(resolve(openapi, envelope["$ref"])["required"]) == {"result", "error"}
    if endpoint.role == "guest":
        assert "security" not in operation
    else:
        assert {"basic": []} in operation["security"]


def test_openapi_names_the_parameters_from_the_design(openapi: dict[str, Any]) -> None:
    def params(path: str) -> set[str]:
        role, module, method = path.split("/")
        return set(body_schema(openapi, ENDPOINTS[(role, module, method)])["properties"])

    assert params("guest/serviceapikey/check") == {"key"}
    assert params("admin/serviceapikey/update") >= {"order_id", "config", "valid"}
    assert params("admin/serviceapikey/reset") == {"order_id", "key", "overlap"}
    assert params("admin/product/prepare") == {"title", "type"}
    assert params("admin/order/create") >= {"client_id", "product_id", "period", "config"}
    assert params("guest/cart/add_item") >= {"id", "period"}
    assert params("guest/client/login") == {"email", "password"}
    assert params("admin/extension/uninstall") == {"id", "confirm"}


def test_basic_auth_is_declared_as_a_security_scheme(openapi: dict[str, Any]) -> None:
    basic = openapi["components"]["securitySchemes"]["basic"]
    assert (basic["type"], basic["scheme"]) == ("http", "basic")


def test_the_docs_page_renders_every_endpoint_and_its_parameters(
    docs_client: TestClient,
) -> None:
    response = docs_client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = html.unescape(response.text)
    assert "/openapi.json" in page
    for endpoint in ENDPOINTS.values():
        assert endpoint.path in page, endpoint.path
        assert endpoint.summary in page, endpoint.path
        for name in endpoint.params.model_json_schema().get("properties", {}):
            assert f"<code>{name}</code>" in page, (endpoint.path, name)


def test_the_docs_page_needs_no_external_scripts(docs_client: TestClient) -> None:
    page = docs_client.get("/docs").text
    assert '<script src="http' not in page
    assert "cdn" not in page.lower()
