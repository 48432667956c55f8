"""The periodic housekeeping task: lost job messages are sent again, expired revocations are forgotten."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from footprint_api import tasks
from footprint_api.db import session_scope
from footprint_api.models import Job, JobStatus, RevokedToken
from tests.conftest import load_example


def test_beat_schedules_housekeeping():
    schedule = tasks.celery_app.conf.beat_schedule
    assert schedule["housekeeping"]["task"] == "pcf.housekeeping"
    assert "pcf.housekeeping" in tasks.celery_app.tasks


def test_a_queued_job_whose_message_was_lost_is_dispatched_again(world):
    product = world.product("acme-engineer", "PCR-CN-STEEL")
    inventory = world.submit("acme-engineer", product["id"], load_example("steel-hebei-bfbof-2023.json")).json()
    with session_scope() as session:  # a job row written, its message never sent (a crash between the two)
        job = Job(organisation_id=world.organisations["acme"], inventory_id=uuid.UUID(inventory["id"]),
                  parameters={"monte_carlo_iterations": 0, "seed": 1},
                  created_at=datetime.now(UTC) - timedelta(minutes=30))
        fresh = Job(organisation_id=job.organisation_id, inventory_id=job.inventory_id,
                    parameters=dict(job.parameters))
        session.add_all([job, fresh])
        session.commit()
        lost_id, fresh_id = str(job.id), str(fresh.id)
        session.add(RevokedToken(jti=f"old-{lost_id}", expires_at=datetime.now(UTC) - timedelta(hours=1)))
        session.add(RevokedToken(jti=f"live-{lost_id}", expires_at=datetime.now(UTC) + timedelta(hours=1)))
        session.commit()

    report = tasks.housekeeping()

    assert report["redispatched"] >= 1 and report["revocations_purged"] >= 1
    done = world.wait("acme-engineer", lost_id)
    assert done["status"] == "succeeded" and done["footprint_id"]
    with session_scope() as session:
        assert session.get(Job, uuid.UUID(fresh_id)).status == JobStatus.QUEUED  # younger than 10 min: left alone
        remaining = set(session.exec(select(RevokedToken.jti)).all())
    assert f"live-{lost_id}" in remaining and f"old-{lost_id}" not in remaining
