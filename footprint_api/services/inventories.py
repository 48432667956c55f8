"""Submitting inventories: under a PCR version in force for the reference period (services.pcr_registry), validated
against it, versioned, certificates retired into the claim's pool and drawn in the same transaction
(footprint_api.services.certificates)."""

import random
import time
import uuid

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, func, select

from footprint_api.core.errors import Conflict, ServiceError, Unprocessable
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Facility, InventoryRecord, Product
from footprint_api.services import audit, certificates, pcr_registry
from footprint_api.services.catalogue import owned
from footprint_api.services.principals import actor
from pcr_rules import default_registry, validate_inventory
from pcr_rules.inventory import Inventory

VERSION_ATTEMPTS = 10


def submit_inventory(
    session: Session,
    principal: Principal,
    product_id: uuid.UUID,
    inventory: Inventory,
    facility_id: uuid.UUID | None = None,
    source: str = "json",
) -> InventoryRecord:
    """Store a new version of the product's inventory and claim its certificates, all or nothing.

    Each batch is retired once across the whole service, into the pool of the facility (or, without one, the
    product) for the reference period; the version draws its MWh from it, and the product's earlier versions for
    the same period give theirs back. The database decides between concurrent submissions (no overlapping batches,
    no more drawn than a batch holds); the loser gets a 409 naming the entry.
    """
    product: Product = owned(session, Product, product_id, principal)
    if facility_id is not None:
        owned(session, Facility, facility_id, principal)
    if inventory.pcr.id != product.pcr_id:
        raise Unprocessable(
            f"product follows {product.pcr_id}, the inventory names {inventory.pcr.id}",
            [{"field": "inventory.pcr.id", "reason": f"must be {product.pcr_id}"}],
        )
    # the version must be in force for the reference period (a superseded one within its transition period)
    pcr_registry.require_usable(session, inventory.pcr.id, inventory.pcr.version, inventory.reference_period.end)
    validate_inventory(inventory, default_registry().get(inventory.pcr.id, inventory.pcr.version))
    claim = certificates.Claim.of(principal.organisation_id, product_id, facility_id, inventory)
    _refuse_claimed(session, claim, product_id, inventory)

    for attempt in range(VERSION_ATTEMPTS):
        # versions of one product are numbered one at a time: the product's row lock (PostgreSQL; SQLite's write
        # transactions are serial anyway) makes concurrent submissions wait instead of colliding
        session.exec(select(Product.id).where(Product.id == product_id).with_for_update()).one()
        version = (
            session.exec(
                select(func.max(InventoryRecord.version)).where(InventoryRecord.product_id == product_id)
            ).one()
            or 0
        ) + 1
        record = InventoryRecord(
            organisation_id=principal.organisation_id,
            product_id=product_id,
            facility_id=facility_id,
            version=version,
            pcr_id=inventory.pcr.id,
            pcr_version=inventory.pcr.version,
            data=inventory.model_dump(mode="json"),
            source=source,
            submitted_by=principal.subject,
        )
        try:
            return _stored(session, principal, record, inventory, claim, source)
        except ServiceError:
            _undo(session)
            raise
        except (IntegrityError, OperationalError) as exc:
            _undo(session)
            if isinstance(exc, OperationalError) and not _retryable(exc):
                raise
            # a concurrent submission retired an overlapping batch or drew the MWh first: 409
            _refuse_claimed(session, claim, product_id, inventory)
            # otherwise a concurrent submission took this version number (or PostgreSQL broke a lock cycle): try
            # again, after a short, random pause so that the submissions that collided do not collide again
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))
    raise Conflict("the product's inventory was changed concurrently; submit again")


def _undo(session: Session) -> None:
    session.rollback()
    session.info.pop("audit", None)


def _retryable(exc: OperationalError) -> bool:
    """PostgreSQL's deadlock and serialisation failures (SQLSTATE 40P01, 40001): the transaction may be repeated."""
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def _stored(
    session: Session,
    principal: Principal,
    record: InventoryRecord,
    inventory: Inventory,
    claim: certificates.Claim,
    source: str,
) -> InventoryRecord:
    """Writes the version, its claim on the certificate pool and their audit entries; an IntegrityError (version
    taken, batch overlapping, batch overdrawn) may come from a flush (PostgreSQL checks at once) or the commit."""
    session.add(record)
    session.flush()
    certificates.claim_for(session, actor(principal), record, inventory, claim)
    audit.record(
        session,
        actor(principal),
        "inventory.submitted",
        "inventory",
        record.id,
        after={
            "product_id": str(record.product_id),
            "version": record.version,
            "pcr": inventory.pcr.model_dump(),
            "facility_id": str(record.facility_id) if record.facility_id else None,
            "certificates": [str(c.batch) for c in inventory.green_certificates],
            "source": source,
        },
    )
    audit.commit(session)
    return record


def submit_workbook(
    session: Session, principal: Principal, product_id: uuid.UUID, content: bytes, facility_id: uuid.UUID | None = None
) -> InventoryRecord:
    """A filled Excel template: ownership is checked before the file is read."""
    from footprint_api.services.excel import read_workbook

    owned(session, Product, product_id, principal)
    inventory, _ = read_workbook(content)
    return submit_inventory(session, principal, product_id, inventory, facility_id, source="excel")


def _refuse_claimed(session: Session, claim: certificates.Claim, product_id: uuid.UUID, inventory: Inventory) -> None:
    """409 before anything is written when an entry overlaps a batch retired for another claim or asks for more
    MWh than its batch has left (the same check runs again under lock in the submitting transaction)."""
    if inventory.green_certificates:
        certificates.refuse(certificates.plan(session, claim, product_id, inventory))


def list_inventories(session: Session, principal: Principal, product_id: uuid.UUID | None = None):
    query = select(InventoryRecord).where(InventoryRecord.organisation_id == principal.organisation_id)
    if product_id is not None:
        query = query.where(InventoryRecord.product_id == product_id)
    return list(session.exec(query.order_by(InventoryRecord.created_at)))
