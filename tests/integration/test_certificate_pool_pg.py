"""The certificate pool on PostgreSQL: the exclusion constraint decides between concurrent submissions of
overlapping serial ranges, and refuses an overlapping row written past the service."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.builders import certificate, inventory_data, item

pytestmark = pytest.mark.integration

ITEMS = [
    item("grid_electricity", 13_500_000, "kWh"),
    item("alumina", 1_920, "t", supplier_pcf_kg_co2e_per_unit=1_500),
    item("anode_net_consumption", 410, "t"),
    item("anode_effect_minutes", 0.1, "minute/day"),
]


def test_fifty_concurrent_overlapping_ranges_one_is_retired(stack):
    """Submission i (i = 0..49) retires the batch prefix 000001+i .. 001000+i (1,000 MWh); every two of them share
    at least the numbers 000050..001000. 25 products of acme, 25 of rival, each its own claim: exactly one 201,
    49 x 409 naming green_certificates[0].serial, no 5xx; one batch retired."""
    world = stack[0]
    prefix = f"GEC-RACE-{uuid.uuid4().hex[:10]}-"
    users = ["acme-engineer"] * 25 + ["rival-engineer"] * 25
    products = [world.product(user, "PCR-CN-ALUMINIUM", f"pool race {i}")["id"] for i, user in enumerate(users)]
    start = threading.Barrier(50)

    def submit(i: int) -> httpx.Response:
        data = inventory_data(
            "PCR-CN-ALUMINIUM",
            1000,
            "t",
            ITEMS,
            green_certificates=[certificate(f"{prefix}{1 + i:06d}", 1000, serial_last=f"{prefix}{1000 + i:06d}")],
        )
        with httpx.Client(base_url=str(world.client.base_url), timeout=120, headers=world.as_(users[i])) as client:
            start.wait()
            return client.post("/api/v1/inventories", json={"product_id": products[i], "inventory": data})

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(submit, range(50)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1 and statuses.count(409) == 49, statuses
    for response in responses:
        if response.status_code == 409:
            assert [e["field"] for e in response.json()["errors"]] == ["inventory.green_certificates[0].serial"]
    retired = [
        r
        for user in ("acme-engineer", "rival-engineer")
        for r in world.call(user, "GET", "/api/v1/certificates/retirements").json()
        if r["serial"].startswith(prefix)
    ]
    assert len(retired) == 1 and retired[0]["batch_mwh"] == 1000 and retired[0]["drawn_mwh"] == 1000


def test_the_exclusion_constraint_refuses_an_overlapping_row_written_directly(stack):
    """Past the service: a copy of a retired batch 000001..000100 shifted to 000100..000199 (sharing 000100)
    is refused by ex_certificate_retirement_overlap; shifted to 000101..000200 it is accepted (then removed)."""
    world, env = stack[0], stack[1]
    prefix = f"GEC-DIRECT-{uuid.uuid4().hex[:10]}-"
    product = world.product("acme-engineer", "PCR-CN-ALUMINIUM", "direct insert")
    data = inventory_data(
        "PCR-CN-ALUMINIUM",
        1000,
        "t",
        ITEMS,
        green_certificates=[certificate(f"{prefix}000001", 100, serial_last=f"{prefix}000100")],
    )
    assert world.submit("acme-engineer", product["id"], data).status_code == 201
    columns = (
        "serial_last, serial_prefix, batch_mwh, drawn_mwh, technology, generation_month, province, plant, "
        "instrument, organisation_id, facility_id, product_id, period_start, period_end, inventory_id, "
        "retired_by, retired_at"
    )
    copy = sa.text(
        f"INSERT INTO certificate_retirement (id, serial, serial_first_number, serial_last_number, "
        f"{columns}) SELECT :id, :serial, :first, :last, {columns} FROM certificate_retirement "
        f"WHERE serial = :original"
    )
    engine = sa.create_engine(env["PCF_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            with pytest.raises(IntegrityError, match="ex_certificate_retirement_overlap"):
                connection.execute(
                    copy,
                    {
                        "id": uuid.uuid4(),
                        "serial": f"{prefix}000100-copy",
                        "first": 100,
                        "last": 199,
                        "original": f"{prefix}000001",
                    },
                )
            connection.rollback()
            inserted = connection.execute(
                copy,
                {
                    "id": uuid.uuid4(),
                    "serial": f"{prefix}000101",
                    "first": 101,
                    "last": 200,
                    "original": f"{prefix}000001",
                },
            )
            assert inserted.rowcount == 1
            connection.rollback()
    finally:
        engine.dispose()
