"""A calculation job is stored with an outbox mark and sent after the commit: a broker that does not take it leaves
the job queued and unsent (the request still answers 202), the housekeeping task sends it, and a job sent twice runs
once (issue 19, item 2)."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from footprint_api.core.settings import get_settings
from footprint_api.infra import queue
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent, Footprint, Job, JobStatus
from footprint_api.services import footprints, jobs
from tests.conftest import load_example
from tests.labelling import unique_serials
from tests.processes import free_port


def _inventory(world) -> str:
    product = world.product("acme-engineer", "PCR-CN-STEEL")
    data = unique_serials(load_example("steel-hebei-bfbof-2023.json"))
    response = world.submit("acme-engineer", product["id"], data)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _job(world, inventory_id: str, **fields) -> uuid.UUID:
    with session_scope() as session:
        job = Job(
            organisation_id=world.organisations["acme"],
            inventory_id=uuid.UUID(inventory_id),
            parameters={"monte_carlo_iterations": 0, "seed": 1},
            **fields,
        )
        session.add(job)
        session.commit()
        return job.id


def _actions(job_id: uuid.UUID) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(select(AuditEvent.action).where(AuditEvent.object_id == str(job_id)).order_by(AuditEvent.seq))
        )


@pytest.fixture
def broker_down(monkeypatch):
    """Celery mode with the broker on a port where nothing listens: every send is refused (a real connection
    refusal, not a stand-in)."""
    monkeypatch.setattr(get_settings(), "task_mode", "celery")
    monkeypatch.setattr(get_settings(), "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(get_settings(), "broker_send_timeout_seconds", 0.5)
    refusing = queue.make_celery()
    monkeypatch.setattr(queue, "celery_app", refusing)
    yield
    refusing.close()


def test_a_job_the_broker_refuses_is_accepted_and_left_in_the_outbox(world, broker_down):
    inventory_id = _inventory(world)

    response = world.call("acme-engineer", "POST", f"/api/v1/inventories/{inventory_id}/calculations", json={})

    assert response.status_code == 202, response.text
    job_id = uuid.UUID(response.json()["id"])
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.dispatched_at, job.attempts) == (JobStatus.QUEUED, None, 0)
    assert _actions(job_id) == ["job.queued"]


def test_the_calculate_button_leads_to_the_job_page_when_the_broker_refuses(world, broker_down):
    from footprint_api.app import create_app
    from tests.web_client import Browser

    inventory_id = _inventory(world)
    engineer = Browser(create_app(), "acme-engineer")

    response = engineer.post_form(
        f"/app/inventories/{inventory_id}",
        f"/app/inventories/{inventory_id}/calculate",
        {"monte_carlo_iterations": "0"},
    )

    assert response.status_code == 303, response.text
    job_id = uuid.UUID(response.headers["location"].rsplit("/", 1)[1])
    with session_scope() as session:
        assert session.get(Job, job_id).dispatched_at is None
    assert _actions(job_id) == ["job.queued"]


def test_housekeeping_sends_the_outbox_and_the_job_then_runs_once(world):
    """A job left unsent 30 s ago (the broker was down) is sent by the next housekeeping run, marked sent, and
    runs; a second housekeeping run does not send it again."""
    inventory_id = _inventory(world)
    job_id = _job(world, inventory_id, created_at=datetime.now(UTC) - timedelta(seconds=30))

    first = jobs.housekeeping()

    assert first["outbox_sent"] >= 1 and first["not_sent"] == 0
    done = world.wait("acme-engineer", str(job_id))
    assert done["status"] == "succeeded" and done["attempts"] == 1
    with session_scope() as session:
        assert session.get(Job, job_id).dispatched_at is not None
    assert _actions(job_id).count("job.sent_again") == 1 and _actions(job_id).count("job.started") == 1
    jobs.housekeeping()
    assert _actions(job_id).count("job.sent_again") == 1


def test_a_job_younger_than_the_outbox_grace_is_left_to_its_own_request(world):
    inventory_id = _inventory(world)
    job_id = _job(world, inventory_id)  # written just now: its request is sending it

    jobs.housekeeping()

    with session_scope() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.dispatched_at) == (JobStatus.QUEUED, None)


def test_housekeeping_stops_at_a_refusing_broker_and_leaves_the_outbox_as_it_was(world, broker_down):
    inventory_id = _inventory(world)
    job_id = _job(world, inventory_id, created_at=datetime.now(UTC) - timedelta(seconds=30))

    report = jobs.housekeeping()

    assert report["not_sent"] >= 1 and report["redispatched"] == 0
    with session_scope() as session:
        assert session.get(Job, job_id).dispatched_at is None
    assert "job.sent_again" not in _actions(job_id)


def test_the_request_that_sent_its_job_takes_it_out_of_the_outbox(world):
    inventory_id = _inventory(world)

    done = world.calculate("acme-engineer", inventory_id)

    with session_scope() as session:
        job = session.get(Job, uuid.UUID(done["id"]))
        assert job.dispatched_at is not None and job.dispatched_at >= job.created_at


def test_a_job_sent_twice_at_once_runs_once(world):
    """Two deliveries of one job start together on two threads (the request's send and the housekeeping's):
    one claims it, the other finds it claimed; one attempt, one start in the audit trail, one footprint."""
    inventory_id = _inventory(world)
    job_id = _job(world, inventory_id)
    start = threading.Barrier(2)
    outcomes = []

    def deliver() -> None:
        start.wait()
        try:
            outcomes.append(jobs.run_calculation_job(str(job_id)))
        except footprints.LeaseHeld:
            outcomes.append("lease held")

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    with session_scope() as session:
        job = session.get(Job, job_id)
        stored = session.exec(select(Footprint).where(Footprint.job_id == job_id)).all()
    assert (job.status, job.attempts, len(stored)) == (JobStatus.SUCCEEDED, 1, 1)
    assert _actions(job_id).count("job.started") == 1
    # the second delivery met the first running ("lease held") or, later, finished (its footprint, not recomputed)
    assert str(stored[0].id) in outcomes and set(outcomes) <= {str(stored[0].id), "lease held"}


def test_a_delivery_while_the_job_runs_under_a_live_lease_does_not_claim_it(world):
    """The lease is 90 s; the running job's heartbeat is 30 s old: the second delivery is told to look again in
    90 - 30 = 60 s, and the job is untouched."""
    inventory_id = _inventory(world)
    beat = datetime.now(UTC) - timedelta(seconds=30)
    job_id = _job(world, inventory_id, status=JobStatus.RUNNING, attempts=1, started_at=beat, heartbeat_at=beat)

    with session_scope() as session, pytest.raises(footprints.LeaseHeld) as held:
        footprints._claim(session, job_id, lease_seconds=90)

    assert held.value.seconds_left == pytest.approx(60, abs=2)
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
    assert _actions(job_id) == []


def test_a_delivery_after_the_lease_lapsed_takes_the_job_over(world):
    """The heartbeat is 3 minutes old, past the 90 s lease: its worker died; this delivery claims it (attempt 2)."""
    inventory_id = _inventory(world)
    died = datetime.now(UTC) - timedelta(minutes=3)
    job_id = _job(world, inventory_id, status=JobStatus.RUNNING, attempts=1, started_at=died, heartbeat_at=died)

    with session_scope() as session:
        job = footprints._claim(session, job_id, lease_seconds=90)
        assert (job.status, job.attempts) == (JobStatus.RUNNING, 2)

    assert _actions(job_id) == ["job.started"]


def test_a_finished_job_delivered_again_returns_its_footprint_without_running(world):
    inventory_id = _inventory(world)
    done = world.calculate("acme-engineer", inventory_id)

    again = jobs.run_calculation_job(done["id"])

    assert again == done["footprint_id"]
    with session_scope() as session:
        assert session.get(Job, uuid.UUID(done["id"])).attempts == 1


def test_a_refused_pact_answer_leaves_the_event_accepted(world, broker_down, caplog):
    """The answering of a stored PACT request is sent after the request's commit; a broker that refuses it does not
    turn the accepted event into a server error (the housekeeping task sends it later)."""
    jobs.dispatch_pact_answer(str(uuid.uuid4()))

    assert any("housekeeping task sends it" in r.getMessage() for r in caplog.records)


def test_the_worker_keeps_reconnecting_to_the_broker_however_long_it_is_away():
    from footprint_api import tasks

    conf = tasks.celery_app.conf
    assert conf.broker_connection_retry and conf.broker_connection_retry_on_startup
    assert conf.broker_connection_max_retries is None
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert tasks.celery_app.tasks[jobs.CALCULATE].max_retries is None
