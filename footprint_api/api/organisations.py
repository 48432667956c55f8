import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from footprint_api.api.deps import AdminDep, CurrentPrincipal, PlatformAdminDep
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Organisation, OrganisationKind, Role, User
from footprint_api.schemas import (
    ClientIn,
    ClientOut,
    OrganisationIn,
    OrganisationOut,
    OrganisationSummary,
    OrganisationUpdate,
    UserIn,
    UserOut,
)
from footprint_api.services import accounts

router = APIRouter(prefix="/api/v1", tags=["organisations"])


class ClientSummaryOut(BaseModel):
    """A machine client as its administrators see it (never its secret)."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    client_id: str
    name: str
    role: Role
    organisation_id: uuid.UUID
    active: bool
    created_at: datetime


class PasswordResetIn(BaseModel):
    password: str | None = Field(
        None,
        min_length=accounts.PASSWORD_MIN_CHARS,
        max_length=accounts.PASSWORD_MAX_CHARS,
        description="the new password; omit it to have one generated",
    )


class PasswordResetOut(BaseModel):
    user: UserOut
    password: str | None = Field(description="the generated password, shown once (null when the admin chose one)")


@router.post(
    "/organisations",
    response_model=OrganisationOut,
    status_code=201,
    summary="Create an organisation with its registration data; a unified social credit code taken already is 409",
)
def create_organisation(body: OrganisationIn, session: SessionDep, principal: PlatformAdminDep):
    registration = body.model_dump(include=set(accounts.REGISTRATION))
    return accounts.create_organisation(session, principal, body.name, body.kind, **registration)


@router.patch(
    "/organisations/{organisation_id}",
    response_model=OrganisationOut,
    summary="Change an organisation: the platform admin its name, code, address and contact; its own admins the "
    "address and contact",
)
def update_organisation(organisation_id: uuid.UUID, body: OrganisationUpdate, session: SessionDep, principal: AdminDep):
    changes = body.model_dump(include=body.model_fields_set, mode="json")
    return accounts.update_organisation(session, principal, organisation_id, changes)


@router.get("/certification-bodies", response_model=list[OrganisationSummary])
def certification_bodies(session: SessionDep, _: CurrentPrincipal):
    return session.exec(
        select(Organisation).where(Organisation.kind == OrganisationKind.CERTIFICATION_BODY).order_by(Organisation.name)
    ).all()


@router.post("/organisations/{organisation_id}/users", response_model=UserOut, status_code=201)
def create_user(organisation_id: uuid.UUID, body: UserIn, session: SessionDep, principal: AdminDep):
    return accounts.create_user(session, principal, organisation_id, body.email, body.name, body.password, body.role)


@router.post("/organisations/{organisation_id}/clients", response_model=ClientOut, status_code=201)
def create_client(organisation_id: uuid.UUID, body: ClientIn, session: SessionDep, principal: AdminDep):
    client, secret = accounts.create_client(session, principal, organisation_id, body.name, body.role)
    return ClientOut(id=client.id, client_id=client.client_id, client_secret=secret, role=client.role)


@router.get("/users", response_model=list[UserOut])
def users(session: SessionDep, principal: AdminDep):
    return accounts.list_users(session, principal)


@router.get("/me", response_model=UserOut | OrganisationOut)
def me(session: SessionDep, principal: CurrentPrincipal):
    if principal.kind == "user":
        return session.get(User, principal.subject)
    return session.get(Organisation, principal.organisation_id)


@router.get(
    "/organisations",
    response_model=list[OrganisationOut],
    summary="Organisations you administer: all for the platform admin, your own for its admins",
)
def organisations(session: SessionDep, principal: AdminDep):
    return accounts.organisations(session, principal)


@router.get("/organisations/{organisation_id}/users", response_model=list[UserOut])
def organisation_users(organisation_id: uuid.UUID, session: SessionDep, principal: AdminDep):
    return accounts.organisation_users(session, principal, organisation_id)


@router.get("/organisations/{organisation_id}/clients", response_model=list[ClientSummaryOut])
def organisation_clients(organisation_id: uuid.UUID, session: SessionDep, principal: AdminDep):
    return accounts.organisation_clients(session, principal, organisation_id)


@router.post(
    "/users/{user_id}/disable",
    response_model=UserOut,
    summary="Disable a user: every access token and browser session of theirs ends at once, for good",
)
def disable_user(user_id: uuid.UUID, session: SessionDep, principal: AdminDep):
    return accounts.set_user_active(session, principal, user_id, False)


@router.post(
    "/users/{user_id}/enable",
    response_model=UserOut,
    summary="Enable a user again; tokens issued before the disable stay refused",
)
def enable_user(user_id: uuid.UUID, session: SessionDep, principal: AdminDep):
    return accounts.set_user_active(session, principal, user_id, True)


@router.post(
    "/users/{user_id}/password",
    response_model=PasswordResetOut,
    summary="Reset a user's password (given, or generated and returned once); their sessions end",
)
def reset_password(user_id: uuid.UUID, session: SessionDep, principal: AdminDep, body: PasswordResetIn | None = None):
    user, generated = accounts.reset_password(session, principal, user_id, body.password if body else None)
    return PasswordResetOut(user=UserOut.model_validate(user), password=generated)


@router.post(
    "/clients/{client_id}/disable",
    response_model=ClientSummaryOut,
    summary="Disable a machine client: its access tokens end at once, for good",
)
def disable_client(client_id: uuid.UUID, session: SessionDep, principal: AdminDep):
    return accounts.set_client_active(session, principal, client_id, False)


@router.post(
    "/clients/{client_id}/enable",
    response_model=ClientSummaryOut,
    summary="Enable a machine client again; tokens issued before the disable stay refused",
)
def enable_client(client_id: uuid.UUID, session: SessionDep, principal: AdminDep):
    return accounts.set_client_active(session, principal, client_id, True)
