"""Background work: the bodies of the queued tasks and of the periodic housekeeping, and how they are queued
(`infra.queue`: in-process or Celery). The Celery worker (`footprint_api.tasks`) registers these bodies.

A calculation job is an outbox row: the request writes it (with `dispatched_at` empty) and commits, then sends its
message; a broker that does not take the message leaves the job in the outbox and the request still answers 202,
because the housekeeping task sends every job left there. A job sent twice runs once: the worker claims it
atomically (`footprints._claim`). A batch job (many inventories, `footprints.request_batch`) is sent, claimed and
taken over the same way, under the same task name.
"""

import logging
import os
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlmodel import Session, col, select

from footprint_api.core.settings import get_settings
from footprint_api.infra import queue
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import Job, PactRequest, utcnow
from footprint_api.services import audit

CALCULATE = "pcf.calculate_footprint"
ANSWER_PACT_REQUEST = "pcf.answer_pact_request"
HOUSEKEEPING = "pcf.housekeeping"

# a job younger than this is still being sent by its own request; older and unsent, the housekeeping task sends it
OUTBOX_GRACE_SECONDS = 5
# a job the broker took but no worker claimed in this time was lost by the broker (restarted without its data)
LOST_AFTER_SECONDS = 600
# a PACT request not answered in this time lost its message (it has no outbox mark of its own)
PACT_LOST_AFTER_SECONDS = 600

log = logging.getLogger(__name__)


def calculate(inventory, iterations, seed, progress, suppliers=None):
    """The engine's calculation of an inventory, with the supplier values its links froze (services.supply_chain)."""
    return _engine().calculate(
        inventory, suppliers=suppliers, monte_carlo_iterations=iterations, seed=seed, progress=progress
    )


def _engine():
    """The process's engine for the PCF_ settings in force: `get_engine()` reads them from the environment into a
    settings model on every call (~1 ms, as much as a warm footprint), so the engine is looked up once per set."""
    return _engine_for(tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PCF_"))))


@lru_cache(maxsize=4)
def _engine_for(_settings: tuple):
    from lca_models import get_engine

    return get_engine()


def run_calculation_job(job_id: str) -> str | None:
    from footprint_api.services.footprints import run_job

    with session_scope() as session:
        footprint = run_job(session, uuid.UUID(job_id), calculate)
        return str(footprint.id) if footprint else None


def answer_pact_request(request_id: str) -> str | None:
    from footprint_api.services.pact.events import answer

    with session_scope() as session:
        request = answer(session, uuid.UUID(request_id))
        return request.status if request else None


def housekeeping() -> dict:
    """Periodic (every minute): send the jobs left in the outbox, queue again running jobs whose worker died (lapsed
    lease) and send again queued jobs whose message the broker lost; forget expired token revocations; mark labels
    and PCR versions past their validity expired; tell manufacturers of labels expiring within 60 days (once per
    label and person) and mail the notices whose mail failed; seal the head of the audit trail; re-read the
    suppliers' PACT footprints that inventories use and deprecate those their suppliers deprecated."""
    from footprint_api.services import benchmarks, notices, verification
    from footprint_api.services.accounts import purge_expired_revocations
    from footprint_api.services.audit import checkpoint
    from footprint_api.services.backgrounds import resend_imports
    from footprint_api.services.footprints import lapsed_leases, lost_jobs, release, unsent_jobs
    from footprint_api.services.labels import expire_due
    from footprint_api.services.pact import suppliers
    from footprint_api.services.pcr_registry import expire_due as expire_pcrs_due

    with session_scope() as session:
        lapsed = lapsed_leases(session, get_settings().job_lease_seconds)
        for job in lapsed:
            release(session, job)
        unsent = [str(job.id) for job in unsent_jobs(session, OUTBOX_GRACE_SECONDS)]
        resend = list(
            dict.fromkeys(
                unsent + [str(j.id) for j in lapsed] + [str(job.id) for job in lost_jobs(session, LOST_AFTER_SECONDS)]
            )
        )
        pact_requests = [str(r.id) for r in _unanswered_pact_requests(session)]
        purged = purge_expired_revocations(session)
        label_day = verification.today()  # a label's validity is in Beijing calendar days
        expired = expire_due(session, label_day)
        pcrs_expired = expire_pcrs_due(session, datetime.now(UTC).date())
        expiring = notices.warn_expiring(session, label_day)
        groups_filled = benchmarks.backfill(session)  # labels issued before comparable groups existed
        checkpoint(session)
    sent = _send_calculations(resend)
    for request_id in pact_requests:
        dispatch_pact_answer(request_id)
    mailed = notices.deliver()  # after the work above, in its own session: a slow mail server holds no transaction
    with session_scope() as session:  # suppliers' APIs are called outside the transaction above, like the mail server
        polled = suppliers.poll(session)
    return {
        "outbox_sent": len(set(unsent) & set(sent)),
        "redispatched": len(sent),
        "not_sent": len(resend) - len(sent),
        "leases_expired": len(lapsed),
        "pact_requests_redispatched": len(pact_requests),
        "revocations_purged": purged,
        "labels_expired": expired,
        "pcr_versions_expired": pcrs_expired,
        "expiry_notices": expiring,
        "notices_mailed": mailed,
        "label_groups_filled": groups_filled,
        "supplier_footprints_checked": polled.checked,
        "supplier_footprints_deprecated": polled.deprecated,
        "background_imports_sent": resend_imports(),  # unsent, lost or stalled imports (services.backgrounds)
    }


def _unanswered_pact_requests(session: Session) -> list[PactRequest]:
    limit = utcnow() - timedelta(seconds=PACT_LOST_AFTER_SECONDS)
    return list(
        session.exec(select(PactRequest).where(PactRequest.status == "accepted", PactRequest.created_at < limit))
    )


def _send_calculations(job_ids: list[str]) -> list[str]:
    """Sends these jobs' messages and takes the sent ones out of the outbox, each sending in the audit trail; stops
    at the first the broker refuses (it is down: the next run tries again)."""
    from footprint_api.services.footprints import mark_dispatched

    sent = []
    for job_id in job_ids:
        if not _send(job_id):
            break
        sent.append(job_id)
    if sent:
        with session_scope() as session:
            for job in session.exec(select(Job).where(col(Job.id).in_([uuid.UUID(j) for j in sent]))):
                audit.record(
                    session,
                    audit.SYSTEM,
                    "job.sent_again",
                    "job",
                    job.id,
                    before={"sent_at": job.dispatched_at.isoformat() if job.dispatched_at else None},
                    after={"status": job.status.value},
                    organisation_id=job.organisation_id,
                )
            mark_dispatched(session, [uuid.UUID(job_id) for job_id in sent])
            audit.commit(session)
    return sent


def dispatch(job_id: str) -> bool:
    """Sends a committed job's message and takes it out of the outbox. Never raises: a job the broker did not take
    stays in the outbox, and the housekeeping task sends it (the request that wrote it answers 202 all the same)."""
    if not _send(job_id):
        return False
    if get_settings().task_mode != "celery":
        return True  # the in-process pool cannot refuse it; the claim takes it out of the outbox (no transaction here)
    from footprint_api.services.footprints import mark_dispatched

    try:
        with session_scope() as session:
            mark_dispatched(session, [uuid.UUID(job_id)])
            session.commit()
    except Exception:  # sent but not marked: sent again later, and the claim runs it once
        log.warning("job %s sent but its outbox mark not written", job_id, exc_info=True)
    return True


def _send(job_id: str) -> bool:
    try:
        queue.send(CALCULATE, run_queued_calculation, job_id)
    except queue.BrokerUnavailable as exc:
        log.warning("job %s stays in the outbox: %s", job_id, exc)
        return False
    return True


def run_queued_calculation(job_id: str) -> str | None:
    """The in-process body: a job already running under a live lease is left to its run (and to the housekeeping
    task if that run's lease lapses)."""
    from footprint_api.services.footprints import LeaseHeld

    try:
        return run_calculation_job(job_id)
    except LeaseHeld as held:
        log.info("%s", held)
        return None


def dispatch_pact_answer(request_id: str) -> None:
    """Sends the answering of a stored PACT request; a broker that does not take it leaves the request accepted, and
    the housekeeping task sends it again."""
    try:
        queue.send(ANSWER_PACT_REQUEST, answer_pact_request, request_id)
    except queue.BrokerUnavailable as exc:
        log.warning("PACT request %s not sent now, the housekeeping task sends it: %s", request_id, exc)
