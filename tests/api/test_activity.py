"""`admin/activity/get_list`: the activity log, newest first, filtered and paged; admins only."""

from __future__ import annotations

from typing import Any

import pytest

from keyvend.db.unit_of_work import Database
from keyvend.services import activity
from tests.conftest import Api, FakeClock
from tests.support.api import admin_error

EVENT_FIELDS = {"seq", "at", "type", "actor", "client_id", "order_id", "invoice_id", "data"}


@pytest.fixture
def log(api: Api, clock: FakeClock, customer: dict[str, Any], product_id: int) -> dict[str, Any]:
    """Two orders a day apart, one of them suspended, and a failed login."""
    first = api.admin("order/create", client_id=customer["id"], product_id=product_id)
    clock.advance(days=1)
    second = api.admin(
        "order/create", client_id=customer["id"], product_id=product_id, activate=True
    )
    api.admin("order/suspend", id=second, reason="late")
    api.error("guest/staff/login", email="root@example.com", password="wrong-password")
    return {"first": first, "second": second, "admin": f"admin:{api.admin('profile/get')['id']}"}


def listed(api: Api, **params: Any) -> list[dict[str, Any]]:
    return list(api.admin("activity/get_list", **params)["list"])


def test_the_log_lists_events_newest_first_without_fingerprints(
    api: Api, log: dict[str, Any]
) -> None:
    page = api.admin("activity/get_list")
    events = page["list"]
    assert [e["seq"] for e in events] == sorted((e["seq"] for e in events), reverse=True)
    assert all(set(e) == EVENT_FIELDS for e in events)
    assert events[0]["type"] == "staff.login_failed"
    assert events[0]["at"] == "2026-01-16T12:00:00+00:00"
    assert page["total"] == len(events)


def test_the_log_filters_by_exact_type_or_a_prefix(api: Api, log: dict[str, Any]) -> None:
    suspended = listed(api, type="order.suspended")
    assert [(e["type"], e["order_id"]) for e in suspended] == [("order.suspended", log["second"])]
    assert suspended[0]["data"]["reason"] == "late"
    orders = {e["type"] for e in listed(api, type="order.")}
    assert orders == {"order.created", "order.activated", "order.suspended"}
    assert listed(api, type="order") == []  # no dot: an exact type, and none is called that
    assert listed(api, type="%.") == []  # the prefix is matched literally


def test_the_log_filters_by_actor_client_order_and_invoice(
    api: Api, log: dict[str, Any], customer: dict[str, Any]
) -> None:
    by_system = listed(api, actor="system")
    assert "staff.login_failed" in {e["type"] for e in by_system}
    assert all(e["actor"] == "system" for e in by_system)
    by_admin = listed(api, actor=log["admin"])
    assert by_admin and all(e["actor"] == log["admin"] for e in by_admin)
    mine = listed(api, client_id=customer["id"], type="order.")
    assert len(mine) == 4 and all(e["client_id"] == customer["id"] for e in mine)
    first = listed(api, order_id=log["first"])
    assert [e["type"] for e in first] == ["order.created"]
    assert listed(api, invoice_id=1) == []


def test_the_log_filters_by_time_since_inclusive_until_exclusive(
    api: Api, log: dict[str, Any]
) -> None:
    day_one = listed(api, type="order.", until="2026-01-16")
    assert [(e["type"], e["order_id"]) for e in day_one] == [("order.created", log["first"])]
    later = listed(api, type="order.", since="2026-01-16T12:00:00Z")
    assert {e["order_id"] for e in later} == {log["second"]} and len(later) == 3
    offset = listed(api, type="order.", since="2026-01-16T13:00:00+01:00", until="2026-01-17")
    assert len(offset) == 3  # 13:00+01:00 is 12:00 UTC
    assert listed(api, since="2026-01-17") == []


def test_the_log_is_paged(api: Api, log: dict[str, Any]) -> None:
    whole = listed(api)
    count = -(-len(whole) // 2)
    pages = [api.admin("activity/get_list", per_page=2, page=n) for n in range(1, count + 1)]
    assert pages[0]["total"] == len(whole) and pages[0]["pages"] == count
    assert [e["seq"] for p in pages for e in p["list"]] == [e["seq"] for e in whole]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": 1767225600}, "since"),  # never a number read as a Unix time
        ({"until": "2026-01-15" + "0" * 50}, "until"),
        ({"client_id": 0}, "client_id"),
        ({"order_id": "x"}, "order_id"),
        ({"per_page": 5000}, "per_page"),
    ],
)
def test_bad_filters_answer_an_error_naming_the_parameter(
    api: Api, params: dict[str, Any], named: str
) -> None:
    error = admin_error(api, "activity/get_list", **params)
    assert error["code"] == 9999
    assert error["message"].startswith(f"{named}:"), error


def test_only_admins_read_the_log(api: Api, customer: dict[str, Any]) -> None:
    as_client = api.error("admin/activity/get_list", auth=customer["auth"])
    as_guest = api.error("admin/activity/get_list")
    assert as_client["code"] == as_guest["code"]
    assert api.client.post("/api/admin/activity/get_list").status_code in (401, 403)


def test_history_names_an_orders_invoice_events_and_a_clients_events(
    api: Api, db: Database, customer: dict[str, Any]
) -> None:
    pid = int(api.admin("product/prepare", title="Paid", type="apikey"))
    pricing = {"type": "once", "once": {"price": "10.00"}}
    api.admin("product/update", id=pid, status="enabled", setup="after_payment", pricing=pricing)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid)
    placed = api.ok("client/cart/checkout", auth=customer["auth"])
    api.admin("invoice/mark_as_paid", id=placed["invoice_id"])
    order_events = activity.history(db, order_id=placed["order_id"])
    assert [e.type for e in order_events] == [
        "order.activated",
        "invoice.paid",
        "invoice.created",
        "order.created",
    ]
    theirs = activity.history(db, client_id=customer["id"], limit=2)
    assert [e.type for e in theirs] == ["order.activated", "invoice.paid"]
