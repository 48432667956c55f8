"""The newer value that takes a withdrawn source's place: the label that superseded a label (or a newer one of the same
product and PCR in force), the PACT footprint that replaced a deprecated one."""

from sqlmodel import Session, col, select

from footprint_api.persistence.models import Label, SupplierFootprint, SupplyLink
from footprint_api.services import verification
from footprint_api.services.supply_chain.links import ACTIVE, LABEL, PACT, expired
from label_service.workflow import LabelState
from pcr_rules.inventory import SupplierRef


def successor_label(session: Session, label: Label) -> Label | None:
    """The label in force that takes a withdrawn one's place: the one that superseded it (followed to the one in
    force), or, for a label revoked, suspended or expired, a newer label of the same product and PCR in force."""
    seen = {label.id}
    current = label
    while current.superseded_by:
        newer = session.exec(select(Label).where(Label.number == current.superseded_by)).first()
        if newer is None or newer.id in seen:
            break
        seen.add(newer.id)
        current = newer
    if current is not label and current.state == LabelState.ACTIVE.value and not expired(current):
        return current
    if label.product_id is None:
        return None
    return session.exec(
        select(Label)
        .where(
            Label.product_id == label.product_id,
            Label.pcr_id == label.pcr_id,
            Label.state == LabelState.ACTIVE.value,
            Label.expires_on >= verification.today(),
            Label.id != label.id,
            Label.issued_on >= label.issued_on,
        )
        .order_by(col(Label.issued_on).desc(), col(Label.sequence).desc())
    ).first()


def successor_footprint(session: Session, old: SupplierFootprint) -> SupplierFootprint | None:
    """The Active PACT footprint that replaced a deprecated one: its successor (followed), or a newer Active
    version with the same id."""
    seen, current = {old.id}, old
    while current.successor_id and current.successor_id not in seen:
        seen.add(current.successor_id)
        current = session.get(SupplierFootprint, current.successor_id)
        if current is None:
            break
        if current.status == ACTIVE:
            return current
    return session.exec(
        select(SupplierFootprint)
        .where(
            SupplierFootprint.organisation_id == old.organisation_id,
            SupplierFootprint.pf_id == old.pf_id,
            SupplierFootprint.status == ACTIVE,
            SupplierFootprint.id != old.id,
        )
        .order_by(col(SupplierFootprint.pf_version).desc())
    ).first()


def successor_ref(session: Session, link: SupplyLink) -> SupplierRef | None:
    if link.label_id is not None:
        newer = successor_label(session, session.get(Label, link.label_id))
        return SupplierRef(kind=LABEL, reference=newer.number) if newer else None
    if link.supplier_footprint_id is not None:
        newer = successor_footprint(session, session.get(SupplierFootprint, link.supplier_footprint_id))
        return SupplierRef(kind=PACT, reference=newer.pf_id) if newer else None
    return None


def successor_reference(session: Session, link: SupplyLink) -> str | None:
    """The reference of the newer value an affected link may be recalculated on (None: there is none yet)."""
    ref = successor_ref(session, link)
    if ref is None:
        return None
    if ref.kind == PACT:
        newer = successor_footprint(session, session.get(SupplierFootprint, link.supplier_footprint_id))
        return f"{ref.reference} v{newer.pf_version}"
    return ref.reference
