"""Pages of the web application: certification. The manufacturer applies, attaches evidence, answers findings and
resubmits; the certification body works its queue, reviews in the browser, raises and closes findings and decides.
(The body's label list and its steps are web.routes.labels.)

Every handler parses, authorises (web.session), calls the same service functions as the JSON API
(services.certification) and renders; another organisation's application answers 404 through
`certification.visible`, exactly as in the API. A refused form is shown again with the reason next to its field
(422, or 413 for a document over the size limit), a refused step (409) with the reason above the page's forms,
each worded in the reader's language from the refusal's code (services.certification.refusal_in).
"""

import re
import uuid
from typing import Annotated, get_args

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse

from footprint_api.core.errors import NotFound, ServiceError, Unprocessable
from footprint_api.core.messages import Catalogue
from footprint_api.core.names import term
from footprint_api.exports import report
from footprint_api.infra.http import attachment
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Role
from footprint_api.schemas import ActionIn, ApplicationIn, FindingIn
from footprint_api.services import certification, messages, supplier_data
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import ManufacturerPage, PageUser
from label_service.render import label_figure
from label_service.workflow import APPLICATION_ACTIONS, FINDING_ACTIONS, Party

router = page_router()
body = session.page_user(Role.VERIFIER, Role.CB_ADMIN)
BodyPage = Annotated[PageUser, Depends(body)]
LABEL_KINDS = get_args(ApplicationIn.model_fields["label_kind"].annotation)
STATES = list(certification.STATES)
BADGES = {
    "draft": "",
    "submitted": "warn",
    "under_review": "warn",
    "findings": "bad",
    "corrected": "warn",
    "approved": "ok",
    "rejected": "bad",
    "label_issued": "ok",
    "open": "bad",
    "answered": "warn",
    "closed": "ok",
    "active": "ok",
    "suspended": "warn",
    "revoked": "bad",
    "expired": "bad",
    "superseded": "",
}
BODY_STEPS = [action for action, (_, _, party) in APPLICATION_ACTIONS.items() if party is Party.CERTIFICATION_BODY]
TOP_CONTRIBUTIONS = 10
NEW_FORM_FIELDS = ("certification_body_id", "label_kind", "file")
# what a form's schema error is called in the catalogue, by pydantic's error type
SCHEMA_ERRORS = {
    "missing": "cert.error.required",
    "string_too_short": "cert.error.required",
    "string_too_long": "cert.error.too_long",
    "uuid_parsing": "cert.error.choose",
    "uuid_type": "cert.error.choose",
    "literal_error": "cert.error.choose",
}


# --- presentation -------------------------------------------------------------------------------------------------


def number(value, digits: int = 4) -> str:
    """Thousands separators and `digits` significant digits: 784.8, 12,346; text as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–" if value is None else str(value)
    if value == 0 or isinstance(value, int):
        return f"{value:,}"
    from math import floor, log10

    decimals = max(0, digits - 1 - floor(log10(abs(value))))
    return f"{round(value, decimals):,.{decimals}f}"


def exact(value) -> str:
    """A number as entered or converted, without rounding away what a verifier compares (up to 9 significant
    digits, trailing zeros dropped): 120,000,000; 0.652; 22.5."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–" if value is None else str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    text = f"{value:,.9g}" if abs(value) >= 1e-4 else f"{value:.3e}"
    return text


def day(instant) -> str:
    """The Beijing calendar day of an instant, as the lists show it (the days their filters take)."""
    return when(instant)[:10] if instant else "–"


def percent(value: float | None) -> str:
    """A relative change as +4.2 % (– when there is none to state)."""
    return "–" if value is None else f"{value:+,.1f} %"


def share(value: float | None) -> str:
    """A share of 0..1 as 80.0 % (– when unknown)."""
    return "–" if value is None else f"{value * 100:.1f}\u00a0%"


def size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def _t(request: Request) -> Catalogue:
    return i18n.catalogue(i18n.negotiate(request))


def _unit(t: Catalogue, unit: str) -> str:
    """A unit as the pages print it: t*km as t·km, a percentage as %, a fraction without a unit."""
    return t.messages.get(f"cert.unit.{unit}", unit)


def _render(request: Request, template: str, user, status_code: int = 200, **values):
    t = _t(request)
    helpers = {
        "n": number,
        "exact": exact,
        "percent": percent,
        "when": when,
        "size": size,
        "unit": lambda u: _unit(t, u or ""),
        "figure": label_figure,
        "gas_name": lambda gas: certification.GASES.get(gas, gas),
        "day": day,
        "kind": lambda content_type: certification.KIND_NAMES.get(content_type, content_type),
        "evidence_kinds": [
            certification.KIND_NAMES[k]
            for k in dict.fromkeys(certification.NAMED_KINDS.values())
            if k in certification.EVIDENCE_TYPES
        ],
        "evidence_extensions": certification.EXTENSIONS,
        "badge": lambda state: BADGES.get(state or "", ""),
        "term": lambda group, key: term(t, group, key),
        "sd_number": number,
        "sd_percent": share,
        "sd_reason": lambda code, params: supplier_data.reason_text(t, code, params),
    }
    return page(request, f"certification/{template}", user, status_code, **helpers, **values)


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _errors(t: Catalogue, exc: ServiceError, field_map: dict[str, str] | None = None) -> dict[str, str]:
    """{form field: reason in the reader's language} of a refused form: each error next to the field it names."""
    return {(field_map or {}).get(k, k): v for k, v in certification.field_reasons_in(t, exc).items()}


def _validation_errors(t: Catalogue, exc: ValidationError) -> dict[str, str]:
    """{field: reason} of a form that does not match its schema, in the reader's language."""
    found = {}
    for error in exc.errors():
        code = SCHEMA_ERRORS.get(error["type"], "cert.error.invalid")
        found[".".join(str(p) for p in error["loc"])] = t(code, max=(error.get("ctx") or {}).get("max_length", ""))
    return found


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


def _uuid(data: dict, name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(_text(data, name)) if _text(data, name) else None
    except ValueError:
        raise Unprocessable(
            f"{name} is not an id", [{"field": name, "reason": "not an id", "code": "cert.error.choose"}]
        ) from None


async def _document(data: dict, name: str = "file") -> tuple[str, bytes] | None:
    """The uploaded document of a form (None when the field was left empty), read up to one byte past the limit."""
    upload = data.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return upload.filename, await upload.read(certification.MAX_EVIDENCE_BYTES + 1)


def _list_values(request: Request, user, db: Session) -> tuple[certification.ApplicationPage, dict[str, str]]:
    """One page of the caller's applications as the query string asks, and the reasons of the values set aside."""
    query, refused = certification.parse_query(request.query_params)
    t = _t(request)
    errors = {e["field"]: t(e["code"]) for e in refused}
    return certification.application_page(db, user.principal, query), errors


def _subjects(t: Catalogue, view: dict, vocabulary: certification.Vocabulary) -> dict:
    """{finding id: what it is about, in the reader's language}."""
    return {str(fid): certification.subject_name(t, s, vocabulary.items) for fid, s in view["subjects"].items()}


def _vocabulary(request: Request, view: dict) -> certification.Vocabulary:
    footprint = view["footprint"]
    return certification.pcr_vocabulary(footprint.pcr_id, footprint.pcr_version, i18n.negotiate(request))


def _item_name(t: Catalogue, vocabulary: certification.Vocabulary, item: str) -> str:
    """A PCR item, or a row of a result that is no PCR item (the plant's own generation, a measurement)."""
    if item in vocabulary.items:
        return vocabulary.items[item]
    measured = re.fullmatch(r"measured_(co2|ch4|n2o)(?:_(\d+))?", item)
    if measured:
        return t("cert.item.measured", gas=certification.GASES[measured.group(1)], number=measured.group(2) or "")
    return t.messages.get(f"cert.item.{item}", item)


_BASIS = re.compile(r"^measured \((?P<how>.*)\)(?P<also> and calculated)?$")


def _basis_name(t: Catalogue, vocabulary: certification.Vocabulary, basis: str) -> str:
    """How a gas of an item was determined (the result's English: calculated, measured (CEMS of the unit),
    measured (CEMS, kiln stack: measured_co2_1) …), in the reader's language."""
    found = _BASIS.match(basis)
    if basis == "calculated" or not found:
        return t.messages.get(f"cert.basis.{basis}", basis)
    how = found.group("how")
    if how == "CEMS of the unit":
        how = t("cert.basis.unit_cems")
    elif ": " in how:
        label, item = how.rsplit(": ", 1)
        how = f"{label}{'：' if t.lang == 'zh' else ': '}{_item_name(t, vocabulary, item)}"
    return t("cert.basis.measured_and_calculated" if found.group("also") else "cert.basis.measured", how=how)


def _path_name(t: Catalogue, path: str) -> str:
    """A value of an inventory by its path, in the reader's language: captive_power.units[0].fuel_amount ->
    自备电厂 · 机组 1 · 燃料量 (a part the catalogue does not name keeps its code)."""
    parts = []
    for segment in path.split("."):
        indexed = re.fullmatch(r"(\w+)\[(\d+)\]", segment)
        name = indexed.group(1) if indexed else segment
        shown = t.messages.get(f"cert.field.{name}", name)
        parts.append(f"{shown} {int(indexed.group(2)) + 1}" if indexed else shown)
    return " · ".join(parts)


def _change_name(t: Catalogue, vocabulary: certification.Vocabulary, change: dict) -> str:
    item = _item_name(t, vocabulary, change["item"]) if change["item"] else ""
    kind, name = change["kind"], change["name"]
    if kind == "item":
        return item
    if kind == "item_parameter":
        parameter = vocabulary.parameters.get(change["item"] + "." + name, name)
        return f"{item} · {parameter}"
    if kind == "item_field":
        return f"{item} · {t.messages.get('cert.field.' + name, name)}"
    if kind == "parameter":
        return vocabulary.parameters.get(name, name)
    if kind == "certificate":
        return t("cert.diff.batch", batch=name)
    return _path_name(t, change["field"])


def _change_value(t: Catalogue, vocabulary: certification.Vocabulary, change: dict, side: str) -> str:
    value, stated = change[side], change[side + "_stated"]
    if value is None:
        return t("cert.diff.absent")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not change["unit"] and stated:  # two units that do not convert: as entered
            return _stated(t, stated)
        return f"{exact(value)} {_unit(t, change['unit'])}".strip()
    if isinstance(value, dict) and change["name"] == "supplier":  # a supplier source: its kind named, its reference
        kind = t.messages.get(f"sd.kind.{value.get('kind')}", str(value.get("kind")))
        entry = f" / {value['entry']}" if value.get("entry") else ""
        return f"{kind} {value.get('reference')}{entry}"
    if isinstance(value, dict):
        return " · ".join(f"{t.messages.get('cert.field.' + k, k)} {v}" for k, v in value.items())
    if change["kind"] in ("item_parameter", "parameter"):
        owner = f"{change['item']}.{change['name']}" if change["item"] else change["name"]
        return vocabulary.choices.get(owner + "." + str(value), str(value))
    if change["field"] in ("facility.province", "facility.grid_region"):
        return t.messages.get(f"inv.province.{value}") or t.messages.get(f"inv.grid.{value}", str(value))
    return t.messages.get(f"cert.value.{value}", str(value)) if change["kind"] == "item_field" else str(value)


def _stated(t: Catalogue, stated) -> str:
    return f"{exact(stated[0])} {_unit(t, stated[1])}".strip() if stated else ""


def change_rows(t: Catalogue, vocabulary: certification.Vocabulary, diff: dict | None) -> list[dict]:
    """The changed inputs of a diff as a page shows them: named and valued in the reader's language, numbers in
    the PCR's unit with what was entered beside them where that was another unit, and the change in percent."""
    return [
        {
            "field": c["field"],
            "name": _change_name(t, vocabulary, c),
            "before": _change_value(t, vocabulary, c, "before"),
            "after": _change_value(t, vocabulary, c, "after"),
            "before_stated": _stated(t, c["before_stated"]) if c["unit"] else "",
            "after_stated": _stated(t, c["after_stated"]) if c["unit"] else "",
            "change": percent(c["change_percent"]),
        }
        for c in (diff or {}).get("inputs", [])
    ]


# --- the manufacturer ---------------------------------------------------------------------------------------------


def _list_page(request: Request, user, db: Session, template: str, **values):
    """A list of applications (the manufacturer's or the body's queue): one page of the search the query asks for,
    a refused filter named at its field (422) with the rest of the query applied."""
    found, errors = _list_values(request, user, db)
    return _render(
        request,
        template,
        user,
        422 if errors else 200,
        found=found,
        states=STATES,
        sorts=list(certification.SORTS),
        sizes=certification.PAGE_SIZES,
        errors=errors,
        values=request.query_params,
        **values,
    )


@router.get("/app/applications")
def applications_page(request: Request, user: ManufacturerPage, db: SessionDep):
    return _list_page(
        request, user, db, "applications.html", to_apply=certification.footprints_to_apply(db, user.principal)
    )


def _new_form(
    request: Request,
    user,
    db: Session,
    footprint: uuid.UUID,
    status_code: int = 200,
    errors: dict | None = None,
    values: dict | None = None,
    problem: str = "",
):
    return _render(
        request,
        "new.html",
        user,
        status_code,
        problem=problem,
        facts=certification.footprint_to_apply(db, user.principal, footprint),
        bodies=certification.certification_bodies(db),
        kinds=LABEL_KINDS,
        errors=errors or {},
        values=values or {},
        max_mb=certification.MAX_EVIDENCE_BYTES // (1024 * 1024),
    )


@router.get("/app/applications/new")
def new_application_page(request: Request, footprint: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    return _new_form(request, user, db, footprint)


@router.post("/app/applications/new")
async def new_application(request: Request, user: ManufacturerPage, db: SessionDep):
    data = await session.form(request, user)
    footprint = _uuid(data, "footprint_id")
    if footprint is None:
        raise NotFound("no footprint named")
    certification.footprint_to_apply(db, user.principal, footprint)  # another organisation's: 404
    values = {"certification_body_id": _text(data, "certification_body_id"), "label_kind": _text(data, "label_kind")}
    t = _t(request)
    try:
        chosen = ApplicationIn(footprint_id=footprint, **values)
    except ValidationError as exc:
        return _new_form(request, user, db, footprint, 422, _validation_errors(t, exc), values)
    try:
        document = await _document(data)
        application = await run_in_threadpool(
            certification.apply_and_submit,
            db,
            user.principal,
            footprint,
            chosen.certification_body_id,
            chosen.label_kind,
            document,
        )
    except ServiceError as exc:
        if exc.status == 404 and exc.code != "cert.error.no_body":
            raise
        db.rollback()
        errors, whole = _split(t, exc, NEW_FORM_FIELDS)
        return _new_form(request, user, db, footprint, exc.status, errors, values, whole)
    return _see(f"/app/applications/{application.id}?done=submitted")


def _application(
    request: Request,
    user,
    db: Session,
    application_id: uuid.UUID,
    status_code: int = 200,
    errors: dict | None = None,
    problem: str = "",
    values: dict | None = None,
):
    view = certification.application_view(db, user.principal, application_id)
    vocabulary = _vocabulary(request, view)
    return _render(
        request,
        "application.html",
        user,
        status_code,
        view=view,
        names=vocabulary,
        subjects=_subjects(_t(request), view, vocabulary),
        errors=errors or {},
        problem=problem,
        values=values or {},
        done=request.query_params.get("done", ""),
        max_mb=certification.MAX_EVIDENCE_BYTES // (1024 * 1024),
        kinds=LABEL_KINDS,
    )


def _split(t: Catalogue, exc: ServiceError, fields: tuple[str, ...]) -> tuple[dict[str, str], str]:
    """A refusal as a page shows it: the reasons at the form's own `fields`, and the refusal as a whole above the
    forms when it names no such field (a step refused by the workflow, a PCR out of force, the store away)."""
    reasons = _errors(t, exc)
    at_fields = {field: reason for field, reason in reasons.items() if field in fields}
    whole = certification.refusal_in(t, exc) if len(at_fields) < len(reasons) or not at_fields else ""
    return at_fields, whole


def _refused(request: Request, user, db: Session, exc: ServiceError, prefix: str, fields: tuple, show, values=None):
    """A refused form or step shown again, nothing of it stored: each reason at its field (named `prefix.field` as
    the page names them), the rest above the page's forms."""
    db.rollback()
    at_fields, whole = _split(_t(request), exc, fields)
    errors = {f"{prefix}.{field}": reason for field, reason in at_fields.items()}
    return show(request, user, db, exc.status, errors=errors, problem=whole, values=values)


@router.get("/app/applications/{application_id}")
def application_page(request: Request, application_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    return _application(request, user, db, application_id)


@router.post("/app/applications/{application_id}/evidence")
async def attach_evidence(request: Request, application_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)

    def show(request, user, db, status, **shown):
        return _application(request, user, db, application_id, status, **shown)

    try:
        document = await _document(data)
        if document is None:
            raise Unprocessable(
                "choose a document", [{"field": "file", "reason": "required", "code": "cert.error.evidence_required"}]
            )
        await run_in_threadpool(certification.upload_evidence, db, user.principal, application_id, *document)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _refused(request, user, db, exc, "evidence", ("file",), show)
    return _see(f"/app/applications/{application_id}?done=evidence#evidence")


@router.get("/app/applications/{application_id}/evidence/{document_id}")
def manufacturer_evidence(application_id: uuid.UUID, document_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    return _evidence(*certification.evidence_file(db, user.principal, application_id, document_id))


@router.get("/app/applications/{application_id}/workbook")
def manufacturer_workbook(application_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    return _workbook(certification.workbook_file(db, user.principal, application_id))


@router.post("/app/applications/{application_id}/findings/{finding_id}/answer")
async def answer_finding(
    request: Request, application_id: uuid.UUID, finding_id: uuid.UUID, user: ManufacturerPage, db: SessionDep
):
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)
    key = f"answer-{finding_id}"

    def show(request, user, db, status, **shown):
        return _application(request, user, db, application_id, status, **shown)

    try:
        await run_in_threadpool(
            certification.answer_finding,
            db,
            user.principal,
            application_id,
            finding_id,
            _text(data, "text")[:4000],
            _uuid(data, "footprint_id"),
        )
    except ServiceError as exc:
        if exc.status == 404 and not exc.code:
            raise
        return _refused(request, user, db, exc, key, ("text", "footprint_id"), show, {key: _text(data, "text")})
    return _see(f"/app/applications/{application_id}?done=answered#findings")


@router.post("/app/applications/{application_id}/actions/{action}")
async def manufacturer_action(
    request: Request, application_id: uuid.UUID, action: str, user: ManufacturerPage, db: SessionDep
):
    """submit, resubmit (with the corrected footprint chosen) or withdraw."""
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)
    if action not in ("submit", "resubmit", "withdraw"):
        raise NotFound("no such step")

    def show(request, user, db, status, **shown):
        return _application(request, user, db, application_id, status, **shown)

    try:
        footprint = _uuid(data, "footprint_id") if action == "resubmit" else None
        await run_in_threadpool(
            certification.act, db, user.principal, application_id, action, _text(data, "comment")[:2000], footprint
        )
    except ServiceError as exc:
        if exc.status == 404 and not exc.code:
            raise
        return _refused(request, user, db, exc, action, ("footprint_id",), show)
    return _see(f"/app/applications/{application_id}?done={action}")


# --- the certification body ---------------------------------------------------------------------------------------


@router.get("/app/review")
def queue_page(request: Request, db: SessionDep, user: BodyPage):
    return _list_page(request, user, db, "queue.html")


def _review(
    request: Request,
    user,
    db: Session,
    application_id: uuid.UUID,
    status_code: int = 200,
    errors: dict | None = None,
    problem: str = "",
    values: dict | None = None,
):
    t = _t(request)
    view = certification.application_view(db, user.principal, application_id)
    review = certification.review_file(db, user.principal, application_id)
    vocabulary = _vocabulary(request, view)
    contributions = sorted(review["result"].get("contributions", []), key=lambda c: -abs(c["kg_co2e"]))
    inventory = review["inventory"]
    choices = [
        (s.code, certification.subject_name(t, s, vocabulary.items))
        for s in certification.subjects_to_choose(inventory)
    ]
    subject = request.query_params.get("subject", "")
    return _render(
        request,
        "review.html",
        user,
        status_code,
        view=view,
        review=review,
        contributions=contributions[:TOP_CONTRIBUTIONS],
        items=inventory.get("items", []),
        choices=choices,
        subject=subject if subject in dict(choices) else "",
        subjects=_subjects(t, view, vocabulary),
        names=vocabulary,
        item_name=lambda item: _item_name(t, vocabulary, item),
        basis_name=lambda basis: _basis_name(t, vocabulary, basis),
        said=report.explained(review["result"], t.lang),
        diff_rows=change_rows(t, vocabulary, review["diff"]),
        in_force_rows=change_rows(t, vocabulary, (review["in_force"] or {}).get("diff")),
        checks=_checks(request, review),
        errors=errors or {},
        problem=problem,
        values=values or {},
        done=request.query_params.get("done", ""),
        steps=_body_steps(view["application"].state),
    )


def _checks(request: Request, review: dict) -> list[tuple[str, str]]:
    """The PCR checks' problems as (field, reason in the reader's language)."""
    lang = i18n.negotiate(request)
    return [(p.loc, messages.render(p, lang)) for p in review["problems"]]


def _body_steps(state: str) -> list[str]:
    """The body's steps the application's state allows now (the transition table decides)."""
    return [action for action in BODY_STEPS if state in {s.value for s in APPLICATION_ACTIONS[action][0]}]


@router.get("/app/review/{application_id}")
def review_page(request: Request, application_id: uuid.UUID, db: SessionDep, user: BodyPage):
    return _review(request, user, db, application_id)


@router.get("/app/review/{application_id}/evidence/{document_id}")
def body_evidence(application_id: uuid.UUID, document_id: uuid.UUID, db: SessionDep, user: BodyPage):
    return _evidence(*certification.evidence_file(db, user.principal, application_id, document_id))


@router.get("/app/review/{application_id}/workbook")
def body_workbook(application_id: uuid.UUID, db: SessionDep, user: BodyPage):
    return _workbook(certification.workbook_file(db, user.principal, application_id))


@router.post("/app/review/{application_id}/actions/{action}")
async def body_action(request: Request, application_id: uuid.UUID, action: str, db: SessionDep, user: BodyPage):
    """start_review, request_corrections, approve (the comment is the verification statement), reject,
    issue_label."""
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)
    if action not in BODY_STEPS:
        raise NotFound("no such step")
    comment = _text(data, "comment")

    def show(request, user, db, status, **shown):
        return _review(request, user, db, application_id, status, **shown)

    try:
        ActionIn(comment=comment)
    except ValidationError as exc:
        errors = {f"{action}.comment": _validation_errors(_t(request), exc).get("comment", "")}
        return _review(request, user, db, application_id, 422, errors, values={action: comment})
    try:
        await run_in_threadpool(certification.act, db, user.principal, application_id, action, comment)
    except ServiceError as exc:
        if exc.status == 404 and not exc.code:
            raise
        return _refused(request, user, db, exc, action, ("comment",), show, {action: comment})
    return _see(f"/app/review/{application_id}?done={action}")


@router.post("/app/review/{application_id}/findings")
async def raise_finding(request: Request, application_id: uuid.UUID, db: SessionDep, user: BodyPage):
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)
    values = {"subject": _text(data, "subject"), "text": _text(data, "text")}

    def show(request, user, db, status, **shown):
        return _review(request, user, db, application_id, status, **shown)

    try:
        finding = FindingIn(**values)
    except ValidationError as exc:
        errors = {f"raise.{k}": v for k, v in _validation_errors(_t(request), exc).items()}
        return _review(request, user, db, application_id, 422, errors, values=values)
    try:
        await run_in_threadpool(
            certification.raise_finding, db, user.principal, application_id, finding.subject, finding.text
        )
    except ServiceError as exc:
        if exc.status == 404 and not exc.code:
            raise
        return _refused(request, user, db, exc, "raise", ("subject", "text"), show, values)
    return _see(f"/app/review/{application_id}?done=raised#findings")


@router.post("/app/review/{application_id}/findings/{finding_id}/{action}")
async def finding_step(
    request: Request, application_id: uuid.UUID, finding_id: uuid.UUID, action: str, db: SessionDep, user: BodyPage
):
    """reply (the finding stays open) or close."""
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)
    if action not in FINDING_ACTIONS or action == "answer":
        raise NotFound("no such step")
    step = certification.reply_finding if action == "reply" else certification.close_finding

    def show(request, user, db, status, **shown):
        return _review(request, user, db, application_id, status, **shown)

    try:
        await run_in_threadpool(step, db, user.principal, application_id, finding_id, _text(data, "text")[:4000])
    except ServiceError as exc:
        if exc.status == 404 and not exc.code:
            raise
        return _refused(request, user, db, exc, f"{action}-{finding_id}", ("text",), show)
    return _see(f"/app/review/{application_id}?done={action}#findings")


def _evidence(document, data: bytes):
    return attachment(data, document.content_type, certification.download_name(document), document.name)


def _workbook(workbook: certification.Workbook):
    return attachment(workbook.data, workbook.content_type, workbook.download_name, workbook.name)
