"""The supply chain through the pages (issue 20, must show): a kiln's clinker label feeds a grinding station's cement,
typed into the inventory form in headless Chromium; a coal plant's electricity label feeds a smelter's direct-line
power through the same form (the page-level client); each downstream figure equals the hand arithmetic below. The
certification body revokes both upstream labels on its label pages: both buyers see their footprint affected on the
dashboard, on the footprint page and in their inbox, and the body sees its label at risk. The kiln certifies its
next year's clinker; the grinding station's one button recalculates on it.

The upstream footprints are calculated and certified through the JSON API (tests.supplying): they are the
suppliers' business, not what this journey shows. Screenshots (Chinese, 1280 and 390 wide) in test-artifacts/.

Hand arithmetic (label values as signed: four significant digits, read from the labels and asserted):

- Grinding station, 1,000 t P·O 42.5 from 750 t purchased clinker: 0.75 t clinker per t cement. The kiln's label
  PCF-…: 890.1 kg CO2e per 1 t clinker, converted to the item's unit (t): 890.1 kg CO2e/t. Purchased clinker
  contributes 0.75 × 890.1 = 667.575 kg CO2e per t cement.
- Smelter, 200,000 t aluminium with 2,000,000,000 kWh over the direct line: 10,000 kWh per t. The coal plant's label:
  0.9728 kg CO2e per 1 kWh. Direct-line power contributes 10,000 × 0.9728 = 9,728 kg CO2e per t aluminium.
- The kiln's next label (a year with 10 % less coal): 859.7 kg CO2e per t clinker; after the recalculation purchased
  clinker contributes 0.75 × 859.7 = 644.775 kg CO2e per t cement, and every other contribution is unchanged.
"""

import re
import time
from html import unescape

import pytest

from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    sign_in,
    visit,
)
from tests.supplying import (
    GRINDING,
    GRINDING_CLINKER_T_PER_T,
    KILN,
    SMELTER_DIRECT_KWH_PER_T,
    calculated,
    certified,
    coal_plant,
    labelled_product,
    manufacturer,
    smelter,
)
from tests.web_client import Browser

KILN_LABEL_VALUE = 890.1  # kg CO2e per t clinker, as the kiln's label shows it
PLANT_LABEL_VALUE = 0.9728  # kg CO2e per kWh, as the coal plant's label shows it
NEXT_KILN_LABEL_VALUE = 859.7  # the kiln's next label
CLINKER_CONTRIBUTION = 667.575  # 0.75 × 890.1
DIRECT_LINE_CONTRIBUTION = 9_728.0  # 10,000 × 0.9728
NEXT_CLINKER_CONTRIBUTION = 644.775  # 0.75 × 859.7


@pytest.fixture(scope="module")
def app(world):
    return world.client.app


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


@pytest.fixture(scope="module")
def chain(world):
    """The suppliers labelled; the buyers' products and facilities ready for their forms."""
    kiln_user = manufacturer(world, "kiln")
    plant_user = manufacturer(world, "plant")
    smelter_user = manufacturer(world, "smelter")
    kiln = labelled_product(world, kiln_user, "clinker", KILN)
    plant = labelled_product(world, plant_user, "coal power", coal_plant())
    cement = world.product("acme-engineer", "PCR-CN-CEMENT", "grinding station cement")
    aluminium = world.product(smelter_user, "PCR-CN-ALUMINIUM", "aluminium ingot")
    facilities = {
        user: world.call(user, "POST", "/api/v1/facilities", json={"name": name, "province": "Guizhou"}).json()["id"]
        for user, name in (("acme-engineer", "Grinding station"), (smelter_user, "Smelter"))
    }
    return {
        "kiln": {"user": kiln_user, **kiln},
        "plant": {"user": plant_user, **plant},
        "cement": {"product_id": cement["id"], "facility_id": facilities["acme-engineer"]},
        "aluminium": {"user": smelter_user, "product_id": aluminium["id"], "facility_id": facilities[smelter_user]},
    }


def value_of(label: dict) -> float:
    return float(label["value"].replace(",", ""))


def contribution(world, user: str, footprint_id: str, item: str) -> float:
    result = world.call(user, "GET", f"/api/v1/footprints/{footprint_id}").json()["result"]
    return sum(c["kg_co2e"] for c in result["contributions"] if c["item"] == item)


def contributions(world, user: str, footprint_id: str) -> dict[tuple[str, str], float]:
    result = world.call(user, "GET", f"/api/v1/footprints/{footprint_id}").json()["result"]
    return {(c["item"], c["part"]): c["kg_co2e"] for c in result["contributions"]}


def check(tab, served: str, name: str) -> None:
    """The page passes axe-core, asks nothing of another host, and is kept as test-artifacts/supply-<name>.png."""
    assert_accessible(tab.page)
    assert_self_contained(tab, served)
    screenshot(tab, f"supply-{name}")


# --- the grinding station, in a browser -----------------------------------------------------------------------------


def field(name: str) -> str:
    return "#f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def fill_grinding_form(page, served: str, chain: dict, number: str) -> None:
    """The grinding station's form as a person fills it, purchased clinker on the kiln's label, checked."""
    page.goto(f"{served}/app/inventories/new?product={chain['cement']['product_id']}")
    page.select_option(field("facility_id"), chain["cement"]["facility_id"])
    page.fill(field("reference_period.start"), GRINDING["reference_period"]["start"])
    page.fill(field("reference_period.end"), GRINDING["reference_period"]["end"])
    page.fill(field("production.amount"), "1000")
    page.select_option(field("param.cement_type.choice"), "P·O")
    page.select_option(field("param.strength_class.choice"), "42.5")
    for entry in GRINDING["items"]:
        page.fill(field(f"item.{entry['item']}.amount"), str(entry["amount"]))
    choice = page.locator("#item-purchased_clinker details[data-supplier]")
    if not choice.evaluate("details => details.open"):  # a new version's form opens with the choice made
        choice.locator("summary").click()
    page.select_option(field("item.purchased_clinker.supplier.kind"), "label")
    page.fill(field("item.purchased_clinker.supplier.label"), number)
    choice.locator("input[name='supplier_check.purchased_clinker']").click()
    page.wait_for_load_state()


def test_the_kiln_label_feeds_the_grinding_stations_cement_through_the_form(world, visit, served, chain):
    kiln = chain["kiln"]["label"]
    assert value_of(kiln) == KILN_LABEL_VALUE and kiln["declared_unit"] == "1 t"
    tab = visit("desktop", "zh")
    sign_in(tab, served, "acme-engineer")
    fill_grinding_form(tab.page, served, chain, kiln["number"])
    checked = tab.page.locator("[data-supplier-check]")
    assert checked.is_visible()
    said = checked.inner_text()
    assert "890.1 kg CO₂e / 1 t" in said and kiln["manufacturer_name"] in said and "有效" in said
    check(tab, served, "form-label-desktop")
    tab.page.locator("#inventory-form button[type=submit]").click()
    tab.page.wait_for_url(re.compile(r"/app/inventories/[0-9a-f-]{36}$"))
    tab.page.locator("form.calc-form button[type=submit]").click()
    tab.page.wait_for_url(re.compile(r"/app/footprints/[0-9a-f-]{36}"), timeout=60_000)
    footprint_id = tab.page.url.rsplit("/", 1)[-1].split("#")[0]
    chain["cement"]["footprint_id"] = footprint_id
    assert contribution(world, "acme-engineer", footprint_id, "purchased_clinker") == pytest.approx(
        GRINDING_CLINKER_T_PER_T * KILN_LABEL_VALUE
    )
    assert contribution(world, "acme-engineer", footprint_id, "purchased_clinker") == pytest.approx(
        CLINKER_CONTRIBUTION
    )
    row = tab.page.locator("[data-supply-sources] tr[data-item='purchased_clinker']")
    assert kiln["number"] in row.inner_text() and "667.6" in row.inner_text()
    assert "筛选值（因子集 cn-2025.1）" in tab.page.locator("[data-supply-sources] tr[data-item='gypsum']").inner_text()
    check(tab, served, "footprint-desktop")


# --- the smelter, through the page-level client --------------------------------------------------------------------


def smelter_form(chain: dict, number: str) -> dict:
    data = smelter()
    values = {
        "product_id": chain["aluminium"]["product_id"],
        "pcr_version": "1.3.0",
        "export_context": "footprint",
        "facility_id": chain["aluminium"]["facility_id"],
        "reference_period.start": data["reference_period"]["start"],
        "reference_period.end": data["reference_period"]["end"],
        "production.amount": str(data["production"]["amount"]),
        "production.unit": "t",
    }
    for entry in data["items"]:
        values[f"item.{entry['item']}.amount"] = str(entry["amount"])
        values[f"item.{entry['item']}.unit"] = entry["unit"]
        for name, parameter in (entry.get("parameters") or {}).items():
            values[f"item.{entry['item']}.param.{name}.amount"] = str(parameter["amount"])
            values[f"item.{entry['item']}.param.{name}.unit"] = parameter["unit"]
    values["item.direct_line_electricity.supplier.kind"] = "label"
    values["item.direct_line_electricity.supplier.label"] = number
    return values


def calculated_through_pages(client: Browser, inventory_url: str) -> str:
    """The inventory calculated from its page's button; the footprint's id once the job finished."""
    job = client.post_form(inventory_url, f"{inventory_url}/calculate", {"monte_carlo_iterations": "0"})
    assert job.status_code == 303, job.text
    status_url = f"{job.headers['location']}/status"
    for _ in range(600):
        status = client.get(status_url).json()
        if status["footprint_url"]:
            return status["footprint_url"].rsplit("/", 1)[-1]
        assert status["status"] != "failed", status
        time.sleep(0.1)
    raise AssertionError("the calculation did not finish")


def test_the_coal_plant_label_feeds_the_smelters_direct_line_power(world, app, chain):
    plant = chain["plant"]["label"]
    assert value_of(plant) == PLANT_LABEL_VALUE and plant["declared_unit"] == "1 kWh"
    client = Browser(app, chain["aluminium"]["user"], lang="zh")
    form = f"/app/inventories/new?product={chain['aluminium']['product_id']}"
    sent = client.post_form(form, "/app/inventories", smelter_form(chain, plant["number"]))
    assert sent.status_code == 303, unescape(sent.text)[-2000:]
    footprint_id = calculated_through_pages(client, sent.headers["location"])
    chain["aluminium"]["footprint_id"] = footprint_id
    found = contribution(world, chain["aluminium"]["user"], footprint_id, "direct_line_electricity")
    assert found == pytest.approx(SMELTER_DIRECT_KWH_PER_T * PLANT_LABEL_VALUE)
    assert found == pytest.approx(DIRECT_LINE_CONTRIBUTION)
    page = unescape(client.get(f"/app/footprints/{footprint_id}").text)
    assert plant["number"] in page and "9,728" in page


@pytest.fixture(scope="module")
def cement_label(world, chain):
    """The grinding station's cement certified by cb (after its footprint exists): the label at risk later."""
    return certified(world, "acme-engineer", chain["cement"]["footprint_id"])


# --- the upstream labels revoked ----------------------------------------------------------------------------------


def test_revoking_the_upstream_labels_marks_both_downstream_footprints_affected(world, app, chain, cement_label):
    body = Browser(app, "cb-verifier", lang="zh")
    for supplier in ("kiln", "plant"):
        number = chain[supplier]["label"]["number"]
        page = f"/app/labels/{number}"
        done = body.post_form(page, f"{page}/revoke", {"comment": "核查发现计量数据造假"})
        assert done.status_code == 303, done.text
    for owner, product in (("acme-engineer", "cement"), (chain["aluminium"]["user"], "aluminium")):
        client = Browser(app, owner, lang="zh")
        dashboard = unescape(client.get("/app/dashboard").text)
        footprint_id = chain[product]["footprint_id"]
        assert "data-affected-footprints" in dashboard
        assert f'data-affected-footprint="{footprint_id}"' in dashboard
        page = unescape(client.get(f"/app/footprints/{footprint_id}").text)
        assert "data-supply-affected" in page and "已被认证机构撤销" in page
        assert 'class="affected" data-affected' in page
        inbox = unescape(client.get("/app/notices").text)
        assert "供应商数据已失效" in inbox
    at_risk = unescape(Browser(app, "cb-admin", lang="zh").get("/app/supply/labels-at-risk").text)
    assert cement_label["number"] in at_risk and "已被认证机构撤销" in at_risk
    review = unescape(body.get(f"/app/review/{cement_label['application_id']}").text)
    assert "data-supply-affected" in review and "已被认证机构撤销" in review  # the verifier's file warns too


def test_the_buyers_see_it_on_their_pages(visit, served, chain):
    """Screenshots of the dashboard panel and the affected footprint page, in Chinese at both widths."""
    for width in ("desktop", "phone"):
        tab = visit(width, "zh")
        sign_in(tab, served, "acme-engineer")
        tab.page.goto(f"{served}/app/dashboard")
        panel = tab.page.locator("[data-affected-footprints]")
        assert panel.is_visible() and "已受影响" in panel.inner_text()
        check(tab, served, f"dashboard-{width}")
        tab.page.goto(f"{served}/app/footprints/{chain['cement']['footprint_id']}")
        assert tab.page.locator("[data-supply-affected]").is_visible()
        check(tab, served, f"footprint-affected-{width}")
    tab = visit("phone", "zh")
    sign_in(tab, served, "acme-engineer")
    fill_grinding_form(tab.page, served, chain, chain["kiln"]["label"]["number"])
    check(tab, served, "form-label-phone")


def test_the_supply_pages_read_in_chinese(app, chain):
    """No English sentence on the supply chain's pages in Chinese (the reader of tests/test_chinese_pages): the
    form with a label checked, the affected footprint and its review file, the dashboard panel, the labels at
    risk. Product names are the manufacturers' data, as typed."""
    from tests.test_chinese_pages import english_phrases, visible_text

    names = ["grinding station cement", "aluminium ingot", "coal power", "clinker"]
    buyer = Browser(app, "acme-engineer", lang="zh")
    form = f"/app/inventories/new?product={chain['cement']['product_id']}"
    check = {
        "product_id": chain["cement"]["product_id"],
        "pcr_version": "1.2.0",
        "item.purchased_clinker.supplier.kind": "label",
        "item.purchased_clinker.supplier.label": chain["kiln"]["label"]["number"],
        "supplier_check.purchased_clinker": "核对",
    }
    checked = buyer.post_form(form, "/app/inventories/check-label", check).text
    assert "data-supplier-check" in checked
    pages = {
        "form with a label checked": checked,
        "affected footprint": buyer.get(f"/app/footprints/{chain['cement']['footprint_id']}").text,
        "dashboard": buyer.get("/app/dashboard").text,
        "labels at risk": Browser(app, "cb-admin", lang="zh").get("/app/supply/labels-at-risk").text,
    }
    found = {name: english_phrases(visible_text(html), names) for name, html in pages.items()}
    assert found == {name: [] for name in pages}


# --- the kiln's next label, and the one-click recalculation ----------------------------------------------------------


def test_the_recalculation_on_the_kilns_new_label_works_through_the_button(world, visit, served, chain):
    kiln = chain["kiln"]
    data = {**KILN, "items": [dict(entry) for entry in KILN["items"]]}
    coal = next(entry for entry in data["items"] if entry["item"] == "kiln_coal")
    coal["amount"] = 126_000  # 10 % less coal
    newer = certified(world, kiln["user"], calculated(world, kiln["user"], kiln["product_id"], data)["footprint_id"])
    assert value_of(newer) == NEXT_KILN_LABEL_VALUE
    before = contributions(world, "acme-engineer", chain["cement"]["footprint_id"])
    tab = visit("desktop", "zh")
    sign_in(tab, served, "acme-engineer")
    tab.page.goto(f"{served}/app/dashboard")
    row = tab.page.locator(f"[data-affected-footprint='{chain['cement']['footprint_id']}']")
    assert newer["number"] in row.inner_text() and row.locator("button[data-recalculate]").count() == 1
    check(tab, served, "dashboard-recalculable-desktop")
    tab.page.goto(f"{served}/app/footprints/{chain['cement']['footprint_id']}")
    assert newer["number"] in tab.page.locator("[data-supply-affected]").inner_text()
    tab.page.locator("[data-supply-recalculate] button[data-recalculate]").click()
    tab.page.wait_for_url(re.compile(r"/app/footprints/[0-9a-f-]{36}"), timeout=60_000)
    recalculated = tab.page.url.rsplit("/", 1)[-1].split("#")[0]
    assert recalculated != chain["cement"]["footprint_id"]
    after = contributions(world, "acme-engineer", recalculated)
    assert after[("purchased_clinker", "supplier")] == pytest.approx(GRINDING_CLINKER_T_PER_T * NEXT_KILN_LABEL_VALUE)
    assert after[("purchased_clinker", "supplier")] == pytest.approx(NEXT_CLINKER_CONTRIBUTION)
    assert {k: v for k, v in after.items() if k[0] != "purchased_clinker"} == pytest.approx(
        {k: v for k, v in before.items() if k[0] != "purchased_clinker"}
    )
    row = tab.page.locator("[data-supply-sources] tr[data-item='purchased_clinker']")
    assert newer["number"] in row.inner_text() and "644.8" in row.inner_text()
    assert tab.page.locator("[data-supply-affected]").count() == 0
    tab.page.goto(f"{served}/app/dashboard")
    assert tab.page.locator(f"[data-affected-footprint='{chain['cement']['footprint_id']}']").count() == 0


def test_a_withdrawn_value_without_a_successor_asks_for_another_supplier_in_the_form(app, chain):
    """The coal plant has no newer label: no button on the smelter's footprint page, and a recalculation asked for
    all the same is refused (409) with the item named, in Chinese."""
    client = Browser(app, chain["aluminium"]["user"], lang="zh")
    url = f"/app/footprints/{chain['aluminium']['footprint_id']}"
    page = unescape(client.get(url).text)
    assert "data-supply-affected" in page and "data-recalculate" not in page
    assert "部分被撤回的数值没有更新的替代" in page
    refused = client.post_form(url, f"{url}/recalculate-with-newer-supplier-data")
    assert refused.status_code == 409
    assert "没有更新的数据" in unescape(refused.text) and "经专线向指定电厂购买的电力" in unescape(refused.text)
