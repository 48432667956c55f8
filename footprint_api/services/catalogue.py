"""A manufacturer's products and facilities."""

import uuid

from sqlmodel import Session, select

from footprint_api.core.errors import NotFound, Unprocessable
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Facility, InventoryRecord, Product
from footprint_api.services import audit
from footprint_api.services.principals import actor
from label_service import gs1
from pcr_rules import default_registry


def owned(session: Session, model, object_id: uuid.UUID, principal: Principal):
    """The object if it belongs to the caller's organisation; otherwise NotFound (existence is not revealed)."""
    found = session.get(model, object_id)
    if found is None or found.organisation_id != principal.organisation_id:
        raise NotFound(f"no such {model.__name__.lower()} in your organisation")
    return found


def _gtin14(gtin: str | None) -> str | None:
    try:
        return gs1.gtin14(gtin) if gtin else None
    except gs1.InvalidGTIN as exc:
        raise Unprocessable(str(exc), [{"field": "gtin", "reason": str(exc)}]) from None


def create_product(
    session: Session, principal: Principal, name: str, pcr_id: str, model: str | None, gtin: str | None
) -> Product:
    default_registry().get(pcr_id)  # PCRNotFound -> 422
    gtin = _gtin14(gtin)
    product = Product(organisation_id=principal.organisation_id, name=name, model=model, gtin=gtin, pcr_id=pcr_id)
    session.add(product)
    audit.record(
        session, actor(principal), "product.created", "product", product.id, after=product.model_dump(mode="json")
    )
    audit.commit(session)
    return product


def create_facility(
    session: Session, principal: Principal, name: str, province: str, grid_region: str | None
) -> Facility:
    facility = Facility(
        organisation_id=principal.organisation_id, name=name, province=province, grid_region=grid_region
    )
    session.add(facility)
    audit.record(
        session, actor(principal), "facility.created", "facility", facility.id, after=facility.model_dump(mode="json")
    )
    audit.commit(session)
    return facility


UNSET = object()  # a field an update leaves as it is


def update_product(
    session: Session, principal: Principal, product_id: uuid.UUID, name=UNSET, pcr_id=UNSET, model=UNSET, gtin=UNSET
) -> Product:
    """Changes the fields given. A product keeps its PCR once it has an inventory: every version of its inventory
    follows that PCR (a product of another category is another product)."""
    product: Product = owned(session, Product, product_id, principal)
    before = product.model_dump(mode="json")
    changes = {"name": name, "model": model, "gtin": _gtin14(gtin) if gtin is not UNSET else UNSET}
    if pcr_id is not UNSET and pcr_id != product.pcr_id:
        default_registry().get(pcr_id)  # PCRNotFound -> 422
        if session.exec(select(InventoryRecord.id).where(InventoryRecord.product_id == product.id)).first():
            reason = f"the product has inventories that follow {product.pcr_id}; create a new product instead"
            raise Unprocessable(reason, [{"field": "pcr_id", "reason": reason}])
        changes["pcr_id"] = pcr_id
    for field, value in changes.items():  # only once every change is known to be valid
        if value is not UNSET:
            setattr(product, field, value)
    return _updated(session, principal, product, "product", before)


def update_facility(
    session: Session, principal: Principal, facility_id: uuid.UUID, name=UNSET, province=UNSET, grid_region=UNSET
) -> Facility:
    """Changes the fields given; submitted inventories keep the facility as it was (they carry a copy)."""
    facility: Facility = owned(session, Facility, facility_id, principal)
    before = facility.model_dump(mode="json")
    for field, value in (("name", name), ("province", province), ("grid_region", grid_region)):
        if value is not UNSET:
            setattr(facility, field, value)
    return _updated(session, principal, facility, "facility", before)


def _updated(session: Session, principal: Principal, obj, kind: str, before: dict):
    after = obj.model_dump(mode="json")
    changed = {k for k in after if after[k] != before.get(k)}
    if changed:
        session.add(obj)
        audit.record(
            session,
            actor(principal),
            f"{kind}.updated",
            kind,
            obj.id,
            before={k: before[k] for k in sorted(changed)},
            after={k: after[k] for k in sorted(changed)},
        )
        audit.commit(session)
    return obj


def list_owned(session: Session, model, principal: Principal) -> list:
    return list(
        session.exec(select(model).where(model.organisation_id == principal.organisation_id).order_by(model.created_at))
    )
