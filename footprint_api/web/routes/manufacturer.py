"""Pages of the web application: the manufacturer's dashboard, calculation jobs, footprints and their comparison.

Every handler parses, authorises (a manufacturer's session), calls the same service functions as the JSON API
(services.footprints, services.exports) or the read-only views of services.dashboard, and renders. Another
organisation's object answers 404 through the services' ownership checks, exactly as in the API.
"""

import math
import uuid
from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from footprint_api.core.errors import Unprocessable
from footprint_api.core.names import pcr_names, term
from footprint_api.exports import cbam
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import InventoryRecord, JobStatus, Product, Role
from footprint_api.schemas import CalculationIn
from footprint_api.services import dashboard, exports, footprints, jobs
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import ManufacturerPage

router = page_router()
manufacturer = session.page_user(Role.MANUFACTURER_MEMBER, Role.MANUFACTURER_ADMIN)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTRIBUTORS_IN_CHART = 6  # bars of the contribution chart; the rest is one bar
POLL_MILLISECONDS = 500
MONTE_CARLO_MAX = next(
    bound.le
    for bound in CalculationIn.model_fields["monte_carlo_iterations"].metadata
    if getattr(bound, "le", None) is not None
)  # the JSON API's bound, shown in the form
BADGES = {
    "active": "ok",
    "succeeded": "ok",
    "suspended": "warn",
    "running": "warn",
    "queued": "warn",
    "revoked": "bad",
    "failed": "bad",
    "expired": "bad",
    "superseded": "",
}


# --- presentation of numbers and terms --------------------------------------------------------------------------


def number(value: float | int | None, digits: int = 4) -> str:
    """Thousands separators and `digits` significant digits (more only before the decimal point): 784.8, 12,346,
    0.05450. Trailing zeros are kept: they state the precision."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{round(value, decimals):,.{decimals}f}"


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f}\u00a0%"  # no break between number and sign


def _helpers(request: Request) -> dict:
    t = i18n.catalogue(i18n.negotiate(request))
    return {
        "n": number,
        "pct": percent,
        "when": when,
        "badge": lambda state: BADGES.get(state or "", ""),
        "term": lambda group, key: term(t, group, key),
    }


def _render(request: Request, template: str, user, status_code: int = 200, **values):
    return page(request, f"manufacturer/{template}", user, status_code, **_helpers(request), **values)


# --- dashboard --------------------------------------------------------------------------------------------------


def _pager(path: str, number: int, per_page: int, count: int) -> dict:
    """Where the reader is in a long list, and the links to the neighbouring pages."""
    pages = max(1, math.ceil(count / per_page))
    return {
        "page": number,
        "pages": pages,
        "count": count,
        "previous": f"{path}?page={number - 1}" if number > 1 else None,
        "next": f"{path}?page={number + 1}" if number < pages else None,
    }


PageNumber = Annotated[int, Query(alias="page", ge=1, le=100_000)]


@router.get("/app/dashboard")
def dashboard_page(request: Request, user: ManufacturerPage, db: SessionDep, number: PageNumber = 1):
    overview = dashboard.dashboard(db, user.principal, (number - 1) * dashboard.PRODUCTS_PER_PAGE)
    return _render(
        request,
        "dashboard.html",
        user,
        overview=overview,
        pager=_pager("/app/dashboard", number, dashboard.PRODUCTS_PER_PAGE, overview.product_count),
    )


# --- calculation jobs -------------------------------------------------------------------------------------------


def _calculation(fields: dict) -> tuple[CalculationIn | None, dict[str, str]]:
    """The form's calculation parameters through the JSON API's own schema (same bounds); errors by field."""
    raw = fields.get("monte_carlo_iterations") or "0"
    try:
        return CalculationIn(monte_carlo_iterations=str(raw).strip()[:12]), {}
    except ValidationError as exc:
        return None, {str(e["loc"][0]): e["msg"] for e in exc.errors()}


def _start(db: Session, user, inventory_id: uuid.UUID, parameters: CalculationIn) -> RedirectResponse:
    job = footprints.request_calculation(
        db, user.principal, inventory_id, parameters.monte_carlo_iterations, parameters.seed
    )
    jobs.dispatch(str(job.id))
    return RedirectResponse(f"/app/jobs/{job.id}", status_code=303)


@router.post("/app/jobs")
async def start_calculation(request: Request, user: ManufacturerPage, db: SessionDep):
    """Calculate an inventory (the dashboard's "calculate" button; fields inventory_id and, optionally,
    monte_carlo_iterations), then follow the job on its page."""
    fields = await session.form(request, user)
    try:
        inventory_id = uuid.UUID(str(fields.get("inventory_id", ""))[:40])
    except ValueError:
        raise Unprocessable(
            "name the inventory to calculate", [{"field": "inventory_id", "reason": "not an inventory id"}]
        ) from None
    parameters, errors = _calculation(fields)
    if parameters is None:
        raise Unprocessable(
            "the calculation's parameters are out of bounds", [{"field": f, "reason": r} for f, r in errors.items()]
        )
    return await run_in_threadpool(_start, db, user, inventory_id, parameters)


def _job_status(job) -> dict:
    return {
        "status": job.status.value,
        "progress": job.progress,
        "error": job.error,
        "footprint_url": f"/app/footprints/{job.footprint_id}" if job.footprint_id else None,
    }


@router.get("/app/jobs/{job_id}")
def job_page(request: Request, job_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    job = footprints.get_job(db, user.principal, job_id)
    inventory = db.get(InventoryRecord, job.inventory_id)  # the job's own (same organisation)
    product = db.get(Product, inventory.product_id)
    finished = job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
    t = i18n.catalogue(i18n.negotiate(request))
    poll = {
        "url": f"/app/jobs/{job.id}/status",
        "interval_ms": POLL_MILLISECONDS,
        "states": {state.value: term(t, "job_status", state.value) for state in JobStatus},
    }
    return _render(
        request,
        "job.html",
        user,
        job=job,
        inventory=inventory,
        product=product,
        status=_job_status(job),
        finished=finished,
        poll=poll,
    )


@router.get("/app/jobs/{job_id}/status")
def job_status(job_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    """What the job page's script polls: status, progress (0..1), where the result is, or why it failed."""
    job = footprints.get_job(db, user.principal, job_id)
    return JSONResponse(_job_status(job), headers={"Cache-Control": "no-store"})


# --- footprints -------------------------------------------------------------------------------------------------


@router.get("/app/footprints")
def footprint_list(request: Request, user: ManufacturerPage, db: SessionDep, number: PageNumber = 1):
    rows, count = dashboard.footprints(db, user.principal, (number - 1) * dashboard.FOOTPRINTS_PER_PAGE)
    return _render(
        request,
        "footprints.html",
        user,
        rows=rows,
        pager=_pager("/app/footprints", number, dashboard.FOOTPRINTS_PER_PAGE, count),
    )


@router.get("/app/footprints/compare")
def compare_page(request: Request, a: uuid.UUID, b: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    comparison = dashboard.compare(db, user.principal, a, b)
    return _render(request, "compare.html", user, c=comparison)


def _contribution_chart(result: dict, t: i18n.Catalogue, item_names: dict[str, str]) -> dict:
    """Top contributors and the rest as one bar (an ECharts option; the same numbers are in the table)."""
    rows = result["contributions"]
    top, rest = rows[:CONTRIBUTORS_IN_CHART], rows[CONTRIBUTORS_IN_CHART:]
    names = [f"{item_names.get(c['item'], c['item'])} · {term(t, 'part', c['part'])}" for c in top]
    values = [round(c["kg_co2e"], 4) for c in top]
    if rest:
        names.append(t("mfr.fp.rest", count=len(rest)))
        values.append(round(sum(c["kg_co2e"] for c in rest), 4))
    unit = _per_declared_unit(result)
    return {
        "aria": {"enabled": True},
        "animation": False,
        "grid": {"left": 8, "right": 24, "top": 8, "bottom": 36, "containLabel": True},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "xAxis": {"type": "value", "name": unit, "nameLocation": "middle", "nameGap": 28},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": names,
            "axisLabel": {"width": 150, "overflow": "truncate"},
        },
        "series": [
            {"type": "bar", "name": t("mfr.fp.contribution"), "data": values, "itemStyle": {"color": "#1b6b3a"}}
        ],
    }


def _per_declared_unit(result: dict) -> str:
    return f"kg CO2e / {result['declared_unit']['amount']:g} {result['declared_unit']['unit']}"


def _uncertainty_chart(result: dict, t: i18n.Catalogue) -> dict | None:
    """The Monte Carlo distribution as stored: the 95 % interval as a band, median, mean and the point result."""
    u = result.get("uncertainty")
    if not u:
        return None
    unit = _per_declared_unit(result)
    points = [
        (t("mfr.mc.p2_5"), u["p2_5_kg_co2e"]),
        (t("mfr.mc.median"), u["median_kg_co2e"]),
        (t("mfr.mc.mean"), u["mean_kg_co2e"]),
        (t("mfr.mc.p97_5"), u["p97_5_kg_co2e"]),
        (t("mfr.fp.total"), result["total_kg_co2e"]),
    ]
    low, high = u["p2_5_kg_co2e"], u["p97_5_kg_co2e"]
    return {
        "aria": {"enabled": True},
        "animation": False,
        "grid": {"left": 8, "right": 24, "top": 8, "bottom": 36, "containLabel": True},
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "value", "scale": True, "name": unit, "nameLocation": "middle", "nameGap": 28},
        "yAxis": {"type": "category", "inverse": True, "data": [p[0] for p in points]},
        "series": [
            {
                "type": "scatter",
                "symbolSize": 14,
                "itemStyle": {"color": "#1b6b3a"},
                "data": [[round(v, 4), name] for name, v in points],
                "markArea": {
                    "itemStyle": {"color": "rgba(27,107,58,0.12)"},
                    "data": [[{"xAxis": round(low, 4)}, {"xAxis": round(high, 4)}]],
                },
            }
        ],
    }


def _cbam(db: Session, user, footprint_id: uuid.UUID) -> str | None:
    """Why there is no CBAM export of this footprint (the export service's own answer), or None when there is."""
    try:
        exports.cbam_line(db, user.principal, footprint_id)
    except Unprocessable as exc:
        return exc.detail
    return None


def _certificates(result: dict, inventory: dict) -> list[dict]:
    """Each certificate as the electricity account used it, with what the inventory retired (MWh, province)."""
    retired = {c["serial"]: c for c in inventory.get("green_certificates", [])}
    blank = {"amount_mwh": None, "province": "", "instrument": ""}
    return [
        {**blank, **retired.get(c["serial"], {}), **c, "factor_kg_co2e_per_kwh": c["factor"]["kg_co2e_per_kwh"]}
        for c in result["electricity"]["certificates"]
    ]


def _footprint_page(
    request: Request,
    user,
    db: Session,
    footprint_id: uuid.UUID,
    status_code: int = 200,
    mc_error: str | None = None,
    mc_value: str = "1000",
):
    view = dashboard.footprint_view(db, user.principal, footprint_id)
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    result = view.footprint.result
    names = pcr_names(result.get("pcr") or {}, lang)
    return _render(
        request,
        "footprint.html",
        user,
        status_code,
        v=view,
        r=result,
        names=names,
        per_du=f"kg CO2e / {view.footprint.declared_unit}",
        certificates=_certificates(result, view.inventory.data),
        contribution_chart=_contribution_chart(result, t, names["item"]),
        mc_chart=_uncertainty_chart(result, t),
        cbam_reason=_cbam(db, user, footprint_id),
        mc_error=mc_error,
        mc_value=mc_value,
        mc_max=MONTE_CARLO_MAX,
    )


@router.get("/app/footprints/{footprint_id}")
def footprint_page(request: Request, footprint_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    return _footprint_page(request, user, db, footprint_id)


@router.post("/app/footprints/{footprint_id}/monte-carlo")
async def monte_carlo(request: Request, footprint_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    """Calculate the footprint's inventory again with a Monte Carlo run of the given iterations."""
    fields = await session.form(request, user)
    found = await run_in_threadpool(footprints.visible_footprint, db, user.principal, footprint_id)
    parameters, _ = _calculation(fields)
    if parameters is None or parameters.monte_carlo_iterations == 0:
        t = i18n.catalogue(i18n.negotiate(request))
        message = t("mfr.mc.out_of_bounds", max=number(MONTE_CARLO_MAX, 1))
        return await run_in_threadpool(
            _footprint_page,
            request,
            user,
            db,
            footprint_id,
            422,
            message,
            str(fields.get("monte_carlo_iterations", ""))[:12],
        )
    return await run_in_threadpool(_start, db, user, found.inventory_id, parameters)


@router.get("/app/footprints/{footprint_id}/report.pdf")
def report_pdf(footprint_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    return Response(
        exports.report_pdf(db, user.principal, footprint_id),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="footprint-{footprint_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/app/footprints/{footprint_id}/cbam.{fmt}")
def cbam_export(footprint_id: uuid.UUID, fmt: Literal["csv", "xlsx"], user: ManufacturerPage, db: SessionDep):
    line = exports.cbam_line(db, user.principal, footprint_id)
    name = f"cbam-{line.cn_code.replace(' ', '')}-{footprint_id}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "xlsx":
        return Response(cbam.to_xlsx(line), media_type=XLSX, headers=headers)
    return Response(cbam.to_csv(line), media_type="text/csv; charset=utf-8", headers=headers)
