"""The background databases' pages in Chromium, in Chinese at desktop (1280) and phone (390) width: the platform
admin's list and a version that needs attention, the activity search, and a PCR author who opens the search from an
input item of a draft, chooses an activity and comes back to the editor with the item linked. Every page passes
axe-core, loads nothing from another host, needs no sideways scrolling; screenshots in
test-artifacts/backgrounds-*.png.

The versions and activities are those of tests/test_web_backgrounds.py (rows written into the tables, values
checked by hand there): quicklime production, milled (CN, kg) scores 1.0312345 kg CO2e/kg, shown as 1.031.
"""

import pytest
from playwright.sync_api import expect

from footprint_api.web.routes import backgrounds as pages
from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    ARTIFACTS,
    Visit,
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    sign_in,
    visit,
)
from tests.test_web_backgrounds import (  # noqa: F401  (versions and draft are fixtures)
    ADMIN,
    DB,
    OTHER,
    QUICKLIME,
    SEARCH,
    draft,
    stored,
    versions,
)


@pytest.fixture(scope="module")
def served(world):
    with serving(world.client.app) as base:
        yield base


def checked(tab: Visit, served: str, name: str) -> None:
    """Axe-core finds nothing, nothing comes from another host, the page fits its width; kept as a screenshot."""
    tab.page.wait_for_load_state("networkidle")
    overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: {overflow} px wider than the screen"
    assert_accessible(tab.page)
    assert_self_contained(tab, served)
    screenshot(tab, f"backgrounds-{name}")


def assert_accessible_within(page, selector: str) -> None:
    """Axe-core on one part of a page: the part this module adds to a page of another part."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=selector)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_platform_admin_follows_the_versions_reads_the_problems_and_searches(served, visit, versions, width):
    tab = visit(width, "zh")
    page = tab.page
    sign_in(tab, served, "root")
    page.goto(f"{served}{ADMIN}")
    assert page.locator(f"tr[data-version='{DB}/1.0'] [data-in-use]").count() == 1
    assert page.locator(f"tr[data-version='{OTHER}/2.1'] progress").get_attribute("value") == "42"
    assert page.locator("#f-format option").all_inner_texts()[1:] == [
        "ecospold2（ecoinvent 等，文件夹打包为 zip）",
        "openLCA JSON-LD（zip）",
        "Brightway Excel（xlsx）",
        "Brightway CSV",
    ]
    checked(tab, served, f"list-{width}-zh")
    page.goto(f"{served}{ADMIN}/{versions['attention']}")
    assert page.locator("#unlinked tbody tr").count() == 2
    assert page.locator("#step-proceed input[name=confirm]").count() == 1
    checked(tab, served, f"attention-{width}-zh")
    page.goto(f"{served}{SEARCH}")
    page.fill("#f-q", "lime")
    page.select_option("#f-location", "CN")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("#activities tbody tr")
    assert rows.count() == 1  # quicklime (CN); lime (RoW) is filtered out
    assert "1.031 kg CO2e / kg" in " ".join(rows.first.inner_text().split())
    checked(tab, served, f"search-{width}-zh")


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_an_author_links_an_input_item_through_the_search(served, visit, versions, draft, width):
    tab = visit(width, "zh")
    page = tab.page
    sign_in(tab, served, "sb-author")
    page.goto(f"{served}/app/pcr-authoring/{draft}/0.1.0/edit")
    page.click("#f-items-3--find")
    page.wait_for_url(f"**{SEARCH}?**")
    assert page.locator("#pick").count() == 1
    page.fill("#f-q", "quicklime")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    checked(tab, served, f"pick-{width}-zh")
    page.click(f"tr[data-activity='{QUICKLIME[0]}'] form.bg-pick button")
    page.wait_for_url("**done=linked**")
    assert page.locator(f"#f-items-3--background [data-linked='{DB}/{QUICKLIME[0]}']").count() == 1
    assert stored(draft)["items"][3]["background"]["activity"] == QUICKLIME[0]
    linked = page.locator("#f-items-3--background")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert_accessible_within(page, "#f-items-3--background")
    assert_self_contained(tab, served)
    ARTIFACTS.mkdir(exist_ok=True)
    linked.screenshot(path=str(ARTIFACTS / f"backgrounds-linked-{width}-zh.png"))  # the editor is long: its item
    page.goto(f"{served}/app/pcr-authoring/{draft}/0.1.0")
    assert page.locator("#background-links tr[data-linked-item='quicklime']").count() == 1
    checked(tab, served, f"version-{width}-zh")


def test_a_running_import_is_followed_on_its_page_until_it_stops(served, visit, versions, monkeypatch):
    """The row moves from 42 % linking to 75 % preparing, then to ready: the page shows each without being reloaded
    by the person (backgrounds.js), then offers no step (a ready version in use)."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import BackgroundDatabase

    def move(**values) -> None:
        with session_scope() as session:
            row = session.get(BackgroundDatabase, versions["running"])
            for name, value in values.items():
                setattr(row, name, value)
            session.add(row)
            session.commit()

    monkeypatch.setattr(pages, "REFRESH_SECONDS", 1)
    tab = visit("desktop", "zh")
    page = tab.page
    sign_in(tab, served, "root")
    page.goto(f"{served}{ADMIN}/{versions['running']}")
    assert page.locator("#refreshing").get_attribute("data-refresh") == "1"
    assert page.locator("#progress").get_attribute("value") == "42"
    page.evaluate("window.stayed = true")  # gone if the page were loaded again
    move(progress=0.75, stage="preparing", state="preparing")
    expect(page.locator("#progress")).to_have_attribute("value", "75", timeout=10_000)
    assert page.evaluate("window.stayed === true") and "75 % · 预计算" in page.locator("#state").inner_text()
    move(progress=1.0, stage=None, state="failed", failure="the matrix is singular")
    page.wait_for_selector("[data-state=failed]", timeout=10_000)
    assert page.evaluate("window.stayed === undefined")  # loaded once more, with the steps of the new state
    assert page.locator("#refreshing").count() == 0 and page.locator("#step-discard").count() == 1
    checked(tab, served, "followed-desktop-zh")
