"""The PCR library in Chromium, in Chinese at desktop (1280) and phone (390) width: a visitor filters the library by
category, opens a version and reads it as a document; a manufacturer comments on a version in consultation through
the form. Every page passes axe-core, loads nothing from another host and does not scroll sideways (wide tables
scroll in their own region); screenshots in test-artifacts/pcr-library-*.png."""

import pytest

from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    WIDTHS,
    Visit,
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    sign_in,
    visit,
)
from tests.test_api_pcrs import in_consultation
from tests.test_pcr_lifecycle import new_pcr_id


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


def checked(tab: Visit, served: str, name: str, width: str) -> None:
    """What every page must pass (axe-core with no exception: a table's scrolling region is named apart from its
    section); the screenshot for people to look at."""
    tab.page.wait_for_load_state("networkidle")
    screenshot(tab, name)
    assert_accessible(tab.page)
    assert_self_contained(tab, served)
    viewport = WIDTHS[width]["viewport"]["width"]
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= viewport  # no sideways scrolling


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_visitor_filters_the_library_and_reads_a_version(served, visit, width):
    tab = visit(width, "zh")
    page = tab.page
    page.goto(f"{served}/pcrs")
    assert page.locator("h1").inner_text() == "产品种类规则（PCR）库"
    # the nine seeded by migration 0011 and the five by 0016 (clinker, cement 1.2.0, aluminium 1.3.0, steel 2.0.0,
    # flat glass 1.1.0)
    assert page.locator("#pcr-versions [data-status=published]").count() == 14
    checked(tab, served, f"pcr-library-{width}-zh", width)

    page.select_option("#category", "cement")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/pcrs?category=cement*")
    rows = page.locator("#pcr-versions tbody tr")
    assert rows.count() == 3 and "水泥" in rows.first.inner_text()  # 1.0.0, 1.1.0, 1.2.0 (issue 20)
    checked(tab, served, f"pcr-library-cement-{width}-zh", width)

    rows.first.locator("a").first.click()
    page.wait_for_url("**/pcrs/PCR-CN-CEMENT/1.2.0")
    assert page.locator("h1").inner_text().startswith("水泥（按品种和强度等级，从摇篮到大门）")
    assert page.locator("#pcr-changes tbody tr").count() >= 4  # purchased clinker, product class, … from 1.1.0
    assert page.locator("#pcr-items .table-scroll").count() == 1
    checked(tab, served, f"pcr-library-document-{width}-zh", width)
    with page.expect_download() as json_file:
        page.click("[data-download=json]")
    assert json_file.value.suggested_filename == "PCR-CN-CEMENT-1.2.0.json"


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_manufacturer_comments_during_the_consultation(world, served, visit, width):
    pcr_id = new_pcr_id()
    in_consultation(world, pcr_id)
    tab = visit(width, "zh")
    sign_in(tab, served, "acme-engineer")
    page = tab.page
    page.goto(f"{served}/pcrs/{pcr_id}/1.0.0#comment")
    assert page.locator("#summary-heading [data-status=consultation]").inner_text() == "公开征求意见"
    page.select_option("#path", "items[clinker]")
    page.fill("#text", "熟料条目请注明窑灰（CKD）修正系数的取值依据。")
    page.click("#comment button[type=submit]")
    page.wait_for_url(f"**/pcrs/{pcr_id}/1.0.0?done=commented*")
    log = page.locator("#pcr-comments tbody")
    assert "窑灰（CKD）" in log.inner_text() and "items[clinker]" in log.inner_text()
    page.locator("#comment").scroll_into_view_if_needed()
    checked(tab, served, f"pcr-library-commented-{width}-zh", width)
