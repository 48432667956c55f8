"""Certificates belong to a claim: a batch is retired once into a facility's (or product's) pool for a period, and the
pool's inventories draw on it (issue 12, point 1). Embedded configuration: SQLite, where triggers refuse overlaps."""

import copy
import json
import uuid

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from footprint_api.persistence.migrate import alembic_config, upgrade
from tests.builders import certificate, inventory_data, item
from tests.hand import RESIDUAL_2023, WIND_2023
from tests.labelling import act

PCR = "PCR-CN-ALUMINIUM"
# 1,000 t of aluminium, 13,500,000 kWh of grid power (13,500 kWh/t): room for every batch below
ITEMS = [
    item("grid_electricity", 13_500_000, "kWh"),
    item("alumina", 1_920, "t", supplier_pcf_kg_co2e_per_unit=1_500),
    item("anode_net_consumption", 410, "t"),
    item("anode_effect_minutes", 0.1, "minute/day"),
]


def batch(first: int, last: int | None = None, mwh: int | None = None, prefix: str | None = None) -> dict:
    """A wind GEC batch of 2023-06 from `first` to `last` (6-digit numbers); `mwh` drawn, the whole batch if not
    given."""
    prefix = prefix or f"GEC-GZ-2023-W-{uuid.uuid4().hex[:8]}-"
    extra = {"serial_last": f"{prefix}{last:06d}"} if last is not None else {}
    return certificate(f"{prefix}{first:06d}", mwh if mwh is not None else (last or first) - first + 1, **extra)


def aluminium(certificates: list[dict], **extra) -> dict:
    return inventory_data(PCR, 1000, "t", copy.deepcopy(ITEMS), green_certificates=certificates, **extra)


def submit(world, product: dict, facility: dict | None, data: dict, user: str = "acme-engineer"):
    body = {"product_id": product["id"], "inventory": data}
    if facility is not None:
        body["facility_id"] = facility["id"]
    return world.call(user, "POST", "/api/v1/inventories", json=body)


def new_facility(world, user: str = "acme-engineer", name: str | None = None) -> dict:
    response = world.call(
        user,
        "POST",
        "/api/v1/facilities",
        json={"name": name or f"smelter {uuid.uuid4().hex[:6]}", "province": "Guizhou"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def pool(world, facility: dict, user: str = "acme-engineer") -> dict:
    response = world.call(user, "GET", f"/api/v1/facilities/{facility['id']}/certificate-pool")
    assert response.status_code == 200, response.text
    return response.json()


def draws_of(pool_view: dict) -> list[dict]:
    return [d for b in pool_view["batches"] for d in b["draws"]]


def error(response, field: str) -> str:
    assert response.status_code == 409, response.text
    found = [e["reason"] for e in response.json()["errors"] if e["field"] == field]
    assert found, response.json()
    return found[0]


# --- the correction keeps its certificates ---------------------------------------------------------------------


def test_a_corrected_version_keeps_the_certificates_of_the_version_it_replaces(world):
    """v1 and v2 of one product, same facility and period, both list batch X = 500 wind GECs (500 MWh).

    v2 is accepted (201), v1's draw is released ("replaced by version 2"), the pool shows 500 of 500 MWh drawn, by
    v2. Per t (1,000 t): 13,500 kWh, of which 500,000 kWh / 1,000 t = 500 kWh covered by wind:
      electricity (market) = 500 x 0.0336 + 13,000 x 0.712885 (= 0.6205 x 0.6096/0.5306) = 16.8 + 9,267.50
                           = 9,284.30 kg CO2e/t, the same for v1 and v2.
    Before the pool, v2 was refused with 409 and went without the certificates: 13,500 x 0.712885 = 9,623.95,
    i.e. 500 x (0.712885 - 0.0336) = 339.64 kg CO2e/t more.
    """
    facility = new_facility(world)
    product = world.product("acme-engineer", PCR, "smelter ingot")
    v1 = aluminium([batch(1, 500)])
    first = submit(world, product, facility, v1)
    v2 = copy.deepcopy(v1)
    v2["items"][1]["note"] = "supplier PCF letter attached"  # the verifier's finding: documentation only
    second = submit(world, product, facility, v2)
    assert (first.status_code, second.status_code) == (201, 201), second.text

    view = pool(world, facility)
    assert (view["batch_mwh"], view["drawn_mwh"], view["left_mwh"]) == (500, 500, 0)
    ((old, new),) = [sorted(b["draws"], key=lambda d: d["version"]) for b in view["batches"]]
    assert (old["version"], old["active"], old["released_reason"]) == (1, False, "replaced by version 2")
    assert (new["version"], new["active"], new["amount_mwh"]) == (2, True, 500)

    results = [
        world.call(
            "acme-engineer",
            "GET",
            f"/api/v1/footprints/{world.calculate('acme-engineer', r.json()['id'])['footprint_id']}",
        ).json()["result"]
        for r in (first, second)
    ]
    electricity = 500 * WIND_2023 + 13_000 * RESIDUAL_2023
    assert electricity == pytest.approx(9_284.30, abs=0.01)
    for result in results:
        assert sum(
            c["kg_co2e"]
            for c in result["contributions"]
            if c["item"] == "grid_electricity" and c["part"] == "electricity"
        ) == pytest.approx(electricity, rel=1e-6)
        assert result["electricity"]["covered_kwh_per_declared_unit"] == pytest.approx(500)
    assert results[1]["market_based_kg_co2e"] == pytest.approx(results[0]["market_based_kg_co2e"], rel=1e-12)


def test_a_correction_may_draw_less_and_gives_the_rest_back(world):
    """v1 draws 500 of the 500 MWh batch, v2 only 200: 300 MWh are left in the facility's pool."""
    facility = new_facility(world)
    product = world.product("acme-engineer", PCR)
    entry = batch(1, 500)
    assert submit(world, product, facility, aluminium([entry])).status_code == 201
    assert submit(world, product, facility, aluminium([{**entry, "amount_mwh": 200}])).status_code == 201
    view = pool(world, facility)
    assert (view["drawn_mwh"], view["left_mwh"]) == (200, 300)


# --- products of one facility share the pool -------------------------------------------------------------------


def test_two_products_of_one_facility_share_a_batch_and_never_draw_more_than_it(world):
    """Batch 000001..001000 = 1,000 MWh. Product A draws 600, product B 400: 600 + 400 = 1,000 <= 1,000, both 201.
    Product C asks 1 more: 1,000 - 600 - 400 = 0 MWh left, 409 on green_certificates[0].amount_mwh."""
    facility = new_facility(world)
    a, b, c = (world.product("acme-engineer", PCR, f"product {n}") for n in "ABC")
    prefix = f"GEC-GZ-2023-W-{uuid.uuid4().hex[:8]}-"
    assert submit(world, a, facility, aluminium([batch(1, 1000, 600, prefix)])).status_code == 201
    assert submit(world, b, facility, aluminium([batch(1, 1000, 400, prefix)])).status_code == 201
    refused = submit(world, c, facility, aluminium([batch(1, 1000, 1, prefix)]))
    reason = error(refused, "inventory.green_certificates[0].amount_mwh")
    assert "0 MWh left" in reason
    view = pool(world, facility)
    assert len(view["batches"]) == 1 and view["batches"][0]["batch_mwh"] == 1000
    assert sorted((d["product"], d["amount_mwh"]) for d in draws_of(view)) == [("product A", 600), ("product B", 400)]
    assert [
        i for i in world.call("acme-engineer", "GET", "/api/v1/inventories").json() if i["product_id"] == c["id"]
    ] == []  # nothing stored


def test_a_withdrawn_application_gives_its_mwh_back_to_the_pool(world):
    """A 600 + B 400 = 1,000 MWh drawn. A's application is withdrawn: its 600 MWh are released ("application
    withdrawn"), the batch stays retired; product C now draws 600 = 1,000 - 400."""
    facility = new_facility(world)
    a, b, c = (world.product("acme-engineer", PCR, f"product {n}") for n in "ABC")
    prefix = f"GEC-GZ-2023-W-{uuid.uuid4().hex[:8]}-"
    first = submit(world, a, facility, aluminium([batch(1, 1000, 600, prefix)]))
    assert submit(world, b, facility, aluminium([batch(1, 1000, 400, prefix)])).status_code == 201
    job = world.calculate("acme-engineer", first.json()["id"])
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": job["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()
    assert act(world, "acme-engineer", application["id"], "withdraw").json()["state"] == "rejected"

    assert submit(world, c, facility, aluminium([batch(1, 1000, 600, prefix)])).status_code == 201
    view = pool(world, facility)
    released = [d for d in draws_of(view) if not d["active"]]
    assert [(d["product"], d["amount_mwh"], d["released_reason"]) for d in released] == [
        ("product A", 600, "application withdrawn")
    ]
    assert (view["drawn_mwh"], view["left_mwh"]) == (1000, 0)


def test_a_rejected_application_gives_its_mwh_back_to_the_pool(world):
    """The certification body rejects A's application under review: A's 700 MWh are released ("application
    rejected"), 1,000 - 0 = 1,000 MWh left."""
    facility = new_facility(world)
    product = world.product("acme-engineer", PCR)
    submitted = submit(world, product, facility, aluminium([batch(1, 1000, 700)]))
    job = world.calculate("acme-engineer", submitted.json()["id"])
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": job["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()
    for user, action in (("acme-engineer", "submit"), ("cb-verifier", "start_review"), ("cb-verifier", "reject")):
        assert act(world, user, application["id"], action).status_code == 200
    view = pool(world, facility)
    assert (view["drawn_mwh"], view["left_mwh"]) == (0, 1000)
    assert [d["released_reason"] for d in draws_of(view)] == ["application rejected"]


def test_replacing_an_inventory_with_a_smaller_draw_lets_the_other_products_draw_more(world):
    """A 600 + B 400 = 1,000. A's version 2 draws 100 (its 600 released): 1,000 - 400 - 100 = 500 left. B's
    version 2 draws 900 = its 400 released + 500 left: 100 + 900 = 1,000, 201; 901 would be 409."""
    facility = new_facility(world)
    a, b = (world.product("acme-engineer", PCR, f"product {n}") for n in "AB")
    prefix = f"GEC-GZ-2023-W-{uuid.uuid4().hex[:8]}-"
    assert submit(world, a, facility, aluminium([batch(1, 1000, 600, prefix)])).status_code == 201
    assert submit(world, b, facility, aluminium([batch(1, 1000, 400, prefix)])).status_code == 201
    assert submit(world, a, facility, aluminium([batch(1, 1000, 100, prefix)])).status_code == 201
    assert "900 MWh left" in error(
        submit(world, b, facility, aluminium([batch(1, 1000, 901, prefix)])),
        "inventory.green_certificates[0].amount_mwh",
    )
    assert submit(world, b, facility, aluminium([batch(1, 1000, 900, prefix)])).status_code == 201
    view = pool(world, facility)
    active = sorted((d["product"], d["version"], d["amount_mwh"]) for d in draws_of(view) if d["active"])
    assert active == [("product A", 2, 100), ("product B", 2, 900)]


# --- a batch is retired once -----------------------------------------------------------------------------------


def test_an_overlapping_range_is_refused_wherever_it_is_claimed(world):
    """Batch 0001..1000 retired to acme's facility F for 2023. Another organisation's 0500..0600: 409, "retired
    elsewhere" and nothing of acme's. Acme's other facility G: 409, naming F. F itself with 0500..0600 (a part of
    the batch, not the batch): 409. F for another period (2024): 409. Nothing stored by any of them."""
    prefix = f"GEC-GZ-2023-W-{uuid.uuid4().hex[:8]}-"
    f, g = new_facility(world, name="facility F"), new_facility(world, name="facility G")
    product = world.product("acme-engineer", PCR, "acme secret ingot")
    assert submit(world, product, f, aluminium([batch(1, 1000, prefix=prefix)])).status_code == 201

    rival = world.product("rival-engineer", PCR)
    theirs = submit(
        world,
        rival,
        new_facility(world, "rival-engineer"),
        aluminium([batch(500, 600, prefix=prefix)]),
        user="rival-engineer",
    )
    reason = error(theirs, "inventory.green_certificates[0].serial")
    assert reason.endswith("retired elsewhere") and "facility F" not in theirs.text and "acme" not in theirs.text

    other = world.product("acme-engineer", PCR)
    assert "retired to facility 'facility F' for 2023-01-01..2023-12-31" in error(
        submit(world, other, g, aluminium([batch(500, 600, prefix=prefix)])), "inventory.green_certificates[0].serial"
    )
    assert "list that batch as retired" in error(
        submit(world, other, f, aluminium([batch(500, 600, prefix=prefix)])), "inventory.green_certificates[0].serial"
    )
    next_year = aluminium(
        [batch(1, 1000, prefix=prefix)], reference_period={"start": "2024-01-01", "end": "2024-12-31"}
    )
    next_year["green_certificates"][0]["generation_month"] = "2024-01"
    assert "a certificate is retired for one claim" in error(
        submit(world, other, f, next_year), "inventory.green_certificates[0].serial"
    )
    retired = [
        r
        for r in world.call("acme-engineer", "GET", "/api/v1/certificates/retirements").json()
        if r["serial"].startswith(prefix)
    ]
    assert [(r["serial_last"], r["batch_mwh"], r["drawn_mwh"], r["left_mwh"]) for r in retired] == [
        (f"{prefix}001000", 1000, 1000, 0)
    ]


def test_leading_zeros_do_not_make_another_certificate(world):
    """GEC-…-0500 and GEC-…-000500 are the same certificate: the second batch overlaps the first."""
    prefix = f"GEC-GZ-2023-W-{uuid.uuid4().hex[:8]}-"
    product, other = world.product("acme-engineer", PCR), world.product("acme-engineer", PCR)
    assert submit(world, product, None, aluminium([certificate(f"{prefix}0500", 10)])).status_code == 201
    response = submit(world, other, None, aluminium([certificate(f"{prefix}000505", 1)]))
    assert "(no facility)" in error(response, "inventory.green_certificates[0].serial")


def test_the_same_batch_in_the_same_pool_must_keep_its_technology_and_month(world):
    prefix = f"GEC-GZ-2023-W-{uuid.uuid4().hex[:8]}-"
    facility = new_facility(world)
    a, b = world.product("acme-engineer", PCR), world.product("acme-engineer", PCR)
    assert submit(world, a, facility, aluminium([batch(1, 100, 50, prefix)])).status_code == 201
    entry = {**batch(1, 100, 50, prefix), "generation_month": "2023-07"}
    assert "as wind generated in 2023-06" in error(
        submit(world, b, facility, aluminium([entry])), "inventory.green_certificates[0].serial"
    )


def test_a_range_past_the_largest_serial_number_is_422(world):
    product = world.product("acme-engineer", PCR)
    response = submit(world, product, None, aluminium([certificate("GEC-BIG-999999999999999999", 2)]))
    assert response.status_code == 422 and "largest serial number" in response.text


def test_the_sqlite_trigger_refuses_an_overlapping_row_without_the_service(world):
    """The database guard alone: a row whose range 0990..1010 overlaps a retired 0001..1000 is refused by the
    trigger on INSERT, and so is widening a retired row onto another by UPDATE."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import CertificateRetirement

    prefix = f"GEC-GZ-2023-W-{uuid.uuid4().hex[:8]}-"
    product = world.product("acme-engineer", PCR)
    assert (
        submit(
            world, product, None, aluminium([batch(1, 1000, prefix=prefix), batch(2000, 2010, prefix=prefix)])
        ).status_code
        == 201
    )
    with session_scope() as session:
        retired = session.exec(
            select(CertificateRetirement).where(CertificateRetirement.serial == f"{prefix}000001")
        ).one()
        copied = retired.model_dump(exclude={"id", "retired_at"})
        session.add(
            CertificateRetirement(
                **{
                    **copied,
                    "serial": f"{prefix}000990",
                    "serial_last": f"{prefix}001010",
                    "serial_first_number": 990,
                    "serial_last_number": 1010,
                    "batch_mwh": 21,
                    "drawn_mwh": 0,
                }
            )
        )
        with pytest.raises(IntegrityError, match="overlaps a retired batch"):
            session.commit()
        session.rollback()
        second = session.exec(
            select(CertificateRetirement).where(CertificateRetirement.serial == f"{prefix}002000")
        ).one()
        second.serial_first_number = 1000
        with pytest.raises(IntegrityError, match="overlaps a retired batch"):
            session.commit()
        session.rollback()
        retired = session.exec(
            select(CertificateRetirement).where(CertificateRetirement.serial == f"{prefix}000001")
        ).one()
        retired.drawn_mwh = 1001  # more drawn than the batch holds
        with pytest.raises(IntegrityError, match=r"ck_certificate_retirement_drawn|CHECK constraint"):
            session.commit()


def test_retiring_drawing_and_releasing_are_audited(world):
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import AuditEvent

    prefix = f"GEC-GZ-2023-W-{uuid.uuid4().hex[:8]}-"
    facility, product = new_facility(world), world.product("acme-engineer", PCR)
    for amount in (300, 200):
        assert submit(world, product, facility, aluminium([batch(1, 500, amount, prefix)])).status_code == 201
    with session_scope() as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.object_id == f"{prefix}000001").order_by(AuditEvent.seq)
        ).all()
    assert [e.action for e in events] == [
        "certificate.retired",
        "certificate.drawn",
        "certificate.released",
        "certificate.drawn",
    ]
    assert events[0].after["batch"] == f"{prefix}000001..{prefix}000500" and events[0].after["batch_mwh"] == 500
    assert events[2].after == {"released_reason": "replaced by version 2"} and events[2].before["amount_mwh"] == 300
    assert events[3].after["amount_mwh"] == 200 and events[3].after["version"] == 2


def test_the_pool_is_the_owning_organisations_only(world):
    facility = new_facility(world)
    product = world.product("acme-engineer", PCR)
    assert submit(world, product, facility, aluminium([batch(1, 10)])).status_code == 201
    for intruder in ("rival-engineer", "cb-verifier"):
        response = world.call(intruder, "GET", f"/api/v1/facilities/{facility['id']}/certificate-pool")
        assert response.status_code in (403, 404) and facility["name"] not in response.text


# --- the migration -------------------------------------------------------------------------------------------------


def _old_database(tmp_path, retirements: list[tuple[str, int]]) -> str:
    """A database at revision 0009 holding single-serial retirements (serial, MWh) of one inventory (2023)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0009")
    ids = {name: uuid.uuid4() for name in ("organisation", "product", "facility", "inventory")}
    data = aluminium([certificate(serial, mwh, plant="Weining wind farm") for serial, mwh in retirements])
    with sa.create_engine(url).begin() as connection:
        now = "2025-01-01 00:00:00.000000"
        connection.execute(
            sa.text(
                "INSERT INTO organisation (id, name, kind, created_at) VALUES (:id, 'old maker', 'MANUFACTURER', :now)"
            ),
            {"id": ids["organisation"].hex, "now": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO product (id, organisation_id, name, pcr_id, created_at) "
                "VALUES (:id, :org, 'ingot', :pcr, :now)"
            ),
            {"id": ids["product"].hex, "org": ids["organisation"].hex, "pcr": PCR, "now": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO facility (id, organisation_id, name, province, created_at) "
                "VALUES (:id, :org, 'old smelter', 'Guizhou', :now)"
            ),
            {"id": ids["facility"].hex, "org": ids["organisation"].hex, "now": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO inventory (id, organisation_id, product_id, facility_id, version, pcr_id, pcr_version, data, "
                "source, created_at) VALUES (:id, :org, :product, :facility, 1, :pcr, '1.0.0', :data, 'json', :now)"
            ),
            {
                "id": ids["inventory"].hex,
                "org": ids["organisation"].hex,
                "product": ids["product"].hex,
                "facility": ids["facility"].hex,
                "pcr": PCR,
                "data": json.dumps(data),
                "now": now,
            },
        )
        for serial, mwh in retirements:
            connection.execute(
                sa.text(
                    "INSERT INTO certificate_retirement (id, serial, organisation_id, inventory_id, amount_mwh, technology, "
                    "generation_month, province, instrument, retired_at) VALUES (:id, :serial, :org, :inventory, :mwh, "
                    "'wind', '2023-06', 'Guizhou', 'gec', :now)"
                ),
                {
                    "id": uuid.uuid4().hex,
                    "serial": serial,
                    "org": ids["organisation"].hex,
                    "inventory": ids["inventory"].hex,
                    "mwh": mwh,
                    "now": now,
                },
            )
    return url


def test_the_migration_turns_single_serials_into_batches_in_their_facilitys_pool(tmp_path):
    """GEC-OLD-000101 for 500 MWh becomes the batch 000101..000600 (101 + 500 - 1 = 600); GEC-OLD-X (no number)
    for 1 MWh the batch of that serial alone. Both are in the facility's 2023 pool, drawn in full by the inventory."""
    url = _old_database(tmp_path, [("GEC-OLD-000101", 500), ("GEC-OLD-X", 1)])
    upgrade(url)
    with sa.create_engine(url).connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT serial, serial_last, serial_prefix, serial_first_number, serial_last_number, batch_mwh, "
                "drawn_mwh, plant, facility_id IS NOT NULL, product_id IS NULL, period_start, period_end "
                "FROM certificate_retirement ORDER BY serial"
            )
        ).all()
        draws = connection.execute(
            sa.text("SELECT amount_mwh, released_at FROM certificate_draw ORDER BY amount_mwh")
        ).all()
    assert [tuple(r) for r in rows] == [
        (
            "GEC-OLD-000101",
            "GEC-OLD-000600",
            "GEC-OLD-",
            101,
            600,
            500,
            500,
            "Weining wind farm",
            1,
            1,
            "2023-01-01",
            "2023-12-31",
        ),
        ("GEC-OLD-X", "GEC-OLD-X", "GEC-OLD-X", 0, 0, 1, 1, "Weining wind farm", 1, 1, "2023-01-01", "2023-12-31"),
    ]
    assert [tuple(d) for d in draws] == [(1, None), (500, None)]
    with sa.create_engine(url).connect() as connection, pytest.raises(IntegrityError, match="overlaps"):
        connection.execute(
            sa.text(
                "INSERT INTO certificate_retirement SELECT * FROM certificate_retirement WHERE serial = 'GEC-OLD-000101'"
            )
        )


def test_the_migration_stops_at_earlier_serials_that_overlap_as_batches(tmp_path):
    """GEC-OLD-000101 for 500 MWh (101..600) and GEC-OLD-000550 for 10 MWh (550..559) were two strings before, and
    are one overlap now: the migration names both instead of choosing."""
    url = _old_database(tmp_path, [("GEC-OLD-000101", 500), ("GEC-OLD-000550", 10)])
    with pytest.raises(RuntimeError, match=r"GEC-OLD-000101.*GEC-OLD-000550|GEC-OLD-000550.*GEC-OLD-000101"):
        upgrade(url)


def test_applying_again_draws_the_given_back_certificates_again_while_the_pool_holds_them(world):
    """A draws 600 of 1,000 MWh; its application is withdrawn (600 given back). Applying again with the same
    footprint draws the 600 again (1,000 - 0 left); after a second withdrawal, B draws 500, so 500 are left:
    applying again with A's footprint is refused, naming 600 needed and 500 left."""
    facility = new_facility(world)
    a, b = (world.product("acme-engineer", PCR, f"product {n}") for n in "AB")
    prefix = f"GEC-GZ-2023-W-{uuid.uuid4().hex[:8]}-"
    job = world.calculate(
        "acme-engineer", submit(world, a, facility, aluminium([batch(1, 1000, 600, prefix)])).json()["id"]
    )
    body = {"footprint_id": job["footprint_id"], "certification_body_id": str(world.organisations["cb"])}

    first = world.call("acme-engineer", "POST", "/api/v1/applications", json=body).json()
    act(world, "acme-engineer", first["id"], "withdraw")
    assert pool(world, facility)["drawn_mwh"] == 0
    second = world.call("acme-engineer", "POST", "/api/v1/applications", json=body)
    assert second.status_code == 201, second.text
    assert pool(world, facility)["drawn_mwh"] == 600

    act(world, "acme-engineer", second.json()["id"], "withdraw")
    assert submit(world, b, facility, aluminium([batch(1, 1000, 500, prefix)])).status_code == 201
    third = world.call("acme-engineer", "POST", "/api/v1/applications", json=body)
    assert third.status_code == 409
    assert "600 MWh needed, 500 MWh left" in third.json()["errors"][0]["reason"]
    assert pool(world, facility)["drawn_mwh"] == 500
