"""Renewals and dunning: the jobs of `keyvend cron` and of the background worker, which
`cron.run` calls in this file's order: retries, renewal invoices, reminders, suspensions,
cancellations, tidying.

Runs overlap (a cron and a worker, or several hosts), so each candidate row is claimed and
checked again in a short transaction of its own (`_claim_each`): on PostgreSQL the row is
locked with SKIP LOCKED, so a row another run is working on is skipped; on SQLite every
writing transaction holds the write lock (BEGIN IMMEDIATE), so runs queue. The check under
the claim sees what any earlier run committed: nothing is done twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, delete, or_, select

from keyvend.db.models import Cart, Invoice, InvoiceItem, Order
from keyvend.db.models import Session as SessionRow
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import KeyvendError
from keyvend.domain.invoice_states import (
    EXPIRED_REASON,
    MAX_TASK_ATTEMPTS,
    NON_PAYMENT,
    InvoiceStatus,
    ItemStatus,
    ItemTask,
)
from keyvend.domain.order_states import Action, OrderStatus
from keyvend.schemas.business import BusinessSettings
from keyvend.services import invoice as invoices
from keyvend.services import payment as payments
from keyvend.services.cart import GUEST_CART_DAYS
from keyvend.services.order import transition

log = logging.getLogger("keyvend.dunning")

Row = TypeVar("Row", Order, Invoice)
Where = Callable[[datetime], list[ColumnElement[bool]]]  # the conditions at a moment


# -- claiming rows -------------------------------------------------------------------------
def _ids(db: Database, model: type[Row], where: Where) -> list[int]:
    """The ids of the rows that match `where` now (read without locks: only candidates)."""
    with db.unit_of_work(read_only=True) as uow:
        query = select(model.id).where(*where(uow.now())).order_by(model.id)
        return list(uow.session.scalars(query))


def _claim_each(
    db: Database,
    model: type[Row],
    where: Where,
    act: Callable[[UnitOfWork, Row], list[int]],
    *,
    ids: Sequence[int] | None = None,
) -> list[int]:
    """For each row matching `where` (or each of `ids`): lock it unless another run holds
    it, check that it still matches, let `act` work on it and commit, all in one
    transaction. `act` returns the ids of what it did (nothing: the transaction rolls back).
    A row that fails is logged and skipped."""
    done: list[int] = []
    for row_id in _ids(db, model, where) if ids is None else ids:
        try:
            with db.unit_of_work() as uow:
                row = uow.session.get(model, row_id, with_for_update={"skip_locked": True})
                made = act(uow, row) if row and _matches(uow, model, row_id, where) else []
                if made:
                    uow.commit()
        except KeyvendError as exc:  # a refused change (a Conflict): the others go on
            log.warning("%s: %s #%s skipped: %s", act.__name__, model.__name__, row_id, exc)
            continue
        except Exception:
            log.exception("%s: %s #%s failed", act.__name__, model.__name__, row_id)
            continue
        done.extend(made)
    return done


def _matches(uow: UnitOfWork, model: type[Row], row_id: int, where: Where) -> bool:
    """Whether the locked row matches `where`, asked in a statement after the lock: on
    PostgreSQL its snapshot sees what the run that held the row committed, where the
    locking statement's may not (it only follows changes to the locked row itself)."""
    query = select(model.id).where(model.id == row_id, *where(uow.now()))
    return uow.session.scalar(query) is not None


def _unpaid_line(task: ItemTask, *, due_before: datetime | None = None) -> ColumnElement[bool]:
    """Whether the order has a line with `task` on an unpaid invoice (due before a moment)."""
    query = (
        select(InvoiceItem.id)
        .join(Invoice, Invoice.id == InvoiceItem.invoice_id)
        .where(
            InvoiceItem.order_id == Order.id,
            InvoiceItem.task == task,
            Invoice.status == InvoiceStatus.UNPAID,
        )
    )
    if due_before is not None:
        query = query.where(Invoice.due_at < due_before)
    return query.exists()


# -- 1. retries ----------------------------------------------------------------------------
def _retryable(now: datetime) -> list[ColumnElement[bool]]:
    failed = select(InvoiceItem.id).where(
        InvoiceItem.invoice_id == Invoice.id,
        InvoiceItem.status == ItemStatus.FAILED,
        InvoiceItem.attempts < MAX_TASK_ATTEMPTS,
    )
    return [Invoice.status == InvoiceStatus.PAID, failed.exists()]


def retry_failed_tasks(db: Database) -> list[int]:
    """Run the failed tasks of paid invoices again, up to MAX_TASK_ATTEMPTS attempts in all;
    returns the ids of the lines retried."""
    return _claim_each(db, Invoice, _retryable, _retry)


def _retry(uow: UnitOfWork, invoice: Invoice) -> list[int]:
    items = [
        item
        for item in invoices.items_of(uow, invoice.id)
        if item.status == ItemStatus.FAILED and item.attempts < MAX_TASK_ATTEMPTS
    ]
    for item in items:
        payments.run_task(uow, item)
    return [item.id for item in items]


# -- 2. renewal invoices -------------------------------------------------------------------
def issue_renewals(db: Database, settings: BusinessSettings) -> list[int]:
    """A renewal invoice (task `renew`) for each active recurring order that costs money and
    expires within `invoice_issue_days_before_expire` days, unless it has an unpaid one;
    returns the ids of the invoices issued."""
    lead = timedelta(days=settings.invoice_issue_days_before_expire)

    def due(now: datetime) -> list[ColumnElement[bool]]:
        return [
            Order.status == OrderStatus.ACTIVE,
            Order.period.is_not(None),
            Order.price > 0,  # a free order is never billed: it is suspended as expired
            Order.expires_at <= now + lead,
            ~_unpaid_line(ItemTask.RENEW),
        ]

    return _claim_each(db, Order, due, _issue_renewal)


def _issue_renewal(uow: UnitOfWork, order: Order) -> list[int]:
    return [invoices.issue_renewal(uow, order).id]


# -- 3. reminders --------------------------------------------------------------------------
@dataclass(frozen=True)
class Reminder:
    """A reminder to send: its event, its day, and every mark it settles."""

    event: str
    data: dict[str, int]
    marks: list[str]


def reminder_due(invoice: Invoice, now: datetime, settings: BusinessSettings) -> Reminder | None:
    """The one reminder an unpaid invoice is due now, if any.

    A reminder's day counts once it has come, and only if it came after the invoice was
    issued (a "due in 7 days" note for an invoice due in 5 is noise). When several days
    have come unsent (the cron did not run), only the latest is sent, and the ones it
    supersedes are marked as settled: one reminder, never a burst of stale ones.
    """
    due_at = invoice.due_at
    if now < due_at:
        kind, event, key = "before", "invoice.reminder", "days_before"
        days = settings.invoice_reminder_before_due_days
        come = [n for n in days if invoice.created_at < due_at - timedelta(days=n) <= now]
        latest = min(come, default=None)
    else:
        kind, event, key = "after", "invoice.overdue", "days_after"
        days = settings.invoice_reminder_after_due_days
        come = [n for n in days if due_at + timedelta(days=n) <= now]
        latest = max(come, default=None)
    if latest is None or f"{kind}:{latest}" in invoice.reminders:
        return None
    marks = [f"{kind}:{n}" for n in sorted(come) if f"{kind}:{n}" not in invoice.reminders]
    return Reminder(event=event, data={key: latest}, marks=marks)


def send_reminders(db: Database, settings: BusinessSettings) -> list[int]:
    """Record the reminder (`invoice.reminder`, `invoice.overdue`) each unpaid invoice is
    due, each once; returns the ids of the invoices reminded."""
    ahead = timedelta(days=max(settings.invoice_reminder_before_due_days, default=0))

    def unpaid(now: datetime) -> list[ColumnElement[bool]]:
        return [Invoice.status == InvoiceStatus.UNPAID, Invoice.due_at <= now + ahead]

    with db.unit_of_work(read_only=True) as uow:
        now = uow.now()
        rows = uow.session.scalars(select(Invoice).where(*unpaid(now)).order_by(Invoice.id))
        ids = [row.id for row in rows if reminder_due(row, now, settings)]

    def remind(uow: UnitOfWork, invoice: Invoice) -> list[int]:
        reminder = reminder_due(invoice, uow.now(), settings)
        if reminder is None:
            return []
        data = dict(reminder.data)
        uow.record(reminder.event, client_id=invoice.client_id, invoice_id=invoice.id, data=data)
        invoice.reminders = [*invoice.reminders, *reminder.marks]
        return [invoice.id]

    return _claim_each(db, Invoice, unpaid, remind, ids=ids)


# -- 4. suspensions ------------------------------------------------------------------------
def suspend_unpaid(db: Database, settings: BusinessSettings) -> list[int]:
    """Suspend active orders `suspend_grace_days` past their expiry (`Non-payment` when a
    renewal invoice is unpaid, else `Expired <date>`), and active orders whose activation
    invoice (after_order) is that long past its due date (`Non-payment`); returns their ids."""
    grace = timedelta(days=settings.suspend_grace_days)

    def expired(now: datetime) -> list[ColumnElement[bool]]:
        return [Order.status == OrderStatus.ACTIVE, Order.expires_at < now - grace]

    def overdue(now: datetime) -> list[ColumnElement[bool]]:
        unpaid = _unpaid_line(ItemTask.ACTIVATE, due_before=now - grace)
        return [Order.status == OrderStatus.ACTIVE, unpaid]

    return [
        *_claim_each(db, Order, expired, _suspend_expired),
        *_claim_each(db, Order, overdue, _suspend_overdue),
    ]


def _suspend_expired(uow: UnitOfWork, order: Order) -> list[int]:
    if invoices.unpaid_renewal(uow, order.id) is not None:
        reason = NON_PAYMENT
    else:
        assert order.expires_at is not None  # the claim's condition
        reason = f"{EXPIRED_REASON} {order.expires_at.date().isoformat()}"
    transition(uow, order, Action.SUSPEND, reason)
    return [order.id]


def _suspend_overdue(uow: UnitOfWork, order: Order) -> list[int]:
    transition(uow, order, Action.SUSPEND, NON_PAYMENT)
    return [order.id]


# -- 5. cancellations ----------------------------------------------------------------------
def cancel_long_suspended(db: Database, settings: BusinessSettings) -> list[int]:
    """Cancel orders suspended for non-payment or expiry longer than
    `cancel_suspended_after_days` (0: never); an order an admin suspended for a reason of
    their own is theirs to decide. Returns the ids canceled."""
    days = settings.cancel_suspended_after_days
    if days == 0:
        return []

    def long_suspended(now: datetime) -> list[ColumnElement[bool]]:
        return [
            Order.status == OrderStatus.SUSPENDED,
            Order.suspended_at < now - timedelta(days=days),
            # orders.suspended_for_payment, in SQL: the reasons the cron suspends with
            or_(Order.reason == NON_PAYMENT, Order.reason.startswith(EXPIRED_REASON)),
        ]

    return _claim_each(db, Order, long_suspended, _cancel)


def _cancel(uow: UnitOfWork, order: Order) -> list[int]:
    transition(uow, order, Action.CANCEL, order.reason)
    return [order.id]


# -- 6. tidying ----------------------------------------------------------------------------
def delete_expired_sessions(db: Database) -> int:
    """Delete browser sessions past their expiry; returns how many."""
    with db.unit_of_work() as uow:
        result = uow.session.execute(delete(SessionRow).where(SessionRow.expires_at < uow.now()))
        uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def delete_stale_guest_carts(db: Database) -> int:
    """Delete guest carts untouched for GUEST_CART_DAYS days (a client's cart stays)."""
    with db.unit_of_work() as uow:
        stale = Cart.updated_at < uow.now() - timedelta(days=GUEST_CART_DAYS)
        result = uow.session.execute(delete(Cart).where(Cart.client_id.is_(None), stale))
        uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)
