"""order: create and drive orders (admin); read your own orders and keys (client)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from keyvend.api.endpoints.fields import MAX_KEY_PARAM, Config, Id, IdParams, ListParams, Short
from keyvend.api.registry import Call, Params, endpoint
from keyvend.domain.order_states import Action
from keyvend.schemas.common import Page
from keyvend.schemas.order import ApiKeyServicePublic, OrderCreate, OrderPublic, ServicePublic
from keyvend.services import order

# What `order/service` answers: an API-key service (the only product type so far), or the
# base shape another product type extends; the OpenAPI document shows both.
AnyService = ApiKeyServicePublic | ServicePublic
Period = Annotated[str, Field(max_length=8, description="1-90D, 1-52W, 1-24M or 1-5Y.")]
Search = Annotated[
    str,
    Field(
        max_length=MAX_KEY_PARAM,
        description="A client's email or part of it, or a customer's API key (found by its "
        "digest: letter case ignored, dashes significant).",
    ),
]


class CreateParams(Params):
    client_id: Id
    product_id: Id
    period: Period | None = None
    quantity: Annotated[int, Field(ge=1, le=100)] = 1
    config: Config | None = None
    activate: bool = False


class ReasonParams(Params):
    id: Id
    reason: Short | None = None


class OrderListParams(ListParams):
    status: Short | None = None
    client_id: Id | None = None
    search: Search | None = None


class ClientOrderListParams(ListParams):
    status: Short | None = None


@endpoint("admin", "order", "create", CreateParams)
def create(call: Call, p: CreateParams) -> int:
    """Create an order for a client (config overrides the product's); returns its id."""
    return order.create(call.db, OrderCreate.model_validate(p.model_dump()))


@endpoint("admin", "order", "activate", IdParams)
def activate(call: Call, p: IdParams) -> bool:
    """Activate a pending_setup or failed_setup order; its key is generated now."""
    return order.act(call.db, p.id, Action.ACTIVATE)


@endpoint("admin", "order", "renew", IdParams)
def renew(call: Call, p: IdParams) -> bool:
    """Extend expires_at by one period and make the order active."""
    return order.act(call.db, p.id, Action.RENEW)


@endpoint("admin", "order", "suspend", ReasonParams)
def suspend(call: Call, p: ReasonParams) -> bool:
    """Suspend an active order; its key stops being valid."""
    return order.act(call.db, p.id, Action.SUSPEND, reason=p.reason)


@endpoint("admin", "order", "unsuspend", IdParams)
def unsuspend(call: Call, p: IdParams) -> bool:
    """Reactivate a suspended order."""
    return order.act(call.db, p.id, Action.UNSUSPEND)


@endpoint("admin", "order", "cancel", ReasonParams)
def cancel(call: Call, p: ReasonParams) -> bool:
    """Cancel an order; its key stops being valid."""
    return order.act(call.db, p.id, Action.CANCEL, reason=p.reason)


@endpoint("admin", "order", "uncancel", IdParams)
def uncancel(call: Call, p: IdParams) -> bool:
    """Bring a canceled order back."""
    return order.act(call.db, p.id, Action.UNCANCEL)


@endpoint("admin", "order", "delete", IdParams)
def delete(call: Call, p: IdParams) -> bool:
    """Delete an order and its key."""
    return order.delete(call.db, p.id)


@endpoint("admin", "order", "get", IdParams)
def get(call: Call, p: IdParams) -> OrderPublic:
    """One order."""
    return order.get(call.db, p.id)


@endpoint("admin", "order", "get_list", OrderListParams)
def get_list(call: Call, p: OrderListParams) -> Page[OrderPublic]:
    """Orders, paginated, filtered by status, client, or a search by email or pasted key."""
    return order.get_list(
        call.db, page=p.page_spec(), search=p.search, client_id=p.client_id, status=p.status
    )


@endpoint("admin", "order", "service", IdParams)
def service(call: Call, p: IdParams) -> AnyService:
    """The service of an order: {id, api_key, config, created_at, updated_at}."""
    return order.service(call.db, p.id)


@endpoint("client", "order", "get_list", ClientOrderListParams)
def client_list(call: Call, p: ClientOrderListParams) -> Page[OrderPublic]:
    """Your orders, paginated."""
    return order.get_list(call.db, page=p.page_spec(), client_id=call.actor_id, status=p.status)


@endpoint("client", "order", "get", IdParams)
def client_get(call: Call, p: IdParams) -> OrderPublic:
    """One of your orders."""
    return order.get(call.db, p.id, client_id=call.actor_id)


@endpoint("client", "order", "service", IdParams)
def client_service(call: Call, p: IdParams) -> AnyService:
    """The key behind one of your orders: {id, api_key, config, created_at, updated_at}."""
    return order.service(call.db, p.id, client_id=call.actor_id)
