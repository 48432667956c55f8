"""Pages of the web application: public (no sign-in). The home page (a label number, the camera, a photo), the
registry search, the comparison of a category within its comparable groups, the batch check of a buyer's list, and
the open data.

Every page answers anyone the same; a signed-in person sees their name in the top bar. Forms of a visitor without
a session carry a token bound to the pre-session cookie (as the sign-in form's), a signed-in person's their
session's. Uploads are bounded before they are read: the request body is cut off at the limit.
"""

import base64
import hashlib
import hmac
import io
import json
import time
import zlib
from contextlib import suppress
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from footprint_api.core import names
from footprint_api.core.errors import NotFound, ServiceError, Unprocessable
from footprint_api.core.settings import get_settings
from footprint_api.exports import cells
from footprint_api.persistence.db import SessionDep, reads_only, session_scope
from footprint_api.services import batch_check, labels, messages, open_data, registry
from footprint_api.services.benchmarks import Group
from footprint_api.services.verification import today
from footprint_api.web import i18n, session
from footprint_api.web.pages import page
from footprint_api.web.routes import page_router
from footprint_api.web.session import OptionalPageUser
from label_service import grading
from label_service.claim import significant
from label_service.qr import SHORT_PATH, parse_verification_url, public_base

router = page_router()
PHOTO_MAX_BYTES = 10_000_000
PHOTO_MAX_PIXELS = 40_000_000
BATCH_UPLOAD_MAX_BYTES = batch_check.XLSX_MAX_BYTES + 64_000  # the larger file limit, plus the form around it
BATCH_TOKEN_MAX_BYTES = 3_000_000  # the buyer's list, compressed, in the download form
DOWNLOAD_FORM_MAX_BYTES = BATCH_TOKEN_MAX_BYTES + 64_000
BATCH_TOKEN_SECONDS = 3600
NONCE_SECONDS = 24 * 3600
MAX_PAGE = 20_000
# the workbook reader's refusals (infra.workbooks: workbook.file.*) as the batch page words them
UPLOAD_REASONS = {
    "workbook.file.not_xlsx": "pub.batch.reason.not_xlsx",
    "workbook.file.unreadable": "pub.batch.reason.not_xlsx",
    "workbook.file.dtd": "pub.batch.reason.not_xlsx",
    "workbook.file.encoding": "pub.batch.reason.not_xlsx",
    "workbook.file.sheet_unreadable": "pub.batch.reason.not_xlsx",
    "workbook.file.too_large": "pub.batch.error.too_large",
    "workbook.file.unpacked": "pub.batch.reason.unpacked",
    "workbook.file.part_too_large": "pub.batch.reason.unpacked",
    "workbook.file.ratio": "pub.batch.reason.unpacked",
    "workbook.file.members": "pub.batch.reason.not_xlsx",
    "workbook.file.sheets": "pub.batch.reason.sheets",
    "workbook.file.rows": "pub.batch.reason.rows",
    "workbook.file.cells": "pub.batch.reason.cells",
}
PREVIEW_ROWS = 20
STATUS_BADGE = {"VALID": "ok", "SUSPENDED": "warn", "REVOKED": "bad", "NOT_FOUND": "bad"}


class TooLarge(ServiceError):
    status, title = 413, "Too large"


class BatchTokenInvalid(ServiceError):
    status, title = 400, "Download expired"


# --- forms of visitors and signed-in people ------------------------------------------------------------------------


def _binding(request: Request, user) -> str:
    return user.principal.jti if user else f"public:{request.cookies.get(session.LOGIN_COOKIE, '')}"


def _public_page(request: Request, template: str, user, status_code: int = 200, **values) -> Response:
    """A page whose forms a visitor may send: without a session, the form token is bound to a pre-session cookie."""
    if user:
        return page(request, template, user, status_code, **values)
    nonce = session.login_nonce(request)
    response = page(request, template, None, status_code, csrf=session.csrf_token(f"public:{nonce}"), **values)
    session.set_cookie(response, request, session.LOGIN_COOKIE, nonce, NONCE_SECONDS)
    return response


def _bounded(request: Request, max_bytes: int) -> Request:
    """The request with a body that stops at max_bytes (TooLarge): an upload is never read, spooled or parsed
    beyond its limit, whatever Content-Length says or omits."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise TooLarge(f"larger than {max_bytes // 1_000_000} MB")
    received = 0

    async def receive():
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > max_bytes:
            raise TooLarge(f"larger than {max_bytes // 1_000_000} MB")
        return message

    return Request(request.scope, receive)


async def _form(request: Request, user, max_bytes: int) -> dict:
    data = await _bounded(request, max_bytes).form(max_files=1, max_fields=10, max_part_size=max_bytes)
    session.check_csrf(request, data.get(session.CSRF_FIELD), _binding(request, user))
    return {key: value for key, value in data.items() if key != session.CSRF_FIELD}


async def _upload(form: dict, name: str, max_bytes: int):
    """(content, filename, content type) of an uploaded file, or None when none was chosen."""
    upload = form.get(name)
    if upload is None or isinstance(upload, str) or not upload.filename:
        return None
    content = await upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise TooLarge(f"larger than {max_bytes // 1_000_000} MB")
    return content, upload.filename, upload.content_type


# --- home: a number, the camera, a photo ---------------------------------------------------------------------------


def _own_bases(request: Request) -> list[str]:
    """The base URLs whose label codes are this service's: its public base URL and the address it was asked at."""
    bases = {f"{request.url.scheme}://{request.url.netloc}".lower()}
    with suppress(ValueError):
        bases.add(public_base(get_settings().base_url).lower())
    return sorted(bases)


def _home(
    request: Request, user, status_code: int = 200, photo_error: str | None = None, decoded: str | None = None
) -> Response:
    return _public_page(
        request,
        "public/home.html",
        user,
        status_code,
        photo_error=photo_error,
        decoded=decoded,
        scan_config={"bases": _own_bases(request), "path": SHORT_PATH},
        photo_max_mb=PHOTO_MAX_BYTES // 1_000_000,
    )


@router.get("/")
def home(request: Request, user: OptionalPageUser):
    return _home(request, user)


def decode_photo(content: bytes) -> list[str]:
    """The texts of the QR codes in a photo (zxing-cpp), after the photo's size is checked from its header: no
    image of more than PHOTO_MAX_PIXELS is decompressed (Pillow's decompression-bomb guard stays on behind it)."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        picture = Image.open(io.BytesIO(content))
        if picture.width * picture.height > PHOTO_MAX_PIXELS:
            raise TooLarge(f"the photo has more than {PHOTO_MAX_PIXELS // 1_000_000} million pixels")
        picture.load()
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
        if isinstance(exc, Image.DecompressionBombError):
            raise TooLarge("the photo has too many pixels") from None
        raise Unprocessable("not an image", [{"field": "photo", "reason": "not an image"}]) from None
    if picture.mode not in ("L", "RGB", "RGBA"):
        picture = picture.convert("RGB")
    return [code.text for code in zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)]


def _own_label_path(request: Request, text: str) -> str | None:
    """This site's verification path of a code's text, when the text is a label URL of this service."""
    try:
        base, number = parse_verification_url(text)
    except ValueError:
        return _own_product_path(request, text)
    return f"/{SHORT_PATH}/{number}" if base.lower().rstrip("/") in _own_bases(request) else None


def _own_product_path(request: Request, text: str) -> str | None:
    """A GS1 Digital Link of this service that names the product only (`/01/{gtin}`): the resolver opens the
    product's label in force."""
    parts = urlsplit(text.strip())
    base, marker, gtin = parts.path.rpartition("/01/")
    own = f"{parts.scheme}://{parts.netloc}{base}".lower().rstrip("/") in _own_bases(request)
    is_gtin = gtin.isascii() and gtin.isdigit() and 8 <= len(gtin) <= 14
    return f"/01/{gtin}" if marker and own and is_gtin and not parts.query else None


@router.post("/scan")
async def scan_photo(request: Request, user: OptionalPageUser):
    """A photo of a label, decoded here: its label's page, or the page again saying what was (not) found."""
    t = i18n.catalogue(i18n.negotiate(request))
    try:
        form = await _form(request, user, PHOTO_MAX_BYTES + 64_000)
        upload = await _upload(form, "photo", PHOTO_MAX_BYTES)
        if upload is None:
            return _home(request, user, 422, t("pub.scan.photo.none"))
        texts = await run_in_threadpool(decode_photo, upload[0])
    except TooLarge:
        return _home(
            request,
            user,
            413,
            t("pub.scan.photo.too_large", mb=PHOTO_MAX_BYTES // 1_000_000, mpx=PHOTO_MAX_PIXELS // 1_000_000),
        )
    except Unprocessable:
        return _home(request, user, 422, t("pub.scan.photo.not_image"))
    if not texts:
        return _home(request, user, 422, t("pub.scan.photo.no_code"))
    for text in texts:
        path = _own_label_path(request, text)
        if path:
            return RedirectResponse(path, status_code=303)
    return _home(request, user, 422, t("pub.scan.photo.foreign"), decoded=texts[0][:500])


@router.get("/scan")
def scan_again():
    return RedirectResponse("/#scan", status_code=303)


# --- registry ------------------------------------------------------------------------------------------------------


def _amount(text: str, field: str, errors: dict, t) -> float | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors[field] = t("pub.registry.error.number")
        return None
    if not 0 <= value < 1e12:
        errors[field] = t("pub.registry.error.range")
        return None
    return value


def _year(text: str, errors: dict, t) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isdigit() and 2000 <= int(text) <= 9999):
        errors["year"] = t("pub.registry.error.year")
        return None
    return int(text)


def _group(key: str, errors: dict, t) -> Group | None:
    try:
        return registry.group_of_key(key)
    except Unprocessable:
        errors["group"] = t("pub.registry.error.group")
        return None


def _category_names(pcr_ids: list[str], lang: str) -> dict[str, str]:
    """The category of each PCR in the reader's language ('PCR-CN-CEMENT' -> '水泥'), in the order given."""
    return {pcr_id: names.pcr_category(pcr_id, lang) for pcr_id in pcr_ids}


def _group_choices(found: list[Group], lang: str) -> list[tuple[str, str]]:
    """(key, name in the reader's language) of each comparable group, by name."""
    return sorted(((group.key, registry.group_names(group)[lang]) for group in found), key=lambda item: item[1])


def _row(label, standing: registry.Standing, categories: dict[str, str], lang: str) -> dict:
    status = labels.status(label).value
    group = standing.group
    return {
        "label": label,
        "status": status,
        "badge": STATUS_BADGE.get(status, ""),
        "category": categories.get(label.pcr_id) or names.pcr_category(label.pcr_id, lang),
        "province": names.province_name(label.province, lang) if label.province else "",
        "group": {"key": group.key, "href": group.href, "name": registry.group_names(group, label.pcr_version)[lang]}
        if group
        else None,
        "grade": standing.current,
        "grade_at_issue": standing.at_issue,
    }


@router.get("/registry")
def registry_page(
    request: Request,
    user: OptionalPageUser,
    db: SessionDep,
    q: str = Query("", max_length=100),
    pcr_id: str = Query("", max_length=100),
    manufacturer: str = Query("", max_length=200),
    province: str = Query("", max_length=100),
    group: str = Query("", max_length=400),
    year: str = Query("", max_length=10),
    min_kg_co2e: str = Query("", max_length=30),
    max_kg_co2e: str = Query("", max_length=30),
    validity: str = Query("valid", max_length=12),
    page_number: int = Query(1, alias="page", ge=1, le=MAX_PAGE),
):
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    errors: dict[str, str] = {}
    low, high = _amount(min_kg_co2e, "min_kg_co2e", errors, t), _amount(max_kg_co2e, "max_kg_co2e", errors, t)
    if low is not None and high is not None and low > high:
        errors["max_kg_co2e"] = t("pub.registry.error.order")
    state = validity if validity in registry.STATES else "valid"
    query = registry.RegistryQuery(
        pcr_id=pcr_id.strip() or None,
        manufacturer=manufacturer.strip() or None,
        province=province.strip() or None,
        min_kg_co2e=low,
        max_kg_co2e=high,
        text=q.strip() or None,
        group=_group(group, errors, t),
        reference_year=_year(year, errors, t),
        state=state,
    )
    day = today()
    found = (
        []
        if errors
        else registry.search(db, query, day, registry.PAGE_SIZE + 1, (page_number - 1) * registry.PAGE_SIZE)
    )
    shown = found[: registry.PAGE_SIZE]
    standing = registry.standings(db, shown, day)
    categories = _category_names(registry.categories(db), lang)
    asked = {
        "q": q,
        "pcr_id": pcr_id,
        "manufacturer": manufacturer,
        "province": province,
        "group": group,
        "year": year,
        "min_kg_co2e": min_kg_co2e,
        "max_kg_co2e": max_kg_co2e,
        "validity": state,
    }
    link = {key: value for key, value in asked.items() if value and not (key == "validity" and value == "valid")}
    return page(
        request,
        "public/registry.html",
        user,
        422 if errors else 200,
        asked=asked,
        errors=errors,
        rows=[_row(label, standing[label.id], categories, lang) for label in shown],
        categories=categories,
        provinces=[(key, names.province_name(key, lang)) for key in registry.provinces(db)],
        asked_province=names.province_key(province) or province.strip(),
        groups=_group_choices(registry.groups(db, pcr_id.strip() or None), lang),
        years=registry.reference_years(db, pcr_id.strip() or None),
        states=registry.STATES,
        page_number=page_number,
        first=(page_number - 1) * registry.PAGE_SIZE + 1,
        previous_url=f"/registry?{urlencode({**link, 'page': page_number - 1})}" if page_number > 1 else None,
        next_url=f"/registry?{urlencode({**link, 'page': page_number + 1})}"
        if len(found) > registry.PAGE_SIZE
        else None,
        open_data_url=f"/api/v1/public/open-data/registry.csv?{urlencode(_open_data_query(asked, state))}",
    )


def _open_data_query(asked: dict, state: str) -> dict:
    """The registry download of what the search shows (the open data take the same filters, value aside)."""
    wanted = {
        "q": asked["q"],
        "pcr_id": asked["pcr_id"],
        "province": asked["province"],
        "group": asked["group"],
        "reference_year": asked["year"],
    }
    return {key: value for key, value in wanted.items() if value} | ({"state": state} if state != "valid" else {})


# --- comparison ----------------------------------------------------------------------------------------------------


def _ordinal(rank: int, lang: str) -> str:
    if lang == "zh":
        return str(rank)
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


def chart_option(group: dict, highlight: str | None, t) -> dict:
    """ECharts option of one comparable group: each product a bar named by the product (its manufacturer in the
    tooltip), lowest first, the median as a line; the highlighted product in another colour."""
    entries = group["labels"]
    return {
        "animation": False,
        "grid": {"left": 56, "right": 16, "top": 28, "bottom": 16, "containLabel": True},
        "tooltip": {"trigger": "item"},
        "xAxis": {
            "type": "category",
            "data": [entry["product"] for entry in entries],
            "axisLabel": {"interval": 0, "rotate": 30, "width": 110, "overflow": "truncate"},
        },
        "yAxis": {"type": "value", "name": f"kg CO2e / {group['declared_unit']}"},
        "series": [
            {
                "type": "bar",
                "name": t("pub.compare.chart.value"),
                "barMaxWidth": 56,
                "data": [
                    {
                        "value": entry["kg_co2e"],
                        "name": f"{entry['product']} · {entry['manufacturer']}",
                        "itemStyle": {"color": "#b5540b" if entry["number"] == highlight else "#1b6b3a"},
                    }
                    for entry in entries
                ],
                "markLine": {
                    "symbol": "none",
                    "lineStyle": {"color": "#444", "type": "dashed"},
                    "label": {
                        "formatter": t("pub.compare.chart.median", value=significant(group["median_kg_co2e"])),
                        "position": "insideEndTop",
                    },
                    "data": [{"yAxis": group["median_kg_co2e"]}],
                },
            }
        ],
    }


def _placed(placing, lang: str, t) -> str | None:
    """Where the highlighted label stands in its group, or that its group is too small to rank."""
    if not placing:
        return None
    group, entry = placing
    if not group["ranked"]:
        return t(
            "pub.compare.placed_small",
            product=entry["product"],
            group=group["name"][lang],
            count=group["count"],
            minimum=grading.MIN_RANKED,
        )
    return t(
        "pub.compare.rank",
        rank=_ordinal(entry["rank"], lang),
        count=group["count"],
        product=entry["product"],
        unit=group["declared_unit"],
        group=group["name"][lang],
    )


@router.get("/compare/{pcr_id}")
def compare_page(
    request: Request,
    pcr_id: str,
    user: OptionalPageUser,
    db: SessionDep,
    label: str = Query("", max_length=40),
    group: str = Query("", max_length=400),
    year: str = Query("", max_length=10),
):
    if len(pcr_id) > 100 or pcr_id not in registry.categories(db):
        raise NotFound("no labels of this category")
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    errors: dict[str, str] = {}
    chosen, chosen_year = _group(group, errors, t), _year(year, errors, t)
    if chosen is not None and chosen.pcr_id != pcr_id:
        errors["group"] = t("pub.registry.error.group")
        chosen = None
    comparison = registry.compare(db, pcr_id, today(), chosen, chosen_year)
    wanted, _ = labels.lookup(db, label) if label else (None, "")
    highlight = wanted.number if wanted else None
    placing = registry.placing(comparison, highlight) if highlight else None
    groups = [
        {
            **entry,
            "shown_name": entry["name"][lang],
            "chart_id": f"chart-{index}",
            "option": chart_option(entry, highlight, t) if entry["ranked"] else None,
            "spread": {key: significant(entry[f"{key}_kg_co2e"]) for key in ("min", "median", "max")}
            if entry["ranked"]
            else None,
        }
        for index, entry in enumerate(comparison["groups"])
    ]
    return page(
        request,
        "public/compare.html",
        user,
        422 if errors else 200,
        pcr_id=pcr_id,
        category=names.pcr_category(pcr_id, lang),
        groups=groups,
        group_choices=_group_choices(registry.groups(db, pcr_id), lang),
        years=comparison["years"],
        asked={"group": group, "year": year, "label": label},
        errors=errors,
        unassigned=comparison["unassigned"],
        minimum=comparison["minimum_to_rank"],
        highlight=highlight,
        placed=_placed(placing, lang, t),
        asked_label=label,
        label_status=labels.status(wanted).value if wanted else None,
    )


# --- batch check ---------------------------------------------------------------------------------------------------


def _sign(payload: bytes) -> str:
    key = get_settings().signing_key().encode()
    return hmac.new(key, b"batch-check:" + payload, hashlib.sha256).hexdigest()


def batch_token(buyer: batch_check.BuyerList | list[str], now: float | None = None, **extra) -> str:
    """The buyer's list of a check, for its downloads: compressed, with an expiry, signed (nothing kept on the
    server). A plain list of numbers is a one-column list without a heading."""
    if not isinstance(buyer, batch_check.BuyerList):
        buyer = batch_check.BuyerList(None, [(number,) for number in buyer], 0)
    body = json.dumps(
        {"exp": int((now or time.time()) + BATCH_TOKEN_SECONDS), **batch_check.encoded(buyer), **extra},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    payload = base64.urlsafe_b64encode(zlib.compress(body, 9))
    return f"{payload.decode()}.{_sign(payload)}"


def list_of_token(token: str, now: float | None = None) -> tuple[batch_check.BuyerList, dict]:
    """The buyer's list a download token carries, and the token's other values (the headings' language)."""
    payload, _, signature = token.strip().rpartition(".")
    if not payload or not hmac.compare_digest(signature, _sign(payload.encode())):
        raise BatchTokenInvalid("the download link is not valid: check the list again", code="pub.batch.error.link")
    try:
        inflater = zlib.decompressobj()
        body = json.loads(inflater.decompress(base64.urlsafe_b64decode(payload), 40_000_000))
        if body["exp"] < (now or time.time()):
            raise BatchTokenInvalid("the download has expired: check the list again", code="pub.batch.error.expired")
        return batch_check.decoded(body), body
    except (ValueError, KeyError, TypeError, zlib.error):
        raise BatchTokenInvalid(
            "the download link is not valid: check the list again", code="pub.batch.error.link"
        ) from None


def numbers_of_token(token: str, now: float | None = None) -> list[str]:
    """The label numbers of a download token, in the order of the list's rows."""
    return [number for number in list_of_token(token, now)[0].numbers() if number]


def _batch_page(request: Request, user, status_code: int = 200, error: str | None = None, result=None, **values):
    lang = i18n.negotiate(request)
    asked = {"column": "", "headers": lang, **values.pop("asked", {})}
    return _public_page(
        request,
        "public/batch.html",
        user,
        status_code,
        error=error,
        column_error=values.pop("column_error", None),
        result=result,
        asked=asked,
        header_choices=("zh", "en", "both"),
        limit=batch_check.MAX_ROWS,
        columns=batch_check.MAX_COLUMNS,
        badges=STATUS_BADGE,
        result_columns=batch_check.RESULT_COLUMNS,
    )


@router.get("/batch")
def batch_form(request: Request, user: OptionalPageUser):
    return _batch_page(request, user)


def _checked(buyer: batch_check.BuyerList, t: i18n.Catalogue | None) -> batch_check.Checked:
    """The list checked, in the reader's language (None: the verdict codes a page colours by)."""
    with reads_only(), session_scope() as db:
        return batch_check.check_list(db, buyer, today(), t)


def _refusal(exc: Unprocessable, t: i18n.Catalogue) -> tuple[str, bool]:
    """A refusal of the list in the reader's language, and whether it is about the column named."""
    entry = (exc.errors or [{}])[0]
    code, params = entry.get("code") or exc.code, entry.get("params") or exc.params
    if code in UPLOAD_REASONS:
        code = UPLOAD_REASONS[code]
    text = messages.worded(t, code, {"limit": batch_check.MAX_ROWS, **params}, "")
    return text or t("pub.batch.error.unreadable", detail=exc.detail), entry.get("field") == "column"


@router.post("/batch")
async def batch_check_page(request: Request, user: OptionalPageUser):
    t = i18n.catalogue(i18n.negotiate(request))
    asked: dict[str, str] = {}
    try:
        form = await _form(request, user, BATCH_UPLOAD_MAX_BYTES)
        asked = {
            "column": str(form.get("column") or "")[:100],
            "headers": str(form.get("headers") or "") if form.get("headers") in ("zh", "en", "both") else t.lang,
        }
        upload = await _upload(form, "file", batch_check.XLSX_MAX_BYTES)
        if upload is None:
            return _batch_page(request, user, 422, t("pub.batch.error.none"), asked=asked)
        buyer = await run_in_threadpool(batch_check.read_list, *upload, asked["column"], "file")
    except TooLarge:
        return _batch_page(request, user, 413, t("pub.batch.error.too_large"), asked=asked)
    except Unprocessable as exc:
        text, about_column = _refusal(exc, t)
        if about_column:
            return _batch_page(request, user, 422, None, asked=asked, column_error=text)
        return _batch_page(request, user, 422, text, asked=asked)
    if not any(buyer.numbers()):
        return _batch_page(request, user, 422, t("pub.batch.error.empty"), asked=asked)
    checked = await run_in_threadpool(_checked, buyer, t)
    token = batch_token(buyer, headers=asked["headers"], name=upload[1][:200])
    if len(token) > BATCH_TOKEN_MAX_BYTES:
        return _batch_page(request, user, 413, t("pub.batch.error.too_large"), asked=asked)
    verdicts = [item.verdict for item in checked.results if item is not None]
    headings = buyer.headings()
    result = {
        "count": len(verdicts),
        "rows": len(buyer.rows),
        "tally": registry.tally(verdicts),
        "token": token,
        "filename": upload[1],
        "column": batch_check.column_letter(buyer.column),
        "column_heading": headings[buyer.column],
        "kept": len(headings),
        "preview": [
            {
                "given": given,
                "verdict": item.verdict,
                "values": dict(zip(batch_check.RESULT_COLUMNS, values, strict=True)),
            }
            for given, item, values in zip(buyer.numbers(), checked.results, checked.appended, strict=True)
            if item is not None
        ][:PREVIEW_ROWS],
    }
    return _batch_page(request, user, result=result, asked=asked)


@router.post("/batch/download")
async def batch_download(request: Request, user: OptionalPageUser):
    """The buyer's list with the results appended, as XLSX or as CSV with a byte order mark (so that Excel reads
    Chinese text): verdicts and notes in the reader's language, the appended headings in the language chosen."""
    t = i18n.catalogue(i18n.negotiate(request))
    try:
        form = await _form(request, user, DOWNLOAD_FORM_MAX_BYTES)
    except TooLarge:
        return _batch_page(request, user, 413, t("pub.batch.error.form_too_large"))
    token, fmt = form.get("token"), form.get("format")
    if not isinstance(token, str) or fmt not in ("xlsx", "csv"):
        return _batch_page(request, user, 422, t("pub.batch.error.format"))
    try:
        buyer, values = list_of_token(token)
    except BatchTokenInvalid as exc:
        return _batch_page(request, user, exc.status, t(exc.code))
    header_lang = values.get("headers") if values.get("headers") in ("zh", "en", "both") else t.lang
    checked = await run_in_threadpool(_checked, buyer, t)
    headings, rows = batch_check.merged(buyer, checked, header_lang)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        body = await run_in_threadpool(batch_check.xlsx_file, headings, rows, t("pub.batch.sheet"))
        media_type = cells.XLSX_MEDIA_TYPE
    else:
        body, media_type = batch_check.csv_file(headings, rows), cells.CSV_MEDIA_TYPE
    return Response(
        body,
        media_type=media_type,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="label-check-{stamp}.{fmt}"',
        },
    )


# --- open data -----------------------------------------------------------------------------------------------------


OPEN_API = (  # what the JSON API offers anyone, as the open-data page lists it (message key, route)
    ("pub.open.api.registry", "GET /api/v1/public/registry?q=&pcr_id=&group=&reference_year=&state=&page=&size="),
    ("pub.open.api.compare", "GET /api/v1/public/compare?pcr_id=&group=&reference_year="),
    ("pub.open.api.label", "GET /api/v1/public/labels/{number}"),
    ("pub.open.api.groups", "GET /api/v1/public/benchmarks"),
    ("pub.open.api.group", "GET /api/v1/public/benchmarks/{group}"),
    ("pub.open.api.batch", "POST /api/v1/public/verify-batch?column=&lang=&headers="),
)


@router.get("/open-data")
def open_data_page(request: Request, user: OptionalPageUser):
    """What the registry and the benchmarks publish, the downloads and the JSON API."""
    return page(
        request,
        "public/open_data.html",
        user,
        registry_columns=open_data.REGISTRY_COLUMNS,
        benchmark_columns=open_data.BENCHMARK_COLUMNS,
        max_rows=open_data.MAX_ROWS,
        api_rows=OPEN_API,
    )
