"""Tender evaluations through the pages, as a buyer works: a cement group with a maximum grade, candidates by label
number and by GTIN (one of another group, one suspended, one expiring before the award date), each verdict shown with
its reason on the page and in the sheet; then an awarded label is suspended and the buyer sees the notice, and an
e-mail reaches an SMTP server started here (aiosmtpd on a free port, as tests/test_notices_mail.py does).

The figures. Five cement labels of the example plant under PCR-CN-CEMENT 1.2.0, whose yearly totals are the same:
their value per t is 784.971 × 2,000,000 / output (the example's footprint, stated 785.0 at 2,000,000 t; every item
a yearly total: tests.tendering.cement_label). The benchmark of P·O 42.5 for 2023 is cited at 1,000 kg CO2e/t with
the default bands (≤ 0.6 → 1, ≤ 0.8 → 2, ≤ 1.2 → 3 …); the rule is grade 2 or better: a ratio up to 0.8, i.e. a
value up to 0.8 × 1,000 = 800 kg CO2e/t, the limit the margin is taken from.

- A, P·O 42.5 at 2.4 Mt: 784.971 × 2.0 / 2.4 = 654.14 -> stated 654.1 (four significant digits, what is graded),
  ratio 654.1 / 1,000 = 0.6541 -> grade 2 (0.6 < 0.6541 ≤ 0.8): pass, margin 800 - 654.1 = 145.9.
- B, P·O 42.5 at 2.2 Mt, given by its GTIN: 784.971 × 2.0 / 2.2 = 713.61 -> 713.6, ratio 0.7136 -> grade 2: pass,
  margin 800 - 713.6 = 86.4.
- C, P·O 52.5: another comparable group, not comparable (both groups named).
- D, P·O 42.5 at 2.3 Mt, suspended by its certification body: invalid.
- E, P·O 42.5 at 2.1 Mt whose validity ends 10 days from today, the award 30 days from today: fail.
Three comparable candidates are valid today (A, B, and E, which fails only for its expiry): fewer than five, so none
is ranked, and the page says so.
"""

import io
import re
import time
from datetime import date, timedelta

import pytest
from aiosmtpd.controller import Controller

from footprint_api.services import benchmarks, notices
from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    sign_in,
    visit,
)
from tests.test_chinese_pages import english_phrases, visible_text
from tests.test_notices_mail import Mailbox, configure_mail
from tests.web_client import Browser

PO_42 = benchmarks.Group("PCR-CN-CEMENT", 1, "P·O/42.5", "1 t")
CANDIDATE_ROW = re.compile(r'<tr id="candidate-(\d+)" data-verdict="([a-z_]*)">(.*?)</tr>', re.S)
REASON = re.compile(r'data-reason="proc\.reason\.([a-z_]+)">([^<]*)<')


@pytest.fixture(scope="module")
def mailbox(world):
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    configure_mail(host="127.0.0.1", port=box.port, starttls="false", **{"from": "PCF 通知 <notices@pcf.test>"})
    yield box
    controller.stop()
    configure_mail(host=None, port=None, starttls=None, **{"from": None})


@pytest.fixture(scope="module")
def market(world, mailbox):
    """The labels A–E of the module docstring, a cited benchmark, and a buyer with its officer and admin."""
    from tests.tendering import buyer, cement_label, cite, gtin, set_expiry

    buyer(world, "city")
    labels = {
        "A": cement_label(world, production_t=2_400_000),
        "B": cement_label(world, production_t=2_200_000, gtin_code=gtin(2)),
        "C": cement_label(world, "52.5"),
        "D": cement_label(world, production_t=2_300_000),
        "E": cement_label(world, production_t=2_100_000),
    }
    suspended = world.call(
        "cb-verifier", "POST", f"/api/v1/labels/{labels['D']['number']}/actions/suspend", json={"comment": "复核中"}
    )
    assert suspended.status_code == 200, suspended.text
    set_expiry(labels["E"]["number"], date.today() + timedelta(days=10))
    cite(world, PO_42, 1000)
    return {"labels": labels, "gtin": gtin(2)}


def rows(html: str) -> dict[int, tuple[str, list[tuple[str, str]], str]]:
    """Each candidate row: position -> (verdict code, [(reason code, reason text)], the row's markup)."""
    return {int(p): (verdict, REASON.findall(cells), cells) for p, verdict, cells in CANDIDATE_ROW.findall(html)}


def create(person: Browser, rule_value: str = "2") -> str:
    """Fills the new-evaluation form: P·O 42.5, grade 2 or better, award in 30 days; returns the evaluation's page."""
    page = person.get("/app/procurement/new")
    assert page.status_code == 200 and PO_42.key in page.text
    response = person.post_form(
        "/app/procurement/new",
        "/app/procurement",
        {
            "title": "2027 年市政工程水泥集中采购",
            "reference": "ZB-2027-014",
            "group": PO_42.key,
            "rule": "max_grade",
            "rule_value": rule_value,
            "award_date": (date.today() + timedelta(days=30)).isoformat(),
            "min_validity_days": "0",
        },
    )
    assert response.status_code == 303, response.text
    return response.headers["location"].split("?")[0]


def test_a_buyer_evaluates_a_cement_tender_and_is_told_when_an_awarded_label_is_suspended(world, market, mailbox):
    labels = market["labels"]
    person = Browser(world.client.app, "city-officer", lang="zh-CN")
    page_url = create(person)
    typed = "\n".join(
        [labels["A"]["number"], market["gtin"], labels["C"]["number"], labels["D"]["number"], labels["E"]["number"]]
    )
    added = person.post_form(page_url, f"{page_url}/candidates", {"candidates": typed})
    assert added.status_code == 303, added.text
    evaluated = person.post_form(page_url, f"{page_url}/evaluate")
    assert evaluated.status_code == 303, evaluated.text

    html = person.get(page_url).text
    found = rows(html)
    assert {p: v for p, (v, _, _) in found.items()} == {
        1: "pass",
        2: "pass",
        3: "not_comparable",
        4: "invalid",
        5: "fail",
    }
    assert [code for code, _ in found[1][1]] == ["grade_met"] and found[1][1][0][
        1
    ] == "等级 2（与基准之比 0.6541），达到 2 级或更优的要求。"
    assert "145.9" in found[1][2] and "86.4" in found[2][2]  # margins 800 - 654.1 and 800 - 713.6
    assert labels["B"]["number"] in found[2][2]  # the GTIN's label in force
    other = found[3][1][0]
    assert other[0] == "other_group" and "52.5" in other[1] and "42.5" in other[1]
    assert found[4][1][0][0] == "suspended"
    expiry = (date.today() + timedelta(days=10)).isoformat()
    assert found[5][1][0] == (
        "expires_before_award",
        f"标签有效期至 {expiry}，早于授标日期 {(date.today() + timedelta(days=30)).isoformat()}。",
    )
    assert "可比且有效的候选只有 3 个，少于 5 个，不排名。" in html
    assert english_phrases(visible_text(html)) == []

    sheet = person.get(f"{page_url}/sheets/1.xlsx")
    assert sheet.status_code == 200
    from openpyxl import load_workbook

    table = list(load_workbook(io.BytesIO(sheet.content))["结果 Results"].iter_rows(values_only=True))
    heading = table[0]
    verdicts = [
        (row[heading.index("结论（中文） Verdict (Chinese)")], row[heading.index("结论（英文） Verdict (English)")])
        for row in table[1:]
    ]
    assert verdicts == [
        ("通过", "Pass"),
        ("通过", "Pass"),
        ("不可比", "Not comparable"),
        ("无效", "Invalid"),
        ("不通过", "Fail"),
    ]
    reasons = [row[heading.index("理由（英文） Reasons (English)")] for row in table[1:]]
    assert reasons[3].startswith(f"Label {labels['D']['number']} is suspended") and reasons[4].startswith(
        "The label is valid until"
    )

    candidate_a = re.search(
        r'name="candidate" value="([0-9a-f-]+)"[^>]*aria-label="选择 ' + labels["A"]["number"], html
    ).group(1)
    awarded = person.post_form(page_url, f"{page_url}/award", {"candidate": candidate_a})
    assert awarded.status_code == 303, awarded.text
    assert "已授标" in person.get(page_url).text
    watched = person.get("/app/procurement").text
    assert labels["A"]["number"] in watched and "有效" in watched

    mailbox.received.clear()
    suspension = world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/labels/{labels['A']['number']}/actions/suspend",
        json={"comment": "监测数据待复核"},
    )
    assert suspension.status_code == 200, suspension.text
    inbox = person.get("/app/notices").text
    assert f"已授标的碳标签 {labels['A']['number']} 已暂停" in inbox
    (notice,) = [
        n
        for n in world.call("city-officer", "GET", "/api/v1/notices").json()["items"]
        if n["kind"].startswith("procurement.")
    ]
    assert (notice["kind"], notice["link"]) == ("procurement.label_suspended", page_url)
    received = wait_for_mail(mailbox, labels["A"]["number"], "已授标的碳标签", 2)
    assert sorted(to[0] for _, to, _ in received) == ["city-admin@test.example", "city-officer@test.example"]
    message = received[0][2]
    assert (
        message["Subject"]
        == f"已授标的碳标签 {labels['A']['number']} 已暂停 / Awarded label {labels['A']['number']} suspended"
    )


def wait_for_mail(box: Mailbox, marker: str, subject: str, count: int, timeout: float = 20) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = box.about(marker, subject)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{len(box.about(marker, subject))} of {count} messages about {marker} arrived")


def test_the_list_and_the_form_read_in_chinese(world, market):
    person = Browser(world.client.app, "city-officer", lang="zh-CN")
    for path in ("/app/procurement", "/app/procurement/new"):
        page = person.get(path)
        assert page.status_code == 200 and english_phrases(visible_text(page.text)) == [], path


def test_the_pages_read_in_english_too(world, market):
    person = Browser(world.client.app, "city-officer", lang="en")
    page_url = create(person, rule_value="3")
    person.post_form(page_url, f"{page_url}/candidates", {"candidates": market["labels"]["C"]["number"]})
    person.post_form(page_url, f"{page_url}/evaluate")
    html = person.get(page_url).text
    ((verdict, reasons, _),) = rows(html).values()
    assert verdict == "not_comparable" and reasons[0][1].startswith("In another comparable group: ")
    assert "Grade 3 or better (grade 1 is best)" in html


def test_a_form_refused_names_each_field_in_the_readers_language_and_stores_nothing(world, market):
    person = Browser(world.client.app, "city-officer", lang="zh-CN")
    before = person.get("/app/procurement").text.count('id="evaluation-')
    response = person.post_form(
        "/app/procurement/new",
        "/app/procurement",
        {"title": "", "group": PO_42.key, "rule": "max_grade", "rule_value": "7", "award_date": "2020-01-01"},
    )
    assert response.status_code == 422
    assert "此项必填。" in response.text and "请填写 1 到 5 的整数等级。" in response.text
    assert "授标日期不能早于今天" in response.text
    assert english_phrases(visible_text(response.text)) == []
    assert person.get("/app/procurement").text.count('id="evaluation-') == before


def test_a_candidate_typed_wrong_is_named_beside_the_box_and_nothing_is_added(world, market):
    person = Browser(world.client.app, "city-officer", lang="zh-CN")
    page_url = create(person)
    response = person.post_form(page_url, f"{page_url}/candidates", {"candidates": "PCF-2026-1\n6901234567891"})
    assert response.status_code == 422
    assert "“PCF-2026-1”不是有效的碳标签编号" in response.text and "“6901234567891”不是有效的商品条码" in response.text
    assert 'id="candidate-' not in response.text


def test_a_suppliers_list_that_is_not_a_workbook_is_refused_beside_the_file(world, market):
    person = Browser(world.client.app, "city-officer", lang="en")
    page_url = create(person)
    response = person.post_form(
        page_url, f"{page_url}/upload", {}, files={"file": ("list.xlsx", b"not a zip", "application/octet-stream")}
    )
    assert response.status_code == 422
    assert "not an XLSX workbook" in response.text or "xlsx" in response.text.lower()


def test_the_pages_are_for_procurement_people_only(world, market):
    assert Browser(world.client.app, "acme-engineer").get("/app/procurement").status_code == 403
    other = Browser(world.client.app, "acme-admin")
    assert other.get("/app/procurement/new").status_code == 403


def test_the_notice_kinds_of_the_watch_are_listed_with_the_others():
    assert set(notices.KINDS) >= {"procurement.label_suspended", "procurement.label_expiring"}


def test_the_platform_admin_registers_a_procurement_organisation_and_its_officer_on_the_existing_pages(world):
    """No page of its own is needed: the admin pages offer the kind (named 采购机构) and its two roles."""
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Organisation

    root = Browser(world.client.app, "root", lang="zh-CN")
    form = root.get("/app/admin/organisations").text
    assert '<option value="procurement"' in form and "采购机构" in form
    created = root.post_form(
        "/app/admin/organisations", "/app/admin/organisations", {"name": "市政府采购中心", "kind": "procurement"}
    )
    assert created.status_code == 303, created.text
    with session_scope() as session:
        organisation = session.exec(select(Organisation).where(Organisation.name == "市政府采购中心")).one()
    users = f"/app/admin/organisations/{organisation.id}/users"
    page = root.get(users).text
    assert "采购评审员" in page and "采购机构管理员" in page
    person = {"email": "zhang.buyer@test.example", "name": "张采购", "password": "correct horse battery staple"}
    assert root.post_form(users, users, {**person, "role": "procurement_officer"}).status_code in (200, 303)
    officer = Browser(world.client.app, lang="zh-CN")
    login = officer.client.get("/login")
    from tests.web_client import csrf_of

    signed_in = officer.client.post(
        "/login",
        data={
            "email": person["email"],
            "password": person["password"],
            "next": "/app/procurement",
            "csrf_token": csrf_of(login.text),
        },
    )
    assert signed_in.status_code == 303
    assert officer.get("/app/procurement").status_code == 200


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_pages_at_phone_and_desktop_width_pass_axe_and_need_nothing_from_elsewhere(
    world, market, served, visit, width
):
    """The list, the new-evaluation form and an evaluated evaluation, in Chinese: accessible (axe-core), nothing
    requested from another host, and no page wider than the screen (the candidates' table scrolls in its region)."""
    person = Browser(world.client.app, "city-officer", lang="zh-CN")
    page_url = create(person)
    person.post_form(page_url, f"{page_url}/candidates", {"candidates": market["labels"]["A"]["number"]})
    person.post_form(page_url, f"{page_url}/evaluate")
    tab = visit(width, "zh")
    sign_in(tab, served, "city-officer")
    for name, path in (("list", "/app/procurement"), ("new", "/app/procurement/new"), ("detail", page_url)):
        tab.page.goto(f"{served}{path}")
        tab.page.wait_for_load_state()
        assert_accessible(tab.page)
        assert_self_contained(tab, served)
        assert tab.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (name, width)
        screenshot(tab, f"issue21/procurement/{name}-{width}")
