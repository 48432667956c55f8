from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import col, select

from footprint_api.api.deps import AdminDep, PlatformAdminDep
from footprint_api.infra.http import attachment
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import AuditEvent
from footprint_api.schemas import AuditEventOut, ChainOut
from footprint_api.services import accounts, audit_export

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get(
    "",
    response_model=list[AuditEventOut],
    summary="Audit entries: all for the platform admin, the organisation's own for its admins",
)
def entries(
    session: SessionDep,
    principal: AdminDep,
    after_seq: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    """Oldest first from a cursor (for machines that follow the trail); the pages list newest first."""
    query = accounts.visible_trail(principal, select(AuditEvent).where(col(AuditEvent.seq) > after_seq))
    return session.exec(query.order_by(col(AuditEvent.seq)).limit(limit)).all()


@router.get(
    "/verify",
    response_model=ChainOut,
    summary="Check the whole trail: the hash chain, the entries' seals, the sealed checkpoints of its head and the "
    "heads its witness outside the database holds (a head found intact is checkpointed and witnessed)",
)
def verify(session: SessionDep, _: PlatformAdminDep):
    check, count = accounts.check_chain(session)
    return ChainOut(
        intact=check.intact,
        first_broken_seq=check.first_broken_seq,
        reason=check.reason,
        checkpoint_seq=check.checkpoint_seq,
        entries=count,
        code=check.code,
        params=check.params,
        witness=check.witness,
        witness_seq=check.witness_seq,
    )


@router.get(
    "/export",
    summary="The audit trail of a period (Beijing days, at most a year and 50,000 entries) as CSV or XLSX: all of it "
    "for the platform admin, the organisation's own for its admins; the export is itself recorded",
    response_class=Response,
    responses={200: {"content": {media: {} for media in audit_export.FORMATS.values()}}},
)
def export(
    session: SessionDep,
    principal: AdminDep,
    since: Annotated[date, Query(alias="from", description="first day, Beijing time (YYYY-MM-DD)")],
    until: Annotated[date, Query(alias="to", description="last day, Beijing time, inclusive")],
    fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
    lang: Annotated[Literal["zh", "en"], Query(description="the language of the headings and names")] = "en",
):
    made = audit_export.export(session, principal, accounts.TrailFilter(since=since, until=until), fmt, lang)
    return attachment(made.data, made.media_type, made.ascii_filename, made.filename)
