"""The order state machine over HTTP, and what each transition does to the order's key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from keyvend.db.models import Order
from keyvend.db.unit_of_work import Database
from tests.conftest import Api, FakeClock
from tests.support.keys import key_via_api
from tests.support.rows import stored

STATUSES = ("pending_setup", "active", "suspended", "canceled", "failed_setup", "failed_renew")
# action -> {status it may start from: status it leads to}; every other pair is refused.
ALLOWED: dict[str, dict[str, str]] = {
    "activate": {"pending_setup": "active", "failed_setup": "active"},
    "suspend": {"active": "suspended"},
    "unsuspend": {"suspended": "active"},
    "cancel": {s: "canceled" for s in STATUSES if s != "canceled"},
    "uncancel": {"canceled": "active"},
    "renew": {"active": "active", "suspended": "active", "failed_renew": "active"},
}
PAIRS = [(action, status) for action in ALLOWED for status in STATUSES]
NO_SUCH_KEY = {"message": "API key does not exist", "code": 9999}

MakeOrder = Callable[..., int]


def force_status(db: Database, order_id: int, status: str) -> None:
    """Put an order in a status no API call leads to directly (failed_setup, failed_renew)."""
    with db.unit_of_work() as uow:
        uow.session.execute(update(Order).where(Order.id == order_id).values(status=status))
        uow.commit()


def at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@pytest.fixture
def make_order(api: Api, db: Database, product_id: int, customer: dict[str, Any]) -> MakeOrder:
    """Build an order of `customer` in the given status, with a 1M period by default."""

    def make(status: str = "active", *, period: str | None = "1M", **extra: Any) -> int:
        params = {"client_id": customer["id"], "product_id": product_id, **extra}
        if period is not None:
            params["period"] = period
        issued = status not in ("pending_setup", "failed_setup")
        oid = int(api.admin("order/create", activate=issued, **params))
        if status == "suspended":
            api.admin("order/suspend", id=oid)
        elif status == "canceled":
            api.admin("order/cancel", id=oid)
        elif status == "failed_setup":
            force_status(db, oid, "failed_setup")
        elif status == "failed_renew":
            force_status(db, oid, "failed_renew")
        assert api.admin("order/get", id=oid)["status"] == status
        return oid

    return make


def status_of(api: Api, order_id: int) -> str:
    return str(api.admin("order/get", id=order_id)["status"])


def check(api: Api, key: str) -> bool:
    return bool(api.guest("serviceapikey/check", key=key))


# --- the transition matrix ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status"),
    [pair for pair in PAIRS if pair[1] in ALLOWED[pair[0]]],
    ids=[f"{a}-from-{s}" for a, s in PAIRS if s in ALLOWED[a]],
)
def test_allowed_transition_moves_the_order_to_its_target_status(
    api: Api, make_order: MakeOrder, action: str, status: str
) -> None:
    oid = make_order(status)
    assert api.admin(f"order/{action}", id=oid) is True
    target = ALLOWED[action][status]
    assert status_of(api, oid) == target
    if target == "active" or status not in ("pending_setup", "failed_setup"):
        assert check(api, key_via_api(api, oid)) is (target == "active")


@pytest.mark.parametrize(
    ("action", "status"),
    [pair for pair in PAIRS if pair[1] not in ALLOWED[pair[0]]],
    ids=[f"{a}-from-{s}" for a, s in PAIRS if s not in ALLOWED[a]],
)
def test_forbidden_transition_is_refused_clearly_and_changes_nothing(
    api: Api, db: Database, make_order: MakeOrder, clock: FakeClock, action: str, status: str
) -> None:
    oid = make_order(status)
    before = stored(db)
    clock.advance(hours=1)
    status_code, body = api.call(f"admin/order/{action}", auth=("admin", api.admin_token), id=oid)
    assert status_code == 200
    assert body["result"] is None
    assert body["error"]["code"] == 9999
    assert status in body["error"]["message"]
    assert stored(db) == before


@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_transition_of_an_unknown_order_says_order_not_found(
    api: Api, db: Database, make_order: MakeOrder, action: str
) -> None:
    make_order("active")
    before = stored(db)
    error = api.error(f"admin/order/{action}", auth=("admin", api.admin_token), id=424242)
    assert error == {"message": "Order not found", "code": 9999}
    assert stored(db) == before


# --- what transitions do to the key -------------------------------------------------------


def test_suspended_key_checks_false_and_unsuspend_makes_it_valid_again(
    api: Api, active_order: dict[str, Any]
) -> None:
    api.admin("order/suspend", id=active_order["id"], reason="Unpaid invoice")
    assert check(api, active_order["key"]) is False
    assert api.guest("serviceapikey/get_info", key=active_order["key"])["valid"] is False
    assert api.admin("order/get", id=active_order["id"])["reason"] == "Unpaid invoice"
    api.admin("order/unsuspend", id=active_order["id"])
    assert check(api, active_order["key"]) is True
    assert api.admin("order/get", id=active_order["id"])["reason"] is None


def test_canceled_key_checks_false_and_uncancel_makes_it_valid_again(
    api: Api, active_order: dict[str, Any]
) -> None:
    api.admin("order/cancel", id=active_order["id"], reason="Customer asked")
    assert check(api, active_order["key"]) is False
    assert api.admin("order/get", id=active_order["id"])["reason"] == "Customer asked"
    api.admin("order/uncancel", id=active_order["id"])
    assert status_of(api, active_order["id"]) == "active"
    assert check(api, active_order["key"]) is True


def test_suspend_cancel_and_their_reversals_keep_the_same_key(
    api: Api, active_order: dict[str, Any]
) -> None:
    for action in ("suspend", "unsuspend", "cancel", "uncancel", "renew"):
        api.admin(f"order/{action}", id=active_order["id"])
        assert key_via_api(api, active_order["id"]) == active_order["key"], action


def test_uncancel_of_a_never_activated_order_returns_it_to_pending_setup(
    api: Api, make_order: MakeOrder
) -> None:
    oid = make_order("pending_setup")
    api.admin("order/cancel", id=oid)
    api.admin("order/uncancel", id=oid)
    assert status_of(api, oid) == "pending_setup"
    api.admin("order/activate", id=oid)
    assert check(api, key_via_api(api, oid)) is True


def test_activation_issues_the_key_and_starts_the_period(
    api: Api, make_order: MakeOrder, clock: FakeClock
) -> None:
    oid = make_order("pending_setup")
    clock.advance(days=3)
    api.admin("order/activate", id=oid)
    order = api.admin("order/get", id=oid)
    assert at(order["activated_at"]) == clock.now
    assert at(order["expires_at"]) == datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
    assert check(api, key_via_api(api, oid)) is True


def test_activation_from_failed_setup_issues_a_working_key(api: Api, make_order: MakeOrder) -> None:
    oid = make_order("failed_setup")
    api.admin("order/activate", id=oid)
    assert check(api, key_via_api(api, oid)) is True


def test_reason_that_is_too_long_is_refused_and_changes_nothing(
    api: Api, db: Database, active_order: dict[str, Any]
) -> None:
    before = stored(db)
    error = api.error(
        "admin/order/suspend",
        auth=("admin", api.admin_token),
        id=active_order["id"],
        reason="x" * 300,
    )
    assert "reason" in error["message"]
    assert stored(db) == before


# --- renew --------------------------------------------------------------------------------


def test_renew_extends_a_future_expiry_by_one_period_from_expires_at(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    assert at(api.admin("order/get", id=active_order["id"])["expires_at"]) == datetime(
        2026, 2, 15, 12, 0, tzinfo=UTC
    )
    clock.advance(days=10)
    api.admin("order/renew", id=active_order["id"])
    order = api.admin("order/get", id=active_order["id"])
    assert at(order["expires_at"]) == datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    assert order["status"] == "active"


def test_renew_of_an_expired_order_counts_one_period_from_now(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    clock.advance(days=40)  # 2026-02-24 12:00, nine days past expiry
    assert check(api, active_order["key"]) is False
    api.admin("order/renew", id=active_order["id"])
    order = api.admin("order/get", id=active_order["id"])
    assert at(order["expires_at"]) == datetime(2026, 3, 24, 12, 0, tzinfo=UTC)
    assert check(api, active_order["key"]) is True


def test_renew_reactivates_a_suspended_order_and_its_key(
    api: Api, active_order: dict[str, Any]
) -> None:
    api.admin("order/suspend", id=active_order["id"], reason="Unpaid")
    api.admin("order/renew", id=active_order["id"])
    order = api.admin("order/get", id=active_order["id"])
    assert order["status"] == "active"
    assert order["reason"] is None
    assert at(order["expires_at"]) == datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    assert check(api, active_order["key"]) is True


def test_renew_twice_adds_two_periods(api: Api, make_order: MakeOrder) -> None:
    oid = make_order("active", period="1Y")
    api.admin("order/renew", id=oid)
    api.admin("order/renew", id=oid)
    expires_at = at(api.admin("order/get", id=oid)["expires_at"])
    assert expires_at == datetime(2029, 1, 15, 12, 0, tzinfo=UTC)


def test_renew_of_an_order_without_a_period_is_refused_and_changes_nothing(
    api: Api, db: Database, make_order: MakeOrder
) -> None:
    oid = make_order("active", period=None)
    before = stored(db)
    error = api.error("admin/order/renew", auth=("admin", api.admin_token), id=oid)
    assert "period" in error["message"]
    assert stored(db) == before


# --- periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "expires_at"),
    [
        ("1M", datetime(2026, 2, 15, 12, 0, tzinfo=UTC)),
        ("3M", datetime(2026, 4, 15, 12, 0, tzinfo=UTC)),
        ("6M", datetime(2026, 7, 15, 12, 0, tzinfo=UTC)),
        ("24M", datetime(2028, 1, 15, 12, 0, tzinfo=UTC)),
        ("1Y", datetime(2027, 1, 15, 12, 0, tzinfo=UTC)),
        ("5Y", datetime(2031, 1, 15, 12, 0, tzinfo=UTC)),
        ("2W", datetime(2026, 1, 29, 12, 0, tzinfo=UTC)),
        ("52W", datetime(2027, 1, 14, 12, 0, tzinfo=UTC)),
        ("30D", datetime(2026, 2, 14, 12, 0, tzinfo=UTC)),
        ("1D", datetime(2026, 1, 16, 12, 0, tzinfo=UTC)),
        ("90D", datetime(2026, 4, 15, 12, 0, tzinfo=UTC)),
    ],
)
def test_period_gives_the_right_expiry(
    api: Api, make_order: MakeOrder, period: str, expires_at: datetime
) -> None:
    order = api.admin("order/get", id=make_order("active", period=period))
    assert order["period"] == period
    assert at(order["expires_at"]) == expires_at


@pytest.mark.parametrize(
    ("period", "expires_at"),
    [
        ("1M", datetime(2026, 2, 28, 12, 0, tzinfo=UTC)),
        ("3M", datetime(2026, 4, 30, 12, 0, tzinfo=UTC)),
        ("1Y", datetime(2027, 1, 31, 12, 0, tzinfo=UTC)),
    ],
)
def test_month_periods_started_on_the_31st_end_on_the_last_day_of_a_shorter_month(
    api: Api, make_order: MakeOrder, clock: FakeClock, period: str, expires_at: datetime
) -> None:
    clock.advance(days=16)  # 2026-01-31
    order = api.admin("order/get", id=make_order("active", period=period))
    assert at(order["expires_at"]) == expires_at


@pytest.mark.parametrize(
    "period", ["0M", "25M", "6Y", "91D", "53W", "1X", "M", "1.5M", "-1M", "1 M", "abc", "100D"]
)
def test_invalid_period_is_refused_and_no_order_is_created(
    api: Api,
    db: Database,
    active_order: Any,
    customer: dict[str, Any],
    product_id: int,
    period: str,
) -> None:
    before = stored(db)
    error = api.error(
        "admin/order/create",
        auth=("admin", api.admin_token),
        client_id=customer["id"],
        product_id=product_id,
        period=period,
        activate=True,
    )
    assert "period" in error["message"]
    assert stored(db) == before


# --- config snapshot ----------------------------------------------------------------------


def test_order_config_overrides_are_snapshotted_and_ignore_later_product_changes(
    api: Api, make_order: MakeOrder, product_id: int
) -> None:
    oid = make_order("active", config={"prefix": "ent_", "custom_monthlyLimit": "1000"})
    key = key_via_api(api, oid)
    assert key.startswith("ent_")
    assert api.guest("serviceapikey/get_info", key=key)["config"] == {"monthlyLimit": 1000}
    api.admin(
        "product/update_config",
        id=product_id,
        config={"prefix": "x_", "split": 0, "custom_monthlyLimit": "5", "custom_extra": "y"},
    )
    assert api.guest("serviceapikey/get_info", key=key)["config"] == {"monthlyLimit": 1000}
    assert api.admin("order/get", id=oid)["config"]["prefix"] == "ent_"
    api.admin("serviceapikey/reset", order_id=oid)
    new_key = key_via_api(api, oid)
    assert new_key.startswith("ent_")
    assert "-" in new_key
    fresh = make_order("active")
    assert api.guest("serviceapikey/get_info", key=key_via_api(api, fresh))["config"] == {
        "monthlyLimit": 5,
        "extra": "y",
    }


def test_order_without_overrides_snapshots_the_product_config(
    api: Api, active_order: dict[str, Any], product_id: int
) -> None:
    product_config = api.admin("product/get", id=product_id)["config"]
    assert api.admin("order/get", id=active_order["id"])["config"] == product_config
    api.admin("product/update_config", id=product_id, config={"custom_monthlyLimit": "1"})
    assert api.admin("order/get", id=active_order["id"])["config"] == product_config


def test_order_with_a_bad_config_override_is_refused_and_nothing_is_created(
    api: Api, db: Database, customer: dict[str, Any], product_id: int
) -> None:
    before = stored(db)
    error = api.error(
        "admin/order/create",
        auth=("admin", api.admin_token),
        client_id=customer["id"],
        product_id=product_id,
        config={"length": 8},
        activate=True,
    )
    assert "length" in error["message"]
    assert stored(db) == before


# --- delete -------------------------------------------------------------------------------


def test_delete_removes_the_order_and_its_key(
    api: Api, db: Database, active_order: dict[str, Any]
) -> None:
    assert api.admin("order/delete", id=active_order["id"]) is True
    assert api.error("guest/serviceapikey/check", key=active_order["key"]) == NO_SUCH_KEY
    not_found = {"message": "Order not found", "code": 9999}
    admin = ("admin", api.admin_token)
    assert api.error("admin/order/get", auth=admin, id=active_order["id"]) == not_found
    assert api.error("admin/order/service", auth=admin, id=active_order["id"]) == not_found
    assert stored(db) == {"orders": [], "service_apikey": []}


def test_delete_of_an_unknown_order_says_order_not_found(
    api: Api, db: Database, active_order: Any
) -> None:
    before = stored(db)
    error = api.error("admin/order/delete", auth=("admin", api.admin_token), id=999_999)
    assert error == {"message": "Order not found", "code": 9999}
    assert stored(db) == before
