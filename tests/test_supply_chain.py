"""Supply chains over the JSON API: a certified footprint becomes the next company's data (issue 20).

A kiln's clinker label feeds a grinding station's cement; a coal plant's electricity label feeds a smelter's
direct-line power. Each downstream value is hand arithmetic from the label's public value and the cited factors of
tests/hand.py. Then the upstream labels are revoked: the downstream footprints are marked affected (their values
stay), their owners and the certification body are told, and recalculation on the kiln's newer label works.

The figures, per declared unit (2023 factors; market-based electricity without certificates takes the national
residual 0.6205 x 0.6096 / 0.5306 = 0.712885 kg CO2e/kWh):

kiln, 1 t clinker (PCR-CN-CLINKER 1.0.0), 1,000 t clinker (CaO 65 %, MgO 2 %), 110 t coal, 60,000 kWh:
    calcination (0.65 x 44/56 + 0.02 x 44/40) x 1000                         = 532.7143
    coal 0.11 t x 2,170.2370 (combustion 1,760.9340 + mining CH4 409.3030)   = 238.7261
    electricity 60 kWh x 0.712885                                           =  42.7731
    total 814.2135, declared on the label to 4 significant digits            = 814.2 kg CO2e / 1 t
coal plant, 1 kWh (PCR-CN-ELECTRICITY 1.0.0), 300 t coal for 1,000,000 kWh, energy-industry CH4 1, N2O 1.5 kg/TJ:
    0.0003 t x (1,755.6854 + 409.3030) = 0.649497, declared                  = 0.6495 kg CO2e / 1 kWh
grinding station, 1 t cement (PCR-CN-CEMENT 1.2.0), 750 t clinker bought for 1,000 t cement, 40,000 kWh:
    clinker 0.75 t x 814.2 (the label's value, as public)                   = 610.65
    electricity 40 kWh x 0.712885                                           =  28.5154
    total                                                                   = 639.1654 kg CO2e / t
smelter, 1 t aluminium (PCR-CN-ALUMINIUM 1.3.0), 13,500 kWh/t over the direct line from the coal plant:
    direct-line power 13,500 kWh x 0.6495                                   = 8,768.25
    alumina 1.92 t x 1,500 (the buyer's typed, unverified value)            = 2,880
    anode CO2 0.41 x (1 - 0.02 - 0.004) x 44/12 x 1000                      = 1,467.2533
    anode production 0.41 x (70 m3 x 2.164412 + 120 kWh x 0.6205 + 250)     =   195.1472
    PFC 0.143 x 0.1 = 0.0143 kg CF4 x (7,380 + 0.121 x 12,400)              =   126.9897
    total                                                                   = 13,437.6403 kg CO2e / t
"""

import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent, InventoryRecord, Label, OrganisationKind, Role, SupplyLink
from footprint_api.services import accounts
from label_service.numbering import label_number
from tests.builders import inventory_data, item
from tests.hand import (
    BITUMINOUS_INDUSTRY,
    C_TO_CO2,
    COAL_SUPPLY,
    GWP_C2F6,
    GWP_CF4,
    LC_AVERAGE_2023,
    NATURAL_GAS_INDUSTRY,
    RESIDUAL_2023,
    combustion,
)
from tests.labelling import label_of
from tests.service import PASSWORD

REL = 1e-6  # Brightway stores matrix values as float32
FIRMS = {  # the chain's companies, each with an engineer
    "kiln": "kiln-engineer",
    "grinder": "grinder-engineer",
    "coalplant": "coal-engineer",
    "smelter": "smelter-engineer",
}
CLINKER = (0.65 * 44 / 56 + 0.02 * 44 / 40) * 1000 + 0.11 * BITUMINOUS_INDUSTRY + 60 * RESIDUAL_2023
POWER = 0.0003 * (combustion(19.570, 26.18, 0.93, 1, 1.5) + COAL_SUPPLY)
SMELTER_REST = (
    2_880
    + 0.41 * (1 - 0.02 - 0.004) * C_TO_CO2 * 1000
    + 0.41 * (70 * NATURAL_GAS_INDUSTRY + 120 * LC_AVERAGE_2023 + 250)
    + 0.0143 * (GWP_CF4 + 0.121 * GWP_C2F6)
)
CEMENT_TYPE = {"cement_type": {"choice": "P·O"}, "strength_class": {"choice": "42.5"}}


# --- the companies and their inventories ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def firms(world):
    """Four manufacturers of their own beside the world's (organisations never see each other's data)."""
    with session_scope() as session:
        for name, user in FIRMS.items():
            firm = accounts.create_organisation(
                session, None, f"{name} {uuid.uuid4().hex[:6]}", OrganisationKind.MANUFACTURER
            )
            world.organisations[name] = firm.id
            accounts.create_user(
                session, None, firm.id, f"{user}@test.example", user, PASSWORD, Role.MANUFACTURER_MEMBER
            )
    return FIRMS


def kiln_inventory(coal_t: float = 110) -> dict:
    return inventory_data(
        "PCR-CN-CLINKER",
        1000,
        "t",
        [
            item(
                "clinker",
                1000,
                "t",
                parameters={
                    "cao_fraction": {"amount": 0.65, "unit": "dimensionless"},
                    "mgo_fraction": {"amount": 2, "unit": "percent"},
                },
            ),
            item("kiln_coal", coal_t, "t"),
            item("grid_electricity", 60_000, "kWh"),
        ],
    )


def coal_plant_inventory() -> dict:
    return inventory_data("PCR-CN-ELECTRICITY", 1_000_000, "kWh", [item("bituminous_coal", 300, "t")])


def cement_inventory(supplier: dict, **period) -> dict:
    data = inventory_data(
        "PCR-CN-CEMENT",
        1000,
        "t",
        [item("purchased_clinker", 750, "t", supplier=supplier), item("grid_electricity", 40_000, "kWh")],
        parameters=CEMENT_TYPE,
    )
    data["pcr"]["version"] = "1.2.0"
    data["reference_period"].update(period)
    return data


def smelter_inventory(supplier: dict) -> dict:
    data = inventory_data(
        "PCR-CN-ALUMINIUM",
        1000,
        "t",
        [
            item("direct_line_electricity", 13_500_000, "kWh", supplier=supplier),
            item("alumina", 1_920, "t", supplier_pcf_kg_co2e_per_unit=1_500),
            item("anode_net_consumption", 410, "t"),
            item("anode_effect_minutes", 0.1, "minute/day"),
        ],
    )
    data["pcr"]["version"] = "1.3.0"
    return data


def label(number: str) -> dict:
    return {"kind": "label", "reference": number}


def calculated(world, user: str, product_id: str, data: dict) -> dict:
    """Submits and calculates; returns the footprint (FootprintOut) with its inventory id."""
    submitted = world.submit(user, product_id, data)
    assert submitted.status_code == 201, submitted.text
    job = world.calculate(user, submitted.json()["id"])
    assert job["status"] == "succeeded", job
    return world.call(user, "GET", f"/api/v1/footprints/{job['footprint_id']}").json()


def certified(world, user: str, footprint_id: str, body: str = "cb") -> dict:
    """The footprint applied for by `user`, reviewed and approved by `body`, its label issued; the label."""
    return label_of(world, footprint_id, body, applicant=user)


def labelled(world, user: str, product_id: str, data: dict) -> tuple[dict, dict]:
    footprint = calculated(world, user, product_id, data)
    return footprint, certified(world, user, footprint["id"])


def step(world, number: str, action: str, comment: str = "surveillance audit") -> None:
    response = world.call("cb-verifier", "POST", f"/api/v1/labels/{number}/actions/{action}", json={"comment": comment})
    assert response.status_code == 200, response.text


def errors_of(response) -> list[dict]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    return response.json()["errors"]


@pytest.fixture(scope="module")
def chain(world, firms):
    """The two chains, labelled upstream, calculated downstream (the cement footprint certified too)."""
    kiln = world.product("kiln-engineer", "PCR-CN-CLINKER", "熟料 P·II 52.5 熟料")
    _, clinker = labelled(world, "kiln-engineer", kiln["id"], kiln_inventory())
    plant = world.product("coal-engineer", "PCR-CN-ELECTRICITY", "燃煤电厂上网电量")
    _, power = labelled(world, "coal-engineer", plant["id"], coal_plant_inventory())
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "P·O 42.5 水泥（粉磨站）")
    cement, cement_label = labelled(
        world, "grinder-engineer", grinder["id"], cement_inventory(label(clinker["number"]))
    )
    smelter = world.product("smelter-engineer", "PCR-CN-ALUMINIUM", "电解铝液（直供电）")
    aluminium = calculated(world, "smelter-engineer", smelter["id"], smelter_inventory(label(power["number"])))
    return {
        "kiln": kiln,
        "clinker": clinker,
        "plant": plant,
        "power": power,
        "grinder": grinder,
        "cement": cement,
        "cement_label": cement_label,
        "smelter": smelter,
        "aluminium": aluminium,
    }


# --- the values ----------------------------------------------------------------------------------------------------


def test_the_upstream_labels_declare_the_hand_calculated_values(chain):
    """Kiln 814.2135 -> 814.2 kg CO2e/t clinker; coal plant 0.649497 -> 0.6495 kg CO2e/kWh (module docstring)."""
    assert abs(CLINKER - 814.2135) < 1e-4 and abs(POWER - 0.649497) < 1e-6
    assert (chain["clinker"]["value"], chain["clinker"]["declared_unit"]) == ("814.2", "1 t")
    assert (chain["power"]["value"], chain["power"]["declared_unit"]) == ("0.6495", "1 kWh")


def test_the_grinding_stations_cement_rests_on_the_kilns_label(chain):
    """0.75 t clinker x 814.2 (the label's public value, not the kiln's private 814.2135) + 40 kWh x 0.712885
    = 610.65 + 28.5154 = 639.1654 kg CO2e/t cement."""
    cement = chain["cement"]
    assert cement["total_kg_co2e"] == pytest.approx(0.75 * 814.2 + 40 * RESIDUAL_2023, rel=REL)
    clinker = next(c for c in cement["result"]["contributions"] if c["item"] == "purchased_clinker")
    assert clinker["part"] == "supplier" and clinker["source"] == f"label:{chain['clinker']['number']}"
    assert clinker["kg_co2e"] == pytest.approx(610.65, rel=REL)


def test_the_smelters_direct_line_power_rests_on_the_coal_plants_label(chain):
    """13,500 kWh x 0.6495 = 8,768.25, plus alumina 2,880, anode 1,467.2533 + 195.1472, PFC 126.9897
    = 13,437.6403 kg CO2e/t aluminium."""
    aluminium = chain["aluminium"]
    assert abs(SMELTER_REST - (2_880 + 1_467.2533 + 195.1472 + 126.9897)) < 1e-3
    assert aluminium["total_kg_co2e"] == pytest.approx(13_500 * 0.6495 + SMELTER_REST, rel=REL)
    power = next(c for c in aluminium["result"]["contributions"] if c["item"] == "direct_line_electricity")
    assert power["source"] == f"label:{chain['power']['number']}"
    assert power["kg_co2e"] == pytest.approx(8_768.25, rel=REL)


def test_the_footprint_names_each_source_as_its_public_label_shows_it(world, chain):
    """The source: the label's value per its declared unit (814.2 per 1 t), converted to the item's unit (t: the
    same), its PCR and validity, the body that verified it; its contribution 610.65 kg per t cement."""
    sources = world.call("grinder-engineer", "GET", f"/api/v1/footprints/{chain['cement']['id']}/supply").json()
    clinker = chain["clinker"]
    [source] = sources
    assert source["kind"] == "label" and source["reference"] == clinker["number"]
    assert (source["value_per_declared_unit"], source["declared_unit"]) == (814.2, "1 t")
    assert (source["value_per_item_unit"], source["item_unit"]) == (814.2, "t")
    assert source["kg_co2e"] == pytest.approx(610.65, rel=REL)
    assert source["pcr_ref"] == "PCR-CN-CLINKER@1.0.0" and source["verified"]
    assert source["valid_until"] == clinker["expires_on"] and source["href"] == f"/V/{clinker['number']}"
    assert source["supplier_product"] == "熟料 P·II 52.5 熟料" and source["affected_reason"] is None
    assert source["item_label_zh"] and source["amount"] == 750


def test_what_the_buyer_uses_of_a_label_is_what_its_public_json_shows(world, chain):
    """The primary data share and DQR the cement footprint carries through are the ones the label's public JSON
    shows (the supplier's inventory stays private)."""
    public = world.client.get(f"/api/v1/public/labels/{chain['clinker']['number']}").json()
    [source] = world.call("grinder-engineer", "GET", f"/api/v1/footprints/{chain['cement']['id']}/supply").json()
    assert public["claim"]["footprint"]["value"] == "814.2"
    assert public["data_quality"] == {"primary_data_share": source["primary_data_share"], "dqr": source["dqr"]}
    assert 0 < source["primary_data_share"] <= 1


def test_a_certification_body_reads_the_sources_of_a_footprint_submitted_to_it_and_no_one_else_does(world, chain):
    url = f"/api/v1/footprints/{chain['cement']['id']}/supply"
    assert world.call("cb-verifier", "GET", url).status_code == 200
    for intruder in ("kiln-engineer", "rival-engineer", "cb2-verifier"):
        assert world.call(intruder, "GET", url).status_code == 404, intruder


def test_the_submission_records_its_links_in_the_audit_trail(chain):
    with session_scope() as session:
        entry = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "supply.linked", AuditEvent.object_id == chain["cement"]["inventory_id"]
            )
        ).one()
    [link] = entry.after["links"]
    assert (link["item"], link["reference"], link["value_per_item_unit"]) == (
        "purchased_clinker",
        chain["clinker"]["number"],
        814.2,
    )


# --- refusals: a 4xx naming the field, nothing stored ---------------------------------------------------------------


def refused(world, product_id: str, data: dict, user: str = "grinder-engineer") -> dict:
    """The one error of a refused submission; the product's inventories are as before."""
    before = len(world.call(user, "GET", "/api/v1/inventories", params={"product_id": product_id}).json())
    [error] = errors_of(world.submit(user, product_id, data))
    after = len(world.call(user, "GET", "/api/v1/inventories", params={"product_id": product_id}).json())
    assert after == before
    return error


def test_an_unknown_label_number_is_refused_naming_the_field(world, chain):
    unknown = label_number(2020, 999_999)
    error = refused(world, chain["grinder"]["id"], cement_inventory(label(unknown)))
    assert error["field"] == "items[0].supplier.reference" and error["code"] == "supply.label_unknown"
    assert error["params"]["number"] == unknown


def test_a_malformed_label_number_is_refused_naming_the_field(world, chain):
    error = refused(world, chain["grinder"]["id"], cement_inventory(label("PCF-2026-12")))
    assert (error["field"], error["code"]) == ("items[0].supplier.reference", "supply.label_invalid")


def test_a_declared_unit_that_cannot_be_converted_is_refused(world, chain):
    """The coal plant's label is per 1 kWh; purchased clinker is counted in t: energy is not mass."""
    error = refused(world, chain["grinder"]["id"], cement_inventory(label(chain["power"]["number"])))
    assert (error["field"], error["code"]) == ("items[0].supplier.reference", "supply.unit_mismatch")
    assert error["params"]["declared_unit"] == "1 kWh" and error["params"]["item_unit"] == "t"


def test_a_label_on_an_item_that_is_not_a_purchased_input_is_refused(world, chain):
    data = cement_inventory(label(chain["clinker"]["number"]))
    data["items"][1]["supplier"] = label(chain["power"]["number"])  # grid electricity: its own account
    errors = errors_of(world.submit("grinder-engineer", chain["grinder"]["id"], data))
    assert any(e["field"].startswith("items[1].supplier") for e in errors), errors


def test_a_suspended_label_is_refused_and_usable_again_once_reinstated(world, chain, firms):
    """A suspended label may not be used (its state named); reinstated, it may."""
    product = world.product("kiln-engineer", "PCR-CN-CLINKER", "熟料（暂停测试）")
    _, suspended = labelled(world, "kiln-engineer", product["id"], kiln_inventory(coal_t=100))
    step(world, suspended["number"], "suspend")
    error = refused(world, chain["grinder"]["id"], cement_inventory(label(suspended["number"])))
    assert (error["field"], error["code"]) == ("items[0].supplier.reference", "supply.label_withdrawn")
    assert error["params"]["state"] == "suspended" and error["params"]["state_zh"] == "已暂停"
    step(world, suspended["number"], "reinstate")
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（暂停测试）")
    assert (
        world.submit("grinder-engineer", grinder["id"], cement_inventory(label(suspended["number"]))).status_code == 201
    )


def test_a_superseded_label_is_refused_naming_its_successor(world, firms):
    product = world.product("kiln-engineer", "PCR-CN-CLINKER", "熟料（替代测试）")
    _, first = labelled(world, "kiln-engineer", product["id"], kiln_inventory(coal_t=100))
    _, second = labelled(world, "kiln-engineer", product["id"], kiln_inventory(coal_t=90))
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（替代测试）")
    error = refused(world, grinder["id"], cement_inventory(label(first["number"])))
    assert (error["code"], error["params"]["by"]) == ("supply.label_superseded", second["number"])


def _expire(number: str, expires_on: date) -> None:
    """The label's validity moved back to `expires_on`, and the housekeeping's expiry run (services.labels)."""
    from footprint_api.services import labels, verification

    with session_scope() as session:
        found = session.exec(select(Label).where(Label.number == number)).one()
        found.expires_on = expires_on
        session.add(found)
        session.commit()
        labels.expire_due(session, verification.today())


def test_a_label_expired_before_the_reference_period_began_is_refused(world, firms):
    """Valid until 31 December 2022, the cement's period begins on 1 January 2023: the label does not stand for the
    kiln's clinker of 2023."""
    product = world.product("kiln-engineer", "PCR-CN-CLINKER", "熟料（过期测试）")
    _, old = labelled(world, "kiln-engineer", product["id"], kiln_inventory(coal_t=100))
    _expire(old["number"], date(2022, 12, 31))
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（过期测试）")
    error = refused(world, grinder["id"], cement_inventory(label(old["number"])))
    assert (error["field"], error["code"]) == ("items[0].supplier.reference", "supply.label_expired_for_period")
    assert error["params"] == {
        "item_index": 0,
        "number": old["number"],
        "expires_on": "2022-12-31",
        "period_start": "2023-01-01",
    }


def test_a_label_that_expired_after_the_period_began_is_accepted_and_shown_expired(world, firms):
    """Valid until 30 June 2023: valid for data of a period beginning 1 January 2023, so it is used; the link says
    at once that the label is no longer in force."""
    product = world.product("kiln-engineer", "PCR-CN-CLINKER", "熟料（期内过期）")
    _, old = labelled(world, "kiln-engineer", product["id"], kiln_inventory(coal_t=100))
    _expire(old["number"], date(2023, 6, 30))
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（期内过期）")
    cement = calculated(world, "grinder-engineer", grinder["id"], cement_inventory(label(old["number"])))
    [source] = world.call("grinder-engineer", "GET", f"/api/v1/footprints/{cement['id']}/supply").json()
    assert source["affected_reason"] == "label.expired" and source["affected_params"]["expires_on"] == "2023-06-30"
    assert cement["total_kg_co2e"] == pytest.approx(0.75 * 792.5 + 40 * RESIDUAL_2023, rel=REL)


# --- cycles ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loop(world, firms):
    """A kiln K labelled; a grinding station G naming K's label, labelled; a second station H naming G's label (a
    cement label counted as clinker: the same mass), labelled."""
    kiln = world.product("kiln-engineer", "PCR-CN-CLINKER", "K 熟料")
    _, k = labelled(world, "kiln-engineer", kiln["id"], kiln_inventory())
    g_product = world.product("grinder-engineer", "PCR-CN-CEMENT", "G 水泥")
    _, g = labelled(world, "grinder-engineer", g_product["id"], cement_inventory(label(k["number"])))
    h_product = world.product("grinder-engineer", "PCR-CN-CEMENT", "H 水泥")
    _, h = labelled(world, "grinder-engineer", h_product["id"], cement_inventory(label(g["number"])))
    return {"kiln": kiln, "k": k, "g": g, "h": h}


def kiln_buying(number: str) -> dict:
    data = kiln_inventory()
    data["items"].append(item("clay", 100, "t", supplier=label(number)))
    return data


def test_a_two_step_cycle_is_refused(world, loop):
    """K names G's label, and G rests on K's: K → G → K."""
    error = refused(world, loop["kiln"]["id"], kiln_buying(loop["g"]["number"]), user="kiln-engineer")
    assert (error["field"], error["code"]) == ("items[3].supplier.reference", "supply.cycle")
    assert error["params"]["path"] == "K 熟料 → G 水泥 → K 熟料"


def test_a_three_step_cycle_is_refused_without_naming_another_companys_supplier(world, loop):
    """K names H's label; H rests on G's, G on K's: K → H → G → K. That H's inventory names G's label is the
    grinding company's own: the kiln reads K → H → … → K."""
    error = refused(world, loop["kiln"]["id"], kiln_buying(loop["h"]["number"]), user="kiln-engineer")
    assert error["code"] == "supply.cycle" and error["params"]["path"] == "K 熟料 → H 水泥 → … → K 熟料"


def test_a_product_naming_its_own_label_is_a_cycle(world, loop):
    error = refused(world, loop["kiln"]["id"], kiln_buying(loop["k"]["number"]), user="kiln-engineer")
    assert error["code"] == "supply.cycle"


# --- withdrawal: marked, told, recalculated -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def revoked(world, chain):
    """Both upstream labels revoked by their certification body."""
    step(world, chain["clinker"]["number"], "revoke", "kiln fuel records falsified")
    step(world, chain["power"]["number"], "revoke", "meter not calibrated")
    return chain


def affected_of(world, user: str, product: dict) -> list[dict]:
    """The caller's affected footprints of one product (the module's other tests affect others of theirs)."""
    return [
        row for row in world.call(user, "GET", "/api/v1/supply/affected").json() if row["product_id"] == product["id"]
    ]


def test_after_the_revocation_both_downstream_footprints_are_affected_and_keep_their_values(world, revoked):
    chain = revoked
    cement = affected_of(world, "grinder-engineer", chain["grinder"])
    assert [(r["footprint_id"], r["item"], r["reason"]) for r in cement] == [
        (chain["cement"]["id"], "purchased_clinker", "label.revoked")
    ]
    assert cement[0]["params"]["number"] == chain["clinker"]["number"] and cement[0]["newer"] is None
    aluminium = affected_of(world, "smelter-engineer", chain["smelter"])
    assert [(r["footprint_id"], r["item"]) for r in aluminium] == [
        (chain["aluminium"]["id"], "direct_line_electricity")
    ]
    again = world.call("grinder-engineer", "GET", f"/api/v1/footprints/{chain['cement']['id']}").json()
    assert again["total_kg_co2e"] == chain["cement"]["total_kg_co2e"]  # marked, not changed
    [source] = world.call("grinder-engineer", "GET", f"/api/v1/footprints/{chain['cement']['id']}/supply").json()
    assert source["affected_reason"] == "label.revoked" and source["affected_at"]


def test_the_owners_are_told_in_their_language(world, revoked):
    for user, product in (("grinder-engineer", "P·O 42.5 水泥（粉磨站）"), ("smelter-engineer", "电解铝液（直供电）")):
        notices = world.call(user, "GET", "/api/v1/notices", headers={"Accept-Language": "zh"}).json()["items"]
        told = [n for n in notices if n["kind"] == "supply.affected"]
        assert told and product in told[0]["title"], (user, notices)


def test_the_certification_body_sees_its_label_at_risk_and_is_told(world, revoked):
    chain = revoked
    at_risk = world.call("cb-verifier", "GET", "/api/v1/certification/labels-at-risk").json()
    assert [(r["item"], r["reason"]) for r in at_risk if r["number"] == chain["cement_label"]["number"]] == [
        ("purchased_clinker", "label.revoked")
    ]
    assert world.call("cb2-verifier", "GET", "/api/v1/certification/labels-at-risk").json() == []
    notices = world.call("cb-verifier", "GET", "/api/v1/notices").json()["items"]
    assert any(n["kind"] == "supply.label_at_risk" and chain["cement_label"]["number"] in n["title"] for n in notices)


def test_each_affected_link_is_in_the_audit_trail(revoked):
    with session_scope() as session:
        links = session.exec(select(SupplyLink).where(col(SupplyLink.affected_reason) == "label.revoked")).all()
        audited = {
            e.object_id for e in session.exec(select(AuditEvent).where(AuditEvent.action == "supply.affected")).all()
        }
    assert links and {str(link.id) for link in links} <= audited


def test_recalculation_without_a_newer_value_is_refused_naming_the_item(world, revoked):
    """The coal plant has no newer label: the smelter must choose another value (409 naming the item)."""
    response = world.call(
        "smelter-engineer",
        "POST",
        f"/api/v1/footprints/{revoked['aluminium']['id']}/actions/recalculate-with-newer-supplier-data",
    )
    assert response.status_code == 409, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "items[0].supplier.reference" and error["params"]["item"] == "direct_line_electricity"


def recalculated(world, user: str, footprint_id: str) -> dict:
    """The recalculation on the supplier's newer data, followed to its footprint (FootprintOut)."""
    response = world.call(
        user, "POST", f"/api/v1/footprints/{footprint_id}/actions/recalculate-with-newer-supplier-data"
    )
    assert response.status_code == 202, response.text
    job = world.wait(user, response.json()["id"])
    assert job["status"] == "succeeded", job
    return world.call(user, "GET", f"/api/v1/footprints/{job['footprint_id']}").json()


@pytest.fixture(scope="module")
def renewed(world, revoked):
    """The kiln certifies a new inventory (100 t coal) after the revocation; the grinding station recalculates."""
    chain = revoked
    _, newer = labelled(world, "kiln-engineer", chain["kiln"]["id"], kiln_inventory(coal_t=100))
    offered = affected_of(world, "grinder-engineer", chain["grinder"])
    footprint = recalculated(world, "grinder-engineer", chain["cement"]["id"])
    return {**chain, "newer": newer, "offered": offered, "recalculated": footprint}


def test_the_kilns_new_label_is_offered_for_the_recalculation(renewed):
    """The kiln's new inventory: 532.7143 + 0.10 x 2,170.2370 + 42.7731 = 792.5111 -> label 792.5, named as the
    newer value of the revoked one (a newer label of the same product and PCR in force)."""
    assert renewed["newer"]["value"] == "792.5"
    [row] = renewed["offered"]
    assert row["newer"] == renewed["newer"]["number"]


def test_the_recalculation_uses_the_kilns_new_label(world, renewed):
    """The cement recalculated: 0.75 x 792.5 + 40 x 0.712885 = 594.375 + 28.5154 = 622.8904 kg CO2e/t, in a new
    inventory version (2) whose audit entry names the swap; the earlier version leaves the list of affected
    footprints (the buyer acted on it)."""
    footprint, newer = renewed["recalculated"], renewed["newer"]
    assert footprint["total_kg_co2e"] == pytest.approx(0.75 * 792.5 + 40 * RESIDUAL_2023, rel=REL)
    [source] = world.call("grinder-engineer", "GET", f"/api/v1/footprints/{footprint['id']}/supply").json()
    assert source["reference"] == newer["number"] and source["affected_reason"] is None
    assert affected_of(world, "grinder-engineer", renewed["grinder"]) == []
    with session_scope() as session:
        record = session.get(InventoryRecord, uuid.UUID(footprint["inventory_id"]))
        assert record.version == 2
        entry = session.exec(
            select(AuditEvent).where(AuditEvent.action == "supply.recalculated", AuditEvent.object_id == str(record.id))
        ).one()
    assert entry.after["swaps"] == [
        {"item_index": 0, "item": "purchased_clinker", "from": renewed["clinker"]["number"], "to": newer["number"]}
    ]


def test_a_supersession_marks_the_link_and_names_the_successor(world, renewed):
    """The kiln's label of 792.5 superseded by a third (90 t coal: 532.7143 + 195.3213 + 42.7731 = 770.8087 ->
    770.8): the recalculated cement rests on a superseded label, the successor named; recalculated again:
    0.75 x 770.8 + 28.5154 = 606.6154 kg CO2e/t."""
    _, third = labelled(world, "kiln-engineer", renewed["kiln"]["id"], kiln_inventory(coal_t=90))
    [row] = affected_of(world, "grinder-engineer", renewed["grinder"])
    assert (row["reason"], row["params"]["by"], row["newer"]) == ("label.superseded", third["number"], third["number"])
    footprint = recalculated(world, "grinder-engineer", renewed["recalculated"]["id"])
    assert footprint["total_kg_co2e"] == pytest.approx(0.75 * 770.8 + 40 * RESIDUAL_2023, rel=REL)


def test_reinstating_a_suspended_label_clears_the_mark_it_set(world, firms):
    product = world.product("kiln-engineer", "PCR-CN-CLINKER", "熟料（恢复测试）")
    _, upstream = labelled(world, "kiln-engineer", product["id"], kiln_inventory(coal_t=100))
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（恢复测试）")
    cement = calculated(world, "grinder-engineer", grinder["id"], cement_inventory(label(upstream["number"])))
    url = f"/api/v1/footprints/{cement['id']}/supply"
    step(world, upstream["number"], "suspend")
    assert world.call("grinder-engineer", "GET", url).json()[0]["affected_reason"] == "label.suspended"
    step(world, upstream["number"], "reinstate")
    assert world.call("grinder-engineer", "GET", url).json()[0]["affected_reason"] is None
    notices = world.call("grinder-engineer", "GET", "/api/v1/notices").json()["items"]
    assert any(n["kind"] == "supply.restored" for n in notices)


def test_an_expiring_label_marks_its_links(world, firms):
    """The housekeeping's expiry of a label reaches the footprints resting on it."""
    product = world.product("kiln-engineer", "PCR-CN-CLINKER", "熟料（到期测试）")
    _, upstream = labelled(world, "kiln-engineer", product["id"], kiln_inventory(coal_t=100))
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（到期测试）")
    cement = calculated(world, "grinder-engineer", grinder["id"], cement_inventory(label(upstream["number"])))
    _expire(upstream["number"], date.today() - timedelta(days=2))
    [source] = world.call("grinder-engineer", "GET", f"/api/v1/footprints/{cement['id']}/supply").json()
    assert source["affected_reason"] == "label.expired"


def test_the_lists_page_like_the_others(world, revoked):
    response = world.call("smelter-engineer", "GET", "/api/v1/supply/affected", params={"page": 1, "size": 10})
    assert response.status_code == 200 and response.headers["X-Total-Count"] == "1"
    nothing = world.call("smelter-engineer", "GET", "/api/v1/supply/affected", params={"q": "no such product"})
    assert nothing.json() == [] and nothing.headers["X-Total-Count"] == "0"
    assert world.call("smelter-engineer", "GET", "/api/v1/certification/labels-at-risk").status_code == 403


# --- PACT footprints the buyer holds, and factor-database entries ---------------------------------------------------


def received(world, pf_id: str, pcf: float, unit: str = "kilogram", amount: float = 1, version: int = 0, **extra):
    """A supplier's PACT footprint as the grinding station received it (services.pact.suppliers stores it so)."""
    from footprint_api.persistence.models import SupplierFootprint

    with session_scope() as session:
        row = SupplierFootprint(
            organisation_id=world.organisations["grinder"],
            origin="uploaded",
            pf_id=pf_id,
            pf_version=version,
            company_name="Clinker Trading Co.",
            product_name="clinker, bulk",
            declared_unit=unit,
            declared_amount=amount,
            pcf_excluding_biogenic=pcf,
            pcf_including_biogenic=pcf - 0.01,
            primary_data_share=0.6,
            dqi={"technologicalDQR": "2.0", "geographicalDQR": "1.5", "temporalDQR": "2.5"},
            assurance={"assurance": True, "providerName": "Assurance Co."},
            verified=True,
            valid_until=date(2030, 12, 31),
            document=extra.pop("document", {}),
            **extra,
        )
        session.add(row)
        session.commit()
        return row.id


def pact(pf_id: str) -> dict:
    return {"kind": "pact", "reference": pf_id}


def test_a_pact_footprint_per_kilogram_is_used_per_tonne_excluding_biogenic_uptake(world, firms):
    """0.8 kg CO2e per 1 kilogram (pCfExcludingBiogenic; the including-biogenic 0.79 is not used) = 800 kg per t:
    0.75 t x 800 + 40 x 0.712885 = 600 + 28.5154 = 628.5154 kg CO2e/t cement. The source carries the supplier's
    primary share (60 %) and its DQR, the mean of PACT's three: (2.0 + 1.5 + 2.5) / 3 = 2.0."""
    pf_id = str(uuid.uuid4())
    received(world, pf_id, 0.8)
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（PACT 测试）")
    cement = calculated(world, "grinder-engineer", grinder["id"], cement_inventory(pact(pf_id)))
    assert cement["total_kg_co2e"] == pytest.approx(0.75 * 800 + 40 * RESIDUAL_2023, rel=REL)
    [source] = world.call("grinder-engineer", "GET", f"/api/v1/footprints/{cement['id']}/supply").json()
    assert (source["kind"], source["declared_unit"], source["value_per_item_unit"]) == ("pact", "1 kilogram", 800)
    assert (source["primary_data_share"], source["dqr"], source["assurance"]) == (0.6, 2.0, "Assurance Co.")


def test_a_pact_footprint_per_piece_converts_by_its_product_mass(world, firms):
    """790 kg CO2e per 1 piece, a big bag of productMassPerDeclaredUnit 1,000 kg: 790 kg per t of clinker."""
    pf_id = str(uuid.uuid4())
    received(world, pf_id, 790, unit="piece", document={"pcf": {"productMassPerDeclaredUnit": "1000"}})
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（PACT 件）")
    cement = calculated(world, "grinder-engineer", grinder["id"], cement_inventory(pact(pf_id)))
    assert cement["total_kg_co2e"] == pytest.approx(0.75 * 790 + 40 * RESIDUAL_2023, rel=REL)


def test_an_unknown_or_unconvertible_pact_footprint_is_refused_naming_the_field(world, chain):
    error = refused(world, chain["grinder"]["id"], cement_inventory(pact(str(uuid.uuid4()))))
    assert (error["field"], error["code"]) == ("items[0].supplier.reference", "supply.pact_unknown")
    energy = str(uuid.uuid4())
    received(world, energy, 0.6, unit="kilowattHour")
    error = refused(world, chain["grinder"]["id"], cement_inventory(pact(energy)))
    assert (error["code"], error["params"]["declared_unit"]) == ("supply.unit_mismatch", "1 kilowattHour")


def test_a_deprecated_pact_footprint_marks_its_links_and_recalculation_takes_its_successor(world, firms):
    """Version 0 (0.8 kg/kg) deprecated by version 1 (0.78 kg/kg): the link is affected, the buyer told, and the
    recalculation rests on version 1: 0.75 x 780 + 28.5154 = 613.5154 kg CO2e/t."""
    from footprint_api.persistence.models import SupplierFootprint
    from footprint_api.services import audit, supply_chain

    pf_id = str(uuid.uuid4())
    first = received(world, pf_id, 0.8)
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（PACT 弃用）")
    cement = calculated(world, "grinder-engineer", grinder["id"], cement_inventory(pact(pf_id)))
    second = received(world, pf_id, 0.78, version=1)
    with session_scope() as session:  # what services.pact.suppliers does when the supplier says so
        old, new = session.get(SupplierFootprint, first), session.get(SupplierFootprint, second)
        old.status, old.successor_id = "Deprecated", new.id
        session.add(old)
        assert supply_chain.supplier_footprint_deprecated(session, old, new) == 1
        audit.commit(session)
    [row] = affected_of(world, "grinder-engineer", grinder)
    assert (row["reason"], row["params"]["successor_version"], row["newer"]) == ("pact.deprecated", 1, f"{pf_id} v1")
    notices = world.call("grinder-engineer", "GET", "/api/v1/notices").json()["items"]
    assert any(n["kind"] == "supply.affected" and "水泥（PACT 弃用）" in n["title"] for n in notices)
    footprint = recalculated(world, "grinder-engineer", cement["id"])
    assert footprint["total_kg_co2e"] == pytest.approx(0.75 * 780 + 40 * RESIDUAL_2023, rel=REL)


def test_a_deprecated_pact_footprint_without_an_active_version_is_refused(world, chain):
    pf_id = str(uuid.uuid4())
    received(world, pf_id, 0.8, status="Deprecated")
    error = refused(world, chain["grinder"]["id"], cement_inventory(pact(pf_id)))
    assert (error["field"], error["code"]) == ("items[0].supplier.reference", "supply.pact_deprecated")
    assert error["params"]["version"] == 0


@pytest.fixture(scope="module")
def release(world):
    """A cut release with one entry: clinker, 805.0 kg CO2e per 1 t, DQR 2.2 (services.factor_database writes these
    rows when the platform admin cuts a release)."""
    from footprint_api.persistence.models import FactorEntry, FactorRelease

    with session_scope() as session:
        cut = FactorRelease(number="2099.1", title="PCF factor database 2099.1", digest="0" * 64)
        session.add(cut)
        session.flush()
        session.add(
            FactorEntry(
                release_id=cut.id,
                key="PCR-CN-CLINKER_v1_all_1t_2023_national",
                pcr_id="PCR-CN-CLINKER",
                pcr_major=1,
                pcr_versions=["1.0.0"],
                product_category="clinker",
                declared_unit="1 t",
                reference_year=2023,
                value=805.0,
                dqr=2.2,
                label_count=3,
                organisation_count=3,
                value_min=790.0,
                value_max=820.0,
            )
        )
        session.commit()
    return {"kind": "release", "reference": "2099.1", "entry": "PCR-CN-CLINKER_v1_all_1t_2023_national"}


def test_a_release_entry_is_used_as_secondary_data(world, firms, release):
    """0.75 t x 805.0 + 28.5154 = 632.2654 kg CO2e/t; verified data, but not the buyer's supplier's own: no primary
    share, the entry's DQR 2.2."""
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（因子库）")
    cement = calculated(world, "grinder-engineer", grinder["id"], cement_inventory(release))
    assert cement["total_kg_co2e"] == pytest.approx(0.75 * 805 + 40 * RESIDUAL_2023, rel=REL)
    [source] = world.call("grinder-engineer", "GET", f"/api/v1/footprints/{cement['id']}/supply").json()
    assert source["reference"] == "2099.1/PCR-CN-CLINKER_v1_all_1t_2023_national" and source["verified"]
    assert (source["primary_data_share"], source["dqr"]) == (None, 2.2)
    assert source["href"] == "/factors/2099.1/entries/PCR-CN-CLINKER_v1_all_1t_2023_national"


def test_an_unknown_release_or_entry_is_refused_naming_its_field(world, chain, release):
    error = refused(world, chain["grinder"]["id"], cement_inventory({**release, "reference": "1999.9"}))
    assert (error["field"], error["code"]) == ("items[0].supplier.reference", "supply.release_unknown")
    error = refused(world, chain["grinder"]["id"], cement_inventory({**release, "entry": "no-such-entry"}))
    assert (error["field"], error["code"]) == ("items[0].supplier.entry", "supply.release_entry_unknown")


def test_a_pact_id_in_capitals_names_the_footprint_stored_in_lower_case(world, firms):
    """A PACT id is a UUID: the supplier's API and the buyer may write it in either case; services.pact.suppliers
    stores the canonical lower-case text, and the reference is read the same way (0.75 x 800 + 28.5154)."""
    pf_id = str(uuid.uuid4())
    received(world, pf_id, 0.8)
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（PACT 大写）")
    cement = calculated(world, "grinder-engineer", grinder["id"], cement_inventory(pact(pf_id.upper())))
    assert cement["total_kg_co2e"] == pytest.approx(0.75 * 800 + 40 * RESIDUAL_2023, rel=REL)


def test_a_successor_known_only_later_is_named_on_the_links_already_marked(world, firms):
    """The poll finds version 0 Deprecated before any successor is known (the links are marked, no successor named);
    then version 1 arrives naming it: a second call names the successor on those links, and a third call with
    nothing new marks nothing."""
    from footprint_api.persistence.models import SupplierFootprint
    from footprint_api.services import audit, supply_chain

    pf_id = str(uuid.uuid4())
    first = received(world, pf_id, 0.8)
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（PACT 后知）")
    calculated(world, "grinder-engineer", grinder["id"], cement_inventory(pact(pf_id)))
    with session_scope() as session:
        old = session.get(SupplierFootprint, first)
        old.status = "Deprecated"
        session.add(old)
        assert supply_chain.supplier_footprint_deprecated(session, old, None) == 1
        audit.commit(session)
    [row] = affected_of(world, "grinder-engineer", grinder)
    assert "successor" not in row["params"]
    second = received(world, pf_id, 0.78, version=1)
    with session_scope() as session:
        old, new = session.get(SupplierFootprint, first), session.get(SupplierFootprint, second)
        old.successor_id = new.id
        session.add(old)
        assert supply_chain.supplier_footprint_deprecated(session, old, new) == 1
        assert supply_chain.supplier_footprint_deprecated(session, old, new) == 0
        audit.commit(session)
    [row] = affected_of(world, "grinder-engineer", grinder)
    assert (row["params"]["successor_version"], row["newer"]) == (1, f"{pf_id} v1")


def test_a_frozen_value_the_engine_refuses_fails_the_job_instead_of_leaving_it_running(world, firms):
    """A link stored before resolution checked values (here: edited to -5 kg CO2e per t in the database) cannot be
    calculated: the job ends `failed` with the engine's reason, never stays `running`."""
    from sqlmodel import select

    from footprint_api.persistence.models import SupplyLink

    pf_id = str(uuid.uuid4())
    received(world, pf_id, 0.8)
    grinder = world.product("grinder-engineer", "PCR-CN-CEMENT", "水泥（冻结值被改）")
    submitted = world.submit("grinder-engineer", grinder["id"], cement_inventory(pact(pf_id)))
    assert submitted.status_code == 201, submitted.text
    with session_scope() as session:
        link = session.exec(
            select(SupplyLink).where(SupplyLink.inventory_id == uuid.UUID(submitted.json()["id"]))
        ).one()
        link.value_per_item_unit = -5.0
        session.add(link)
        session.commit()
    job = world.calculate("grinder-engineer", submitted.json()["id"])
    assert job["status"] == "failed" and "ValueError" in job["error"], job
