"""The validity rule of `domain.order_states.is_valid`, as SQL (for counting valid keys).

A parity test draws orders and keys at random and checks that this filter and `is_valid`
agree on every one, so the rule cannot drift apart in its two forms.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_

from keyvend.db.models import ApiKeyService, Order
from keyvend.domain.order_states import OrderStatus


def valid_keys(query: Select[Any], now: datetime) -> Select[Any]:
    """`query` over api-key services, narrowed to the keys that check valid at `now`."""
    return query.join(Order, Order.id == ApiKeyService.order_id).where(
        ApiKeyService.enabled.is_(True),
        Order.status == OrderStatus.ACTIVE,
        or_(Order.expires_at.is_(None), Order.expires_at > now),
    )
