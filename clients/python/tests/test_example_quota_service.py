"""The example service of examples/quota_service, against a live Keyvend server."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from conftest import STARTER_LIMIT, TINY_LIMIT, FakeClock, Seed
from keyvend_client import AsyncKeyvendClient
from keyvend_live import LiveServer

pytestmark = pytest.mark.anyio

EXAMPLE = Path(__file__).parents[1] / "examples" / "quota_service" / "app.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quota_service_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = load_example()


@pytest.fixture
async def service(server: LiveServer, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    keyvend = AsyncKeyvendClient(server.url, clock=clock)
    app = example.create_app(server.url, client=keyvend)
    async with (
        keyvend,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://quotes") as http,
    ):
        yield http


async def test_a_key_gets_exactly_its_monthly_limit_of_calls(
    service: httpx.AsyncClient, server: LiveServer, seed: Seed
) -> None:
    key = seed.new_key(seed.tiny_id)
    calls = [await service.get("/quote", headers={"X-API-Key": key}) for _ in range(TINY_LIMIT)]
    assert [call.status_code for call in calls] == [200] * TINY_LIMIT
    assert [call.headers["X-Monthly-Remaining"] for call in calls] == ["2", "1", "0"]
    refused = await service.get("/quote", headers={"X-API-Key": key})
    assert refused.status_code == 429
    assert refused.json() == {"detail": f"Monthly limit of {TINY_LIMIT} calls reached"}
    assert server.counter.requests() == 1  # one key, checked once thanks to the cache


async def test_every_key_has_its_own_allowance(service: httpx.AsyncClient, seed: Seed) -> None:
    spent, fresh = seed.new_key(seed.tiny_id), seed.new_key(seed.tiny_id)
    for _ in range(TINY_LIMIT + 1):
        await service.get("/quote", params={"api_key": spent})
    response = await service.get("/quote", params={"api_key": fresh})
    assert (response.status_code, response.json()["left"]) == (200, TINY_LIMIT - 1)


async def test_the_seed_products_limit_of_250_is_announced(
    service: httpx.AsyncClient, seed: Seed
) -> None:
    response = await service.get("/quote", headers={"X-API-Key": seed.new_key()})
    assert response.headers["X-Monthly-Limit"] == str(STARTER_LIMIT)
    assert response.headers["X-Monthly-Remaining"] == str(STARTER_LIMIT - 1)


async def test_calls_without_a_valid_key_get_401_and_health_needs_none(
    service: httpx.AsyncClient,
) -> None:
    assert (await service.get("/quote")).status_code == 401
    assert (await service.get("/quote", headers={"X-API-Key": "NOPE"})).status_code == 401
    assert (await service.get("/health")).json() == {"status": "ok"}


def test_the_allowance_starts_again_in_a_new_month() -> None:
    now = datetime(2026, 1, 31, 23, 59, tzinfo=UTC)
    usage = example.MonthlyUsage(now=lambda: now)
    assert [usage.spend("k", 2) for _ in range(2)] == [1, 0]
    with pytest.raises(example.HTTPException):
        usage.spend("k", 2)
    now = datetime(2026, 2, 1, 0, 0, tzinfo=UTC)
    assert usage.spend("k", 2) == 1


def test_a_key_without_monthly_limit_is_unlimited() -> None:
    usage = example.MonthlyUsage()
    assert example.monthly_limit({}) is None
    assert usage.spend("k", None) is None
