"""Pages of the factor database: the public releases and their entries, the platform admin's cutting of a release, a manufacturer's consent.

Every handler parses, authorises, calls services.factor_database (the same functions as the JSON API) and renders;
a refusal is worded in the reader's language by its code next to the field or label it names. The release pages
are public: what a release publishes is public by construction (services.factor_database: the disclosure rule).
"""

import math
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from footprint_api.core import names
from footprint_api.core.errors import Conflict, NotFound, ServiceError, Unprocessable
from footprint_api.exports import factor_release
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Role
from footprint_api.services import factor_database
from footprint_api.services.messages import worded
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import ManufacturerPage, OptionalPageUser, PageUser

router = page_router()
PlatformAdminPage = Annotated[PageUser, Depends(session.page_user(Role.PLATFORM_ADMIN))]
CUT_FIELDS = ("number", "title_zh", "title", "notes")
DONE = {"cut", "consent_given", "consent_withdrawn"}  # notices after a redirect: factors.done.<code>
API = "/api/v1/factor-releases"
SIGNIFICANT = 5  # digits of a figure on a page


def _t(request: Request):
    return i18n.catalogue(i18n.negotiate(request))


def _notice(request: Request, done: str | None) -> str | None:
    return _t(request)(f"factors.done.{done}") if done in DONE else None


def _errors(request: Request, exc: ServiceError) -> dict[str, str]:
    """A refusal next to the fields it names, in the reader's language; one naming no field stands at `form`."""
    t = _t(request)
    found: dict[str, str] = {}
    for error in exc.errors:
        field = error.get("field") or "form"
        found.setdefault(field, worded(t, error.get("code") or exc.code, error.get("params") or exc.params, ""))
    if not found or not all(found.values()):
        found["form"] = worded(t, exc.code, exc.params, "") or t("factors.error.refused")
    return {field: text for field, text in found.items() if text}


def _href(number: str, key: str | None = None) -> str:
    base = f"/factors/{quote(number, safe='')}"
    return f"{base}/entries/{quote(key, safe='')}" if key else base


def _figure(value: float | None) -> str:
    """An entry's figure on a page: five significant digits, grouped by thousands, no trailing zeros (13,995;
    803.33; 0.9729; 44.721); the files and the JSON keep every digit. A mean of labels signed to four digits may
    carry a fifth; more would be noise on a page (an SD of 44.721359549995796)."""
    if value is None:
        return "—"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, SIGNIFICANT - 1 - math.floor(math.log10(abs(value))))
    text = f"{round(value, decimals):,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _view(row) -> dict:
    """An entry with its names in both languages, for the templates."""
    return {"row": row, "names": factor_database.entry_names(row)}


# --- public: releases, a release, an entry ---------------------------------------------------------------------


@router.get("/factors")
def releases_page(request: Request, db: SessionDep, user: OptionalPageUser):
    return page(
        request,
        "factors/releases.html",
        user,
        releases=factor_database.releases(db),
        cut_on=factor_database.cut_on,
        may_cut=user is not None and user.role is Role.PLATFORM_ADMIN,
        may_consent=user is not None and user.role in (Role.MANUFACTURER_MEMBER, Role.MANUFACTURER_ADMIN),
        min_organisations=factor_database.MIN_ORGANISATIONS,
    )


@router.get("/factors/{number}")
def release_page(
    request: Request,
    number: str,
    db: SessionDep,
    user: OptionalPageUser,
    category: str = Query("", max_length=100),
    province: str = Query("", max_length=100),
    done: str | None = None,
):
    lang = i18n.negotiate(request)
    found = factor_database.release(db, number)
    every = factor_database.entries(db, found)
    shown = factor_database.entries(db, found, category or None, province or None)
    previous = factor_database.previous_of(db, found)
    return page(
        request,
        "factors/release.html",
        user,
        release=found,
        cut_at=when(found.cut_at),
        previous=previous,
        entries=[_view(row) for row in shown],
        entry_count=len(every),
        categories=[(code, names.category_name(lang, code)) for code in factor_database.categories(every)],
        provinces=[(key, names.province_name(key, lang)) for key in factor_database.provinces(every)],
        asked={"category": category, "province": province},
        changes=factor_database.changes(db, found),
        files=[
            (name, found.files[name], f"{API}/{quote(found.number, safe='')}/files/{name}")
            for name in factor_database.FORMATS
            if name in found.files
        ],
        href=_href,
        figure=_figure,
        notice=_notice(request, done),
    )


@router.get("/factors/{number}/entries/{key}")
def entry_page(request: Request, number: str, key: str, db: SessionDep, user: OptionalPageUser):
    found = factor_database.release(db, number)
    row = factor_database.entry(db, found.number, key)
    reference = {"kind": "release", "reference": found.number, "entry": row.key}
    return page(
        request,
        "factors/entry.html",
        user,
        release=found,
        row=row,
        n=factor_database.entry_names(row),
        gases=sorted(row.gases.items(), key=lambda gas: -abs(gas[1]["kg_co2e"])),  # the largest share first
        citation_zh=factor_database.citation(found.number, row.key, "zh"),
        citation_en=factor_database.citation(found.number, row.key, "en"),
        supplier_json=factor_release.canonical(reference).decode("utf-8"),
        json_href=f"{API}/{quote(found.number, safe='')}/entries/{quote(row.key, safe='')}",
        href=_href,
        figure=_figure,
    )


# --- the platform admin: cutting a release ----------------------------------------------------------------------


def _cut_page(request, db, user, status_code=200, errors=None, values=None):
    preview = factor_database.preview(db, user.principal)
    return page(
        request,
        "factors/cut.html",
        user,
        status_code,
        preview=preview,
        errors=errors or {},
        values=dict.fromkeys(CUT_FIELDS, "") | (values or {}),
        href=_href,
        figure=_figure,
    )


@router.get("/app/factors/releases/new")
def cut_form(request: Request, db: SessionDep, user: PlatformAdminPage):
    return _cut_page(request, db, user)


@router.post("/app/factors/releases")
async def cut_release(request: Request, db: SessionDep, user: PlatformAdminPage):
    data = await session.form(request, user)
    values = {name: data.get(name) if isinstance(data.get(name), str) else "" for name in CUT_FIELDS}
    try:
        found = await run_in_threadpool(
            factor_database.cut,
            db,
            user.principal,
            values["number"],
            values["title"],
            values["title_zh"],
            values["notes"],
        )
    except (Unprocessable, Conflict) as exc:
        return _cut_page(request, db, user, exc.status, _errors(request, exc), values)
    return RedirectResponse(f"{_href(found.number)}?{urlencode({'done': 'cut'})}", status_code=303)


# --- a manufacturer: consent per label ---------------------------------------------------------------------------


def _consent_page(request, db, user, status_code=200, errors=None, done=None):
    return page(
        request,
        "factors/consent.html",
        user,
        status_code,
        rows=factor_database.consents(db, user.principal),
        levels=factor_database.CONSENT_LEVELS,
        errors=errors or {},
        notice=_notice(request, done),
        min_organisations=factor_database.MIN_ORGANISATIONS,
    )


@router.get("/app/factors/consent")
def consent_page(request: Request, db: SessionDep, user: ManufacturerPage, done: str | None = None):
    return _consent_page(request, db, user, done=done)


@router.post("/app/factors/consent/{number}")
async def give_consent(request: Request, number: str, db: SessionDep, user: ManufacturerPage):
    data = await session.form(request, user)
    level = data.get("level") if isinstance(data.get("level"), str) else ""
    try:
        await run_in_threadpool(factor_database.give_consent, db, user.principal, number, level)
    except (Unprocessable, Conflict, NotFound) as exc:
        return _consent_page(request, db, user, exc.status, {number[:40]: _errors(request, exc)})
    return RedirectResponse("/app/factors/consent?done=consent_given", status_code=303)


@router.post("/app/factors/consent/{number}/withdraw")
async def withdraw_consent(request: Request, number: str, db: SessionDep, user: ManufacturerPage):
    await session.form(request, user)
    try:
        await run_in_threadpool(factor_database.withdraw_consent, db, user.principal, number)
    except NotFound as exc:
        return _consent_page(request, db, user, exc.status, {number[:40]: _errors(request, exc)})
    return RedirectResponse("/app/factors/consent?done=consent_withdrawn", status_code=303)
