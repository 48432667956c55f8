"""The web pages in headless Chromium (Debian's, driven by Playwright), as a person sees them: the verification
page for every verdict at phone and desktop width in both languages, with its verdict above the fold, no sideways
scrolling, no accessibility violation (axe-core), nothing requested from another host and no error in the console
(a blocked inline script or style would be one); and the API docs pages working offline under their policy.

The pages of every verdict come from the page renderer through a test route of the same app (same headers,
static files and language choice as the real route), so they do not wait for labels of every state to exist; the
real route is checked with labels made through the JSON API. Screenshots: test-artifacts/.
"""

from datetime import UTC, datetime

import pytest
from starlette.requests import Request
from starlette.responses import Response

from footprint_api.web.i18n import HTML_LANG
from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    ARTIFACTS,
    LOCALES,
    PHONE,
    WIDTHS,
    assert_accessible,
    assert_self_contained,
    browser,
    serving,
    visit,
)
from tests.labelling import issued_label
from tests.test_verify_page import public

VALID_GREEN, VOID_GREY = "rgb(27, 107, 58)", "rgb(102, 108, 117)"  # --ok and --void of site.css
CASES = {  # test page -> (verdict, the label's public JSON)
    "valid": ("VALID", public("VALID")),
    "suspended": ("SUSPENDED", public("SUSPENDED")),
    "revoked": ("REVOKED", public("REVOKED")),
    "expired": ("EXPIRED", public("EXPIRED", state_changed_at="2029-01-15T00:05:00Z")),
    "superseded": ("SUPERSEDED", public("SUPERSEDED")),
    "mistyped": ("NOT_FOUND", public("NOT_FOUND")),
    "unknown": ("NOT_FOUND", public("NOT_FOUND", number="PCF-2025-999999-3", mistyped=False, nearest=[])),
    "garbled": ("NOT_FOUND", public("NOT_FOUND", number="PCF2026000123F" * 3 + "X", mistyped=False, nearest=[])),
}


async def rendered_case(case: str, request: Request) -> Response:
    from footprint_api.web.i18n import language_headers, negotiate
    from footprint_api.web.verify_page import render, stamp

    lang = negotiate(request)
    status, label = CASES[case]
    body = stamp(render(label, status, lang), datetime.now(UTC), lang)
    return Response(body, media_type="text/html; charset=utf-8", headers=language_headers(request, lang))


@pytest.fixture(scope="module")
def served(world):
    """The same service over a real socket, for the browser, plus /test-pages/{case} rendered by the renderer."""
    from footprint_api.app import create_app

    app = create_app()
    app.add_api_route("/test-pages/{case}", rendered_case, include_in_schema=False)
    with serving(app) as base:
        yield base


def assert_status_above_the_fold(page, word: str, viewport: dict = PHONE) -> None:
    banner = page.locator("[data-status]")
    assert banner.get_attribute("data-status") == word and banner.get_attribute("role") == "status"
    box = page.locator(".word").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]  # no sideways scrolling


def assert_claim_shown_as(page, status: str) -> None:
    """The claimed value: green while valid; grey and struck through otherwise."""
    style = page.locator(".value .n").evaluate(
        "n => [getComputedStyle(n).color, getComputedStyle(n).textDecorationLine]"
    )
    assert style == ([VALID_GREEN, "none"] if status == "VALID" else [VOID_GREY, "line-through"]), style


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LOCALES)
@pytest.mark.parametrize("case", CASES)
def test_every_verdict_page_in_both_languages_and_widths(served, visit, case, lang, width):
    tab = visit(width, lang)
    status, label = CASES[case]
    response = tab.page.goto(f"{served}/test-pages/{case}")
    assert response.headers["content-language"] == HTML_LANG[lang]
    assert tab.page.locator("html").get_attribute("lang") == HTML_LANG[lang]
    assert_status_above_the_fold(tab.page, status, WIDTHS[width]["viewport"])
    if label["claim"]:
        assert_claim_shown_as(tab.page, status)
    ARTIFACTS.mkdir(exist_ok=True)
    tab.page.screenshot(path=str(ARTIFACTS / f"verify-{case}-{width}-{lang}.png"), full_page=True)
    assert_accessible(tab.page)
    assert_self_contained(tab, served)


def test_the_longest_verdict_fits_a_small_phone(served, browser):
    small = {"width": 320, "height": 568}
    context = browser.new_context(locale="en-US", viewport=small, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{served}/test-pages/superseded")
        assert_status_above_the_fold(page, "SUPERSEDED", small)
    finally:
        context.close()


def test_the_language_switch_keeps_the_page_and_is_remembered(served, visit):
    tab = visit("phone", "zh")
    tab.page.goto(f"{served}/test-pages/superseded")
    assert tab.page.locator(".word").inner_text().startswith("已被替代")
    tab.page.locator("a.switch").click()
    tab.page.wait_for_load_state()
    assert tab.page.url == f"{served}/test-pages/superseded?lang=en"
    assert tab.page.locator(".word").inner_text().startswith("SUPERSEDED")
    tab.page.goto(f"{served}/test-pages/valid")  # no ?lang=: the cookie decides, not the browser's zh-CN
    assert tab.page.locator("html").get_attribute("lang") == "en"
    assert_self_contained(tab, served)


def test_the_lookup_form_asks_for_the_typed_number(served, visit):
    tab = visit("phone", "en")
    tab.page.goto(f"{served}/test-pages/mistyped")
    tab.page.locator("#number").fill("PCF-2026-000123-F")
    with tab.page.expect_request(lambda request: "/verify?" in request.url) as asked:
        tab.page.locator("form button").click()
    assert asked.value.url == f"{served}/verify?number=PCF-2026-000123-F"


def test_the_verification_page_on_a_phone(world, served, visit):
    label = issued_label(world, gtin=None)
    tab = visit("phone", "zh")
    tab.page.goto(f"{served}/verify/{label['number']}")
    assert_status_above_the_fold(tab.page, "VALID")
    assert tab.page.locator(".value .n").inner_text().replace(",", "") == label["value"]
    assert_claim_shown_as(tab.page, "VALID")
    assert label["number"] in tab.page.content()
    ARTIFACTS.mkdir(exist_ok=True)
    tab.page.screenshot(path=str(ARTIFACTS / "verify-valid-phone.png"), full_page=False)
    assert_accessible(tab.page)

    for action, status in (("suspend", "SUSPENDED"), ("revoke", "REVOKED")):
        world.call(
            "cb-verifier",
            "POST",
            f"/api/v1/labels/{label['number']}/actions/{action}",
            json={"comment": f"{action}: CEMS data under review"},
        )
        tab.page.goto(f"{served}/verify/{label['number']}")
        assert_status_above_the_fold(tab.page, status)
        assert f"{action}: CEMS data under review" in tab.page.locator("[data-status]").inner_text()  # the reason
        assert_claim_shown_as(tab.page, status)
        tab.page.screenshot(path=str(ARTIFACTS / f"verify-{status.lower()}-phone.png"), full_page=False)
        assert_accessible(tab.page)
    assert_self_contained(tab, served)


def test_a_number_that_does_not_exist_on_a_phone(served, visit):
    tab = visit("phone", "en")
    tab.page.goto(f"{served}/verify/PCF-2026-999999-0")
    assert_status_above_the_fold(tab.page, "NOT_FOUND")
    assert_accessible(tab.page)
    assert_self_contained(tab, served)


@pytest.mark.parametrize(
    ("path", "ready", "blocked"),
    [
        ("/docs", ".swagger-ui .info .title", ()),
        ("/redoc", "h1", ("https://cdn.redoc.ly/redoc/logo-mini.svg",)),  # ReDoc's footer logo, hidden when it fails
    ],
)
def test_the_api_docs_work_offline_under_their_policy(served, visit, path, ready, blocked):
    tab = visit("desktop", "en")
    tab.page.goto(f"{served}{path}")
    assert "PCF service" in tab.page.locator(ready).first.inner_text(timeout=20_000)
    tab.page.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(exist_ok=True)
    tab.page.screenshot(path=str(ARTIFACTS / f"docs{path.replace('/', '-')}.png"))
    assert_self_contained(tab, served, blocked)
