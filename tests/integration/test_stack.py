"""The production-shaped stack end to end: PostgreSQL, a Celery worker on Redis, the API over HTTP."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import EXAMPLES, inventory, load_example
from tests.processes import worker_process
from tests.test_api_inventories import unique_serials

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("example", [p.name for p in EXAMPLES])
def test_submit_calculate_result_for_each_category(stack, engine, example):
    world = stack[0]
    data = unique_serials(load_example(example))
    product = world.product("acme-engineer", data["pcr"]["id"], example)
    submitted = world.submit("acme-engineer", product["id"], data)
    assert submitted.status_code == 201, submitted.text
    job = world.calculate("acme-engineer", submitted.json()["id"], timeout=120)
    assert job["status"] == "succeeded", job
    footprint = world.call("acme-engineer", "GET", f"/api/v1/footprints/{job['footprint_id']}").json()
    assert footprint["total_kg_co2e"] == pytest.approx(engine.calculate(inventory(data)).total_kg_co2e, rel=1e-12)


def test_fifty_simultaneous_retirements_of_one_serial_one_wins(stack):
    world = stack[0]
    serial = f"GEC-RACE-{uuid.uuid4().hex[:10]}-0001"  # the batch 0001..1000
    products = [world.product("acme-engineer", "PCR-CN-ALUMINIUM", f"race {i}")["id"] for i in range(50)]
    data = load_example("aluminium-guizhou-2023.json")
    data["green_certificates"] = [
        {
            "serial": serial,
            "amount_mwh": 1000,
            "technology": "wind",
            "generation_month": "2023-05",
            "province": "Guizhou",
        }
    ]
    headers = world.as_("acme-engineer")
    start = threading.Barrier(50)

    def retire(product_id: str) -> int:
        with httpx.Client(base_url=str(world.client.base_url), timeout=60, headers=headers) as client:
            start.wait()
            return client.post("/api/v1/inventories", json={"product_id": product_id, "inventory": data}).status_code

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(retire, products))
    assert statuses.count(201) == 1 and statuses.count(409) == 49, statuses
    retired = [
        r
        for r in world.call("acme-engineer", "GET", "/api/v1/certificates/retirements").json()
        if r["serial"] == serial
    ]
    assert len(retired) == 1


def test_twenty_simultaneous_versions_of_one_product_get_twenty_numbers(stack):
    """PostgreSQL checks the unique (product, version) at the flush: each clash is retried with the next number,
    never a 500 (issue 11 item 6)."""
    world = stack[0]
    product = world.product("acme-engineer", "PCR-CN-CEMENT", "twenty versions")["id"]
    headers = world.as_("acme-engineer")
    start = threading.Barrier(20)

    def submit(_: int) -> int:
        data = unique_serials(load_example("cement-guizhou-2023.json"))
        with httpx.Client(base_url=str(world.client.base_url), timeout=60, headers=headers) as client:
            start.wait()
            return client.post("/api/v1/inventories", json={"product_id": product, "inventory": data}).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(submit, range(20)))
    assert statuses == [201] * 20, statuses
    versions = [
        i["version"]
        for i in world.call("acme-engineer", "GET", "/api/v1/inventories").json()
        if i["product_id"] == product
    ]
    assert sorted(versions) == list(range(1, 21))


def test_a_worker_killed_mid_calculation_still_completes_the_job_once(stack):
    world, env, logs, worker = stack
    data = unique_serials(load_example("aluminium-guizhou-2023.json"))
    product = world.product("acme-engineer", "PCR-CN-ALUMINIUM", "fault")
    submitted = world.submit("acme-engineer", product["id"], data).json()
    job = world.call(
        "acme-engineer",
        "POST",
        f"/api/v1/inventories/{submitted['id']}/calculations",
        json={"monte_carlo_iterations": 2500},
    ).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the Monte Carlo run is under way
        state = world.call("acme-engineer", "GET", f"/api/v1/jobs/{job['id']}").json()
        if state["status"] == "running" and state["progress"] > 0:
            break
        time.sleep(0.05)
    assert state["status"] == "running", (state, worker.tail())
    worker.kill()
    replacement = worker_process(env, logs, name="replacement").start()
    try:
        done = world.wait("acme-engineer", job["id"], timeout=120)
    finally:
        replacement.stop()
    assert done["status"] == "succeeded", (done, replacement.tail())
    assert done["attempts"] >= 2
    mine = [
        f
        for f in world.call("acme-engineer", "GET", "/api/v1/footprints").json()
        if f["inventory_id"] == submitted["id"]
    ]
    assert [f["id"] for f in mine] == [done["footprint_id"]]
    # the stack keeps a worker for the tests after this one
    stack[3].start()


def test_postgres_itself_refuses_to_change_the_audit_trail(stack):
    import psycopg

    from footprint_api.core.settings import get_settings

    url = get_settings().database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        connection.execute("UPDATE audit_event SET action = 'forged'")
    assert world_chain_intact(stack[0])


def world_chain_intact(world) -> bool:
    return world.call("root", "GET", "/api/v1/audit/verify").json()["intact"]


def test_labels_issued_at_the_same_time_get_distinct_consecutive_numbers(stack):
    """Eight approved applications issued at once on PostgreSQL: the unique (year, sequence) decides, the loser
    of a race takes the next number, and every label verifies over HTTP."""
    from tests.labelling import act, calculated_footprint

    world = stack[0]
    applications = []
    for _ in range(8):
        footprint = calculated_footprint(world, gtin=None)
        application = world.call(
            "acme-engineer",
            "POST",
            "/api/v1/applications",
            json={"footprint_id": footprint["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
        )
        applications.append(application.json()["id"])
        for user, action in (("acme-engineer", "submit"), ("cb-verifier", "start_review"), ("cb-verifier", "approve")):
            assert act(world, user, applications[-1], action).status_code == 200
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda a: act(world, "cb-verifier", a, "issue_label"), applications))
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    labels = [
        label
        for label in world.call("cb-verifier", "GET", "/api/v1/labels").json()
        if label["application_id"] in applications
    ]
    sequences = sorted(int(label["number"].split("-")[2]) for label in labels)
    assert len(set(sequences)) == 8 and sequences == list(range(sequences[0], sequences[0] + 8))
    for label in labels:
        assert world.client.get(f"/api/v1/public/labels/{label['number']}").json()["status"] == "VALID"


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE audit_event",
        "DELETE FROM audit_event",
        "UPDATE audit_event SET action = 'forged'",
        "TRUNCATE audit_checkpoint",
    ],
)
def test_postgresql_refuses_to_rewrite_the_audit_trail(stack, statement):
    import psycopg

    world, env = stack[0], stack[1]
    world.product("acme-engineer", "PCR-CN-STEEL", "audited")
    assert world.call("root", "GET", "/api/v1/audit/verify").json()["intact"]
    url = env["PCF_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        connection.execute(statement)
