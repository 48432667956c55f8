"""Pages of the web application: a procurement organisation's tender evaluations (services.procurement) — the
list with the awarded labels watched, a new evaluation (group, rule, award date), and each evaluation on a page of its
own: add candidates by number or GTIN or from a supplier's list, evaluate, read each verdict with its reasons in the
reader's language, download every sheet, award. The same service functions as the JSON API; a refusal is shown
beside the field it names, in the reader's language, and nothing is stored."""

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse

from footprint_api.core.errors import Conflict, ServiceError, Unprocessable
from footprint_api.infra.http import attachment
from footprint_api.persistence.db import SessionDep
from footprint_api.services import procurement
from footprint_api.services.messages import render
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import PageUser

router = page_router()
BuyerPage = Annotated[PageUser, Depends(session.page_user(*procurement.BUYER_ROLES))]
FORM_FIELDS = ("title", "reference", "group", "rule", "rule_value", "award_date", "min_validity_days")
VERDICT_BADGES = {"pass": "ok", "fail": "bad", "invalid": "bad", "not_comparable": "warn", "unknown": "warn"}
STATUS_BADGES = {"VALID": "ok", "SUSPENDED": "warn", "REVOKED": "bad", "EXPIRED": "bad", "SUPERSEDED": "warn"}
DONE = {"created", "added", "removed", "evaluated", "awarded"}
MAX_TEXT_CHARS = 100_000  # the candidates' box: 2,000 numbers of 17 characters with their line ends


def _lang(request: Request) -> str:
    return i18n.negotiate(request)


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


def _errors(exc: ServiceError, lang: str, into: str | None = None) -> dict[str, list[str]]:
    """Each error of a refusal beside its field (`candidates[3]` beside `candidates`), or all of them beside one
    form (`into`: the award, the evaluation), in the reader's language."""
    found: dict[str, list[str]] = {}
    entries = exc.errors or [{"field": "form", "reason": exc.detail, "code": exc.code, "params": exc.params}]
    for error in entries:
        name = into or str(error.get("field") or "form").split("[", 1)[0]
        found.setdefault(name, []).append(render(error, lang))
    return found


def _done(request: Request, t) -> str | None:
    done = request.query_params.get("done", "")
    if done not in DONE:
        return None
    count = request.query_params.get("count", "")
    count = int(count) if count.isdecimal() and len(count) < 7 else 0
    return t(f"proc.done.{done}", count=count, number=count)


def _back(evaluation_id: uuid.UUID, done: str, count: int | None = None, anchor: str = "") -> RedirectResponse:
    query = {"done": done, **({"count": str(count)} if count is not None else {})}
    return RedirectResponse(f"/app/procurement/{evaluation_id}?{urlencode(query)}{anchor}", status_code=303)


# --- the list -------------------------------------------------------------------------------------------------------


@router.get("/app/procurement")
def list_page(request: Request, db: SessionDep, user: BuyerPage):
    lang = _lang(request)
    found = procurement.evaluations(db, user.principal)
    return page(
        request,
        "procurement/list.html",
        user,
        evaluations=[
            {
                "evaluation": e,
                "group": procurement.group_view(e, lang),
                "rule": procurement.rule_text(e.rule, e.rule_value, lang),
            }
            for e in found
        ],
        watched=procurement.watched(db, user.principal),
        status_badge=lambda status: STATUS_BADGES.get(status, ""),
        when=when,
    )


# --- a new evaluation -----------------------------------------------------------------------------------------------


def _new_page(request: Request, db, user: PageUser, status_code: int = 200, values=None, errors=None):
    return page(
        request,
        "procurement/new.html",
        user,
        status_code,
        groups=procurement.groups(db, _lang(request)),
        rules=procurement.RULES,
        values=values or {"min_validity_days": "0"},
        errors=errors or {},
    )


@router.get("/app/procurement/new")
def new_page(request: Request, db: SessionDep, user: BuyerPage):
    return _new_page(request, db, user)


@router.post("/app/procurement")
async def create(request: Request, db: SessionDep, user: BuyerPage):
    data = await session.form(request, user)
    values = {name: _text(data, name) for name in FORM_FIELDS}
    given = procurement.EvaluationForm(**values)
    try:
        evaluation = await run_in_threadpool(procurement.create, db, user.principal, given)
    except Unprocessable as exc:
        db.rollback()
        return _new_page(request, db, user, 422, values, _errors(exc, _lang(request)))
    return _back(evaluation.id, "created")


# --- an evaluation --------------------------------------------------------------------------------------------------


def _detail(
    request: Request, db, user: PageUser, evaluation_id: uuid.UUID, status_code: int = 200, errors=None, typed=None
):
    lang = _lang(request)
    t = i18n.catalogue(lang)
    evaluation = procurement.evaluation_of(db, user.principal, evaluation_id)
    views = procurement.candidate_views(db, evaluation, lang)
    candidates = [view["candidate"] for view in views]
    return page(
        request,
        "procurement/detail.html",
        user,
        status_code,
        evaluation=evaluation,
        group=procurement.group_view(evaluation, lang),
        rule=procurement.rule_text(evaluation.rule, evaluation.rule_value, lang),
        views=views,
        headings=procurement.buyer_headings(candidates),
        result=evaluation.result,
        benchmarks=[procurement.benchmark_text(b, lang) for b in (evaluation.result or {}).get("benchmarks", [])],
        sheets=[{**sheet, "at": datetime.fromisoformat(sheet["at"])} for sheet in procurement.sheets(evaluation)],
        verdicts=procurement.VERDICTS,
        verdict_badge=lambda verdict: VERDICT_BADGES.get(verdict or "", ""),
        figure=procurement.figure,
        when=when,
        errors=errors or {},
        typed=typed or {},
        open=evaluation.state != procurement.AWARDED,
        awardable=any(view["awardable"] for view in views),
        notice=_done(request, t) if status_code == 200 else None,
    )


@router.get("/app/procurement/{evaluation_id}")
def detail_page(request: Request, evaluation_id: uuid.UUID, db: SessionDep, user: BuyerPage):
    return _detail(request, db, user, evaluation_id)


@router.post("/app/procurement/{evaluation_id}/candidates")
async def add_candidates(request: Request, evaluation_id: uuid.UUID, db: SessionDep, user: BuyerPage):
    data = await session.form(request, user)
    text = _text(data, "candidates")[:MAX_TEXT_CHARS]
    try:
        added = await run_in_threadpool(
            procurement.add_candidates, db, user.principal, evaluation_id, text.splitlines()
        )
    except (Unprocessable, Conflict) as exc:
        db.rollback()
        status = 409 if isinstance(exc, Conflict) else 422
        return _detail(request, db, user, evaluation_id, status, _errors(exc, _lang(request)), {"candidates": text})
    return _back(evaluation_id, "added", len(added), "#candidates-h")


@router.post("/app/procurement/{evaluation_id}/upload")
async def upload(request: Request, evaluation_id: uuid.UUID, db: SessionDep, user: BuyerPage):
    data = await session.form(request, user)
    file, column = data.get("file"), _text(data, "column").strip()[:200]
    if not isinstance(file, UploadFile) or not file.filename:
        lang = _lang(request)
        missing = {"file": [i18n.catalogue(lang)("proc.upload.missing")]}
        return _detail(request, db, user, evaluation_id, 422, missing, {"column": column})
    content = await file.read(procurement.UPLOAD_MAX_BYTES + 1)
    try:
        added = await run_in_threadpool(
            procurement.add_from_list,
            db,
            user.principal,
            evaluation_id,
            content,
            file.filename,
            file.content_type,
            column or None,
        )
    except ServiceError as exc:
        if exc.status not in (409, 413, 422):
            raise
        db.rollback()
        return _detail(request, db, user, evaluation_id, exc.status, _errors(exc, _lang(request)), {"column": column})
    return _back(evaluation_id, "added", len(added), "#candidates-h")


@router.post("/app/procurement/{evaluation_id}/candidates/{candidate_id}/remove")
async def remove(request: Request, evaluation_id: uuid.UUID, candidate_id: uuid.UUID, db: SessionDep, user: BuyerPage):
    await session.form(request, user)
    try:
        await run_in_threadpool(procurement.remove_candidate, db, user.principal, evaluation_id, candidate_id)
    except Conflict as exc:
        db.rollback()
        return _detail(request, db, user, evaluation_id, 409, _errors(exc, _lang(request)))
    return _back(evaluation_id, "removed", anchor="#candidates-h")


@router.post("/app/procurement/{evaluation_id}/evaluate")
async def evaluate(request: Request, evaluation_id: uuid.UUID, db: SessionDep, user: BuyerPage):
    await session.form(request, user)
    try:
        evaluation = await run_in_threadpool(procurement.evaluate, db, user.principal, evaluation_id)
    except (Unprocessable, Conflict) as exc:
        db.rollback()
        status = 409 if isinstance(exc, Conflict) else 422
        return _detail(request, db, user, evaluation_id, status, _errors(exc, _lang(request), "evaluate"))
    return _back(evaluation_id, "evaluated", evaluation.result["sheet"], "#candidates-h")


@router.post("/app/procurement/{evaluation_id}/award")
async def award(request: Request, evaluation_id: uuid.UUID, db: SessionDep, user: BuyerPage):
    data = await session.form(request, user)
    chosen = data.get("candidate", [])
    chosen = chosen if isinstance(chosen, list) else [chosen]
    ids = []
    for value in chosen:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            continue  # not an id of this page's form: the service answers for the ids it is given
    try:
        awarded = await run_in_threadpool(procurement.award, db, user.principal, evaluation_id, ids)
    except (Unprocessable, Conflict) as exc:
        db.rollback()
        status = 409 if isinstance(exc, Conflict) else 422
        return _detail(request, db, user, evaluation_id, status, _errors(exc, _lang(request), "award"))
    return _back(evaluation_id, "awarded", len(awarded), "#candidates-h")


@router.get("/app/procurement/{evaluation_id}/sheets/{number}.{fmt}")
def sheet(request: Request, evaluation_id: uuid.UUID, number: int, fmt: str, db: SessionDep, user: BuyerPage):
    data, media_type, name = procurement.sheet_file(db, user.principal, evaluation_id, number, fmt)
    return attachment(data, media_type, procurement.ascii_name(name), name)
