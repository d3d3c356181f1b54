"""Products (FOSSBilling's `product` module)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from keyvend.db.models import Order, Product
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, NotFound
from keyvend.domain.fields import choice, text
from keyvend.domain.keygen import custom_params, display_labels
from keyvend.domain.money import decimals
from keyvend.domain.order_states import OrderStatus
from keyvend.domain.pricing import FREE, parse_pricing
from keyvend.schemas.common import Page
from keyvend.schemas.product import (
    ProductCreate,
    ProductOffer,
    ProductPublic,
    ProductSetup,
    ProductStatus,
    ProductUpdate,
)
from keyvend.services.pagination import PageRequest, paginate
from keyvend.services.product_types import get_type

STATUSES = tuple(s.value for s in ProductStatus)
SETUPS = tuple(s.value for s in ProductSetup)
_LIVE_ORDERS = (OrderStatus.PENDING_SETUP, OrderStatus.ACTIVE, OrderStatus.SUSPENDED)


def prepare(db: Database, data: ProductCreate) -> int:
    """Create a product of a type with that type's default config; it starts disabled and free."""
    title = text(data.title, name="title", max_length=255, required=True)
    product_type = get_type(data.type)
    with db.unit_of_work() as uow:
        product_type.require_available(uow)
        product = Product(
            title=title,
            description="",
            type=product_type.name,
            status=ProductStatus.DISABLED,
            setup=ProductSetup.AFTER_PAYMENT,
            pricing=dict(FREE),
            config=product_type.default_config(),
            created_at=uow.now(),
            updated_at=uow.now(),
        )
        uow.session.add(product)
        uow.flush()
        uow.record("product.created", data={"product_id": product.id, "title": title})
        uow.commit()
        return product.id


def update(db: Database, product_id: int, changes: ProductUpdate) -> bool:
    """Change title, description, status, setup or pricing; all validated before saving."""
    with db.unit_of_work() as uow:
        _apply(uow, _product(uow, product_id), changes)
        _updated(uow, product_id, changes.model_dump(exclude_unset=True, exclude_none=True))
        uow.commit()
    return True


def save(db: Database, product_id: int, *, config: dict[str, Any], changes: ProductUpdate) -> bool:
    """`update` and `update_config` in one transaction: everything is saved or nothing."""
    with db.unit_of_work() as uow:
        product = _product(uow, product_id)
        product_type = get_type(product.type)
        product_type.require_available(uow)
        product.config = product_type.parse_config(config)
        _apply(uow, product, changes)
        sent = changes.model_dump(exclude_unset=True, exclude_none=True)
        _updated(uow, product_id, {**sent, "config": True})
        uow.commit()
    return True


def _apply(uow: UnitOfWork, product: Product, changes: ProductUpdate) -> None:
    """Validate and set the fields that were sent (unset or null fields stay as they are)."""
    sent = changes.model_dump(exclude_unset=True, exclude_none=True)
    if "title" in sent:
        product.title = text(sent["title"], name="title", max_length=255, required=True)
    if "description" in sent:
        product.description = text(sent["description"], name="description", max_length=10_000)
    if "status" in sent:
        product.status = ProductStatus(choice(sent["status"], name="status", options=STATUSES))
    if "setup" in sent:
        product.setup = ProductSetup(choice(sent["setup"], name="setup", options=SETUPS))
    if "pricing" in sent:
        product.pricing = parse_pricing(sent["pricing"], decimals=decimals(uow.shop.currency))
    product.updated_at = uow.now()


def update_config(db: Database, product_id: int, config: dict[str, Any]) -> bool:
    """Replace the product's config with a validated one (new orders snapshot it)."""
    with db.unit_of_work() as uow:
        product = _product(uow, product_id)
        product_type = get_type(product.type)
        product_type.require_available(uow)
        product.config = product_type.parse_config(config)
        product.updated_at = uow.now()
        _updated(uow, product_id, {"config": True})
        uow.commit()
    return True


def get(db: Database, product_id: int) -> ProductPublic:
    """One product, as the admin sees it."""
    with db.unit_of_work(read_only=True) as uow:
        return ProductPublic.model_validate(_product(uow, product_id))


def offer(db: Database, product_id: int) -> ProductOffer:
    """One enabled product, as anyone may see it."""
    with db.unit_of_work(read_only=True) as uow:
        product = _product(uow, product_id)
        if product.status != ProductStatus.ENABLED:
            raise NotFound("Product not found")
        return to_offer(product)


def get_list(
    db: Database,
    *,
    page: PageRequest,
    status: str | None = None,
    type: str | None = None,
    search: str | None = None,
) -> Page[ProductPublic]:
    """Products by id, filtered by status, type and a title search."""
    query = _listing(type=type, search=search)
    if status:
        query = query.where(Product.status == choice(status, name="status", options=STATUSES))
    with db.unit_of_work(read_only=True) as uow:
        return paginate(uow, query, page, ProductPublic)


def catalogue(
    db: Database, *, page: PageRequest, type: str | None = None, search: str | None = None
) -> Page[ProductOffer]:
    """The enabled products, as anyone may see them."""
    query = _listing(type=type, search=search).where(Product.status == ProductStatus.ENABLED)
    with db.unit_of_work(read_only=True) as uow:
        listed = paginate(uow, query, page, ProductPublic)
    return Page[ProductOffer](
        **{**listed.model_dump(exclude={"list"}), "list": [to_offer(p) for p in listed.list]}
    )


def _listing(*, type: str | None, search: str | None) -> Select[Any]:
    query = select(Product).order_by(Product.id)
    if type:
        query = query.where(Product.type == get_type(type).name)
    if search:
        query = query.where(func.lower(Product.title).like(f"%{search.strip().lower()}%"))
    return query


def delete(db: Database, product_id: int) -> bool:
    """Delete a product that has no live orders; past orders keep their snapshot."""
    with db.unit_of_work() as uow:
        product = _product(uow, product_id)
        live = uow.session.scalar(
            select(func.count(Order.id)).where(
                Order.product_id == product_id, Order.status.in_(_LIVE_ORDERS)
            )
        )
        if live:
            raise Conflict("Cannot delete a product that has pending, active or suspended orders")
        uow.session.delete(product)
        uow.record("product.deleted", data={"product_id": product_id})
        uow.commit()
    return True


def _updated(uow: UnitOfWork, product_id: int, sent: dict[str, Any]) -> None:
    uow.record("product.updated", data={"product_id": product_id, "fields": sorted(sent)})


def to_offer(product: Product | ProductPublic) -> ProductOffer:
    """What anyone may see: no key format, only the advertised custom parameters."""
    return ProductOffer(
        id=product.id,
        title=product.title,
        description=product.description,
        type=product.type,
        pricing=product.pricing,
        params=custom_params(product.config),
        labels=display_labels(product.config),
    )


def _product(uow: UnitOfWork, product_id: int) -> Product:
    product = uow.session.get(Product, product_id)
    if product is None:
        raise NotFound("Product not found")
    return product
