"""`admin|client/serviceapikey/usage` over HTTP: the checks made, per day, a client's own only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import ClientCreate
from keyvend.services import client as clients
from keyvend.services import usage
from tests.conftest import Api, FakeClock

FIELDS = {"order_id", "days", "last_used_at", "total", "outcomes", "daily"}


def use_key(api: Api, key: str) -> None:
    """Two checks, one get_info and one verify: four VALID uses."""
    assert api.guest("serviceapikey/check", key=key) is True
    assert api.guest("serviceapikey/check", key=key) is True
    assert api.guest("serviceapikey/get_info", key=key)["valid"] is True
    assert api.guest("serviceapikey/verify", key=key)["code"] == "VALID"


def test_admin_usage_shows_the_checks_made_as_thirty_zero_filled_days_ending_today(
    api: Api, db: Database, active_order: dict[str, Any], clock: FakeClock
) -> None:
    use_key(api, active_order["key"])
    api.error("guest/serviceapikey/check", key="NOT-A-KEY")  # no key: counted for nobody
    usage.flush(db)
    found = api.admin("serviceapikey/usage", order_id=active_order["id"])
    assert set(found) == FIELDS
    assert (found["order_id"], found["days"], found["total"]) == (active_order["id"], 30, 4)
    assert found["outcomes"] == {"VALID": 4}
    assert found["last_used_at"] == clock.now.isoformat()
    today = clock.now.date()
    assert [day["date"] for day in found["daily"]] == [
        (today - timedelta(days=29 - i)).isoformat() for i in range(30)
    ]
    assert found["daily"][-1] == {"date": today.isoformat(), "total": 4, "outcomes": {"VALID": 4}}
    assert all(
        day == {"date": day["date"], "total": 0, "outcomes": {}} for day in found["daily"][:-1]
    )


def test_a_key_never_used_has_no_last_use_and_only_zeros(
    api: Api, active_order: dict[str, Any]
) -> None:
    found = api.admin("serviceapikey/usage", order_id=active_order["id"], days=7)
    assert (found["total"], found["outcomes"], found["last_used_at"]) == (0, {}, None)
    assert [day["total"] for day in found["daily"]] == [0] * 7


def test_outcomes_are_counted_apart_and_days_roll_over_at_utc_midnight(
    api: Api, db: Database, active_order: dict[str, Any], clock: FakeClock
) -> None:
    key = active_order["key"]
    api.guest("serviceapikey/check", key=key)
    clock.advance(days=1)
    api.admin("order/suspend", id=active_order["id"])
    assert api.guest("serviceapikey/verify", key=key)["code"] == "SUSPENDED"
    usage.flush(db)
    found = api.admin("serviceapikey/usage", order_id=active_order["id"], days=2)
    assert [(d["total"], d["outcomes"]) for d in found["daily"]] == [
        (1, {"VALID": 1}),
        (1, {"SUSPENDED": 1}),
    ]
    assert found["outcomes"] == {"SUSPENDED": 1, "VALID": 1}


def test_a_client_reads_the_usage_of_their_own_key(
    api: Api, db: Database, customer: dict[str, Any], active_order: dict[str, Any]
) -> None:
    use_key(api, active_order["key"])
    usage.flush(db)
    mine = api.ok("client/serviceapikey/usage", auth=customer["auth"], order_id=active_order["id"])
    assert mine == api.admin("serviceapikey/usage", order_id=active_order["id"])


def test_a_client_cannot_read_another_clients_usage_and_learns_no_more_than_for_no_order(
    api: Api, db: Database, active_order: dict[str, Any]
) -> None:
    other = clients.create(
        db, ClientCreate(email="al@example.com", first_name="Al", password="al-pass-123")
    )
    auth = ("client", other.api_token)
    theirs = api.error("client/serviceapikey/usage", auth=auth, order_id=active_order["id"])
    missing = api.error("client/serviceapikey/usage", auth=auth, order_id=999_999)
    assert theirs == missing
    assert theirs["message"] == "Order not found"
    assert (
        api.error("admin/serviceapikey/usage", auth=("admin", api.admin_token), order_id=999_999)
        == missing
    )


@pytest.mark.parametrize("days", [0, -1, 367, 10_000, "x", 1.5])
def test_days_outside_one_to_366_are_refused(
    api: Api, active_order: dict[str, Any], days: Any
) -> None:
    error = api.error(
        "admin/serviceapikey/usage",
        auth=("admin", api.admin_token),
        order_id=active_order["id"],
        days=days,
    )
    assert error["code"] == 9999
    assert "days" in error["message"]


@pytest.mark.parametrize("days", [1, 366])
def test_days_at_the_bounds_give_that_many_days(
    api: Api, active_order: dict[str, Any], clock: FakeClock, days: int
) -> None:
    found = api.admin("serviceapikey/usage", order_id=active_order["id"], days=days)
    assert len(found["daily"]) == days
    assert date.fromisoformat(found["daily"][-1]["date"]) == clock.now.date()


def test_admin_usage_requires_an_admin(
    api: Api, customer: dict[str, Any], active_order: dict[str, Any]
) -> None:
    status, body = api.call(
        "admin/serviceapikey/usage", auth=customer["auth"], order_id=active_order["id"]
    )
    assert status == 401 and body["result"] is None
    status, body = api.call("client/serviceapikey/usage", order_id=active_order["id"])
    assert status == 401 and body["result"] is None
