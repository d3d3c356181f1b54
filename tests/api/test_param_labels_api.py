"""Display labels of custom parameters stay with the seller and the customer: they are kept in
the product and key config, yet never reach applications through get_info or verify, nor the
public catalogue's parameters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

CONFIG = {
    "custom_monthlyLimit": "250",
    "label_monthlyLimit": "Calls per month",
    "custom_region": "eu",
}


@pytest.fixture
def labelled(api: Api, product_id: int, customer: dict[str, Any]) -> dict[str, Any]:
    """The shared product relabelled, and an active order of it with its key."""
    api.admin("product/update_config", id=product_id, config=CONFIG)
    oid = api.admin("order/create", client_id=customer["id"], product_id=product_id, activate=True)
    return {
        "product": product_id,
        "order": oid,
        "key": api.admin("order/service", id=oid)["api_key"],
    }


def test_get_info_and_verify_send_applications_the_parameters_without_labels(
    api: Api, labelled: dict[str, Any]
) -> None:
    expected = {"monthlyLimit": 250, "region": "eu"}
    assert api.guest("serviceapikey/get_info", key=labelled["key"])["config"] == expected
    assert api.guest("serviceapikey/verify", key=labelled["key"], cost=0)["config"] == expected
    dispatched = api.client.post(  # a form body takes the general dispatcher, not the fast lane
        "/api/guest/serviceapikey/get_info", data={"key": labelled["key"]}
    ).json()
    assert dispatched["result"]["config"] == expected


def test_the_labels_are_kept_in_the_product_and_in_the_order_snapshot(
    api: Api, labelled: dict[str, Any]
) -> None:
    stored = api.admin("product/get", id=labelled["product"])["config"]
    assert stored["label_monthlyLimit"] == "Calls per month" and "label_region" not in stored
    service = api.admin("order/service", id=labelled["order"])["config"]
    assert service["label_monthlyLimit"] == "Calls per month"


def test_the_public_catalogue_lists_parameters_and_apart_the_words_customers_read(
    api: Api, labelled: dict[str, Any]
) -> None:
    offer = api.guest("product/get", id=labelled["product"])
    assert offer["params"] == {"monthlyLimit": 250, "region": "eu"}
    assert offer["labels"] == {"monthlyLimit": "Calls per month", "region": "Region"}
    listed = api.guest("product/get_list")["list"]
    assert [o["labels"] for o in listed if o["id"] == labelled["product"]] == [offer["labels"]]


def test_a_product_may_have_every_custom_parameter_labelled(api: Api, product_id: int) -> None:
    config = {f"custom_p{n}": n for n in range(100)} | {f"label_p{n}": f"P {n}" for n in range(100)}
    full = {**config, "length": 32, "prefix": "sk_", "quota": 5, "rate_limit": "1/second"}
    assert api.admin("product/update_config", id=product_id, config=full) is True
    assert len(api.guest("product/get", id=product_id)["labels"]) == 100


def test_a_label_for_a_parameter_the_config_lacks_is_refused_and_nothing_is_saved(
    api: Api, product_id: int
) -> None:
    before = api.admin("product/get", id=product_id)["config"]
    error = api.error(
        "admin/product/update_config",
        auth=("admin", api.admin_token),
        id=product_id,
        config={"custom_monthlyLimit": 1, "label_monthly": "Monthly"},
    )
    assert error["message"] == (
        "Unknown config key 'label_monthly': a label needs its custom parameter "
        "custom_monthly in the same config"
    )
    assert api.admin("product/get", id=product_id)["config"] == before
