"""Pages of the web application: the PCR library, for everyone. Every PCR version the reader may see — published
ones and what became of them for anyone; consultations and reviews for anyone signed in; a standards body's drafts
for its own people, as `services.pcr_registry` decides — each as a readable bilingual document with its comment log
and its changes from the previous version; the same document as PDF, the rules as the service's JSON and as openEPD
metadata; the JSON Schema of the PCR language; and, while a version is in public consultation, the comment form of a
signed-in person.

Every handler parses, asks `pcr_registry` (which answers 404 for a version the caller may not see, as the JSON API
does) and renders. A refused comment is shown again with the reason next to its field, in the reader's language.
"""

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import date
from functools import lru_cache
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from footprint_api.core import names
from footprint_api.core.errors import Conflict, NotFound, ServiceError, Unprocessable
from footprint_api.core.messages import Catalogue
from footprint_api.core.settings import get_settings
from footprint_api.exports.pcr_document import PcrRecordView, pcr_html_sections, pcr_pdf, pcr_title
from footprint_api.exports.pcr_metadata import openepd_pcr, pcr_json
from footprint_api.infra.http import attachment
from footprint_api.persistence.db import SessionDep
from footprint_api.services import pcr_registry
from footprint_api.services.pcrs.source import today_utc
from footprint_api.web import i18n, session
from footprint_api.web.pages import page
from footprint_api.web.routes import page_router
from footprint_api.web.session import OptionalPageUser, PageUser
from pcr_rules.language import pcr_json_schema
from pcr_rules.lifecycle import PCRState, semver
from pcr_rules.models import PCR

router = page_router()
SCHEMA_PATH = "/pcrs/schema.json"
SCHEMA_MEDIA_TYPE = "application/schema+json"  # JSON Schema 2020-12, Core §14.1
JSON_MEDIA_TYPE = "application/json"
STATUSES = tuple(state.value for state in PCRState)
# the colour of a status beside its name (the name is the signal; the colour repeats it)
BADGES = {
    "draft": "",
    "consultation": "info",
    "review": "info",
    "published": "ok",
    "superseded": "warn",
    "expired": "bad",
    "withdrawn": "bad",
}
# the parts of a PCR a comment may name besides its items (services.pcr_registry.COMMENT_PATH), with their headings
COMMENT_SECTIONS = (
    ("declared_unit", "pcr.section.scope"),
    ("boundary", "pcr.section.boundary"),
    ("cut_off", "pcr.section.cut_off"),
    ("allocation", "pcr.section.allocation"),
    ("data_quality", "pcr.section.data_quality"),
    ("electricity", "pcr.section.electricity"),
    ("measured_emissions", "pcr.section.measured_emissions"),
    ("parameters", "pcr.section.parameters"),
    ("standards", "pcr.section.standards"),
    ("notes", "pcr.section.notes"),
)
RECORD_SECTIONS = ("comments", "changes")  # shown after the rules, with the comment form between them
ECHO_MAX_CHARS = 20_000  # a refused comment is shown again this far (the form's own limit is 1 MiB)
PDF_CACHE_SIZE = 32  # documents of ~75 kB: a public page's PDF costs 0.2-0.5 s of CPU, made again only when it changed
PCR_ID_MAX_CHARS, VERSION_MAX_CHARS = 100, 14  # services.pcr_registry.PCR_ID; MAJOR.MINOR.PATCH of four digits
# a filter or a path that names nothing is answered in the reader's language (a refused filter at its field, an
# unknown version 404), however long (the server bounds the request line): it is only compared, never stored


def _principal(user: PageUser | None):
    return user.principal if user else None


def _t(request: Request) -> Catalogue:
    return i18n.catalogue(i18n.negotiate(request))


def version_url(pcr_id: str, version: str) -> str:
    return f"/pcrs/{quote(pcr_id, safe='')}/{quote(version, safe='')}"


# --- the library ---------------------------------------------------------------------------------------------------


def category_name(t: Catalogue, code: str | None, named: dict | None = None) -> str:
    """The category in the reader's language (core.names): the service's own name, else the name its PCR gives (a
    category a standards body added), else its code."""
    named = named or {}
    return names.category_name(t.lang, code, named.get("category_label_zh"), named.get("category_label"))


def title_in(t: Catalogue, row: dict) -> str:
    """A version's title in the reader's language: on a Chinese page its Chinese title, else named from its
    category ('水泥产品种类规则'); on an English page likewise named from its category. A draft without a category
    keeps the title its authors gave, or its id."""
    if t.lang == "zh" and row.get("title_zh"):
        return row["title_zh"]
    category = category_name(t, row.get("product_category"), row)
    return t("pcr.doc.title", category=category) if category else (row.get("title") or row["id"])


def _newest_first(rows: list[dict]) -> list[dict]:
    """By PCR, its newest version first (a draft's version may not parse: it sorts last)."""

    def key(row: dict):
        try:
            major, minor, patch = semver(row["version"])
        except ValueError:
            major = minor = patch = -1
        return row["id"], -major, -minor, -patch

    return sorted(rows, key=key)


def _row(row: dict, t: Catalogue) -> dict:
    category = category_name(t, row["product_category"], row)
    return {
        **row,
        "url": version_url(row["id"], row["version"]),
        "name": title_in(t, row),
        "category_name": category or "–",
        "badge": BADGES.get(row["status"], ""),
    }


def _filter_errors(category: str, status: str, categories: list[str], t: Catalogue) -> dict[str, str]:
    errors = {}
    if category and category not in categories:
        errors["category"] = t("pcrl.filter.error.category")
    if status and status not in STATUSES:
        errors["status"] = t("pcrl.filter.error.status")
    return errors


@router.get("/pcrs")
def library(
    request: Request,
    user: OptionalPageUser,
    db: SessionDep,
    category: str = "",
    status: str = "",
):
    t = _t(request)
    rows = pcr_registry.list_versions(db, _principal(user))
    categories = sorted({r["product_category"] for r in rows if r["product_category"]})
    errors = _filter_errors(category, status, categories, t)
    shown = [r for r in rows if not errors and category in ("", r["product_category"]) and status in ("", r["status"])]
    return page(
        request,
        "pcr/library/index.html",
        user,
        422 if errors else 200,
        rows=[_row(r, t) for r in _newest_first(shown)],
        asked={"category": category, "status": status},
        errors=errors,
        categories=[(code, category_name(t, code)) for code in categories],
        statuses=STATUSES,
        schema_url=SCHEMA_PATH,
    )


@lru_cache(maxsize=4)
def _schema_bytes(base_url: str) -> bytes:
    """The schema with its own address as `$id`: it changes only with a release of the service."""
    schema = {"$id": f"{base_url.rstrip('/')}{SCHEMA_PATH}", **pcr_json_schema()}
    return json.dumps(schema, ensure_ascii=False, indent=2).encode()


@router.get(SCHEMA_PATH)
def schema() -> Response:
    """The JSON Schema of the PCR language, at a stable address, for editors that check a draft as it is written."""
    return Response(
        _schema_bytes(get_settings().base_url),
        media_type=SCHEMA_MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=3600"},
    )


# --- one version ---------------------------------------------------------------------------------------------------


def _rules(document: dict) -> PCR | None:
    """The version's rules, or None for a draft that does not satisfy the PCR schema yet."""
    try:
        return PCR.model_validate(document)
    except ValidationError:
        return None


def _record(db, principal, view: dict) -> PcrRecordView:
    """The version's record, with the previous version its changes compare with (`pcr_registry.previous_version`)."""
    return pcr_registry.record_view(db, principal, view["id"], view["version"])


def comment_targets(pcr: PCR, t: Catalogue, lang: str) -> dict[str, list[tuple[str, str]]]:
    """The parts of this version a comment may name, as the form's select offers them: the whole, each section,
    each item (its name in the reader's language and its id)."""
    sections = [("general", t("pcrl.comment.general"))]
    sections += [(path, t(key)) for path, key in COMMENT_SECTIONS if path != "parameters" or pcr.parameters]
    items = []
    for item in pcr.items:
        name = item.label_zh if lang == "zh" and item.label_zh else item.label
        items.append((f"items[{item.id}]", f"{name} ({item.id})"))
    return {"sections": sections, "items": items}


def _other_title(view: dict, lang: str) -> str | None:
    """The version's title in the other language, shown under the heading: the registered (English) title on a
    Chinese page, the Chinese one on an English page."""
    if lang == "zh":
        return view.get("title") or None
    return title_in(i18n.catalogue("zh"), view) if view.get("title_zh") or view.get("product_category") else None


def _can_comment(view: dict, today: date) -> bool:
    ends = view["consultation_until"]
    return "comment" in view["actions"] and (ends is None or today <= ends)


def _view(db, principal, pcr_id: str, version: str) -> dict:
    """The version as the registry shows it to the caller: 404 when it is not theirs to see, or no version at all."""
    if len(pcr_id) > PCR_ID_MAX_CHARS or len(version) > VERSION_MAX_CHARS:
        raise NotFound("no such PCR version visible to you")
    return pcr_registry.version_view(db, principal, pcr_id, version)


def _document(
    request: Request, user: PageUser | None, db, pcr_id: str, version: str, status_code: int = 200, **values
) -> Response:
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    principal = _principal(user)
    view = _view(db, principal, pcr_id, version)
    pcr = _rules(view["document"])
    sections = pcr_html_sections(pcr, lang, _record(db, principal, view)) if pcr else []
    url = version_url(view["id"], view["version"])
    return page(
        request,
        "pcr/library/version.html",
        user,
        status_code,
        **{
            "view": view,
            "url": url,
            "title": pcr_title(pcr, lang) if pcr else None,
            "heading": title_in(t, view),
            "other_title": _other_title(view, lang),
            "category_name": category_name(t, view["product_category"], view),
            "badge": BADGES.get(view["status"], ""),
            "rules": [s for s in sections if s.key not in RECORD_SECTIONS],
            "record": {s.key: s for s in sections if s.key in RECORD_SECTIONS},
            "versions": [_row(r, t) for r in _newest_first(pcr_registry.list_versions(db, principal, view["id"]))],
            "targets": comment_targets(pcr, t, lang) if pcr else None,
            "can_comment": pcr is not None and _can_comment(view, today_utc()),
            "max_comment": pcr_registry.MAX_COMMENT_CHARS,
            "schema_url": SCHEMA_PATH,
            "errors": {},
            "values": {},
            "problem": None,
            **values,
        },
    )


@router.get("/pcrs/{pcr_id}/{version}")
def version_page(
    request: Request,
    pcr_id: str,
    version: str,
    user: OptionalPageUser,
    db: SessionDep,
    done: str = "",
):
    notice = _t(request)("pcrl.comment.done") if done == "commented" else None
    return _document(request, user, db, pcr_id, version, notice=notice)


def _rules_and_record(
    request: Request, db, user: PageUser | None, pcr_id: str, version: str
) -> tuple[PCR, PcrRecordView]:
    """What the downloads are made of; a draft that is no PCR yet has no document to download (409)."""
    principal = _principal(user)
    view = _view(db, principal, pcr_id, version)
    pcr = _rules(view["document"])
    if pcr is None:
        reason = _t(request)("pcrl.doc.incomplete")
        raise Conflict(reason, [{"field": "document", "reason": reason}])
    return pcr, _record(db, principal, view)


class _Documents:
    """The PDFs made last, by what they are made of (the rules, the record, the language): the same request again is
    answered without drawing the document again, and a change to any of them makes a new one."""

    def __init__(self, size: int):
        self._size, self._lock, self._kept = size, threading.Lock(), OrderedDict()

    def pdf(self, pcr: PCR, record: PcrRecordView, lang: str) -> bytes:
        key = hashlib.sha256(f"{pcr.model_dump_json()}\n{record!r}\n{lang}".encode()).digest()
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        document = pcr_pdf(pcr, record, lang)
        with self._lock:
            self._kept[key] = document
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return document


DOCUMENTS = _Documents(PDF_CACHE_SIZE)


@router.get("/pcrs/{pcr_id}/{version}/document.pdf")
def document_pdf(request: Request, pcr_id: str, version: str, user: OptionalPageUser, db: SessionDep):
    """The same document as PDF (A4), in the reader's language with the other beside it."""
    lang = i18n.negotiate(request)
    pcr, record = _rules_and_record(request, db, user, pcr_id, version)
    name = f"{pcr.id}-{pcr.version}-{lang}.pdf"
    return Response(
        DOCUMENTS.pdf(pcr, record, lang),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )


def _json(value: dict) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()


@router.get("/pcrs/{pcr_id}/{version}/pcr.json")
def rules_json(request: Request, pcr_id: str, version: str, user: OptionalPageUser, db: SessionDep):
    """The rules in the service's JSON form (exports.pcr_metadata.pcr_json)."""
    pcr, _ = _rules_and_record(request, db, user, pcr_id, version)
    name = f"{pcr.id}-{pcr.version}.json"
    return attachment(_json(pcr_json(pcr)), JSON_MEDIA_TYPE, name, name)


@router.get("/pcrs/{pcr_id}/{version}/openepd.json")
def openepd_json(request: Request, pcr_id: str, version: str, user: OptionalPageUser, db: SessionDep):
    """openEPD `Pcr` metadata of the version, for EPD registries and tools."""
    pcr, record = _rules_and_record(request, db, user, pcr_id, version)
    name = f"{pcr.id}-{pcr.version}-openepd.json"
    metadata = openepd_pcr(pcr, record, get_settings().base_url, as_of=today_utc())
    return attachment(_json(metadata), JSON_MEDIA_TYPE, name, name)


# --- the comment form ----------------------------------------------------------------------------------------------


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


def comment_errors(path: str, text: str, targets: dict, t: Catalogue) -> dict[str, str]:
    """The form's own checks, worded for the reader: a part this version has, a text within the limit."""
    errors = {}
    if path not in {value for group in targets.values() for value, _ in group}:
        errors["path"] = t("pcrl.comment.error.path")
    limit = pcr_registry.MAX_COMMENT_CHARS
    if not text.strip():
        errors["text"] = t("pcrl.comment.error.required")
    elif len(text.strip()) > limit:
        errors["text"] = t("pcrl.comment.error.long", max=limit, length=len(text.strip()))
    return errors


COMMENT_FIELDS = ("path", "text")  # the form's inputs, where a reason the registry gives about them is shown


def _refusal(exc: ServiceError, t: Catalogue) -> tuple[int, dict[str, str], str | None]:
    """A comment the registry refused, worded in the reader's language by the refusal's code: the status, and the
    reasons at the form's inputs (what was written), or the reason above the form (the version is not in
    consultation, or its period ended: nothing the form could change)."""
    reasons = pcr_registry.field_reasons_in(t, exc) if isinstance(exc, Unprocessable) else {}
    errors = {field: reason for field, reason in reasons.items() if field in COMMENT_FIELDS}
    return exc.status, errors, None if errors else pcr_registry.refusal_in(t, exc)


@router.post("/pcrs/{pcr_id}/{version}/comments")
async def add_comment(request: Request, pcr_id: str, version: str, user: OptionalPageUser, db: SessionDep):
    """A signed-in person's comment during the consultation; a visitor is sent to sign in and back to the page."""
    if user is None:
        back = f"{version_url(pcr_id, version)}#comment"
        return RedirectResponse(f"/login?{urlencode({'next': back})}", status_code=303)
    data = await session.form(request, user)
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    view = await run_in_threadpool(_view, db, user.principal, pcr_id, version)
    pcr = _rules(view["document"])
    path, text = _text(data, "path").strip(), _text(data, "text")
    values = {"path": path, "text": text[:ECHO_MAX_CHARS]}
    targets = comment_targets(pcr, t, lang) if pcr else {}
    errors = comment_errors(path, text, targets, t)
    if errors:
        return await run_in_threadpool(_document, request, user, db, pcr_id, version, 422, errors=errors, values=values)
    try:
        await run_in_threadpool(pcr_registry.comment, db, user.principal, pcr_id, version, path, text)
    except (Conflict, Unprocessable) as exc:
        status_code, errors, problem = _refusal(exc, t)
        return await run_in_threadpool(
            _document, request, user, db, pcr_id, version, status_code, errors=errors, values=values, problem=problem
        )
    return RedirectResponse(f"{version_url(view['id'], view['version'])}?done=commented#comments", status_code=303)
