"""Supplier data on the pages, without a browser: the inventory form offers each purchased input a supplier source
(the screening value by default, said as such; a label of this service, checked against what its public page says;
a received PACT footprint; a factor-database release entry), shows the supply chain's refusals at the field in the
reader's language, and brings the choice back in a new version; the workbook carries it in a column of its own;
the footprint page, the review file and the PDF report list every source; the pages of the supply router isolate.

The upstream label (a kiln's clinker, PCR-CN-CLINKER 1.0.0) is issued through the JSON API; the grinding station
that buys the clinker works through the pages."""

import io
import re
import subprocess
from html import unescape

import openpyxl
import pytest

from footprint_api.services import excel
from pcr_rules import default_registry
from tests.browser import ARTIFACTS
from tests.labelling import act
from tests.supplying import (
    GRINDING,
    GRINDING_CLINKER_T_PER_T,
    KILN,
    calculated,
    labelled_product,
    manufacturer,
    with_supplier,
)
from tests.web_client import Browser, csrf_of

ZH = "zh"
CHECK_LABEL = "/app/inventories/check-label"  # where an item's "check" button sends the form (its formaction)


@pytest.fixture(scope="module")
def app(world):
    return world.client.app


@pytest.fixture(scope="module")
def kiln(world):
    """A kiln of its own, its clinker footprint certified: the label a grinding station names."""
    user = manufacturer(world, "kiln")
    return {"user": user, **labelled_product(world, user, "clinker", KILN)}


@pytest.fixture(scope="module")
def grinding(world):
    """Acme's grinding station: a cement product under PCR-CN-CEMENT 1.2.0 and a facility in Guizhou."""
    product = world.product("acme-engineer", "PCR-CN-CEMENT", "grinding station cement")
    facility = world.call(
        "acme-engineer", "POST", "/api/v1/facilities", json={"name": "Grinding station", "province": "Guizhou"}
    )
    assert facility.status_code == 201, facility.text
    return {"product_id": product["id"], "facility_id": facility.json()["id"]}


@pytest.fixture(scope="module")
def engineer(app):
    return Browser(app, "acme-engineer", lang=ZH)


def form_url(grinding) -> str:
    return f"/app/inventories/new?product={grinding['product_id']}"


def filled(grinding, **supplier) -> dict:
    """The grinding station's form as a person fills it: the inventory's amounts and, for purchased clinker, the
    supplier inputs given."""
    values = {
        "product_id": grinding["product_id"],
        "pcr_version": "1.2.0",
        "export_context": "footprint",
        "facility_id": grinding["facility_id"],
        "reference_period.start": GRINDING["reference_period"]["start"],
        "reference_period.end": GRINDING["reference_period"]["end"],
        "production.amount": "1000",
        "production.unit": "t",
        "param.cement_type.choice": "P·O",
        "param.strength_class.choice": "42.5",
    }
    for entry in GRINDING["items"]:
        values[f"item.{entry['item']}.amount"] = str(entry["amount"])
        values[f"item.{entry['item']}.unit"] = entry["unit"]
    values.update({f"item.purchased_clinker.supplier.{key}": value for key, value in supplier.items()})
    return values


def text(html: str) -> str:
    """What a reader sees of a piece of a page: tags gone, entities read, blanks as one space."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def field_errors(html: str, name: str) -> list[str]:
    """The errors shown at the input named `name` (its -error paragraph)."""
    element = "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)
    found = re.search(rf'<p class="field-error" id="{element}-error"[^>]*>(.*?)</p>', html, re.S)
    return [unescape(part).strip() for part in found.group(1).split("<br>")] if found else []


def selected(html: str, name: str) -> str:
    """The value of a select's selected option ("" for none)."""
    found = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert found, name
    chosen = re.search(r'<option value="([^"]*)" selected', found.group(1))
    return chosen.group(1) if chosen else ""


def select_options(html: str, name: str) -> list[str]:
    """The values of a select's options, in order (its blank first)."""
    found = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert found, name
    return re.findall(r'<option value="([^"]*)"', found.group(1))


# --- the form ------------------------------------------------------------------------------------------------------


def test_each_purchased_input_offers_a_supplier_source_with_the_screening_value_said_as_the_default(engineer, grinding):
    page = engineer.get(form_url(grinding))
    assert page.status_code == 200
    html = unescape(page.text)
    pcr = default_registry().get("PCR-CN-CEMENT", "1.2.0")
    inputs = [spec.id for spec in pcr.items if spec.kind.value == "input"]
    offered = re.findall(r'<select[^>]*name="item\.([a-z_]+)\.supplier\.kind"', page.text)
    assert offered == inputs  # every purchased input, and nothing else (not the kiln's own clinker, not fuels)
    assert "筛选值（因子集 cn-2025.1，缺省）" in html
    assert "供应商数据：筛选值（因子集 cn-2025.1，缺省）" in html  # the collapsed choice names the default
    assert "未经核验的供应商声明值（kg CO₂e / t）" in html  # the typed number, kept, says what it is


def test_the_choice_reads_in_english_for_an_english_reader(app, grinding):
    page = Browser(app, "acme-engineer", lang="en").get(form_url(grinding))
    html = unescape(page.text)
    assert "Supplier data: Screening value (factor set cn-2025.1, the default)" in html
    assert "Unverified supplier value (kg CO₂e per t)" in html


def test_a_check_of_a_label_number_shows_what_the_public_label_says(engineer, grinding, kiln):
    label = kiln["label"]
    fields = filled(grinding, kind="label", label=label["number"].replace("-", "").lower())
    before = inventories_listed(engineer, grinding)
    page = engineer.post_form(form_url(grinding), CHECK_LABEL, {**fields, "supplier_check.purchased_clinker": "核对"})
    assert page.status_code == 200
    html = unescape(page.text)
    shown = text(page.text[page.text.index("data-supplier-check") :])
    assert f"碳标签 {label['number']} 的公开信息" in shown
    for fact in (
        label["product_name"],
        label["manufacturer_name"],
        f"{label['value']} kg CO₂e / {label['declared_unit']}",
        f"{label['issued_on']} – {label['expires_on']}",
        "有效",
    ):
        assert fact in shown, fact
    assert 'value="P·O" selected' in html  # the rest of the form as it was sent: nothing lost, nothing stored
    assert inventories_listed(engineer, grinding) == before


def inventories_listed(engineer, grinding) -> int:
    page = engineer.get(f"/app/inventories?product={grinding['product_id']}")
    return len(re.findall(r'href="/app/inventories/[0-9a-f-]{36}"', page.text))


@pytest.mark.parametrize(
    "typed, message",
    [
        (
            "PCF-2026-000123-X",
            "“PCF-2026-000123-X”不是有效的碳标签编号（格式如 PCF-2026-000123-F，最后一位为校验字符）",
        ),
        ("not a number", "“not a number”不是有效的碳标签编号（格式如 PCF-2026-000123-F，最后一位为校验字符）"),
    ],
)
def test_a_check_of_a_malformed_label_number_says_so_at_the_field(engineer, grinding, typed, message):
    fields = filled(grinding, kind="label", label=typed)
    page = engineer.post_form(form_url(grinding), CHECK_LABEL, {**fields, "supplier_check.purchased_clinker": "核对"})
    assert page.status_code == 422
    assert field_errors(page.text, "item.purchased_clinker.supplier.label") == [message]


def test_a_check_of_a_number_no_label_has_says_so(engineer, grinding):
    from label_service.numbering import label_number

    number = label_number(2031, 999_999)
    fields = filled(grinding, kind="label", label=number)
    page = engineer.post_form(form_url(grinding), CHECK_LABEL, {**fields, "supplier_check.purchased_clinker": "核对"})
    assert page.status_code == 422
    assert field_errors(page.text, "item.purchased_clinker.supplier.label") == [f"未找到碳标签 {number}，请核对编号"]


def test_a_label_whose_unit_does_not_convert_is_refused_at_its_field_in_the_readers_language(world, engineer, grinding):
    """The coal plant's label (per kWh) named for purchased clinker (t): the supply chain's refusal
    (supply.unit_mismatch) at the label number, in Chinese; nothing stored."""
    from tests.supplying import coal_plant

    user = manufacturer(world, "mismatch-plant")
    plant = labelled_product(world, user, "coal power", coal_plant())
    before = inventories_listed(engineer, grinding)
    page = engineer.post_form(
        form_url(grinding), "/app/inventories", filled(grinding, kind="label", label=plant["label"]["number"])
    )
    assert page.status_code == 422
    [reason] = field_errors(page.text, "item.purchased_clinker.supplier.label")
    assert "kWh" in reason and re.search(r"[\u4e00-\u9fff]", reason), reason
    assert "外购熟料" in unescape(page.text)  # the error summary names the item
    assert inventories_listed(engineer, grinding) == before


def test_a_label_chosen_in_the_form_is_stored_and_comes_back_in_the_next_version(world, engineer, grinding, kiln):
    number = kiln["label"]["number"]
    sent = engineer.post_form(form_url(grinding), "/app/inventories", filled(grinding, kind="label", label=number))
    assert sent.status_code == 303, unescape(sent.text)[-3000:]
    record = world.call("acme-engineer", "GET", f"/api/v1{sent.headers['location'].removeprefix('/app')}").json()
    clinker = next(i for i in record["data"]["items"] if i["item"] == "purchased_clinker")
    assert clinker["supplier"] == {"kind": "label", "reference": number, "entry": None} or clinker["supplier"] == {
        "kind": "label",
        "reference": number,
    }
    shown = text(engineer.get(sent.headers["location"]).text)
    assert f"外购熟料 purchased_clinker 供应商数据：本平台碳标签 {number}" in shown  # the inventory's page says it
    again = engineer.get(f"{form_url(grinding)}&source={record['id']}")
    html = unescape(again.text)
    assert selected(again.text, "item.purchased_clinker.supplier.kind") == "label"
    assert re.search(rf'name="item\.purchased_clinker\.supplier\.label"[^>]*value="{number}"', again.text)
    assert f"供应商数据：本平台碳标签 {number}" in html


@pytest.fixture(scope="module")
def received(world):
    """What acme holds besides labels: a PACT footprint of clinker received from a supplier (Active, 870 kg CO2e
    per ton), an older one of the same id since deprecated, another organisation's, and a factor-database release
    with a clinker entry (per 1 t) and an electricity entry (per 1 kWh)."""
    import uuid
    from datetime import date

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import FactorEntry, FactorRelease, SupplierFootprint

    pf_id, other = str(uuid.uuid4()), str(uuid.uuid4())
    number = f"2099.{uuid.uuid4().int % 1000}"

    def footprint(organisation, version: int, status: str, pcf: float, identifier: str = pf_id):
        return SupplierFootprint(
            organisation_id=world.organisations[organisation],
            origin="uploaded",
            pf_id=identifier,
            pf_version=version,
            status=status,
            company_name="Kiln Partner Co.",
            product_name=f"clinker v{version}",
            declared_unit="ton",
            declared_amount=1,
            pcf_excluding_biogenic=pcf,
            valid_until=date(2027, 12, 31),
            document={"id": identifier},
        )

    with session_scope() as session:
        session.add(footprint("acme", 0, "Deprecated", 910.0))
        session.add(footprint("acme", 1, "Active", 870.0))
        session.add(footprint("rival", 0, "Active", 700.0, other))
        release = FactorRelease(number=number, title="test release", digest="0" * 64)
        session.add(release)
        session.flush()
        common = {"release_id": release.id, "pcr_major": 1, "reference_year": 2025, "label_count": 3}
        for key, pcr_id, category, unit, value in (
            ("clinker-national", "PCR-CN-CLINKER", "clinker", "1 t", 880.0),
            ("electricity-national", "PCR-CN-ELECTRICITY", "electricity", "1 kWh", 0.95),
        ):
            session.add(
                FactorEntry(
                    key=key,
                    pcr_id=pcr_id,
                    product_category=category,
                    declared_unit=unit,
                    value=value,
                    organisation_count=3,
                    value_min=value,
                    value_max=value,
                    **common,
                )
            )
        session.commit()
    return {"pf_id": pf_id, "other": other, "release": number}


def test_the_form_offers_the_newest_active_pact_footprints_the_buyer_received(engineer, grinding, received):
    page = engineer.get(form_url(grinding))
    offered = select_options(page.text, "item.purchased_clinker.supplier.pact")
    assert received["pf_id"] in offered and received["other"] not in offered  # never another buyer's
    assert offered.count(received["pf_id"]) == 1  # its newest Active version, once
    option = re.search(rf'<option value="{received["pf_id"]}"[^>]*>([^<]*)</option>', page.text).group(1)
    assert "clinker v1" in unescape(option) and "870 kg CO₂e / 1 ton" in unescape(option)


def test_a_received_pact_footprint_chosen_in_the_form_is_the_items_supplier(world, engineer, grinding, received):
    sent = engineer.post_form(
        form_url(grinding), "/app/inventories", filled(grinding, kind="pact", pact=received["pf_id"])
    )
    assert sent.status_code == 303, unescape(sent.text)[-3000:]
    record = world.call("acme-engineer", "GET", f"/api/v1{sent.headers['location'].removeprefix('/app')}").json()
    clinker = next(i for i in record["data"]["items"] if i["item"] == "purchased_clinker")
    assert clinker["supplier"]["kind"] == "pact" and clinker["supplier"]["reference"] == received["pf_id"]


def test_another_buyers_pact_footprint_is_refused_at_the_select(engineer, grinding, received):
    page = engineer.post_form(
        form_url(grinding), "/app/inventories", filled(grinding, kind="pact", pact=received["other"])
    )
    assert page.status_code == 422
    [reason] = field_errors(page.text, "item.purchased_clinker.supplier.pact")
    assert received["other"] in reason and re.search(r"[\u4e00-\u9fff]", reason)


def test_release_entries_are_offered_where_their_declared_unit_converts(engineer, grinding, received):
    """Per 1 t: for purchased clinker (t), not for road transport (t·km); per 1 kWh: for no input of cement."""
    page = engineer.get(form_url(grinding))
    assert received["release"] in select_options(page.text, "item.purchased_clinker.supplier.release")
    clinker = select_options(page.text, "item.purchased_clinker.supplier.entry")
    assert "clinker-national" in clinker and "electricity-national" not in clinker
    assert "clinker-national" not in select_options(page.text, "item.transport_road.supplier.entry")


def test_a_release_entry_chosen_in_the_form_is_the_items_supplier(world, engineer, grinding, received):
    fields = filled(grinding, kind="release", release=received["release"], entry="clinker-national")
    sent = engineer.post_form(form_url(grinding), "/app/inventories", fields)
    assert sent.status_code == 303, unescape(sent.text)[-3000:]
    record = world.call("acme-engineer", "GET", f"/api/v1{sent.headers['location'].removeprefix('/app')}").json()
    clinker = next(i for i in record["data"]["items"] if i["item"] == "purchased_clinker")
    assert clinker["supplier"] == {"kind": "release", "reference": received["release"], "entry": "clinker-national"}


def test_an_entry_the_release_does_not_have_is_refused_at_the_entry(engineer, grinding, received):
    fields = filled(grinding, kind="release", release=received["release"], entry="no-such-entry")
    page = engineer.post_form(form_url(grinding), "/app/inventories", fields)
    assert page.status_code == 422
    [reason] = field_errors(page.text, "item.purchased_clinker.supplier.entry")
    assert "no-such-entry" in reason


# --- the workbook --------------------------------------------------------------------------------------------------


def items_sheet(content: bytes):
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book[excel.SHEETS["Items"]]
    return book, sheet, {excel.key_of(cell.value): cell.column for cell in sheet[1]}


@pytest.mark.parametrize(
    "lang, caption", [("zh", "供应商数据（碳标签编号、PACT:编号 或 release:发布/条目）"), ("en", "supplier")]
)
def test_the_workbook_has_a_supplier_column_in_both_languages(lang, caption):
    content = excel.template(default_registry().get("PCR-CN-CEMENT", "1.2.0"), lang)
    _, sheet, columns = items_sheet(content)
    assert "supplier" in columns
    assert sheet.cell(1, columns["supplier"]).value.split("\n")[0] == caption


@pytest.mark.parametrize(
    "cell, supplier",
    [
        ("PCF-2026-000123-F", {"kind": "label", "reference": "PCF-2026-000123-F"}),
        ("pcf2026000123f", {"kind": "label", "reference": "PCF-2026-000123-F"}),
        (
            "PACT:3f1c2d4e-0000-4000-8000-000000000001",
            {"kind": "pact", "reference": "3f1c2d4e-0000-4000-8000-000000000001"},
        ),
        ("pact：abc", {"kind": "pact", "reference": "abc"}),
        (
            "release:2026.1/PCR-CN-CLINKER.1/--/t/2025/national",
            {"kind": "release", "reference": "2026.1", "entry": "PCR-CN-CLINKER.1/--/t/2025/national"},
        ),
    ],
)
def test_a_supplier_cell_reads_as_the_items_supplier_and_writes_back_the_same(cell, supplier):
    from label_service.numbering import label_number

    assert label_number(2026, 123) == "PCF-2026-000123-F"
    assert excel.read_supplier(cell) == supplier
    assert excel.read_supplier(excel.supplier_cell(supplier)) == supplier


def grinding_workbook(supplier_cell: str | None, lang: str = "zh") -> bytes:
    """The cement 1.2.0 template in Chinese, filled as the grinding station would, with purchased clinker's
    supplier cell."""
    book, sheet, columns = items_sheet(excel.template(default_registry().get("PCR-CN-CEMENT", "1.2.0"), lang))
    general = {
        "Product name": "grinding station cement",
        "Facility name": "Grinding station",
        "Province": "Guizhou",
        "Reference period start": GRINDING["reference_period"]["start"],
        "Reference period end": GRINDING["reference_period"]["end"],
        "Production amount": 1000,
        "Production unit": "t",
    }
    inventory = book[excel.SHEETS["Inventory"]]
    for row in range(2, inventory.max_row + 1):
        key = excel.key_of(inventory.cell(row, 1).value)
        if key in general:
            inventory.cell(row, 2).value = general[key]
    amounts = {entry["item"]: entry for entry in GRINDING["items"]}
    for row in range(2, sheet.max_row + 1):
        item = sheet.cell(row, 1).value
        if item in amounts:
            sheet.cell(row, columns["amount"]).value = amounts[item]["amount"]
            sheet.cell(row, columns["unit"]).value = amounts[item]["unit"]
        if item == "purchased_clinker" and supplier_cell:
            sheet.cell(row, columns["supplier"]).value = supplier_cell
    product = book[excel.SHEETS["Product parameters"]]
    for row in range(2, product.max_row + 1):
        choice = {"cement_type": "P·O", "strength_class": "42.5"}.get(product.cell(row, 1).value)
        if choice:
            product.cell(row, excel.PRODUCT_PARAMETER_COLUMNS.index("choice") + 1).value = choice
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(engineer, product_id: str, content: bytes):
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return engineer.post_form(
        "/app/inventories/upload",
        "/app/inventories/upload",
        {"product_id": product_id},
        files={"file": ("grinding.xlsx", content, media)},
    )


def test_an_uploaded_workbook_names_the_supplier_label_of_purchased_clinker(world, engineer, grinding, kiln):
    number = kiln["label"]["number"]
    response = upload(engineer, grinding["product_id"], grinding_workbook(number.replace("-", " ")))
    assert response.status_code == 303, unescape(response.text)[-3000:]
    record = world.call("acme-engineer", "GET", f"/api/v1{response.headers['location'].removeprefix('/app')}").json()
    clinker = next(i for i in record["data"]["items"] if i["item"] == "purchased_clinker")
    assert clinker["supplier"]["kind"] == "label" and clinker["supplier"]["reference"] == number


def cell_errors(html: str) -> list[tuple[str, str, str]]:
    """(field, cell, message) of each row of the upload's table of errors."""
    rows = re.findall(
        r'<tr class="cell-error" data-field="([^"]*)" data-sheet="[^"]*" data-cell="([^"]*)">(.*?)</tr>', html, re.S
    )
    return [(field, cell, unescape(re.sub(r"<[^>]+>", " ", body))) for field, cell, body in rows]


def supplier_cell_name(row_item: str = "purchased_clinker") -> str:
    _, sheet, columns = items_sheet(excel.template(default_registry().get("PCR-CN-CEMENT", "1.2.0"), "zh"))
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == row_item)
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(columns['supplier'])}{row}"


def test_a_supplier_cell_that_is_none_is_reported_with_its_cell(engineer, grinding):
    response = upload(engineer, grinding["product_id"], grinding_workbook("from the kiln next door"))
    assert response.status_code == 422
    [(field, cell, message)] = cell_errors(response.text)
    assert (field, cell) == ("items[0].supplier", supplier_cell_name())
    assert "“from the kiln next door”不是供应商数据" in message


def test_a_supplier_the_supply_chain_refuses_is_reported_with_its_cell(engineer, grinding):
    """A well-formed number no label has: the refusal of the submission (supply.label_unknown) at the cell."""
    from label_service.numbering import label_number

    response = upload(engineer, grinding["product_id"], grinding_workbook(label_number(2031, 999_998)))
    assert response.status_code == 422
    [(field, cell, _)] = cell_errors(response.text)
    assert field.startswith("items[0].supplier") and cell == supplier_cell_name()


# --- the footprint page, the review file, the report ----------------------------------------------------------------


@pytest.fixture(scope="module")
def grinding_footprint(world, grinding, kiln):
    """The grinding station's cement calculated on the kiln's label, applied for and in review at cb."""
    data = with_supplier(GRINDING, "purchased_clinker", {"kind": "label", "reference": kiln["label"]["number"]})
    done = calculated(world, "acme-engineer", grinding["product_id"], data)
    footprint = world.call("acme-engineer", "GET", f"/api/v1/footprints/{done['footprint_id']}").json()
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": done["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()
    act(world, "acme-engineer", application["id"], "submit")
    act(world, "cb-verifier", application["id"], "start_review")
    return {**done, "footprint": footprint, "application_id": application["id"]}


def test_the_footprint_page_lists_each_purchased_input_with_its_source(engineer, grinding_footprint, kiln):
    """Purchased clinker on the kiln's label: 0.75 t clinker per t cement × the label's value per t clinker is the
    contribution; gypsum and the supplementary materials on the factor set's screening values, listed as such."""
    label = kiln["label"]
    page = engineer.get(f"/app/footprints/{grinding_footprint['footprint_id']}")
    assert page.status_code == 200
    html = unescape(page.text)
    table = html[html.index("data-supply-sources") :]
    row = table[table.index('data-item="purchased_clinker"') :]
    row = row[: row.index("</tr>")]
    assert f'href="/V/{label["number"]}"' in row
    assert label["manufacturer_name"] in row
    value = float(label["value"].replace(",", ""))
    assert f"kg CO₂e / {label['declared_unit']}" in row
    expected = GRINDING_CLINKER_T_PER_T * value
    shown = re.search(r"data-contribution>([^<]+)<", row).group(1)
    assert abs(float(shown.replace(",", "")) - expected) <= 0.05 + 1e-4 * expected, (shown, expected)
    assert "已核验" in row and "有效" in row
    for item in ("gypsum", "supplementary_materials"):
        screened = table[table.index(f'data-item="{item}"') :]
        assert "筛选值（因子集 cn-2025.1）" in screened[: screened.index("</tr>")]


def test_the_review_file_shows_the_verifier_the_sources(app, grinding_footprint, kiln):
    verifier = Browser(app, "cb-verifier", lang=ZH)
    page = verifier.get(f"/app/review/{grinding_footprint['application_id']}")
    assert page.status_code == 200
    html = unescape(page.text)
    section = html[html.index("data-review-supply") :]
    assert kiln["label"]["number"] in section and "筛选值（因子集 cn-2025.1）" in section
    assert "data-supply-affected" not in html  # nothing withdrawn: no warning


def pdf_text(content: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


def test_the_report_lists_the_supplier_sources(engineer, grinding_footprint, kiln):
    response = engineer.get(f"/app/footprints/{grinding_footprint['footprint_id']}/report.pdf")
    assert response.status_code == 200
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "supply-report.pdf").write_bytes(response.content)  # pdftoppm -png renders its pages to look at
    text = pdf_text(response.content)
    assert "Supplier data" in text
    assert kiln["label"]["number"] in text
    assert "cn-2025.1" in text


# --- the supply router's pages isolate ------------------------------------------------------------------------------


def routes() -> set[tuple[str, str]]:
    from footprint_api.web.routes import supply

    return {(method, r.path) for r in supply.router.routes for method in r.methods}


def test_every_route_of_the_supply_pages_has_an_isolation_case():
    assert routes() == {
        ("POST", CHECK_LABEL),
        ("POST", "/app/footprints/{footprint_id}/recalculate-with-newer-supplier-data"),
        ("GET", "/app/supply/labels-at-risk"),
    }


def test_another_manufacturer_cannot_check_a_label_in_a_form_of_a_product_it_does_not_own(app, grinding, kiln):
    rival = Browser(app, "rival-engineer", lang=ZH)
    fields = filled(grinding, kind="label", label=kiln["label"]["number"])
    response = rival.post_form("/app/dashboard", CHECK_LABEL, {**fields, "supplier_check.purchased_clinker": "核对"})
    assert response.status_code == 404


def test_another_manufacturer_cannot_recalculate_a_footprint_it_does_not_own(app, grinding_footprint):
    rival = Browser(app, "rival-engineer", lang=ZH)
    token = csrf_of(rival.get("/app/dashboard").text)
    url = f"/app/footprints/{grinding_footprint['footprint_id']}/recalculate-with-newer-supplier-data"
    assert rival.client.post(url, data={"csrf_token": token}).status_code == 404


def test_a_recalculation_without_a_form_token_is_refused(engineer, grinding_footprint):
    url = f"/app/footprints/{grinding_footprint['footprint_id']}/recalculate-with-newer-supplier-data"
    assert engineer.client.post(url, data={}).status_code == 403


def test_labels_at_risk_is_a_certification_body_page(app, engineer):
    assert engineer.get("/app/supply/labels-at-risk").status_code == 403
    assert Browser(app, "cb-admin", lang=ZH).get("/app/supply/labels-at-risk").status_code == 200


def test_label_management_links_to_the_labels_at_risk(app):
    page = Browser(app, "cb-verifier", lang=ZH).get("/app/labels")
    assert 'href="/app/supply/labels-at-risk"' in page.text
    assert "依赖已撤回供应商数值的标签" in unescape(page.text)


def test_a_footprint_with_nothing_withdrawn_cannot_be_recalculated_on_newer_data(engineer, grinding_footprint):
    """409 on the footprint's page, worded in Chinese: no source was withdrawn."""
    url = f"/app/footprints/{grinding_footprint['footprint_id']}"
    response = engineer.post_form(url, f"{url}/recalculate-with-newer-supplier-data")
    assert response.status_code == 409


def test_a_check_reads_the_number_as_the_submission_does(engineer, grinding, kiln):
    """Typed on a Chinese keyboard in full width (ＰＣＦ－２０２６…), the check finds the label as the submission
    does; with one character wrong it names the label one typing error away, as the submission's refusal does."""
    number = kiln["label"]["number"]
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in number)
    page = engineer.post_form(
        form_url(grinding),
        CHECK_LABEL,
        {**filled(grinding, kind="label", label=wide), "supplier_check.purchased_clinker": "核对"},
    )
    assert page.status_code == 200 and f"碳标签 {number} 的公开信息" in text(page.text)
    typo = number[:-3] + ("1" if number[-3] != "1" else "2") + number[-2:]
    page = engineer.post_form(
        form_url(grinding),
        CHECK_LABEL,
        {**filled(grinding, kind="label", label=typo), "supplier_check.purchased_clinker": "核对"},
    )
    assert page.status_code == 422
    assert number in " ".join(field_errors(page.text, "item.purchased_clinker.supplier.label"))
