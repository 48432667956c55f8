"""Open data: the registry of labels and the benchmarks of the comparable groups as downloads anyone may reuse, in
CSV (UTF-8 with a byte order mark, so that Excel reads the Chinese names) and JSON, with the same columns.

What is published is what the public pages show, nothing more: a label's signed claim (product, manufacturer, GTIN,
value, declared unit, PCR), its state, its category, province and comparable group named in both languages, its
reference year and its grades (now, and as recorded at issue), and every benchmark version with its basis (the
registry's median of how many labels, or the citation in both languages), percentiles, bands and dates. Column
names are stable codes (documented in README, "Open data"); names of categories, provinces and groups come in a
Chinese and an English column each.

A download holds at most MAX_ROWS labels (the registry's filters narrow it; the paged JSON API,
/api/v1/public/registry, reads any number).
"""

import json
from datetime import date

from sqlmodel import Session, col, select

from footprint_api.exports import cells
from footprint_api.exports.cells import Value
from footprint_api.persistence.models import Benchmark
from footprint_api.services import benchmarks, labels, registry
from label_service import grading

MAX_ROWS = 50_000
CHUNK = 1_000  # labels read, and graded, at a time
REGISTRY_COLUMNS = (
    "number",
    "status",
    "product",
    "manufacturer",
    "gtin",
    "value",
    "unit",
    "declared_unit",
    "pcr_id",
    "pcr_version",
    "category_zh",
    "category_en",
    "province",
    "province_zh",
    "province_en",
    "reference_year",
    "group",
    "group_name_zh",
    "group_name_en",
    "grade",
    "grade_ratio",
    "grade_benchmark_year",
    "grade_benchmark_version",
    "grade_benchmark_basis",
    "grade_benchmark_value",
    "grade_at_issue",
    "grade_ratio_at_issue",
    "issued_on",
    "expires_on",
    "superseded_by",
    "url",
)
PERCENTILE_COLUMNS = tuple(f"p{point}" for point in grading.PERCENTILES)
BENCHMARK_COLUMNS = (
    "group",
    "group_name_zh",
    "group_name_en",
    "pcr_id",
    "pcr_major",
    "product_class",
    "declared_unit",
    "year",
    "version",
    "basis",
    "basis_text_zh",
    "basis_text_en",
    "value",
    "unit",
    "label_count",
    *PERCENTILE_COLUMNS,
    "citation_zh",
    "citation_en",
    "bands",
    "effective_from",
    "superseded_at",
    "in_force",
)


def registry_rows(session: Session, query: registry.RegistryQuery, today: date, base_url: str = "") -> list[dict]:
    """The labels the query finds (at most MAX_ROWS), one flat row each (REGISTRY_COLUMNS)."""
    rows: list[dict] = []
    for offset in range(0, MAX_ROWS, CHUNK):
        found = registry.search(session, query, today, CHUNK, offset)
        standing = registry.standings(session, found, today)
        rows.extend(_registry_row(label, standing[label.id], today, base_url) for label in found)
        if len(found) < CHUNK:
            break
    return rows


def _registry_row(label, standing: registry.Standing, today: date, base_url: str) -> dict:
    current, at_issue, group = standing.current, standing.at_issue, standing.group
    names = registry.group_names(group, label.pcr_version) if group else {"zh": None, "en": None}
    category = registry.category_names(label.pcr_id)
    province = registry.province_names(label.province)
    return {
        "number": label.number,
        "status": labels.status(label, today).value,
        "product": label.product_name,
        "manufacturer": label.manufacturer_name,
        "gtin": label.gtin,
        "value": float(label.value),
        "unit": "kg CO2e",
        "declared_unit": label.declared_unit,
        "pcr_id": label.pcr_id,
        "pcr_version": label.pcr_version,
        "category_zh": category["zh"],
        "category_en": category["en"],
        "province": label.province,
        "province_zh": province["zh"] or None,
        "province_en": province["en"] or None,
        "reference_year": label.reference_year,
        "group": group.key if group else None,
        "group_name_zh": names["zh"],
        "group_name_en": names["en"],
        "grade": current.grade if current else None,
        "grade_ratio": round(current.ratio, 4) if current else None,
        "grade_benchmark_year": current.benchmark.year if current else None,
        "grade_benchmark_version": current.benchmark.version if current else None,
        "grade_benchmark_basis": current.benchmark.basis if current else None,
        "grade_benchmark_value": current.benchmark.value if current else None,
        "grade_at_issue": at_issue.grade if at_issue else None,
        "grade_ratio_at_issue": round(at_issue.ratio, 4) if at_issue else None,
        "issued_on": label.issued_on.isoformat(),
        "expires_on": label.expires_on.isoformat(),
        "superseded_by": label.superseded_by,
        "url": f"{base_url}/V/{label.number}",
    }


def benchmark_rows(session: Session, today: date) -> list[dict]:
    """Every benchmark version of every group, by group, year and version (BENCHMARK_COLUMNS); `in_force`: the one
    a label of its year is graded against today."""
    found = list(
        session.exec(
            select(Benchmark).order_by(
                Benchmark.pcr_id,
                Benchmark.pcr_major,
                Benchmark.product_class,
                Benchmark.declared_unit,
                Benchmark.year,
                col(Benchmark.version),
            )
        )
    )
    in_force = {
        (benchmarks.group_of_benchmark(b), b.year): b.id
        for b in sorted(found, key=lambda b: b.version)
        if b.effective_from <= today
    }
    return [_benchmark_row(b, in_force.get((benchmarks.group_of_benchmark(b), b.year)) == b.id) for b in found]


def _benchmark_row(benchmark: Benchmark, in_force: bool) -> dict:
    group = benchmarks.group_of_benchmark(benchmark)
    names = registry.group_names(group)
    percentiles = benchmark.percentiles or {}
    return {
        "group": group.key,
        "group_name_zh": names["zh"],
        "group_name_en": names["en"],
        "pcr_id": group.pcr_id,
        "pcr_major": group.pcr_major,
        "product_class": group.product_class,
        "declared_unit": group.declared_unit,
        "year": benchmark.year,
        "version": benchmark.version,
        "basis": benchmark.basis,
        "basis_text_zh": benchmarks.basis_text(benchmark, "zh"),
        "basis_text_en": benchmarks.basis_text(benchmark, "en"),
        "value": benchmark.value,
        "unit": "kg CO2e",
        "label_count": benchmark.label_count,
        **{column: percentiles.get(column) for column in PERCENTILE_COLUMNS},
        "citation_zh": benchmark.citation_zh,
        "citation_en": benchmark.citation,
        "bands": ";".join(f"{bound:g}" for bound in benchmarks.bands_of(benchmark)),
        "effective_from": benchmark.effective_from.isoformat(),
        "superseded_at": benchmark.superseded_at.isoformat() if benchmark.superseded_at else None,
        "in_force": in_force,
    }


def as_csv(columns: tuple[str, ...], rows: list[dict]) -> bytes:
    """UTF-8 with a byte order mark; formula-leading text neutralised (exports.cells)."""
    return cells.csv_bytes(list(columns), ([_cell(row[column]) for column in columns] for row in rows), bom=True)


def _cell(value) -> Value:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def as_json(rows: list[dict]) -> bytes:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()
