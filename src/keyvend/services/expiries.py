"""Time-based changes as events: an order's paid time running out, an overlap ending.

No unit of work changes anything when a key expires: time passes. The server's key cache
needs no event for it (a cached row carries `expires_at` and the overlap's end), but the
revocation stream's subscribers and webhooks do. `announce` records `order.expired` for
every active order whose `expires_at` passed since the last run, and `key.overlap_ended`
for every key replaced with an overlap that ended (forgetting the replaced key). The worker
runs it every second; the watermark row stays locked until the run commits, so overlapping
runs (several servers, `keyvend cron`) announce each expiry once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from keyvend.db.models import ApiKeyService, Counter, Order
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.order_states import OrderStatus

WATERMARK = "expiry_watermark"


def announce(db: Database) -> int:
    """Record the expiries since the last run; returns how many events were recorded."""
    with db.unit_of_work() as uow:
        # Runs cover whole seconds, [previous watermark, this one): every moment belongs
        # to exactly one run, so each expiry is announced once, at most a second late.
        until = datetime.fromtimestamp(int(uow.now().timestamp()), UTC)
        since = _claim_watermark(uow, until)
        if since is None:
            uow.commit()  # the first run starts the watermark: the past is not news
            return 0
        recorded = _expired_orders(uow, since, until) + _ended_overlaps(uow, since, until)
        uow.commit()
    return recorded


def _claim_watermark(uow: UnitOfWork, until: datetime) -> datetime | None:
    """The previous run's watermark (None on the first run), the row locked and moved to
    `until` (whole seconds, as the counter stores them)."""
    dialect = uow.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    stamp = int(until.timestamp())
    # Read under lock, then written by one upsert (two first runs at once must not clash on
    # creating the row; the loser's run then finds nothing new to announce).
    previous = uow.session.scalar(
        select(Counter.value).where(Counter.name == WATERMARK).with_for_update()
    )
    uow.session.execute(
        insert(Counter)
        .values(name=WATERMARK, value=stamp)
        .on_conflict_do_update(index_elements=[Counter.name], set_={"value": stamp})
    )
    if previous is None:
        return None
    return min(datetime.fromtimestamp(previous, UTC), until)  # a clock set back: nothing


def _expired_orders(uow: UnitOfWork, since: datetime, until: datetime) -> int:
    orders = uow.session.execute(
        select(Order.id, Order.client_id, Order.expires_at)
        .where(
            Order.status == OrderStatus.ACTIVE,
            Order.expires_at >= since,
            Order.expires_at < until,
        )
        .order_by(Order.expires_at)
    ).all()
    for order_id, client_id, expires_at in orders:
        uow.record(
            "order.expired",
            client_id=client_id,
            order_id=order_id,
            data={"expires_at": expires_at.isoformat() if expires_at else None},
        )
    return len(orders)


def _ended_overlaps(uow: UnitOfWork, since: datetime, until: datetime) -> int:
    if not inspect(uow.session.connection()).has_table(ApiKeyService.__tablename__):
        return 0  # the extension is uninstalled: no keys
    services = uow.session.scalars(
        select(ApiKeyService).where(
            ApiKeyService.previous_until >= since, ApiKeyService.previous_until < until
        )
    ).all()
    for service in services:
        # Recorded first: the event names the replaced key, which is forgotten now.
        uow.record("key.overlap_ended", client_id=service.client_id, order_id=service.order_id)
        service.previous_digest = service.previous_ciphertext = service.previous_until = None
    return len(services)
