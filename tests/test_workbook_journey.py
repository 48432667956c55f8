"""The Excel workbook end to end, as a Chinese plant engineer meets it: the template in Chinese with drop-down
lists, a workbook filled the way Chinese Excel writes it, the facility it names linked (its certificates retired to
that facility's pool, where the next version through the form takes them over), provinces stored by one name, every
error listed by its sheet and cell in the reader's language, and the original workbook kept for the verifier.

The inventory is examples/cement-guizhou-2023.json (PCR-CN-CEMENT 1.0.0): 2,000,000 t of cement, one batch of
20,000 green certificates (1 GEC = 1 MWh)."""

import hashlib
import io
import re
import uuid
from html import unescape

import openpyxl
import pytest

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent, InventoryRecord
from footprint_api.services import excel
from pcr_rules import default_registry
from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    ARTIFACTS,
    assert_accessible,
    assert_self_contained,
    browser,
    serving,
    sign_in,
    visit,
)
from tests.conftest import load_example
from tests.web_client import Browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXAMPLE = load_example("cement-guizhou-2023.json")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def app(world):
    from footprint_api.app import create_app

    return create_app()


@pytest.fixture(scope="module")
def engineer(app):
    """The plant engineer, reading the pages in Chinese."""
    return Browser(app, "acme-engineer", lang="zh")


def new_facility(world, name: str | None = None) -> dict:
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/facilities",
        json={"name": name or f"二号窑线 {uuid.uuid4().hex[:6]}", "province": "Guizhou", "grid_region": "South"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def new_product(world) -> dict:
    return world.product("acme-engineer", "PCR-CN-CEMENT", f"P.O 42.5 水泥 {uuid.uuid4().hex[:6]}")


def serial() -> str:
    return f"GEC-WB-{uuid.uuid4().hex[:10]}-0000001"  # the batch counts on from the trailing number


def workbook(
    facility: str,
    batch: str | None = None,
    lang: str = "zh",
    general: dict | None = None,
    certificate: dict | None = None,
) -> bytes:
    """The PCR's template in `lang`, filled from the example as a person does in Excel: the general rows by their
    captions, each item's amount and unit, the parameters in percent as the example states them, and the batch
    (the example's, under the serial `batch`) with `certificate`'s changes."""
    pcr = default_registry().get(EXAMPLE["pcr"]["id"], EXAMPLE["pcr"]["version"])
    book = openpyxl.load_workbook(io.BytesIO(excel.template(pcr, lang)))
    values = {
        "Product name": EXAMPLE["product"]["name"],
        "Facility name": facility,
        "Province": "Guizhou",
        "Reference period start": EXAMPLE["reference_period"]["start"],
        "Reference period end": EXAMPLE["reference_period"]["end"],
        "Production amount": EXAMPLE["production"]["amount"],
        "Production unit": "t",
        **(general or {}),
    }
    sheet = book[excel.SHEETS["Inventory"]]
    for row in range(2, sheet.max_row + 1):
        key = excel.key_of(sheet.cell(row, 1).value)
        if key in values:
            sheet.cell(row, 2).value = values[key]
    items = book[excel.SHEETS["Items"]]
    column = {excel.key_of(c.value): c.column for c in items[1]}
    given = {e["item"]: e for e in EXAMPLE["items"]}
    for row in range(2, items.max_row + 1):
        entry = given.get(items.cell(row, 1).value)
        if entry:
            items.cell(row, column["amount"]).value = entry["amount"]
            items.cell(row, column["unit"]).value = entry["unit"]
    parameters = book[excel.SHEETS["Parameters"]]
    for row in range(2, parameters.max_row + 1):
        item, name = parameters.cell(row, 1).value, parameters.cell(row, 2).value
        quantity = given.get(item, {}).get("parameters", {}).get(name)
        if quantity:
            parameters.cell(row, 5).value = quantity["amount"]
            parameters.cell(row, 6).value = "%" if quantity["unit"] == "percent" else quantity["unit"]
    if batch:
        entry = {**EXAMPLE["green_certificates"][0], "serial": batch, "instrument": "gec", **(certificate or {})}
        book[excel.SHEETS["Certificates"]].append([entry.get(c) for c in excel.CERTIFICATE_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(engineer, product_id: str, content: bytes, facility_id: str = "", name: str = "清单.xlsx"):
    return engineer.post_form(
        "/app/inventories/upload",
        "/app/inventories/upload",
        {"product_id": product_id, "facility_id": facility_id},
        files={"file": (name, content, XLSX)},
    )


def form_version(product_id: str, facility_id: str, batch: str) -> dict:
    """The same inventory as the form's fields (the correction a plant engineer submits next), the batch as the
    workbook listed it."""
    fields = {
        "product_id": product_id,
        "facility_id": facility_id,
        "pcr_version": EXAMPLE["pcr"]["version"],
        "reference_period.start": EXAMPLE["reference_period"]["start"],
        "reference_period.end": EXAMPLE["reference_period"]["end"],
        "production.amount": str(EXAMPLE["production"]["amount"]),
        "production.unit": "t",
    }
    for entry in EXAMPLE["items"]:
        prefix = f"item.{entry['item']}"
        fields[f"{prefix}.amount"], fields[f"{prefix}.unit"] = str(entry["amount"]), entry["unit"]
        for name, quantity in entry.get("parameters", {}).items():
            fields[f"{prefix}.param.{name}.amount"] = str(quantity["amount"])
            fields[f"{prefix}.param.{name}.unit"] = quantity["unit"]
    certificate = EXAMPLE["green_certificates"][0]
    fields.update(
        {
            "gec.0.serial": batch,
            "gec.0.amount_mwh": str(certificate["amount_mwh"]),
            "gec.0.technology": certificate["technology"],
            "gec.0.generation_month": certificate["generation_month"],
            "gec.0.province": certificate["province"],
            "gec.0.instrument": "gec",
        }
    )
    return fields


def stored(world, product_id: str) -> list[dict]:
    return world.call("acme-engineer", "GET", f"/api/v1/inventories?product_id={product_id}").json()


def listed_errors(html: str) -> list[dict]:
    """The rows of the upload page's error table: where (sheet and cell), the column, the problem; with the field
    the row carries for programs."""
    rows = []
    for attributes, body in re.findall(r'<tr class="cell-error"([^>]*)>(.*?)</tr>', html, re.S):
        cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        field = re.search(r'data-field="([^"]*)"', attributes).group(1)
        rows.append({"field": unescape(field), "where": cells[0], "column": cells[1], "problem": cells[2]})
    return rows


def template_row(sheet: str, first: str, second: str | None = None) -> int:
    """The row of the 1.0.0 cement template whose first cell is `first` (and second `second`)."""
    book = openpyxl.load_workbook(io.BytesIO(excel.template(default_registry().get("PCR-CN-CEMENT", "1.0.0"))))
    rows = book[excel.SHEETS[sheet]]
    return next(
        r
        for r in range(2, rows.max_row + 1)
        if excel.key_of(rows.cell(r, 1).value) == first and (second is None or rows.cell(r, 2).value == second)
    )


# --- defect 3: the facility the workbook names ---------------------------------------------------------------------


def test_an_upload_links_the_facility_it_names_and_the_next_form_version_takes_over_its_certificates(world, engineer):
    """Version 1 from Excel names the facility (no facility chosen on the page) and lists a batch of 20,000 GEC;
    version 2 through the form names the same facility, period and batch. Version 2 is accepted; the batch is
    retired once, to the facility's pool; version 1's draw of 20,000 MWh is released and version 2 draws the
    20,000 MWh: drawn 20,000 of 20,000, left 0."""
    facility, product, batch = new_facility(world), new_product(world), serial()
    response = upload(engineer, product["id"], workbook(facility["name"], batch))
    assert response.status_code == 303, listed_errors(response.text)
    [first] = stored(world, product["id"])
    assert first["facility_id"] == facility["id"] and first["source"] == "excel"

    response = engineer.post_form(
        "/app/inventories/new", "/app/inventories", form_version(product["id"], facility["id"], batch)
    )
    assert response.status_code == 303, response.text
    assert [i["version"] for i in stored(world, product["id"])] == [1, 2]
    pool = world.call("acme-engineer", "GET", f"/api/v1/facilities/{facility['id']}/certificate-pool").json()
    [retired] = [b for b in pool["batches"] if b["serial"] == batch]
    assert (retired["facility_id"], retired["product_id"]) == (facility["id"], None)
    assert (retired["batch_mwh"], retired["drawn_mwh"], retired["left_mwh"]) == (20_000, 20_000, 0)
    draws = {(d["version"], d["active"]): d["amount_mwh"] for d in retired["draws"]}
    assert draws == {(1, False): 20_000, (2, True): 20_000}


def test_an_upload_through_the_json_api_links_the_facility_and_keeps_the_workbook(world):
    """The JSON API's upload is the same submission as the page's (services.excel.submit_upload): the facility the
    workbook names is linked, so its batch goes to the facility's pool, and the workbook is kept."""
    facility, product, batch = new_facility(world), new_product(world), serial()
    content = workbook(facility["name"], batch)
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/inventories/excel",
        data={"product_id": product["id"]},
        files={"file": ("清单.xlsx", content, XLSX)},
    )
    assert response.status_code == 201, response.text
    assert response.json()["facility_id"] == facility["id"]
    pool = world.call("acme-engineer", "GET", f"/api/v1/facilities/{facility['id']}/certificate-pool").json()
    assert [b["serial"] for b in pool["batches"]] == [batch]
    with session_scope() as session:
        record = session.get(InventoryRecord, uuid.UUID(response.json()["id"]))
        assert excel.source_workbook(record) == content and record.source_file_name == "清单.xlsx"


def test_a_facility_chosen_on_the_page_must_be_the_one_the_workbook_names(world, engineer):
    """The page's choice and the workbook disagree: 422 beside the facility input and at the workbook's cell, in
    Chinese; nothing stored."""
    facility, other, product = new_facility(world), new_facility(world), new_product(world)
    response = upload(engineer, product["id"], workbook(facility["name"], serial()), facility_id=other["id"])
    assert response.status_code == 422
    [error] = listed_errors(response.text)
    row = template_row("Inventory", "Facility name")
    assert error["field"] == "facility_id" and error["where"] == f"工作表「{excel.SHEETS['Inventory']}」B{row}"
    assert error["column"] == "工厂名称"
    assert f"工作簿写明的工厂「{facility['name']}」与上传页选择的工厂「{other['name']}」不一致" in error["problem"]
    assert 'id="f-facility_id-error"' in response.text
    assert stored(world, product["id"]) == []


def test_certificates_for_a_facility_the_organisation_has_not_registered_are_refused_at_its_cell(world, engineer):
    """Retired to the product alone they could not be taken over by the next version: the workbook is refused."""
    product = new_product(world)
    response = upload(engineer, product["id"], workbook("不存在的工厂", serial()))
    assert response.status_code == 422
    [error] = listed_errors(response.text)
    assert error["field"] == "facility.name" and error["where"].endswith(
        f"B{template_row('Inventory', 'Facility name')}"
    )
    assert "工厂「不存在的工厂」不是本单位登记的工厂" in error["problem"]
    assert stored(world, product["id"]) == []


def test_a_workbook_without_certificates_of_an_unregistered_facility_is_stored_without_a_link(world, engineer):
    product = new_product(world)
    assert upload(engineer, product["id"], workbook("未登记的工厂")).status_code == 303
    [record] = stored(world, product["id"])
    assert record["facility_id"] is None and record["data"]["facility"]["name"] == "未登记的工厂"


def test_a_batch_retired_to_another_facility_is_named_at_its_certificate_cell(world, engineer):
    """The submission's refusal (the batch is in another facility's pool) is listed at the batch's row."""
    first, second, batch = new_facility(world), new_facility(world), serial()
    assert upload(engineer, new_product(world)["id"], workbook(first["name"], batch)).status_code == 303
    product = new_product(world)
    response = upload(engineer, product["id"], workbook(second["name"], batch))
    assert response.status_code == 422
    [error] = listed_errors(response.text)
    assert error["field"] == "inventory.green_certificates[0].serial"
    assert (error["where"], error["column"]) == (f"工作表「{excel.SHEETS['Certificates']}」A2", "绿证编号")
    assert first["name"] in error["problem"]
    assert stored(world, product["id"]) == []


# --- defect 4: provinces by one name -------------------------------------------------------------------------------


def test_a_province_typed_in_chinese_is_stored_by_the_factor_sets_english_name(world, engineer):
    """贵州 for the facility, 贵州省 for the batch: both stored as Guizhou, so the registry offers one province."""
    facility, product = new_facility(world), new_product(world)
    content = workbook(facility["name"], serial(), general={"Province": "贵州"}, certificate={"province": "贵州省"})
    assert upload(engineer, product["id"], content).status_code == 303
    [record] = stored(world, product["id"])
    assert record["data"]["facility"]["province"] == "Guizhou"
    assert record["data"]["green_certificates"][0]["province"] == "Guizhou"


def test_an_unknown_province_is_named_by_its_cell_in_chinese(world, engineer):
    facility, product = new_facility(world), new_product(world)
    response = upload(engineer, product["id"], workbook(facility["name"], general={"Province": "黔"}))
    [error] = listed_errors(response.text)
    row = template_row("Inventory", "Province")
    assert (response.status_code, error["field"], error["column"]) == (422, "facility.province", "省份")
    assert error["where"] == f"工作表「{excel.SHEETS['Inventory']}」B{row}"
    assert error["problem"] == "“黔”不是省级行政区：请填写如 贵州、贵州省 或 Guizhou。"


# --- defect 5: what Chinese Excel writes, and errors in the reader's language -------------------------------------


def test_dates_numbers_and_names_as_chinese_excel_writes_them_are_read(world, engineer):
    """2023/1/1 and 2023年12月31日, ２,０００,０００ t (full-width, grouped), CaO '65.5%' (text), the batch's
    technology 光伏, month 2023年8月, instrument 绿证: stored as the example states them."""
    facility, product = new_facility(world), new_product(world)
    content = workbook(
        facility["name"],
        serial(),
        general={
            "Reference period start": "2023/1/1",
            "Reference period end": "2023年12月31日",
            "Production amount": "２,０００,０００",
            "Grid region": "南方电网",
        },
        certificate={"technology": "光伏", "generation_month": "2023年8月", "instrument": "绿证"},
    )
    assert upload(engineer, product["id"], content).status_code == 303
    [record] = stored(world, product["id"])
    data = record["data"]
    assert data["reference_period"] == EXAMPLE["reference_period"]
    assert data["production"] == {"amount": 2_000_000, "unit": "t"}
    assert data["facility"]["grid_region"] == "South"
    assert data["items"][0]["parameters"]["cao_fraction"] == {"amount": 65.5, "unit": "percent"}
    certificate = data["green_certificates"][0]
    assert (certificate["technology"], certificate["generation_month"], certificate["instrument"]) == (
        "solar_pv",
        "2023-08",
        "gec",
    )


def test_errors_are_listed_by_sheet_and_cell_in_chinese_without_the_validators_words(world, engineer):
    """A date that is no date, a number that is none and an instrument of no list, each at its cell; none of
    pydantic's English ("Input should be…") and no English sentence in the table."""
    facility, product = new_facility(world), new_product(world)
    content = workbook(
        facility["name"],
        serial(),
        general={"Reference period end": "2023/12/32", "Production amount": "二百万"},
        certificate={"instrument": "期货"},
    )
    response = upload(engineer, product["id"], content)
    assert response.status_code == 422
    errors = {e["field"]: e for e in listed_errors(response.text)}
    inventory = f"工作表「{excel.SHEETS['Inventory']}」"
    assert errors["reference_period.end"] == {
        "field": "reference_period.end",
        "where": f"{inventory}B{template_row('Inventory', 'Reference period end')}",
        "column": "核算期止",
        "problem": "“2023/12/32”不是日期：请填写如 2024-12-31、2024/12/31 或 2024年12月31日。",
    }
    assert errors["production.amount"]["problem"] == "“二百万”不是数字：请填写如 1234.5、1,234.5 或 65.2%。"
    instrument = errors["green_certificates[0].instrument"]
    assert instrument["where"] == f"工作表「{excel.SHEETS['Certificates']}」G2" and instrument["column"] == "凭证类型"
    assert instrument["problem"] == "“期货”不是可选值；可选：绿证（GEC）、绿电交易合同。"
    table = re.search(r'<section class="card error-summary".*?</section>', response.text, re.S).group(0)
    assert "Input should" not in table and not re.search(r"[A-Za-z]{4,} [a-z]{3,} [a-z]{3,}", unescape(table))


def test_a_pcr_rule_broken_in_the_workbook_is_worded_in_chinese_at_its_cell(world, engineer):
    """CaO 65.5 typed with the unit left as the template's fraction (0–1): the PCR's range [0.55, 0.72] is broken,
    worded in Chinese at the Parameters cell of the amount."""
    facility, product = new_facility(world), new_product(world)
    book = openpyxl.load_workbook(io.BytesIO(workbook(facility["name"], serial())))
    parameters = book[excel.SHEETS["Parameters"]]
    row = template_row("Parameters", "clinker", "cao_fraction")
    parameters.cell(row, 6).value = excel.shown("fraction", "dimensionless", "zh")
    out = io.BytesIO()
    book.save(out)
    response = upload(engineer, product["id"], out.getvalue())
    assert response.status_code == 422
    [error] = [e for e in listed_errors(response.text) if e["field"] == "items[0].parameters.cao_fraction"]
    assert error["where"] == f"工作表「{excel.SHEETS['Parameters']}」E{row}"
    assert error["problem"].startswith("65.5 看起来是百分数：“熟料中 CaO 含量（质量分数）”按 0–1 的比例计")


def test_the_json_api_keeps_the_english_reason_beside_the_code(world):
    facility, product = new_facility(world), new_product(world)
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/inventories/excel",
        data={"product_id": product["id"]},
        files={"file": ("x.xlsx", workbook(facility["name"], serial(), certificate={"instrument": "期货"}), XLSX)},
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["code"] == "workbook.choice"
    assert error["params"] == {"value": "期货", "set": "instrument", "allowed": ["gec", "green_power_contract"]}
    assert error["reason"] == "'期货' is not one of the values allowed: GEC, green power contract."
    assert (error["sheet"], error["row"], error["column"], error["heading"]) == (
        excel.SHEETS["Certificates"],
        2,
        "G",
        "instrument",
    )


def test_a_file_that_is_not_a_workbook_is_named_in_chinese_beside_the_file_input(world, engineer):
    response = upload(engineer, new_product(world)["id"], b"PK\x03\x04 not really")
    assert response.status_code == 422
    error = re.search(r'id="f-file-error"[^>]*>(.*?)</', response.text, re.S).group(1)
    assert "该文件不是 XLSX 工作簿" in unescape(error)


# --- the workbook kept for the verifier ----------------------------------------------------------------------------


def test_the_uploaded_workbook_is_kept_content_addressed_with_its_name(world, engineer):
    facility, product = new_facility(world), new_product(world)
    content = workbook(facility["name"], serial())
    assert upload(engineer, product["id"], content, name="C:\\清单\\二号线 2023.xlsx").status_code == 303
    [listed] = stored(world, product["id"])
    with session_scope() as session:
        record = session.get(InventoryRecord, uuid.UUID(listed["id"]))
        assert record.source_file_key == f"workbooks/{hashlib.sha256(content).hexdigest()}.xlsx"
        assert record.source_file_name == "二号线 2023.xlsx"
        assert excel.source_workbook(record) == content
        assert excel.source_download_name(record) == "2023.xlsx"
        kept = [
            e
            for e in session.query(AuditEvent).filter(AuditEvent.object_id == str(record.id))
            if e.action == "inventory.submitted"
        ]  # kept in the same transaction as the version it was read into, and recorded with it
        assert [e.after["source_file_key"] for e in kept] == [record.source_file_key]


def test_a_form_version_has_no_kept_workbook(world):
    from footprint_api.core.errors import NotFound

    facility, product = new_facility(world), new_product(world)
    data = {**EXAMPLE, "green_certificates": []}
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/inventories",
        json={"product_id": product["id"], "facility_id": facility["id"], "inventory": data},
    )
    assert response.status_code == 201, response.text
    with session_scope() as session:
        record = session.get(InventoryRecord, uuid.UUID(response.json()["id"]))
        assert record.source_file_key is None
        with pytest.raises(NotFound):
            excel.source_workbook(record)


# --- the template in the reader's language -------------------------------------------------------------------------


def test_the_template_downloaded_from_a_chinese_page_is_chinese_with_its_lists(engineer):
    response = engineer.get("/app/pcrs/PCR-CN-CEMENT/template.xlsx?version=1.0.0")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    items = book[excel.SHEETS["Items"]]
    clinker = next(row for row in items.iter_rows(min_row=2, values_only=True) if row[0] == "clinker")
    assert clinker[1] == "本水泥所用自产熟料" and clinker[3] == "是" and clinker[6] == "初级（实测）"
    lists = book[excel.SHEETS["Lists"]]
    assert lists.sheet_state == "hidden"

    def listed(sheet: str, cell: str) -> list[str]:
        """The values of the drop-down on `cell` of `sheet`."""
        [found] = [v for v in book[sheet].data_validations.dataValidation if cell in v.sqref]
        column = re.search(r"\$([A-Z]+)\$1:", found.formula1).group(1)
        return [c.value for c in lists[column] if c.value is not None]

    general = excel.SHEETS["Inventory"]
    assert listed(general, f"B{template_row('Inventory', 'Province')}")[:3] == ["北京", "天津", "河北"]
    assert "南方电网" in listed(general, f"B{template_row('Inventory', 'Grid region')}")
    assert listed(excel.SHEETS["Items"], "G2") == ["初级（实测）", "次级（数据库或估算）"]
    certificates = excel.SHEETS["Certificates"]
    assert listed(certificates, "C2")[:2] == ["风电", "光伏"] and listed(certificates, "E5")[29] == "贵州"
    assert listed(certificates, "G2") == ["绿证（GEC）", "绿电交易合同"]
    assert listed(excel.SHEETS["Measured emissions"], "A2") == ["CO2（二氧化碳）"]
    cao = template_row("Parameters", "clinker", "cao_fraction")
    assert listed(excel.SHEETS["Parameters"], f"F{cao}") == ["小数（0–1）", "百分数（%）"]
    guide = [row[0] for row in book[excel.SHEETS["Guide"]].iter_rows(values_only=True)]
    assert guide[0] == "水泥（按品种和强度等级，从摇篮到大门）"
    assert all(CJK.search(line) for line in guide[2:]), [line for line in guide[2:] if not CJK.search(line)]


def test_a_chinese_template_filled_with_its_own_list_values_is_read_as_codes():
    """The values the Chinese lists offer are read back as the codes the inventory stores."""
    pcr = default_registry().get("PCR-CN-CEMENT", "1.0.0")
    book = openpyxl.load_workbook(io.BytesIO(excel.template(pcr, "zh")))
    lists = book[excel.SHEETS["Lists"]]
    for column in lists.iter_cols(values_only=True):
        shown = [value for value in column if value is not None]
        codes = [excel.matched(name, shown[0], pcr) for name in excel.VALUE_SETS]
        assert any(code is not None for code in codes), shown[0]
    assert excel.matched("technology", "光伏", pcr) == "solar_pv"
    assert excel.matched("instrument", "绿证", pcr) == excel.matched("instrument", "GEC", pcr) == "gec"
    assert excel.matched("data_source", "实测", pcr) == excel.matched("data_source", "measured", pcr) == "primary"
    assert excel.matched("grid_region", "华中", pcr) == "Central"
    assert excel.matched("province", "新疆维吾尔自治区", pcr) == "Xinjiang"


# --- in a browser, in Chinese, at desktop and phone width ----------------------------------------------------------

SHOTS = ARTIFACTS / "issue18" / "workbook"


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_chinese_engineer_uploads_a_workbook_corrects_its_cells_and_uploads_it_again(
    world, served, visit, tmp_path, width
):
    """The upload page in Chinese: a workbook with an unknown province and a date that is none is refused, each
    error listed by its sheet and cell in Chinese; corrected, it is stored and linked to the facility it names."""
    facility, product = new_facility(world), new_product(world)
    tab = visit(width, "zh")
    page = tab.page

    def looked_at(name: str) -> None:
        page.wait_for_load_state()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{width}-zh.png"), full_page=True)
        assert_accessible(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], name

    sign_in(tab, served, "acme-engineer")
    page.goto(f"{served}/app/inventories/upload?product={product['id']}")
    looked_at("upload")
    wrong = tmp_path / "二号线 2023（错误）.xlsx"
    wrong.write_bytes(
        workbook(facility["name"], serial(), general={"Province": "黔", "Reference period end": "2023/12/32"})
    )
    page.set_input_files("#f-file", str(wrong))
    page.click("form[action='/app/inventories/upload'] button[type=submit]")
    rows = page.locator("tr.cell-error")
    assert rows.count() == 2
    inventory = f"工作表「{excel.SHEETS['Inventory']}」"
    shown = page.locator("#upload-errors").inner_text()
    assert f"{inventory}B{template_row('Inventory', 'Province')}" in shown and "“黔”不是省级行政区" in shown
    assert "“2023/12/32”不是日期" in shown and "Input should" not in shown
    looked_at("upload-errors")

    right = tmp_path / "二号线 2023.xlsx"
    right.write_bytes(
        workbook(facility["name"], serial(), general={"Province": "贵州", "Reference period end": "2023/12/31"})
    )
    page.select_option("#f-product_id", product["id"])
    page.set_input_files("#f-file", str(right))
    page.click("form[action='/app/inventories/upload'] button[type=submit]")
    page.wait_for_url("**/app/inventories/*-*")
    looked_at("uploaded")
    [record] = stored(world, product["id"])
    assert record["facility_id"] == facility["id"] and record["data"]["facility"]["province"] == "Guizhou"
    assert_self_contained(tab, served)


def test_the_inventory_page_offers_the_uploaded_workbook_byte_for_byte(world, engineer):
    """The manufacturer downloads, from the version's page, the workbook it was read from: the same bytes under
    the name it was uploaded as (another organisation gets 404: tests/test_web_inventory.py)."""
    facility, product = new_facility(world), new_product(world)
    content = workbook(facility["name"], serial())
    assert upload(engineer, product["id"], content, name="二号线 2023.xlsx").status_code == 303
    [listed] = stored(world, product["id"])
    page = engineer.get(f"/app/inventories/{listed['id']}").text
    assert f'href="/app/inventories/{listed["id"]}/workbook"' in page and "下载上传的工作簿「二号线 2023.xlsx」" in page
    download = engineer.get(f"/app/inventories/{listed['id']}/workbook")
    assert download.status_code == 200 and download.content == content
    assert "filename*=UTF-8''%E4%BA%8C%E5%8F%B7%E7%BA%BF%202023.xlsx" in download.headers["content-disposition"]
