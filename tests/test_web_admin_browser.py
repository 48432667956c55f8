"""Administration in headless Chromium, through the pages only: an organisation's admin creates a user, who signs
in in a browser of their own; the admin disables them from the users page and the person's next page load lands
on the sign-in page. The platform admin runs the audit chain check and sees "intact", registers an organisation
with its unified social credit code, finds a locked-out person and lifts the lock, and exports the audit trail; a
certification body's admin sees the signing keys. Every page: axe-core (0 violations), nothing from another host,
screenshots at phone and desktop width (test-artifacts/issue18/admin/*.png)."""

import io
import uuid

import pytest
from openpyxl import load_workbook

from footprint_api.core import uscc
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
        "user_disabled": "User disabled",
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
        "user_disabled": "停用用户",
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
    screenshot(tab, f"issue18/admin/{name}")


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
    entries = admin.page.locator("li.entry")
    assert {entries.nth(i).get_attribute("data-action") for i in range(entries.count())} == {"user.disabled"}
    assert set(admin.page.locator("li.entry span.action").all_inner_texts()) == {words["user_disabled"]}
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


def _lock(email: str) -> None:
    """As five failed sign-ins from another address would."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.services import throttle

    with session_scope() as session:
        for _ in range(throttle.ACCOUNT_LIMIT):
            throttle.failed(session, throttle.keys(email, "192.0.2.45"), "password")


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_platform_admin_registers_an_organisation_finds_a_locked_person_and_exports_the_trail(
    world, served, visit, width
):
    tab = visit(width, "zh")
    sign_in(tab, served, "root")
    page = tab.page
    page.goto(f"{served}/app/admin/organisations")
    name = f"贵州水泥有限公司 {uuid.uuid4().hex[:4]}"
    first_17 = "91520100" + uuid.uuid4().hex[:9].upper()  # hexadecimal: all of the code's characters
    code = first_17 + uscc.check_character(first_17)
    wrong = first_17 + uscc.CHARACTERS[(uscc.VALUES[code[17]] + 1) % 31]  # one character off
    page.fill("#f-name", name)
    page.select_option("#f-kind", "manufacturer")
    page.fill("#f-uscc", wrong)
    page.fill("#f-address", "贵州省贵阳市观山湖区长岭北路 1 号")
    page.fill("#f-contact_name", "王工")
    page.fill("#f-contact_phone", "0851-88886666")
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#e-uscc") == "校验码（第 18 位）与前 17 位不符，请核对是否有字符输入错误。"
    checked(tab, served, f"organisation-uscc-refused-{width}-zh")
    page.fill("#f-uscc", code.lower())
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()
    assert "机构已创建。" in page.inner_text("p.notice")
    row = page.locator("#organisations tr", has_text=name)
    assert code in row.inner_text() and "0851-88886666" in row.inner_text()
    checked(tab, served, f"organisations-{width}-zh")
    no_sideways_scrolling(tab)

    row.locator("a", has_text="编辑").click()
    page.wait_for_load_state()
    page.fill("#f-contact_email", "wang@guizhou-cement.example")
    page.click("#organisation-form button[type=submit]")
    page.wait_for_load_state()
    assert "机构信息已保存。" in page.inner_text("p.notice")
    assert page.input_value("#f-uscc") == code
    checked(tab, served, f"organisation-edited-{width}-zh")
    no_sideways_scrolling(tab)

    locked = f"locked-{uuid.uuid4().hex[:6]}@test.example"
    response = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/users",
        json={"email": locked, "name": "锁定的同事", "password": PASSWORD, "role": "manufacturer_member"},
    )
    assert response.status_code == 201
    _lock(locked)
    person_tab = visit(width, "zh")  # the locked-out colleague, with the right password
    sign_in(person_tab, served, locked.removesuffix("@test.example"))
    assert "登录失败次数过多，该账户已暂时锁定" in person_tab.page.inner_text("#login-error")
    checked(person_tab, served, f"login-locked-{width}-zh")
    page.click("nav.admin-tabs >> text=查找用户")
    page.fill("#f-q", locked.split("@")[0].upper())
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    person = page.locator(f'tr[data-email="{locked}"]')
    assert "锁定至" in person.locator("td.lock").inner_text()
    assert person.locator("td.last-sign-in").inner_text() == "从未登录"
    checked(tab, served, f"people-locked-{width}-zh")
    no_sideways_scrolling(tab)
    person.locator("button", has_text="解除锁定").click()
    page.wait_for_load_state()
    assert "登录锁定已解除" in page.inner_text("p.notice")
    assert page.locator(f'tr[data-email="{locked}"] td.lock').inner_text() == "未锁定"
    checked(tab, served, f"people-unlocked-{width}-zh")
    sign_in(person_tab, served, locked.removesuffix("@test.example"))
    assert "/login" not in person_tab.page.url  # signed in once the lock is lifted

    page.click("nav.admin-tabs >> text=审计日志")
    page.select_option("#f-action", "organisation.updated")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    entry = page.locator("li.entry").first
    assert entry.locator("span.action").inner_text() == "修改机构信息"
    assert "联系邮箱" in entry.locator("table.changes").inner_text()
    checked(tab, served, f"audit-named-{width}-zh")
    no_sideways_scrolling(tab)
    page.select_option("#f-export_format", "xlsx")
    with page.expect_download() as download:
        page.click("#export button[type=submit]")
    assert download.value.suggested_filename.startswith("审计日志-")
    with open(download.value.path(), "rb") as saved:  # Playwright keeps it without its name's extension
        sheet = load_workbook(io.BytesIO(saved.read())).active
    assert [cell.value for cell in sheet[1]][:3] == ["序号", "时间（UTC+8）", "操作"]
    assert {row[2] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"修改机构信息"}
