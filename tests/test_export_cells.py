"""Cells for spreadsheets: formula-leading text neutralised (OWASP CSV Injection), numbers kept as numbers, CSV
with an optional BOM, XLSX with string cells only where the value is text."""

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from footprint_api.exports.cells import csv_bytes, neutralise, xlsx_bytes


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx", "＝1+2", "-3.5"])
def test_text_beginning_with_a_formula_character_gets_a_leading_quote(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["PCF-2026-000123-F", "水泥", "a=b", "", "'=already quoted"])
def test_other_text_is_unchanged(value):
    assert neutralise(value) == value


@pytest.mark.parametrize("value", [-3.5, -2, Decimal("-784.8"), 0, date(2029, 1, 14), None])
def test_numbers_dates_and_empty_cells_are_not_text(value):
    """A negative number written as a number is read as that number, never as a formula."""
    assert neutralise(value) is value


def test_owasp_examples_come_out_as_the_page_shows():
    """OWASP's table: `=1+2";=1+2` -> `"'=1+2"";=1+2"`, and `=1+2'" ;,=1+2` -> `"'=1+2'"" ;,=1+2"`."""
    written = csv_bytes(["a"], [['=1+2";=1+2'], ["=1+2'\" ;,=1+2"]]).decode()
    assert written.split("\r\n")[1:3] == ['"\'=1+2"";=1+2"', '"\'=1+2\'"" ;,=1+2"']


def test_csv_with_bom_and_numbers_as_numbers():
    written = csv_bytes(
        ["name", "value", "expires"], [["水泥", Decimal("784.8"), date(2029, 1, 14)], ["-x", -1.5, None]], bom=True
    )
    assert written.startswith(b"\xef\xbb\xbfname,value,expires\r\n")
    rows = list(csv.reader(io.StringIO(written.decode("utf-8-sig"))))
    assert rows[1:] == [["水泥", "784.8", "2029-01-14"], ["'-x", "-1.5", ""]]


def test_xlsx_writes_text_as_strings_never_formulas():
    workbook = openpyxl.load_workbook(
        io.BytesIO(
            xlsx_bytes(["name", "value"], [['=HYPERLINK("http://x")', Decimal("-784.8")], ["水泥", 3]], sheet="labels")
        )
    )
    sheet = workbook["labels"]
    assert [(c.value, c.data_type) for c in sheet[2]] == [('=HYPERLINK("http://x")', "s"), (-784.8, "n")]
    assert sheet["A2"].quotePrefix and not sheet["A3"].quotePrefix
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= len('=HYPERLINK("http://x")')


def test_xlsx_column_widths_as_given():
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(["a", "b"], [["x", "y"]], widths=[30, 12]))).active
    assert (sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width) == (30, 12)
