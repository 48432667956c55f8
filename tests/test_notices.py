"""Notices: derived from the audit trail's entries, to the people of the organisation concerned and nobody else;
once per person and cause; in the reader's language on the inbox page and over the JSON API; read one or all."""

import logging
import string
import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import col, func, select

from footprint_api.core.messages import LANGUAGES, catalogue
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent, Label, Notice, Role, User
from footprint_api.services import accounts, audit, jobs, notices
from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    sign_in,
    visit,
)
from tests.labelling import act, calculated_footprint
from tests.service import PASSWORD
from tests.web_client import Browser, csrf_of

MANUFACTURER_PEOPLE = {"acme-engineer", "acme-admin"}
BODY_PEOPLE = {"cb-verifier", "cb-admin"}
EVERYONE = MANUFACTURER_PEOPLE | BODY_PEOPLE | {"rival-engineer", "rival-admin", "cb2-verifier", "root", "sb-author"}


def inbox(world, user: str, **params) -> dict:
    response = world.call(user, "GET", "/api/v1/notices", params={"page_size": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()


def kinds_about(world, user: str, link: str) -> list[str]:
    """The kinds of the user's notices that point at `link`, oldest first."""
    return [n["kind"] for n in reversed(inbox(world, user)["items"]) if n["link"] == link]


def apply(world, footprint_id: str) -> str:
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint_id, "certification_body_id": str(world.organisations["cb"])},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def step(world, user: str, application_id: str, action: str, **body) -> None:
    response = act(world, user, application_id, action, **body)
    assert response.status_code == 200, (action, response.text)


def certify(world, product_id: str | None = None) -> dict:
    """Apply, submit, review, approve, issue: the label and its application."""
    footprint = calculated_footprint(world, product_id=product_id, gtin=None)
    application = apply(world, footprint["footprint_id"])
    for user, action in (
        ("acme-engineer", "submit"),
        ("cb-verifier", "start_review"),
        ("cb-verifier", "approve"),
        ("cb-verifier", "issue_label"),
    ):
        step(world, user, application, action)
    label = next(
        label
        for label in world.call("cb-verifier", "GET", "/api/v1/labels").json()
        if label["application_id"] == application
    )
    return {"label": label, "application": application, "product_id": footprint["product_id"]}


@pytest.fixture(scope="module")
def review(world):
    """An application taken through a finding, its answer, corrections requested, a resubmission and a rejection."""
    footprint = calculated_footprint(world, gtin=None)
    application = apply(world, footprint["footprint_id"])
    step(world, "acme-engineer", application, "submit")
    step(world, "cb-verifier", application, "start_review")
    finding = world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/applications/{application}/findings",
        json={"subject": "items[0]", "text": "Please show the meter readings of the kiln."},
    )
    assert finding.status_code == 201, finding.text
    answered = world.call(
        "acme-engineer",
        "POST",
        f"/api/v1/applications/{application}/findings/{finding.json()['id']}/actions/answer",
        json={"text": "The readings are attached as evidence."},
    )
    assert answered.status_code == 200, answered.text
    step(world, "cb-verifier", application, "request_corrections")
    step(world, "acme-engineer", application, "resubmit")
    step(world, "cb-verifier", application, "start_review")
    step(world, "cb-verifier", application, "reject")
    return application


@pytest.fixture(scope="module")
def labels(world):
    """Two labels of one product (the second supersedes the first); the second suspended, reinstated, revoked."""
    first = certify(world)
    second = certify(world, product_id=first["product_id"])
    number = second["label"]["number"]
    for action in ("suspend", "reinstate", "revoke"):
        response = world.call(
            "cb-admin", "POST", f"/api/v1/labels/{number}/actions/{action}", json={"comment": f"{action}: meter audit"}
        )
        assert response.status_code == 200, response.text
    return {"first": first, "second": second}


# --- who is told of what --------------------------------------------------------------------------------------------


def test_the_manufacturers_people_are_told_of_the_finding_the_return_and_the_rejection(world, review):
    link = f"/app/applications/{review}"
    for user in MANUFACTURER_PEOPLE:
        assert kinds_about(world, user, link) == ["finding.raised", "application.returned", "application.rejected"]


def test_the_bodys_people_are_told_of_the_submission_the_answer_and_the_resubmission(world, review):
    link = f"/app/review/{review}"
    for user in BODY_PEOPLE:
        assert kinds_about(world, user, link) == [
            "application.submitted",
            "finding.answered",
            "application.resubmitted",
        ]


def test_nobody_of_another_organisation_is_told(world, review):
    for user in EVERYONE - MANUFACTURER_PEOPLE - BODY_PEOPLE:
        assert not any(review in (n["link"] or "") for n in inbox(world, user)["items"]), user


def test_a_notice_quotes_the_other_partys_words(world, review):
    by_kind = {
        n["kind"]: n for n in inbox(world, "acme-engineer")["items"] if n["link"] == f"/app/applications/{review}"
    }
    assert by_kind["finding.raised"]["quote"] == "Please show the meter readings of the kiln."
    assert by_kind["application.returned"]["quote"] == "request_corrections by cb-verifier"
    answered = next(n for n in inbox(world, "cb-admin")["items"] if n["kind"] == "finding.answered")
    assert answered["quote"] == "The readings are attached as evidence."


def test_the_manufacturer_is_told_of_each_step_of_its_labels(world, labels):
    first, second = labels["first"], labels["second"]
    link_first, link_second = f"/app/applications/{first['application']}", f"/app/applications/{second['application']}"
    for user in MANUFACTURER_PEOPLE:
        assert kinds_about(world, user, link_first) == ["application.approved", "label.issued", "label.superseded"]
        assert kinds_about(world, user, link_second) == [
            "application.approved",
            "label.issued",
            "label.suspended",
            "label.reinstated",
            "label.revoked",
        ]
    for user in BODY_PEOPLE | {"rival-admin", "cb2-verifier"}:
        assert kinds_about(world, user, link_second) == [], user


def test_a_superseded_label_names_the_label_that_took_its_place(world, labels):
    superseded = next(
        n
        for n in inbox(world, "acme-admin", lang="zh")["items"]
        if n["kind"] == "label.superseded" and n["params"]["number"] == labels["first"]["label"]["number"]
    )
    old, new = labels["first"]["label"]["number"], labels["second"]["label"]["number"]
    assert superseded["params"]["by"] == new
    assert superseded["title"] == f"碳标签 {old} 已被替代"
    assert new in superseded["body"] and "“" in superseded["body"]


def test_a_label_that_expires_tells_its_manufacturer(world):
    """The housekeeping's expiry of a label past its validity (labels.expire_due) is an audited step like any."""
    from footprint_api.services.labels import expire_due

    fresh = certify(world)
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == fresh["label"]["number"])).one()
        label.expires_on = date.today() - timedelta(days=1)
        session.add(label)
        session.commit()
        assert expire_due(session, date.today()) == 1
    expired = [n for n in inbox(world, "acme-engineer")["items"] if n["kind"] == "label.expired"]
    assert [n["params"]["number"] for n in expired] == [fresh["label"]["number"]]


def test_a_disabled_person_is_not_told(world):
    organisation = world.organisations["acme"]
    with session_scope() as session:
        assert {u.name for u in notices.people(session, [organisation], notices.MANUFACTURER)[organisation]} == (
            MANUFACTURER_PEOPLE
        )
        engineer = session.exec(select(User).where(User.email == "acme-engineer@test.example")).one()
        engineer.active = False
        session.add(engineer)
        session.commit()
        try:
            told = notices.people(session, [organisation], notices.MANUFACTURER)[organisation]
            assert {u.name for u in told} == {"acme-admin"}
        finally:
            engineer.active = True
            session.add(engineer)
            session.commit()


# --- once, and never undoing the change -----------------------------------------------------------------------------


def test_deriving_the_same_entries_again_adds_no_notice(world, review):
    with session_scope() as session:
        events = list(
            session.exec(
                select(AuditEvent).where(AuditEvent.object_type == "application", AuditEvent.object_id == review)
            )
        )
        before = session.exec(select(func.count()).select_from(Notice)).one()
        notices.derive(session, events)
        session.commit()
        assert session.exec(select(func.count()).select_from(Notice)).one() == before
        assert len(events) >= 8  # created, submit, start_review, finding raised and answered, return, resubmit, …


def test_a_failure_to_make_notices_never_undoes_the_audited_step(world, monkeypatch, caplog):
    footprint = calculated_footprint(world, gtin=None)
    application = apply(world, footprint["footprint_id"])

    def broken(session, event):
        raise RuntimeError("the notices are broken")

    monkeypatch.setattr(notices, "_from_event", broken)
    with caplog.at_level(logging.ERROR, logger="footprint_api.services.notices"):
        step(world, "acme-engineer", application, "submit")
    assert world.call("cb-verifier", "GET", f"/api/v1/applications/{application}").json()["state"] == "submitted"
    assert "the notices of application.submit" in caplog.text
    assert kinds_about(world, "cb-verifier", f"/app/review/{application}") == []
    with session_scope() as session:
        assert audit.verify_chain(session).intact


# --- a label about to expire --------------------------------------------------------------------------------------


def test_a_label_expiring_within_60_days_is_announced_once_per_person(world, labels):
    """Today 2040-01-01: the window ends 60 days later, on 2040-01-01 + 60 days = 2040-03-01 (from 1 January to
    1 March: 31 days of January + 29 of February 2040, a leap year = 60). A label expiring on 2040-03-02 is outside
    it, on 2040-03-01 inside: the manufacturer's two people are told, once; a person who joins afterwards is told
    at the next run."""
    number = labels["first"]["label"]["number"]
    today = date(2040, 1, 1)
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        state, expires_on = label.state, label.expires_on
        label.state, label.expires_on = "active", date(2040, 3, 2)
        session.add(label)
        session.commit()
        try:
            assert notices.warn_expiring(session, today) == 0
            label.expires_on = date(2040, 3, 1)
            session.add(label)
            session.commit()
            assert notices.warn_expiring(session, today) == 2
            assert notices.warn_expiring(session, today) == 0
            accounts.create_user(
                session,
                None,
                world.organisations["acme"],
                f"newcomer-{uuid.uuid4().hex[:6]}@test.example",
                "newcomer",
                PASSWORD,
                Role.MANUFACTURER_MEMBER,
            )
            assert notices.warn_expiring(session, today) == 1
            told = session.exec(
                select(AuditEvent).where(AuditEvent.action == "label.expiry_notice", AuditEvent.object_id == number)
            ).all()
            assert [event.after["people"] for event in told] == [2, 1]
        finally:
            label.state, label.expires_on = state, expires_on
            session.add(label)
            session.commit()
    expiring = next(n for n in inbox(world, "acme-admin", lang="zh")["items"] if n["kind"] == "label.expiring")
    assert expiring["title"] == f"碳标签 {number} 即将到期"
    assert "2040-03-01" in expiring["body"]


def test_the_housekeeping_task_runs_the_expiry_check(world):
    report = jobs.housekeeping()
    assert report["expiry_notices"] == 0 and report["notices_mailed"] == 0  # nothing due today; mail is off


# --- the inbox over the JSON API --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader(world):
    """A person of acme with 45 notices of their own, made one second apart (the newest is number 45)."""
    from datetime import UTC, datetime

    with session_scope() as session:
        user = accounts.create_user(
            session,
            None,
            world.organisations["acme"],
            f"reader-{uuid.uuid4().hex[:6]}@test.example",
            "reader",
            PASSWORD,
            Role.MANUFACTURER_MEMBER,
        )
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for n in range(1, 46):
            session.add(
                Notice(
                    organisation_id=user.organisation_id,
                    user_id=user.id,
                    kind="label.issued",
                    params={
                        "number": f"CN-PCF-2026-{n:06d}",
                        "product": "cement",
                        "body": "cb",
                        "expires_on": "2029-12-07",
                    },
                    link="/app/applications/00000000-0000-4000-8000-000000000000",
                    event_key=f"test:{n}",
                    created_at=start + timedelta(seconds=n),
                )
            )
        session.commit()
        email = user.email
    token = world.client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD}
    ).json()["access_token"]
    return {"headers": {"Authorization": f"Bearer {token}"}, "email": email}


def test_the_inbox_is_paginated_newest_first(world, reader):
    """45 notices at 20 a page: pages = ceil(45 / 20) = 3, the last holding 45 - 2 x 20 = 5 (numbers 5 .. 1)."""
    first = world.client.get("/api/v1/notices", headers=reader["headers"]).json()
    assert (first["total"], first["unread"], first["pages"], first["page_size"]) == (45, 45, 3, 20)
    assert [n["params"]["number"][-2:] for n in first["items"]] == [f"{n:02d}" for n in range(45, 25, -1)]
    last = world.client.get("/api/v1/notices", params={"page": 3}, headers=reader["headers"]).json()
    assert [n["params"]["number"][-2:] for n in last["items"]] == ["05", "04", "03", "02", "01"]
    past = world.client.get("/api/v1/notices", params={"page": 99}, headers=reader["headers"]).json()
    assert past["page"] == 3 and past["items"] == last["items"]


@pytest.mark.parametrize("params", [{"page_size": 101}, {"page_size": 0}, {"page": 0}, {"page": "x"}, {"lang": "fr"}])
def test_a_bad_page_request_is_a_422_naming_the_parameter(world, reader, params):
    response = world.client.get("/api/v1/notices", params=params, headers=reader["headers"])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == next(iter(params))


def test_a_notice_is_worded_in_the_language_asked_for(world, reader):
    english = world.client.get("/api/v1/notices", params={"page_size": 1}, headers=reader["headers"]).json()
    chinese = world.client.get(
        "/api/v1/notices", params={"page_size": 1, "lang": "zh"}, headers=reader["headers"]
    ).json()
    assert english["items"][0]["title"] == "Carbon label CN-PCF-2026-000045 issued"
    assert chinese["items"][0]["title"] == "已颁发碳标签 CN-PCF-2026-000045"
    assert chinese["items"][0]["body"] == "认证机构 cb 为“cement”颁发了碳标签 CN-PCF-2026-000045，有效期至 2029-12-07。"


def test_marking_read_once_is_recorded_once(world, reader):
    newest = world.client.get("/api/v1/notices", params={"page_size": 1}, headers=reader["headers"]).json()
    notice_id = newest["items"][0]["id"]
    with session_scope() as session:
        recorded_before = _read_events(session, notice_id)
    first = world.client.post(f"/api/v1/notices/{notice_id}/read", headers=reader["headers"])
    again = world.client.post(f"/api/v1/notices/{notice_id}/read", headers=reader["headers"])
    assert first.status_code == again.status_code == 200
    assert first.json()["read_at"] and first.json()["read_at"] == again.json()["read_at"]
    with session_scope() as session:
        assert _read_events(session, notice_id) == recorded_before + 1
    unread = world.client.get("/api/v1/notices", params={"unread": True}, headers=reader["headers"]).json()
    assert unread["total"] == unread["unread"] == 44 and notice_id not in [n["id"] for n in unread["items"]]


def _read_events(session, notice_id: str) -> int:
    return len(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == "notice.read", AuditEvent.object_id == notice_id)
        ).all()
    )


def test_another_persons_notice_is_not_found_even_in_the_same_organisation(world, reader):
    notice_id = world.client.get("/api/v1/notices", headers=reader["headers"]).json()["items"][-1]["id"]
    for intruder in ("acme-admin", "rival-admin", "cb-verifier"):
        response = world.call(intruder, "POST", f"/api/v1/notices/{notice_id}/read")
        assert response.status_code == 404, (intruder, response.text)
        assert notice_id not in response.text
        assert all(n["id"] != notice_id for n in inbox(world, intruder)["items"])
    unknown = world.call("acme-admin", "POST", f"/api/v1/notices/{uuid.uuid4()}/read")
    assert unknown.status_code == 404


def test_a_machine_client_has_no_inbox(world):
    created = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/clients",
        json={"name": "acme erp", "role": "manufacturer_member"},
    ).json()
    token = world.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
        },
    )
    assert token.status_code == 200, token.text
    response = world.client.get("/api/v1/notices", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert response.status_code == 403


def test_mark_all_read_reads_only_the_callers_own(world, reader):
    others = inbox(world, "acme-admin")["unread"]
    assert others > 0
    response = world.client.post("/api/v1/notices/read-all", headers=reader["headers"])
    assert response.status_code == 200 and response.json()["marked"] == 44
    assert world.client.post("/api/v1/notices/read-all", headers=reader["headers"]).json()["marked"] == 0
    assert world.client.get("/api/v1/notices", headers=reader["headers"]).json()["unread"] == 0
    assert inbox(world, "acme-admin")["unread"] == others
    with session_scope() as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "notice.read_all").order_by(col(AuditEvent.seq).desc())
        ).first()
        assert event.after == {"notices": 44}


def test_the_api_needs_a_signed_in_caller(world):
    assert world.client.get("/api/v1/notices").status_code == 401
    assert world.client.post("/api/v1/notices/read-all").status_code == 401


# --- the inbox page ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin_browser(world, review, labels):
    return Browser(world.client.app, "acme-admin", lang="zh-CN")


def test_every_signed_in_page_shows_the_unread_count_in_the_navigation(world, admin_browser):
    unread = inbox(world, "acme-admin")["unread"]
    assert unread > 0
    for path in ("/app/dashboard", "/app/notices", "/registry", "/pcrs"):
        page = admin_browser.get(path)
        assert page.status_code == 200, path
        assert f'data-unread="{unread}"' in page.text and f"{unread} 条未读" in page.text, path


def test_the_inbox_page_lists_the_readers_notices_in_chinese(world, admin_browser, review):
    page = admin_browser.get("/app/notices")
    assert page.status_code == 200
    assert "<h1>通知</h1>" in page.text
    assert "新的审核问题" in page.text and "认证申请已驳回" in page.text and "未读" in page.text
    assert "Please show the meter readings of the kiln." in page.text  # the verifier's words, as written
    rival = Browser(world.client.app, "rival-admin", lang="zh-CN").get("/app/notices")
    assert rival.status_code == 200 and review not in rival.text and "暂无通知" in rival.text
    english = Browser(world.client.app, "acme-engineer", lang="en").get("/app/notices")
    assert "<h1>Notices</h1>" in english.text and "New finding: " in english.text and "Mark as read" in english.text


def test_opening_a_notice_marks_it_read_and_goes_where_it_points(world, admin_browser, review):
    notice = next(
        n for n in inbox(world, "acme-admin")["items"] if n["kind"] == "finding.raised" and review in n["link"]
    )
    response = admin_browser.post_form("/app/notices", f"/app/notices/{notice['id']}/read", {"open": "1"})
    assert response.status_code == 303 and response.headers["location"] == f"/app/applications/{review}"
    assert world.call("acme-admin", "GET", "/api/v1/notices").json()["items"]  # still listed
    read = next(n for n in inbox(world, "acme-admin")["items"] if n["id"] == notice["id"])
    assert read["read_at"] is not None


def test_marking_one_read_comes_back_to_the_same_page(world, admin_browser):
    notice = inbox(world, "acme-admin", unread=True)["items"][0]
    response = admin_browser.post_form(
        "/app/notices", f"/app/notices/{notice['id']}/read", {"page": "1", "show": "unread"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/app/notices?show=unread&done=read#notice-{notice['id']}"
    assert "已标为已读" in admin_browser.get("/app/notices?show=unread&done=read").text


def test_the_page_refuses_another_persons_notice(world, reader):
    notice_id = world.client.get("/api/v1/notices", headers=reader["headers"]).json()["items"][0]["id"]
    intruder = Browser(world.client.app, "rival-admin", lang="zh-CN")
    response = intruder.post_form("/app/notices", f"/app/notices/{notice_id}/read", {"open": "1"})
    assert response.status_code == 404 and "location" not in response.headers


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=-3",
        "page=%C2%B2",
        "page=999999999999",
        "show=%3Cscript%3E",
        "page=2&show=x",
        "done=all&count=%C2%B2",
    ],
)
def test_a_bad_page_number_or_filter_shows_a_page_of_all_notices(admin_browser, query):
    page = admin_browser.get(f"/app/notices?{query}")
    assert page.status_code == 200 and "<h1>通知</h1>" in page.text
    assert '<a href="/app/notices" aria-current="page">' in page.text  # the filter "all"
    assert "<script>" not in page.text


def test_mark_all_read_empties_the_count(world, admin_browser):
    response = admin_browser.post_form("/app/notices", "/app/notices/read-all")
    assert response.status_code == 303 and response.headers["location"].startswith("/app/notices?done=all&count=")
    page = admin_browser.get(response.headers["location"])
    assert "data-unread=" not in page.text and "没有未读通知" not in page.text and "已将" in page.text
    assert inbox(world, "acme-admin")["unread"] == 0


def test_the_inbox_page_is_paginated(world, reader):
    page = _signed_in(world, reader["email"]).get("/app/notices?page=2")
    assert page.status_code == 200 and "第 2 / 3 页" in page.text
    assert 'href="/app/notices?page=3" rel="next"' in page.text and 'href="/app/notices" rel="prev"' in page.text


def _signed_in(world, email: str) -> Browser:
    browser = Browser(world.client.app, lang="zh-CN")
    login = browser.client.get("/login")
    response = browser.client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "next": "/app", "csrf_token": csrf_of(login.text)},
    )
    assert response.status_code == 303, response.text
    return browser


# --- in a browser -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_inbox_in_chinese_in_a_browser(world, review, labels, served, visit, width):
    """The engineer sees the unread count in the navigation, opens the inbox, marks a notice read (one fewer
    unread), opens a finding's notice and lands on the application; every page passes axe-core and loads nothing
    from another host. Screenshots: test-artifacts/issue18/notices/."""
    tab = visit(width, "zh")
    sign_in(tab, served, "acme-engineer")
    page = tab.page
    page.goto(f"{served}/app/dashboard")
    link = page.locator("header nav a[href='/app/notices']")
    unread = int(link.get_attribute("data-unread"))
    assert unread > 0 and link.get_attribute("aria-label") == f"通知 · {unread} 条未读"
    with page.expect_navigation():
        link.click()
    page.wait_for_load_state()
    assert page.inner_text("h1") == "通知"
    assert_accessible(page)
    assert_self_contained(tab, served)
    screenshot(tab, f"issue18/notices/inbox-zh-{width}")

    first = page.locator("article.unread").first
    title = first.locator("h2").inner_text()
    with page.expect_navigation():
        first.locator("button", has_text="标为已读").click()
    assert "已标为已读" in page.inner_text("p.notice")
    assert int(page.locator("header nav a[href='/app/notices']").get_attribute("data-unread")) == unread - 1
    assert title.removeprefix("未读 ") in page.inner_text(f"#{page.url.split('#')[1]}")
    screenshot(tab, f"issue18/notices/inbox-read-zh-{width}")

    finding = page.locator("article", has_text="新的审核问题").first
    with page.expect_navigation():
        finding.locator("button", has_text="打开").click()
    assert page.url == f"{served}/app/applications/{review}"
    assert_self_contained(tab, served)


# --- the wording -----------------------------------------------------------------------------------------------------


def test_every_kind_is_worded_in_both_languages_from_the_values_its_notices_carry():
    """Each kind's title and sentence use only the values a notice of that kind stores (those of its application or
    label, `by` for a superseded label, `quote` shown apart; a supply link's, and the label's for a certification
    body, for a withdrawn supplier value), so no notice shows a placeholder or a dash."""
    application_values = {"product", "manufacturer", "body"}
    label_values = {"number", "product", "manufacturer", "body", "expires_on"}
    # a supply link's item and reason are stored in both languages (item, item_zh; reason_en, reason_zh) and fill
    # {item} and {reason} in the reader's (notices.render)
    supply_values = {"product", "version", "item", "source", "supplier", "reason"}
    for kind in notices.KINDS:
        values = label_values | ({"by"} if kind in ("label.superseded", "procurement.label_superseded") else set())
        if kind.startswith(("finding.", "application.")):
            values = application_values
        if kind.startswith("supply."):
            values = supply_values | ({"number", "manufacturer"} if kind == notices.SUPPLY_LABEL_AT_RISK else set())
        for lang in LANGUAGES:
            for part in ("title", "body"):
                text = catalogue(lang).messages[f"notice.{kind}.{part}"]
                used = {name for _, name, _, _ in string.Formatter().parse(text) if name}
                assert used <= values, (lang, kind, part, used - values)


def test_the_rules_name_actions_the_services_record():
    """Every action the table listens for is an action code of the workflow tables or of the label issuance."""
    from label_service.workflow import APPLICATION_ACTIONS, FINDING_ACTIONS, LABEL_ACTIONS

    recorded = (
        {f"application.{a}" for a in APPLICATION_ACTIONS}
        | {f"finding.{a}" for a in FINDING_ACTIONS}
        | {f"label.{a}" for a in LABEL_ACTIONS}
        | {"finding.raised", "label.issued"}
    )
    assert set(notices.RULES) <= recorded


def test_no_notice_of_the_whole_module_went_to_a_person_of_another_organisation(world):
    with session_scope() as session:
        crossing = session.exec(
            select(func.count())
            .select_from(Notice)
            .join(User, col(User.id) == col(Notice.user_id))
            .where(col(User.organisation_id) != col(Notice.organisation_id))
        ).one()
    assert crossing == 0


def test_a_value_stored_in_both_languages_fills_the_placeholder_of_its_plain_name():
    """A withdrawn supplier value's notice stores the item's name and the reason in both languages; the Chinese
    reader sees 外购熟料 and the Chinese reason, the English reader the English ones, from one placeholder each."""
    from footprint_api.persistence.models import Notice

    notice = Notice(
        organisation_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        kind="supply.affected",
        params={
            "product": "P·O 42.5",
            "version": "1",
            "item": "purchased clinker",
            "item_zh": "外购熟料",
            "source": "PCF-2026-000001-X",
            "supplier": "Kiln Co.",
            "reason_en": "the label was revoked",
            "reason_zh": "该标签已被撤销",
        },
        event_key="k",
    )
    chinese, english = notices.render(notice, "zh").body, notices.render(notice, "en").body
    assert "“外购熟料”" in chinese and "该标签已被撤销" in chinese and "purchased clinker" not in chinese
    assert "“purchased clinker”" in english and "the label was revoked" in english and "外购熟料" not in english
