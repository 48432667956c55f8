"""The task queue. One way to send work, two ways to run it:

- embedded (`PCF_TASK_MODE=in_process`): a thread pool inside the API process runs the body given;
- production (`PCF_TASK_MODE=celery`): the task is sent by name to Celery on Redis (late acknowledgement,
  redelivery when a worker dies); the worker (`footprint_api.tasks`) registers the bodies under those names.

A send the broker does not take within PCF_BROKER_SEND_TIMEOUT_SECONDS raises BrokerUnavailable: the caller keeps
the work in its outbox (`services.jobs`). The worker outlives a broker restart: it retries the connection forever.
"""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from celery import Celery
from kombu.exceptions import KombuError
from kombu.transport import redis as kombu_redis
from redis.exceptions import RedisError

from footprint_api.core.settings import get_settings

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker did not take a message (down, refusing, or slower than the send deadline)."""


class _QoS(kombu_redis.QoS):
    """Redis's unacknowledged messages, given back to their queue when the channel closes, unless the broker is gone
    (see `_Channel`): then they stay in Redis's unacked index, and kombu's restore_visible delivers them again after
    the visibility timeout (a Redis that lost them is covered by the job's lease and the outbox)."""

    def restore_unacked(self, client=None):
        if client is None and _gone(self.channel):
            log.warning("broker connection gone: %d unacknowledged message(s) left to redelivery", len(self._delivered))
            self._delivered.clear()
            return None
        return super().restore_unacked(client)


class _Channel(kombu_redis.Channel):
    """A channel whose connection is gone says so with a connection error.

    When the worker loses the broker, Celery 5.7 (`Consumer.on_connection_error_after_connected`) collects the
    connection, which empties its `client`, and then closes it. Closing the channel restores the unacknowledged
    messages (a running task's, under late acknowledgement), and a task finishing after the loss acknowledges its
    message, each through a new Redis client built from that emptied connection: `AttributeError: 'NoneType' object
    has no attribute 'hostname'` (or `'client'`) in `_connparams`, which Celery does not take for a connection error
    and dies of ("Unrecoverable error", the worker crash of issue 19; the failing path is the one of celery/kombu#970,
    restore_unacked → conn_or_acquire). As a connection error it is what Celery expects: the acknowledgement is
    logged as not sent (the message comes again, and the job's claim finds it done) and the worker reconnects."""

    QoS = _QoS

    def _connparams(self, asynchronous=False):
        if _gone(self):
            raise kombu_redis.redis.exceptions.ConnectionError("the connection to the broker was closed")
        return super()._connparams(asynchronous)


def _gone(channel) -> bool:
    transport = getattr(channel, "connection", None)
    return transport is None or transport.client is None


class RedisTransport(kombu_redis.Transport):
    """kombu's Redis transport whose channels survive the loss of the broker (see `_Channel`)."""

    Channel = _Channel


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery("pcf", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        broker_transport=RedisTransport if settings.broker_url.startswith(("redis://", "rediss://")) else None,
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
            "socket_connect_timeout": settings.broker_send_timeout_seconds / 2,
            "socket_timeout": max(settings.broker_send_timeout_seconds, 5.0),  # above BRPOP's 1 s wait
            "socket_keepalive": True,
            "retry_on_timeout": True,
        },
        # the worker outlives a broker outage or restart: it connects again, as long as it takes (Celery's
        # defaults give up after 100 tries, about 35 minutes, and the worker then exits)
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        broker_channel_error_retry=True,
        # a request that sends a job tries twice, each connection attempt bounded by half the send timeout, then
        # leaves the job in the outbox (kombu's default is four tries, each bounded only by the socket's timeout)
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0.1, "interval_step": 0, "interval_max": 0.1},
        broker_connection_timeout=settings.broker_send_timeout_seconds,
        # the workers do not cancel running calculations when the broker goes away: a calculation's result goes to
        # PostgreSQL, not to Redis, and its late acknowledgement failing only means one more delivery, which the
        # job's atomic claim turns into nothing
        worker_cancel_long_running_tasks_on_connection_loss=False,
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
    """Queue `body(argument)`: by name to the Celery workers, or to the in-process pool. Raises BrokerUnavailable
    when the broker does not take it."""
    if get_settings().task_mode == "celery":
        try:
            celery_app.send_task(task_name, args=[argument])
        except (KombuError, RedisError, OSError) as exc:
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
    else:
        _pool().submit(_logged, body, argument)


def _logged(body: Callable[[str], object], argument: str) -> None:
    try:
        body(argument)
    except Exception:  # pragma: no cover - surfaced through the job's or request's status
        log.exception("%s(%s) failed", body.__name__, argument)
