"""Pages of the web application: administration of organisations, users, machine clients, signing keys and the
audit trail.

Every handler parses, authorises (an admin's session), calls the same service functions as the JSON API
(services.accounts, services.labels, audit) and renders. The services decide who may manage what: an organisation's
admins their own organisation, the platform admin all; another organisation's user or client answers 404.
A secret (a generated password, a client secret) is shown once, in the answer to the form that made it: it is never
stored, put in a URL or a cookie, and the page is not cached.
"""

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from footprint_api.core.china_time import CHINA_TIME
from footprint_api.core.errors import Conflict, Forbidden, ServiceError, Unprocessable
from footprint_api.infra.http import attachment
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import OrganisationKind, Role, utcnow
from footprint_api.schemas import ClientIn, OrganisationIn, OrganisationUpdate, UserIn
from footprint_api.services import accounts, audit_export, labels
from footprint_api.services.principals import ADMIN_ROLES
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import PageUser

router = page_router()
admin = session.page_user(*ADMIN_ROLES)
platform_admin = session.page_user(Role.PLATFORM_ADMIN)
key_admin = session.page_user(Role.CB_ADMIN, Role.PLATFORM_ADMIN)
key_rotator = session.page_user(Role.CB_ADMIN)
AdminDep = Annotated[PageUser, Depends(admin)]
PlatformAdminDep = Annotated[PageUser, Depends(platform_admin)]
KeyAdminDep = Annotated[PageUser, Depends(key_admin)]
KeyRotatorDep = Annotated[PageUser, Depends(key_rotator)]
TRAIL_PAGE = 50  # entries per page of the audit trail
PEOPLE_PAGE = 50  # people per page of the user search
MAX_PAGE = 100_000
FILTER_MAX_CHARS = 254
EXPORT_DAYS = 30  # the period the export form offers when the trail is not filtered by days
DONE = {
    "user_created",
    "user_disabled",
    "user_enabled",
    "user_unlocked",
    "client_disabled",
    "client_enabled",
    "key_rotated",
    "organisation_created",
    "organisation_saved",
}  # notices after a redirect: message keys adm.done.<code>, never a reflected string
ORGANISATION_FIELDS = ("name", "kind", *accounts.REGISTRATION)  # the create form's, in its order


# --- presentation -----------------------------------------------------------------------------------------------


NAMED_VALUES = {"role": "adm.role", "kind": "adm.kind"}  # fields of the trail whose values the catalogue names
RELEASE_REASONS = (  # the reasons services.certificates records in English, as message keys with their values
    (re.compile(r"replaced by version (?P<version>\d+)"), "adm.value.replaced"),
    (re.compile(r"application withdrawn"), "adm.value.application_withdrawn"),
    (re.compile(r"application rejected"), "adm.value.application_rejected"),
)


def shown(value, t=None, key: str | None = None) -> str:
    """A value of an audit entry's before/after as a person reads it (the template escapes it), in the reader's
    language (`t`) where the catalogue words it: yes or no, a role, a kind of organisation, a reason recorded with
    its code and values, a certificate's release reason; anything else as recorded."""
    if value is None:
        return "–"
    if t is not None and (worded := _worded(value, t, key)) is not None:
        return worded
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _worded(value, t, key: str | None) -> str | None:
    if isinstance(value, bool):
        return t("adm.yes") if value else t("adm.no")
    if _coded(value) and value["code"] in t.messages:
        return t(value["code"], **value["params"])
    if isinstance(value, str) and key in NAMED_VALUES and f"{NAMED_VALUES[key]}.{value}" in t.messages:
        return t(f"{NAMED_VALUES[key]}.{value}")
    if isinstance(value, str) and key == "released_reason":
        for pattern, message in RELEASE_REASONS:
            if found := pattern.fullmatch(value):
                return t(message, **found.groupdict())
    return None


def _coded(value) -> bool:
    """A reason recorded as {code, params} (services.labels: the service's own reasons)."""
    return isinstance(value, dict) and set(value) == {"code", "params"} and isinstance(value["params"], dict)


def changes(before: dict | None, after: dict | None, t=None) -> list[tuple[str, str, str]]:
    """(field, before, after) of an entry, every field of either side once; a side's `comment` that a coded
    `reason` beside it states again (in English) is left out when the reason can be worded."""
    sides = []
    for side in (before or {}, after or {}):
        coded = t is not None and _coded(side.get("reason")) and side["reason"]["code"] in t.messages
        sides.append({k: v for k, v in side.items() if not (coded and k == "comment")})
    before, after = sides
    return [
        (
            key,
            shown(before.get(key), t, key) if key in before else "",
            shown(after.get(key), t, key) if key in after else "",
        )
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
    if user.role is Role.PLATFORM_ADMIN:
        tabs.append(("adm.tab.people", "/app/admin/people"))
    if user.role in (Role.CB_ADMIN, Role.PLATFORM_ADMIN):  # the signing keys of labels
        tabs.append(("adm.tab.keys", "/app/admin/keys"))
    if user.role is Role.PLATFORM_ADMIN:
        tabs.append(("adm.tab.benchmarks", "/app/admin/benchmarks"))
        tabs.append(("bg.tab", "/app/admin/backgrounds"))
    return [*tabs, ("adm.tab.audit", "/app/admin/audit")]


def _notice(request: Request, done: str | None) -> str | None:
    return _t(request)(f"adm.done.{done}") if done in DONE else None


def _back(path: str, done: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({**query, 'done': done})}", status_code=303)


def _field_errors(request: Request, exc: ValidationError) -> dict[str, str]:
    """The JSON API's validation (schemas) of a form, each error next to its field in the reader's language: the
    field's own wording of the error (adm.invalid.<field>.<type>), else the error's (adm.invalid.<type>)."""
    t = _t(request)
    errors = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "form"
        context = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int)}
        kind = "missing" if error["type"] == "string_too_short" and context.get("min_length") == 1 else error["type"]
        key = next(
            (key for key in (f"adm.invalid.{field}.{kind}", f"adm.invalid.{kind}") if key in t.messages),
            "adm.invalid.value",
        )
        errors.setdefault(field, t(key, **context))
    return errors


def _service_errors(request: Request, exc: ServiceError, fields: dict[str, str] | None = None) -> dict[str, str]:
    """A service's refusal next to the fields it names (`fields`: a service's field name -> the form's), each in
    the reader's language by its code; a refusal naming no field stands at `form`."""
    t = _t(request)

    def worded(code: str, params: dict) -> str:
        return t(code, **params) if code in t.messages else t("adm.invalid.value")

    errors = {}
    for error in exc.errors:
        field = (fields or {}).get(error.get("field"), error.get("field") or "form")
        errors.setdefault(field, worded(error.get("code") or exc.code, error.get("params") or exc.params))
    return errors or {"form": worded(exc.code, exc.params)}


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


def _call(db: Session, function, *args, **kwargs):
    return run_in_threadpool(function, db, *args, **kwargs)


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
    values = {name: _text(data, name) for name in ORGANISATION_FIELDS}
    if errors := _unprintable(request, values):
        return _organisations_page(request, user, db, 422, errors, values)
    try:
        body = OrganisationIn.model_validate(values)
        registration = body.model_dump(include=set(accounts.REGISTRATION))
        await _call(db, accounts.create_organisation, user.principal, body.name, body.kind, **registration)
    except ValidationError as exc:
        return _organisations_page(request, user, db, 422, _field_errors(request, exc), values)
    except (Conflict, Unprocessable) as exc:
        return _organisations_page(request, user, db, exc.status, _service_errors(request, exc), values)
    return _back("/app/admin/organisations", "organisation_created")


def _editable(user) -> tuple[str, ...]:
    """The fields of an organisation this admin may change: the platform admin all but the kind, an organisation's
    admins its address and contact (services.accounts.CONTACT)."""
    if user.role is Role.PLATFORM_ADMIN:
        return ("name", *accounts.REGISTRATION)
    return tuple(field for field in accounts.REGISTRATION if field in accounts.CONTACT)


def _organisation_page(request, user, db, organisation_id, status_code=200, errors=None, values=None, done=None):
    organisation = accounts.managed_organisation(db, user.principal, organisation_id)
    shown = {field: getattr(organisation, field) or "" for field in ("name", *accounts.REGISTRATION)}
    return _render(
        request,
        "organisation.html",
        user,
        status_code,
        organisation=organisation,
        editable=_editable(user),
        errors=errors or {},
        values=shown | (values or {}),
        notice=_notice(request, done),
    )


@router.get("/app/admin/organisations/{organisation_id}")
def organisation_page(
    request: Request, organisation_id: uuid.UUID, db: SessionDep, user: AdminDep, done: str | None = None
):
    return _organisation_page(request, user, db, organisation_id, done=done)


@router.post("/app/admin/organisations/{organisation_id}")
async def update_organisation(request: Request, organisation_id: uuid.UUID, db: SessionDep, user: AdminDep):
    """The form sends every field this admin may change; an empty one clears it (the name cannot be cleared)."""
    data = await session.form(request, user)
    accounts.managed_organisation(db, user.principal, organisation_id)  # another organisation: 404 before anything
    values = {name: _text(data, name) for name in _editable(user)}
    if errors := _unprintable(request, values):
        return _organisation_page(request, user, db, organisation_id, 422, errors, values)
    try:
        body = OrganisationUpdate.model_validate(values)
        changes = body.model_dump(include=set(values), mode="json")
        await _call(db, accounts.update_organisation, user.principal, organisation_id, changes)
    except ValidationError as exc:
        return _organisation_page(request, user, db, organisation_id, 422, _field_errors(request, exc), values)
    except (Conflict, Unprocessable) as exc:
        errors = _service_errors(request, exc)
        return _organisation_page(request, user, db, organisation_id, exc.status, errors, values)
    return _back(f"/app/admin/organisations/{organisation_id}", "organisation_saved")


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
    roles = accounts.ROLES_OF_KIND[organisation.kind] - (accounts.MACHINE_ROLES if people else set())
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
    listed = kind.listed(db, user.principal, organisation_id)
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
        locked=accounts.sign_in_locks(db, listed) if kind.people else {},
        **{kind.plural: listed},
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


@router.post("/app/admin/users/{user_id}/unlock")
async def unlock_user(request: Request, user_id: uuid.UUID, db: SessionDep, user: AdminDep):
    """Lift a sign-in lock; back to the list the button was on (the search keeps the person shown)."""
    data = await session.form(request, user)
    person = await _call(db, accounts.unlock_user, user.principal, user_id)
    if data.get("back") == "people" and user.role is Role.PLATFORM_ADMIN:
        return _back("/app/admin/people", "user_unlocked", q=person.email)
    return _back(f"/app/admin/organisations/{person.organisation_id}/users", "user_unlocked")


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


# --- every organisation's people (the platform admin's search) --------------------------------------------------


def _page_links(query: dict, page_number: int, pages: int) -> tuple[str | None, str | None]:
    """The previous and next page of a list, its filters kept."""
    kept = {key: value for key, value in query.items() if value}
    previous = f"?{urlencode({**kept, 'page_number': page_number - 1})}" if page_number > 1 else None
    following = f"?{urlencode({**kept, 'page_number': page_number + 1})}" if page_number < pages else None
    return previous, following


def _people_query(values: dict[str, str], errors: dict[str, str], t) -> accounts.UserQuery:
    """The search's filters from the query string; a value no option has is named at its field."""
    organisation_id = role = active = None
    if values["organisation"]:
        try:
            organisation_id = uuid.UUID(values["organisation"])
        except ValueError:
            errors["organisation"] = t("adm.invalid.enum")
    if values["role"]:
        try:
            role = Role(values["role"])
        except ValueError:
            errors["role"] = t("adm.invalid.enum")
    if values["active"]:
        active = {"active": True, "disabled": False}.get(values["active"])
        if active is None:
            errors["active"] = t("adm.invalid.enum")
    return accounts.UserQuery(values["q"] or None, organisation_id, role, active)


@router.get("/app/admin/people")
def people_page(
    request: Request,
    db: SessionDep,
    user: PlatformAdminDep,
    q: str = "",
    organisation: str = "",
    role: str = "",
    active: str = "",
    page_number: int = 1,
    done: str | None = None,
):
    """Anyone's account, found by a part of their e-mail address or name, with their organisation, role, last
    sign-in and sign-in lock: the platform admin's answer to "I cannot sign in"."""
    given = {"q": q.strip(), "organisation": organisation, "role": role, "active": active}
    values, errors = _filter_values(request, given)
    query = _people_query(values, errors, _t(request))
    page_number = min(max(page_number, 1), MAX_PAGE)
    rows, total = (
        ([], 0)
        if errors
        else accounts.find_users(db, user.principal, query, (page_number - 1) * PEOPLE_PAGE, PEOPLE_PAGE)
    )
    pages = max(1, -(-total // PEOPLE_PAGE))
    previous, following = _page_links(values, page_number, pages)
    return _render(
        request,
        "people.html",
        user,
        422 if errors else 200,
        rows=rows,
        total=total,
        values=values,
        errors=errors,
        organisations=accounts.organisations(db, user.principal),
        roles=list(Role),
        page_number=page_number,
        pages=pages,
        newer=previous,
        older=following,
        notice=_notice(request, done),
    )


def _filter_values(request: Request, values: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A list's filters as given, and those refused (control characters, longer than any stored value): named at
    their field and emptied, not searched."""
    t = _t(request)
    errors = _unprintable(request, values) | {
        name: t("adm.invalid.string_too_long", max_length=FILTER_MAX_CHARS)
        for name, value in values.items()
        if len(value) > FILTER_MAX_CHARS
    }
    return {name: "" if name in errors else value for name, value in values.items()}, errors


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


TRAIL_FILTERS = ("action", "object_type", "actor", "since", "until")


def _trail_filter(db, values: dict[str, str], errors: dict[str, str], t, prefix: str = "") -> accounts.TrailFilter:
    """The filters of the trail from a form's values (`prefix`: the export form's fields, export_since…); a bad day
    or a period ending before it begins is named at its field."""
    since = _day(values["since"], f"{prefix}since", errors, t)
    until = _day(values["until"], f"{prefix}until", errors, t)
    if since and until and until < since:
        errors[f"{prefix}until"] = t("adm.audit.bad_range")
    return accounts.TrailFilter(
        values["action"] or None,
        values["object_type"] or None,
        accounts.actor_id_of(db, values["actor"]) if values["actor"] else None,
        since,
        until,
    )


def _today() -> date:
    return utcnow().astimezone(CHINA_TIME).date()


def _audit_page(request, db, user, values, page_number=1, status_code=200, errors=None, export=None):
    """The trail filtered by `values`, a page of it, and the export form (`export`: its values after a refusal)."""
    t = _t(request)
    errors = {**(errors or {})}
    filters = _trail_filter(db, values, errors, t)
    page_number = min(max(page_number, 1), MAX_PAGE)
    failed = any(not name.startswith("export_") for name in errors)
    entries, total = (
        ([], 0)
        if failed
        else accounts.audit_trail(db, user.principal, filters, (page_number - 1) * TRAIL_PAGE, TRAIL_PAGE)
    )
    actions, object_types = accounts.audit_facets(db, user.principal)
    pages = max(1, -(-total // TRAIL_PAGE))
    newer, older = _page_links(values, page_number, pages)
    today = _today()
    return _render(
        request,
        "audit.html",
        user,
        422 if errors and status_code == 200 else status_code,
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
        newer=newer,
        older=older,
        can_check=user.role is Role.PLATFORM_ADMIN,
        export=export
        or {
            "since": values["since"] or (today - timedelta(days=EXPORT_DAYS - 1)).isoformat(),
            "until": values["until"] or today.isoformat(),
            "format": "xlsx",
        },
        formats=list(audit_export.FORMATS),
        max_days=audit_export.MAX_DAYS,
        max_rows=f"{audit_export.MAX_ROWS:,}",
    )


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
    given = {"action": action, "object_type": object_type, "actor": actor, "since": since, "until": until}
    values, errors = _filter_values(request, given)
    return _audit_page(request, db, user, values, page_number, errors=errors)


@router.post("/app/admin/audit/export")
async def export_trail(request: Request, db: SessionDep, user: AdminDep):
    """The entries matching the trail's filters in the period of the form, as a CSV or XLSX file headed in the
    reader's language; refused (too long a period, too many entries) next to the export form's fields."""
    data = await session.form(request, user)
    t = _t(request)
    given = {name: _text(data, name) for name in TRAIL_FILTERS}
    values, errors = _filter_values(request, given)
    export = {name: _text(data, f"export_{name}") for name in ("since", "until", "format")}
    export_errors: dict[str, str] = {}
    period = {"since": export["since"], "until": export["until"]}
    filters = _trail_filter(db, values | period, export_errors, t, prefix="export_")
    if errors or export_errors:
        return _audit_page(request, db, user, values, errors=errors | export_errors, export=export)
    try:
        made = await _call(db, audit_export.export, user.principal, filters, export["format"], t.lang)
    except Unprocessable as exc:
        fields = {"from": "export_since", "to": "export_until", "format": "export_format"}
        errors = _service_errors(request, exc, fields)
        return _audit_page(request, db, user, values, status_code=422, errors=errors, export=export)
    return attachment(made.data, made.media_type, made.ascii_filename, made.filename)


def chain_reason(t, check) -> str | None:
    """Why the chain check failed, in the reader's language: the service's code and parameters
    (services.audit.REASONS), worded by adm.chain.reason.{code}."""
    return t(f"adm.chain.reason.{check.code}", **check.params) if check.code else None


@router.get("/app/admin/audit/chain")
def chain_check(request: Request, db: SessionDep, user: PlatformAdminDep):
    """The hash chain of the whole trail recomputed, as GET /api/v1/audit/verify does (the platform admin's)."""
    check, entries = accounts.check_chain(db)
    return _render(request, "chain.html", user, check=check, entries=entries, reason=chain_reason(_t(request), check))
