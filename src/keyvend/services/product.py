"""Products (FOSSBilling's `product` module)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from keyvend.db.models import Order, Product
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, NotFound
from keyvend.domain.fields import choice, text
from keyvend.domain.keygen import custom_params
from keyvend.domain.order_states import OrderStatus
from keyvend.domain.pricing import FREE, parse_pricing
from keyvend.services.pagination import Page, paginate
from keyvend.services.product_types import get_type

STATUSES = ("enabled", "disabled")
SETUPS = ("after_order", "after_payment", "manual")
_LIVE_ORDERS = (OrderStatus.PENDING_SETUP, OrderStatus.ACTIVE, OrderStatus.SUSPENDED)


def prepare(db: Database, *, title: str, type: str) -> int:
    """Create a product of a type with that type's default config; it starts disabled and free."""
    title = text(title, name="title", max_length=255, required=True)
    product_type = get_type(type)
    with db.unit_of_work() as uow:
        product_type.require_available(uow)
        product = Product(
            title=title,
            description="",
            type=product_type.name,
            status="disabled",
            setup="after_payment",
            pricing=dict(FREE),
            config=product_type.default_config(),
            created_at=uow.now(),
            updated_at=uow.now(),
        )
        uow.session.add(product)
        uow.commit()
        return product.id


def update(db: Database, product_id: int, **changes: Any) -> bool:
    """Change title, description, status, setup or pricing; all validated before saving."""
    with db.unit_of_work() as uow:
        _apply(uow, _product(uow, product_id), changes)
        uow.commit()
    return True


def save(db: Database, product_id: int, *, config: dict[str, Any], **changes: Any) -> bool:
    """`update` and `update_config` in one transaction: everything is saved or nothing."""
    with db.unit_of_work() as uow:
        product = _product(uow, product_id)
        product_type = get_type(product.type)
        product_type.require_available(uow)
        product.config = product_type.parse_config(config)
        _apply(uow, product, changes)
        uow.commit()
    return True


def _apply(uow: UnitOfWork, product: Product, changes: dict[str, Any]) -> None:
    if changes.get("title") is not None:
        product.title = text(changes["title"], name="title", max_length=255, required=True)
    if changes.get("description") is not None:
        product.description = text(changes["description"], name="description", max_length=10_000)
    if changes.get("status") is not None:
        product.status = choice(changes["status"], name="status", options=STATUSES)
    if changes.get("setup") is not None:
        product.setup = choice(changes["setup"], name="setup", options=SETUPS)
    if changes.get("pricing") is not None:
        product.pricing = parse_pricing(changes["pricing"])
    product.updated_at = uow.now()


def update_config(db: Database, product_id: int, config: dict[str, Any]) -> bool:
    """Replace the product's config with a validated one (new orders snapshot it)."""
    with db.unit_of_work() as uow:
        product = _product(uow, product_id)
        product_type = get_type(product.type)
        product_type.require_available(uow)
        product.config = product_type.parse_config(config)
        product.updated_at = uow.now()
        uow.commit()
    return True


def get(db: Database, product_id: int, *, public: bool = False) -> dict[str, Any]:
    """One product; `public` hides disabled products and internal fields."""
    with db.unit_of_work(read_only=True) as uow:
        product = _product(uow, product_id)
        if public and product.status != "enabled":
            raise NotFound("Product not found")
        return to_public(product) if public else to_api(product)


def get_list(
    db: Database,
    *,
    page: Page,
    public: bool = False,
    status: str | None = None,
    type: str | None = None,
    search: str | None = None,
) -> dict[str, Any]:
    """Products by id; the public list holds enabled products only."""
    query = select(Product).order_by(Product.id)
    if public:
        query = query.where(Product.status == "enabled")
    elif status:
        query = query.where(Product.status == choice(status, name="status", options=STATUSES))
    if type:
        query = query.where(Product.type == get_type(type).name)
    if search:
        query = query.where(func.lower(Product.title).like(f"%{search.strip().lower()}%"))
    with db.unit_of_work(read_only=True) as uow:
        return paginate(uow, query, page, to_public if public else to_api)


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
        uow.commit()
    return True


def to_api(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "title": product.title,
        "description": product.description,
        "type": product.type,
        "status": product.status,
        "setup": product.setup,
        "pricing": product.pricing,
        "config": product.config,
        "created_at": product.created_at.isoformat(),
        "updated_at": product.updated_at.isoformat(),
    }


def to_public(product: Product) -> dict[str, Any]:
    """What anyone may see: no key format, only the advertised custom parameters."""
    return {
        "id": product.id,
        "title": product.title,
        "description": product.description,
        "type": product.type,
        "pricing": product.pricing,
        "params": custom_params(product.config),
    }


def _product(uow: UnitOfWork, product_id: int) -> Product:
    product = uow.session.get(Product, product_id)
    if product is None:
        raise NotFound("Product not found")
    return product
