"""The validity rule has two forms, `domain.is_valid` and the SQL of `db.key_filters`: they agree.

Every combination of order status, key switch and expiry (none, past, now, future) is stored
on the real database; the keys the SQL filter counts must be exactly those `is_valid` accepts,
and the check answers `is_valid` for each key.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select

from keyvend.db.key_filters import valid_keys
from keyvend.db.models import ApiKeyService, Order
from keyvend.db.unit_of_work import Database
from keyvend.domain.order_states import OrderStatus, is_valid
from keyvend.schemas.account import ClientCreate
from keyvend.services import client, dashboard, serviceapikey
from tests.conftest import FakeClock

EXPIRIES = (None, -86_400, 0, 86_400)  # seconds from now


def test_the_sql_filter_and_is_valid_agree_on_every_combination(
    db: Database, clock: FakeClock
) -> None:
    owner = client.create(db, ClientCreate(email="jo@example.com", first_name="Jo")).id
    combos = list(itertools.product(OrderStatus, (True, False), EXPIRIES))
    with db.unit_of_work() as uow:
        now = uow.now()
        for number, (status, enabled, expires_in) in enumerate(combos):
            expires_at = None if expires_in is None else now + timedelta(seconds=expires_in)
            order = Order(
                client_id=owner,
                title="T",
                type="apikey",
                status=status,
                quantity=1,
                price=0,
                config={},
                expires_at=expires_at,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(order)
            uow.flush()
            key = f"KEY-{number:04d}-0000000000000000"
            uow.session.add(
                ApiKeyService(
                    order_id=order.id,
                    client_id=owner,
                    key_digest=uow.vault.key_digest(key),
                    key_ciphertext=uow.vault.encrypt_key(key),
                    enabled=enabled,
                    config={},
                    created_at=now,
                    updated_at=now,
                )
            )
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(
            select(ApiKeyService.id, ApiKeyService.enabled, Order.status, Order.expires_at).join(
                Order, Order.id == ApiKeyService.order_id
            )
        ).all()
        in_sql = set(uow.session.scalars(valid_keys(select(ApiKeyService.id), uow.now())))
    in_python = {
        row.id
        for row in rows
        if is_valid(enabled=row.enabled, status=row.status, expires_at=row.expires_at, clock=clock)
    }
    assert len(rows) == len(combos)
    assert in_sql == in_python
    assert len(in_python) == 2  # active, enabled, and either no expiry or a future one
    assert dashboard.counts(db).active_keys == len(in_python)
    checks = [serviceapikey.check(db, f"KEY-{n:04d}-0000000000000000") for n in range(len(combos))]
    assert sum(checks) == len(in_python)
