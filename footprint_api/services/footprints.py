"""Calculation jobs and their results. `run_job` is the task body: safe to run twice, and it stores one result."""

import asyncio
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from footprint_api.core.errors import Conflict, NotFound, Unprocessable
from footprint_api.core.settings import get_settings
from footprint_api.infra.queue import job_news
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    Footprint,
    InventoryRecord,
    Job,
    JobStatus,
    Organisation,
    OrganisationKind,
    Submission,
    utcnow,
)
from footprint_api.services import audit, supply_chain
from footprint_api.services.catalogue import owned
from footprint_api.services.principals import CB_ROLES, actor
from lca_models.results import FootprintResult
from pcr_rules.inventory import Inventory

log = logging.getLogger(__name__)


def request_calculation(
    session: Session,
    principal: Principal,
    inventory_id: uuid.UUID,
    monte_carlo_iterations: int = 0,
    seed: int | None = None,
) -> Job:
    """Writes the job and its outbox mark (`dispatched_at` empty) in one transaction: once this commits the job
    will run, sent by the request (`jobs.dispatch`) or, if the broker does not take it, by the housekeeping task.
    The inventory's owner is read alone (not its data: the worker reads and parses that)."""
    owner = session.connection().execute(_INVENTORY_OWNER, {"inventory_id": inventory_id}).scalar()
    if owner is None or owner != principal.organisation_id:
        raise NotFound("no such inventoryrecord in your organisation")
    job = Job(
        organisation_id=principal.organisation_id,
        inventory_id=inventory_id,
        requested_by=principal.subject,
        parameters={"monte_carlo_iterations": monte_carlo_iterations, "seed": seed},
    )
    session.add(job)
    audit.record(
        session,
        actor(principal),
        "job.queued",
        "job",
        job.id,
        after={"inventory_id": str(inventory_id), **job.parameters},
    )
    audit.commit(session)
    return job


def run_job(session: Session, job_id: uuid.UUID, calculate: Callable[..., object]) -> Footprint | None:
    """Claim, calculate (`calculate(inventory, iterations, seed, progress, suppliers=...)`: the supplier values come
    from the version's supply links), store. A second run of a finished job returns its footprint; a run interrupted
    mid-way (a worker killed) is simply run again; the unique job_id of footprints keeps it to one result. A batch job
    (kind BATCH) runs its list the same way (`_run_batch`).

    A calculation without Monte Carlo (milliseconds) takes one write transaction (`_run_quick`); a longer one two:
    the claim, which also reads what the calculation needs (the inventory and its supplier values), and the result
    with the job's end and their audit entries. None that only reads."""
    quick = _run_quick(session, job_id, calculate)
    if quick is not _LONG:
        return quick
    claim = _claim_for_run(session, job_id, get_settings().job_lease_seconds, prepare=_read_inventory)
    if claim is None:
        return None
    job, prepared = claim
    if job.status is JobStatus.SUCCEEDED:
        return session.get(Footprint, job.footprint_id)
    if job.status is not JobStatus.RUNNING:  # failed in the claim (a supplier value the engine refuses)
        return None
    if job.kind == BATCH:
        _run_batch(session, job, calculate)
        return None
    record, suppliers = prepared
    try:
        inventory = Inventory.model_validate(record.data)
        with _lease(job_id):
            result = calculate(
                inventory,
                job.parameters.get("monte_carlo_iterations", 0),
                job.parameters.get("seed"),
                _progress_writer(session, job_id),
                suppliers=suppliers,
            )
    except Exception as exc:  # noqa: BLE001 - the job records why; the task does not retry a calculation that cannot succeed
        _finish(session, job_id, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        return None
    footprint = _footprint(job, record, job_id, result)
    session.add(footprint)
    try:
        session.flush()
    except IntegrityError:  # another run of this job stored it first
        session.rollback()
        footprint = session.exec(select(Footprint).where(Footprint.job_id == job_id)).one()
    return _finish(session, job_id, JobStatus.SUCCEEDED, footprint=footprint)


_LONG = object()  # `_run_quick`'s answer for a job it leaves to the claim: the job then takes its lease


def _quick_claim():
    """`_run_quick`'s claim and end at once, built once (a Core statement on the table, its values bound per job):
    from queued, or running under a lease that lapsed before `lapsed_before`, to succeeded with its footprint."""
    job = Job.__table__.c
    lapsed = func.coalesce(job.heartbeat_at, job.started_at) < bindparam("lapsed_before", type_=job.started_at.type)
    began = bindparam("began", type_=job.started_at.type)
    return (
        update(Job.__table__)
        .where(
            job.id == bindparam("job_id", type_=job.id.type),
            (job.status == JobStatus.QUEUED) | ((job.status == JobStatus.RUNNING) & lapsed),
        )
        .values(
            status=JobStatus.SUCCEEDED,
            attempts=job.attempts + 1,
            started_at=began,
            heartbeat_at=None,
            finished_at=bindparam("finished", type_=job.finished_at.type),
            progress=1.0,
            error=None,
            footprint_id=bindparam("footprint_id", type_=job.footprint_id.type),
            dispatched_at=func.coalesce(job.dispatched_at, began),
        )
    )


_QUICK_CLAIM = _quick_claim()
# the owner of an inventory, all a calculation request reads of it (a Core statement built once)
_INVENTORY_OWNER = select(InventoryRecord.__table__.c.organisation_id).where(
    InventoryRecord.__table__.c.id == bindparam("inventory_id", type_=InventoryRecord.__table__.c.id.type)
)


def _run_quick(session: Session, job_id: uuid.UUID, calculate: Callable[..., object]):
    """A calculation without Monte Carlo, in one write transaction: read the job, its inventory and supplier values
    (a read-only transaction), calculate, then claim and finish at once — one conditional UPDATE from queued (or
    running under a lapsed lease) to succeeded, with the footprint and the audit entries job.started,
    footprint.stored, job.succeeded. Of two deliveries of one job both may calculate; one stores (the UPDATE is
    atomic and footprints are unique per job). The job is never seen running: it takes milliseconds, and a worker
    dying in them leaves it queued, sent again by the housekeeping task. Returns _LONG for the jobs that run under a
    lease (Monte Carlo, batches, a supplier value the engine refuses), LeaseHeld for a job running elsewhere."""
    from footprint_api.persistence.db import reads_only

    lease_seconds = get_settings().job_lease_seconds
    now = utcnow()
    with reads_only():
        job = session.get(Job, job_id)
        if job is None:
            session.rollback()
            return None
        if job.kind == BATCH or job.parameters.get("monte_carlo_iterations"):
            session.rollback()
            return _LONG
        if job.status is JobStatus.SUCCEEDED:
            footprint = session.get(Footprint, job.footprint_id)
            session.rollback()
            return footprint
        if job.status is JobStatus.FAILED:
            session.rollback()
            return None
        beat = job.heartbeat_at or job.started_at
        if job.status is JobStatus.RUNNING and beat is not None and now - beat < timedelta(seconds=lease_seconds):
            session.rollback()
            raise LeaseHeld(job_id, max(1.0, lease_seconds - (now - beat).total_seconds()))
        try:
            record, suppliers = _read_inventory(session, job)
        except ValueError:
            session.rollback()
            return _LONG  # the claim fails it, with its reason
        session.expunge_all()  # their loaded values outlive the read transaction
        session.rollback()
    began = utcnow()
    try:
        result = calculate(
            Inventory.model_validate(record.data),
            0,
            job.parameters.get("seed"),
            lambda _fraction: None,
            suppliers=suppliers,
        )
    except Exception:  # noqa: BLE001 - the claim's run calculates it again and records why it fails
        return _LONG
    footprint = _footprint(job, record, job_id, result)
    before = job.status
    claimed = (
        session.connection()
        .execute(
            _QUICK_CLAIM,
            {
                "job_id": job_id,
                "lapsed_before": began - timedelta(seconds=lease_seconds),
                "began": began,
                "finished": utcnow(),
                "footprint_id": footprint.id,
            },
        )
        .rowcount
    )
    if not claimed:  # another delivery claimed it meanwhile
        session.rollback()
        with reads_only():
            now_job = session.get(Job, job_id, populate_existing=True)
            stored = session.get(Footprint, now_job.footprint_id) if now_job.footprint_id else None
            session.rollback()
        return stored
    session.add(footprint)  # flushed with the audit entries (one flush), in audit.commit
    attempt = job.attempts + 1
    audit.record(
        session,
        audit.SYSTEM,
        "job.started",
        "job",
        job_id,
        before={"status": before.value},
        after={"status": "running", "attempt": attempt},
        organisation_id=job.organisation_id,
    )
    _stored(session, footprint, job.organisation_id)
    audit.record(
        session,
        audit.SYSTEM,
        "job.succeeded",
        "job",
        job_id,
        before={"status": "running"},
        after={"status": "succeeded", "footprint_id": str(footprint.id), "error": None},
        organisation_id=job.organisation_id,
    )
    try:
        audit.commit(session)
    except IntegrityError:  # another run of this job stored it first (footprints are unique per job)
        session.rollback()
        stored = session.exec(select(Footprint).where(Footprint.job_id == job_id)).first()
        if stored is None:
            raise
        return stored
    job_news.changed(str(job_id))
    return footprint


def _footprint(job: Job, record: InventoryRecord, job_id: uuid.UUID, result) -> Footprint:
    """The stored result; its JSON serialised once here, answered as it is by every read (`footprint_json`)."""
    return Footprint(
        organisation_id=job.organisation_id,
        inventory_id=record.id,
        job_id=job_id,
        pcr_id=record.pcr_id,
        pcr_version=record.pcr_version,
        factor_set=result.factor_set.id,
        total_kg_co2e=result.total_kg_co2e,
        declared_unit=f"{result.declared_unit.amount:g} {result.declared_unit.unit}",
        result=result.model_dump(mode="json"),
        result_json=result.model_dump_json().encode(),
    )


def _read_inventory(session: Session, job: Job):
    """In the claim's transaction: the inventory and its suppliers' values (the values its links froze at
    submission, services.supply_chain; one the engine would refuse raises ValueError and fails the job there)."""
    if job.kind == BATCH:
        return None
    record = session.get(InventoryRecord, job.inventory_id)
    return record, supply_chain.supplier_values(session, job.inventory_id)


@contextmanager
def _lease(job_id: uuid.UUID):
    """Renews the job's lease from a thread of its own while the calculation runs (its own session: the
    calculation's session is busy)."""
    from footprint_api.persistence.db import session_scope

    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(get_settings().job_heartbeat_seconds):
            try:
                with session_scope() as beats:
                    beats.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                        .values(heartbeat_at=utcnow())
                    )
                    beats.commit()
            except Exception:
                log.warning("heartbeat of job %s failed", job_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def lapsed_leases(session: Session, lease_seconds: int) -> list[Job]:
    """Running jobs whose worker stopped renewing the lease: it died (or its machine did)."""
    limit = utcnow() - timedelta(seconds=lease_seconds)
    beat = func.coalesce(Job.heartbeat_at, Job.started_at)
    return list(session.exec(select(Job).where(Job.status == JobStatus.RUNNING, beat < limit)))


def release(session: Session, job: Job) -> None:
    """A lapsed job goes back to the queue (its next run claims it again; one footprint per job whatever happens)."""
    job.status, job.heartbeat_at = JobStatus.QUEUED, None
    session.add(job)
    audit.record(
        session,
        audit.SYSTEM,
        "job.lease_expired",
        "job",
        job.id,
        before={"status": "running"},
        after={"status": "queued", "attempt": job.attempts},
        organisation_id=job.organisation_id,
    )
    audit.commit(session)
    job_news.changed(str(job.id))


class LeaseHeld(Exception):
    """The job runs elsewhere under a live lease: this delivery of its message (a second send, a redelivery while
    the first run lives) does not run it again; it may look again once the lease could have lapsed."""

    def __init__(self, job_id: uuid.UUID, seconds_left: float):
        super().__init__(f"job {job_id} runs under a lease for {seconds_left:.0f} s more")
        self.job_id, self.seconds_left = job_id, seconds_left


def _claim(session: Session, job_id: uuid.UUID, lease_seconds: int) -> Job | None:
    """The job claimed (see `_claim_for_run`), finished, or None for an unknown job."""
    claim = _claim_for_run(session, job_id, lease_seconds)
    return claim[0] if claim else None


def _claim_for_run(
    session: Session, job_id: uuid.UUID, lease_seconds: int, prepare: Callable[[Session, Job], object] | None = None
) -> tuple[Job, object] | None:
    """queued → running in one conditional UPDATE (atomic on PostgreSQL and SQLite alike): of two deliveries of one
    job, one claims it and the other finds it claimed. A running job whose lease lapsed (its worker died) is claimed
    again; one whose lease lives raises LeaseHeld. The claim also takes the job out of the outbox (a job run
    in-process is marked sent here, not by a transaction of its own), and `prepare(session, job)` reads in the same
    transaction what the run needs; a ValueError of it fails the job there. Returns (job, prepared), or None for an
    unknown job."""
    now = utcnow()
    lapsed = func.coalesce(Job.heartbeat_at, Job.started_at) < now - timedelta(seconds=lease_seconds)
    claimable = (Job.status == JobStatus.QUEUED) | ((Job.status == JobStatus.RUNNING) & lapsed)
    before = session.exec(select(Job.status).where(Job.id == job_id)).first()
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, claimable)
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            progress=0.0,
            dispatched_at=func.coalesce(Job.dispatched_at, now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    job = session.get(Job, job_id, populate_existing=True)
    if not claimed:
        session.rollback()  # nothing written: no commit
        if job is not None and job.status is JobStatus.RUNNING:
            beat = job.heartbeat_at or job.started_at or now
            raise LeaseHeld(job_id, max(1.0, lease_seconds - (now - beat).total_seconds()))
        return (job, None) if job is not None else None  # finished (a second run returns its footprint)
    audit.record(
        session,
        audit.SYSTEM,
        "job.started",
        "job",
        job.id,
        before={"status": before.value if before is not None else None},
        after={"status": "running", "attempt": job.attempts},
        organisation_id=job.organisation_id,
    )
    prepared = None
    try:
        prepared = prepare(session, job) if prepare else None
    except ValueError as exc:
        _end(session, job, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    audit.commit(session)
    job_news.changed(str(job_id))
    return job, prepared


# a progress write at most this often: each is a write transaction (Monte Carlo reports every iteration)
PROGRESS_SECONDS = 0.5


def _progress_writer(session: Session, job_id: uuid.UUID) -> Callable[[float], None]:
    last = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_SECONDS:
            return
        last[0] = now
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(progress=round(fraction, 3))
            .execution_options(synchronize_session=False)
        )
        session.commit()
        job_news.changed(str(job_id))

    return progress


def _finish(
    session: Session, job_id: uuid.UUID, status: JobStatus, footprint: Footprint | None = None, error: str | None = None
) -> Footprint | None:
    job = session.exec(select(Job).where(Job.id == job_id).with_for_update()).one()
    if job.status is JobStatus.SUCCEEDED:  # finished by a concurrent run
        session.commit()
        return session.get(Footprint, job.footprint_id)
    if footprint is not None:
        _stored(session, footprint, job.organisation_id)
    _end(session, job, status, footprint=footprint, error=error)
    audit.commit(session)
    job_news.changed(str(job_id))
    return footprint


def _stored(session: Session, footprint: Footprint, organisation_id: uuid.UUID) -> None:
    audit.record(
        session,
        audit.SYSTEM,
        "footprint.stored",
        "footprint",
        footprint.id,
        after={
            "total_kg_co2e": footprint.total_kg_co2e,
            "declared_unit": footprint.declared_unit,
            "job_id": str(footprint.job_id),
        },
        organisation_id=organisation_id,
    )


def _end(
    session: Session,
    job: Job,
    status: JobStatus,
    footprint: Footprint | None = None,
    error: str | None = None,
    summary: dict | None = None,
) -> None:
    """The job's end and its audit entry, in the caller's transaction."""
    job.status, job.finished_at, job.error = status, utcnow(), error
    job.progress = 1.0 if status is JobStatus.SUCCEEDED else job.progress
    job.footprint_id = footprint.id if footprint else None
    session.add(job)
    after = {"status": status.value, "footprint_id": str(footprint.id) if footprint else None, "error": error}
    audit.record(
        session,
        audit.SYSTEM,
        f"job.{status.value}",
        "job",
        job.id,
        before={"status": "running"},
        after={**after, **(summary or {})},
        organisation_id=job.organisation_id,
    )


# --- batches: many inventories in one job -------------------------------------------------------------------------

BATCH = "calculate_batch"
BATCH_ITEM = "batch_item"
BATCH_MAX = 5_000  # inventories per batch: ~1 s of engine time per thousand on the shipped background
# footprints written per transaction: few transactions (not one per footprint), none holding the write lock for long
# (~100 footprints with their audit entries: tens of milliseconds)
BATCH_CHUNK = 100
_ITEM_NAMESPACE = uuid.UUID("6f1c5a52-4c1e-4d53-9a55-7d0d9a1b2c3e")


def item_job_id(batch_id: uuid.UUID, position: int) -> uuid.UUID:
    """The id of a batch's item: the same in every run of the batch, so a run taking over from a dead worker cannot
    write an item twice (the primary key refuses it) and skips the items written."""
    return uuid.uuid5(_ITEM_NAMESPACE, f"{batch_id}:{position}")


def request_batch(
    session: Session,
    principal: Principal,
    inventory_ids: list[uuid.UUID],
    monte_carlo_iterations: int = 0,
    seed: int | None = None,
) -> Job:
    """One job for the footprints of many inventories of the caller's organisation, with its outbox mark, in one
    transaction (as `request_calculation`). Every id must be an inventory of the caller's organisation: the ones that
    are not are refused by their place in the list (`inventory_ids[i]`), and nothing is stored."""
    if not 1 <= len(inventory_ids) <= BATCH_MAX:
        raise Unprocessable(
            f"a batch lists 1 to {BATCH_MAX} inventories",
            [{"field": "inventory_ids", "reason": f"1 to {BATCH_MAX} inventories", "code": "jobs.batch.size"}],
            code="jobs.batch.size",
            params={"max": BATCH_MAX},
        )
    own: set[uuid.UUID] = set()
    unique = list(dict.fromkeys(inventory_ids))
    for start in range(0, len(unique), 500):
        own.update(
            session.exec(
                select(InventoryRecord.id).where(
                    col(InventoryRecord.id).in_(unique[start : start + 500]),
                    InventoryRecord.organisation_id == principal.organisation_id,
                )
            )
        )
    missing = [i for i, inventory_id in enumerate(inventory_ids) if inventory_id not in own]
    if missing:
        raise Unprocessable(
            f"{len(missing)} of the listed inventories are not inventories of your organisation",
            [
                {
                    "field": f"inventory_ids[{i}]",
                    "reason": "no such inventory in your organisation",
                    "code": "jobs.batch.unknown_inventory",
                }
                for i in missing[:50]
            ],
            code="jobs.batch.unknown_inventories",
            params={"count": len(missing)},
        )
    job = Job(
        organisation_id=principal.organisation_id,
        kind=BATCH,
        inventory_id=inventory_ids[0],  # the batch's first inventory; the whole list is in its parameters
        requested_by=principal.subject,
        parameters={
            "inventory_ids": [str(i) for i in inventory_ids],
            "monte_carlo_iterations": monte_carlo_iterations,
            "seed": seed,
        },
    )
    session.add(job)
    audit.record(
        session,
        actor(principal),
        "job.queued",
        "job",
        job.id,
        after={"kind": BATCH, "inventories": len(inventory_ids), "monte_carlo_iterations": monte_carlo_iterations},
    )
    audit.commit(session)
    return job


def _run_batch(session: Session, batch: Job, calculate: Callable[..., object]) -> None:
    """Calculates a batch's inventories on the one engine (one prepared background, many demands), BATCH_CHUNK at
    a time: each chunk's footprints, items and audit entries in one transaction with the batch's progress and lease.
    An inventory that fails is recorded as its item's error; the others go on. Items already written (a run that
    died mid-way) are skipped."""
    from footprint_api.persistence.db import reads_only

    session.expunge(batch)  # its loaded values serve every chunk (the chunks' rollbacks do not expire them)
    ids = [uuid.UUID(i) for i in batch.parameters["inventory_ids"]]
    iterations, seed = batch.parameters.get("monte_carlo_iterations", 0), batch.parameters.get("seed")
    with reads_only():
        written = set(session.exec(select(Job.position).where(Job.batch_id == batch.id)))
        session.rollback()
    todo = [position for position in range(len(ids)) if position not in written]
    done, failed = len(written), 0
    with _lease(batch.id):
        for start in range(0, len(todo), BATCH_CHUNK):
            chunk = todo[start : start + BATCH_CHUNK]
            with reads_only():
                wanted = list({ids[p] for p in chunk})
                records = {
                    r.id: r for r in session.exec(select(InventoryRecord).where(col(InventoryRecord.id).in_(wanted)))
                }
                suppliers = {}
                for inventory_id in wanted:
                    try:
                        suppliers[inventory_id] = supply_chain.supplier_values(session, inventory_id)
                    except ValueError as exc:
                        suppliers[inventory_id] = exc
                session.rollback()
            outcomes = [
                (p, _calculate_item(records.get(ids[p]), suppliers.get(ids[p]), iterations, seed, calculate))
                for p in chunk
            ]
            try:
                failed += _write_items(session, batch, ids, outcomes, done + len(chunk), iterations, seed)
            except IntegrityError:  # another run of this batch wrote some of these items first: theirs stand
                session.rollback()
                log.info("batch %s: items %d.. written by another run", batch.id, chunk[0])
            done += len(chunk)
            job_news.changed(str(batch.id))
    with reads_only():
        failed = session.exec(
            select(func.count()).select_from(Job).where(Job.batch_id == batch.id, Job.status == JobStatus.FAILED)
        ).one()
        session.rollback()
    job = session.exec(select(Job).where(Job.id == batch.id).with_for_update()).one()
    if job.status is not JobStatus.RUNNING:
        session.commit()
        return
    summary = {"inventories": len(ids), "succeeded": len(ids) - failed, "failed": failed}
    error = f"{failed} of {len(ids)} inventories failed" if failed else None
    _end(session, job, JobStatus.SUCCEEDED, error=error, summary=summary)
    audit.commit(session)
    job_news.changed(str(batch.id))


def _calculate_item(record, suppliers, iterations, seed, calculate):
    """(result, None) or (None, why it failed) for one inventory of a batch."""
    if record is None:
        return None, "NotFound: the inventory no longer exists"
    if isinstance(suppliers, Exception):
        return None, f"{type(suppliers).__name__}: {suppliers}"
    try:
        inventory = Inventory.model_validate(record.data)
        return (record, calculate(inventory, iterations, seed, lambda _fraction: None, suppliers=suppliers)), None
    except Exception as exc:  # noqa: BLE001 - recorded as the item's error; the batch goes on with the others
        return None, f"{type(exc).__name__}: {exc}"


def _write_items(session, batch: Job, ids, outcomes, done: int, iterations, seed) -> int:
    """One transaction: the chunk's items (jobs of kind BATCH_ITEM), their footprints and audit entries, and the
    batch's progress and lease. Returns how many of them failed."""
    now = utcnow()
    failed, stored = 0, []
    for position, (computed, error) in outcomes:
        item = Job(
            id=item_job_id(batch.id, position),
            organisation_id=batch.organisation_id,
            kind=BATCH_ITEM,
            inventory_id=ids[position],
            parameters={"monte_carlo_iterations": iterations, "seed": seed},
            status=JobStatus.FAILED if computed is None else JobStatus.SUCCEEDED,
            progress=0.0 if computed is None else 1.0,
            attempts=1,
            error=error,
            requested_by=batch.requested_by,
            created_at=now,
            started_at=now,
            finished_at=now,
            dispatched_at=now,
            batch_id=batch.id,
            position=position,
        )
        session.add(item)
        if computed is None:
            failed += 1
            continue
        record, result = computed
        footprint = _footprint(batch, record, item.id, result)
        item.footprint_id = footprint.id
        stored.append(footprint)
    session.flush()  # the items first: each footprint refers to its item's job
    for footprint in stored:
        session.add(footprint)
        _stored(session, footprint, batch.organisation_id)
    session.execute(
        update(Job)
        .where(Job.id == batch.id, Job.status == JobStatus.RUNNING)
        .values(progress=round(done / len(ids), 3), heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.commit(session)
    return failed


def batch_items(session: Session, batch: Job) -> list[Job]:
    """The written items of a batch, in the order of its list."""
    return list(session.exec(select(Job).where(Job.batch_id == batch.id).order_by(col(Job.position))))


def get_batch(session: Session, principal: Principal, batch_id: uuid.UUID) -> Job:
    job = owned(session, Job, batch_id, principal)
    if job.kind != BATCH:
        raise NotFound("no such batch in your organisation")
    return job


def get_job(session: Session, principal: Principal, job_id: uuid.UUID) -> Job:
    return owned(session, Job, job_id, principal)


# --- following a job without polling ----------------------------------------------------------------------------

FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)
WAIT_MAX_SECONDS = 30  # the longest a status request waits for a change (then the client asks again)


def job_now(principal: Principal, job_id: uuid.UUID) -> Job:
    """The caller's job as it is now, read in a session of its own, closed before the caller waits (detached)."""
    from footprint_api.persistence.db import reads_only, session_scope

    with reads_only(), session_scope() as session:
        job = get_job(session, principal, job_id)
        session.expunge(job)
        return job


def moved(before: Job, now: Job) -> bool:
    """Whether a reader of the job would see a change: its state, progress or attempt."""
    return (before.status, before.progress, before.attempts) != (now.status, now.progress, now.attempts)


async def job_after_change(principal: Principal, job_id: uuid.UUID, wait: float) -> Job:
    """The job once it changed, or as it is when `wait` seconds passed (at once when finished or `wait` is 0):
    long-polling without a thread or a database connection held while waiting. The request's coroutine waits on the
    news of its job (infra.queue.job_news); the job is read on a worker thread when news comes, and every few seconds
    in case news goes unheard (every half second when it can: Redis absent or down)."""
    wait = min(max(wait, 0.0), WAIT_MAX_SECONDS)
    with job_news.listen(str(job_id)) as news:
        state = await asyncio.to_thread(job_now, principal, job_id)
        deadline = time.monotonic() + wait
        while state.status not in FINISHED and (left := deadline - time.monotonic()) > 0:
            await news.wait(min(left, job_news.recheck_seconds()))
            now = await asyncio.to_thread(job_now, principal, job_id)
            if moved(state, now):
                return now
            state = now
    return state


def visible_footprint(session: Session, principal: Principal, footprint_id: uuid.UUID) -> Footprint:
    """The manufacturer's own footprints; for a certification body, those submitted to it."""
    footprint = session.get(Footprint, footprint_id)
    if footprint is not None:
        if footprint.organisation_id == principal.organisation_id:
            return footprint
        if (
            principal.role in CB_ROLES
            and session.exec(
                select(Submission).where(
                    Submission.footprint_id == footprint_id,
                    Submission.certification_body_id == principal.organisation_id,
                )
            ).first()
        ):
            return footprint
    raise NotFound("no such footprint visible to you")


@dataclass(frozen=True)
class StoredFootprint:
    """What the read of a footprint answers: its fields and its result's JSON as stored (never parsed here)."""

    organisation_id: uuid.UUID
    id: uuid.UUID
    inventory_id: uuid.UUID
    job_id: uuid.UUID
    total_kg_co2e: float
    declared_unit: str
    created_at: datetime
    result_json: bytes


class _Remembered:
    """Stored footprints this process read, by id, up to BYTES of results, least recently read forgotten first. A
    footprint is never changed once stored (one job, one result), so what is remembered is what the database holds;
    only its own organisation is answered from here (a certification body's read checks its submission each time)."""

    BYTES = 32 * 1024 * 1024

    def __init__(self):
        self._lock = threading.Lock()
        self._items: OrderedDict[uuid.UUID, StoredFootprint] = OrderedDict()
        self._bytes = 0

    def get(self, footprint_id: uuid.UUID) -> StoredFootprint | None:
        with self._lock:
            found = self._items.get(footprint_id)
            if found is not None:
                self._items.move_to_end(footprint_id)
            return found

    def keep(self, stored: StoredFootprint) -> None:
        with self._lock:
            if stored.id in self._items:
                return
            self._items[stored.id] = stored
            self._bytes += len(stored.result_json)
            while self._bytes > self.BYTES and self._items:
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old.result_json)


remembered_footprints = _Remembered()


def remembered_footprint(principal: Principal, footprint_id: uuid.UUID) -> StoredFootprint | None:
    """The caller's own footprint if this process read it before (no I/O: safe on the event loop), else None."""
    found = remembered_footprints.get(footprint_id)
    return found if found is not None and found.organisation_id == principal.organisation_id else None


def stored_footprint(session: Session, principal: Principal, footprint_id: uuid.UUID) -> StoredFootprint:
    """A footprint visible to the caller (as `visible_footprint`) with its result's JSON bytes, in one query of the
    footprint (and one of the submission for a certification body)."""
    columns = (
        Footprint.organisation_id,
        Footprint.id,
        Footprint.inventory_id,
        Footprint.job_id,
        Footprint.total_kg_co2e,
        Footprint.declared_unit,
        Footprint.created_at,
        Footprint.result_json,
    )
    row = session.exec(select(*columns).where(Footprint.id == footprint_id)).first()
    if row is None or (
        row.organisation_id != principal.organisation_id
        and not (
            principal.role in CB_ROLES
            and session.exec(
                select(Submission.id).where(
                    Submission.footprint_id == footprint_id,
                    Submission.certification_body_id == principal.organisation_id,
                )
            ).first()
        )
    ):
        raise NotFound("no such footprint visible to you")
    result_json = row.result_json
    if result_json is None:  # stored before its bytes were kept: serialised as the engine would have
        result = session.exec(select(Footprint.result).where(Footprint.id == footprint_id)).one()
        result_json = FootprintResult.model_validate(result).model_dump_json().encode()
    stored = StoredFootprint(*row[:-1], bytes(result_json))
    remembered_footprints.keep(stored)
    return stored


def list_footprints(session: Session, principal: Principal) -> list[Footprint]:
    if principal.role in CB_ROLES:
        query = (
            select(Footprint)
            .join(Submission, col(Submission.footprint_id) == col(Footprint.id))
            .where(Submission.certification_body_id == principal.organisation_id)
        )
    else:
        query = select(Footprint).where(Footprint.organisation_id == principal.organisation_id)
    return list(session.exec(query.order_by(Footprint.created_at)))


def submit_to_certification_body(
    session: Session, principal: Principal, footprint_id: uuid.UUID, certification_body_id: uuid.UUID
) -> Submission:
    footprint = owned(session, Footprint, footprint_id, principal)
    body = session.get(Organisation, certification_body_id)
    if body is None or body.kind is not OrganisationKind.CERTIFICATION_BODY:
        raise NotFound("no such certification body")
    submission = Submission(footprint_id=footprint.id, certification_body_id=body.id, submitted_by=principal.subject)
    session.add(submission)
    audit.record(
        session,
        actor(principal),
        "footprint.submitted",
        "footprint",
        footprint.id,
        after={"certification_body_id": str(body.id)},
    )
    try:
        audit.commit(session)
    except IntegrityError:
        session.rollback()
        raise Conflict("already submitted to this certification body") from None
    return submission


def unsent_jobs(session: Session, older_than_seconds: float) -> list[Job]:
    """The outbox: queued jobs whose message the broker has not taken (it was down when the request committed),
    older than the request's own attempt to send them."""
    limit = utcnow() - timedelta(seconds=older_than_seconds)
    return list(
        session.exec(
            select(Job)
            .where(Job.status == JobStatus.QUEUED, col(Job.dispatched_at).is_(None), Job.created_at < limit)
            .order_by(Job.created_at)
        )
    )


def lost_jobs(session: Session, older_than_seconds: float) -> list[Job]:
    """Queued jobs whose message the broker took but no worker ever claimed (a broker that lost its data)."""
    limit = utcnow() - timedelta(seconds=older_than_seconds)
    return list(session.exec(select(Job).where(Job.status == JobStatus.QUEUED, Job.dispatched_at < limit)))


def mark_dispatched(session: Session, job_ids: list[uuid.UUID]) -> None:
    """The broker took these jobs' messages: out of the outbox (in the caller's transaction)."""
    session.execute(
        update(Job)
        .where(col(Job.id).in_(job_ids), col(Job.dispatched_at).is_(None))
        .values(dispatched_at=utcnow())
        .execution_options(synchronize_session=False)
    )
