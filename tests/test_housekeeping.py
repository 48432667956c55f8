"""The periodic housekeeping task: lost job messages are sent again, expired revocations are forgotten.
(The outbox of jobs the broker never took: tests/test_job_outbox.py.)"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from footprint_api import tasks
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import Job, JobStatus, RevokedToken
from footprint_api.services import jobs
from tests.conftest import load_example
from tests.labelling import unique_serials


def test_beat_schedules_housekeeping():
    schedule = tasks.celery_app.conf.beat_schedule
    assert schedule["housekeeping"]["task"] == "pcf.housekeeping"
    assert "pcf.housekeeping" in tasks.celery_app.tasks


def test_a_queued_job_whose_message_was_lost_is_dispatched_again(world):
    """The broker took the job's message 30 minutes ago and no worker ever claimed it (a broker restarted without
    its data): sent again. One taken a minute ago is still waiting for a worker (less than 10 minutes): left."""
    product = world.product("acme-engineer", "PCR-CN-STEEL")
    inventory = world.submit("acme-engineer", product["id"], load_example("steel-hebei-bfbof-2023.json")).json()
    with session_scope() as session:
        job = Job(
            organisation_id=world.organisations["acme"],
            inventory_id=uuid.UUID(inventory["id"]),
            parameters={"monte_carlo_iterations": 0, "seed": 1},
            created_at=datetime.now(UTC) - timedelta(minutes=30),
            dispatched_at=datetime.now(UTC) - timedelta(minutes=30),
        )
        fresh = Job(
            organisation_id=job.organisation_id,
            inventory_id=job.inventory_id,
            parameters=dict(job.parameters),
            created_at=datetime.now(UTC) - timedelta(minutes=1),
            dispatched_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        session.add_all([job, fresh])
        session.commit()
        lost_id, fresh_id = str(job.id), str(fresh.id)
        session.add(RevokedToken(jti=f"old-{lost_id}", expires_at=datetime.now(UTC) - timedelta(hours=1)))
        session.add(RevokedToken(jti=f"live-{lost_id}", expires_at=datetime.now(UTC) + timedelta(hours=1)))
        session.commit()

    report = jobs.housekeeping()

    assert report["redispatched"] >= 1 and report["revocations_purged"] >= 1
    done = world.wait("acme-engineer", lost_id)
    assert done["status"] == "succeeded" and done["footprint_id"]
    with session_scope() as session:
        assert session.get(Job, uuid.UUID(fresh_id)).status == JobStatus.QUEUED  # taken 1 min ago: left alone
        remaining = set(session.exec(select(RevokedToken.jti)).all())
    assert f"live-{lost_id}" in remaining and f"old-{lost_id}" not in remaining


def test_a_running_job_whose_worker_died_is_taken_over_within_minutes(world):
    """A worker died mid-calculation (the whole worker: no Celery redelivery before the visibility timeout, an
    hour): its lease lapses after PCF_JOB_LEASE_SECONDS (90) and the next housekeeping run (every minute) queues
    the job again and dispatches it; it completes once."""
    product = world.product("acme-engineer", "PCR-CN-STEEL")
    data = unique_serials(load_example("steel-hebei-bfbof-2023.json"))
    inventory = world.submit("acme-engineer", product["id"], data).json()
    died = datetime.now(UTC) - timedelta(minutes=3)
    with session_scope() as session:
        job = Job(
            organisation_id=world.organisations["acme"],
            inventory_id=uuid.UUID(inventory["id"]),
            parameters={"monte_carlo_iterations": 0, "seed": 1},
            status=JobStatus.RUNNING,
            attempts=1,
            started_at=died,
            heartbeat_at=died,
        )
        alive = Job(
            organisation_id=job.organisation_id,
            inventory_id=job.inventory_id,
            parameters=dict(job.parameters),
            status=JobStatus.RUNNING,
            attempts=1,
            started_at=died,
            heartbeat_at=datetime.now(UTC),
        )  # a long calculation, still beating
        session.add_all([job, alive])
        session.commit()
        dead_id, alive_id = str(job.id), str(alive.id)

    report = jobs.housekeeping()

    assert report["leases_expired"] == 1
    done = world.wait("acme-engineer", dead_id)
    assert done["status"] == "succeeded" and done["attempts"] == 2
    with session_scope() as session:
        assert session.get(Job, uuid.UUID(alive_id)).status == JobStatus.RUNNING


def test_a_running_calculation_renews_its_lease(world, monkeypatch):
    import time

    from footprint_api.core.settings import get_settings
    from footprint_api.services import footprints

    monkeypatch.setattr(get_settings(), "job_heartbeat_seconds", 0.05)
    beats = []
    with footprints._lease(uuid.uuid4()):  # a job id that is not running: the beat writes nothing, and survives
        time.sleep(0.3)
        beats.append(True)
    product = world.product("acme-engineer", "PCR-CN-STEEL")
    inventory = world.submit(
        "acme-engineer", product["id"], unique_serials(load_example("steel-hebei-bfbof-2023.json"))
    ).json()
    with session_scope() as session:
        job = Job(
            organisation_id=world.organisations["acme"],
            inventory_id=uuid.UUID(inventory["id"]),
            status=JobStatus.RUNNING,
            started_at=datetime.now(UTC) - timedelta(hours=1),
            heartbeat_at=datetime.now(UTC) - timedelta(hours=1),
        )
        session.add(job)
        session.commit()
        job_id = job.id
    with footprints._lease(job_id):
        time.sleep(0.3)
    with session_scope() as session:
        renewed = session.get(Job, job_id).heartbeat_at
    assert beats and renewed > datetime.now(UTC) - timedelta(seconds=5)
