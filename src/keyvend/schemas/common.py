"""Field types shared by the schemas: timestamps and money as the wire has always shown them."""

from __future__ import annotations

import builtins
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer, ValidationInfo

from keyvend.domain.money import rounded

T = TypeVar("T")
CENT = Decimal("0.01")

# `2026-01-15T12:00:00+00:00`, as `datetime.isoformat` writes it (pydantic would write `Z`).
Timestamp = Annotated[datetime, PlainSerializer(datetime.isoformat, when_used="json")]


def in_currency(currency: str) -> dict[str, str]:
    """The validation context that gives `Money` fields the shop currency's decimals:
    `Schema.model_validate(row, context=in_currency(uow.shop.currency))`."""
    return {"currency": currency}


def _rounded(value: Decimal, info: ValidationInfo) -> Decimal:
    currency = (info.context or {}).get("currency")
    return rounded(Decimal(value), currency) if currency else Decimal(value).quantize(CENT)


# The currency's decimals (two unless validated `in_currency`), carried as a string in JSON
# (`"19.00"`, `"1900"` for JPY, `"1.250"` for KWD): money is never a float.
Money = Annotated[
    Decimal,
    AfterValidator(_rounded),
    PlainSerializer(lambda value: f"{value:f}", when_used="json"),
]


class Schema(BaseModel):
    """Base of every schema: built from attributes (ORM rows) as well as from dicts."""

    model_config = ConfigDict(from_attributes=True)


class Page(Schema, Generic[T]):
    """One page of a list, as FOSSBilling shapes it: {list, total, page, per_page, pages}."""

    list: builtins.list[T]
    total: int
    page: int
    per_page: int
    pages: int
