"""Reset with overlap on both order pages: the admin's order page and the client's service page
let the old key keep working for a chosen time, and say until when while it does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect
from starlette.testclient import TestClient

from tests.conftest import Api, FakeClock
from tests.web.conftest import ADMIN, CLIENT_PASSWORD, Browsing, flash_of, log_in

UNTIL = "The previous key keeps working until"


def new_key(api: Api, order_id: int) -> str:
    return str(api.admin("order/service", id=order_id)["api_key"])


def checks(api: Api, key: str) -> Any:
    """`check`'s answer for `key`, or the error code for a key that does not exist."""
    _status, body = api.call("guest/serviceapikey/check", key=key)
    return body["result"] if body["error"] is None else body["error"]["code"]


def test_the_admin_resets_with_an_hours_overlap_and_both_keys_work_until_then(
    admin_web: Browsing, active_order: dict[str, Any], api: Api, clock: FakeClock
) -> None:
    oid, old = active_order["id"], active_order["key"]
    page = admin_web.get(f"/admin/orders/{oid}")
    assert "Keep the old key working for" in page.text and UNTIL not in page.text
    for seconds in ("0", "3600", "86400", "604800"):
        assert f'<option value="{seconds}"' in page.text
    page = admin_web.post(f"/admin/orders/{oid}/key/reset", {"confirm": "1", "overlap": "3600"})
    assert flash_of(page.text) == "Key reset. The old key keeps working for 1 hour."
    assert f"{UNTIL} 15 Jan 2026, 13:00 UTC." in page.text
    new = new_key(api, oid)
    assert new != old and checks(api, old) is True and checks(api, new) is True
    assert api.admin("order/service", id=oid)["previous_key_until"] == "2026-01-15T13:00:00+00:00"
    clock.advance(hours=1)
    assert checks(api, old) == 9999 and checks(api, new) is True
    assert UNTIL not in admin_web.get(f"/admin/orders/{oid}").text
    assert api.admin("order/service", id=oid)["previous_key_until"] is None


def test_stop_it_now_kills_the_old_key_and_a_made_up_overlap_is_refused(
    admin_web: Browsing, active_order: dict[str, Any], api: Api
) -> None:
    oid, old = active_order["id"], active_order["key"]
    admin_web.get(f"/admin/orders/{oid}")
    page = admin_web.post(f"/admin/orders/{oid}/key/reset", {"confirm": "1", "overlap": "5"})
    assert page.status_code == 400 and "Choose how long the old key keeps working" in page.text
    assert new_key(api, oid) == old
    page = admin_web.post(f"/admin/orders/{oid}/key/reset", {"confirm": "1", "overlap": "0"})
    assert flash_of(page.text) == "Key reset. The old key no longer works."
    assert checks(api, old) == 9999 and UNTIL not in page.text


def test_the_client_resets_with_a_days_overlap_from_the_service_page(
    client_web: Browsing, active_order: dict[str, Any], api: Api, clock: FakeClock
) -> None:
    oid, old = active_order["id"], active_order["key"]
    assert "Keep the old key working for" in client_web.get(f"/services/{oid}").text
    page = client_web.post(f"/services/{oid}/reset", {"confirm": "1", "overlap": "86400"})
    assert flash_of(page.text) == "Your key was reset. The old key keeps working for 24 hours."
    assert f"{UNTIL} 16 Jan 2026, 12:00 UTC." in page.text
    assert checks(api, old) is True and checks(api, new_key(api, oid)) is True
    clock.advance(days=1)
    assert checks(api, old) == 9999
    assert UNTIL not in client_web.get(f"/services/{oid}").text


def test_a_client_cannot_reset_another_clients_key_with_an_overlap(
    app: Any, active_order: dict[str, Any], other_client: int, api: Api
) -> None:
    zoe = Browsing(TestClient(app))
    zoe.login("/login", "zoe@example.com", "zoe-pass-123")
    form = {"confirm": "1", "overlap": "3600"}
    assert zoe.post(f"/services/{active_order['id']}/reset", form).status_code == 404
    assert new_key(api, active_order["id"]) == active_order["key"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # about the pages
def test_in_a_browser_both_resets_keep_the_old_key_for_the_chosen_time(
    new_context: Callable[..., BrowserContext],
    live_server: str,
    customer: dict[str, Any],
    active_order: dict[str, Any],
    api: Api,
) -> None:
    oid, first = active_order["id"], active_order["key"]
    admin = new_context().new_page()
    log_in(admin, "/admin", *ADMIN)
    admin.goto(f"/admin/orders/{oid}")
    admin.get_by_text("Reset key…").click()
    admin.get_by_label("Keep the old key working for").select_option(label="1 hour")
    admin.get_by_role("button", name="Reset key").click()
    expect(admin.locator(".flash")).to_have_text("Key reset. The old key keeps working for 1 hour.")
    expect(admin.get_by_text(f"{UNTIL} 15 Jan 2026, 13:00 UTC.")).to_be_visible()
    second = new_key(api, oid)
    assert live_check(live_server, first) is True and live_check(live_server, second) is True

    client = new_context().new_page()
    log_in(client, "/", customer["email"], CLIENT_PASSWORD)
    client.goto(f"/services/{oid}")
    expect(client.get_by_text(f"{UNTIL} 15 Jan 2026, 13:00 UTC.")).to_be_visible()
    client.get_by_text("Reset key…").click()
    client.get_by_label("Keep the old key working for").select_option(label="7 days")
    client.get_by_role("button", name="Reset my key").click()
    expect(client.locator(".flash")).to_contain_text("The old key keeps working for 7 days.")
    expect(client.get_by_text(f"{UNTIL} 22 Jan 2026, 12:00 UTC.")).to_be_visible()
    third = new_key(api, oid)
    assert live_check(live_server, second) is True and live_check(live_server, third) is True
    # Only the key just replaced overlaps: the one before it died with the second reset.
    assert live_check(live_server, first) == "API key does not exist"


def live_check(base_url: str, key: str) -> Any:
    """`check` over HTTP on the live server: its result, or the error message."""
    body = httpx.post(f"{base_url}/api/guest/serviceapikey/check", data={"key": key}).json()
    return body["result"] if body["error"] is None else body["error"]["message"]
