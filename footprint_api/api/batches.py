"""Batch calculation as JSON: many inventories in one job on one prepared background, with progress."""

import uuid

from fastapi import APIRouter, Response

from footprint_api.api.deps import ManufacturerDep
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import JobStatus
from footprint_api.schemas import BatchIn, BatchItemOut, BatchOut, JobOut
from footprint_api.services import footprints, jobs

router = APIRouter(prefix="/api/v1", tags=["footprints"])


@router.post(
    "/batches",
    response_model=JobOut,
    status_code=202,
    summary="Queue the footprints of many inventories (up to 5,000) as one job; follow it at /api/v1/batches/{id}",
)
def create_batch(body: BatchIn, response: Response, session: SessionDep, principal: ManufacturerDep):
    job = footprints.request_batch(session, principal, body.inventory_ids, body.monte_carlo_iterations, body.seed)
    jobs.dispatch(str(job.id))
    response.headers["Location"] = f"/api/v1/batches/{job.id}"
    return job


@router.get(
    "/batches/{batch_id}",
    response_model=BatchOut,
    summary="A batch: its progress and, for each inventory calculated so far, its footprint or why it failed",
)
def batch(batch_id: uuid.UUID, session: SessionDep, principal: ManufacturerDep) -> BatchOut:
    job = footprints.get_batch(session, principal, batch_id)
    items = footprints.batch_items(session, job)
    failed = sum(item.status is JobStatus.FAILED for item in items)
    return BatchOut(
        id=job.id,
        status=job.status,
        progress=job.progress,
        attempts=job.attempts,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        inventories=len(job.parameters.get("inventory_ids", [])),
        succeeded=len(items) - failed,
        failed=failed,
        items=[BatchItemOut.model_validate(item) for item in items],
    )
