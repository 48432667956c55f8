"""The steps of the inventory form, each on its own: where an error of the inventory is shown, how a stored
inventory fills the form, and how the schema's errors and the PCR's problems are reported in one round."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from footprint_api.web import i18n
from footprint_api.web.routes.inventory import FormReading, _check, _prefill
from pcr_rules import default_registry

EXAMPLES = Path(__file__).resolve().parents[1] / "pcr_rules" / "examples"


def cement_example() -> dict:
    return json.loads((EXAMPLES / "cement-guizhou-2023.json").read_text(encoding="utf-8"))


def cement_pcr():
    return default_registry().get("PCR-CN-CEMENT", "1.0.0")


def reading_with_rows() -> FormReading:
    """A reading whose lists have their rows on the form: two items, one certificate batch, two captive units."""
    reading = FormReading({}, cement_pcr())
    reading.where = {
        "items": ["item.clinker", "item.kiln_coal"],
        "green_certificates": ["gec.0"],
        "measured_emissions": ["measured.co2"],
        "co_products": ["co.0"],
        "captive_power": ["cap.0", "cap.2"],
    }
    return reading


# --- where an error is shown -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loc", "shown_at"),
    [
        ("captive_power.units[1].fuel_amount", "cap.2.fuel_amount"),  # rows keep their numbers on the form
        ("captive_power.units[1].data_quality.temporal", "cap.2.dq.temporal"),
        ("captive_power.units[1].data_quality", "cap.2.dq.technological"),  # the whole rating: its first score
        ("captive_power.units[0].no_such_field", "cap.0.name"),
        ("captive_power.units[5].name", "captive_power"),  # a unit the form has no row for: the section
    ],
)
def test_an_error_of_a_captive_unit_is_shown_in_the_units_row(loc, shown_at):
    assert reading_with_rows().input_of(loc) == shown_at


@pytest.mark.parametrize(
    ("loc", "shown_at"),
    [
        ("items[1].parameters.ncv_gj_per_unit.unit", "item.kiln_coal.param.ncv_gj_per_unit.unit"),
        ("items[0]", "item.clinker.amount"),
        ("green_certificates[0]", "gec.0.serial"),  # the whole batch: its first input
        ("green_certificates[0].amount_mwh", "gec.0.amount_mwh"),
        ("measured_emissions[0].gas", "measured.co2.amount"),  # the form names the gas; it has no input for it
        ("measured_emissions[0].covers.1", "measured.co2.covers"),
        ("co_products[0]", "co.0.name"),
        ("co_products[3].amount", "co_products"),  # an entry set aside: the section
        ("inventory.items[1].amount", "item.kiln_coal.amount"),
    ],
)
def test_an_error_of_a_list_entry_is_shown_in_the_entrys_row(loc, shown_at):
    assert reading_with_rows().input_of(loc) == shown_at


@pytest.mark.parametrize(
    ("loc", "shown_at"),
    [
        ("reference_period", "reference_period.end"),
        ("reference_period.start", "reference_period.start"),
        ("production", "production.amount"),
        ("production.unit", "production.unit"),
        ("captive_power", "captive_power"),
        ("captive_power.supplied_mwh", "captive.supplied_mwh"),
        ("facility.grid_region", "facility_id"),
        ("green_certificates", "green_certificates"),
        ("pcr.version", ""),  # no input of its own: the summary above the form
    ],
)
def test_an_error_of_a_general_field_or_a_section_is_shown_at_its_input(loc, shown_at):
    assert reading_with_rows().input_of(loc) == shown_at


def test_a_missing_required_item_is_shown_at_the_amount_of_the_item_it_names():
    reading = reading_with_rows()
    assert reading.input_of("items", "mandatory item 'grid_electricity' is missing") == "item.grid_electricity.amount"
    assert reading.input_of("items", "at least one item") == "items"


# --- a stored inventory fills the form -------------------------------------------------------------------------------


def test_a_stored_inventory_fills_items_parameters_scores_and_certificate_rows():
    """The cement example: clinker 1,640,000 t with CaO 65.5 %, rated 1 on every indicator; one batch of 20,000 MWh."""
    values, co_rows, gec_rows = _prefill(cement_example(), cement_pcr())
    assert values["item.clinker.amount"] == "1640000"  # a whole number without decimals
    assert values["item.clinker.param.cao_fraction.amount"] == "65.5"
    assert values["item.clinker.param.cao_fraction.unit"] == "percent"
    assert values["item.clinker.dq.temporal"] == "1"
    assert values["gec.0.serial"] == "GEC-GZ-2023-PV-0400001" and values["gec.0.amount_mwh"] == "20000"
    assert values["gec.0.serial_last"] == ""  # every input of the row, empty where the batch has no value
    assert (co_rows, gec_rows) == (0, 1)


def test_an_item_the_pcr_no_longer_has_fills_no_input():
    data = cement_example()
    data["items"].append({"item": "retired_item", "amount": 1, "unit": "t"})
    values, _, _ = _prefill(data, cement_pcr())
    assert not any(name.startswith("item.retired_item.") for name in values)


def test_certificates_fill_no_row_under_a_pcr_that_admits_none():
    pcr = cement_pcr().model_copy(deep=True)
    pcr.electricity.gec_allowed = False
    values, _, gec_rows = _prefill(cement_example(), pcr)
    assert gec_rows == 0 and not any(name.startswith("gec.") for name in values)


# --- the schema's errors and the PCR's problems in one round ---------------------------------------------------------


def checked(values: dict[str, str]) -> FormReading:
    reading = FormReading(values, cement_pcr())
    product = SimpleNamespace(name="OPC", model=None, gtin=None)
    facility = SimpleNamespace(name="Line 2", province="Guizhou", grid_region="Southwest")
    assert _check(reading, reading.data(product, facility, "Guizhou Cement"), i18n.catalogue("en")) is None
    return reading


def test_an_item_the_schema_refuses_is_set_aside_and_the_pcr_checks_the_rest_in_the_same_round():
    values, _, _ = _prefill(cement_example(), cement_pcr())
    values = {name: value for name, value in values.items() if not name.startswith("item.kiln_coal.")}
    values["item.diesel.amount"] = "abc"
    reading = checked(values)
    assert list(reading.errors) == ["item.diesel.amount", "item.kiln_coal.amount"]  # the schema's first
    assert reading.errors["item.kiln_coal.amount"] == ["Mandatory item bituminous coal for the kiln is missing."]


def test_an_error_of_the_inventory_as_a_whole_leaves_the_pcr_checks_for_the_next_round():
    values, _, _ = _prefill(cement_example(), cement_pcr())
    values = {name: value for name, value in values.items() if not name.startswith("item.kiln_coal.")}
    values["production.amount"] = "abc"
    reading = checked(values)
    assert list(reading.errors) == ["production.amount"]
