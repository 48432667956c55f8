import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from footprint_api.api.deps import ListQueryDep, ManufacturerDep, page_answer, require
from footprint_api.core.errors import Unprocessable
from footprint_api.infra.workbooks import MAX_WORKBOOK_BYTES
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import InventoryRecord
from footprint_api.schemas import InventoryIn, InventoryOut
from footprint_api.services import catalogue, certificates, excel, inventories
from footprint_api.services.principals import MANUFACTURER_ROLES

router = APIRouter(prefix="/api/v1", tags=["inventories"])
manufacturer = require(*MANUFACTURER_ROLES)


@router.post(
    "/inventories",
    response_model=InventoryOut,
    status_code=201,
    responses={
        409: {
            "description": "a green certificate batch is retired for another claim, or has fewer "
            "MWh left than the entry draws"
        },
        422: {"description": "the inventory does not satisfy its PCR (errors per field)"},
    },
)
def submit(body: InventoryIn, session: SessionDep, principal: ManufacturerDep):
    return inventories.submit_inventory(session, principal, body.product_id, body.inventory, body.facility_id)


@router.post(
    "/inventories/excel",
    response_model=InventoryOut,
    status_code=201,
    responses={422: {"description": "errors with sheet, row and column"}},
)
async def submit_excel(
    file: Annotated[UploadFile, File(description="a filled PCR template (.xlsx)")],
    product_id: Annotated[uuid.UUID, Form()],
    session: SessionDep,
    principal: ManufacturerDep,
    facility_id: Annotated[uuid.UUID | None, Form()] = None,
):
    content = await file.read(MAX_WORKBOOK_BYTES + 1)
    if len(content) > MAX_WORKBOOK_BYTES:
        raise Unprocessable("the workbook is larger than 5 MiB", [{"field": "file", "reason": "too large"}])
    # parsing a workbook and writing to the database block: off the event loop
    return await run_in_threadpool(
        excel.submit_upload, session, principal, product_id, content, facility_id, file.filename
    )


@router.get("/inventories", response_model=list[InventoryOut])
def list_inventories(
    session: SessionDep,
    principal: ManufacturerDep,
    response: Response,
    query: ListQueryDep,
    product_id: uuid.UUID | None = None,
    pcr_id: str | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2200, description="the reference period's year")] = None,
    source: Annotated[str | None, Query(pattern="^(json|form|excel)$")] = None,
):
    """The organisation's inventories (of one product if given); with q, sort, page, size or a filter, one page."""
    if not (query.paged or pcr_id or year or source):
        return inventories.list_inventories(session, principal, product_id)
    found = inventories.search_inventories(
        session, principal, query.q, product_id, pcr_id, year, source, query.sort, query.page, query.size
    )
    return page_answer(replace(found, rows=[record for record, _product in found.rows]), response)


@router.get("/inventories/{inventory_id}", response_model=InventoryOut)
def get_inventory(inventory_id: uuid.UUID, session: SessionDep, principal: ManufacturerDep):
    return catalogue.owned(session, InventoryRecord, inventory_id, principal)


@router.get(
    "/certificates/retirements",
    response_model=list[certificates.RetiredBatch],
    summary="The certificate batches your organisation retired, with their pool and the MWh drawn and left",
)
def retirements(session: SessionDep, principal: ManufacturerDep):
    return certificates.list_retirements(session, principal)


@router.get(
    "/facilities/{facility_id}/certificate-pool",
    response_model=certificates.CertificatePool,
    summary="The facility's certificate pool: batches retired to it, MWh drawn and left, and each draw",
)
def certificate_pool(facility_id: uuid.UUID, session: SessionDep, principal: ManufacturerDep):
    return certificates.facility_pool(session, principal, facility_id)
