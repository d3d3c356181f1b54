"""Reset with overlap (DESIGN.md section 11): the old key keeps working beside the new one for
`overlap` seconds (at most 7 days), then is a key that does not exist."""

from __future__ import annotations

from typing import Any

import pytest

from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.services import secret as secret_service
from tests.conftest import Api, FakeClock
from tests.support.keys import key_via_api
from tests.support.rows import stored

NO_SUCH_KEY = {"message": "API key does not exist", "code": 9999}
HOUR = 3600
WEEK = 604800
OTHER_SECRET = "another-secret-" + "y" * 40


def works(api: Api, key: str) -> bool:
    """Whether `key` is valid by check, get_info and verify alike (they must agree)."""
    checked = api.guest("serviceapikey/check", key=key)
    info = api.guest("serviceapikey/get_info", key=key)
    verified = api.guest("serviceapikey/verify", key=key)
    assert checked == info["valid"] == verified["valid"], (checked, info, verified)
    assert info["config"] == verified["config"] == {"monthlyLimit": 250}
    return bool(checked)


def gone(api: Api, key: str) -> bool:
    """Whether `key` is, to every guest call, a key that does not exist."""
    checked = api.error("guest/serviceapikey/check", key=key)
    info = api.error("guest/serviceapikey/get_info", key=key)
    verified = api.guest("serviceapikey/verify", key=key)
    assert checked == info == NO_SUCH_KEY
    assert verified == {
        "valid": False,
        "code": "NOT_FOUND",
        "config": {},
        "expires_at": None,
        "quota": None,
    }
    return True


def admin_reset(api: Api, order_id: int, **params: Any) -> str:
    assert api.admin("serviceapikey/reset", order_id=order_id, **params) is True
    return key_via_api(api, order_id)


def client_reset(api: Api, customer: dict[str, Any], order_id: int, **params: Any) -> str:
    done = api.ok("client/serviceapikey/reset", auth=customer["auth"], order_id=order_id, **params)
    assert done is True
    return key_via_api(api, order_id)


@pytest.mark.parametrize("who", ["admin", "client"])
def test_both_keys_work_inside_the_overlap_and_the_old_one_dies_after_it(
    api: Api, customer: dict[str, Any], active_order: dict[str, Any], clock: FakeClock, who: str
) -> None:
    old = active_order["key"]
    if who == "admin":
        new = admin_reset(api, active_order["id"], overlap=HOUR)
    else:
        new = client_reset(api, customer, active_order["id"], overlap=HOUR)
    assert new != old
    assert works(api, old) and works(api, new)
    clock.advance(seconds=HOUR - 1)
    assert works(api, old) and works(api, new)
    clock.advance(seconds=1)
    assert gone(api, old)
    assert works(api, new)


def test_a_reset_by_key_keeps_that_key_for_the_overlap(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    old = active_order["key"]
    assert api.admin("serviceapikey/reset", key=old, overlap=60) is True
    new = key_via_api(api, active_order["id"])
    assert works(api, old) and works(api, new)
    clock.advance(seconds=60)
    assert gone(api, old)


def test_the_order_shows_only_the_new_key(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    new = admin_reset(api, active_order["id"], overlap=HOUR)
    assert api.admin("order/service", id=active_order["id"])["api_key"] == new


@pytest.mark.parametrize("params", [{}, {"overlap": 0}])
def test_a_reset_without_an_overlap_kills_the_old_key_at_once(
    api: Api, active_order: dict[str, Any], params: dict[str, Any]
) -> None:
    new = admin_reset(api, active_order["id"], **params)
    assert gone(api, active_order["key"])
    assert works(api, new)


def test_a_second_reset_during_an_overlap_kills_the_first_old_key(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    first = active_order["key"]
    second = admin_reset(api, active_order["id"], overlap=HOUR)
    clock.advance(minutes=10)
    third = admin_reset(api, active_order["id"], overlap=HOUR)
    assert gone(api, first)
    assert works(api, second) and works(api, third)
    clock.advance(seconds=HOUR)
    assert gone(api, second)
    assert works(api, third)


def test_a_reset_without_overlap_during_an_overlap_kills_both_old_keys(
    api: Api, active_order: dict[str, Any]
) -> None:
    second = admin_reset(api, active_order["id"], overlap=HOUR)
    third = admin_reset(api, active_order["id"])
    assert gone(api, active_order["key"]) and gone(api, second)
    assert works(api, third)


def test_the_longest_overlap_is_seven_days(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    admin_reset(api, active_order["id"], overlap=WEEK)
    clock.advance(seconds=WEEK - 1)
    assert works(api, active_order["key"])
    clock.advance(seconds=1)
    assert gone(api, active_order["key"])


@pytest.mark.parametrize("overlap", [WEEK + 1, -1, "an hour", 1.5, 10**12])
@pytest.mark.parametrize("who", ["admin", "client"])
def test_an_overlap_out_of_range_is_refused_and_nothing_changes(
    api: Api,
    db: Database,
    customer: dict[str, Any],
    active_order: dict[str, Any],
    overlap: Any,
    who: str,
) -> None:
    before = stored(db)
    auth = ("admin", api.admin_token) if who == "admin" else customer["auth"]
    error = api.error(
        f"{who}/serviceapikey/reset", auth=auth, order_id=active_order["id"], overlap=overlap
    )
    assert error["code"] == 9999
    assert "overlap" in error["message"]
    assert stored(db) == before
    assert works(api, active_order["key"])


def test_the_client_overlap_is_refused_for_another_clients_key(
    api: Api, db: Database, customer: dict[str, Any], product_id: int
) -> None:
    from keyvend.schemas.account import ClientCreate
    from keyvend.services import client as clients

    ann = clients.create(db, ClientCreate(email="ann@example.com", first_name="Ann"))
    oid = api.admin(
        "order/create", client_id=ann.id, product_id=product_id, period="1M", activate=True
    )
    before = stored(db)
    error = api.error(
        "client/serviceapikey/reset", auth=customer["auth"], order_id=oid, overlap=HOUR
    )
    assert error == NO_SUCH_KEY
    assert stored(db) == before


def test_disabling_the_key_disables_both_keys_of_the_overlap(
    api: Api, active_order: dict[str, Any]
) -> None:
    old = active_order["key"]
    new = admin_reset(api, active_order["id"], overlap=HOUR)
    api.admin("serviceapikey/update", order_id=active_order["id"], valid=0)
    assert not works(api, old) and not works(api, new)
    for key in (old, new):
        assert api.guest("serviceapikey/verify", key=key)["code"] == "DISABLED"
    api.admin("serviceapikey/update", order_id=active_order["id"], valid=1)
    assert works(api, old) and works(api, new)


def test_suspending_the_order_stops_both_keys(api: Api, active_order: dict[str, Any]) -> None:
    old = active_order["key"]
    new = admin_reset(api, active_order["id"], overlap=HOUR)
    api.admin("order/suspend", id=active_order["id"])
    for key in (old, new):
        assert api.guest("serviceapikey/verify", key=key)["code"] == "SUSPENDED"


def test_both_keys_of_an_overlap_spend_one_quota(api: Api, active_order: dict[str, Any]) -> None:
    api.admin("serviceapikey/update", order_id=active_order["id"], config={"quota": 2})
    old = active_order["key"]
    new = admin_reset(api, active_order["id"], overlap=HOUR)
    spent = [api.guest("serviceapikey/verify", key=k)["code"] for k in (old, new, old, new)]
    assert spent == ["VALID", "VALID", "USAGE_EXCEEDED", "USAGE_EXCEEDED"]


def test_a_secret_rotation_keeps_an_overlapping_old_key_working(
    api: Api, db: Database, settings: Settings, active_order: dict[str, Any], clock: FakeClock
) -> None:
    old = active_order["key"]
    new = admin_reset(api, active_order["id"], overlap=HOUR)
    secret_service.record(db, settings)
    rotated = secret_service.rotate(db, settings, OTHER_SECRET)
    assert rotated.keys == 1
    assert works(api, old) and works(api, new)
    assert key_via_api(api, active_order["id"]) == new
    clock.advance(seconds=HOUR)
    assert gone(api, old)
    assert works(api, new)


def test_a_secret_rotation_after_the_overlap_keeps_the_old_key_dead(
    api: Api, db: Database, settings: Settings, active_order: dict[str, Any], clock: FakeClock
) -> None:
    new = admin_reset(api, active_order["id"], overlap=HOUR)
    clock.advance(seconds=HOUR)
    secret_service.record(db, settings)
    secret_service.rotate(db, settings, OTHER_SECRET)
    assert gone(api, active_order["key"])
    assert works(api, new)
