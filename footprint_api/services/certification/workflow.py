"""The workflow's steps of an application (the table of states is label_service.workflow's), with what each
step needs and does besides the change of state."""

import uuid
from dataclasses import dataclass

from sqlmodel import Session, select

from footprint_api.core.errors import Conflict, Forbidden, PCRNotInForce, Unprocessable
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Application, Footprint, Submission, utcnow
from footprint_api.services import audit, certificates, labels, pcr_registry
from footprint_api.services.certification.corrections import corrected_footprint
from footprint_api.services.certification.findings import _named, open_findings
from footprint_api.services.certification.parties import _party, visible
from footprint_api.services.certification.refusals import _coded, _illegal, _refusal
from footprint_api.services.principals import actor
from label_service.workflow import ApplicationState, FindingState, IllegalTransition, Party, next_application_state


def _share(session: Session, principal: Principal, footprint_id: uuid.UUID, body_id: uuid.UUID) -> None:
    """The body may read the footprint (and its inventory) once it is submitted to it."""
    exists = session.exec(
        select(Submission).where(Submission.footprint_id == footprint_id, Submission.certification_body_id == body_id)
    ).first()
    if exists is None:
        session.add(
            Submission(footprint_id=footprint_id, certification_body_id=body_id, submitted_by=principal.subject)
        )


def _certifiable(session: Session, footprint: Footprint) -> None:
    """Nothing is applied for or approved under a PCR version that expired or was withdrawn."""
    try:
        pcr_registry.require_certifiable(session, footprint.pcr_id, footprint.pcr_version)
    except PCRNotInForce as exc:
        raise _coded(exc, "cert.error.pcr_not_in_force", pcr=f"{footprint.pcr_id} {footprint.pcr_version}") from None


@dataclass
class _Step:
    """What one step of the workflow is about: the caller, the application, the comment, the corrected footprint
    named, and the details its audit entry records."""

    session: Session
    principal: Principal
    application: Application
    action: str
    comment: str
    footprint_id: uuid.UUID | None
    details: dict


def _on_submit(step: _Step) -> None:
    _share(step.session, step.principal, step.application.footprint_id, step.application.certification_body_id)


def _on_request_corrections(step: _Step) -> None:
    if not open_findings(step.session, step.application.id):
        raise _refusal(
            Conflict,
            "cert.error.no_findings",
            "raise at least one finding before requesting corrections",
            "findings",
        )


def _on_approve(step: _Step) -> None:
    _certifiable(step.session, step.session.get(Footprint, step.application.footprint_id))
    _approve(step.session, step.principal, step.application, step.comment)
    step.details["statement"] = step.application.statement


def _on_resubmit(step: _Step) -> None:
    unanswered = [f for f in open_findings(step.session, step.application.id) if f.state == FindingState.OPEN]
    if unanswered:
        raise _refusal(
            Conflict,
            "cert.error.findings_unanswered",
            f"answer every open finding before resubmitting: {_named(unanswered)}",
            "findings",
            count=len(unanswered),
        )
    if step.footprint_id is not None:
        corrected = _corrected_footprint(step.session, step.principal, step.application, step.footprint_id)
        step.details["footprint_id"] = str(corrected)


def _on_issue_label(step: _Step) -> None:
    try:
        label = labels.issue(step.session, step.principal, step.application)
    except labels.IssuanceNotConfigured as exc:
        raise _coded(exc, "cert.error.issuance_not_configured") from None
    except labels.StorageUnavailable as exc:
        raise _coded(exc, "cert.error.storage") from None
    except Conflict as exc:
        raise _coded(exc, "cert.error.issued_meanwhile") from None
    step.details["label"] = label.number


def _on_release(step: _Step) -> None:
    """A withdrawn or rejected application gives back the certificates its inventory drew."""
    certificates.release_for_application(
        step.session, actor(step.principal), step.application, certificates.RELEASED_BY_APPLICATION[step.action]
    )


# action -> what it needs and does besides the change of state (the table of states is label_service.workflow's)
STEP_RULES = {
    "submit": _on_submit,
    "request_corrections": _on_request_corrections,
    "approve": _on_approve,
    "resubmit": _on_resubmit,
    "issue_label": _on_issue_label,
    **dict.fromkeys(certificates.RELEASED_BY_APPLICATION, _on_release),
}


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
        raise _refusal(
            Forbidden, "cert.error.own_organisation", "a certification body cannot certify its own organisation", ""
        )
    before = ApplicationState(application.state)
    try:
        after = next_application_state(before, action, party)
    except IllegalTransition as exc:
        raise _illegal(exc) from None
    step = _Step(session, principal, application, action, comment, footprint_id, {"comment": comment})
    if action in STEP_RULES:
        STEP_RULES[action](step)
    application.state, application.updated_at = after.value, utcnow()
    session.add(application)
    audit.record(
        session,
        actor(principal),
        f"application.{action}",
        "application",
        application.id,
        before={"state": before.value},
        after={"state": after.value, **step.details},
        organisation_id=application.organisation_id,
    )
    audit.commit(session)
    return application


def _approve(session: Session, principal: Principal, application: Application, statement: str) -> None:
    """Approval needs every finding closed by the verifier and a verification statement (the report prints it)."""
    remaining = open_findings(session, application.id)
    if remaining:
        raise _refusal(
            Conflict,
            "cert.error.findings_open",
            f"findings not closed by the verifier: {_named(remaining)}; close them or request corrections",
            "findings",
            count=len(remaining),
        )
    if not statement.strip():
        raise _refusal(
            Unprocessable,
            "cert.error.statement_required",
            "approval needs the verification statement",
            "comment",
        )
    application.statement, application.verified_by, application.verified_at = (
        statement.strip(),
        principal.subject,
        utcnow(),
    )


def _corrected_footprint(
    session: Session, principal: Principal, application: Application, footprint_id: uuid.UUID
) -> uuid.UUID:
    """A resubmission may name the corrected footprint; the previous one is kept for the verifier's diff.
    Findings stay as they are: only the verifier closes them."""
    footprint = corrected_footprint(session, principal, application, footprint_id)
    application.previous_footprint_id, application.footprint_id = application.footprint_id, footprint.id
    _share(session, principal, footprint.id, application.certification_body_id)
    return footprint.id
