"""Browser sessions: sign-in by form, cookies that scripts cannot read, CSRF on every form, sign-out that ends the
token, and a session that stops at once when the person's account is disabled."""

import pytest

from tests.web_client import Browser, csrf_of


@pytest.fixture(scope="module")
def app(world):
    return world.client.app


def test_sign_in_sets_an_http_only_same_site_session_cookie(app):
    browser = Browser(app)
    page = browser.get("/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    response = browser.sign_in("acme-engineer")
    assert response.headers["location"] == "/app"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("pcf_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie


def test_a_wrong_password_shows_the_form_again_with_an_error(app):
    browser = Browser(app)
    token = csrf_of(browser.get("/login").text)
    response = browser.client.post(
        "/login", data={"email": "acme-engineer@test.example", "password": "nope", "csrf_token": token, "next": "/app"}
    )
    assert response.status_code == 401 and "Wrong e-mail or password" in response.text
    assert "pcf_session=" not in response.headers.get("set-cookie", "")


def test_sign_in_without_the_form_token_is_refused(app):
    browser = Browser(app)
    browser.get("/login")
    response = browser.client.post(
        "/login", data={"email": "acme-engineer@test.example", "password": "correct horse battery staple"}
    )
    assert response.status_code == 403


def test_a_form_sent_from_another_site_is_refused(app):
    browser = Browser(app, "acme-engineer")
    token = csrf_of(browser.get("/app/no-such-page").text)  # a real token: only the origin is wrong
    response = browser.client.post("/logout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_sign_in_never_redirects_off_the_site(app, target):
    browser = Browser(app)
    token = csrf_of(browser.get("/login").text)
    response = browser.client.post(
        "/login",
        data={
            "email": "acme-engineer@test.example",
            "next": target,
            "password": "correct horse battery staple",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/app"


def test_a_page_that_needs_a_session_sends_visitors_to_sign_in_and_back(app):
    response = Browser(app).get("/app?x=1")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fapp%3Fx%3D1"


@pytest.mark.parametrize(
    "user, start",
    [
        ("acme-engineer", "/app/dashboard"),
        ("cb-verifier", "/app/review"),
        ("root", "/app/admin"),
        ("sb-author", "/app/pcr-authoring"),
    ],
)
def test_each_person_starts_in_the_section_of_their_organisation(app, user, start):
    response = Browser(app, user).get("/app")
    assert response.status_code == 303 and response.headers["location"] == start


def test_sign_out_ends_the_session_token(app, world):
    browser = Browser(app, "acme-engineer")
    session_token = browser.client.cookies.get("pcf_session")
    assert world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {session_token}"}).status_code == 200
    response = browser.post_form("/app/no-such-page", "/logout")
    assert response.status_code == 303
    assert world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {session_token}"}).status_code == 401


def test_the_language_switch_keeps_the_page_and_its_query(app):
    page = Browser(app).get("/registry?pcr_id=PCR-CN-CEMENT&lang=zh")
    assert 'href="/registry?pcr_id=PCR-CN-CEMENT&amp;lang=en"' in page.text
