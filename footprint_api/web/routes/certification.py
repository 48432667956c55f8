"""Pages of the web application: certification. The manufacturer applies, attaches evidence, answers findings and
resubmits; the certification body works its queue, reviews in the browser, raises and closes findings, decides,
issues labels and suspends, reinstates or revokes them.

Every handler parses, authorises (web.session), calls the same service functions as the JSON API
(services.certification, services.labels) and renders; another organisation's application answers 404 through
`certification.visible`, exactly as in the API. A refused form is shown again with the reason next to its field
(422, or 413 for a document over the size limit), a refused step (409) with the reason above the page's forms.
"""

import uuid
from typing import Annotated, get_args

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse

from footprint_api.core.errors import Conflict, NotFound, ServiceError, Unprocessable
from footprint_api.core.names import pcr_names, term
from footprint_api.infra.http import attachment
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Role
from footprint_api.schemas import ActionIn, ApplicationIn, FindingIn
from footprint_api.services import certification
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import ManufacturerPage, PageUser
from label_service.workflow import APPLICATION_ACTIONS, FINDING_ACTIONS, ApplicationState, Party

router = page_router()
manufacturer = session.page_user(Role.MANUFACTURER_MEMBER, Role.MANUFACTURER_ADMIN)
body = session.page_user(Role.VERIFIER, Role.CB_ADMIN)
LABEL_KINDS = get_args(ApplicationIn.model_fields["label_kind"].annotation)
STATES = [state.value for state in ApplicationState]
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
LABEL_STEPS = ("suspend", "reinstate", "revoke")
TOP_CONTRIBUTIONS = 10


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


def size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def _render(request: Request, template: str, user, status_code: int = 200, **values):
    t = i18n.catalogue(i18n.negotiate(request))
    helpers = {
        "n": number,
        "when": when,
        "size": size,
        "badge": lambda state: BADGES.get(state or "", ""),
        "term": lambda group, key: term(t, group, key),
    }
    return page(request, f"certification/{template}", user, status_code, **helpers, **values)


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _errors(exc: ServiceError, field_map: dict[str, str] | None = None) -> dict[str, str]:
    """{form field: reason} of a refused form: each error next to the field it names."""
    found = {}
    for error in exc.errors or [{"field": "", "reason": exc.detail}]:
        field = str(error.get("field", ""))
        found[(field_map or {}).get(field, field)] = str(error.get("reason", exc.detail))
    return found


def _validation_errors(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.errors()}


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


def _uuid(data: dict, name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(_text(data, name)) if _text(data, name) else None
    except ValueError:
        raise Unprocessable(f"{name} is not an id", [{"field": name, "reason": "not an id"}]) from None


async def _document(data: dict, name: str = "file") -> tuple[str, bytes] | None:
    """The uploaded document of a form (None when the field was left empty), read up to one byte past the limit."""
    upload = data.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return upload.filename, await upload.read(certification.MAX_EVIDENCE_BYTES + 1)


# --- the manufacturer ---------------------------------------------------------------------------------------------


@router.get("/app/applications")
def applications_page(request: Request, user: ManufacturerPage, db: SessionDep, state: str = ""):
    rows = certification.application_rows(db, user.principal, state if state in STATES else None)
    return _render(
        request,
        "applications.html",
        user,
        rows=rows,
        states=STATES,
        state=state,
        groups=_grouped(rows),
        to_apply=certification.footprints_to_apply(db, user.principal),
    )


def _grouped(rows) -> list[tuple[str, list]]:
    """Rows by state, in the order of the workflow."""
    return [
        (state, [r for r in rows if r.application.state == state])
        for state in STATES
        if any(r.application.state == state for r in rows)
    ]


def _new_form(
    request: Request,
    user,
    db: Session,
    footprint: uuid.UUID,
    status_code: int = 200,
    errors: dict | None = None,
    values: dict | None = None,
):
    return _render(
        request,
        "new.html",
        user,
        status_code,
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
    try:
        chosen = ApplicationIn(footprint_id=footprint, **values)
    except ValidationError as exc:
        return _new_form(request, user, db, footprint, 422, _validation_errors(exc), values)
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
    except (Unprocessable, certification.PayloadTooLarge) as exc:
        return _new_form(request, user, db, footprint, exc.status, _errors(exc), values)
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
    return _render(
        request,
        "application.html",
        user,
        status_code,
        view=view,
        errors=errors or {},
        problem=problem,
        values=values or {},
        done=request.query_params.get("done", ""),
        max_mb=certification.MAX_EVIDENCE_BYTES // (1024 * 1024),
        kinds=LABEL_KINDS,
    )


@router.get("/app/applications/{application_id}")
def application_page(request: Request, application_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    return _application(request, user, db, application_id)


@router.post("/app/applications/{application_id}/evidence")
async def attach_evidence(request: Request, application_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)
    try:
        document = await _document(data)
        if document is None:
            raise Unprocessable("choose a document", [{"field": "file", "reason": "required"}])
        await run_in_threadpool(certification.upload_evidence, db, user.principal, application_id, *document)
    except (Unprocessable, certification.PayloadTooLarge) as exc:
        return _application(
            request, user, db, application_id, exc.status, {f"evidence.{k}": v for k, v in _errors(exc).items()}
        )
    except Conflict as exc:
        return _application(request, user, db, application_id, 409, problem=exc.detail)
    return _see(f"/app/applications/{application_id}?done=evidence#evidence")


@router.get("/app/applications/{application_id}/evidence/{document_id}")
def manufacturer_evidence(application_id: uuid.UUID, document_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    return _evidence(*certification.evidence_file(db, user.principal, application_id, document_id))


@router.post("/app/applications/{application_id}/findings/{finding_id}/answer")
async def answer_finding(
    request: Request, application_id: uuid.UUID, finding_id: uuid.UUID, user: ManufacturerPage, db: SessionDep
):
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)
    key = f"answer-{finding_id}"
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
    except Unprocessable as exc:
        return _application(
            request,
            user,
            db,
            application_id,
            422,
            {f"{key}.{k}": v for k, v in _errors(exc).items()},
            values={key: _text(data, "text")},
        )
    except Conflict as exc:
        return _application(request, user, db, application_id, 409, problem=exc.detail)
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
    try:
        footprint = _uuid(data, "footprint_id") if action == "resubmit" else None
        await run_in_threadpool(
            certification.act, db, user.principal, application_id, action, _text(data, "comment")[:2000], footprint
        )
    except Unprocessable as exc:
        return _application(
            request, user, db, application_id, 422, {f"{action}.{k}": v for k, v in _errors(exc).items()}
        )
    except Conflict as exc:
        return _application(request, user, db, application_id, 409, problem=exc.detail)
    return _see(f"/app/applications/{application_id}?done={action}")


# --- the certification body ---------------------------------------------------------------------------------------


@router.get("/app/review")
def queue_page(request: Request, db: SessionDep, user: Annotated[PageUser, Depends(body)], state: str = ""):
    every = certification.application_rows(db, user.principal)
    rows = [r for r in every if state not in STATES or r.application.state == state]
    counts = {s: n for s in STATES if (n := sum(r.application.state == s for r in every))}
    return _render(request, "queue.html", user, rows=rows, groups=_grouped(rows), state=state, counts=counts)


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
    view = certification.application_view(db, user.principal, application_id)
    review = certification.review_file(db, user.principal, application_id)
    contributions = sorted(review["result"].get("contributions", []), key=lambda c: -abs(c["kg_co2e"]))
    items = review["inventory"].get("items", [])
    inventory = review["inventory"]
    units = (inventory.get("captive_power") or {}).get("units", [])
    subjects = (
        [f"items[{i}]" for i in range(len(items))]
        + [f"captive_power.units[{i}]" for i in range(len(units))]
        + (["captive_power"] if units else [])
        + [f"measured_emissions[{i}]" for i in range(len(inventory.get("measured_emissions", [])))]
        + ["production", "facility", "green_certificates", "result"]
    )
    subject = request.query_params.get("subject", "")
    return _render(
        request,
        "review.html",
        user,
        status_code,
        view=view,
        review=review,
        contributions=contributions[:TOP_CONTRIBUTIONS],
        items=items,
        subjects=subjects,
        subject=subject if subject in subjects else "",
        errors=errors or {},
        problem=problem,
        values=values or {},
        done=request.query_params.get("done", ""),
        steps=_body_steps(view["application"].state),
        names=pcr_names(review["result"].get("pcr") or {}, i18n.negotiate(request)),
    )


def _body_steps(state: str) -> list[str]:
    """The body's steps the application's state allows now (the transition table decides)."""
    return [action for action in BODY_STEPS if state in {s.value for s in APPLICATION_ACTIONS[action][0]}]


@router.get("/app/review/{application_id}")
def review_page(request: Request, application_id: uuid.UUID, db: SessionDep, user: Annotated[PageUser, Depends(body)]):
    return _review(request, user, db, application_id)


@router.get("/app/review/{application_id}/evidence/{document_id}")
def body_evidence(
    application_id: uuid.UUID, document_id: uuid.UUID, db: SessionDep, user: Annotated[PageUser, Depends(body)]
):
    return _evidence(*certification.evidence_file(db, user.principal, application_id, document_id))


@router.post("/app/review/{application_id}/actions/{action}")
async def body_action(
    request: Request, application_id: uuid.UUID, action: str, db: SessionDep, user: Annotated[PageUser, Depends(body)]
):
    """start_review, request_corrections, approve (the comment is the verification statement), reject,
    issue_label."""
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)
    if action not in BODY_STEPS:
        raise NotFound("no such step")
    comment = _text(data, "comment")
    try:
        ActionIn(comment=comment)
        await run_in_threadpool(certification.act, db, user.principal, application_id, action, comment)
    except ValidationError as exc:
        return _review(
            request,
            user,
            db,
            application_id,
            422,
            {f"{action}.comment": _validation_errors(exc).get("comment", "")},
            values={action: comment},
        )
    except Unprocessable as exc:
        return _review(
            request,
            user,
            db,
            application_id,
            422,
            {f"{action}.{k}": v for k, v in _errors(exc).items()},
            values={action: comment},
        )
    except Conflict as exc:
        return _review(request, user, db, application_id, 409, problem=exc.detail, values={action: comment})
    return _see(f"/app/review/{application_id}?done={action}")


@router.post("/app/review/{application_id}/findings")
async def raise_finding(
    request: Request, application_id: uuid.UUID, db: SessionDep, user: Annotated[PageUser, Depends(body)]
):
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)
    values = {"subject": _text(data, "subject"), "text": _text(data, "text")}
    try:
        finding = FindingIn(**values)
        await run_in_threadpool(
            certification.raise_finding, db, user.principal, application_id, finding.subject, finding.text
        )
    except ValidationError as exc:
        return _review(
            request,
            user,
            db,
            application_id,
            422,
            {f"raise.{k}": v for k, v in _validation_errors(exc).items()},
            values=values,
        )
    except Conflict as exc:
        return _review(request, user, db, application_id, 409, problem=exc.detail, values=values)
    return _see(f"/app/review/{application_id}?done=raised#findings")


@router.post("/app/review/{application_id}/findings/{finding_id}/{action}")
async def finding_step(
    request: Request,
    application_id: uuid.UUID,
    finding_id: uuid.UUID,
    action: str,
    db: SessionDep,
    user: Annotated[PageUser, Depends(body)],
):
    """reply (the finding stays open) or close."""
    data = await session.form(request, user)
    certification.visible(db, user.principal, application_id)
    if action not in FINDING_ACTIONS or action == "answer":
        raise NotFound("no such step")
    step = certification.reply_finding if action == "reply" else certification.close_finding
    key = f"{action}-{finding_id}"
    try:
        await run_in_threadpool(step, db, user.principal, application_id, finding_id, _text(data, "text")[:4000])
    except Unprocessable as exc:
        return _review(request, user, db, application_id, 422, {f"{key}.{k}": v for k, v in _errors(exc).items()})
    except Conflict as exc:
        return _review(request, user, db, application_id, 409, problem=exc.detail)
    return _see(f"/app/review/{application_id}?done={action}#findings")


def _evidence(document, data: bytes):
    return attachment(data, document.content_type, certification.download_name(document), document.name)
