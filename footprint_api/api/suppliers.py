"""A buyer's PACT suppliers over the JSON API: connections to suppliers' PACT APIs, footprints pulled from them or
uploaded as files (services.pact.suppliers). Connections are an administrator's (they hold credentials); pulls,
uploads and reading are every manufacturer member's."""

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from footprint_api.api.deps import ManufacturerAdminDep, ManufacturerDep
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import SupplierConnection, SupplierFootprint
from footprint_api.services.pact import suppliers
from footprint_api.services.pact.documents import MAX_DOCUMENT_BYTES

router = APIRouter(prefix="/api/v1", tags=["suppliers"])


class ConnectionIn(BaseModel):
    name: str = Field(max_length=suppliers.MAX_NAME, description="the supplier as you call it (unique among yours)")
    base_url: str = Field(max_length=suppliers.MAX_URL, description="the supplier's PACT API, https://…")
    client_id: str = Field(max_length=suppliers.MAX_CLIENT_ID, description="issued to you by the supplier")
    client_secret: str = Field(max_length=suppliers.MAX_SECRET, description="stored encrypted, never shown again")


class ConnectionChange(BaseModel):
    """What to change; a field left out stays as it is."""

    name: str | None = Field(default=None, max_length=suppliers.MAX_NAME)
    base_url: str | None = Field(default=None, max_length=suppliers.MAX_URL)
    client_id: str | None = Field(default=None, max_length=suppliers.MAX_CLIENT_ID)
    client_secret: str | None = Field(default=None, max_length=suppliers.MAX_SECRET)


class ConnectionOut(BaseModel):
    id: uuid.UUID
    name: str
    base_url: str
    client_id: str
    active: bool
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    last_error: str | None = Field(description="what went wrong at the last call to the supplier, if it did")

    @classmethod
    def of(cls, found: SupplierConnection) -> "ConnectionOut":
        return cls(
            **found.model_dump(exclude={"token_client_id", "token_secret_encrypted"}), client_id=found.token_client_id
        )


class PullIn(BaseModel):
    pf_id: str | None = Field(default=None, max_length=100, description="a PACT footprint id (UUID)")
    product_id: str | None = Field(
        default=None, max_length=suppliers.MAX_PRODUCT_ID, description="a product id URN (urn:gtin:…) or a GTIN"
    )


class UseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    inventory_id: uuid.UUID
    product_id: uuid.UUID
    product_name: str
    inventory_version: int
    item: str
    affected: bool


class SupplierFootprintOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    pf_id: str
    pf_version: int
    origin: str = Field(description="pulled | event | uploaded")
    status: str = Field(description="Active | Deprecated")
    connection_id: uuid.UUID | None
    company_name: str
    product_name: str
    product_ids: list[str]
    declared_unit: str = Field(description="PACT declaredUnitOfMeasurement, as the supplier wrote it")
    declared_amount: float
    pcf_excluding_biogenic: float = Field(description="kg CO2e per declared_amount declared_unit")
    pcf_including_biogenic: float | None
    primary_data_share: float | None = Field(description="0..1 (PACT gives a percentage)")
    dqi: dict | None
    assurance: dict | None = Field(description="the footprint's PACT verification, as received")
    verified: bool
    reference_period_start: date | None
    reference_period_end: date | None = Field(description="the last day included")
    valid_from: date | None
    valid_until: date | None = Field(description="the last day of validity")
    received_at: datetime
    deprecated_at: datetime | None
    successor_id: uuid.UUID | None


class SupplierFootprintDetail(SupplierFootprintOut):
    document: dict = Field(description="the ProductFootprint exactly as received")
    used_by: list[UseOut]


@router.get("/supplier-connections", response_model=list[ConnectionOut])
def list_connections(session: SessionDep, principal: ManufacturerDep):
    return [ConnectionOut.of(found) for found in suppliers.connections(session, principal)]


@router.post(
    "/supplier-connections",
    response_model=ConnectionOut,
    status_code=201,
    summary="Register a supplier's PACT API: base URL (checked by the outbound policy) and the client credentials "
    "the supplier issued to you",
)
def register(body: ConnectionIn, session: SessionDep, principal: ManufacturerAdminDep):
    found = suppliers.register(session, principal, body.name, body.base_url, body.client_id, body.client_secret)
    return ConnectionOut.of(found)


@router.get("/supplier-connections/{connection_id}", response_model=ConnectionOut)
def get_connection(connection_id: uuid.UUID, session: SessionDep, principal: ManufacturerDep):
    return ConnectionOut.of(suppliers.connection(session, principal, connection_id))


@router.patch(
    "/supplier-connections/{connection_id}",
    response_model=ConnectionOut,
    summary="Change a connection's name, URL or credentials",
)
def update(connection_id: uuid.UUID, body: ConnectionChange, session: SessionDep, principal: ManufacturerAdminDep):
    found = suppliers.update(
        session, principal, connection_id, body.name, body.base_url, body.client_id, body.client_secret
    )
    return ConnectionOut.of(found)


@router.post(
    "/supplier-connections/{connection_id}/deactivate",
    response_model=ConnectionOut,
    summary="No more calls over this connection; what was received through it stays",
)
def deactivate(connection_id: uuid.UUID, session: SessionDep, principal: ManufacturerAdminDep):
    return ConnectionOut.of(suppliers.deactivate(session, principal, connection_id))


@router.post(
    "/supplier-connections/{connection_id}/pulls",
    response_model=list[SupplierFootprintOut],
    status_code=201,
    summary="Fetch a footprint by PACT id, or a product's footprints by product id, from the supplier's PACT API",
    responses={
        422: {"description": "the request, or what the supplier has for it (no such footprint), names the field"},
        502: {"description": "the supplier's API answered an HTTP error, nothing usable, or could not be reached"},
    },
)
def pull(connection_id: uuid.UUID, body: PullIn, session: SessionDep, principal: ManufacturerDep):
    return suppliers.pull(session, principal, connection_id, body.pf_id, body.product_id)


@router.get("/supplier-footprints", response_model=list[SupplierFootprintOut])
def list_footprints(session: SessionDep, principal: ManufacturerDep):
    return suppliers.received_footprints(session, principal)


@router.post(
    "/supplier-footprints",
    response_model=SupplierFootprintOut,
    status_code=201,
    summary="Upload a supplier's PACT ProductFootprint (JSON file): checked against the PACT schema, kept as "
    "uploaded, verified only if it carries a verification",
    responses={422: {"description": "not a valid ProductFootprint: the JSON path of the first problem"}},
)
async def upload(
    file: Annotated[UploadFile, File(description="a PACT v3 ProductFootprint (.json)")],
    session: SessionDep,
    principal: ManufacturerDep,
):
    body = await file.read(MAX_DOCUMENT_BYTES + 1)
    return await run_in_threadpool(suppliers.upload, session, principal, body)


def _detail(session, principal, found: SupplierFootprint) -> SupplierFootprintDetail:
    used = suppliers.uses(session, principal, [found.id])[found.id]
    return SupplierFootprintDetail(
        **SupplierFootprintOut.model_validate(found).model_dump(),
        document=found.document,
        used_by=[UseOut.model_validate(use) for use in used],
    )


@router.get("/supplier-footprints/{footprint_id}", response_model=SupplierFootprintDetail)
def get_footprint(footprint_id: uuid.UUID, session: SessionDep, principal: ManufacturerDep):
    return _detail(session, principal, suppliers.received_footprint(session, principal, footprint_id))


@router.get(
    "/supplier-footprints/{footprint_id}/document",
    summary="The ProductFootprint exactly as received, as a JSON file",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def document(footprint_id: uuid.UUID, session: SessionDep, principal: ManufacturerDep) -> Response:
    found = suppliers.received_footprint(session, principal, footprint_id)
    return Response(
        suppliers.document_bytes(found),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{suppliers.document_name(found)}"'},
    )
