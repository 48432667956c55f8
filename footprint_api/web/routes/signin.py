"""Signing in and out of the web application."""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from footprint_api.core.errors import Unauthorized
from footprint_api.core.settings import get_settings
from footprint_api.persistence.db import SessionDep, session_scope
from footprint_api.services import accounts, throttle
from footprint_api.web import i18n, session
from footprint_api.web.pages import page
from footprint_api.web.routes import page_router
from footprint_api.web.session import OptionalPageUser, PageUser

router = page_router()
LOGIN_NONCE_SECONDS = 3600


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no host, no `//`): an open redirect would send people elsewhere."""
    target = (target or "").strip()
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc or "\\" in target:
        return "/app"
    return target


def _login_page(
    request: Request,
    next_path: str,
    email: str = "",
    failed: str | None = None,
    status_code: int = 200,
    headers: dict | None = None,
):
    nonce = session.login_nonce(request)
    response = page(
        request,
        "app/login.html",
        None,
        status_code,
        headers,
        login_csrf=session.csrf_token(f"login:{nonce}"),
        next=_safe_next(next_path),
        email=email,
        failed=failed,
    )
    session.set_cookie(response, request, session.LOGIN_COOKIE, nonce, LOGIN_NONCE_SECONDS)
    return response


@router.get("/login")
def login_form(request: Request, user: OptionalPageUser, next: str = "/app"):
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next)


@router.post("/login")
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
):
    session.check_csrf(request, csrf_token, f"login:{request.cookies.get(session.LOGIN_COOKIE, '')}")

    def sign_in() -> str:
        with session_scope() as db:
            return accounts.password_login(
                db, email, password, get_settings().web_session_minutes, request.client.host if request.client else None
            )[0]

    t = i18n.catalogue(i18n.negotiate(request))
    try:
        token = await run_in_threadpool(sign_in)
    except Unauthorized:
        return _login_page(request, next, email, t("login.failed"), 401)
    except throttle.TooManyAttempts as exc:  # the form again, saying for how long (the error page would not)
        minutes = -(-int(exc.headers["Retry-After"]) // 60)
        return _login_page(request, next, email, t("adm.signin.locked", minutes=minutes), 429, exc.headers)
    response = RedirectResponse(_safe_next(next), status_code=303)
    session.start(response, request, token)
    return response


@router.post("/logout")
async def logout(request: Request, db: SessionDep, user: Annotated[PageUser, Depends(session.page_user())]):
    await session.form(request, user)
    await run_in_threadpool(accounts.revoke, db, user.principal)
    response = RedirectResponse("/", status_code=303)
    session.end(response)
    return response


START_PAGES = {
    "manufacturer": "/app/dashboard",
    "certification_body": "/app/review",
    "platform": "/app/admin",
    "standards_body": "/app/pcr-authoring",
    "procurement": "/app/procurement",
}


@router.get("/app")
def start(user: Annotated[PageUser, Depends(session.page_user())]):
    """Where a person lands after signing in: the first section of their organisation's kind."""
    return RedirectResponse(START_PAGES.get(user.organisation.kind.value, "/"), status_code=303)
