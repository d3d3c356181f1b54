"""The activity log (DESIGN.md section 12): the events table read newest first, filtered for
the admin's list, and the short history of one order or one client.

Reading only: events are written by `UnitOfWork.record`, in the transaction of the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, or_, select

from keyvend.db.models import Event, InvoiceItem
from keyvend.db.unit_of_work import Database
from keyvend.schemas.activity import ActivityFilter, EventPublic
from keyvend.schemas.common import Page
from keyvend.services.pagination import PageRequest, paginate_with

HISTORY_LIMIT = 50
PREFIX_MARK = "."  # a type filter ending in a dot names every type under it: `order.`


def get_list(db: Database, *, filters: ActivityFilter, page: PageRequest) -> Page[EventPublic]:
    """Events, newest first, narrowed by `filters`."""
    with db.unit_of_work(read_only=True) as uow:
        return paginate_with(uow, _filtered(filters), page, _public)


def history(
    db: Database,
    *,
    order_id: int | None = None,
    client_id: int | None = None,
    limit: int = HISTORY_LIMIT,
) -> list[EventPublic]:
    """The newest `limit` events of an order (its invoices' included) and/or of a client."""
    query = select(Event).order_by(Event.seq.desc()).limit(max(1, limit))
    if order_id is not None:
        invoices = select(InvoiceItem.invoice_id).where(InvoiceItem.order_id == order_id)
        query = query.where(or_(Event.order_id == order_id, Event.invoice_id.in_(invoices)))
    if client_id is not None:
        query = query.where(Event.client_id == client_id)
    with db.unit_of_work(read_only=True) as uow:
        return _public(uow.session.scalars(query).all())


def _filtered(filters: ActivityFilter) -> Select[Any]:
    query = select(Event).order_by(Event.seq.desc())
    if filters.type:
        if filters.type.endswith(PREFIX_MARK):
            query = query.where(Event.type.startswith(filters.type, autoescape=True))
        else:
            query = query.where(Event.type == filters.type)
    if filters.actor:
        query = query.where(Event.actor == filters.actor)
    for column, wanted in (
        (Event.client_id, filters.client_id),
        (Event.order_id, filters.order_id),
        (Event.invoice_id, filters.invoice_id),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if filters.since is not None:
        query = query.where(Event.at >= filters.since)
    if filters.until is not None:
        query = query.where(Event.at < filters.until)
    return query


def _public(rows: Sequence[Event]) -> list[EventPublic]:
    return [EventPublic.model_validate(row) for row in rows]
