"""Uploaded XLSX workbooks read in bounded time and memory, whatever their bytes say.

An .xlsx file is a ZIP of XML parts (ECMA-376 Part 2, Open Packaging Conventions). A few kilobytes can declare
gigabytes of cells (a zip bomb) or a sheet of 1,048,576 rows, and XML can carry a DTD whose entities expand
(billion laughs) or reach outside (XXE). So a workbook is inspected before any XML parser sees it (OWASP XML
Security Cheat Sheet: "disable DTDs completely"; OWASP File Upload Cheat Sheet: limit the file and its unpacked
size), then opened by openpyxl in read-only mode, which streams one sheet at a time, and read only up to limits of
sheets, rows, columns and cells:

- the archive: its size, the number of members, each member's and the total declared uncompressed size, and each
  member's compression ratio. The declared sizes bind: Python's zipfile stops inflating a member at its declared
  size (and then fails its CRC check), so a member that lies about its size cannot inflate past it.
- every XML part: no DTD at all (`<!DOCTYPE`, `<!ENTITY`), and an ASCII-compatible encoding, so that this byte
  search sees the markup (spreadsheet programs write UTF-8; a UTF-16 part could hide a DTD from it). openpyxl reads
  sheets with the standard library's expat parser (which expands internal entities, with expat's amplification
  limit) and other parts with lxml without entity resolution; refusing DTDs leaves neither anything to expand.
- the sheets: their number, then rows, columns and cells actually read (an empty row or column a sheet declares
  counts too: openpyxl fills the gaps, so a single cell at row 1,000,000 would otherwise cost a million rows).

A refusal names the limit: `WorkbookTooLarge` (413, the content is too large for the service) or `NotAWorkbook`
(422, the content is not a workbook the service reads).

The values read are then interpreted as a person types them in Chinese Excel (`cell_number`, `cell_date`,
`cell_month`): 2024/12/31 and 2024年12月31日 beside 2024-12-31, full-width digits (６５.２), thousands separators
(1,234.5), a trailing % — and a number cell formatted as a percentage, which Excel stores as the fraction it shows
(65.2 % is the number 0.652), is read as `Percent`, so that the reader knows what the person saw.
"""

import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from footprint_api.core.errors import ServiceError, Unprocessable

MAX_WORKBOOK_BYTES = 5 * 1024 * 1024  # an uploaded inventory workbook (the template filled in is ~30 KiB)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

CHUNK_BYTES = 64 * 1024
DTD_MARKS = (b"<!DOCTYPE", b"<!ENTITY")
XML_SUFFIXES = (".xml", ".rels", ".vml")


class WorkbookTooLarge(ServiceError):
    """RFC 9110 §15.5.14: 413 Content Too Large — the workbook passes a limit of size, sheets, rows or cells."""

    status, title = 413, "Content too large"


class NotAWorkbook(Unprocessable):
    """422: not an XLSX workbook, a damaged one, or one with markup no spreadsheet program writes (a DTD)."""


@dataclass(frozen=True)
class Limits:
    """What one kind of upload may hold. Declared sizes are bytes of XML, before parsing."""

    max_bytes: int
    max_unpacked_bytes: int
    max_member_bytes: int
    max_members: int = 500
    max_ratio: float = 100.0  # uncompressed / compressed, checked for members over RATIO_FLOOR_BYTES
    max_sheets: int = 50
    max_rows: int = 50_000  # per sheet, blank ones included
    max_columns: int = 64  # read per row; cells further right are not read
    max_cells: int = 500_000  # per workbook, rows x columns read


RATIO_FLOOR_BYTES = 1_000_000  # a small part may compress well (an empty sheet: 30 x); its size bounds it anyway


def _entry(field: str, reason: str, code: str, params: dict) -> dict:
    """The refusal's entry: the field, a short English reason, and the message code (workbook.file.*) with its
    parameters, for a page to word it in its reader's language."""
    return {"field": field, "reason": reason, "code": f"workbook.file.{code}", "params": params}


def _too_large(field: str, detail: str, reason: str, code: str, **params) -> WorkbookTooLarge:
    return WorkbookTooLarge(detail, [_entry(field, reason, code, params)], f"workbook.file.{code}", params)


def _not_a_workbook(field: str, detail: str, reason: str, code: str, **params) -> NotAWorkbook:
    return NotAWorkbook(detail, [_entry(field, reason, code, params)], f"workbook.file.{code}", params)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:g} MB"


def inspect(content: bytes, limits: Limits, field: str = "file") -> None:
    """Refuses a workbook whose archive or XML could cost time or memory, without parsing any XML."""
    if len(content) > limits.max_bytes:
        raise _too_large(
            field,
            f"the workbook is larger than {_megabytes(limits.max_bytes)}",
            "too large",
            "too_large",
            limit=_megabytes(limits.max_bytes),
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            _check_sizes(members, limits, field)
            for member in members:
                if member.filename.lower().endswith(XML_SUFFIXES):
                    _check_markup(archive, member, field)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        EOFError,
        OSError,
        RuntimeError,
        ValueError,
        zlib.error,
    ):
        raise _not_a_workbook(
            field, "the file is not an XLSX workbook (save it as .xlsx)", "not XLSX", "not_xlsx"
        ) from None


def _check_sizes(members: list[zipfile.ZipInfo], limits: Limits, field: str) -> None:
    if len(members) > limits.max_members:
        raise _too_large(
            field,
            f"the workbook has more than {limits.max_members} parts",
            "too many parts",
            "members",
            limit=limits.max_members,
        )
    if sum(m.file_size for m in members) > limits.max_unpacked_bytes:
        raise _too_large(
            field,
            f"the workbook unpacks to more than {_megabytes(limits.max_unpacked_bytes)}",
            "too large unpacked",
            "unpacked",
            limit=_megabytes(limits.max_unpacked_bytes),
        )
    for member in members:
        if member.file_size > limits.max_member_bytes:
            raise _too_large(
                field,
                f"a part of the workbook ({member.filename}) unpacks to more than "
                f"{_megabytes(limits.max_member_bytes)}",
                "part too large unpacked",
                "part_too_large",
                part=member.filename,
                limit=_megabytes(limits.max_member_bytes),
            )
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > limits.max_ratio * max(1, member.compress_size):
            raise _too_large(
                field,
                f"a part of the workbook ({member.filename}) is compressed more than "
                f"{limits.max_ratio:g} to 1, as only a zip bomb is",
                "compression ratio",
                "ratio",
                part=member.filename,
                ratio=f"{limits.max_ratio:g}",
            )


def _check_markup(archive: zipfile.ZipFile, member: zipfile.ZipInfo, field: str) -> None:
    """Streams the part (its declared size is already bounded) looking for a DTD; a mark split between two chunks
    is found by keeping the previous chunk's tail."""
    tail = b""
    with archive.open(member) as part:
        first = True
        while chunk := part.read(CHUNK_BYTES):
            if first and not _ascii_compatible(chunk):
                raise _not_a_workbook(
                    field,
                    f"the part {member.filename} is not UTF-8 XML, as spreadsheet programs write it",
                    "XML encoding",
                    "encoding",
                    part=member.filename,
                )
            first = False
            window = tail + chunk
            if any(mark in window for mark in DTD_MARKS):
                raise _not_a_workbook(field, "the workbook contains a DTD, which no spreadsheet writes", "DTD", "dtd")
            tail = window[-(max(map(len, DTD_MARKS)) - 1) :]


def _ascii_compatible(start: bytes) -> bool:
    """UTF-8 (with or without a byte order mark): the part starts with '<' after optional whitespace."""
    return start.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"<")


# --- reading ------------------------------------------------------------------------------------------------------


def open_read_only(content: bytes, limits: Limits, field: str = "file"):
    """The inspected workbook, opened by openpyxl in read-only mode (values, not formulas); close it after use."""
    from openpyxl import load_workbook

    inspect(content, limits, field)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds (KeyError, ValueError, XML errors)
        raise _not_a_workbook(
            field,
            "the workbook cannot be read (save it as .xlsx)",
            str(exc)[:200] or type(exc).__name__,
            "unreadable",
        ) from None
    if len(book.sheetnames) > limits.max_sheets:
        book.close()
        raise _too_large(
            field,
            f"the workbook has more than {limits.max_sheets} sheets",
            "too many sheets",
            "sheets",
            limit=limits.max_sheets,
        )
    return book


class _Budget:
    """Cells left to read in the whole workbook."""

    def __init__(self, limits: Limits, field: str):
        self.cells_left, self.limits, self.field = limits.max_cells, limits, field

    def spend(self, cells: int) -> None:
        self.cells_left -= cells
        if self.cells_left < 0:
            raise _too_large(
                self.field,
                f"the workbook has more than {self.limits.max_cells} cells to read",
                "too many cells",
                "cells",
                limit=self.limits.max_cells,
            )


class Percent(float):
    """A number its cell shows as a percentage (number format ending in %): the value is the fraction Excel stores,
    0.652 for a cell showing 65.2 %."""

    @property
    def shown(self) -> float:
        """The number the person sees before the % sign (65.2 for 0.652), shifted in decimal, not binary."""
        return float(Decimal(repr(float(self))).scaleb(2))


def _value(cell):
    """A cell's value, a number formatted as a percentage marked as `Percent`."""
    value = cell.value
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and str(getattr(cell, "number_format", "") or "").rstrip().endswith("%"):
        return Percent(value)
    return value


def sheet_rows(
    sheet,
    limits: Limits,
    columns: int | None = None,
    field: str = "file",
    budget: _Budget | None = None,
    percent: bool = False,
) -> Iterator[tuple]:
    """The values of a sheet, row by row from row 1, at most `columns` (default: the limit) per row; a sheet
    with more rows than the limit is refused when its next row is reached. With `percent`, numbers formatted as
    percentages come as `Percent` (reading the cells' formats as well as their values)."""
    columns = min(columns or limits.max_columns, limits.max_columns)
    budget = budget or _Budget(limits, field)
    try:
        rows = sheet.iter_rows(min_row=1, max_row=limits.max_rows + 1, max_col=columns, values_only=not percent)
        for index, row in enumerate(rows):
            if index >= limits.max_rows:
                raise _too_large(
                    field,
                    f"the sheet {sheet.title!r} has more than {limits.max_rows} rows",
                    "too many rows",
                    "rows",
                    sheet=sheet.title,
                    limit=limits.max_rows,
                )
            budget.spend(len(row))
            yield tuple(_value(cell) for cell in row) if percent else row
    except ServiceError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged sheet: openpyxl raises XML, key and value errors
        raise _not_a_workbook(
            field,
            f"the sheet {sheet.title!r} cannot be read",
            str(exc)[:200] or type(exc).__name__,
            "sheet_unreadable",
            sheet=sheet.title,
        ) from None


def read_values(content: bytes, limits: Limits, field: str = "file", percent: bool = False) -> dict[str, list[tuple]]:
    """Every sheet's values (title -> rows, trailing empty rows dropped), within the limits; with `percent`, numbers
    formatted as percentages as `Percent`."""
    book = open_read_only(content, limits, field)
    try:
        budget = _Budget(limits, field)
        return {
            sheet.title: _trimmed(list(sheet_rows(sheet, limits, field=field, budget=budget, percent=percent)))
            for sheet in book.worksheets
        }
    finally:
        book.close()


def _trimmed(rows: list[tuple]) -> list[tuple]:
    while rows and all(value is None for value in rows[-1]):
        rows.pop()
    return rows


# --- cell values as Chinese Excel writes them ----------------------------------------------------------------------

_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,234.5 (a comma that only groups thousands)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$|^(\d{4})(\d{2})$")


def _text(value: str) -> str:
    """Full-width forms as their ASCII (NFKC: ６５．２ -> 65.2, the ideographic space -> a space), trimmed."""
    return unicodedata.normalize("NFKC", value).strip()


def cell_number(value) -> tuple[int | float, bool]:
    """(number, percent) of a cell: a number as it is, or text as people type it — full-width digits,
    thousands separators, spaces, a trailing % (percent True, the number as typed: '65.2%' -> (65.2, True)). A
    `Percent` cell gives the number it shows ((65.2, True)). ValueError for anything else. Whole numbers typed
    without a decimal point stay int (a count of certificates)."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, Percent):
        return value.shown, True
    if isinstance(value, int | float):
        return value, False
    if not isinstance(value, str):
        raise ValueError(value)
    text = _text(value).replace(" ", "")
    percent = text.endswith("%")
    text = text.removesuffix("%")
    if _GROUPED.match(text):
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        raise ValueError(value)
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text), percent
    try:
        number = float(Decimal(text))
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise ValueError(value) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(value)
    return number, percent


def cell_date(value) -> date:
    """A date cell (Excel's own) or text in the forms Chinese Excel shows: 2024-12-31, 2024/12/31, 2024.12.31,
    2024年12月31日 (full-width digits too). ValueError for anything else, including an impossible day."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(value)
    found = _DATE.match(_text(value))
    if not found:
        raise ValueError(value)
    return date(*(int(part) for part in found.groups()))


def cell_month(value) -> str:
    """A month as YYYY-MM from 2023-04, 2023/4, 2023.04, 2023年4月, 202304, or a date cell (Excel turns a typed
    2023-04 into the first of the month). ValueError for anything else."""
    if isinstance(value, datetime | date):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(value)
    found = _MONTH.match(_text(value))
    if not found:
        raise ValueError(value)
    year, month = (found.group(1), found.group(2)) if found.group(1) else (found.group(3), found.group(4))
    if not 1 <= int(month) <= 12:
        raise ValueError(value)
    return f"{int(year):04d}-{int(month):02d}"
