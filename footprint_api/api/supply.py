"""Supply chains over the JSON API: the supplier sources of an inventory and a footprint, footprints affected by a withdrawn supplier value, recalculation on the supplier's newer data."""

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from footprint_api.api.deps import CertifierDep, ListQueryDep, ManufacturerDep, ParticipantDep, page_answer
from footprint_api.persistence.db import SessionDep
from footprint_api.schemas import JobOut
from footprint_api.services import footprints, jobs, supply_chain

router = APIRouter(prefix="/api/v1", tags=["supply"])

KIND = "label | pact | release"
REASON = "why: label.suspended, label.revoked, label.superseded, label.expired or pact.deprecated"


class SupplySourceOut(BaseModel):
    """One purchased input of a footprint resting on a supplier's value, as resolved when its inventory was
    submitted."""

    item: str = Field(description="the PCR item id")
    item_index: int = Field(description="its position in the inventory's items")
    item_label: str
    item_label_zh: str
    kind: str = Field(description=KIND)
    reference: str = Field(description="the label number, the PACT id, or release/entry")
    supplier_name: str
    supplier_product: str
    value_per_declared_unit: float = Field(description="kg CO2e per the source's declared unit, as it states it")
    declared_unit: str = Field(description="the source's declared unit, e.g. 1 t, 1 kWh, 1 kilogram")
    value_per_item_unit: float = Field(description="kg CO2e per unit of the item: what the calculation used")
    item_unit: str
    amount: float | None = Field(description="the item's amount in the inventory")
    amount_unit: str | None
    kg_co2e: float | None = Field(description="its contribution, kg CO2e per declared unit of the footprint")
    pcr_ref: str | None = Field(description="the PCR the source followed, e.g. PCR-CN-CLINKER@1.0.0")
    valid_from: date | None
    valid_until: date | None
    verified: bool = Field(description="a label, an assured PACT footprint, a release entry")
    assurance: str | None = Field(description="who verified it")
    primary_data_share: float | None = Field(description="the source's own primary data share, 0..1")
    dqr: float | None = Field(description="the source's data-quality rating, 1 best .. 5")
    affected_at: datetime | None = Field(description="when the source was withdrawn (None: in force)")
    affected_reason: str | None = Field(description=REASON)
    affected_params: dict = Field(description="the reason's values: the label number, its successor, ...")
    newer: str | None = Field(description="the newer value to recalculate on, where there is one")
    href: str | None = Field(description="where to look the source up")


class AffectedFootprintOut(BaseModel):
    """A footprint of the caller resting on a supplier value withdrawn since it was calculated."""

    footprint_id: uuid.UUID | None = Field(description="the newest calculation of the inventory version (None: none)")
    product_id: uuid.UUID
    product_name: str
    inventory_id: uuid.UUID
    inventory_version: int
    item: str
    item_index: int
    kind: str = Field(description=KIND)
    reference: str
    reason: str = Field(description=REASON)
    params: dict
    affected_at: datetime
    newer: str | None = Field(description="the successor's reference: recalculation on it is possible")


class LabelAtRiskOut(BaseModel):
    """A label the caller's certification body issued whose footprint rests on a supplier value withdrawn since."""

    number: str
    state: str
    product: str
    manufacturer: str
    footprint_id: uuid.UUID
    item: str
    item_index: int
    kind: str = Field(description=KIND)
    reference: str
    reason: str = Field(description=REASON)
    params: dict
    affected_at: datetime


@router.get(
    "/footprints/{footprint_id}/supply",
    response_model=list[SupplySourceOut],
    summary="The supplier sources a footprint rests on (labels, PACT footprints, factor-database entries)",
)
def sources(footprint_id: uuid.UUID, session: SessionDep, principal: ParticipantDep):
    footprint = footprints.visible_footprint(session, principal, footprint_id)
    return supply_chain.sources_of_footprint(session, principal, footprint)


@router.get(
    "/supply/affected",
    response_model=list[AffectedFootprintOut],
    summary="Your footprints resting on a supplier value withdrawn since (label suspended, revoked, superseded or "
    "expired; PACT footprint deprecated)",
)
def affected(session: SessionDep, principal: ManufacturerDep, response: Response, query: ListQueryDep):
    """With q (product, item or source), sort (-affected, product), page or size: one page, the total in
    X-Total-Count."""
    rows = supply_chain.affected_footprints(session, principal)
    if not query.paged:
        return rows
    return page_answer(supply_chain.page_of(rows, query.q, query.sort, query.page, query.size), response)


@router.post(
    "/footprints/{footprint_id}/actions/recalculate-with-newer-supplier-data",
    response_model=JobOut,
    status_code=202,
    summary="A new inventory version with each withdrawn supplier value replaced by its successor, queued for "
    "calculation; follow the job",
    responses={409: {"description": "a withdrawn source has no successor (the error names the item), or none was"}},
)
def recalculate(footprint_id: uuid.UUID, response: Response, session: SessionDep, principal: ManufacturerDep):
    job = supply_chain.recalculate_with_newer(session, principal, footprint_id)
    jobs.dispatch(str(job.id))
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job


@router.get(
    "/certification/labels-at-risk",
    response_model=list[LabelAtRiskOut],
    summary="Labels your certification body issued whose footprint rests on a withdrawn supplier value",
)
def labels_at_risk(session: SessionDep, principal: CertifierDep, response: Response, query: ListQueryDep):
    """With q (label, product, manufacturer, item or source), sort (-affected, product), page or size: one page."""
    rows = supply_chain.labels_at_risk(session, principal)
    if not query.paged:
        return rows
    return page_answer(supply_chain.page_of(rows, query.q, query.sort, query.page, query.size), response)
