"""The benchmark pages in Chromium at phone and desktop width in both languages: the platform admin previews a cited
benchmark and records it, then a visitor opens the group's page (basis, bands, chart, labels with grades). Every
page passes axe-core and loads nothing from another host; screenshots in test-artifacts/benchmarks-*.png."""

import pytest

from footprint_api.services.benchmarks import Group
from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    Visit,
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    sign_in,
    visit,
)
from tests.test_benchmarks import CEMENT
from tests.test_web_benchmarks import _admin_page, _group, site  # noqa: F401  (site is a fixture)


@pytest.fixture(scope="module")
def served(site):
    with serving(site[0]) as base:
        yield base


def checked(tab: Visit, served: str, name: str) -> None:
    tab.page.wait_for_load_state("networkidle")
    screenshot(tab, name)
    assert_accessible(tab.page)
    assert_self_contained(tab, served)


@pytest.mark.parametrize(("width", "lang"), [("desktop", "en"), ("phone", "zh"), ("phone", "en"), ("desktop", "zh")])
def test_the_admin_sets_a_cited_benchmark_and_a_visitor_reads_the_group(site, served, visit, width, lang):
    """Cited 1,000 with the default bands: 700 / 1,000 = 0.70 -> grade 2; 1,100 -> 1.1 -> 3; 2,100 -> 2.1 -> 5."""
    product_class = {
        "desktop-en": "P·O/32.5",
        "phone-zh": "P·O/32.5R",
        "phone-en": "P·I/32.5",
        "desktop-zh": "P·I/42.5",
    }
    group = _group(site, product_class[f"{width}-{lang}"], ["700", "1100", "2100", "900", "1000"])
    tab = visit(width, lang)
    page = tab.page
    sign_in(tab, served, "root")
    page.goto(f"{served}/app/admin/benchmarks")
    assert page.locator(f"tr[data-group='{group.key}']").count() == 1
    checked(tab, served, f"benchmarks-admin-list-{width}-{lang}")
    page.goto(f"{served}{_admin_page(group)}")
    page.fill("#f-cited-value", "1000")
    page.fill("#f-cited-citation_zh", "行业平均值，测试，2025 年")
    page.fill("#f-cited-citation", "Industry average, test, 2025")
    page.click("#cited button[value=preview]")
    page.wait_for_load_state()
    assert page.locator("#preview-grades li[data-grade='2']").count() == 1
    checked(tab, served, f"benchmarks-admin-preview-{width}-{lang}")
    page.click("#cited button[value=record]")
    page.wait_for_url("**done=cited")
    checked(tab, served, f"benchmarks-admin-group-{width}-{lang}")

    page.goto(f"{served}{Group(CEMENT, 1, group.product_class, '1 t').href}")
    assert page.locator("#benchmark-value").inner_text() == "1,000"
    grades = page.locator("#labels .grade").all_inner_texts()
    assert len(grades) == 5 and page.locator("[data-chart-drawn]").count() == 1
    checked(tab, served, f"benchmarks-group-{width}-{lang}")
