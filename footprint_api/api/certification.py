import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Path, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from footprint_api.api.deps import CertificationAdminDep, CertifierDep, ManufacturerDep, ParticipantDep, require
from footprint_api.infra.http import attachment
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Label
from footprint_api.schemas import (
    ActionIn,
    ApplicationIn,
    ApplicationOut,
    FindingIn,
    FindingOut,
    LabelActionIn,
    LabelOut,
    ReviewOut,
    SigningKeyOut,
)
from footprint_api.services import certification, labels
from footprint_api.services.principals import CB_ROLES, MANUFACTURER_ROLES
from label_service.workflow import APPLICATION_ACTIONS, FINDING_ACTIONS, LABEL_ACTIONS

router = APIRouter(prefix="/api/v1", tags=["certification"])
manufacturer = require(*MANUFACTURER_ROLES)
either = require(*MANUFACTURER_ROLES, *CB_ROLES)
verifier = require(*CB_ROLES)
ApplicationAction = Path(pattern=f"^({'|'.join(APPLICATION_ACTIONS)})$")
LabelAction = Path(pattern=f"^({'|'.join(a for a in LABEL_ACTIONS if a != 'expire')})$")
FindingAction = Path(pattern=f"^({'|'.join(FINDING_ACTIONS)})$")


class FindingDetailOut(FindingOut):
    """A finding with its life: the manufacturer's answer (and the corrected footprint it names), the verifier's
    reply, and its state (open, answered, closed: only the verifier closes)."""

    state: str
    answer: str | None
    answer_footprint_id: uuid.UUID | None
    answered_at: datetime | None
    reply: str | None


class FindingStepIn(BaseModel):
    text: str = Field(
        default="",
        max_length=4000,
        description="answer: the answer; reply: the reply (required); close: an optional closing note",
    )
    footprint_id: uuid.UUID | None = Field(default=None, description="answer: the corrected footprint it refers to")


class EvidenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: uuid.UUID | None
    uploaded_at: datetime


class ApplicationDetailOut(ApplicationOut):
    previous_footprint_id: uuid.UUID | None
    statement: str | None
    verified_at: datetime | None


class ReviewDetailOut(ReviewOut):
    findings: list[FindingDetailOut]
    diff: dict | None = Field(description="inputs and results changed since the previously submitted footprint")
    evidence: list[EvidenceOut]
    in_force: dict | None = Field(
        default=None,
        description="the product's label in force, which issuing supersedes, and what changed since the inventory "
        "it certified (in the PCR's units)",
    )
    workbook: str | None = Field(default=None, description="the name of the uploaded workbook, where there is one")


@router.post(
    "/applications",
    response_model=ApplicationOut,
    status_code=201,
    summary="Apply for certification of a footprint (a draft until submitted)",
)
def apply(body: ApplicationIn, session: SessionDep, principal: ManufacturerDep):
    return certification.apply(session, principal, body.footprint_id, body.certification_body_id, body.label_kind)


@router.get("/applications", response_model=list[ApplicationOut])
def list_applications(session: SessionDep, principal: ParticipantDep):
    return certification.list_applications(session, principal)


@router.get("/applications/{application_id}", response_model=ApplicationDetailOut)
def get_application(application_id: uuid.UUID, session: SessionDep, principal: ParticipantDep):
    return certification.visible(session, principal, application_id)


@router.post(
    "/applications/{application_id}/actions/{action}",
    response_model=ApplicationOut,
    summary="A workflow step: submit, withdraw, start_review, request_corrections, resubmit, approve, "
    "reject, issue_label; 409 when the state does not allow it",
)
def act(
    application_id: uuid.UUID,
    body: ActionIn,
    session: SessionDep,
    principal: ParticipantDep,
    action: str = ApplicationAction,
):
    return certification.act(session, principal, application_id, action, body.comment, body.footprint_id)


@router.get(
    "/applications/{application_id}/review",
    response_model=ReviewDetailOut,
    summary="The verifier's file: inventory, PCR checks, result breakdown and contributions, findings, "
    "evidence, and the diff to the previously submitted footprint",
)
def review(application_id: uuid.UUID, session: SessionDep, principal: ParticipantDep):
    return certification.review_file(session, principal, application_id)


@router.post("/applications/{application_id}/findings", response_model=FindingOut, status_code=201)
def raise_finding(application_id: uuid.UUID, body: FindingIn, session: SessionDep, principal: CertifierDep):
    return certification.raise_finding(session, principal, application_id, body.subject, body.text)


@router.get("/applications/{application_id}/findings", response_model=list[FindingDetailOut])
def list_findings(application_id: uuid.UUID, session: SessionDep, principal: ParticipantDep):
    return certification.findings(session, principal, application_id)


@router.post(
    "/applications/{application_id}/findings/{finding_id}/actions/{action}",
    response_model=FindingDetailOut,
    summary="answer (the manufacturer, optionally naming the corrected footprint), reply (the verifier keeps "
    "it open) or close (the verifier); 409 when the finding's state does not allow it",
)
def finding_action(
    application_id: uuid.UUID,
    finding_id: uuid.UUID,
    body: FindingStepIn,
    session: SessionDep,
    principal: ParticipantDep,
    action: str = FindingAction,
):
    if action == "answer":
        return certification.answer_finding(
            session, principal, application_id, finding_id, body.text, body.footprint_id
        )
    if action == "reply":
        return certification.reply_finding(session, principal, application_id, finding_id, body.text)
    return certification.close_finding(session, principal, application_id, finding_id, body.text)


@router.post(
    "/applications/{application_id}/evidence",
    response_model=EvidenceOut,
    status_code=201,
    summary="Attach an evidence document (PDF, PNG, JPEG, XLSX or CSV, judged by its content; at most "
    "20 MiB); 413 when larger",
    responses={413: {"description": "larger than 20 MiB"}, 422: {"description": "not a supported type"}},
)
async def upload_evidence(
    application_id: uuid.UUID, file: Annotated[UploadFile, File()], session: SessionDep, principal: ManufacturerDep
):
    data = await file.read(certification.MAX_EVIDENCE_BYTES + 1)
    return await run_in_threadpool(
        certification.upload_evidence, session, principal, application_id, file.filename or "", data
    )


@router.get("/applications/{application_id}/evidence", response_model=list[EvidenceOut])
def list_evidence(application_id: uuid.UUID, session: SessionDep, principal: ParticipantDep):
    return [row.document for row in certification.evidence(session, principal, application_id)]


@router.get(
    "/applications/{application_id}/workbook",
    response_class=Response,
    summary="Download the workbook the inventory was uploaded in (the manufacturer and the body applied to)",
)
def download_workbook(application_id: uuid.UUID, session: SessionDep, principal: ParticipantDep):
    workbook = certification.workbook_file(session, principal, application_id)
    return attachment(workbook.data, workbook.content_type, workbook.download_name, workbook.name)


@router.get(
    "/applications/{application_id}/evidence/{document_id}",
    response_class=Response,
    summary="Download an evidence document (the manufacturer and the body the application is addressed to)",
)
def download_evidence(
    application_id: uuid.UUID, document_id: uuid.UUID, session: SessionDep, principal: ParticipantDep
):
    document, data = certification.evidence_file(session, principal, application_id, document_id)
    return evidence_response(document, data)


def evidence_response(document, data: bytes) -> Response:
    return attachment(data, document.content_type, certification.download_name(document), document.name)


@router.get("/labels", response_model=list[LabelOut], summary="Labels issued by your body or to your organisation")
def list_labels(session: SessionDep, principal: ParticipantDep):
    column = Label.issuer_id if principal.role in CB_ROLES else Label.organisation_id
    return session.exec(select(Label).where(column == principal.organisation_id).order_by(Label.number)).all()


@router.post(
    "/labels/{number}/actions/{action}",
    response_model=LabelOut,
    summary="suspend, reinstate or revoke a label you issued; effective at once",
)
def label_action(
    number: str, body: LabelActionIn, session: SessionDep, principal: CertifierDep, action: str = LabelAction
):
    return labels.change_state(session, principal, number, action, body.comment)


@router.post(
    "/signing-keys",
    response_model=SigningKeyOut,
    status_code=201,
    summary="Rotate your body's label-signing key; earlier labels keep verifying with the retired key",
)
def rotate(session: SessionDep, principal: CertificationAdminDep):
    return labels.rotate_key(session, principal, principal.organisation_id)
