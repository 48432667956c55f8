"""The public registry of labels: search, comparison within a category, and checks of many numbers at once.

The JSON routes (/api/v1/public/registry, /compare, /verify-batch) and the public pages call these same functions.

Province: a label does not store where its product is made. The registry reads it from the inventory the label's
footprint was calculated from (label -> footprint -> inventory -> `data.facility.province`): every inventory has it
(pcr_rules.inventory.Facility requires it, and the PDF report prints it from there), whereas the inventory's link to
a registered Facility record is optional and empty in the examples. The label's facility is thus the one the
manufacturer declared in the inventory that was verified. Inventories spell a province in English or in Chinese
('Guizhou', '贵州', '贵州省'): the registry offers each province once, by its key in the factor set (core.names), and a
search for it finds every spelling.
"""

import csv
import io
import statistics
from dataclasses import dataclass
from datetime import date

from sqlalchemy import distinct, func, or_
from sqlmodel import Session, col, select

from footprint_api.core import names
from footprint_api.core.errors import Unprocessable
from footprint_api.core.messages import Catalogue, catalogue
from footprint_api.exports.cells import Value
from footprint_api.infra import workbooks
from footprint_api.persistence.models import Footprint, InventoryRecord, Label
from footprint_api.services import labels

PAGE_SIZE = 50
BULK_LIMIT = 10_000  # numbers per batch check
CSV_MAX_BYTES = 1_000_000
XLSX_MAX_BYTES = 2_000_000  # 10,000 numbers take about 100 kB
# the declared unpacked sizes bind (zipfile never inflates past them)
XLSX_LIMITS = workbooks.Limits(
    max_bytes=XLSX_MAX_BYTES,
    max_unpacked_bytes=30_000_000,
    max_member_bytes=30_000_000,
    max_members=500,
    max_sheets=50,
    max_rows=50_000,
    max_columns=1,
    max_cells=50_000,
)
XLSX_MEDIA_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)
BATCH_COLUMNS = (
    "number",
    "status",
    "product",
    "manufacturer",
    "value",
    "unit",
    "declared_unit",
    "pcr",
    "expires",
    "note",
)
MISTYPED_LOOKUPS = 200  # nearest numbers are looked up for this many mistyped numbers of one list


@dataclass(frozen=True)
class RegistryQuery:
    """What a registry search asks for; an empty criterion does not narrow."""

    pcr_id: str | None = None
    manufacturer: str | None = None
    province: str | None = None
    min_kg_co2e: float | None = None
    max_kg_co2e: float | None = None
    include_invalid: bool = False


def _province():
    return func.lower(InventoryRecord.data["facility"]["province"].as_string())


def _in_province(asked: str):
    """The inventories of a province however they spell it ('Guizhou', 'guizhou', '贵州', '贵州省'); a name that is no
    province matches itself, without regard to case."""
    key = names.province_key(asked)
    if key is None:
        return _province() == asked.strip().lower()
    english, chinese = names.province_spellings(key)
    return or_(_province() == english.lower(), _province().startswith(chinese, autoescape=True))


def search(session: Session, query: RegistryQuery, today: date, limit: int = PAGE_SIZE, offset: int = 0) -> list[Label]:
    """One query: the labels matching every criterion, by category, then value, then number (a stable order, so
    that pages neither repeat nor skip a label)."""
    statement = select(Label)
    if not query.include_invalid:
        statement = statement.where(*labels.valid_on(today))
    if query.pcr_id:
        statement = statement.where(Label.pcr_id == query.pcr_id)
    if query.manufacturer:
        statement = statement.where(col(Label.manufacturer_name).icontains(query.manufacturer, autoescape=True))
    if query.min_kg_co2e is not None:
        statement = statement.where(Label.total_kg_co2e >= query.min_kg_co2e)
    if query.max_kg_co2e is not None:
        statement = statement.where(Label.total_kg_co2e <= query.max_kg_co2e)
    if query.province:
        statement = (
            statement.join(Footprint, col(Footprint.id) == col(Label.footprint_id))
            .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
            .where(_in_province(query.province))
        )
    statement = statement.order_by(Label.pcr_id, Label.total_kg_co2e, Label.number)
    return list(session.exec(statement.offset(offset).limit(limit)))


def categories(session: Session) -> list[str]:
    """The PCRs that have labels (the registry's category choice)."""
    return list(session.exec(select(distinct(Label.pcr_id)).order_by(Label.pcr_id)))


def provinces(session: Session) -> list[str]:
    """The provinces of labelled products, each once by its key however the inventories spell it (the registry's
    province choice; a page names them in its reader's language); a name that is no province as written."""
    province = InventoryRecord.data["facility"]["province"].as_string()
    rows = session.exec(
        select(distinct(province))
        .select_from(Label)
        .join(Footprint, col(Footprint.id) == col(Label.footprint_id))
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
    )
    return sorted({names.province_key(row) or row.strip() for row in rows if row and row.strip()}, key=str.lower)


# --- comparison ---------------------------------------------------------------------------------------------------


def compare(session: Session, pcr_id: str, today: date) -> dict:
    """The valid labels of one PCR, per declared unit (only like with like), lowest first, with each group's spread.
    A product counts once: only one of its labels is in force (a newer one supersedes the earlier)."""
    rows = session.exec(
        select(Label)
        .where(Label.pcr_id == pcr_id, *labels.valid_on(today))
        .order_by(Label.declared_unit, Label.total_kg_co2e, Label.number)
    ).all()
    groups: dict[str, list[Label]] = {}
    for label in rows:
        groups.setdefault(label.declared_unit, []).append(label)
    return {"pcr_id": pcr_id, "groups": [_ranked(unit, members) for unit, members in groups.items()]}


def _ranked(unit: str, members: list[Label]) -> dict:
    """Ranks as in a competition ("1224"): products of equal value share a rank, the next one counts them all."""
    median = statistics.median(m.total_kg_co2e for m in members)
    ranks, previous = [], None
    for position, member in enumerate(members, start=1):
        ranks.append(ranks[-1] if previous == member.total_kg_co2e else position)
        previous = member.total_kg_co2e
    return {
        "declared_unit": unit,
        "count": len(members),
        "min_kg_co2e": members[0].total_kg_co2e,
        "median_kg_co2e": median,
        "max_kg_co2e": members[-1].total_kg_co2e,
        "labels": [
            {
                "number": m.number,
                "product": m.product_name,
                "manufacturer": m.manufacturer_name,
                "value": m.value,
                "kg_co2e": m.total_kg_co2e,
                "rank": rank,
                "relative_to_median": m.total_kg_co2e / median if median else None,
            }
            for rank, m in zip(ranks, members, strict=True)
        ],
    }


def placing(comparison: dict, number: str) -> tuple[dict, dict] | None:
    """(group, entry) of a label in a comparison, or None when it is not among the valid labels compared."""
    for group in comparison["groups"]:
        for entry in group["labels"]:
            if entry["number"] == number:
                return group, entry
    return None


# --- batch check --------------------------------------------------------------------------------------------------


def _refused(field: str, detail: str, reason: str) -> Unprocessable:
    return Unprocessable(detail, [{"field": field, "reason": reason}])


def _limited(values: list[str], field: str) -> list[str]:
    """Blank cells dropped; a first cell with no digit is a header (every label number has digits)."""
    numbers = [value.strip()[:100] for value in values if value and value.strip()]
    if numbers and not any(ch.isdigit() for ch in numbers[0]):
        numbers = numbers[1:]
    if len(numbers) > BULK_LIMIT:
        raise _refused(field, f"at most {BULK_LIMIT} numbers per check", "too many")
    return numbers


def numbers_from_csv(content: bytes, field: str = "body") -> list[str]:
    """The label numbers of a CSV: the first column, a header row optional; UTF-8 (with or without BOM)."""
    if len(content) > CSV_MAX_BYTES:
        raise _refused(field, "the CSV is larger than 1 MB", "too large")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refused(field, "the CSV is not UTF-8 text", "not UTF-8") from None
    firsts: list[str] = []
    try:
        for row in csv.reader(io.StringIO(text)):
            if row and row[0].strip():
                firsts.append(row[0])
            if len(firsts) > BULK_LIMIT + 1:  # enough to know it is too many, header or not
                break
    except csv.Error as exc:
        raise _refused(field, f"the CSV cannot be read: {exc}", str(exc)) from None
    return _limited(firsts, field)


def numbers_from_xlsx(content: bytes, field: str = "body") -> list[str]:
    """The label numbers of an XLSX workbook: the first column of its first sheet, a header row optional. Read by
    the one safe reader (footprint_api.infra.workbooks: zip bomb and DTD refused unopened, then read-only, row by row, up
    to the limits); every refusal is a 422 here, as the batch check has always answered."""
    try:
        book = workbooks.open_read_only(content, XLSX_LIMITS, field)
        try:
            return _limited(_first_column(book, field), field)
        finally:
            book.close()
    except workbooks.WorkbookTooLarge as exc:
        raise Unprocessable(exc.detail, exc.errors) from None


def _first_column(book, field: str) -> list[str]:
    firsts: list[str] = []
    if not book.worksheets:
        return firsts
    for value, *_ in workbooks.sheet_rows(book.worksheets[0], XLSX_LIMITS, columns=1, field=field):
        if value is not None and str(value).strip():
            firsts.append(str(value))
        if len(firsts) > BULK_LIMIT + 1:  # enough to know it is too many, header or not
            break
    return firsts


def is_xlsx(filename: str | None, content_type: str | None) -> bool:
    return (filename or "").lower().endswith(".xlsx") or (content_type or "").split(";")[0] in XLSX_MEDIA_TYPES


def numbers_from_upload(
    content: bytes, filename: str | None, content_type: str | None, field: str = "body"
) -> list[str]:
    """The numbers of an uploaded list: XLSX by its name or media type, else CSV (or plain text, one a line)."""
    if (filename or "").lower().endswith((".xls", ".xlsm", ".ods", ".numbers")):
        raise _refused(
            field, "only .xlsx workbooks and .csv files can be read: save the list as one of them", "unsupported format"
        )
    if is_xlsx(filename, content_type):
        return numbers_from_xlsx(content, field)
    return numbers_from_csv(content, field)


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
    """Each number's verdict, in the order given; one query for all the numbers."""
    from label_service.numbering import InvalidLabelNumber, normalise, one_typo_away

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


def batch_columns(t: Catalogue | None = None) -> list[str]:
    """The heading row of a batch check's file: BATCH_COLUMNS, named in the reader's language when one is given."""
    return [t(f"pub.batch.col.{column}") for column in BATCH_COLUMNS] if t else list(BATCH_COLUMNS)


def _note(item: Checked, t: Catalogue) -> str | None:
    if item.mistyped:
        nearest = ", ".join(item.nearest)
        return t("pub.batch.note.mistyped_nearest", numbers=nearest) if nearest else t("pub.batch.note.mistyped")
    if item.label is not None and item.label.superseded_by:
        return t("pub.batch.note.superseded", number=item.label.superseded_by)
    return None


def batch_rows(checked: list[Checked], t: Catalogue | None = None, named_verdicts: bool = True) -> list[list[Value]]:
    """One row per number (BATCH_COLUMNS): the number, its verdict and, for a label that exists, what it claims.
    With a reader's catalogue the verdicts and notes are in their language (a page keeps the verdict codes it
    colours with `named_verdicts=False`); without one, the codes and English notes of the JSON API."""
    from decimal import Decimal, InvalidOperation

    words = t or catalogue("en")
    table: list[list[Value]] = []
    for item in checked:
        verdict = words(f"pub.status.{item.verdict}") if t and named_verdicts else item.verdict
        label = item.label
        if label is None:
            table.append([item.number, verdict, None, None, None, None, None, None, None, _note(item, words)])
            continue
        try:
            value: Value = Decimal(label.value)
        except InvalidOperation:
            value = label.value
        table.append(
            [
                label.number,
                verdict,
                label.product_name,
                label.manufacturer_name,
                value,
                "kg CO2e",
                label.declared_unit,
                f"{label.pcr_id} {label.pcr_version}",
                label.expires_on,
                _note(item, words),
            ]
        )
    return table


def check_numbers(session: Session, numbers: list[str], today: date | None = None) -> list[list[Value]]:
    """The rows of the JSON API's batch check: verdict codes and English notes."""
    return batch_rows(check(session, numbers, today))


def tally(rows: list[list[Value]]) -> dict[str, int]:
    """How many numbers had each verdict, most frequent first."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row[1])] = counts.get(str(row[1]), 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
