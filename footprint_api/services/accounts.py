"""Organisations, users, machine clients and tokens."""

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from footprint_api import audit
from footprint_api.auth import actor
from footprint_api.errors import Conflict, Forbidden, NotFound, Unauthorized
from footprint_api.models import ApiClient, Organisation, OrganisationKind, RevokedToken, Role, User
from footprint_api.security import Principal, hash_secret, issue_token, new_client_secret, verify_secret
from footprint_api.settings import get_settings

ROLES_OF_KIND = {
    OrganisationKind.MANUFACTURER: {Role.MANUFACTURER_MEMBER, Role.MANUFACTURER_ADMIN, Role.PACT_RECIPIENT},
    OrganisationKind.CERTIFICATION_BODY: {Role.VERIFIER, Role.CB_ADMIN},
    OrganisationKind.PLATFORM: {Role.PLATFORM_ADMIN},
}
# A dummy hash to spend the same time on unknown accounts as on known ones.
_DUMMY = hash_secret("not-a-password")


def create_organisation(session: Session, principal: Principal | None, name: str,
                        kind: OrganisationKind) -> Organisation:
    organisation = Organisation(name=name, kind=kind)
    session.add(organisation)
    who = actor(principal) if principal else audit.SYSTEM
    audit.record(session, who, "organisation.created", "organisation", organisation.id,
                 after={"name": name, "kind": kind.value}, organisation_id=organisation.id)
    _commit_unique(session, f"an organisation named {name!r} exists")
    return organisation


def _check_can_manage(session: Session, principal: Principal | None, organisation_id: uuid.UUID,
                      role: Role) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("no such organisation")
    if principal is not None and principal.role is not Role.PLATFORM_ADMIN:
        if principal.organisation_id != organisation_id or principal.role not in (Role.MANUFACTURER_ADMIN,
                                                                                   Role.CB_ADMIN):
            raise NotFound("no such organisation")
    if role not in ROLES_OF_KIND[organisation.kind]:
        raise Forbidden(f"role {role.value} does not exist in a {organisation.kind.value} organisation")
    return organisation


def create_user(session: Session, principal: Principal | None, organisation_id: uuid.UUID, email: str, name: str,
                password: str, role: Role) -> User:
    _check_can_manage(session, principal, organisation_id, role)
    if role is Role.PACT_RECIPIENT:
        raise Forbidden("a PACT recipient is a machine client, not a person")
    user = User(email=email.lower(), name=name, password_hash=hash_secret(password),
                organisation_id=organisation_id, role=role)
    session.add(user)
    audit.record(session, actor(principal) if principal else audit.SYSTEM, "user.created", "user", user.id,
                 after={"email": user.email, "role": role.value}, organisation_id=organisation_id)
    _commit_unique(session, f"a user with e-mail {email!r} exists")
    return user


def create_client(session: Session, principal: Principal | None, organisation_id: uuid.UUID, name: str,
                  role: Role) -> tuple[ApiClient, str]:
    """Returns the client and its secret; only a hash of the secret is stored."""
    _check_can_manage(session, principal, organisation_id, role)
    secret = new_client_secret()
    client = ApiClient(client_id=f"pcf_{uuid.uuid4().hex[:20]}", secret_hash=hash_secret(secret), name=name,
                       organisation_id=organisation_id, role=role)
    session.add(client)
    audit.record(session, actor(principal) if principal else audit.SYSTEM, "client.created", "api_client",
                 client.id, after={"client_id": client.client_id, "role": role.value}, organisation_id=organisation_id)
    audit.commit(session)
    return client, secret


def _commit_unique(session: Session, message: str) -> None:
    try:
        audit.commit(session)
    except IntegrityError:
        session.rollback()
        raise Conflict(message) from None


def password_login(session: Session, email: str, password: str, minutes: int | None = None) -> tuple[str, datetime]:
    """An access token for a person; `minutes`: its lifetime when not the API's (a browser session's)."""
    user = session.exec(select(User).where(User.email == email.lower())).first()
    if user is None:
        verify_secret(password, _DUMMY)
        raise Unauthorized("wrong e-mail or password")
    if not verify_secret(password, user.password_hash) or not user.active:
        raise Unauthorized("wrong e-mail or password")
    return _issue(user.id, "user", user.organisation_id, user.role, minutes)


def client_login(session: Session, client_id: str, secret: str) -> tuple[str, datetime]:
    client = session.exec(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    if client is None:
        verify_secret(secret, _DUMMY)
        raise Unauthorized("invalid client")
    if not verify_secret(secret, client.secret_hash) or not client.active:
        raise Unauthorized("invalid client")
    return _issue(client.id, "client", client.organisation_id, client.role)


def _issue(subject, kind, organisation_id, role, minutes: int | None = None) -> tuple[str, datetime]:
    settings = get_settings()
    return issue_token(subject, kind, organisation_id, role, settings.signing_key(),
                       minutes or settings.access_token_minutes)


def revoke(session: Session, principal: Principal) -> None:
    if session.get(RevokedToken, principal.jti) is None:
        session.add(RevokedToken(jti=principal.jti, expires_at=principal.expires_at))
        audit.record(session, actor(principal), "token.revoked", "token", principal.jti)
        audit.commit(session)


def purge_expired_revocations(session: Session) -> int:
    expired = session.exec(select(RevokedToken).where(RevokedToken.expires_at < datetime.now(UTC))).all()
    for token in expired:
        session.delete(token)
    session.commit()
    return len(expired)


def list_users(session: Session, principal: Principal) -> list[User]:
    return list(session.exec(select(User).where(User.organisation_id == principal.organisation_id)))
