"""Pages of the web application: the PCR's Excel template, and an inventory uploaded as that workbook (read by
services.excel, submitted through the same service as the form and the JSON API: inventories.submit_workbook)."""

import uuid

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from footprint_api.core.errors import Conflict, Unprocessable
from footprint_api.infra.workbooks import MAX_WORKBOOK_BYTES, XLSX
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Facility, Product
from footprint_api.services import catalogue, excel, inventories
from footprint_api.web import i18n
from footprint_api.web import session as web_session
from footprint_api.web.pages import page
from footprint_api.web.routes import page_router
from footprint_api.web.routes.inventory import _one, _pcr_choices, field_id
from footprint_api.web.session import ManufacturerPage
from pcr_rules import default_registry

router = page_router()


def _upload_page(
    request: Request,
    user,
    db: Session,
    status_code: int = 200,
    values: dict | None = None,
    errors: list[dict] | None = None,
    field_errors: dict | None = None,
):
    return page(
        request,
        "inventory/upload.html",
        user,
        status_code,
        values=values or {},
        errors=errors or [],
        field_errors=field_errors or {},
        field_id=field_id,
        pcrs=_pcr_choices(),
        products=catalogue.list_owned(db, Product, user.principal),
        facilities=catalogue.list_owned(db, Facility, user.principal),
        max_mib=MAX_WORKBOOK_BYTES >> 20,
    )


@router.get("/app/inventories/upload")
def upload_page(request: Request, user: ManufacturerPage, db: SessionDep, product: uuid.UUID | None = None):
    return _upload_page(request, user, db, values={"product_id": str(product) if product else ""})


def _cell(error: dict) -> str:
    return f"{error['column']}{error['row']}" if error.get("column") and error.get("row") else ""


@router.post("/app/inventories/upload")
async def upload(request: Request, user: ManufacturerPage, db: SessionDep):
    fields = await web_session.form(request, user)
    t = i18n.catalogue(i18n.negotiate(request))
    values = {k: _one(fields.get(k, "")) for k in ("product_id", "facility_id")}
    field_errors: dict[str, list[str]] = {}
    product_id = facility_id = None
    try:
        product_id = uuid.UUID(values["product_id"])
    except ValueError:
        field_errors["product_id"] = [t("inv.err.product")]
    if values["facility_id"]:
        try:
            facility_id = uuid.UUID(values["facility_id"])
        except ValueError:
            field_errors["facility_id"] = [t("inv.err.facility")]
    upload_file = fields.get("file")
    content = b""
    if hasattr(upload_file, "read"):
        content = await upload_file.read(MAX_WORKBOOK_BYTES + 1)
    if not content:
        field_errors["file"] = [t("inv.err.file")]
    elif len(content) > MAX_WORKBOOK_BYTES:
        field_errors["file"] = [t("inv.err.too_large", mib=MAX_WORKBOOK_BYTES >> 20)]
    if field_errors:
        return await run_in_threadpool(_upload_page, request, user, db, 422, values, [], field_errors)
    try:
        record = await run_in_threadpool(
            inventories.submit_workbook, db, user.principal, product_id, content, facility_id
        )
    except (Unprocessable, Conflict) as exc:
        db.rollback()
        errors = [{**e, "cell": _cell(e)} for e in (exc.errors or [{"field": "", "reason": exc.detail}])]
        on_file = [e["reason"] for e in errors if e.get("field") == "file"]
        table = [e for e in errors if e.get("field") != "file"]
        return await run_in_threadpool(
            _upload_page, request, user, db, 422, values, table, {"file": on_file} if on_file else {}
        )
    return RedirectResponse(f"/app/inventories/{record.id}", status_code=303)


@router.get("/app/pcrs/{pcr_id}/template.xlsx")
def pcr_template(pcr_id: str, user: ManufacturerPage, version: str | None = None) -> Response:
    """The same workbook as /api/v1/pcrs/{id}/template.xlsx, for a person signed in to the pages."""
    pcr = default_registry().get(pcr_id, version)
    return Response(
        excel.template(pcr),
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{pcr.id}-{pcr.version}-inventory.xlsx"',
            "Cache-Control": "no-store",
        },
    )
