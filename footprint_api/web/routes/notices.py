"""Pages of the web application: the inbox of the signed-in person (services.notices), whatever their role.

A notice is opened through a form (it is marked read, then the browser goes where it points) or only marked read;
"mark all as read" empties the unread count. The page and its forms show only the reader's own notices: another
person's notice answers 404, as in the JSON API.
"""

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse

from footprint_api.persistence.db import SessionDep
from footprint_api.services import notices
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import PageUser

router = page_router()
ReaderPage = Annotated[PageUser, Depends(session.page_user())]
SHOW = ("all", "unread")
MAX_PAGE = 100_000


def _number(text: str) -> int:
    """A page number as typed in the address bar: anything that is not one shows the first page."""
    text = (text or "").strip()
    return min(int(text), MAX_PAGE) if text.isdecimal() and int(text) >= 1 else 1


def _inbox_url(number: int = 1, show: str = "all", **extra: str) -> str:
    query = {"page": str(number) if number > 1 else "", "show": show if show != "all" else "", **extra}
    encoded = urlencode({name: value for name, value in query.items() if value})
    return "/app/notices" + (f"?{encoded}" if encoded else "")


def _pager(inbox: notices.InboxPage) -> dict:
    return {
        "page": inbox.page,
        "pages": inbox.pages,
        "previous": _inbox_url(inbox.page - 1, _show(inbox)) if inbox.page > 1 else None,
        "next": _inbox_url(inbox.page + 1, _show(inbox)) if inbox.page < inbox.pages else None,
    }


def _show(inbox: notices.InboxPage) -> str:
    return "unread" if inbox.unread_only else "all"


def _done(request: Request, lang: str) -> str | None:
    """What the step just taken did (`done` after the redirect), in the reader's language; None after none."""
    done, count = request.query_params.get("done", ""), request.query_params.get("count", "")
    t = i18n.catalogue(lang)
    if done == "read":
        return t("notice.done.read")
    if done == "all":
        return t("notice.done.all", count=int(count) if count.isdecimal() and len(count) < 10 else 0)
    return None


def _internal(link: str | None) -> bool:
    """A page of this service (the links notices are made with), never another site."""
    return bool(link) and link.startswith("/") and not link.startswith("//")


@router.get("/app/notices")
def inbox_page(request: Request, user: ReaderPage, db: SessionDep):
    """Newest first, a page at a time; `show=unread` lists the unread ones only. Read from the query as typed: a
    page number or filter that is not one shows the first page of all notices, never an error."""
    show = request.query_params.get("show", "all")
    number = _number(request.query_params.get("page", ""))
    inbox = notices.inbox(db, user.principal, number, unread_only=show == "unread")
    lang = i18n.negotiate(request)
    return page(
        request,
        "notices/inbox.html",
        user,
        inbox=inbox,
        rows=[(notice, notices.render(notice, lang)) for notice in inbox.notices],
        show=_show(inbox),
        pager=_pager(inbox),
        when=when,
        notice=_done(request, lang),  # the layout's status line
        here={"page": inbox.page, "show": _show(inbox)},
    )


@router.post("/app/notices/{notice_id}/read")
async def read_notice(request: Request, notice_id: uuid.UUID, db: SessionDep, user: ReaderPage):
    """Marks the notice read; `open` set: then goes where the notice points, else back to the same page."""
    data = await session.form(request, user)
    notice = await run_in_threadpool(notices.mark_read, db, user.principal, notice_id)
    if data.get("open") and _internal(notice.link):
        return RedirectResponse(notice.link, status_code=303)
    show = data.get("show") if data.get("show") in SHOW else "all"
    back = _inbox_url(_number(str(data.get("page", ""))), show, done="read")
    return RedirectResponse(f"{back}#notice-{notice.id}", status_code=303)


@router.post("/app/notices/read-all")
async def read_all(request: Request, db: SessionDep, user: ReaderPage):
    await session.form(request, user)
    count = await run_in_threadpool(notices.mark_all_read, db, user.principal)
    return RedirectResponse(_inbox_url(done="all", count=str(count)), status_code=303)
