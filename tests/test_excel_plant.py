"""The Excel template of a PCR with captive power: units, certificate batches and measured sources round-trip."""

import io

import openpyxl
import pytest

from footprint_api.core.errors import Unprocessable
from footprint_api.services import excel
from pcr_rules import default_registry
from pcr_rules.examples import load
from tests.test_api_inventories import fill


def filled(example: dict, break_unit: bool = False) -> bytes:
    """The aluminium 1.1.0 template filled from the captive-power example, by the English keys of the captions."""
    pcr = default_registry().get(example["pcr"]["id"], example["pcr"]["version"])
    general = {
        "Product name": example["product"]["name"],
        "Facility name": example["facility"]["name"],
        "Province": example["facility"]["province"],
        "Grid region": example["facility"]["grid_region"],
        "Reference period start": example["reference_period"]["start"],
        "Reference period end": example["reference_period"]["end"],
        "Production amount": example["production"]["amount"],
        "Production unit": example["production"]["unit"],
        "Captive electricity supplied (MWh)": example["captive_power"]["supplied_mwh"],
    }
    items = {e["item"]: (e["amount"], e["unit"]) for e in example["items"]}
    certificates = [[c.get(column) for column in excel.CERTIFICATE_COLUMNS] for c in example["green_certificates"]]
    book = openpyxl.load_workbook(io.BytesIO(fill(excel.template(pcr), general, items, certificates=certificates)))
    units = book[excel.SHEETS["Captive units"]]
    header = [excel.key_of(c.value) for c in units[1]]
    for unit in example["captive_power"]["units"]:
        values = {k: v for k, v in unit.items() if k != "data_quality"}
        if break_unit:
            values["net_generation_mwh"] = 1
        units.append([values.get(column) for column in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_captive_units_and_a_certificate_batch_read_back_from_the_template():
    example = load("aluminium-xinjiang-captive-2023")
    inventory, _ = excel.read_workbook(filled(example))
    assert inventory.captive_power.supplied_mwh == example["captive_power"]["supplied_mwh"]
    assert [u.name for u in inventory.captive_power.units] == [u["name"] for u in example["captive_power"]["units"]]
    assert inventory.captive_power.units[1].measured_co2_t == 2_480_000
    batch = inventory.green_certificates[0]
    assert (batch.serial_last, batch.batch.count, batch.amount_mwh) == ("GEC-XJ-2023-W-0600000", 200_000, 200_000)


def test_an_unbalanced_unit_is_named_by_its_sheet_row_and_column():
    with pytest.raises(Unprocessable) as refused:
        excel.read_workbook(filled(load("aluminium-xinjiang-captive-2023"), break_unit=True))
    errors = {e["field"]: e for e in refused.value.errors}
    error = errors["captive_power.units[0].net_generation_mwh"]
    assert error["sheet"] == excel.SHEETS["Captive units"] and error["row"] == 2
    assert error["column"] == openpyxl.utils.get_column_letter(excel.CAPTIVE_COLUMNS.index("net_generation_mwh") + 1)


def test_a_pcr_without_captive_power_has_no_captive_sheet():
    book = openpyxl.load_workbook(io.BytesIO(excel.template(default_registry().get("PCR-CN-CEMENT", "1.0.0"))))
    assert excel.SHEETS["Captive units"] not in book.sheetnames
