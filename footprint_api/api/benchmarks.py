"""Benchmarks and grades as JSON: the comparable groups and their benchmarks (public, open data), a label's group
and grades (public), and the platform admin's new versions (computed from the registry, or cited). The pages
(web.routes.benchmarks) call the same service functions."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from footprint_api.api.deps import PlatformAdminDep
from footprint_api.core.errors import NotFound, Unprocessable
from footprint_api.persistence.db import SessionDep
from footprint_api.services import benchmarks, labels
from footprint_api.services.benchmarks import CitedBenchmark, Group
from label_service import grading

router = APIRouter(tags=["benchmarks"])
Lang = Annotated[str, Query(pattern="^(zh|en)$", description="language of names and bases: zh or en")]
GROUP_EXAMPLE = "PCR-CN-CEMENT~1~P·O/42.5~1 t"
KEY_DESCRIPTION = (
    "a comparable group: PCR id, PCR major version, product class key (the PCR's classification codes joined by "
    "'/', empty for a PCR without classification) and declared unit, joined by '~' (URL-encoded in a path)"
)


class RegistryBenchmarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"group": GROUP_EXAMPLE, "year": 2025}]})
    group: str = Field(max_length=400, description=KEY_DESCRIPTION)
    year: int = Field(description="the reference year of the labels the median is taken of")
    bands: list[float] | None = Field(
        default=None,
        max_length=4,
        description="ratio upper bounds of grades 1-4, increasing; default: the group's current bands",
    )
    effective_from: date | None = Field(default=None, description="today (default) or later, in Beijing days")


class CitedBenchmarkIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "group": GROUP_EXAMPLE,
                    "year": 2024,
                    "value": 850,
                    "citation": "Industry average of P·O 42.5, <document>, table <n>, 2024",
                    "citation_zh": "P·O 42.5 行业平均值，《文件》表 n，2024 年",
                    "bands": [0.6, 0.8, 1.2, 2.0],
                }
            ]
        },
    )
    group: str = Field(max_length=400, description=KEY_DESCRIPTION)
    year: int
    value: float = Field(description="kg CO2e per declared unit, above 0")
    citation: str = Field(max_length=benchmarks.CITATION_MAX_CHARS, description="the source in English")
    citation_zh: str = Field(max_length=benchmarks.CITATION_MAX_CHARS, description="the source in Chinese")
    bands: list[float] = Field(default=list(grading.DEFAULT_BANDS), max_length=4)
    effective_from: date | None = None

    def given(self) -> CitedBenchmark:
        return CitedBenchmark(**self.model_dump())


@router.get(
    "/api/v1/public/benchmarks",
    summary="Open data: every comparable group with labels, its valid labels and its benchmark in force",
)
def list_groups(session: SessionDep, lang: Lang = "en") -> list[dict]:
    found = []
    for entry in benchmarks.groups_with_labels(session):
        group = entry["group"]
        benchmark = benchmarks.benchmark_for(session, group, None)
        found.append(
            {
                "group": group.key,
                "name": benchmarks.group_name(group, lang),
                "pcr_id": group.pcr_id,
                "pcr_major": group.pcr_major,
                "product_class": group.product_class,
                "declared_unit": group.declared_unit,
                "labels": entry["labels"],
                "valid_labels": entry["valid"],
                "valid_labels_by_year": {str(year): count for year, count in sorted(entry["years"].items())},
                "benchmark": benchmarks.describe(benchmark, lang) if benchmark else None,
            }
        )
    return found


@router.get(
    "/api/v1/public/label-grades/{number}",
    summary="A label's comparable group and its grade at issue and now (ratio to the benchmark, 1-5)",
)
def label_grades(number: str, session: SessionDep, lang: Lang = "en") -> dict:
    label, canonical = labels.lookup(session, number)
    if label is None:
        raise NotFound("no such label", code="benchmarks.label.not_found")
    return {"number": canonical, **benchmarks.label_grades(session, label, lang)}


@router.get(
    "/api/v1/public/benchmarks/{key:path}",
    summary="Open data: one comparable group (its benchmark versions, the one in force, its valid labels graded)",
    description=f"`key`: {KEY_DESCRIPTION}. A group of fewer than {grading.MIN_RANKED} valid labels is not ranked "
    "(`rankable` false, every `rank` null).",
)
def group(
    key: str,
    session: SessionDep,
    lang: Lang = "en",
    year: Annotated[int | None, Query(ge=benchmarks.MIN_YEAR, le=9999, description="one reference year")] = None,
) -> dict:
    view = benchmarks.group_view(session, Group.from_key(key), lang, year)
    if not view["labels"] and not view["versions"] and not view["years"]:
        try:
            benchmarks.check_group(session, view["group"])
        except Unprocessable:
            raise NotFound("no such comparable group", code="benchmarks.group.unknown") from None
    spread = view["distribution"]
    return {
        "group": view["group"].key,
        "name": view["name"],
        "product_class_name": view["class_name"],
        "year": view["year"],
        "years": view["years"],
        "count": view["count"],
        "rankable": view["rankable"],
        "minimum_to_rank": view["minimum"],
        "distribution": None
        if spread is None
        else {
            "count": spread.count,
            "min": spread.minimum,
            "max": spread.maximum,
            "mean": spread.mean,
            "median": spread.median,
            "percentiles": spread.percentiles,
            "definition": "linear interpolation between closest ranks (Hyndman & Fan 7, Excel PERCENTILE.INC)",
        },
        "benchmark": benchmarks.describe(view["benchmark"], lang) if view["benchmark"] else None,
        "grades": {str(grade): count for grade, count in view["grades"].items()},
        "labels": [
            {
                "number": row["label"].number,
                "product": row["label"].product_name,
                "manufacturer": row["label"].manufacturer_name,
                "reference_year": row["label"].reference_year,
                "province": row["label"].province,
                "value": row["label"].value,
                "rank": row["rank"],
                "grade": benchmarks.grade_json(row["grade"]),
            }
            for row in view["labels"]
        ],
        "versions": [benchmarks.describe(b, lang) for b in view["versions"]],
    }


@router.post(
    "/api/v1/benchmarks/registry",
    status_code=201,
    summary="Platform admin: a new version of a group's benchmark computed from the registry (at least five labels)",
)
def compute(body: RegistryBenchmarkIn, session: SessionDep, principal: PlatformAdminDep) -> dict:
    benchmark = benchmarks.compute_from_registry(
        session, principal, body.group, body.year, body.bands, body.effective_from
    )
    return benchmarks.describe(benchmark)


@router.post(
    "/api/v1/benchmarks/cited",
    status_code=201,
    summary="Platform admin: a new version of a group's benchmark from a cited source",
)
def cite(body: CitedBenchmarkIn, session: SessionDep, principal: PlatformAdminDep) -> dict:
    return benchmarks.describe(benchmarks.set_cited(session, principal, body.given()))


@router.post(
    "/api/v1/benchmarks/cited/preview",
    summary="Platform admin: what a cited benchmark would do (bands as values, grades of the group's labels); "
    "nothing is stored",
)
def preview(body: CitedBenchmarkIn, session: SessionDep, principal: PlatformAdminDep) -> dict:
    shown = benchmarks.preview(session, principal, body.given())
    return {
        "group": shown["group"].key,
        "year": shown["year"],
        "value": shown["value"],
        "bands": list(shown["bands"]),
        "band_limits": [{"grade": g, "above": low, "up_to": high} for g, low, high in shown["limits"]],
        "labels": shown["labels"],
        "grades": {str(grade): count for grade, count in shown["grades"].items()},
        "effective_from": shown["effective_from"].isoformat(),
    }
