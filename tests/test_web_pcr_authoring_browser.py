"""The PCR authoring pages in headless Chromium, in Chinese, at desktop and phone width: an author creates a draft from
"My PCRs", walks the editor, adds an item with the "add item" button, types it in and saves; the problems of the
check stand at their fields. The manganese draft's editor, its preview of the manufacturers' form, and a version in
review with a manufacturer's comment for the chair. Every page: axe-core (0 violations), nothing from another host,
no sideways scrolling, a screenshot (test-artifacts/pcr-authoring-*.png)."""

import json
import uuid
from datetime import timedelta

import pytest

from footprint_api.persistence.db import session_scope
from footprint_api.services import pcr_registry
from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    sign_in,
    visit,
)
from tests.conftest import ROOT
from tests.test_pcr_lifecycle import TODAY, principal

EMM = json.loads(
    (ROOT / "pcr_rules" / "examples" / "pcr-drafts" / "pcr-electrolytic-manganese-draft.json").read_text("utf-8")
)


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app
    from footprint_api.web.routes import pcr_authoring

    app = create_app()
    if not any(getattr(route, "path", "") == pcr_authoring.BASE for route in app.routes):
        app.include_router(pcr_authoring.router)  # until web/__init__.py lists the authoring pages in PAGES
    with serving(app) as base:
        yield base


def checked(tab, served, name: str) -> None:
    tab.page.wait_for_load_state()
    assert_accessible(tab.page)
    assert_self_contained(tab, served)
    width = tab.page.evaluate("window.innerWidth")
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    screenshot(tab, name)


def manganese_draft(version: str = "0.1.0") -> str:
    """The example draft, stored through the service under an id of its own."""
    pcr_id = f"PCR-CN-MANGANESE-EMM-{uuid.uuid4().hex[:4].upper()}"
    with session_scope() as session:
        pcr_registry.create_draft(session, principal("sb-author"), pcr_id, version, "empty")
        pcr_registry.replace_document(
            session, principal("sb-author"), pcr_id, version, {**EMM, "id": pcr_id, "version": version}
        )
    return pcr_id


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_an_author_creates_a_draft_adds_an_item_and_saves(served, visit, width):
    tab = visit(width, "zh")
    sign_in(tab, served, "sb-author")
    tab.page.goto(f"{served}/app/pcr-authoring")
    checked(tab, served, f"pcr-authoring-list-{width}-zh")

    pcr_id = f"PCR-CN-TEST-{uuid.uuid4().hex[:6].upper()}"
    tab.page.fill("#f-new-pcr_id", pcr_id)
    tab.page.fill("#f-new-version", "0.1.0")
    tab.page.fill("#f-new-title", "Electrolytic manganese metal (cradle-to-gate)")
    tab.page.fill("#f-new-product_category", "electrolytic_manganese_metal")
    tab.page.fill("#f-new-declared_unit-unit", "t")
    tab.page.fill("#f-new-declared_unit-description", "1 t of electrolytic manganese metal at the plant gate")
    tab.page.click("#pcra-new button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.page.url.endswith(f"/{pcr_id}/0.1.0/edit?done=created")
    assert "草案已创建" in tab.page.inner_text("p.notice")
    checked(tab, served, f"pcr-authoring-editor-new-{width}-zh")

    tab.page.fill("#f-declared_unit-description_zh", "1 吨电解金属锰，出厂前")
    tab.page.fill("#f-standards-0-", "GB/T 24067-2024 (ISO 14067:2018)")
    tab.page.fill("#f-boundary-included-0-", "浸出、电解、全厂用电")
    tab.page.click("#pcra-add-item")  # a submit button: the form comes back with an empty item row, unsaved
    tab.page.wait_for_load_state()
    assert "尚未保存" in tab.page.inner_text("p.pcra-unsaved")
    assert tab.page.evaluate("document.activeElement.id") == "f-items-0--id"  # the new row takes the focus
    assert tab.page.input_value("#f-declared_unit-description_zh") == "1 吨电解金属锰，出厂前"  # nothing typed is lost
    tab.page.fill("#f-items-0--id", "grid_electricity")
    tab.page.fill("#f-items-0--label", "electricity consumed")
    tab.page.fill("#f-items-0--label_zh", "交流电耗")
    tab.page.select_option("#f-items-0--kind", "electricity")
    assert tab.page.is_hidden("#f-items-0--activity")  # fields of other kinds step aside
    tab.page.fill("#f-items-0--unit", "kWh")
    tab.page.select_option("#f-items-0--stage", "production")
    tab.page.check("#f-items-0--required")
    tab.page.fill("#f-items-0--plausible_per_declared_unit-min", "9000")
    tab.page.fill("#f-items-0--plausible_per_declared_unit-max", "5000")
    checked(tab, served, f"pcr-authoring-editor-item-{width}-zh")
    tab.page.click(".pcra-savebar button[value=save]")
    tab.page.wait_for_load_state()
    assert tab.page.url.endswith("/edit?done=saved")
    assert "草案已保存" in tab.page.inner_text("p.notice")
    error = tab.page.inner_text("#f-items-0--plausible_per_declared_unit-min-error")
    assert error.startswith("下限 9000 大于上限 5000。")
    assert tab.page.get_attribute("#f-items-0--plausible_per_declared_unit-min", "aria-invalid") == "true"
    tab.page.click("#error-summary a[href='#f-items-0--plausible_per_declared_unit-min']")
    assert tab.page.evaluate("document.activeElement.id") == "f-items-0--plausible_per_declared_unit-min"
    checked(tab, served, f"pcr-authoring-editor-saved-{width}-zh")


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_manganese_draft_its_editor_and_the_manufacturers_form(served, visit, width):
    pcr_id = manganese_draft()
    tab = visit(width, "zh")
    sign_in(tab, served, "sb-author")
    tab.page.goto(f"{served}/app/pcr-authoring/{pcr_id}/0.1.0")
    assert "检查未发现问题" in tab.page.inner_text("#pcra-check")
    checked(tab, served, f"pcr-authoring-overview-{width}-zh")
    tab.page.click("#pcra-edit-link")
    tab.page.wait_for_load_state()
    assert tab.page.input_value("#f-items-1--formula_config-carbonate") == "MnCO3"
    assert tab.page.is_visible("#f-items-1--formula") and tab.page.is_hidden("#f-items-1--fuel")
    checked(tab, served, f"pcr-authoring-editor-manganese-{width}-zh")
    tab.page.goto(f"{served}/app/pcr-authoring/{pcr_id}/0.1.0/preview")
    assert tab.page.is_disabled("input[name='item.ore_mnco3.param.purity.amount']")
    checked(tab, served, f"pcr-authoring-preview-{width}-zh")


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_chair_sees_the_comment_in_review(served, visit, width):
    pcr_id = manganese_draft()
    with session_scope() as session:
        pcr_registry.open_consultation(session, principal("sb-chair"), pcr_id, "0.1.0", TODAY)
        pcr_registry.comment(
            session,
            principal("acme-engineer"),
            pcr_id,
            "0.1.0",
            "items[ore_mnco3]",
            "请说明锰品位的测定方法和取样频次。",
        )
        pcr_registry.close_consultation(session, principal("sb-chair"), pcr_id, "0.1.0", today=TODAY + timedelta(1))
    tab = visit(width, "zh")
    sign_in(tab, served, "sb-chair")
    tab.page.goto(f"{served}/app/pcr-authoring/{pcr_id}/0.1.0")
    assert "请说明锰品位的测定方法" in tab.page.inner_text(".pcra-comment")
    assert tab.page.is_disabled("#pcra-publish button[type=submit]")
    checked(tab, served, f"pcr-authoring-review-{width}-zh")
    tab.page.check(".pcra-answer input[value=accepted]")
    tab.page.fill(".pcra-answer textarea", "采纳：在说明中补充 GB/T 1506 测定方法。")
    tab.page.click(".pcra-answer button[type=submit]")
    tab.page.wait_for_load_state()
    assert "意见已答复" in tab.page.inner_text("p.notice")
    assert tab.page.is_enabled("#pcra-publish button[type=submit]")
    checked(tab, served, f"pcr-authoring-answered-{width}-zh")
