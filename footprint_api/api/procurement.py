"""Tender evaluations over the JSON API (services.procurement): the comparable groups to choose from, a buyer's
evaluations, their candidates (typed or a supplier's list), evaluating, the sheets, the award and the awarded labels
watched. For a procurement organisation's people; another organisation's evaluation answers 404."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from footprint_api.api.deps import require
from footprint_api.infra.http import attachment
from footprint_api.infra.security import Principal
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import ProcurementEvaluation
from footprint_api.services import procurement

router = APIRouter(prefix="/api/v1/procurement", tags=["procurement"])
BuyerDep = Annotated[Principal, Depends(require(*procurement.BUYER_ROLES))]
Language = Literal["en", "zh"]
Rule = Literal["max_value", "max_grade", "best_percent", "threshold"]


class GroupOut(BaseModel):
    key: str = Field(description="the group in one string: PCR id~major~product class~declared unit")
    name: str = Field(description="the group named in the language asked for")
    labels: int = Field(description="labels of the group, in any state")
    valid: int = Field(description="labels of the group valid today (China time)")


class EvaluationIn(BaseModel):
    title: str = Field(max_length=procurement.TITLE_MAX_CHARS, examples=["Cement for municipal works 2027"])
    reference: str | None = Field(default=None, max_length=procurement.REFERENCE_MAX_CHARS, examples=["ZB-2027-014"])
    group: str = Field(max_length=400, description="a group's key (GET /api/v1/procurement/groups)")
    rule: Rule = Field(
        description="max_value: kg CO2e per declared unit at most rule_value; max_grade: grade at most rule_value "
        "(1-5); best_percent: within the best rule_value % of the group; threshold: at most rule_value times the "
        "benchmark"
    )
    rule_value: float = Field(examples=[3])
    award_date: date = Field(description="labels must still be valid on this day")
    min_validity_days: int = Field(default=0, ge=0, le=procurement.MAX_VALIDITY_DAYS)


class ReasonOut(BaseModel):
    verdict: str
    code: str = Field(description="the message code (locales/*/procurement.yaml)")
    params: dict
    text: str = Field(description="the reason in the language asked for")


class CandidateOut(BaseModel):
    id: uuid.UUID
    position: int
    given: str
    given_kind: Literal["label", "gtin"]
    columns: dict = Field(description="the buyer's own columns of an uploaded list, by heading")
    label_number: str | None
    product: str | None
    manufacturer: str | None
    verdict: str | None = Field(description="pass, fail, not_comparable, invalid, unknown; None before evaluating")
    reasons: list[ReasonOut]
    value: float | None = Field(description="the value the label states, kg CO2e per declared unit")
    margin: float | None = Field(description="the rule's limit minus the value (positive: under the limit)")
    grade: int | None
    rank: int | None
    awarded_at: datetime | None


class SheetOut(BaseModel):
    number: int
    evaluated_at: datetime
    counts: dict[str, int]
    xlsx: str
    pdf: str


class EvaluationOut(BaseModel):
    id: uuid.UUID
    title: str
    reference: str | None
    group: str
    group_name: str
    rule: str
    rule_value: float
    award_date: date
    min_validity_days: int
    state: str = Field(description="draft, evaluated or awarded")
    evaluated_at: datetime | None
    result: dict | None = Field(description="the latest evaluation: counts, benchmarks and their basis, ranking")
    candidates: list[CandidateOut]
    sheets: list[SheetOut] = Field(description="every sheet written, newest first")


class EvaluationSummaryOut(BaseModel):
    id: uuid.UUID
    title: str
    reference: str | None
    group: str
    rule: str
    rule_value: float
    award_date: date
    state: str
    evaluated_at: datetime | None
    created_at: datetime


class CandidatesIn(BaseModel):
    candidates: list[str] = Field(
        max_length=procurement.MAX_CANDIDATES,
        description="label numbers or GTINs (GTIN-8, -12, -13 or -14)",
        examples=[["PCF-2026-000123-F", "6901234567892"]],
    )


class AwardIn(BaseModel):
    candidate_ids: list[uuid.UUID] = Field(max_length=procurement.MAX_CANDIDATES)


class WatchedOut(BaseModel):
    number: str
    product: str
    manufacturer: str
    status: str = Field(description="VALID, SUSPENDED, REVOKED, EXPIRED or SUPERSEDED today")
    expires_on: date
    superseded_by: str | None
    awarded_at: datetime
    evaluations: list[uuid.UUID]


def _sheet_href(evaluation_id: uuid.UUID, number: int, fmt: str) -> str:
    return f"/api/v1/procurement/evaluations/{evaluation_id}/sheets/{number}.{fmt}"


def _out(session, evaluation: ProcurementEvaluation, lang: str) -> EvaluationOut:
    views = procurement.candidate_views(session, evaluation, lang)
    return EvaluationOut(
        id=evaluation.id,
        title=evaluation.title,
        reference=evaluation.reference,
        group=procurement.group_of_evaluation(evaluation).key,
        group_name=procurement.group_view(evaluation, lang)["name"],
        rule=evaluation.rule,
        rule_value=evaluation.rule_value,
        award_date=evaluation.award_date,
        min_validity_days=evaluation.min_validity_days,
        state=evaluation.state,
        evaluated_at=evaluation.evaluated_at,
        result=evaluation.result,
        candidates=[_candidate(view) for view in views],
        sheets=[
            SheetOut(
                number=sheet["number"],
                evaluated_at=datetime.fromisoformat(sheet["at"]),
                counts=sheet.get("counts", {}),
                xlsx=_sheet_href(evaluation.id, sheet["number"], "xlsx"),
                pdf=_sheet_href(evaluation.id, sheet["number"], "pdf"),
            )
            for sheet in procurement.sheets(evaluation)
        ],
    )


def _candidate(view: dict) -> CandidateOut:
    candidate, label = view["candidate"], view["label"]
    return CandidateOut(
        id=candidate.id,
        position=candidate.position,
        given=candidate.given,
        given_kind=candidate.given_kind,
        columns=candidate.columns or {},
        label_number=label.number if label else None,
        product=label.product_name if label else None,
        manufacturer=label.manufacturer_name if label else None,
        verdict=candidate.verdict,
        reasons=[ReasonOut(**reason) for reason in view["reasons"]],
        value=candidate.value,
        margin=candidate.margin,
        grade=candidate.grade,
        rank=candidate.rank,
        awarded_at=candidate.awarded_at,
    )


@router.get("/groups", response_model=list[GroupOut], summary="The comparable groups that have labels")
def list_groups(session: SessionDep, principal: BuyerDep, lang: Language = "en"):
    return [
        GroupOut(**{k: entry[k] for k in ("key", "name", "labels", "valid")})
        for entry in procurement.groups(session, lang)
    ]


@router.get("/evaluations", response_model=list[EvaluationSummaryOut], summary="The organisation's evaluations")
def list_evaluations(session: SessionDep, principal: BuyerDep):
    return [
        EvaluationSummaryOut(
            id=e.id,
            title=e.title,
            reference=e.reference,
            group=procurement.group_of_evaluation(e).key,
            rule=e.rule,
            rule_value=e.rule_value,
            award_date=e.award_date,
            state=e.state,
            evaluated_at=e.evaluated_at,
            created_at=e.created_at,
        )
        for e in procurement.evaluations(session, principal)
    ]


@router.post("/evaluations", response_model=EvaluationOut, status_code=201, summary="Create an evaluation")
def create_evaluation(body: EvaluationIn, session: SessionDep, principal: BuyerDep, lang: Language = "en"):
    evaluation = procurement.create(session, principal, procurement.EvaluationForm(**body.model_dump()))
    return _out(session, evaluation, lang)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationOut, summary="An evaluation with its candidates")
def get_evaluation(evaluation_id: uuid.UUID, session: SessionDep, principal: BuyerDep, lang: Language = "en"):
    return _out(session, procurement.evaluation_of(session, principal, evaluation_id), lang)


@router.post(
    "/evaluations/{evaluation_id}/candidates",
    response_model=list[CandidateOut],
    status_code=201,
    summary="Add candidates by label number or GTIN",
)
def add_candidates(
    evaluation_id: uuid.UUID, body: CandidatesIn, session: SessionDep, principal: BuyerDep, lang: Language = "en"
):
    added = procurement.add_candidates(session, principal, evaluation_id, body.candidates)
    return [_candidate({"candidate": c, "label": None, "reasons": []}) for c in added]


@router.post(
    "/evaluations/{evaluation_id}/candidates/upload",
    response_model=list[CandidateOut],
    status_code=201,
    summary="Add the candidates of a supplier's list (XLSX or CSV, a heading row; its other columns kept)",
)
async def upload_candidates(
    evaluation_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="the list, .xlsx or .csv")],
    session: SessionDep,
    principal: BuyerDep,
    column: Annotated[str | None, Form(max_length=200, description="the heading of the column of numbers")] = None,
):
    content = await file.read(procurement.UPLOAD_MAX_BYTES + 1)
    added = await run_in_threadpool(
        procurement.add_from_list, session, principal, evaluation_id, content, file.filename, file.content_type, column
    )
    return [_candidate({"candidate": c, "label": None, "reasons": []}) for c in added]


@router.delete("/evaluations/{evaluation_id}/candidates/{candidate_id}", status_code=204, summary="Remove a candidate")
def remove_candidate(evaluation_id: uuid.UUID, candidate_id: uuid.UUID, session: SessionDep, principal: BuyerDep):
    procurement.remove_candidate(session, principal, evaluation_id, candidate_id)
    return Response(status_code=204)


@router.post(
    "/evaluations/{evaluation_id}/evaluate",
    response_model=EvaluationOut,
    summary="Evaluate every candidate today and write a new sheet (the earlier ones stay)",
)
def evaluate(evaluation_id: uuid.UUID, session: SessionDep, principal: BuyerDep, lang: Language = "en"):
    return _out(session, procurement.evaluate(session, principal, evaluation_id), lang)


@router.post(
    "/evaluations/{evaluation_id}/award",
    response_model=EvaluationOut,
    summary="Award candidates that passed the latest evaluation; their labels are then watched",
)
def award(evaluation_id: uuid.UUID, body: AwardIn, session: SessionDep, principal: BuyerDep, lang: Language = "en"):
    procurement.award(session, principal, evaluation_id, body.candidate_ids)
    return _out(session, procurement.evaluation_of(session, principal, evaluation_id), lang)


@router.get(
    "/evaluations/{evaluation_id}/sheets/{number}.{fmt}",
    summary="One of the evaluation's sheets (XLSX or PDF, both languages)",
    response_class=Response,
)
def sheet(
    evaluation_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=100_000)],
    fmt: Annotated[str, Path(pattern="^(xlsx|pdf)$")],
    session: SessionDep,
    principal: BuyerDep,
):
    data, media_type, name = procurement.sheet_file(session, principal, evaluation_id, number, fmt)
    return attachment(data, media_type, procurement.ascii_name(name), name)


@router.get("/watched", response_model=list[WatchedOut], summary="The labels the organisation awarded, watched")
def watched(session: SessionDep, principal: BuyerDep):
    return [
        WatchedOut(
            number=entry["label"].number,
            product=entry["label"].product_name,
            manufacturer=entry["label"].manufacturer_name,
            status=entry["status"],
            expires_on=entry["label"].expires_on,
            superseded_by=entry["label"].superseded_by,
            awarded_at=entry["awarded_at"],
            evaluations=[e.id for e in entry["evaluations"]],
        )
        for entry in procurement.watched(session, principal)
    ]
