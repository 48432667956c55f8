"""Pages of the web application: administration of organisations, users, machine clients, signing keys and the
audit trail.

Every handler parses, authorises (an admin's session), calls the same service functions as the JSON API
(services.accounts, services.labels, audit) and renders. The services decide who may manage what: an organisation's
admins their own organisation, the platform admin all; another organisation's user or client answers 404.
A secret (a generated password, a client secret) is shown once, in the answer to the form that made it: it is never
stored, put in a URL or a cookie, and the page is not cached.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from footprint_api.core.errors import Conflict, Forbidden, Unprocessable
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import OrganisationKind, Role
from footprint_api.schemas import ClientIn, OrganisationIn, UserIn
from footprint_api.services import accounts, labels
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import PageUser

router = page_router()
admin = session.page_user(Role.MANUFACTURER_ADMIN, Role.CB_ADMIN, Role.PLATFORM_ADMIN)
platform_admin = session.page_user(Role.PLATFORM_ADMIN)
key_admin = session.page_user(Role.CB_ADMIN, Role.PLATFORM_ADMIN)
key_rotator = session.page_user(Role.CB_ADMIN)
AdminDep = Annotated[PageUser, Depends(admin)]
PlatformAdminDep = Annotated[PageUser, Depends(platform_admin)]
KeyAdminDep = Annotated[PageUser, Depends(key_admin)]
KeyRotatorDep = Annotated[PageUser, Depends(key_rotator)]
TRAIL_PAGE = 50  # entries per page of the audit trail
TRAIL_MAX_PAGE = 100_000
FILTER_MAX_CHARS = 254
DONE = {
    "user_created",
    "user_disabled",
    "user_enabled",
    "client_disabled",
    "client_enabled",
    "key_rotated",
    "organisation_created",
}  # notices after a redirect: message keys adm.done.<code>, never a reflected string


# --- presentation -----------------------------------------------------------------------------------------------


def shown(value) -> str:
    """A value of an audit entry's before/after as a person reads it (the template escapes it)."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(before: dict | None, after: dict | None) -> list[tuple[str, str, str]]:
    """(field, before, after) of an entry, every field of either side once."""
    before, after = before or {}, after or {}
    return [
        (key, shown(before.get(key)) if key in before else "", shown(after.get(key)) if key in after else "")
        for key in sorted(before.keys() | after.keys())
    ]


def _t(request: Request):
    return i18n.catalogue(i18n.negotiate(request))


def _render(request: Request, template: str, user, status_code: int = 200, **values):
    t = _t(request)
    return page(
        request,
        f"admin/{template}",
        user,
        status_code,
        when=when,
        term=lambda group, key: t.messages.get(f"adm.{group}.{key}", key),
        tabs=_tabs(user),
        **values,
    )


def _tabs(user) -> list[tuple[str, str]]:
    """The sections of administration this person has: (message key, path)."""
    own = user.principal.organisation_id
    tabs = [
        ("adm.tab.overview", "/app/admin"),
        ("adm.tab.organisations", "/app/admin/organisations"),
        ("adm.tab.users", f"/app/admin/organisations/{own}/users"),
        ("adm.tab.clients", f"/app/admin/organisations/{own}/clients"),
    ]
    if user.role is not Role.MANUFACTURER_ADMIN:
        tabs.append(("adm.tab.keys", "/app/admin/keys"))
    return [*tabs, ("adm.tab.audit", "/app/admin/audit")]


def _notice(request: Request, done: str | None) -> str | None:
    return _t(request)(f"adm.done.{done}") if done in DONE else None


def _back(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _field_errors(request: Request, exc: ValidationError) -> dict[str, str]:
    """The JSON API's validation (schemas) of a form, each error next to its field in the reader's language."""
    t = _t(request)
    errors = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "form"
        context = error.get("ctx") or {}
        kind = "missing" if error["type"] == "string_too_short" and context.get("min_length") == 1 else error["type"]
        key = f"adm.invalid.{kind}"
        errors.setdefault(
            field,
            t(key, **{k: v for k, v in context.items() if k in ("min_length", "max_length")})
            if key in t.messages
            else t("adm.invalid.value"),
        )
    return errors


def _unprintable(request: Request, values: dict[str, str]) -> dict[str, str]:
    """Fields holding control characters (PostgreSQL cannot store a NUL byte): named at the field, nothing stored."""
    return {
        name: _t(request)("adm.invalid.value")
        for name, value in values.items()
        if any(ord(char) < 32 for char in value)
    }


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _call(db: Session, function, *args):
    return run_in_threadpool(function, db, *args)


# --- overview ---------------------------------------------------------------------------------------------------


@router.get("/app/admin")
def overview(request: Request, db: SessionDep, user: AdminDep):
    recent, total = accounts.audit_trail(db, user.principal, accounts.TrailFilter(), 0, 5)
    return _render(
        request,
        "overview.html",
        user,
        organisations=accounts.organisations(db, user.principal),
        counts=accounts.account_counts(db, user.principal),
        recent=recent,
        trail_total=total,
        actors=accounts.actor_names(db, {e.actor_id for e in recent if e.actor_id}),
    )


# --- organisations ----------------------------------------------------------------------------------------------


def _organisations_page(request, user, db, status_code=200, errors=None, values=None, done=None):
    return _render(
        request,
        "organisations.html",
        user,
        status_code,
        organisations=accounts.organisations(db, user.principal),
        kinds=list(OrganisationKind),
        errors=errors or {},
        values=values or {},
        notice=_notice(request, done),
    )


@router.get("/app/admin/organisations")
def organisations_page(request: Request, db: SessionDep, user: AdminDep, done: str | None = None):
    return _organisations_page(request, user, db, done=done)


@router.post("/app/admin/organisations")
async def create_organisation(request: Request, db: SessionDep, user: PlatformAdminDep):
    data = await session.form(request, user)
    values = {"name": _text(data, "name"), "kind": _text(data, "kind")}
    if errors := _unprintable(request, values):
        return _organisations_page(request, user, db, 422, errors, values)
    try:
        body = OrganisationIn.model_validate(values)
        await _call(db, accounts.create_organisation, user.principal, body.name, body.kind)
    except ValidationError as exc:
        return _organisations_page(request, user, db, 422, _field_errors(request, exc), values)
    except Conflict:
        return _organisations_page(request, user, db, 409, {"name": _t(request)("adm.organisations.exists")}, values)
    return _back("/app/admin/organisations", "organisation_created")


# --- users and machine clients ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountKind:
    """What differs between an organisation's people and its machine clients; the steps of their pages are one:
    the list with its create form, creating (each error next to its field), disabling and enabling."""

    plural: str  # the path segment, the template (users.html) and the list's name in it
    singular: str  # the notices after a redirect: adm.done.<singular>_created, _disabled, _enabled
    listed: Callable  # (db, principal, organisation_id) -> the organisation's accounts
    people: bool  # the roles offered: PACT recipients are machine clients only
    fields: tuple[str, ...]  # the form's fields shown again after an error
    secret_fields: tuple[str, ...]  # the form's fields validated but never shown again (a first password)
    schema: type[BaseModel]  # the JSON API's validation of the form
    create: Callable  # (db, principal, organisation_id, body) -> what the answer shows once, or None: redirect
    taken: tuple[str, str] | None  # (field, message key) named when the account exists already (409)
    set_active: Callable  # (db, principal, account_id, active) -> the account


def _create_user(db: Session, principal, organisation_id: uuid.UUID, body: UserIn) -> None:
    accounts.create_user(db, principal, organisation_id, str(body.email), body.name, body.password, body.role)


def _create_client(db: Session, principal, organisation_id: uuid.UUID, body: ClientIn) -> dict:
    client, secret = accounts.create_client(db, principal, organisation_id, body.name, body.role)
    return {"client": client, "secret": secret}


USERS = AccountKind(
    plural="users",
    singular="user",
    listed=accounts.organisation_users,
    people=True,
    fields=("email", "name", "role"),
    secret_fields=("password",),
    schema=UserIn,
    create=_create_user,
    taken=("email", "adm.users.exists"),
    set_active=accounts.set_user_active,
)
CLIENTS = AccountKind(
    plural="clients",
    singular="client",
    listed=accounts.organisation_clients,
    people=False,
    fields=("name", "role"),
    secret_fields=(),
    schema=ClientIn,
    create=_create_client,
    taken=None,
    set_active=accounts.set_client_active,
)


def _roles(organisation, people: bool = True) -> list[Role]:
    """The roles of this kind of organisation, least privileged first (the form's default); PACT recipients are
    machine clients only."""
    roles = accounts.ROLES_OF_KIND[organisation.kind] - ({Role.PACT_RECIPIENT} if people else set())
    return [role for role in Role if role in roles]


def _accounts_page(
    kind: AccountKind,
    request,
    user,
    db,
    organisation_id,
    status_code=200,
    errors=None,
    values=None,
    done=None,
    created=None,
):
    organisation = accounts.managed_organisation(db, user.principal, organisation_id)
    return _render(
        request,
        f"{kind.plural}.html",
        user,
        status_code,
        organisation=organisation,
        roles=_roles(organisation, people=kind.people),
        errors=errors or {},
        values=values or {},
        notice=_notice(request, done),
        created=created,
        **{kind.plural: kind.listed(db, user.principal, organisation_id)},
    )


async def _create_account(kind: AccountKind, request: Request, user, db: Session, organisation_id: uuid.UUID):
    data = await session.form(request, user)
    accounts.managed_organisation(db, user.principal, organisation_id)  # another organisation: 404 before anything
    values = {name: _text(data, name) for name in kind.fields}
    if errors := _unprintable(request, values):
        return _accounts_page(kind, request, user, db, organisation_id, 422, errors, values)
    try:
        body = kind.schema.model_validate({**values, **{name: data.get(name, "") for name in kind.secret_fields}})
        created = await _call(db, kind.create, user.principal, organisation_id, body)
    except ValidationError as exc:
        return _accounts_page(kind, request, user, db, organisation_id, 422, _field_errors(request, exc), values)
    except Forbidden:  # a role this kind of organisation does not have
        return _accounts_page(
            kind, request, user, db, organisation_id, 422, {"role": _t(request)("adm.invalid.role")}, values
        )
    except Conflict:
        if kind.taken is None:
            raise
        field, message = kind.taken
        return _accounts_page(kind, request, user, db, organisation_id, 409, {field: _t(request)(message)}, values)
    if created is None:
        return _back(f"/app/admin/organisations/{organisation_id}/{kind.plural}", f"{kind.singular}_created")
    return _accounts_page(kind, request, user, db, organisation_id, created=created)


async def _set_active(kind: AccountKind, request: Request, user, db: Session, account_id: uuid.UUID, active: bool):
    await session.form(request, user)
    changed = await _call(db, kind.set_active, user.principal, account_id, active)
    done = f"{kind.singular}_{'enabled' if active else 'disabled'}"
    return _back(f"/app/admin/organisations/{changed.organisation_id}/{kind.plural}", done)


@router.get("/app/admin/organisations/{organisation_id}/users")
def users_page(request: Request, organisation_id: uuid.UUID, db: SessionDep, user: AdminDep, done: str | None = None):
    return _accounts_page(USERS, request, user, db, organisation_id, done=done)


@router.post("/app/admin/organisations/{organisation_id}/users")
async def create_user(request: Request, organisation_id: uuid.UUID, db: SessionDep, user: AdminDep):
    return await _create_account(USERS, request, user, db, organisation_id)


@router.post("/app/admin/users/{user_id}/disable")
async def disable_user(request: Request, user_id: uuid.UUID, db: SessionDep, user: AdminDep):
    return await _set_active(USERS, request, user, db, user_id, False)


@router.post("/app/admin/users/{user_id}/enable")
async def enable_user(request: Request, user_id: uuid.UUID, db: SessionDep, user: AdminDep):
    return await _set_active(USERS, request, user, db, user_id, True)


@router.get("/app/admin/organisations/{organisation_id}/clients")
def clients_page(request: Request, organisation_id: uuid.UUID, db: SessionDep, user: AdminDep, done: str | None = None):
    return _accounts_page(CLIENTS, request, user, db, organisation_id, done=done)


@router.post("/app/admin/organisations/{organisation_id}/clients")
async def create_client(request: Request, organisation_id: uuid.UUID, db: SessionDep, user: AdminDep):
    """The client's secret is shown in this answer and never again (only its hash is stored)."""
    return await _create_account(CLIENTS, request, user, db, organisation_id)


@router.post("/app/admin/clients/{client_id}/disable")
async def disable_client(request: Request, client_id: uuid.UUID, db: SessionDep, user: AdminDep):
    return await _set_active(CLIENTS, request, user, db, client_id, False)


@router.post("/app/admin/clients/{client_id}/enable")
async def enable_client(request: Request, client_id: uuid.UUID, db: SessionDep, user: AdminDep):
    return await _set_active(CLIENTS, request, user, db, client_id, True)


# --- a user's password ------------------------------------------------------------------------------------------


def _password_page(request, user, db, user_id, status_code=200, errors=None, new_password=None, chosen=False):
    person = accounts.managed_user(db, user.principal, user_id)
    return _render(
        request,
        "password.html",
        user,
        status_code,
        person=person,
        errors=errors or {},
        new_password=new_password,
        chosen=chosen,
        min_chars=accounts.PASSWORD_MIN_CHARS,
        max_chars=accounts.PASSWORD_MAX_CHARS,
    )


@router.get("/app/admin/users/{user_id}/password")
def password_page(request: Request, user_id: uuid.UUID, db: SessionDep, user: AdminDep):
    return _password_page(request, user, db, user_id)


@router.post("/app/admin/users/{user_id}/password")
async def reset_password(request: Request, user_id: uuid.UUID, db: SessionDep, user: AdminDep):
    """The new password is shown in this answer (when generated) and nowhere else, ever."""
    data = await session.form(request, user)
    chosen = data.get("password") if isinstance(data.get("password"), str) else ""
    try:
        _, generated = await _call(db, accounts.reset_password, user.principal, user_id, chosen or None)
    except Unprocessable:
        return _password_page(
            request,
            user,
            db,
            user_id,
            422,
            {"password": _t(request)("adm.password.help", min=accounts.PASSWORD_MIN_CHARS)},
        )
    return _password_page(request, user, db, user_id, new_password=generated, chosen=generated is None)


# --- signing keys -----------------------------------------------------------------------------------------------


@router.get("/app/admin/keys")
def keys_page(request: Request, db: SessionDep, user: KeyAdminDep, done: str | None = None):
    """A certification body's admin sees and rotates their body's keys; the platform admin sees every body's (the
    keys are published anyway: /.well-known/pcf-label-keys.json)."""
    own = str(user.principal.organisation_id)
    keys = [
        {
            **key,
            "created": datetime.fromisoformat(key["created_at"]),
            "retired": datetime.fromisoformat(key["retired_at"]) if key["retired_at"] else None,
        }
        for key in reversed(labels.published_keys(db))
        if user.role is Role.PLATFORM_ADMIN or key["issuer"]["id"] == own
    ]
    return _render(
        request, "keys.html", user, keys=keys, can_rotate=user.role is Role.CB_ADMIN, notice=_notice(request, done)
    )


@router.post("/app/admin/keys")
async def rotate_key(request: Request, db: SessionDep, user: KeyRotatorDep):
    await session.form(request, user)
    await _call(db, labels.rotate_key, user.principal, user.principal.organisation_id)
    return _back("/app/admin/keys", "key_rotated")


# --- the audit trail --------------------------------------------------------------------------------------------


def _day(text: str, field: str, errors: dict, t) -> date | None:
    """A day of the date filter (YYYY-MM-DD, as <input type=date> sends it); a malformed one is named."""
    if not text:
        return None
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    errors[field] = t("adm.audit.bad_date")
    return None


@router.get("/app/admin/audit")
def audit_page(
    request: Request,
    db: SessionDep,
    user: AdminDep,
    action: str = "",
    object_type: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
    page_number: int = 1,
):
    t = _t(request)
    values = {"action": action, "object_type": object_type, "actor": actor, "since": since, "until": until}
    errors = _unprintable(request, values) | {
        name: t("adm.invalid.string_too_long", max_length=FILTER_MAX_CHARS)
        for name, value in values.items()
        if len(value) > FILTER_MAX_CHARS
    }
    values = {name: "" if name in errors else value for name, value in values.items()}
    since_day, until_day = _day(values["since"], "since", errors, t), _day(values["until"], "until", errors, t)
    if since_day and until_day and until_day < since_day:
        errors["until"] = t("adm.audit.bad_range")
    page_number = min(max(page_number, 1), TRAIL_MAX_PAGE)
    filters = accounts.TrailFilter(
        values["action"] or None,
        values["object_type"] or None,
        accounts.actor_id_of(db, values["actor"]) if values["actor"] else None,
        since_day,
        until_day,
    )
    entries, total = (
        ([], 0)
        if errors
        else accounts.audit_trail(db, user.principal, filters, (page_number - 1) * TRAIL_PAGE, TRAIL_PAGE)
    )
    actions, object_types = accounts.audit_facets(db, user.principal)
    query = {key: value for key, value in values.items() if value}
    pages = max(1, -(-total // TRAIL_PAGE))
    return _render(
        request,
        "audit.html",
        user,
        422 if errors else 200,
        entries=entries,
        total=total,
        actors=accounts.actor_names(db, {e.actor_id for e in entries if e.actor_id}),
        changes=changes,
        values=values,
        errors=errors,
        actions=actions,
        object_types=object_types,
        page_number=page_number,
        pages=pages,
        newer=f"?{urlencode({**query, 'page_number': page_number - 1})}" if page_number > 1 else None,
        older=f"?{urlencode({**query, 'page_number': page_number + 1})}" if page_number < pages else None,
        can_check=user.role is Role.PLATFORM_ADMIN,
    )


@router.get("/app/admin/audit/chain")
def chain_check(request: Request, db: SessionDep, user: PlatformAdminDep):
    """The hash chain of the whole trail recomputed, as GET /api/v1/audit/verify does (the platform admin's)."""
    check, entries = accounts.check_chain(db)
    return _render(request, "chain.html", user, check=check, entries=entries)
