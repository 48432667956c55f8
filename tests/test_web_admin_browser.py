"""Administration in headless Chromium, through the pages only: an organisation's admin creates a user, who signs
in in a browser of their own; the admin disables them from the users page and the person's next page load lands
on the sign-in page. The platform admin runs the audit chain check and sees "intact"; a certification body's admin
sees the signing keys. Every page: axe-core (0 violations), nothing from another host, screenshots at phone and
desktop width (test-artifacts/admin-*.png)."""

import uuid

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
from tests.service import PASSWORD

WORDS = {
    "en": {
        "disabled": "The user was disabled",
        "intact": "Intact",
        "created": "The user was created",
        "users": "Users",
        "clients": "Machine clients",
        "audit": "Audit trail",
        "check": "Check the chain",
        "client_created": "Machine client",
        "rotate": "Rotate the key",
    },
    "zh": {
        "disabled": "用户已停用",
        "intact": "完整",
        "created": "用户已创建",
        "users": "用户",
        "clients": "机器客户端",
        "audit": "审计日志",
        "check": "校验哈希链",
        "client_created": "机器客户端",
        "rotate": "轮换密钥",
    },
}


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


def checked(tab, served, name: str) -> None:
    """The checks of every page: accessible, self-contained, and a screenshot."""
    tab.page.wait_for_load_state()
    assert_accessible(tab.page)
    assert_self_contained(tab, served)
    screenshot(tab, name)


def no_sideways_scrolling(tab) -> None:
    width = tab.page.evaluate("window.innerWidth")
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width, lang", [("desktop", "en"), ("phone", "zh")])
def test_an_admin_disables_a_user_whose_session_stops_at_once(served, visit, width, lang):
    words = WORDS[lang]
    admin = visit(width, lang)
    sign_in(admin, served, "acme-admin")
    admin.page.goto(f"{served}/app/admin")
    checked(admin, served, f"admin-overview-{width}-{lang}")
    no_sideways_scrolling(admin)

    admin.page.click(f"nav.admin-tabs >> text={words['users']}")
    checked(admin, served, f"admin-users-{width}-{lang}")
    local = f"new-{uuid.uuid4().hex[:6]}"
    admin.page.fill("#f-name", "New Colleague 新同事")
    admin.page.fill("#f-email", f"{local}@test.example")
    admin.page.select_option("#f-role", "manufacturer_member")
    admin.page.fill("#f-password", PASSWORD)
    admin.page.click("form.form button[type=submit]")
    admin.page.wait_for_load_state()
    assert words["created"] in admin.page.inner_text("p.notice")
    row = admin.page.locator(f'tr[data-email="{local}@test.example"]')
    assert row.count() == 1
    checked(admin, served, f"admin-user-created-{width}-{lang}")
    no_sideways_scrolling(admin)

    person = visit(width, lang)  # the new colleague's own browser
    sign_in(person, served, local)
    person.page.goto(f"{served}/app/dashboard")
    assert "/login" not in person.page.url

    admin.page.once("dialog", lambda dialog: dialog.accept())  # the data-confirm question
    row.locator("button.danger").click()
    admin.page.wait_for_load_state()
    assert words["disabled"] in admin.page.inner_text("p.notice")
    checked(admin, served, f"admin-user-disabled-{width}-{lang}")

    person.page.goto(f"{served}/app/dashboard")
    assert "/login?next=" in person.page.url  # their session stopped working
    assert person.page.locator("#password").count() == 1

    admin.page.click(f"nav.admin-tabs >> text={words['clients']}")
    checked(admin, served, f"admin-clients-{width}-{lang}")
    admin.page.fill("#f-name", "ERP 接口")
    admin.page.click("form.form button[type=submit]")
    admin.page.wait_for_load_state()
    assert admin.page.locator("#secret").inner_text()
    checked(admin, served, f"admin-client-created-{width}-{lang}")
    no_sideways_scrolling(admin)

    admin.page.goto(f"{served}/app/admin/organisations")
    checked(admin, served, f"admin-organisations-{width}-{lang}")

    admin.page.click(f"nav.admin-tabs >> text={words['users']}")
    admin.page.locator('tr[data-email="acme-engineer@test.example"] a.button').click()
    admin.page.wait_for_load_state()
    checked(admin, served, f"admin-password-{width}-{lang}")
    admin.page.once("dialog", lambda dialog: dialog.accept())
    admin.page.click("form.form button[type=submit]")
    admin.page.wait_for_load_state()
    assert len(admin.page.locator("#secret").inner_text()) >= 20  # the generated password, shown this once
    checked(admin, served, f"admin-password-generated-{width}-{lang}")

    admin.page.click(f"nav.admin-tabs >> text={words['audit']}")
    checked(admin, served, f"admin-audit-{width}-{lang}")
    no_sideways_scrolling(admin)
    admin.page.select_option("#f-action", "user.disabled")
    admin.page.click("form.filters button[type=submit]")
    admin.page.wait_for_load_state()
    assert admin.page.locator("li.entry").count() >= 1
    assert set(admin.page.locator("li.entry code.action").all_inner_texts()) == {"user.disabled"}
    checked(admin, served, f"admin-audit-filtered-{width}-{lang}")


@pytest.mark.parametrize("width, lang", [("desktop", "zh"), ("phone", "en")])
def test_the_platform_admin_checks_the_audit_chain_and_sees_intact(served, visit, width, lang):
    tab = visit(width, lang)
    sign_in(tab, served, "root")
    tab.page.goto(f"{served}/app/admin/audit")
    tab.page.click("#check-chain")
    tab.page.wait_for_load_state()
    assert tab.page.locator("#chain-result").get_attribute("data-intact") == "true"
    assert WORDS[lang]["intact"] in tab.page.inner_text("#chain-result")
    checked(tab, served, f"admin-chain-{width}-{lang}")
    tab.page.goto(f"{served}/app/admin/organisations")  # every organisation, and the form to create one
    assert tab.page.locator("#f-kind").count() == 1
    checked(tab, served, f"admin-organisations-platform-{width}-{lang}")
    no_sideways_scrolling(tab)


@pytest.mark.parametrize("width, lang", [("desktop", "en"), ("phone", "zh")])
def test_a_certification_body_admin_rotates_the_signing_key_after_confirming(served, visit, width, lang):
    tab = visit(width, lang)
    sign_in(tab, served, "cb-admin")
    tab.page.goto(f"{served}/app/admin/keys")
    before = tab.page.locator("#keys tbody tr").count()
    tab.page.once("dialog", lambda dialog: dialog.accept())
    tab.page.click(f"button >> text={WORDS[lang]['rotate']}")
    tab.page.wait_for_load_state()
    assert tab.page.locator("#keys tbody tr").count() == before + 1
    checked(tab, served, f"admin-keys-{width}-{lang}")
    no_sideways_scrolling(tab)
