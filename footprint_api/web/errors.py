"""Errors of the web pages as pages: the same domain errors as the JSON API, shown to a person in their language.

A request is answered with a page when it was routed to a page handler (web.routes.page_router), or when a browser
asks for HTML outside the machine APIs (the verification page a QR code opens, a label's file, a path that matched
nothing); a page that needs a session redirects to sign-in.
"""

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from footprint_api.web.routes import WEB_TAG

MACHINE_PREFIXES = ("/api/", "/3/", "/auth/", "/.well-known/", "/static/")


def is_page_request(request: Request) -> bool:
    route = request.scope.get("route")
    if route is not None and WEB_TAG in (getattr(route, "tags", None) or []):
        return True
    return not request.url.path.startswith(MACHINE_PREFIXES) and "text/html" in request.headers.get("accept", "")


def error_page(
    request: Request,
    status: int,
    title: str,
    detail: str,
    errors: list[dict] | None = None,
    code: str = "",
    params: dict | None = None,
    headers: dict | None = None,
    look_up: bool = True,
) -> Response:
    """The error as a page in the reader's language: a refusal that names its message (`code`, `params`, and each
    error entry's own) is worded from the catalogue; one that does not keeps its English detail. `headers` go with
    the page (Retry-After of a 503); `look_up` False: the navigation is that of a visitor, without asking the
    database who is signed in (an outage of the database must not be asked again for its own error page)."""
    from footprint_api.services.messages import worded
    from footprint_api.web import i18n
    from footprint_api.web.pages import page

    if status == 401:  # no session (or an ended one): sign in, then come back here
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(back, safe='')}", status_code=303)
    t = i18n.catalogue(i18n.negotiate(request))
    key = f"error.{status}"
    if status in (400, 403, 404, 409, 413, 422, 429, 503) and code in t.messages:
        detail = worded(t, code, params, detail)
    elif status not in (400, 409, 413, 422):
        detail = t.messages.get(f"{key}.detail", detail)
    shown = [
        {**e, "reason": worded(t, str(e.get("code") or ""), e.get("params"), str(e.get("reason", "")))}
        for e in errors or []
    ]
    user = _user(request) if look_up else None
    title = t.messages.get(key, title)
    return page(request, "app/error.html", user, status, headers, title=title, detail=detail, errors=shown)


def _user(request: Request):
    """The signed-in person for the error page's navigation, if the session is still good."""
    from footprint_api.persistence.db import outage, reads_only, session_scope, unavailable
    from footprint_api.web.session import optional_user

    if not request.cookies.get("pcf_session") or outage.unreachable_since() is not None:
        return None
    try:
        with reads_only(), session_scope() as db:
            return optional_user(request, db)
    except Exception as exc:  # noqa: BLE001 - an error page must render even when the database does not answer
        if unavailable(exc):
            outage.failed(exc, answered=False)
        return None
