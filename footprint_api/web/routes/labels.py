"""Pages of the web application: the labels a certification body issued — a list to search, filter by state, sort
and page through — and each label on a page of its own, with its files, its history and the steps the body may take
on it (suspend, reinstate, revoke: one form each, a reason required, a confirmation before it is sent), through the
same service functions as the JSON API (services.labels)."""

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse

from footprint_api.core.errors import Conflict, NotFound, Unprocessable
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Label, Role
from footprint_api.services import labels
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import PageUser
from label_service.render import gtin_shown, label_figure

router = page_router()
BodyPage = Annotated[PageUser, Depends(session.page_user(Role.VERIFIER, Role.CB_ADMIN))]
BADGES = {"active": "ok", "suspended": "warn", "revoked": "bad", "expired": "bad", "superseded": ""}
QUERY_FIELDS = ("q", "state", "sort", "page")


def _render(request: Request, user: PageUser, status_code: int = 200, **values):
    helpers = {
        "when": when,
        "figure": label_figure,
        "gtin": gtin_shown,
        "badge": lambda state: BADGES.get(state or "", ""),
    }
    return page(request, "certification/labels.html", user, status_code, **helpers, **values)


def _worded(t: i18n.Catalogue, error: dict) -> str:
    """An error entry of the service in the reader's language (its code), or as the service wrote it."""
    code = error.get("code")
    return t(code, **(error.get("params") or {})) if code in t.messages else str(error.get("reason", ""))


def _list_url(query: labels.LabelQuery, **changes) -> str:
    """The list with the query changed: defaults left out, a new filter or order back on its first page."""
    values = {"q": query.text, "state": query.state, "sort": query.sort, "page": query.page, **changes}
    if "page" not in changes:
        values["page"] = 1
    kept = {
        k: v for k, v in values.items() if v and not (k == "sort" and v == "issued") and not (k == "page" and v == 1)
    }
    return f"/app/labels?{urlencode(kept)}" if kept else "/app/labels"


def _query(request: Request, t: i18n.Catalogue) -> tuple[labels.LabelQuery, dict[str, str]]:
    """The list's query from the address; a field the service does not understand is named in the reader's
    language and left out of the query (the rest still applies)."""
    raw = {name: request.query_params.get(name, "") for name in QUERY_FIELDS}
    try:
        return labels.label_query(raw["q"], raw["state"], raw["sort"], raw["page"]), {}
    except Unprocessable as exc:
        errors = {str(e["field"]): _worded(t, e) for e in exc.errors}
        kept = {name: ("" if name in errors else value) for name, value in raw.items()}
        return labels.label_query(kept["q"], kept["state"], kept["sort"], kept["page"]), errors


@router.get("/app/labels")
def labels_page(request: Request, db: SessionDep, user: BodyPage):
    t = i18n.catalogue(i18n.negotiate(request))
    query, errors = _query(request, t)
    found = labels.search(db, user.principal, query)
    pager = {
        "page": found.page,
        "pages": found.pages,
        "previous": _list_url(query, page=found.page - 1) if found.page > 1 else None,
        "next": _list_url(query, page=found.page + 1) if found.page < found.pages else None,
    }
    return _render(
        request,
        user,
        422 if errors else 200,
        mode="list",
        found=found,
        query=query,
        errors=errors,
        typed=request.query_params.get("q", "")[: labels.MAX_TEXT * 2],
        states=labels.STATES,
        sorts=list(labels.SORTS),
        state_url=lambda state: _list_url(query, state=state),
        pager=pager,
        any_label=bool(found.count or sum(found.by_state.values()) or query.text or query.state),
    )


def _detail(request: Request, user: PageUser, db, label: Label, status_code: int = 200, **values):
    lang = i18n.negotiate(request)
    return _render(
        request,
        user,
        status_code,
        mode="detail",
        label=label,
        reason=labels.reason_shown(label, lang),
        files=labels.downloads(label, lang),
        history=labels.history(db, label),
        steps=labels.steps(label),
        done=request.query_params.get("done", "") if status_code == 200 else "",
        errors=values.pop("errors", {}),
        problem=values.pop("problem", ""),
        typed=values.pop("typed", {}),
        **values,
    )


@router.get("/app/labels/{number}")
def label_page(request: Request, number: str, db: SessionDep, user: BodyPage):
    label = labels.issued_by(db, user.principal, number)
    if label.number != number:  # typed in another spelling: the page's one address
        return RedirectResponse(f"/app/labels/{quote(label.number)}", status_code=303)
    return _detail(request, user, db, label)


@router.post("/app/labels/{number}/{action}")
async def label_step(request: Request, number: str, action: str, db: SessionDep, user: BodyPage):
    data = await session.form(request, user)
    label = labels.issued_by(db, user.principal, number)
    if action not in labels.BODY_STEPS:
        raise NotFound("no such step", code="labels.refused.not_found")
    reason = data.get("comment", "")
    reason = reason if isinstance(reason, str) else ""
    t = i18n.catalogue(i18n.negotiate(request))
    try:
        await run_in_threadpool(labels.change_state, db, user.principal, label.number, action, reason)
    except Unprocessable as exc:
        db.rollback()
        errors = {action: [_worded(t, e) for e in exc.errors]}
        return _detail(request, user, db, label, 422, errors=errors, typed={action: reason})
    except Conflict as exc:
        db.rollback()
        db.refresh(label)
        problem = _refusal(t, exc) if exc.code else exc.detail
        return _detail(request, user, db, label, 409, problem=problem)
    return RedirectResponse(f"/app/labels/{quote(label.number)}?done={action}", status_code=303)


def _refusal(t: i18n.Catalogue, exc: Conflict) -> str:
    """A step the label's state no longer allows (another verifier acted first), in the reader's language."""
    state, action = exc.params.get("state", ""), exc.params.get("action", "")
    return t(
        exc.code,
        state=t.messages.get(f"labels.state.{state}", state),
        action=t.messages.get(f"labels.refused.action.{action}", action),
    )
