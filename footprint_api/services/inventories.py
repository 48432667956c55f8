"""Submitting inventories: validated against the PCR, versioned, certificates retired in the same transaction."""

import random
import time
import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from footprint_api import audit
from footprint_api.auth import actor
from footprint_api.errors import Conflict, Unprocessable
from footprint_api.models import CertificateRetirement, Facility, InventoryRecord, Product
from footprint_api.security import Principal
from footprint_api.services.catalogue import owned
from pcr_rules import default_registry, validate_inventory
from pcr_rules.inventory import Inventory

VERSION_ATTEMPTS = 10


def submit_inventory(session: Session, principal: Principal, product_id: uuid.UUID, inventory: Inventory,
                     facility_id: uuid.UUID | None = None, source: str = "json") -> InventoryRecord:
    """Store a new version of the product's inventory and retire its certificates, all or nothing.

    A certificate serial is retired once across the whole service: the unique constraint on
    certificate_retirement.serial decides between concurrent submissions, and the loser gets a 409.
    """
    product: Product = owned(session, Product, product_id, principal)
    if facility_id is not None:
        owned(session, Facility, facility_id, principal)
    if inventory.pcr.id != product.pcr_id:
        raise Unprocessable(f"product follows {product.pcr_id}, the inventory names {inventory.pcr.id}",
                            [{"field": "inventory.pcr.id", "reason": f"must be {product.pcr_id}"}])
    validate_inventory(inventory, default_registry().get(inventory.pcr.id, inventory.pcr.version))
    _refuse_retired(session, inventory)

    for attempt in range(VERSION_ATTEMPTS):
        # versions of one product are numbered one at a time: the product's row lock (PostgreSQL; SQLite's write
        # transactions are serial anyway) makes concurrent submissions wait instead of colliding
        session.exec(select(Product.id).where(Product.id == product_id).with_for_update()).one()
        version = (session.exec(select(func.max(InventoryRecord.version))
                                .where(InventoryRecord.product_id == product_id)).one() or 0) + 1
        record = InventoryRecord(
            organisation_id=principal.organisation_id, product_id=product_id, facility_id=facility_id,
            version=version, pcr_id=inventory.pcr.id, pcr_version=inventory.pcr.version,
            data=inventory.model_dump(mode="json"), source=source, submitted_by=principal.subject)
        try:
            return _stored(session, principal, record, inventory, product_id, source)
        except IntegrityError:
            session.rollback()
            session.info.pop("audit", None)
            _refuse_retired(session, inventory)  # a concurrent submission retired one of the serials: 409
            # otherwise a concurrent submission took this version number: try the next one, after a short,
            # random pause so that the submissions that collided do not collide again
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))
    raise Conflict("the product's inventory was changed concurrently; submit again")


def _stored(session: Session, principal: Principal, record: InventoryRecord, inventory: Inventory,
            product_id: uuid.UUID, source: str) -> InventoryRecord:
    """Writes the version, its retirements and their audit entries; an IntegrityError (version or serial taken)
    may come from the flush (PostgreSQL checks at once) or the commit."""
    session.add(record)
    session.flush()
    for certificate in inventory.green_certificates:
        session.add(CertificateRetirement(
            serial=certificate.serial, organisation_id=principal.organisation_id, inventory_id=record.id,
            amount_mwh=certificate.amount_mwh, technology=certificate.technology,
            generation_month=certificate.generation_month, province=certificate.province,
            instrument=certificate.instrument))
        audit.record(session, actor(principal), "certificate.retired", "certificate", certificate.serial,
                     after={"inventory_id": str(record.id), "amount_mwh": certificate.amount_mwh})
    audit.record(session, actor(principal), "inventory.submitted", "inventory", record.id,
                 after={"product_id": str(product_id), "version": record.version, "pcr": inventory.pcr.model_dump(),
                        "certificates": [c.serial for c in inventory.green_certificates], "source": source})
    audit.commit(session)
    return record


def submit_workbook(session: Session, principal: Principal, product_id: uuid.UUID, content: bytes,
                    facility_id: uuid.UUID | None = None) -> InventoryRecord:
    """A filled Excel template: ownership is checked before the file is read."""
    from footprint_api.services.excel import read_workbook

    owned(session, Product, product_id, principal)
    inventory, _ = read_workbook(content)
    return submit_inventory(session, principal, product_id, inventory, facility_id, source="excel")


def _refuse_retired(session: Session, inventory: Inventory) -> None:
    serials = [c.serial for c in inventory.green_certificates]
    if not serials:
        return
    taken = session.exec(select(CertificateRetirement.serial)
                         .where(col(CertificateRetirement.serial).in_(serials))).all()
    if taken:
        index = {s: i for i, s in enumerate(serials)}
        raise Conflict(f"certificate(s) already retired: {', '.join(sorted(taken))}",
                       [{"field": f"inventory.green_certificates[{index[s]}].serial", "reason": "already retired"}
                        for s in sorted(taken)])


def list_inventories(session: Session, principal: Principal, product_id: uuid.UUID | None = None):
    query = select(InventoryRecord).where(InventoryRecord.organisation_id == principal.organisation_id)
    if product_id is not None:
        query = query.where(InventoryRecord.product_id == product_id)
    return list(session.exec(query.order_by(InventoryRecord.created_at)))


def list_retirements(session: Session, principal: Principal) -> list[CertificateRetirement]:
    return list(session.exec(select(CertificateRetirement)
                             .where(CertificateRetirement.organisation_id == principal.organisation_id)
                             .order_by(CertificateRetirement.retired_at)))
