"""Lifecycle jobs run by `keyvend cron`: suspend orders that expired, tidy sessions and carts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from keyvend.db.models import Cart, Order
from keyvend.db.models import Session as SessionRow
from keyvend.db.unit_of_work import Database
from keyvend.domain.order_states import Action, OrderStatus
from keyvend.services.cart import GUEST_CART_DAYS
from keyvend.services.order import transition


def run(db: Database, *, grace_days: int) -> dict[str, Any]:
    """Suspend active orders more than `grace_days` past `expires_at`; drop dead sessions."""
    with db.unit_of_work() as uow:
        cutoff = uow.now() - timedelta(days=grace_days)
        expired = uow.session.scalars(
            select(Order)
            .where(Order.status == OrderStatus.ACTIVE, Order.expires_at < cutoff)
            .with_for_update()
        ).all()
        for order in expired:
            transition(uow, order, Action.SUSPEND, reason="Expired")
        sessions = uow.session.execute(delete(SessionRow).where(SessionRow.expires_at < uow.now()))
        carts = uow.session.execute(
            delete(Cart).where(
                Cart.client_id.is_(None),
                Cart.updated_at < uow.now() - timedelta(days=GUEST_CART_DAYS),
            )
        )
        uow.commit()
    return {
        "suspended_orders": [o.id for o in expired],
        "deleted_sessions": int(getattr(sessions, "rowcount", 0) or 0),
        "deleted_guest_carts": int(getattr(carts, "rowcount", 0) or 0),
    }
