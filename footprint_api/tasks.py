"""The Celery worker: the task bodies of `services.jobs` under their names, and the beat's schedule.

Start a worker: `celery -A footprint_api.tasks worker -Q pcf`; the beat: `celery -A footprint_api.tasks beat`.
"""

import logging

from celery.signals import worker_init

from footprint_api.infra.queue import celery_app
from footprint_api.services import backgrounds, jobs
from footprint_api.services.footprints import LeaseHeld
from footprint_api.services.pcrs.source import install_database_source


@worker_init.connect
def _read_published_pcrs(**_) -> None:
    """At the worker's start (before its pool forks): its engine reads the published PCR versions, as the API's."""
    install_database_source()
    from lca_models.backgrounds import solver_report
    from lca_models.config import LCASettings

    report = solver_report(LCASettings().solver)  # said at start; PCF_SOLVER names it, nothing installed changes it
    logging.getLogger(__name__).warning("engine solver: %s (%s)", report["solver"], report["orientation"])


@celery_app.task(name=jobs.CALCULATE, bind=True, max_retries=None)
def calculate_footprint(self, job_id: str) -> str | None:
    """A delivery that finds its job running under a live lease (the same job sent twice, or redelivered while its
    first run lives) does not run it; it looks again when the lease could have lapsed, and then finds the job
    finished, or takes over from a worker that died."""
    try:
        return jobs.run_calculation_job(job_id)
    except LeaseHeld as held:
        raise self.retry(countdown=held.seconds_left) from None


celery_app.task(name=jobs.HOUSEKEEPING)(jobs.housekeeping)
celery_app.task(name=jobs.ANSWER_PACT_REQUEST)(jobs.answer_pact_request)
celery_app.task(name=backgrounds.IMPORT_TASK)(backgrounds.run_import_job)

app = celery_app  # `celery -A footprint_api.tasks` finds it
