"""`admin/order/get_list {search}`: orders found by a client's email (or part of it) or by a
customer's pasted key, through its digest as the check finds it; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.models import ApiKeyService
from keyvend.db.unit_of_work import Database
from keyvend.observability.logs import configure_logging
from keyvend.services.order_search import looks_like_key
from tests.conftest import Api, FakeClock


def found(api: Api, search: str, **filters: Any) -> list[int]:
    """The ids of the orders `search` finds, newest first."""
    return [o["id"] for o in api.admin("order/get_list", search=search, **filters)["list"]]


@pytest.fixture
def zoe_order(api: Api, product_id: int) -> dict[str, Any]:
    """An active order of a second client, Zoe Underscore (zoe_u@Example.org)."""
    client_id = api.admin("client/create", email="zoe_u@Example.org", first_name="Zoe")
    oid = api.admin("order/create", client_id=client_id, product_id=product_id, activate=True)
    return {"id": oid, "key": api.admin("order/service", id=oid)["api_key"]}


def test_part_of_an_email_finds_that_clients_orders_in_any_letter_case(
    api: Api, active_order: dict[str, Any], zoe_order: dict[str, Any]
) -> None:
    assert found(api, "JO@EXAMPLE") == [active_order["id"]]
    assert found(api, "example.org") == [zoe_order["id"]]
    assert found(api, "  zoe_u@example.org ") == [zoe_order["id"]]
    assert found(api, "example") == [zoe_order["id"], active_order["id"]]
    assert found(api, "nobody@") == []


def test_like_wildcards_in_a_search_are_plain_characters(
    api: Api, active_order: dict[str, Any], zoe_order: dict[str, Any]
) -> None:
    assert found(api, "_") == [zoe_order["id"]]  # only Zoe's email has an underscore
    assert found(api, "%") == []
    assert found(api, "e_u") == [zoe_order["id"]] and found(api, "j_") == []


def test_a_pasted_key_finds_its_order_whatever_its_letter_case(
    api: Api, active_order: dict[str, Any], zoe_order: dict[str, Any]
) -> None:
    key = active_order["key"]
    assert looks_like_key(key)
    assert found(api, key) == [active_order["id"]]
    assert found(api, key.lower()) == [active_order["id"]]
    assert found(api, f"  {key.lower()}\n") == [active_order["id"]]
    assert found(api, zoe_order["key"]) == [zoe_order["id"]]


def test_a_key_without_its_dashes_or_with_one_character_changed_finds_nothing(
    api: Api, active_order: dict[str, Any]
) -> None:
    key = active_order["key"]
    assert "-" in key and found(api, key.replace("-", "")) == []
    changed = key[:-1] + ("0" if key[-1] != "0" else "1")
    assert found(api, changed) == []


def test_the_key_a_reset_replaced_finds_the_order_while_its_overlap_lasts(
    api: Api, active_order: dict[str, Any], clock: FakeClock
) -> None:
    old = active_order["key"]
    api.admin("serviceapikey/reset", order_id=active_order["id"], overlap=3600)
    new = api.admin("order/service", id=active_order["id"])["api_key"]
    assert found(api, old) == [active_order["id"]] == found(api, new)
    clock.advance(hours=1)
    assert found(api, old) == [] and found(api, new) == [active_order["id"]]


def test_a_reset_without_overlap_leaves_the_old_key_finding_nothing(
    api: Api, active_order: dict[str, Any]
) -> None:
    api.admin("serviceapikey/reset", order_id=active_order["id"])
    assert found(api, active_order["key"]) == []


def test_a_key_is_found_by_its_digest_without_decrypting_any_key(
    api: Api, active_order: dict[str, Any], zoe_order: dict[str, Any], db: Database
) -> None:
    """Every stored ciphertext is made unreadable: a search that decrypted keys would fail."""
    with db.unit_of_work() as uow:
        uow.session.execute(update(ApiKeyService).values(key_ciphertext=b"not a ciphertext"))
        uow.commit()
    assert found(api, active_order["key"].lower()) == [active_order["id"]]
    admin = ("admin", api.admin_token)
    refused = api.error("admin/order/service", auth=admin, id=active_order["id"])
    assert refused["message"].startswith("This key cannot be read with the current secret key")


def test_search_combines_with_the_status_and_client_filters(
    api: Api, active_order: dict[str, Any], zoe_order: dict[str, Any], customer: dict[str, Any]
) -> None:
    assert found(api, active_order["key"], status="active") == [active_order["id"]]
    assert found(api, active_order["key"], status="suspended") == []
    api.admin("order/suspend", id=zoe_order["id"])
    assert found(api, "example", status="suspended") == [zoe_order["id"]]
    assert found(api, zoe_order["key"], client_id=customer["id"]) == []
    assert found(api, "", client_id=customer["id"]) == [active_order["id"]]


def test_the_result_is_paged_like_any_order_list(
    api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    ids = [
        api.admin("order/create", client_id=customer["id"], product_id=product_id) for _ in range(3)
    ]
    page = api.admin("order/get_list", search="jo@", per_page=2, page=2)
    assert [o["id"] for o in page["list"]] == [ids[0]]
    assert (page["total"], page["pages"], page["per_page"]) == (3, 2, 2)


def test_a_search_longer_than_any_key_is_refused_as_bad_input(api: Api) -> None:
    error = api.error("admin/order/get_list", auth=("admin", api.admin_token), search="a" * 601)
    assert error["code"] == 9999 and "search" in error["message"]


def test_a_key_longer_than_255_characters_is_still_found(
    api: Api, customer: dict[str, Any], product_id: int
) -> None:
    config = {"length": 256, "split": 1, "split_interval": 1, "custom_monthlyLimit": 250}
    oid = api.admin("order/create", client_id=customer["id"], product_id=product_id, config=config)
    api.admin("order/activate", id=oid)
    key = api.admin("order/service", id=oid)["api_key"]
    assert len(key) == 511 and found(api, key.lower()) == [oid]


@pytest.fixture
def logged(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, api: Api
) -> Iterator[tuple[TestClient, Any]]:
    """An app logging JSON at debug level with the access log on, and a reader of its log."""
    loud = settings.model_copy(update={"log_format": "json", "log_level": "debug"})
    configure_logging(loud.model_copy(update={"access_log": True}))
    capsys.readouterr()
    app = create_app(loud.model_copy(update={"access_log": True}), database=db)
    with TestClient(app) as client:
        yield client, lambda: capsys.readouterr()
    configure_logging(settings)


def test_a_search_by_key_never_writes_the_key_to_the_log(
    logged: tuple[TestClient, Any], api: Api, active_order: dict[str, Any]
) -> None:
    client, read = logged
    key = active_order["key"]
    for sent in (key, key.lower()):
        response = client.post(
            "/api/admin/order/get_list", json={"search": sent}, auth=("admin", api.admin_token)
        )
        assert [o["id"] for o in response.json()["result"]["list"]] == [active_order["id"]]
    wrong = client.get(
        "/api/admin/order/get_list",
        params={"search": key[:-1] + "Z"},
        auth=("admin", api.admin_token),
    )
    assert wrong.json()["result"]["list"] == []
    output = read()
    written = output.out + output.err
    assert '"path": "/api/admin/order/get_list"' in written  # the access log did run
    for text in (key, key.lower(), key[:-1] + "Z", key.replace("-", "")):
        assert text.lower() not in written.lower()
    assert json.dumps(key)[1:-1] not in written
