import uuid

from fastapi import APIRouter, Depends, Path
from sqlmodel import Session, select

from footprint_api.auth import CB_ROLES, MANUFACTURER_ROLES, require
from footprint_api.db import get_session
from footprint_api.models import Label, Role
from footprint_api.schemas import (
    ActionIn, ApplicationIn, ApplicationOut, FindingIn, FindingOut, LabelActionIn, LabelOut, ReviewOut,
    SigningKeyOut,
)
from footprint_api.security import Principal
from footprint_api.services import certification, labels
from label_service.workflow import APPLICATION_ACTIONS, LABEL_ACTIONS

router = APIRouter(prefix="/api/v1", tags=["certification"])
manufacturer = require(*MANUFACTURER_ROLES)
either = require(*MANUFACTURER_ROLES, *CB_ROLES)
verifier = require(*CB_ROLES)
ApplicationAction = Path(pattern=f"^({'|'.join(APPLICATION_ACTIONS)})$")
LabelAction = Path(pattern=f"^({'|'.join(a for a in LABEL_ACTIONS if a != 'expire')})$")


@router.post("/applications", response_model=ApplicationOut, status_code=201,
             summary="Apply for certification of a footprint (a draft until submitted)")
def apply(body: ApplicationIn, principal: Principal = Depends(manufacturer), session: Session = Depends(get_session)):
    return certification.apply(session, principal, body.footprint_id, body.certification_body_id, body.label_kind)


@router.get("/applications", response_model=list[ApplicationOut])
def list_applications(principal: Principal = Depends(either), session: Session = Depends(get_session)):
    return certification.list_applications(session, principal)


@router.get("/applications/{application_id}", response_model=ApplicationOut)
def get_application(application_id: uuid.UUID, principal: Principal = Depends(either),
                    session: Session = Depends(get_session)):
    return certification.visible(session, principal, application_id)


@router.post("/applications/{application_id}/actions/{action}", response_model=ApplicationOut,
             summary="A workflow step: submit, withdraw, start_review, request_corrections, resubmit, approve, "
                     "reject, issue_label; 409 when the state does not allow it")
def act(application_id: uuid.UUID, body: ActionIn, action: str = ApplicationAction,
        principal: Principal = Depends(either), session: Session = Depends(get_session)):
    return certification.act(session, principal, application_id, action, body.comment, body.footprint_id)


@router.get("/applications/{application_id}/review", response_model=ReviewOut,
            summary="The verifier's file: inventory, PCR checks, result breakdown and contributions, findings")
def review(application_id: uuid.UUID, principal: Principal = Depends(either), session: Session = Depends(get_session)):
    return certification.review_file(session, principal, application_id)


@router.post("/applications/{application_id}/findings", response_model=FindingOut, status_code=201)
def raise_finding(application_id: uuid.UUID, body: FindingIn, principal: Principal = Depends(verifier),
                  session: Session = Depends(get_session)):
    return certification.raise_finding(session, principal, application_id, body.subject, body.text)


@router.get("/applications/{application_id}/findings", response_model=list[FindingOut])
def list_findings(application_id: uuid.UUID, principal: Principal = Depends(either),
                  session: Session = Depends(get_session)):
    return certification.findings(session, principal, application_id)


@router.get("/labels", response_model=list[LabelOut], summary="Labels issued by your body or to your organisation")
def list_labels(principal: Principal = Depends(either), session: Session = Depends(get_session)):
    column = Label.issuer_id if principal.role in CB_ROLES else Label.organisation_id
    return session.exec(select(Label).where(column == principal.organisation_id).order_by(Label.number)).all()


@router.post("/labels/{number}/actions/{action}", response_model=LabelOut,
             summary="suspend, reinstate or revoke a label you issued; effective at once")
def label_action(number: str, body: LabelActionIn, action: str = LabelAction, principal: Principal = Depends(verifier),
                 session: Session = Depends(get_session)):
    return labels.change_state(session, principal, number, action, body.comment)


@router.post("/signing-keys", response_model=SigningKeyOut, status_code=201,
             summary="Rotate your body's label-signing key; earlier labels keep verifying with the retired key")
def rotate(principal: Principal = Depends(require(Role.CB_ADMIN)), session: Session = Depends(get_session)):
    return labels.rotate_key(session, principal, principal.organisation_id)
