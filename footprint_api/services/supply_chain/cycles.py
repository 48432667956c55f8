"""Cycles refused at submission: a product whose footprint would rest, through the labels its suppliers'
inventories name, on its own footprint (P names Q's label, and Q's supply links reach back to P)."""

import uuid

from sqlmodel import Session, col, select

from footprint_api.persistence.models import Product, SupplyLink

HIDDEN = "…"  # a product of another organisation on the way back: which labels its inventory names is its own


def cycle(
    session: Session, product_id: uuid.UUID, supplier_product_id: uuid.UUID | None, supplier_product: str
) -> list[str] | None:
    """The chain by which the supplier's product rests on `product_id` (through the labels the inventories of the
    products on the way name, any version, links not affected), None if it does not: the product, the supplier's
    product it named, `…` for the products of other organisations further on (what another company's inventory
    names is private to it), and the product again."""
    if supplier_product_id is None:
        return None
    own = session.get(Product, product_id)
    start = own.name if own else str(product_id)
    if supplier_product_id == product_id:
        return [start, start]
    came_from: dict[uuid.UUID, uuid.UUID | None] = {supplier_product_id: None}
    frontier = [supplier_product_id]
    while frontier:
        rows = session.exec(
            select(SupplyLink.product_id, SupplyLink.supplier_product_id)
            .where(
                col(SupplyLink.product_id).in_(frontier),
                col(SupplyLink.supplier_product_id).is_not(None),
                col(SupplyLink.affected_at).is_(None),
            )
            .distinct()
        ).all()
        frontier = []
        for buyer, supplier in rows:
            if supplier in came_from:
                continue
            came_from[supplier] = buyer
            if supplier == product_id:
                return _shown(session, _way(came_from, product_id), own, supplier_product)
            frontier.append(supplier)
    return None


def _way(came_from: dict, product_id: uuid.UUID) -> list[uuid.UUID]:
    """The products between the supplier's product and the product itself, in the order the links run."""
    way, at = [], came_from[product_id]
    while at is not None:
        way.append(at)
        at = came_from[at]
    return way[::-1]


def _shown(session: Session, way: list[uuid.UUID], own: Product, supplier_product: str) -> list[str]:
    """P → Q → … → P: the caller's own products by name, the others after the first hop as `…` (once in a row)."""
    names = [own.name, supplier_product]
    for product_id in way[1:]:
        product = session.get(Product, product_id)
        name = product.name if product is not None and product.organisation_id == own.organisation_id else HIDDEN
        if not (name == HIDDEN and names[-1] == HIDDEN):
            names.append(name)
    return [*names, own.name]
