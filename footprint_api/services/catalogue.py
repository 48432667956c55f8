"""A manufacturer's products and facilities."""

import uuid

from sqlmodel import Session, select

from footprint_api import audit
from footprint_api.auth import actor
from footprint_api.errors import NotFound, Unprocessable
from footprint_api.models import Facility, Product
from footprint_api.security import Principal
from label_service import gs1
from pcr_rules import default_registry


def owned(session: Session, model, object_id: uuid.UUID, principal: Principal):
    """The object if it belongs to the caller's organisation; otherwise NotFound (existence is not revealed)."""
    found = session.get(model, object_id)
    if found is None or found.organisation_id != principal.organisation_id:
        raise NotFound(f"no such {model.__name__.lower()} in your organisation")
    return found


def create_product(session: Session, principal: Principal, name: str, pcr_id: str, model: str | None,
                   gtin: str | None) -> Product:
    default_registry().get(pcr_id)  # PCRNotFound -> 422
    try:
        gtin = gs1.gtin14(gtin) if gtin else None
    except gs1.InvalidGTIN as exc:
        raise Unprocessable(str(exc), [{"field": "gtin", "reason": str(exc)}]) from None
    product = Product(organisation_id=principal.organisation_id, name=name, model=model, gtin=gtin, pcr_id=pcr_id)
    session.add(product)
    audit.record(session, actor(principal), "product.created", "product", product.id,
                 after=product.model_dump(mode="json"))
    audit.commit(session)
    return product


def create_facility(session: Session, principal: Principal, name: str, province: str,
                    grid_region: str | None) -> Facility:
    facility = Facility(organisation_id=principal.organisation_id, name=name, province=province,
                        grid_region=grid_region)
    session.add(facility)
    audit.record(session, actor(principal), "facility.created", "facility", facility.id,
                 after=facility.model_dump(mode="json"))
    audit.commit(session)
    return facility


def list_owned(session: Session, model, principal: Principal) -> list:
    return list(session.exec(select(model).where(model.organisation_id == principal.organisation_id)
                             .order_by(model.created_at)))
