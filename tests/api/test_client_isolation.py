"""A client sees and changes only their own orders and keys, and learns nothing of others'."""

from __future__ import annotations

from typing import Any

import pytest

from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import ClientCreate
from keyvend.services import client as clients
from tests.conftest import Api
from tests.support.rows import stored

MISSING_ORDER = 999_999


@pytest.fixture
def ann(api: Api, db: Database, product_id: int) -> dict[str, Any]:
    """A second client with an active order of her own."""
    account = clients.create(
        db, ClientCreate(email="ann@example.com", first_name="Ann", password="ann-pass-123")
    )
    oid = api.admin(
        "order/create", client_id=account.id, product_id=product_id, period="1M", activate=True
    )
    key = api.admin("order/service", id=oid)["api_key"]
    return {"id": account.id, "auth": ("client", account.api_token), "order_id": oid, "key": key}


def answer(api: Api, path: str, auth: tuple[str, str], **params: Any) -> tuple[int, Any]:
    """HTTP status and envelope of a call, for comparing two answers exactly."""
    status, body = api.call(path, auth=auth, **params)
    return int(status), body


@pytest.mark.parametrize("method", ["get", "service"])
def test_client_cannot_read_another_clients_order(
    api: Api, customer: dict[str, Any], active_order: Any, ann: dict[str, Any], method: str
) -> None:
    status, body = answer(api, f"client/order/{method}", customer["auth"], id=ann["order_id"])
    assert body["result"] is None
    assert body["error"] == {"message": "Order not found", "code": 9999}
    assert status == 200
    assert ann["key"] not in str(body)


@pytest.mark.parametrize("method", ["get", "service"])
def test_another_clients_order_looks_exactly_like_a_missing_one(
    api: Api, customer: dict[str, Any], active_order: Any, ann: dict[str, Any], method: str
) -> None:
    theirs = answer(api, f"client/order/{method}", customer["auth"], id=ann["order_id"])
    missing = answer(api, f"client/order/{method}", customer["auth"], id=MISSING_ORDER)
    assert theirs == missing


@pytest.mark.parametrize("by", ["order_id", "key"])
def test_client_cannot_reset_another_clients_key(
    api: Api,
    db: Database,
    customer: dict[str, Any],
    active_order: Any,
    ann: dict[str, Any],
    by: str,
) -> None:
    before = stored(db)
    error = api.error("client/serviceapikey/reset", auth=customer["auth"], **{by: ann[by]})
    assert error == {"message": "API key does not exist", "code": 9999}
    assert stored(db) == before
    assert api.guest("serviceapikey/check", key=ann["key"]) is True
    assert api.admin("order/service", id=ann["order_id"])["api_key"] == ann["key"]


@pytest.mark.parametrize("by", ["order_id", "key"])
def test_resetting_another_clients_key_looks_exactly_like_resetting_a_missing_one(
    api: Api, customer: dict[str, Any], active_order: Any, ann: dict[str, Any], by: str
) -> None:
    missing = {"order_id": MISSING_ORDER, "key": "ABCDEF01-ABCDEF01-ABCDEF01-ABCDEF01"}[by]
    theirs = answer(api, "client/serviceapikey/reset", customer["auth"], **{by: ann[by]})
    unknown = answer(api, "client/serviceapikey/reset", customer["auth"], **{by: missing})
    assert theirs == unknown


def test_client_cannot_reset_another_clients_key_by_pairing_it_with_an_own_order(
    api: Api,
    db: Database,
    customer: dict[str, Any],
    active_order: dict[str, Any],
    ann: dict[str, Any],
) -> None:
    before = stored(db)
    for target in (
        {"order_id": active_order["id"], "key": ann["key"]},
        {"order_id": ann["order_id"], "key": active_order["key"]},
    ):
        error = api.error("client/serviceapikey/reset", auth=customer["auth"], **target)
        assert error == {"message": "API key does not exist", "code": 9999}
    assert stored(db) == before


def test_client_order_list_holds_only_own_orders(
    api: Api, customer: dict[str, Any], active_order: dict[str, Any], ann: dict[str, Any]
) -> None:
    mine = api.ok("client/order/get_list", auth=customer["auth"])
    assert [order["id"] for order in mine["list"]] == [active_order["id"]]
    assert mine["total"] == 1
    hers = api.ok("client/order/get_list", auth=ann["auth"])
    assert [order["id"] for order in hers["list"]] == [ann["order_id"]]


def test_client_order_list_filtered_by_status_still_holds_only_own_orders(
    api: Api, customer: dict[str, Any], active_order: Any, ann: dict[str, Any]
) -> None:
    api.admin("order/suspend", id=ann["order_id"])
    listed = api.ok("client/order/get_list", auth=customer["auth"], status="suspended")
    assert listed["list"] == []
    assert listed["total"] == 0


def test_each_client_reads_and_resets_their_own_key(
    api: Api, customer: dict[str, Any], active_order: dict[str, Any], ann: dict[str, Any]
) -> None:
    mine = api.ok("client/order/service", auth=customer["auth"], id=active_order["id"])
    hers = api.ok("client/order/service", auth=ann["auth"], id=ann["order_id"])
    assert (mine["api_key"], hers["api_key"]) == (active_order["key"], ann["key"])
    api.ok("client/serviceapikey/reset", auth=ann["auth"], key=ann["key"])
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True
    assert api.admin("order/service", id=ann["order_id"])["api_key"] != ann["key"]


def test_client_order_view_does_not_leak_the_key_of_another_order(
    api: Api, customer: dict[str, Any], active_order: Any, ann: dict[str, Any]
) -> None:
    listed = api.ok("client/order/get_list", auth=customer["auth"])
    assert ann["key"] not in str(listed)
    assert str(ann["order_id"]) not in [str(order["id"]) for order in listed["list"]]
