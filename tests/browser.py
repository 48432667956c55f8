"""Pages in headless Chromium (Debian's, driven by Playwright) as people see them: the service on a real socket,
tabs of phone or desktop width in either language that record every request and console error, and the checks every
page must pass (axe-core accessibility, nothing from another host). Shared by the browser tests of every part."""

import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.conftest import ROOT
from tests.processes import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}  # CSS pixels of a common phone
DESKTOP = {"width": 1280, "height": 800}
WIDTHS = {
    "phone": {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": DESKTOP, "device_scale_factor": 1},
}
LOCALES = {"zh": "zh-CN", "en": "en-US"}  # the browser's language, sent as Accept-Language
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def serving(app):
    """The app on a real socket of this machine; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Visit:
    """A browser tab of one width and language that records what it requested and what the console said."""

    def __init__(self, browser, width: str, lang: str):
        self.context = browser.new_context(locale=LOCALES[lang], **WIDTHS[width])
        self.page = self.context.new_page()
        self.requested, self.errors, self.failed = [], [], {}
        self.page.on("request", lambda request: self.requested.append(request.url))
        self.page.on("requestfailed", lambda request: self.failed.update({request.url: request.failure}))
        self.page.on(
            "console",
            lambda message: (
                message.type == "error" and not self._the_page_itself(message) and self.errors.append(message.text)
            ),
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _the_page_itself(self, message) -> bool:
        """Chromium reports a page answered 404 (a number without a label) as a resource that failed to load."""
        return message.location.get("url") == self.page.url and message.text.startswith("Failed to load resource")

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser):
    visits = []

    def open_tab(width: str = "phone", lang: str = "zh") -> Visit:
        visits.append(Visit(browser, width, lang))
        return visits[-1]

    yield open_tab
    for tab in visits:
        tab.close()


def assert_accessible(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def assert_self_contained(tab: Visit, served: str, blocked: tuple[str, ...] = ()) -> None:
    """Nothing from another host, and no error in the console (a blocked resource or inline code is one), except
    for the `blocked` URLs, which the Content-Security-Policy must have stopped before they left the browser."""
    foreign = [url for url in tab.requested if not url.startswith((f"{served}/", f"blob:{served}/", "data:"))]
    assert sorted(set(foreign)) == sorted(blocked), foreign
    assert all(tab.failed.get(url) == "csp" for url in blocked), tab.failed
    errors = [e for e in tab.errors if not any(f"'{url}'" in e and "Content Security Policy" in e for url in blocked)]
    assert errors == [], errors


def sign_in(tab: Visit, served: str, user: str, password: str = "correct horse battery staple") -> None:
    """Signs a test-world person in through the sign-in form, as they would."""
    tab.page.goto(f"{served}/login")
    tab.page.fill("#email", f"{user}@test.example")
    tab.page.fill("#password", password)
    tab.page.click("button[type=submit]")
    tab.page.wait_for_load_state()


def screenshot(tab: Visit, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
