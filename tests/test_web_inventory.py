"""Pages of products, facilities and inventories: the form generated from each PCR, errors next to their inputs in
one round, units converted on the server, the Excel template uploaded with errors by sheet, row and cell, and every
route isolated between organisations."""

import io
import re
import uuid
from html import unescape

import openpyxl
import pytest

from footprint_api.services import excel
from footprint_api.web.routes.inventory import field_id
from pcr_rules import default_registry
from pcr_rules.inventory import Inventory
from pcr_rules.validation import item_amount_in_pcr_unit
from tests.conftest import load_example
from tests.web_client import Browser

# the form of a new product is its PCR's latest version's (earlier versions' items need not be in it: steel 2.0.0
# is a product form, not the crude steel of 1.x)
PCRS = list({pcr.id: pcr for pcr in default_registry().list()}.values())


@pytest.fixture(scope="module")
def app(world):
    from footprint_api.app import create_app

    return create_app()


@pytest.fixture(scope="module")
def engineer(app):
    return Browser(app, "acme-engineer")


@pytest.fixture(scope="module")
def facility(world):
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/facilities",
        json={"name": "Line 2 kiln", "province": "Guizhou", "grid_region": "South"},
    )
    return response.json()


def new_product(world, pcr_id: str = "PCR-CN-CEMENT", name: str | None = None) -> dict:
    return world.product("acme-engineer", pcr_id, name or f"product {uuid.uuid4().hex[:6]}")


def serial() -> str:
    return f"GEC-WEB-{uuid.uuid4().hex[:10]}-0000001"  # a batch counts on from the serial's trailing number


def input_of(html: str, name: str) -> str:
    """The tag of the input (or select) named `name`."""
    found = re.search(rf'<(?:input|select)[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    assert found, f"no input named {name}"
    return found.group(0)


def error_of(html: str, name: str) -> str | None:
    """The text of the error shown next to the input named `name` (None when there is none)."""
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id(name))}-error">(.*?)</p>', html, re.S)
    return unescape(found.group(1)) if found else None


def cement_form(product_id: str, facility_id: str, **changes) -> dict:
    """The cement example (examples/cement-guizhou-2023.json) as the form's fields, with a fresh certificate."""
    example = load_example("cement-guizhou-2023.json")
    fields = {
        "product_id": product_id,
        "facility_id": facility_id,
        "pcr_version": "1.0.0",
        "reference_period.start": "2023-01-01",
        "reference_period.end": "2023-12-31",
        "production.amount": "2000000",
        "production.unit": "t",
    }
    for entry in example["items"]:
        prefix = f"item.{entry['item']}"
        fields[f"{prefix}.amount"], fields[f"{prefix}.unit"] = str(entry["amount"]), entry["unit"]
        if "data_source" in entry:
            fields[f"{prefix}.data_source"] = entry["data_source"]
        for name, quantity in entry.get("parameters", {}).items():
            fields[f"{prefix}.param.{name}.amount"] = str(quantity["amount"])
            fields[f"{prefix}.param.{name}.unit"] = quantity["unit"]
        for indicator, score in entry.get("data_quality", {}).items():
            fields[f"{prefix}.dq.{indicator}"] = str(score)
    certificate = example["green_certificates"][0]
    fields.update(
        {
            "gec.0.serial": serial(),
            "gec.0.amount_mwh": str(certificate["amount_mwh"]),
            "gec.0.technology": certificate["technology"],
            "gec.0.generation_month": certificate["generation_month"],
            "gec.0.province": certificate["province"],
            "gec.0.instrument": "gec",
        }
    )
    fields.update(changes)
    return fields


def stored(world, product_id: str) -> list[dict]:
    return world.call("acme-engineer", "GET", f"/api/v1/inventories?product_id={product_id}").json()


# --- the form generated from the PCR -------------------------------------------------------------------------------


@pytest.mark.parametrize("pcr", PCRS, ids=lambda p: p.ref)
def test_the_form_of_every_pcr_has_every_item_parameter_and_unit(world, engineer, pcr):
    product = new_product(world, pcr.id)
    page = engineer.get(f"/app/inventories/new?product={product['id']}")
    assert page.status_code == 200, page.text
    for spec in pcr.items:
        assert f"<code>{spec.id}</code>" in page.text
        unit = input_of(page.text, f"item.{spec.id}.unit")
        assert unit.startswith("<select")
        options = re.search(rf'name="item.{re.escape(spec.id)}.unit".*?</select>', page.text, re.S).group(0)
        assert f'value="{spec.unit}"' in options  # the PCR's own unit is always offered
        for parameter in spec.parameters:
            input_of(page.text, f"item.{spec.id}.param.{parameter.id}.amount")
        for indicator in ("technological", "geographical", "temporal", "precision"):
            input_of(page.text, f"item.{spec.id}.dq.{indicator}")
        input_of(page.text, f"item.{spec.id}.relative_sd")
        if spec.plausible_per_declared_unit is not None and spec.plausible_per_declared_unit.max is not None:
            assert f"{spec.plausible_per_declared_unit.max:g}" in page.text
    assert ('name="gec.0.serial"' in page.text) == pcr.electricity.gec_allowed
    for gas in pcr.measured_emissions.allowed_gases:
        input_of(page.text, f"measured.{gas}.amount")
    assert ('name="co.0.name"' in page.text) == (pcr.allocation.method != "none")


def test_electricity_is_offered_in_mwh_and_kwh(world, engineer):
    product = new_product(world)
    page = engineer.get(f"/app/inventories/new?product={product['id']}").text
    options = re.search(r'name="item.grid_electricity.unit".*?</select>', page, re.S).group(0)
    assert re.findall(r'value="([^"]+)"', options)[:3] == ["kWh", "MWh", "GWh"]
    assert "Plausible: 30–150 kWh per 1 t of product." in page


def test_a_filled_form_is_stored_as_the_api_stores_it(world, engineer, facility):
    product = new_product(world)
    fields = cement_form(product["id"], facility["id"])
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 303, error_summary(response.text)
    [record] = stored(world, product["id"])
    assert response.headers["location"] == f"/app/inventories/{record['id']}"
    assert record["source"] == "form" and record["facility_id"] == facility["id"]
    clinker = record["data"]["items"][0]
    assert clinker["parameters"]["cao_fraction"] == {"amount": 65.5, "unit": "percent"}
    assert clinker["data_quality"] == {"technological": 1, "geographical": 1, "temporal": 1, "precision": 1}
    assert record["data"]["green_certificates"][0]["serial"] == fields["gec.0.serial"]


def test_electricity_entered_in_mwh_is_converted_by_pint_on_the_server(world, engineer, facility):
    """160,000 MWh = 160,000,000 kWh: 80 kWh per t of 2,000,000 t, inside the PCR's 30-150 kWh/t. Stored as
    entered, as the JSON API stores it; the PCR checks and the calculation convert it with pint."""
    product = new_product(world)
    fields = cement_form(
        product["id"], facility["id"], **{"item.grid_electricity.amount": "160000", "item.grid_electricity.unit": "MWh"}
    )
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 303, error_summary(response.text)
    [record] = stored(world, product["id"])
    electricity = next(e for e in record["data"]["items"] if e["item"] == "grid_electricity")
    assert (electricity["amount"], electricity["unit"]) == (160000, "MWh")
    spec = default_registry().get("PCR-CN-CEMENT").item("grid_electricity")
    entry = Inventory.model_validate(record["data"]).items[record["data"]["items"].index(electricity)]
    assert item_amount_in_pcr_unit(entry, spec) == 160_000_000  # kWh
    page = engineer.get(f"/app/inventories/{record['id']}").text
    assert "160,000 MWh" in page and "160,000,000 kWh" in page


def error_summary(html: str) -> str:
    found = re.search(r'<div class="card error-summary".*?</div>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", found.group(0))) if found else html[:2000]


def test_two_wrong_fields_are_both_shown_next_to_their_inputs_and_nothing_is_stored(world, engineer, facility):
    product = new_product(world)
    fields = cement_form(
        product["id"],
        facility["id"],
        **{
            "item.gypsum.amount": "900000",  # 0.45 t/t > 0.08
            "gec.0.generation_month": "2019-01",
        },
    )
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422
    assert "plausible range" in error_of(response.text, "item.gypsum.amount")
    assert "outside" in error_of(response.text, "gec.0.generation_month")
    assert 'aria-invalid="true"' in input_of(response.text, "item.gypsum.amount")
    assert 'value="900000"' in input_of(response.text, "item.gypsum.amount")  # what was typed stays
    assert stored(world, product["id"]) == []


def test_a_schema_error_and_a_pcr_error_come_in_the_same_round(world, engineer, facility):
    """A serial the schema refuses sets its certificate aside; the PCR's checks of the rest still run."""
    product = new_product(world)
    fields = cement_form(product["id"], facility["id"], **{"gec.0.serial": "x!", "item.kiln_coal.amount": "1"})
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422
    assert "serial" in error_of(response.text, "gec.0.serial")
    assert "plausible range" in error_of(response.text, "item.kiln_coal.amount")
    assert stored(world, product["id"]) == []


def test_a_missing_mandatory_item_and_parameter_are_shown_at_their_inputs(world, engineer, facility):
    product = new_product(world)
    fields = cement_form(
        product["id"], facility["id"], **{"item.kiln_coal.amount": "", "item.clinker.param.mgo_fraction.amount": ""}
    )
    fields = {k: v for k, v in fields.items() if not k.startswith("item.kiln_coal.")}
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422
    assert "missing" in error_of(response.text, "item.kiln_coal.amount")
    assert "required" in error_of(response.text, "item.clinker.param.mgo_fraction.amount")


def test_a_text_in_a_number_field_and_a_missing_facility_are_named(world, engineer):
    product = new_product(world)
    fields = cement_form(product["id"], "", **{"production.amount": "lots", "item.clay.dq.temporal": "2"})
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422
    assert error_of(response.text, "production.amount") == "Enter a number."
    assert error_of(response.text, "facility_id") == "Choose the facility."
    assert error_of(response.text, "item.clay.dq.technological") == "Required."  # all four indicators or none
    assert stored(world, product["id"]) == []


def test_a_batch_retired_to_another_facility_is_refused_at_its_serial(world, engineer, facility):
    product, other = new_product(world), new_product(world)
    first = cement_form(product["id"], facility["id"])
    assert engineer.post_form("/app/inventories/new", "/app/inventories", first).status_code == 303
    elsewhere = world.call(
        "acme-engineer", "POST", "/api/v1/facilities", json={"name": "Line 3 kiln", "province": "Guizhou"}
    ).json()
    again = cement_form(other["id"], elsewhere["id"], **{"gec.0.serial": first["gec.0.serial"]})
    response = engineer.post_form("/app/inventories/new", "/app/inventories", again)
    assert response.status_code == 422
    assert "retired to facility 'Line 2 kiln' for 2023-01-01..2023-12-31" in error_of(response.text, "gec.0.serial")
    assert stored(world, other["id"]) == []


def test_a_new_version_keeps_the_batch_of_the_version_it_corrects(world, app, engineer, facility):
    """Version 2 of the same product, facility and period lists the same 20,000 MWh batch: stored, and the
    facility's pool shows it drawn by version 2 only (version 1's draw released)."""
    product = new_product(world)
    fields = cement_form(product["id"], facility["id"])
    assert engineer.post_form("/app/inventories/new", "/app/inventories", fields).status_code == 303
    fields["item.diesel.note"] = "quarry fleet, corrected"
    assert engineer.post_form("/app/inventories/new", "/app/inventories", fields).status_code == 303
    assert [i["version"] for i in stored(world, product["id"])] == [1, 2]
    page = engineer.get(f"/app/facilities/{facility['id']}/edit").text
    row = next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if fields["gec.0.serial"] in r)
    assert ">20,000<" in row and "version 1" in row and "released: replaced by version 2" in row
    assert row.count("· version 2 ·") == 1  # the active draw (version 1's reason names it too)
    chinese = Browser(app, "acme-engineer", lang="zh").get(f"/app/facilities/{facility['id']}/edit").text
    assert "已释放：已由第 2 版替代" in chinese  # the stored reason in the reader's language


def test_a_new_version_starts_as_a_copy_of_the_latest(world, engineer, facility):
    product = new_product(world)
    fields = cement_form(product["id"], facility["id"], **{"item.diesel.note": "quarry fleet"})
    assert engineer.post_form("/app/inventories/new", "/app/inventories", fields).status_code == 303
    page = engineer.get(f"/app/inventories/new?product={product['id']}").text
    assert 'value="1640000"' in input_of(page, "item.clinker.amount")
    assert 'value="65.5"' in input_of(page, "item.clinker.param.cao_fraction.amount")
    assert 'value="quarry fleet"' in input_of(page, "item.diesel.note")
    assert f'value="{facility["id"]}" selected' in page
    assert f'value="{fields["gec.0.serial"]}"' in input_of(page, "gec.0.serial")  # the batch is kept
    assert 'value="20000"' in input_of(page, "gec.0.amount_mwh")


# --- products and facilities ---------------------------------------------------------------------------------------


def test_a_product_is_created_with_its_gtin_as_gtin14(world, engineer):
    name = f"OPC {uuid.uuid4().hex[:6]}"
    response = engineer.post_form(
        "/app/products",
        "/app/products",
        {"name": name, "model": "P.O 42.5", "gtin": "6901234567892", "pcr_id": "PCR-CN-CEMENT"},
    )
    assert response.status_code == 303
    product = next(p for p in world.call("acme-engineer", "GET", "/api/v1/products").json() if p["name"] == name)
    assert product["gtin"] == "06901234567892"
    assert name in engineer.get("/app/products").text


def test_a_gtin_with_a_wrong_check_digit_is_refused_next_to_the_field(world, engineer):
    name = f"bad gtin {uuid.uuid4().hex[:6]}"
    response = engineer.post_form(
        "/app/products", "/app/products", {"name": name, "gtin": "6901234567891", "pcr_id": "PCR-CN-CEMENT"}
    )
    assert response.status_code == 422
    found = re.search(r'id="f-product-gtin-error">(.*?)</p>', response.text, re.S)
    assert found and "the check digit should be 2" in unescape(found.group(1))
    assert 'value="6901234567891"' in response.text
    assert name not in [p["name"] for p in world.call("acme-engineer", "GET", "/api/v1/products").json()]


def test_a_product_without_name_and_pcr_shows_both_errors(engineer):
    response = engineer.post_form("/app/products", "/app/products", {"name": "", "pcr_id": ""})
    assert response.status_code == 422
    assert 'id="f-product-name-error"' in response.text and 'id="f-product-pcr_id-error"' in response.text


def test_a_product_is_edited_and_keeps_its_pcr_once_it_has_an_inventory(world, engineer, facility):
    product = new_product(world)
    page = f"/app/products/{product['id']}/edit"
    assert engineer.get(page).status_code == 200
    response = engineer.post_form(
        page,
        f"/app/products/{product['id']}",
        {"name": "Renamed", "model": "P.II 52.5", "gtin": "96385074", "pcr_id": "PCR-CN-STEEL"},
    )
    assert response.status_code == 303
    changed = world.call("acme-engineer", "GET", f"/api/v1/products/{product['id']}").json()
    assert (changed["name"], changed["model"], changed["gtin"], changed["pcr_id"]) == (
        "Renamed",
        "P.II 52.5",
        "00000096385074",
        "PCR-CN-STEEL",
    )
    engineer.post_form(page, f"/app/products/{product['id']}", {"name": "Renamed", "pcr_id": "PCR-CN-CEMENT"})
    assert (
        engineer.post_form(
            "/app/inventories/new", "/app/inventories", cement_form(product["id"], facility["id"])
        ).status_code
        == 303
    )
    response = engineer.post_form(
        page, f"/app/products/{product['id']}", {"name": "Renamed", "pcr_id": "PCR-CN-STEEL", "gtin": "123"}
    )
    assert response.status_code == 422 and 'id="f-gtin-error"' in response.text
    response = engineer.post_form(page, f"/app/products/{product['id']}", {"name": "Renamed", "pcr_id": "PCR-CN-STEEL"})
    assert response.status_code == 422 and "inventories that follow" in unescape(response.text)
    assert world.call("acme-engineer", "GET", f"/api/v1/products/{product['id']}").json()["pcr_id"] == "PCR-CN-CEMENT"


def test_a_facility_is_created_and_edited(world, engineer):
    name = f"Plant {uuid.uuid4().hex[:6]}"
    response = engineer.post_form(
        "/app/products", "/app/facilities", {"name": name, "province": "Jiangsu", "grid_region": "East"}
    )
    assert response.status_code == 303
    facility = next(f for f in world.call("acme-engineer", "GET", "/api/v1/facilities").json() if f["name"] == name)
    page = f"/app/facilities/{facility['id']}/edit"
    response = engineer.post_form(
        page, f"/app/facilities/{facility['id']}", {"name": name, "province": "Anhui", "grid_region": ""}
    )
    assert response.status_code == 303
    changed = world.call("acme-engineer", "GET", f"/api/v1/facilities/{facility['id']}").json()
    assert (changed["province"], changed["grid_region"]) == ("Anhui", None)
    response = engineer.post_form(page, f"/app/facilities/{facility['id']}", {"name": "", "province": "Anhui"})
    assert response.status_code == 422 and 'id="f-name-error"' in response.text


def test_the_json_api_edits_products_and_facilities_through_the_same_service(world):
    product = new_product(world)
    response = world.call("acme-engineer", "PATCH", f"/api/v1/products/{product['id']}", json={"gtin": "96385074"})
    assert response.status_code == 200 and response.json()["gtin"] == "00000096385074"
    assert response.json()["name"] == product["name"]
    response = world.call("acme-engineer", "PATCH", f"/api/v1/products/{product['id']}", json={"gtin": "96385075"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "gtin"
    response = world.call("acme-engineer", "PATCH", f"/api/v1/products/{product['id']}", json={"name": None})
    assert response.status_code == 422
    assert (
        world.call("rival-engineer", "PATCH", f"/api/v1/products/{product['id']}", json={"name": "mine"}).status_code
        == 404
    )
    facility = world.call("acme-engineer", "POST", "/api/v1/facilities", json={"name": "F", "province": "Hubei"}).json()
    response = world.call(
        "acme-engineer", "PATCH", f"/api/v1/facilities/{facility['id']}", json={"grid_region": "Central"}
    )
    assert response.status_code == 200 and response.json()["grid_region"] == "Central"
    assert (
        world.call("rival-engineer", "PATCH", f"/api/v1/facilities/{facility['id']}", json={"name": "mine"}).status_code
        == 404
    )
    trail = world.call("acme-admin", "GET", "/api/v1/audit").json()
    actions = [e["action"] for e in (trail["events"] if isinstance(trail, dict) else trail)]
    assert "product.updated" in actions and "facility.updated" in actions


# --- lists, the inventory page, calculation ------------------------------------------------------------------------


def test_the_inventory_list_shows_the_newest_first(world, engineer, facility):
    product = new_product(world, name=f"listed {uuid.uuid4().hex[:6]}")
    for _ in range(2):
        assert (
            engineer.post_form(
                "/app/inventories/new", "/app/inventories", cement_form(product["id"], facility["id"])
            ).status_code
            == 303
        )
    records = stored(world, product["id"])
    page = engineer.get("/app/inventories").text
    assert page.index(records[1]["id"]) < page.index(records[0]["id"])
    assert "2023-01-01 – 2023-12-31" in page and "web form" in page


def test_the_inventory_page_shows_what_was_submitted_and_calculate_goes_to_the_job(world, engineer, facility):
    product = new_product(world)
    fields = cement_form(product["id"], facility["id"])
    response = engineer.post_form("/app/inventories/new", "/app/inventories", fields)
    url = response.headers["location"]
    page = engineer.get(url).text
    for shown in (fields["gec.0.serial"], "1,640,000 t", "cao_fraction = 65.5 %", "DQR 1.25", "Line 2 kiln"):
        assert shown in unescape(page), shown
    response = engineer.post_form(url, f"{url}/calculate", {"monte_carlo_iterations": "0"})
    assert response.status_code == 303 and response.headers["location"].startswith("/app/jobs/")
    job_id = response.headers["location"].rsplit("/", 1)[1]
    assert world.wait("acme-engineer", job_id)["status"] == "succeeded"


def test_too_many_monte_carlo_iterations_are_refused(engineer, world, facility):
    product = new_product(world)
    url = engineer.post_form(
        "/app/inventories/new", "/app/inventories", cement_form(product["id"], facility["id"])
    ).headers["location"]
    response = engineer.post_form(url, f"{url}/calculate", {"monte_carlo_iterations": "1000000"})
    assert response.status_code == 422


# --- Excel ---------------------------------------------------------------------------------------------------------


def filled_workbook(electricity_unit: str = "kWh", certificate: str | None = None) -> bytes:
    """The cement template, filled with openpyxl by the English keys of its bilingual captions."""
    book = openpyxl.load_workbook(io.BytesIO(excel.template(default_registry().get("PCR-CN-CEMENT"))))
    general = {
        "Product name": "OPC",
        "Facility name": "Line 2 kiln",  # the facility of the `facility` fixture, by its name
        "Province": "Guizhou",
        "Reference period start": "2023-01-01",
        "Reference period end": "2023-12-31",
        "Production amount": 1000,
        "Production unit": "t",
    }
    sheet = book[excel.SHEETS["Inventory"]]
    for row in range(2, sheet.max_row + 1):
        key = excel.key_of(sheet.cell(row, 1).value)
        if key in general:
            sheet.cell(row, 2).value = general[key]
    items = book[excel.SHEETS["Items"]]
    columns = {excel.key_of(c.value): c.column for c in items[1]}
    amounts = {"clinker": (800, "t"), "kiln_coal": (110, "t"), "grid_electricity": (90_000, electricity_unit)}
    for row in range(2, items.max_row + 1):
        item = items.cell(row, 1).value
        if item in amounts:
            items.cell(row, columns["amount"]).value, items.cell(row, columns["unit"]).value = amounts[item]
        if item == "clinker":
            for indicator in ("technological", "geographical", "temporal", "precision"):
                items.cell(row, columns[f"dq_{indicator}"]).value = 2
    parameters = book[excel.SHEETS["Parameters"]]
    for row in range(2, parameters.max_row + 1):
        key = parameters.cell(row, 2).value
        if key in ("cao_fraction", "mgo_fraction"):
            parameters.cell(row, 5).value = {"cao_fraction": 0.65, "mgo_fraction": 0.02}[key]
    # the product class the latest cement PCR asks for (1.2.0: GB 175-2023 type and strength class)
    product = book[excel.SHEETS["Product parameters"]]
    choice = [excel.key_of(c.value) for c in product[1]].index("choice") + 1
    for row in range(2, product.max_row + 1):
        code = {"cement_type": "P·O", "strength_class": "42.5"}.get(product.cell(row, 1).value)
        if code:
            product.cell(row, choice).value = code
    if certificate:
        book[excel.SHEETS["Certificates"]].append([certificate, 10, "wind", "2023-04", "Guizhou", None, "gec"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(engineer, product_id: str, content: bytes):
    return engineer.post_form(
        "/app/inventories/upload",
        "/app/inventories/upload",
        {"product_id": product_id},
        files={"file": ("inventory.xlsx", content, excel_media_type())},
    )


def test_an_uploaded_workbook_with_errors_shows_each_by_sheet_row_and_cell(world, engineer, facility):
    product = new_product(world)
    response = upload(engineer, product["id"], filled_workbook(electricity_unit="kg"))
    assert response.status_code == 422
    rows = re.findall(
        r'<tr class="cell-error" data-field="([^"]*)" data-sheet="([^"]*)" data-cell="([^"]*)">', response.text
    )
    electricity = next(r for r in rows if r[0] == "items[2].unit")
    book = openpyxl.load_workbook(io.BytesIO(excel.template(default_registry().get("PCR-CN-CEMENT"))))
    items = book[excel.SHEETS["Items"]]
    row = next(r for r in range(2, items.max_row + 1) if items.cell(r, 1).value == "grid_electricity")
    assert electricity[1:] == (excel.SHEETS["Items"], f"F{row}")
    assert stored(world, product["id"]) == []


def test_an_uploaded_workbook_becomes_an_inventory(world, engineer, facility):
    product = new_product(world)
    response = upload(engineer, product["id"], filled_workbook(certificate=serial()))
    assert response.status_code == 303, error_summary(response.text)
    [record] = stored(world, product["id"])
    assert record["source"] == "excel"
    assert record["data"]["items"][0]["data_quality"] == {
        "technological": 2,
        "geographical": 2,
        "temporal": 2,
        "precision": 2,
    }


def test_an_upload_that_is_not_a_workbook_or_has_no_product_is_named(world, engineer):
    product = new_product(world)
    response = upload(engineer, product["id"], b"PK\x03\x04 not really")
    assert response.status_code == 422 and 'id="f-file-error"' in response.text
    response = engineer.post_form("/app/inventories/upload", "/app/inventories/upload", {"product_id": ""})
    assert response.status_code == 422
    assert 'id="f-product_id-error"' in response.text and 'id="f-file-error"' in response.text


def test_an_upload_over_the_api_limit_is_refused(world, engineer):
    from footprint_api.infra.workbooks import MAX_WORKBOOK_BYTES

    product = new_product(world)
    response = upload(engineer, product["id"], b"0" * (MAX_WORKBOOK_BYTES + 1))
    assert response.status_code == 422 and "larger than 5 MiB" in response.text


def test_the_template_has_chinese_captions_and_data_quality_columns(engineer):
    response = engineer.get("/app/pcrs/PCR-CN-CEMENT/template.xlsx")
    assert response.status_code == 200 and response.headers["content-type"] == excel_media_type()
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[0] == excel.SHEETS["Inventory"] and re.search(r"[\u4e00-\u9fff]", book.sheetnames[0])
    items = book[excel.SHEETS["Items"]]
    headers = [c.value for c in items[1]]
    assert all(re.search(r"[\u4e00-\u9fff]", h) for h in headers)  # every column has its Chinese caption
    assert [excel.key_of(h) for h in headers if excel.key_of(h).startswith("dq_")] == [
        "dq_technological",
        "dq_geographical",
        "dq_temporal",
        "dq_precision",
    ]
    general = book[excel.SHEETS["Inventory"]]
    assert excel.key_of(general["A4"].value) == "Product name" and "产品名称" in general["A4"].value


def excel_media_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_an_old_layout_workbook_is_still_read():
    """Sheets and captions in English only (templates downloaded before the Chinese captions) still parse."""
    book = openpyxl.load_workbook(io.BytesIO(filled_workbook(certificate=serial())))
    english = {bilingual: key for key, bilingual in excel.SHEETS.items()}
    for sheet in book.worksheets:
        sheet.title = english[sheet.title]
        for cell in sheet[1]:
            if isinstance(cell.value, str):
                cell.value = excel.key_of(cell.value)
        if sheet.title == "Inventory":
            for row in range(2, sheet.max_row + 1):
                sheet.cell(row, 1).value = excel.key_of(sheet.cell(row, 1).value)
        if sheet.title == "Items":  # nor had it the data-quality columns
            sheet.delete_cols(excel.ITEM_COLUMNS.index("dq_technological") + 1, len(excel.DQ_COLUMNS))
    out = io.BytesIO()
    book.save(out)
    inventory, _ = excel.read_workbook(out.getvalue())
    assert inventory.items[0].item == "clinker" and inventory.items[0].data_quality is None
    assert inventory.green_certificates


# --- isolation -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def victim(world, engineer, facility):
    """Acme's product, facility and inventory, made through the pages."""
    product = new_product(world, name="acme secret cement")
    response = engineer.post_form(
        "/app/inventories/new", "/app/inventories", cement_form(product["id"], facility["id"])
    )
    return {
        "product": product["id"],
        "facility": facility["id"],
        "inventory": response.headers["location"].rsplit("/", 1)[1],
    }


def cases(victim) -> dict[tuple[str, str], tuple[str, dict, int]]:
    """Every route of the inventory pages: (method, path) -> (url aimed at acme's objects, form, status for a
    rival manufacturer). A list page answers 200 with the rival's own (empty) list and none of acme's data."""
    product, facility, inventory = victim["product"], victim["facility"], victim["inventory"]
    return {
        ("GET", "/app/products"): ("/app/products", {}, 200),
        ("POST", "/app/products"): ("/app/products", {"name": "x", "pcr_id": "PCR-CN-CEMENT"}, 303),
        ("GET", "/app/products/{product_id}/edit"): (f"/app/products/{product}/edit", {}, 404),
        ("POST", "/app/products/{product_id}"): (
            f"/app/products/{product}",
            {"name": "stolen", "pcr_id": "PCR-CN-CEMENT"},
            404,
        ),
        ("POST", "/app/facilities"): ("/app/facilities", {"name": "x", "province": "Hubei"}, 303),
        ("GET", "/app/facilities/{facility_id}"): (f"/app/facilities/{facility}", {}, 404),
        ("GET", "/app/facilities/{facility_id}/edit"): (f"/app/facilities/{facility}/edit", {}, 404),
        ("POST", "/app/facilities/{facility_id}"): (
            f"/app/facilities/{facility}",
            {"name": "stolen", "province": "Hubei"},
            404,
        ),
        ("GET", "/app/inventories"): ("/app/inventories", {}, 200),
        ("GET", "/app/inventories/new"): (f"/app/inventories/new?product={product}", {}, 404),
        ("POST", "/app/inventories"): ("/app/inventories", cement_form(product, facility), 404),
        ("GET", "/app/inventories/upload"): ("/app/inventories/upload", {}, 200),
        ("POST", "/app/inventories/upload"): ("/app/inventories/upload", {"product_id": product}, 404),
        ("GET", "/app/pcrs/{pcr_id}/template.xlsx"): ("/app/pcrs/PCR-CN-CEMENT/template.xlsx", {}, 200),
        ("GET", "/app/inventories/{inventory_id}"): (f"/app/inventories/{inventory}", {}, 404),
        ("GET", "/app/inventories/{inventory_id}/workbook"): (f"/app/inventories/{inventory}/workbook", {}, 404),
        ("POST", "/app/inventories/{inventory_id}/calculate"): (f"/app/inventories/{inventory}/calculate", {}, 404),
    }


def routes() -> set[tuple[str, str]]:
    from footprint_api.web.routes import inventory, workbook

    return {(method, r.path) for part in (inventory, workbook) for r in part.router.routes for method in r.methods}


def test_every_route_has_an_isolation_case(victim):
    assert routes() == set(cases(victim))


def attempt(browser: Browser, url: str, method: str, form: dict):
    if method == "GET":
        return browser.get(url)
    files = {"file": ("x.xlsx", filled_workbook(), "application/octet-stream")} if "upload" in url else None
    return browser.post_form("/app/inventories/upload" if "upload" in url else "/app/products", url, form, files)


@pytest.mark.parametrize("route", sorted(routes()))
def test_a_rival_manufacturer_never_reaches_acmes_objects(app, world, victim, route):
    rival = Browser(app, "rival-engineer")
    url, form, expected = cases(victim)[route]
    response = attempt(rival, url, route[0], form)
    assert response.status_code == expected, (route, response.status_code)
    assert "acme secret cement" not in response.text and "Line 2 kiln" not in response.text


@pytest.mark.parametrize("route", sorted(routes()))
def test_a_verifier_may_not_use_the_manufacturer_pages(app, victim, route):
    verifier = Browser(app, "cb-verifier")
    url, form, _ = cases(victim)[route]
    # a POST is refused by the role before its form is read: no form token of a manufacturer page to send
    response = verifier.get(url) if route[0] == "GET" else verifier.client.post(url, data=form)
    assert response.status_code == 403, (route, response.status_code)
    assert "acme secret cement" not in response.text


def test_signed_out_pages_go_to_sign_in(app):
    anonymous = Browser(app)
    response = anonymous.get("/app/inventories/new")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_without_a_product_the_form_asks_which(world, engineer):
    product = new_product(world, name=f"pick me {uuid.uuid4().hex[:6]}")
    page = engineer.get("/app/inventories/new")
    assert page.status_code == 200 and f'value="{product["id"]}"' in page.text and product["name"] in page.text


def test_a_new_version_may_start_from_an_earlier_one(world, engineer, facility):
    product = new_product(world)
    first = engineer.post_form(
        "/app/inventories/new",
        "/app/inventories",
        cement_form(product["id"], facility["id"], **{"item.clay.amount": "310000"}),
    )
    engineer.post_form("/app/inventories/new", "/app/inventories", cement_form(product["id"], facility["id"]))
    first_id = first.headers["location"].rsplit("/", 1)[1]
    page = engineer.get(f"/app/inventories/new?product={product['id']}&source={first_id}").text
    assert 'value="310000"' in input_of(page, "item.clay.amount")
    assert "version 1" in page
