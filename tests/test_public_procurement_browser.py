"""The public side of procurement in Chromium, as a buyer without an account uses it, at phone and desktop width in
both languages: the registry searched by GTIN in its one box, the category compared within its groups (one ranked
with its chart, one too small to rank), a label's page with its group and grade, the batch check of the buyer's own
list with its columns kept, and the open data. Every page passes axe-core and loads nothing from another host;
screenshots in test-artifacts/issue21/public/. The market is tests/test_public_procurement.py's."""

import csv
import io
from pathlib import Path

import pytest

from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    ARTIFACTS,
    Visit,
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    visit,
)
from tests.test_public_procurement import GROUP_A, GROUP_B, csv_of, market  # noqa: F401  (market is a fixture)

CATEGORY = {"zh": "水泥", "en": "cement"}
NOT_RANKED = {"zh": "因此不排名", "en": "so they are not ranked"}
GRADE = {"zh": "3 级（共 5 级）", "en": "Grade 3 of 5"}
STATUS = {"zh": "状态", "en": "Status"}


@pytest.fixture(scope="module")
def served(world, market):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


def checked(tab: Visit, served: str, name: str) -> None:
    tab.page.wait_for_load_state("networkidle")
    (ARTIFACTS / "issue21" / "public").mkdir(parents=True, exist_ok=True)
    screenshot(tab, f"issue21/public/{name}")
    assert_accessible(tab.page)
    assert_self_contained(tab, served)


@pytest.mark.parametrize(("width", "lang"), [("phone", "zh"), ("desktop", "zh"), ("phone", "en"), ("desktop", "en")])
def test_a_buyer_finds_compares_verifies_and_checks_a_list(served, visit, market, width, lang, tmp_path):
    tab = visit(width, lang)
    page = tab.page

    page.goto(f"{served}/registry")
    page.fill("#q", "6901234567892")  # the GTIN on the pack
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/registry?*q=6901234567892*")
    row = page.locator("table.results tr", has=page.locator(f"a[href='/V/{market['cement G']}']"))
    assert row.count() == 1 and CATEGORY[lang] in row.inner_text() and "PCR-CN-CEMENT" in row.inner_text()
    checked(tab, served, f"registry-gtin-{width}-{lang}")

    row.locator("a[href^='/compare/']").click()
    page.wait_for_selector(".chart[data-chart-drawn] canvas")
    assert page.locator(f"section[data-group='{GROUP_A}'] tr.highlight").count() == 1
    assert NOT_RANKED[lang] in page.locator(f"section[data-group='{GROUP_B}']").inner_text()
    assert page.locator(f"section[data-group='{GROUP_B}'] .chart").count() == 0
    checked(tab, served, f"compare-{width}-{lang}")

    page.goto(f"{served}/V/{market['cement E']}")
    standing = page.locator("section.standing")
    assert GRADE[lang] in standing.inner_text()
    standing.locator("a.group").click()
    page.wait_for_url("**/benchmarks/**")
    page.goto(f"{served}/V/{market['cement E']}")
    checked(tab, served, f"verified-{width}-{lang}")

    page.goto(f"{served}/batch")
    page.set_input_files("#file", files=[{"name": "采购清单.csv", "mimeType": "text/csv", "buffer": csv_of(market)}])
    page.select_option("#headers", "both")
    page.click("form[action='/batch'] button[type=submit]")
    page.wait_for_selector("[data-status=VALID]")
    assert page.locator("[data-status=VALID]").inner_text() == "2"
    checked(tab, served, f"batch-result-{width}-{lang}")
    with page.expect_download() as download:
        page.click("#download-csv")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_bytes().decode("utf-8-sig"))))
    assert rows[0][:7] == ["供应商", "物料", "标签编号", "数量", "单价", "交货日期", "状态 / Status"]
    assert len(rows) == 7  # the heading and the buyer's six rows, the blank one too

    page.goto(f"{served}/open-data")
    assert page.locator("a[href='/api/v1/public/open-data/registry.csv']").count() == 1
    checked(tab, served, f"open-data-{width}-{lang}")
