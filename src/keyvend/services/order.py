"""Orders (FOSSBilling's `order` module): creation and the lifecycle of the service."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from keyvend.db.models import Client, Order, Product
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, InvalidInput, NotFound
from keyvend.domain.fields import choice, text
from keyvend.domain.order_states import OrderStatus, next_status
from keyvend.domain.periods import parse_period
from keyvend.domain.pricing import price_for
from keyvend.services.pagination import Page, paginate
from keyvend.services.product_types import get_type

MAX_QUANTITY = 100


def create(
    db: Database,
    *,
    client_id: int,
    product_id: int,
    period: str | None = None,
    quantity: int = 1,
    config: dict[str, Any] | None = None,
    activate: bool = False,
) -> int:
    """Create an order for a client (pending setup), optionally activating it at once."""
    with db.unit_of_work() as uow:
        order = place(
            uow,
            client_id=client_id,
            product_id=product_id,
            period=period,
            quantity=quantity,
            config=config,
        )
        if activate:
            start(uow, order)
        uow.commit()
        return order.id


def place(
    uow: UnitOfWork,
    *,
    client_id: int,
    product_id: int,
    period: str | None,
    quantity: int,
    config: dict[str, Any] | None = None,
) -> Order:
    """Add a pending order to the unit of work; the product's config is snapshotted."""
    if uow.session.get(Client, client_id) is None:
        raise NotFound("Client not found")
    product = uow.session.get(Product, product_id)
    if product is None:
        raise NotFound("Product not found")
    product_type = get_type(product.type)
    product_type.require_available(uow)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(
            f"quantity must be a whole number from 1 to {MAX_QUANTITY}", field="quantity"
        )
    period_text = str(parse_period(period)) if period else None
    unit_price = price_for(product.pricing, period_text)
    snapshot = product_type.parse_config({**product.config, **(config or {})})
    now = uow.now()
    order = Order(
        client_id=client_id,
        product_id=product.id,
        title=product.title,
        type=product.type,
        status=OrderStatus.PENDING_SETUP.value,
        period=period_text,
        quantity=quantity,
        price=unit_price * quantity,
        config=snapshot,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(order)
    uow.session.flush()
    product_type.create(uow, order)
    return order


def start(uow: UnitOfWork, order: Order) -> None:
    """Activate within the caller's unit of work: issue the service, start the period."""
    status = next_status("activate", order.status)
    get_type(order.type).activate(uow, order)
    now = uow.now()
    order.status = status.value
    order.activated_at = now
    order.expires_at = parse_period(order.period).after(now) if order.period else None
    order.reason = None
    order.updated_at = now


def activate(db: Database, order_id: int) -> bool:
    """pending_setup / failed_setup -> active; the key is generated now."""
    with db.unit_of_work() as uow:
        start(uow, _order(uow, order_id, lock=True))
        uow.commit()
    return True


def renew(db: Database, order_id: int) -> bool:
    """Extend `expires_at` by one period (from now if already expired) and reactivate."""
    with db.unit_of_work() as uow:
        order = _order(uow, order_id, lock=True)
        status = next_status("renew", order.status)
        if order.period is None:
            raise Conflict("This order has no billing period, so it cannot be renewed")
        now = uow.now()
        base = order.expires_at if order.expires_at and order.expires_at > now else now
        get_type(order.type).renew(uow, order)
        order.expires_at = parse_period(order.period).after(base)
        order.status = status.value
        order.reason = None
        order.updated_at = now
        uow.commit()
    return True


def suspend(db: Database, order_id: int, *, reason: str | None = None) -> bool:
    """active -> suspended; the key stops being valid at once."""
    return _transition(db, order_id, "suspend", reason)


def unsuspend(db: Database, order_id: int) -> bool:
    """suspended -> active."""
    return _transition(db, order_id, "unsuspend", None)


def cancel(db: Database, order_id: int, *, reason: str | None = None) -> bool:
    """Any live status -> canceled; the key stops being valid at once."""
    return _transition(db, order_id, "cancel", reason)


def uncancel(db: Database, order_id: int) -> bool:
    """canceled -> active (or back to pending_setup if it was never activated)."""
    return _transition(db, order_id, "uncancel", None)


def _transition(db: Database, order_id: int, action: str, reason: str | None) -> bool:
    reason = text(reason, name="reason", max_length=255) or None
    with db.unit_of_work() as uow:
        order = _order(uow, order_id, lock=True)
        status = next_status(action, order.status)
        if action == "uncancel" and order.activated_at is None:
            status = OrderStatus.PENDING_SETUP
        getattr(get_type(order.type), action)(uow, order)
        order.status = status.value
        order.reason = reason
        order.updated_at = uow.now()
        uow.commit()
    return True


def delete(db: Database, order_id: int) -> bool:
    """Delete an order and its service (the key dies with it)."""
    with db.unit_of_work() as uow:
        order = _order(uow, order_id, lock=True)
        get_type(order.type).delete(uow, order)
        uow.session.delete(order)
        uow.commit()
    return True


def get(db: Database, order_id: int, *, client_id: int | None = None) -> dict[str, Any]:
    """One order; a client only sees their own."""
    with db.unit_of_work(read_only=True) as uow:
        return to_api(_order(uow, order_id, client_id=client_id))


def service(db: Database, order_id: int, *, client_id: int | None = None) -> dict[str, Any]:
    """The service behind an order (for API keys: id, api_key, config, dates)."""
    with db.unit_of_work(read_only=True) as uow:
        order = _order(uow, order_id, client_id=client_id)
        return get_type(order.type).to_api(uow, order)


def get_list(
    db: Database, *, page: Page, client_id: int | None = None, status: str | None = None
) -> dict[str, Any]:
    """Orders, newest first; filtered by client and status."""
    query = select(Order).order_by(Order.id.desc())
    if client_id is not None:
        query = query.where(Order.client_id == client_id)
    if status:
        statuses = tuple(s.value for s in OrderStatus)
        query = query.where(Order.status == choice(status, name="status", options=statuses))
    with db.unit_of_work(read_only=True) as uow:
        return paginate(uow, query, page, to_api)


def to_api(order: Order) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": order.id,
        "client_id": order.client_id,
        "product_id": order.product_id,
        "title": order.title,
        "type": order.type,
        "status": order.status,
        "period": order.period,
        "quantity": order.quantity,
        "price": str(Decimal(order.price).quantize(Decimal("0.01"))),
        "config": order.config,
        "reason": order.reason,
        "activated_at": iso(order.activated_at),
        "expires_at": iso(order.expires_at),
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
    }


def _order(
    uow: UnitOfWork, order_id: int, *, client_id: int | None = None, lock: bool = False
) -> Order:
    order = uow.session.get(Order, order_id, with_for_update=lock)
    if order is None or (client_id is not None and order.client_id != client_id):
        raise NotFound("Order not found")
    return order
