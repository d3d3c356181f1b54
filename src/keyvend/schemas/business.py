"""Business settings: who sells, how invoices are issued and chased, tax, bank details.

Stored in the database (table `settings`, one row per name) and edited at /admin/settings or
through `admin/system/update_params`. Values arrive from forms as strings: whole numbers,
comma-separated day lists and percentages are read from text here.
"""

from __future__ import annotations

from decimal import Decimal
from string import Formatter
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, field_validator

from keyvend.domain.money import parse_tax_rate, tax_rate_text
from keyvend.schemas.common import Schema

MAX_DAYS = 365
BANK_PLACEHOLDERS = ("number", "total", "due_date", "company_name")
DEFAULT_BANK_INSTRUCTIONS = (
    "Please transfer {total} to our bank account and quote invoice {number} as the payment "
    "reference. The invoice is due on {due_date}."
)


def _day_list(value: Any) -> Any:
    """ "3, 1" -> [1, 3]; a list passes; "" -> []."""
    if isinstance(value, str):
        parts = [part.strip() for part in value.replace(";", ",").split(",")]
        return [part for part in parts if part]
    return value


def _not_bool(value: Any) -> Any:
    """`true` is not a number of days, though pydantic would read it as 1."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    return value


Days = Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=MAX_DAYS)]
DayList = Annotated[
    list[Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=MAX_DAYS)]],
    BeforeValidator(_day_list),
    Field(max_length=10),
]
TaxRate = Annotated[
    Decimal,
    BeforeValidator(parse_tax_rate),
    PlainSerializer(tax_rate_text, return_type=str, when_used="json"),
]


class BusinessSettings(Schema):
    """Every business setting with its default; `suspend_grace_days` defaults to the
    environment setting KEYVEND_SUSPEND_GRACE_DAYS."""

    company_name: Annotated[str, Field(max_length=255)] = ""
    company_email: Annotated[str, Field(max_length=255)] = ""
    company_address: Annotated[str, Field(max_length=1000)] = ""
    invoice_due_days: Days = 5
    invoice_issue_days_before_expire: Days = 14
    invoice_reminder_before_due_days: DayList = Field(default_factory=list)
    invoice_reminder_after_due_days: DayList = Field(default_factory=lambda: [5])
    suspend_grace_days: Days = 0
    cancel_suspended_after_days: Annotated[
        int, BeforeValidator(_not_bool), Field(ge=0, le=10 * MAX_DAYS)
    ] = 0
    tax_name: Annotated[str, Field(max_length=64)] = ""
    tax_rate: TaxRate = Decimal(0)
    email_includes_key: bool = False  # the key_activated mail carries the key itself
    bank_transfer_instructions: Annotated[str, Field(max_length=2000)] = DEFAULT_BANK_INSTRUCTIONS

    @field_validator("company_name", "company_email", "company_address", "tax_name", mode="before")
    @classmethod
    def _trimmed(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # As the API's parameters: PostgreSQL text cannot hold NUL, so both databases refuse.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    @field_validator("invoice_reminder_before_due_days", "invoice_reminder_after_due_days")
    @classmethod
    def _sorted_once(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    @field_validator("bank_transfer_instructions")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        # Plain names only: `{number.__class__}` or `{total:>999999999}` would let the text
        # reach into objects or build a huge string each time the instructions are shown.
        names = ", ".join("{" + name + "}" for name in BANK_PLACEHOLDERS)
        try:
            fields = [(f, spec, conv) for _, f, spec, conv in Formatter().parse(value)]
        except ValueError:
            raise ValueError(f"may only use the placeholders {names}") from None
        for field, spec, conversion in fields:
            if field is not None and (field not in BANK_PLACEHOLDERS or spec or conversion):
                raise ValueError(f"may only use the placeholders {names}")
        return value

    def seller(self) -> dict[str, str]:
        """The seller's details as an invoice keeps them."""
        return {
            "name": self.company_name,
            "email": self.company_email,
            "address": self.company_address,
        }
