"""Organisations, users, machine clients and their credentials (tokens end on disable and reset), and the part
of the audit trail each admin may read."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from footprint_api.core import uscc
from footprint_api.core.china_time import CHINA_TIME
from footprint_api.core.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from footprint_api.core.settings import get_settings
from footprint_api.infra.security import Principal, hash_secret, issue_token, new_client_secret, verify_secret
from footprint_api.persistence.models import (
    ApiClient,
    AuditEvent,
    Organisation,
    OrganisationKind,
    RevokedToken,
    Role,
    User,
    utcnow,
)
from footprint_api.services import audit, throttle
from footprint_api.services.principals import actor

# the administrators of one organisation's people and clients (the platform admin administers every organisation)
ORGANISATION_ADMINS = (Role.MANUFACTURER_ADMIN, Role.CB_ADMIN, Role.PROCUREMENT_ADMIN)
# roles only a machine client holds: another company's system reading (recipient) or telling (supplier) over PACT
MACHINE_ROLES = frozenset({Role.PACT_RECIPIENT, Role.PACT_SUPPLIER})
ROLES_OF_KIND = {
    OrganisationKind.MANUFACTURER: {
        Role.MANUFACTURER_MEMBER,
        Role.MANUFACTURER_ADMIN,
        Role.PACT_RECIPIENT,
        Role.PACT_SUPPLIER,
    },
    OrganisationKind.CERTIFICATION_BODY: {Role.VERIFIER, Role.CB_ADMIN},
    OrganisationKind.PLATFORM: {Role.PLATFORM_ADMIN},
    OrganisationKind.STANDARDS_BODY: {Role.PCR_AUTHOR, Role.PCR_CHAIR},
    OrganisationKind.PROCUREMENT: {Role.PROCUREMENT_OFFICER, Role.PROCUREMENT_ADMIN},
}
# A dummy hash to spend the same time on unknown accounts as on known ones.
_DUMMY = hash_secret("not-a-password")


REGISTRATION = ("uscc", "address", "contact_name", "contact_phone", "contact_email")  # besides name and kind
CONTACT = frozenset({"address", "contact_name", "contact_phone", "contact_email"})  # an organisation's own admins'


def create_organisation(
    session: Session, principal: Principal | None, name: str, kind: OrganisationKind, **registration: str | None
) -> Organisation:
    """A new organisation, with its registration data (REGISTRATION: the USCC checked by GB 32100-2015, unique)."""
    registration = _registration(registration)
    _refuse_taken(session, None, name=name, code=registration.get("uscc"))
    organisation = Organisation(name=name, kind=kind, **registration)
    session.add(organisation)
    who = actor(principal) if principal else audit.SYSTEM
    audit.record(
        session,
        who,
        "organisation.created",
        "organisation",
        organisation.id,
        after={"name": name, "kind": kind.value, **{k: v for k, v in registration.items() if v is not None}},
        organisation_id=organisation.id,
    )
    _commit_organisation(session, name, registration.get("uscc"))
    return organisation


def update_organisation(
    session: Session, principal: Principal, organisation_id: uuid.UUID, changes: dict[str, str | None]
) -> Organisation:
    """Change an organisation's name, code, address or contact (`changes`: only the fields to change; None clears
    one). The platform admin changes any; an organisation's own admins its address and contact only."""
    organisation = managed_organisation(session, principal, organisation_id)
    if principal.role is not Role.PLATFORM_ADMIN and (registry := sorted(set(changes) - CONTACT)):
        raise Forbidden(
            "only the platform admin changes an organisation's name and code",
            [
                {"field": field, "reason": "platform admin only", "code": "adm.error.platform_only"}
                for field in registry
            ],
            code="adm.error.platform_only",
        )
    if "name" in changes and not changes["name"]:
        raise Unprocessable(
            "an organisation has a name", [{"field": "name", "reason": "required", "code": "adm.invalid.missing"}]
        )
    registration = _registration({field: value for field, value in changes.items() if field != "name"})
    wanted = ({"name": changes["name"]} if "name" in changes else {}) | registration
    changed = {field: value for field, value in wanted.items() if getattr(organisation, field) != value}
    if not changed:
        return organisation
    _refuse_taken(session, organisation.id, name=changed.get("name"), code=changed.get("uscc"))
    before = {field: getattr(organisation, field) for field in changed}
    for field, value in changed.items():
        setattr(organisation, field, value)
    session.add(organisation)
    audit.record(
        session,
        actor(principal),
        "organisation.updated",
        "organisation",
        organisation.id,
        before=before,
        after=changed,
        organisation_id=organisation.id,
    )
    _commit_organisation(session, organisation.name, organisation.uscc)
    return organisation


def _registration(values: dict[str, str | None]) -> dict[str, str | None]:
    """The registration fields given, the code normalised and checked (the schemas check it too; the service holds
    the rule for every caller: the pages, the CLI, the demo)."""
    unknown = set(values) - set(REGISTRATION)
    if unknown:
        raise ValueError(f"not registration fields: {sorted(unknown)}")
    found = dict(values)
    if found.get("uscc"):
        code = uscc.normalised(found["uscc"])
        problem = uscc.check(code)
        if problem is not None:
            raise Unprocessable(
                problem.detail,
                [{"field": "uscc", "reason": problem.detail, "code": problem.code, "params": problem.params}],
                code=problem.code,
                params=problem.params,
            )
        found["uscc"] = code
    return {field: value or None for field, value in found.items()}


def _refuse_taken(session: Session, own_id: uuid.UUID | None, name: str | None, code: str | None) -> None:
    """409 naming the field when another organisation has this name or code (the unique constraints decide
    between concurrent requests: `_commit_organisation`)."""
    for field, value in (("name", name), ("uscc", code)):
        if value is None:
            continue
        holder = session.exec(select(Organisation.id).where(getattr(Organisation, field) == value)).first()
        if holder is not None and holder != own_id:
            raise _taken(field, value)


def _taken(field: str, value: str) -> Conflict:
    if field == "uscc":
        detail, code = (
            f"an organisation with the unified social credit code {value} exists",
            "adm.organisations.uscc_taken",
        )
    else:
        detail, code = f"an organisation named {value!r} exists", "adm.organisations.exists"
    return Conflict(detail, [{"field": field, "reason": detail, "code": code}], code=code)


def _commit_organisation(session: Session, name: str, code: str | None) -> None:
    """Commit; a concurrent request that took the name or the code first makes this one a 409 naming the field."""
    try:
        audit.commit(session)
    except IntegrityError:
        session.rollback()
        if code is not None and session.exec(select(Organisation.id).where(Organisation.uscc == code)).first():
            raise _taken("uscc", code) from None
        raise _taken("name", name) from None


def managed_organisation(session: Session, principal: Principal | None, organisation_id: uuid.UUID) -> Organisation:
    """An organisation the principal administers: the platform admin all, an organisation's admin their own; any
    other answers 404, as if it did not exist."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("no such organisation")
    outsider = principal is not None and principal.role is not Role.PLATFORM_ADMIN
    if outsider and (principal.organisation_id != organisation_id or principal.role not in ORGANISATION_ADMINS):
        raise NotFound("no such organisation")
    return organisation


def _check_can_manage(
    session: Session, principal: Principal | None, organisation_id: uuid.UUID, role: Role
) -> Organisation:
    organisation = managed_organisation(session, principal, organisation_id)
    if role not in ROLES_OF_KIND[organisation.kind]:
        raise Forbidden(f"role {role.value} does not exist in a {organisation.kind.value} organisation")
    return organisation


def create_user(
    session: Session,
    principal: Principal | None,
    organisation_id: uuid.UUID,
    email: str,
    name: str,
    password: str,
    role: Role,
) -> User:
    _check_can_manage(session, principal, organisation_id, role)
    if role in MACHINE_ROLES:
        raise Forbidden(f"a {role.value} is a machine client, not a person")
    user = User(
        email=email.lower(), name=name, password_hash=hash_secret(password), organisation_id=organisation_id, role=role
    )
    session.add(user)
    audit.record(
        session,
        actor(principal) if principal else audit.SYSTEM,
        "user.created",
        "user",
        user.id,
        after={"email": user.email, "role": role.value},
        organisation_id=organisation_id,
    )
    _commit_unique(session, f"a user with e-mail {email!r} exists", "email", "adm.users.exists")
    return user


def create_client(
    session: Session, principal: Principal | None, organisation_id: uuid.UUID, name: str, role: Role
) -> tuple[ApiClient, str]:
    """Returns the client and its secret; only a hash of the secret is stored."""
    _check_can_manage(session, principal, organisation_id, role)
    secret = new_client_secret()
    client = ApiClient(
        client_id=f"pcf_{uuid.uuid4().hex[:20]}",
        secret_hash=hash_secret(secret),
        name=name,
        organisation_id=organisation_id,
        role=role,
    )
    session.add(client)
    audit.record(
        session,
        actor(principal) if principal else audit.SYSTEM,
        "client.created",
        "api_client",
        client.id,
        after={"client_id": client.client_id, "role": role.value},
        organisation_id=organisation_id,
    )
    audit.commit(session)
    return client, secret


def _commit_unique(session: Session, message: str, field: str, code: str) -> None:
    try:
        audit.commit(session)
    except IntegrityError:
        session.rollback()
        raise Conflict(message, [{"field": field, "reason": message, "code": code}], code=code) from None


def password_login(
    session: Session, email: str, password: str, minutes: int | None = None, address: str | None = None
) -> tuple[str, datetime]:
    """An access token for a person; `minutes`: its lifetime when not the API's (a browser session's). Throttled
    per account and per address (services.throttle): 429 before the password is checked once locked."""
    attempt = throttle.keys(email, address)
    throttle.reserve(session, attempt)
    user = session.exec(select(User).where(User.email == email.lower())).first()
    if user is None:
        verify_secret(password, _DUMMY)
    if user is None or not verify_secret(password, user.password_hash) or not user.active:
        throttle.failed(session, attempt, "password")
        raise Unauthorized("wrong e-mail or password")
    user.last_sign_in_at = utcnow()  # the admins' list shows it; not an audit entry (a sign-in changes no data)
    session.add(user)
    throttle.succeeded(session, attempt)
    session.commit()
    return _issue(user, "user", minutes)


def client_login(session: Session, client_id: str, secret: str, address: str | None = None) -> tuple[str, datetime]:
    attempt = throttle.keys(f"client:{client_id}", address)
    throttle.reserve(session, attempt)
    client = session.exec(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    if client is None:
        verify_secret(secret, _DUMMY)
    if client is None or not verify_secret(secret, client.secret_hash) or not client.active:
        throttle.failed(session, attempt, "client")
        raise Unauthorized("invalid client")
    throttle.succeeded(session, attempt)
    session.commit()
    return _issue(client, "client")


def _issue(holder: User | ApiClient, kind: str, minutes: int | None = None) -> tuple[str, datetime]:
    """A token for an active account (its issue time, to the microsecond, is what authenticate() compares with the
    moment the account's credentials were last ended)."""
    settings = get_settings()
    return issue_token(
        holder.id,
        kind,
        holder.organisation_id,
        holder.role,
        settings.signing_key(),
        minutes or settings.access_token_minutes,
    )


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


def organisations(session: Session, principal: Principal) -> list[Organisation]:
    """The organisations the principal administers: all for the platform admin, else their own."""
    query = select(Organisation).order_by(Organisation.name)
    if principal.role is not Role.PLATFORM_ADMIN:
        query = query.where(Organisation.id == principal.organisation_id)
    return list(session.exec(query))


def account_counts(session: Session, principal: Principal) -> dict[str, dict[bool, int]]:
    """How many users and machine clients are active (True) and disabled (False) in the organisations the
    principal administers."""
    counts = {}
    for name, table in (("users", User), ("clients", ApiClient)):
        query = select(table.active, func.count()).group_by(table.active)
        if principal.role is not Role.PLATFORM_ADMIN:
            query = query.where(table.organisation_id == principal.organisation_id)
        counts[name] = {True: 0, False: 0} | dict(session.exec(query).all())
    return counts


def organisation_users(session: Session, principal: Principal, organisation_id: uuid.UUID) -> list[User]:
    managed_organisation(session, principal, organisation_id)
    return list(
        session.exec(
            select(User).where(User.organisation_id == organisation_id).order_by(col(User.created_at), col(User.email))
        )
    )


@dataclass(frozen=True)
class UserQuery:
    """The platform admin's search over every organisation's people: `text` a part of the e-mail address or the
    name (any case); the others exact."""

    text: str | None = None
    organisation_id: uuid.UUID | None = None
    role: Role | None = None
    active: bool | None = None


@dataclass(frozen=True)
class PersonRow:
    """A person as the search lists them: with their organisation and until when their sign-in is locked."""

    user: User
    organisation: Organisation
    locked_until: datetime | None


def find_users(
    session: Session, principal: Principal, query: UserQuery, offset: int, limit: int
) -> tuple[list[PersonRow], int]:
    """A page of the people matching `query` across organisations (the platform admin's only), by e-mail address,
    and how many match."""
    if principal.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("only the platform admin searches every organisation's users", code="adm.error.platform_only")
    conditions = []
    if query.text:
        text = query.text.strip().lower()
        conditions.append(
            or_(
                col(User.email).contains(text, autoescape=True),
                func.lower(col(User.name)).contains(text, autoescape=True),
            )
        )
    for column, value in (
        (User.organisation_id, query.organisation_id),
        (User.role, query.role),
        (User.active, query.active),
    ):
        if value is not None:
            conditions.append(column == value)
    found = session.exec(
        select(User, Organisation)
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(*conditions)
        .order_by(col(User.email))
        .offset(offset)
        .limit(limit)
    ).all()
    total = session.exec(select(func.count()).select_from(User).where(*conditions)).one()
    locked = throttle.locks(session, [user.email for user, _ in found])
    return [PersonRow(user, organisation, locked.get(user.email)) for user, organisation in found], total


def sign_in_locks(session: Session, people: list[User]) -> dict[uuid.UUID, datetime]:
    """Until when each of these people's sign-in is locked by failed attempts (services.throttle): those locked."""
    locked = throttle.locks(session, [person.email for person in people])
    return {person.id: locked[person.email] for person in people if person.email in locked}


def unlock_user(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
    """Lift the lock failed sign-ins put on a person's account (their admins, or the platform admin, once the
    person has been reached by another channel); nothing to lift changes nothing."""
    user = managed_user(session, principal, user_id)
    locked_until = throttle.clear(session, user.email)
    if locked_until is None:
        session.rollback()
        return user
    audit.record(
        session,
        actor(principal),
        "user.unlocked",
        "user",
        user.id,
        before={"locked_until": locked_until.isoformat()},
        after={"email": user.email},
        organisation_id=user.organisation_id,
    )
    audit.commit(session)
    return user


def organisation_clients(session: Session, principal: Principal, organisation_id: uuid.UUID) -> list[ApiClient]:
    managed_organisation(session, principal, organisation_id)
    return list(
        session.exec(
            select(ApiClient)
            .where(ApiClient.organisation_id == organisation_id)
            .order_by(col(ApiClient.created_at), col(ApiClient.client_id))
        )
    )


def _managed(session: Session, principal: Principal, model, object_id: uuid.UUID, noun: str):
    """A user or client of an organisation the principal administers; any other answers 404."""
    found = session.get(model, object_id)
    if found is None:
        raise NotFound(f"no such {noun}")
    try:
        managed_organisation(session, principal, found.organisation_id)
    except NotFound:
        raise NotFound(f"no such {noun}") from None
    return found


def managed_user(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
    return _managed(session, principal, User, user_id, "user")


def managed_client(session: Session, principal: Principal, client_id: uuid.UUID) -> ApiClient:
    return _managed(session, principal, ApiClient, client_id, "client")


def _end_credentials(holder: User | ApiClient) -> None:
    """Every token issued so far stops working at once and for good (auth.authenticate compares their issue time)."""
    holder.credentials_valid_after = utcnow()


def set_user_active(session: Session, principal: Principal, user_id: uuid.UUID, active: bool) -> User:
    """Disable (ending every token and browser session of the person) or enable again (earlier tokens stay ended:
    the person signs in anew)."""
    user = managed_user(session, principal, user_id)
    if not active and user.id == principal.subject:
        raise Conflict("you cannot disable your own account")
    if user.active == active:
        return user
    before = {"active": user.active}
    user.active = active
    if not active:
        _end_credentials(user)
    session.add(user)
    audit.record(
        session,
        actor(principal),
        "user.enabled" if active else "user.disabled",
        "user",
        user.id,
        before=before,
        after={"active": active, "email": user.email},
        organisation_id=user.organisation_id,
    )
    audit.commit(session)
    return user


PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS = 12, 256  # as schemas.UserIn
UNAMBIGUOUS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I: read out or copied by hand


def _readable_password() -> str:
    """Four groups of five characters (20 × log2(55) ≈ 115 bits), e.g. kR7pq-Wd3xZ-…"""
    return "-".join("".join(secrets.choice(UNAMBIGUOUS) for _ in range(5)) for _ in range(4))


def reset_password(
    session: Session, principal: Principal, user_id: uuid.UUID, password: str | None = None
) -> tuple[User, str | None]:
    """Give a person a new password, chosen by the admin or (None) generated: every session signed in with the old
    one ends. Returns the user and the generated password, to be shown once (only its hash is stored)."""
    user = managed_user(session, principal, user_id)
    generated = None
    if password is None:
        password = generated = _readable_password()
    elif not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise Unprocessable(
            f"a password has {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters",
            [{"field": "password", "reason": "length"}],
        )
    user.password_hash = hash_secret(password)
    _end_credentials(user)
    session.add(user)
    audit.record(
        session,
        actor(principal),
        "user.password_reset",
        "user",
        user.id,
        after={"email": user.email, "generated": generated is not None},
        organisation_id=user.organisation_id,
    )
    audit.commit(session)
    return user, generated


def set_client_active(session: Session, principal: Principal, client_id: uuid.UUID, active: bool) -> ApiClient:
    """Disable a machine client (ending its tokens at once) or enable it again (it obtains new tokens)."""
    client = managed_client(session, principal, client_id)
    if client.active == active:
        return client
    before = {"active": client.active}
    client.active = active
    if not active:
        _end_credentials(client)
    session.add(client)
    audit.record(
        session,
        actor(principal),
        "client.enabled" if active else "client.disabled",
        "api_client",
        client.id,
        before=before,
        after={"active": active, "client_id": client.client_id},
        organisation_id=client.organisation_id,
    )
    audit.commit(session)
    return client


# The audit trail as its readers may see it: the platform admin all of it, an organisation's admins their own.


@dataclass(frozen=True)
class TrailFilter:
    action: str | None = None
    object_type: str | None = None
    actor_id: str | None = None
    since: date | None = None  # inclusive, Beijing days (the pages show every moment in UTC+8)
    until: date | None = None  # inclusive


def visible_trail(principal: Principal, query):
    """The platform admin sees every organisation's entries; an organisation's admin only its own."""
    if principal.role is not Role.PLATFORM_ADMIN:
        query = query.where(AuditEvent.organisation_id == principal.organisation_id)
    return query


def filtered_trail(query, filters: TrailFilter):
    """The query narrowed to the entries the filters match."""
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.actor_id:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.since:
        query = query.where(col(AuditEvent.at) >= day_start(filters.since))
    if filters.until and filters.until < date.max:  # the calendar's last day: nothing after it to leave out
        query = query.where(col(AuditEvent.at) < day_start(filters.until + timedelta(days=1)))
    return query


def day_start(day: date) -> datetime:
    """The instant a Beijing day begins, in UTC (2026-12-08 begins at 2026-12-07 16:00 UTC); the calendar's first
    day begins at the earliest instant there is (its Beijing midnight is before year 1 in UTC)."""
    if day == date.min:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.combine(day, clock(), CHINA_TIME).astimezone(UTC)


def audit_trail(
    session: Session, principal: Principal, filters: TrailFilter, offset: int, limit: int
) -> tuple[list[AuditEvent], int]:
    """A page of the visible trail, newest first, and how many entries match."""
    entries = session.exec(
        filtered_trail(visible_trail(principal, select(AuditEvent)), filters)
        .order_by(col(AuditEvent.seq).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    total = session.exec(
        filtered_trail(visible_trail(principal, select(func.count()).select_from(AuditEvent)), filters)
    ).one()
    return list(entries), total


def audit_facets(session: Session, principal: Principal) -> tuple[list[str], list[str]]:
    """The actions and object types of the visible trail, to filter by."""
    actions = session.exec(
        visible_trail(principal, select(AuditEvent.action).distinct()).order_by(AuditEvent.action)
    ).all()
    types = session.exec(
        visible_trail(principal, select(AuditEvent.object_type).distinct()).order_by(AuditEvent.object_type)
    ).all()
    return list(actions), list(types)


def actor_id_of(session: Session, text: str) -> str:
    """The actor id an admin means by an e-mail address or an id (an unknown e-mail matches no entry)."""
    text = text.strip()
    if "@" not in text:
        return text
    user = session.exec(select(User).where(User.email == text.lower())).first()
    return str(user.id) if user else f"unknown:{text}"


def actor_names(session: Session, actor_ids: set[str]) -> dict[str, str]:
    """E-mail of each user and client id of each machine client among these actors, for a readable trail."""
    ids = []
    for text in actor_ids:
        try:
            ids.append(uuid.UUID(text))
        except (TypeError, ValueError):
            continue
    names = {str(u.id): u.email for u in session.exec(select(User).where(col(User.id).in_(ids)))}
    names |= {str(c.id): c.client_id for c in session.exec(select(ApiClient).where(col(ApiClient.id).in_(ids)))}
    return names


def check_chain(session: Session) -> tuple[audit.ChainCheck, int]:
    """The whole trail checked as GET /api/v1/audit/verify does (audit.verify_chain, against the database and the
    witness outside it; a head found intact is then checkpointed and witnessed), and how many entries it has."""
    check = audit.verify_chain(session)
    if check.intact:
        audit.checkpoint(session)
    return check, session.exec(select(func.count()).select_from(AuditEvent)).one()
