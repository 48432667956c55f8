"""Pages of a buyer's PACT suppliers: the connections to suppliers' PACT APIs, the footprints received (pulled or
uploaded) with their status, whether they are verified, their validity and the inventories that use them; the forms
that register and change a connection (administrators: they hold credentials), pull from it, and upload a file; a
page per received footprint with its values as received and the document to download.

Every handler parses, authorises, calls services.pact.suppliers (the JSON API's functions) and renders; a refusal
is shown at its field in the reader's language (the service's codes), nothing is kept of a refused form.
"""

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from footprint_api.core.errors import ServiceError, Unprocessable
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Role, SupplierConnection, SupplierFootprint, utcnow
from footprint_api.services import messages
from footprint_api.services.pact import suppliers
from footprint_api.services.pact.documents import MAX_DOCUMENT_BYTES
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import ManufacturerPage, PageUser

router = page_router()
AdminPage = Annotated[PageUser, Depends(session.page_user(Role.MANUFACTURER_ADMIN))]
HOME = "/app/suppliers"
CONNECTION_FIELDS = ("name", "base_url", "client_id", "client_secret")
PULL_FIELDS = ("pf_id", "product_id")
STATUS_BADGES = {suppliers.ACTIVE: "ok", suppliers.DEPRECATED: "bad"}
DONE = ("registered", "updated", "deactivated", "pulled", "uploaded")


def _render(request: Request, template: str, user: PageUser, status_code: int = 200, **values):
    helpers = {
        "when": when,
        "n": messages.number,
        "share": lambda value: "–" if value is None else f"{messages.number(round(value * 100, 2))}\u00a0%",
        "status_badge": lambda status: STATUS_BADGES.get(status, ""),
        "is_admin": user.role is Role.MANUFACTURER_ADMIN,
    }
    return page(request, f"suppliers/{template}", user, status_code, **helpers, **values)


def _form(values: dict | None = None, errors: dict | None = None, problem: str = "") -> dict:
    return {"values": values or {}, "errors": errors or {}, "problem": problem}


def _worded(request: Request, exc: ServiceError, fields: tuple[str, ...]) -> dict:
    """A refusal as the form shows it: each error at its field (or above the form), in the reader's language."""
    t = i18n.catalogue(i18n.negotiate(request))
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        field = str(error.get("field", ""))
        shown = messages.worded(t, str(error.get("code") or ""), error.get("params"), str(error.get("reason", "")))
        errors.setdefault(field if field in fields else "", []).append(shown)
    problem = "" if exc.errors else messages.worded(t, exc.code, exc.params, exc.detail)
    return {"errors": errors, "problem": problem}


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


def _done(request: Request, db, user: PageUser) -> str | None:
    """What the step just taken did, named by the redirect's query: `done`, the connection or footprint it concerned
    (by id: its name is looked up among the reader's own, so that a link cannot put words of its own on the page)
    and a count. Anything else in the query says nothing."""
    done, query = request.query_params.get("done", ""), request.query_params
    if done not in DONE:
        return None
    values = {"name": "", "product": "", "count": query.get("count", "")}
    try:
        if query.get("connection"):
            values["name"] = suppliers.connection(db, user.principal, uuid.UUID(query["connection"])).name
        if query.get("footprint"):
            values["product"] = suppliers.received_footprint(
                db, user.principal, uuid.UUID(query["footprint"])
            ).product_name
    except (ValueError, ServiceError):  # not an id, or none of the reader's
        return None
    if not values["count"].isascii() or not values["count"].isdigit() or len(values["count"]) > 4:
        values["count"] = ""
    if done in ("registered", "updated", "deactivated", "pulled") and not values["name"]:
        return None
    if done == "uploaded" and not values["product"]:
        return None
    t = i18n.catalogue(i18n.negotiate(request))
    if done == "pulled" and values["count"] in ("", "0"):
        return t("suppliers.done.pulled_none", name=values["name"])
    return t(f"suppliers.done.{done}", **values)


def _back(done: str, **values: str) -> RedirectResponse:
    return RedirectResponse(f"{HOME}?{urlencode({'done': done, **values})}", status_code=303)


def _last_errors(request: Request, db, user: PageUser, connections) -> dict:
    """Each failing connection's last error in the reader's language (its code, from the audit trail), else as kept."""
    t = i18n.catalogue(i18n.negotiate(request))
    coded = suppliers.last_errors(db, user.principal, connections)
    return {
        found.id: messages.worded(t, coded[found.id]["code"], coded[found.id]["params"], found.last_error)
        if found.id in coded
        else found.last_error
        for found in connections
        if found.last_error
    }


# --- the overview ------------------------------------------------------------------------------------------------


@router.get(HOME)
def overview(request: Request, db: SessionDep, user: ManufacturerPage):
    received = suppliers.received_footprints(db, user.principal)
    connections = suppliers.connections(db, user.principal)
    return _render(
        request,
        "index.html",
        user,
        connections=connections,
        last_errors=_last_errors(request, db, user, connections),
        footprints=received,
        uses=suppliers.uses(db, user.principal, [found.id for found in received]),
        names={found.id: found.name for found in connections},
        notice=_done(request, db, user),
    )


# --- connections (administrators) -----------------------------------------------------------------------------------


@router.get(f"{HOME}/connections/new")
def new_connection(request: Request, user: AdminPage):
    return _render(request, "connection.html", user, connection=None, form=_form())


@router.post(f"{HOME}/connections")
async def register_connection(request: Request, db: SessionDep, user: AdminPage):
    data = await session.form(request, user)
    values = {name: _text(data, name) for name in CONNECTION_FIELDS}
    try:
        found = await run_in_threadpool(suppliers.register, db, user.principal, *values.values())
    except Unprocessable as exc:
        db.rollback()
        shown = {k: v for k, v in values.items() if k != "client_secret"}  # a secret is never sent back to a page
        return _render(
            request,
            "connection.html",
            user,
            422,
            connection=None,
            form=_form(shown, **_worded(request, exc, CONNECTION_FIELDS)),
        )
    return _back("registered", connection=str(found.id))


@router.get(f"{HOME}/connections/{{connection_id}}")
def edit_connection(request: Request, connection_id: uuid.UUID, db: SessionDep, user: AdminPage):
    found = suppliers.connection(db, user.principal, connection_id)
    values = {"name": found.name, "base_url": found.base_url, "client_id": found.token_client_id}
    return _render(request, "connection.html", user, connection=found, form=_form(values))


@router.post(f"{HOME}/connections/{{connection_id}}")
async def update_connection(request: Request, connection_id: uuid.UUID, db: SessionDep, user: AdminPage):
    data = await session.form(request, user)
    found = suppliers.connection(db, user.principal, connection_id)
    values = {name: _text(data, name) for name in CONNECTION_FIELDS}
    secret = values["client_secret"] or None  # empty: the sealed secret stays
    try:
        found = await run_in_threadpool(
            suppliers.update,
            db,
            user.principal,
            found.id,
            values["name"],
            values["base_url"],
            values["client_id"],
            secret,
        )
    except Unprocessable as exc:
        db.rollback()
        shown = {k: v for k, v in values.items() if k != "client_secret"}
        form = _form(shown, **_worded(request, exc, CONNECTION_FIELDS))
        return _render(request, "connection.html", user, 422, connection=found, form=form)
    return _back("updated", connection=str(found.id))


@router.post(f"{HOME}/connections/{{connection_id}}/deactivate")
async def deactivate_connection(request: Request, connection_id: uuid.UUID, db: SessionDep, user: AdminPage):
    await session.form(request, user)
    found = await run_in_threadpool(suppliers.deactivate, db, user.principal, connection_id)
    return _back("deactivated", connection=str(found.id))


# --- pulling and uploading ------------------------------------------------------------------------------------------


def _pull_page(request: Request, user: PageUser, found: SupplierConnection, status_code: int = 200, form=None):
    return _render(request, "pull.html", user, status_code, connection=found, form=form or _form())


@router.get(f"{HOME}/connections/{{connection_id}}/pull")
def pull_form(request: Request, connection_id: uuid.UUID, db: SessionDep, user: ManufacturerPage):
    return _pull_page(request, user, suppliers.connection(db, user.principal, connection_id))


@router.post(f"{HOME}/connections/{{connection_id}}/pull")
async def pull(request: Request, connection_id: uuid.UUID, db: SessionDep, user: ManufacturerPage):
    """The supplier's answer decides: a refusal (no such footprint, credentials refused, unreachable) is shown on
    the form with the supplier's HTTP status where it gave one."""
    data = await session.form(request, user)
    found = suppliers.connection(db, user.principal, connection_id)
    values = {name: _text(data, name) for name in PULL_FIELDS}
    started = utcnow()
    try:
        rows = await run_in_threadpool(suppliers.pull, db, user.principal, found.id, *values.values())
    except ServiceError as exc:
        if exc.status in (401, 403, 404):
            raise
        db.rollback()
        return _pull_page(request, user, found, exc.status, _form(values, **_worded(request, exc, PULL_FIELDS)))
    changed = [row for row in rows if row.received_at >= started or (row.deprecated_at or started) > started]
    return _back("pulled", connection=str(found.id), count=str(len(changed)))


@router.get(f"{HOME}/upload")
def upload_form(request: Request, user: ManufacturerPage):
    return _render(request, "upload.html", user, form=_form())


@router.post(f"{HOME}/upload")
async def upload(request: Request, db: SessionDep, user: ManufacturerPage):
    data = await session.form(request, user)
    file = data.get("file")
    body = await file.read(MAX_DOCUMENT_BYTES + 1) if isinstance(file, UploadFile) else b""
    try:
        found = await run_in_threadpool(suppliers.upload, db, user.principal, body)
    except ServiceError as exc:  # 422: not a valid footprint; 409: its id is held from elsewhere, or a collision
        if exc.status not in (409, 422):
            raise
        db.rollback()
        worded = _worded(request, exc, ())
        errors = {"file": worded["errors"].get("", []) or [worded["problem"]]}
        return _render(request, "upload.html", user, exc.status, form=_form(errors=errors))
    return _back("uploaded", footprint=str(found.id))


# --- a received footprint ---------------------------------------------------------------------------------------------


@router.get(f"{HOME}/footprints/{{footprint_id}}")
def footprint_page(request: Request, footprint_id: uuid.UUID, db: SessionDep, user: ManufacturerPage):
    found = suppliers.received_footprint(db, user.principal, footprint_id)
    return _render(
        request,
        "footprint.html",
        user,
        footprint=found,
        pcf=found.document.get("pcf", {}),
        used=suppliers.uses(db, user.principal, [found.id])[found.id],
        successor=db.get(SupplierFootprint, found.successor_id) if found.successor_id else None,
        through=db.get(SupplierConnection, found.connection_id) if found.connection_id else None,
    )


@router.get(f"{HOME}/footprints/{{footprint_id}}/document.json")
def footprint_document(footprint_id: uuid.UUID, db: SessionDep, user: ManufacturerPage) -> Response:
    found = suppliers.received_footprint(db, user.principal, footprint_id)
    return Response(
        suppliers.document_bytes(found),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{suppliers.document_name(found)}"'},
    )
