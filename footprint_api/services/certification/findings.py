"""Findings of a review. They follow their own table (label_service.workflow.FINDING_ACTIONS): the
manufacturer answers, the verifier replies or closes; only the verifier's close ends a finding."""

import uuid

from sqlmodel import Session, select

from footprint_api.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Application, Finding, utcnow
from footprint_api.services import audit
from footprint_api.services.certification.corrections import corrected_footprint
from footprint_api.services.certification.parties import _party, visible
from footprint_api.services.certification.refusals import _illegal, _refusal
from footprint_api.services.principals import actor
from label_service.workflow import ApplicationState, FindingState, IllegalTransition, Party, next_finding_state


def raise_finding(
    session: Session, principal: Principal, application_id: uuid.UUID, subject: str, text: str
) -> Finding:
    application = visible(session, principal, application_id)
    if _party(principal, application) is not Party.CERTIFICATION_BODY:
        raise _refusal(Forbidden, "cert.error.body_raises", "only the certification body raises findings", "")
    if application.state != ApplicationState.UNDER_REVIEW:
        raise _refusal(
            Conflict,
            "cert.error.raise_not_in_review",
            f"findings are raised during review; the application is {application.state}",
            "subject",
            state=application.state,
        )
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
        raise _illegal(exc) from None
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


def _text_required(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise _refusal(Unprocessable, "cert.error.text_required", f"{what} needs its text", "text")
    return text


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
    text = _text_required(text, "an answer")
    if application.state not in ANSWERABLE:
        raise _refusal(
            Conflict,
            "cert.error.not_answerable",
            f"findings are answered while the application is under review or awaiting corrections; "
            f"it is {application.state}",
            "text",
            state=application.state,
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
    text = _text_required(text, "a reply")
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
        raise _refusal(
            Conflict,
            "cert.error.step_not_in_review",
            f"findings are replied to and closed during review; the application is {application.state}",
            "text",
            state=application.state,
        )
    return application, finding, party


def findings(session: Session, principal: Principal, application_id: uuid.UUID) -> list[Finding]:
    application = visible(session, principal, application_id)
    return list(
        session.exec(select(Finding).where(Finding.application_id == application.id).order_by(Finding.raised_at))
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
