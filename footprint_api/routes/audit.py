from fastapi import APIRouter, Depends, Query
from sqlmodel import Session, col, func, select

from footprint_api import audit
from footprint_api.auth import ADMIN_ROLES, require
from footprint_api.db import get_session
from footprint_api.models import AuditEvent, Role
from footprint_api.schemas import AuditEventOut, ChainOut
from footprint_api.security import Principal

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=list[AuditEventOut], summary="Audit entries: all for the platform admin, "
                                                             "the organisation's own for its admins")
def entries(after_seq: int = Query(0, ge=0, le=2**63 - 1), limit: int = Query(100, ge=1, le=1000),
            principal: Principal = Depends(require(*ADMIN_ROLES)), session: Session = Depends(get_session)):
    query = select(AuditEvent).where(col(AuditEvent.seq) > after_seq)
    if principal.role is not Role.PLATFORM_ADMIN:
        query = query.where(AuditEvent.organisation_id == principal.organisation_id)
    return session.exec(query.order_by(col(AuditEvent.seq)).limit(limit)).all()


@router.get("/verify", response_model=ChainOut, summary="Recompute the hash chain of the whole trail")
def verify(_: Principal = Depends(require(Role.PLATFORM_ADMIN)), session: Session = Depends(get_session)):
    check = audit.verify_chain(session)
    if check.intact:
        audit.checkpoint(session)  # a check also seals the head it found intact
    return ChainOut(intact=check.intact, first_broken_seq=check.first_broken_seq, reason=check.reason,
                    checkpoint_seq=check.checkpoint_seq,
                    entries=session.exec(select(func.count()).select_from(AuditEvent)).one())
