"""The verification page in headless Chromium (Debian's, driven by Playwright) on a phone-sized screen."""

import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.conftest import ROOT
from tests.labelling import issued_label
from tests.processes import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}  # CSS pixels of a common phone
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def served(world):
    """The same service over a real socket, for the browser."""
    from footprint_api.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def phone():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True)
        yield context.new_page()
        browser.close()


def assert_status_above_the_fold(page, word: str) -> None:
    banner = page.locator("[data-status]")
    assert banner.get_attribute("data-status") == word
    box = page.locator(".word").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling


def test_the_verification_page_on_a_phone(world, served, phone):
    label = issued_label(world, gtin=None)
    phone.goto(f"{served}/verify/{label['number']}")
    assert_status_above_the_fold(phone, "VALID")
    assert phone.locator(".value .n").inner_text().replace(",", "") == label["value"]
    assert label["number"] in phone.content()
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "verify-valid-phone.png"), full_page=False)

    world.call("cb-verifier", "POST", f"/api/v1/labels/{label['number']}/actions/revoke", json={"comment": "r"})
    phone.goto(f"{served}/verify/{label['number']}")
    assert_status_above_the_fold(phone, "REVOKED")
    phone.screenshot(path=str(ARTIFACTS / "verify-revoked-phone.png"), full_page=False)


def test_a_number_that_does_not_exist_on_a_phone(served, phone):
    phone.goto(f"{served}/verify/PCF-2026-999999-0")
    assert_status_above_the_fold(phone, "NOT_FOUND")
