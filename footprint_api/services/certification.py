"""Applications for certification: the manufacturer applies, the certification body reviews and decides."""

import uuid

from sqlmodel import Session, col, select

from footprint_api import audit
from footprint_api.auth import CB_ROLES, MANUFACTURER_ROLES, actor
from footprint_api.errors import Conflict, Forbidden, NotFound, Unprocessable
from footprint_api.models import (
    Application, Finding, Footprint, InventoryRecord, Organisation, OrganisationKind, Submission, utcnow,
)
from footprint_api.security import Principal
from footprint_api.services import labels
from footprint_api.services.catalogue import owned
from label_service.workflow import ApplicationState, IllegalTransition, Party, next_application_state
from pcr_rules import Inventory, default_registry
from pcr_rules.validation import problems as pcr_problems


def _share(session: Session, principal: Principal, footprint_id: uuid.UUID, body_id: uuid.UUID) -> None:
    """The body may read the footprint (and its inventory) once it is submitted to it."""
    exists = session.exec(select(Submission).where(Submission.footprint_id == footprint_id,
                                                   Submission.certification_body_id == body_id)).first()
    if exists is None:
        session.add(Submission(footprint_id=footprint_id, certification_body_id=body_id,
                               submitted_by=principal.subject))


def apply(session: Session, principal: Principal, footprint_id: uuid.UUID, body_id: uuid.UUID,
          label_kind: str) -> Application:
    footprint = owned(session, Footprint, footprint_id, principal)
    body = session.get(Organisation, body_id)
    if body is None or body.kind is not OrganisationKind.CERTIFICATION_BODY:
        raise NotFound("no such certification body")
    record = session.get(InventoryRecord, footprint.inventory_id)
    application = Application(organisation_id=principal.organisation_id, certification_body_id=body.id,
                              footprint_id=footprint.id, product_id=record.product_id, label_kind=label_kind,
                              created_by=principal.subject)
    session.add(application)
    audit.record(session, actor(principal), "application.created", "application", application.id,
                 after={"state": application.state, "footprint_id": str(footprint.id),
                        "certification_body_id": str(body.id), "label_kind": label_kind})
    audit.commit(session)
    return application


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
        query = select(Application).where(Application.certification_body_id == principal.organisation_id,
                                          Application.state != ApplicationState.DRAFT.value)
    else:
        query = select(Application).where(Application.organisation_id == principal.organisation_id)
    return list(session.exec(query.order_by(Application.created_at)))


def open_findings(session: Session, application_id: uuid.UUID) -> list[Finding]:
    return list(session.exec(select(Finding).where(Finding.application_id == application_id,
                                                   col(Finding.resolved_at).is_(None))))


def act(session: Session, principal: Principal, application_id: uuid.UUID, action: str, comment: str,
        footprint_id: uuid.UUID | None = None) -> Application:
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
    elif action == "approve" and open_findings(session, application.id):
        raise Conflict("open findings remain: request corrections or resolve them first")
    elif action == "resubmit":
        details["footprint_id"] = str(_corrected_footprint(session, principal, application, footprint_id))
    elif action == "issue_label":
        label = labels.issue(session, principal, application)
        details["label"] = label.number
    application.state, application.updated_at = after.value, utcnow()
    session.add(application)
    audit.record(session, actor(principal), f"application.{action}", "application", application.id,
                 before={"state": before.value}, after={"state": after.value, **details},
                 organisation_id=application.organisation_id)
    audit.commit(session)
    return application


def _corrected_footprint(session: Session, principal: Principal, application: Application,
                         footprint_id: uuid.UUID | None) -> uuid.UUID:
    """A resubmission names the footprint of a new inventory version of the same product."""
    if footprint_id is None:
        raise Unprocessable("a resubmission names the corrected footprint",
                            [{"field": "footprint_id", "reason": "required for resubmit"}])
    footprint = owned(session, Footprint, footprint_id, principal)
    record = session.get(InventoryRecord, footprint.inventory_id)
    previous = session.get(InventoryRecord, session.get(Footprint, application.footprint_id).inventory_id)
    if record.product_id != application.product_id or record.version <= previous.version:
        raise Unprocessable("the corrected footprint must come from a newer inventory version of the product",
                            [{"field": "footprint_id", "reason": f"inventory version {record.version}, the "
                              f"application's is {previous.version}"}])
    for finding in open_findings(session, application.id):
        finding.resolved_at = utcnow()
        session.add(finding)
    application.footprint_id = footprint.id
    _share(session, principal, footprint.id, application.certification_body_id)
    return footprint.id


def raise_finding(session: Session, principal: Principal, application_id: uuid.UUID, subject: str,
                  text: str) -> Finding:
    application = visible(session, principal, application_id)
    if _party(principal, application) is not Party.CERTIFICATION_BODY:
        raise Forbidden("only the certification body raises findings")
    if application.state != ApplicationState.UNDER_REVIEW:
        raise Conflict(f"findings are raised during review; the application is {application.state}")
    finding = Finding(application_id=application.id, subject=subject, text=text, raised_by=principal.subject)
    session.add(finding)
    audit.record(session, actor(principal), "finding.raised", "application", application.id,
                 after={"finding_id": str(finding.id), "subject": subject, "text": text},
                 organisation_id=application.organisation_id)
    audit.commit(session)
    return finding


def findings(session: Session, principal: Principal, application_id: uuid.UUID) -> list[Finding]:
    application = visible(session, principal, application_id)
    return list(session.exec(select(Finding).where(Finding.application_id == application.id)
                             .order_by(Finding.raised_at)))


def review_file(session: Session, principal: Principal, application_id: uuid.UUID) -> dict:
    """What the verifier works from: the inventory, the PCR checks run again now, the full result."""
    application = visible(session, principal, application_id)
    footprint = session.get(Footprint, application.footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    inventory = Inventory.model_validate(record.data)
    pcr = default_registry().get(record.pcr_id, record.pcr_version)
    problems = pcr_problems(inventory, pcr)
    return {"application_id": application.id, "state": application.state, "inventory_id": record.id,
            "inventory_version": record.version, "inventory": record.data,
            "pcr_checks": {"pcr": f"{pcr.id} {pcr.version}", "passed": not problems,
                           "problems": [{"field": p.loc, "reason": p.message} for p in problems]},
            "footprint_id": footprint.id, "result": footprint.result,
            "findings": findings(session, principal, application_id)}

