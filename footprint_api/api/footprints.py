import time
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from footprint_api.api.deps import ManufacturerAdminDep, ManufacturerDep, ParticipantDep, require
from footprint_api.exports import cbam
from footprint_api.infra.queue import job_news
from footprint_api.infra.security import Principal
from footprint_api.persistence.db import SessionDep, reads_only, session_scope
from footprint_api.schemas import (
    CalculationIn,
    FootprintHead,
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
async def calculate(
    inventory_id: uuid.UUID,
    response: Response,
    principal: ManufacturerDep,
    body: CalculationIn | None = None,
):
    """One hop to a worker thread for the whole of it (the job written, then sent), in a session of its own: not a
    request session opened and closed on threads of their own around it."""
    body = body or CalculationIn()
    job = await run_in_threadpool(_queue_calculation, principal, inventory_id, body)
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job


def _queue_calculation(principal: Principal, inventory_id: uuid.UUID, body: CalculationIn) -> JobOut:
    with session_scope() as session:
        job = footprints.request_calculation(session, principal, inventory_id, body.monte_carlo_iterations, body.seed)
        answer = JobOut.model_validate(job)
    jobs.dispatch(str(job.id))
    return answer


# the longest an event stream stays open (the client then asks again), and the comment that keeps it alive
EVENTS_MAX_SECONDS = 300
KEEPALIVE_SECONDS = 15


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    summary="A job's status; with `wait`, answered when the job changes (state or progress) or the wait ends",
)
async def job(
    job_id: uuid.UUID,
    principal: ManufacturerDep,
    wait: Annotated[
        float,
        Query(ge=0, le=footprints.WAIT_MAX_SECONDS, description="seconds to wait for a change of an unfinished job"),
    ] = 0,
):
    """Long-polling without a thread or a database connection held while it waits (services.footprints)."""
    return JobOut.model_validate(await footprints.job_after_change(principal, job_id, wait))


@router.get(
    "/jobs/{job_id}/events",
    summary="A job's status as server-sent events: one `job` event now and one at each change, until it finishes",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(job_id: uuid.UUID, principal: ManufacturerDep) -> StreamingResponse:
    first = await run_in_threadpool(footprints.job_now, principal, job_id)  # 404 before the stream begins

    async def stream():
        with job_news.listen(str(job_id)) as news:
            state, count = first, 1
            yield _event(state, count)
            ends = time.monotonic() + EVENTS_MAX_SECONDS
            while state.status not in footprints.FINISHED and time.monotonic() < ends:
                heard = await news.wait(min(KEEPALIVE_SECONDS, job_news.recheck_seconds()))
                now = await run_in_threadpool(footprints.job_now, principal, job_id)
                if footprints.moved(state, now):
                    state, count = now, count + 1
                    yield _event(state, count)
                elif not heard:
                    yield b": still running\n\n"

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


def _event(job, count: int) -> bytes:
    data = JobOut.model_validate(job).model_dump_json().encode()
    return b"event: job\nid: %d\nretry: 1000\ndata: %s\n\n" % (count, data)


@router.get("/footprints", response_model=list[FootprintSummary])
def list_footprints(session: SessionDep, principal: ParticipantDep):
    return footprints.list_footprints(session, principal)


@router.get("/footprints/{footprint_id}", response_model=FootprintOut)
async def footprint(footprint_id: uuid.UUID, principal: ParticipantDep) -> Response:
    """The stored result's JSON bytes as they were stored, joined to the footprint's other fields (the same document
    as FootprintOut): no parsing, validating or serialising of the result per read. A footprint this process read
    before is answered from memory (it never changes once stored)."""
    stored = footprints.remembered_footprint(principal, footprint_id)
    if stored is None:
        stored = await run_in_threadpool(_stored, principal, footprint_id)
    return Response(_footprint_body(stored), media_type="application/json")


def _stored(principal: Principal, footprint_id: uuid.UUID) -> footprints.StoredFootprint:
    with reads_only(), session_scope() as session:
        return footprints.stored_footprint(session, principal, footprint_id)


def _footprint_body(stored: footprints.StoredFootprint) -> bytes:
    head = FootprintHead(
        id=stored.id,
        inventory_id=stored.inventory_id,
        job_id=stored.job_id,
        total_kg_co2e=stored.total_kg_co2e,
        declared_unit=stored.declared_unit,
        created_at=stored.created_at,
    ).model_dump_json()
    return b"".join((head[:-1].encode(), b',"result":', stored.result_json, b"}"))


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
