"""Public, no login: label verification (JSON; the page is web.routes.verify), the GS1 resolver, the registry, comparison, bulk checks,
files, keys."""

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from footprint_api.core.errors import BadRequest, NotFound, Unprocessable
from footprint_api.exports import cells
from footprint_api.exports.cells import XLSX_MEDIA_TYPE
from footprint_api.infra.http import NO_STORE
from footprint_api.infra.objects import object_store
from footprint_api.persistence.db import SessionDep, reads_only, session_scope
from footprint_api.persistence.models import Label
from footprint_api.schemas import PublicLabel, public_label_json
from footprint_api.services import labels, registry, verification
from footprint_api.services.verification import public_fields, today
from label_service import gs1
from label_service.qr import SHORT_PATH
from label_service.render import DEFAULT_SIZE
from label_service.signing import canonical_json
from label_service.storage import StorageError

router = APIRouter(tags=["public verification"])
LINKSET = "application/linkset+json"
GS1_VOC = "https://gs1.org/voc/"


@router.get("/api/v1/public/labels/{number}", response_model=PublicLabel, summary="Verification, for machines")
async def verify_json(number: str):
    answer = await verification.answer(number, "json", public_label_json)
    return Response(
        answer.body,
        media_type="application/json",
        status_code=200 if answer.found else 404,
        headers={**NO_STORE, **answer.source_headers()},
    )


def _resolver_label(session: Session, key: str, number: str | None) -> Label:
    """The label a Digital Link names (it must belong to that GTIN), or the GTIN's label in force."""
    if number:
        label, _ = labels.lookup(session, number)
        if label is None or label.gtin != key:
            raise NotFound("no label with this number for this GTIN")
        return label
    found = session.exec(
        select(Label)
        .where(Label.gtin == key, *labels.valid_on(today()))
        .order_by(col(Label.issued_on).desc(), col(Label.sequence).desc())
    ).first()
    if found is None:
        raise NotFound("no valid label for this GTIN")
    return found


def _linkset(request: Request, key: str, label: Label) -> dict:
    """RFC 9264 linkset as the GS1-Conformant Resolver standard asks: the Digital Link as anchor, link types as
    gs1: vocabulary URIs."""
    base = str(request.base_url).rstrip("/")
    page = {
        "href": f"{base}/{SHORT_PATH}/{label.number}",
        "title": f"Carbon label {label.number} · 碳足迹标签",
        "type": "text/html",
        "hreflang": ["zh-CN", "en"],
    }
    machine = {
        "href": f"{base}/api/v1/public/labels/{label.number}",
        "title": f"Carbon label {label.number} (JSON)",
        "type": "application/json",
    }
    return {
        "linkset": [
            {
                "anchor": f"{base}/01/{key}",
                f"{GS1_VOC}certificationInfo": [page, machine],
                f"{GS1_VOC}defaultLink": [page],
            }
        ]
    }


@router.get("/01/{gtin}", summary="GS1 Digital Link resolver: a product's label (linkType=linkset or all: the linkset)")
def gs1_resolver(
    gtin: str,
    request: Request,
    session: SessionDep,
    label: Annotated[str | None, Query(max_length=40)] = None,
    link_type: Annotated[str | None, Query(alias="linkType", max_length=100)] = None,
):
    try:
        key = gs1.gtin14(gtin)
    except gs1.InvalidGTIN as exc:
        raise BadRequest(str(exc), [{"field": "gtin", "reason": str(exc)}]) from None
    found = _resolver_label(session, key, label)
    if link_type in ("linkset", "all") or LINKSET in request.headers.get("accept", ""):
        return Response(
            json.dumps(_linkset(request, key, found), ensure_ascii=False), media_type=LINKSET, headers=NO_STORE
        )
    # any other link type (gs1:certificationInfo, or one not offered) goes to the default link
    return RedirectResponse(
        f"/{SHORT_PATH}/{found.number}",
        status_code=307,
        headers={"Link": f'<{request.url.path}?linkType=linkset>; rel="linkset"; type="{LINKSET}"'},
    )


def _stored_file(label: Label | None, name: str) -> Response:
    if label is None or name not in label.files:
        raise NotFound("no such label file")
    stored = label.files[name]
    try:
        data = object_store().get(stored["key"])
    except StorageError:
        raise labels.StorageUnavailable("the label file cannot be read now") from None
    return Response(
        data,
        media_type=stored["content_type"],
        headers={
            "Cache-Control": "public, max-age=86400",
            "ETag": f'"{stored["sha256"]}"',
            "Content-Disposition": f'inline; filename="{label.number}-{name}"',
        },
    )


@router.get("/labels/{number}/{name}", summary="A label's file: qr20|qr30|qr50 . svg|png|pdf, or certificate.pdf")
def label_file(number: str, name: str, session: SessionDep):
    label, _ = labels.lookup(session, number)
    return _stored_file(label, name)


@router.get("/labels/{number}.{fmt}", summary="A label's rendering in the default size (QR 30 mm): svg, png or pdf")
def label_file_default(number: str, fmt: str, session: SessionDep):
    label, _ = labels.lookup(session, number)
    name = f"{DEFAULT_SIZE}.{fmt}" if label is not None and f"{DEFAULT_SIZE}.{fmt}" in label.files else fmt
    return _stored_file(label, name)


@router.get("/.well-known/pcf-label-keys.json", summary="Every label-signing key (JWK set), retired ones too")
def keys(session: SessionDep):
    return Response(
        canonical_json({"keys": labels.published_keys(session)}),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get(
    "/api/v1/public/registry",
    response_model=list[PublicLabel],
    summary="Search labels: by PCR (category), manufacturer, province, value; valid ones unless asked otherwise",
)
def registry_search(
    session: SessionDep,
    pcr_id: Annotated[str | None, Query(max_length=100)] = None,
    manufacturer: Annotated[str | None, Query(max_length=200)] = None,
    province: Annotated[
        str | None, Query(max_length=100, description="the facility's province, as the inventory gives it")
    ] = None,
    max_kg_co2e: Annotated[float | None, Query(ge=0)] = None,
    min_kg_co2e: Annotated[float | None, Query(ge=0)] = None,
    include_invalid: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    query = registry.RegistryQuery(pcr_id, manufacturer, province, min_kg_co2e, max_kg_co2e, include_invalid)
    found = registry.search(session, query, today(), limit, offset)
    return [PublicLabel(**public_fields(label), status=labels.status(label).value) for label in found]


@router.get(
    "/api/v1/public/compare",
    summary="Valid labels of one PCR per declared unit, lowest first, with the category's spread",
)
def compare(session: SessionDep, pcr_id: Annotated[str, Query(max_length=100)]):
    return registry.compare(session, pcr_id, today())


@router.post(
    "/api/v1/public/verify-batch",
    summary="Check many label numbers: CSV (first column) or XLSX (first column of the first sheet) in; "
    "CSV out, or XLSX with Accept: " + XLSX_MEDIA_TYPE,
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
            "required": True,
        }
    },
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
)
async def verify_batch(request: Request):
    body = bytearray()
    async for chunk in request.stream():  # read no further than the limit
        body += chunk
        if len(body) > registry.XLSX_MAX_BYTES:
            raise Unprocessable("the upload is larger than 2 MB", [{"field": "body", "reason": "too large"}])
    content_type = request.headers.get("content-type")
    numbers = await run_in_threadpool(registry.numbers_from_upload, bytes(body), None, content_type)
    rows = await run_in_threadpool(_batch_rows, numbers)
    if XLSX_MEDIA_TYPE in request.headers.get("accept", ""):
        return Response(
            await run_in_threadpool(cells.xlsx_bytes, registry.BATCH_COLUMNS, rows, "labels"),
            media_type=XLSX_MEDIA_TYPE,
            headers=NO_STORE,
        )
    return Response(cells.csv_bytes(registry.BATCH_COLUMNS, rows), media_type=cells.CSV_MEDIA_TYPE, headers=NO_STORE)


def _batch_rows(numbers: list[str]) -> list:
    with reads_only(), session_scope() as session:
        return registry.check_numbers(session, numbers, today())
