"""Every state change the API makes records its event, in its own transaction, naming who
made it: `admin:<id>` for an admin's call, `client:<id>` for a client's own, `system` for the
cron and for guests. Key-changing events carry the fingerprints of the keys they touch; no
event's data holds a key, token or password; a change that rolls back records nothing.
On SQLite and PostgreSQL (the `db` fixture runs each test on both)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from keyvend.db.models import Event
from keyvend.db.unit_of_work import Database, acting_as
from keyvend.domain.errors import KeyvendError
from keyvend.domain.event_types import ALL_KEYS, EVENT_TYPES, KEY_CHANGES, fingerprint
from keyvend.schemas.account import ClientCreate
from keyvend.services import client as clients
from keyvend.services import cron, expiries
from tests.conftest import Api, FakeClock
from tests.support.api import admin_error

ADMIN_PASSWORD = "admin-pass-1"  # the shared `api` fixture's admin
CLIENT_PASSWORD = "jo-pass-123"  # the shared `customer` fixture's client


@dataclass
class Spine:
    """Reads the events each step records, and what no event may ever show."""

    db: Database
    secrets: set[str] = field(default_factory=set)

    def last_seq(self) -> int:
        with self.db.unit_of_work(read_only=True) as uow:
            return int(uow.session.scalar(select(func.max(Event.seq))) or 0)

    def after(self, seq: int) -> list[Event]:
        with self.db.unit_of_work(read_only=True) as uow:
            query = select(Event).where(Event.seq > seq).order_by(Event.seq)
            return list(uow.session.scalars(query))

    def step(self, change: Callable[[], Any]) -> tuple[Any, list[Event]]:
        """Run `change`; its result and the events it recorded."""
        mark = self.last_seq()
        result = change()
        return result, self.after(mark)

    def only(self, change: Callable[[], Any], kind: str, **expected: Any) -> Event:
        """Run `change`, which must record exactly one event, of `kind`, as `expected`."""
        _, recorded = self.step(change)
        assert [e.type for e in recorded] == [kind], [(e.type, e.data) for e in recorded]
        return self.check(recorded[0], **expected)

    def check(
        self,
        event: Event,
        *,
        actor: str,
        client_id: int | None = None,
        order_id: int | None = None,
        keys: Iterable[str] | None = None,
        every_key: bool = False,
    ) -> Event:
        """The event's actor and ids; for a key change, the fingerprints of exactly `keys`."""
        assert event.type in EVENT_TYPES
        assert (event.actor, event.client_id, event.order_id) == (actor, client_id, order_id)
        if every_key:
            assert event.fingerprints == [ALL_KEYS]
        elif event.type in KEY_CHANGES:
            assert keys is not None, f"say which keys {event.type} touches"
            assert sorted(event.fingerprints or []) == sorted(fingerprint(k) for k in keys)
        else:
            assert event.fingerprints is None, event.type
        self.assert_clean([event])
        return event

    def keep_secret(self, *values: str) -> None:
        self.secrets.update(v for v in values if v)

    def assert_clean(self, events: Iterable[Event]) -> None:
        """No key (as issued, without dashes, case-folded), token or password in any data."""
        for event in events:
            shown = json.dumps(event.data).casefold()
            for secret in self.secrets:
                for form in {secret, secret.replace("-", "")}:
                    assert form.casefold() not in shown, (event.type, event.data)


@pytest.fixture
def spine(db: Database, api: Api, customer: dict[str, Any]) -> Spine:
    found = Spine(db)
    found.keep_secret(api.admin_token, customer["token"], ADMIN_PASSWORD, CLIENT_PASSWORD)
    return found


@pytest.fixture
def admin(api: Api) -> str:
    return f"admin:{api.admin('profile/get')['id']}"


def key_of(api: Api, order_id: int, spine: Spine) -> str:
    key = str(api.admin("order/service", id=order_id)["api_key"])
    spine.keep_secret(key)
    return key


def paid_product(api: Api, price: str = "10.00") -> int:
    """An enabled apikey product sold once, set up after payment."""
    pid = int(api.admin("product/prepare", title="Paid", type="apikey"))
    pricing = {"type": "once", "once": {"price": price}}
    api.admin("product/update", id=pid, status="enabled", setup="after_payment", pricing=pricing)
    return pid


# -- accounts ------------------------------------------------------------------------------


def test_client_create_update_and_delete_record_events_naming_the_admin(
    api: Api, spine: Spine, admin: str, product_id: int
) -> None:
    spine.keep_secret("ann-pass-123")
    cid, recorded = spine.step(
        lambda: api.admin(
            "client/create", email="ann@example.com", first_name="Ann", password="ann-pass-123"
        )
    )
    assert [e.type for e in recorded] == ["client.created"]
    spine.check(recorded[0], actor=admin, client_id=cid)

    event = spine.only(
        lambda: api.admin("client/update", id=cid, first_name="Anne", password="new-pass-456"),
        "client.updated",
        actor=admin,
        client_id=cid,
    )
    spine.keep_secret("new-pass-456")
    spine.assert_clean([event])
    assert "first_name" in event.data["fields"]

    oid = api.admin("order/create", client_id=cid, product_id=product_id, activate=True)
    key = key_of(api, oid, spine)
    spine.only(
        lambda: api.admin("client/delete", id=cid),
        "client.deleted",
        actor=admin,
        client_id=cid,
        keys=[key],
    )


def test_a_guest_signup_is_the_systems_and_a_clients_profile_change_is_their_own(
    api: Api, spine: Spine, customer: dict[str, Any]
) -> None:
    spine.keep_secret("guest-pass-123")
    _, recorded = spine.step(
        lambda: api.guest(
            "client/create",
            email="guest@example.com",
            first_name="Gus",
            password="guest-pass-123",
            password_confirm="guest-pass-123",
        )
    )
    assert [e.type for e in recorded] == ["client.created"]
    spine.check(recorded[0], actor="system", client_id=recorded[0].client_id)
    assert recorded[0].client_id is not None

    me = f"client:{customer['id']}"
    spine.only(
        lambda: api.ok("client/profile/update", auth=customer["auth"], first_name="Joanna"),
        "client.updated",
        actor=me,
        client_id=customer["id"],
    )


def test_failed_logins_are_recorded_without_the_password(
    api: Api, spine: Spine, customer: dict[str, Any]
) -> None:
    spine.keep_secret("wrong-password-1", "wrong-password-2")
    staff = spine.only(
        lambda: api.error(
            "guest/staff/login", email="root@example.com", password="wrong-password-1"
        ),
        "staff.login_failed",
        actor="system",
    )
    assert staff.data == {"email": "root@example.com"}
    known = spine.only(
        lambda: api.error(
            "guest/client/login", email=customer["email"], password="wrong-password-2"
        ),
        "client.login_failed",
        actor="system",
        client_id=customer["id"],
    )
    assert known.data == {"email": customer["email"]}
    spine.only(
        lambda: api.error("guest/client/login", email="nobody@example.com", password="whatever-1"),
        "client.login_failed",
        actor="system",
    )


# -- orders and keys -----------------------------------------------------------------------


def test_every_order_lifecycle_step_records_its_event_with_the_orders_key(
    api: Api, spine: Spine, admin: str, customer: dict[str, Any], product_id: int
) -> None:
    cid = customer["id"]
    oid, recorded = spine.step(
        lambda: api.admin("order/create", client_id=cid, product_id=product_id, period="1M")
    )
    assert [e.type for e in recorded] == ["order.created"]
    spine.check(recorded[0], actor=admin, client_id=cid, order_id=oid)
    _, recorded = spine.step(lambda: api.admin("order/activate", id=oid))
    key = key_of(api, oid, spine)
    assert [e.type for e in recorded] == ["order.activated"]
    spine.check(recorded[0], actor=admin, client_id=cid, order_id=oid, keys=[key])
    for path, kind, extra in [
        ("order/renew", "order.renewed", {}),
        ("order/suspend", "order.suspended", {"reason": "late"}),
        ("order/unsuspend", "order.unsuspended", {}),
        ("order/cancel", "order.canceled", {"reason": "asked"}),
        ("order/uncancel", "order.uncanceled", {}),
    ]:
        event = spine.only(
            lambda path=path, extra=extra: api.admin(path, id=oid, **extra),
            kind,
            actor=admin,
            client_id=cid,
            order_id=oid,
            keys=[key],
        )
        assert event.data["status"] == api.admin("order/get", id=oid)["status"]
    spine.only(
        lambda: api.admin("order/delete", id=oid),
        "order.deleted",
        actor=admin,
        client_id=cid,
        order_id=oid,
        keys=[key],
    )


def test_key_changes_carry_the_fingerprints_of_the_keys_they_touch(
    api: Api, spine: Spine, admin: str, customer: dict[str, Any], active_order: dict[str, Any]
) -> None:
    cid, oid, first = customer["id"], active_order["id"], active_order["key"]
    spine.keep_secret(first)
    ids = {"actor": admin, "client_id": cid, "order_id": oid}
    spine.only(
        lambda: api.admin("serviceapikey/reset", order_id=oid), "key.reset", **ids, keys=[first]
    )
    second = key_of(api, oid, spine)
    assert second != first
    updated = spine.only(
        lambda: api.admin("serviceapikey/update", order_id=oid, config={"quota": 2}),
        "key.updated",
        **ids,
        keys=[second],
    )
    assert updated.data == {"fields": ["config"]}
    spine.only(
        lambda: api.admin("serviceapikey/update", order_id=oid, valid=False),
        "key.disabled",
        **ids,
        keys=[second],
    )
    spine.only(
        lambda: api.admin("serviceapikey/update", order_id=oid, valid=True),
        "key.enabled",
        **ids,
        keys=[second],
    )
    # With an overlap the old key keeps working a while: a later reset names both.
    spine.only(
        lambda: api.admin("serviceapikey/reset", order_id=oid, overlap=3600),
        "key.reset",
        **ids,
        keys=[second],
    )
    third = key_of(api, oid, spine)
    spine.only(
        lambda: api.ok("client/serviceapikey/reset", auth=customer["auth"], order_id=oid),
        "key.reset",
        actor=f"client:{cid}",
        client_id=cid,
        order_id=oid,
        keys=[third, second],
    )
    key_of(api, oid, spine)


def test_a_clients_checkout_is_their_own(
    api: Api, spine: Spine, customer: dict[str, Any], product_id: int
) -> None:
    cid, me = customer["id"], f"client:{customer['id']}"
    api.ok("guest/cart/add_item", auth=customer["auth"], id=product_id)
    placed, recorded = spine.step(lambda: api.ok("client/cart/checkout", auth=customer["auth"]))
    oid = placed["order_id"]
    key = key_of(api, oid, spine)
    assert [e.type for e in recorded] == ["order.created", "order.activated"]
    spine.check(recorded[0], actor=me, client_id=cid, order_id=oid)
    spine.check(recorded[1], actor=me, client_id=cid, order_id=oid, keys=[key])


# -- billing -------------------------------------------------------------------------------


def test_invoices_paid_refunded_and_canceled_record_events_naming_the_admin(
    api: Api, spine: Spine, admin: str, customer: dict[str, Any]
) -> None:
    cid, me = customer["id"], f"client:{customer['id']}"
    pid = paid_product(api)
    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid)
    placed, recorded = spine.step(lambda: api.ok("client/cart/checkout", auth=customer["auth"]))
    oid, iid = placed["order_id"], placed["invoice_id"]
    spine.keep_secret(placed["invoice_hash"])
    assert [e.type for e in recorded] == ["order.created", "invoice.created"]
    spine.check(recorded[0], actor=me, client_id=cid, order_id=oid)
    spine.check(recorded[1], actor=me, client_id=cid)
    assert recorded[1].invoice_id == iid

    _, recorded = spine.step(lambda: api.admin("invoice/mark_as_paid", id=iid))
    key = key_of(api, oid, spine)
    assert [e.type for e in recorded] == ["invoice.paid", "order.activated"]
    spine.check(recorded[0], actor=admin, client_id=cid)
    spine.check(recorded[1], actor=admin, client_id=cid, order_id=oid, keys=[key])
    assert recorded[0].invoice_id == iid

    _, recorded = spine.step(lambda: api.admin("invoice/refund", id=iid))
    assert [e.type for e in recorded][:1] == ["invoice.refunded"]
    spine.check(recorded[0], actor=admin, client_id=cid)
    assert recorded[0].invoice_id == iid
    spine.assert_clean(recorded)

    api.ok("guest/cart/add_item", auth=customer["auth"], id=pid)
    second = api.ok("client/cart/checkout", auth=customer["auth"])["invoice_id"]
    canceled = spine.only(
        lambda: api.admin("invoice/cancel", id=second),
        "invoice.canceled",
        actor=admin,
        client_id=cid,
    )
    assert canceled.invoice_id == second


# -- catalogue, extensions, applications ---------------------------------------------------


def test_product_extension_and_application_changes_name_the_admin(
    api: Api, spine: Spine, admin: str, product_id: int
) -> None:
    updated = spine.only(
        lambda: api.admin("product/update", id=product_id, title="Starter plus"),
        "product.updated",
        actor=admin,
    )
    assert updated.data == {"product_id": product_id, "fields": ["title"]}
    spine.only(
        lambda: api.admin("extension/deactivate", id="serviceapikey"),
        "extension.deactivated",
        actor=admin,
        every_key=True,
    )
    spine.only(
        lambda: api.admin("extension/activate", id="serviceapikey"),
        "extension.activated",
        actor=admin,
        every_key=True,
    )
    made, recorded = spine.step(lambda: api.admin("application/create", name="Shop backend"))
    spine.keep_secret(*(str(v) for k, v in made.items() if "token" in k))
    assert [e.type for e in recorded] == ["application.created"]
    spine.check(recorded[0], actor=admin)
    assert recorded[0].data == {"application_id": made["id"], "name": "Shop backend"}


# -- the cron ------------------------------------------------------------------------------


def test_the_crons_changes_are_the_systems(
    api: Api, db: Database, spine: Spine, clock: FakeClock, active_order: dict[str, Any]
) -> None:
    oid, key = active_order["id"], active_order["key"]
    spine.keep_secret(key)
    cid = api.admin("order/get", id=oid)["client_id"]
    cron.run(db)  # the first run starts the expiry watermark
    clock.advance(days=32)
    # The worker announces expiries every second; the cron's dunning then suspends.
    expired = spine.only(
        lambda: expiries.announce(db),
        "order.expired",
        actor="system",
        client_id=cid,
        order_id=oid,
        keys=[key],
    )
    assert expired.data == {"expires_at": api.admin("order/get", id=oid)["expires_at"]}
    _, recorded = spine.step(lambda: cron.run(db))
    mine = [e for e in recorded if e.order_id == oid]
    assert [e.type for e in mine] == ["order.suspended"], [e.type for e in recorded]
    spine.check(mine[0], actor="system", client_id=cid, order_id=oid, keys=[key])
    assert {e.actor for e in recorded} == {"system"}
    spine.assert_clean(recorded)


# -- rolled back ---------------------------------------------------------------------------


def test_a_refused_change_records_nothing(
    api: Api, spine: Spine, active_order: dict[str, Any], product_id: int
) -> None:
    oid = active_order["id"]
    api.admin("order/suspend", id=oid)
    mark = spine.last_seq()
    admin_error(api, "order/suspend", id=oid)  # already suspended
    admin_error(api, "order/renew", id=999_999)
    admin_error(api, "serviceapikey/update", order_id=oid, config={"length": "long"})
    admin_error(api, "serviceapikey/update", order_id=oid, valid=False, api_key="not-the-key")
    admin_error(api, "product/update_config", id=product_id, config={"length": 1})
    admin_error(api, "client/create", email="not-an-email", first_name="X")
    assert spine.after(mark) == []


def test_a_unit_of_work_that_fails_before_commit_records_nothing(
    db: Database, spine: Spine, customer: dict[str, Any]
) -> None:
    mark = spine.last_seq()
    with pytest.raises(RuntimeError), acting_as("admin:1"), db.unit_of_work() as uow:
        uow.record("client.updated", client_id=customer["id"], data={"fields": ["first_name"]})
        uow.flush()  # written to the transaction, which then rolls back
        raise RuntimeError("a step after the change failed")
    with db.unit_of_work() as uow:
        uow.record("client.updated", client_id=customer["id"])  # never committed
    assert spine.after(mark) == []


def test_a_failed_service_call_rolls_back_its_event_with_the_change(
    db: Database, spine: Spine
) -> None:
    clients.create(db, ClientCreate(email="dup@example.com", first_name="Dup"))
    mark = spine.last_seq()
    with pytest.raises(KeyvendError):  # the email is taken: nothing is written, no event
        clients.create(db, ClientCreate(email="dup@example.com", first_name="Again"))
    assert spine.after(mark) == []


# -- the other changes, as a table ---------------------------------------------------------

# (call, params, role of the caller, the event types it records); `{client}`, `{order}`,
# `{product}`, `{admin2}` and `{application}` stand for ids made by the `others` fixture.
OTHER_CHANGES = [
    ("admin/client/send_reset", {"id": "{client}"}, "admin", ["client.password_reset_requested"]),
    ("admin/order/create", {"client_id": "{client}", "product_id": "{product}", "period": "1M",
      "activate": True},
     "admin", ["order.created", "order.activated"]),
    ("admin/product/prepare", {"title": "Another", "type": "apikey"}, "admin", ["product.created"]),
    ("admin/product/update_config", {"id": "{product}", "config": {"length": 40}}, "admin",
     ["product.updated"]),
    ("admin/staff/create", {"email": "two@example.com", "password": "two-pass-123"}, "admin",
     ["staff.created"]),
    ("admin/staff/update", {"id": "{admin2}", "name": "Two"}, "admin", ["staff.updated"]),
    ("admin/staff/delete", {"id": "{admin2}"}, "admin", ["staff.deleted"]),
    ("admin/profile/change_password",
     {"current_password": ADMIN_PASSWORD, "new_password": "admin-pass-2"}, "admin",
     ["staff.updated"]),
    ("admin/application/update", {"id": "{application}", "name": "Renamed"}, "admin",
     ["application.updated"]),
    ("admin/application/reset_token", {"id": "{application}"}, "admin",
     ["application.token_reset"]),
    ("admin/application/delete", {"id": "{application}"}, "admin", ["application.deleted"]),
    ("admin/system/update_params", {"company_name": "Acme"}, "admin", ["settings.updated"]),
    ("admin/invoice/renewal_invoice", {"order_id": "{order}"}, "admin", ["invoice.created"]),
    ("client/invoice/renewal_invoice", {"order_id": "{order}"}, "client", ["invoice.created"]),
    ("client/profile/api_key_reset", {}, "client", ["client.updated"]),
    ("client/profile/change_password",
     {"current_password": CLIENT_PASSWORD, "new_password": "jo-pass-456"}, "client",
     ["client.updated"]),
    ("client/profile/change_email", {"email": "jo2@example.com", "password": CLIENT_PASSWORD},
     "client", ["client.updated"]),
    ("guest/client/reset_password", {"email": "jo@example.com"}, "system",
     ["client.password_reset_requested"]),
    ("guest/staff/reset_password", {"email": "root@example.com"}, "system",
     ["staff.password_reset_requested"]),
]  # fmt: skip


@pytest.fixture
def others(api: Api, spine: Spine, customer: dict[str, Any]) -> dict[str, int]:
    """Ids for OTHER_CHANGES: a monthly paid order, a second admin, an application."""
    pid = int(api.admin("product/prepare", title="Monthly", type="apikey"))
    pricing = {"type": "recurrent", "recurrent": {"1M": "5.00"}}
    api.admin("product/update", id=pid, status="enabled", setup="after_order", pricing=pricing)
    oid = api.admin(
        "order/create", client_id=customer["id"], product_id=pid, period="1M", activate=True
    )
    key_of(api, oid, spine)
    made = api.admin("application/create", name="Backend")
    spine.keep_secret(*(str(v) for k, v in made.items() if "token" in k))
    spine.keep_secret("two-pass-123", "admin-pass-2", "jo-pass-456")
    api.admin("staff/create", email="three@example.com", password="three-pass-123")
    admins = api.admin("staff/get_list")
    listed = admins["list"] if isinstance(admins, dict) else admins
    admin2 = next(a["id"] for a in listed if a["email"] == "three@example.com")
    return {
        "client": customer["id"], "order": oid, "product": pid, "admin2": admin2,
        "application": made["id"],
    }  # fmt: skip


def filled(params: dict[str, Any], ids: dict[str, int]) -> dict[str, Any]:
    return {
        name: ids[value[1:-1]] if isinstance(value, str) and value.startswith("{") else value
        for name, value in params.items()
    }


@pytest.mark.parametrize(
    ("path", "params", "role", "kinds"), OTHER_CHANGES, ids=[c[0] for c in OTHER_CHANGES]
)
def test_every_other_change_records_its_event_naming_its_caller(
    api: Api,
    spine: Spine,
    admin: str,
    customer: dict[str, Any],
    others: dict[str, int],
    path: str,
    params: dict[str, Any],
    role: str,
    kinds: list[str],
) -> None:
    auth = {"admin": ("admin", api.admin_token), "client": customer["auth"], "system": None}[role]
    actor = {"admin": admin, "client": f"client:{customer['id']}", "system": "system"}[role]
    result, recorded = spine.step(lambda: api.ok(path, auth=auth, **filled(params, others)))
    if isinstance(result, str) and len(result) >= 16:
        spine.keep_secret(result)  # a new token
    if isinstance(result, dict):
        spine.keep_secret(*(str(v) for k, v in result.items() if "token" in k))
    assert [e.type for e in recorded] == kinds
    for event in recorded:
        assert event.actor == actor, (event.type, event.actor)
        assert event.type in EVENT_TYPES
    spine.assert_clean(recorded)
