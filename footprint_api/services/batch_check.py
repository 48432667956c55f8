"""The batch check of a buyer's own list: a CSV or XLSX whose rows the buyer keeps (supplier, item, quantity, price…)
with a column of label numbers; every row comes back with the buyer's columns as they were and the check's results
appended, so that the file merges back into the buyer's sheet row for row.

Reading. The first sheet of a workbook, or a CSV in UTF-8 (with or without a byte order mark) or GB 18030 (what
Chinese Excel writes for "CSV (逗号分隔)"), separated by commas, semicolons or tabs. The column of label numbers is the
one the buyer names (a letter "C", a position "3" or its heading "标签编号"), else the first column where label
numbers are found, else the first column. The first row is a heading when its cell in that column holds no digit
(every label number has digits); a file without one gets headings by column letter (A, B, …) in the results.
Every row is kept in its place, blank ones too, and every value as it was read: numbers stay numbers, dates stay
dates, text stays text (a negative number written as text in a CSV is read as the number it shows, so that the
results do not quote it; see `exports.cells` for the quoting of formula-leading text).

Bounds (each refusal a 4xx naming the field, with a code and its values): a CSV of at most 1 MB, a workbook of at
most 2 MB (and the limits of `infra.workbooks`), at most 10,000 rows of data, 50 columns and 1,000 characters a
cell.

Results. Appended after the buyer's columns (RESULT_COLUMNS): the verdict, what the label claims, its category and
comparable group, its grade now (a label in force only: one out of force has none to buy on) and at issue with the
benchmark's basis, the validity, a note (why a label is not valid, what replaced it, a probable typing error) and
the number as checked. Headings in Chinese, English, both,
or as codes (the JSON API's default); verdicts and notes in the reader's language (codes and English notes for the
JSON API without a language).
"""

import csv
import io
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from sqlmodel import Session

from footprint_api.core import names
from footprint_api.core.errors import Unprocessable
from footprint_api.core.messages import Catalogue, catalogue
from footprint_api.exports import cells
from footprint_api.exports.cells import Value
from footprint_api.infra import workbooks
from footprint_api.services import benchmarks, registry
from label_service.numbering import InvalidLabelNumber, normalise
from label_service.verification import Verdict

MAX_ROWS = 10_000  # rows of data (label numbers) per check
MAX_COLUMNS = 50
MAX_CELL_CHARS = 1_000
CSV_MAX_BYTES = 1_000_000
XLSX_MAX_BYTES = 2_000_000  # 10,000 rows of a few columns take about 300 kB
XLSX_MEDIA_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)
UNREADABLE_SUFFIXES = (".xls", ".xlsm", ".ods", ".numbers")
# the declared unpacked sizes bind (zipfile never inflates past them)
XLSX_LIMITS = workbooks.Limits(
    max_bytes=XLSX_MAX_BYTES,
    max_unpacked_bytes=30_000_000,
    max_member_bytes=30_000_000,
    max_members=500,
    max_sheets=50,
    max_rows=50_000,
    max_columns=MAX_COLUMNS + 1,  # one more than allowed: a list that uses it is refused, never cut
    max_cells=600_000,
)
WIDTH_FROM_ROWS = 200  # a sheet that declares no dimension: its width is found among its first rows
DETECTED_FROM_ROWS = 50  # the number column is found among the first rows
HEADER_LANGUAGES = ("zh", "en", "both", "code")
RESULT_COLUMNS = (
    "status",
    "product",
    "manufacturer",
    "value",
    "unit",
    "declared_unit",
    "category",
    "pcr",
    "group",
    "reference_year",
    "grade",
    "grade_ratio",
    "grade_at_issue",
    "benchmark",
    "issued",
    "expires",
    "note",
    "number",
)
_NEGATIVE = re.compile(r"^-\d+(\.\d+)?$")  # text Decimal keeps exactly as written
_LETTERS = re.compile(r"^[A-Za-z]{1,2}$")


def refused(field: str, reason: str, code: str, message: str, **params) -> Unprocessable:
    """A 422 naming the field, with the message code (`pub.batch.reason.*`) a page words in its reader's language."""
    entry = {"field": field, "reason": reason, "code": f"pub.batch.reason.{code}", "params": params}
    return Unprocessable(message, [entry], f"pub.batch.reason.{code}", params)


# --- the buyer's list ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuyerList:
    """The buyer's table as read: its heading row (None: the file has none), its rows of data (each as wide as the
    table) and the column holding the label numbers."""

    header: tuple[Value, ...] | None
    rows: list[tuple[Value, ...]]
    column: int

    @property
    def width(self) -> int:
        return len(self.header) if self.header is not None else (len(self.rows[0]) if self.rows else 1)

    def numbers(self) -> list[str]:
        """Each row's text in the number column ('' where it is blank), in the order of the rows."""
        return [_text(row[self.column]) for row in self.rows]

    def headings(self) -> list[str]:
        """The buyer's headings as they were, or the column letters of a file without a heading row."""
        if self.header is not None:
            return [_text(value) for value in self.header]
        return [column_letter(index) for index in range(self.width)]


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (as spreadsheets name columns)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = string.ascii_uppercase[rest] + letters
    return letters


def _letter_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + string.ascii_uppercase.index(letter) + 1
    return index - 1


def _text(value: Value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value).strip()


def _is_number(value: Value) -> bool:
    try:
        normalise(_text(value))
    except InvalidLabelNumber:
        return False
    return True


def read_list(
    content: bytes, filename: str | None, content_type: str | None, column: str | None = None, field: str = "file"
) -> BuyerList:
    """The buyer's list of an upload: XLSX by its name or media type, else CSV (or plain text, one number a line)."""
    if (filename or "").lower().endswith(UNREADABLE_SUFFIXES):
        raise refused(
            field,
            "unsupported format",
            "format",
            "only .xlsx workbooks and .csv files can be read: save the list as one of them",
        )
    rows = _xlsx_rows(content, field) if is_xlsx(filename, content_type) else _csv_rows(content, field)
    return _as_list(rows, column, field)


def is_xlsx(filename: str | None, content_type: str | None) -> bool:
    return (filename or "").lower().endswith(".xlsx") or (content_type or "").split(";")[0] in XLSX_MEDIA_TYPES


def _csv_rows(content: bytes, field: str) -> list[list[Value]]:
    if len(content) > CSV_MAX_BYTES:
        raise refused(field, "too large", "csv_too_large", "the CSV is larger than 1 MB", limit="1 MB")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError:
            raise refused(field, "not UTF-8", "not_utf8", "the CSV is neither UTF-8 nor GB 18030 text") from None
    if "\x00" in text:
        raise refused(field, "not UTF-8", "not_utf8", "the CSV is not text (it holds NUL characters)")
    rows: list[list[Value]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text)):
            rows.append([_csv_value(cell) for cell in row])
            if len(rows) > MAX_ROWS + 1:  # enough to know it is too many, heading or not
                break
    except csv.Error as exc:
        raise refused(field, str(exc), "csv_unreadable", f"the CSV cannot be read: {exc}", detail=str(exc)) from None
    return rows


def _dialect(text: str) -> type[csv.Dialect]:
    """Commas, unless the first lines are separated by semicolons or tabs (as some spreadsheet exports write)."""
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _csv_value(cell: str) -> Value:
    """Text as it was, but a negative number as the Decimal it shows (written back without a quote)."""
    stripped = cell.strip()
    return Decimal(stripped) if _NEGATIVE.match(stripped) else cell


def _xlsx_rows(content: bytes, field: str) -> list[list[Value]]:
    """The first sheet of a workbook, read by the one safe reader (infra.workbooks: zip bomb and DTD refused
    unopened, then read-only, row by row, up to the limits); every refusal of the reader is a 422 here, as the batch
    check has always answered."""
    try:
        book = workbooks.open_read_only(content, XLSX_LIMITS, field)
        try:
            if not book.worksheets:
                return []
            sheet = book.worksheets[0]
            columns = _sheet_width(sheet, field)
            return [
                [_xlsx_value(value) for value in row]
                for row in workbooks.sheet_rows(sheet, XLSX_LIMITS, columns=columns, field=field)
            ]
        finally:
            book.close()
    except workbooks.WorkbookTooLarge as exc:
        raise Unprocessable(exc.detail, exc.errors, exc.code, exc.params) from None


def _sheet_width(sheet, field: str) -> int:
    """The columns to read: as many as the sheet declares (its dimension, which spreadsheet programs write), else as
    many as its first rows use; at most one more than allowed. Reading no further keeps the cells a sheet of many
    rows costs to what it holds."""
    declared = sheet.max_column
    if declared:
        return min(declared, XLSX_LIMITS.max_columns)
    width = 1
    for index, row in enumerate(workbooks.sheet_rows(sheet, XLSX_LIMITS, field=field)):
        used = [position for position, value in enumerate(row) if value is not None and str(value).strip()]
        width = max([width, *(position + 1 for position in used)])
        if index >= WIDTH_FROM_ROWS:
            break
    return width


def _xlsx_value(value) -> Value:
    if value is None or (isinstance(value, str | int | float | Decimal | date) and not isinstance(value, bool)):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def _as_list(rows: list[list[Value]], column: str | None, field: str) -> BuyerList:
    rows = _trimmed(rows)
    width = max((len(row) for row in rows), default=1)
    if width > MAX_COLUMNS:
        raise refused(field, "too many columns", "columns", f"at most {MAX_COLUMNS} columns", limit=MAX_COLUMNS)
    table = [tuple(row) + (None,) * (width - len(row)) for row in rows]
    _check_cells(table, field)
    index = _number_column(table, column, width)
    has_header = bool(table) and not any(ch.isdigit() for ch in _text(table[0][index]))
    header, data = (table[0], table[1:]) if has_header else (None, table)
    if sum(1 for row in data if _text(row[index])) > MAX_ROWS or len(data) > MAX_ROWS:
        raise refused(field, "too many", "too_many", f"at most {MAX_ROWS} numbers per check", limit=MAX_ROWS)
    return BuyerList(header, data, index)


def _trimmed(rows: list[list[Value]]) -> list[list[Value]]:
    """Without trailing blank cells in a row and blank rows at the end (a sheet's formatting reaches further than its
    data); a blank row between rows of data stays in its place."""
    cleaned = []
    for row in rows:
        end = len(row)
        while end and _text(row[end - 1]) == "":
            end -= 1
        cleaned.append(list(row[:end]))
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    return cleaned


def _check_cells(table: list[tuple[Value, ...]], field: str) -> None:
    for number, row in enumerate(table, start=1):
        for index, value in enumerate(row):
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                cell = f"{column_letter(index)}{number}"
                raise refused(
                    field,
                    "cell too long",
                    "cell_too_long",
                    f"cell {cell} has more than {MAX_CELL_CHARS} characters",
                    cell=cell,
                    limit=MAX_CELL_CHARS,
                )


def _number_column(table: list[tuple[Value, ...]], asked: str | None, width: int) -> int:
    """The column the buyer named, else the first where label numbers are found among the first rows, else A."""
    asked = (asked or "").strip()
    if asked:
        return _named_column(table, asked, width)
    counts = [sum(_is_number(row[index]) for row in table[: DETECTED_FROM_ROWS + 1]) for index in range(width)]
    best = max(counts, default=0)
    return counts.index(best) if best else 0


def _named_column(table: list[tuple[Value, ...]], asked: str, width: int) -> int:
    if asked.isdigit() and 1 <= int(asked) <= width:
        return int(asked) - 1
    if table:
        headings = [_text(value).casefold() for value in table[0]]
        if asked.casefold() in headings:
            return headings.index(asked.casefold())
    if _LETTERS.match(asked) and _letter_index(asked) < width:
        return _letter_index(asked)
    raise refused(
        "column",
        "no such column",
        "column",
        f"the list has no column {asked!r}: give its letter (A), position (1) or heading",
        column=asked[:40],
        last=column_letter(width - 1),
    )


# --- the results ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A checked list: per row of the buyer's list its result (None for a row without a number) and the values
    appended to it (RESULT_COLUMNS, None for a row without a number)."""

    results: list[registry.Checked | None]
    appended: list[list[Value] | None]

    def verdicts(self) -> list[str]:
        return [result.verdict for result in self.results if result is not None]


def check_list(session: Session, buyer: BuyerList, today: date, t: Catalogue | None = None) -> Checked:
    """Every number of the list checked (one query per 500 numbers, one for the benchmarks of their groups), in the
    order of the rows. With a reader's catalogue the verdicts, names and notes are in their language; without one,
    the JSON API's codes and English."""
    numbers = buyer.numbers()
    found = iter(registry.check(session, [number for number in numbers if number], today))
    results = [next(found) if number else None for number in numbers]
    labels_found = [result.label for result in results if result is not None and result.label is not None]
    standing = registry.standings(session, labels_found, today)
    appended = [
        _appended(result, standing.get(result.label.id) if result.label else None, t) if result else None
        for result in results
    ]
    return Checked(results, appended)


def _appended(item: registry.Checked, standing: registry.Standing | None, t: Catalogue | None) -> list[Value]:
    """The values appended to one row, in the order of RESULT_COLUMNS."""
    words = t or catalogue("en")
    status = t(f"pub.status.{item.verdict}") if t else item.verdict
    label = item.label
    if label is None:
        row: list[Value] = [None] * len(RESULT_COLUMNS)
        row[0], row[-2], row[-1] = status, registry.note(item, words), item.number
        return row
    group = standing.group if standing else None
    # a label out of force has no grade to buy on: its grade at issue stays, as history
    current = standing.current if standing and item.verdict == Verdict.VALID.value else None
    at_issue = standing.at_issue if standing else None
    return [
        status,
        label.product_name,
        label.manufacturer_name,
        _stated(label.value),
        "kg CO2e",
        label.declared_unit,
        names.pcr_category(label.pcr_id, words.lang),
        f"{label.pcr_id} {label.pcr_version}",
        (benchmarks.group_name(group, words.lang, label.pcr_version) if t else group.key) if group else None,
        label.reference_year,
        current.grade if current else None,
        Decimal(f"{current.ratio:.3f}") if current else None,
        at_issue.grade if at_issue else None,
        _benchmark_text(current, words) if current else None,
        label.issued_on,
        label.expires_on,
        registry.note(item, words),
        label.number,
    ]


def _stated(value: str) -> Value:
    """The stated value as a number a spreadsheet sums (it is signed as text of four significant digits)."""
    try:
        return Decimal(value)
    except InvalidOperation:
        return value


def _benchmark_text(grade: benchmarks.LabelGrade, t: Catalogue) -> str:
    """'Registry median of 7 valid labels of 2024 (version 2): 850 kg CO2e per 1 t'."""
    benchmark = grade.benchmark
    return t(
        "pub.batch.benchmark",
        basis=benchmarks.basis_text(benchmark, t.lang),
        year=benchmark.year,
        version=benchmark.version,
        value=f"{benchmark.value:.4g}",
        unit=benchmark.declared_unit,
    )


def result_headings(header_lang: str) -> list[str]:
    """The headings of the appended columns: codes, or their names in Chinese, English or both ('状态 / Status')."""
    if header_lang == "code":
        return list(RESULT_COLUMNS)
    if header_lang == "both":
        zh, en = catalogue("zh"), catalogue("en")
        return [f"{zh(f'pub.batch.col.{c}')} / {en(f'pub.batch.col.{c}')}" for c in RESULT_COLUMNS]
    words = catalogue(header_lang)
    return [words(f"pub.batch.col.{column}") for column in RESULT_COLUMNS]


def merged(buyer: BuyerList, checked: Checked, header_lang: str) -> tuple[list[str], list[list[Value]]]:
    """(headings, rows) of the file handed back: each of the buyer's rows as it was, its results after it (blank
    where the row had no number)."""
    empty: list[Value] = [None] * len(RESULT_COLUMNS)
    rows = [
        list(row) + (appended if appended is not None else empty)
        for row, appended in zip(buyer.rows, checked.appended, strict=True)
    ]
    return buyer.headings() + result_headings(header_lang), rows


def csv_file(headings: list[str], rows: list[list[Value]]) -> bytes:
    """UTF-8 with a byte order mark (Excel reads Chinese text only so), formula-leading text neutralised."""
    return cells.csv_bytes(headings, rows, bom=True)


def xlsx_file(headings: list[str], rows: list[list[Value]], sheet: str) -> bytes:
    return cells.xlsx_bytes(headings, rows, sheet)


# --- the table in a signed token (the page's downloads keep nothing on the server) --------------------------------


def encoded(buyer: BuyerList) -> dict:
    """The list as JSON values: a Decimal, a date or a date-time as [kind, text]."""
    return {
        "h": [_cell_json(v) for v in buyer.header] if buyer.header is not None else None,
        "r": [[_cell_json(v) for v in row] for row in buyer.rows],
        "c": buyer.column,
    }


def decoded(body: dict) -> BuyerList:
    header = body.get("h")
    return BuyerList(
        tuple(_cell_value(v) for v in header) if header is not None else None,
        [tuple(_cell_value(v) for v in row) for row in body["r"]][:MAX_ROWS],
        int(body["c"]),
    )


_KINDS: dict[str, Callable[[str], Value]] = {
    "decimal": Decimal,
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
}


def _cell_json(value: Value):
    if isinstance(value, Decimal):
        return ["decimal", str(value)]
    if isinstance(value, datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, date):
        return ["date", value.isoformat()]
    return value


def _cell_value(value) -> Value:
    if isinstance(value, list) and len(value) == 2 and value[0] in _KINDS:
        return _KINDS[value[0]](str(value[1]))
    return value if isinstance(value, str | int | float) or value is None else str(value)


def numbers_from_xlsx(content: bytes, field: str = "body") -> list[str]:
    """The label numbers of an XLSX workbook (its number column, found as `read_list` finds it): every refusal of the
    safe reader a 422 naming `field`."""
    return [number for number in read_list(content, "list.xlsx", None, field=field).numbers() if number]
