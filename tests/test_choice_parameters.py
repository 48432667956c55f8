"""Choice parameters and the product system's parameters at the service's edges other than the form: the Excel
template of aluminium 1.2.0 offers the pot-cell technologies as a list, a filled workbook states one (a bad code is
named by its cell), the comparison of two versions compares codes as well as amounts, and the pages' view of the
parameters names the code and the PCR's default.

Without anode-effect data the PFC is the technology's Tier 1 default (IPCC 2006 Vol. 3 Table 4.15) per t Al, with
the GWP100 of the service's method (IPCC 2021, AR6, checked below from the footprint's per-gas result):

    VSS   CF4 0.8 kg x 7,380 + C2F6 0.04 kg x 12,400 = 5,904 + 496 = 6,400 kg CO2e/t
    CWPB  CF4 0.4 kg x 7,380 + C2F6 0.04 kg x 12,400 = 2,952 + 496 = 3,448 kg CO2e/t
"""

import io

import openpyxl
import pytest
from pydantic import ValidationError

from footprint_api.core.errors import Unprocessable
from footprint_api.services import excel
from footprint_api.services.dashboard import _input_changes, product_parameters, stated_parameters
from pcr_rules import default_registry
from pcr_rules.inventory import Inventory
from tests.test_api_inventories import fill, upload

REL = 1e-6  # Brightway stores matrix values as float32
GENERAL = {
    "Product name": "Primary aluminium, liquid",
    "Facility name": "Qingzhen smelter",
    "Province": "Guizhou",
    "Grid region": "South",
    "Reference period start": "2023-01-01",
    "Reference period end": "2023-12-31",
    "Production amount": 1000,
    "Production unit": "t",
}
# 13,500 kWh, 1.92 t alumina and 0.41 t anodes per t, within the PCR's ranges; no anode-effect data
ITEMS = {"grid_electricity": (13_500_000, "kWh"), "alumina": (1_920, "t"), "anode_net_consumption": (410, "t")}


def aluminium_pcr():
    return default_registry().get("PCR-CN-ALUMINIUM", "1.2.0")


def smelter_workbook(technology=None, column: str = "choice", sulphur=None) -> bytes:
    """The aluminium 1.2.0 template filled with openpyxl; the technology in the Product parameters row's `column`."""
    book = openpyxl.load_workbook(io.BytesIO(fill(excel.template(aluminium_pcr()), GENERAL, ITEMS)))
    sheet = book[excel.SHEETS["Product parameters"]]
    header = [excel.key_of(c.value) for c in sheet[1]]
    if technology is not None:
        sheet.cell(2, header.index(column) + 1).value = technology
    if sulphur is not None:
        parameters = book[excel.SHEETS["Parameters"]]
        for row in range(2, parameters.max_row + 1):
            if parameters.cell(row, 2).value == "sulphur_fraction":
                parameters.cell(row, 5).value = sulphur
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refused(content: bytes) -> list[dict]:
    with pytest.raises(Unprocessable) as error:
        excel.read_workbook(content)
    return error.value.errors


# --- the template ------------------------------------------------------------------------------------------------------


def test_the_template_offers_the_technologies_as_a_list_in_the_product_parameters_sheet():
    book = openpyxl.load_workbook(io.BytesIO(excel.template(aluminium_pcr())))
    sheet = book[excel.SHEETS["Product parameters"]]
    assert [excel.key_of(c.value) for c in sheet[1]] == excel.PRODUCT_PARAMETER_COLUMNS
    assert sheet["A2"].value == "pot_cell_technology" and "电解槽型" in sheet["B2"].value
    [choices] = sheet.data_validations.dataValidation
    assert (choices.type, choices.formula1, str(choices.sqref)) == ("list", '"CWPB,SWPB,VSS,HSS"', "F2")
    assert "VSS 上插棒自焙阳极电解槽" in choices.prompt and "CWPB" in choices.prompt.splitlines()[-1]


def test_the_guide_names_every_code_in_both_languages_and_the_default():
    book = openpyxl.load_workbook(io.BytesIO(excel.template(aluminium_pcr())))
    guide = [row[0] for row in book[excel.SHEETS["Guide"]].iter_rows(values_only=True)]
    [line] = [text for text in guide if text and text.startswith("Product parameters, pot_cell_technology")]
    assert "VSS = vertical stud Soederberg / 上插棒自焙阳极电解槽" in line and line.endswith("(empty 空: CWPB)")


def test_a_pcr_without_product_parameters_has_no_such_sheet_and_its_parameters_keep_their_columns():
    book = openpyxl.load_workbook(io.BytesIO(excel.template(default_registry().get("PCR-CN-CEMENT", "1.0.0"))))
    assert excel.SHEETS["Product parameters"] not in book.sheetnames
    header = [excel.key_of(c.value) for c in book[excel.SHEETS["Parameters"]][1]]
    assert header[4:6] == ["amount", "unit"] and header[-1] == "choice"  # rows filled by position stay valid


# --- reading a filled workbook -----------------------------------------------------------------------------------------


def test_the_technology_is_read_as_a_choice_of_the_product_system():
    inventory, reader = excel.read_workbook(smelter_workbook("VSS"))
    assert inventory.model_dump(mode="json")["parameters"] == {"pot_cell_technology": {"choice": "VSS"}}
    assert reader.cells["parameters.pot_cell_technology.choice"] == (excel.SHEETS["Product parameters"], 2, "F")


def test_a_code_typed_into_the_amount_of_a_choice_row_is_read_as_the_choice():
    inventory, reader = excel.read_workbook(smelter_workbook("HSS", column="amount"))
    assert inventory.parameters["pot_cell_technology"].choice == "HSS"
    assert reader.cells["parameters.pot_cell_technology.choice"] == (excel.SHEETS["Product parameters"], 2, "D")


def test_an_empty_technology_leaves_the_pcrs_default():
    inventory, _ = excel.read_workbook(smelter_workbook())
    assert inventory.parameters == {}


@pytest.mark.parametrize("code", ["PFPB", 7])
def test_an_unknown_technology_is_named_by_its_cell(code):
    [error] = refused(smelter_workbook(code))
    assert error["field"] == "parameters.pot_cell_technology.choice"
    assert (error["sheet"], error["row"], error["column"]) == (excel.SHEETS["Product parameters"], 2, "F")
    assert f"'{code}' is not a choice" in error["reason"] and "VSS" in error["reason"]


def test_a_number_that_is_not_one_is_one_error_at_its_cell_not_one_per_shape():
    """A parameter is a number or a choice: the schema's errors of the shape not given are left out."""
    [error] = refused(smelter_workbook(sulphur="two percent"))
    assert error["field"] == "items[2].parameters.sulphur_fraction.amount"
    assert (error["sheet"], error["column"]) == (excel.SHEETS["Parameters"], "E")


def test_a_workbook_of_an_older_template_without_the_choice_column_is_read():
    book = openpyxl.load_workbook(io.BytesIO(smelter_workbook(sulphur=0.021)))
    parameters = book[excel.SHEETS["Parameters"]]
    parameters.delete_cols(excel.PARAMETER_COLUMNS.index("choice") + 1)
    del book[excel.SHEETS["Product parameters"]]
    out = io.BytesIO()
    book.save(out)
    inventory, _ = excel.read_workbook(out.getvalue())
    assert inventory.parameters == {} and inventory.items[2].parameters["sulphur_fraction"].amount == 0.021


@pytest.mark.parametrize(("technology", "kg_co2e_per_t", "cf4_kg_per_t"), [("VSS", 6_400, 0.8), ("CWPB", 3_448, 0.4)])
def test_an_uploaded_workbook_gives_the_technologys_tier1_pfc(world, technology, kg_co2e_per_t, cf4_kg_per_t):
    """Per t Al: VSS 0.8 x 7,380 + 0.04 x 12,400 = 6,400; CWPB 0.4 x 7,380 + 0.04 x 12,400 = 3,448 kg CO2e."""
    product = world.product("acme-engineer", "PCR-CN-ALUMINIUM", f"smelter {technology}")
    response = upload(world, "acme-engineer", product["id"], smelter_workbook(technology))
    assert response.status_code == 201, response.text
    assert response.json()["data"]["parameters"] == {"pot_cell_technology": {"choice": technology}}
    job = world.calculate("acme-engineer", response.json()["id"])
    result = world.call("acme-engineer", "GET", f"/api/v1/footprints/{job['footprint_id']}").json()["result"]
    pfc = sum(c["kg_co2e"] for c in result["contributions"] if c["item"] == "anode_effect_minutes")
    assert pfc == pytest.approx(kg_co2e_per_t, rel=REL)
    cf4, c2f6 = result["per_gas"]["CF4"], result["per_gas"]["C2F6"]
    assert cf4["mass_kg"] == pytest.approx(cf4_kg_per_t, rel=REL)
    assert cf4["kg_co2e"] / cf4["mass_kg"] == pytest.approx(7_380, rel=REL)  # the method's AR6 GWP100
    assert c2f6["kg_co2e"] / c2f6["mass_kg"] == pytest.approx(12_400, rel=REL)


def test_an_uploaded_workbook_with_an_unknown_technology_answers_422_naming_the_cell(world):
    product = world.product("acme-engineer", "PCR-CN-ALUMINIUM", "smelter PFPB")
    response = upload(world, "acme-engineer", product["id"], smelter_workbook("PFPB"))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "parameters.pot_cell_technology.choice"
    assert (error["sheet"], error["row"], error["column"]) == (excel.SHEETS["Product parameters"], 2, "F")


# --- the schema's errors of a parameter ---------------------------------------------------------------------------------


def test_only_the_errors_of_the_shape_given_are_kept_and_the_shape_leaves_the_path():
    data = {
        "parameters": {"pot_cell_technology": {"choice": ""}},
        "items": [
            {"item": "clinker", "amount": 1, "unit": "t", "parameters": {"purity": {"amount": "x", "unit": "t"}}}
        ],
    }
    with pytest.raises(ValidationError) as error:
        Inventory.model_validate(data)
    kept = {(e["loc"], e["type"]) for e in excel.schema_errors(error.value, data)}
    assert (("parameters", "pot_cell_technology", "choice"), "string_too_short") in kept
    assert (("items", 0, "parameters", "purity", "amount"), "float_parsing") in kept
    assert not any("Quantity" in e[0] or "ChoiceValue" in e[0] for e in kept)
    assert not any(e[0][-1] in ("amount", "unit") and e[0][0] == "parameters" for e in kept)


# --- the comparison of two versions ----------------------------------------------------------------------------------


def inventory(technology: str | None, **item_parameters) -> dict:
    data = {
        "production": {"amount": 1000, "unit": "t"},
        "reference_period": {"start": "2023-01-01", "end": "2023-12-31"},
        "facility": {"name": "Qingzhen smelter"},
        "parameters": {"pot_cell_technology": {"choice": technology}} if technology else {},
        "items": [{"item": "anode_net_consumption", "amount": 410, "unit": "t", "parameters": item_parameters}],
    }
    return data


def parameter_changes(a: dict, b: dict) -> dict[str, tuple]:
    return {c.key: (c.a, c.b, c.unit, c.changed) for c in _input_changes(a, b) if c.group == "parameter"}


def test_a_changed_technology_is_a_changed_input():
    changes = parameter_changes(inventory("CWPB"), inventory("VSS"))
    assert changes["pot_cell_technology"] == ("CWPB", "VSS", "", True)


def test_a_technology_stated_in_one_version_only_is_compared_with_its_absence():
    assert parameter_changes(inventory(None), inventory("VSS"))["pot_cell_technology"] == (None, "VSS", "", True)
    assert parameter_changes(inventory("VSS"), inventory("VSS"))["pot_cell_technology"][3] is False


def test_an_items_choice_and_number_are_compared_as_given():
    a = inventory(None, sulphur_fraction={"amount": 2.1, "unit": "percent"}, grade={"choice": "A"})
    b = inventory(None, sulphur_fraction={"amount": 2.4, "unit": "percent"}, grade={"choice": "B"})
    changes = parameter_changes(a, b)
    assert changes["anode_net_consumption.sulphur_fraction"][:3] == (2.1, 2.4, "percent")
    assert changes["anode_net_consumption.grade"] == ("A", "B", "", True)


# --- what the pages show of the parameters -----------------------------------------------------------------------------


def test_the_pages_name_the_stated_technology_in_both_languages():
    [row] = product_parameters(inventory("VSS"), aluminium_pcr())
    assert (row.value, row.stated, row.name("zh"), row.value_name("zh")) == (
        "VSS",
        True,
        "电解槽型（阳极技术）",
        "上插棒自焙阳极电解槽",
    )
    assert row.value_name("en") == "vertical stud Soederberg"


def test_an_inventory_stating_no_technology_shows_the_pcrs_default():
    [row] = product_parameters(inventory(None), aluminium_pcr())
    assert (row.value, row.stated, row.value_name("zh")) == ("CWPB", False, "中间下料预焙阳极电解槽")


def test_a_parameter_the_pcr_does_not_know_is_shown_by_its_id():
    [row] = stated_parameters({"anode_type": {"amount": 1, "unit": "dimensionless"}}, aluminium_pcr().parameters)
    assert (row.id, row.name("zh"), row.value, row.unit) == ("anode_type", "anode_type", 1, "dimensionless")
