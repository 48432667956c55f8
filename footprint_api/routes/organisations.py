import uuid

from fastapi import APIRouter, Depends
from sqlmodel import Session, select

from footprint_api.auth import ADMIN_ROLES, current_principal, require
from footprint_api.db import get_session
from footprint_api.models import Organisation, OrganisationKind, Role, User
from footprint_api.schemas import ClientIn, ClientOut, OrganisationIn, OrganisationOut, UserIn, UserOut
from footprint_api.security import Principal
from footprint_api.services import accounts

router = APIRouter(prefix="/api/v1", tags=["organisations"])


@router.post("/organisations", response_model=OrganisationOut, status_code=201)
def create_organisation(body: OrganisationIn, principal: Principal = Depends(require(Role.PLATFORM_ADMIN)),
                        session: Session = Depends(get_session)):
    return accounts.create_organisation(session, principal, body.name, body.kind)


@router.get("/certification-bodies", response_model=list[OrganisationOut])
def certification_bodies(_: Principal = Depends(current_principal), session: Session = Depends(get_session)):
    return session.exec(select(Organisation).where(Organisation.kind == OrganisationKind.CERTIFICATION_BODY)
                        .order_by(Organisation.name)).all()


@router.post("/organisations/{organisation_id}/users", response_model=UserOut, status_code=201)
def create_user(organisation_id: uuid.UUID, body: UserIn, principal: Principal = Depends(require(*ADMIN_ROLES)),
                session: Session = Depends(get_session)):
    return accounts.create_user(session, principal, organisation_id, body.email, body.name, body.password, body.role)


@router.post("/organisations/{organisation_id}/clients", response_model=ClientOut, status_code=201)
def create_client(organisation_id: uuid.UUID, body: ClientIn, principal: Principal = Depends(require(*ADMIN_ROLES)),
                  session: Session = Depends(get_session)):
    client, secret = accounts.create_client(session, principal, organisation_id, body.name, body.role)
    return ClientOut(id=client.id, client_id=client.client_id, client_secret=secret, role=client.role)


@router.get("/users", response_model=list[UserOut])
def users(principal: Principal = Depends(require(*ADMIN_ROLES)), session: Session = Depends(get_session)):
    return accounts.list_users(session, principal)


@router.get("/me", response_model=UserOut | OrganisationOut)
def me(principal: Principal = Depends(current_principal), session: Session = Depends(get_session)):
    if principal.kind == "user":
        return session.get(User, principal.subject)
    return session.get(Organisation, principal.organisation_id)
