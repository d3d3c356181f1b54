"""webhook: endpoints that receive signed events, their delivery log, retries (admin)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from keyvend.api.endpoints.fields import Id, IdParams, ListParams, Short
from keyvend.api.registry import Call, NoParams, Params, endpoint
from keyvend.schemas.common import Page
from keyvend.schemas.webhook import (
    WebhookCreate,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookSecret,
    WebhookUpdate,
)
from keyvend.services import webhook

Url = Annotated[str, Field(max_length=2000, description="Where to POST: an http(s) URL.")]
Events = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(min_length=1, max_length=100, description='Event types to send, or ["*"] for all.'),
]


class CreateParams(Params):
    url: Url
    events: Events
    description: Short | None = None


class UpdateParams(Params):
    id: Id
    url: Url | None = None
    events: Events | None = None
    enabled: bool | None = None
    description: Short | None = None


class DeliveriesParams(ListParams):
    id: Id


class RetryParams(Params):
    delivery_id: Id


@endpoint("admin", "webhook", "create", CreateParams)
def create(call: Call, p: CreateParams) -> WebhookSecret:
    """Add a webhook: {id, secret}; the secret (whsec_...) is shown this once."""
    data = WebhookCreate(url=p.url, events=p.events, description=p.description or "")
    return webhook.create(call.db, data)


@endpoint("admin", "webhook", "get_list", NoParams)
def get_list(call: Call, p: NoParams) -> list[WebhookPublic]:
    """Every webhook with its URL and events (never its secret)."""
    return webhook.get_list(call.db)


@endpoint("admin", "webhook", "update", UpdateParams)
def update(call: Call, p: UpdateParams) -> bool:
    """Change a webhook's URL, events, description, or enable or disable it."""
    data = WebhookUpdate(url=p.url, events=p.events, enabled=p.enabled, description=p.description)
    return webhook.update(call.db, p.id, data)


@endpoint("admin", "webhook", "delete", IdParams)
def delete(call: Call, p: IdParams) -> bool:
    """Delete a webhook and its delivery log."""
    return webhook.delete(call.db, p.id)


@endpoint("admin", "webhook", "test", IdParams)
def test(call: Call, p: IdParams) -> int:
    """Queue a webhook.test ping to the webhook; returns the delivery's id."""
    return webhook.send_test(call.db, p.id)


@endpoint("admin", "webhook", "deliveries", DeliveriesParams)
def deliveries(call: Call, p: DeliveriesParams) -> Page[WebhookDeliveryPublic]:
    """A webhook's delivery log, newest first: status, attempts, status codes and times."""
    return webhook.deliveries(call.db, p.id, page=p.page_spec())


@endpoint("admin", "webhook", "retry", RetryParams)
def retry(call: Call, p: RetryParams) -> bool:
    """Send a delivery again now (a failed one, or one waiting for its next retry)."""
    return webhook.retry(call.db, p.delivery_id)
