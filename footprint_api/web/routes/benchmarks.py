"""Pages of benchmarks and grades: the platform admin's (every comparable group with its benchmarks; compute one
from the registry; set a cited one, previewed before it is recorded) and the public ones (the groups, and one
group: its benchmark's basis, the bands as values, the distribution of its valid labels with their ranks and
grades).

Every handler parses, authorises, calls services.benchmarks (the same functions as the JSON API) and renders. A
refusal is shown beside the fields it names, in the reader's language, with nothing stored.
"""

from datetime import date
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from footprint_api.core import names
from footprint_api.core.errors import Conflict, NotFound, ServiceError, Unprocessable
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Benchmark, Role
from footprint_api.services import benchmarks, messages
from footprint_api.services.benchmarks import CitedBenchmark, Group
from footprint_api.services.verification import today
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import admin, page_router
from footprint_api.web.session import OptionalPageUser, PageUser
from label_service import grading

router = page_router()
PlatformAdminDep = Annotated[PageUser, Depends(session.page_user(Role.PLATFORM_ADMIN))]
ADMIN = "/app/admin/benchmarks"
DONE = {"computed", "cited"}  # notices after a redirect: bm.done.<code>
BAND_FIELDS = tuple(f"band{grade}" for grade in grading.GRADES[:-1])  # the four upper bounds of grades 1-4
CITED_FIELDS = ("year", "value", "citation", "citation_zh", "effective_from", *BAND_FIELDS)


def _t(request: Request):
    return i18n.catalogue(i18n.negotiate(request))


def _helpers(request: Request) -> dict:
    """What the benchmark templates share: names of groups and bases, numbers as people read them."""
    lang = i18n.negotiate(request)
    return {
        "when": when,
        "group_name": lambda group: benchmarks.group_name(group, lang),
        "class_name": lambda group: benchmarks.class_name(group, lang),
        "basis_text": lambda benchmark: benchmarks.basis_text(benchmark, lang),
        "number": _number,
        "ratio": lambda value: f"{value:.2f}",
        "href": lambda group: group.href,
        "admin_href": lambda group: f"{ADMIN}/g/{quote(group.key, safe='')}",
        "api_href": lambda group: f"/api/v1/public/benchmarks/{quote(group.key, safe='')}",
        "province": lambda written: names.province_name(written, lang) if written else "–",
    }


def _number(value) -> str:
    """A value per declared unit as the tables show it: grouped, at most one decimal ('1,020', '740.5')."""
    if value is None:
        return "–"
    rounded = round(float(value), 1)
    return messages.number(int(rounded) if rounded.is_integer() else rounded)


def _admin_page(request: Request, template: str, user: PageUser, status_code: int = 200, **values):
    return page(
        request,
        f"benchmarks/{template}",
        user,
        status_code,
        tabs=admin._tabs(user),  # the administration's sections, this one among them
        **_helpers(request),
        **values,
    )


def _service_errors(request: Request, exc: ServiceError) -> dict[str, str]:
    """A refusal beside the fields it names, each in the reader's language by its code (`form` for the rest)."""
    t = _t(request)
    found: dict[str, str] = {}
    for error in exc.errors or [{"code": exc.code, "params": exc.params, "reason": exc.detail}]:
        field = error.get("field") or "form"
        field = "bands" if field.startswith("band") else field
        found.setdefault(
            field, messages.worded(t, error.get("code") or "", error.get("params"), error.get("reason", ""))
        )
    return found


# --- the platform admin: every group ------------------------------------------------------------------------------


def _groups_overview(db: Session) -> list[dict]:
    """Every group with labels or benchmarks: its valid labels (by reference year) and its newest benchmarks."""
    rows = {entry["group"]: entry for entry in benchmarks.groups_with_labels(db)}
    for benchmark in db.exec(select(Benchmark)):
        group = benchmarks.group_of_benchmark(benchmark)
        rows.setdefault(group, {"group": group, "labels": 0, "valid": 0, "years": {}})
    on = today()
    for group, entry in rows.items():
        entry["benchmark"] = benchmarks.benchmark_for(db, group, None, on)
    return [rows[group] for group in sorted(rows)]


@router.get(ADMIN)
def admin_list(request: Request, db: SessionDep, user: PlatformAdminDep):
    listed = _groups_overview(db)
    shown = {entry["group"] for entry in listed}
    others = [group for group in benchmarks.possible_groups() if group not in shown]
    return _admin_page(request, "admin_list.html", user, groups=listed, others=others)


@router.get(ADMIN + "/open")
def admin_open(db: SessionDep, user: PlatformAdminDep, group: str = ""):
    """The select of any group the PCRs define (a group without labels yet may get a cited benchmark)."""
    chosen = Group.from_key(group)
    return RedirectResponse(f"{ADMIN}/g/{quote(chosen.key, safe='')}", status_code=303)


# --- the platform admin: one group --------------------------------------------------------------------------------


def _group_values(db: Session, group: Group) -> dict:
    bands = benchmarks.current_bands(db, group)
    defaults = {field: f"{bound:g}" for field, bound in zip(BAND_FIELDS, bands, strict=True)}
    return {"effective_from": today().isoformat(), **defaults}


def _group_page(
    request: Request,
    db: Session,
    user: PageUser,
    group: Group,
    status_code: int = 200,
    errors: dict | None = None,
    values: dict | None = None,
    form: str | None = None,
    preview: dict | None = None,
    done: str | None = None,
):
    listing = benchmarks.groups_with_labels(db)
    years = next((entry["years"] for entry in listing if entry["group"] == group), {})
    return _admin_page(
        request,
        "admin_group.html",
        user,
        status_code,
        group=group,
        years=dict(sorted(years.items(), reverse=True)),
        versions=benchmarks.versions(db, group),
        errors=errors or {},
        values=_group_values(db, group) | (values or {}),
        form=form,
        preview=preview,
        minimum=grading.MIN_RANKED,
        default_year=max(years, default=today().year - 1),  # the newest reference year: a benchmark describes one
        default_bands=grading.DEFAULT_BANDS,
        bands_source=grading.BANDS_SOURCE_ZH if i18n.negotiate(request) == "zh" else grading.BANDS_SOURCE,
        notice=_t(request)(f"bm.done.{done}") if done in DONE else None,
    )


def _group_of_path(db: Session, key: str) -> Group:
    group = Group.from_key(key)
    try:
        return benchmarks.check_group(db, group)
    except Unprocessable:
        raise NotFound("no such comparable group", code="benchmarks.group.unknown") from None


@router.get(ADMIN + "/g/{key:path}")
def admin_group(request: Request, key: str, db: SessionDep, user: PlatformAdminDep, done: str | None = None):
    return _group_page(request, db, user, _group_of_path(db, key), done=done)


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _bands_given(values: dict) -> list[str]:
    return [values.get(field, "") for field in BAND_FIELDS]


def _back(group: Group, done: str) -> RedirectResponse:
    return RedirectResponse(f"{ADMIN}/g/{quote(group.key, safe='')}?{urlencode({'done': done})}", status_code=303)


@router.post(ADMIN + "/compute")
async def admin_compute(request: Request, db: SessionDep, user: PlatformAdminDep):
    """A registry benchmark of the group for a reference year (at least five valid labels of it)."""
    data = await session.form(request, user)
    group = _group_of_path(db, _text(data, "group"))
    values = {name: _text(data, name) for name in ("year", "effective_from", *BAND_FIELDS)}
    try:
        await run_in_threadpool(
            benchmarks.compute_from_registry,
            db,
            user.principal,
            group.key,
            values["year"],
            _bands_given(values),
            values["effective_from"] or None,
        )
    except (Unprocessable, Conflict) as exc:
        errors = _service_errors(request, exc)
        return _group_page(request, db, user, group, exc.status, errors, values, form="compute")
    return _back(group, "computed")


@router.post(ADMIN + "/cited")
async def admin_cited(request: Request, db: SessionDep, user: PlatformAdminDep):
    """A cited benchmark: `preview` shows what it would do (nothing stored); `record` records it."""
    data = await session.form(request, user)
    group = _group_of_path(db, _text(data, "group"))
    values = {name: _text(data, name) for name in CITED_FIELDS}
    given = CitedBenchmark(
        group=group.key,
        year=values["year"],
        value=values["value"],
        citation=values["citation"],
        citation_zh=values["citation_zh"],
        bands=_bands_given(values),
        effective_from=values["effective_from"] or None,
    )
    try:
        if _text(data, "action") != "record":
            shown = await run_in_threadpool(benchmarks.preview, db, user.principal, given)
            return _group_page(request, db, user, group, values=values, form="cited", preview=shown)
        await run_in_threadpool(benchmarks.set_cited, db, user.principal, given)
    except (Unprocessable, Conflict) as exc:
        errors = _service_errors(request, exc)
        return _group_page(request, db, user, group, exc.status, errors, values, form="cited")
    return _back(group, "cited")


# --- public pages -------------------------------------------------------------------------------------------------


@router.get("/benchmarks")
def public_index(request: Request, db: SessionDep, user: OptionalPageUser):
    """Every comparable group that has labels: its valid labels and the benchmark in force."""
    listed = [entry for entry in _groups_overview(db) if entry["labels"] or entry["benchmark"]]
    return page(request, "benchmarks/index.html", user, groups=listed, **_helpers(request))


def _year_filter(year: str | None) -> int | None:
    if not year:
        return None
    if not year.isdigit() or not benchmarks.MIN_YEAR <= int(year) <= date.max.year:
        raise Unprocessable(
            "not a year",
            [{"field": "year", "reason": "a reference year", "code": "benchmarks.year.filter"}],
            code="benchmarks.year.filter",
        )
    return int(year)


@router.get("/benchmarks/{key:path}")
def public_group(request: Request, key: str, db: SessionDep, user: OptionalPageUser, year: str | None = None):
    """One group: the benchmark in force (basis, bands as values, versions) and its valid labels."""
    group = Group.from_key(key)
    lang = i18n.negotiate(request)
    view = benchmarks.group_view(db, group, lang, _year_filter(year))
    if not view["labels"] and not view["versions"] and not view["years"]:
        _group_of_path(db, key)  # a group no PCR defines: 404 rather than an empty page
    return page(request, "benchmarks/group.html", user, view=view, chart=_chart(view, _t(request)), **_helpers(request))


def _chart(view: dict, t) -> dict | None:
    """ECharts option: the number of labels per grade (the table beside it holds the same numbers)."""
    if view["benchmark"] is None or not view["labels"]:
        return None
    grades = list(grading.GRADES)
    return {
        "animation": False,
        "grid": {"left": 48, "right": 16, "top": 24, "bottom": 40},
        "xAxis": {"type": "category", "data": [t("bm.grade.n", grade=g) for g in grades]},
        "yAxis": {"type": "value", "minInterval": 1, "name": t("bm.chart.labels")},
        "series": [
            {
                "type": "bar",
                "data": [view["grades"][g] for g in grades],
                "itemStyle": {"color": "#2f6f4e"},
                "label": {"show": True, "position": "top"},
            }
        ],
    }
