"""The task queue. One way to send work, two ways to run it:

- embedded (`PCF_TASK_MODE=in_process`): a thread pool inside the API process runs the body given;
- production (`PCF_TASK_MODE=celery`): the task is sent by name to Celery on Redis (late acknowledgement,
  redelivery when a worker dies); the worker (`footprint_api.tasks`) registers the bodies under those names.
"""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from celery import Celery

from footprint_api.core.settings import get_settings

log = logging.getLogger(__name__)


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery("pcf", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        task_acks_late=True,  # acknowledge after the work: a killed worker's task is delivered again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_seconds,
            "unacked_restore_interval": settings.unacked_restore_interval_seconds,
            "unacked_restore_throttle": settings.unacked_restore_throttle,
        },
        broker_connection_retry_on_startup=True,
        task_time_limit=settings.job_time_limit_seconds,  # a hung calculation is killed; its lease then lapses
        task_default_queue="pcf",
        beat_schedule={"housekeeping": {"task": "pcf.housekeeping", "schedule": 60.0}},
    )
    return app


celery_app = make_celery()


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=get_settings().in_process_workers, thread_name_prefix="pcf-task")


def send(task_name: str, body: Callable[[str], object], argument: str) -> None:
    """Queue `body(argument)`: by name to the Celery workers, or to the in-process pool."""
    if get_settings().task_mode == "celery":
        celery_app.send_task(task_name, args=[argument])
    else:
        _pool().submit(_logged, body, argument)


def _logged(body: Callable[[str], object], argument: str) -> None:
    try:
        body(argument)
    except Exception:  # pragma: no cover - surfaced through the job's or request's status
        log.exception("%s(%s) failed", body.__name__, argument)
