"""FOSSBilling-style paginated lists: {list, total, page, per_page, pages}."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from keyvend.db.unit_of_work import UnitOfWork
from keyvend.schemas.common import Page, Schema, in_currency

S = TypeVar("S", bound=Schema)
Present = Callable[[Sequence[Any]], list[S]]


@dataclass(frozen=True)
class PageRequest:
    """Which page of a list to return (1-based)."""

    number: int = 1
    per_page: int = 100


def paginate(uow: UnitOfWork, query: Select[Any], page: PageRequest, schema: type[S]) -> Page[S]:
    """Run `query` for one page, count the whole result, and show each row as `schema`."""
    context = in_currency(uow.shop.currency)
    return paginate_with(
        uow, query, page, lambda rows: [schema.model_validate(r, context=context) for r in rows]
    )


def paginate_with(
    uow: UnitOfWork, query: Select[Any], page: PageRequest, present: Present[S]
) -> Page[S]:
    """`paginate` for rows that need more than a schema to be shown: `present` turns the
    page's rows into their public form (reading what they need in one go)."""
    total = uow.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = uow.session.scalars(
        query.offset((page.number - 1) * page.per_page).limit(page.per_page)
    ).all()
    total = int(total or 0)
    return Page[S](
        list=present(rows),
        total=total,
        page=page.number,
        per_page=page.per_page,
        pages=max(1, -(-total // page.per_page)),
    )
