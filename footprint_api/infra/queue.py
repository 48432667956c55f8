"""The task queue. One way to send work, two ways to run it:

- embedded (`PCF_TASK_MODE=in_process`): a thread pool inside the API process runs the body given;
- production (`PCF_TASK_MODE=celery`): the task is sent by name to Celery on Redis (late acknowledgement,
  redelivery when a worker dies); the worker (`footprint_api.tasks`) registers the bodies under those names.

And one way to hear that a job changed (`job_news`): in-process, or over Redis pub/sub between processes.

A send the broker does not take within PCF_BROKER_SEND_TIMEOUT_SECONDS raises BrokerUnavailable: the caller keeps
the work in its outbox (`services.jobs`). The worker outlives a broker restart: it retries the connection forever.
"""

import asyncio
import contextlib
import logging
import threading
import time
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


# --- news of jobs: who waits for a job, and the word that it changed --------------------------------------------------

JOB_CHANNEL = "pcf:jobs"  # Redis pub/sub channel: the id of each job that changed (state, progress)
# how often a waiting request reads its job again without any word of a change: rarely when every change reaches it
# (tasks in this process, or the Redis subscription up), often when a change could go unheard (Redis absent or down)
RECHECK_HEARD_SECONDS = 5.0
RECHECK_DEAF_SECONDS = 0.5
REDIS_RETRY_SECONDS = 2.0


class JobNews:
    """Wakes the requests that wait for a job (long-polling, server-sent events) when the job changes, without a
    thread or a database connection held per waiter: each waiter is an asyncio event on its request's loop.

    In one process (tasks in-process) the task's thread wakes the waiters directly. Across processes (Celery
    workers, several API processes) the worker publishes the job's id on Redis (JOB_CHANNEL) and each API process
    subscribes from one thread of its own; while that subscription is down (or there is no Redis) waiters read their
    job again every RECHECK_DEAF_SECONDS instead: slower news, never an error."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._listener: threading.Thread | None = None
        self._subscribed = threading.Event()
        self._publisher = None
        self._publisher_down_until = 0.0

    # waiting (on an event loop)

    def listen(self, job_id: str) -> "Listening":
        """`with job_news.listen(id) as news:` — registered before the job is read, so that a change between the
        read and the wait is not missed; then `await news.wait(seconds)`."""
        return Listening(self, job_id)

    def _add(self, job_id: str, waiter: tuple) -> None:
        with self._lock:
            self._waiters.setdefault(job_id, set()).add(waiter)
        if get_settings().task_mode == "celery":
            self._listen()

    def _remove(self, job_id: str, waiter: tuple) -> None:
        with self._lock:
            waiting = self._waiters.get(job_id)
            if waiting is not None:
                waiting.discard(waiter)
                if not waiting:
                    del self._waiters[job_id]

    def recheck_seconds(self) -> float:
        """How long a waiter may wait without news before it reads its job again."""
        if get_settings().task_mode != "celery" or self._subscribed.is_set():
            return RECHECK_HEARD_SECONDS
        return RECHECK_DEAF_SECONDS

    def waiting(self) -> int:
        with self._lock:
            return sum(len(w) for w in self._waiters.values())

    # telling (from any thread)

    def changed(self, job_id: str) -> None:
        """The job's change is committed: wake this process's waiters and, with Celery, tell the other processes.
        Never raises (news is a courtesy; the waiters read the job again on their own anyway)."""
        self._wake(job_id)
        if get_settings().task_mode == "celery":
            self._publish(job_id)

    def _wake(self, job_id: str) -> None:
        with self._lock:
            waiters = list(self._waiters.get(job_id, ()))
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # its loop closed: the request is gone
                loop.call_soon_threadsafe(event.set)

    def _redis(self):
        import redis

        seconds = get_settings().broker_send_timeout_seconds
        return redis.Redis.from_url(get_settings().broker_url, socket_connect_timeout=seconds, socket_timeout=seconds)

    def _publish(self, job_id: str) -> None:
        now = time.monotonic()
        if now < self._publisher_down_until:
            return
        try:
            if self._publisher is None:
                self._publisher = self._redis()
            self._publisher.publish(JOB_CHANNEL, job_id)
        except (RedisError, OSError) as exc:
            self._publisher, self._publisher_down_until = None, now + REDIS_RETRY_SECONDS
            log.info("news of job %s not published (waiters read it again on their own): %s", job_id, exc)

    def _listen(self) -> None:
        with self._lock:
            if self._listener is not None and self._listener.is_alive():
                return
            self._listener = threading.Thread(target=self._subscribe_forever, name="job-news", daemon=True)
            self._listener.start()

    def _subscribe_forever(self) -> None:
        while True:
            try:
                pubsub = self._redis().pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(JOB_CHANNEL)
                self._subscribed.set()
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        data = message["data"]
                        self._wake(data.decode() if isinstance(data, bytes) else str(data))
            except (RedisError, OSError) as exc:
                if self._subscribed.is_set():
                    log.warning(
                        "news of jobs from Redis lost (waiters read their jobs every %.1f s): %s",
                        RECHECK_DEAF_SECONDS,
                        exc,
                    )
                self._subscribed.clear()
                time.sleep(REDIS_RETRY_SECONDS)


class Listening:
    """One request's ear for one job (see JobNews.listen)."""

    def __init__(self, news: JobNews, job_id: str):
        self._news, self._job_id = news, job_id
        self._event = asyncio.Event()
        self._waiter: tuple | None = None

    def __enter__(self) -> "Listening":
        self._waiter = (asyncio.get_running_loop(), self._event)
        self._news._add(self._job_id, self._waiter)
        return self

    def __exit__(self, *_exc) -> None:
        self._news._remove(self._job_id, self._waiter)

    async def wait(self, seconds: float) -> bool:
        """Until news of the job (True; news heard since the last wait counts) or `seconds` passed (False)."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            return False
        self._event.clear()
        return True


job_news = JobNews()
