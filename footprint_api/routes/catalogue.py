import uuid
from typing import ClassVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session

from footprint_api.auth import MANUFACTURER_ROLES, require
from footprint_api.db import get_session
from footprint_api.errors import Unprocessable
from footprint_api.models import Facility, Product
from footprint_api.schemas import FacilityIn, FacilityOut, ProductIn, ProductOut
from footprint_api.security import Principal
from footprint_api.services import catalogue
from label_service.gs1 import gtin14

router = APIRouter(prefix="/api/v1", tags=["products and facilities"])
manufacturer = require(*MANUFACTURER_ROLES)


class _Patch(BaseModel):
    """The fields to change; a field left out stays as it is. Fields that must have a value refuse null."""

    model_config = ConfigDict(extra="forbid")
    required: ClassVar[tuple[str, ...]] = ()

    def changes(self) -> dict:
        given = self.model_dump(include=self.model_fields_set)
        for name in self.required:
            if name in given and given[name] is None:
                raise Unprocessable(f"{name} cannot be removed", [{"field": name, "reason": "may not be null"}])
        return given


class ProductPatch(_Patch):
    required = ("name", "pcr_id")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    pcr_id: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=200)
    gtin: str | None = Field(default=None, max_length=20, description="GTIN-8/12/13/14 with a valid check digit; "
                             "stored as GTIN-14; null removes it")

    @field_validator("gtin")
    @classmethod
    def _gtin14(cls, value: str | None) -> str | None:
        return gtin14(value) if value else None


class FacilityPatch(_Patch):
    required = ("name", "province")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    province: str | None = Field(default=None, min_length=1, max_length=100)
    grid_region: str | None = Field(default=None, max_length=100)


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


@router.patch("/products/{product_id}", response_model=ProductOut,
              summary="Change a product's name, model, GTIN or (before its first inventory) PCR")
def update_product(product_id: uuid.UUID, body: ProductPatch, principal: Principal = Depends(manufacturer),
                   session: Session = Depends(get_session)):
    return catalogue.update_product(session, principal, product_id, **body.changes())


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


@router.patch("/facilities/{facility_id}", response_model=FacilityOut,
              summary="Change a facility's name, province or grid region (submitted inventories keep their copy)")
def update_facility(facility_id: uuid.UUID, body: FacilityPatch, principal: Principal = Depends(manufacturer),
                    session: Session = Depends(get_session)):
    return catalogue.update_facility(session, principal, facility_id, **body.changes())
