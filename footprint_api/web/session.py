"""Browser sessions of the web application: the same access tokens as the API, carried in a cookie.

A person who signs in gets an access token (footprint_api.infra.security) in a Secure (over HTTPS), HttpOnly,
SameSite=Lax cookie; every page request checks it with the same `authenticate()` as the JSON API, so a revoked
token, a disabled account or an expired session stops working at once, for pages and API alike.

Forms are protected against cross-site request forgery (OWASP CSRF Prevention Cheat Sheet: synchronizer token
pattern, plus Origin verification): every form carries `csrf_token` = HMAC of the session's token id under the
service's secret key, so it is bound to the session and needs no server-side storage; the sign-in form, before any
session exists, binds its token to a random pre-session cookie instead.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from footprint_api.core.errors import Forbidden, ServiceError
from footprint_api.core.settings import get_settings
from footprint_api.infra.security import Principal, TokenInvalid
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Organisation, Role, User
from footprint_api.services.principals import authenticate

COOKIE = "pcf_session"
LOGIN_COOKIE = "pcf_login"  # the pre-session nonce the sign-in form's CSRF token is bound to
CSRF_FIELD = "csrf_token"
FORM_LIMITS = {"max_files": 5, "max_fields": 2000, "max_part_size": 1024 * 1024}


class LoginRequired(ServiceError):
    """No valid session: the page answers with a redirect to the sign-in page (web.errors)."""

    status, title = 401, "Sign-in required"


class CsrfFailed(ServiceError):
    status, title = 403, "Form expired"


@dataclass(frozen=True)
class PageUser:
    """The signed-in person of a page request."""

    principal: Principal
    user: User
    organisation: Organisation

    @property
    def role(self) -> Role:
        return self.principal.role


def _key() -> bytes:
    return get_settings().signing_key().encode()


def csrf_token(binding: str) -> str:
    return hmac.new(_key(), f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def session_csrf(user: PageUser) -> str:
    return csrf_token(user.principal.jti)


def login_nonce(request: Request) -> str:
    """The pre-session nonce of this browser (new when it has none; the caller sets the cookie)."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    return nonce if len(nonce) == 43 else secrets.token_urlsafe(32)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=_secure(request))


def start(response, request: Request, token: str) -> None:
    set_cookie(response, request, COOKIE, token, get_settings().web_session_minutes * 60)
    response.delete_cookie(LOGIN_COOKIE, path="/")


def end(response) -> None:
    response.delete_cookie(COOKIE, path="/")


def check_origin(request: Request) -> None:
    """A state-changing request from another site is refused (the Origin header names the page that sent it)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise CsrfFailed("this form was sent from another site")


def check_csrf(request: Request, submitted: str | None, binding: str) -> None:
    check_origin(request)
    if not submitted or not hmac.compare_digest(submitted, csrf_token(binding)):
        raise CsrfFailed("the form has expired or did not come from this site: reload the page and try again")


def optional_user(request: Request, session: SessionDep) -> PageUser | None:
    """The signed-in person, or None (public pages show a sign-in link then)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        principal = authenticate(session, token)
    except TokenInvalid:
        return None
    if principal.kind != "user":
        return None
    user = session.get(User, principal.subject)
    return PageUser(principal, user, session.get(Organisation, principal.organisation_id))


def page_user(*roles: Role):
    """Dependency of a page for signed-in people of these roles (all roles when none are named)."""

    def dependency(user: Annotated[PageUser | None, Depends(optional_user)]) -> PageUser:
        if user is None:
            raise LoginRequired("please sign in")
        if roles and user.role not in roles:
            raise Forbidden(f"this page is not for the role {user.role.value}")
        return user

    return dependency


async def form(request: Request, user: PageUser) -> dict:
    """The submitted form of a signed-in person, after its CSRF check; bounded in fields, files and part size.
    Values are str, files UploadFile; a field given several times is a list."""
    data = await request.form(**FORM_LIMITS)
    check_csrf(request, data.get(CSRF_FIELD), user.principal.jti)
    fields: dict = {}
    for key, value in data.multi_items():
        if key == CSRF_FIELD:
            continue
        if key in fields:
            fields[key] = [*fields[key], value] if isinstance(fields[key], list) else [fields[key], value]
        else:
            fields[key] = value
    return fields


OptionalPageUser = Annotated[PageUser | None, Depends(optional_user)]
ManufacturerPage = Annotated[PageUser, Depends(page_user(Role.MANUFACTURER_MEMBER, Role.MANUFACTURER_ADMIN))]
