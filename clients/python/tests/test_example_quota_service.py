"""The example service of examples/quota_service, against a live Keyvend server."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from conftest import METERED_QUOTA, Seed
from keyvend_client import AsyncKeyvendClient
from keyvend_client.protocol import VERIFY_PATH
from keyvend_live import LiveServer

pytestmark = pytest.mark.anyio

EXAMPLE = Path(__file__).parents[1] / "examples" / "quota_service"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"quota_service_{name}", EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = load("app")
provisioning = load("provision")


@pytest.fixture
async def service(server: LiveServer, seed: Seed) -> AsyncIterator[httpx.AsyncClient]:
    app = example.create_app(server.url, app_token=seed.app_token)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://quotes") as http,
    ):
        yield http


async def test_a_key_gets_exactly_its_quota_of_calls_counted_by_the_server(
    service: httpx.AsyncClient, server: LiveServer, seed: Seed
) -> None:
    key = seed.new_key(seed.metered_id)
    calls = [await service.get("/quote", headers={"X-API-Key": key}) for _ in range(METERED_QUOTA)]
    assert [call.status_code for call in calls] == [200] * METERED_QUOTA
    assert [call.headers["X-Quota-Remaining"] for call in calls] == ["2", "1", "0"]
    assert {call.headers["X-Quota-Limit"] for call in calls} == {str(METERED_QUOTA)}
    assert "X-Quota-Reset" in calls[0].headers
    refused = await service.get("/quote", headers={"X-API-Key": key})
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith(f"API key quota of {METERED_QUOTA} used up")
    assert int(refused.headers["Retry-After"]) >= 1
    assert server.counter.requests(VERIFY_PATH) == METERED_QUOTA + 1  # every call verified


async def test_every_key_has_its_own_quota(service: httpx.AsyncClient, seed: Seed) -> None:
    spent, fresh = seed.new_key(seed.metered_id), seed.new_key(seed.metered_id)
    for _ in range(METERED_QUOTA + 1):
        await service.get("/quote", params={"api_key": spent})
    response = await service.get("/quote", params={"api_key": fresh})
    assert (response.status_code, response.json()["left"]) == (200, METERED_QUOTA - 1)


async def test_a_key_whose_product_has_no_quota_is_unlimited(
    service: httpx.AsyncClient, seed: Seed
) -> None:
    response = await service.get("/quote", headers={"X-API-Key": seed.new_key()})
    assert (response.status_code, response.json()["left"]) == (200, None)
    assert "X-Quota-Remaining" not in response.headers


async def test_calls_without_a_valid_key_get_401_and_health_needs_none(
    service: httpx.AsyncClient,
) -> None:
    assert (await service.get("/quote")).status_code == 401
    assert (await service.get("/quote", headers={"X-API-Key": "NOPE"})).status_code == 401
    assert (await service.get("/health")).json() == {"status": "ok"}


async def test_the_provisioning_script_makes_a_key_and_token_the_service_accepts(
    server: LiveServer, seed: Seed
) -> None:
    admin = provisioning.Admin(server.url, provisioning.admin_token(f"admin:{seed.admin.token}"))
    made = provisioning.provision(admin, quota=2)
    app = example.create_app(server.url, app_token=made["KEYVEND_APP_TOKEN"])
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://quotes") as http,
    ):
        calls = [await http.get("/quote", headers={"X-API-Key": made["KEY"]}) for _ in range(3)]
    assert [call.status_code for call in calls] == [200, 200, 429]


def test_the_admin_token_may_be_given_with_or_without_the_admin_prefix() -> None:
    assert provisioning.admin_token("admin:abc123") == "abc123"
    assert provisioning.admin_token(" abc123\n") == "abc123"


async def test_a_wrong_application_token_fails_closed_with_503(
    server: LiveServer, seed: Seed
) -> None:
    keyvend = AsyncKeyvendClient(server.url, app_token="kva_wrong")
    app = example.create_app(server.url, client=keyvend)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://quotes") as http,
    ):
        response = await http.get("/quote", headers={"X-API-Key": seed.new_key()})
    assert response.status_code == 503
