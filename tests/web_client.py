"""A person in a browser, for page tests without a browser: signs in through the form and keeps the cookies."""

import re

from fastapi.testclient import TestClient

from tests.service import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form token"
    return found.group(1)


class Browser:
    """Cookies of one person; `post_form` sends the form token of the page the form is on, as a browser does."""

    def __init__(self, app, user: str | None = None, lang: str = "en"):
        self.client = TestClient(app, base_url="http://testserver", follow_redirects=False)
        self.client.headers.update({"Accept": "text/html", "Accept-Language": lang})
        if user:
            self.sign_in(user)

    def sign_in(self, user: str, password: str = PASSWORD):
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={
                "email": f"{user}@test.example",
                "password": password,
                "next": "/app",
                "csrf_token": csrf_of(page.text),
            },
        )
        assert response.status_code == 303, response.text
        return response

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post_form(self, page_url: str, action: str, data: dict | None = None, files=None):
        token = csrf_of(self.client.get(page_url).text)
        return self.client.post(action, data={**(data or {}), "csrf_token": token}, files=files)
