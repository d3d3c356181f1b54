"""product: define products (admin) and browse the catalogue (guest)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from keyvend.api.endpoints.fields import Config, Id, IdParams, ListParams, Short
from keyvend.api.registry import Call, Params, endpoint
from keyvend.schemas.common import Page
from keyvend.schemas.product import ProductCreate, ProductOffer, ProductPublic, ProductUpdate
from keyvend.services import product


class PrepareParams(Params):
    title: Short
    type: Annotated[str, Field(max_length=50)] = "apikey"


class UpdateParams(Params):
    id: Id
    title: Short | None = None
    description: Annotated[str, Field(max_length=10_000)] | None = None
    status: Short | None = None
    setup: Short | None = None
    pricing: Annotated[dict[str, Any], Field(max_length=10)] | None = None


class UpdateConfigParams(Params):
    id: Id
    config: Config


class AdminListParams(ListParams):
    status: Short | None = None
    type: Short | None = None
    search: Short | None = None


class PublicListParams(ListParams):
    type: Short | None = None
    search: Short | None = None


@endpoint("admin", "product", "prepare", PrepareParams)
def prepare(call: Call, p: PrepareParams) -> int:
    """Create a product of a type (apikey) with default config; returns its id."""
    return product.prepare(call.db, ProductCreate(title=p.title, type=p.type))


@endpoint("admin", "product", "update", UpdateParams)
def update(call: Call, p: UpdateParams) -> bool:
    """Change title, description, status, setup or pricing."""
    changes = ProductUpdate.model_validate(p.model_dump(exclude={"id"}, exclude_unset=True))
    return product.update(call.db, p.id, changes)


@endpoint("admin", "product", "update_config", UpdateConfigParams)
def update_config(call: Call, p: UpdateConfigParams) -> bool:
    """Replace the product config (key format and custom_* parameters)."""
    return product.update_config(call.db, p.id, p.config)


@endpoint("admin", "product", "get", IdParams)
def get(call: Call, p: IdParams) -> ProductPublic:
    """One product with its config."""
    return product.get(call.db, p.id)


@endpoint("admin", "product", "get_list", AdminListParams)
def get_list(call: Call, p: AdminListParams) -> Page[ProductPublic]:
    """Products, paginated, filtered by status, type or title."""
    return product.get_list(
        call.db, page=p.page_spec(), status=p.status, type=p.type, search=p.search
    )


@endpoint("admin", "product", "delete", IdParams)
def delete(call: Call, p: IdParams) -> bool:
    """Delete a product without live orders."""
    return product.delete(call.db, p.id)


@endpoint("guest", "product", "get_list", PublicListParams)
def public_list(call: Call, p: PublicListParams) -> Page[ProductOffer]:
    """The catalogue: enabled products."""
    return product.catalogue(call.db, page=p.page_spec(), type=p.type, search=p.search)


@endpoint("guest", "product", "get", IdParams)
def public_get(call: Call, p: IdParams) -> ProductOffer:
    """One enabled product."""
    return product.offer(call.db, p.id)
