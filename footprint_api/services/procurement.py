"""Tender evaluations on carbon labels: a buyer's comparable group, a documented rule, the candidates, a verdict
for each with its reasons, an evaluation sheet to attach to the tender file, the award, and the watch that tells
the buyer when an awarded label changes.

**The evaluation.** A procurement organisation's officer names the tender (title, the tender's own reference), the
comparable group (services.benchmarks.Group: PCR, PCR major version, product class, declared unit; chosen from the
groups that have labels), the rule, the award date and the validity a label must have left on that date. The rule is
one of:

- `max_value`: at most this value, kg CO2e per declared unit (Buy Clean California's maximum per material and
  declared unit). Pass when value ≤ limit.
- `max_grade`: at most this grade (1–5) against the group's benchmark (Zhejiang's 碳效码 grades, EU battery
  performance classes). The grade is the one the label's public page shows (services.benchmarks.grades: its
  reference year's benchmark in force on the day of the evaluation).
- `best_percent`: among the best x % of the group (the US GSA buys from the best 20 % / 40 % of a category): value
  ≤ the group's x-th percentile (label_service.grading.percentile: linear interpolation, Hyndman & Fan definition 7)
  over the stated values of the group's valid labels on the day of the evaluation. A group of fewer than five labels
  has no such percentile: every comparable candidate fails with that reason.
- `threshold`: at most this fraction of the benchmark (1.0 = the benchmark itself, 0.8 = 20 % below it); the
  threshold per declared unit is fraction × the benchmark value the candidate is graded against. It follows the
  benchmark: a new benchmark version moves it, and the sheet names the version used.

`max_grade` and `threshold` need a benchmark of the group: an evaluation with either is refused while the group has
none.

**Candidates** are given by label number, by GTIN (the label in force of that GTIN: of the evaluation's PCR where the
product has several, else its newest), or from a supplier's list (XLSX or CSV, a header row; the column holding the
label numbers or GTINs found by its heading or its contents) whose other columns are the buyer's own: they are kept
with each candidate and shown again in the sheet, so that it merges back into the buyer's file.

**Evaluating** gives each candidate a verdict, worst first: `unknown` (no such label, no label in force for the
GTIN), `invalid` (suspended, revoked, superseded — naming its successor — or expired today), `not_comparable`
(another comparable group: both groups are named), `fail` (expiring before the award date, less validity left than
asked, or the rule not met), `pass`. Each verdict has its reasons as codes with values (worded in both languages on
the pages and in the sheet: locales/*/procurement.yaml), the decisive one first. For every comparable candidate it
gives the value the label states (its signed four significant digits, as the benchmarks grade: anyone can repeat the
figure from public data), the margin to the rule's limit per declared unit (limit − value: positive is under it),
the grade and the rank among the comparable, valid candidates (lowest value first, equal values share a rank); fewer
than five of those are not ranked, and the sheet says so. Only public label data is read: a manufacturer's
footprints and inventories never reach the buyer.

Each evaluation writes a new sheet (XLSX and PDF, both languages, the benchmark's basis and the time of evaluation in
Beijing time: exports.evaluation_sheet) to the object store; earlier sheets stay listed and downloadable
(`ProcurementEvaluation.sheet_files["sheets"]`, oldest first).

**Award and watch.** The buyer marks candidates that passed the latest evaluation as awarded. An awarded label is
watched: its suspension, revocation, supersession or expiry, and its expiry coming within 60 days, reach the active
people of every procurement organisation that awarded it (services.notices asks `buyer_notices` and
`expiring_buyer_notices` here; mail goes as for every notice).
"""

import csv
import io
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from footprint_api.core.china_time import CHINA_TIME
from footprint_api.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from footprint_api.core.messages import catalogue
from footprint_api.core.settings import get_settings
from footprint_api.exports import evaluation_sheet
from footprint_api.infra import workbooks
from footprint_api.infra.objects import object_store
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    Benchmark,
    EvaluationCandidate,
    Label,
    Notice,
    ProcurementEvaluation,
    Role,
    User,
    utcnow,
)
from footprint_api.services import audit, benchmarks, labels, messages
from footprint_api.services.messages import render
from footprint_api.services.principals import actor
from footprint_api.services.verification import current_instant, label_day
from label_service import grading
from label_service.gs1 import InvalidGTIN, gtin14
from label_service.numbering import InvalidLabelNumber, normalise
from label_service.render import find_font
from label_service.storage import StorageError
from label_service.verification import Verdict
from label_service.workflow import LabelState

BUYER_ROLES = (Role.PROCUREMENT_OFFICER, Role.PROCUREMENT_ADMIN)
MAX_VALUE, MAX_GRADE, BEST_PERCENT, THRESHOLD = "max_value", "max_grade", "best_percent", "threshold"
RULES = (MAX_VALUE, MAX_GRADE, BEST_PERCENT, THRESHOLD)
NEEDS_BENCHMARK = (MAX_GRADE, THRESHOLD)
PASS, FAIL, NOT_COMPARABLE, INVALID, UNKNOWN = "pass", "fail", "not_comparable", "invalid", "unknown"
VERDICTS = (PASS, FAIL, NOT_COMPARABLE, INVALID, UNKNOWN)
SEVERITY = {UNKNOWN: 4, INVALID: 3, NOT_COMPARABLE: 2, FAIL: 1, PASS: 0}  # the worst reason decides the verdict
LABEL, GTIN = "label", "gtin"
DRAFT, EVALUATED, AWARDED = "draft", "evaluated", "awarded"

TITLE_MAX_CHARS = 300
REFERENCE_MAX_CHARS = 100
GIVEN_MAX_CHARS = 100
MAX_CANDIDATES = 2_000  # per evaluation: a national framework tender lists a few hundred
MAX_VALIDITY_DAYS = 3_650
AWARD_MAX_DAYS_AHEAD = 5 * 366
RULE_LIMITS = {  # the rule value a buyer may give: (lowest exclusive, highest inclusive)
    MAX_VALUE: (0.0, 1e9),  # kg CO2e per declared unit
    MAX_GRADE: (0.0, 5.0),  # a whole grade 1-5
    BEST_PERCENT: (0.0, 100.0),  # percent of the group
    THRESHOLD: (0.0, 10.0),  # a fraction of the benchmark
}
IN_FORCE = (LabelState.ACTIVE.value, LabelState.SUSPENDED.value)
CHUNK = 500  # label numbers or GTINs per IN list

# the buyer's list
UPLOAD_MAX_BYTES = 2_000_000
UPLOAD_MAX_COLUMNS = 30
CELL_MAX_CHARS = 200
UPLOAD_LIMITS = workbooks.Limits(
    max_bytes=UPLOAD_MAX_BYTES,
    max_unpacked_bytes=30_000_000,
    max_member_bytes=30_000_000,
    max_sheets=50,
    max_rows=MAX_CANDIDATES + 1,
    max_columns=UPLOAD_MAX_COLUMNS + 1,  # one more than kept: a list wider than that is refused, not cut
    max_cells=(MAX_CANDIDATES + 1) * (UPLOAD_MAX_COLUMNS + 1),
)
IDENTIFIER_HEADINGS = (  # a column of the buyer's list holding the candidates, by its heading (case ignored)
    "label number",
    "label no.",
    "label",
    "number",
    "gtin",
    "ean",
    "barcode",
    "标签编号",
    "碳标签编号",
    "标签号",
    "碳标签",
    "标签",
    "商品条码",
    "条码",
    "条形码",
)
MAX_ROW_ERRORS = 20  # rows of a list named in one refusal


# --- who may --------------------------------------------------------------------------------------------------------


def _buyer(principal: Principal) -> None:
    if principal.role not in BUYER_ROLES:
        raise Forbidden("only a procurement organisation's people evaluate tenders", code="proc.refused.role")


def evaluation_of(session: Session, principal: Principal, evaluation_id: uuid.UUID) -> ProcurementEvaluation:
    """The caller's organisation's evaluation; another organisation's answers 404, as if it did not exist."""
    _buyer(principal)
    evaluation = session.get(ProcurementEvaluation, evaluation_id)
    if evaluation is None or evaluation.organisation_id != principal.organisation_id:
        raise NotFound("no such evaluation of yours", code="proc.refused.not_found")
    return evaluation


def evaluations(session: Session, principal: Principal) -> list[ProcurementEvaluation]:
    """The organisation's evaluations, newest first."""
    _buyer(principal)
    return list(
        session.exec(
            select(ProcurementEvaluation)
            .where(ProcurementEvaluation.organisation_id == principal.organisation_id)
            .order_by(col(ProcurementEvaluation.created_at).desc())
        )
    )


def candidates_of(session: Session, evaluation: ProcurementEvaluation) -> list[EvaluationCandidate]:
    return list(
        session.exec(
            select(EvaluationCandidate)
            .where(EvaluationCandidate.evaluation_id == evaluation.id)
            .order_by(col(EvaluationCandidate.position))
        )
    )


# --- groups ---------------------------------------------------------------------------------------------------------


def group_of_evaluation(evaluation: ProcurementEvaluation) -> benchmarks.Group:
    return benchmarks.Group(evaluation.pcr_id, evaluation.pcr_major, evaluation.product_class, evaluation.declared_unit)


def groups(session: Session, lang: str = "zh") -> list[dict]:
    """The comparable groups that have labels, each with its name in the reader's language and its valid labels
    today: what a buyer chooses an evaluation's group from."""
    found = [
        {
            "group": entry["group"],
            "key": entry["group"].key,
            "name": benchmarks.group_name(entry["group"], lang),
            "labels": entry["labels"],
            "valid": entry["valid"],
        }
        for entry in benchmarks.groups_with_labels(session, label_day())
    ]
    return sorted(found, key=lambda entry: entry["name"])


def group_names(group: benchmarks.Group) -> dict[str, str]:
    """A group's name in English and Chinese, as coded reasons carry it (`group`, `group_zh`)."""
    return {"en": benchmarks.group_name(group, "en"), "zh": benchmarks.group_name(group, "zh")}


# --- creating an evaluation -----------------------------------------------------------------------------------------


def _error(field_name: str, code: str, reason: str, **params) -> dict:
    return {"field": field_name, "reason": reason, "code": code, "params": params}


def _refuse(errors: list[dict], detail: str = "the evaluation cannot be recorded") -> Unprocessable:
    return Unprocessable(detail, errors, code="proc.refused.invalid")


@dataclass(frozen=True)
class EvaluationForm:
    """An evaluation as the buyer gives it (a form or JSON), before checks: every value as typed."""

    title: str
    group: str
    rule: str
    rule_value: float | str
    award_date: date | str
    reference: str | None = None
    min_validity_days: int | str = 0


@dataclass(frozen=True)
class CheckedEvaluation:
    title: str
    reference: str | None
    group: benchmarks.Group
    rule: str
    rule_value: float
    award_date: date
    min_validity_days: int


def _text(value, name: str, limit: int, errors: list[dict], required: bool) -> str | None:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(value or "")).split())
    if required and not text:
        errors.append(_error(name, "proc.field.missing", "required"))
    elif len(text) > limit:
        errors.append(_error(name, "proc.field.too_long", f"at most {limit} characters", limit=limit))
    return text or None


def _number(value) -> float:
    try:
        number = float(str(value).strip().replace(",", "").replace("，", ""))
    except (TypeError, ValueError):
        return math.nan
    return number


def _check_group(session: Session, key: str, errors: list[dict]) -> benchmarks.Group | None:
    try:
        group = benchmarks.Group.from_key(str(key or ""))
    except (NotFound, Unprocessable):
        errors.append(_error("group", "proc.group.unknown", "not a comparable group that has labels"))
        return None
    if group.key not in {entry["group"].key for entry in benchmarks.groups_with_labels(session, label_day())}:
        errors.append(_error("group", "proc.group.unknown", "not a comparable group that has labels"))
        return None
    return group


def _check_rule(rule: str, value, errors: list[dict]) -> tuple[str | None, float | None]:
    if rule not in RULES:
        errors.append(_error("rule", "proc.rule.unknown", f"one of {', '.join(RULES)}"))
        return None, None
    number = _number(value)
    low, high = RULE_LIMITS[rule]
    if not (math.isfinite(number) and low < number <= high) or (rule == MAX_GRADE and not number.is_integer()):
        errors.append(
            _error("rule_value", f"proc.rule_value.{rule}", f"a number above {low:g} and at most {high:g}", high=high)
        )
        return rule, None
    return rule, number


def _check_award(value, today: date, errors: list[dict]) -> date | None:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value or "").strip())
    except ValueError:
        errors.append(_error("award_date", "proc.award_date.invalid", "a date as YYYY-MM-DD"))
        return None
    if day < today:
        errors.append(_error("award_date", "proc.award_date.past", "today or later", today=today.isoformat()))
        return None
    if day > today + timedelta(days=AWARD_MAX_DAYS_AHEAD):
        errors.append(_error("award_date", "proc.award_date.far", "at most five years ahead"))
        return None
    return day


def _check_days(value, errors: list[dict]) -> int | None:
    text = str(value if value is not None else "").strip() or "0"
    if not text.isdecimal() or int(text) > MAX_VALIDITY_DAYS:
        errors.append(
            _error(
                "min_validity_days",
                "proc.min_validity_days.invalid",
                f"a whole number of days from 0 to {MAX_VALIDITY_DAYS}",
                limit=MAX_VALIDITY_DAYS,
            )
        )
        return None
    return int(text)


def check_form(session: Session, given: EvaluationForm) -> CheckedEvaluation:
    """Every field checked at once; 422 naming each one that is wrong, with a code for the reader's language. A rule
    that grades needs a benchmark of the group."""
    errors: list[dict] = []
    title = _text(given.title, "title", TITLE_MAX_CHARS, errors, required=True)
    reference = _text(given.reference, "reference", REFERENCE_MAX_CHARS, errors, required=False)
    group = _check_group(session, given.group, errors)
    rule, rule_value = _check_rule(str(given.rule or ""), given.rule_value, errors)
    award_date = _check_award(given.award_date, label_day(), errors)
    days = _check_days(given.min_validity_days, errors)
    if group is not None and rule in NEEDS_BENCHMARK and not benchmarks.versions(session, group):
        errors.append(
            _error("rule", "proc.rule.no_benchmark", "the group has no benchmark to grade against", rule=rule)
        )
    if errors:
        raise _refuse(errors)
    return CheckedEvaluation(title, reference, group, rule, rule_value, award_date, days)


def create(session: Session, principal: Principal, given: EvaluationForm) -> ProcurementEvaluation:
    _buyer(principal)
    checked = check_form(session, given)
    evaluation = ProcurementEvaluation(
        organisation_id=principal.organisation_id,
        title=checked.title,
        reference=checked.reference,
        pcr_id=checked.group.pcr_id,
        pcr_major=checked.group.pcr_major,
        product_class=checked.group.product_class,
        declared_unit=checked.group.declared_unit,
        rule=checked.rule,
        rule_value=checked.rule_value,
        award_date=checked.award_date,
        min_validity_days=checked.min_validity_days,
        created_by=principal.subject if principal.kind == "user" else None,
    )
    session.add(evaluation)
    audit.record(
        session,
        actor(principal),
        "procurement.evaluation_created",
        "procurement_evaluation",
        evaluation.id,
        after={
            "title": evaluation.title,
            "reference": evaluation.reference,
            "group": checked.group.key,
            "rule": evaluation.rule,
            "rule_value": evaluation.rule_value,
            "award_date": evaluation.award_date.isoformat(),
            "min_validity_days": evaluation.min_validity_days,
        },
    )
    audit.commit(session)
    return evaluation


# --- candidates -----------------------------------------------------------------------------------------------------


class NotAnIdentifier(ValueError):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code


def identify(text: str) -> tuple[str, str]:
    """(kind, canonical) of what a buyer typed: a label number in any spelling ('pcf2026000123f'), else a GTIN-8,
    -12, -13 or -14 (stored as 14 digits); NotAnIdentifier naming why it is neither."""
    value = " ".join(str(text or "").split())
    if not value:
        raise NotAnIdentifier("proc.candidate.missing", "empty")
    if len(value) > GIVEN_MAX_CHARS:
        raise NotAnIdentifier("proc.candidate.too_long", f"at most {GIVEN_MAX_CHARS} characters")
    if any(ch.isalpha() for ch in value):
        try:
            return LABEL, normalise(value)
        except InvalidLabelNumber:
            raise NotAnIdentifier(
                "proc.candidate.number_invalid", "not a label number (like PCF-2026-000123-F)"
            ) from None
    try:
        return GTIN, gtin14(value)
    except InvalidGTIN:
        raise NotAnIdentifier(
            "proc.candidate.gtin_invalid", "not a GTIN (8, 12, 13 or 14 digits with a valid check digit)"
        ) from None


@dataclass(frozen=True)
class GivenCandidate:
    given: str
    kind: str
    columns: dict = field(default_factory=dict)


def _open(evaluation: ProcurementEvaluation) -> None:
    if evaluation.state == AWARDED:
        raise Conflict("the evaluation is awarded: its candidates no longer change", code="proc.refused.awarded")


def _add(
    session: Session, principal: Principal, evaluation: ProcurementEvaluation, given: list[GivenCandidate], source: str
) -> list[EvaluationCandidate]:
    existing = candidates_of(session, evaluation)
    if len(existing) + len(given) > MAX_CANDIDATES:
        raise _refuse(
            [
                _error(
                    "candidates",
                    "proc.candidate.too_many",
                    f"at most {MAX_CANDIDATES} candidates per evaluation",
                    limit=MAX_CANDIDATES,
                    count=len(existing),
                )
            ],
            "too many candidates",
        )
    position = max((c.position for c in existing), default=0)
    added = []
    for item in given:
        position += 1
        candidate = EvaluationCandidate(
            evaluation_id=evaluation.id,
            position=position,
            given=item.given,
            given_kind=item.kind,
            columns=dict(item.columns),
        )
        added.append(candidate)
    session.add_all(added)
    evaluation.updated_at = utcnow()
    session.add(evaluation)
    audit.record(
        session,
        actor(principal),
        "procurement.candidates_added",
        "procurement_evaluation",
        evaluation.id,
        after={"source": source, "count": len(added), "given": [c.given for c in added[:50]]},
    )
    audit.commit(session)
    return added


def add_candidates(
    session: Session, principal: Principal, evaluation_id: uuid.UUID, given: Sequence[str]
) -> list[EvaluationCandidate]:
    """Candidates by label number or GTIN, one per entry (blank entries skipped); 422 naming each entry that is
    neither (`candidates[i]`, counted from 0), and nothing added."""
    evaluation = evaluation_of(session, principal, evaluation_id)
    _open(evaluation)
    errors, found = [], []
    for index, text in enumerate(given):
        if not str(text or "").strip():
            continue
        try:
            kind, canonical = identify(text)
        except NotAnIdentifier as exc:
            errors.append(_error(f"candidates[{index}]", exc.code, str(exc), value=str(text)[:GIVEN_MAX_CHARS]))
            continue
        found.append(GivenCandidate(canonical, kind))
    if errors:
        raise _refuse(errors, "some candidates are neither label numbers nor GTINs")
    if not found:
        raise _refuse([_error("candidates", "proc.candidate.none", "give at least one label number or GTIN")])
    return _add(session, principal, evaluation, found, "typed")


def remove_candidate(session: Session, principal: Principal, evaluation_id: uuid.UUID, candidate_id: uuid.UUID) -> None:
    evaluation = evaluation_of(session, principal, evaluation_id)
    candidate = session.get(EvaluationCandidate, candidate_id)
    if candidate is None or candidate.evaluation_id != evaluation.id:
        raise NotFound("no such candidate of this evaluation", code="proc.refused.candidate_not_found")
    _open(evaluation)
    session.delete(candidate)
    evaluation.updated_at = utcnow()
    session.add(evaluation)
    audit.record(
        session,
        actor(principal),
        "procurement.candidate_removed",
        "procurement_evaluation",
        evaluation.id,
        before={"position": candidate.position, "given": candidate.given},
    )
    audit.commit(session)


# --- the buyer's list (XLSX or CSV) ---------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a GTIN typed into a number cell: 6901234567892.0
    if isinstance(value, datetime | date):
        return value.isoformat()[:10] if not isinstance(value, datetime) or not value.time() else value.isoformat()
    return " ".join(str(value).split())


def _rows_of_csv(content: bytes, field_name: str) -> list[list[str]]:
    """UTF-8 (with or without BOM), else GB 18030 (what Chinese Excel writes when it saves a CSV)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _refuse([_error(field_name, "proc.upload.encoding", "not UTF-8 or GB 18030 text")], "unreadable list")
    try:
        rows = []
        for row in csv.reader(io.StringIO(text)):
            rows.append([_cell(value) for value in row[: UPLOAD_MAX_COLUMNS + 1]])
            if len(rows) > MAX_CANDIDATES + 1:
                break
        return rows
    except csv.Error as exc:
        raise _refuse(
            [_error(field_name, "proc.upload.csv", f"the CSV cannot be read: {exc}")], "unreadable list"
        ) from None


def _rows_of_xlsx(content: bytes, field_name: str) -> list[list[str]]:
    """The first sheet of the workbook, read by the one bounded reader (infra.workbooks)."""
    book = workbooks.open_read_only(content, UPLOAD_LIMITS, field_name)
    try:
        if not book.worksheets:
            return []
        return [
            [_cell(value) for value in row]
            for row in workbooks.sheet_rows(book.worksheets[0], UPLOAD_LIMITS, field=field_name)
        ]
    finally:
        book.close()


def is_xlsx(filename: str | None, content_type: str | None) -> bool:
    return (filename or "").lower().endswith(".xlsx") or (content_type or "").split(";")[0] == workbooks.XLSX


@dataclass(frozen=True)
class BuyerList:
    """A supplier's list as read: its headings, the column holding the candidates, and the candidates with the
    buyer's other columns."""

    headings: list[str]
    identifier_column: int
    candidates: list[GivenCandidate]


def _identifier_column(headings: list[str], rows: list[list[str]], chosen: str | None, field_name: str) -> int:
    if chosen:
        wanted = chosen.strip().casefold()
        for index, heading in enumerate(headings):
            if heading.casefold() == wanted:
                return index
        raise _refuse(
            [_error("column", "proc.upload.column_unknown", "no column of that heading", column=chosen[:100])],
            "no such column",
        )
    for wanted in IDENTIFIER_HEADINGS:
        for index, heading in enumerate(headings):
            if heading.casefold() == wanted:
                return index
    for index in range(len(headings)):  # by contents: the first column whose every value is a number or a GTIN
        values = [row[index] for row in rows if index < len(row) and row[index]]
        if values and all(_identifies(value) for value in values):
            return index
    raise _refuse(
        [_error(field_name, "proc.upload.no_identifier", "no column of label numbers or GTINs")],
        "no column of label numbers or GTINs",
    )


def _identifies(value: str) -> bool:
    try:
        identify(value)
    except NotAnIdentifier:
        return False
    return True


def read_list(
    content: bytes, filename: str | None, content_type: str | None, column: str | None = None, field_name: str = "file"
) -> BuyerList:
    """The candidates of a supplier's list: the first row holds the headings; each later row that is not blank is
    a candidate, its label number or GTIN in the identifier column (by heading, e.g. 标签编号 / GTIN, or the first
    column all of whose values are one), its other cells kept under their headings. 422 naming the field (and the
    rows) of what cannot be read; 413 for a workbook beyond the limits."""
    if len(content) > UPLOAD_MAX_BYTES:
        raise workbooks.WorkbookTooLarge(
            "the list is larger than 2 MB",
            [_error(field_name, "proc.upload.too_large", "too large", limit="2 MB")],
            "proc.upload.too_large",
            {"limit": "2 MB"},
        )
    if (filename or "").lower().endswith((".xls", ".xlsm", ".ods", ".numbers")):
        raise _refuse([_error(field_name, "proc.upload.format", "only .xlsx and .csv")], "unsupported format")
    rows = _rows_of_xlsx(content, field_name) if is_xlsx(filename, content_type) else _rows_of_csv(content, field_name)
    rows = [_trailing_blanks_dropped(row) for row in rows]
    rows = [row for row in rows if row]
    if len(rows) < 2:
        raise _refuse(
            [_error(field_name, "proc.upload.empty", "a heading row and at least one candidate")], "empty list"
        )
    if len(rows) - 1 > MAX_CANDIDATES:
        raise _refuse(
            [_error(field_name, "proc.candidate.too_many", "too many rows", limit=MAX_CANDIDATES, count=0)],
            "too many rows",
        )
    width = max(len(row) for row in rows)
    if width > UPLOAD_MAX_COLUMNS:
        raise _refuse(
            [_error(field_name, "proc.upload.columns", "too many columns", limit=UPLOAD_MAX_COLUMNS)],
            "too many columns",
        )
    headings = _headings(rows[0], width)
    body = [row + [""] * (width - len(row)) for row in rows[1:]]
    index = _identifier_column(headings, body, column, field_name)
    errors, found = [], []
    for number, row in enumerate(body, start=2):  # the row's number in the file (the heading is row 1)
        if any(len(value) > CELL_MAX_CHARS for value in row):
            errors.append(
                _error(field_name, "proc.upload.cell_too_long", "a cell too long", row=number, limit=CELL_MAX_CHARS)
            )
            continue
        try:
            kind, canonical = identify(row[index])
        except NotAnIdentifier as exc:
            errors.append(
                _error(field_name, f"{exc.code}_row", str(exc), row=number, value=row[index][:GIVEN_MAX_CHARS])
            )
            continue
        columns = {
            heading: value
            for position, (heading, value) in enumerate(zip(headings, row, strict=True))
            if position != index
        }
        found.append(GivenCandidate(canonical, kind, columns))
    if errors:
        raise _refuse(errors[:MAX_ROW_ERRORS], "some rows of the list cannot be read")
    return BuyerList(headings, index, found)


def _trailing_blanks_dropped(row: list[str]) -> list[str]:
    """A row without the empty cells at its end (a workbook reader fills a row up to the widest column)."""
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    return row[:end]


def _headings(row: list[str], width: int) -> list[str]:
    """The heading row, a blank heading named by its column's letter, a repeated one numbered: every cell keeps a
    heading of its own."""
    from openpyxl.utils import get_column_letter

    headings, seen = [], set()
    for index in range(width):
        heading = (row[index] if index < len(row) else "")[:CELL_MAX_CHARS] or get_column_letter(index + 1)
        name, copy = heading, 2
        while name.casefold() in seen:
            name, copy = f"{heading} ({copy})", copy + 1
        seen.add(name.casefold())
        headings.append(name)
    return headings


def add_from_list(
    session: Session,
    principal: Principal,
    evaluation_id: uuid.UUID,
    content: bytes,
    filename: str | None,
    content_type: str | None,
    column: str | None = None,
) -> list[EvaluationCandidate]:
    evaluation = evaluation_of(session, principal, evaluation_id)
    _open(evaluation)
    read = read_list(content, filename, content_type, column)
    return _add(session, principal, evaluation, read.candidates, "list")


def buyer_headings(candidates: Iterable[EvaluationCandidate]) -> list[str]:
    """The buyer's own columns over all candidates, in the order they first appear."""
    return list(dict.fromkeys(heading for candidate in candidates for heading in (candidate.columns or {})))


# --- judging (no database) ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    kind: str
    value: float


@dataclass
class Judged:
    """A candidate's verdict, its coded reasons (the decisive one first), and the figures of a comparable one."""

    verdict: str = PASS
    reasons: list[dict] = field(default_factory=list)
    value: float | None = None
    limit: float | None = None  # the rule's limit per declared unit for this candidate
    margin: float | None = None
    grade: int | None = None
    ratio: float | None = None
    benchmark_id: uuid.UUID | None = None
    rank: int | None = None
    ranked: bool = False  # counted among the candidates ranked

    def add(self, verdict: str, code: str, **params) -> None:
        self.reasons.append({"verdict": verdict, "code": f"proc.reason.{code}", "params": params})

    def settle(self) -> None:
        """The verdict of the worst reason; its reasons worst first (a stable order among equals)."""
        self.reasons.sort(key=lambda reason: -SEVERITY[reason["verdict"]])
        self.verdict = self.reasons[0]["verdict"] if self.reasons else PASS


@dataclass(frozen=True)
class Context:
    """What every candidate of one evaluation is judged against."""

    group: benchmarks.Group
    group_names: dict[str, str]
    rule: Rule
    award_date: date
    min_validity_days: int
    today: date
    group_values: Sequence[float]  # the stated values of the group's valid labels today (best_percent)
    cutoff: float | None  # best_percent: the group's percentile, None for a group too small to rank
    other_names: dict = field(default_factory=dict)  # the names of the other groups met, each named once


def context(
    group: benchmarks.Group,
    rule: Rule,
    award_date: date,
    min_validity_days: int,
    today: date,
    group_values: Sequence[float],
    names: dict[str, str] | None = None,
) -> Context:
    cutoff = None
    if rule.kind == BEST_PERCENT and grading.rankable(len(group_values)):
        cutoff = grading.percentile(group_values, rule.value)
    return Context(group, names or group_names(group), rule, award_date, min_validity_days, today, group_values, cutoff)


def judge(label: Label | None, unresolved: dict | None, ctx: Context, grade: benchmarks.LabelGrade | None) -> Judged:
    """One candidate's verdict: `label` as resolved (None with `unresolved`: the reason it was not found), its
    current grade (services.benchmarks.grades)."""
    judged = Judged()
    if label is None:
        judged.add(UNKNOWN, **(unresolved or {"code": "label_unknown"}))
        judged.settle()
        return judged
    _judge_state(judged, label, ctx)
    comparable = _judge_group(judged, label, ctx)
    if comparable:
        judged.value = benchmarks.stated_value(label)
        if grade is not None:
            judged.grade, judged.ratio, judged.benchmark_id = grade.grade, grade.ratio, grade.benchmark.id
        _judge_rule(judged, grade, ctx)
        if judged.limit is not None:
            judged.margin = judged.limit - judged.value
    judged.settle()
    return judged


def _judge_state(judged: Judged, label: Label, ctx: Context) -> None:
    """Valid today, and at the award date with the validity asked left."""
    status = labels.status(label, ctx.today)
    if status is Verdict.SUSPENDED:
        judged.add(INVALID, "suspended", number=label.number)
    elif status is Verdict.REVOKED:
        judged.add(INVALID, "revoked", number=label.number)
    elif status is Verdict.SUPERSEDED:
        judged.add(INVALID, "superseded", number=label.number, by=label.superseded_by or "–")
    elif status is Verdict.EXPIRED:
        judged.add(INVALID, "expired", number=label.number, expires_on=label.expires_on.isoformat())
    if status is Verdict.EXPIRED:
        return
    if label.expires_on < ctx.award_date:
        judged.add(
            FAIL, "expires_before_award", expires_on=label.expires_on.isoformat(), award_date=ctx.award_date.isoformat()
        )
    elif (label.expires_on - ctx.award_date).days < ctx.min_validity_days:
        judged.add(
            FAIL,
            "validity_short",
            days_left=(label.expires_on - ctx.award_date).days,
            minimum=ctx.min_validity_days,
            expires_on=label.expires_on.isoformat(),
        )


def _judge_group(judged: Judged, label: Label, ctx: Context) -> bool:
    own = benchmarks.group_of(label)
    if own is None:
        judged.add(NOT_COMPARABLE, "group_unknown", number=label.number)
        return False
    if own != ctx.group:
        names = ctx.other_names.get(own) or ctx.other_names.setdefault(own, group_names(own))
        judged.add(
            NOT_COMPARABLE,
            "other_group",
            group=names["en"],
            group_zh=names["zh"],
            wanted=ctx.group_names["en"],
            wanted_zh=ctx.group_names["zh"],
        )
        return False
    return True


def _judge_rule(judged: Judged, grade: benchmarks.LabelGrade | None, ctx: Context) -> None:
    rule, value, unit = ctx.rule, judged.value, ctx.group.declared_unit
    if rule.kind == MAX_VALUE:
        judged.limit = rule.value
        met = value <= rule.value
        judged.add(
            PASS if met else FAIL,
            "max_value_met" if met else "max_value_over",
            value=value,
            limit=rule.value,
            unit=unit,
        )
    elif rule.kind == BEST_PERCENT:
        if ctx.cutoff is None:
            judged.add(FAIL, "group_too_small", count=len(ctx.group_values), minimum=grading.MIN_RANKED)
            return
        judged.limit = ctx.cutoff
        met = value <= ctx.cutoff
        judged.add(
            PASS if met else FAIL,
            "best_percent_met" if met else "best_percent_out",
            value=value,
            percent=rule.value,
            cutoff=ctx.cutoff,
            count=len(ctx.group_values),
            unit=unit,
        )
    elif grade is None:
        judged.add(FAIL, "no_benchmark")
    elif rule.kind == MAX_GRADE:
        wanted = int(rule.value)
        if wanted <= len(grade.bands):
            judged.limit = grade.bands[wanted - 1] * grade.benchmark.value
        met = grade.grade <= wanted
        judged.add(
            PASS if met else FAIL,
            "grade_met" if met else "grade_over",
            grade=grade.grade,
            max_grade=wanted,
            ratio=round(grade.ratio, 4),
        )
    else:  # THRESHOLD
        judged.limit = rule.value * grade.benchmark.value
        met = value <= judged.limit
        judged.add(
            PASS if met else FAIL,
            "threshold_met" if met else "threshold_over",
            value=value,
            limit=judged.limit,
            fraction=rule.value,
            benchmark=grade.benchmark.value,
            unit=unit,
        )


def rank(judged: Sequence[Judged], label_ids: Sequence[uuid.UUID | None]) -> bool:
    """Ranks the comparable candidates whose label is valid today (each label once: a label given twice is ranked
    at its first position), lowest value first; False (no ranks) when fewer than five."""
    seen, chosen = set(), []
    for index, (entry, label_id) in enumerate(zip(judged, label_ids, strict=True)):
        if entry.value is None or entry.verdict in (INVALID, UNKNOWN, NOT_COMPARABLE) or label_id in seen:
            continue
        seen.add(label_id)
        chosen.append(index)
    ranks = grading.ranks([judged[index].value for index in chosen])
    for index, position in zip(chosen, ranks, strict=True):
        judged[index].rank, judged[index].ranked = position, True
    return grading.rankable(len(chosen))


def mark_duplicates(judged: Sequence[Judged], label_ids: Sequence[uuid.UUID | None], positions: Sequence[int]) -> None:
    first: dict[uuid.UUID, int] = {}
    for entry, label_id, position in zip(judged, label_ids, positions, strict=True):
        if label_id is None:
            continue
        if label_id in first:
            entry.reasons.append(
                {"verdict": entry.verdict, "code": "proc.reason.duplicate", "params": {"position": first[label_id]}}
            )
        else:
            first[label_id] = position


# --- evaluating -----------------------------------------------------------------------------------------------------


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def resolve(
    session: Session, candidates: Sequence[EvaluationCandidate], pcr_id: str
) -> list[tuple[Label | None, dict | None]]:
    """Each candidate's label: by number, or the label in force of its GTIN (of the evaluation's PCR where the
    product has several, else the newest); else why none (a coded reason). Two queries per 500 candidates."""
    numbers = sorted({c.given for c in candidates if c.given_kind == LABEL})
    gtins = sorted({c.given for c in candidates if c.given_kind == GTIN})
    by_number: dict[str, Label] = {}
    for chunk in _chunks(numbers):
        by_number.update(
            (label.number, label) for label in session.exec(select(Label).where(col(Label.number).in_(chunk)))
        )
    by_gtin: dict[str, Label] = {}
    for chunk in _chunks(gtins):
        rows = session.exec(select(Label).where(col(Label.gtin).in_(chunk), col(Label.state).in_(IN_FORCE)))
        for label in sorted(rows, key=lambda lab: (lab.pcr_id == pcr_id, lab.issued_on, lab.year, lab.sequence)):
            by_gtin[label.gtin] = label  # the last one kept: of the PCR, then the newest
    answer = []
    for candidate in candidates:
        if candidate.given_kind == LABEL:
            label = by_number.get(candidate.given)
            answer.append((label, None if label else {"code": "label_unknown", "number": candidate.given}))
        else:
            label = by_gtin.get(candidate.given)
            answer.append((label, None if label else {"code": "gtin_no_label", "gtin": candidate.given}))
    return answer


def group_values(session: Session, group: benchmarks.Group, today: date) -> list[float]:
    """The stated values of the group's valid labels today (only the value column is read: a group may hold
    thousands)."""
    return [
        float(value) for value in session.exec(select(Label.value).where(*group.conditions(), *labels.valid_on(today)))
    ]


@dataclass
class Outcome:
    """An evaluation's verdicts in the candidates' order, with what they were judged against."""

    judged: list[Judged]
    labels: list[Label | None]
    ctx: Context
    rankable: bool
    benchmarks: dict[uuid.UUID, Benchmark]
    benchmark: Benchmark | None  # the group's newest benchmark in force today: the one the evaluation names


def assess(
    session: Session, evaluation: ProcurementEvaluation, candidates: Sequence[EvaluationCandidate], today: date
) -> Outcome:
    """Every candidate judged; nothing stored (the bench and `evaluate` both call this)."""
    group = group_of_evaluation(evaluation)
    resolved = resolve(session, candidates, evaluation.pcr_id)
    found = [label for label, _ in resolved if label is not None]
    current = benchmarks.grades(session, found, today)
    ctx = context(
        group,
        Rule(evaluation.rule, evaluation.rule_value),
        evaluation.award_date,
        evaluation.min_validity_days,
        today,
        group_values(session, group, today) if evaluation.rule == BEST_PERCENT else (),
    )
    judged = [
        judge(label, unresolved, ctx, current.get(label.id) if label is not None else None)
        for label, unresolved in resolved
    ]
    label_ids = [label.id if label is not None else None for label, _ in resolved]
    mark_duplicates(judged, label_ids, [c.position for c in candidates])
    rankable = rank(judged, label_ids)
    used = {g.benchmark.id: g.benchmark for g in current.values() if g is not None}
    named = benchmarks.benchmark_for(session, group, None, today)
    return Outcome(judged, [label for label, _ in resolved], ctx, rankable, used, named)


def _counts(judged: Sequence[Judged]) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for entry in judged:
        counts[entry.verdict] += 1
    return counts


def evaluate(
    session: Session, principal: Principal, evaluation_id: uuid.UUID, now: datetime | None = None
) -> ProcurementEvaluation:
    """Judges every candidate today (China time), stores the verdicts, writes a new sheet (XLSX and PDF) and keeps
    the earlier ones listed; Conflict when the evaluation changed meanwhile (another evaluation or an award)."""
    evaluation = evaluation_of(session, principal, evaluation_id)
    candidates = candidates_of(session, evaluation)
    if not candidates:
        raise _refuse([_error("candidates", "proc.candidate.none", "add candidates first")], "no candidates")
    now = now or current_instant()
    today = label_day(now)
    seen = evaluation.updated_at
    outcome = assess(session, evaluation, candidates, today)
    sheets = list((evaluation.sheet_files or {}).get("sheets", []))
    sheet_number = len(sheets) + 1
    result = _result(evaluation, outcome, now, sheet_number)
    sheet = sheet_data(evaluation, candidates, outcome, result)
    stored = _store_sheet(sheet)
    for candidate, judged, label in zip(candidates, outcome.judged, outcome.labels, strict=True):
        candidate.label_id = label.id if label is not None else None
        candidate.verdict, candidate.reasons = judged.verdict, judged.reasons
        candidate.value, candidate.margin = judged.value, judged.margin
        candidate.grade, candidate.rank = judged.grade, judged.rank
        session.add(candidate)
    files = {
        **(evaluation.sheet_files or {}),
        "sheets": [*sheets, {"number": sheet_number, "at": now.isoformat(), **stored, "counts": result["counts"]}],
    }
    changed = session.execute(
        update(ProcurementEvaluation)
        .where(ProcurementEvaluation.id == evaluation.id, ProcurementEvaluation.updated_at == seen)
        .values(
            result=result,
            evaluated_at=now,
            benchmark_id=outcome.benchmark.id if outcome.benchmark else None,
            state=AWARDED if evaluation.state == AWARDED else EVALUATED,
            sheet_files=files,
            updated_at=utcnow(),
        )
    ).rowcount
    if not changed:
        session.rollback()
        raise Conflict("the evaluation changed meanwhile; reload and try again", code="proc.refused.concurrent")
    audit.record(
        session,
        actor(principal),
        "procurement.evaluated",
        "procurement_evaluation",
        evaluation.id,
        after={
            "sheet": sheet_number,
            "counts": result["counts"],
            "benchmark": result["benchmark"],
            "day": today.isoformat(),
        },
    )
    audit.commit(session)
    session.refresh(evaluation)
    return evaluation


def _result(evaluation: ProcurementEvaluation, outcome: Outcome, now: datetime, number: int) -> dict:
    """What the sheet shows, stored with the evaluation (its latest)."""
    ctx = outcome.ctx
    used = sorted(outcome.benchmarks.values(), key=lambda b: (b.year, b.version))
    return {
        "sheet": number,
        "evaluated_at": now.isoformat(),
        "day": ctx.today.isoformat(),
        "group": {"key": ctx.group.key, "name": ctx.group_names["en"], "name_zh": ctx.group_names["zh"]},
        "group_valid_labels": len(ctx.group_values) if evaluation.rule == BEST_PERCENT else None,
        "cutoff": ctx.cutoff,
        "counts": _counts(outcome.judged),
        "rankable": outcome.rankable,
        "ranked": sum(1 for entry in outcome.judged if entry.ranked),
        "minimum_ranked": grading.MIN_RANKED,
        "benchmark": str(outcome.benchmark.id) if outcome.benchmark else None,
        "benchmarks": [_described(b) for b in used] or ([_described(outcome.benchmark)] if outcome.benchmark else []),
    }


def _described(benchmark: Benchmark) -> dict:
    """A benchmark as the evaluation keeps it: services.benchmarks.describe, its basis in both languages."""
    return {**benchmarks.describe(benchmark, "en"), "basis_text_zh": benchmarks.basis_text(benchmark, "zh")}


# --- the sheet ------------------------------------------------------------------------------------------------------


def beijing(moment: datetime) -> str:
    return f"{moment.astimezone(CHINA_TIME):%Y-%m-%d %H:%M:%S} (UTC+8)"


def reasons_text(reasons: Sequence[dict], lang: str) -> str:
    return ("；" if lang == "zh" else "; ").join(render(reason, lang) for reason in reasons)


def rule_text(rule: str, value: float, lang: str) -> str:
    return catalogue(lang)(f"proc.rule.{rule}.text", value=figure(value))


def figure(value: float | None) -> str:
    """A figure of the sheet and the pages: grouped digits, at most four decimals (services.messages.number)."""
    return "–" if value is None else messages.number(round(value, 4))


def sheet_data(
    evaluation: ProcurementEvaluation, candidates: Sequence[EvaluationCandidate], outcome: Outcome, result: dict
) -> evaluation_sheet.Sheet:
    """The sheet's words and figures in both languages (exports.evaluation_sheet lays them out)."""
    zh, en = catalogue("zh"), catalogue("en")
    facts = [
        (zh("proc.sheet.title"), en("proc.sheet.title"), evaluation.title, evaluation.title),
        (
            zh("proc.field.reference"),
            en("proc.field.reference"),
            evaluation.reference or "–",
            evaluation.reference or "–",
        ),
        (zh("proc.field.group"), en("proc.field.group"), result["group"]["name_zh"], result["group"]["name"]),
        (
            zh("proc.field.rule"),
            en("proc.field.rule"),
            rule_text(evaluation.rule, evaluation.rule_value, "zh"),
            rule_text(evaluation.rule, evaluation.rule_value, "en"),
        ),
        (
            zh("proc.field.award_date"),
            en("proc.field.award_date"),
            evaluation.award_date.isoformat(),
            evaluation.award_date.isoformat(),
        ),
        (
            zh("proc.field.min_validity_days"),
            en("proc.field.min_validity_days"),
            zh("proc.days", days=evaluation.min_validity_days),
            en("proc.days", days=evaluation.min_validity_days),
        ),
        (
            zh("proc.sheet.evaluated_at"),
            en("proc.sheet.evaluated_at"),
            beijing(datetime.fromisoformat(result["evaluated_at"])),
            beijing(datetime.fromisoformat(result["evaluated_at"])),
        ),
        (zh("proc.sheet.number"), en("proc.sheet.number"), str(result["sheet"]), str(result["sheet"])),
    ]
    facts += [
        (zh("proc.sheet.benchmark"), en("proc.sheet.benchmark"), benchmark_text(b, "zh"), benchmark_text(b, "en"))
        for b in result["benchmarks"]
    ] or [
        (zh("proc.sheet.benchmark"), en("proc.sheet.benchmark"), zh("proc.benchmark.none"), en("proc.benchmark.none"))
    ]
    if result["cutoff"] is not None:
        facts.append(
            (
                zh("proc.sheet.cutoff"),
                en("proc.sheet.cutoff"),
                zh(
                    "proc.cutoff.text",
                    percent=figure(evaluation.rule_value),
                    cutoff=figure(result["cutoff"]),
                    count=result["group_valid_labels"],
                    unit=evaluation.declared_unit,
                ),
                en(
                    "proc.cutoff.text",
                    percent=figure(evaluation.rule_value),
                    cutoff=figure(result["cutoff"]),
                    count=result["group_valid_labels"],
                    unit=evaluation.declared_unit,
                ),
            )
        )
    ranking = "proc.rank.ranked" if result["rankable"] else "proc.rank.too_few"
    facts.append(
        (
            zh("proc.sheet.ranking"),
            en("proc.sheet.ranking"),
            zh(ranking, count=result["ranked"], minimum=result["minimum_ranked"]),
            en(ranking, count=result["ranked"], minimum=result["minimum_ranked"]),
        )
    )
    counts = result["counts"]
    facts.append(
        (
            zh("proc.sheet.counts"),
            en("proc.sheet.counts"),
            "，".join(f"{zh('proc.verdict.' + v)} {counts[v]}" for v in VERDICTS),
            ", ".join(f"{en('proc.verdict.' + v)} {counts[v]}" for v in VERDICTS),
        )
    )
    own = buyer_headings(candidates)
    rows = []
    for candidate, judged, label in zip(candidates, outcome.judged, outcome.labels, strict=True):
        rows.append(
            evaluation_sheet.Row(
                position=candidate.position,
                given=candidate.given,
                kind_zh=zh(f"proc.kind.{candidate.given_kind}"),
                kind_en=en(f"proc.kind.{candidate.given_kind}"),
                columns=[(candidate.columns or {}).get(heading, "") for heading in own],
                number=label.number if label else None,
                product=label.product_name if label else None,
                manufacturer=label.manufacturer_name if label else None,
                expires_on=label.expires_on if label else None,
                value=judged.value,
                limit=judged.limit,
                margin=judged.margin,
                grade=judged.grade,
                ratio=judged.ratio,
                rank=judged.rank,
                verdict_zh=zh(f"proc.verdict.{judged.verdict}"),
                verdict_en=en(f"proc.verdict.{judged.verdict}"),
                verdict=judged.verdict,
                reasons_zh=reasons_text(judged.reasons, "zh"),
                reasons_en=reasons_text(judged.reasons, "en"),
            )
        )
    return evaluation_sheet.Sheet(
        title=evaluation.title,
        declared_unit=evaluation.declared_unit,
        facts=facts,
        buyer_headings=own,
        rows=rows,
    )


def benchmark_text(described: dict, lang: str) -> str:
    t = catalogue(lang)
    basis = described.get("basis_text_zh" if lang == "zh" else "basis_text") or described.get("basis_text") or ""
    return t(
        "proc.benchmark.text",
        year=described["year"],
        version=described["version"],
        basis=t(f"proc.basis.{described['basis']}"),
        value=figure(described["value"]),
        unit=described["declared_unit"],
        bands=" / ".join(figure(b) for b in described["bands"]),
        effective=described["effective_from"],
        source=basis,
    )


def _store_sheet(sheet: evaluation_sheet.Sheet) -> dict:
    font = find_font(get_settings().label_font)
    files = {"xlsx": evaluation_sheet.xlsx(sheet), "pdf": evaluation_sheet.pdf(sheet, font)}
    stored = {}
    try:
        for fmt, data in files.items():
            stored[fmt] = object_store().put(data, fmt, prefix="procurement").key
    except StorageError as exc:
        raise labels.StorageUnavailable(f"the sheet could not be stored ({exc}); nothing was recorded") from None
    return stored


def sheets(evaluation: ProcurementEvaluation) -> list[dict]:
    """Every sheet written, newest first: its number, when (UTC) and its verdict counts."""
    return list(reversed((evaluation.sheet_files or {}).get("sheets", [])))


SHEET_MEDIA = {"xlsx": workbooks.XLSX, "pdf": "application/pdf"}


def sheet_file(
    session: Session, principal: Principal, evaluation_id: uuid.UUID, number: int, fmt: str
) -> tuple[bytes, str, str]:
    """(bytes, media type, file name) of one of the evaluation's sheets."""
    evaluation = evaluation_of(session, principal, evaluation_id)
    found = next((s for s in (evaluation.sheet_files or {}).get("sheets", []) if s["number"] == number), None)
    if found is None or fmt not in SHEET_MEDIA or fmt not in found:
        raise NotFound("no such sheet of this evaluation", code="proc.refused.sheet_not_found")
    try:
        data = object_store().get(found[fmt])
    except StorageError as exc:
        raise labels.StorageUnavailable(f"the sheet could not be read ({exc})") from None
    day = datetime.fromisoformat(found["at"]).astimezone(CHINA_TIME).strftime("%Y%m%d-%H%M")
    return data, SHEET_MEDIA[fmt], f"evaluation-{evaluation.reference or evaluation.id.hex[:8]}-{number}-{day}.{fmt}"


def ascii_name(name: str) -> str:
    """The file name for clients that read only ASCII (the full name goes as RFC 6266 filename*)."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in name)


# --- award ----------------------------------------------------------------------------------------------------------


def award(
    session: Session, principal: Principal, evaluation_id: uuid.UUID, candidate_ids: Sequence[uuid.UUID]
) -> list[EvaluationCandidate]:
    """Marks candidates that passed the latest evaluation awarded: from then on their labels are watched. 422
    naming each candidate that did not pass (or is not of this evaluation); an awarded one stays awarded."""
    evaluation = evaluation_of(session, principal, evaluation_id)
    if evaluation.evaluated_at is None:
        raise _refuse([_error("candidate_ids", "proc.award.not_evaluated", "evaluate first")], "not evaluated")
    if not candidate_ids:
        raise _refuse([_error("candidate_ids", "proc.award.none", "choose at least one candidate")], "nothing chosen")
    by_id = {c.id: c for c in candidates_of(session, evaluation)}
    errors, chosen = [], []
    for index, candidate_id in enumerate(candidate_ids):
        candidate = by_id.get(candidate_id)
        if candidate is None:
            errors.append(_error(f"candidate_ids[{index}]", "proc.award.unknown", "not a candidate of this evaluation"))
        elif candidate.verdict != PASS:
            errors.append(
                _error(
                    f"candidate_ids[{index}]",
                    "proc.award.not_passed",
                    "only a candidate that passed is awarded",
                    position=candidate.position,
                    given=candidate.given,
                )
            )
        elif candidate.awarded_at is None and candidate not in chosen:
            chosen.append(candidate)
    if errors:
        raise _refuse(errors, "some candidates cannot be awarded")
    now, seen = utcnow(), evaluation.updated_at
    for candidate in chosen:
        candidate.awarded_at, candidate.awarded_by = now, principal.subject
        session.add(candidate)
    changed = session.execute(
        update(ProcurementEvaluation)
        .where(ProcurementEvaluation.id == evaluation.id, ProcurementEvaluation.updated_at == seen)
        .values(state=AWARDED, updated_at=now)
    ).rowcount
    if not changed:
        session.rollback()
        raise Conflict("the evaluation changed meanwhile; reload and try again", code="proc.refused.concurrent")
    if chosen:
        numbers = {c.label_id: None for c in chosen}
        for label in session.exec(select(Label).where(col(Label.id).in_([i for i in numbers if i]))):
            numbers[label.id] = label.number
        audit.record(
            session,
            actor(principal),
            "procurement.awarded",
            "procurement_evaluation",
            evaluation.id,
            after={
                "candidates": [c.position for c in chosen],
                "labels": [numbers.get(c.label_id) for c in chosen],
            },
        )
    audit.commit(session)
    return chosen


# --- the watch ------------------------------------------------------------------------------------------------------


def watched(session: Session, principal: Principal) -> list[dict]:
    """The labels the organisation awarded, each once with its current state and the evaluations that awarded it
    (newest first)."""
    _buyer(principal)
    rows = session.exec(
        select(EvaluationCandidate, ProcurementEvaluation, Label)
        .join(ProcurementEvaluation, col(ProcurementEvaluation.id) == col(EvaluationCandidate.evaluation_id))
        .join(Label, col(Label.id) == col(EvaluationCandidate.label_id))
        .where(
            ProcurementEvaluation.organisation_id == principal.organisation_id,
            col(EvaluationCandidate.awarded_at).is_not(None),
        )
        .order_by(col(EvaluationCandidate.awarded_at).desc())
    ).all()
    found: dict[uuid.UUID, dict] = {}
    today = label_day()
    for candidate, evaluation, label in rows:
        entry = found.setdefault(
            label.id,
            {
                "label": label,
                "status": labels.status(label, today).value,
                "awarded_at": candidate.awarded_at,
                "evaluations": [],
            },
        )
        if evaluation not in entry["evaluations"]:
            entry["evaluations"].append(evaluation)
    return list(found.values())


WATCHED_ACTIONS = {  # an audited label change -> the notice its buyers get
    "label.suspend": "procurement.label_suspended",
    "label.revoke": "procurement.label_revoked",
    "label.supersede": "procurement.label_superseded",
    "label.expire": "procurement.label_expired",
}
EXPIRING = "procurement.label_expiring"
NOTICE_KINDS = (*WATCHED_ACTIONS.values(), EXPIRING)


def _buyers(session: Session, label_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[uuid.UUID, uuid.UUID]]:
    """label -> {buying organisation -> its newest evaluation that awarded the label}."""
    rows = session.exec(
        select(EvaluationCandidate.label_id, ProcurementEvaluation.organisation_id, ProcurementEvaluation.id)
        .join(ProcurementEvaluation, col(ProcurementEvaluation.id) == col(EvaluationCandidate.evaluation_id))
        .where(col(EvaluationCandidate.label_id).in_(set(label_ids)), col(EvaluationCandidate.awarded_at).is_not(None))
        .order_by(col(EvaluationCandidate.awarded_at))
    ).all()
    found: dict[uuid.UUID, dict[uuid.UUID, uuid.UUID]] = {}
    for label_id, organisation_id, evaluation_id in rows:
        found.setdefault(label_id, {})[organisation_id] = evaluation_id  # the newest award last
    return found


def _people(session: Session, organisation_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[User]]:
    """The active procurement people of these organisations, by organisation."""
    found: dict[uuid.UUID, list[User]] = {}
    for user in session.exec(
        select(User).where(
            col(User.organisation_id).in_(set(organisation_ids)),
            col(User.active).is_(True),
            col(User.role).in_(BUYER_ROLES),
        )
    ):
        found.setdefault(user.organisation_id, []).append(user)
    return found


def _notices(
    kind: str, params: dict, event_key: str, buyers: dict[uuid.UUID, uuid.UUID], staff: dict[uuid.UUID, list[User]]
) -> list[Notice]:
    """One notice per person of each buying organisation, pointing at its evaluation that awarded the label."""
    return [
        Notice(
            organisation_id=organisation_id,
            user_id=user.id,
            kind=kind,
            params=dict(params),
            link=f"/app/procurement/{evaluation_id}",
            event_key=event_key,
        )
        for organisation_id, evaluation_id in buyers.items()
        for user in staff.get(organisation_id, [])
    ]


def buyer_notices(session: Session, action: str, number: str, params: dict, event_key: str) -> list[Notice]:
    """The notices (unsaved) to the people of every organisation that awarded the label `number`, for an audited
    change of it (WATCHED_ACTIONS: services.notices derives them with the manufacturer's); none for another action
    or a label nobody awarded. `params`: the label as notices name it (services.notices.label_subject)."""
    kind = WATCHED_ACTIONS.get(action)
    label_id = session.exec(select(Label.id).where(Label.number == number)).first() if kind else None
    buyers = _buyers(session, [label_id]).get(label_id) if label_id else None
    if not buyers:
        return []
    return _notices(kind, params, f"{event_key}:buyer", buyers, _people(session, buyers))


def expiring_buyer_notices(session: Session, due: Sequence[Label], subjects: dict[str, dict]) -> list[Notice]:
    """For labels in force expiring soon (services.notices.warn_expiring: within 60 days), the notices (unsaved)
    to their buyers, once per label and expiry date; `subjects`: each label's notice params by number."""
    awarded = _buyers(session, [label.id for label in due])
    if not awarded:
        return []
    staff = _people(session, {organisation for buyers in awarded.values() for organisation in buyers})
    found = []
    for label in due:
        if label.id in awarded:
            key = f"{EXPIRING}:{label.number}:{label.expires_on.isoformat()}"
            found += _notices(EXPIRING, subjects[label.number], key, awarded[label.id], staff)
    return found


def record_expiry_notices(session: Session, made: Sequence[Notice]) -> None:
    """The buyers told of an awarded label expiring soon, in the audit trail: one entry per label and buying
    organisation (no commit: services.notices.warn_expiring commits)."""
    told: dict[tuple[str, uuid.UUID], int] = {}
    for notice in made:
        if notice.kind == EXPIRING:
            key = (notice.params["number"], notice.organisation_id)
            told[key] = told.get(key, 0) + 1
    for (number, organisation_id), people in sorted(told.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        audit.record(
            session,
            audit.SYSTEM,
            "procurement.expiry_notice",
            "label",
            number,
            after={"people": people},
            organisation_id=organisation_id,
        )


# --- what the pages and the JSON API show --------------------------------------------------------------------------


def candidate_views(session: Session, evaluation: ProcurementEvaluation, lang: str) -> list[dict]:
    """The candidates as listed: what was given, the buyer's columns, the label's public facts, the figures and the
    verdict with its reasons worded in `lang` (codes and values kept beside them)."""
    candidates = candidates_of(session, evaluation)
    ids = [c.label_id for c in candidates if c.label_id]
    found = {
        label.id: label
        for chunk in _chunks(ids)
        for label in session.exec(select(Label).where(col(Label.id).in_(chunk)))
    }
    views = []
    for candidate in candidates:
        label = found.get(candidate.label_id)
        views.append(
            {
                "candidate": candidate,
                "label": label,
                "reasons": [{**reason, "text": render(reason, lang)} for reason in candidate.reasons or []],
                "awardable": candidate.verdict == PASS and candidate.awarded_at is None,
            }
        )
    return views


def group_view(evaluation: ProcurementEvaluation, lang: str) -> dict:
    group = group_of_evaluation(evaluation)
    return {"key": group.key, "name": benchmarks.group_name(group, lang), "href": group.href}
