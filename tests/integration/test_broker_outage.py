"""The broker goes away and comes back (issue 19, item 2), for real: a private redis-server (never the machine's
shared one) is killed with SIGKILL under a Celery worker that is calculating, calculations are requested while it
is down, and it is started again empty, as a broker that lost its data.

Every request answers 202 and its job runs exactly once (sent from the outbox by the housekeeping task); the worker
process lives through it and takes new jobs; a job sent twice runs once.
"""

import time
import uuid

import httpx
import pytest
from sqlmodel import select

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent, Footprint, Job, JobStatus
from footprint_api.services import jobs
from tests.conftest import load_example
from tests.processes import RedisServer, api_process, free_port, wait_ready, worker_process
from tests.service import World, seed_world
from tests.test_api_inventories import unique_serials

pytestmark = pytest.mark.integration

REQUESTS_WHILE_DOWN = 5


@pytest.fixture(scope="module")
def outage_stack(stack_env, own_database, tmp_path_factory):
    """The API and one worker on a database of this module's own, with a private Redis as their broker; a 10 s
    lease renewed every second, so a second delivery looks again within seconds."""
    from tests.service import configure

    logs = tmp_path_factory.mktemp("broker-outage-logs")
    redis = RedisServer().start()
    env = {
        **stack_env,
        "PCF_DATABASE_URL": own_database,
        "PCF_BROKER_URL": redis.url,
        "PCF_JOB_LEASE_SECONDS": "10",
        "PCF_JOB_HEARTBEAT_SECONDS": "1",
        "PCF_BROKER_SEND_TIMEOUT_SECONDS": "1",
    }
    configure(
        own_database, **{k: env[k] for k in ("PCF_TASK_MODE", "PCF_BROKER_URL", "PCF_VISIBILITY_TIMEOUT_SECONDS")}
    )
    port = free_port()
    api = api_process(env, port, logs).start()
    worker = worker_process(env, logs, name="outage-worker").start()
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", api)
        world = World(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30), seed_world())
        yield world, redis, worker, env
    finally:
        for process in (api, worker):
            process.stop()
        redis.destroy()


def _inventory(world: World, name: str) -> str:
    product = world.product("acme-engineer", "PCR-CN-ALUMINIUM", name)
    submitted = world.submit(
        "acme-engineer", product["id"], unique_serials(load_example("aluminium-guizhou-2023.json"))
    )
    assert submitted.status_code == 201, submitted.text
    return submitted.json()["id"]


def _post(world: World, inventory_id: str, **body) -> httpx.Response:
    return world.call("acme-engineer", "POST", f"/api/v1/inventories/{inventory_id}/calculations", json=body)


def _starts(job_id: str) -> int:
    with session_scope() as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.object_id == job_id)).all()
    return list(actions).count("job.started")


def _beat(env: dict) -> None:
    """What the beat does every minute: sends the housekeeping task through the broker to the worker."""
    from celery import Celery

    app = Celery("pcf-beat", broker=env["PCF_BROKER_URL"])
    try:
        app.send_task(jobs.HOUSEKEEPING, queue="pcf")
    finally:
        app.close()


def _wait_for_worker(world: World, env: dict, worker, timeout: float = 90) -> None:
    """Until the worker takes work again: a calculation requested now completes."""
    inventory_id = _inventory(world, "probe")
    job = _post(world, inventory_id)
    assert job.status_code == 202, job.text
    done = world.wait("acme-engineer", job.json()["id"], timeout=timeout)
    assert done["status"] == "succeeded", (done, worker.tail())


def test_jobs_requested_while_the_broker_is_down_are_accepted_and_each_runs_once(outage_stack):
    world, redis, worker, env = outage_stack
    _wait_for_worker(world, env, worker)
    running_inventory = _inventory(world, "running through the outage")
    running = _post(world, running_inventory, monte_carlo_iterations=3000).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the worker holds the message unacknowledged while it calculates
        state = world.call("acme-engineer", "GET", f"/api/v1/jobs/{running['id']}").json()
        if state["status"] == "running" and state["progress"] > 0:
            break
        time.sleep(0.05)
    assert state["status"] == "running", (state, worker.tail())

    redis.kill()
    inventories = [_inventory(world, f"while down {i}") for i in range(REQUESTS_WHILE_DOWN)]
    answers = [_post(world, inventory_id) for inventory_id in inventories]

    assert [a.status_code for a in answers] == [202] * REQUESTS_WHILE_DOWN, [a.text for a in answers]
    accepted = [a.json()["id"] for a in answers]
    with session_scope() as session:
        stored = session.exec(select(Job).where(Job.inventory_id.in_([uuid.UUID(i) for i in inventories]))).all()
    assert sorted(str(j.id) for j in stored) == sorted(accepted)  # one job per request, nothing more
    assert all(j.status is JobStatus.QUEUED and j.dispatched_at is None for j in stored)  # in the outbox

    time.sleep(jobs.OUTBOX_GRACE_SECONDS)  # the outbox sends jobs older than its grace
    redis.start()  # empty: every message it held is gone
    assert worker.process.poll() is None, worker.tail(80)
    _beat(env)

    done = [world.wait("acme-engineer", job_id, timeout=120) for job_id in [*accepted, running["id"]]]
    assert [d["status"] for d in done] == ["succeeded"] * (REQUESTS_WHILE_DOWN + 1), (done, worker.tail(80))
    assert [d["attempts"] for d in done] == [1] * (REQUESTS_WHILE_DOWN + 1)
    assert [_starts(job_id) for job_id in [*accepted, running["id"]]] == [1] * (REQUESTS_WHILE_DOWN + 1)
    with session_scope() as session:
        for job_id in accepted:
            results = session.exec(select(Footprint).where(Footprint.job_id == uuid.UUID(job_id))).all()
            assert len(results) == 1
            assert session.get(Job, uuid.UUID(job_id)).dispatched_at is not None  # out of the outbox


def test_the_worker_lives_through_the_restart_and_takes_new_jobs_at_once(outage_stack):
    """After the broker's restart the same worker process (no replacement, no supervisor) calculates a new job,
    sent by its request, without the housekeeping task; its log shows no unrecoverable error."""
    world, redis, worker, _ = outage_stack
    redis.kill()
    time.sleep(2)  # the worker notices and keeps trying to reconnect
    redis.start()
    pid = worker.process.pid

    inventory_id = _inventory(world, "after the restart")
    answer = _post(world, inventory_id)
    assert answer.status_code == 202, answer.text
    done = world.wait("acme-engineer", answer.json()["id"], timeout=90)

    assert done["status"] == "succeeded" and done["attempts"] == 1, (done, worker.tail(80))
    assert worker.process.poll() is None and worker.process.pid == pid
    with session_scope() as session:
        assert session.get(Job, uuid.UUID(done["id"])).dispatched_at is not None  # sent by its request
    log = worker.log.read_text(errors="replace")
    assert "Unrecoverable error" not in log and "AttributeError" not in log, worker.tail(80)


def test_a_job_sent_twice_through_the_broker_runs_once(outage_stack):
    """The request sends the job and the same message is sent again at once (the housekeeping's send racing the
    request's): the worker runs it once, one start in the audit trail, one footprint."""
    from celery import Celery

    world, _, worker, env = outage_stack
    inventory_id = _inventory(world, "sent twice")
    answer = _post(world, inventory_id, monte_carlo_iterations=500)
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    again = Celery("pcf-again", broker=env["PCF_BROKER_URL"])
    try:
        again.send_task(jobs.CALCULATE, args=[job_id], queue="pcf")
    finally:
        again.close()

    done = world.wait("acme-engineer", job_id, timeout=90)
    time.sleep(12)  # the second delivery, told the lease is held, looks again after the 10 s lease: it finds it done

    assert done["status"] == "succeeded", (done, worker.tail(80))
    with session_scope() as session:
        job = session.get(Job, uuid.UUID(job_id))
        results = session.exec(select(Footprint).where(Footprint.job_id == job.id)).all()
    assert (job.attempts, len(results), _starts(job_id)) == (1, 1, 1), worker.tail(80)
