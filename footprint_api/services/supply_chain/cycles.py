"""Cycles refused at submission: a product whose footprint would rest, through the labels (and PACT footprints of
this service) its suppliers' inventories name, on its own footprint (P names Q's label, and Q's supply links reach
back to P)."""

import uuid

from sqlalchemy import or_
from sqlmodel import Session, col, select

from footprint_api.persistence.models import Product, SupplyLink
from footprint_api.services.supply_chain.links import LABEL_REASONS

HIDDEN = "…"  # a product named by another organisation's inventory: what that inventory names is its own
MAX_SHOWN = 8  # products named in a refusal before the end of the chain (a chain of 50 is no sentence)
# a link counts for cycles while its source is in force, and while it is only suspended: a reinstatement clears the
# mark, and a cycle let through during the suspension would be live again
SUSPENDED = LABEL_REASONS["suspended"]


def cycle(
    session: Session, product_id: uuid.UUID, supplier_product_id: uuid.UUID | None, supplier_product: str
) -> list[str] | None:
    """The chain by which the supplier's product rests on `product_id` (through the products the inventories on the
    way name, any version, links in force or suspended), None if it does not. Each product is visited once, one
    query per step of the chain: the work is bounded by the products that can be reached."""
    if supplier_product_id is None:
        return None
    own = session.get(Product, product_id)
    if supplier_product_id == product_id:
        start = own.name if own else str(product_id)
        return [start, start]
    came_from: dict[uuid.UUID, uuid.UUID | None] = {supplier_product_id: None}
    frontier = [supplier_product_id]
    while frontier:
        rows = session.exec(
            select(SupplyLink.product_id, SupplyLink.supplier_product_id)
            .where(
                col(SupplyLink.product_id).in_(frontier),
                col(SupplyLink.supplier_product_id).is_not(None),
                or_(col(SupplyLink.affected_at).is_(None), col(SupplyLink.affected_reason) == SUSPENDED),
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
    """P → Q → … → P: the product, the supplier's product it named (as its label shows it), then the products the
    chain runs through for as long as each is the caller's own and named by the caller's own inventory; from the
    first link in another organisation's inventory on, `…` (which product another company's inventory names is
    private to it, even when it is one of the caller's: that would tell who buys what from whom)."""
    names = [own.name, supplier_product]
    visible = _is_own(session, way[0], own)
    for product_id in way[1:]:
        visible = visible and _is_own(session, product_id, own)
        if not visible:
            break
        names.append(session.get(Product, product_id).name)
    if len(way) > 1 and not visible:
        names.append(HIDDEN)
    if len(names) > MAX_SHOWN:
        names = [*names[: MAX_SHOWN - 1], HIDDEN]
    return [*names, own.name]


def _is_own(session: Session, product_id: uuid.UUID, own: Product) -> bool:
    product = session.get(Product, product_id)
    return product is not None and product.organisation_id == own.organisation_id
