"""Submitting inventories: under a PCR version in force for the reference period (services.pcr_registry), validated
against it, versioned, certificates retired into the claim's pool and drawn in the same transaction
(footprint_api.services.certificates), supplier sources resolved and linked in it too (services.supply_chain); the
inventories of an organisation listed with search, filters and pages."""

import random
import time
import uuid

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, distinct, func, or_, select

from footprint_api.core.errors import Conflict, ServiceError, Unprocessable
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Facility, InventoryRecord, Product
from footprint_api.services import audit, certificates, pcr_registry, supply_chain
from footprint_api.services.catalogue import (
    DEFAULT_PAGE_SIZE,
    Page,
    contains,
    owned,
    paged,
    province_key,
    region_key,
    search_text,
)
from footprint_api.services.principals import actor
from pcr_rules import FieldError, InventoryInvalid, default_registry
from pcr_rules.inventory import Inventory
from pcr_rules.validation import problems

VERSION_ATTEMPTS = 10


def submit_inventory(
    session: Session,
    principal: Principal,
    product_id: uuid.UUID,
    inventory: Inventory,
    facility_id: uuid.UUID | None = None,
    source: str = "json",
    source_file: tuple[str, str] | None = None,
) -> InventoryRecord:
    """Store a new version of the product's inventory and claim its certificates, all or nothing; `source_file`
    (object key, file name) is the uploaded workbook the version was read from, stored beforehand (services.excel).

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
    inventory = checked(inventory)
    claim = certificates.Claim.of(principal.organisation_id, product_id, facility_id, inventory)
    _refuse_claimed(session, claim, product_id, inventory)
    # the supplier sources (labels, PACT footprints, factor-database entries) resolved to values before anything is
    # written: a source that cannot be used is a 422 naming its item; the links are written with the version
    links = supply_chain.resolve(session, principal, inventory, product_id)

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
            source_file_key=source_file[0] if source_file else None,
            source_file_name=source_file[1] if source_file else None,
            submitted_by=principal.subject,
        )
        try:
            return _stored(session, principal, record, inventory, claim, source, links)
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


def checked(inventory: Inventory) -> Inventory:
    """The inventory with its places in the factor set's spelling (贵州 -> Guizhou: the registry and the grid factor
    read one name per province), or InventoryInvalid naming every problem: an unknown province beside the PCR's."""
    places, errors = _places(inventory)
    errors += problems(places, default_registry().get(inventory.pcr.id, inventory.pcr.version))
    if errors:
        raise InventoryInvalid(errors)
    return places


def _places(inventory: Inventory) -> tuple[Inventory, list[FieldError]]:
    """The facility's province and grid and every certificate batch's province by the factor set's names; a
    problem for each place it does not know."""
    errors: list[FieldError] = []

    def canonical(loc: str, value: str | None, key_of, what: str, code: str) -> str | None:
        found = key_of(value) if value else None
        if value and found is None:
            errors.append(FieldError(loc, f"{value!r} is not {what}", code, {"value": value}))
        return found or value

    def province(loc: str, value: str) -> str:
        return canonical(loc, value, province_key, "a province of mainland China", "inv.err.unknown_province")

    site = inventory.facility
    facility = site.model_copy(
        update={
            "province": province("facility.province", site.province),
            "grid_region": canonical(
                "facility.grid_region", site.grid_region, region_key, "a regional grid", "inv.err.unknown_grid_region"
            ),
        }
    )
    batches = [
        c.model_copy(update={"province": province(f"green_certificates[{i}].province", c.province)})
        for i, c in enumerate(inventory.green_certificates)
    ]
    return inventory.model_copy(update={"facility": facility, "green_certificates": batches}), errors


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
    links: list,
) -> InventoryRecord:
    """Writes the version, its claim on the certificate pool, its supplier links and their audit entries; an
    IntegrityError (version taken, batch overlapping, batch overdrawn) may come from a flush (PostgreSQL checks at
    once) or the commit."""
    session.add(record)
    session.flush()
    certificates.claim_for(session, actor(principal), record, inventory, claim)
    supply_chain.record(session, record, links, actor(principal))
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
            "source_file_key": record.source_file_key,
            "source_file_name": record.source_file_name,
        },
    )
    audit.commit(session)
    return record


def _refuse_claimed(session: Session, claim: certificates.Claim, product_id: uuid.UUID, inventory: Inventory) -> None:
    """409 before anything is written when an entry overlaps a batch retired for another claim or asks for more
    MWh than its batch has left (the same check runs again under lock in the submitting transaction)."""
    if inventory.green_certificates:
        certificates.refuse(certificates.plan(session, claim, product_id, inventory))


# the source an inventory was entered by (InventoryRecord.source)
SOURCES = ("form", "excel", "json")
INVENTORY_SORTS = {
    "-created": (col(InventoryRecord.created_at).desc(),),
    "created": (InventoryRecord.created_at,),
    "product": (func.lower(Product.name), InventoryRecord.product_id, col(InventoryRecord.version).desc()),
    "-period": (
        InventoryRecord.data["reference_period"]["start"].as_string().desc(),
        col(InventoryRecord.created_at).desc(),
    ),
    "period": (InventoryRecord.data["reference_period"]["start"].as_string(), InventoryRecord.created_at),
}


def search_inventories(
    session: Session,
    principal: Principal,
    q: str | None = None,
    product_id: uuid.UUID | None = None,
    pcr_id: str | None = None,
    year: int | None = None,
    source: str | None = None,
    sort: str | None = None,
    page: int | None = 1,
    size: int | None = DEFAULT_PAGE_SIZE,
) -> Page:
    """The organisation's inventories (newest first unless sorted otherwise), each row (record, product): of
    products whose name, model or GTIN contains `q`, of one product, PCR, reference year (the year the period
    starts in) or source."""
    query = (
        select(InventoryRecord, Product)
        .join(Product, col(Product.id) == col(InventoryRecord.product_id))
        .where(InventoryRecord.organisation_id == principal.organisation_id)
    )
    text = search_text(q)
    if text:
        matches = [contains(Product.name, text), contains(col(Product.model), text)]
        if text.isdigit():
            matches.append(col(Product.gtin).like(f"%{text.lstrip('0') or '0'}%"))
        query = query.where(or_(*matches))
    if product_id is not None:
        query = query.where(InventoryRecord.product_id == product_id)
    if pcr_id:
        query = query.where(InventoryRecord.pcr_id == pcr_id)
    if year is not None:
        query = query.where(_period_start().like(f"{year:04d}-%"))
    if source:
        query = query.where(InventoryRecord.source == source)
    return paged(session, query, INVENTORY_SORTS, sort, page, size)


def _period_start():
    return InventoryRecord.data["reference_period"]["start"].as_string()


def reference_years(session: Session, principal: Principal) -> list[int]:
    """The years the organisation's reference periods start in, latest first (the choices of the year filter)."""
    rows = session.exec(
        select(distinct(func.substr(_period_start(), 1, 4))).where(
            InventoryRecord.organisation_id == principal.organisation_id
        )
    ).all()
    return sorted({int(row) for row in rows if row and str(row).isdigit()}, reverse=True)


def list_inventories(session: Session, principal: Principal, product_id: uuid.UUID | None = None):
    query = select(InventoryRecord).where(InventoryRecord.organisation_id == principal.organisation_id)
    if product_id is not None:
        query = query.where(InventoryRecord.product_id == product_id)
    return list(session.exec(query.order_by(InventoryRecord.created_at)))
