"""The manufacturer's journey in headless Chromium, at phone and desktop width, in Chinese and English: sign in,
open the dashboard, calculate an inventory and watch the progress bar until the footprint page opens, see the
contribution chart drawn, run a Monte Carlo calculation and watch its progress move, compare two versions, list the
footprints. Every page passes axe-core and requests nothing from another host; screenshots in test-artifacts/."""

import re
import uuid

import pytest

from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    ARTIFACTS,
    LOCALES,
    WIDTHS,
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    sign_in,
    visit,
)
from tests.conftest import load_example
from tests.labelling import calculated_footprint, unique_serials

MONTE_CARLO_ITERATIONS = 2000  # about 2 s of work: several polls see the bar between 0 and 1


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


@pytest.fixture(scope="module")
def failed_job(world):
    """A job that failed (its error shown on its page, which then stays put)."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Job, JobStatus

    footprint = calculated_footprint(world, gtin=None)
    with session_scope() as db:
        job = Job(
            organisation_id=world.organisations["acme"],
            inventory_id=uuid.UUID(footprint["inventory_id"]),
            status=JobStatus.FAILED,
            progress=0.4,
            error="FactorSetError: no factor for grid region 'Mars'",
        )
        db.add(job)
        db.commit()
        return str(job.id)


def product_with_two_versions(world, name: str) -> dict:
    """Version 1 calculated; version 2 (less clinker) submitted, waiting for its calculation on the dashboard."""
    product = world.product("acme-engineer", "PCR-CN-CEMENT", name)
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    first = world.submit("acme-engineer", product["id"], data).json()
    job = world.calculate("acme-engineer", first["id"])
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["items"][0]["amount"] = 1_500_000
    second = world.submit("acme-engineer", product["id"], data).json()
    return {"product": product, "first_footprint": job["footprint_id"], "second_inventory": second["id"]}


def check(tab, served: str, name: str) -> None:
    assert_accessible(tab.page)
    assert_self_contained(tab, served)
    screenshot(tab, name)


def follow(route, statuses: list) -> None:
    """Passes the job page's status request through, noting what it answered (a request of a page already left
    behind may find its response gone: nobody reads it then)."""
    from playwright.sync_api import Error

    try:
        response = route.fetch()
        status = response.json()
        route.fulfill(response=response)
    except Error:
        return
    statuses.append(status)


def progress_of(responses: list) -> list[float]:
    return [r["progress"] for r in responses]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LOCALES)
def test_the_engineer_calculates_watches_the_progress_and_reads_the_footprint(
    world, served, visit, failed_job, lang, width
):
    name = f"Cement {lang}-{width} {uuid.uuid4().hex[:4]}"
    product_with_two_versions(world, name)
    tab = visit(width, lang)
    page = tab.page
    statuses: list[dict] = []
    page.route(re.compile(r"/app/jobs/[0-9a-f-]+/status(\?wait=\d+)?$"), lambda route: follow(route, statuses))
    shot = f"mfr-{{}}-{lang}-{width}"

    sign_in(tab, served, "acme-engineer")
    assert page.url == f"{served}/app/dashboard"
    assert page.locator("h1").inner_text() == ("概览" if lang == "zh" else "Dashboard")
    check(tab, served, shot.format("dashboard"))

    # calculate version 2 from the dashboard: the job page with its bar, then the footprint page
    row = page.locator("tr", has_text=name)
    with page.expect_navigation(url=re.compile(r"/app/jobs/[0-9a-f-]+$")):
        row.locator("button[data-calculate]").click()
    assert page.locator("progress#job-progress").count() == 1
    page.wait_for_url(re.compile(r"/app/footprints/[0-9a-f-]+$"), timeout=20_000)
    assert statuses and statuses[-1]["status"] == "succeeded" and statuses[-1]["progress"] == 1.0

    # the footprint page: total, both methods, the chart drawn on a canvas
    page.wait_for_selector("[data-chart='contribution-chart'] canvas")
    assert page.locator("[data-total]").inner_text().strip()
    assert page.locator("[data-method]").count() == 2
    assert page.locator("[data-certificates] tbody tr").count() == 1
    check(tab, served, shot.format("footprint"))

    # a Monte Carlo run: the bar moves through intermediate values, then its distribution is on the page
    statuses.clear()
    page.fill("#mc-iterations", str(MONTE_CARLO_ITERATIONS))
    with page.expect_navigation(url=re.compile(r"/app/jobs/[0-9a-f-]+$")):
        page.locator("form[action$='/monte-carlo'] button[type=submit]").click()
    bar = page.locator("progress#job-progress")
    assert bar.count() == 1
    for _ in range(200):  # until the bar has moved off 0 (a page function would need eval, which the CSP forbids)
        if "/app/jobs/" not in page.url or bar.evaluate("bar => bar.value") > 0:
            break
        page.wait_for_timeout(50)
    if "/app/jobs/" in page.url:
        screenshot(tab, shot.format("job-running"))
    page.wait_for_url(re.compile(r"/app/footprints/[0-9a-f-]+$"), timeout=30_000)
    seen = progress_of(statuses)
    assert any(0 < p < 1 for p in seen) and seen[-1] == 1.0 and seen == sorted(seen), seen
    page.wait_for_selector("[data-chart='mc-chart'] canvas")
    assert page.locator("[data-monte-carlo] [data-interval]").inner_text().strip()
    check(tab, served, shot.format("footprint-monte-carlo"))

    # the comparison with the previous version: the clinker amount is marked as changed
    page.locator("a[href^='/app/footprints/compare']").click()
    page.wait_for_url(re.compile(r"/app/footprints/compare\?"))
    assert page.locator("tr.changed[data-key='item:clinker']").count() == 1
    page.locator("details.unchanged summary").first.click()
    check(tab, served, shot.format("compare"))

    # the list of footprints from the navigation
    page.locator("nav a[href='/app/footprints']").click()
    page.wait_for_url(f"{served}/app/footprints")
    assert page.locator("tr", has_text=name).count() >= 3  # version 1, version 2, version 2 with Monte Carlo
    check(tab, served, shot.format("footprints"))

    # a failed job shows its error and stays on its page
    page.goto(f"{served}/app/jobs/{failed_job}")
    page.wait_for_selector("[data-job-error]:not([hidden])")
    check(tab, served, shot.format("job-failed"))
    assert "/app/jobs/" in page.url
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


# --- the correction cycle's pages in Chinese: the list, the comparison, the product's history --------------------

SHOTS = "issue18/footprints"  # under test-artifacts/


@pytest.fixture(scope="module")
def corrected(world):
    """A cement product corrected twice: version 1 enters the grid electricity as 120 GWh and CaO as 0.652 (a 0-1
    fraction), version 2 as 118,000,000 kWh and 65.5 %, version 3 with less clinker, certified; then a Monte Carlo
    rerun of version 1 (30 iterations)."""
    from tests.test_web_manufacturer import certify

    product = world.product("acme-engineer", "PCR-CN-CEMENT", f"水泥 P.O 42.5 {uuid.uuid4().hex[:4]}")
    versions = []
    for electricity, cao, clinker in (
        ((120, "GWh"), (0.652, "dimensionless"), 1_640_000),
        ((118_000_000, "kWh"), (65.5, "percent"), 1_640_000),
        ((118_000_000, "kWh"), (65.5, "percent"), 1_560_000),
    ):
        data = unique_serials(load_example("cement-guizhou-2023.json"))
        data["items"][0]["amount"] = clinker
        data["items"][2]["amount"], data["items"][2]["unit"] = electricity
        data["items"][0]["parameters"]["cao_fraction"] = {"amount": cao[0], "unit": cao[1]}
        inventory = world.submit("acme-engineer", product["id"], data).json()
        versions.append({"inventory": inventory["id"], **world.calculate("acme-engineer", inventory["id"])})
    certify(world, versions[2]["footprint_id"])
    world.calculate("acme-engineer", versions[0]["inventory"], monte_carlo_iterations=30, seed=2)
    return {"product": product, "versions": versions}


def visible_text(locator) -> str:
    return " ".join(locator.inner_text().split())


@pytest.mark.parametrize("width", WIDTHS)
def test_the_correction_cycles_numbers_and_history_read_right_in_chinese(world, served, visit, corrected, width):
    (ARTIFACTS / SHOTS).mkdir(parents=True, exist_ok=True)
    tab = visit(width, "zh")
    page = tab.page
    sign_in(tab, served, "acme-engineer")
    product_id = corrected["product"]["id"]
    first, second, third = (v["footprint_id"] for v in corrected["versions"])

    # the comparison: 120 GWh is 120,000,000 kWh; CaO 0.652 is 65.20 %
    page.goto(f"{served}/app/footprints/compare?a={first}&b={second}")
    electricity = visible_text(page.locator("tr.changed[data-key='item:grid_electricity']"))
    assert "外购电力" in electricity and "120,000,000 kWh" in electricity and "录入值：120 GWh" in electricity
    assert "-2,000,000 kWh" in electricity and "(-1.7 %)" in electricity
    cao = visible_text(page.locator("tr.changed[data-key='parameter:clinker.cao_fraction']"))
    assert "65.20 %" in cao and "65.50 %" in cao and "+0.3000 个百分点" in cao
    check(tab, served, f"{SHOTS}/compare-zh-{width}")

    # the list: version 3 first, the rerun under version 1, the label's figure beside the certified one
    page.goto(f"{served}/app/footprints?product={product_id}")
    cells = [" ".join(c.split()) for c in page.locator("[data-calculation]").all_inner_texts()]
    assert cells == ["第 3 版", "第 2 版", "第 1 版", "↳ 蒙特卡洛重算，第 1 版（30 次迭代）"]
    assert page.locator("[data-label-value]").count() == 1
    check(tab, served, f"{SHOTS}/footprints-zh-{width}")
    page.goto(f"{served}/app/footprints?year=twenty")
    assert page.locator("#f-year[aria-invalid='true']").count() == 1
    check(tab, served, f"{SHOTS}/footprints-refused-zh-{width}")

    # the product's history: the chart drawn without a script, the phone's drawing on a phone, the desktop's else
    page.goto(f"{served}/app/products/{product_id}/history")
    chart = page.locator("[data-history-chart] img")
    drawn = chart.evaluate("img => [img.complete, img.naturalWidth, decodeURIComponent(img.currentSrc)]")
    assert drawn[0] and drawn[1] == (320 if width == "phone" else 640), drawn[:2]
    assert drawn[2].count("<g data-version=") == 3
    assert page.locator("[data-history-footprints] [data-rerun]").count() == 1
    check(tab, served, f"{SHOTS}/history-zh-{width}")

    # the dashboard: the label's figure beside the calculated one, the product linked to its history
    page.goto(f"{served}/app/dashboard?page=1")
    row = page.locator(f"tr[data-product='{product_id}']")  # fewer than 50 products here: all on the first page
    assert re.search(r"标识数值 [\d,.]+ kg CO2e / 1 t", " ".join(row.inner_text().split()))
    assert row.locator(f"a[href='/app/products/{product_id}/history']").count() == 1
    check(tab, served, f"{SHOTS}/dashboard-zh-{width}")

    # the footprint page of the certified version: the explanations in Chinese
    page.goto(f"{served}/app/footprints/{third}")
    assert "全国平均电力因子" in page.locator("[data-location-rule]").inner_text()
    assert "上游供应链未建模" in page.locator("[data-gaps]").inner_text()
    check(tab, served, f"{SHOTS}/footprint-zh-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
