"""Administration pages: organisations, users (create, disable, enable, reset), machine clients (secret shown once),
signing keys, the audit trail with filters and the chain check; each an edge over services.accounts, each
isolated by organisation like the JSON API (another organisation's user or client: 404; a non-admin: 403)."""

import re
import uuid
from html.parser import HTMLParser

import pytest

from footprint_api.web.routes.admin import router
from tests.service import PASSWORD
from tests.web_client import Browser


@pytest.fixture(scope="module")
def app(world):
    return world.client.app


@pytest.fixture(scope="module")
def acme_admin(app):
    return Browser(app, "acme-admin")


def create_user(world, organisation="acme", admin="acme-admin", role="manufacturer_member") -> dict:
    email = f"page-{uuid.uuid4().hex[:8]}@test.example"
    response = world.call(
        admin,
        "POST",
        f"/api/v1/organisations/{world.organisations[organisation]}/users",
        json={"email": email, "name": "Page person", "password": PASSWORD, "role": role},
    )
    assert response.status_code == 201, response.text
    return response.json()


def users_url(world, organisation="acme") -> str:
    return f"/app/admin/organisations/{world.organisations[organisation]}/users"


def test_the_overview_shows_counts_and_the_latest_changes(world, acme_admin):
    world.call("acme-admin", "POST", f"/api/v1/users/{create_user(world)['id']}/disable")
    users = world.call("acme-admin", "GET", f"/api/v1/organisations/{world.organisations['acme']}/users").json()
    page = acme_admin.get("/app/admin")
    assert page.status_code == 200
    figures = re.findall(r'<p class="figure">(\d+)</p>', page.text)
    assert figures[1] == str(sum(u["active"] for u in users))
    assert f"active · {sum(not u['active'] for u in users)} disabled" in page.text
    assert "Latest changes" in page.text and "User disabled" in page.text


def test_an_admin_creates_a_user_who_can_then_sign_in(world, acme_admin):
    email = f"made-{uuid.uuid4().hex[:6]}@test.example"
    response = acme_admin.post_form(
        users_url(world),
        users_url(world),
        {"name": "Made by page", "email": email, "role": "manufacturer_member", "password": PASSWORD},
    )
    assert response.status_code == 303 and response.headers["location"].endswith("?done=user_created")
    listed = acme_admin.get(response.headers["location"])
    assert email in listed.text and "The user was created" in listed.text
    Browser(world.client.app).sign_in(email.removesuffix("@test.example"))


@pytest.mark.parametrize(
    "field, data, message",
    [
        ("email", {"email": "not-an-address"}, "Not a valid e-mail address."),
        ("password", {"password": "short"}, "At least 12 characters."),
        ("name", {"name": ""}, "Required."),
        ("role", {"role": "verifier"}, "This kind of organisation has no such role."),
        ("role", {"role": "emperor"}, "Choose one of the options."),
    ],
)
def test_bad_user_input_is_shown_next_to_the_field_and_nothing_is_stored(world, acme_admin, field, data, message):
    email = f"bad-{uuid.uuid4().hex[:6]}@test.example"
    form = {"name": "Bad", "email": email, "role": "manufacturer_member", "password": PASSWORD, **data}
    response = acme_admin.post_form(users_url(world), users_url(world), form)
    assert response.status_code == 422
    assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', response.text), response.text
    assert f'id="e-{field}">{message}<' in response.text
    assert email not in acme_admin.get(users_url(world)).text


def test_a_name_with_a_nul_byte_is_refused_and_nothing_is_stored(world, acme_admin):
    url = f"/app/admin/organisations/{world.organisations['acme']}/clients"
    response = acme_admin.post_form(url, url, {"name": "nul\x00client", "role": "manufacturer_member"})
    # refused as the body arrives (footprint_api.infra.limits), before any form is read: an error page naming NUL
    assert response.status_code == 422 and "NUL" in response.text
    assert "nul" not in acme_admin.get(url).text


def test_an_absurd_page_number_shows_an_empty_page_not_an_error(acme_admin):
    for number in ("0", "-5", str(10**30)):
        assert acme_admin.get("/app/admin/audit", params={"page_number": number}).status_code in (200, 422)
    assert acme_admin.get("/app/admin/audit", params={"page_number": "x"}).status_code == 422


def test_a_second_user_with_the_same_email_is_a_conflict_named_at_the_field(world, acme_admin):
    form = {"name": "Twin", "email": "acme-engineer@test.example", "role": "manufacturer_member", "password": PASSWORD}
    response = acme_admin.post_form(users_url(world), users_url(world), form)
    assert response.status_code == 409 and 'id="e-email">A user with this e-mail address exists.<' in response.text


def test_disabling_a_user_from_the_page_ends_their_browser_session_at_once(world, acme_admin):
    person = create_user(world)
    theirs = Browser(world.client.app, person["email"].removesuffix("@test.example"))
    assert theirs.get("/app/dashboard").status_code != 303
    page = acme_admin.get(users_url(world))
    assert f'action="/app/admin/users/{person["id"]}/disable"' in page.text and "data-confirm=" in page.text
    response = acme_admin.post_form(users_url(world), f"/app/admin/users/{person['id']}/disable")
    assert response.status_code == 303 and response.headers["location"].endswith("?done=user_disabled")
    gone = theirs.get("/app/dashboard")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    enabled = acme_admin.post_form(users_url(world), f"/app/admin/users/{person['id']}/enable")
    assert enabled.status_code == 303
    assert theirs.get("/app/dashboard").headers.get("location", "").startswith("/login")  # stays ended


def test_a_generated_password_is_shown_once_and_the_old_sessions_end(world, acme_admin):
    person = create_user(world)
    theirs = Browser(world.client.app, person["email"].removesuffix("@test.example"))
    url = f"/app/admin/users/{person['id']}/password"
    response = acme_admin.post_form(url, url, {"password": ""})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    generated = re.search(r'<code class="once" id="secret">([^<]+)</code>', response.text).group(1)
    assert theirs.get("/app/dashboard").headers.get("location", "").startswith("/login")
    assert generated not in acme_admin.get(url).text
    assert generated not in acme_admin.get("/app/admin/audit").text
    Browser(world.client.app).sign_in(person["email"].removesuffix("@test.example"), generated)


def test_a_chosen_password_too_short_is_refused_at_the_field(world, acme_admin):
    person = create_user(world)
    url = f"/app/admin/users/{person['id']}/password"
    response = acme_admin.post_form(url, url, {"password": "short"})
    assert response.status_code == 422 and 'id="e-password"' in response.text
    Browser(world.client.app).sign_in(person["email"].removesuffix("@test.example"))  # unchanged


def test_a_machine_client_secret_is_shown_once_and_disabling_ends_its_token(world, acme_admin):
    url = f"/app/admin/organisations/{world.organisations['acme']}/clients"
    response = acme_admin.post_form(url, url, {"name": "Page ERP", "role": "manufacturer_member"})
    assert response.status_code == 200
    secret = re.search(r'<code class="once" id="secret">([^<]+)</code>', response.text).group(1)
    client_id = re.search(r'<code id="client-id">([^<]+)</code>', response.text).group(1)
    token = world.client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert world.client.get("/api/v1/products", headers=bearer).status_code == 200
    listed = acme_admin.get(url)
    assert client_id in listed.text and secret not in listed.text
    client = next(
        c
        for c in world.call("acme-admin", "GET", f"/api/v1/organisations/{world.organisations['acme']}/clients").json()
        if c["client_id"] == client_id
    )
    assert acme_admin.post_form(url, f"/app/admin/clients/{client['id']}/disable").status_code == 303
    assert world.client.get("/api/v1/products", headers=bearer).status_code == 401


def test_the_platform_admin_creates_an_organisation(world, app):
    root = Browser(app, "root")
    name = f"Neworg {uuid.uuid4().hex[:6]}"
    response = root.post_form(
        "/app/admin/organisations", "/app/admin/organisations", {"name": name, "kind": "manufacturer"}
    )
    assert response.status_code == 303 and name in root.get(response.headers["location"]).text
    again = root.post_form(
        "/app/admin/organisations", "/app/admin/organisations", {"name": name, "kind": "manufacturer"}
    )
    assert again.status_code == 409 and 'id="e-name"' in again.text


def test_an_organisation_admin_sees_only_their_organisation_and_cannot_create_one(world, acme_admin):
    page = acme_admin.get("/app/admin/organisations")
    assert "acme" in page.text and "rival" not in page.text and 'action="/app/admin/organisations"' not in page.text


def test_a_certification_body_admin_rotates_the_signing_key(world, app):
    cb_admin = Browser(app, "cb-admin")
    first = cb_admin.post_form("/app/admin/keys", "/app/admin/keys")
    assert first.status_code == 303
    second = cb_admin.post_form("/app/admin/keys", "/app/admin/keys")
    page = cb_admin.get(second.headers["location"])
    assert page.text.count("<code>") == 2 and "In use" in page.text and "data-confirm=" in page.text
    assert "A new signing key is in use" in page.text


def test_the_audit_trail_is_newest_first_filtered_and_escaped(world, acme_admin):
    hostile = f"<script>alert(1)</script>-{uuid.uuid4().hex[:4]}"
    world.call("acme-engineer", "POST", "/api/v1/products", json={"name": hostile, "pcr_id": "PCR-CN-ALUMINIUM"})
    world.call("acme-admin", "POST", f"/api/v1/users/{create_user(world)['id']}/disable")
    page = acme_admin.get("/app/admin/audit")
    assert page.status_code == 200 and hostile not in page.text and "&lt;script&gt;" in page.text
    seqs = [int(s) for s in re.findall(r'id="entry-(\d+)"', page.text)]
    assert seqs == sorted(seqs, reverse=True)
    filtered = acme_admin.get("/app/admin/audit", params={"action": "user.disabled"})
    actions = re.findall(r'data-action="([^"]+)"', filtered.text)
    assert actions and set(actions) == {"user.disabled"}
    by_actor = acme_admin.get("/app/admin/audit", params={"actor": "acme-engineer@test.example"})
    assert "product.created" in re.findall(r'data-action="([^"]+)"', by_actor.text)
    assert "user.created" not in re.findall(r'data-action="([^"]+)"', by_actor.text)
    future = acme_admin.get("/app/admin/audit", params={"since": "2999-01-01"})
    assert 'id="entry-' not in future.text
    whole_calendar = acme_admin.get("/app/admin/audit", params={"since": "0001-01-01", "until": "9999-12-31"})
    assert whole_calendar.status_code == 200 and 'id="entry-' in whole_calendar.text


@pytest.mark.parametrize(
    "params, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "until"),
        ({"actor": "x" * 10_000}, "actor"),
    ],
)
def test_a_bad_filter_is_named_at_its_field(acme_admin, params, field):
    response = acme_admin.get("/app/admin/audit", params=params)
    assert response.status_code == 422 and f'id="e-{field}"' in response.text


def test_a_nul_byte_in_a_filter_is_refused_cleanly(acme_admin):
    response = acme_admin.get("/app/admin/audit", params={"action": "user.created\x00"})
    assert response.status_code in (400, 422)  # the service's request guard, or this page naming the field


def test_an_organisation_admin_sees_only_their_organisations_trail(world, acme_admin):
    rival_person = create_user(world, "rival", "rival-admin")
    page = acme_admin.get("/app/admin/audit", params={"action": "user.created"})
    assert rival_person["id"] not in page.text and rival_person["email"] not in page.text


def test_the_chain_check_says_intact_for_the_platform_admin(app):
    root = Browser(app, "root")
    assert 'action="/app/admin/audit/chain"' in root.get("/app/admin/audit").text
    response = root.get("/app/admin/audit/chain")
    assert response.status_code == 200 and 'data-intact="true"' in response.text and "Intact" in response.text


def test_the_chain_check_names_the_first_broken_entry(world, app):
    from sqlalchemy import text

    from footprint_api.persistence.db import session_scope

    root = Browser(app, "root")
    with session_scope() as db:  # as a database administrator could: without the append-only triggers
        for name in (
            db.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"))
            .scalars()
            .all()
        ):
            db.execute(text(f"DROP TRIGGER {name}"))
        seq = db.execute(text("SELECT max(seq) FROM audit_event")).scalar()
        original = db.execute(text("SELECT action FROM audit_event WHERE seq = :s"), {"s": seq}).scalar()
        db.execute(text("UPDATE audit_event SET action = 'tampered' WHERE seq = :s"), {"s": seq})
        db.commit()
    try:
        response = root.get("/app/admin/audit/chain")
        assert 'data-intact="false"' in response.text and f"#{seq}" in response.text
    finally:
        with session_scope() as db:
            db.execute(text("UPDATE audit_event SET action = :a WHERE seq = :s"), {"a": original, "s": seq})
            db.commit()


def test_the_pages_are_in_chinese_for_a_chinese_reader(world, app):
    page = Browser(app, "acme-admin", lang="zh-CN").get(users_url(world))
    assert page.status_code == 200 and "停用" in page.text and "创建用户" in page.text


# --- the platform admin finds anyone; last sign-in and sign-in lock --------------------------------------------


def people(browser, **params) -> list[str]:
    page = browser.get("/app/admin/people", params=params)
    assert page.status_code == 200, page.text
    return re.findall(r'<tr data-email="([^"]+)">', page.text)


def test_the_platform_admin_finds_people_of_every_organisation_by_part_of_their_email_in_any_case(app):
    root = Browser(app, "root", lang="zh-CN")
    assert {"acme-engineer@test.example", "rival-engineer@test.example"} <= set(people(root, q="ENGINEER@"))
    assert people(root, q="cb-verif") == ["cb-verifier@test.example"]
    assert people(root, q="no such person") == []
    assert "没有符合条件的用户。" in root.get("/app/admin/people", params={"q": "no such person"}).text


def test_the_search_finds_a_person_by_name_and_filters_by_organisation_role_and_state(world, app):
    root = Browser(app, "root")
    person = create_user(world, "rival", "rival-admin")
    world.call("rival-admin", "POST", f"/api/v1/users/{person['id']}/disable")
    assert person["email"] in people(root, q="PAGE PERSON", organisation=str(world.organisations["rival"]))
    acme_only = people(root, organisation=str(world.organisations["acme"]))
    assert acme_only and all(email.startswith(("acme-", "page-", "made-", "bad-", "new-")) for email in acme_only)
    assert "rival-engineer@test.example" not in acme_only
    assert people(root, role="verifier") == ["cb-verifier@test.example", "cb2-verifier@test.example"]
    disabled = people(root, active="disabled")
    assert person["email"] in disabled and "root@test.example" not in disabled
    assert "root@test.example" in people(root, active="active", role="platform_admin")


@pytest.mark.parametrize("params, field", [({"role": "emperor"}, "role"), ({"organisation": "x"}, "organisation")])
def test_a_filter_no_option_has_is_named_at_its_field(app, params, field):
    response = Browser(app, "root", lang="zh-CN").get("/app/admin/people", params=params)
    assert response.status_code == 422 and f'id="e-{field}">请从选项中选择。<' in response.text


def test_the_search_is_paginated_with_its_filters_kept(app, monkeypatch):
    from footprint_api.web.routes import admin

    monkeypatch.setattr(admin, "PEOPLE_PAGE", 2)
    root = Browser(app, "root")
    first = root.get("/app/admin/people", params={"q": "test.example"})
    following = re.search(r'<a class="button" href="([^"]+)" rel="next">', first.text).group(1)
    assert following.replace("&amp;", "&") == "?q=test.example&page_number=2"
    second = root.get(f"/app/admin/people{following.replace('&amp;', '&')}")
    on_first, on_second = (re.findall(r'<tr data-email="([^"]+)">', page.text) for page in (first, second))
    assert len(on_first) == len(on_second) == 2 and not set(on_first) & set(on_second)
    assert on_first + on_second == sorted(on_first + on_second)  # by e-mail address, across the pages
    assert 'rel="prev"' in second.text


def test_a_sign_in_through_the_page_shows_as_the_persons_last_sign_in(world, app):
    from footprint_api.web.pages import when

    person = create_user(world)
    root = Browser(app, "root", lang="zh-CN")
    never = root.get("/app/admin/people", params={"q": person["email"]})
    assert re.search(r'class="nowrap last-sign-in"[^>]*><span class="muted">从未登录</span>', never.text)
    Browser(app, person["email"].removesuffix("@test.example"))
    users = world.call("acme-admin", "GET", f"/api/v1/organisations/{world.organisations['acme']}/users").json()
    signed_in = next(u for u in users if u["id"] == person["id"])["last_sign_in_at"]
    from datetime import datetime

    shown = when(datetime.fromisoformat(signed_in))
    assert shown.endswith("(UTC+8)") and shown in root.get("/app/admin/people", params={"q": person["email"]}).text
    assert shown in Browser(app, "acme-admin").get(users_url(world)).text


def _lock(email: str) -> None:
    """As five failed sign-ins from another address would (this client's own address stays unlocked)."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.services import throttle

    with session_scope() as session:
        for _ in range(throttle.ACCOUNT_LIMIT):
            throttle.failed(session, throttle.keys(email, "192.0.2.44"), "password")


def test_a_locked_person_is_shown_locked_until_when_and_their_admin_lifts_the_lock(world, app):
    person = create_user(world)
    _lock(person["email"])
    root = Browser(app, "root", lang="zh-CN")
    found = root.get("/app/admin/people", params={"q": person["email"]})
    assert re.search(r'<span class="badge bad">锁定至 \d{4}-\d{2}-\d{2} \d{2}:\d{2} \(UTC\+8\)</span>', found.text)
    admin_page = Browser(app, "acme-admin", lang="zh-CN")
    listed = admin_page.get(users_url(world))
    assert f'action="/app/admin/users/{person["id"]}/unlock"' in listed.text
    response = admin_page.post_form(users_url(world), f"/app/admin/users/{person['id']}/unlock")
    assert response.status_code == 303 and response.headers["location"].endswith("?done=user_unlocked")
    assert "登录锁定已解除" in admin_page.get(response.headers["location"]).text
    Browser(app).sign_in(person["email"].removesuffix("@test.example"))  # the lock is gone
    trail = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    entry = next(e for e in trail if e["action"] == "user.unlocked" and e["object_id"] == person["id"])
    assert entry["actor_kind"] == "user" and entry["after"] == {"email": person["email"]}


def test_the_platform_admin_lifts_a_lock_from_the_search_and_returns_to_the_person(world, app):
    person = create_user(world, "rival", "rival-admin")
    _lock(person["email"])
    root = Browser(app, "root")
    url = f"/app/admin/people?q={person['email']}"
    response = root.post_form(url, f"/app/admin/users/{person['id']}/unlock", {"back": "people"})
    assert response.status_code == 303
    assert (
        response.headers["location"] == f"/app/admin/people?q={person['email'].replace('@', '%40')}&done=user_unlocked"
    )
    again = root.get(response.headers["location"])
    assert "The sign-in lock was lifted" in again.text and "Not locked" in again.text


def test_lifting_a_lock_that_is_not_there_changes_nothing(world, app):
    person = create_user(world)
    admin_page = Browser(app, "acme-admin")
    assert admin_page.post_form(users_url(world), f"/app/admin/users/{person['id']}/unlock").status_code == 303
    trail = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    assert not [e for e in trail if e["action"] == "user.unlocked" and e["object_id"] == person["id"]]


# --- every administration page in Chinese -----------------------------------------------------------------------

# Latin words a Chinese page may show: standard identifiers, names of formats and protocols, the form fields of
# OAuth2 that a developer copies, and the service's own name.
ALLOWED = {"PACT", "OAuth2", "PCR", "CSV", "XLSX", "Excel", "UTC", "JSON", "API", "client_id", "client_secret", "kid"}


class _Reader(HTMLParser):
    """The text a person reads on a page (and the labels a screen reader speaks): not code, scripts, styles, the
    recorded before/after values of the audit trail, nor what is marked as another language (the language link)."""

    SKIPPED = frozenset({"code", "script", "style"})
    VOID = frozenset({"input", "br", "img", "meta", "link", "hr", "source", "wbr"})

    def __init__(self):
        super().__init__()
        self.stack: list[bool] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skipped = (
            (self.stack and self.stack[-1])
            or tag in self.SKIPPED
            or attrs.get("lang", "zh").startswith("en")
            or (tag == "td" and "wrap" in (attrs.get("class") or ""))
        )
        if not skipped:
            self.text.extend(attrs.get(name) or "" for name in ("aria-label", "title", "placeholder", "data-confirm"))
        if tag not in self.VOID:
            self.stack.append(bool(skipped))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


def english_words(html: str, data: list[str]) -> list[str]:
    """Latin words of three or more letters on the page, once the data (names, e-mail addresses, organisation
    names) and the allowed identifiers are taken out."""
    reader = _Reader()
    reader.feed(html)
    text = " ".join(reader.text)
    text = re.sub(r"[\w.+-]+@[\w.-]+", " ", text)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]{2,}", text) if w not in ALLOWED]


def _data_of_the_world() -> list[str]:
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import ApiClient, Organisation, Product, User

    with session_scope() as session:
        return [
            *session.exec(select(User.name)).all(),
            *session.exec(select(Organisation.name)).all(),
            *session.exec(select(ApiClient.name)).all(),
            *session.exec(select(ApiClient.client_id)).all(),
            *session.exec(select(Product.name)).all(),
            *(a for a in session.exec(select(Organisation.address)).all() if a),
            *(c for c in session.exec(select(Organisation.contact_name)).all() if c),
        ]


def _admin_pages(world, person) -> list[str]:
    pages = [
        "/app/admin",
        "/app/admin/organisations",
        f"/app/admin/organisations/{world.organisations['acme']}",
        users_url(world),
        f"/app/admin/organisations/{world.organisations['acme']}/clients",
        f"/app/admin/users/{person['id']}/password",
        "/app/admin/audit",
        "/app/admin/audit?since=2999-01-01",
        "/app/admin/audit?since=yesterday",
    ]
    return pages


@pytest.mark.parametrize("who", ["root", "acme-admin", "cb-admin"])
def test_every_administration_page_is_in_chinese_for_a_chinese_reader(world, app, who):
    person = create_user(world)
    _lock(person["email"])
    browser = Browser(app, who, lang="zh-CN")
    urls = _admin_pages(world, person)
    if who == "root":
        urls += [
            "/app/admin/people",
            "/app/admin/people?role=emperor",
            "/app/admin/keys",
            "/app/admin/audit/chain",
            f"/app/admin/organisations/{world.organisations['cb']}/users",
        ]
    if who == "cb-admin":
        browser.post_form("/app/admin/keys", "/app/admin/keys")
        urls = ["/app/admin", "/app/admin/keys", f"/app/admin/organisations/{world.organisations['cb']}/users"]
    forms = [
        ("/app/admin/organisations", {"name": "", "kind": "manufacturer", "uscc": "91350100M000100Y44"}),
        (users_url(world), {"name": "", "email": "x", "role": "manufacturer_member", "password": "short"}),
    ]
    data = _data_of_the_world()
    for url in urls:
        page = browser.get(url)
        assert page.status_code in (200, 422) and 'lang="zh-CN"' in page.text, url
        assert english_words(page.text, data) == [], url
    for url, form in forms if who != "cb-admin" else []:
        response = browser.post_form(url, url, form)
        if response.status_code != 403:
            assert response.status_code == 422 and english_words(response.text, data) == [], url


def test_the_english_reader_finds_english_on_a_chinese_page():
    """The check itself: an English sentence outside code and data is found; the same words in code are not."""
    page = '<p>请检查</p><p>Not a valid e-mail address.</p><code>user.created</code><a lang="en">English</a>'
    assert english_words(page, []) == ["Not", "valid", "mail", "address"]
    assert english_words("<p>机构 <code>client_id</code> PACT 接收方 Page person</p>", ["Page person"]) == []


# --- isolation: every route of the router, as another organisation's admin and as a non-admin -----------------


@pytest.fixture(scope="module")
def targets(world):
    person = create_user(world)
    client = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/clients",
        json={"name": "iso client", "role": "manufacturer_member"},
    ).json()
    return {"organisation_id": world.organisations["acme"], "user_id": person["id"], "client_id": client["id"]}


# (method, path) -> (the intruder, the status they get): rival-admin for acme's objects (404 as in the API);
# acme-engineer for pages of no organisation's object (403: not an admin); the platform-only and cb-only routes
# refused to acme-admin (403).
CASES = {
    ("GET", "/app/admin"): [("acme-engineer", 403), ("cb-verifier", 403)],
    ("GET", "/app/admin/organisations"): [("acme-engineer", 403)],
    ("POST", "/app/admin/organisations"): [("acme-admin", 403), ("acme-engineer", 403)],
    ("GET", "/app/admin/organisations/{organisation_id}/users"): [
        ("rival-admin", 404),
        ("cb-admin", 404),
        ("acme-engineer", 403),
    ],
    ("POST", "/app/admin/organisations/{organisation_id}/users"): [("rival-admin", 404), ("acme-engineer", 403)],
    ("POST", "/app/admin/users/{user_id}/disable"): [("rival-admin", 404), ("cb-admin", 404), ("acme-engineer", 403)],
    ("POST", "/app/admin/users/{user_id}/enable"): [("rival-admin", 404), ("acme-engineer", 403)],
    ("GET", "/app/admin/users/{user_id}/password"): [("rival-admin", 404), ("acme-engineer", 403)],
    ("POST", "/app/admin/users/{user_id}/password"): [("rival-admin", 404), ("acme-engineer", 403)],
    ("GET", "/app/admin/organisations/{organisation_id}/clients"): [("rival-admin", 404), ("acme-engineer", 403)],
    ("POST", "/app/admin/organisations/{organisation_id}/clients"): [("rival-admin", 404), ("acme-engineer", 403)],
    ("POST", "/app/admin/clients/{client_id}/disable"): [("rival-admin", 404), ("acme-engineer", 403)],
    ("POST", "/app/admin/clients/{client_id}/enable"): [("rival-admin", 404), ("acme-engineer", 403)],
    ("GET", "/app/admin/keys"): [("acme-admin", 403), ("cb-verifier", 403)],
    ("POST", "/app/admin/keys"): [("acme-admin", 403), ("root", 403), ("cb-verifier", 403)],
    ("GET", "/app/admin/organisations/{organisation_id}"): [
        ("rival-admin", 404),
        ("cb-admin", 404),
        ("acme-engineer", 403),
    ],
    ("POST", "/app/admin/organisations/{organisation_id}"): [("rival-admin", 404), ("acme-engineer", 403)],
    ("POST", "/app/admin/users/{user_id}/unlock"): [("rival-admin", 404), ("cb-admin", 404), ("acme-engineer", 403)],
    ("GET", "/app/admin/people"): [("acme-admin", 403), ("cb-admin", 403), ("acme-engineer", 403)],
    ("GET", "/app/admin/audit"): [("acme-engineer", 403), ("cb-verifier", 403)],
    ("POST", "/app/admin/audit/export"): [("acme-engineer", 403), ("cb-verifier", 403)],
    ("GET", "/app/admin/audit/chain"): [("acme-admin", 403), ("cb-admin", 403)],
}
FORMS = {
    "/app/admin/organisations/{organisation_id}/users": {
        "name": "Intruder",
        "email": "in@test.example",
        "role": "manufacturer_admin",
        "password": PASSWORD,
    },
    "/app/admin/organisations/{organisation_id}/clients": {"name": "intruder", "role": "manufacturer_admin"},
    "/app/admin/users/{user_id}/password": {"password": "an intruder's password"},
    "/app/admin/organisations": {"name": "Intruder org", "kind": "manufacturer"},
    "/app/admin/organisations/{organisation_id}": {"address": "an intruder's address"},
    "/app/admin/audit/export": {"export_since": "2026-01-01", "export_until": "2026-01-31", "export_format": "csv"},
}


def _routes():
    return {(method, route.path) for route in router.routes for method in route.methods}


def test_every_route_of_the_admin_pages_has_isolation_cases():
    assert _routes() == set(CASES)


@pytest.fixture(scope="module")
def signed_in(app):
    """One signed-in browser per person for the module (signing in hashes a password: slow by design)."""
    browsers = {}

    def of(user: str) -> Browser:
        if user not in browsers:
            browsers[user] = Browser(app, user)
        return browsers[user]

    return of


@pytest.mark.parametrize("method, path", sorted(CASES))
def test_each_admin_route_refuses_other_organisations_and_other_roles(world, signed_in, targets, method, path):
    url = path.format(**targets)
    for intruder, status in CASES[(method, path)]:
        browser = signed_in(intruder)
        if method == "GET":
            response = browser.get(url)
        else:
            response = browser.post_form("/app/no-such-page", url, FORMS.get(path, {}))
        assert response.status_code == status, (intruder, method, url, response.status_code)
    assert world.call("acme-admin", "GET", "/api/v1/me").status_code == 200
    person = next(
        u
        for u in world.call("acme-admin", "GET", f"/api/v1/organisations/{targets['organisation_id']}/users").json()
        if u["id"] == targets["user_id"]
    )
    assert person["active"] is True  # nothing an intruder sent changed acme's user


def test_recorded_values_are_worded_in_the_readers_language_where_the_catalogue_words_them():
    """Yes/no, a role, a certificate's release reason and a reason recorded with its code; the English comment
    beside a coded reason is left out; anything else as recorded."""
    from footprint_api.core.messages import catalogue
    from footprint_api.web.routes.admin import changes

    t = catalogue("zh")
    superseded = {
        "state": "superseded",
        "comment": "superseded by a newer label",
        "reason": {"code": "adm.value.replaced", "params": {"version": 3}},
    }
    assert changes({"state": "active"}, superseded, t) == [
        ("reason", "", "已由第 3 版替代"),
        ("state", "active", "superseded"),
    ]
    recorded = {"active": False, "role": "verifier", "released_reason": "application withdrawn", "name": "Acme"}
    assert changes(None, recorded, t) == [
        ("active", "", "否"),
        ("name", "", "Acme"),
        ("released_reason", "", "认证申请已撤回"),
        ("role", "", "核查员"),
    ]
    assert changes(None, {"released_reason": "replaced by version 12"}, t) == [
        ("released_reason", "", "已由第 12 版替代")
    ]
    unknown = {"comment": "kept", "reason": {"code": "no.such.code", "params": {}}}
    assert changes(None, unknown, t) == [
        ("comment", "", "kept"),
        ("reason", "", '{"code": "no.such.code", "params": {}}'),
    ]
