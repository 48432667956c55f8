import uuid

from fastapi import APIRouter, Response

from footprint_api.api.deps import ListQueryDep, ManufacturerDep, page_answer, require
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Facility, Product
from footprint_api.schemas import FacilityIn, FacilityOut, FacilityPatch, ProductIn, ProductOut, ProductPatch
from footprint_api.services import catalogue
from footprint_api.services.principals import MANUFACTURER_ROLES

router = APIRouter(prefix="/api/v1", tags=["products and facilities"])
manufacturer = require(*MANUFACTURER_ROLES)


@router.post("/products", response_model=ProductOut, status_code=201)
def create_product(body: ProductIn, session: SessionDep, principal: ManufacturerDep):
    return catalogue.create_product(session, principal, body.name, body.pcr_id, body.model, body.gtin)


@router.get("/products", response_model=list[ProductOut])
def products(
    session: SessionDep, principal: ManufacturerDep, response: Response, query: ListQueryDep, pcr_id: str | None = None
):
    """The organisation's products; with q, sort, page or size (or pcr_id) one page of the search."""
    if not (query.paged or pcr_id):
        return catalogue.list_owned(session, Product, principal)
    found = catalogue.search_products(session, principal, query.q, pcr_id, query.sort, query.page, query.size)
    return page_answer(found, response)


@router.get("/products/{product_id}", response_model=ProductOut)
def product(product_id: uuid.UUID, session: SessionDep, principal: ManufacturerDep):
    return catalogue.owned(session, Product, product_id, principal)


@router.patch(
    "/products/{product_id}",
    response_model=ProductOut,
    summary="Change a product's name, model, GTIN or (before its first inventory) PCR",
)
def update_product(product_id: uuid.UUID, body: ProductPatch, session: SessionDep, principal: ManufacturerDep):
    return catalogue.update_product(session, principal, product_id, **body.changes())


@router.post("/facilities", response_model=FacilityOut, status_code=201)
def create_facility(body: FacilityIn, session: SessionDep, principal: ManufacturerDep):
    return catalogue.create_facility(session, principal, body.name, body.province, body.grid_region)


@router.get("/facilities", response_model=list[FacilityOut])
def facilities(
    session: SessionDep,
    principal: ManufacturerDep,
    response: Response,
    query: ListQueryDep,
    province: str | None = None,
):
    """The organisation's facilities; with q, sort, page or size (or province) one page of the search."""
    if not (query.paged or province):
        return catalogue.list_owned(session, Facility, principal)
    found = catalogue.search_facilities(session, principal, query.q, province, query.sort, query.page, query.size)
    return page_answer(found, response)


@router.get("/facilities/{facility_id}", response_model=FacilityOut)
def facility(facility_id: uuid.UUID, session: SessionDep, principal: ManufacturerDep):
    return catalogue.owned(session, Facility, facility_id, principal)


@router.patch(
    "/facilities/{facility_id}",
    response_model=FacilityOut,
    summary="Change a facility's name, province or grid region (submitted inventories keep their copy)",
)
def update_facility(facility_id: uuid.UUID, body: FacilityPatch, session: SessionDep, principal: ManufacturerDep):
    return catalogue.update_facility(session, principal, facility_id, **body.changes())
