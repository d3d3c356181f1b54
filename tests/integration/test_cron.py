"""keyvend.services.cron.run on free orders: suspend them past expiry plus grace days, tidy up.

The billing jobs (renewal invoices, reminders, retries) have their tests in test_dunning.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import Unauthenticated
from keyvend.domain.order_states import Action
from keyvend.schemas.account import ClientCreate
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import auth, business_settings, cron, order, product, serviceapikey
from keyvend.services import client as clients
from tests.conftest import FakeClock
from tests.support.keys import key_via_service

# Orders start on the FakeClock's 2026-01-15 12:00 UTC; a 1M order expires on 2026-02-15 12:00.
EXPIRES = datetime(2026, 2, 15, 12, 0, tzinfo=UTC)
EXPIRED = "Expired 2026-02-15"  # the reason of a suspension for expiry names the day

MakeOrder = Callable[..., int]


@pytest.fixture
def make_order(db: Database) -> MakeOrder:
    """Orders of one client for one free apikey product, driven through the services."""
    pid = product.prepare(db, ProductCreate(title="Starter", type="apikey"))
    product.update(db, pid, ProductUpdate(status="enabled", setup="after_order"))
    cid = clients.create(
        db, ClientCreate(email="jo@example.com", first_name="Jo", password="jo-pass-123")
    ).id

    def make(status: str = "active", *, period: str | None = "1M") -> int:
        oid = int(
            order.create(
                db,
                OrderCreate(
                    client_id=cid, product_id=pid, period=period, activate=status != "pending_setup"
                ),
            )
        )
        if status == "suspended":
            order.act(db, oid, Action.SUSPEND, reason="Manual hold")
        elif status == "canceled":
            order.act(db, oid, Action.CANCEL, reason="Asked to")
        return oid

    return make


def state(db: Database, order_id: int) -> tuple[str, str | None]:
    found = order.get(db, order_id)
    return found.status, found.reason


def test_cron_suspends_an_active_order_past_its_expiry(
    db: Database, make_order: MakeOrder, clock: FakeClock
) -> None:
    oid = make_order()
    clock.now = EXPIRES
    clock.advance(seconds=1)
    result = cron.run(db)
    assert result["suspended_orders"] == [oid]
    assert state(db, oid) == ("suspended", EXPIRED)
    assert serviceapikey.check(db, key_via_service(db, oid)) is False


def test_cron_leaves_an_order_that_has_not_expired(
    db: Database, make_order: MakeOrder, clock: FakeClock
) -> None:
    oid = make_order()
    clock.now = EXPIRES
    assert cron.run(db)["suspended_orders"] == []
    assert state(db, oid) == ("active", None)


def test_cron_waits_for_the_grace_days_to_pass(
    db: Database, make_order: MakeOrder, clock: FakeClock
) -> None:
    oid = make_order()
    clock.now = EXPIRES
    clock.advance(days=3)
    business_settings.update(db, {"suspend_grace_days": 3})
    assert cron.run(db)["suspended_orders"] == []
    assert state(db, oid) == ("active", None)
    # Expired keys fail regardless.
    assert serviceapikey.check(db, key_via_service(db, oid)) is False
    clock.advance(seconds=1)
    assert cron.run(db)["suspended_orders"] == [oid]
    assert state(db, oid) == ("suspended", EXPIRED)


def test_cron_leaves_orders_without_an_expiry(
    db: Database, make_order: MakeOrder, clock: FakeClock
) -> None:
    oid = make_order(period=None)
    clock.advance(days=3650)
    assert cron.run(db)["suspended_orders"] == []
    assert state(db, oid) == ("active", None)


@pytest.mark.parametrize("status", ["pending_setup", "suspended", "canceled"])
def test_cron_leaves_orders_that_are_not_active(
    db: Database, make_order: MakeOrder, clock: FakeClock, status: str
) -> None:
    oid = make_order(status)
    before = order.get(db, oid)
    clock.advance(days=400)
    assert cron.run(db)["suspended_orders"] == []
    assert order.get(db, oid) == before


def test_cron_picks_only_the_expired_orders_among_many(
    db: Database, make_order: MakeOrder, clock: FakeClock
) -> None:
    monthly, weekly, yearly = (
        make_order(period="1M"),
        make_order(period="1W"),
        make_order(period="1Y"),
    )
    clock.advance(days=40)
    assert sorted(cron.run(db)["suspended_orders"]) == sorted([monthly, weekly])
    assert state(db, yearly) == ("active", None)


def test_second_cron_run_finds_nothing_more_to_do(
    db: Database, make_order: MakeOrder, clock: FakeClock
) -> None:
    oid = make_order()
    clock.advance(days=40)
    assert cron.run(db)["suspended_orders"] == [oid]
    updated_at = order.get(db, oid).updated_at
    clock.advance(days=1)
    assert cron.run(db)["suspended_orders"] == []
    assert order.get(db, oid).updated_at == updated_at


def test_renewing_an_order_suspended_by_cron_brings_its_key_back(
    db: Database, make_order: MakeOrder, clock: FakeClock
) -> None:
    oid = make_order()
    key = key_via_service(db, oid)
    clock.advance(days=40)
    cron.run(db)
    order.act(db, oid, Action.RENEW)
    assert state(db, oid) == ("active", None)
    assert serviceapikey.check(db, key) is True
    assert cron.run(db)["suspended_orders"] == []


def test_cron_drops_expired_sessions_and_keeps_live_ones(
    db: Database, make_order: MakeOrder, clock: FakeClock
) -> None:
    old = auth.login(db, "client", email="jo@example.com", password="jo-pass-123", ttl_hours=1)
    live = auth.login(db, "client", email="jo@example.com", password="jo-pass-123", ttl_hours=48)
    clock.advance(hours=2)
    result = cron.run(db)
    assert result["deleted_sessions"] == 1
    with pytest.raises(Unauthenticated):
        auth.live_session(db, old.token)
    assert auth.live_session(db, live.token)[1] == live.csrf


def test_cron_drops_guest_carts_left_alone_for_30_days_and_keeps_the_rest(
    db: Database, make_order: MakeOrder, clock: FakeClock
) -> None:
    from keyvend.schemas.cart import CartItemCreate
    from keyvend.services import cart
    from keyvend.services.cart import CartOwner

    product_id = order.get(db, make_order()).product_id
    assert product_id is not None
    item = CartItemCreate(product_id=product_id)
    stale, fresh = CartOwner(token_digest="a" * 64), CartOwner(token_digest="b" * 64)
    clients_cart = CartOwner(client_id=order.get(db, make_order()).client_id)
    cart.add_item(db, stale, item)
    cart.add_item(db, clients_cart, item)
    clock.advance(days=29)
    cart.add_item(db, fresh, item)
    clock.advance(days=1, seconds=1)
    assert cron.run(db)["deleted_guest_carts"] == 1
    assert cart.get(db, stale).items == []
    assert len(cart.get(db, fresh).items) == 1
    assert len(cart.get(db, clients_cart).items) == 1  # a client's cart never expires
