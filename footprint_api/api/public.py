"""Public, no login: label verification (JSON; the page is web.routes.verify), the GS1 resolver, the registry, the
comparison within comparable groups, batch checks of a buyer's list, open data, files, keys."""

import json
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from footprint_api.api.deps import ListQueryDep
from footprint_api.core.errors import BadRequest, NotFound
from footprint_api.core.messages import catalogue
from footprint_api.core.settings import get_settings
from footprint_api.exports import cells
from footprint_api.exports.cells import XLSX_MEDIA_TYPE
from footprint_api.infra.http import NO_STORE
from footprint_api.infra.objects import object_store
from footprint_api.persistence.db import SessionDep, reads_only, session_scope
from footprint_api.persistence.models import Label
from footprint_api.schemas import PublicLabel, public_label_json
from footprint_api.services import batch_check, labels, open_data, registry, verification
from footprint_api.services.verification import labels_data_quality, public_fields, today
from label_service import gs1
from label_service.qr import SHORT_PATH
from label_service.render import DEFAULT_SIZE
from label_service.signing import canonical_json
from label_service.storage import StorageError

router = APIRouter(tags=["public verification"])
LINKSET = "application/linkset+json"
GS1_VOC = "https://gs1.org/voc/"
GROUP_EXAMPLE = {
    "key": "PCR-CN-CEMENT~1~P·O/42.5~1 t",
    "pcr_id": "PCR-CN-CEMENT",
    "pcr_major": 1,
    "product_class": "P·O/42.5",
    "declared_unit": "1 t",
    "name": {
        "zh": "水泥 · PCR-CN-CEMENT 1.x 版 · P·O 普通硅酸盐水泥 42.5 · 1 t",
        "en": "cement · PCR-CN-CEMENT 1.x · P·O ordinary Portland cement 42.5 · 1 t",
    },
    "href": "/benchmarks/PCR-CN-CEMENT~1~P%C2%B7O%2F42.5~1%20t",
    "valid_labels": 7,
    "ranked": True,
    "minimum_to_rank": 5,
    "reference_year": 2024,
}
GRADE_EXAMPLE = {
    "grade": 3,
    "ratio": 0.9235294117647059,
    "value": 785.0,
    "bands": [0.6, 0.8, 1.2, 2.0],
    "benchmark": {
        "id": "3f0c5a8e-1b7d-4c1e-9a52-0d3d7d1f9b11",
        "year": 2024,
        "version": 1,
        "basis": "cited",
        "value": 850.0,
        "effective_from": "2026-01-01",
    },
    "basis_text": {"zh": "P·O 42.5 行业平均值，《文件》表 n，2024 年", "en": "Industry average of P·O 42.5, …, 2024"},
}


class LabelStanding(BaseModel):
    """Where a label stands among comparable labels (services.registry.public_standing); not part of the signed
    claim, never printed on the label."""

    group: dict = Field(
        description="the comparable group: key, pcr_id, pcr_major, product_class, declared_unit, name {zh, en}, href "
        "(its public page), valid_labels, ranked (false below minimum_to_rank), reference_year (the label's)",
        json_schema_extra={"example": GROUP_EXAMPLE},
    )
    grade: dict | None = Field(
        default=None,
        description="the grade against the benchmark in force today: grade (1 best … 5), ratio (value / benchmark), "
        "bands (ratio upper bounds of grades 1-4), benchmark {id, year, version, basis, value, effective_from}, "
        "basis_text {zh, en}; null without a benchmark",
        json_schema_extra={"example": GRADE_EXAMPLE},
    )
    grade_at_issue: dict | None = Field(default=None, description="the same, as recorded when the label was issued")


class VerifiedLabel(PublicLabel):
    standing: LabelStanding | None = Field(
        default=None, description="the label's comparable group and grades (none for a label without a group)"
    )


@router.get(
    "/api/v1/public/labels/{number}",
    response_model=VerifiedLabel,
    summary="Verification, for machines",
    description="The verdict and the signed claim, as the page a QR code opens; `standing` adds the label's "
    "comparable group and its grade now and at issue, with the benchmark's basis.",
)
async def verify_json(number: str):
    answer = await verification.answer(number, "json", public_label_json)
    return Response(
        await with_standing(answer.body, number)
        if answer.found and not answer.from_cache_confirmed_at
        else answer.body,
        media_type="application/json",
        status_code=200 if answer.found else 404,
        headers={**NO_STORE, **answer.source_headers()},
    )


async def with_standing(body: bytes, number: str) -> bytes:
    """The label's public JSON with its standing (services.registry.public_standing, cached) added as the last
    member of the object; the JSON as it was when the label has none or the database does not answer."""
    held, standing = registry.cached_standing(number)
    if not held:
        standing = await run_in_threadpool(registry.standing_of_number, number, today())
    return registry.with_standing_json(body, standing)


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


# --- the registry, the comparison, the batch check -----------------------------------------------------------------

Lang = Annotated[str | None, Query(pattern="^(zh|en)$", description="the language of verdicts and notes: zh or en")]
State = Annotated[
    str,
    Query(
        pattern="^(valid|all|suspended|revoked|expired|superseded)$",
        description="valid (in force today, the default), all, or one verdict: suspended, revoked, expired, superseded",
    ),
]
GroupKey = Annotated[
    str | None,
    Query(
        max_length=400,
        description="a comparable group's key: PCR id, major version, product class, declared unit joined by '~', "
        "e.g. PCR-CN-CEMENT~1~P·O/42.5~1 t (services.benchmarks.Group)",
    ),
]
Year = Annotated[int | None, Query(ge=2000, le=9999, description="the reference year of the labelled footprint")]
PcrId = Annotated[str | None, Query(max_length=100, description="the category: a PCR id, e.g. PCR-CN-CEMENT")]
Province = Annotated[
    str | None,
    Query(max_length=100, description="the factory's province in English or Chinese (Guizhou, 贵州, 贵州省)"),
]
REGISTRY_EXAMPLE = {
    "number": "PCF-2026-000123-F",
    "status": "VALID",
    "product": "Ordinary Portland cement",
    "manufacturer": "Qianxi Cement Co.",
    "gtin": "06901234567892",
    "value": "785.0",
    "unit": "kg CO2e",
    "declared_unit": "1 t",
    "pcr_id": "PCR-CN-CEMENT",
    "pcr_version": "1.2.0",
    "category": {"zh": "水泥", "en": "cement"},
    "province": "Guizhou",
    "province_name": {"zh": "贵州", "en": "Guizhou"},
    "reference_year": 2024,
    "group": {key: GROUP_EXAMPLE[key] for key in ("key", "pcr_id", "pcr_major", "product_class", "declared_unit")},
    "grade": GRADE_EXAMPLE,
    "grade_at_issue": GRADE_EXAMPLE,
    "issued_on": "2026-03-02",
    "expires_on": "2029-03-01",
    "href": "/V/PCF-2026-000123-F",
}


class RegistryLabel(PublicLabel):
    """A label as the registry lists it: its public JSON, and its category, province and comparable group named in
    both languages, its reference year and its grades now and at issue."""

    model_config = ConfigDict(json_schema_extra={"examples": [REGISTRY_EXAMPLE]})
    product: str
    manufacturer: str
    gtin: str | None = Field(default=None, description="GTIN-14")
    value: str = Field(description="the stated value per declared unit, as signed (four significant digits)")
    unit: str = "kg CO2e"
    declared_unit: str
    pcr_id: str
    pcr_version: str
    category: dict[str, str] = Field(description="the category's name: {zh, en}")
    province: str | None = Field(default=None, description="the factory's province (the factor set's key)")
    province_name: dict[str, str] = Field(description="{zh, en}")
    reference_year: int | None = None
    group: dict | None = Field(
        default=None, description="the comparable group: key, pcr_id, pcr_major, product_class, declared_unit, name"
    )
    grade: dict | None = Field(default=None, description="the grade now (as `standing.grade` of a label's JSON)")
    grade_at_issue: dict | None = Field(default=None, description="the grade recorded at issue")
    issued_on: str
    expires_on: str
    href: str = Field(description="the label's verification page")


def registry_query(
    q: str | None,
    pcr_id: str | None,
    manufacturer: str | None,
    province: str | None,
    group: str | None,
    reference_year: int | None,
    state: str,
    min_kg_co2e: float | None = None,
    max_kg_co2e: float | None = None,
    include_invalid: bool = False,
) -> registry.RegistryQuery:
    return registry.RegistryQuery(
        pcr_id=pcr_id,
        manufacturer=manufacturer,
        province=province,
        min_kg_co2e=min_kg_co2e,
        max_kg_co2e=max_kg_co2e,
        include_invalid=include_invalid,
        text=q,
        group=registry.group_of_key(group),
        reference_year=reference_year,
        state=state,
    )


@router.get(
    "/api/v1/public/registry",
    response_model=list[RegistryLabel],
    summary="Search the registry: by product, manufacturer, GTIN or label number (q), category, province, group, "
    "reference year, state and value; valid labels unless asked otherwise",
    description="One page of the search (`page` and `size`, or `offset` and `limit`), the number of labels found "
    "in `X-Total-Count`. `sort`: category (default: category, then value), value, -value, product, -issued, number. "
    "Every label carries its category, province and comparable group named in Chinese and English, and its grade "
    "now and at issue.",
    responses={200: {"headers": {"X-Total-Count": {"description": "labels found", "schema": {"type": "integer"}}}}},
)
def registry_search(
    session: SessionDep,
    response: Response,
    listing: ListQueryDep,
    pcr_id: PcrId = None,
    manufacturer: Annotated[str | None, Query(max_length=200, description="a part of the manufacturer's name")] = None,
    province: Province = None,
    group: GroupKey = None,
    reference_year: Year = None,
    state: State = "valid",
    max_kg_co2e: Annotated[float | None, Query(ge=0, description="kg CO2e per declared unit, at most")] = None,
    min_kg_co2e: Annotated[float | None, Query(ge=0, description="kg CO2e per declared unit, at least")] = None,
    include_invalid: Annotated[bool, Query(description="the earlier spelling of state=all")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    query = registry_query(
        listing.q,
        pcr_id,
        manufacturer,
        province,
        group,
        reference_year,
        state,
        min_kg_co2e,
        max_kg_co2e,
        include_invalid,
    )
    if listing.page is not None or listing.size is not None:
        limit = listing.size or registry.PAGE_SIZE
        offset = ((listing.page or 1) - 1) * limit
    day = today()
    found = registry.search(session, query, day, limit, offset, listing.sort)
    response.headers["X-Total-Count"] = str(registry.count(session, query, day))
    standing = registry.standings(session, found, day)
    quality = labels_data_quality(session, found)  # one query for the page, not one per label
    return [
        RegistryLabel(**{**public_fields(label, quality[label.id]), **registry.entry(label, standing[label.id], day)})
        for label in found
    ]


@router.get(
    "/api/v1/public/compare",
    summary="Compare a category within its comparable groups: each group named and counted, ranked from five labels",
    description="The valid labels of one PCR, per comparable group (PCR major version, product class, declared "
    "unit), never mixed. A group of at least `minimum_to_rank` (5) labels is ranked (competition ranks of the stated "
    'values, lowest first; min, median, max); a smaller one has `ranked` false, `not_ranked` "too_small", every '
    "`rank` null, and is listed by product name. `group` and `reference_year` narrow the comparison.",
)
def compare(
    session: SessionDep,
    pcr_id: Annotated[str, Query(max_length=100, description="the category: a PCR id, e.g. PCR-CN-CEMENT")],
    group: GroupKey = None,
    reference_year: Year = None,
):
    return registry.compare(session, pcr_id, today(), registry.group_of_key(group), reference_year)


@router.post(
    "/api/v1/public/verify-batch",
    summary="Check a buyer's list: CSV or XLSX in, the same rows with the results appended out (CSV, or XLSX with "
    "Accept: " + XLSX_MEDIA_TYPE + ")",
    description="The buyer's columns are kept as they were, row for row, with the results appended: "
    + ", ".join(batch_check.RESULT_COLUMNS)
    + ". The label numbers are in the column `column` names (a letter, a position from 1 or a heading), else the "
    "first column where label numbers are found. `lang` words the verdicts and notes (without it: verdict codes and "
    "English notes); `headers` names the appended columns: code (default without `lang`), zh, en or both. At most "
    f"{batch_check.MAX_ROWS} rows, {batch_check.MAX_COLUMNS} columns, a CSV of 1 MB, a workbook of 2 MB; "
    "a file that cannot be read is a 422 naming the field, with a code.",
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "供应商,标签编号,数量\r\n黔西水泥,PCF-2026-000123-F,1200\r\n",
                },
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
            "required": True,
        }
    },
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
)
async def verify_batch(
    request: Request,
    column: Annotated[str | None, Query(max_length=100, description="the column of label numbers")] = None,
    lang: Lang = None,
    headers: Annotated[
        str | None, Query(pattern="^(code|zh|en|both)$", description="the appended columns' headings")
    ] = None,
):
    body = bytearray()
    async for chunk in request.stream():  # read no further than the limit
        body += chunk
        if len(body) > batch_check.XLSX_MAX_BYTES:
            raise batch_check.refused("body", "too large", "too_large", "the upload is larger than 2 MB", limit="2 MB")
    content_type = request.headers.get("content-type")
    buyer = await run_in_threadpool(batch_check.read_list, bytes(body), None, content_type, column, "body")
    checked = await run_in_threadpool(_checked, buyer, lang)
    headings, rows = batch_check.merged(buyer, checked, headers or lang or "code")
    if XLSX_MEDIA_TYPE in request.headers.get("accept", ""):
        sheet = catalogue(lang)("pub.batch.sheet") if lang else "labels"
        return Response(
            await run_in_threadpool(batch_check.xlsx_file, headings, rows, sheet),
            media_type=XLSX_MEDIA_TYPE,
            headers=NO_STORE,
        )
    return Response(batch_check.csv_file(headings, rows), media_type=cells.CSV_MEDIA_TYPE, headers=NO_STORE)


def _checked(buyer: batch_check.BuyerList, lang: str | None) -> batch_check.Checked:
    with reads_only(), session_scope() as session:
        return batch_check.check_list(session, buyer, today(), catalogue(lang) if lang else None)


# --- open data -------------------------------------------------------------------------------------------------------

OPEN_DATA = "/api/v1/public/open-data"


def _download(body: bytes, media_type: str, name: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


def _registry_rows(query: registry.RegistryQuery) -> list[dict]:
    with reads_only(), session_scope() as session:
        return open_data.registry_rows(session, query, today(), get_settings().base_url.rstrip("/"))


def _benchmark_rows() -> list[dict]:
    with reads_only(), session_scope() as session:
        return open_data.benchmark_rows(session, today())


REGISTRY_DOWNLOAD = (
    "Every label the filters find (at most {max} rows; valid ones unless `state` asks otherwise), one row each with "
    "the columns: {columns}. Names of categories, provinces and groups in a Chinese and an English column. "
    "CSV: UTF-8 with a byte order mark."
).format(max=open_data.MAX_ROWS, columns=", ".join(open_data.REGISTRY_COLUMNS))
BENCHMARK_DOWNLOAD = (
    "Every benchmark version of every comparable group, with its basis (registry median of how many labels, or the "
    "citation in both languages), percentiles (linear interpolation, Excel PERCENTILE.INC), grade bands (ratio upper "
    "bounds of grades 1-4, ';'-separated), dates and whether it is in force today. Columns: {columns}."
).format(columns=", ".join(open_data.BENCHMARK_COLUMNS))


@router.get(
    OPEN_DATA + "/registry.{fmt}",
    summary="Open data: the registry as CSV or JSON",
    description=REGISTRY_DOWNLOAD,
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def registry_download(
    fmt: Annotated[str, Path(pattern="^(csv|json)$", description="csv or json")],
    q: Annotated[str | None, Query(max_length=100, description="product, manufacturer, GTIN or label number")] = None,
    pcr_id: PcrId = None,
    province: Province = None,
    group: GroupKey = None,
    reference_year: Year = None,
    state: State = "valid",
):
    query = registry_query(q, pcr_id, None, province, group, reference_year, state)
    rows = await run_in_threadpool(_registry_rows, query)
    if fmt == "json":
        return _download(open_data.as_json(rows), "application/json", "carbon-label-registry.json")
    body = open_data.as_csv(open_data.REGISTRY_COLUMNS, rows)
    return _download(body, cells.CSV_MEDIA_TYPE, "carbon-label-registry.csv")


@router.get(
    OPEN_DATA + "/benchmarks.{fmt}",
    summary="Open data: every benchmark version as CSV or JSON",
    description=BENCHMARK_DOWNLOAD,
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def benchmarks_download(fmt: Annotated[str, Path(pattern="^(csv|json)$", description="csv or json")]):
    rows = await run_in_threadpool(_benchmark_rows)
    if fmt == "json":
        return _download(open_data.as_json(rows), "application/json", "carbon-label-benchmarks.json")
    body = open_data.as_csv(open_data.BENCHMARK_COLUMNS, rows)
    return _download(body, cells.CSV_MEDIA_TYPE, "carbon-label-benchmarks.csv")
