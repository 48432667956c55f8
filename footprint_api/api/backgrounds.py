"""Background databases as JSON: the platform admin's imports (bw2io: ecospold2, openLCA JSON-LD, Brightway
Excel/CSV) with progress and their problems, the versions and which is in use, and the search over their activities
that PCR authors link items to. The pages (web.routes.backgrounds) call the same service functions.

An upload is streamed to disk (the request body is bounded by `max_upload_bytes` before it is read, and counted
again here); a licensed database of several GB is imported from the server's disk with `pcf backgrounds import`."""

import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from footprint_api.api.deps import CurrentPrincipal, PlatformAdminDep
from footprint_api.core.errors import PayloadTooLarge
from footprint_api.core.settings import get_settings
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import BackgroundActivity, BackgroundDatabase
from footprint_api.services import backgrounds

router = APIRouter(prefix="/api/v1/backgrounds", tags=["backgrounds"])


class UnlinkedOut(BaseModel):
    name: str
    categories: list[str] | None = Field(description="biosphere compartments, when the data gives them")
    location: str | None
    unit: str
    type: str = Field(description="biosphere, technosphere, ...")
    count: int = Field(description="exchanges of this group")
    activities: list[str] = Field(description="up to 3 activities holding such an exchange")
    removed_by: str | None = Field(default=None, description="the bw2io strategy that removed these exchanges")


class ProblemOut(BaseModel):
    code: str = Field(description="no_production, duplicate_code, non_finite_amount, zero_production, ...")
    activity: str | None
    detail: str
    blocking: bool = Field(description="true: the import cannot give a database with it")


class ProblemsOut(BaseModel):
    unlinked: list[UnlinkedOut] = Field(
        default_factory=list, description="exchanges not linked: nothing is written until proceed or discard"
    )
    other: list[ProblemOut] = Field(default_factory=list)


class BackgroundOut(BaseModel):
    id: uuid.UUID
    name: str
    version: str
    format: str
    state: str = Field(description=" | ".join(backgrounds.STATES))
    stage: str | None
    progress: float = Field(ge=0, le=1)
    in_use: bool
    source_name: str | None
    source_bytes: int | None
    source_digest: str | None = Field(description="SHA-256 of the file imported")
    counts: dict
    problems: ProblemsOut
    dropped: list[UnlinkedOut] = Field(description="exchanges dropped on the admin's word (proceed), for good")
    timings: dict = Field(description="seconds per stage: extracting, import, prepare, sample, index")
    solver: dict | None
    digest: str | None = Field(description="the prepared pack's digest (footprints record it)")
    samples: int = Field(description="pre-sampled background results for Monte Carlo")
    failure: str | None
    failure_code: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    activated_at: datetime | None


class ActivityOut(BaseModel):
    database: str
    version: str
    code: str = Field(description="what a PCR item's background link names (contract: BackgroundLink.activity)")
    name: str
    reference_product: str | None
    location: str
    unit: str
    unit_score: float | None = Field(description="kg CO2e per unit, IPCC 2021 GWP100, whole supply chain")


def _out(row: BackgroundDatabase) -> BackgroundOut:
    problems = row.problems or {}
    return BackgroundOut(
        **row.model_dump(exclude={"problems", "dropped"}),
        problems=ProblemsOut(unlinked=problems.get("unlinked") or [], other=problems.get("other") or []),
        dropped=row.dropped or [],
    )


def _activity(activity: BackgroundActivity, database: BackgroundDatabase) -> ActivityOut:
    return ActivityOut(
        database=database.name,
        version=database.version,
        code=activity.code,
        name=activity.name,
        reference_product=activity.reference_product,
        location=activity.location,
        unit=activity.unit,
        unit_score=activity.unit_score,
    )


def _stage(upload: UploadFile) -> Path:
    """The upload copied to a file of its own beside the imports (same file system: the service moves it there),
    counted as it goes."""
    limit = get_settings().max_upload_bytes
    staging = backgrounds.library_root() / "_imports" / "_staging"
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / f"{uuid.uuid4().hex}.part"
    copied = 0
    with open(path, "wb") as out:
        while chunk := upload.file.read(1024 * 1024):
            copied += len(chunk)
            if copied > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise PayloadTooLarge(
                    f"the file is larger than {limit // 1024**2} MiB",
                    [{"field": "file", "reason": "too large", "code": "backgrounds.file_too_large"}],
                )
            out.write(chunk)
    return path


def _upload(session, principal, upload: UploadFile, name: str, version: str, format: str) -> BackgroundDatabase:
    path = _stage(upload)
    try:
        row = backgrounds.upload(
            session, principal, name=name, version=version, format=format, filename=upload.filename, staged=path
        )
    finally:
        if path.exists():  # refused: nothing kept
            path.unlink(missing_ok=True)
    session.commit()  # no transaction of the request's session held while dispatch writes in its own
    backgrounds.dispatch(row.id)
    session.refresh(row)
    return row


@router.post(
    "",
    response_model=BackgroundOut,
    status_code=202,
    responses={
        409: {"description": "this name and version exist"},
        413: {"description": "the file is larger than the upload limit"},
        422: {"description": "a field at fault (name, version, format, file): unsafe or unreadable archive, ..."},
    },
)
async def import_background(
    session: SessionDep,
    principal: PlatformAdminDep,
    file: Annotated[UploadFile, File(description="ecospold2 or JSON-LD zip, Brightway .xlsx or .csv")],
    name: Annotated[str, Form(max_length=200, examples=["ecoinvent-3.10-cutoff"])],
    version: Annotated[str, Form(max_length=100, examples=["3.10"])],
    format: Annotated[str, Form(max_length=40, description=" | ".join(backgrounds.FORMATS))],
):
    """Starts the import of a new version (platform admin): queued, then importing → preparing → sampling → ready
    (or needs_attention with the unlinked exchanges listed). Poll GET /api/v1/backgrounds/{id}."""
    row = await run_in_threadpool(_upload, session, principal, file, name, version, format)
    return _out(row)


@router.get("", response_model=list[BackgroundOut])
def list_backgrounds(session: SessionDep, principal: PlatformAdminDep):
    """Every version, newest first (platform admin)."""
    return [_out(row) for row in backgrounds.databases(session, principal)]


@router.get("/activities", response_model=list[ActivityOut])
def search_activities(
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    q: Annotated[str | None, Query(max_length=100, description="in the name or reference product")] = None,
    database: Annotated[str | None, Query(max_length=100, description="a database name")] = None,
    location: Annotated[str | None, Query(max_length=100)] = None,
    unit: Annotated[str | None, Query(max_length=50)] = None,
    sort: Annotated[str | None, Query(pattern="^(name|location|score|-score)$")] = None,
    page: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    size: Annotated[int | None, Query(ge=1, le=100, description="10, 25, 50 or 100")] = None,
):
    """Activities of the versions in use (any signed-in person), one page; the total in X-Total-Count."""
    found = backgrounds.search_activities(
        session, q=q, database=database, location=location, unit=unit, page=page, size=size, sort=sort
    )
    response.headers["X-Total-Count"] = str(found.total)
    return [_activity(activity, database) for activity, database in found.rows]


@router.get("/{database_id}", response_model=BackgroundOut)
def get_background(database_id: uuid.UUID, session: SessionDep, principal: PlatformAdminDep):
    """One version: state, progress and stage, problems, counts, timings, solver."""
    return _out(backgrounds.database(session, principal, database_id))


@router.post("/{database_id}/proceed", response_model=BackgroundOut, status_code=202)
def proceed(database_id: uuid.UUID, session: SessionDep, principal: PlatformAdminDep):
    """From needs_attention: import again dropping exactly the listed unlinked exchanges (listed on the version as
    dropped, for good)."""
    row = backgrounds.proceed(session, principal, database_id)
    session.commit()  # as in an upload: no transaction held while dispatch writes
    backgrounds.dispatch(row.id)
    session.refresh(row)
    return _out(row)


@router.post("/{database_id}/discard", response_model=BackgroundOut)
def discard(database_id: uuid.UUID, session: SessionDep, principal: PlatformAdminDep):
    """From needs_attention or failed: discarded (its file and project removed, its record kept)."""
    return _out(backgrounds.discard(session, principal, database_id))


@router.post("/{database_id}/activate", response_model=BackgroundOut)
def activate(database_id: uuid.UUID, session: SessionDep, principal: PlatformAdminDep):
    """A ready version becomes the one in use for its name."""
    return _out(backgrounds.activate(session, principal, database_id))


@router.post("/{database_id}/retire", response_model=BackgroundOut)
def retire(database_id: uuid.UUID, session: SessionDep, principal: PlatformAdminDep):
    """A ready version not in use is retired."""
    return _out(backgrounds.retire(session, principal, database_id))
