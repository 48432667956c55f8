"""Administration pages: organisations, users (create, disable, enable, reset), machine clients (secret shown once),
signing keys, the audit trail with filters and the chain check; each an edge over services.accounts, each
isolated by organisation like the JSON API (another organisation's user or client: 404; a non-admin: 403)."""

import re
import uuid

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
    assert "Latest changes" in page.text and "user.disabled" in page.text


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
    actions = re.findall(r'<code class="action">([^<]+)</code>', filtered.text)
    assert actions and set(actions) == {"user.disabled"}
    by_actor = acme_admin.get("/app/admin/audit", params={"actor": "acme-engineer@test.example"})
    assert "product.created" in re.findall(r'<code class="action">([^<]+)</code>', by_actor.text)
    assert "user.created" not in re.findall(r'<code class="action">([^<]+)</code>', by_actor.text)
    future = acme_admin.get("/app/admin/audit", params={"since": "2999-01-01"})
    assert 'id="entry-' not in future.text


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
    ("GET", "/app/admin/audit"): [("acme-engineer", 403), ("cb-verifier", 403)],
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
