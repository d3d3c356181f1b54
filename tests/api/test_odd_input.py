"""Odd input that used to answer 500: lone surrogates, huge ids, renewals past the calendar's
end, and an uninstall followed by a reinstall. Each gets a clear answer and changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text, update

from keyvend.db.models import Order
from keyvend.db.unit_of_work import Database
from tests.conftest import Api

LONE_SURROGATE_BODY = b'{"id": %d, "config": {"length": 32, "custom_note": "\\ud800"}}'


def test_a_lone_surrogate_in_a_custom_parameter_is_refused_and_saves_nothing(
    api: Api, product_id: int
) -> None:
    before = api.admin("product/get", id=product_id)["config"]
    response = api.client.post(
        "/api/admin/product/update_config",
        content=LONE_SURROGATE_BODY % product_id,
        headers={"content-type": "application/json"},
        auth=("admin", api.admin_token),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 701
    assert api.admin("product/get", id=product_id)["config"] == before
    assert api.guest("product/get_list")["total"] == 1
    assert api.client.get("/products").status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_surrogate_stored_before_the_refusal_still_answers(
    api: Api, db: Database, product_id: int
) -> None:
    config = json.dumps({"length": 32, "custom_note": "\ud800"})  # as JSON escapes
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE products SET config = :c WHERE id = :id"), {"c": config, "id": product_id}
        )
    listed = api.guest("product/get_list")
    assert listed["list"][0]["params"] == {"note": "\ud800"}


@pytest.mark.parametrize(
    "params",
    [{"id": "9" * 5000}, {"id": 10**4000}, {"id": -1}, {"id": 2**63}],
    ids=["digits-as-text", "huge-number", "negative", "past-64-bit"],
)
def test_an_id_too_large_for_any_record_is_refused_cleanly(
    api: Api, params: dict[str, Any]
) -> None:
    if isinstance(params["id"], int) and params["id"] > 2**63:
        body = ('{"id": ' + str(params["id"]) + "}").encode()
        response = api.client.post(
            "/api/guest/product/get",
            content=body,
            headers={"content-type": "application/json"},
        )
    else:
        response = api.client.post("/api/guest/product/get", json=params)
    assert response.status_code in (200, 400)
    assert response.json()["result"] is None and response.json()["error"]["code"] in (9999, 701)
    query = api.client.get("/api/guest/product/get?id=" + "9" * 5000)
    assert query.status_code == 200 and query.json()["error"]["code"] == 9999


def test_renewing_past_the_year_9999_is_refused_and_changes_nothing(
    api: Api, db: Database, active_order: dict[str, Any]
) -> None:
    last = datetime(9999, 12, 20, tzinfo=UTC)
    with db.unit_of_work() as uow:
        uow.session.execute(
            update(Order).where(Order.id == active_order["id"]).values(expires_at=last)
        )
        uow.commit()
    before = api.admin("order/get", id=active_order["id"])
    for _ in range(2):  # and again: never a 500 "forever after"
        status, body = api.call(
            "admin/order/renew", auth=("admin", api.admin_token), id=active_order["id"]
        )
        assert status == 200 and "after the year 9999" in body["error"]["message"]
    assert api.admin("order/get", id=active_order["id"]) == before
    assert api.guest("serviceapikey/check", key=active_order["key"]) is True


def test_a_reinstall_gives_every_live_order_a_new_working_key(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    live = [
        api.admin("order/create", client_id=customer["id"], product_id=product_id, activate=True)
        for _ in range(3)
    ]
    api.admin("order/suspend", id=live[2])
    pending = api.admin("order/create", client_id=customer["id"], product_id=product_id)
    old_keys = [api.admin("order/service", id=oid)["api_key"] for oid in live]
    api.admin("extension/uninstall", id="serviceapikey", confirm=1)
    api.admin("extension/activate", id="serviceapikey")
    new_keys = [api.admin("order/service", id=oid)["api_key"] for oid in live]
    assert len(set(new_keys)) == 3 and not set(new_keys) & set(old_keys)
    assert [api.guest("serviceapikey/check", key=k) for k in new_keys] == [True, True, False]
    assert api.error("admin/order/service", auth=("admin", api.admin_token), id=pending)[
        "message"
    ].startswith("This order has no API key yet")
    api.admin("order/activate", id=pending)
    assert api.guest("serviceapikey/check", key=api.admin("order/service", id=pending)["api_key"])


@pytest.mark.parametrize("path", ["/admin/orders/", "/services/", "/admin/clients/"])
def test_a_page_id_of_thousands_of_digits_is_not_found_not_a_crash(api: Api, path: str) -> None:
    response = api.client.get(path + "9" * 5000, follow_redirects=False)
    assert response.status_code == 404
