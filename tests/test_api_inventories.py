"""Inventories over HTTP: JSON and Excel, versions, certificate retirement, calculation jobs."""

import copy
import io
import json
import uuid

import openpyxl
import pytest

from footprint_api.services.excel import SHEETS, key_of
from tests.conftest import EXAMPLES, inventory, load_example
from tests.labelling import unique_serials


def test_submitting_twice_makes_two_versions_and_keeps_the_first(world):
    """The second version is a correction for the same period: it lists the same certificate batch, which stays
    retired once (tests/test_certificate_pool.py follows the draws)."""
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    first_data = unique_serials(load_example("cement-guizhou-2023.json"))
    first = world.submit("acme-engineer", product["id"], first_data)
    second_data = copy.deepcopy(first_data)
    second_data["items"][2]["amount"] = 150_000_000
    second = world.submit("acme-engineer", product["id"], second_data)
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    stored = world.call("acme-engineer", "GET", f"/api/v1/inventories/{first.json()['id']}").json()
    assert stored["data"]["items"][2]["amount"] == 160_000_000


def test_an_inventory_that_breaks_its_pcr_is_422_with_fields(world):
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    data = load_example("cement-guizhou-2023.json")
    data["items"][2]["unit"] = "kg"
    data["green_certificates"] = []
    response = world.submit("acme-engineer", product["id"], data)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert {"field": "items[2].unit"}.items() <= response.json()["errors"][0].items()


def test_inventory_for_a_product_of_another_pcr_is_refused(world):
    product = world.product("acme-engineer", "PCR-CN-STEEL")
    response = world.submit("acme-engineer", product["id"], unique_serials(load_example("cement-guizhou-2023.json")))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "inventory.pcr.id"


def test_a_retired_serial_cannot_be_retired_again_anywhere(world):
    data = unique_serials(load_example("aluminium-guizhou-2023.json"))
    mine = world.product("acme-engineer", "PCR-CN-ALUMINIUM")
    theirs = world.product("rival-engineer", "PCR-CN-ALUMINIUM")
    assert world.submit("acme-engineer", mine["id"], data).status_code == 201
    again = world.submit("rival-engineer", theirs["id"], data)
    assert again.status_code == 409
    assert {e["field"] for e in again.json()["errors"]} == {
        "inventory.green_certificates[0].serial",
        "inventory.green_certificates[1].serial",
    }
    assert all(e["reason"].endswith("retired elsewhere") for e in again.json()["errors"])  # never whose
    retired = world.call("acme-engineer", "GET", "/api/v1/certificates/retirements").json()
    assert data["green_certificates"][0]["serial"] in {r["serial"] for r in retired}
    assert world.call("rival-engineer", "GET", "/api/v1/certificates/retirements").json() == []


def test_calculation_is_a_job_and_its_result_is_stored(world, engine):
    product = world.product("acme-engineer", "PCR-CN-ALUMINIUM")
    data = unique_serials(load_example("aluminium-guizhou-2023.json"))
    submitted = world.submit("acme-engineer", product["id"], data).json()
    response = world.call("acme-engineer", "POST", f"/api/v1/inventories/{submitted['id']}/calculations", json={})
    assert response.status_code == 202 and response.headers["location"] == f"/api/v1/jobs/{response.json()['id']}"
    job = world.wait("acme-engineer", response.json()["id"])
    assert job["status"] == "succeeded" and job["progress"] == 1.0
    footprint = world.call("acme-engineer", "GET", f"/api/v1/footprints/{job['footprint_id']}").json()
    expected = engine.calculate(inventory(data))
    assert footprint["total_kg_co2e"] == pytest.approx(expected.total_kg_co2e, rel=1e-12)
    assert footprint["result"]["market_based_kg_co2e"] == pytest.approx(expected.market_based_kg_co2e, rel=1e-12)


def test_monte_carlo_parameters_are_bounded(world):
    product = world.product("acme-engineer", "PCR-CN-ALUMINIUM")
    submitted = world.submit(
        "acme-engineer", product["id"], unique_serials(load_example("aluminium-guizhou-2023.json"))
    ).json()
    response = world.call(
        "acme-engineer",
        "POST",
        f"/api/v1/inventories/{submitted['id']}/calculations",
        json={"monte_carlo_iterations": 10**9},
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "monte_carlo_iterations"


# --- Excel ------------------------------------------------------------------------------------------------------


def fill(
    template: bytes,
    general: dict,
    items: dict[str, tuple],
    parameters: dict[tuple, float] | None = None,
    certificates: list[list] | None = None,
    choices: dict[str, str] | None = None,
) -> bytes:
    """The template with its cells filled; `choices`: the product-system parameters' codes, by parameter id
    (sheet Product parameters, column `choice`)."""
    book = openpyxl.load_workbook(io.BytesIO(template))
    sheet = book[SHEETS["Inventory"]]
    for row in range(2, sheet.max_row + 1):
        if key_of(sheet.cell(row, 1).value) in general:  # the English key of the bilingual caption
            sheet.cell(row, 2).value = general[key_of(sheet.cell(row, 1).value)]
    sheet = book[SHEETS["Items"]]
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, 1).value in items:
            amount, unit = items[sheet.cell(row, 1).value]
            sheet.cell(row, 5).value, sheet.cell(row, 6).value = amount, unit
    sheet = book[SHEETS["Parameters"]]
    for row in range(2, sheet.max_row + 1):
        key = (sheet.cell(row, 1).value, sheet.cell(row, 2).value)
        if parameters and key in parameters:
            sheet.cell(row, 5).value = parameters[key]
    for values in certificates or []:
        book[SHEETS["Certificates"]].append(values)
    if choices:
        sheet = book[SHEETS["Product parameters"]]
        column = [key_of(cell.value) for cell in sheet[1]].index("choice") + 1
        for row in range(2, sheet.max_row + 1):
            if sheet.cell(row, 1).value in choices:
                sheet.cell(row, column).value = choices[sheet.cell(row, 1).value]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


CEMENT_GENERAL = {
    "Product name": "OPC",
    "Facility name": "Line 2",
    "Province": "Guizhou",
    "Reference period start": "2023-01-01",
    "Reference period end": "2023-12-31",
    "Production amount": 1000,
    "Production unit": "t",
}
CEMENT_PARAMETERS = {("clinker", "cao_fraction"): 0.65, ("clinker", "mgo_fraction"): 0.02}
# the product class the latest cement PCR (1.2.0, GB 175-2023) asks for
CEMENT_CLASS = {"cement_type": "P·O", "strength_class": "42.5"}


@pytest.mark.parametrize(
    "pcr_id", ["PCR-CN-ALUMINIUM", "PCR-CN-CEMENT", "PCR-CN-ELECTRICITY", "PCR-CN-FLATGLASS", "PCR-CN-STEEL"]
)
def test_every_pcr_has_a_downloadable_template(world, pcr_id):
    response = world.client.get(f"/api/v1/pcrs/{pcr_id}/template.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[:2] == [SHEETS["Inventory"], SHEETS["Items"]]
    assert book[SHEETS["Inventory"]]["B2"].value == pcr_id


def upload(world, user: str, product_id: str, content: bytes):
    return world.call(
        user,
        "POST",
        "/api/v1/inventories/excel",
        data={"product_id": product_id},
        files={"file": ("inventory.xlsx", content, "application/vnd.ms-excel")},
    )


def test_a_filled_template_becomes_an_inventory(world):
    template = world.client.get("/api/v1/pcrs/PCR-CN-CEMENT/template.xlsx").content
    content = fill(
        template,
        CEMENT_GENERAL,
        {"clinker": (800, "t"), "kiln_coal": (110, "t"), "grid_electricity": (90_000, "kWh")},
        CEMENT_PARAMETERS,
        [[f"GEC-XL-{uuid.uuid4().hex[:8]}-0001", 10, "wind", "2023-04", "Guizhou", None, "gec"]],
        CEMENT_CLASS,
    )
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    plant = {"name": CEMENT_GENERAL["Facility name"], "province": "Guizhou"}  # the facility the workbook names
    assert world.call("acme-engineer", "POST", "/api/v1/facilities", json=plant).status_code == 201
    response = upload(world, "acme-engineer", product["id"], content)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["source"] == "excel" and stored["data"]["items"][0]["parameters"]["cao_fraction"]["amount"] == 0.65
    assert stored["data"]["green_certificates"][0]["amount_mwh"] == 10
    assert stored["data"]["parameters"] == {"cement_type": {"choice": "P·O"}, "strength_class": {"choice": "42.5"}}


def test_excel_errors_point_to_sheet_row_and_column(world):
    template = world.client.get("/api/v1/pcrs/PCR-CN-CEMENT/template.xlsx").content
    content = fill(
        template,
        CEMENT_GENERAL,
        {"clinker": (800, "t"), "kiln_coal": (110, "t"), "grid_electricity": (90_000, "kg")},
        {("clinker", "cao_fraction"): 0.65},
    )
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    response = upload(world, "acme-engineer", product["id"], content)
    assert response.status_code == 422
    errors = {e["field"]: e for e in response.json()["errors"]}
    book = openpyxl.load_workbook(io.BytesIO(template))
    electricity_row = next(r for r in range(2, 40) if book[SHEETS["Items"]].cell(r, 1).value == "grid_electricity")
    mgo_row = next(r for r in range(2, 40) if book[SHEETS["Parameters"]].cell(r, 2).value == "mgo_fraction")
    assert {k: errors["items[2].unit"][k] for k in ("sheet", "row", "column")} == {
        "sheet": SHEETS["Items"],
        "row": electricity_row,
        "column": "F",
    }
    assert {k: errors["items[0].parameters.mgo_fraction"][k] for k in ("sheet", "row", "column")} == {
        "sheet": SHEETS["Parameters"],
        "row": mgo_row,
        "column": "E",
    }


def test_a_text_in_an_amount_cell_is_named_by_its_cell(world):
    template = world.client.get("/api/v1/pcrs/PCR-CN-CEMENT/template.xlsx").content
    content = fill(
        template,
        {**CEMENT_GENERAL, "Production amount": "a lot"},
        {"clinker": (800, "t"), "kiln_coal": (110, "t"), "grid_electricity": (90_000, "kWh")},
        CEMENT_PARAMETERS,
    )
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    response = upload(world, "acme-engineer", product["id"], content)
    error = response.json()["errors"][0]
    assert response.status_code == 422 and (error["sheet"], error["column"]) == (SHEETS["Inventory"], "B")


def test_a_file_that_is_not_a_workbook_is_422(world):
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    response = upload(world, "acme-engineer", product["id"], b"PK\x03\x04 not really")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "file"


def test_all_examples_submit_and_calculate(world):
    for path in EXAMPLES:
        data = unique_serials(json.loads(path.read_text()))
        product = world.product("acme-engineer", data["pcr"]["id"], path.stem)
        submitted = world.submit("acme-engineer", product["id"], data)
        assert submitted.status_code == 201, submitted.text
        assert world.calculate("acme-engineer", submitted.json()["id"])["status"] == "succeeded"


def test_concurrent_writes_on_the_embedded_database_all_succeed(world):
    """SQLite has one writer: 24 calculations requested at once, each reading then writing (and the in-process
    workers writing their results meanwhile), must all be accepted and all finish, none 'database is locked'."""
    from concurrent.futures import ThreadPoolExecutor

    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    submitted = world.submit("acme-engineer", product["id"], unique_serials(load_example("cement-guizhou-2023.json")))
    url = f"/api/v1/inventories/{submitted.json()['id']}/calculations"
    headers = world.as_("acme-engineer")
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda _: world.client.post(url, json={}, headers=headers), range(24)))
    assert [r.status_code for r in responses] == [202] * 24, [r.text for r in responses if r.status_code != 202]
    jobs = [world.wait("acme-engineer", r.json()["id"]) for r in responses]
    assert {job["status"] for job in jobs} == {"succeeded"}
    assert len({job["footprint_id"] for job in jobs}) == 24


def test_a_schema_error_names_the_field_as_the_pcr_validation_does(world):
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    data = load_example("cement-guizhou-2023.json")
    data["items"][2]["amount"] = -5
    response = world.submit("acme-engineer", product["id"], data)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert (error["field"], error["reason"]) == (
        "inventory.items[2].amount",
        "Input should be greater than or equal to 0",
    )


def test_a_bad_parameter_value_is_reported_once_at_its_field(world):
    """CaO given as 'lots' %: one error at its amount, not a second one about a choice that was never given."""
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["items"][0]["parameters"]["cao_fraction"] = {"amount": "lots", "unit": "%"}
    response = world.submit("acme-engineer", product["id"], data)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["inventory.items[0].parameters.cao_fraction.amount"]


def test_a_pcr_problem_carries_its_code_and_values_beside_the_english_reason(world):
    """CaO typed as 65.2 in the 0–1 fraction unit: the JSON API names the field, gives the English reason, and the
    message code `validation.looks_like_percent` with the value 65.2, so a client can word it in its own language
    (65.2 ≫ the PCR's upper bound 0.72 of a fraction; as a percentage it is 0.652, within [0.55, 0.72])."""
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["items"][0]["parameters"]["cao_fraction"] = {"amount": 65.2, "unit": "dimensionless"}
    response = world.submit("acme-engineer", product["id"], data)
    assert response.status_code == 422
    [entry] = [e for e in response.json()["errors"] if e["field"].endswith("cao_fraction")]
    assert entry["code"] == "validation.looks_like_percent" and entry["params"]["value"] == 65.2
    assert "65.2" in entry["reason"]
