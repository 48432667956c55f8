"""One application, as its two parties' pages show it: with its history and its label."""

import uuid

from sqlmodel import Session, col, select

from footprint_api.infra.security import Principal
from footprint_api.persistence.models import AuditEvent, Footprint, InventoryRecord, Label, Organisation, Product, User
from footprint_api.services.certification.comparison import label_in_force
from footprint_api.services.certification.corrections import correction_candidates
from footprint_api.services.certification.evidence import evidence
from footprint_api.services.certification.findings import findings
from footprint_api.services.certification.lists import application_number
from footprint_api.services.certification.parties import _party, visible
from footprint_api.services.certification.subjects import finding_subjects
from label_service.workflow import Party


def history(session: Session, principal: Principal, application_id: uuid.UUID) -> list[dict]:
    """The application's audit entries (every step, finding and document), oldest first, with who acted."""
    application = visible(session, principal, application_id)
    events = list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.object_type == "application", AuditEvent.object_id == str(application.id))
            .order_by(AuditEvent.seq)
        )
    )
    people = {
        str(u.id): u.name
        for u in session.exec(
            select(User).where(
                col(User.id).in_({uuid.UUID(e.actor_id) for e in events if e.actor_kind == "user" and e.actor_id})
            )
        )
    }
    return [
        {"at": e.at, "action": e.action, "actor": people.get(e.actor_id or "", e.actor_kind), "after": e.after or {}}
        for e in events
    ]


def application_view(session: Session, principal: Principal, application_id: uuid.UUID) -> dict:
    """An application as its two parties' pages show it: parties, product, current footprint, findings (each with
    what it is about), evidence, the uploaded workbook, history, its label, the label in force it would supersede,
    and for the manufacturer the footprints that may correct it."""
    application = visible(session, principal, application_id)
    party = _party(principal, application)
    footprint = session.get(Footprint, application.footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    verifier = session.get(User, application.verified_by) if application.verified_by else None
    events = history(session, principal, application.id)
    found = findings(session, principal, application.id)
    return {
        "application": application,
        "number": application_number(application.id),
        "party": party.value,
        "product": session.get(Product, application.product_id),
        "manufacturer": session.get(Organisation, application.organisation_id).name,
        "body": session.get(Organisation, application.certification_body_id).name,
        "footprint": footprint,
        "inventory_version": record.version,
        "workbook": record.source_file_name if record.source_file_key else None,
        "verifier": verifier.name if verifier else "",
        "findings": found,
        "subjects": finding_subjects(session, application, found, events),
        "evidence": evidence(session, principal, application.id),
        "history": events,
        "label": label_of(session, principal, application.id),
        "in_force": label_in_force(session, application),
        "candidates": correction_candidates(session, principal, application) if party is Party.MANUFACTURER else [],
    }


def label_of(session: Session, principal: Principal, application_id: uuid.UUID) -> Label | None:
    application = visible(session, principal, application_id)
    return session.exec(select(Label).where(Label.application_id == application.id)).first()
