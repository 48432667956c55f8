"""The plant engineer's journey in headless Chromium, through the pages only: a product with its GTIN and a facility,
an inventory entered by the form generated from the cement PCR (an error shown next to its field, corrected,
submitted), then the Excel template filled and uploaded (an error shown by its cell, corrected, uploaded). At desktop
width in English and phone width in Chinese; axe-core and "nothing from another host" on every page; screenshots in
test-artifacts/inventory-*.png."""

import io
import uuid

import openpyxl
import pytest

from footprint_api.services import excel
from pcr_rules import default_registry
from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    sign_in,
    visit,
)
from tests.conftest import load_example
from tests.test_api_inventories import CEMENT_CLASS

JOURNEYS = [("desktop", "en"), ("phone", "zh")]


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


def workbook(path, electricity_unit: str, facility: str) -> str:
    """The cement template as a person fills it in Excel: general rows, three items, two parameters, a
    certificate."""
    book = openpyxl.load_workbook(io.BytesIO(excel.template(default_registry().get("PCR-CN-CEMENT"))))
    general = book[excel.SHEETS["Inventory"]]
    values = {
        "Product name": "OPC",
        "Facility name": facility,  # a facility the organisation registered: its certificates go to its pool
        "Province": "Guizhou",
        "Reference period start": "2024-01-01",
        "Reference period end": "2024-12-31",
        "Production amount": 1000,
        "Production unit": "t",
    }
    for row in range(2, general.max_row + 1):
        key = excel.key_of(general.cell(row, 1).value)
        if key in values:
            general.cell(row, 2).value = values[key]
    items = book[excel.SHEETS["Items"]]
    amounts = {"clinker": (800, "t"), "kiln_coal": (110, "t"), "grid_electricity": (90, electricity_unit)}
    for row in range(2, items.max_row + 1):
        if items.cell(row, 1).value in amounts:
            items.cell(row, 5).value, items.cell(row, 6).value = amounts[items.cell(row, 1).value]
    parameters = book[excel.SHEETS["Parameters"]]
    for row in range(2, parameters.max_row + 1):
        value = {"cao_fraction": 0.65, "mgo_fraction": 0.02}.get(parameters.cell(row, 2).value)
        if value is not None:
            parameters.cell(row, 5).value = value
    product = book[excel.SHEETS["Product parameters"]]  # the product class (cement 1.2.0, GB 175-2023)
    choice = [excel.key_of(cell.value) for cell in product[1]].index("choice") + 1
    for row in range(2, product.max_row + 1):
        code = CEMENT_CLASS.get(product.cell(row, 1).value)
        if code:
            product.cell(row, choice).value = code
    book[excel.SHEETS["Certificates"]].append(
        [f"GEC-XL-{uuid.uuid4().hex[:10]}-0001", 10, "wind", "2024-03", "Guizhou", None, "gec"]
    )
    book.save(path)
    return str(path)


def electricity_row() -> int:
    book = openpyxl.load_workbook(io.BytesIO(excel.template(default_registry().get("PCR-CN-CEMENT"))))
    items = book[excel.SHEETS["Items"]]
    return next(r for r in range(2, items.max_row + 1) if items.cell(r, 1).value == "grid_electricity")


def fill_cement_inventory(page, facility: str, serial: str) -> None:
    """examples/cement-guizhou-2023.json typed into the form, its certificate under a fresh serial."""
    example = load_example("cement-guizhou-2023.json")
    page.select_option("#f-facility_id", label=facility)
    page.fill("#f-reference_period-start", "2023-01-01")
    page.fill("#f-reference_period-end", "2023-12-31")
    page.fill("#f-production-amount", "2000000")
    for parameter, code in CEMENT_CLASS.items():  # the product class the latest cement PCR (1.2.0) asks for
        page.select_option(f"[name='param.{parameter}.choice']", code)
    for entry in example["items"]:
        prefix = f"item.{entry['item']}"
        page.fill(f"[name='{prefix}.amount']", str(entry["amount"]))
        page.select_option(f"[name='{prefix}.unit']", entry["unit"])
        for name, quantity in entry.get("parameters", {}).items():
            page.fill(f"[name='{prefix}.param.{name}.amount']", str(quantity["amount"]))
            page.select_option(f"[name='{prefix}.param.{name}.unit']", quantity["unit"])
        if "data_quality" in entry or "data_source" in entry:
            more = page.locator(f"#item-{entry['item']} details.inv-more")
            if more.get_attribute("open") is None:
                more.locator("summary").click()
            for indicator, score in entry.get("data_quality", {}).items():
                page.select_option(f"[name='{prefix}.dq.{indicator}']", str(score))
            if "data_source" in entry:
                page.select_option(f"[name='{prefix}.data_source']", entry["data_source"])
    certificate = example["green_certificates"][0]
    page.fill("[name='gec.0.serial']", serial)
    page.fill("[name='gec.0.amount_mwh']", str(certificate["amount_mwh"]))
    page.select_option("[name='gec.0.technology']", certificate["technology"])
    page.fill("[name='gec.0.generation_month']", certificate["generation_month"])
    page.select_option("[name='gec.0.province']", certificate["province"])


@pytest.mark.parametrize(("width", "lang"), JOURNEYS)
def test_an_engineer_enters_an_inventory_by_form_and_by_excel(served, visit, tmp_path, width, lang):
    tab = visit(width, lang)
    page = tab.page

    def looked_at(name: str) -> None:
        page.wait_for_load_state()
        screenshot(tab, f"inventory-{name}-{width}-{lang}")
        assert_accessible(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], name

    sign_in(tab, served, "acme-engineer")
    tag = uuid.uuid4().hex[:6]
    product, facility = f"OPC {tag}", f"Kiln line {tag}"

    # a product with its GTIN, and a facility whose grid region follows its province
    page.goto(f"{served}/app/products")
    looked_at("products")
    page.fill("#f-product-name", product)
    page.fill("#f-product-model", "P.O 42.5")
    page.fill("#f-product-gtin", "6901234567891")  # a mistyped check digit first
    page.select_option("#f-product-pcr_id", "PCR-CN-CEMENT")
    page.click("#new-product button[type=submit]")
    assert "6901234567892" not in page.locator("#f-product-gtin-error").inner_text()
    assert "2" in page.locator("#f-product-gtin-error").inner_text()  # the check digit it should be
    looked_at("product-error")
    page.fill("#f-product-gtin", "6901234567892")
    page.click("#new-product button[type=submit]")
    page.wait_for_url("**/app/products?saved=product")
    page.fill("#f-facility-name", facility)
    page.select_option("#f-facility-province", "Guizhou")
    assert page.locator("#f-facility-grid_region").input_value() == "South"
    page.click("#new-facility button[type=submit]")
    page.wait_for_url("**/app/products?saved=facility")
    looked_at("products-saved")

    # the inventory form of the cement PCR: an implausible amount is shown at its field, then corrected
    page.locator("tr", has_text=product).locator("a[href^='/app/inventories/new']").click()
    page.wait_for_url("**/app/inventories/new?product=*")
    looked_at("form")
    province = "贵州" if lang == "zh" else "Guizhou"
    fill_cement_inventory(page, f"{facility} · {province}", f"GEC-WEB-{uuid.uuid4().hex[:10]}-0000001")
    page.click("[data-add-row='gec-rows']")  # a second certificate row appears, focused; left empty, it is ignored
    assert page.evaluate("document.activeElement.name") == "gec.1.serial"
    page.fill("[name='item.gypsum.amount']", "900000")  # 0.45 t per t of cement; the PCR allows 0.01-0.08
    page.click("#inventory-form button[type=submit]")
    error = page.locator("#f-item-gypsum-amount-error")
    assert error.is_visible() and "0.45" in error.inner_text()
    assert page.locator("#f-item-gypsum-amount").get_attribute("aria-invalid") == "true"
    assert page.locator("#error-summary").is_visible()
    looked_at("form-error")
    page.fill("[name='item.gypsum.amount']", "100000")
    page.click("#inventory-form button[type=submit]")
    page.wait_for_url("**/app/inventories/*-*")
    assert product in page.locator("h1").inner_text()
    looked_at("inventory")

    page.goto(f"{served}/app/inventories")
    looked_at("list")

    # the Excel template, filled with an error that the page names by its cell, then corrected
    page.goto(f"{served}/app/inventories/upload")
    looked_at("upload")
    page.select_option("#f-product_id", label=f"{product} (PCR-CN-CEMENT)")
    page.set_input_files("#f-file", workbook(tmp_path / "wrong.xlsx", electricity_unit="kg", facility=facility))
    page.click("form[action='/app/inventories/upload'] button[type=submit]")
    row = electricity_row()
    assert page.locator("tr.cell-error", has_text=f"F{row}").is_visible()
    looked_at("upload-error")
    page.select_option("#f-product_id", label=f"{product} (PCR-CN-CEMENT)")
    page.set_input_files("#f-file", workbook(tmp_path / "right.xlsx", electricity_unit="MWh", facility=facility))
    page.click("form[action='/app/inventories/upload'] button[type=submit]")
    page.wait_for_url("**/app/inventories/*-*")
    assert "Excel" in page.locator("main").inner_text()
    looked_at("inventory-excel")
    assert_self_contained(tab, served)
