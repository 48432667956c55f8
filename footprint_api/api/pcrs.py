"""The PCR registry over JSON: the public library of published versions (with the earlier list, document and Excel
template of a PCR), and the standards bodies' authoring: drafts, consultation, comments, answers, publication."""

import json
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from footprint_api.api.deps import BearerToken, CurrentPrincipal, PlatformAdminDep, current_principal, require
from footprint_api.infra.security import Principal
from footprint_api.infra.workbooks import XLSX
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Role
from footprint_api.schemas import (
    PCRActionIn,
    PCRAnswerIn,
    PCRCommentIn,
    PCRCommentOut,
    PCRDraftIn,
    PCRStewardIn,
    PCRVersionOut,
    PCRVersionSummary,
)
from footprint_api.services import excel, pcr_registry
from pcr_rules import default_registry
from pcr_rules.language import pcr_json_schema

router = APIRouter(prefix="/api/v1/pcrs", tags=["PCRs"])


def optional_principal(token: BearerToken, session: SessionDep) -> Principal | None:
    """The caller when a token is given (an invalid one is refused, not ignored), else None: the public."""
    return current_principal(token, session) if token else None


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]
AuthorDep = Annotated[Principal, Depends(require(*pcr_registry.AUTHOR_ROLES))]
ChairDep = Annotated[Principal, Depends(require(Role.PCR_CHAIR))]
Action = Literal["open_consultation", "close_consultation", "publish", "withdraw"]


@router.get("", summary="PCR versions: every published one and what became of it; your own body's drafts")
def pcrs(session: SessionDep, principal: MaybePrincipal, pcr_id: str | None = None) -> list[PCRVersionSummary]:
    return pcr_registry.list_versions(session, principal, pcr_id)


@router.get(
    "/language/schema.json",
    summary="The JSON Schema of the PCR language (what a PCR version's document may hold), with the formula catalogue",
    response_class=Response,
    responses={200: {"content": {"application/schema+json": {}}}},
)
def pcr_language_schema() -> Response:
    return Response(
        json.dumps(pcr_json_schema(), ensure_ascii=False, sort_keys=False), media_type="application/schema+json"
    )


@router.get("/{pcr_id}", summary="One PCR in full: the newest version in force, or the version given")
def pcr(pcr_id: str, version: str | None = None) -> dict:
    return default_registry().get(pcr_id, version).model_dump()


@router.get(
    "/{pcr_id}/template.xlsx",
    summary="The Excel inventory template of a PCR",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def pcr_template(pcr_id: str, version: str | None = None) -> Response:
    pcr = default_registry().get(pcr_id, version)
    return Response(
        excel.template(pcr),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{pcr.id}-{pcr.version}-inventory.xlsx"'},
    )


@router.put(
    "/{pcr_id}/steward",
    summary="Hand a PCR to the standards body that writes its next versions (platform admin)",
    status_code=204,
    response_class=Response,
)
def steward(pcr_id: str, body: PCRStewardIn, session: SessionDep, principal: PlatformAdminDep) -> Response:
    pcr_registry.assign_steward(session, principal, pcr_id, body.organisation_id)
    return Response(status_code=204)


@router.post(
    "/{pcr_id}/versions",
    summary="Start a draft: a copy of the latest published version, or empty (a new PCR)",
    status_code=201,
    responses={409: {"description": "the version exists"}, 422: {"description": "not newer than the published"}},
)
def create_draft(pcr_id: str, body: PCRDraftIn, session: SessionDep, principal: AuthorDep) -> PCRVersionOut:
    row = pcr_registry.create_draft(session, principal, pcr_id, body.version, body.start_from)
    return pcr_registry.version_view(session, principal, row.pcr_id, row.version)


@router.get(
    "/{pcr_id}/versions/{version}",
    summary="One version: status, dates, issuer, document and the consultation's comments with their answers",
)
def version(pcr_id: str, version: str, session: SessionDep, principal: MaybePrincipal) -> PCRVersionOut:
    return pcr_registry.version_view(session, principal, pcr_id, version)


@router.put(
    "/{pcr_id}/versions/{version}/document",
    summary="Replace a draft's document (a PCR as JSON, at most 1 MiB); the answer lists what the full check finds",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}},
    responses={409: {"description": "not a draft (a published version is never edited)"}, 413: {}},
)
async def replace_document(
    pcr_id: str, version: str, request: Request, session: SessionDep, principal: AuthorDep
) -> PCRVersionOut:
    document = pcr_registry.parse_document(await request.body())
    # the full check and the database block: off the event loop
    return await run_in_threadpool(pcr_registry.replace_and_view, session, principal, pcr_id, version, document)


@router.post(
    "/{pcr_id}/versions/{version}/actions/{action}",
    summary="A step of the life cycle: open_consultation (an author), close_consultation, publish or withdraw (the "
    "chair); the life cycle's table decides who may",
    responses={
        409: {"description": "not allowed from the version's state; comments unanswered"},
        422: {"description": "the document does not pass the full check, or the dates are not sound"},
    },
)
def act(
    pcr_id: str, version: str, action: Action, body: PCRActionIn, session: SessionDep, principal: AuthorDep
) -> PCRVersionOut:
    if action == "open_consultation":
        pcr_registry.open_consultation(session, principal, pcr_id, version, body.consultation_until)
    elif action == "close_consultation":
        pcr_registry.close_consultation(session, principal, pcr_id, version)
    elif action == "publish":
        pcr_registry.publish(
            session, principal, pcr_id, version, body.effective_from, body.valid_until, body.transition_until
        )
    else:
        pcr_registry.withdraw(session, principal, pcr_id, version, body.reason)
    return pcr_registry.version_view(session, principal, pcr_id, version)


@router.post(
    "/{pcr_id}/versions/{version}/comments",
    summary="Comment on a section or item during the public consultation (anyone signed in)",
    status_code=201,
)
def comment(
    pcr_id: str, version: str, body: PCRCommentIn, session: SessionDep, principal: CurrentPrincipal
) -> PCRCommentOut:
    note = pcr_registry.comment(session, principal, pcr_id, version, body.path, body.text)
    return pcr_registry.comment_view(session, note)


@router.post(
    "/{pcr_id}/versions/{version}/comments/{comment_id}/answer",
    summary="The chair's answer during review: accepted, or rejected with the reason",
)
def answer(
    pcr_id: str,
    version: str,
    comment_id: uuid.UUID,
    body: PCRAnswerIn,
    session: SessionDep,
    principal: ChairDep,
) -> PCRCommentOut:
    note = pcr_registry.answer(session, principal, pcr_id, version, comment_id, body.decision, body.reason)
    return pcr_registry.comment_view(session, note)
