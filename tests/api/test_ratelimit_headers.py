"""The RateLimit-* headers name the budget an answer spent, in both lanes: a found key shows
the `guest` budget (the one a 429 then names), a miss shows the miss budget when it is the
tighter, and a refusal shows the budget that refused it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database

MakeClient = Callable[..., TestClient]
# The fast lane answers a JSON body; the general dispatcher a form body.
LANES = ("fast", "general")


@pytest.fixture
def limited(settings: Settings, db: Database) -> Iterator[MakeClient]:
    opened: list[TestClient] = []

    def make(guest: str = "10/minute", miss: str = "4/minute") -> TestClient:
        values = {"rate_limit_enabled": True, "rate_limit_guest": guest}
        values["rate_limit_guest_miss"] = miss
        app = create_app(settings.model_copy(update=values), database=db)
        opened.append(TestClient(app, client=("203.0.113.9", 40000)))
        return opened[-1]

    yield make
    for client in opened:
        client.close()


def check(client: TestClient, lane: str, key: str) -> Any:
    path = "/api/guest/serviceapikey/check"
    if lane == "fast":
        return client.post(path, json={"key": key})
    return client.post(path, data={"key": key})


@pytest.mark.parametrize("lane", LANES)
def test_a_found_key_shows_the_guest_budget_not_the_miss_budget(
    limited: MakeClient, active_order: dict[str, Any], lane: str
) -> None:
    client = limited()
    first = check(client, lane, active_order["key"])
    second = check(client, lane, active_order["key"])
    assert first.json() == {"result": True, "error": None}
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("10", "9")
    assert (second.headers["RateLimit-Limit"], second.headers["RateLimit-Remaining"]) == (
        "10",
        "8",
    )


@pytest.mark.parametrize("lane", LANES)
def test_the_429_names_the_same_budget_the_successful_checks_showed(
    limited: MakeClient, active_order: dict[str, Any], lane: str
) -> None:
    client = limited(guest="3/minute", miss="100/minute")
    shown = {check(client, lane, active_order["key"]).headers["RateLimit-Limit"] for _ in range(3)}
    refused = check(client, lane, active_order["key"])
    assert refused.status_code == 429
    assert shown == {refused.headers["RateLimit-Limit"]} == {"3"}
    assert refused.headers["RateLimit-Remaining"] == "0"


@pytest.mark.parametrize("lane", LANES)
def test_a_miss_shows_the_miss_budget_and_its_429_names_it(
    limited: MakeClient, active_order: dict[str, Any], lane: str
) -> None:
    client = limited(guest="100/minute", miss="2/minute")
    first = check(client, lane, "NOT-A-KEY")
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("2", "1")
    check(client, lane, "NOT-A-KEY")
    refused = check(client, lane, active_order["key"])
    assert refused.status_code == 429
    assert (refused.headers["RateLimit-Limit"], refused.headers["RateLimit-Remaining"]) == (
        "2",
        "0",
    )
