"""Pages of the web application: the PCR's Excel template in the reader's language, and an inventory uploaded as
that workbook (read, linked to the facility it names and kept by services.excel.submit_upload). Every error of the
workbook is listed by its sheet, cell and column heading, worded in the reader's language."""

import uuid

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from footprint_api.core.errors import Conflict, Unprocessable
from footprint_api.infra.workbooks import MAX_WORKBOOK_BYTES, XLSX
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Facility, Product
from footprint_api.services import catalogue, excel
from footprint_api.web import i18n
from footprint_api.web import session as web_session
from footprint_api.web.pages import page
from footprint_api.web.routes import page_router
from footprint_api.web.routes.inventory import _one, _pcr_choices, field_id, pcr_title, places
from footprint_api.web.session import ManufacturerPage
from pcr_rules import default_registry

router = page_router()
PAGE_FIELDS = ("file", "facility_id")  # errors shown next to the page's own inputs (and, with a cell, in the table)


def _upload_page(
    request: Request,
    user,
    db: Session,
    status_code: int = 200,
    values: dict | None = None,
    errors: list[dict] | None = None,
    field_errors: dict | None = None,
):
    lang = i18n.negotiate(request)
    pcrs = _pcr_choices()
    return page(
        request,
        "inventory/upload.html",
        user,
        status_code,
        values=values or {},
        errors=errors or [],
        field_errors=field_errors or {},
        field_id=field_id,
        pcrs=pcrs,
        pcr_titles={p.id: pcr_title(p, lang) for p in pcrs},
        **places(lang),
        products=catalogue.list_owned(db, Product, user.principal),
        facilities=catalogue.list_owned(db, Facility, user.principal),
        max_mib=MAX_WORKBOOK_BYTES >> 20,
    )


@router.get("/app/inventories/upload")
def upload_page(request: Request, user: ManufacturerPage, db: SessionDep, product: uuid.UUID | None = None):
    return _upload_page(request, user, db, values={"product_id": str(product) if product else ""})


def shown_errors(exc: Unprocessable | Conflict, lang: str) -> tuple[list[dict], dict[str, list[str]]]:
    """The refusal as the page lists it: each error of the workbook with its place (工作表「…」F7), its column's
    heading and the problem, in `lang`; the errors of the file and of the chosen facility beside those inputs."""
    entries = exc.errors or [{"field": "", "reason": exc.detail, "code": exc.code, "params": exc.params}]
    table, beside = [], {}
    for error in entries:
        field = error.get("field") or ""
        if field == "file":
            beside.setdefault("file", []).append(excel.file_message(error, lang))
            continue
        worded = excel.message(error, lang)
        if field in PAGE_FIELDS:
            beside.setdefault(field, []).append(worded)
        table.append(
            {
                "field": field,
                "sheet": error.get("sheet"),
                "row": error.get("row"),
                "cell": f"{error['column']}{error['row']}" if error.get("column") and error.get("row") else "",
                "place": excel.place(error, lang),
                "heading": excel.heading(error["heading"], lang) if error.get("heading") else "",
                "message": worded,
            }
        )
    return table, beside


async def _upload_form(request: Request, user, t) -> tuple[dict, dict, dict[str, list[str]]]:
    """The page's fields: the values to show again, the parsed ones (product_id, facility_id, content, name), and
    the errors of those that are missing or malformed."""
    fields = await web_session.form(request, user)
    values = {k: _one(fields.get(k, "")) for k in ("product_id", "facility_id")}
    parsed: dict = {"product_id": None, "facility_id": None}
    errors: dict[str, list[str]] = {}
    for name, message in (("product_id", "inv.err.product"), ("facility_id", "inv.err.facility")):
        if values[name] or name == "product_id":
            try:
                parsed[name] = uuid.UUID(values[name])
            except ValueError:
                errors[name] = [t(message)]
    upload_file = fields.get("file")
    content = await upload_file.read(MAX_WORKBOOK_BYTES + 1) if hasattr(upload_file, "read") else b""
    if not content:
        errors["file"] = [t("inv.err.file")]
    elif len(content) > MAX_WORKBOOK_BYTES:
        errors["file"] = [t("inv.err.too_large", mib=MAX_WORKBOOK_BYTES >> 20)]
    parsed |= {"content": content, "name": getattr(upload_file, "filename", None)}
    return values, parsed, errors


@router.post("/app/inventories/upload")
async def upload(request: Request, user: ManufacturerPage, db: SessionDep):
    lang = i18n.negotiate(request)
    values, parsed, field_errors = await _upload_form(request, user, i18n.catalogue(lang))
    if field_errors:
        return await run_in_threadpool(_upload_page, request, user, db, 422, values, [], field_errors)
    try:
        record = await run_in_threadpool(excel.submit_upload, db, user.principal, **parsed)
    except (Unprocessable, Conflict) as exc:
        db.rollback()
        table, beside = shown_errors(exc, lang)
        return await run_in_threadpool(_upload_page, request, user, db, 422, values, table, beside)
    return RedirectResponse(f"/app/inventories/{record.id}", status_code=303)


@router.get("/app/pcrs/{pcr_id}/template.xlsx")
def pcr_template(request: Request, pcr_id: str, user: ManufacturerPage, version: str | None = None) -> Response:
    """The workbook of /api/v1/pcrs/{id}/template.xlsx in the reader's language, for a person signed in to the
    pages."""
    pcr = default_registry().get(pcr_id, version)
    lang = i18n.negotiate(request)
    return Response(
        excel.template(pcr, lang),
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{pcr.id}-{pcr.version}-inventory-{lang}.xlsx"',
            "Cache-Control": "no-store",
        },
    )
