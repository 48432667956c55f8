"""What the buyer and the certification body see: the sources of a footprint, the buyer's footprints resting on a
withdrawn value, the labels a body issued that rest on one, and who is told when a link is affected."""

import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

from sqlmodel import Session, col, select

from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    FactorEntry,
    FactorRelease,
    Footprint,
    InventoryRecord,
    Label,
    Product,
    SupplyLink,
)
from footprint_api.services.catalogue import Page, page_size
from footprint_api.services.supply_chain.links import LABEL, PACT, RELEASE, links_of, source_name
from footprint_api.services.supply_chain.successors import successor_reference
from label_service.workflow import LabelState
from pcr_rules import default_registry


def sources_of_footprint(session: Session, principal: Principal, footprint: Footprint) -> list[dict]:
    """Each supplier source of a footprint (one the caller may see: services.footprints.visible_footprint) as its
    readers see it: where it comes from, its value as declared and as converted, its contribution, its validity and
    assurance, and whether it was withdrawn since."""
    record = session.get(InventoryRecord, footprint.inventory_id)
    items = (record.data or {}).get("items", []) if record else []
    pcr = default_registry().get(footprint.pcr_id, footprint.pcr_version)
    contributions = (footprint.result or {}).get("contributions", [])
    found = []
    for link in links_of(session, footprint.inventory_id):
        entry = items[link.item_index] if link.item_index < len(items) else {}
        spec = pcr.item(link.item)
        found.append(
            {
                "item": link.item,
                "item_index": link.item_index,
                "item_label": spec.label if spec else link.item,
                "item_label_zh": (spec.label_zh or spec.label) if spec else link.item,
                "kind": link.kind,
                "reference": link.reference,
                "supplier_name": link.supplier_name,
                "supplier_product": link.supplier_product,
                "value_per_declared_unit": link.value_per_declared_unit,
                "declared_unit": link.declared_unit,
                "value_per_item_unit": link.value_per_item_unit,
                "item_unit": link.item_unit,
                "amount": entry.get("amount"),
                "amount_unit": entry.get("unit"),
                "kg_co2e": _contribution(contributions, link),
                "pcr_ref": link.pcr_ref,
                "valid_from": link.valid_from,
                "valid_until": link.valid_until,
                "verified": link.verified,
                "assurance": link.assurance,
                "primary_data_share": link.primary_data_share,
                "dqr": link.dqr,
                "affected_at": link.affected_at,
                "affected_reason": link.affected_reason,
                "affected_params": link.affected_params or {},
                "newer": successor_reference(session, link) if link.affected_at else None,
                "href": _href(session, link),
            }
        )
    return found


def _contribution(contributions: list[dict], link: SupplyLink) -> float | None:
    """kg CO2e per declared unit of the buyer's product from this source: the result's contributions that name it
    (or, from a result that does not name sources, the item's supplier part)."""
    source = source_name(link)
    named = [c for c in contributions if c.get("source") == source]
    if not named:
        named = [c for c in contributions if c.get("item") == link.item and c.get("part") == "supplier"]
    return sum(c.get("kg_co2e", 0.0) for c in named) if named else None


def _href(session: Session, link: SupplyLink) -> str | None:
    """Where a reader looks the source up: the label's public page, the buyer's page of the PACT footprint, the
    release entry's public page."""
    if link.kind == LABEL:
        return f"/V/{link.reference}"
    if link.kind == PACT and link.supplier_footprint_id:
        return f"/app/suppliers/footprints/{link.supplier_footprint_id}"
    if link.kind == RELEASE and link.release_entry_id:
        entry = session.get(FactorEntry, link.release_entry_id)
        release = session.get(FactorRelease, entry.release_id) if entry else None
        if release is not None:
            return f"/factors/{quote(release.number, safe='')}/entries/{quote(entry.key, safe='')}"
    return None


@dataclass
class _Affected:
    link: SupplyLink
    record: InventoryRecord
    product: Product
    footprints: list[Footprint] = field(default_factory=list)


def _affected(session: Session, condition) -> list[_Affected]:
    rows = session.exec(
        select(SupplyLink, InventoryRecord, Product)
        .join(InventoryRecord, col(InventoryRecord.id) == col(SupplyLink.inventory_id))
        .join(Product, col(Product.id) == col(SupplyLink.product_id))
        .where(col(SupplyLink.affected_at).is_not(None), condition)
        .order_by(col(SupplyLink.affected_at).desc(), col(SupplyLink.item_index))
    ).all()
    found = [_Affected(link, record, product) for link, record, product in rows]
    inventory_ids = {a.record.id for a in found}
    footprints: dict[uuid.UUID, list[Footprint]] = {}
    if inventory_ids:
        for footprint in session.exec(
            select(Footprint)
            .where(col(Footprint.inventory_id).in_(inventory_ids))
            .order_by(col(Footprint.created_at).desc())
        ):
            footprints.setdefault(footprint.inventory_id, []).append(footprint)
    for affected in found:
        affected.footprints = footprints.get(affected.record.id, [])
    return found


def _superseded_versions(session: Session, found: list[_Affected]) -> set[uuid.UUID]:
    """The inventory versions a later version of the same product for the same reference period replaced: the
    buyer moved on from them (recalculated on newer data, or corrected), so they no longer ask for action."""
    products = {a.product.id for a in found}
    if not products:
        return set()
    later: dict[tuple, int] = {}
    for record in session.exec(select(InventoryRecord).where(col(InventoryRecord.product_id).in_(products))):
        key = (record.product_id, _period(record))
        later[key] = max(later.get(key, 0), record.version)
    return {a.record.id for a in found if later[(a.product.id, _period(a.record))] > a.record.version}


def _period(record: InventoryRecord) -> tuple:
    period = (record.data or {}).get("reference_period") or {}
    return period.get("start"), period.get("end")


def affected_footprints(session: Session, principal: Principal) -> list[dict]:
    """The caller's footprints resting on a supplier value withdrawn since (newest first), each with the item, why,
    and the newer value to recalculate on where there is one; an inventory version replaced by a later one of the
    same product and period is left out (the buyer acted on it)."""
    found = _affected(session, SupplyLink.organisation_id == principal.organisation_id)
    replaced = _superseded_versions(session, found)
    rows = []
    for affected in found:
        if affected.record.id in replaced:
            continue
        newer = successor_reference(session, affected.link)
        base = {
            "product_id": affected.product.id,
            "product_name": affected.product.name,
            "inventory_id": affected.record.id,
            "inventory_version": affected.record.version,
            "item": affected.link.item,
            "item_index": affected.link.item_index,
            "kind": affected.link.kind,
            "reference": affected.link.reference,
            "reason": affected.link.affected_reason,
            "params": affected.link.affected_params or {},
            "affected_at": affected.link.affected_at,
            "newer": newer,
        }
        for footprint in affected.footprints[:1] or [None]:  # the newest calculation of the version
            rows.append({"footprint_id": footprint.id if footprint else None, **base})
    return rows


def labels_at_risk(session: Session, principal: Principal) -> list[dict]:
    """The labels in force the caller's certification body issued whose footprint rests on a supplier value
    withdrawn since: label, product, manufacturer, the item and why."""
    labels = session.exec(
        select(Label, SupplyLink)
        .join(Footprint, col(Footprint.id) == col(Label.footprint_id))
        .join(SupplyLink, col(SupplyLink.inventory_id) == col(Footprint.inventory_id))
        .where(
            Label.issuer_id == principal.organisation_id,
            col(Label.state).in_((LabelState.ACTIVE.value, LabelState.SUSPENDED.value)),
            col(SupplyLink.affected_at).is_not(None),
        )
        .order_by(col(SupplyLink.affected_at).desc(), col(Label.number))
    ).all()
    return [
        {
            "number": label.number,
            "state": label.state,
            "product": label.product_name,
            "manufacturer": label.manufacturer_name,
            "footprint_id": label.footprint_id,
            "item": link.item,
            "item_index": link.item_index,
            "kind": link.kind,
            "reference": link.reference,
            "reason": link.affected_reason,
            "params": link.affected_params or {},
            "affected_at": link.affected_at,
        }
        for label, link in labels
    ]


LIST_SORTS = {  # the first is the default: the latest withdrawal first
    "-affected": lambda row: (-row["affected_at"].timestamp(), row.get("item_index", 0)),
    "affected": lambda row: (row["affected_at"].timestamp(), row.get("item_index", 0)),
    "product": lambda row: (str(row.get("product_name") or row.get("product") or "").lower(), row.get("item_index", 0)),
}


SEARCHED = ("product_name", "product", "manufacturer", "number", "item", "reference")


def page_of(rows: list[dict], q: str | None, sort: str | None, number: int | None, size: int | None) -> Page:
    """One page of a list of affected footprints or labels at risk: those whose product, manufacturer, label,
    item or source contains `q`, in the order asked (the latest withdrawal first by default)."""
    text = (q or "").strip().lower()[:100]
    if text:
        rows = [row for row in rows if any(text in str(row.get(key) or "").lower() for key in SEARCHED)]
    key = sort if sort in LIST_SORTS else next(iter(LIST_SORTS))
    rows = sorted(rows, key=LIST_SORTS[key])
    size = page_size(size)
    last = max(1, -(-len(rows) // size))
    number = min(max(number or 1, 1), last)
    return Page(rows[(number - 1) * size : number * size], len(rows), number, size, key)


def concerned(session: Session, link_id: uuid.UUID) -> tuple[SupplyLink | None, Product | None, list[Label]]:
    """A link, its buyer's product, and the labels in force on footprints of its inventory version: who is told
    when the link is affected (services.notices)."""
    link = session.get(SupplyLink, link_id)
    if link is None:
        return None, None, []
    labels = session.exec(
        select(Label)
        .join(Footprint, col(Footprint.id) == col(Label.footprint_id))
        .where(
            Footprint.inventory_id == link.inventory_id,
            col(Label.state).in_((LabelState.ACTIVE.value, LabelState.SUSPENDED.value)),
        )
    ).all()
    return link, session.get(Product, link.product_id), list(labels)


def newest_footprint(session: Session, inventory_id: uuid.UUID) -> Footprint | None:
    return session.exec(
        select(Footprint).where(Footprint.inventory_id == inventory_id).order_by(col(Footprint.created_at).desc())
    ).first()
