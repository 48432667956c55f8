"""Tables for spreadsheets: rows of values written as CSV or XLSX, no cell ever read as a formula.

The rule (OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection): "ensure that no cells
begin with any of the following characters: Equals to (=), Plus (+), Minus (-), At (@), Tab (0x09), Carriage return
(0x0D)"; a text cell that begins with one of them gets a leading single quote, which spreadsheets read as "this is
text". The page's later revision also names line feed (0x0A) and the full-width forms ＝ ＋ － ＠ that some locales
evaluate; they are neutralised the same way. The field separator and quotes inside a value are RFC 4180 quoting
(the csv module), so a value cannot start a new cell either.

Numbers are not text: an int, float or Decimal is written as a number (a CSV field `-3.5`, an XLSX numeric cell),
which spreadsheets read as that number, never as a formula; so a negative number keeps its minus sign. Only a
*string* that begins with `-` (e.g. "-3.5" as text) gets the quote, because its content is not known to be a number.

XLSX: every text cell is written with the string data type (openpyxl would otherwise store a value starting with
`=` as a formula), without the quote (a string cell is never evaluated), and formula-leading text also carries
Excel's quotePrefix style, so that editing the cell keeps it text.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
NUMBERS = (int, float, Decimal)
BOM = "\ufeff"  # UTF-8 byte order mark: Excel reads a CSV as UTF-8 only when it starts with one
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
MAX_COLUMN_WIDTH = 60  # characters: a long product name wraps the sheet no wider than this

Value = str | int | float | Decimal | date | None


def formula_leading(text: str) -> bool:
    return text.startswith(FORMULA_LEADS)


def neutralise(value: Value) -> Value:
    """The value as a CSV cell may hold it: formula-leading text with a leading single quote; numbers, dates and
    empty cells unchanged (bool counts as text, not as the number it is in Python)."""
    if value is None or isinstance(value, date) or (isinstance(value, NUMBERS) and not isinstance(value, bool)):
        return value
    text = str(value)
    return "'" + text if formula_leading(text) else text


def _csv_text(value: Value) -> str:
    value = neutralise(value)
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Value]], bom: bool = False) -> bytes:
    """UTF-8 CSV (RFC 4180 quoting, CRLF line ends), with a byte order mark for Excel when `bom`."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_text(header) for header in headers])
    for row in rows:
        writer.writerow([_csv_text(value) for value in row])
    return out.getvalue().encode("utf-8")


def xlsx_bytes(
    headers: Sequence[str], rows: Iterable[Sequence[Value]], sheet: str = "Sheet1", widths: Sequence[int] | None = None
) -> bytes:
    """An XLSX workbook of one sheet: a bold, frozen header row, then the rows; text as string cells, numbers as
    numbers, dates as dates; column widths given, or fitted to the longest value (at most MAX_COLUMN_WIDTH)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    rows = [list(row) for row in rows]
    fitted = widths or [
        min(MAX_COLUMN_WIDTH, 2 + max([_shown_width(header)] + [_shown_width(row[i]) for row in rows if i < len(row)]))
        for i, header in enumerate(headers)
    ]
    for index, width in enumerate(fitted):
        worksheet.column_dimensions[_column_letter(index)].width = width
    worksheet.freeze_panes = "A2"
    bold = Font(bold=True)

    def cell(value: Value, header: bool = False) -> WriteOnlyCell:
        written = WriteOnlyCell(worksheet)
        if (isinstance(value, NUMBERS) and not isinstance(value, bool)) or isinstance(value, date):
            written.value = value
        elif value is not None:
            text = str(value)
            written.value = text
            written.data_type = "s"  # never "f": a value starting with = stays text
            if formula_leading(text):
                written.quotePrefix = True
        if header:
            written.font = bold
        return written

    worksheet.append([cell(header, header=True) for header in headers])
    for row in rows:
        worksheet.append([cell(value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _shown_width(value: Value) -> int:
    """Characters a spreadsheet shows, a CJK character counting as two."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
