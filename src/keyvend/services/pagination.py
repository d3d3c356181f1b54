"""FOSSBilling-style paginated lists: {list, total, page, per_page, pages}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from keyvend.db.unit_of_work import UnitOfWork
from keyvend.schemas.common import Page, Schema, in_currency

S = TypeVar("S", bound=Schema)


@dataclass(frozen=True)
class PageRequest:
    """Which page of a list to return (1-based)."""

    number: int = 1
    per_page: int = 100


def paginate(uow: UnitOfWork, query: Select[Any], page: PageRequest, schema: type[S]) -> Page[S]:
    """Run `query` for one page, count the whole result, and show each row as `schema`."""
    total = uow.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = uow.session.scalars(
        query.offset((page.number - 1) * page.per_page).limit(page.per_page)
    ).all()
    total = int(total or 0)
    return Page[S](
        list=[schema.model_validate(row, context=in_currency(uow.shop.currency)) for row in rows],
        total=total,
        page=page.number,
        per_page=page.per_page,
        pages=max(1, -(-total // page.per_page)),
    )
