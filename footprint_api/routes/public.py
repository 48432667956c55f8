"""Public, no login: label verification (page and JSON), the registry, comparison, bulk checks, files, keys."""

import csv
import io
import statistics
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session, col, select

from footprint_api.db import get_session
from footprint_api.errors import NotFound, Unprocessable
from footprint_api.models import Label
from footprint_api.objects import object_store
from footprint_api.schemas import PublicLabel
from footprint_api.services import labels
from footprint_api.verification import Snapshot, load_snapshot, public_fields, today, verification_cache
from label_service.claim import grouped
from label_service.numbering import InvalidLabelNumber, normalise
from label_service.qr import gtin14
from label_service.signing import canonical_json
from label_service.storage import StorageError
from label_service.verification import Verdict

router = APIRouter(tags=["public verification"])
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
STATUS_TEXT = {
    Verdict.VALID: {"en": "VALID", "zh": "有效", "why": "This label was issued by the certification body below and "
                                                       "is in force. 该标签由下列认证机构签发，现行有效。"},
    Verdict.SUSPENDED: {"en": "SUSPENDED", "zh": "暂停", "why": "The certification body has suspended this label. "
                                                              "该标签已被认证机构暂停。"},
    Verdict.REVOKED: {"en": "REVOKED", "zh": "已撤销", "why": "The certification body has revoked this label. "
                                                          "该标签已被认证机构撤销。"},
    Verdict.EXPIRED: {"en": "EXPIRED", "zh": "已过期", "why": "The validity of this label has ended. 该标签已超过有效期。"},
    Verdict.NOT_FOUND: {"en": "NOT FOUND", "zh": "未找到", "why": "No such label. 查无此标签。"},
}
NO_STORE = {"Cache-Control": "no-store"}  # a status must never be served stale: revocation is effective at once
BULK_LIMIT = 10_000


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def _public(snapshot: Snapshot, status: Verdict) -> bytes:
    return PublicLabel(**{"number": snapshot.number, **snapshot.public, "status": status.value}).model_dump_json(
    ).encode()


def _page(snapshot: Snapshot, status: Verdict) -> bytes:
    claim = snapshot.public.get("claim")
    return _templates().get_template("verify.html").render(
        number=snapshot.number, status=status.value, status_text=STATUS_TEXT[status], claim=claim,
        value=grouped(claim["footprint"]["value"]) if claim else None,
        key_id=snapshot.public.get("key_id")).encode()


RENDERERS = {"json": _public, "html": _page}


async def _answer(number: str, fmt: str) -> tuple[bytes, bool]:
    """The rendered answer for a number and whether the label exists. Rendered once per label, verdict and
    format; the verdict itself is decided on every request."""
    try:
        canonical = normalise(number)
    except InvalidLabelNumber:
        snapshot = Snapshot(number[:40])
        return RENDERERS[fmt](snapshot, Verdict.NOT_FOUND), False
    cache = verification_cache()
    if cache.claim_recheck():
        await run_in_threadpool(cache.recheck)
    snapshot, generation = cache.get(canonical)
    if snapshot is None:
        snapshot = await run_in_threadpool(load_snapshot, canonical)
        cache.put(snapshot, generation)
    status = snapshot.verdict(today())
    body = snapshot.rendered.get((status, fmt))
    if body is None:
        body = snapshot.rendered[(status, fmt)] = RENDERERS[fmt](snapshot, status)
    return body, snapshot.state is not None


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


@router.get("/verify/{number}", response_class=HTMLResponse, summary="The verification page a QR code opens "
            "(JSON with Accept: application/json)")
async def verify_page(number: str, request: Request):
    fmt = "json" if _wants_json(request) else "html"
    body, found = await _answer(number, fmt)
    return Response(body, status_code=200 if found else 404, headers=NO_STORE,
                    media_type="application/json" if fmt == "json" else "text/html; charset=utf-8")


@router.get("/api/v1/public/labels/{number}", response_model=PublicLabel, summary="Verification, for machines")
async def verify_json(number: str):
    body, found = await _answer(number, "json")
    return Response(body, media_type="application/json", status_code=200 if found else 404, headers=NO_STORE)


@router.get("/01/{gtin}", summary="GS1 Digital Link resolver: a product's label")
def gs1_resolver(gtin: str, label: str | None = None, session: Session = Depends(get_session)):
    try:
        key = gtin14(gtin)
    except ValueError as exc:
        raise Unprocessable(str(exc), [{"field": "gtin", "reason": str(exc)}]) from None
    if label:
        return RedirectResponse(f"/verify/{label}", status_code=307)
    found = session.exec(select(Label).where(col(Label.gtin).is_not(None)).order_by(
        col(Label.issued_on).desc())).all()
    for candidate in found:
        if gtin14(candidate.gtin) == key and labels.status(candidate) is Verdict.VALID:
            return RedirectResponse(f"/verify/{candidate.number}", status_code=307)
    raise NotFound("no valid label for this GTIN")


@router.get("/labels/{number}.{fmt}", summary="A label's rendering: svg, png (300 dpi) or pdf")
def label_file(number: str, fmt: str, session: Session = Depends(get_session)):
    label, _ = labels.lookup(session, number)
    if label is None or fmt not in label.files:
        raise NotFound("no such label file")
    stored = label.files[fmt]
    try:
        data = object_store().get(stored["key"])
    except StorageError:
        raise labels.StorageUnavailable("the label file cannot be read now") from None
    return Response(data, media_type=stored["content_type"], headers={
        "Cache-Control": "public, max-age=86400", "ETag": f'"{stored["sha256"]}"',
        "Content-Disposition": f'inline; filename="{label.number}.{fmt}"'})


@router.get("/.well-known/pcf-label-keys.json", summary="Every label-signing key (JWK set), retired ones too")
def keys(session: Session = Depends(get_session)):
    return Response(canonical_json({"keys": labels.published_keys(session)}), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=300"})


@router.get("/api/v1/public/registry", response_model=list[PublicLabel],
            summary="Search labels: by PCR (category), manufacturer, value; valid ones unless asked otherwise")
def registry(pcr_id: str | None = None, manufacturer: str | None = Query(None, max_length=200),
             max_kg_co2e: float | None = Query(None, ge=0), min_kg_co2e: float | None = Query(None, ge=0),
             include_invalid: bool = False, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
             session: Session = Depends(get_session)):
    query = select(Label)
    if not include_invalid:
        query = query.where(*labels.valid_on(today()))
    if pcr_id:
        query = query.where(Label.pcr_id == pcr_id)
    if manufacturer:
        query = query.where(col(Label.manufacturer_name).icontains(manufacturer, autoescape=True))
    if max_kg_co2e is not None:
        query = query.where(Label.total_kg_co2e <= max_kg_co2e)
    if min_kg_co2e is not None:
        query = query.where(Label.total_kg_co2e >= min_kg_co2e)
    rows = session.exec(query.order_by(Label.pcr_id, Label.total_kg_co2e, Label.number).offset(offset).limit(limit))
    return [PublicLabel(**public_fields(label), status=labels.status(label).value) for label in rows]


@router.get("/api/v1/public/compare", summary="Valid labels of one PCR per declared unit, lowest first, with "
                                               "the category's spread")
def compare(pcr_id: str, session: Session = Depends(get_session)):
    rows = session.exec(select(Label).where(Label.pcr_id == pcr_id, *labels.valid_on(today()))
                        .order_by(Label.total_kg_co2e)).all()
    groups: dict[str, list[Label]] = {}
    for label in rows:  # only like with like: the same declared unit
        groups.setdefault(label.declared_unit, []).append(label)
    return {"pcr_id": pcr_id, "groups": [_ranked(unit, members) for unit, members in groups.items()]}


def _ranked(unit: str, members: list[Label]) -> dict:
    median = statistics.median(m.total_kg_co2e for m in members)
    return {"declared_unit": unit, "count": len(members), "min_kg_co2e": members[0].total_kg_co2e,
            "median_kg_co2e": median, "max_kg_co2e": members[-1].total_kg_co2e,
            "labels": [{"number": m.number, "product": m.product_name, "manufacturer": m.manufacturer_name,
                        "value": m.value, "kg_co2e": m.total_kg_co2e, "rank": rank,
                        "relative_to_median": m.total_kg_co2e / median}
                       for rank, m in enumerate(members, start=1)]}


@router.post("/api/v1/public/verify-batch", summary="Check many label numbers: CSV in (first column), CSV out",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}},
                                            "required": True}},
             response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def verify_batch(request: Request):
    body = await request.body()
    if len(body) > 1_000_000:
        raise Unprocessable("the CSV is larger than 1 MB", [{"field": "body", "reason": "too large"}])
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("the CSV is not UTF-8", [{"field": "body", "reason": "not UTF-8"}]) from None
    try:
        numbers = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    except csv.Error as exc:
        raise Unprocessable(f"the CSV cannot be read: {exc}", [{"field": "body", "reason": str(exc)}]) from None
    if numbers and not any(ch.isdigit() for ch in numbers[0]):
        numbers = numbers[1:]  # a header line
    if len(numbers) > BULK_LIMIT:
        raise Unprocessable(f"at most {BULK_LIMIT} numbers per request", [{"field": "body", "reason": "too many"}])
    return Response(await run_in_threadpool(_batch_csv, numbers), media_type="text/csv; charset=utf-8",
                    headers=NO_STORE)


def _batch_csv(numbers: list[str]) -> str:
    from footprint_api.db import reads_only, session_scope

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "status", "product", "manufacturer", "value", "unit", "declared_unit", "pcr",
                     "expires"])
    with reads_only(), session_scope() as session:
        for number in numbers:
            label, canonical = labels.lookup(session, number)
            verdict = labels.status(label)
            if label is None:
                writer.writerow([canonical, verdict.value, "", "", "", "", "", "", ""])
            else:
                writer.writerow([label.number, verdict.value, label.product_name, label.manufacturer_name,
                                 label.value, "kg CO2e", label.declared_unit, f"{label.pcr_id} {label.pcr_version}",
                                 label.expires_on.isoformat()])
    return out.getvalue()
