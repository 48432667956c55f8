"""Pages of the web application: public (no sign-in). The home page (a label number, the camera, a photo), the
registry search, the comparison of a category, and the batch check of a list of numbers.

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
from footprint_api.services import labels, registry
from footprint_api.services.verification import today
from footprint_api.web import i18n, session
from footprint_api.web.pages import page
from footprint_api.web.routes import page_router
from footprint_api.web.session import OptionalPageUser
from label_service.claim import significant
from label_service.qr import SHORT_PATH, parse_verification_url, public_base

router = page_router()
PHOTO_MAX_BYTES = 10_000_000
PHOTO_MAX_PIXELS = 40_000_000
BATCH_UPLOAD_MAX_BYTES = registry.XLSX_MAX_BYTES + 64_000  # the larger file limit, plus the form around it
DOWNLOAD_FORM_MAX_BYTES = 2_000_000
BATCH_TOKEN_SECONDS = 3600
NONCE_SECONDS = 24 * 3600
MAX_PAGE = 20_000
UPLOAD_REASONS = {
    "too many": "pub.batch.reason.too_many",
    "not UTF-8": "pub.batch.reason.not_utf8",
    "not XLSX": "pub.batch.reason.not_xlsx",
    "unreadable": "pub.batch.reason.not_xlsx",
    "unsupported format": "pub.batch.reason.format",
    "too large": "pub.batch.error.too_large",
    "too large unpacked": "pub.batch.reason.unpacked",
    "DTD": "pub.batch.reason.not_xlsx",
    "too many sheets": "pub.batch.reason.sheets",
    "too many rows": "pub.batch.reason.rows",
}
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


def _category_names(pcr_ids: list[str], lang: str) -> dict[str, str]:
    """The category of each PCR in the reader's language ('PCR-CN-CEMENT' -> '水泥'), in the order given."""
    return {pcr_id: names.pcr_category(pcr_id, lang) for pcr_id in pcr_ids}


def _row(label, categories: dict[str, str]) -> dict:
    status = labels.status(label).value
    category = categories.get(label.pcr_id) or label.pcr_id
    return {"label": label, "status": status, "badge": STATUS_BADGE.get(status, ""), "category": category}


@router.get("/registry")
def registry_page(
    request: Request,
    user: OptionalPageUser,
    db: SessionDep,
    pcr_id: str = Query("", max_length=100),
    manufacturer: str = Query("", max_length=200),
    province: str = Query("", max_length=100),
    min_kg_co2e: str = Query("", max_length=30),
    max_kg_co2e: str = Query("", max_length=30),
    validity: str = Query("valid", max_length=10),
    page_number: int = Query(1, alias="page", ge=1, le=MAX_PAGE),
):
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    errors: dict[str, str] = {}
    low, high = _amount(min_kg_co2e, "min_kg_co2e", errors, t), _amount(max_kg_co2e, "max_kg_co2e", errors, t)
    if low is not None and high is not None and low > high:
        errors["max_kg_co2e"] = t("pub.registry.error.order")
    query = registry.RegistryQuery(
        pcr_id.strip() or None,
        manufacturer.strip() or None,
        province.strip() or None,
        low,
        high,
        include_invalid=validity == "all",
    )
    found = (
        []
        if errors
        else registry.search(db, query, today(), registry.PAGE_SIZE + 1, (page_number - 1) * registry.PAGE_SIZE)
    )
    categories = _category_names(registry.categories(db), lang)
    rows = [_row(label, categories) for label in found[: registry.PAGE_SIZE]]
    asked = {
        "pcr_id": pcr_id,
        "manufacturer": manufacturer,
        "province": province,
        "min_kg_co2e": min_kg_co2e,
        "max_kg_co2e": max_kg_co2e,
        "validity": "all" if validity == "all" else "valid",
    }
    link = {key: value for key, value in asked.items() if value and not (key == "validity" and value == "valid")}
    return page(
        request,
        "public/registry.html",
        user,
        422 if errors else 200,
        asked=asked,
        errors=errors,
        rows=rows,
        categories=categories,
        provinces=[(key, names.province_name(key, lang)) for key in registry.provinces(db)],
        asked_province=names.province_key(province) or province.strip(),
        page_number=page_number,
        first=(page_number - 1) * registry.PAGE_SIZE + 1,
        previous_url=f"/registry?{urlencode({**link, 'page': page_number - 1})}" if page_number > 1 else None,
        next_url=f"/registry?{urlencode({**link, 'page': page_number + 1})}"
        if len(found) > registry.PAGE_SIZE
        else None,
    )


# --- comparison ----------------------------------------------------------------------------------------------------


def _ordinal(rank: int, lang: str) -> str:
    if lang == "zh":
        return str(rank)
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


def chart_option(group: dict, highlight: str | None, t) -> dict:
    """ECharts option of one declared-unit group: each product a bar, lowest first, the median as a line; the
    highlighted product in another colour."""
    entries = group["labels"]
    return {
        "animation": False,
        "grid": {"left": 56, "right": 16, "top": 28, "bottom": 40, "containLabel": True},
        "tooltip": {"trigger": "axis"},
        "xAxis": {
            "type": "category",
            "name": t("pub.compare.chart.rank"),
            "nameLocation": "middle",
            "nameGap": 28,
            "data": [str(entry["rank"]) for entry in entries],
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
                        "name": entry["product"],
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


@router.get("/compare/{pcr_id}")
def compare_page(
    request: Request, pcr_id: str, user: OptionalPageUser, db: SessionDep, label: str = Query("", max_length=40)
):
    if len(pcr_id) > 100 or pcr_id not in registry.categories(db):
        raise NotFound("no labels of this category")
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    comparison = registry.compare(db, pcr_id, today())
    wanted, _ = labels.lookup(db, label) if label else (None, "")
    highlight = wanted.number if wanted else None
    placing = registry.placing(comparison, highlight) if highlight else None
    groups = [
        {
            **group,
            "chart_id": f"chart-{index}",
            "option": chart_option(group, highlight, t),
            "spread": {key: significant(group[f"{key}_kg_co2e"]) for key in ("min", "median", "max")},
        }
        for index, group in enumerate(comparison["groups"])
    ]
    placed = None
    if placing:
        group, entry = placing
        placed = t(
            "pub.compare.rank",
            rank=_ordinal(entry["rank"], lang),
            count=group["count"],
            product=entry["product"],
            unit=group["declared_unit"],
        )
    return page(
        request,
        "public/compare.html",
        user,
        pcr_id=pcr_id,
        category=names.pcr_category(pcr_id, lang),
        groups=groups,
        highlight=highlight,
        placed=placed,
        asked_label=label,
        label_status=labels.status(wanted).value if wanted else None,
    )


# --- batch check ---------------------------------------------------------------------------------------------------


def _sign(payload: bytes) -> str:
    key = get_settings().signing_key().encode()
    return hmac.new(key, b"batch-check:" + payload, hashlib.sha256).hexdigest()


def batch_token(numbers: list[str], now: float | None = None) -> str:
    """The numbers of a check, for its downloads: compressed, with an expiry, signed (nothing kept on the server)."""
    body = json.dumps(
        {"exp": int((now or time.time()) + BATCH_TOKEN_SECONDS), "n": numbers}, separators=(",", ":")
    ).encode()
    payload = base64.urlsafe_b64encode(zlib.compress(body, 9))
    return f"{payload.decode()}.{_sign(payload)}"


def numbers_of_token(token: str, now: float | None = None) -> list[str]:
    payload, _, signature = token.strip().rpartition(".")
    if not payload or not hmac.compare_digest(signature, _sign(payload.encode())):
        raise BatchTokenInvalid("the download link is not valid: check the list again", code="pub.batch.error.link")
    try:
        inflater = zlib.decompressobj()
        body = json.loads(inflater.decompress(base64.urlsafe_b64decode(payload), 4_000_000))
    except (ValueError, zlib.error):
        raise BatchTokenInvalid(
            "the download link is not valid: check the list again", code="pub.batch.error.link"
        ) from None
    if body["exp"] < (now or time.time()):
        raise BatchTokenInvalid("the download has expired: check the list again", code="pub.batch.error.expired")
    return [str(number) for number in body["n"]][: registry.BULK_LIMIT]


def _batch_page(request: Request, user, status_code: int = 200, error: str | None = None, result=None):
    return _public_page(
        request,
        "public/batch.html",
        user,
        status_code,
        error=error,
        result=result,
        limit=registry.BULK_LIMIT,
        badges=STATUS_BADGE,
    )


@router.get("/batch")
def batch_form(request: Request, user: OptionalPageUser):
    return _batch_page(request, user)


def _checked(numbers: list[str], t: i18n.Catalogue, named_verdicts: bool = True) -> list[list]:
    """The rows of a check in the reader's language (a page keeps the verdict codes it colours by)."""
    with reads_only(), session_scope() as db:
        return registry.batch_rows(registry.check(db, numbers, today()), t, named_verdicts)


@router.post("/batch")
async def batch_check(request: Request, user: OptionalPageUser):
    t = i18n.catalogue(i18n.negotiate(request))
    try:
        form = await _form(request, user, BATCH_UPLOAD_MAX_BYTES)
        upload = await _upload(form, "file", registry.XLSX_MAX_BYTES)
        if upload is None:
            return _batch_page(request, user, 422, t("pub.batch.error.none"))
        numbers = await run_in_threadpool(registry.numbers_from_upload, *upload, "file")
    except TooLarge:
        return _batch_page(request, user, 413, t("pub.batch.error.too_large"))
    except Unprocessable as exc:
        reason = (exc.errors or [{}])[0].get("reason", "")
        key = UPLOAD_REASONS.get(reason)
        return _batch_page(
            request,
            user,
            422,
            t(key, limit=registry.BULK_LIMIT) if key else t("pub.batch.error.unreadable", detail=exc.detail),
        )
    if not numbers:
        return _batch_page(request, user, 422, t("pub.batch.error.empty"))
    rows = await run_in_threadpool(_checked, numbers, t, False)
    result = {
        "count": len(rows),
        "tally": registry.tally(rows),
        "token": batch_token(numbers),
        "preview": rows[:20],
        "filename": upload[1],
    }
    return _batch_page(request, user, result=result)


@router.post("/batch/download")
async def batch_download(request: Request, user: OptionalPageUser):
    """The results of a check as XLSX or as CSV with a byte order mark (so that Excel reads Chinese text), with the
    headings, verdicts and notes in the reader's language."""
    t = i18n.catalogue(i18n.negotiate(request))
    try:
        form = await _form(request, user, DOWNLOAD_FORM_MAX_BYTES)
    except TooLarge:
        return _batch_page(request, user, 413, t("pub.batch.error.form_too_large"))
    token, fmt = form.get("token"), form.get("format")
    if not isinstance(token, str) or fmt not in ("xlsx", "csv"):
        return _batch_page(request, user, 422, t("pub.batch.error.format"))
    try:
        numbers = numbers_of_token(token)
    except BatchTokenInvalid as exc:
        return _batch_page(request, user, exc.status, t(exc.code))
    rows = await run_in_threadpool(_checked, numbers, t)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        body = await run_in_threadpool(cells.xlsx_bytes, registry.batch_columns(t), rows, t("pub.batch.sheet"))
        media_type = cells.XLSX_MEDIA_TYPE
    else:
        body, media_type = cells.csv_bytes(registry.batch_columns(t), rows, bom=True), cells.CSV_MEDIA_TYPE
    return Response(
        body,
        media_type=media_type,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="label-check-{stamp}.{fmt}"',
        },
    )
