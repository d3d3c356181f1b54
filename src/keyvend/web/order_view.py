"""What an order page shows, for admins and clients alike: the order, its key, whether it
works, its usage, and the choices of a key reset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import InvalidInput, NotFound
from keyvend.domain.keygen import custom_params, display_labels
from keyvend.domain.order_states import Action, allowed_actions
from keyvend.schemas.order import ApiKeyServicePublic, OrderDetail, OrderPublic
from keyvend.schemas.usage import UsagePublic
from keyvend.services import order
from keyvend.services.usage import get_usage
from keyvend.web.forms import Form
from keyvend.web.usage_chart import usage_chart

# How long the old key may keep working after a reset (seconds: label), as both reset forms
# offer it; the service accepts any overlap up to 7 days, the pages these four.
OVERLAPS = {"0": "Stop it now", "3600": "1 hour", "86400": "24 hours", "604800": "7 days"}
USAGE_DAYS = 30


@dataclass(frozen=True)
class OrderView:
    """An order with its API-key service, read in one transaction (`order.detail`)."""

    detail: OrderDetail

    @property
    def order(self) -> OrderPublic:
        return self.detail.order

    @property
    def service(self) -> ApiKeyServicePublic | None:
        return self.detail.service

    @property
    def note(self) -> str | None:
        """Why there is no key to show, if there is none."""
        return self.detail.note

    @property
    def valid(self) -> bool | None:
        return self.detail.valid

    @property
    def key(self) -> str | None:
        return self.service.api_key if self.service else None

    @property
    def config(self) -> dict[str, Any]:
        return self.service.config if self.service else self.order.config

    @property
    def params(self) -> dict[str, Any]:
        return custom_params(self.config)

    @property
    def labels(self) -> dict[str, str]:
        """What customers read for each custom parameter (its label or humanized name)."""
        return display_labels(self.config)

    @property
    def prefix(self) -> str:
        return str(self.config.get("prefix") or "")


@dataclass(frozen=True)
class UsageView:
    """A key's use over the last `USAGE_DAYS` days and its chart, ready for a page."""

    usage: UsagePublic
    chart: Markup


def load(db: Database, order_id: int, *, client_id: int | None = None) -> OrderView:
    """The order (a client only finds their own), its service and the key's validity now."""
    return OrderView(order.detail(db, order_id, client_id=client_id))


def reveal(db: Database, order_id: int, *, client_id: int | None = None) -> str:
    """The plain key of an order, for the owner or an admin who asked to see it."""
    found = order.service(db, order_id, client_id=client_id)
    if not isinstance(found, ApiKeyServicePublic):
        raise NotFound("This order has no API key")
    return found.api_key


def renewable(found: OrderPublic) -> bool:
    """Whether "Renew now" may bill the order for another period: it has a price and a
    period, and a renewal may start from its status."""
    has_period = found.period is not None
    return found.price > 0 and Action.RENEW in allowed_actions(found.status, has_period)


def usage(db: Database, view: OrderView, *, client_id: int | None = None) -> UsageView | None:
    """The key's last 30 days of checks (None for an order without a key)."""
    if view.service is None:
        return None
    found = get_usage(db, order_id=view.order.id, days=USAGE_DAYS, client_id=client_id)
    return UsageView(found, usage_chart(found.daily))


def overlap_of(form: Form) -> int:
    """The seconds the old key keeps working after a reset: one of `OVERLAPS`, 0 if unsaid."""
    chosen = form.get("overlap", "").strip() or "0"
    if chosen not in OVERLAPS:
        raise InvalidInput("Choose how long the old key keeps working", field="overlap")
    return int(chosen)


def old_key_fate(overlap: int) -> str:
    """What a reset did to the old key, in words for its flash message."""
    if not overlap:
        return "The old key no longer works."
    label = OVERLAPS.get(str(overlap), f"{overlap} seconds")
    return f"The old key keeps working for {label}."
