"""Fixtures: a seeded Keyvend data dir, live servers on it, fresh keys, a clock moved by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keyvend_live import AdminApi, LiveServer, keyvend_cli, settings

STARTER_LIMIT = 250  # the custom_monthlyLimit of FOSSBilling's API-key documentation
TINY_LIMIT = 3
METERED_QUOTA = 3  # the server-side quota (config `quota`, per month) of the Metered product


class FakeClock:
    """A monotonic clock the tests move by hand, so that TTLs pass without sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Seed:
    """A data dir holding an admin, a client, three products (monthlyLimit 250 and 3; a
    server-side quota of 3 a month) and an application with its token."""

    data_dir: Path
    admin: AdminApi
    client_id: int
    starter_id: int
    tiny_id: int
    metered_id: int
    app_token: str

    def new_order(self, product_id: int | None = None) -> tuple[int, str]:
        """A fresh active order of the client and its key."""
        order_id = self.admin(
            "order/create",
            client_id=self.client_id,
            product_id=product_id or self.starter_id,
            period="1M",
            activate=True,
        )
        return order_id, self.admin("order/service", id=order_id)["api_key"]

    def new_key(self, product_id: int | None = None) -> str:
        """The key of a fresh active order."""
        return self.new_order(product_id)[1]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # AsyncKeyvendClient coalesces with asyncio tasks


@pytest.fixture(scope="session")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    """Admin and client made by the `keyvend` CLI, products by the admin API of a live server."""
    data_dir = tmp_path_factory.mktemp("keyvend-data")
    admin = keyvend_cli(data_dir, "admin", "create", "admin@example.com")
    client = keyvend_cli(data_dir, "client", "create", "jo@example.com", "--first-name", "Jo")
    server = LiveServer(settings(data_dir))
    api = AdminApi(server.url, admin["api_token"])
    yield Seed(
        data_dir=data_dir,
        admin=api,
        client_id=client["id"],
        starter_id=_product(api, "Starter", STARTER_LIMIT),
        tiny_id=_product(api, "Tiny", TINY_LIMIT),
        metered_id=_product(api, "Metered", METERED_QUOTA, quota=METERED_QUOTA),
        app_token=api("application/create", name="client library tests")["token"],
    )
    server.stop()


def _product(api: AdminApi, title: str, monthly_limit: int, **limits: object) -> int:
    product_id: int = api("product/prepare", title=title, type="apikey")
    config = {"length": 32, "split": 1, "custom_monthlyLimit": str(monthly_limit), **limits}
    api("product/update_config", id=product_id, config=config)
    api("product/update", id=product_id, status="enabled", setup="after_order")
    return product_id


@pytest.fixture
def start_server(seed: Seed) -> Iterator[Callable[..., LiveServer]]:
    """Start servers on the seeded data (settings overridable); all stopped after the test."""
    started: list[LiveServer] = []

    def start(**overrides: object) -> LiveServer:
        server = LiveServer(settings(seed.data_dir, **overrides))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., LiveServer]) -> LiveServer:
    """A live server of its own for this test, rate limiting off, requests counted."""
    return start_server()
