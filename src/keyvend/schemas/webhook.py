"""Webhooks (DESIGN.md section 12): endpoints that receive events, and their delivery log."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from keyvend.schemas.common import Schema, Timestamp


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt at `next_attempt_at`
    SENDING = "sending"  # claimed by a worker until `next_attempt_at` (the lease)
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # every retry failed; a manual retry tries once more


class WebhookCreate(Schema):
    """A new endpoint: where to POST, and which event types (or ["*"] for all)."""

    url: str
    events: list[str]
    description: str = ""


class WebhookUpdate(Schema):
    """What to change of an endpoint; None leaves a field as it is."""

    url: str | None = None
    events: list[str] | None = None
    enabled: bool | None = None
    description: str | None = None


class WebhookPublic(Schema):
    """An endpoint as the admin sees it: never its secret."""

    id: int
    url: str
    events: list[str]
    enabled: bool
    description: str
    created_at: Timestamp
    updated_at: Timestamp


class WebhookSecret(Schema):
    """A new endpoint's id and signing secret, shown once."""

    id: int
    secret: str


class WebhookAttemptPublic(Schema):
    """One try of a delivery: when, the answer's status code (None: no answer), how long."""

    at: Timestamp
    status_code: int | None
    duration_ms: int
    error: str | None


class WebhookDeliveryPublic(Schema):
    """One event (or test ping) to one endpoint, with every attempt so far (newest first)."""

    id: int
    webhook_id: int
    event_seq: int | None
    event_type: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: Timestamp
    last_status_code: int | None
    last_error: str | None
    last_duration_ms: int | None
    delivered_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp
    attempt_log: list[WebhookAttemptPublic]
