"""Applying for certification: the manufacturer's footprints that may be applied for, the certification bodies,
and the application itself (with its evidence document and its submission in one step)."""

import uuid

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from footprint_api.core.errors import Conflict, NotFound
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    Application,
    Footprint,
    InventoryRecord,
    Job,
    Organisation,
    OrganisationKind,
    Product,
)
from footprint_api.services import audit, certificates
from footprint_api.services.catalogue import owned
from footprint_api.services.certification.evidence import check_evidence, upload_evidence
from footprint_api.services.certification.refusals import _coded, _refusal
from footprint_api.services.certification.workflow import _certifiable, act
from footprint_api.services.principals import actor


def apply(
    session: Session, principal: Principal, footprint_id: uuid.UUID, body_id: uuid.UUID, label_kind: str
) -> Application:
    footprint = owned(session, Footprint, footprint_id, principal)
    body = session.get(Organisation, body_id)
    if body is None or body.kind is not OrganisationKind.CERTIFICATION_BODY:
        raise _refusal(NotFound, "cert.error.no_body", "no such certification body", "certification_body_id")
    _certifiable(session, footprint)
    record = session.get(InventoryRecord, footprint.inventory_id)
    try:
        certificates.redraw_for_application(session, actor(principal), record)
    except Conflict as exc:
        raise _coded(exc, "cert.error.certificates_given_back", count=len(exc.errors)) from None
    application = Application(
        organisation_id=principal.organisation_id,
        certification_body_id=body.id,
        footprint_id=footprint.id,
        product_id=record.product_id,
        label_kind=label_kind,
        created_by=principal.subject,
    )
    session.add(application)
    audit.record(
        session,
        actor(principal),
        "application.created",
        "application",
        application.id,
        after={
            "state": application.state,
            "footprint_id": str(footprint.id),
            "certification_body_id": str(body.id),
            "label_kind": label_kind,
        },
    )
    audit.commit(session)
    return application


def footprint_to_apply(session: Session, principal: Principal, footprint_id: uuid.UUID) -> dict:
    """What the application form shows of the caller's footprint (404 for another organisation's)."""
    footprint = owned(session, Footprint, footprint_id, principal)
    record = session.get(InventoryRecord, footprint.inventory_id)
    return {
        "footprint": footprint,
        "product": session.get(Product, record.product_id),
        "inventory_version": record.version,
    }


def footprints_to_apply(session: Session, principal: Principal, limit: int = 20) -> list[dict]:
    """The caller's calculated footprints that no application named yet (as applied for, or as the version a
    correction replaced), by product, then inventory version (newest first), then calculation (first first): a
    rerun of a version (`calculation` > 1, e.g. a Monte Carlo rerun) is listed under it, never above a later
    version, and named as such."""
    mine = Application.organisation_id == principal.organisation_id
    applied = select(Application.footprint_id).where(mine)
    replaced = select(Application.previous_footprint_id).where(
        mine, col(Application.previous_footprint_id).is_not(None)
    )
    earlier = aliased(Footprint)
    calculation = (
        select(func.count(earlier.id) + 1)
        .where(earlier.inventory_id == Footprint.inventory_id, col(earlier.created_at) < col(Footprint.created_at))
        .scalar_subquery()
    )
    rows = session.exec(
        select(Footprint, InventoryRecord, Product, Job, calculation)
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .join(Product, col(Product.id) == col(InventoryRecord.product_id))
        .join(Job, col(Job.id) == col(Footprint.job_id))
        .where(
            Footprint.organisation_id == principal.organisation_id,
            col(Footprint.id).not_in(applied),
            col(Footprint.id).not_in(replaced),
        )
        .order_by(col(Product.name), col(Product.id), col(InventoryRecord.version).desc(), col(Footprint.created_at))
        .limit(limit)
    )
    return [
        {
            "footprint_id": f.id,
            "product": p.name,
            "inventory_version": r.version,
            "calculation": number,
            "recalculation": number > 1,
            "monte_carlo_iterations": int((job.parameters or {}).get("monte_carlo_iterations") or 0),
            "total_kg_co2e": f.total_kg_co2e,
            "declared_unit": f.declared_unit,
            "created_at": f.created_at,
        }
        for f, r, p, job, number in rows
    ]


def apply_and_submit(
    session: Session,
    principal: Principal,
    footprint_id: uuid.UUID,
    body_id: uuid.UUID,
    label_kind: str,
    document: tuple[str, bytes] | None = None,
) -> Application:
    """Apply, attach the evidence document if one is given, submit: the document is checked before anything is
    stored, so a refused document leaves no application behind."""
    if document is not None:
        check_evidence(*document)
    application = apply(session, principal, footprint_id, body_id, label_kind)
    if document is not None:
        upload_evidence(session, principal, application.id, *document)
    return act(session, principal, application.id, "submit", "")


def certification_bodies(session: Session) -> list[Organisation]:
    return list(
        session.exec(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.CERTIFICATION_BODY)
            .order_by(Organisation.name)
        )
    )
