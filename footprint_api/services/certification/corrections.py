"""Corrections of an application: the footprint of a newer inventory version of the application's product."""

import uuid

from sqlmodel import Session, col, select

from footprint_api.core.errors import Unprocessable
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Application, Footprint, InventoryRecord
from footprint_api.services.catalogue import owned
from footprint_api.services.certification.refusals import _refusal


def corrected_footprint(
    session: Session,
    principal: Principal,
    application: Application,
    footprint_id: uuid.UUID,
    field: str = "footprint_id",
) -> Footprint:
    """A correction is the footprint of a newer inventory version of the application's product."""
    footprint = owned(session, Footprint, footprint_id, principal)
    record = session.get(InventoryRecord, footprint.inventory_id)
    previous = session.get(InventoryRecord, session.get(Footprint, application.footprint_id).inventory_id)
    if record.product_id != application.product_id or record.version <= previous.version:
        raise _refusal(
            Unprocessable,
            "cert.error.not_newer",
            f"the corrected footprint must come from a newer inventory version of the product "
            f"(inventory version {record.version}, the application's is {previous.version})",
            field,
            version=record.version,
            current=previous.version,
        )
    return footprint


def correction_candidates(session: Session, principal: Principal, application: Application) -> list[dict]:
    """The manufacturer's footprints that may correct the application: newer versions of the same product."""
    current = session.get(InventoryRecord, session.get(Footprint, application.footprint_id).inventory_id)
    rows = session.exec(
        select(Footprint, InventoryRecord)
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .where(
            InventoryRecord.product_id == application.product_id,
            InventoryRecord.version > current.version,
            Footprint.organisation_id == principal.organisation_id,
        )
        .order_by(col(InventoryRecord.version).desc(), col(Footprint.created_at).desc())
    )
    return [
        {
            "footprint_id": f.id,
            "inventory_version": r.version,
            "total_kg_co2e": f.total_kg_co2e,
            "declared_unit": f.declared_unit,
            "created_at": f.created_at,
        }
        for f, r in rows
    ]
