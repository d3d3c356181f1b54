"""`guest/serviceapikey/verify` over HTTP (DESIGN.md section 11): every code, quotas and their
periods, per-key rate limits, and a refused verify that spends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.models import Order
from keyvend.db.unit_of_work import Database
from tests.conftest import Api, FakeClock
from tests.support.api import admin_error
from tests.support.keys import key_via_api
from tests.support.rows import stored

VERIFY = "/api/guest/serviceapikey/verify"
RESULT_FIELDS = {"valid", "code", "config", "expires_at", "quota"}
NO_KEY = {"message": "You must provide an API key to check it's validity.", "code": 9999}


def verify(api: Api, key: str, **params: Any) -> dict[str, Any]:
    """The result of a verify (fails the test on an error envelope)."""
    result = api.guest("serviceapikey/verify", key=key, **params)
    assert set(result) == RESULT_FIELDS, result
    return dict(result)


def codes(api: Api, key: str, times: int, **params: Any) -> list[str]:
    return [verify(api, key, **params)["code"] for _ in range(times)]


def remaining(api: Api, key: str, **params: Any) -> int | None:
    quota = verify(api, key, **params)["quota"]
    return None if quota is None else int(quota["remaining"])


def order_with(
    api: Api, customer: dict[str, Any], product_id: int, *, period: str = "1M", **config: Any
) -> dict[str, Any]:
    """An active order of `product_id` whose key's config adds `config`; its id and key."""
    oid = api.admin(
        "order/create",
        client_id=customer["id"],
        product_id=product_id,
        period=period,
        config=config,
        activate=True,
    )
    return {"id": oid, "key": key_via_api(api, oid)}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- the codes ----------------------------------------------------------------------------


def test_a_valid_key_answers_valid_with_exactly_the_result_fields(
    api: Api, active_order: dict[str, Any]
) -> None:
    result = verify(api, active_order["key"])
    expires_at = api.admin("order/get", id=active_order["id"])["expires_at"]
    assert result == {
        "valid": True,
        "code": "VALID",
        "config": {"monthlyLimit": 250},
        "expires_at": result["expires_at"],
        "quota": None,
    }
    assert at(result["expires_at"]) == at(expires_at)


def test_a_key_that_does_not_exist_is_a_not_found_result_not_an_error(
    api: Api, active_order: dict[str, Any]
) -> None:
    for key in ("NOPE-NOPE", active_order["key"] + "-0", "x" * 600):
        assert verify(api, key) == {
            "valid": False,
            "code": "NOT_FOUND",
            "config": {},
            "expires_at": None,
            "quota": None,
        }


@pytest.mark.parametrize("params", [{"key": ""}, {"key": "   "}, {}])
def test_verify_without_a_key_asks_for_one_as_check_does(api: Api, params: dict[str, Any]) -> None:
    assert api.error("guest/serviceapikey/verify", **params) == NO_KEY
    assert api.error("guest/serviceapikey/check", **params) == NO_KEY


def test_a_disabled_key_is_disabled(api: Api, active_order: dict[str, Any]) -> None:
    api.admin("serviceapikey/update", order_id=active_order["id"], valid=0)
    result = verify(api, active_order["key"])
    assert (result["valid"], result["code"]) == (False, "DISABLED")
    assert result["config"] == {"monthlyLimit": 250}


def test_a_key_past_its_expiry_is_expired(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    expires_at = at(api.admin("order/get", id=active_order["id"])["expires_at"])
    clock.now = expires_at
    result = verify(api, active_order["key"])
    assert (result["valid"], result["code"]) == (False, "EXPIRED")
    assert at(result["expires_at"]) == expires_at


@pytest.mark.parametrize(("action", "code"), [("suspend", "SUSPENDED"), ("cancel", "CANCELED")])
def test_a_suspended_or_canceled_order_says_so(
    api: Api, active_order: dict[str, Any], action: str, code: str
) -> None:
    api.admin(f"order/{action}", id=active_order["id"])
    result = verify(api, active_order["key"])
    assert (result["valid"], result["code"]) == (False, code)


@pytest.mark.parametrize("status", ["pending_setup", "failed_setup"])
def test_a_key_of_an_order_waiting_for_setup_is_pending(
    api: Api, db: Database, active_order: dict[str, Any], status: str
) -> None:
    # An order placed without `activate` has no key yet (it is issued on activation), so the
    # only pending order with a key is one whose row says so.
    with db.unit_of_work() as uow:
        uow.session.execute(
            update(Order).where(Order.id == active_order["id"]).values(status=status)
        )
        uow.commit()
    result = verify(api, active_order["key"])
    assert (result["valid"], result["code"]) == (False, "PENDING")


def test_an_order_created_without_activate_has_no_key_to_verify(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    oid = api.admin("order/create", client_id=customer["id"], product_id=product_id, period="1M")
    error = admin_error(api, "order/service", id=oid)
    assert error["message"] == "This order has no API key yet; activate it first"
    api.admin("order/activate", id=oid)
    assert verify(api, key_via_api(api, oid))["code"] == "VALID"


def test_a_spent_quota_is_usage_exceeded(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    order = order_with(api, customer, product_id, quota=1)
    assert codes(api, order["key"], 3) == ["VALID", "USAGE_EXCEEDED", "USAGE_EXCEEDED"]
    refused = verify(api, order["key"])
    assert refused["valid"] is False
    assert refused["quota"]["remaining"] == 0


def test_a_spent_rate_limit_is_rate_limited(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    order = order_with(api, customer, product_id, rate_limit="2/minute")
    assert codes(api, order["key"], 3) == ["VALID", "VALID", "RATE_LIMITED"]
    assert verify(api, order["key"])["valid"] is False


# --- cost -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cost", [-1, "x", 10**7, 1.5, None, [1]])
def test_a_bad_cost_is_an_error_envelope_and_spends_nothing(
    api: Api, customer: dict[str, Any], product_id: int, cost: Any
) -> None:
    order = order_with(api, customer, product_id, quota=3)
    for response in (
        api.client.post(VERIFY, json={"key": order["key"], "cost": cost}),
        api.client.post(VERIFY, data={"key": order["key"], "cost": str(cost)}),
    ):
        body = response.json()
        assert body["result"] is None, body
        assert body["error"]["code"] == 9999
        assert "cost" in body["error"]["message"]
    assert remaining(api, order["key"], cost=0) == 3


def test_a_quota_of_three_counts_down_then_is_exceeded(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    order = order_with(api, customer, product_id, quota=3)
    answers = [verify(api, order["key"]) for _ in range(4)]
    assert [a["code"] for a in answers] == ["VALID"] * 3 + ["USAGE_EXCEEDED"]
    assert [a["quota"]["remaining"] for a in answers] == [2, 1, 0, 0]
    assert {a["quota"]["limit"] for a in answers} == {3}


def test_cost_zero_only_looks(api: Api, customer: dict[str, Any], product_id: int) -> None:
    order = order_with(api, customer, product_id, quota=3, rate_limit="1/minute")
    for _ in range(5):
        looked = verify(api, order["key"], cost=0)
        assert (looked["code"], looked["quota"]["remaining"]) == ("VALID", 3)
    spent = verify(api, order["key"], cost=3)
    assert (spent["code"], spent["quota"]["remaining"]) == ("VALID", 0)
    # A look at a spent quota still answers VALID: nothing is asked of it.
    assert verify(api, order["key"], cost=0)["code"] == "VALID"


def test_a_cost_larger_than_what_remains_is_refused_and_spends_nothing(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    order = order_with(api, customer, product_id, quota=3)
    assert remaining(api, order["key"], cost=2) == 1
    refused = verify(api, order["key"], cost=2)
    assert (refused["code"], refused["quota"]["remaining"]) == ("USAGE_EXCEEDED", 1)
    last = verify(api, order["key"], cost=1)
    assert (last["code"], last["quota"]["remaining"]) == ("VALID", 0)


def test_a_verify_refused_by_its_quota_spends_none_of_the_rate_limit(
    api: Api, customer: dict[str, Any], product_id: int, clock: FakeClock
) -> None:
    order = order_with(api, customer, product_id, quota=5, rate_limit="2/minute")
    for _ in range(3):
        assert verify(api, order["key"], cost=10)["code"] == "USAGE_EXCEEDED"
    first, second, third = (verify(api, order["key"]) for _ in range(3))
    assert [first["code"], second["code"], third["code"]] == ["VALID", "VALID", "RATE_LIMITED"]
    # ... and one refused by the rate limit spends none of the quota.
    assert [a["quota"]["remaining"] for a in (first, second, third)] == [4, 3, 3]
    clock.advance(seconds=60)
    assert remaining(api, order["key"]) == 2


def test_a_key_that_does_not_work_spends_nothing_but_shows_its_quota(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    order = order_with(api, customer, product_id, quota=2, rate_limit="1/minute")
    api.admin("serviceapikey/update", order_id=order["id"], valid=0)
    for _ in range(3):
        refused = verify(api, order["key"])
        assert (refused["code"], refused["quota"]) == (
            "DISABLED",
            {"limit": 2, "remaining": 2, "reset_at": refused["quota"]["reset_at"]},
        )
    api.admin("serviceapikey/update", order_id=order["id"], valid=1)
    assert remaining(api, order["key"]) == 1


def test_check_and_get_info_spend_no_quota(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    order = order_with(api, customer, product_id, quota=1, rate_limit="1/minute")
    for _ in range(5):
        assert api.guest("serviceapikey/check", key=order["key"]) is True
        assert api.guest("serviceapikey/get_info", key=order["key"])["valid"] is True
    assert remaining(api, order["key"]) == 0


# --- quota periods ------------------------------------------------------------------------


def test_a_daily_quota_starts_again_at_utc_midnight(
    api: Api, customer: dict[str, Any], product_id: int, clock: FakeClock
) -> None:
    order = order_with(api, customer, product_id, quota=1, quota_period="day")
    spent = verify(api, order["key"])
    assert at(spent["quota"]["reset_at"]) == datetime(2026, 1, 16, tzinfo=UTC)
    clock.now = datetime(2026, 1, 15, 23, 59, 59, tzinfo=UTC)
    assert verify(api, order["key"])["code"] == "USAGE_EXCEEDED"
    clock.now = datetime(2026, 1, 16, tzinfo=UTC)
    fresh = verify(api, order["key"])
    assert (fresh["code"], fresh["quota"]["remaining"]) == ("VALID", 0)
    assert at(fresh["quota"]["reset_at"]) == datetime(2026, 1, 17, tzinfo=UTC)


def test_a_monthly_quota_is_the_default_and_starts_again_at_the_end_of_the_month(
    api: Api, customer: dict[str, Any], product_id: int, clock: FakeClock
) -> None:
    order = order_with(api, customer, product_id, quota=1)
    assert api.admin("order/service", id=order["id"])["config"]["quota_period"] == "month"
    spent = verify(api, order["key"])
    assert at(spent["quota"]["reset_at"]) == datetime(2026, 2, 1, tzinfo=UTC)
    clock.now = datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
    assert verify(api, order["key"])["code"] == "USAGE_EXCEEDED"
    clock.now = datetime(2026, 2, 1, tzinfo=UTC)
    fresh = verify(api, order["key"])
    assert (fresh["code"], fresh["quota"]["remaining"]) == ("VALID", 0)
    assert at(fresh["quota"]["reset_at"]) == datetime(2026, 3, 1, tzinfo=UTC)


def test_a_total_quota_never_starts_again(
    api: Api, customer: dict[str, Any], product_id: int, clock: FakeClock
) -> None:
    order = order_with(api, customer, product_id, period="1Y", quota=1, quota_period="total")
    spent = verify(api, order["key"])
    assert (spent["code"], spent["quota"]["reset_at"]) == ("VALID", None)
    for days in (1, 20, 40, 200):
        clock.advance(days=days)
        refused = verify(api, order["key"])
        assert (refused["code"], refused["quota"]["reset_at"]) == ("USAGE_EXCEEDED", None), days


def test_a_period_quota_starts_again_when_an_admin_renews_the_order(
    api: Api, customer: dict[str, Any], product_id: int, clock: FakeClock
) -> None:
    order = order_with(api, customer, product_id, quota=1, quota_period="period")
    expires_at = at(api.admin("order/get", id=order["id"])["expires_at"])
    spent = verify(api, order["key"])
    assert at(spent["quota"]["reset_at"]) == expires_at
    clock.advance(days=3)  # the month turns nothing over for a period quota
    assert verify(api, order["key"])["code"] == "USAGE_EXCEEDED"
    api.admin("order/renew", id=order["id"])
    renewed = at(api.admin("order/get", id=order["id"])["expires_at"])
    assert renewed > expires_at
    fresh = verify(api, order["key"])
    assert (fresh["code"], fresh["quota"]["remaining"]) == ("VALID", 0)
    assert at(fresh["quota"]["reset_at"]) == renewed


def test_a_period_quota_starts_again_when_a_renewal_invoice_is_paid(
    api: Api, customer: dict[str, Any]
) -> None:
    pid = int(api.admin("product/prepare", title="Metered", type="apikey"))
    api.admin("product/update_config", id=pid, config={"quota": 2, "quota_period": "period"})
    pricing = {"type": "recurrent", "recurrent": {"1M": "5.00"}}
    api.admin("product/update", id=pid, status="enabled", setup="after_order", pricing=pricing)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid, period="1M")
    placed = api.ok("client/cart/checkout", auth=customer["auth"])
    api.admin("invoice/mark_as_paid", id=placed["invoice_id"])
    key = key_via_api(api, placed["order_id"])
    assert codes(api, key, 3) == ["VALID", "VALID", "USAGE_EXCEEDED"]
    renewal = api.admin("invoice/renewal_invoice", order_id=placed["order_id"])
    assert verify(api, key)["code"] == "USAGE_EXCEEDED"  # issued is not paid
    api.admin("invoice/mark_as_paid", id=renewal)
    assert [remaining(api, key) for _ in range(2)] == [1, 0]
    assert verify(api, key)["code"] == "USAGE_EXCEEDED"


# --- per-key rate limits -------------------------------------------------------------------


def test_a_per_key_rate_limit_refuses_then_recovers_when_its_window_passes(
    api: Api, customer: dict[str, Any], product_id: int, clock: FakeClock
) -> None:
    order = order_with(api, customer, product_id, rate_limit="2/minute")
    assert codes(api, order["key"], 4) == ["VALID", "VALID", "RATE_LIMITED", "RATE_LIMITED"]
    clock.advance(seconds=59)
    assert verify(api, order["key"])["code"] == "RATE_LIMITED"
    clock.advance(seconds=1)
    assert codes(api, order["key"], 3) == ["VALID", "VALID", "RATE_LIMITED"]


def test_a_per_key_rate_limit_is_per_key(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    first = order_with(api, customer, product_id, rate_limit="1/minute")
    second = order_with(api, customer, product_id, rate_limit="1/minute")
    assert codes(api, first["key"], 2) == ["VALID", "RATE_LIMITED"]
    assert codes(api, second["key"], 2) == ["VALID", "RATE_LIMITED"]


# --- the config -----------------------------------------------------------------------------


def test_the_products_quota_settings_are_copied_into_each_new_keys_config(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    limits = {"quota": "5", "quota_period": "Day", "rate_limit": "10/second"}
    api.admin(
        "product/update_config",
        id=product_id,
        config={"length": 32, "split": 1, "split_interval": 8, **limits},
    )
    oid = api.admin(
        "order/create", client_id=customer["id"], product_id=product_id, period="1M", activate=True
    )
    config = api.admin("order/service", id=oid)["config"]
    assert (config["quota"], config["quota_period"], config["rate_limit"]) == (
        5,
        "day",
        "10/second",
    )
    result = verify(api, key_via_api(api, oid))
    assert result["quota"]["limit"] == 5 and result["quota"]["remaining"] == 4
    # The quota settings are the key service's, not parameters shown to the application.
    assert result["config"] == {}


def test_a_key_without_a_quota_stores_no_quota_period(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    order = order_with(api, customer, product_id, quota_period="day")
    assert "quota_period" not in api.admin("order/service", id=order["id"])["config"]
    assert verify(api, order["key"])["quota"] is None


BAD_LIMITS = [
    ({"quota": -1}, "quota"),
    ({"quota": "lots"}, "quota"),
    ({"quota": 10**16}, "quota"),
    ({"quota": 5, "quota_period": "week"}, "quota_period"),
    ({"quota": 5, "quota_period": 3}, "quota_period"),
    ({"rate_limit": "often"}, "rate_limit"),
    ({"rate_limit": "0/second"}, "rate_limit"),
    ({"rate_limit": "1/second;2/minute"}, "rate_limit"),
    ({"rate_limit": 10}, "rate_limit"),
]


@pytest.mark.parametrize(("limits", "named"), BAD_LIMITS)
def test_a_bad_quota_setting_on_a_product_is_refused_naming_it_and_nothing_is_saved(
    api: Api, product_id: int, limits: dict[str, Any], named: str
) -> None:
    before = api.admin("product/get", id=product_id)
    error = admin_error(api, "product/update_config", id=product_id, config=limits)
    assert error["code"] == 9999
    assert named in error["message"], error
    assert api.admin("product/get", id=product_id) == before


@pytest.mark.parametrize(("limits", "named"), BAD_LIMITS)
def test_a_bad_quota_setting_on_a_key_is_refused_naming_it_and_nothing_is_saved(
    api: Api, db: Database, active_order: dict[str, Any], limits: dict[str, Any], named: str
) -> None:
    before = stored(db)
    error = admin_error(
        api, "serviceapikey/update", order_id=active_order["id"], config=limits, valid=0
    )
    assert named in error["message"], error
    assert stored(db) == before
    assert verify(api, active_order["key"])["code"] == "VALID"


def test_an_admin_can_give_a_key_a_quota_afterwards(api: Api, active_order: dict[str, Any]) -> None:
    assert verify(api, active_order["key"])["quota"] is None
    api.admin("serviceapikey/update", order_id=active_order["id"], config={"quota": 2})
    assert [remaining(api, active_order["key"]) for _ in range(2)] == [1, 0]
    assert verify(api, active_order["key"])["code"] == "USAGE_EXCEEDED"


# --- misses and the guest budgets ----------------------------------------------------------


@pytest.fixture
def limited(settings: Settings, db: Database) -> Iterator[TestClient]:
    """A client of an app with a small miss budget (3 a minute) and a large guest one."""
    values = {
        "rate_limit_enabled": True,
        "rate_limit_guest": "1000/minute",
        "rate_limit_guest_miss": "3/minute",
    }
    app = create_app(settings.model_copy(update=values), database=db)
    with TestClient(app, client=("203.0.113.7", 40000)) as test_client:
        yield test_client


def test_verify_misses_count_against_guest_miss_like_check(
    api: Api, limited: TestClient, active_order: dict[str, Any], clock: FakeClock
) -> None:
    misses = [limited.post(VERIFY, json={"key": f"NOPE-{n}"}).json() for n in range(3)]
    assert [m["result"]["code"] for m in misses] == ["NOT_FOUND"] * 3
    refused = limited.post(VERIFY, json={"key": active_order["key"]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, 429)
    check = limited.post("/api/guest/serviceapikey/check", json={"key": active_order["key"]})
    assert check.status_code == 429  # one budget for check and verify
    clock.advance(seconds=60)
    assert limited.post(VERIFY, json={"key": active_order["key"]}).json()["result"]["valid"]


def test_verify_and_check_misses_spend_one_miss_budget(
    api: Api, limited: TestClient, active_order: dict[str, Any]
) -> None:
    limited.post("/api/guest/serviceapikey/check", json={"key": "NOPE-1"})
    limited.post(VERIFY, data={"key": "NOPE-2"})  # the dispatcher counts it too
    limited.post(VERIFY, json={"key": "NOPE-3"})
    assert limited.post(VERIFY, json={"key": active_order["key"]}).status_code == 429


def test_verifies_of_existing_keys_spend_no_miss_budget(
    api: Api, limited: TestClient, active_order: dict[str, Any]
) -> None:
    api.admin("order/suspend", id=active_order["id"])
    for _ in range(6):
        body = limited.post(VERIFY, json={"key": active_order["key"]}).json()
        assert body["result"]["code"] == "SUSPENDED"
