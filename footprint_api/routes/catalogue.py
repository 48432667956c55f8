import uuid

from fastapi import APIRouter, Depends
from sqlmodel import Session

from footprint_api.auth import MANUFACTURER_ROLES, require
from footprint_api.db import get_session
from footprint_api.models import Facility, Product
from footprint_api.schemas import FacilityIn, FacilityOut, ProductIn, ProductOut
from footprint_api.security import Principal
from footprint_api.services import catalogue

router = APIRouter(prefix="/api/v1", tags=["products and facilities"])
manufacturer = require(*MANUFACTURER_ROLES)


@router.post("/products", response_model=ProductOut, status_code=201)
def create_product(body: ProductIn, principal: Principal = Depends(manufacturer),
                   session: Session = Depends(get_session)):
    return catalogue.create_product(session, principal, body.name, body.pcr_id, body.model, body.gtin)


@router.get("/products", response_model=list[ProductOut])
def products(principal: Principal = Depends(manufacturer), session: Session = Depends(get_session)):
    return catalogue.list_owned(session, Product, principal)


@router.get("/products/{product_id}", response_model=ProductOut)
def product(product_id: uuid.UUID, principal: Principal = Depends(manufacturer),
            session: Session = Depends(get_session)):
    return catalogue.owned(session, Product, product_id, principal)


@router.post("/facilities", response_model=FacilityOut, status_code=201)
def create_facility(body: FacilityIn, principal: Principal = Depends(manufacturer),
                    session: Session = Depends(get_session)):
    return catalogue.create_facility(session, principal, body.name, body.province, body.grid_region)


@router.get("/facilities", response_model=list[FacilityOut])
def facilities(principal: Principal = Depends(manufacturer), session: Session = Depends(get_session)):
    return catalogue.list_owned(session, Facility, principal)


@router.get("/facilities/{facility_id}", response_model=FacilityOut)
def facility(facility_id: uuid.UUID, principal: Principal = Depends(manufacturer),
             session: Session = Depends(get_session)):
    return catalogue.owned(session, Facility, facility_id, principal)
