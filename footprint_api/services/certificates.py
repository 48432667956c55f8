"""The certificate pool: batches of green certificates retired for a claim, and the inventories that draw on them.

A batch (a serial range, pcr_rules.certificates) is retired once in the whole service, into the pool of a claimant
(the inventory's facility, or its product when it names no facility) for the inventory's reference period; a
retirement is final (GB/T 24067 / the NEA GEC rules: a certificate proves one consumption claim). The inventories of
the claimant draw MWh from the batch: together never more than the batch. A newer version of a product for the same
period replaces the earlier version's draws; a withdrawn or rejected application releases its inventory's draws,
and the MWh become available to the claimant's other products.

The database decides between concurrent requests (no two retired batches overlap: an exclusion constraint or
triggers, migration 0010; drawn MWh within the batch: a CHECK on drawn_mwh, taken under the retirement's row lock);
this module explains the refusal, naming the entry of the inventory.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from footprint_api.core.errors import Conflict
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    Application,
    CertificateDraw,
    CertificateRetirement,
    Facility,
    Footprint,
    InventoryRecord,
    Product,
    utcnow,
)
from footprint_api.services import audit
from footprint_api.services.audit import Actor
from footprint_api.services.catalogue import owned
from label_service.workflow import ApplicationState
from pcr_rules.certificates import SerialRange
from pcr_rules.inventory import GreenCertificate, Inventory


@dataclass(frozen=True)
class Claim:
    """Whose consumption the certificates cover and when: the pool a batch is retired into."""

    organisation_id: uuid.UUID
    facility_id: uuid.UUID | None
    product_id: uuid.UUID | None  # the claimant when there is no facility
    period_start: date
    period_end: date

    @classmethod
    def of(
        cls, organisation_id: uuid.UUID, product_id: uuid.UUID, facility_id: uuid.UUID | None, inventory: Inventory
    ) -> "Claim":
        return cls(
            organisation_id,
            facility_id,
            None if facility_id is not None else product_id,
            inventory.reference_period.start,
            inventory.reference_period.end,
        )

    def holds(self, retirement: CertificateRetirement) -> bool:
        return (
            retirement.organisation_id == self.organisation_id
            and retirement.facility_id == self.facility_id
            and retirement.product_id == self.product_id
            and retirement.period_start == self.period_start
            and retirement.period_end == self.period_end
        )


def batch_of(retirement: CertificateRetirement) -> SerialRange:
    return SerialRange(retirement.serial_prefix, retirement.serial_first_number, retirement.serial_last_number)


def _label(retirement: CertificateRetirement) -> str:
    return (
        retirement.serial
        if retirement.serial == retirement.serial_last
        else f"{retirement.serial}..{retirement.serial_last}"
    )


@dataclass
class Plan:
    """What submitting an inventory does to the pool: the batches it reuses (by entry), the ones it retires, the
    earlier draws it releases, and the refusals (field, reason) if it cannot."""

    reused: dict[int, CertificateRetirement] = field(default_factory=dict)
    new: list[int] = field(default_factory=list)
    released: list[CertificateDraw] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def _overlapping(session: Session, batches: list[SerialRange]) -> list[CertificateRetirement]:
    conditions = [
        and_(
            CertificateRetirement.serial_prefix == b.prefix,
            CertificateRetirement.serial_first_number <= b.last,
            CertificateRetirement.serial_last_number >= b.first,
        )
        for b in batches
    ]
    query = select(CertificateRetirement).where(or_(*conditions)).order_by(col(CertificateRetirement.id))
    return list(session.exec(query.execution_options(populate_existing=True)))


def _where_retired(session: Session, retirement: CertificateRetirement, claim: Claim) -> str:
    """Where a batch is retired, as the caller may learn it: another organisation's pool is only "elsewhere"."""
    if retirement.organisation_id != claim.organisation_id:
        return "retired elsewhere"
    if retirement.facility_id is not None:
        facility = session.get(Facility, retirement.facility_id)
        claimant = f"facility {facility.name!r}" if facility else "a facility"
    else:
        product = session.get(Product, retirement.product_id)
        claimant = f"product {product.name!r} (no facility)" if product else "a product"
    return f"retired to {claimant} for {retirement.period_start}..{retirement.period_end}"


def _refusal(
    session: Session, certificate: GreenCertificate, retirement: CertificateRetirement, claim: Claim
) -> str | None:
    """Why the entry cannot draw on the retired batch it overlaps (None: it is the same batch in the same pool)."""
    batch, retired = certificate.batch, batch_of(retirement)
    where = _where_retired(session, retirement, claim)
    if retirement.organisation_id != claim.organisation_id:
        return f"{batch} overlaps certificates {where}"
    if not claim.holds(retirement):
        return f"{batch} overlaps {_label(retirement)}, {where}; a certificate is retired for one claim"
    if (batch.prefix, batch.first, batch.last) != (retired.prefix, retired.first, retired.last):
        return (
            f"{batch} overlaps {_label(retirement)}, {where}: list that batch as retired "
            f"({_label(retirement)}) to draw on it"
        )
    if (certificate.technology, certificate.generation_month) != (retirement.technology, retirement.generation_month):
        return (
            f"{batch} is {where} as {retirement.technology} generated in {retirement.generation_month}, "
            f"not {certificate.technology} in {certificate.generation_month}"
        )
    return None


def _replaced_draws(
    session: Session, product_id: uuid.UUID, claim: Claim, before_version: int | None
) -> list[CertificateDraw]:
    """The active draws of the product's earlier inventory versions for the same reference period."""
    query = (
        select(CertificateDraw, InventoryRecord)
        .join(InventoryRecord, col(InventoryRecord.id) == col(CertificateDraw.inventory_id))
        .where(CertificateDraw.product_id == product_id, col(CertificateDraw.released_at).is_(None))
    )
    if before_version is not None:
        query = query.where(InventoryRecord.version < before_version)
    period = {"start": claim.period_start.isoformat(), "end": claim.period_end.isoformat()}
    return [
        draw
        for draw, record in session.exec(query.order_by(col(CertificateDraw.id)))
        if record.data.get("reference_period") == period
    ]


def _active_mwh(session: Session, retirement_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    totals = dict.fromkeys(retirement_ids, 0)
    for draw in session.exec(
        select(CertificateDraw).where(
            col(CertificateDraw.retirement_id).in_(retirement_ids), col(CertificateDraw.released_at).is_(None)
        )
    ):
        totals[draw.retirement_id] += draw.amount_mwh
    return totals


def plan(
    session: Session,
    claim: Claim,
    product_id: uuid.UUID,
    inventory: Inventory,
    before_version: int | None = None,
    lock: bool = False,
) -> Plan:
    """Classifies every entry of the inventory against the retired batches. With `lock` (inside the submitting
    transaction) the retirements concerned are locked first, so the MWh left cannot change until the commit."""
    result = Plan()
    certificates = inventory.green_certificates
    result.released = _replaced_draws(session, product_id, claim, before_version)
    if not certificates:
        return result
    retired = _overlapping(session, [c.batch for c in certificates])
    if lock:  # PostgreSQL: every retirement concerned, locked in one order (by id), so that two submissions never
        # wait on each other in a cycle; read again once locked
        ids = sorted({r.id for r in retired} | {d.retirement_id for d in result.released})
        locked = {
            r.id: r
            for r in session.exec(
                select(CertificateRetirement)
                .where(col(CertificateRetirement.id).in_(ids))
                .order_by(col(CertificateRetirement.id))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        retired = [locked[r.id] for r in retired]
    releasing: dict[uuid.UUID, int] = {}
    for draw in result.released:
        releasing[draw.retirement_id] = releasing.get(draw.retirement_id, 0) + draw.amount_mwh
    active = _active_mwh(session, [r.id for r in retired])
    for index, certificate in enumerate(certificates):
        loc = f"inventory.green_certificates[{index}]"
        overlaps = [r for r in retired if batch_of(r).overlaps(certificate.batch)]
        if not overlaps:
            result.new.append(index)
            continue
        reasons = [reason for r in overlaps if (reason := _refusal(session, certificate, r, claim))]
        if reasons:
            result.errors.append({"field": f"{loc}.serial", "reason": reasons[0]})
            continue
        retirement = overlaps[0]
        left = retirement.batch_mwh - active[retirement.id] + releasing.get(retirement.id, 0)
        if certificate.amount_mwh > left:
            result.errors.append(
                {
                    "field": f"{loc}.amount_mwh",
                    "reason": (
                        f"{certificate.amount_mwh} MWh asked of {_label(retirement)}: {left} MWh left of its "
                        f"{retirement.batch_mwh} MWh (the claimant's other inventories draw the rest)"
                    ),
                }
            )
            continue
        result.reused[index] = retirement
    return result


def refuse(result: Plan) -> None:
    if result.errors:
        raise Conflict(
            "green certificates already retired or drawn: "
            + "; ".join(f"{e['field']}: {e['reason']}" for e in result.errors),
            result.errors,
        )


def claim_for(session: Session, actor: Actor, record: InventoryRecord, inventory: Inventory, claim: Claim) -> None:
    """Inside the submitting transaction: releases the replaced draws, retires the new batches into the pool and
    draws this version's MWh; Conflict (nothing written) if an entry cannot. An IntegrityError from the flush means
    a concurrent submission retired an overlapping batch or drew the MWh first: the caller rolls back and asks
    `plan` again, which explains it."""
    result = plan(session, claim, record.product_id, inventory, before_version=record.version, lock=True)
    refuse(result)
    for draw in result.released:
        _release(session, actor, draw, f"replaced by version {record.version}")
    retirements = dict(result.reused)
    for index in sorted(result.new, key=lambda i: inventory.green_certificates[i].batch):  # one insertion order
        retirements[index] = _retire(session, actor, record, inventory.green_certificates[index], claim)
    for index, certificate in enumerate(inventory.green_certificates):
        _draw(session, actor, record, retirements[index], certificate.amount_mwh)


def _retire(
    session: Session, actor: Actor, record: InventoryRecord, certificate: GreenCertificate, claim: Claim
) -> CertificateRetirement:
    batch = certificate.batch
    retirement = CertificateRetirement(
        serial=certificate.serial,
        serial_last=batch.serial(batch.last),
        serial_prefix=batch.prefix,
        serial_first_number=batch.first,
        serial_last_number=batch.last,
        batch_mwh=batch.count,
        drawn_mwh=0,
        technology=certificate.technology,
        generation_month=certificate.generation_month,
        province=certificate.province,
        plant=certificate.plant,
        instrument=certificate.instrument,
        organisation_id=claim.organisation_id,
        facility_id=claim.facility_id,
        product_id=claim.product_id,
        period_start=claim.period_start,
        period_end=claim.period_end,
        inventory_id=record.id,
        retired_by=record.submitted_by,
    )
    session.add(retirement)
    session.flush()  # PostgreSQL checks the exclusion constraint here (SQLite: the trigger)
    audit.record(
        session,
        actor,
        "certificate.retired",
        "certificate",
        retirement.serial,
        after={
            "retirement_id": str(retirement.id),
            "batch": str(batch),
            "batch_mwh": batch.count,
            "facility_id": _text(claim.facility_id),
            "product_id": _text(claim.product_id),
            "period": f"{claim.period_start}..{claim.period_end}",
            "inventory_id": str(record.id),
        },
    )
    return retirement


def _draw(
    session: Session, actor: Actor, record: InventoryRecord, retirement: CertificateRetirement, amount_mwh: int
) -> None:
    draw = CertificateDraw(
        retirement_id=retirement.id,
        inventory_id=record.id,
        product_id=record.product_id,
        organisation_id=record.organisation_id,
        amount_mwh=amount_mwh,
    )
    session.add(draw)
    retirement.drawn_mwh = CertificateRetirement.drawn_mwh + amount_mwh  # the CHECK refuses more than the batch
    session.add(retirement)
    session.flush()
    audit.record(
        session,
        actor,
        "certificate.drawn",
        "certificate",
        retirement.serial,
        after={
            "retirement_id": str(retirement.id),
            "draw_id": str(draw.id),
            "inventory_id": str(record.id),
            "product_id": str(record.product_id),
            "version": record.version,
            "amount_mwh": amount_mwh,
        },
    )


def _release(session: Session, actor: Actor, draw: CertificateDraw, reason: str) -> None:
    """Releases the draw unless a concurrent request already did (the UPDATE is conditional)."""
    released = session.execute(
        update(CertificateDraw)
        .where(col(CertificateDraw.id) == draw.id, col(CertificateDraw.released_at).is_(None))
        .values(released_at=utcnow(), released_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if released.rowcount != 1:
        return
    session.execute(
        update(CertificateRetirement)
        .where(col(CertificateRetirement.id) == draw.retirement_id)
        .values(drawn_mwh=CertificateRetirement.drawn_mwh - draw.amount_mwh)
        .execution_options(synchronize_session=False)
    )
    session.expire(draw)
    retirement = session.get(CertificateRetirement, draw.retirement_id)
    session.expire(retirement)
    audit.record(
        session,
        actor,
        "certificate.released",
        "certificate",
        retirement.serial,
        before={"draw_id": str(draw.id), "inventory_id": str(draw.inventory_id), "amount_mwh": draw.amount_mwh},
        after={"released_reason": reason},
        organisation_id=draw.organisation_id,
    )


# why an application's end gives its inventory's draws back, by the application's action
RELEASED_BY_APPLICATION = {"withdraw": "application withdrawn", "reject": "application rejected"}


def release_for_application(session: Session, actor: Actor, application: Application, reason: str) -> None:
    """A withdrawn or rejected application gives back its inventory's draws (the batches stay retired in the
    pool), unless another application still in progress or decided in favour certifies the same inventory."""
    footprint_ids = {application.footprint_id, application.previous_footprint_id} - {None}
    inventory_ids = set(session.exec(select(Footprint.inventory_id).where(col(Footprint.id).in_(footprint_ids))))
    others = session.exec(
        select(Footprint.inventory_id)
        .join(Application, col(Application.footprint_id) == col(Footprint.id))
        .where(
            col(Footprint.inventory_id).in_(inventory_ids),
            Application.id != application.id,
            Application.state != ApplicationState.REJECTED.value,
        )
    )
    inventory_ids -= set(others)
    if not inventory_ids:
        return
    draws = list(
        session.exec(
            select(CertificateDraw)
            .where(col(CertificateDraw.inventory_id).in_(inventory_ids), col(CertificateDraw.released_at).is_(None))
            .order_by(col(CertificateDraw.retirement_id))
        )
    )
    if draws:
        list(
            session.exec(
                select(CertificateRetirement)
                .where(col(CertificateRetirement.id).in_({d.retirement_id for d in draws}))
                .order_by(col(CertificateRetirement.id))
                .with_for_update()
            )
        )
    for draw in draws:
        _release(session, actor, draw, reason)


def redraw_for_application(session: Session, actor: Actor, record: InventoryRecord) -> None:
    """A new application naming an inventory whose draws an ended application gave back draws them again, if the
    pool still holds the MWh (Conflict naming what is missing otherwise). Where a newer version of the product for
    the same period replaced the inventory, the newer version holds the claim and nothing is drawn again."""
    active = session.exec(
        select(CertificateDraw.id).where(
            CertificateDraw.inventory_id == record.id, col(CertificateDraw.released_at).is_(None)
        )
    ).first()
    released = {}
    for draw in session.exec(
        select(CertificateDraw)
        .where(CertificateDraw.inventory_id == record.id, col(CertificateDraw.released_at).is_not(None))
        .order_by(col(CertificateDraw.released_at))
    ):
        released[draw.retirement_id] = draw  # the latest release of each batch
    if active is not None or not released:
        return
    newer = [
        r
        for r in session.exec(
            select(InventoryRecord).where(
                InventoryRecord.product_id == record.product_id, InventoryRecord.version > record.version
            )
        )
        if r.data.get("reference_period") == record.data.get("reference_period")
    ]
    if newer or any(d.released_reason not in RELEASED_BY_APPLICATION.values() for d in released.values()):
        return  # a newer version of the same product and period holds the claim: nothing is claimed twice
    locked = list(
        session.exec(
            select(CertificateRetirement)
            .where(col(CertificateRetirement.id).in_(list(released)))
            .order_by(col(CertificateRetirement.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    short = [
        f"{_label(r)}: {released[r.id].amount_mwh} MWh needed, {r.batch_mwh - r.drawn_mwh} MWh left"
        for r in locked
        if released[r.id].amount_mwh > r.batch_mwh - r.drawn_mwh
    ]
    if short:
        raise Conflict(
            "the certificates this footprint used were given back when its earlier application ended, "
            "and the facility's other products have drawn them since: "
            + "; ".join(short)
            + ". Submit a new inventory version with the certificates still available.",
            [{"field": "footprint_id", "reason": reason} for reason in short],
        )
    for retirement in locked:
        _draw(session, actor, record, retirement, released[retirement.id].amount_mwh)


def _text(value) -> str | None:
    return None if value is None else str(value)


# What the API shows ------------------------------------------------------------------------------------------------


class _View(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RetiredBatch(_View):
    """A batch retired into one of the organisation's pools."""

    id: uuid.UUID
    serial: str = Field(description="first serial of the batch")
    serial_last: str = Field(description="last serial of the batch (inclusive)")
    batch_mwh: int = Field(description="certificates in the batch (1 GEC = 1 MWh)")
    amount_mwh: int = Field(description="as batch_mwh (the name of the field before batches)")
    drawn_mwh: int = Field(description="MWh the active draws of inventories take from the batch")
    left_mwh: int
    technology: str
    generation_month: str
    province: str
    plant: str | None
    instrument: str
    facility_id: uuid.UUID | None = Field(description="the pool's claimant: the facility …")
    product_id: uuid.UUID | None = Field(description="… or, for inventories without facility, the product")
    period_start: date
    period_end: date
    inventory_id: uuid.UUID = Field(description="the inventory that retired the batch")
    retired_at: datetime


class PoolDraw(_View):
    id: uuid.UUID
    retirement_id: uuid.UUID
    inventory_id: uuid.UUID
    product_id: uuid.UUID
    product: str
    version: int
    amount_mwh: int
    active: bool
    created_at: datetime
    released_at: datetime | None
    released_reason: str | None


class PoolBatch(RetiredBatch):
    draws: list[PoolDraw]


class CertificatePool(_View):
    facility_id: uuid.UUID
    facility: str
    batch_mwh: int = Field(description="all batches retired to the facility")
    drawn_mwh: int
    left_mwh: int
    batches: list[PoolBatch]


def _batch_view(retirement: CertificateRetirement) -> dict:
    return {
        **retirement.model_dump(),
        "amount_mwh": retirement.batch_mwh,
        "left_mwh": retirement.batch_mwh - retirement.drawn_mwh,
    }


def list_retirements(session: Session, principal: Principal) -> list[RetiredBatch]:
    rows = session.exec(
        select(CertificateRetirement)
        .where(CertificateRetirement.organisation_id == principal.organisation_id)
        .order_by(col(CertificateRetirement.retired_at), col(CertificateRetirement.serial))
    )
    return [RetiredBatch.model_validate(_batch_view(r)) for r in rows]


def facility_pool(session: Session, principal: Principal, facility_id: uuid.UUID) -> CertificatePool:
    """The batches retired to the facility (every period) with their draws, newest period first."""
    facility = owned(session, Facility, facility_id, principal)
    retirements = list(
        session.exec(
            select(CertificateRetirement)
            .where(CertificateRetirement.facility_id == facility.id)
            .order_by(col(CertificateRetirement.period_start).desc(), col(CertificateRetirement.serial))
        )
    )
    rows = session.exec(
        select(CertificateDraw, InventoryRecord, Product)
        .join(InventoryRecord, col(InventoryRecord.id) == col(CertificateDraw.inventory_id))
        .join(Product, col(Product.id) == col(CertificateDraw.product_id))
        .where(col(CertificateDraw.retirement_id).in_([r.id for r in retirements]))
        .order_by(col(CertificateDraw.created_at))
    )
    draws: dict[uuid.UUID, list[PoolDraw]] = {}
    for draw, record, product in rows:
        draws.setdefault(draw.retirement_id, []).append(
            PoolDraw(**draw.model_dump(), product=product.name, version=record.version, active=draw.released_at is None)
        )
    batches = [PoolBatch(**_batch_view(r), draws=draws.get(r.id, [])) for r in retirements]
    total, drawn = sum(b.batch_mwh for b in batches), sum(b.drawn_mwh for b in batches)
    return CertificatePool(
        facility_id=facility.id,
        facility=facility.name,
        batch_mwh=total,
        drawn_mwh=drawn,
        left_mwh=total - drawn,
        batches=batches,
    )
