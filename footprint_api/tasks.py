"""Background work. One task body (`services.footprints.run_job`), two ways to run it:

- embedded (`PCF_TASK_MODE=in_process`): a thread pool inside the API process;
- production (`PCF_TASK_MODE=celery`): Celery on Redis, late acknowledgement, redelivery when a worker dies.

Start a worker: `celery -A footprint_api.tasks worker`; the beat: `celery -A footprint_api.tasks beat`.
"""

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from celery import Celery

from footprint_api.db import session_scope
from footprint_api.settings import get_settings

log = logging.getLogger(__name__)


def calculate(inventory, iterations, seed, progress):
    from lca_models import get_engine

    return get_engine().calculate(inventory, monte_carlo_iterations=iterations, seed=seed, progress=progress)


def run_calculation_job(job_id: str) -> str | None:
    from footprint_api.services.footprints import run_job

    with session_scope() as session:
        footprint = run_job(session, uuid.UUID(job_id), calculate)
        return str(footprint.id) if footprint else None


def answer_pact_request(request_id: str) -> str | None:
    from footprint_api.pact.events import answer

    with session_scope() as session:
        request = answer(session, uuid.UUID(request_id))
        return request.status if request else None


def housekeeping() -> dict:
    """Periodic (every minute): queue again running jobs whose worker died (lapsed lease) and re-dispatch queued jobs
    whose message was lost; forget expired token revocations; mark labels past their validity expired; seal the
    head of the audit trail."""
    from datetime import UTC, datetime

    from footprint_api.services.accounts import purge_expired_revocations
    from footprint_api.audit import checkpoint
    from footprint_api.services.footprints import lapsed_leases, release, stale_jobs
    from footprint_api.services.labels import expire_due

    with session_scope() as session:
        lapsed = lapsed_leases(session, get_settings().job_lease_seconds)
        for job in lapsed:
            release(session, job)
        stale = list(dict.fromkeys([str(j.id) for j in lapsed] +
                                   [str(job.id) for job in stale_jobs(session, older_than_seconds=600)]))
        purged = purge_expired_revocations(session)
        expired = expire_due(session, datetime.now(UTC).date())
        checkpoint(session)
    for job_id in stale:
        dispatch(job_id)
    return {"redispatched": len(stale), "leases_expired": len(lapsed), "revocations_purged": purged,
            "labels_expired": expired}


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery("pcf", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        task_acks_late=True,  # acknowledge after the work: a killed worker's task is delivered again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json", accept_content=["json"], result_serializer="json",
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_seconds,
                                  "unacked_restore_interval": settings.unacked_restore_interval_seconds,
                                  "unacked_restore_throttle": settings.unacked_restore_throttle},
        broker_connection_retry_on_startup=True,
        task_time_limit=settings.job_time_limit_seconds,  # a hung calculation is killed; its lease then lapses
        task_default_queue="pcf",
        beat_schedule={"housekeeping": {"task": "pcf.housekeeping", "schedule": 60.0}},
    )
    app.task(name="pcf.calculate_footprint", bind=False)(run_calculation_job)
    app.task(name="pcf.housekeeping")(housekeeping)
    app.task(name="pcf.answer_pact_request")(answer_pact_request)
    return app


celery_app = make_celery()
app = celery_app  # `celery -A footprint_api.tasks` finds it


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=get_settings().in_process_workers, thread_name_prefix="pcf-task")


def dispatch(job_id: str) -> None:
    _send("pcf.calculate_footprint", run_calculation_job, job_id)


def dispatch_pact_answer(request_id: str) -> None:
    _send("pcf.answer_pact_request", answer_pact_request, request_id)


def _send(task_name: str, body, argument: str) -> None:
    if get_settings().task_mode == "celery":
        celery_app.send_task(task_name, args=[argument])
    else:
        _pool().submit(_logged, body, argument)


def _logged(body, argument: str) -> None:
    try:
        body(argument)
    except Exception:  # pragma: no cover - surfaced through the job's or request's status
        log.exception("%s(%s) failed", body.__name__, argument)
