"""The activity log as the admin reads it: `admin/activity/get_list`, /admin/activity and the
history on the admin order and client pages (DESIGN.md section 12)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from keyvend.schemas.common import Schema, Timestamp

MOMENT_MAX_LENGTH = 40
MOMENT_HINT = "must be an ISO 8601 date or date and time, e.g. 2026-01-15 or 2026-01-15T12:00Z"


def parse_moment(value: Any) -> datetime:
    """An ISO 8601 date or date and time as an aware datetime (UTC unless it names its
    offset; a date alone is its midnight); ValueError for anything else."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and len(value) <= MOMENT_MAX_LENGTH:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(MOMENT_HINT) from None
    else:
        raise ValueError(MOMENT_HINT)
    # In UTC: SQLite stores moments without their zone, so an offset must not reach it.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


# A moment given as text: never a number (which pydantic would read as a Unix time).
Moment = Annotated[
    datetime,
    BeforeValidator(parse_moment),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "maxLength": MOMENT_MAX_LENGTH,
            "description": "An ISO 8601 date or date and time (UTC unless an offset is given).",
        }
    ),
]


class EventPublic(Schema):
    """One event of the spine; `data` never holds a key, token or password, and the key
    fingerprints that the revocation stream follows are not shown."""

    seq: int
    at: Timestamp
    type: str
    actor: str  # admin:<id>, client:<id>, application:<id> or system
    client_id: int | None
    order_id: int | None
    invoice_id: int | None
    data: dict[str, Any]


class ActivityFilter(Schema):
    """Which events to list: `type` exact, or every type of a prefix ending in a dot
    (`order.`); `since` inclusive, `until` exclusive."""

    type: str | None = None
    actor: str | None = None
    client_id: int | None = None
    order_id: int | None = None
    invoice_id: int | None = None
    since: Moment | None = None
    until: Moment | None = None
