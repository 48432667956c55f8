"""Pages of supply chains: the "check" of a label number typed in the inventory form, the one-click recalculation
of a footprint whose supplier value was withdrawn (on the supplier's newer value), and a certification body's labels
resting on withdrawn supplier values.

The supplier sources of a footprint are shown on its page (web.routes.manufacturer) and in the verifier's review
file (web.routes.certification); the affected footprints on the manufacturer's dashboard. Every handler calls the
same service functions as the JSON routes of api/supply.py (services.supply_chain).
"""

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from footprint_api.core.errors import Conflict
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Role
from footprint_api.services import jobs, messages, supplier_data, supply_chain
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import inventory, manufacturer, page_router
from footprint_api.web.session import ManufacturerPage, PageUser

router = page_router()
BodyPage = Annotated[PageUser, Depends(session.page_user(Role.VERIFIER, Role.CB_ADMIN))]


@router.post("/app/inventories/check-label")
async def check_label(request: Request, user: ManufacturerPage, db: SessionDep):
    """The inventory form sent by an item's "check" button (its formaction): shown again as it was, nothing
    stored, with what the public label of the number typed says (web.routes.inventory.label_checked_form)."""
    fields = await session.form(request, user)
    return await run_in_threadpool(inventory.label_checked_form, request, user, db, fields)


@router.post("/app/footprints/{footprint_id}/recalculate-with-newer-supplier-data")
async def recalculate(request: Request, footprint_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    """A new inventory version with each withdrawn supplier value replaced by its successor, calculated; then the
    job's page. A source without a successor is named on the footprint's page (409): the buyer chooses another
    supplier value in the form."""
    await session.form(request, user)
    try:
        job = await run_in_threadpool(supply_chain.recalculate_with_newer, db, user.principal, footprint_id)
    except Conflict as exc:
        db.rollback()
        t = i18n.catalogue(i18n.negotiate(request))
        reasons = [messages.worded(t, e.get("code") or "", e.get("params"), e.get("reason", "")) for e in exc.errors]
        shown = "; ".join(r for r in reasons if r) or messages.worded(t, exc.code or "", exc.params, exc.detail)
        return await run_in_threadpool(
            manufacturer.footprint_error, request, user, db, footprint_id, 409, supply_error=shown
        )
    await run_in_threadpool(jobs.dispatch, str(job.id))
    return RedirectResponse(f"/app/jobs/{job.id}", status_code=303)


@router.get("/app/supply/labels-at-risk")
def labels_at_risk(request: Request, db: SessionDep, user: BodyPage):
    """The labels this certification body issued whose footprint rests on a withdrawn supplier value: the body
    decides whether to suspend them until the manufacturer recalculates."""
    t = i18n.catalogue(i18n.negotiate(request))
    rows = supply_chain.labels_at_risk(db, user.principal)
    return page(
        request,
        "supply/labels_at_risk.html",
        user,
        rows=rows,
        when=when,
        reason=lambda code, params: supplier_data.reason_text(t, code, params),
        item_name=lambda row: supplier_data.item_name(db, row["footprint_id"], row["item"], t.lang),
    )
