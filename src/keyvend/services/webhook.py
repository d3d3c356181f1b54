"""Webhooks (DESIGN.md section 12): the endpoints, and the deliveries every event causes.

Queueing: `queue_deliveries` is an event reader (`EVENT_READERS`). For each event it writes one
`webhook_deliveries` row per enabled webhook subscribed to the event's type, in the event's own
transaction: a rolled-back change sends nothing, a committed one loses nothing while a receiver
is down, and UNIQUE(webhook_id, event_seq) makes a second row for the same event impossible.
The body is `{"type", "timestamp", "data"}`: the event's data and ids, never its fingerprints.
`services.webhook_delivery` sends them, in the worker, never in a request.

Secrets (`whsec_` + base64 of 32 random bytes) are shown once, at create, and stored encrypted
with the vault; `keyvend secret rotate` re-encrypts them.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from keyvend.adapters.webhook_sender import SECRET_PREFIX
from keyvend.db.models import Event, Webhook, WebhookAttempt, WebhookDelivery
from keyvend.db.unit_of_work import EVENT_READERS, Database, UnitOfWork
from keyvend.domain.errors import Conflict, InvalidInput, NotFound
from keyvend.domain.event_types import ALL_KEYS, EVENT_TYPES
from keyvend.domain.fields import text
from keyvend.schemas.common import Page
from keyvend.schemas.webhook import (
    DeliveryStatus,
    WebhookAttemptPublic,
    WebhookCreate,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookSecret,
    WebhookUpdate,
)
from keyvend.services.pagination import PageRequest, paginate_with

ALL_EVENTS = ALL_KEYS  # "*": every event type
TEST_EVENT = "webhook.test"
SECRET_BYTES = 32
MAX_URL = 2000
NO_SUCH_WEBHOOK = "Webhook not found"


# -- the endpoints -----------------------------------------------------------------------------
def create(db: Database, data: WebhookCreate) -> WebhookSecret:
    """A new webhook, enabled; its secret is in the answer, once, and stored encrypted."""
    url, events = valid_url(data.url), valid_events(data.events)
    description = text(data.description, name="description", max_length=255)
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
    with db.unit_of_work() as uow:
        now = uow.now()
        hook = Webhook(
            url=url,
            events=events,
            secret_ciphertext=uow.vault.encrypt_key(secret),
            enabled=True,
            description=description,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(hook)
        uow.flush()
        uow.record("webhook.created", data={"webhook_id": hook.id, "url": url, "events": events})
        uow.commit()
        return WebhookSecret(id=hook.id, secret=secret)


def get_list(db: Database) -> list[WebhookPublic]:
    """Every webhook, oldest first (never their secrets)."""
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.scalars(select(Webhook).order_by(Webhook.id)).all()
        return [WebhookPublic.model_validate(row) for row in rows]


def get(db: Database, webhook_id: int) -> WebhookPublic:
    """One webhook (never its secret)."""
    with db.unit_of_work(read_only=True) as uow:
        return WebhookPublic.model_validate(_webhook(uow, webhook_id))


def update(db: Database, webhook_id: int, data: WebhookUpdate) -> bool:
    """Change a webhook's URL, events, description or whether it is enabled."""
    changes: dict[str, Any] = {}
    if data.url is not None:
        changes["url"] = valid_url(data.url)
    if data.events is not None:
        changes["events"] = valid_events(data.events)
    if data.description is not None:
        changes["description"] = text(data.description, name="description", max_length=255)
    if data.enabled is not None:
        changes["enabled"] = data.enabled
    with db.unit_of_work() as uow:
        hook = _webhook(uow, webhook_id, lock=True)
        for name, value in changes.items():
            setattr(hook, name, value)
        hook.updated_at = uow.now()
        uow.record("webhook.updated", data={"webhook_id": webhook_id, "fields": sorted(changes)})
        uow.commit()
    return True


def delete(db: Database, webhook_id: int) -> bool:
    """Delete a webhook with its delivery log; what it had pending is never sent."""
    with db.unit_of_work() as uow:
        uow.session.delete(_webhook(uow, webhook_id, lock=True))
        uow.record("webhook.deleted", data={"webhook_id": webhook_id})
        uow.commit()
    return True


def send_test(db: Database, webhook_id: int) -> int:
    """Queue a `webhook.test` ping to the webhook, due now; returns the delivery's id."""
    with db.unit_of_work() as uow:
        hook = _webhook(uow, webhook_id)
        now = uow.now()
        data = {"webhook_id": hook.id, "message": "A test ping from Keyvend"}
        payload = {"type": TEST_EVENT, "timestamp": now.isoformat(), "data": data}
        delivery = _delivery(uow, hook.id, None, TEST_EVENT, payload)
        uow.commit()
        return delivery.id


# -- validation --------------------------------------------------------------------------------
def valid_url(value: str) -> str:
    """An absolute http(s) URL with a host, or InvalidInput at `url`."""
    url = text(value, name="url", max_length=MAX_URL, required=True)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        raise InvalidInput("url is not a valid URL", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise InvalidInput("url must be an http:// or https:// URL with a host", field="url")
    return url


def valid_events(values: Sequence[str]) -> list[str]:
    """Known event types, sorted without repeats; ["*"] for every type."""
    if not values:
        raise InvalidInput("events must name at least one event type, or *", field="events")
    if ALL_EVENTS in values:
        return [ALL_EVENTS]
    unknown = sorted(set(values) - EVENT_TYPES)
    if unknown:
        shown = ", ".join(repr(v[:64]) for v in unknown[:5])
        raise InvalidInput(f"events has unknown event types: {shown}", field="events")
    return sorted(set(values))


# -- queueing ----------------------------------------------------------------------------------
def queue_deliveries(uow: UnitOfWork, event: Event, private: dict[str, Any]) -> None:
    """The event reader: one delivery per enabled webhook that wants `event`, in its
    transaction. `private` is never sent, nor are changes to the webhooks themselves."""
    if event.type not in EVENT_TYPES:
        return
    hooks = uow.session.execute(select(Webhook.id, Webhook.events).where(Webhook.enabled)).all()
    wanted = [hook.id for hook in hooks if subscribed(hook.events, event.type)]
    if not wanted:
        return
    uow.flush()  # gives the event its seq, which the deliveries name
    payload = payload_of(event)
    for webhook_id in wanted:
        _delivery(uow, webhook_id, event.seq, event.type, payload)


def subscribed(events: Sequence[str], event_type: str) -> bool:
    return ALL_EVENTS in events or event_type in events


def payload_of(event: Event) -> dict[str, Any]:
    """The body of an event's deliveries: its type, time and data, with its ids and seq."""
    ids = {"client_id": event.client_id, "order_id": event.order_id, "invoice_id": event.invoice_id}
    data = {**event.data, **ids, "seq": event.seq}
    return {"type": event.type, "timestamp": event.at.isoformat(), "data": data}


if queue_deliveries not in EVENT_READERS:
    EVENT_READERS.append(queue_deliveries)


def _delivery(
    uow: UnitOfWork, webhook_id: int, seq: int | None, event_type: str, payload: dict[str, Any]
) -> WebhookDelivery:
    now = uow.now()
    delivery = WebhookDelivery(
        webhook_id=webhook_id,
        event_seq=seq,
        event_type=event_type,
        payload=payload,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(delivery)
    uow.flush()
    return delivery


# -- the delivery log --------------------------------------------------------------------------
def deliveries(db: Database, webhook_id: int, *, page: PageRequest) -> Page[WebhookDeliveryPublic]:
    """A webhook's deliveries, newest first, each with its attempts."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc())
    )
    with db.unit_of_work(read_only=True) as uow:
        _webhook(uow, webhook_id)
        return paginate_with(uow, query, page, lambda rows: _with_attempts(uow, rows))


def retry(db: Database, delivery_id: int) -> bool:
    """Make a delivery due now (pending, failed or delivered): one more attempt at once,
    after which its retry schedule goes on from its attempts so far."""
    with db.unit_of_work() as uow:
        row = uow.session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if row is None:
            raise NotFound("Webhook delivery not found")
        now = uow.now()
        if row.status == DeliveryStatus.SENDING and row.next_attempt_at > now:
            raise Conflict("This delivery is being sent right now; look again in a minute")
        row.status, row.next_attempt_at, row.updated_at = DeliveryStatus.PENDING, now, now
        uow.commit()
    return True


def counts(db: Database) -> dict[str, int]:
    """Deliveries by status, every status present (for the metrics gauge)."""
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(
            select(WebhookDelivery.status, func.count(WebhookDelivery.id)).group_by(
                WebhookDelivery.status
            )
        ).all()
    found = dict.fromkeys((status.value for status in DeliveryStatus), 0)
    found.update({status: int(n) for status, n in rows})
    return found


def _with_attempts(uow: UnitOfWork, rows: Sequence[WebhookDelivery]) -> list[WebhookDeliveryPublic]:
    ids = [row.id for row in rows]
    attempts: dict[int, list[WebhookAttemptPublic]] = {i: [] for i in ids}
    for attempt in uow.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(ids))
        .order_by(WebhookAttempt.id.desc())
    ):
        attempts[attempt.delivery_id].append(WebhookAttemptPublic.model_validate(attempt))
    fields = [name for name in WebhookDeliveryPublic.model_fields if name != "attempt_log"]
    return [
        WebhookDeliveryPublic.model_validate(
            {**{name: getattr(row, name) for name in fields}, "attempt_log": attempts[row.id]}
        )
        for row in rows
    ]


def _webhook(uow: UnitOfWork, webhook_id: int, *, lock: bool = False) -> Webhook:
    hook = uow.session.get(Webhook, webhook_id, with_for_update=lock)
    if hook is None:
        raise NotFound(NO_SUCH_WEBHOOK)
    return hook
