"""Following a job without polling (issue 22): `GET /api/v1/jobs/{id}?wait=` answers when the job changes or the
wait ends, holding no database connection while it waits; `GET /api/v1/jobs/{id}/events` streams one event per
change; in one process the task's own thread wakes the waiters, across processes Redis pub/sub does, and without
Redis the waiters read their job again every half second instead of failing."""

import asyncio
import json
import threading
import time
import uuid

import pytest
import redis
from sqlalchemy import update

from footprint_api.core.settings import get_settings
from footprint_api.infra import queue
from footprint_api.persistence.db import get_engine, session_scope
from footprint_api.persistence.models import Job, JobStatus
from tests.conftest import load_example
from tests.labelling import unique_serials
from tests.processes import free_port

REDIS = "redis://127.0.0.1:6379/13"


@pytest.fixture(scope="module")
def inventory_id(world) -> str:
    product = world.product("acme-engineer", "PCR-CN-STEEL")
    response = world.submit("acme-engineer", product["id"], unique_serials(load_example("steel-hebei-bfbof-2023.json")))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _queued_job(world, inventory_id: str) -> uuid.UUID:
    """A job as its request stores it, never sent: nothing changes it unless the test does."""
    with session_scope() as session:
        job = Job(organisation_id=world.organisations["acme"], inventory_id=uuid.UUID(inventory_id), parameters={})
        session.add(job)
        session.commit()
        return job.id


def _progress(job_id: uuid.UUID, fraction: float) -> None:
    """A change as the worker writes it: committed, then told (footprints._progress_writer)."""
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job_id).values(progress=fraction, status=JobStatus.RUNNING))
        session.commit()
    queue.job_news.changed(str(job_id))


def _later(seconds: float, change) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), change()))
    thread.start()
    return thread


def test_a_wait_without_change_ends_at_its_time_with_the_job_as_it_was(world, inventory_id):
    job_id = _queued_job(world, inventory_id)

    started = time.monotonic()
    response = world.call("acme-engineer", "GET", f"/api/v1/jobs/{job_id}", params={"wait": 1})
    waited = time.monotonic() - started

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["progress"]) == ("queued", 0.0)
    assert 1.0 <= waited < 2.5


def test_a_change_answers_the_waiting_request_at_once(world, inventory_id):
    """The change comes 0.3 s into a 10 s wait; the answer follows it, well before the 5 s at which an unheard
    waiter would read its job again on its own (queue.RECHECK_HEARD_SECONDS)."""
    job_id = _queued_job(world, inventory_id)
    changer = _later(0.3, lambda: _progress(job_id, 0.25))

    started = time.monotonic()
    response = world.call("acme-engineer", "GET", f"/api/v1/jobs/{job_id}", params={"wait": 10})
    waited = time.monotonic() - started
    changer.join()

    assert (response.json()["status"], response.json()["progress"]) == ("running", 0.25)
    assert 0.3 <= waited < 2.0 < queue.RECHECK_HEARD_SECONDS


def test_a_finished_job_is_answered_without_waiting(world, inventory_id):
    done = world.calculate("acme-engineer", inventory_id)

    started = time.monotonic()
    response = world.call("acme-engineer", "GET", f"/api/v1/jobs/{done['id']}", params={"wait": 30})

    assert response.json()["status"] == "succeeded" and time.monotonic() - started < 1.0


def test_a_waiting_request_holds_no_database_connection(world, inventory_id):
    job_id = _queued_job(world, inventory_id)
    seen: list[int] = []
    watcher = _later(0.5, lambda: seen.append(get_engine().pool.checkedout()))

    world.call("acme-engineer", "GET", f"/api/v1/jobs/{job_id}", params={"wait": 1})
    watcher.join()

    assert seen == [0]


@pytest.mark.parametrize("wait", ["-1", "31", "soon"])
def test_a_wait_out_of_bounds_is_refused_naming_it(world, inventory_id, wait):
    job_id = _queued_job(world, inventory_id)

    response = world.call("acme-engineer", "GET", f"/api/v1/jobs/{job_id}", params={"wait": wait})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["wait"]


def test_the_events_stream_one_event_per_change_and_ends_with_the_job(world, inventory_id):
    """queued (at once), running 0.5 (a change), succeeded (the end): three `job` events, numbered, then the
    stream closes."""
    job_id = _queued_job(world, inventory_id)

    def finish():
        _progress(job_id, 0.5)
        time.sleep(0.3)
        with session_scope() as session:
            session.execute(update(Job).where(Job.id == job_id).values(status=JobStatus.SUCCEEDED, progress=1.0))
            session.commit()
        queue.job_news.changed(str(job_id))

    changer = _later(0.3, finish)
    started = time.monotonic()
    with world.client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=world.as_("acme-engineer")) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        body = stream.read().decode()
    changer.join()

    events = [block for block in body.split("\n\n") if block.startswith("event: job")]
    states = [json.loads(e.split("data: ", 1)[1]) for e in events]
    assert [(s["status"], s["progress"]) for s in states] == [("queued", 0.0), ("running", 0.5), ("succeeded", 1.0)]
    assert [e.split("\n")[1] for e in events] == ["id: 1", "id: 2", "id: 3"]
    assert time.monotonic() - started < 3.0


def test_another_organisations_job_has_no_events(world, inventory_id):
    job_id = _queued_job(world, inventory_id)

    assert world.call("rival-engineer", "GET", f"/api/v1/jobs/{job_id}/events").status_code == 404


def _wait_once(news: queue.JobNews, job_id: str, seconds: float, after_listening) -> tuple[bool, float]:
    async def run():
        with news.listen(job_id) as listening:
            after_listening()
            started = time.monotonic()
            heard = await listening.wait(seconds)
            return heard, time.monotonic() - started

    return asyncio.run(run())


def test_across_processes_the_news_comes_through_redis(monkeypatch):
    """Two JobNews as in two processes: the worker's publishes on Redis, the API's hears it through its
    subscription (the worker never touches the API's waiters)."""
    monkeypatch.setattr(get_settings(), "task_mode", "celery")
    monkeypatch.setattr(get_settings(), "broker_url", REDIS)
    redis.Redis.from_url(REDIS).ping()
    api, worker = queue.JobNews(), queue.JobNews()
    job_id = str(uuid.uuid4())

    def publish_once_subscribed():
        def later():
            assert api._subscribed.wait(5)
            time.sleep(0.1)
            worker._publish(job_id)

        threading.Thread(target=later).start()

    heard, seconds = _wait_once(api, job_id, 5, publish_once_subscribed)

    assert heard and seconds < 2.0
    assert api.recheck_seconds() == queue.RECHECK_HEARD_SECONDS


def test_without_redis_a_waiter_reads_its_job_every_half_second_and_nothing_fails(monkeypatch, world, inventory_id):
    """Redis on a port where nothing listens: telling of a change raises nothing, the API's subscription stays down,
    so its waiters read their job again every RECHECK_DEAF_SECONDS; a long-poll still answers a change quickly."""
    monkeypatch.setattr(get_settings(), "task_mode", "celery")
    monkeypatch.setattr(get_settings(), "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(get_settings(), "broker_send_timeout_seconds", 0.3)
    news = queue.JobNews()
    monkeypatch.setattr(queue, "job_news", news)
    from footprint_api.api import footprints as api_footprints
    from footprint_api.services import footprints

    monkeypatch.setattr(api_footprints, "job_news", news)
    monkeypatch.setattr(footprints, "job_news", news)
    job_id = _queued_job(world, inventory_id)

    news.changed(str(job_id))  # no Redis: no error

    assert news.recheck_seconds() == queue.RECHECK_DEAF_SECONDS
    changer = _later(0.3, lambda: _write_only(job_id))
    started = time.monotonic()
    response = world.call("acme-engineer", "GET", f"/api/v1/jobs/{job_id}", params={"wait": 10})
    changer.join()
    assert response.json()["progress"] == 0.75
    assert time.monotonic() - started < 0.3 + queue.RECHECK_DEAF_SECONDS + 1.0


def _write_only(job_id: uuid.UUID) -> None:
    """A change committed by another process: nobody in this one is told."""
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job_id).values(progress=0.75, status=JobStatus.RUNNING))
        session.commit()
