"""Applications for certification: the manufacturer applies, the certification body reviews and decides.

Findings follow their own table (label_service.workflow.FINDING_ACTIONS): the manufacturer answers, the verifier
replies or closes; only the verifier's close ends a finding. Evidence documents are checked by their content (magic
bytes), stored content-addressed in the object store and read only by the two parties of the application.
"""

import csv
import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass

from sqlmodel import Session, col, select

from footprint_api.core.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from footprint_api.infra.objects import object_store
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    Application,
    AuditEvent,
    EvidenceDocument,
    Finding,
    Footprint,
    InventoryRecord,
    Label,
    Organisation,
    OrganisationKind,
    Product,
    Submission,
    User,
    utcnow,
)
from footprint_api.services import audit, certificates, labels, pcr_registry
from footprint_api.services.catalogue import owned
from footprint_api.services.principals import CB_ROLES, MANUFACTURER_ROLES, actor
from label_service.storage import StorageError
from label_service.workflow import (
    ApplicationState,
    FindingState,
    IllegalTransition,
    Party,
    next_application_state,
    next_finding_state,
)
from pcr_rules import Inventory, default_registry
from pcr_rules.validation import problems as pcr_problems


def _share(session: Session, principal: Principal, footprint_id: uuid.UUID, body_id: uuid.UUID) -> None:
    """The body may read the footprint (and its inventory) once it is submitted to it."""
    exists = session.exec(
        select(Submission).where(Submission.footprint_id == footprint_id, Submission.certification_body_id == body_id)
    ).first()
    if exists is None:
        session.add(
            Submission(footprint_id=footprint_id, certification_body_id=body_id, submitted_by=principal.subject)
        )


def apply(
    session: Session, principal: Principal, footprint_id: uuid.UUID, body_id: uuid.UUID, label_kind: str
) -> Application:
    footprint = owned(session, Footprint, footprint_id, principal)
    body = session.get(Organisation, body_id)
    if body is None or body.kind is not OrganisationKind.CERTIFICATION_BODY:
        raise NotFound("no such certification body")
    pcr_registry.require_certifiable(session, footprint.pcr_id, footprint.pcr_version)  # not expired nor withdrawn
    record = session.get(InventoryRecord, footprint.inventory_id)
    certificates.redraw_for_application(session, actor(principal), record)
    application = Application(
        organisation_id=principal.organisation_id,
        certification_body_id=body.id,
        footprint_id=footprint.id,
        product_id=record.product_id,
        label_kind=label_kind,
        created_by=principal.subject,
    )
    session.add(application)
    audit.record(
        session,
        actor(principal),
        "application.created",
        "application",
        application.id,
        after={
            "state": application.state,
            "footprint_id": str(footprint.id),
            "certification_body_id": str(body.id),
            "label_kind": label_kind,
        },
    )
    audit.commit(session)
    return application


def footprint_to_apply(session: Session, principal: Principal, footprint_id: uuid.UUID) -> dict:
    """What the application form shows of the caller's footprint (404 for another organisation's)."""
    footprint = owned(session, Footprint, footprint_id, principal)
    record = session.get(InventoryRecord, footprint.inventory_id)
    return {
        "footprint": footprint,
        "product": session.get(Product, record.product_id),
        "inventory_version": record.version,
    }


def footprints_to_apply(session: Session, principal: Principal, limit: int = 20) -> list[dict]:
    """The caller's calculated footprints for which no application was made yet, newest first."""
    applied = select(Application.footprint_id).where(Application.organisation_id == principal.organisation_id)
    rows = session.exec(
        select(Footprint, InventoryRecord, Product)
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .join(Product, col(Product.id) == col(InventoryRecord.product_id))
        .where(Footprint.organisation_id == principal.organisation_id, col(Footprint.id).not_in(applied))
        .order_by(col(Footprint.created_at).desc())
        .limit(limit)
    )
    return [
        {
            "footprint_id": f.id,
            "product": p.name,
            "inventory_version": r.version,
            "total_kg_co2e": f.total_kg_co2e,
            "declared_unit": f.declared_unit,
            "created_at": f.created_at,
        }
        for f, r, p in rows
    ]


def apply_and_submit(
    session: Session,
    principal: Principal,
    footprint_id: uuid.UUID,
    body_id: uuid.UUID,
    label_kind: str,
    document: tuple[str, bytes] | None = None,
) -> Application:
    """Apply, attach the evidence document if one is given, submit: the document is checked before anything is
    stored, so a refused document leaves no application behind."""
    if document is not None:
        check_evidence(document[1])
    application = apply(session, principal, footprint_id, body_id, label_kind)
    if document is not None:
        upload_evidence(session, principal, application.id, *document)
    return act(session, principal, application.id, "submit", "")


def _party(principal: Principal, application: Application) -> Party:
    """Which side the caller is on; anyone else learns nothing (404)."""
    if principal.organisation_id == application.organisation_id and principal.role in MANUFACTURER_ROLES:
        return Party.MANUFACTURER
    if principal.organisation_id == application.certification_body_id and principal.role in CB_ROLES:
        return Party.CERTIFICATION_BODY
    raise NotFound("no such application visible to you")


def visible(session: Session, principal: Principal, application_id: uuid.UUID) -> Application:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound("no such application visible to you")
    _party(principal, application)
    if principal.role in CB_ROLES and application.state == ApplicationState.DRAFT:
        raise NotFound("no such application visible to you")  # a draft is the manufacturer's own
    return application


def list_applications(session: Session, principal: Principal) -> list[Application]:
    if principal.role in CB_ROLES:
        query = select(Application).where(
            Application.certification_body_id == principal.organisation_id,
            Application.state != ApplicationState.DRAFT.value,
        )
    else:
        query = select(Application).where(Application.organisation_id == principal.organisation_id)
    return list(session.exec(query.order_by(Application.created_at)))


def certification_bodies(session: Session) -> list[Organisation]:
    return list(
        session.exec(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.CERTIFICATION_BODY)
            .order_by(Organisation.name)
        )
    )


@dataclass(frozen=True)
class ApplicationRow:
    """An application as a list shows it: with its product, the two parties, its open findings and its label."""

    application: Application
    product: str
    manufacturer: str
    body: str
    open_findings: int
    label: str | None


def application_rows(session: Session, principal: Principal, state: str | None = None) -> list[ApplicationRow]:
    """The caller's applications (a manufacturer's own, or those addressed to the caller's body), newest first."""
    applications = [a for a in reversed(list_applications(session, principal)) if state in (None, a.state)]
    names = {
        o.id: o.name
        for o in session.exec(
            select(Organisation).where(
                col(Organisation.id).in_(
                    {a.organisation_id for a in applications} | {a.certification_body_id for a in applications}
                )
            )
        )
    }
    products = {
        p.id: p.name
        for p in session.exec(select(Product).where(col(Product.id).in_({a.product_id for a in applications})))
    }
    ids = [a.id for a in applications]
    counts: dict = {}
    for finding in session.exec(
        select(Finding).where(col(Finding.application_id).in_(ids), Finding.state != FindingState.CLOSED.value)
    ):
        counts[finding.application_id] = counts.get(finding.application_id, 0) + 1
    numbers = {
        label.application_id: label.number
        for label in session.exec(select(Label).where(col(Label.application_id).in_(ids)))
    }
    return [
        ApplicationRow(
            a,
            products.get(a.product_id, ""),
            names.get(a.organisation_id, ""),
            names.get(a.certification_body_id, ""),
            counts.get(a.id, 0),
            numbers.get(a.id),
        )
        for a in applications
    ]


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
    """An application as its two parties' pages show it: parties, product, current footprint, findings, evidence,
    history, its label, and for the manufacturer the footprints that may correct it."""
    application = visible(session, principal, application_id)
    party = _party(principal, application)
    footprint = session.get(Footprint, application.footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    verifier = session.get(User, application.verified_by) if application.verified_by else None
    return {
        "application": application,
        "party": party.value,
        "product": session.get(Product, application.product_id),
        "manufacturer": session.get(Organisation, application.organisation_id).name,
        "body": session.get(Organisation, application.certification_body_id).name,
        "footprint": footprint,
        "inventory_version": record.version,
        "verifier": verifier.name if verifier else "",
        "findings": findings(session, principal, application.id),
        "evidence": evidence(session, principal, application.id),
        "history": history(session, principal, application.id),
        "label": label_of(session, principal, application.id),
        "candidates": correction_candidates(session, principal, application) if party is Party.MANUFACTURER else [],
    }


def label_of(session: Session, principal: Principal, application_id: uuid.UUID) -> Label | None:
    application = visible(session, principal, application_id)
    return session.exec(select(Label).where(Label.application_id == application.id)).first()


def issued_labels(session: Session, principal: Principal) -> list[Label]:
    """The labels the caller's body issued (a body's view), newest first."""
    if principal.role not in CB_ROLES:
        raise Forbidden("only a certification body lists the labels it issued")
    return list(
        session.exec(
            select(Label)
            .where(Label.issuer_id == principal.organisation_id)
            .order_by(col(Label.year).desc(), col(Label.sequence).desc())
        )
    )


def open_findings(session: Session, application_id: uuid.UUID) -> list[Finding]:
    """The findings the verifier has not closed (open, or answered and awaiting the verifier)."""
    return list(
        session.exec(
            select(Finding)
            .where(Finding.application_id == application_id, Finding.state != FindingState.CLOSED.value)
            .order_by(Finding.raised_at)
        )
    )


def _named(found: list[Finding]) -> str:
    return "; ".join(f"{finding.subject} ({finding.id})" for finding in found)


def act(
    session: Session,
    principal: Principal,
    application_id: uuid.UUID,
    action: str,
    comment: str,
    footprint_id: uuid.UUID | None = None,
) -> Application:
    """One step of the workflow (label_service.workflow), with its preconditions; audited with the comment."""
    application = visible(session, principal, application_id)
    party = _party(principal, application)
    if party is Party.CERTIFICATION_BODY and principal.organisation_id == application.organisation_id:
        raise Forbidden("a certification body cannot certify its own organisation")
    before = ApplicationState(application.state)
    try:
        after = next_application_state(before, action, party)
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from None
    details: dict = {"comment": comment}
    if action == "submit":
        _share(session, principal, application.footprint_id, application.certification_body_id)
    elif action == "request_corrections" and not open_findings(session, application.id):
        raise Conflict("raise at least one finding before requesting corrections")
    elif action == "approve":
        footprint = session.get(Footprint, application.footprint_id)
        pcr_registry.require_certifiable(session, footprint.pcr_id, footprint.pcr_version)
        _approve(session, principal, application, comment)
        details["statement"] = application.statement
    elif action == "resubmit":
        unanswered = [f for f in open_findings(session, application.id) if f.state == FindingState.OPEN]
        if unanswered:
            raise Conflict(f"answer every open finding before resubmitting: {_named(unanswered)}")
        if footprint_id is not None:
            details["footprint_id"] = str(_corrected_footprint(session, principal, application, footprint_id))
    elif action == "issue_label":
        label = labels.issue(session, principal, application)
        details["label"] = label.number
    elif action in certificates.RELEASED_BY_APPLICATION:
        certificates.release_for_application(
            session, actor(principal), application, certificates.RELEASED_BY_APPLICATION[action]
        )
    application.state, application.updated_at = after.value, utcnow()
    session.add(application)
    audit.record(
        session,
        actor(principal),
        f"application.{action}",
        "application",
        application.id,
        before={"state": before.value},
        after={"state": after.value, **details},
        organisation_id=application.organisation_id,
    )
    audit.commit(session)
    return application


def _approve(session: Session, principal: Principal, application: Application, statement: str) -> None:
    """Approval needs every finding closed by the verifier and a verification statement (the report prints it)."""
    remaining = open_findings(session, application.id)
    if remaining:
        raise Conflict(f"findings not closed by the verifier: {_named(remaining)}; close them or request corrections")
    if not statement.strip():
        raise Unprocessable(
            "approval needs the verification statement",
            [{"field": "comment", "reason": "the verification statement is required"}],
        )
    application.statement, application.verified_by, application.verified_at = (
        statement.strip(),
        principal.subject,
        utcnow(),
    )


def corrected_footprint(
    session: Session,
    principal: Principal,
    application: Application,
    footprint_id: uuid.UUID,
    field: str = "footprint_id",
) -> Footprint:
    """A correction is the footprint of a newer inventory version of the application's product."""
    footprint = owned(session, Footprint, footprint_id, principal)
    record = session.get(InventoryRecord, footprint.inventory_id)
    previous = session.get(InventoryRecord, session.get(Footprint, application.footprint_id).inventory_id)
    if record.product_id != application.product_id or record.version <= previous.version:
        raise Unprocessable(
            "the corrected footprint must come from a newer inventory version of the product",
            [
                {
                    "field": field,
                    "reason": f"inventory version {record.version}, the application's is {previous.version}",
                }
            ],
        )
    return footprint


def correction_candidates(session: Session, principal: Principal, application: Application) -> list[dict]:
    """The manufacturer's footprints that may correct the application: newer versions of the same product."""
    current = session.get(InventoryRecord, session.get(Footprint, application.footprint_id).inventory_id)
    rows = session.exec(
        select(Footprint, InventoryRecord)
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .where(
            InventoryRecord.product_id == application.product_id,
            InventoryRecord.version > current.version,
            Footprint.organisation_id == principal.organisation_id,
        )
        .order_by(col(InventoryRecord.version).desc(), col(Footprint.created_at).desc())
    )
    return [
        {
            "footprint_id": f.id,
            "inventory_version": r.version,
            "total_kg_co2e": f.total_kg_co2e,
            "declared_unit": f.declared_unit,
            "created_at": f.created_at,
        }
        for f, r in rows
    ]


def _corrected_footprint(
    session: Session, principal: Principal, application: Application, footprint_id: uuid.UUID
) -> uuid.UUID:
    """A resubmission may name the corrected footprint; the previous one is kept for the verifier's diff.
    Findings stay as they are: only the verifier closes them."""
    footprint = corrected_footprint(session, principal, application, footprint_id)
    application.previous_footprint_id, application.footprint_id = application.footprint_id, footprint.id
    _share(session, principal, footprint.id, application.certification_body_id)
    return footprint.id


def raise_finding(
    session: Session, principal: Principal, application_id: uuid.UUID, subject: str, text: str
) -> Finding:
    application = visible(session, principal, application_id)
    if _party(principal, application) is not Party.CERTIFICATION_BODY:
        raise Forbidden("only the certification body raises findings")
    if application.state != ApplicationState.UNDER_REVIEW:
        raise Conflict(f"findings are raised during review; the application is {application.state}")
    finding = Finding(application_id=application.id, subject=subject, text=text, raised_by=principal.subject)
    session.add(finding)
    audit.record(
        session,
        actor(principal),
        "finding.raised",
        "application",
        application.id,
        after={"finding_id": str(finding.id), "subject": subject, "text": text},
        organisation_id=application.organisation_id,
    )
    audit.commit(session)
    return finding


def _finding(
    session: Session, principal: Principal, application_id: uuid.UUID, finding_id: uuid.UUID
) -> tuple[Application, Finding, Party]:
    application = visible(session, principal, application_id)
    finding = session.get(Finding, finding_id)
    if finding is None or finding.application_id != application.id:
        raise NotFound("no such finding of this application")
    return application, finding, _party(principal, application)


def _step(
    session: Session,
    principal: Principal,
    application: Application,
    finding: Finding,
    action: str,
    party: Party,
    details: dict,
    **changes,
) -> Finding:
    """One step of a finding by its table, with its changes and audit entry in one transaction."""
    before = FindingState(finding.state)
    try:
        after = next_finding_state(before, action, party)
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from None
    for name, value in {"state": after.value, **changes}.items():
        setattr(finding, name, value)
    session.add(finding)
    audit.record(
        session,
        actor(principal),
        f"finding.{action}",
        "application",
        application.id,
        before={"finding_id": str(finding.id), "state": before.value},
        after={"finding_id": str(finding.id), "state": after.value, **details},
        organisation_id=application.organisation_id,
    )
    audit.commit(session)
    return finding


ANSWERABLE = (ApplicationState.UNDER_REVIEW, ApplicationState.FINDINGS)  # while the review is going on


def answer_finding(
    session: Session,
    principal: Principal,
    application_id: uuid.UUID,
    finding_id: uuid.UUID,
    text: str,
    footprint_id: uuid.UUID | None = None,
) -> Finding:
    """The manufacturer's answer: an explanation, optionally naming the corrected footprint it refers to (a newer
    inventory version of the product, resubmitted with the application). The finding stays open for the verifier."""
    application, finding, party = _finding(session, principal, application_id, finding_id)
    text = text.strip()
    if not text:
        raise Unprocessable("an answer needs its text", [{"field": "text", "reason": "required"}])
    if application.state not in ANSWERABLE:
        raise Conflict(
            f"findings are answered while the application is under review or awaiting corrections; "
            f"it is {application.state}"
        )
    details: dict = {"answer": text}
    if footprint_id is not None and party is Party.MANUFACTURER:
        details["footprint_id"] = str(corrected_footprint(session, principal, application, footprint_id).id)
    return _step(
        session,
        principal,
        application,
        finding,
        "answer",
        party,
        details,
        answer=text,
        answer_footprint_id=footprint_id,
        answered_by=principal.subject,
        answered_at=utcnow(),
    )


def reply_finding(
    session: Session, principal: Principal, application_id: uuid.UUID, finding_id: uuid.UUID, text: str
) -> Finding:
    """The verifier is not satisfied: the finding stays open, with the reply for the manufacturer."""
    application, finding, party = _verifier_finding(session, principal, application_id, finding_id)
    text = text.strip()
    if not text:
        raise Unprocessable("a reply needs its text", [{"field": "text", "reason": "required"}])
    return _step(session, principal, application, finding, "reply", party, {"text": text}, reply=text)


def close_finding(
    session: Session, principal: Principal, application_id: uuid.UUID, finding_id: uuid.UUID, text: str = ""
) -> Finding:
    """The verifier accepts the answer (or the correction): the finding no longer stands in the way of approval."""
    application, finding, party = _verifier_finding(session, principal, application_id, finding_id)
    text = text.strip()
    return _step(
        session,
        principal,
        application,
        finding,
        "close",
        party,
        {"text": text},
        reply=text or finding.reply,
        closed_by=principal.subject,
        resolved_at=utcnow(),
    )


def _verifier_finding(session: Session, principal: Principal, application_id: uuid.UUID, finding_id: uuid.UUID):
    application, finding, party = _finding(session, principal, application_id, finding_id)
    if application.state not in ANSWERABLE:
        raise Conflict(f"findings are replied to and closed during review; the application is {application.state}")
    return application, finding, party


def findings(session: Session, principal: Principal, application_id: uuid.UUID) -> list[Finding]:
    application = visible(session, principal, application_id)
    return list(
        session.exec(select(Finding).where(Finding.application_id == application.id).order_by(Finding.raised_at))
    )


def review_file(session: Session, principal: Principal, application_id: uuid.UUID) -> dict:
    """What the verifier works from: the inventory, the PCR checks run again now, the full result, the evidence,
    and, after a resubmission with a corrected footprint, what changed since the previously submitted one."""
    application = visible(session, principal, application_id)
    footprint = session.get(Footprint, application.footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    inventory = Inventory.model_validate(record.data)
    pcr = default_registry().get(record.pcr_id, record.pcr_version)
    problems = pcr_problems(inventory, pcr)
    diff = None
    if application.previous_footprint_id is not None:
        previous = session.get(Footprint, application.previous_footprint_id)
        diff = version_diff(session.get(InventoryRecord, previous.inventory_id), previous, record, footprint)
    return {
        "application_id": application.id,
        "state": application.state,
        "inventory_id": record.id,
        "inventory_version": record.version,
        "inventory": record.data,
        "pcr_checks": {
            "pcr": f"{pcr.id} {pcr.version}",
            "passed": not problems,
            "problems": [{"field": p.loc, "reason": p.message} for p in problems],
        },
        "footprint_id": footprint.id,
        "result": footprint.result,
        "findings": findings(session, principal, application_id),
        "diff": diff,
        "evidence": [row.document for row in evidence(session, principal, application_id)],
    }


HEADLINE = (
    "total_kg_co2e",
    "fossil_kg_co2e",
    "biogenic_kg_co2e",
    "land_use_kg_co2e",
    "location_based_kg_co2e",
    "market_based_kg_co2e",
)


def _leaves(value, path: str = "") -> dict[str, object]:
    """{'items[2].amount': 160000000, …}: an inventory as paths to its values, named as the PCR checks name them."""
    if isinstance(value, dict):
        return {
            k: v for key, item in value.items() for k, v in _leaves(item, f"{path}.{key}" if path else str(key)).items()
        }
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, f"{path}[{i}]").items()}
    return {path: value}


def _by_item(result: dict) -> dict[str, float]:
    totals: dict[str, float] = {}
    for contribution in result.get("contributions", []):
        totals[contribution["item"]] = totals.get(contribution["item"], 0.0) + contribution["kg_co2e"]
    return totals


def version_diff(
    before_record: InventoryRecord, before: Footprint, after_record: InventoryRecord, after: Footprint
) -> dict:
    """The inputs and results that changed between two submitted versions (only what differs)."""
    old, new = _leaves(before_record.data), _leaves(after_record.data)
    inputs = [
        {"field": key, "before": old.get(key), "after": new.get(key)}
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]
    results = [
        {"field": key, "before": before.result.get(key), "after": after.result.get(key)}
        for key in HEADLINE
        if before.result.get(key) != after.result.get(key)
    ]
    old_items, new_items = _by_item(before.result), _by_item(after.result)
    contributions = [
        {"field": item, "before": old_items.get(item), "after": new_items.get(item)}
        for item in sorted(old_items.keys() | new_items.keys())
        if old_items.get(item) != new_items.get(item)
    ]
    return {
        "before": {"footprint_id": before.id, "inventory_version": before_record.version},
        "after": {"footprint_id": after.id, "inventory_version": after_record.version},
        "inputs": inputs,
        "results": results,
        "contributions": contributions,
    }


# Evidence documents ------------------------------------------------------------------------------------------------

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
MAX_EVIDENCE_NAME = 200
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVIDENCE_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", XLSX: "xlsx", "text/csv": "csv"}
EVIDENCE_STATES = (
    ApplicationState.DRAFT,
    ApplicationState.SUBMITTED,
    ApplicationState.UNDER_REVIEW,
    ApplicationState.FINDINGS,
    ApplicationState.CORRECTED,
)  # before the decision


@dataclass(frozen=True)
class EvidenceRow:
    document: EvidenceDocument
    uploader: str


def sniff(data: bytes) -> str | None:
    """The content type of a document from its first bytes (its magic number), never from its name: a PNG called
    report.pdf is a PNG. XLSX is a ZIP (OOXML, ECMA-376 Part 2) holding xl/workbook.xml; CSV has no magic number,
    so it is text that decodes as UTF-8 (or GB18030, common in Chinese Excel exports) with no control bytes."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist()[:1000])
        except (zipfile.BadZipFile, ValueError):
            return None
        return XLSX if {"[Content_Types].xml", "xl/workbook.xml"} <= names else None
    return "text/csv" if _is_csv(data) else None


def _is_csv(data: bytes) -> bool:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    if not text.strip() or any(ord(c) < 32 and c not in "\t\r\n" for c in text):
        return False
    try:
        rows = list(csv.reader(io.StringIO(text[:65536])))
    except csv.Error:
        return False
    return len(rows) > 0


def clean_name(name: str) -> str:
    """The document's name as shown: no path, no control characters, bounded."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return (name or "document")[:MAX_EVIDENCE_NAME]


def download_name(document: EvidenceDocument) -> str:
    """An ASCII file name safe in any Content-Disposition (letters, digits, . _ -), ending in the extension of
    what the file really is; the full name goes in RFC 6266 filename* (UTF-8)."""
    extension = EVIDENCE_TYPES.get(document.content_type, "bin")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", unicodedata.normalize("NFKD", document.name)).strip("._") or "document"
    stem = stem[:100]
    return stem if stem.lower().endswith(f".{extension}") else f"{stem}.{extension}"


def check_evidence(data: bytes) -> str:
    """The document's content type, or the error that refuses it (bounded size, a supported kind by content)."""
    if len(data) > MAX_EVIDENCE_BYTES:
        raise PayloadTooLarge(
            f"the document is larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MiB",
            [{"field": "file", "reason": f"at most {MAX_EVIDENCE_BYTES} bytes"}],
        )
    if not data:
        raise Unprocessable("the document is empty", [{"field": "file", "reason": "empty"}])
    content_type = sniff(data)
    if content_type is None:
        raise Unprocessable(
            "the document is not a PDF, PNG, JPEG, XLSX or CSV file (judged by its content)",
            [{"field": "file", "reason": "unsupported content"}],
        )
    return content_type


def upload_evidence(
    session: Session, principal: Principal, application_id: uuid.UUID, name: str, data: bytes
) -> EvidenceDocument:
    application = visible(session, principal, application_id)
    if _party(principal, application) is not Party.MANUFACTURER:
        raise Forbidden("the manufacturer attaches evidence")
    if application.state not in EVIDENCE_STATES:
        raise Conflict(f"evidence is attached before the decision; the application is {application.state}")
    content_type = check_evidence(data)
    try:
        stored = object_store().put(data, EVIDENCE_TYPES[content_type], prefix="evidence")
    except StorageError as exc:
        raise labels.StorageUnavailable(f"the document could not be stored ({exc}); nothing was attached") from None
    document = EvidenceDocument(
        application_id=application.id,
        name=clean_name(name),
        content_type=content_type,
        size_bytes=stored.size,
        sha256=hashlib.sha256(data).hexdigest(),
        key=stored.key,
        uploaded_by=principal.subject,
    )
    session.add(document)
    audit.record(
        session,
        actor(principal),
        "evidence.uploaded",
        "application",
        application.id,
        after={
            "document_id": str(document.id),
            "name": document.name,
            "content_type": content_type,
            "size_bytes": document.size_bytes,
            "sha256": document.sha256,
        },
        organisation_id=application.organisation_id,
    )
    audit.commit(session)
    return document


def evidence(session: Session, principal: Principal, application_id: uuid.UUID) -> list[EvidenceRow]:
    application = visible(session, principal, application_id)
    rows = session.exec(
        select(EvidenceDocument, User)
        .outerjoin(User, col(User.id) == col(EvidenceDocument.uploaded_by))
        .where(EvidenceDocument.application_id == application.id)
        .order_by(EvidenceDocument.uploaded_at)
    )
    return [EvidenceRow(document, user.name if user else "") for document, user in rows]


def evidence_file(
    session: Session, principal: Principal, application_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[EvidenceDocument, bytes]:
    application = visible(session, principal, application_id)
    document = session.get(EvidenceDocument, document_id)
    if document is None or document.application_id != application.id:
        raise NotFound("no such document of this application")
    try:
        return document, object_store().get(document.key)
    except StorageError as exc:
        raise labels.StorageUnavailable(f"the document could not be read ({exc})") from None
