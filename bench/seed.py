"""Seed N API keys straight into a migrated database (bulk insert, same digests as the app)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert

from keyvend.db.models import ApiKeyService, Order
from keyvend.db.unit_of_work import Database
from keyvend.domain.keygen import KeyFormat, generate_key
from keyvend.schemas.account import ClientCreate
from keyvend.schemas.product import ProductCreate
from keyvend.services import client, product

BATCH = 20_000


def seed_keys(
    db: Database, count: int, *, sample: int = 2000, limits: dict[str, object] | None = None
) -> list[str]:
    """Insert `count` active orders with keys; return `sample` of the keys for the load.
    `limits` (quota, quota_period, rate_limit) go into every key's config."""
    pid = product.prepare(db, ProductCreate(title="Bench", type="apikey"))
    cid = client.create(
        db, ClientCreate(email=f"bench{time.time_ns()}@example.com", first_name="B")
    ).id
    fmt = KeyFormat(params={"monthlyLimit": 250}, limits=dict(limits or {}))
    config = fmt.to_config()
    now = datetime.now(UTC)
    kept: list[str] = []
    with db.engine.begin() as conn:
        first_id = 1 + (
            conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM orders").scalar() or 0
        )
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        keys = [generate_key(fmt) for _ in range(size)]
        if len(kept) < sample:
            kept.extend(keys[: sample - len(kept)])
        ids = range(first_id + start, first_id + start + size)
        orders = [_order(i, cid, pid, config, now) for i in ids]
        services = [
            {
                "order_id": i,
                "client_id": cid,
                "key_digest": db.vault.key_digest(k),
                "key_ciphertext": db.vault.encrypt_key(k),
                "enabled": True,
                "config": config,
                "created_at": now,
                "updated_at": now,
            }
            for i, k in zip(ids, keys, strict=True)
        ]
        with db.engine.begin() as conn:
            conn.execute(insert(Order), orders)
            conn.execute(insert(ApiKeyService), services)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql("SELECT setval('orders_id_seq', (SELECT MAX(id) FROM orders))")
    return kept


def _order(
    order_id: int, cid: int, pid: int, config: dict[str, object], now: datetime
) -> dict[str, object]:
    return {
        "id": order_id,
        "client_id": cid,
        "product_id": pid,
        "title": "Bench",
        "type": "apikey",
        "status": "active",
        "period": None,
        "quantity": 1,
        "price": Decimal("0"),
        "config": config,
        "reason": None,
        "activated_at": now,
        "expires_at": None,
        "created_at": now,
        "updated_at": now,
    }
