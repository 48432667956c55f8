"""Inventories that break their PCR are refused, every problem named by field."""

import pytest

from pcr_rules import InventoryInvalid, default_registry, validate_inventory
from pcr_rules.inventory import Period
from pcr_rules.validation import certificate_window
from tests.builders import certificate, item, make_inventory


def problems(inventory) -> dict[str, str]:
    pcr = default_registry().get(inventory.pcr.id, inventory.pcr.version)
    with pytest.raises(InventoryInvalid) as caught:
        validate_inventory(inventory, pcr)
    return {e.loc: e.message for e in caught.value.errors}


def test_aluminium_missing_mandatory_alumina():
    found = problems(
        make_inventory(
            "PCR-CN-ALUMINIUM",
            1000,
            "t",
            [
                item("grid_electricity", 13_500_000, "kWh"),
                item("anode_net_consumption", 410, "t"),
                item("anode_effect_minutes", 0.1, "minute/day"),
            ],
        )
    )
    assert "mandatory item 'alumina'" in found["items"]


def test_cement_clinker_cao_outside_its_range():
    found = problems(
        make_inventory(
            "PCR-CN-CEMENT",
            1000,
            "t",
            [
                item(
                    "clinker",
                    800,
                    "t",
                    parameters={
                        "cao_fraction": {"amount": 80, "unit": "percent"},
                        "mgo_fraction": {"amount": 2, "unit": "percent"},
                    },
                ),
                item("kiln_coal", 110, "t"),
                item("grid_electricity", 90_000, "kWh"),
            ],
        )
    )
    assert "outside [0.55, 0.72]" in found["items[0].parameters.cao_fraction"]


def test_cement_clinker_without_its_oxide_analysis():
    found = problems(
        make_inventory(
            "PCR-CN-CEMENT",
            1000,
            "t",
            [item("clinker", 800, "t"), item("kiln_coal", 110, "t"), item("grid_electricity", 90_000, "kWh")],
        )
    )
    assert "required" in found["items[0].parameters.cao_fraction"]
    assert "required" in found["items[0].parameters.mgo_fraction"]


def test_steel_electricity_in_a_mass_unit():
    found = problems(make_inventory("PCR-CN-STEEL", 1000, "t", [item("grid_electricity", 450_000, "kg")]))
    assert "dimension" in found["items[0].unit"]


def test_electricity_pcr_refuses_green_certificates():
    found = problems(
        make_inventory(
            "PCR-CN-ELECTRICITY",
            1_000_000,
            "kWh",
            [item("bituminous_coal", 300, "t"), item("grid_electricity_import", 1000, "kWh")],
            green_certificates=[certificate("GEC-0000001", 1)],
        )
    )
    assert "does not apply green certificates" in found["green_certificates"]


def test_glass_soda_ash_outside_the_plausible_range():
    found = problems(
        make_inventory(
            "PCR-CN-FLATGLASS",
            1000,
            "t",
            [item("soda_ash", 900, "t"), item("silica_sand", 650, "t"), item("grid_electricity", 100_000, "kWh")],
        )
    )
    assert "plausible range" in found["items[0].amount"]


def test_unknown_item_and_unknown_unit_are_named():
    found = problems(
        make_inventory(
            "PCR-CN-FLATGLASS",
            1000,
            "t",
            [
                item("silica_sand", 650, "bananas"),
                item("grid_electricity", 100_000, "kWh"),
                item("unobtainium", 1, "t"),
            ],
        )
    )
    assert "unknown unit" in found["items[0].unit"]
    assert "not an item" in found["items[2].item"]


def test_production_in_the_wrong_dimension():
    found = problems(make_inventory("PCR-CN-STEEL", 1000, "kWh", [item("grid_electricity", 450_000, "kWh")]))
    assert "production.unit" in found


# --- green certificates ---------------------------------------------------------------------------------------


def aluminium(certificates):
    return make_inventory(
        "PCR-CN-ALUMINIUM",
        1000,
        "t",
        [
            item("grid_electricity", 13_500_000, "kWh"),
            item("alumina", 1_920, "t"),
            item("anode_net_consumption", 410, "t"),
            item("anode_effect_minutes", 0.1, "minute/day"),
        ],
        green_certificates=certificates,
    )


def test_a_serial_listed_twice_is_refused():
    found = problems(aluminium([certificate("GEC-DUP-0001", 100), certificate("GEC-DUP-0001", 100)]))
    assert "retired once" in found["green_certificates[1].serial"]
    assert "green_certificates[0].serial" not in found


def test_certificate_vintage_outside_the_validity_window():
    """2023 reference period, 24-month validity: generation months 2021-02 .. 2023-12 qualify."""
    found = problems(
        aluminium(
            [certificate("GEC-OLD-0001", 100, month="2021-01"), certificate("GEC-NEW-0001", 100, month="2024-01")]
        )
    )
    assert "outside 2021-02..2023-12" in found["green_certificates[0].generation_month"]
    assert "green_certificates[1].generation_month" in found


def test_certificate_window_edges_are_inclusive():
    assert certificate_window(Period(start="2023-01-01", end="2023-12-31"), 24) == ("2021-02", "2023-12")


def test_coverage_above_consumption_is_refused():
    """13,500 MWh consumed; 14,000 certificates of 1 MWh cover 14,000,000 kWh."""
    found = problems(aluminium([certificate("GEC-BIG-0001", 14_000)]))
    assert "only 13,500,000 kWh" in found["green_certificates"]


def test_ineligible_technology_is_refused():
    found = problems(aluminium([certificate("GEC-COAL-0001", 10, technology="coal")]))
    assert "not eligible" in found["green_certificates[0].technology"]


def test_a_valid_inventory_passes():
    inventory = aluminium([certificate("GEC-OK-0001", 100)])
    validate_inventory(inventory, default_registry().get("PCR-CN-ALUMINIUM", "1.0.0"))


def test_range_bounds_are_inclusive_despite_unit_rounding():
    """12,000 kWh/t is the PCR's lower bound; 4.296e9 kWh / 358,020.8 t rounds to 11,999.999999999998."""
    inventory = make_inventory(
        "PCR-CN-ALUMINIUM",
        358_020.8276853978,
        "t",
        [
            item("grid_electricity", 12_000 * 358_020.8276853978, "kWh"),
            item("alumina", 1.92 * 358_020.8276853978, "t"),
            item("anode_net_consumption", 0.41 * 358_020.8276853978, "t"),
            item("anode_effect_minutes", 0.05, "minute/day"),
        ],
    )
    validate_inventory(inventory, default_registry().get("PCR-CN-ALUMINIUM", "1.0.0"))
