"""Pages of the web application: the labels a certification body issued, and the steps it takes on them (suspend,
reinstate, revoke), through the same service functions as the JSON API (services.labels)."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlmodel import Session

from footprint_api.core.errors import Conflict, NotFound
from footprint_api.persistence.db import SessionDep
from footprint_api.schemas import LabelActionIn
from footprint_api.services import certification, labels
from footprint_api.web import session
from footprint_api.web.routes import page_router
from footprint_api.web.routes.certification import LABEL_STEPS, _render, _see, _text, _validation_errors, body
from footprint_api.web.session import PageUser
from label_service.workflow import LabelState

router = page_router()


def _labels(
    request: Request,
    user,
    db: Session,
    status_code: int = 200,
    errors: dict | None = None,
    problem: str = "",
    done: str = "",
):
    issued = certification.issued_labels(db, user.principal)
    return _render(
        request,
        "labels.html",
        user,
        status_code,
        labels=issued,
        errors=errors or {},
        problem=problem,
        done=done or request.query_params.get("done", ""),
        steps=_label_steps,
    )


def _label_steps(state: str) -> list[str]:
    from label_service.workflow import LABEL_ACTIONS

    return [action for action in LABEL_STEPS if LabelState(state) in LABEL_ACTIONS[action][0]]


@router.get("/app/labels")
def labels_page(request: Request, db: SessionDep, user: Annotated[PageUser, Depends(body)]):
    return _labels(request, user, db)


@router.post("/app/labels/{number}/{action}")
async def label_step(
    request: Request, number: str, action: str, db: SessionDep, user: Annotated[PageUser, Depends(body)]
):
    data = await session.form(request, user)
    label, _ = labels.lookup(db, number)
    if label is None or label.issuer_id != user.principal.organisation_id or action not in LABEL_STEPS:
        raise NotFound("no such label issued by you")
    reason = _text(data, "comment")
    try:
        LabelActionIn(comment=reason)
        await run_in_threadpool(labels.change_state, db, user.principal, label.number, action, reason)
    except ValidationError as exc:
        return _labels(request, user, db, 422, {f"{label.number}.{action}": _validation_errors(exc).get("comment", "")})
    except Conflict as exc:
        return _labels(request, user, db, 409, problem=exc.detail)
    return _see(f"/app/labels?done={action}#label-{label.number}")
