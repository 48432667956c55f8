"""A product category the service never had, end to end through the pages, in Chinese, as a new standards body meets it.

The platform admin creates the body (标准制定机构) with its PCR author and committee chair. The author writes the PCR
of electrolytic manganese metal (电解金属锰) from an empty draft through the editor form, with the content of
pcr_rules/examples/pcr-drafts/pcr-electrolytic-manganese-draft.json; a first save with a range the wrong way round
shows the problem at its field; fixed, the check is clean. The chair opens the public consultation, a manufacturer's
engineer comments through the library's comment form, the consultation closes, the chair answers the comment and
publishes. The manufacturer enters its 2023 Guizhou inventory (pcr_rules/examples/pcr-drafts/
electrolytic-manganese-guizhou-2023.json) under the new PCR through the inventory form, then again as a new version
through the PCR's Excel template; both calculate to the hand arithmetic. A certification body reviews, approves and
issues the label, which names the new PCR and its version.

Every person is a browser reading Chinese that posts each form with its page's token. The steps run in order over
one service (the module's `world`) and hand on what they made in `story`."""

import io
import json
import re
import time
import uuid
from datetime import timedelta
from html import unescape

import openpyxl
import pytest

from footprint_api.services import excel, pcr_registry
from footprint_api.web.routes import pcr_authoring
from tests.conftest import ROOT
from tests.service import PASSWORD
from tests.test_pcr_lifecycle import TODAY
from tests.test_web_pcr_authoring import invalid_at, press, typed
from tests.web_client import Browser, csrf_of

DRAFTS = ROOT / "pcr_rules" / "examples" / "pcr-drafts"
EMM = json.loads((DRAFTS / "pcr-electrolytic-manganese-draft.json").read_text("utf-8"))
GUIZHOU = json.loads((DRAFTS / "electrolytic-manganese-guizhou-2023.json").read_text("utf-8"))
PCR_ID, VERSION = "PCR-CN-EMM", "1.0.0"
AUTHORING = pcr_authoring.BASE
OVERVIEW = f"{AUTHORING}/{PCR_ID}/{VERSION}"
EDITOR = f"{OVERVIEW}/edit"
LIBRARY = f"/pcrs/{PCR_ID}/{VERSION}"
AFTER_CONSULTATION = TODAY + timedelta(days=1)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# kg CO2e per t of metal by item and part, market-based: the arithmetic is in calculated_to_hand_arithmetic
BY_HAND_KG_CO2E_PER_T = {
    ("grid_electricity", "electricity"): 4_419.8872,
    ("ore_mnco3", "process"): 1_036.6124,
    ("ore_calcite", "process"): 176.0,
    ("quicklime", "input"): 380.6982,
    ("boiler_coal", "combustion"): 151.1686,
    ("boiler_coal", "supply"): 32.7442,
    ("diesel", "combustion"): 15.5335,
    ("transport_road", "input"): 10.5628,
}
MARKET_BASED_KG_CO2E_PER_T = 6_223.2070
LOCATION_BASED_KG_CO2E_PER_T = 5_380.1335


@pytest.fixture(scope="module")
def app(world):
    return world.client.app


@pytest.fixture(scope="module")
def story() -> dict:
    """What one step leaves for the next. The tag (digits: no Latin letters in a Chinese name) keeps names unique."""
    return {"tag": f"{uuid.uuid4().int % 10**6:06d}"}


@pytest.fixture(scope="module")
def people(app):
    """One signed-in browser per person, reading Chinese."""
    browsers: dict[str, Browser] = {}

    def of(user: str) -> Browser:
        if user not in browsers:
            browsers[user] = Browser(app, user, lang="zh-CN")
        return browsers[user]

    return of


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def followed(browser: Browser, response) -> str:
    assert response.status_code == 303, text_of(response.text)[:2000]
    return browser.get(response.headers["location"]).text


# codes a Chinese text may still carry: the PCR's item ids and fuels, the factor set (longest first)
CODES = sorted(
    {item["id"] for item in EMM["items"]} | {item["fuel"] for item in EMM["items"] if "fuel" in item} | {"cn-2025.1"},
    key=len,
    reverse=True,
)


def english_words(text: str, *names: str) -> list[str]:
    """The English words of a text meant for a Chinese reader, once names, codes and units are set aside."""
    for code in (*names, PCR_ID, VERSION, *CODES, "CO2e", "CO₂e", "kWh", "CBAM", "(EU) 2023/956", "IPCC", "GB/T"):
        text = text.replace(code, " ")
    return re.findall(r"[A-Za-z]{3,}", text)


# --- 1. the platform admin creates the standards body and its people ----------------------------------------------


def test_01_the_platform_admin_creates_the_standards_body_its_author_and_its_chair(people, story):
    root = people("root")
    name = f"中国锰业技术委员会 {story['tag']}"
    created = root.post_form(
        "/app/admin/organisations", "/app/admin/organisations", {"name": name, "kind": "standards_body"}
    )
    row = next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", followed(root, created), re.S) if name in r)
    assert "标准制定机构" in row, text_of(row)
    users = re.search(r'href="(/app/admin/organisations/[0-9a-f-]{36}/users)"', row).group(1)
    for role, person in (("pcr_author", "author"), ("pcr_chair", "chair")):
        login = f"emm-{person}-{story['tag']}"
        assert f'value="{role}"' in root.get(users).text  # a standards body's roles are offered
        form = {"name": f"锰 {person}", "email": f"{login}@test.example", "role": role, "password": PASSWORD}
        assert f"{login}@test.example" in followed(root, root.post_form(users, users, form))
        story[person] = login
    story["body"] = name


# --- 2. the author writes the draft -------------------------------------------------------------------------------


def test_02_the_author_lands_on_the_authoring_pages_and_starts_an_empty_draft(app, story):
    author = Browser(app, lang="zh-CN")
    assert author.sign_in(story["author"]).headers["location"] == "/app"
    landing = author.get("/app")
    assert landing.status_code == 303 and landing.headers["location"] == AUTHORING
    assert PCR_ID not in author.get(AUTHORING).text
    created = author.post_form(
        AUTHORING,
        f"{AUTHORING}/drafts",
        {
            "start_from": "empty",
            "pcr_id": PCR_ID,
            "version": VERSION,
            "title": EMM["title"],
            "product_category": EMM["product_category"],
            "declared_unit.amount": "1",
            "declared_unit.unit": "t",
            "declared_unit.description": EMM["declared_unit"]["description"],
        },
    )
    assert created.status_code == 303 and created.headers["location"] == f"{EDITOR}?done=created"
    story["author_browser"] = author


def manganese() -> dict:
    return {**EMM, "id": PCR_ID, "version": VERSION}


def test_03_the_author_types_the_rules_and_sees_a_reversed_range_at_its_field_in_chinese(story):
    """An item row added with the form's button for each item, the parameters a formula reads added with its offer,
    every field typed; saved with the electricity range reversed (9000 .. 5000 kWh/t)."""
    author = story["author_browser"]
    page = author.get(EDITOR).text
    for _ in EMM["items"]:
        answer = press(author, EDITOR, page, "add:items")
        assert answer.status_code == 200 and "尚未保存" in answer.text
        page = answer.text
    general = typed({k: v for k, v in manganese().items() if k != "items"})
    items = {k: v for k, v in typed({"items": EMM["items"]}).items() if ".parameters[" not in k}
    for index, item in enumerate(EMM["items"]):
        for parameter in item.get("parameters", []):
            answer = press(author, EDITOR, page, f"offer:items[{index}]|{parameter['id']}", {**general, **items})
            assert answer.status_code == 200, text_of(answer.text)[:2000]
            page = answer.text
    reversed_range = {
        "items[0].plausible_per_declared_unit.min": "9000",
        "items[0].plausible_per_declared_unit.max": "5000",
    }
    saved = press(author, EDITOR, page, "save", {**typed(manganese()), **reversed_range})
    page = followed(author, saved)
    assert saved.headers["location"] == f"{EDITOR}?done=saved"
    assert "草案已保存。检查发现 1 个问题" in page
    assert invalid_at(page, "items[0].plausible_per_declared_unit.min") == (
        "下限 9000 大于上限 5000。 items[0].plausible_per_declared_unit.min"
    )


def test_04_the_author_fixes_the_range_and_the_check_is_clean(story):
    author = story["author_browser"]
    fixed = press(
        author,
        EDITOR,
        author.get(EDITOR).text,
        "save",
        {"items[0].plausible_per_declared_unit.min": "5000", "items[0].plausible_per_declared_unit.max": "9000"},
    )
    page = followed(author, fixed)
    assert "草案已保存，检查未发现问题" in page and 'aria-invalid="true"' not in page
    assert "检查未发现问题。" in author.get(OVERVIEW).text


# --- 3. consultation, the manufacturer's comment, the chair's answer, publication ---------------------------------


def test_05_the_chair_opens_the_public_consultation_until_today(people, story):
    chair = people(story["chair"])
    assert 'id="pcra-consultation"' in chair.get(OVERVIEW).text
    opened = chair.post_form(OVERVIEW, f"{OVERVIEW}/consultation", {"consultation_until": TODAY.isoformat()})
    page = followed(chair, opened)
    assert "草案已提交公开征求意见" in page and f"公开征求意见中，截止日期 {TODAY.isoformat()}" in page


def test_06_a_manufacturers_engineer_comments_on_an_item_through_the_library(people, story):
    engineer = people("acme-engineer")
    assert f'data-pcr="{PCR_ID}" data-version="{VERSION}"' in engineer.get("/pcrs?status=consultation").text
    page = engineer.get(LIBRARY).text
    assert 'id="comment"' in page and '<option value="items[ore_mnco3]">' in page
    text = "请说明干矿中 MnCO3 质量分数的测定方法（锰品位按 GB/T 1506 测定后折算？）"
    answer = engineer.client.post(
        f"{LIBRARY}/comments", data={"path": "items[ore_mnco3]", "text": text, "csrf_token": csrf_of(page)}
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"{LIBRARY}?done=commented#comments"
    log = engineer.get(f"{LIBRARY}?done=commented").text
    assert "items[ore_mnco3]" in log and text in log and "待答复" in log
    story["comment"] = text


def test_07_after_its_end_the_chair_closes_the_consultation_answers_the_comment_and_publishes(
    people, story, monkeypatch
):
    """In force from 2023-01-01 (the inventory's reference year) to the end of the fifth year from now."""
    chair = people(story["chair"])
    monkeypatch.setattr(pcr_registry, "today_utc", lambda: AFTER_CONSULTATION)  # the stated period has passed
    closed = chair.post_form(OVERVIEW, f"{OVERVIEW}/close")
    assert closed.status_code == 303 and closed.headers["location"] == f"{OVERVIEW}?done=closed"
    page = chair.get(OVERVIEW).text
    comment = re.search(r'<li class="pcra-comment" id="comment-([0-9a-f-]{36})".*?</li>', page, re.S)
    assert comment and story["comment"] in comment.group(0) and "acme" in comment.group(0)
    answer_url = f"{OVERVIEW}/comments/{comment.group(1)}/answer"
    assert f'action="{answer_url}"' in page
    reason = "采纳：在 notes 中补充锰品位按 GB/T 1506 测定、按 MnCO3/Mn = 114.946/54.938 折算。"
    answered = chair.post_form(OVERVIEW, answer_url, {"decision": "accepted", "reason": reason})
    assert answered.status_code == 303 and answered.headers["location"] == f"{OVERVIEW}?done=answered"
    valid_until = TODAY.replace(year=TODAY.year + 5, month=12, day=31).isoformat()
    published = chair.post_form(
        OVERVIEW, f"{OVERVIEW}/publish", {"effective_from": "2023-01-01", "valid_until": valid_until}
    )
    assert published.status_code == 303 and published.headers["location"] == f"{OVERVIEW}?done=published"
    story.update(answer=reason, valid_until=valid_until)


def library_row(html: str) -> str:
    found = re.search(rf'<tr data-pcr="{PCR_ID}" data-version="{VERSION}">(.*?)</tr>', html, re.S)
    assert found, "the new PCR is not in the library"
    return found.group(1)


def test_08_the_library_lists_the_pcr_as_published_by_the_body(app, story):
    row = library_row(Browser(app, lang="zh-CN").get("/pcrs?status=published").text)
    assert 'data-status="published">已发布</span>' in row
    assert story["body"] in row and "2023-01-01" in row and story["valid_until"] in row


def test_08b_the_library_names_the_new_category_in_words_not_by_its_code(app):
    visitor = Browser(app, lang="zh-CN")
    heading = re.search(r"<h1>(.*?)</h1>", visitor.get(LIBRARY).text, re.S).group(1)
    link = re.search(r"<a [^>]*>(.*?)</a>", library_row(visitor.get("/pcrs").text)).group(1)
    assert EMM["product_category"] not in heading and EMM["product_category"] not in link, (heading, link)


def test_09_its_document_shows_the_comment_and_the_chairs_answer(app, story):
    visitor = Browser(app, lang="zh-CN")
    page = visitor.get(LIBRARY).text
    assert '<html lang="zh-CN">' in page and 'id="comment"' not in page  # published: no more comments
    log = text_of(page[page.index('id="pcr-comments"') : page.index('id="pcr-changes"')])
    assert f"items[ore_mnco3] 浸出用碳酸锰矿（干基） {story['comment']} acme" in log  # item, comment, its body
    assert f"采纳 {story['answer']}" in log
    rules = visitor.get(f"{LIBRARY}/pcr.json").json()
    assert (rules["id"], rules["version"], rules["product_category"]) == (PCR_ID, VERSION, EMM["product_category"])
    assert [item["id"] for item in rules["items"]] == [item["id"] for item in EMM["items"]]


# --- 4. the manufacturer's inventory under the new PCR: by form, then by Excel ----------------------------------


def test_10_the_manufacturer_creates_a_product_under_the_new_pcr_and_its_plant(people, story):
    engineer = people("acme-engineer")
    offered = re.search(r'<select[^>]*name="pcr_id".*?</select>', engineer.get("/app/products").text, re.S).group(0)
    assert f'<option value="{PCR_ID}">' in offered, "the new PCR is not offered for a product"
    name, plant = f"电解金属锰片 {story['tag']}", f"铜仁电解锰厂 {story['tag']}"
    created = engineer.post_form(
        "/app/products", "/app/products", {"name": name, "model": GUIZHOU["product"]["model"], "pcr_id": PCR_ID}
    )
    row = next(r for r in re.findall(r"<tr>.*?</tr>", followed(engineer, created), re.S) if name in r)
    assert PCR_ID in row
    facility = {"name": plant, "province": GUIZHOU["facility"]["province"], "grid_region": "South"}
    assert plant in followed(engineer, engineer.post_form("/app/products", "/app/facilities", facility))
    story.update(product=re.search(r"/app/products/([0-9a-f-]{36})/edit", row).group(1), product_name=name, plant=plant)


def inventory_form(product_id: str, facility_id: str) -> dict:
    """The Guizhou 2023 example as the inventory form's fields."""
    fields = {
        "product_id": product_id,
        "facility_id": facility_id,
        "pcr_version": VERSION,
        "reference_period.start": GUIZHOU["reference_period"]["start"],
        "reference_period.end": GUIZHOU["reference_period"]["end"],
        "production.amount": str(GUIZHOU["production"]["amount"]),
        "production.unit": GUIZHOU["production"]["unit"],
    }
    for entry in GUIZHOU["items"]:
        prefix = f"item.{entry['item']}"
        fields[f"{prefix}.amount"], fields[f"{prefix}.unit"] = str(entry["amount"]), entry["unit"]
        fields[f"{prefix}.data_source"] = entry["data_source"]
        for name, quantity in entry.get("parameters", {}).items():
            fields[f"{prefix}.param.{name}.amount"] = str(quantity["amount"])
            fields[f"{prefix}.param.{name}.unit"] = quantity["unit"]
    return fields


def error_summary(html: str) -> str:
    found = re.search(r'<(div|section) class="card error-summary".*?</\1>', html, re.S)
    return text_of(found.group(0)) if found else text_of(html)[:3000]


def test_11_the_engineer_enters_the_2023_guizhou_inventory_through_the_form(people, story):
    engineer = people("acme-engineer")
    form_url = f"/app/inventories/new?product={story['product']}"
    page = engineer.get(form_url).text
    for item in EMM["items"]:
        assert f'name="item.{item["id"]}.amount"' in page and item["label_zh"] in page, item["id"]
    facility = re.search(rf'<option value="([0-9a-f-]{{36}})"[^>]*>{re.escape(story["plant"])}', page)
    assert facility, "the plant is not offered"
    answer = engineer.post_form(form_url, "/app/inventories", inventory_form(story["product"], facility.group(1)))
    assert answer.status_code == 303, error_summary(answer.text)
    story.update(facility=facility.group(1), form_inventory=answer.headers["location"])


def calculated(browser: Browser, inventory_url: str) -> str:
    """Calculate from the inventory's page and follow the job as its page's script does; the footprint's url."""
    assert f'action="{inventory_url}/calculate"' in browser.get(inventory_url).text
    started = browser.post_form(inventory_url, f"{inventory_url}/calculate", {"monte_carlo_iterations": "0"})
    assert started.status_code == 303 and started.headers["location"].startswith("/app/jobs/")
    job = started.headers["location"]
    deadline = time.monotonic() + 120
    while (status := browser.get(f"{job}/status").json())["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status["status"] == "succeeded", status["error"]
    assert f'href="{status["footprint_url"]}"' in browser.get(job).text
    return status["footprint_url"]


def calculated_to_hand_arithmetic(world, browser: Browser, footprint_url: str) -> None:
    """1 t EMM, Guizhou 2023, market-based (no certificates: all grid power at the residual factor), each term from
    the cited factors as tests/test_pcr_language.py::test_electrolytic_manganese_footprint_by_hand derives it:

    grid electricity  62,000,000 kWh / 10,000 t = 6,200 kWh x residual 0.712885 kg/kWh   = 4,419.8872
    MnCO3 leaching    9.5 t ore x 0.30 MnCO3 x 0.95 leached x 0.382867 t CO2/t x 1000   = 1,036.6124
    calcite leaching  0.4 t CaCO3 x 0.440 t CO2/t x 1000                                 =   176
    quicklime         0.3 t x 1,268.9941 kg CO2e/t                                        =   380.6982
    boiler coal       0.08 t x 1,889.6073 kg CO2e/t (measured NCV 21.0 GJ/t)             =   151.1686
    coal supply       0.08 t x 409.303 kg CO2e/t (coal mining CH4)                        =    32.7442
    diesel            0.005 t x 3,106.7091 kg CO2e/t                                      =    15.5335
    road transport    200 t*km x 0.000017 t diesel/t*km x 3,106.7091 kg CO2e/t            =    10.5628
    market-based      4,419.8872 + 1,036.6124 + 176 + 380.6982 + 151.1686 + 32.7442 + 15.5335 + 10.5628
                      = 6,223.2070 kg CO2e/t
    location-based    6,200 kWh x Guizhou 0.576905 (0.6205 x 0.4989 / 0.5366) + 1,803.3199 (the rest)
                      = 5,380.1335 kg CO2e/t

    The page shows four significant digits; the stored result is compared to 0.01 %."""
    page = browser.get(footprint_url).text
    assert '<html lang="zh-CN">' in page and re.search(r"data-total>6,223<", page)
    assert f"{PCR_ID} {VERSION}" in page
    footprint = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint_url.rsplit('/', 1)[1]}").json()
    result = footprint["result"]
    got = {(c["item"], c["part"]): c["kg_co2e"] for c in result["contributions"]}
    assert got == pytest.approx(BY_HAND_KG_CO2E_PER_T, rel=1e-4)
    assert sum(BY_HAND_KG_CO2E_PER_T.values()) == pytest.approx(MARKET_BASED_KG_CO2E_PER_T, abs=5e-4)  # rounded
    assert result["total_kg_co2e"] == pytest.approx(MARKET_BASED_KG_CO2E_PER_T, rel=1e-4)
    assert result["market_based_kg_co2e"] == pytest.approx(MARKET_BASED_KG_CO2E_PER_T, rel=1e-4)
    assert result["location_based_kg_co2e"] == pytest.approx(LOCATION_BASED_KG_CO2E_PER_T, rel=1e-4)
    assert (result["pcr"]["id"], result["pcr"]["version"]) == (PCR_ID, VERSION)


def test_12_the_form_inventory_calculates_to_the_hand_arithmetic(world, people, story):
    footprint = calculated(people("acme-engineer"), story["form_inventory"])
    calculated_to_hand_arithmetic(world, people("acme-engineer"), footprint)
    story["form_footprint"] = footprint


# Where the footprint page says something to its Chinese reader: each place in Chinese (the explanations of the
# result are stored by code and values and worded for the reader; the CBAM refusal by its code)
def _cbam_reason(page: str) -> str:
    return re.search(r'<p class="muted small cbam-reason">(.*?)</p>', page, re.S).group(1)


def _location_rule(page: str) -> str:
    return re.search(r"<p [^>]*data-location-rule>(.*?)</p>", page, re.S).group(1)


def _location_note(page: str) -> str:
    return re.search(r"<p [^>]*data-location-note>(.*?)</p>", page, re.S).group(1)


def _data_gaps(page: str) -> str:
    return re.search(r"数据缺口</h3>\s*(.*?)</section>", page, re.S).group(1)


def _location_factor(page: str) -> str:
    return re.search(r"<dt>电网平均因子（基于位置）</dt><dd>(.*?)</dd>", page, re.S).group(1)


def _inventory_version(page: str) -> str:
    return re.search(r"<dt>清单</dt><dd>(.*?)</dd>", page, re.S).group(1)


@pytest.mark.parametrize(
    "place",
    [
        pytest.param(_cbam_reason, id="why-no-cbam-export"),
        pytest.param(_location_rule, id="location-rule"),
        pytest.param(_location_note, id="location-factor-note"),
        pytest.param(_data_gaps, id="data-gaps"),
        pytest.param(
            _location_factor,
            id="province-of-the-location-factor",
        ),
        pytest.param(
            _inventory_version,
            id="source-of-the-inventory",
        ),
    ],
)
def test_12b_the_footprint_page_says_in_chinese_what_it_says(people, story, place):
    page = people("acme-engineer").get(story["form_footprint"]).text
    shown = text_of(place(page))
    assert english_words(shown) == [], shown


def filled_template(template: bytes, story: dict) -> bytes:
    """The new PCR's template filled with the Guizhou example by the English keys of its bilingual captions, as
    tests/test_excel_plant.py fills one; the product and plant named as the manufacturer registered them."""
    book = openpyxl.load_workbook(io.BytesIO(template))
    general = {
        "Product name": story["product_name"],
        "Product model": GUIZHOU["product"]["model"],
        "Facility name": story["plant"],
        "Province": GUIZHOU["facility"]["province"],
        "Grid region": GUIZHOU["facility"]["grid_region"],
        "Reference period start": GUIZHOU["reference_period"]["start"],
        "Reference period end": GUIZHOU["reference_period"]["end"],
        "Production amount": GUIZHOU["production"]["amount"],
        "Production unit": GUIZHOU["production"]["unit"],
    }
    sheet = book[excel.SHEETS["Inventory"]]
    for row in range(2, sheet.max_row + 1):
        key = excel.key_of(sheet.cell(row, 1).value)
        if key in general:
            sheet.cell(row, 2).value = general.pop(key)
    assert general == {}, f"the template has no row for {sorted(general)}"
    entries = {entry["item"]: entry for entry in GUIZHOU["items"]}
    items = book[excel.SHEETS["Items"]]
    columns = {excel.key_of(cell.value): cell.column for cell in items[1]}
    for row in range(2, items.max_row + 1):
        entry = entries.pop(items.cell(row, columns["item"]).value, None)
        for column in ("amount", "unit", "data_source") if entry else ():
            items.cell(row, columns[column]).value = entry[column]
    assert entries == {}, f"the template has no row for {sorted(entries)}"
    parameters = book[excel.SHEETS["Parameters"]]
    columns = {excel.key_of(cell.value): cell.column for cell in parameters[1]}
    stated = {
        (e["item"], name): quantity for e in GUIZHOU["items"] for name, quantity in e.get("parameters", {}).items()
    }
    for row in range(2, parameters.max_row + 1):
        quantity = stated.pop(
            (parameters.cell(row, columns["item"]).value, parameters.cell(row, columns["parameter"]).value), None
        )
        if quantity:
            parameters.cell(row, columns["amount"]).value = quantity["amount"]
            parameters.cell(row, columns["unit"]).value = quantity["unit"]
    assert stated == {}, f"the template has no row for {sorted(stated)}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def the_template(browser: Browser, story: dict) -> tuple[str, bytes]:
    """The upload page, and the new PCR's template downloaded from its link there."""
    page = browser.get(f"/app/inventories/upload?product={story['product']}").text
    link = re.search(rf'href="(/app/pcrs/{PCR_ID}/template\.xlsx\?version={re.escape(VERSION)})"', page)
    assert link, "the upload page offers no template of the new PCR"
    template = browser.get(unescape(link.group(1)))
    assert template.status_code == 200 and template.headers["content-type"] == XLSX
    return page, template.content


def test_13_the_same_inventory_as_a_new_version_by_excel_calculates_to_the_same_total(world, people, story):
    engineer = people("acme-engineer")
    page, template = the_template(engineer, story)
    answer = engineer.client.post(
        "/app/inventories/upload",
        data={"product_id": story["product"], "facility_id": story["facility"], "csrf_token": csrf_of(page)},
        files={"file": ("电解锰 2023.xlsx", filled_template(template, story), XLSX)},
    )
    assert answer.status_code == 303, error_summary(answer.text)
    inventory_url = answer.headers["location"]
    assert inventory_url != story["form_inventory"] and "第 2 版" in engineer.get(inventory_url).text
    footprint = calculated(engineer, inventory_url)
    calculated_to_hand_arithmetic(world, engineer, footprint)
    story["excel_footprint"] = footprint.rsplit("/", 1)[1]


def test_13b_the_templates_items_carry_their_chinese_names(people, story):
    _, template = the_template(people("acme-engineer"), story)
    items = openpyxl.load_workbook(io.BytesIO(template))[excel.SHEETS["Items"]]
    columns = {excel.key_of(cell.value): cell.column for cell in items[1]}
    labels = {row[columns["item"] - 1].value: row[columns["label"] - 1].value for row in items.iter_rows(min_row=2)}
    assert all(item["label_zh"] in (labels[item["id"]] or "") for item in EMM["items"]), labels


# --- 5. certification and the label --------------------------------------------------------------------------------


def test_14_the_manufacturer_applies_for_certification_of_the_footprint(world, people, story):
    engineer = people("acme-engineer")
    new = f"/app/applications/new?footprint={story['excel_footprint']}"
    assert f'value="{world.organisations["cb"]}"' in engineer.get(new).text
    form = {
        "footprint_id": story["excel_footprint"],
        "certification_body_id": str(world.organisations["cb"]),
        "label_kind": "footprint",
    }
    applied = engineer.post_form(new, "/app/applications/new", form)
    assert applied.status_code == 303, text_of(applied.text)[:2000]
    application = re.search(r"/app/applications/([0-9a-f-]{36})", applied.headers["location"]).group(1)
    assert "已提交" in engineer.get(f"/app/applications/{application}").text
    story["application"] = application


def test_15_the_certification_body_reviews_approves_and_issues_the_label(people, story):
    verifier = people("cb-verifier")
    assert story["application"] in verifier.get("/app/review").text
    review = f"/app/review/{story['application']}"
    assert verifier.post_form(review, f"{review}/actions/start_review").status_code == 303
    page = verifier.get(review).text
    assert f"{PCR_ID} {VERSION}" in text_of(page) and "浸出用碳酸锰矿（干基）" in page  # the review file
    statement = f"依据 GB/T 24067-2024 及 {PCR_ID} {VERSION} 核查，含现场核查。"
    approved = verifier.post_form(review, f"{review}/actions/approve", {"comment": statement})
    assert approved.status_code == 303, text_of(approved.text)[:2000]
    issued = verifier.post_form(review, f"{review}/actions/issue_label")
    assert issued.status_code == 303, text_of(issued.text)[:2000]
    number = re.search(r'href="/V/([^"]+)"', verifier.get(review).text).group(1)
    assert number in people("acme-engineer").get(f"/app/applications/{story['application']}").text
    story["label"] = number


# Where the review file says something to its Chinese reader: in Chinese, as above
def _facility(page: str) -> str:
    return re.search(r"<dt>设施</dt><dd>(.*?)</dd>", page, re.S).group(1)


def _review_location_factor_dd(page: str) -> tuple[str, str, str]:
    """The location-based factor's entry: the factor (level, area), its note after " — ", the rule after <br>."""
    dd = re.search(r"<dt>基于位置的电网因子</dt><dd>(.*?)</dd>", page, re.S).group(1)
    first, _, rule = dd.partition("<br>")
    factor, _, note = first.partition(" — ")
    return factor, note, rule


def _review_location_factor(page: str) -> str:
    return _review_location_factor_dd(page)[0]


def _review_location_note(page: str) -> str:
    return _review_location_factor_dd(page)[1]


def _review_location_rule(page: str) -> str:
    return _review_location_factor_dd(page)[2]


@pytest.mark.parametrize(
    "place",
    [
        pytest.param(
            _facility,
            id="province-and-grid-of-the-plant",
        ),
        pytest.param(
            _review_location_factor,
            id="level-and-area-of-the-location-factor",
        ),
        pytest.param(_review_location_note, id="location-factor-note"),
        pytest.param(_review_location_rule, id="location-rule"),
    ],
)
def test_15b_the_review_file_says_in_chinese_what_it_says(people, story, place):
    page = people("cb-verifier").get(f"/app/review/{story['application']}").text
    shown = text_of(place(page))
    assert english_words(shown, story["plant"]) == [], shown


def test_16_the_labels_public_json_names_the_new_pcr_and_its_version(app, story):
    answer = Browser(app, lang="zh-CN").get(
        f"/api/v1/public/labels/{story['label']}", headers={"Accept": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    label = answer.json()
    assert label["status"] == "VALID"
    assert label["claim"]["pcr"] == {"id": PCR_ID, "version": VERSION}
    assert label["claim"]["footprint"] == {"value": "6223", "unit": "kg CO2e", "declared_unit": "1 t"}
    assert label["claim"]["product"]["name"] == story["product_name"]


def test_17_the_labels_verification_page_names_the_new_pcr_and_its_version_in_chinese(app, story):
    page = Browser(app, lang="zh-CN").get(f"/V/{story['label']}")
    assert page.status_code == 200 and '<html lang="zh-CN"' in page.text
    shown = text_of(page.text)
    assert f"产品种类规则 (PCR) {PCR_ID} {VERSION}" in shown and "碳足迹 6,223 kg CO2e / 1 t" in shown
