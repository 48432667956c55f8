"""The caller's notices over the JSON API: list (newest first, a page at a time) and mark read. A person's own only:
another person's notice answers 404, a machine client (which has none) 403."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from footprint_api.api.deps import CurrentPrincipal
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Notice
from footprint_api.services import notices

router = APIRouter(prefix="/api/v1/notices", tags=["notices"])
Language = Literal["en", "zh"]


class NoticeOut(BaseModel):
    id: uuid.UUID
    kind: str = Field(description="what happened, e.g. finding.raised, label.issued (one of services.notices.KINDS)")
    title: str = Field(description="in the language asked for (English unless lang=zh)")
    body: str
    quote: str | None = Field(description="the other party's words (a finding, an answer, a reason), as written")
    params: dict = Field(description="the values the title and body are made of, for rendering in another language")
    link: str | None = Field(description="the page of the web application the notice is about")
    created_at: datetime
    read_at: datetime | None


class NoticePageOut(BaseModel):
    items: list[NoticeOut]
    total: int = Field(description="notices listed by the query (all, or the unread ones)")
    unread: int
    page: int
    pages: int
    page_size: int


class ReadAllOut(BaseModel):
    marked: int = Field(description="how many unread notices were marked read")


def _out(notice: Notice, lang: str) -> NoticeOut:
    shown = notices.render(notice, lang)
    return NoticeOut(
        id=notice.id,
        kind=notice.kind,
        title=shown.title,
        body=shown.body,
        quote=shown.quote,
        params=notice.params,
        link=notice.link,
        created_at=notice.created_at,
        read_at=notice.read_at,
    )


@router.get("", response_model=NoticePageOut, summary="The caller's notices, newest first")
def list_notices(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=notices.MAX_PAGE_SIZE)] = notices.PAGE_SIZE,
    unread: Annotated[bool, Query(description="only the unread ones")] = False,
    lang: Language = "en",
):
    found = notices.inbox(session, principal, page, unread_only=unread, page_size=page_size)
    return NoticePageOut(
        items=[_out(notice, lang) for notice in found.notices],
        total=found.total,
        unread=found.unread,
        page=found.page,
        pages=found.pages,
        page_size=found.page_size,
    )


@router.post("/{notice_id}/read", response_model=NoticeOut, summary="Mark one of the caller's notices read")
def read(notice_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal, lang: Language = "en"):
    return _out(notices.mark_read(session, principal, notice_id), lang)


@router.post("/read-all", response_model=ReadAllOut, summary="Mark all of the caller's notices read")
def read_all(session: SessionDep, principal: CurrentPrincipal):
    return ReadAllOut(marked=notices.mark_all_read(session, principal))
