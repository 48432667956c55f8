import uuid
from typing import Literal

from fastapi import APIRouter, Response

from footprint_api.api.deps import ManufacturerAdminDep, ManufacturerDep, ParticipantDep, require
from footprint_api.exports import cbam
from footprint_api.persistence.db import SessionDep
from footprint_api.schemas import (
    CalculationIn,
    FootprintOut,
    FootprintSummary,
    JobOut,
    PactEndpointIn,
    PactShareIn,
    SubmissionIn,
    SubmissionOut,
)
from footprint_api.services import exports, footprints, jobs
from footprint_api.services.pact import events as pact_events
from footprint_api.services.pact import footprints as pact_service
from footprint_api.services.principals import CB_ROLES, MANUFACTURER_ROLES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
router = APIRouter(prefix="/api/v1", tags=["footprints"])
manufacturer = require(*MANUFACTURER_ROLES)
reader = require(*MANUFACTURER_ROLES, *CB_ROLES)


@router.post(
    "/inventories/{inventory_id}/calculations",
    response_model=JobOut,
    status_code=202,
    summary="Queue the footprint calculation of an inventory; follow the job",
)
def calculate(
    inventory_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    principal: ManufacturerDep,
    body: CalculationIn | None = None,
):
    body = body or CalculationIn()
    job = footprints.request_calculation(session, principal, inventory_id, body.monte_carlo_iterations, body.seed)
    jobs.dispatch(str(job.id))
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job


@router.get("/jobs/{job_id}", response_model=JobOut)
def job(job_id: uuid.UUID, session: SessionDep, principal: ManufacturerDep):
    return footprints.get_job(session, principal, job_id)


@router.get("/footprints", response_model=list[FootprintSummary])
def list_footprints(session: SessionDep, principal: ParticipantDep):
    return footprints.list_footprints(session, principal)


@router.get("/footprints/{footprint_id}", response_model=FootprintOut)
def footprint(footprint_id: uuid.UUID, session: SessionDep, principal: ParticipantDep):
    found = footprints.visible_footprint(session, principal, footprint_id)
    return FootprintOut(
        id=found.id,
        inventory_id=found.inventory_id,
        job_id=found.job_id,
        total_kg_co2e=found.total_kg_co2e,
        declared_unit=found.declared_unit,
        created_at=found.created_at,
        result=found.result,
    )


@router.post(
    "/footprints/{footprint_id}/submissions",
    response_model=SubmissionOut,
    status_code=201,
    summary="Submit a footprint to a certification body, which may then read it",
)
def submit(footprint_id: uuid.UUID, body: SubmissionIn, session: SessionDep, principal: ManufacturerDep):
    return footprints.submit_to_certification_body(session, principal, footprint_id, body.certification_body_id)


@router.post(
    "/footprints/{footprint_id}/pact-shares",
    status_code=201,
    summary="Share a footprint over PACT with one of your PACT recipient clients (certified footprints are "
    "shared with all of them)",
)
def pact_share(footprint_id: uuid.UUID, body: PactShareIn, session: SessionDep, principal: ManufacturerDep) -> dict:
    granted = pact_service.share(session, principal, footprint_id, body.client_id)
    return {"footprint_id": str(granted.footprint_id), "client_id": body.client_id}


@router.get(
    "/footprints/{footprint_id}/cbam",
    summary="EU CBAM embedded emissions of the footprint's good, as the "
    "communication template's fields (CSV or XLSX) for the exporter's EU importer",
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}, 422: {"description": "not a CBAM good"}},
)
def cbam_export(
    footprint_id: uuid.UUID, session: SessionDep, principal: ParticipantDep, format: Literal["csv", "xlsx"] = "csv"
) -> Response:
    line = exports.cbam_line(session, principal, footprint_id)
    name = f"cbam-{line.cn_code.replace(' ', '')}-{footprint_id}.{format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "xlsx":
        return Response(cbam.to_xlsx(line), media_type=XLSX, headers=disposition)
    return Response(cbam.to_csv(line), media_type="text/csv; charset=utf-8", headers=disposition)


@router.put(
    "/pact-recipients/{client_id}/endpoint",
    summary="Where one of your PACT recipients receives answers to "
    "its requests: its PACT API base URL (HTTPS) and the credentials it issued to this service",
)
def pact_endpoint(client_id: str, body: PactEndpointIn, session: SessionDep, principal: ManufacturerAdminDep) -> dict:
    endpoint = pact_events.register_endpoint(
        session, principal, client_id, str(body.base_url), body.client_id, body.client_secret
    )
    return {"client_id": client_id, "base_url": endpoint.base_url, "token_client_id": endpoint.token_client_id}


@router.get(
    "/footprints/{footprint_id}/report.pdf",
    summary="The footprint report (GB/T 24067 / ISO 14067 clause 7) as PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def report_pdf(footprint_id: uuid.UUID, session: SessionDep, principal: ParticipantDep) -> Response:
    return Response(
        exports.report_pdf(session, principal, footprint_id),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="footprint-{footprint_id}.pdf"'},
    )
