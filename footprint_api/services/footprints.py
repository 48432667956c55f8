"""Calculation jobs and their results. `run_job` is the task body: safe to run twice, and it stores one result."""

import logging
import threading
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from footprint_api.core.errors import Conflict, NotFound
from footprint_api.core.settings import get_settings
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
    will run, sent by the request (`jobs.dispatch`) or, if the broker does not take it, by the housekeeping task."""
    owned(session, InventoryRecord, inventory_id, principal)
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
    mid-way (a worker killed) is simply run again; the unique job_id of footprints keeps it to one result."""
    job = _claim(session, job_id, get_settings().job_lease_seconds)
    if job is None:
        return None
    if job.status is JobStatus.SUCCEEDED:
        return session.get(Footprint, job.footprint_id)
    record = session.get(InventoryRecord, job.inventory_id)
    # the suppliers' values the version's links froze at submission (services.supply_chain), by item index; one the
    # engine would refuse (resolution refuses it at submission; a link stored before that check) fails the job
    try:
        suppliers = supply_chain.supplier_values(session, job.inventory_id)
    except ValueError as exc:
        session.rollback()
        _finish(session, job_id, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        return None
    session.commit()  # no transaction stays open (nor, on SQLite, the write lock held) while the engine works
    try:
        inventory = Inventory.model_validate(record.data)
        with _lease(job_id):
            result = calculate(
                inventory,
                job.parameters.get("monte_carlo_iterations", 0),
                job.parameters.get("seed"),
                lambda fraction: _progress(session, job_id, fraction),
                suppliers=suppliers,
            )
    except Exception as exc:  # noqa: BLE001 - the job records why; the task does not retry a calculation that cannot succeed
        _finish(session, job_id, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        return None
    footprint = Footprint(
        organisation_id=job.organisation_id,
        inventory_id=job.inventory_id,
        job_id=job_id,
        pcr_id=record.pcr_id,
        pcr_version=record.pcr_version,
        factor_set=result.factor_set.id,
        total_kg_co2e=result.total_kg_co2e,
        declared_unit=f"{result.declared_unit.amount:g} {result.declared_unit.unit}",
        result=result.model_dump(mode="json"),
    )
    session.add(footprint)
    try:
        session.flush()
    except IntegrityError:  # another run of this job stored it first
        session.rollback()
        footprint = session.exec(select(Footprint).where(Footprint.job_id == job_id)).one()
    return _finish(session, job_id, JobStatus.SUCCEEDED, footprint=footprint)


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


class LeaseHeld(Exception):
    """The job runs elsewhere under a live lease: this delivery of its message (a second send, a redelivery while
    the first run lives) does not run it again; it may look again once the lease could have lapsed."""

    def __init__(self, job_id: uuid.UUID, seconds_left: float):
        super().__init__(f"job {job_id} runs under a lease for {seconds_left:.0f} s more")
        self.job_id, self.seconds_left = job_id, seconds_left


def _claim(session: Session, job_id: uuid.UUID, lease_seconds: int) -> Job | None:
    """queued → running in one conditional UPDATE (atomic on PostgreSQL and SQLite alike): of two deliveries of one
    job, one claims it and the other finds it claimed. A running job whose lease lapsed (its worker died) is claimed
    again; one whose lease lives raises LeaseHeld."""
    now = utcnow()
    lapsed = func.coalesce(Job.heartbeat_at, Job.started_at) < now - timedelta(seconds=lease_seconds)
    claimable = (Job.status == JobStatus.QUEUED) | ((Job.status == JobStatus.RUNNING) & lapsed)
    before = session.exec(select(Job.status).where(Job.id == job_id)).first()
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, claimable)
        .values(status=JobStatus.RUNNING, attempts=Job.attempts + 1, started_at=now, heartbeat_at=now, progress=0.0)
        .execution_options(synchronize_session=False)
    ).rowcount
    job = session.get(Job, job_id, populate_existing=True)
    if not claimed:
        session.commit()
        if job is not None and job.status is JobStatus.RUNNING:
            beat = job.heartbeat_at or job.started_at or now
            raise LeaseHeld(job_id, max(1.0, lease_seconds - (now - beat).total_seconds()))
        return job  # unknown, or finished (a second run returns its footprint)
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
    audit.commit(session)
    return job


def _progress(session: Session, job_id: uuid.UUID, fraction: float) -> None:
    job = session.get(Job, job_id)
    job.progress = round(fraction, 3)
    session.commit()


def _finish(
    session: Session, job_id: uuid.UUID, status: JobStatus, footprint: Footprint | None = None, error: str | None = None
) -> Footprint | None:
    job = session.exec(select(Job).where(Job.id == job_id).with_for_update()).one()
    if job.status is JobStatus.SUCCEEDED:  # finished by a concurrent run
        session.commit()
        return session.get(Footprint, job.footprint_id)
    job.status, job.finished_at, job.error = status, utcnow(), error
    job.progress = 1.0 if status is JobStatus.SUCCEEDED else job.progress
    job.footprint_id = footprint.id if footprint else None
    after = {"status": status.value, "footprint_id": str(footprint.id) if footprint else None, "error": error}
    if footprint is not None:
        audit.record(
            session,
            audit.SYSTEM,
            "footprint.stored",
            "footprint",
            footprint.id,
            after={
                "total_kg_co2e": footprint.total_kg_co2e,
                "declared_unit": footprint.declared_unit,
                "job_id": str(job_id),
            },
            organisation_id=job.organisation_id,
        )
    audit.record(
        session,
        audit.SYSTEM,
        f"job.{status.value}",
        "job",
        job.id,
        before={"status": "running"},
        after=after,
        organisation_id=job.organisation_id,
    )
    audit.commit(session)
    return footprint


def get_job(session: Session, principal: Principal, job_id: uuid.UUID) -> Job:
    return owned(session, Job, job_id, principal)


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
