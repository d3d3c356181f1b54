"""Orders (FOSSBilling's `order` module): creation and the lifecycle of the service.

`transition` is the one door for order state: it alone runs the product type's lifecycle
hooks and sets status, reason and times. The admin actions, the cron's expiry suspension and
checkout all go through it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from keyvend.db.models import Client, Order, Product
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, InvalidInput, KeyvendError, NotFound
from keyvend.domain.fields import choice, text
from keyvend.domain.invoice_states import EXPIRED_REASON, NON_PAYMENT
from keyvend.domain.order_states import NO_PERIOD, Action, OrderStatus, is_valid, next_status
from keyvend.domain.periods import parse_period
from keyvend.domain.pricing import price_for
from keyvend.schemas.common import Page, in_currency
from keyvend.schemas.order import (
    ApiKeyServicePublic,
    OrderCreate,
    OrderDetail,
    OrderPublic,
    ServicePublic,
)
from keyvend.services import order_search
from keyvend.services.pagination import PageRequest, paginate
from keyvend.services.product_types import get_type

MAX_QUANTITY = 100


def create(db: Database, data: OrderCreate) -> int:
    """Create an order for a client (pending setup), optionally activating it at once."""
    with db.unit_of_work() as uow:
        order = place(uow, data)
        if data.activate:
            transition(uow, order, Action.ACTIVATE)
        uow.commit()
        return order.id


def place(uow: UnitOfWork, data: OrderCreate) -> Order:
    """Add a pending order to the unit of work; the product's config is snapshotted."""
    if uow.session.get(Client, data.client_id) is None:
        raise NotFound("Client not found")
    product = uow.session.get(Product, data.product_id)
    if product is None:
        raise NotFound("Product not found")
    product_type = get_type(product.type)
    product_type.require_available(uow)
    if not 1 <= data.quantity <= MAX_QUANTITY:
        raise InvalidInput(
            f"quantity must be a whole number from 1 to {MAX_QUANTITY}", field="quantity"
        )
    period_text = str(parse_period(data.period)) if data.period else None
    unit_price = price_for(product.pricing, period_text)
    snapshot = product_type.parse_config({**product.config, **(data.config or {})})
    now = uow.now()
    order = Order(
        client_id=data.client_id,
        product_id=product.id,
        title=product.title,
        type=product.type,
        status=OrderStatus.PENDING_SETUP,
        period=period_text,
        quantity=data.quantity,
        price=unit_price * data.quantity,
        config=snapshot,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(order)
    uow.flush()
    product_type.create(uow, order)
    uow.record("order.created", client_id=order.client_id, order_id=order.id)
    return order


def transition(
    uow: UnitOfWork,
    order: Order,
    action: Action,
    reason: str | None = None,
    *,
    from_expiry: bool = False,
) -> None:
    """Move `order` by `action`: check the rule, run the type's hook, set status and times.

    A renewal extends `expires_at` by one period from the old expiry, or from now if that
    passed; a paid renewal invoice (`from_expiry`) always extends from the old expiry, as
    FOSSBilling does, so paying late does not move the billing date.
    """
    status = next_status(
        action,
        order.status,
        has_period=order.period is not None,
        activated=order.activated_at is not None,
    )
    getattr(get_type(order.type), action.value)(uow, order)
    now = uow.now()
    if action == Action.ACTIVATE:
        order.activated_at = now
        order.expires_at = parse_period(order.period).after(now) if order.period else None
    elif action == Action.RENEW and order.period is not None:
        # A renewal extends from the old expiry, or from now if it already passed.
        keep = order.expires_at is not None and (from_expiry or order.expires_at > now)
        base = order.expires_at if keep and order.expires_at else now
        order.expires_at = parse_period(order.period).after(base)
    if status == OrderStatus.SUSPENDED:
        order.suspended_at = now
    elif order.status == OrderStatus.SUSPENDED:
        order.suspended_at = None
    order.status = status
    order.reason = reason
    order.updated_at = now
    uow.record(
        f"order.{EVENT_VERBS[action]}",
        client_id=order.client_id,
        order_id=order.id,
        data={"status": status.value, "reason": reason, "expires_at": _iso(order.expires_at)},
    )


def suspended_for_payment(order: Order) -> bool:
    """Whether the order is suspended by the cron for non-payment or expiry (which paying
    lifts), rather than by an admin for a reason of their own."""
    reason = order.reason or ""
    return order.status == OrderStatus.SUSPENDED and (
        reason == NON_PAYMENT or reason.startswith(EXPIRED_REASON)
    )


def renew_for_payment(uow: UnitOfWork, order: Order) -> None:
    """A renewal invoice was paid: one period more from the old expiry. An order suspended
    for non-payment or expiry becomes active; one an admin suspended stays suspended."""
    if order.status == OrderStatus.SUSPENDED and not suspended_for_payment(order):
        if order.period is None:
            raise Conflict(NO_PERIOD)
        now = uow.now()
        base = order.expires_at or now
        order.expires_at = parse_period(order.period).after(base)
        order.updated_at = now
        uow.record(
            "order.renewed",
            client_id=order.client_id,
            order_id=order.id,
            data={
                "status": order.status,
                "reason": order.reason,
                "expires_at": _iso(order.expires_at),
            },
        )
        return
    transition(uow, order, Action.RENEW, from_expiry=True)


EVENT_VERBS = {
    Action.ACTIVATE: "activated",
    Action.RENEW: "renewed",
    Action.SUSPEND: "suspended",
    Action.UNSUSPEND: "unsuspended",
    Action.CANCEL: "canceled",
    Action.UNCANCEL: "uncanceled",
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def act(db: Database, order_id: int, action: Action, *, reason: str | None = None) -> bool:
    """Run one lifecycle action on an order, in its own transaction (the admin's buttons)."""
    reason = text(reason, name="reason", max_length=255) or None
    with db.unit_of_work() as uow:
        transition(uow, _order(uow, order_id, lock=True), action, reason)
        uow.commit()
    return True


def delete(db: Database, order_id: int) -> bool:
    """Delete an order and its service (the key dies with it)."""
    with db.unit_of_work() as uow:
        order = _order(uow, order_id, lock=True)
        # Recorded first: the event names the order's keys, which die with it.
        uow.record("order.deleted", client_id=order.client_id, order_id=order.id)
        get_type(order.type).delete(uow, order)
        uow.session.delete(order)
        uow.commit()
    return True


def get(db: Database, order_id: int, *, client_id: int | None = None) -> OrderPublic:
    """One order; a client only sees their own."""
    with db.unit_of_work(read_only=True) as uow:
        return OrderPublic.model_validate(
            _order(uow, order_id, client_id=client_id), context=in_currency(uow.shop.currency)
        )


def service(db: Database, order_id: int, *, client_id: int | None = None) -> ServicePublic:
    """The service behind an order (for API keys: id, api_key, config, dates)."""
    with db.unit_of_work(read_only=True) as uow:
        order = _order(uow, order_id, client_id=client_id)
        return get_type(order.type).to_api(uow, order)


def detail(db: Database, order_id: int, *, client_id: int | None = None) -> OrderDetail:
    """The order, its key and whether the key checks valid now, read in one transaction."""
    with db.unit_of_work(read_only=True) as uow:
        order = _order(uow, order_id, client_id=client_id)
        public = OrderPublic.model_validate(order, context=in_currency(uow.shop.currency))
        try:
            found = get_type(order.type).to_api(uow, order)
        except KeyvendError as exc:  # no key yet, or the extension is off
            return OrderDetail(order=public, service=None, note=exc.message, valid=None)
    if not isinstance(found, ApiKeyServicePublic):
        return OrderDetail(order=public, service=None, note=None, valid=None)
    valid = is_valid(
        enabled=found.valid, status=order.status, expires_at=order.expires_at, clock=db.clock
    )
    return OrderDetail(order=public, service=found, note=None, valid=valid)


def get_list(
    db: Database,
    *,
    page: PageRequest,
    client_id: int | None = None,
    status: str | None = None,
    search: str | None = None,
) -> Page[OrderPublic]:
    """Orders, newest first; filtered by client, status and a support search (a client's
    email or part of it, or a pasted key: `order_search.matching`)."""
    query = select(Order).order_by(Order.id.desc())
    if client_id is not None:
        query = query.where(Order.client_id == client_id)
    if status:
        statuses = tuple(s.value for s in OrderStatus)
        query = query.where(Order.status == choice(status, name="status", options=statuses))
    with db.unit_of_work(read_only=True) as uow:
        if search and search.strip():
            query = query.where(order_search.matching(uow, search.strip()))
        return paginate(uow, query, page, OrderPublic)


def _order(
    uow: UnitOfWork, order_id: int, *, client_id: int | None = None, lock: bool = False
) -> Order:
    order = uow.session.get(Order, order_id, with_for_update=lock)
    if order is None or (client_id is not None and order.client_id != client_id):
        raise NotFound("Order not found")
    return order
