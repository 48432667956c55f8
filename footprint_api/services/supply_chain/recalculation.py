"""Recalculation on the supplier's newer data: a new inventory version with each withdrawn source replaced by its
successor, submitted as any version is (resolution and checks run again) and queued for calculation."""

import uuid

from sqlmodel import Session, col, select

from footprint_api.core.errors import Conflict
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Footprint, InventoryRecord, Job, Product
from footprint_api.services import audit
from footprint_api.services.catalogue import owned
from footprint_api.services.principals import actor
from footprint_api.services.supply_chain.links import links_of
from footprint_api.services.supply_chain.successors import successor_ref
from pcr_rules.inventory import Inventory


def recalculate_with_newer(session: Session, principal: Principal, footprint_id: uuid.UUID) -> Job:
    """A new version of the footprint's inventory, the same but for each withdrawn source replaced by its successor,
    submitted as any version is (resolution, checks and certificates again) and queued for calculation. Conflict
    (409) naming the item when a withdrawn source has no successor: the buyer then chooses another value in the
    form; and when no source of the footprint was withdrawn."""
    from footprint_api.services import footprints, inventories  # both import this module's resolution

    footprint = owned(session, Footprint, footprint_id, principal)
    record = session.get(InventoryRecord, footprint.inventory_id)
    inventory = Inventory.model_validate(record.data)
    _refuse_replaced(session, record, inventory)
    affected = [link for link in links_of(session, record.id) if link.affected_at is not None]
    if not affected:
        raise Conflict(
            "no supplier source of this footprint was withdrawn: nothing to recalculate",
            code="supply.nothing_affected",
        )
    items, swaps, missing = list(inventory.items), [], []
    for link in affected:
        newer = successor_ref(session, link)
        if newer is None:
            missing.append(
                {
                    "field": f"items[{link.item_index}].supplier.reference",
                    "reason": f"{link.reference} has no newer value: choose another supplier value for {link.item}",
                    "code": "supply.no_successor",
                    "params": {"item": link.item, "item_index": link.item_index, "reference": link.reference},
                }
            )
            continue
        entry = items[link.item_index]
        items[link.item_index] = entry.model_copy(update={"supplier": newer})
        swaps.append({"item_index": link.item_index, "item": link.item, "from": link.reference, "to": newer.reference})
    if missing:
        raise Conflict(
            "a withdrawn supplier source has no newer value: choose another in the inventory form",
            missing,
            code="supply.no_successor",
            params={"item": missing[0]["params"]["item"]},
        )
    newer_inventory = inventory.model_copy(update={"items": items})
    submitted = inventories.submit_inventory(
        session, principal, record.product_id, newer_inventory, record.facility_id, source="json"
    )
    audit.record(
        session,
        actor(principal),
        "supply.recalculated",
        "inventory",
        submitted.id,
        before={"inventory_id": str(record.id), "version": record.version, "footprint_id": str(footprint.id)},
        after={"inventory_id": str(submitted.id), "version": submitted.version, "swaps": swaps},
    )
    monte_carlo = int(((footprint.result or {}).get("uncertainty") or {}).get("iterations") or 0)
    return footprints.request_calculation(session, principal, submitted.id, monte_carlo)


def _refuse_replaced(session: Session, record: InventoryRecord, inventory: Inventory) -> None:
    """Conflict (409) naming the later version when the product's inventory for the same reference period was
    submitted again after this one (a recalculation already made, or the buyer's own correction): a copy of this
    version would replace the later one and lose what it changed. The product's row is locked first (as a
    submission locks it), so that of two recalculations asked at once the second finds the first's version."""
    session.exec(select(Product.id).where(Product.id == record.product_id).with_for_update()).one()
    period = inventory.reference_period
    later = session.exec(
        select(InventoryRecord)
        .where(InventoryRecord.product_id == record.product_id, InventoryRecord.version > record.version)
        .order_by(col(InventoryRecord.version).desc())
    ).all()
    for newer in later:
        newer_period = Inventory.model_validate(newer.data).reference_period
        if (newer_period.start, newer_period.end) == (period.start, period.end):
            reason = (
                f"version {record.version} of this inventory was replaced by version {newer.version} for the same "
                "reference period: recalculate the footprint of that one"
            )
            params = {"version": record.version, "newer_version": newer.version}
            raise Conflict(
                reason,
                [{"field": "footprint_id", "reason": reason, "code": "supply.version_replaced", "params": params}],
                code="supply.version_replaced",
                params=params,
            )
