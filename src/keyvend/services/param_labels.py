"""What customers read for the custom parameters of products on sale: each parameter's
display label (`label_<name>` in the product config), or its humanized name.

The catalogue's offers (`product.to_offer`) carry the parameters only, as applications see
them; the catalogue page asks here for the words to show beside them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from keyvend.db.models import Product
from keyvend.db.unit_of_work import Database
from keyvend.domain.keygen import display_labels
from keyvend.schemas.product import ProductStatus


def of_catalogue(db: Database, product_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Display labels by product id and parameter name, for the enabled products among
    `product_ids` (one query)."""
    ids = set(product_ids)
    if not ids:
        return {}
    query = select(Product.id, Product.config).where(
        Product.id.in_(ids), Product.status == ProductStatus.ENABLED
    )
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(query).all()
    return {product_id: display_labels(config or {}) for product_id, config in rows}
