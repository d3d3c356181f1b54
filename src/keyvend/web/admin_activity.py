"""The activity log page (`/admin/activity`): every change with who made it, filtered by type,
client, order and dates, and paged; and the rows of the history on the admin order and
client pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError
from keyvend.domain.event_types import EVENT_TYPES
from keyvend.schemas.activity import ActivityFilter, EventPublic
from keyvend.schemas.common import Page
from keyvend.services import activity
from keyvend.services.pagination import PageRequest
from keyvend.web.error_pages import status_of
from keyvend.web.forms import form_id
from keyvend.web.page import Ctx, page

PER_PAGE = 50
FILTERS = ("type", "client_id", "order_id", "from", "to")
SUMMARY_LENGTH = 120
ACTOR_PAGES = {"admin": "/admin/staff/{}", "client": "/admin/clients/{}"}
FAMILIES = sorted({kind.split(".")[0] for kind in EVENT_TYPES})
TYPE_CHOICES = [
    ("", "Any event"),
    *((f"{family}.", f"Every {family} event") for family in FAMILIES),
    *((kind, kind) for kind in sorted(EVENT_TYPES)),
]


@dataclass(frozen=True)
class EventRow:
    """One event as a page shows it: the event, where its actor is, what its data says."""

    event: EventPublic
    actor_href: str | None
    summary: str


@page("admin")
def activity_list(ctx: Ctx) -> Response:
    """The activity log, newest first; filter by type, client, order and dates."""
    values = {name: ctx.query(name).strip() for name in FILTERS}
    try:
        filters = _filters(values)
    except KeyvendError as exc:
        return _activity_page(ctx, values, None, error=exc)
    found = activity.get_list(
        ctx.db, filters=filters, page=PageRequest(ctx.page_number(), PER_PAGE)
    )
    return _activity_page(ctx, values, found)


def _activity_page(
    ctx: Ctx,
    values: dict[str, str],
    result: Page[EventPublic] | None,
    *,
    error: KeyvendError | None = None,
) -> Response:
    return ctx.render(
        "admin/activity.html",
        status=status_of(error) if error else 200,
        title="Activity",
        result=result,
        rows=rows(result.list) if result else [],
        values=values,
        types=TYPE_CHOICES,
        query=urlencode({name: values[name] for name in FILTERS if values[name]}),
        error=error.message if error else None,
        bad=error.field if error else None,
    )


def rows(events: Sequence[EventPublic]) -> list[EventRow]:
    """The events as table rows (also for the history of an order or a client)."""
    return [EventRow(e, actor_href(e.actor), summary(e.data)) for e in events]


def actor_href(actor: str) -> str | None:
    """The admin page of whoever made a change (`admin:3`, `client:7`), if it has one."""
    role, _, number = actor.partition(":")
    if role == "application":
        return "/admin/applications"
    pattern = ACTOR_PAGES.get(role)
    return pattern.format(number) if pattern and number.isdigit() else None


def summary(data: dict[str, Any]) -> str:
    """`data` in one short line: `status: suspended, reason: late`."""
    parts = []
    for name, value in data.items():
        if value is None or value == [] or value == "":
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{name.replace('_', ' ')}: {shown}")
    text = "; ".join(parts)
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "\u2026"


def _filters(values: dict[str, str]) -> ActivityFilter:
    """The filter the form asks for; a bad id or date is InvalidInput at its field."""
    return ActivityFilter(
        type=values["type"] or None,
        client_id=form_id(values["client_id"], "client_id") if values["client_id"] else None,
        order_id=form_id(values["order_id"], "order_id") if values["order_id"] else None,
        since=_day(values["from"], "from"),
        until=_day(values["to"], "to", after=True),
    )


def _day(text: str, name: str, *, after: bool = False) -> datetime | None:
    """A date of the form as a moment: its midnight (UTC), or the next one for `to` (the day
    itself is included)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a date such as 2026-01-15", field=name) from None
    moment = datetime.combine(day, time(), tzinfo=UTC)
    return moment + timedelta(days=1) if after else moment


def routes() -> list[Route]:
    return [Route("/admin/activity", activity_list, methods=["GET"])]
