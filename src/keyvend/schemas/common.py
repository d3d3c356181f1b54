"""Field types shared by the schemas: timestamps and money as the wire has always shown them."""

from __future__ import annotations

import builtins
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer

T = TypeVar("T")
CENT = Decimal("0.01")

# `2026-01-15T12:00:00+00:00`, as `datetime.isoformat` writes it (pydantic would write `Z`).
Timestamp = Annotated[datetime, PlainSerializer(datetime.isoformat, when_used="json")]
# Two decimals, carried as a string in JSON (`"19.00"`): money is never a float.
Money = Annotated[
    Decimal,
    AfterValidator(lambda value: Decimal(value).quantize(CENT)),
    PlainSerializer(lambda value: f"{value:.2f}", when_used="json"),
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
