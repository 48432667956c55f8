"""The public registry of labels: search, the comparison of a category within its comparable groups, each label's
standing (group and grade), and the look-up of many numbers at once (services.batch_check reads and writes the
buyer's files around it).

The JSON routes (/api/v1/public/registry, /compare, /verify-batch, /open-data/…) and the public pages call these
same functions.

**Search.** One box finds a label by product name, manufacturer, GTIN (any of GTIN-8/12/13/14, as on the pack) or
label number (any spelling, or a part of it); filters narrow by category (PCR), province, comparable group,
reference year, state (valid by default, or all, or one verdict) and value.

**Comparison.** Labels are compared only within their comparable group (services.benchmarks.Group: PCR, PCR major
version, product class, declared unit); the reference year is shown and may be chosen, never mixed silently. Each
group is named and counted; a group of fewer than five valid labels (label_service.grading.MIN_RANKED) is not
ranked, and says so: its labels are listed by product name, without rank, spread or chart. Ranks are competition
ranks of the stated values (the label's signed four significant digits, what anyone can read), lowest first.

**Province.** A label's province is its own column (filled from the verified inventory at issue, and for earlier
labels by services.benchmarks.backfill); a label whose column is empty is found by the province of its inventory
(label -> footprint -> inventory -> `data.facility.province`). Inventories spell a province in English or in
Chinese ('Guizhou', '贵州', '贵州省'): the registry offers each province once, by its key in the factor set
(core.names), and a search for it finds every spelling.
"""

import contextlib
import json
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from itertools import chain

from sqlalchemy import and_, distinct, event, func, or_
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from footprint_api.core import names
from footprint_api.core.errors import NotFound, Unprocessable
from footprint_api.core.messages import Catalogue
from footprint_api.persistence.db import reads_only, session_scope
from footprint_api.persistence.models import Benchmark, Footprint, InventoryRecord, Label
from footprint_api.services import benchmarks, labels
from footprint_api.services.benchmarks import Group
from label_service import grading, gs1
from label_service.numbering import InvalidLabelNumber, normalise, one_typo_away
from label_service.verification import Verdict
from label_service.workflow import LabelState

PAGE_SIZE = 50
MISTYPED_LOOKUPS = 200  # nearest numbers are looked up for this many mistyped numbers of one list
TEXT_MAX_CHARS = 100
STATES = ("valid", "all", "suspended", "revoked", "expired", "superseded")  # the registry's state filter
LANGS = ("zh", "en")


# --- search --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryQuery:
    """What a registry search asks for; an empty criterion does not narrow. `state`: one of STATES (`valid`: in
    force today; `all`; or one verdict); `include_invalid` is the JSON API's earlier spelling of `all`."""

    pcr_id: str | None = None
    manufacturer: str | None = None
    province: str | None = None
    min_kg_co2e: float | None = None
    max_kg_co2e: float | None = None
    include_invalid: bool = False
    text: str | None = None
    group: Group | None = None
    reference_year: int | None = None
    state: str = "valid"


def _inventory_province():
    return func.lower(InventoryRecord.data["facility"]["province"].as_string())


def _in_province(asked: str):
    """A label of a province however it is spelt ('Guizhou', 'guizhou', '贵州', '贵州省'): its own column, or for a
    label without one, its inventory's; a name that is no province matches itself, without regard to case."""
    key = names.province_key(asked)
    if key is None:
        wanted = asked.strip().lower()
        return or_(
            func.lower(Label.province) == wanted, and_(col(Label.province).is_(None), _inventory_province() == wanted)
        )
    english, chinese = names.province_spellings(key)
    inventory = or_(
        _inventory_province() == english.lower(), _inventory_province().startswith(chinese, autoescape=True)
    )
    return or_(Label.province == key, and_(col(Label.province).is_(None), inventory))


def _in_state(state: str, today: date) -> tuple:
    """The query conditions of a verdict on a day (label_service.verification.verdict as SQL)."""
    active, suspended = LabelState.ACTIVE.value, LabelState.SUSPENDED.value
    live = col(Label.state).in_((active, suspended))
    return {
        "valid": labels.valid_on(today),
        "all": (),
        "suspended": (Label.state == suspended, Label.expires_on >= today),
        "revoked": (Label.state == LabelState.REVOKED.value,),
        "superseded": (Label.state == LabelState.SUPERSEDED.value,),
        "expired": (or_(Label.state == LabelState.EXPIRED.value, and_(live, Label.expires_on < today)),),
    }[state]


def text_conditions(text: str):
    """One box for product name, manufacturer, GTIN and label number: a label number in any spelling finds that
    label, a valid GTIN its product's labels, digits a part of a GTIN or number, any text a part of a product's or a
    manufacturer's name or of a number."""
    text = text.strip()[:TEXT_MAX_CHARS]
    found = [
        col(Label.product_name).icontains(text, autoescape=True),
        col(Label.manufacturer_name).icontains(text, autoescape=True),
        col(Label.number).icontains(text.upper(), autoescape=True),
    ]
    with contextlib.suppress(InvalidLabelNumber):
        found.append(Label.number == normalise(text))
    digits = re.sub(r"[\s-]", "", text)
    if digits.isdigit():
        try:
            found.append(Label.gtin == gs1.gtin14(digits))
        except gs1.InvalidGTIN:
            found.append(col(Label.gtin).contains(digits, autoescape=True))
    return or_(*found)


def _statement(query: RegistryQuery, today: date):
    statement = select(Label)
    state = "all" if query.include_invalid and query.state == "valid" else query.state
    statement = statement.where(*_in_state(state, today))
    if query.text and query.text.strip():
        statement = statement.where(text_conditions(query.text))
    if query.pcr_id:
        statement = statement.where(Label.pcr_id == query.pcr_id)
    if query.group is not None:
        statement = statement.where(*query.group.conditions())
    if query.reference_year is not None:
        statement = statement.where(Label.reference_year == query.reference_year)
    if query.manufacturer:
        statement = statement.where(col(Label.manufacturer_name).icontains(query.manufacturer, autoescape=True))
    if query.min_kg_co2e is not None:
        statement = statement.where(Label.total_kg_co2e >= query.min_kg_co2e)
    if query.max_kg_co2e is not None:
        statement = statement.where(Label.total_kg_co2e <= query.max_kg_co2e)
    if query.province:
        statement = (
            statement.outerjoin(Footprint, col(Footprint.id) == col(Label.footprint_id))
            .outerjoin(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
            .where(_in_province(query.province))
        )
    return statement


# orders of a search, each ending with the label number: a stable order, so that pages neither repeat nor skip
SORTS = {
    "category": (Label.pcr_id, Label.total_kg_co2e, Label.number),
    "value": (Label.total_kg_co2e, Label.number),
    "-value": (col(Label.total_kg_co2e).desc(), Label.number),
    "product": (func.lower(Label.product_name), Label.number),
    "-issued": (col(Label.issued_on).desc(), col(Label.number).desc()),
    "number": (Label.number,),
}


def search(
    session: Session,
    query: RegistryQuery,
    today: date,
    limit: int = PAGE_SIZE,
    offset: int = 0,
    sort: str | None = None,
) -> list[Label]:
    """One query: the labels matching every criterion, by category, then value, then number unless another order
    of SORTS is asked."""
    statement = _statement(query, today).order_by(*SORTS.get(sort or "category", SORTS["category"]))
    return list(session.exec(statement.offset(offset).limit(limit)))


def count(session: Session, query: RegistryQuery, today: date) -> int:
    """How many labels match (the JSON API's X-Total-Count)."""
    return session.exec(select(func.count()).select_from(_statement(query, today).subquery())).one()


def categories(session: Session) -> list[str]:
    """The PCRs that have labels (the registry's category choice)."""
    return list(session.exec(select(distinct(Label.pcr_id)).order_by(Label.pcr_id)))


def provinces(session: Session) -> list[str]:
    """The provinces of labelled products, each once by its key however the inventories spell it (the registry's
    province choice; a page names them in its reader's language); a name that is no province as written."""
    province = InventoryRecord.data["facility"]["province"].as_string()
    from_inventories = session.exec(
        select(distinct(province))
        .select_from(Label)
        .join(Footprint, col(Footprint.id) == col(Label.footprint_id))
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .where(col(Label.province).is_(None))
    )
    own = session.exec(select(distinct(Label.province)).where(col(Label.province).is_not(None)))
    return sorted(
        {names.province_key(row) or row.strip() for row in chain(from_inventories, own) if row and row.strip()},
        key=str.lower,
    )


def reference_years(session: Session, pcr_id: str | None = None) -> list[int]:
    """The reference years of labelled footprints, newest first (of one category when given)."""
    statement = select(distinct(Label.reference_year)).where(col(Label.reference_year).is_not(None))
    if pcr_id:
        statement = statement.where(Label.pcr_id == pcr_id)
    return sorted(session.exec(statement), reverse=True)


def groups(session: Session, pcr_id: str | None = None) -> list[Group]:
    """The comparable groups that have labels (of one category when given), in their order."""
    statement = select(Label.pcr_id, Label.pcr_major, Label.product_class, Label.declared_unit).where(
        col(Label.pcr_major).is_not(None), col(Label.product_class).is_not(None)
    )
    if pcr_id:
        statement = statement.where(Label.pcr_id == pcr_id)
    return sorted({Group(*row) for row in session.exec(statement.distinct())})


def group_of_key(key: str | None, field: str = "group") -> Group | None:
    """The group a form or a query names by its key; None for none; 422 naming the field for a key that is none."""
    if not key or not key.strip():
        return None
    try:
        return Group.from_key(key.strip())
    except NotFound as exc:
        raise Unprocessable(exc.detail, [{**exc.errors[0], "field": field}], exc.code) from None


# --- names in both languages ---------------------------------------------------------------------------------------


# Names change only when a PCR version is published; a list of many labels names the same few groups and categories
# again and again, and each naming reads the PCR registry. They are kept for NAMES_SECONDS.
NAMES_SECONDS = 60.0
_names: dict[tuple, tuple[float, dict[str, str]]] = {}
_names_lock = threading.Lock()


def _named(key: tuple, name) -> dict[str, str]:
    now = time.monotonic()
    with _names_lock:
        kept = _names.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
    shown = {lang: name(lang) for lang in LANGS}
    with _names_lock:
        if len(_names) > 10_000:
            _names.clear()
        _names[key] = (now + NAMES_SECONDS, shown)
    return shown


def group_names(group: Group, version: str | None = None) -> dict[str, str]:
    """{'zh': '水泥 · PCR-CN-CEMENT 1.x 版 · P·O … 42.5 · 1 t', 'en': 'cement · …'}."""
    return _named(("group", group, version), lambda lang: benchmarks.group_name(group, lang, version))


def category_names(pcr_id: str) -> dict[str, str]:
    """{'zh': '水泥', 'en': 'cement'}."""
    return _named(("category", pcr_id), lambda lang: names.pcr_category(pcr_id, lang))


def province_names(province: str | None) -> dict[str, str]:
    return {lang: names.province_name(province, lang) for lang in LANGS} if province else {"zh": "", "en": ""}


# --- a label's standing: its group and grades ----------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """Where a label stands: its comparable group (None while its columns are not filled), its grade against the
    benchmark in force today and the one recorded at issue (each None without a benchmark)."""

    group: Group | None
    current: benchmarks.LabelGrade | None
    at_issue: benchmarks.LabelGrade | None


def standings(session: Session, found: list[Label], today: date) -> dict[uuid.UUID, Standing]:
    """The standing of each label (by id), with one query for the benchmarks of all their groups and one for the
    benchmarks recorded at issue."""
    current = benchmarks.grades(session, found, today)
    at_issue_ids = {label.benchmark_at_issue_id for label in found if label.benchmark_at_issue_id}
    recorded = (
        {b.id: b for b in session.exec(select(Benchmark).where(col(Benchmark.id).in_(at_issue_ids)))}
        if at_issue_ids
        else {}
    )
    answer = {}
    for label in found:
        issued_against = recorded.get(label.benchmark_at_issue_id) if label.grade_at_issue is not None else None
        at_issue = (
            benchmarks.LabelGrade(
                label.grade_at_issue,
                label.grade_ratio_at_issue or 0.0,
                benchmarks.stated_value(label),
                issued_against,
                benchmarks.bands_of(issued_against),
            )
            if issued_against is not None
            else None
        )
        answer[label.id] = Standing(benchmarks.group_of(label), current.get(label.id), at_issue)
    return answer


def grade_summary(grade: benchmarks.LabelGrade | None) -> dict | None:
    """A grade for the JSON API and open data: the grade, the unrounded ratio and the benchmark it was given
    against (basis, year, version, value, effective date, and its basis in both languages)."""
    if grade is None:
        return None
    return {
        **benchmarks.grade_json(grade),
        "basis_text": {lang: benchmarks.basis_text(grade.benchmark, lang) for lang in LANGS},
    }


def group_summary(group: Group | None, version: str | None = None) -> dict | None:
    if group is None:
        return None
    return {
        "key": group.key,
        "pcr_id": group.pcr_id,
        "pcr_major": group.pcr_major,
        "product_class": group.product_class,
        "declared_unit": group.declared_unit,
        "name": group_names(group, version),
        "href": group.href,
    }


def entry(label: Label, standing: Standing | None, today: date) -> dict:
    """A label as the registry lists it (JSON API, open data): what it claims, its state today, its category,
    province and group named in both languages, its reference year and its grades."""
    standing = standing or Standing(None, None, None)
    return {
        "number": label.number,
        "status": labels.status(label, today).value,
        "product": label.product_name,
        "manufacturer": label.manufacturer_name,
        "gtin": label.gtin,
        "value": label.value,
        "unit": "kg CO2e",
        "declared_unit": label.declared_unit,
        "pcr_id": label.pcr_id,
        "pcr_version": label.pcr_version,
        "category": category_names(label.pcr_id),
        "province": label.province,
        "province_name": province_names(label.province),
        "reference_year": label.reference_year,
        "group": group_summary(standing.group, label.pcr_version),
        "grade": grade_summary(standing.current),
        "grade_at_issue": grade_summary(standing.at_issue),
        "issued_on": label.issued_on.isoformat(),
        "expires_on": label.expires_on.isoformat(),
        "superseded_by": label.superseded_by,
        "href": f"/V/{label.number}",
    }


# The standing of one label for its verification page and JSON, cached per process: the verification routes are
# the most read part of the service and are answered from a cache (services.verification); a grade changes only with
# a new benchmark version (whose effective date is today or later) or a new label, so it may be as old as
# STANDING_SECONDS, and a change committed in this process clears it at once.
STANDING_SECONDS = 60.0
STANDING_ENTRIES = 10_000
_standing_cache: OrderedDict[str, tuple[float, dict | None]] = OrderedDict()
_standing_lock = threading.Lock()


def public_standing(number: str, today: date) -> dict | None:
    """The label's group (named in both languages, with its valid labels and whether it is ranked) and its grades
    now and at issue, for its verification page and JSON; None for no such label, a label without a group, or when
    the database does not answer (the verification answer stands without it)."""
    now = time.monotonic()
    with _standing_lock:
        cached = _standing_cache.get(number)
        if cached is not None and cached[0] > now:
            _standing_cache.move_to_end(number)
            return cached[1]
    try:
        with reads_only(), session_scope() as session:
            shown = _standing_of(session, number, today)
    except SQLAlchemyError:
        return None
    with _standing_lock:
        _standing_cache[number] = (now + STANDING_SECONDS, shown)
        while len(_standing_cache) > STANDING_ENTRIES:
            _standing_cache.popitem(last=False)
    return shown


def cached_standing(number: str) -> tuple[bool, dict | None]:
    """(True, the standing) when this process holds a fresh one for the number as typed or scanned, else (False,
    None): a dictionary look-up the verification answer makes on its own thread, so that the hot path goes to a
    worker thread (and the database) only once a minute per label."""
    try:
        key = normalise(number)
    except InvalidLabelNumber:
        return True, None
    with _standing_lock:
        cached = _standing_cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return True, cached[1]
    return False, None


def standing_of_number(number: str, today: date) -> dict | None:
    """`public_standing` of a number typed or scanned in any spelling; None for one that is no label number."""
    try:
        return public_standing(normalise(number), today)
    except InvalidLabelNumber:
        return None


def with_standing_json(body: bytes, standing: dict | None) -> bytes:
    """A label's public JSON (an object) with its standing as the last member `standing`; as it was without one."""
    end = body.rstrip()
    if standing is None or not end.endswith(b"}"):
        return body
    return end[:-1] + b',"standing":' + json.dumps(standing, ensure_ascii=False).encode() + b"}"


def _standing_of(session: Session, number: str, today: date) -> dict | None:
    label = session.exec(select(Label).where(Label.number == number)).first()
    if label is None:
        return None
    standing = standings(session, [label], today)[label.id]
    if standing.group is None:
        return None
    valid = benchmarks.group_count(session, standing.group, today)
    return {
        "group": {
            **group_summary(standing.group, label.pcr_version),
            "valid_labels": valid,
            "ranked": grading.rankable(valid),
            "minimum_to_rank": grading.MIN_RANKED,
            "reference_year": label.reference_year,
        },
        "grade": grade_summary(standing.current),
        "grade_at_issue": grade_summary(standing.at_issue),
    }


def forget_standings() -> None:
    with _standing_lock:
        _standing_cache.clear()


@event.listens_for(Session, "after_flush")
def _note_standing_changes(session: Session, _context) -> None:
    changed = chain(session.new, session.dirty, session.deleted)
    if any(isinstance(obj, Label | Benchmark) for obj in changed):
        session.info["standings_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_changed_standings(session: Session) -> None:
    if session.info.pop("standings_changed", False):
        forget_standings()


@event.listens_for(Session, "after_rollback")
def _no_standing_changed(session: Session) -> None:
    session.info.pop("standings_changed", None)


# --- comparison ----------------------------------------------------------------------------------------------------


def compare(session: Session, pcr_id: str, today: date, group: Group | None = None, year: int | None = None) -> dict:
    """The valid labels of one category, per comparable group (only like with like), each group named and counted;
    of one group and one reference year when asked. A product counts once: only one of its labels is in force (a
    newer one supersedes the earlier). Labels whose group is not known yet (issued before groups existed and not
    yet backfilled) are counted apart, never compared."""
    statement = select(Label).where(Label.pcr_id == pcr_id, *labels.valid_on(today))
    if group is not None:
        statement = statement.where(*group.conditions())
    if year is not None:
        statement = statement.where(Label.reference_year == year)
    found = list(session.exec(statement))
    standing = standings(session, found, today)
    members: dict[Group, list[Label]] = {}
    unassigned = 0
    for label in found:
        label_group = standing[label.id].group
        if label_group is None:
            unassigned += 1
        else:
            members.setdefault(label_group, []).append(label)
    return {
        "pcr_id": pcr_id,
        "category": category_names(pcr_id),
        "year": year,
        "years": reference_years(session, pcr_id),
        "minimum_to_rank": grading.MIN_RANKED,
        "unassigned": unassigned,
        "groups": [_compared(session, key, members[key], standing, today) for key in sorted(members)],
    }


def _compared(session: Session, group: Group, members: list[Label], standing: dict, today: date) -> dict:
    """One group: ranked by stated value (competition ranks, median, spread) when it has at least five labels;
    else listed by product name, and said to be too small to rank."""
    values = [benchmarks.stated_value(label) for label in members]
    ranked = grading.rankable(len(members))
    if ranked:
        order = sorted(range(len(members)), key=lambda i: (values[i], members[i].number))
    else:
        order = sorted(range(len(members)), key=lambda i: (members[i].product_name.casefold(), members[i].number))
    ranks = grading.ranks(values)
    median = grading.median(values) if ranked else None
    newest_year = max((m.reference_year for m in members if m.reference_year is not None), default=None)
    benchmark = benchmarks.benchmark_for(session, group, newest_year, today)
    return {
        **group_summary(group, members[0].pcr_version),
        "group": group.key,
        "count": len(members),
        "ranked": ranked,
        "not_ranked": None if ranked else "too_small",
        "min_kg_co2e": min(values) if ranked else None,
        "median_kg_co2e": median,
        "max_kg_co2e": max(values) if ranked else None,
        "years": sorted({m.reference_year for m in members if m.reference_year is not None}, reverse=True),
        "benchmark": benchmarks.describe(benchmark) if benchmark is not None else None,
        "labels": [
            {
                "number": members[i].number,
                "product": members[i].product_name,
                "manufacturer": members[i].manufacturer_name,
                "value": members[i].value,
                "kg_co2e": values[i],
                "rank": ranks[i],
                "relative_to_median": values[i] / median if median else None,
                "reference_year": members[i].reference_year,
                "province": members[i].province,
                "grade": grade_summary(standing[members[i].id].current),
                "grade_at_issue": grade_summary(standing[members[i].id].at_issue),
            }
            for i in order
        ],
    }


def placing(comparison: dict, number: str) -> tuple[dict, dict] | None:
    """(group, entry) of a label in a comparison, or None when it is not among the valid labels compared."""
    for group in comparison["groups"]:
        for item in group["labels"]:
            if item["number"] == number:
                return group, item
    return None


# --- checking many numbers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """One number of a batch check: canonical when well formed, its verdict (labels.Verdict), the label when there
    is one, and for a number one typo away from a well-formed one, the nearest numbers that exist."""

    number: str
    verdict: str
    label: Label | None = None
    mistyped: bool = False
    nearest: tuple[str, ...] = ()


def check(session: Session, numbers: list[str], today: date | None = None) -> list[Checked]:
    """Each number's verdict, in the order given; one query per 500 numbers."""
    canonical: list[tuple[str, bool]] = []
    for number in numbers:
        try:
            canonical.append((normalise(number), True))
        except InvalidLabelNumber:
            canonical.append((number[:40], False))
    wanted = sorted({number for number, ok in canonical if ok})
    found: dict[str, Label] = {}
    for start in range(0, len(wanted), 500):  # bound the IN list
        for label in session.exec(select(Label).where(col(Label.number).in_(wanted[start : start + 500]))):
            found[label.number] = label
    checked: list[Checked] = []
    lookups = MISTYPED_LOOKUPS
    for number, ok in canonical:
        label = found.get(number) if ok else None
        verdict = labels.status(label, today).value
        if label is None and not ok and lookups > 0 and one_typo_away(number):
            lookups -= 1
            checked.append(Checked(number, verdict, None, True, tuple(labels.nearest(session, number))))
        else:
            checked.append(Checked(label.number if label else number, verdict, label))
    return checked


def note(item: Checked, t: Catalogue) -> str | None:
    """Why a number is not (or no longer) a valid label, in the reader's language: a probable typing error (and the
    numbers meant), the label that replaced it, the certification body's reason, the day it expired."""
    if item.mistyped:
        nearest = ", ".join(item.nearest)
        return t("pub.batch.note.mistyped_nearest", numbers=nearest) if nearest else t("pub.batch.note.mistyped")
    label = item.label
    if label is None:
        return t("pub.batch.note.not_found") if item.verdict == Verdict.NOT_FOUND.value else None
    if label.superseded_by:
        return t("pub.batch.note.superseded", number=label.superseded_by)
    if item.verdict in (Verdict.SUSPENDED.value, Verdict.REVOKED.value) and label.state_reason:
        return t(f"pub.batch.note.{item.verdict.lower()}", reason=label.state_reason)
    if item.verdict == Verdict.EXPIRED.value:
        return t("pub.batch.note.expired", expires=label.expires_on.isoformat())
    return None


def tally(verdicts: list[str]) -> dict[str, int]:
    """How many numbers had each verdict, most frequent first."""
    counts: dict[str, int] = {}
    for verdict in verdicts:
        counts[verdict] = counts.get(verdict, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
