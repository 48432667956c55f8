"""Pages of background databases: the platform admin's imports and versions, and the activity search.

The platform admin uploads a database (ecospold2 folder as a zip, openLCA JSON-LD zip, Brightway Excel or CSV) and
follows its import on the version's page: while the import runs, static/backgrounds.js fetches the page again every
few seconds and replaces its live parts (without scripts, a link reloads it). The admin reads the problems the import
found (unlinked exchanges grouped, other problems by activity) and decides: proceed dropping exactly the listed
exchanges, discard, activate a ready version, retire one not in use. Anyone signed in searches the activities of
the versions in use; a PCR author comes to the search from an item of the draft editor and links the item to the
activity chosen (web.routes.pcr_authoring stores it).

Every handler parses, authorises, calls services.backgrounds (the same functions as the JSON API) and renders; a
refusal is worded in the reader's language by its code beside the field it names, with nothing stored.
"""

import math
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from footprint_api.core.errors import ServiceError
from footprint_api.core.settings import get_settings
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Role
from footprint_api.services import backgrounds, messages, pcr_registry
from footprint_api.services.catalogue import PAGE_SIZES
from footprint_api.services.messages import worded
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import admin, page_router
from footprint_api.web.session import PageUser

router = page_router()
PlatformAdminPage = Annotated[PageUser, Depends(session.page_user(Role.PLATFORM_ADMIN))]
SignedIn = Annotated[PageUser, Depends(session.page_user())]

ADMIN = "/app/admin/backgrounds"
SEARCH = "/app/backgrounds/activities"
TAB = ("bg.tab", ADMIN)
UPLOAD_FIELDS = ("name", "version", "format")
STEPS = ("proceed", "discard", "activate", "retire")
CONFIRMED = {"proceed", "discard"}  # steps that remove data: the form's box must be ticked as well
DONE = {"uploaded", "proceed", "discard", "activate", "retire"}  # notices after a redirect: bg.done.<code>
REFRESH_SECONDS = 3  # a running import's page follows it this often (static/backgrounds.js)
MAX_QUERY_CHARS = 200  # a search's words; the service bounds it again
MAX_FILTER_CHARS = 100
MAX_PAGE = 100_000
COPY_CHUNK_BYTES = 1024 * 1024
SIGNIFICANT = 4  # digits of a unit score on the search page (the JSON API keeps every digit)
PCR_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # a PCR id or version in the search's return address


def _t(request: Request):
    return i18n.catalogue(i18n.negotiate(request))


def _errors(request: Request, exc: ServiceError, fields: tuple[str, ...]) -> dict[str, str]:
    """A refusal beside the fields it names, in the reader's language; one naming no field of the form stands at
    `form`."""
    t = _t(request)
    found: dict[str, str] = {}
    for error in exc.errors:
        field = error.get("field") if error.get("field") in fields else "form"
        text = worded(t, error.get("code") or exc.code, error.get("params") or exc.params, "")
        found.setdefault(field, text or t("bg.error.refused", status=exc.status))
    if not found:
        found["form"] = worded(t, exc.code, exc.params, "") or t("bg.error.refused", status=exc.status)
    return found


def _tabs(user: PageUser) -> list[tuple[str, str]]:
    """The administration's sections, this one among them (before the audit trail)."""
    tabs = admin._tabs(user)
    if TAB in tabs:
        return tabs
    return [*tabs[:-1], TAB, tabs[-1]]


def figure(value: float | None) -> str:
    """A unit score as the search shows it: four significant digits, grouped (1,234; 0.5321; 2.1e-05 for the
    smallest): enough to tell activities apart, the JSON API keeps every digit."""
    if value is None:
        return "—"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    exponent = math.floor(math.log10(abs(value)))
    if exponent < -4:
        return f"{value:.{SIGNIFICANT - 1}e}"
    decimals = max(0, SIGNIFICANT - 1 - exponent)
    text = f"{round(value, decimals):,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _seconds(value) -> str:
    return f"{value:,.1f}" if isinstance(value, int | float) else "—"


def _helpers() -> dict:
    return {
        "when": when,
        "figure": figure,
        "seconds": _seconds,
        "number": messages.number,
        "percent": lambda share: f"{100 * (share or 0):.0f}",
        "formats": backgrounds.FORMATS,
        "running": backgrounds.RUNNING,
        "refresh_seconds": REFRESH_SECONDS,
        "admin_url": ADMIN,
        "search_url": SEARCH,
    }


# --- the platform admin: databases, versions and imports --------------------------------------------------------------


def _list_page(request, db, user, status_code=200, errors=None, values=None, done=None):
    rows = backgrounds.databases(db, user.principal)
    settings = get_settings()
    return page(
        request,
        "backgrounds/list.html",
        user,
        status_code,
        tabs=_tabs(user),
        rows=rows,
        refreshing=any(row.state in backgrounds.RUNNING for row in rows),
        errors=errors or {},
        values=dict.fromkeys(UPLOAD_FIELDS, "") | (values or {}),
        upload_limit_mib=settings.max_upload_bytes // (1024 * 1024),
        notice=_t(request)(f"bg.done.{done}") if done in DONE else None,
        **_helpers(),
    )


@router.get(ADMIN)
def databases_page(request: Request, db: SessionDep, user: PlatformAdminPage, done: str | None = None):
    return _list_page(request, db, user, done=done)


def _text(data: dict, name: str, limit: int = 300) -> str:
    value = data.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _staged(upload: UploadFile) -> Path:
    """The uploaded file on disk (the middleware has bounded its size), in a folder of its own that the service
    moves from; the caller removes the folder when the service refused it."""
    folder = Path(tempfile.mkdtemp(prefix="pcf-bg-upload-"))
    staged = folder / "upload"
    upload.file.seek(0)
    with staged.open("wb") as out:
        shutil.copyfileobj(upload.file, out, COPY_CHUNK_BYTES)
    return staged


def _upload(request, db, user, data: dict):
    t = _t(request)
    values = {name: _text(data, name) for name in UPLOAD_FIELDS}
    errors: dict[str, str] = {}
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename or not upload.size:
        errors["file"] = t("bg.error.file_missing")
    if values["format"] not in backgrounds.FORMATS:
        errors["format"] = t("bg.error.format")
    for name in ("name", "version"):
        if not values[name]:
            errors[name] = t("bg.error.required")
    if errors:
        return _list_page(request, db, user, 422, errors, values)
    staged = _staged(upload)
    try:
        row = backgrounds.upload(
            db,
            user.principal,
            name=values["name"],
            version=values["version"],
            format=values["format"],
            filename=upload.filename,
            staged=staged,
        )
    except ServiceError as exc:
        db.rollback()
        return _list_page(request, db, user, exc.status, _errors(request, exc, (*UPLOAD_FIELDS, "file")), values)
    finally:
        if staged.exists():  # the service moves an accepted file away; anything left here was refused
            shutil.rmtree(staged.parent, ignore_errors=True)
    backgrounds.dispatch(row.id)
    return RedirectResponse(f"{ADMIN}/{row.id}?done=uploaded", status_code=303)


@router.post(ADMIN)
async def upload_database(request: Request, db: SessionDep, user: PlatformAdminPage):
    """A new version from an uploaded file; the import runs as a job and its page follows it."""
    data = await session.form(request, user)
    return await run_in_threadpool(_upload, request, db, user, data)


def _version_page(request, db, user, database_id: uuid.UUID, status_code=200, errors=None, done=None):
    row = backgrounds.database(db, user.principal, database_id)
    problems = row.problems if isinstance(row.problems, dict) else {}
    unlinked = problems.get("unlinked") or []
    return page(
        request,
        "backgrounds/version.html",
        user,
        status_code,
        tabs=_tabs(user),
        row=row,
        refreshing=row.state in backgrounds.RUNNING and status_code == 200,
        unlinked=unlinked,
        unlinked_exchanges=sum(int(group.get("count") or 0) for group in unlinked),
        other_problems=problems.get("other") or [],
        dropped=row.dropped or [],
        dropped_exchanges=sum(int(group.get("count") or 0) for group in row.dropped or []),
        steps=_steps(row),
        errors=errors or {},
        notice=_t(request)(f"bg.done.{done}") if done in DONE else None,
        **_helpers(),
    )


def _steps(row) -> list[str]:
    """The steps the version's state offers (the service decides again)."""
    if row.state == "needs_attention":
        return ["proceed", "discard"]
    if row.state == "failed":
        return ["discard"]
    if row.state == "ready" and not row.in_use:
        return ["activate", "retire"]
    return []


@router.get(ADMIN + "/{database_id}")
def version_page(
    request: Request, database_id: uuid.UUID, db: SessionDep, user: PlatformAdminPage, done: str | None = None
):
    return _version_page(request, db, user, database_id, done=done)


def _step(request, db, user, database_id: uuid.UUID, step: str, data: dict):
    t = _t(request)
    if step in CONFIRMED and _text(data, "confirm") != "yes":
        return _version_page(request, db, user, database_id, 422, {step: t(f"bg.error.confirm.{step}")})
    act = {
        "proceed": backgrounds.proceed,
        "discard": backgrounds.discard,
        "activate": backgrounds.activate,
        "retire": backgrounds.retire,
    }[step]
    try:
        row = act(db, user.principal, database_id)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        db.rollback()
        found = _errors(request, exc, ())
        return _version_page(request, db, user, database_id, exc.status, {step: found.get("form", "")})
    if step == "proceed":
        backgrounds.dispatch(row.id)
    return RedirectResponse(f"{ADMIN}/{row.id}?done={step}", status_code=303)


@router.post(ADMIN + "/{database_id}/proceed")
async def proceed(request: Request, database_id: uuid.UUID, db: SessionDep, user: PlatformAdminPage):
    """Import again dropping exactly the listed unlinked exchanges (the box ticked: the admin read the list)."""
    data = await session.form(request, user)
    return await run_in_threadpool(_step, request, db, user, database_id, "proceed", data)


@router.post(ADMIN + "/{database_id}/discard")
async def discard(request: Request, database_id: uuid.UUID, db: SessionDep, user: PlatformAdminPage):
    """A version that needs attention or failed is given up (its files removed)."""
    data = await session.form(request, user)
    return await run_in_threadpool(_step, request, db, user, database_id, "discard", data)


@router.post(ADMIN + "/{database_id}/activate")
async def activate(request: Request, database_id: uuid.UUID, db: SessionDep, user: PlatformAdminPage):
    """A ready version becomes the one footprints take for its name."""
    data = await session.form(request, user)
    return await run_in_threadpool(_step, request, db, user, database_id, "activate", data)


@router.post(ADMIN + "/{database_id}/retire")
async def retire(request: Request, database_id: uuid.UUID, db: SessionDep, user: PlatformAdminPage):
    """A ready version not in use is no longer offered for linking."""
    data = await session.form(request, user)
    return await run_in_threadpool(_step, request, db, user, database_id, "retire", data)


# --- anyone signed in: the activities of the databases in use ---------------------------------------------------------


def _number_or(text: str, default: int | None) -> int | None:
    # isascii: str.isdigit() is also true of '²', which int() refuses
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_PAGE else default


def _pick(request: Request, user: PageUser) -> dict | None:
    """Where a chosen activity goes: an input item of a PCR draft the person writes (from the editor's "find"
    button); None for an ordinary search. The authoring route decides again whether the person may change it."""
    params = request.query_params
    pcr_id, version, item = params.get("pcr", ""), params.get("pcr_version", ""), params.get("item", "")
    if user.role not in pcr_registry.AUTHOR_ROLES or not (PCR_KEY.fullmatch(pcr_id) and PCR_KEY.fullmatch(version)):
        return None
    if not (item.isascii() and item.isdigit()) or int(item) >= 1000:
        return None
    return {
        "pcr": pcr_id,
        "version": version,
        "item": int(item),
        "action": f"/app/pcr-authoring/{pcr_id}/{version}/background",
        "editor": f"/app/pcr-authoring/{pcr_id}/{version}/edit#f-items-{int(item)}-",
        "label": params.get("label", "")[:MAX_FILTER_CHARS],
    }


def _asked(request: Request) -> tuple[dict, dict[str, str]]:
    """The search as asked, and its refusals beside the fields (a query too long, a filter too long)."""
    t = _t(request)
    params = request.query_params
    asked = {name: (params.get(name) or "").strip() for name in ("q", "database", "location", "unit")}
    errors = {}
    if len(asked["q"]) > MAX_QUERY_CHARS:
        errors["q"] = t("bg.error.too_long", max=MAX_QUERY_CHARS)
    for name in ("database", "location", "unit"):
        if len(asked[name]) > MAX_FILTER_CHARS or any(ord(char) < 32 for char in asked[name]):
            errors[name] = t("bg.error.too_long", max=MAX_FILTER_CHARS)
    if any(ord(char) < 32 for char in asked["q"]):
        errors["q"] = t("bg.error.control")
    return asked, errors


def _search(request: Request, db, user: PageUser):
    asked, errors = _asked(request)
    params = request.query_params
    number = _number_or(params.get("page", ""), 1)
    size = _number_or(params.get("size", ""), None)
    found = None
    if not errors:
        found = backgrounds.search_activities(
            db,
            q=asked["q"] or None,
            database=asked["database"] or None,
            location=asked["location"] or None,
            unit=asked["unit"] or None,
            page=number,
            size=size if size in PAGE_SIZES else None,
        )
    pick = _pick(request, user)
    return page(
        request,
        "backgrounds/activities.html",
        user,
        422 if errors else 200,
        asked=asked,
        errors=errors,
        found=found,
        pager=_pager(request, found) if found else None,
        in_use=backgrounds.in_use(db),
        choices=backgrounds.filters(db, asked["database"] or None),
        pick=pick,
        may_import=user.role is Role.PLATFORM_ADMIN,
        page_sizes=PAGE_SIZES,
        **_helpers(),
    )


def _pager(request: Request, found) -> dict:
    """Links to the previous and next page of the same search (the language stays by its cookie)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "lang")]

    def link(number: int) -> str:
        return f"{SEARCH}?{urlencode([*query, ('page', str(number))])}"

    return {
        "page": found.number,
        "pages": found.pages,
        "count": found.total,
        "previous": link(found.number - 1) if found.number > 1 else None,
        "next": link(found.number + 1) if found.number < found.pages else None,
    }


@router.get(SEARCH)
def activities_page(request: Request, db: SessionDep, user: SignedIn):
    """The activities of the background databases in use: name or reference product, location, unit; paged."""
    return _search(request, db, user)
