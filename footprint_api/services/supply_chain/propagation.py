"""What follows a source afterwards: a label suspended, revoked, superseded or expired, a PACT footprint deprecated,
marks every link resting on it affected, in the transaction that withdrew it, one audit entry per link (which tells
the buyer's people and the certification bodies that labelled a footprint of that inventory: services.notices). The
footprints keep their values; they are marked. A suspended label reinstated clears the marks its suspension made."""

from sqlalchemy import or_
from sqlmodel import Session, col, select

from footprint_api.persistence.models import Label, SupplierFootprint, SupplyLink, utcnow
from footprint_api.services import audit
from footprint_api.services.supply_chain.links import LABEL_REASONS, PACT_DEPRECATED, expired, label_params
from label_service.workflow import LabelState


def label_withdrawn(session: Session, label: Label, reason: str) -> int:
    """Marks every link resting on the label affected (`reason`: label.suspended, label.revoked, label.superseded or
    label.expired), one audit entry each, in the caller's transaction (no commit): the label's state change and its
    consequences are committed together. A link already affected by the same label takes the newer reason (a
    suspended label revoked afterwards can no longer be reinstated). Returns the links marked."""
    links = session.exec(
        select(SupplyLink).where(
            SupplyLink.label_id == label.id,
            (col(SupplyLink.affected_reason).is_(None)) | (col(SupplyLink.affected_reason) != reason),
        )
    ).all()
    params = label_params(label)
    for link in links:
        _affect(session, link, reason, params)
    return len(links)


def label_reinstated(session: Session, label: Label) -> int:
    """A suspended label reinstated: the links its suspension marked are no longer affected (audited each). A label
    reinstated past its validity is in force no longer all the same: its links are marked expired instead (the
    housekeeping would move the label to expired on its next run)."""
    if expired(label):
        return label_withdrawn(session, label, LABEL_REASONS[LabelState.EXPIRED.value])
    links = session.exec(
        select(SupplyLink).where(
            SupplyLink.label_id == label.id, SupplyLink.affected_reason == LABEL_REASONS[LabelState.SUSPENDED.value]
        )
    ).all()
    for link in links:
        before = {"affected_reason": link.affected_reason, "affected_params": link.affected_params}
        link.affected_at = link.affected_reason = link.affected_params = None
        session.add(link)
        audit.record(
            session,
            audit.SYSTEM,
            "supply.cleared",
            "supply_link",
            link.id,
            before=before,
            after={**_link_facts(link), "reason": "label.reinstated", "params": {"number": label.number}},
            organisation_id=link.organisation_id,
        )
    return len(links)


def supplier_footprint_deprecated(session: Session, old: SupplierFootprint, successor: SupplierFootprint | None) -> int:
    """Marks every link resting on a PACT footprint now Deprecated affected, in the caller's transaction (no
    commit); the successor, if known, is named. Called again when the successor becomes known later (the footprint
    was found Deprecated first), it names the successor on the links it marked then. Returns the links marked."""
    links = session.exec(
        select(SupplyLink).where(
            SupplyLink.supplier_footprint_id == old.id,
            or_(col(SupplyLink.affected_reason).is_(None), SupplyLink.affected_reason == PACT_DEPRECATED),
        )
    ).all()
    params = {"pf_id": old.pf_id, "version": old.pf_version, "product": old.product_name, "supplier": old.company_name}
    if successor is not None:
        params.update(successor=successor.pf_id, successor_version=successor.pf_version)
    links = [link for link in links if link.affected_params != params]  # marked already, and nothing new to say
    for link in links:
        _affect(session, link, PACT_DEPRECATED, params)
    return len(links)


def _affect(session: Session, link: SupplyLink, reason: str, params: dict) -> None:
    before = {"affected_reason": link.affected_reason}
    link.affected_at = link.affected_at or utcnow()
    link.affected_reason, link.affected_params = reason, dict(params)
    session.add(link)
    audit.record(
        session,
        audit.SYSTEM,
        "supply.affected",
        "supply_link",
        link.id,
        before=before,
        after={**_link_facts(link), "reason": reason, "params": params},
        organisation_id=link.organisation_id,
    )


def _link_facts(link: SupplyLink) -> dict:
    """What an audit entry of a link says of it (and what its notices are made from)."""
    return {
        "inventory_id": str(link.inventory_id),
        "product_id": str(link.product_id),
        "item": link.item,
        "item_index": link.item_index,
        "kind": link.kind,
        "reference": link.reference,
    }
