"""Comparable groups, their benchmarks and the grades of labels.

**Comparable group.** A label is comparable only with labels of the same PCR, PCR major version, product class (the
PCR's `classification` parameters: cement type and strength class, steel product form, glass thickness range) and
declared unit (`Group`). The reference year and the province are shown and filterable, never part of the group.
A label carries its group in its own columns (`Label.pcr_major`, `product_class`, with `reference_year` and
`province`), filled at issuance, and for labels issued before the columns existed by `backfill` (at start and with
every housekeeping run: it only takes labels whose columns are empty).

**Benchmark.** Per group and year, versioned (`Benchmark`): either computed from the registry (the median of the
stated values of the group's valid labels of that reference year, with its percentiles; at least five labels,
`grading.MIN_RANKED`) or set by the platform admin from a cited source (an industry average, a standard's limit, a
buyer's threshold), with the citation in both languages. Each version has its bands (the admin chooses them per
group; by default the 碳效码 bands, `label_service.grading`) and an effective date, today or later: a benchmark never
changes the past. A new version supersedes the one before (`superseded_at`: when the newer one was recorded); the
version in force on a day is the newest whose effective date has come.

**Grade.** A label is graded against the benchmark of its group for its reference year in force on the day (a
benchmark describes a year and is published after it: where the label's year has none, the most recent earlier
year's); the value graded is the label's stated value (its signed four significant digits), so that anyone can
repeat the grade from public data. The grade at issue is kept on the label (`benchmark_at_issue_id`,
`grade_at_issue`, `grade_ratio_at_issue`); the current grade is computed when asked. Neither is part of the signed
claim, and neither is printed on the physical label.
"""

import itertools
import logging
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import quote

from sqlalchemy import and_, case, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from footprint_api.core import names
from footprint_api.core.china_time import china_day
from footprint_api.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from footprint_api.core.messages import catalogue
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Benchmark, Footprint, InventoryRecord, Label, Role, utcnow
from footprint_api.services import audit, labels
from footprint_api.services.principals import actor
from footprint_api.services.verification import today as beijing_today
from label_service import grading
from pcr_rules import default_registry
from pcr_rules.classification import KEY_SEPARATOR, UnclassifiedProduct, product_class
from pcr_rules.errors import PCRNotFound
from pcr_rules.models import PCR

log = logging.getLogger(__name__)

REGISTRY, CITED = "registry", "cited"
BASES = (REGISTRY, CITED)
KEY_PARTS = "~"  # between the parts of a group's key: PCR id, major, product class, declared unit
MIN_YEAR = 2000
MAX_VALUE = 1e9  # a cited value per declared unit above this is a typing mistake
CITATION_MAX_CHARS = 2000
EFFECTIVE_MAX_DAYS = 5 * 366  # an effective date at most five years ahead
BACKFILL_BATCH = 500  # labels per run whose group columns are filled


# --- comparable groups ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Group:
    """A comparable group: same PCR, PCR major version, product class and declared unit."""

    pcr_id: str
    pcr_major: int
    product_class: str
    declared_unit: str

    @property
    def key(self) -> str:
        """The group in one string, for links and forms: 'PCR-CN-CEMENT~1~P·O/42.5~1 t'."""
        return KEY_PARTS.join((self.pcr_id, str(self.pcr_major), self.product_class, self.declared_unit))

    @property
    def href(self) -> str:
        """The public page of the group."""
        return f"/benchmarks/{quote(self.key, safe='')}"

    @classmethod
    def from_key(cls, key: str, field: str = "group") -> "Group":
        parts = (key or "").split(KEY_PARTS)
        if (
            len(parts) != 4
            or len(key) > 400
            or not key.isprintable()
            or not parts[0]
            or not parts[3]
            or not (parts[1].isdigit() and len(parts[1]) <= 4)
        ):
            raise NotFound(
                "no such comparable group",
                [{"field": field, "reason": "not a comparable group", "code": "benchmarks.group.unknown"}],
                code="benchmarks.group.unknown",
            )
        return cls(parts[0], int(parts[1]), parts[2], parts[3])

    def conditions(self) -> tuple:
        """The query conditions of the group's labels."""
        return (
            Label.pcr_id == self.pcr_id,
            Label.pcr_major == self.pcr_major,
            Label.product_class == self.product_class,
            Label.declared_unit == self.declared_unit,
        )

    def benchmark_conditions(self) -> tuple:
        return (
            Benchmark.pcr_id == self.pcr_id,
            Benchmark.pcr_major == self.pcr_major,
            Benchmark.product_class == self.product_class,
            Benchmark.declared_unit == self.declared_unit,
        )


def major_of(version: str) -> int:
    """The major version of a PCR version: '1.2.0' -> 1."""
    return int(str(version).split(".", 1)[0])


def group_of(label: Label) -> Group | None:
    """The label's comparable group; None while its columns are not filled (`backfill`)."""
    if label.pcr_major is None or label.product_class is None:
        return None
    return Group(label.pcr_id, label.pcr_major, label.product_class, label.declared_unit)


def group_of_benchmark(benchmark: Benchmark) -> Group:
    return Group(benchmark.pcr_id, benchmark.pcr_major, benchmark.product_class, benchmark.declared_unit)


def declared_unit_of(pcr: PCR) -> str:
    """As a footprint states it (services.footprints): '1 t'."""
    return f"{pcr.declared_unit.amount:g} {pcr.declared_unit.unit}"


def stated_value(label: Label) -> float:
    """The value the label states and signs (four significant digits): what grades and benchmarks use."""
    return float(label.value)


# --- the group of an inventory, and of labels issued before the columns existed -------------------------------------


def reference_year(start: date, end: date) -> int:
    """The calendar year holding most days of the reference period (a tie: the later year). 2023-01-01..2023-12-31
    -> 2023; 2023-07-01..2024-06-30 (184 days in 2023, 182 in 2024) -> 2023."""
    days: dict[int, int] = {}
    for year in range(start.year, end.year + 1):
        first, last = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
        days[year] = (last - first).days + 1
    return max(days, key=lambda year: (days[year], year))


def _choice_codes(parameters: dict) -> dict:
    """An inventory's stored parameters as product_class reads them: a choice's code, other values as given."""
    return {
        key: value["choice"] if isinstance(value, dict) and "choice" in value else value
        for key, value in parameters.items()
    }


@dataclass(frozen=True)
class GroupFacts:
    """What a label's group columns hold, from its PCR and the inventory its footprint was calculated from."""

    pcr_major: int
    product_class: str
    reference_year: int | None
    province: str | None


def group_facts(pcr: PCR, inventory_data: dict) -> GroupFacts:
    """The group columns of a label on an inventory under `pcr`; UnclassifiedProduct when the inventory does not
    name its class (it was not validated against this PCR)."""
    period = inventory_data.get("reference_period") or {}
    try:
        year = reference_year(date.fromisoformat(period["start"]), date.fromisoformat(period["end"]))
    except (KeyError, TypeError, ValueError):
        year = None
    written = ((inventory_data.get("facility") or {}).get("province") or "").strip()
    province = (names.province_key(written) or written)[:60] or None
    product = product_class(pcr, _choice_codes(inventory_data.get("parameters") or {}))
    return GroupFacts(major_of(pcr.version), product.key, year, province)


def fill_group(session: Session, label: Label) -> bool:
    """Fills the label's group columns from its footprint's inventory (no commit); False where its PCR version or
    its product class cannot be read (left empty, tried again by the next run)."""
    record = session.exec(
        select(InventoryRecord)
        .join(Footprint, col(Footprint.inventory_id) == col(InventoryRecord.id))
        .where(Footprint.id == label.footprint_id)
    ).first()
    try:
        pcr = default_registry().get(label.pcr_id, label.pcr_version)
        facts = group_facts(pcr, record.data if record else {})
    except (PCRNotFound, UnclassifiedProduct) as exc:
        log.warning("label %s: no comparable group (%s)", label.number, exc)
        return False
    label.pcr_major, label.product_class = facts.pcr_major, facts.product_class
    label.reference_year, label.province = facts.reference_year, facts.province
    session.add(label)
    return True


def backfill(session: Session, batch: int = BACKFILL_BATCH) -> int:
    """Housekeeping and start: the group columns of labels that have none yet (labels issued before they existed),
    at most `batch` a run, in the audit trail as one entry per run. Idempotent: a filled label is not read again."""
    pending = session.exec(
        select(Label).where(col(Label.pcr_major).is_(None)).order_by(col(Label.year), col(Label.sequence)).limit(batch)
    ).all()
    filled = [label.number for label in pending if fill_group(session, label)]
    if filled:
        audit.record(
            session,
            audit.SYSTEM,
            "label.group_filled",
            "label",
            filled[0],
            after={"count": len(filled), "numbers": filled[:100]},
        )
        audit.commit(session)
    return len(filled)


def backfill_all(session: Session) -> int:
    """At start: every label without its group columns, batch after batch, until a batch fills none."""
    total = 0
    while filled := backfill(session):
        total += filled
    return total


# --- names of a group --------------------------------------------------------------------------------------------


def _pcr_of(group: Group, version: str | None = None) -> PCR | None:
    """A published PCR version of the group's major (the one given, else the newest in force, else any listed)."""
    registry = default_registry()
    for attempt in (version, None):
        try:
            pcr = registry.get(group.pcr_id, attempt)
        except PCRNotFound:
            continue
        if major_of(pcr.version) == group.pcr_major:
            return pcr
    candidates = [p for p in registry.list() if p.id == group.pcr_id and major_of(p.version) == group.pcr_major]
    return candidates[-1] if candidates else None


def class_name(group: Group, lang: str, version: str | None = None) -> str:
    """The product class by the names of its choices in the reader's language ('P·O 普通硅酸盐水泥 42.5'); the
    whole category where the PCR declares no classification; the key as written where the PCR cannot be read."""
    t = catalogue(lang)
    if not group.product_class:
        return t("bm.class.whole")
    pcr = _pcr_of(group, version)
    codes = group.product_class.split(KEY_SEPARATOR)
    if pcr is None or len(codes) != len(pcr.classification):
        return group.product_class
    shown = []
    for parameter_id, code in zip(pcr.classification, codes, strict=True):
        spec = pcr.parameter(parameter_id)
        choice = spec.choice(code) if spec else None
        if choice is None:
            shown.append(code)
        else:
            shown.append((choice.label_zh or choice.label) if lang == "zh" else choice.label)
    return " ".join(shown)


def group_name(group: Group, lang: str, version: str | None = None) -> str:
    """'水泥 · PCR-CN-CEMENT 1.x · P·O 普通硅酸盐水泥 42.5 · 1 t' in the reader's language."""
    category = names.pcr_category(group.pcr_id, lang)
    return catalogue(lang)(
        "bm.group.name",
        category=category[:1].upper() + category[1:],  # it starts the name: 'Cement', as a heading writes it
        pcr=group.pcr_id,
        major=group.pcr_major,
        product_class=class_name(group, lang, version),
        unit=group.declared_unit,
    )


def possible_groups() -> list[Group]:
    """Every group the PCRs in force define (each combination of their classification choices): the groups a
    cited benchmark may be set for before any label of them is issued."""
    found: set[Group] = set()
    for pcr in default_registry().list():
        specs = [pcr.parameter(p) for p in pcr.classification]
        choices = [[c.value for c in spec.choices] for spec in specs if spec is not None]
        for combination in itertools.product(*choices) if choices else [()]:
            found.add(Group(pcr.id, major_of(pcr.version), KEY_SEPARATOR.join(combination), declared_unit_of(pcr)))
    return sorted(found)


def check_group(session: Session, group: Group, field: str = "group") -> Group:
    """A group a PCR in force defines, or one that has labels or benchmarks already; else 422 naming the field."""
    if group in set(possible_groups()):
        return group
    if session.exec(select(Label.id).where(*group.conditions()).limit(1)).first() is not None:
        return group
    if session.exec(select(Benchmark.id).where(*group.benchmark_conditions()).limit(1)).first() is not None:
        return group
    raise Unprocessable(
        "not a comparable group of a published PCR",
        [{"field": field, "reason": "not a comparable group", "code": "benchmarks.group.unknown"}],
        code="benchmarks.group.unknown",
    )


# --- the labels of a group -----------------------------------------------------------------------------------------


def group_labels(session: Session, group: Group, on: date | None = None, year: int | None = None) -> list[Label]:
    """The group's valid labels on a day (active and unexpired), of one reference year when given, lowest stated
    value first (then by number: a stable order)."""
    on = on or beijing_today()
    statement = select(Label).where(*group.conditions(), *labels.valid_on(on))
    if year is not None:
        statement = statement.where(Label.reference_year == year)
    rows = session.exec(statement).all()
    return sorted(rows, key=lambda label: (stated_value(label), label.year, label.sequence))


def group_count(session: Session, group: Group, on: date | None = None) -> int:
    return session.exec(
        select(func.count(Label.id)).where(*group.conditions(), *labels.valid_on(on or beijing_today()))
    ).one()


def groups_with_labels(session: Session, on: date | None = None) -> list[dict]:
    """Every group that has a label (any state), with its valid labels on the day, by reference year: the admin's
    list and the public index."""
    on = on or beijing_today()
    valid = case((and_(*labels.valid_on(on)), 1), else_=0)
    rows = session.exec(
        select(
            Label.pcr_id,
            Label.pcr_major,
            Label.product_class,
            Label.declared_unit,
            Label.reference_year,
            func.count(Label.id),
            func.sum(valid),
        )
        .where(col(Label.pcr_major).is_not(None))
        .group_by(Label.pcr_id, Label.pcr_major, Label.product_class, Label.declared_unit, Label.reference_year)
    ).all()
    found: dict[Group, dict] = {}
    for pcr_id, major, product, unit, year, count, valid in rows:
        entry = found.setdefault(Group(pcr_id, major, product, unit), {"labels": 0, "valid": 0, "years": {}})
        entry["labels"] += count
        entry["valid"] += int(valid or 0)
        if year is not None:
            entry["years"][year] = entry["years"].get(year, 0) + int(valid or 0)
    return [{"group": group, **found[group]} for group in sorted(found)]


# --- benchmarks: versions and the one in force ---------------------------------------------------------------------


def versions(session: Session, group: Group, year: int | None = None) -> list[Benchmark]:
    """Every version of the group's benchmarks (of one year when given), newest year and version first."""
    statement = select(Benchmark).where(*group.benchmark_conditions())
    if year is not None:
        statement = statement.where(Benchmark.year == year)
    return list(session.exec(statement.order_by(col(Benchmark.year).desc(), col(Benchmark.version).desc())))


def in_force(session: Session, group: Group, year: int, on: date | None = None) -> Benchmark | None:
    """The group's benchmark of a year in force on a day: the newest version whose effective date has come."""
    return session.exec(
        select(Benchmark)
        .where(
            *group.benchmark_conditions(), Benchmark.year == year, Benchmark.effective_from <= (on or beijing_today())
        )
        .order_by(col(Benchmark.version).desc())
    ).first()


def _applicable(benchmarks: Iterable[Benchmark], reference_year: int | None, on: date) -> Benchmark | None:
    """Of one group's benchmarks: the one a label of `reference_year` is graded against on a day (its year's, else
    the most recent earlier year's; any year's for a label without one), the newest version in force."""
    candidates = [
        b for b in benchmarks if b.effective_from <= on and (reference_year is None or b.year <= reference_year)
    ]
    return max(candidates, key=lambda b: (b.year, b.version), default=None)


def benchmark_for(
    session: Session, group: Group, reference_year: int | None, on: date | None = None
) -> Benchmark | None:
    return _applicable(versions(session, group), reference_year, on or beijing_today())


def bands_of(benchmark: Benchmark | None) -> tuple[float, ...]:
    return tuple(benchmark.bands) if benchmark is not None and benchmark.bands else grading.DEFAULT_BANDS


def current_bands(session: Session, group: Group) -> tuple[float, ...]:
    """The bands the group's newest benchmark uses (any year): a new version keeps them unless the admin changes
    them; the default bands for a group without one."""
    newest = session.exec(
        select(Benchmark).where(*group.benchmark_conditions()).order_by(col(Benchmark.created_at).desc())
    ).first()
    return bands_of(newest)


# --- grades ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelGrade:
    """A label graded against one benchmark version: ratio (unrounded), grade, and that version."""

    grade: int
    ratio: float
    value: float
    benchmark: Benchmark
    bands: tuple[float, ...]


def graded(label: Label, benchmark: Benchmark | None) -> LabelGrade | None:
    if benchmark is None or not benchmark.value > 0:
        return None
    bands = bands_of(benchmark)
    result = grading.graded(stated_value(label), benchmark.value, bands)
    return LabelGrade(result.grade, result.ratio, result.value, benchmark, bands)


def grade_now(session: Session, label: Label, on: date | None = None) -> LabelGrade | None:
    """The label's grade against the benchmark in force on the day (today by default); None without a group or a
    benchmark."""
    group = group_of(label)
    return graded(label, benchmark_for(session, group, label.reference_year, on)) if group else None


def grades(session: Session, labels: Sequence[Label], on: date | None = None) -> dict[uuid.UUID, LabelGrade | None]:
    """The current grade of each label (by id), with one query for the benchmarks of all their groups."""
    on = on or beijing_today()
    by_group: dict[Group, list[Benchmark]] = {}
    wanted = {g for g in (group_of(label) for label in labels) if g is not None}
    pcr_ids = sorted({g.pcr_id for g in wanted})
    if pcr_ids:
        for benchmark in session.exec(select(Benchmark).where(col(Benchmark.pcr_id).in_(pcr_ids))):
            group = group_of_benchmark(benchmark)
            if group in wanted:
                by_group.setdefault(group, []).append(benchmark)
    answer: dict[uuid.UUID, LabelGrade | None] = {}
    for label in labels:
        group = group_of(label)
        answer[label.id] = (
            graded(label, _applicable(by_group.get(group, []), label.reference_year, on)) if group else None
        )
    return answer


def grade_at_issue(session: Session, label: Label) -> LabelGrade | None:
    """The grade recorded when the label was issued (None: no benchmark then)."""
    if label.benchmark_at_issue_id is None or label.grade_at_issue is None:
        return None
    benchmark = session.get(Benchmark, label.benchmark_at_issue_id)
    if benchmark is None:
        return None
    return LabelGrade(
        label.grade_at_issue, label.grade_ratio_at_issue or 0.0, stated_value(label), benchmark, bands_of(benchmark)
    )


def record_at_issue(session: Session, label: Label, pcr: PCR, inventory_data: dict, on: date) -> None:
    """At issuance (services.labels.issue): the label's group columns and its grade against the benchmark in force
    on its issue day. Not part of the signed claim; a product that cannot be classified keeps empty columns (the
    backfill tries again)."""
    try:
        facts = group_facts(pcr, inventory_data)
    except UnclassifiedProduct as exc:
        log.warning("label %s: no comparable group (%s)", label.number, exc)
        return
    label.pcr_major, label.product_class = facts.pcr_major, facts.product_class
    label.reference_year, label.province = facts.reference_year, facts.province
    result = grade_now(session, label, on)
    if result is not None:
        label.benchmark_at_issue_id = result.benchmark.id
        label.grade_at_issue, label.grade_ratio_at_issue = result.grade, result.ratio


# --- recording a benchmark (the platform admin) --------------------------------------------------------------------


def _error(field: str, code: str, reason: str, **params) -> dict:
    return {"field": field, "reason": reason, "code": code, "params": params}


def _refuse(errors: list[dict]) -> Unprocessable:
    return Unprocessable("the benchmark cannot be recorded", errors, code="benchmarks.refused")


def _platform_admin(principal: Principal) -> None:
    if principal.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("only the platform admin records benchmarks", code="benchmarks.refused.role")


def _given_group(session: Session, key: str, errors: list[dict]) -> Group | None:
    try:
        return check_group(session, Group.from_key(key))
    except (NotFound, Unprocessable) as exc:
        errors.extend(exc.errors)
        return None


def _year(year, errors: list[dict], field: str = "year") -> int | None:
    latest = beijing_today().year + 1
    try:
        value = int(str(year).strip())
    except (TypeError, ValueError):
        errors.append(
            _error(
                field,
                "benchmarks.year.invalid",
                f"a year from {MIN_YEAR} to {latest}",
                low=str(MIN_YEAR),
                high=str(latest),
            )
        )
        return None
    if not MIN_YEAR <= value <= latest:
        errors.append(
            _error(
                field,
                "benchmarks.year.invalid",
                f"a year from {MIN_YEAR} to {latest}",
                low=str(MIN_YEAR),
                high=str(latest),
            )
        )
        return None
    return value


def _bands(bands, errors: list[dict], field: str = "bands") -> tuple[float, ...] | None:
    try:
        return grading.checked_bands(bands)
    except grading.BandsInvalid as exc:
        errors.append(_error(field, exc.code, str(exc), **exc.params))
        return None


def _effective(day, errors: list[dict], field: str = "effective_from") -> date | None:
    today = beijing_today()
    if day in (None, ""):
        return today
    try:
        value = day if isinstance(day, date) else date.fromisoformat(str(day).strip())
    except ValueError:
        errors.append(_error(field, "benchmarks.effective.invalid", "a date as YYYY-MM-DD"))
        return None
    if value < today:
        errors.append(
            _error(
                field,
                "benchmarks.effective.past",
                "today or later: a benchmark never changes the past",
                today=today.isoformat(),
            )
        )
        return None
    if value > today + timedelta(days=EFFECTIVE_MAX_DAYS):
        errors.append(_error(field, "benchmarks.effective.far", "at most five years ahead"))
        return None
    return value


def _record(session: Session, principal: Principal, benchmark: Benchmark) -> Benchmark:
    """Numbers the new version, marks the earlier ones superseded and commits with its audit entry; Conflict when
    another version of the same group and year was recorded meanwhile (the unique constraint decides)."""
    group = group_of_benchmark(benchmark)
    earlier = versions(session, group, benchmark.year)
    benchmark.version = (earlier[0].version if earlier else 0) + 1
    now = utcnow()
    for previous in earlier:
        if previous.superseded_at is None:
            previous.superseded_at = now
            session.add(previous)
    session.add(benchmark)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "another version of this benchmark was recorded meanwhile; reload and try again",
            code="benchmarks.refused.concurrent",
        ) from None
    audit.record(
        session,
        actor(principal),
        "benchmark.computed" if benchmark.basis == REGISTRY else "benchmark.cited",
        "benchmark",
        benchmark.id,
        before={"version": earlier[0].version, "value": earlier[0].value} if earlier else None,
        after={
            "group": group.key,
            "year": benchmark.year,
            "version": benchmark.version,
            "basis": benchmark.basis,
            "value": benchmark.value,
            "label_count": benchmark.label_count,
            "citation": benchmark.citation,
            "bands": list(benchmark.bands),
            "effective_from": benchmark.effective_from.isoformat(),
        },
    )
    audit.commit(session)
    return benchmark


def compute_from_registry(
    session: Session,
    principal: Principal,
    group_key: str,
    year,
    bands: Sequence[float] | None = None,
    effective_from=None,
) -> Benchmark:
    """A new version of the group's registry benchmark for a reference year: the median and percentiles of the
    stated values of its valid labels of that year today; refused (422, `benchmarks.registry.too_few`) below five
    labels: a cited benchmark may still be set."""
    _platform_admin(principal)
    errors: list[dict] = []
    group = _given_group(session, group_key, errors)
    chosen_year = _year(year, errors)
    if group is not None and bands is None:
        bands = current_bands(session, group)
    chosen_bands = _bands(bands if bands is not None else grading.DEFAULT_BANDS, errors)
    effective = _effective(effective_from, errors)
    if errors:
        raise _refuse(errors)
    values = [stated_value(label) for label in group_labels(session, group, year=chosen_year)]
    if not grading.rankable(len(values)):
        raise _refuse(
            [
                _error(
                    "year",
                    "benchmarks.registry.too_few",
                    f"{len(values)} valid labels of this group and year: at least {grading.MIN_RANKED} are needed",
                    count=len(values),
                    minimum=grading.MIN_RANKED,
                    year=str(chosen_year),  # a year, not an amount: no digit grouping
                )
            ]
        )
    spread = grading.distribution(values, (0, *grading.PERCENTILES, 100))
    if not spread.median > 0:
        raise _refuse([_error("year", "benchmarks.registry.not_positive", "the median is not above zero")])
    benchmark = Benchmark(
        pcr_id=group.pcr_id,
        pcr_major=group.pcr_major,
        product_class=group.product_class,
        declared_unit=group.declared_unit,
        year=chosen_year,
        version=0,
        basis=REGISTRY,
        value=spread.median,
        percentiles={**spread.percentiles, "mean": spread.mean},
        label_count=spread.count,
        bands=list(chosen_bands),
        effective_from=effective,
        created_by=principal.subject if principal.kind == "user" else None,
    )
    return _record(session, principal, benchmark)


@dataclass(frozen=True)
class CitedBenchmark:
    """A cited benchmark as the admin gives it (form or JSON), before checks."""

    group: str
    year: int | str
    value: float | str
    citation: str
    citation_zh: str
    bands: Sequence[float | str] = grading.DEFAULT_BANDS
    effective_from: date | str | None = None


@dataclass(frozen=True)
class CheckedCitation:
    group: Group
    year: int
    value: float
    citation: str
    citation_zh: str
    bands: tuple[float, ...]
    effective_from: date


def check_cited(session: Session, given: CitedBenchmark) -> CheckedCitation:
    """Every field checked at once; 422 naming each field that is wrong, with a code for the reader's language."""
    errors: list[dict] = []
    group = _given_group(session, given.group, errors)
    year = _year(given.year, errors)
    try:
        value = float(str(given.value).strip().replace(",", ""))
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_VALUE):
        errors.append(
            _error("value", "benchmarks.value.invalid", f"a number above 0 and at most {MAX_VALUE:g}", limit=MAX_VALUE)
        )
    texts = {}
    for field in ("citation", "citation_zh"):
        text = " ".join(str(getattr(given, field) or "").split())
        if not text.isprintable():  # a control character (PostgreSQL stores no NUL byte)
            errors.append(_error(field, "benchmarks.citation.unprintable", "control characters are not text"))
        elif not text:
            errors.append(_error(field, "benchmarks.citation.missing", "the source, in both languages"))
        elif len(text) > CITATION_MAX_CHARS:
            errors.append(
                _error(
                    field,
                    "benchmarks.citation.too_long",
                    f"at most {CITATION_MAX_CHARS} characters",
                    limit=CITATION_MAX_CHARS,
                )
            )
        texts[field] = text
    bands = _bands(given.bands, errors)
    effective = _effective(given.effective_from, errors)
    if errors:
        raise _refuse(errors)
    return CheckedCitation(group, year, value, texts["citation"], texts["citation_zh"], bands, effective)


def set_cited(session: Session, principal: Principal, given: CitedBenchmark) -> Benchmark:
    """A new version of the group's benchmark of a year from a cited source."""
    _platform_admin(principal)
    checked = check_cited(session, given)
    benchmark = Benchmark(
        pcr_id=checked.group.pcr_id,
        pcr_major=checked.group.pcr_major,
        product_class=checked.group.product_class,
        declared_unit=checked.group.declared_unit,
        year=checked.year,
        version=0,
        basis=CITED,
        value=checked.value,
        percentiles={},
        label_count=0,
        citation=checked.citation,
        citation_zh=checked.citation_zh,
        bands=list(checked.bands),
        effective_from=checked.effective_from,
        created_by=principal.subject if principal.kind == "user" else None,
    )
    return _record(session, principal, benchmark)


def preview(session: Session, principal: Principal, given: CitedBenchmark) -> dict:
    """What a cited benchmark would do before it is recorded: its bands as values, and how the group's valid labels
    of that year (all years where it has none) would be graded. Nothing is stored."""
    _platform_admin(principal)
    checked = check_cited(session, given)
    labels = group_labels(session, checked.group, year=checked.year) or group_labels(session, checked.group)
    counts = dict.fromkeys(grading.GRADES, 0)
    for label in labels:
        counts[grading.graded(stated_value(label), checked.value, checked.bands).grade] += 1
    return {
        "group": checked.group,
        "year": checked.year,
        "value": checked.value,
        "bands": checked.bands,
        "limits": grading.band_limits(checked.value, checked.bands),
        "labels": len(labels),
        "grades": counts,
        "effective_from": checked.effective_from,
    }


# --- what pages and the JSON API show ------------------------------------------------------------------------------


def basis_text(benchmark: Benchmark, lang: str) -> str:
    """The benchmark's basis in a sentence: the registry median and of how many labels, or the citation."""
    t = catalogue(lang)
    if benchmark.basis == REGISTRY:
        return t(
            "bm.basis.registry_text",
            count=benchmark.label_count,
            year=benchmark.year,
            day=china_day(benchmark.created_at).isoformat() if benchmark.created_at else "",
        )
    return (benchmark.citation_zh if lang == "zh" else benchmark.citation) or benchmark.citation or ""


def describe(benchmark: Benchmark, lang: str = "en") -> dict:
    """A benchmark version as the JSON API and the open data give it."""
    group = group_of_benchmark(benchmark)
    bands = bands_of(benchmark)
    return {
        "id": str(benchmark.id),
        "group": group.key,
        "pcr_id": group.pcr_id,
        "pcr_major": group.pcr_major,
        "product_class": group.product_class,
        "declared_unit": group.declared_unit,
        "year": benchmark.year,
        "version": benchmark.version,
        "basis": benchmark.basis,
        "basis_text": basis_text(benchmark, lang),
        "value": benchmark.value,
        "unit": "kg CO2e",
        "percentiles": dict(benchmark.percentiles or {}),
        "label_count": benchmark.label_count,
        "citation": benchmark.citation,
        "citation_zh": benchmark.citation_zh,
        "bands": list(bands),
        "band_limits": [
            {"grade": g, "above": low, "up_to": high} for g, low, high in grading.band_limits(benchmark.value, bands)
        ],
        "effective_from": benchmark.effective_from.isoformat(),
        "superseded_at": benchmark.superseded_at.isoformat() if benchmark.superseded_at else None,
        "created_at": benchmark.created_at.isoformat() if benchmark.created_at else None,
    }


def grade_json(result: LabelGrade | None) -> dict | None:
    if result is None:
        return None
    return {
        "grade": result.grade,
        "ratio": result.ratio,
        "value": result.value,
        "bands": list(result.bands),
        "benchmark": {
            "id": str(result.benchmark.id),
            "year": result.benchmark.year,
            "version": result.benchmark.version,
            "basis": result.benchmark.basis,
            "value": result.benchmark.value,
            "effective_from": result.benchmark.effective_from.isoformat(),
        },
    }


def label_grades(session: Session, label: Label, lang: str = "en", on: date | None = None) -> dict:
    """A label's group and grades, for its public page and JSON: the group (key, name, link, valid labels), the
    grade at issue and the current one (each None without a benchmark)."""
    group = group_of(label)
    if group is None:
        return {"group": None, "at_issue": None, "current": None}
    return {
        "group": {
            "key": group.key,
            "name": group_name(group, lang, label.pcr_version),
            "href": group.href,
            "valid_labels": group_count(session, group, on),
            "reference_year": label.reference_year,
        },
        "at_issue": grade_json(grade_at_issue(session, label)),
        "current": grade_json(grade_now(session, label, on)),
    }


def group_view(session: Session, group: Group, lang: str, year: int | None = None, on: date | None = None) -> dict:
    """The public page of a group: its valid labels today (of one reference year when asked), their distribution
    (not below five: too small to rank), each with its rank and current grade; the benchmark in force with its
    basis and bands as values; every version recorded."""
    on = on or beijing_today()
    everything = group_labels(session, group, on)
    years = sorted({label.reference_year for label in everything if label.reference_year is not None}, reverse=True)
    members = [label for label in everything if year is None or label.reference_year == year]
    values = [stated_value(label) for label in members]
    ranked = grading.ranks(values)
    current = grades(session, members, on)
    chosen = year or (years[0] if years else None)
    benchmark = benchmark_for(session, group, chosen, on)
    counts = dict.fromkeys(grading.GRADES, 0)
    for result in current.values():
        if result is not None:
            counts[result.grade] += 1
    return {
        "group": group,
        "name": group_name(group, lang),
        "class_name": class_name(group, lang),
        "year": year,
        "years": years,
        "count": len(members),
        "rankable": grading.rankable(len(values)),
        "minimum": grading.MIN_RANKED,
        "distribution": grading.distribution(values) if grading.rankable(len(values)) else None,
        "labels": [
            {"label": label, "value": value, "rank": rank, "grade": current[label.id]}
            for label, value, rank in zip(members, values, ranked, strict=True)
        ],
        "grades": counts,
        "benchmark": benchmark,
        "basis": basis_text(benchmark, lang) if benchmark else None,
        "bands": bands_of(benchmark),
        "limits": grading.band_limits(benchmark.value, bands_of(benchmark)) if benchmark else None,
        "versions": versions(session, group),
    }
