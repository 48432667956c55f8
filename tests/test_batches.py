"""Batch calculation (issue 22): many inventories in one job on the one engine, footprints written a chunk at a time,
one inventory's failure recorded as its item's error, a batch taken over from a dead worker without a footprint
written twice, and bad lists refused by the place of each bad id with nothing stored."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import func, select

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent, Footprint, Job
from footprint_api.services import footprints, jobs
from tests.conftest import inventory, load_example
from tests.labelling import unique_serials

EXAMPLES = ("aluminium-guizhou-2023.json", "steel-hebei-bfbof-2023.json", "cement-guizhou-2023.json")
PCRS = {"aluminium": "PCR-CN-ALUMINIUM", "steel": "PCR-CN-STEEL", "cement": "PCR-CN-CEMENT"}


@pytest.fixture(scope="module")
def inventories(world) -> list[tuple[str, dict]]:
    """Acme's inventories of three products: (id, the submitted data)."""
    made = []
    for example in EXAMPLES:
        product = world.product("acme-engineer", PCRS[example.split("-")[0]], example)
        for _ in range(2):
            data = unique_serials(load_example(example))
            response = world.submit("acme-engineer", product["id"], data)
            assert response.status_code == 201, response.text
            made.append((response.json()["id"], data))
    return made


def _wait_batch(world, batch_id: str, seconds: float = 60) -> dict:
    job = world.call("acme-engineer", "GET", f"/api/v1/jobs/{batch_id}", params={"wait": 10}).json()
    deadline = datetime.now(UTC) + timedelta(seconds=seconds)
    while job["status"] not in ("succeeded", "failed") and datetime.now(UTC) < deadline:
        job = world.call("acme-engineer", "GET", f"/api/v1/jobs/{batch_id}", params={"wait": 10}).json()
    return world.call("acme-engineer", "GET", f"/api/v1/batches/{batch_id}").json()


def _actions(object_id) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEvent.action).where(AuditEvent.object_id == str(object_id)).order_by(AuditEvent.seq)
            )
        )


def test_a_batch_calculates_every_inventory_as_the_engine_does_alone(world, engine, inventories):
    """Six inventories of three products (one listed twice: seven items) in one job; each item's footprint total is
    the engine's own calculation of that inventory, computed here directly (the batch runs no other arithmetic)."""
    ids = [i for i, _ in inventories] + [inventories[0][0]]

    response = world.call("acme-engineer", "POST", "/api/v1/batches", json={"inventory_ids": ids})

    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/batches/{response.json()['id']}"
    batch = _wait_batch(world, response.json()["id"])
    assert (batch["status"], batch["inventories"], batch["succeeded"], batch["failed"]) == ("succeeded", 7, 7, 0)
    assert batch["progress"] == 1.0 and batch["error"] is None
    assert [item["position"] for item in batch["items"]] == list(range(7))
    data = dict(inventories)
    for item in batch["items"]:
        assert item["inventory_id"] == ids[item["position"]]
        stored = world.call("acme-engineer", "GET", f"/api/v1/footprints/{item['footprint_id']}").json()
        expected = engine.calculate(inventory(data[item["inventory_id"]])).total_kg_co2e
        assert stored["total_kg_co2e"] == pytest.approx(expected, rel=1e-12)
        assert stored["inventory_id"] == item["inventory_id"]
    assert len({item["footprint_id"] for item in batch["items"]}) == 7  # the inventory listed twice: two footprints
    assert _actions(batch["id"]) == ["job.queued", "job.started", "job.succeeded"]
    assert _actions(batch["items"][3]["footprint_id"]) == ["footprint.stored"]


def test_one_failing_inventory_is_recorded_on_its_item_and_the_others_are_stored(world, inventories):
    """The engine refuses the second inventory (a calculation that raises): its item says why, the batch succeeds
    with the other two, and its summary counts one failure."""
    ids = [i for i, _ in inventories[:3]]
    with session_scope() as session:
        job = footprints.request_batch(session, _principal(world), [uuid.UUID(i) for i in ids])

    calls = {"n": 0}

    def refusing_the_second(inv, iterations, seed, progress, suppliers=None):
        calls["n"] += 1  # the items are calculated in the list's order
        if calls["n"] == 2:
            raise ValueError("the engine refuses this one")
        return jobs.calculate(inv, iterations, seed, progress, suppliers=suppliers)

    with session_scope() as session:
        footprints.run_job(session, job.id, refusing_the_second)

    batch = world.call("acme-engineer", "GET", f"/api/v1/batches/{job.id}").json()
    assert (batch["status"], batch["succeeded"], batch["failed"]) == ("succeeded", 2, 1)
    assert batch["error"] == "1 of 3 inventories failed"
    failed = batch["items"][1]
    assert failed["status"] == "failed" and failed["footprint_id"] is None
    assert failed["error"] == "ValueError: the engine refuses this one"
    assert all(item["footprint_id"] for i, item in enumerate(batch["items"]) if i != 1)


class WorkerDied(BaseException):
    """What a killed worker's run looks like from here: the run stops, nothing after it runs."""


def test_a_batch_whose_worker_died_is_taken_over_without_writing_a_footprint_twice(world, inventories, monkeypatch):
    """Chunks of 2: the first run dies on its 4th inventory, after the first chunk (2 footprints) was written. Its
    lease lapses; the next delivery claims the batch (attempt 2), skips the 2 written items and writes the other 4:
    6 items, 6 footprints, the first two unchanged."""
    monkeypatch.setattr(footprints, "BATCH_CHUNK", 2)
    ids = [uuid.UUID(i) for i, _ in inventories]
    with session_scope() as session:
        job = footprints.request_batch(session, _principal(world), ids)
    calls = {"n": 0}

    def dying(inv, iterations, seed, progress, suppliers=None):
        calls["n"] += 1
        if calls["n"] == 4:
            raise WorkerDied
        return jobs.calculate(inv, iterations, seed, progress, suppliers=suppliers)

    with pytest.raises(WorkerDied), session_scope() as session:
        footprints.run_job(session, job.id, dying)
    first = world.call("acme-engineer", "GET", f"/api/v1/batches/{job.id}").json()
    assert (first["status"], len(first["items"]), first["progress"]) == ("running", 2, pytest.approx(2 / 6, abs=1e-3))
    with session_scope() as session:  # its lease lapses (the worker stopped beating)
        died = datetime.now(UTC) - timedelta(minutes=5)
        session.execute(update(Job).where(Job.id == job.id).values(heartbeat_at=died, started_at=died))
        session.commit()

    jobs.run_calculation_job(str(job.id))

    batch = world.call("acme-engineer", "GET", f"/api/v1/batches/{job.id}").json()
    assert (batch["status"], batch["attempts"], batch["succeeded"], len(batch["items"])) == ("succeeded", 2, 6, 6)
    assert [item["footprint_id"] for item in batch["items"][:2]] == [item["footprint_id"] for item in first["items"]]
    with session_scope() as session:
        items = select(Job.id).where(Job.batch_id == job.id)
        stored = session.exec(select(func.count()).select_from(Footprint).where(Footprint.job_id.in_(items))).one()
    assert stored == 6
    assert _actions(job.id) == ["job.queued", "job.started", "job.started", "job.succeeded"]


def test_ids_that_are_not_the_callers_inventories_are_refused_each_by_its_place(world, inventories):
    """Position 1 is rival's inventory, position 2 no inventory at all: both named, the same reason (whether an id
    exists elsewhere is not revealed); no job is stored."""
    rival_product = world.product("rival-engineer", "PCR-CN-ALUMINIUM", "rival smelter")
    rival = world.submit("rival-engineer", rival_product["id"], unique_serials(load_example(EXAMPLES[0]))).json()
    ids = [inventories[0][0], rival["id"], str(uuid.uuid4())]
    with session_scope() as session:
        before = session.exec(select(func.count()).select_from(Job)).one()

    response = world.call("acme-engineer", "POST", "/api/v1/batches", json={"inventory_ids": ids})

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["inventory_ids[1]", "inventory_ids[2]"]
    assert errors[0]["reason"] == errors[1]["reason"] == "no such inventory in your organisation"
    assert rival["id"] not in response.text
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(Job)).one() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"inventory_ids": []}, "inventory_ids"),
        ({"inventory_ids": [str(uuid.uuid4())] * 5001}, "inventory_ids"),
        ({"inventory_ids": ["not-a-uuid"]}, "inventory_ids[0]"),
        ({"inventory_ids": [str(uuid.uuid4())], "monte_carlo_iterations": -1}, "monte_carlo_iterations"),
    ],
)
def test_a_list_out_of_bounds_is_refused_naming_the_field(world, body, field):
    response = world.call("acme-engineer", "POST", "/api/v1/batches", json=body)

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_the_batch_of_another_organisation_and_a_job_that_is_no_batch_are_not_found(world, inventories):
    response = world.call("acme-engineer", "POST", "/api/v1/batches", json={"inventory_ids": [inventories[0][0]]})
    batch_id = response.json()["id"]
    single = world.calculate("acme-engineer", inventories[0][0])

    assert world.call("rival-engineer", "GET", f"/api/v1/batches/{batch_id}").status_code == 404
    assert world.call("rival-engineer", "GET", f"/api/v1/jobs/{batch_id}").status_code == 404
    assert world.call("acme-engineer", "GET", f"/api/v1/batches/{single['id']}").status_code == 404
    assert (
        world.call("cb-verifier", "POST", "/api/v1/batches", json={"inventory_ids": [inventories[0][0]]}).status_code
        == 403
    )


def _principal(world):
    from footprint_api.core.settings import get_settings
    from footprint_api.infra.security import read_token

    return read_token(world.token("acme-engineer"), get_settings().signing_key())
