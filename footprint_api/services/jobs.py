"""Background work: the bodies of the queued tasks and of the periodic housekeeping, and how they are queued
(`infra.queue`: in-process or Celery). The Celery worker (`footprint_api.tasks`) registers these bodies."""

import uuid
from datetime import UTC, datetime

from footprint_api.core.settings import get_settings
from footprint_api.infra import queue
from footprint_api.persistence.db import session_scope

CALCULATE = "pcf.calculate_footprint"
ANSWER_PACT_REQUEST = "pcf.answer_pact_request"
HOUSEKEEPING = "pcf.housekeeping"


def calculate(inventory, iterations, seed, progress):
    from lca_models import get_engine

    return get_engine().calculate(inventory, monte_carlo_iterations=iterations, seed=seed, progress=progress)


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
    """Periodic (every minute): queue again running jobs whose worker died (lapsed lease) and re-dispatch queued jobs
    whose message was lost; forget expired token revocations; mark labels and PCR versions past their validity
    expired; tell manufacturers of labels expiring within 60 days (once per label and person) and mail the notices
    whose mail failed; seal the head of the audit trail."""
    from footprint_api.services import notices, verification
    from footprint_api.services.accounts import purge_expired_revocations
    from footprint_api.services.audit import checkpoint
    from footprint_api.services.footprints import lapsed_leases, release, stale_jobs
    from footprint_api.services.labels import expire_due
    from footprint_api.services.pcr_registry import expire_due as expire_pcrs_due

    with session_scope() as session:
        lapsed = lapsed_leases(session, get_settings().job_lease_seconds)
        for job in lapsed:
            release(session, job)
        stale = list(
            dict.fromkeys(
                [str(j.id) for j in lapsed] + [str(job.id) for job in stale_jobs(session, older_than_seconds=600)]
            )
        )
        purged = purge_expired_revocations(session)
        label_day = verification.today()  # a label's validity is in Beijing calendar days
        expired = expire_due(session, label_day)
        pcrs_expired = expire_pcrs_due(session, datetime.now(UTC).date())
        expiring = notices.warn_expiring(session, label_day)
        checkpoint(session)
    for job_id in stale:
        dispatch(job_id)
    mailed = notices.deliver()  # after the work above, in its own session: a slow mail server holds no transaction
    return {
        "redispatched": len(stale),
        "leases_expired": len(lapsed),
        "revocations_purged": purged,
        "labels_expired": expired,
        "pcr_versions_expired": pcrs_expired,
        "expiry_notices": expiring,
        "notices_mailed": mailed,
    }


def dispatch(job_id: str) -> None:
    queue.send(CALCULATE, run_calculation_job, job_id)


def dispatch_pact_answer(request_id: str) -> None:
    queue.send(ANSWER_PACT_REQUEST, answer_pact_request, request_id)
