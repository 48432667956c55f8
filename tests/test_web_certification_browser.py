"""The correction cycle in headless Chromium, in Chinese at phone (390 px) and desktop (1280 px) width, through the
pages only: the engineer uploads the Excel workbook of version 1 (its facility and a certificate batch), calculates
it and applies with an evidence PDF; the verifier finds the application in the queue, starts the review, downloads
the workbook and raises a finding on the clinker's CaO; the engineer makes "a new version from this one" with CaO
as a percentage (65.2 %), calculates it, answers with it and resubmits; the verifier sees the change in the PCR's
unit (0.65 → 0.652, entered as 65.2 %), closes the finding, approves and issues the label. A version 3 applied for
while that label is in force shows the verifier the warning and the comparison with version 2. Every page passes
axe-core and requests nothing from another host; screenshots in test-artifacts/issue18/cert/.

The numbers the pages must show, by hand:
  CaO: 65.2 % = 0.652 (the PCR states a fraction); (0.652 - 0.65) / 0.65 = +0.308 % -> "+0.3 %".
  grid electricity of version 3: 95 MWh = 95,000 kWh (the PCR's unit); (95,000 - 90,000) / 90,000 = +5.56 %
  -> "+5.6 %"."""

import re
import uuid

import httpx
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
from tests.test_api_inventories import CEMENT_CLASS, CEMENT_GENERAL, fill

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


def check(tab, served: str, name: str) -> None:
    tab.page.wait_for_load_state()
    assert_accessible(tab.page)
    assert_self_contained(tab, served)
    screenshot(tab, f"issue18/cert/{name}")


def press(page, action: str) -> None:
    """Clicks the button of the form posting to …/{action} and waits for the next page."""
    with page.expect_navigation():
        page.click(f"form[action$='/{action}'] button[type=submit]")


def workbook(world, facility: str, serial: str) -> bytes:
    """Version 1 as the plant fills the template: 1,000 t of cement, clinker 800 t with CaO 0.65 and MgO 0.02 (as
    fractions), kiln coal 110 t, 90,000 kWh of grid electricity, 10 MWh of wind certificates."""
    template = world.client.get("/api/v1/pcrs/PCR-CN-CEMENT/template.xlsx").content
    return fill(
        template,
        {**CEMENT_GENERAL, "Facility name": facility},
        {"clinker": (800, "t"), "kiln_coal": (110, "t"), "grid_electricity": (90_000, "kWh")},
        {("clinker", "cao_fraction"): 0.65, ("clinker", "mgo_fraction"): 0.02},
        [[serial, 10, "wind", "2023-04", "Guizhou", None, "gec"]],
        CEMENT_CLASS,  # the latest cement PCR (1.2.0) asks for the product class
    )


def calculated(world, page, served: str) -> str:
    """Presses "calculate" on an inventory's page and waits for the job; returns the footprint's id."""
    press(page, "calculate")
    job = re.search(r"/app/jobs/([0-9a-f-]{36})", page.url).group(1)
    done = world.wait("acme-engineer", job)
    assert done["status"] == "succeeded", done
    return done["footprint_id"]


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_correction_cycle_in_chinese(world, served, visit, width):
    tag = uuid.uuid4().hex[:6]
    facility = f"二号线 {tag}"
    made = world.call("acme-engineer", "POST", "/api/v1/facilities", json={"name": facility, "province": "贵州"})
    assert made.status_code == 201, made.text
    product = world.product("acme-engineer", "PCR-CN-CEMENT", name=f"普通硅酸盐水泥 P·O 42.5 {tag}")["id"]
    content = workbook(world, facility, f"GEC-BR-{tag}-0001")
    engineer, verifier = visit(width, "zh"), visit(width, "zh")
    mine, theirs = engineer.page, verifier.page
    for tab in (engineer, verifier):
        tab.page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions

    # the engineer uploads version 1, calculates it and applies with an evidence PDF
    sign_in(engineer, served, "acme-engineer")
    mine.goto(f"{served}/app/inventories/upload?product={product}")
    mine.set_input_files(
        "input[type=file][name=file]", {"name": "二号线 2023.xlsx", "mimeType": XLSX, "buffer": content}
    )
    with mine.expect_navigation():
        mine.click("form[action='/app/inventories/upload'] button[type=submit]")
    first_inventory = re.search(r"/app/inventories/([0-9a-f-]{36})", mine.url).group(1)
    first = calculated(world, mine, served)
    mine.goto(f"{served}/app/applications")
    check(engineer, served, f"applications-{width}")
    with mine.expect_navigation():
        mine.click(f"a[href='/app/applications/new?footprint={first}']")
    mine.select_option("#body", str(world.organisations["cb"]))
    mine.set_input_files("#file", {"name": "电表读数 2023.pdf", "mimeType": "application/pdf", "buffer": PDF})
    check(engineer, served, f"new-{width}")
    with mine.expect_navigation():
        mine.click("button[type=submit].primary")
    application = re.search(r"/app/applications/([0-9a-f-]{36})", mine.url).group(1)
    assert "电表读数 2023.pdf" in mine.inner_text("#evidence")
    assert "二号线 2023.xlsx" in mine.inner_text("dl.facts")
    check(engineer, served, f"submitted-{width}")

    # the verifier finds it in the queue, starts the review, takes the workbook, raises a finding on CaO
    sign_in(verifier, served, "cb-verifier")
    theirs.goto(f"{served}/app/review")
    theirs.fill("#q", tag)
    with theirs.expect_navigation():
        theirs.click("form.list-filters button[type=submit]")
    assert theirs.locator("table[data-applications] tbody tr").count() == 1
    check(verifier, served, f"queue-{width}")
    with theirs.expect_navigation():
        theirs.click(f"a.label-number[href='/app/review/{application}']")
    press(theirs, "start_review")
    link = theirs.get_attribute("a[data-workbook]", "href")
    cookies = {c["name"]: c["value"] for c in verifier.context.cookies()}
    assert httpx.get(f"{served}{link}", cookies=cookies).content == content
    with theirs.expect_navigation():
        theirs.click("#item-0 a.raise")
    assert theirs.input_value("#raise-subject") == "items[0]"
    assert theirs.inner_text("#raise-subject option:checked").strip() == "清单项 1：本水泥所用自产熟料"
    theirs.fill("#raise-text", "熟料 CaO 含量请按化验报告的平均值填写。")
    press(theirs, "findings")
    assert "清单项 1：本水泥所用自产熟料" in theirs.inner_text("#findings h3")
    check(verifier, served, f"review-finding-{width}")
    press(theirs, "request_corrections")

    # the engineer makes a new version from version 1 with CaO 65.2 %, calculates it, answers and resubmits
    mine.goto(f"{served}/app/inventories/{first_inventory}")
    with mine.expect_navigation():
        mine.click(f"a[href*='source={first_inventory}']")
    mine.fill("[name='item.clinker.param.cao_fraction.amount']", "65.2")
    mine.select_option("[name='item.clinker.param.cao_fraction.unit']", "percent")
    with mine.expect_navigation():
        mine.click("form button[type=submit].primary")
    assert re.search(r"/app/inventories/[0-9a-f-]{36}$", mine.url), mine.url
    second = calculated(world, mine, served)
    mine.goto(f"{served}/app/applications/{application}")
    assert "清单项 1：本水泥所用自产熟料" in mine.inner_text("#findings")
    mine.fill("form.answer-form textarea", "已按化验报告平均值 65.2 % 更正，见第 2 版。")
    mine.select_option("form.answer-form select", second)
    with mine.expect_navigation():
        mine.click("form.answer-form button[type=submit]")
    assert mine.input_value("#resubmit-fp") == second
    press(mine, "resubmit")
    check(engineer, served, f"resubmitted-{width}")

    # the verifier sees the change in the PCR's unit, closes the finding, approves and issues the label
    theirs.reload()
    press(theirs, "start_review")
    cao = theirs.inner_text("section.diff tr[data-field='items.clinker.parameters.cao_fraction']")
    assert cao.split() == [
        "本水泥所用自产熟料",
        "·",
        "熟料中",
        "CaO",
        "含量（质量分数）",
        "0.65",
        "0.652",
        "填报为",
        "65.2",
        "%",
        "+0.3",
        "%",
    ]
    assert theirs.locator("section.diff tr[data-field^='items.']").count() == 1  # nothing else was changed
    check(verifier, served, f"review-diff-{width}")
    theirs.fill("form.finding-step textarea", "已核对化验报告，接受。")
    press(theirs, "close")
    theirs.fill("#approve-comment", "经现场核查，2023 年二号线清单符合 GB/T 24067-2024 及 PCR-CN-CEMENT 的要求。")
    press(theirs, "approve")
    press(theirs, "issue_label")
    number = theirs.inner_text("dd a.label-number").strip()
    check(verifier, served, f"issued-{width}")

    # version 3 (the electricity entered in MWh) while that label is in force: the warning and the comparison
    stored = world.call("acme-engineer", "GET", f"/api/v1/inventories/{second_inventory(world, second)}").json()
    data = stored["data"]
    electricity = next(i for i in data["items"] if i["item"] == "grid_electricity")
    electricity.update(amount=95, unit="MWh")
    third = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/inventories",
        json={"product_id": product, "inventory": data, "facility_id": stored["facility_id"]},
    )
    assert third.status_code == 201, third.text
    footprint = world.calculate("acme-engineer", third.json()["id"])["footprint_id"]
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint, "certification_body_id": str(world.organisations["cb"])},
    )
    world.call("acme-engineer", "POST", f"/api/v1/applications/{response.json()['id']}/actions/submit", json={})
    theirs.goto(f"{served}/app/review/{response.json()['id']}")
    warning = theirs.inner_text("section.in-force")
    assert f"颁发本申请的标签将替代标签 {number}" in warning
    row = theirs.inner_text("section.in-force tr[data-field='items.grid_electricity.amount']").split()
    assert row == ["外购电力", "90,000", "kWh", "95,000", "kWh", "填报为", "95", "MWh", "+5.6", "%"]
    check(verifier, served, f"review-in-force-{width}")


def second_inventory(world, footprint: str) -> str:
    return world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}").json()["inventory_id"]
