"""The inventory form of the 1.1.0 PCRs: captive power units, certificate batches with their last serial, and a
measurement that names the items its monitor covers — stored as the API stores them, errors next to their inputs."""

import re
import uuid

import pytest

from pcr_rules.examples import load
from tests.test_web_inventory import app, engineer, error_of, error_summary, input_of, new_product, stored  # noqa: F401 (fixtures: the app and the engineer's browser)


@pytest.fixture(scope="module")
def smelter(world):
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/facilities",
        json={"name": "Changji smelter", "province": "Xinjiang", "grid_region": "Northwest"},
    )
    return response.json()


def captive_form(product_id: str, facility_id: str, **changes) -> dict:
    """The captive-power example (aluminium-xinjiang-captive-2023) as the form's fields, with a fresh batch."""
    example = load("aluminium-xinjiang-captive-2023")
    fields = {
        "product_id": product_id,
        "facility_id": facility_id,
        "pcr_version": "1.1.0",
        "reference_period.start": "2023-01-01",
        "reference_period.end": "2023-12-31",
        "production.amount": "500000",
        "production.unit": "t",
        "captive.supplied_mwh": str(example["captive_power"]["supplied_mwh"]),
    }
    for entry in example["items"]:
        fields[f"item.{entry['item']}.amount"], fields[f"item.{entry['item']}.unit"] = (
            str(entry["amount"]),
            entry["unit"],
        )
        for name, quantity in entry.get("parameters", {}).items():
            fields[f"item.{entry['item']}.param.{name}.amount"] = str(quantity["amount"])
            fields[f"item.{entry['item']}.param.{name}.unit"] = quantity["unit"]
    for index, unit in enumerate(example["captive_power"]["units"]):
        for key, value in unit.items():
            if key != "data_quality":
                fields[f"cap.{index}.{key}"] = str(value)
        for indicator, score in unit.get("data_quality", {}).items():
            fields[f"cap.{index}.dq.{indicator}"] = str(score)
    prefix = f"GEC-XJ-{uuid.uuid4().hex[:8]}-"
    certificate = example["green_certificates"][0]
    fields.update(
        {
            "gec.0.serial": f"{prefix}000001",
            "gec.0.serial_last": f"{prefix}200000",
            "gec.0.amount_mwh": "200000",
            "gec.0.technology": certificate["technology"],
            "gec.0.generation_month": certificate["generation_month"],
            "gec.0.province": "Xinjiang",
            "gec.0.instrument": certificate["instrument"],
        }
    )
    fields.update(changes)
    return fields


def test_captive_units_and_a_certificate_batch_are_stored_from_the_form(world, engineer, smelter):
    product = new_product(world, "PCR-CN-ALUMINIUM")
    page = engineer.get(f"/app/inventories/new?product={product['id']}").text
    assert 'id="sec-captive"' in page and 'name="cap.0.net_generation_mwh"' in input_of(
        page, "cap.0.net_generation_mwh"
    )
    fields = captive_form(product["id"], smelter["id"])
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 303, error_summary(response.text)
    [record] = stored(world, product["id"])
    captive = record["data"]["captive_power"]
    assert captive["supplied_mwh"] == 5_695_000 and len(captive["units"]) == 2
    assert captive["units"][1]["measured_co2_t"] == 2_480_000
    assert record["data"]["green_certificates"][0]["serial_last"] == fields["gec.0.serial_last"]
    assert captive["units"][1]["data_quality"] == {"technological": 1, "geographical": 1, "temporal": 1, "precision": 1}
    again = engineer.get(f"/app/inventories/new?product={product['id']}").text  # a new version starts as a copy
    assert 'value="5695000"' in input_of(again, "captive.supplied_mwh")
    precision = re.search(r'name="cap.0.dq.precision"[^>]*>(.*?)</select>', again, re.S).group(1)
    assert '<option value="2" selected>' in precision  # the unit's data quality is kept
    assert fields["gec.0.serial_last"] in input_of(again, "gec.0.serial_last")


def test_an_unbalanced_unit_is_named_next_to_its_input_and_nothing_is_stored(world, engineer, smelter):
    product = new_product(world, "PCR-CN-ALUMINIUM")
    fields = captive_form(product["id"], smelter["id"], **{"cap.0.net_generation_mwh": "3000000"})
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422
    assert "is not gross generation 3,300,000 MWh less auxiliary consumption 214,500 MWh" in error_of(
        response.text, "cap.0.net_generation_mwh"
    )
    assert 'aria-invalid="true"' in input_of(response.text, "cap.0.net_generation_mwh")
    assert stored(world, product["id"]) == []


def cement_form(product_id: str, facility_id: str, **changes) -> dict:
    fields = {
        "product_id": product_id,
        "facility_id": facility_id,
        "pcr_version": "1.1.0",
        "reference_period.start": "2023-01-01",
        "reference_period.end": "2023-12-31",
        "production.amount": "1000",
        "production.unit": "t",
        "item.clinker.amount": "800",
        "item.clinker.unit": "t",
        "item.clinker.param.cao_fraction.amount": "0.65",
        "item.clinker.param.mgo_fraction.amount": "0.02",
        "item.kiln_coal.amount": "110",
        "item.kiln_coal.unit": "t",
        "item.diesel.amount": "1",
        "item.diesel.unit": "t",
        "item.grid_electricity.amount": "90000",
        "item.grid_electricity.unit": "kWh",
        "measured.co2.amount": "700",
        "measured.co2.unit": "t",
        "measured.co2.method": "CEMS",
        "measured.co2.source": "kiln stack",
    }
    fields.update(changes)
    return fields


def test_a_measurement_names_the_items_its_monitor_covers(world, engineer, smelter):
    product = new_product(world, "PCR-CN-CEMENT")
    fields = cement_form(product["id"], smelter["id"])
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422  # PCR 1.1.0: the covered items are required
    assert "name the items its monitor covers" in error_of(response.text, "measured.co2.covers")
    fields.update({"measured.co2.covers.clinker": "1", "measured.co2.covers.kiln_coal": "1"})
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 303, error_summary(response.text)
    [record] = stored(world, product["id"])
    assert record["data"]["measured_emissions"] == [
        {
            "gas": "co2",
            "amount": 700.0,
            "unit": "t",
            "method": "CEMS",
            "source": "kiln stack",
            "covers": ["clinker", "kiln_coal"],
            "relative_sd": None,
        }
    ]
