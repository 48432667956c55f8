"""Pages of the web application: the manufacturer's dashboard, calculation jobs, footprints and their comparison,
and a product over its inventory versions.

Every handler parses, authorises (a manufacturer's session), calls the same service functions as the JSON API
(services.footprints, services.exports) or the read-only views of services.dashboard, and renders. Another
organisation's object answers 404 through the services' ownership checks, exactly as in the API.
"""

import math
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from footprint_api.core.errors import Unprocessable
from footprint_api.core.names import province_name, term
from footprint_api.exports import cbam, report
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import InventoryRecord, JobStatus, Product, Role
from footprint_api.schemas import CalculationIn
from footprint_api.services import dashboard, exports, footprints, jobs, labels, messages, supplier_data
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import ManufacturerPage
from label_service.claim import grouped

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
UNIT_LABELS = {"percent": "%", "dimensionless": ""}  # how a page writes these units after a number


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


def as_typed(value: float) -> str:
    """An amount as a person typed it, with thousands separators and no digit more or less: 120, 0.652, 118,000,000."""
    return grouped(format(Decimal(repr(float(value))).normalize(), "f"))


def unit_label(unit: str | None) -> str:
    """A unit as written after a number: percent as %, a plain fraction as nothing."""
    return UNIT_LABELS.get(unit or "", unit or "")


def _helpers(request: Request) -> dict:
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    return {
        "sd_number": number,
        "sd_percent": percent,
        "sd_reason": lambda code, params: supplier_data.reason_text(t, code, params),
        "province": lambda name: province_name(name, lang),
        "n": number,
        "typed": as_typed,
        "pct": percent,
        "when": when,
        "unit": unit_label,
        "badge": lambda state: BADGES.get(state or "", ""),
        "term": lambda group, key: term(t, group, key),
    }


def _render(request: Request, template: str, user, status_code: int = 200, **values):
    return page(request, f"manufacturer/{template}", user, status_code, **_helpers(request), **values)


# --- dashboard --------------------------------------------------------------------------------------------------


def _pager(path: str, number: int, per_page: int, count: int, query: dict | None = None) -> dict:
    """Where the reader is in a long list, and the links to the neighbouring pages (with the list's filters)."""
    pages = max(1, math.ceil(count / per_page))

    def link(page_number: int) -> str:
        return f"{path}?{urlencode({**(query or {}), 'page': page_number})}"

    return {
        "page": number,
        "pages": pages,
        "count": count,
        "previous": link(number - 1) if number > 1 else None,
        "next": link(number + 1) if number < pages else None,
    }


PageNumber = Annotated[int, Query(alias="page", ge=1, le=100_000)]


@router.get("/app/dashboard")
def dashboard_page(request: Request, user: ManufacturerPage, db: SessionDep, number: PageNumber = 1):
    t = i18n.catalogue(i18n.negotiate(request))
    overview = dashboard.dashboard(db, user.principal, (number - 1) * dashboard.PRODUCTS_PER_PAGE, t)
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
        "wait_s": 25,  # long-poll: the status route answers when the job changes
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
async def job_status(
    job_id: uuid.UUID,
    user: ManufacturerPage,
    wait: Annotated[float, Query(ge=0, le=footprints.WAIT_MAX_SECONDS)] = 0,
):
    """What the job page's script asks: status, progress (0..1), where the result is, or why it failed; with
    `wait`, answered when the job changes or the wait ends (services.footprints.job_after_change), holding no
    database session or worker thread while it waits."""
    job = await footprints.job_after_change(user.principal, job_id, wait)
    return JSONResponse(_job_status(job), headers={"Cache-Control": "no-store"})


# --- footprints -------------------------------------------------------------------------------------------------


SEARCH_MAX_CHARS = 100
PAGES_MAX = 100_000


def _search(raw: str) -> str:
    if len(raw) > SEARCH_MAX_CHARS:
        raise ValueError
    return raw


def _year(raw: str) -> int | None:
    year = int(raw) if raw else None
    if year is not None and not 1900 <= year <= 2200:
        raise ValueError
    return year


def _one_of(allowed: tuple[str, ...], default: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw and raw not in allowed:
            raise ValueError
        return raw or default

    return parse


def _page_number(raw: str) -> int:
    page_number = int(raw) if raw else 1
    if not 1 <= page_number <= PAGES_MAX:
        raise ValueError
    return page_number


# The footprint list's query fields: how each is read (ValueError: refused, shown at its field), and its default
LIST_FIELDS: dict[str, tuple[Callable[[str], object], object]] = {
    "q": (_search, ""),
    "product": (lambda raw: uuid.UUID(raw) if raw else None, None),
    "pcr": (lambda raw: raw[:100], ""),
    "year": (_year, None),
    "label": (_one_of(dashboard.LABEL_FILTERS, ""), ""),
    "sort": (_one_of(dashboard.FOOTPRINT_SORTS, "product"), "product"),
    "page": (_page_number, 1),
}


def _list_query(request: Request) -> tuple[dict[str, object], dict[str, str]]:
    """The footprint list's fields from the query string, and the fields refused (by name) with what was typed."""
    values, refused = {}, {}
    for name, (parse, default) in LIST_FIELDS.items():
        raw = request.query_params.get(name, "").strip()
        try:
            values[name] = parse(raw)
        except ValueError:
            values[name], refused[name] = default, raw
    return values, refused


@router.get("/app/footprints")
def footprint_list(request: Request, user: ManufacturerPage, db: SessionDep):
    """The organisation's footprints: searched by product name or model, filtered by product, PCR, reference year
    and label, ordered, a page at a time. A field that cannot be read is named in the reader's language (422) and
    the list is shown without it."""
    values, refused = _list_query(request)
    wanted = dashboard.FootprintFilter(
        values["q"], values["product"], values["pcr"], values["year"], values["label"], values["sort"]
    )
    number = values["page"]
    per_page = dashboard.FOOTPRINTS_PER_PAGE
    rows, count = dashboard.footprints(db, user.principal, (number - 1) * per_page, per_page, wanted)
    t = i18n.catalogue(i18n.negotiate(request))
    query = {  # what the pages' links keep: the fields given and read
        name: raw
        for name in LIST_FIELDS
        if name != "page" and name not in refused and (raw := request.query_params.get(name, "").strip())
    }
    return _render(
        request,
        "footprints.html",
        user,
        422 if refused else 200,
        rows=rows,
        wanted=wanted,
        choices=dashboard.footprint_choices(db, user.principal),
        errors={name: t(f"mfr.list.refused.{name}", max=SEARCH_MAX_CHARS) for name in refused},
        refused_text=refused,
        filtered=bool(query),
        pager=_pager("/app/footprints", number, per_page, count, query),
    )


def _names(result_or_inventory_pcr: dict, lang: str) -> dict:
    """Items and parameters of a PCR by their names in the reader's language (codes where the PCR is unknown)."""
    pcr = report.result_pcr({"pcr": result_or_inventory_pcr})
    return {"item": report.item_names(pcr, lang), "parameter": report.parameter_names(pcr, lang), "pcr": pcr}


MEASURED_ITEM = re.compile(r"measured_(?P<gas>[a-z0-9]+)(?:_(?P<n>\d+))?")


def item_name(names: dict, t: i18n.Catalogue, code: str) -> str:
    """An item of a result in the reader's language: the PCR's name, or a measurement's ('measured_co2_2')."""
    if code in names["item"]:
        return names["item"][code]
    measured = MEASURED_ITEM.fullmatch(code)
    if measured:
        gas = measured["gas"].upper()
        return t("mfr.item.measured_n", gas=gas, n=measured["n"]) if measured["n"] else t("mfr.item.measured", gas=gas)
    return code


def _change_name(change: dashboard.Change, names: dict, t: i18n.Catalogue) -> str:
    """A compared row's name in the reader's language: an item's or a parameter's from the PCR, a result's, a
    stage's, a gas's or a contributor's (its item and part) from the catalogue; a certificate by its serial."""
    if change.group == "item":
        return item_name(names, t, change.key)
    if change.group == "parameter":
        item, _, parameter = change.key.rpartition(".")
        name = names["parameter"].get(change.key, parameter)
        return f"{item_name(names, t, item)} · {name}" if item else name
    if change.group == "contributor":
        return f"{item_name(names, t, change.key)} · {term(t, 'part', change.part)}"
    if change.group == "certificate":
        return change.key
    return term(t, change.group, change.key)


@router.get("/app/footprints/compare")
def compare_page(request: Request, a: uuid.UUID, b: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    comparison = dashboard.compare(db, user.principal, a, b)
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    names = _names({"id": comparison.b.inventory.pcr_id, "version": comparison.b.inventory.pcr_version}, lang)
    named = {id(c): _change_name(c, names, t) for c in (*comparison.inputs, *comparison.results)}
    return _render(request, "compare.html", user, c=comparison, named=lambda change: named[id(change)])


def _contribution_chart(result: dict, t: i18n.Catalogue, item: Callable[[str], str]) -> dict:
    """Top contributors and the rest as one bar (an ECharts option; the same numbers are in the table)."""
    rows = result["contributions"]
    top, rest = rows[:CONTRIBUTORS_IN_CHART], rows[CONTRIBUTORS_IN_CHART:]
    names = [f"{item(c['item'])} · {term(t, 'part', c['part'])}" for c in top]
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


def _cbam(pcr_id: str, t: i18n.Catalogue) -> str | None:
    """Why there is no CBAM export of this footprint, in the reader's language, or None when there is one."""
    refusal = cbam.refusal(pcr_id)
    return messages.worded(t, refusal.code, refusal.params, str(refusal)) if refusal else None


BASIS = re.compile(r"measured \((?P<how>.*)\)(?P<calculated> and calculated)?")
CEMS = "CEMS of the unit"  # lca_models.foreground: a captive unit's own stack monitor


def _measured(result: dict, names: dict, t: i18n.Catalogue) -> list[dict]:
    """The direct emissions measured rather than calculated, per item and gas, in the reader's language: by a
    captive unit's CEMS, or by an inventory measurement ('measured (method, source: measured_co2)')."""
    rows = []
    for item, gases in (result.get("direct_emissions_by_item") or {}).items():
        for gas, basis in gases.items():
            found = BASIS.fullmatch(basis)
            if not found:
                continue
            how, _, replaced_by = found["how"].rpartition(": ")
            if found["how"] == CEMS:
                how = t("mfr.dq.cems")
            elif not how:
                how = found["how"]
            else:
                how = f"{how} → {item_name(names, t, replaced_by)}"
            if found["calculated"]:
                how = t("mfr.dq.and_calculated", how=how)
            rows.append({"item": item_name(names, t, item), "gas": gas.upper(), "how": how})
    return rows


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
    supply_error: str | None = None,
):
    view = dashboard.footprint_view(db, user.principal, footprint_id)
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    result = view.footprint.result
    names = _names(result.get("pcr") or {}, lang)
    pcr = names["pcr"]
    return _render(
        request,
        "footprint.html",
        user,
        status_code,
        v=view,
        r=result,
        item=lambda code: item_name(names, t, code),
        declared_unit=(pcr.declared_unit.description_zh if lang == "zh" and pcr else None)
        or result["declared_unit"]["description"],
        explained=report.explained(result, lang),
        method=" · ".join(t.messages.get(f"mfr.characterisation.{part}", part) for part in result["method"]["total"]),
        measured=_measured(result, names, t),
        per_du=f"kg CO2e / {view.footprint.declared_unit}",
        certificates=_certificates(result, view.inventory.data),
        contribution_chart=_contribution_chart(result, t, lambda code: item_name(names, t, code)),
        mc_chart=_uncertainty_chart(result, t),
        cbam_reason=_cbam(view.footprint.pcr_id, t),
        downloads={label.number: labels.downloads(label, lang) for label in view.labels},
        mc_error=mc_error,
        mc_value=mc_value,
        mc_max=MONTE_CARLO_MAX,
        supply=supplier_data.footprint_sources(db, user.principal, view.footprint),
        supply_error=supply_error,
    )


def footprint_error(request: Request, user, db: Session, footprint_id: uuid.UUID, status_code: int, **shown):
    """The footprint's page again with a refusal at the control it concerns (a step another part's page route
    took: the recalculation on newer supplier data, `supply_error`)."""
    return _footprint_page(request, user, db, footprint_id, status_code, **shown)


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


# --- a product over time ----------------------------------------------------------------------------------------

# The history chart's frames in CSS pixels (one SVG unit each, so its text is read at its size): one for a desktop,
# one for a phone (the page offers both, the browser takes the one for its width); `slot` is the least width of one
# version, by which a product of many versions gets a wider chart (in a region that scrolls sideways).
CHART = {"width": 640, "height": 260, "left": 64, "right": 16, "top": 40, "bottom": 48, "slot": 96}
PHONE_CHART = {"width": 320, "height": 240, "left": 48, "right": 12, "top": 36, "bottom": 44, "slot": 64}


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values for a value axis from `low` to `high` (1, 2 or 5 times a power of ten apart)."""
    span = (high - low) or abs(high) or 1.0
    raw = span / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    return [first + i * step for i in range(math.ceil((high - first) / step) + 1)]


def history_chart(points: list[dashboard.HistoryPoint], frame: dict = CHART) -> dict | None:
    """The product's figure per inventory version as an SVG line chart drawn on the server: coordinates of each
    point, of the axis ticks and of the line (no script; the same numbers are in the table under it). The value
    axis spans the figures in round steps, not from zero: a correction of a few per cent must show; every point
    is labelled with its value."""
    if not points:
        return None
    values = [p.total_kg_co2e for p in points] + [float(p.label_value) for p in points if p.label_value]
    ticks = _ticks(min(values), max(values))
    bottom, top = ticks[0], ticks[-1]
    decimals = max(0, -math.floor(math.log10(ticks[1] - ticks[0])))  # a step of 200 -> 0, of 0.2 -> 1
    c = {**frame, "width": max(frame["width"], frame["left"] + frame["right"] + frame["slot"] * len(points))}
    plot_w, plot_h = c["width"] - c["left"] - c["right"], c["height"] - c["top"] - c["bottom"]

    def y(value: float) -> float:
        return round(c["top"] + plot_h * (1 - (value - bottom) / ((top - bottom) or 1)), 1)

    step = plot_w / len(points)
    drawn = [
        {
            "point": p,
            "x": round(c["left"] + step * (i + 0.5), 1),
            "y": y(p.total_kg_co2e),
            "label_y": y(float(p.label_value)) if p.label_value else None,
        }
        for i, p in enumerate(points)
    ]
    return {
        **c,
        "plot_bottom": c["height"] - c["bottom"],
        "plot_right": c["width"] - c["right"],
        "ticks": [{"value": v, "y": y(v), "text": f"{v:,.{decimals}f}"} for v in ticks],
        "points": drawn,
        "line": " ".join(f"{d['x']},{d['y']}" for d in drawn),
    }


@router.get("/app/products/{product_id}/history")
def product_history(request: Request, product_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    """A product over its inventory versions and reference years: the figure of each version as a chart, and
    every calculation and label in tables."""
    history = dashboard.product_history(db, user.principal, product_id)
    return _render(
        request,
        "history.html",
        user,
        h=history,
        charts={"wide": history_chart(history.points), "phone": history_chart(history.points, PHONE_CHART)},
        chart_unit=f"kg CO2e / {history.points[-1].declared_unit}" if history.points else "",
    )
