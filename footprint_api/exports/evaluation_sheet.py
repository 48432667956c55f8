"""The evaluation sheet of a tender (services.procurement): what a buyer attaches to the tender file, as XLSX and
PDF, each in both languages (Chinese first, English beside it).

Both carry the same content: the evaluation's basis (title, tender reference, comparable group, rule, award date,
validity asked, the benchmark's basis — registry median of how many labels, or the cited source — and the time of
evaluation in Beijing time), then one row per candidate: what the buyer gave and the buyer's own columns as they came
(so that the XLSX merges back into the buyer's file), the label it resolved to, its value, the rule's limit and the
margin to it, grade, rank, and the verdict with its reasons in both languages.

The workbook has two sheets, 结果 Results (a plain table: one heading row, one row per candidate) and 依据 Basis;
every text cell is a string cell and formula-leading text carries the quote prefix (exports.cells, OWASP CSV
injection), numbers are numbers. The PDF is set in the CJK font every PDF of the service uses (exports.report
.cjk_face), A4 landscape, under the reportlab lock (label_service.pdf.REPORTLAB); every text is escaped for
reportlab's Paragraph markup, so a buyer's cell prints as typed and never as markup.

The words come from the catalogue (locales/*/procurement.yaml, `proc.col.*`) and, for what the service decided
(verdicts, reasons), already worded by the service in both languages.
"""

import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from footprint_api.core.messages import catalogue
from footprint_api.exports.cells import MAX_COLUMN_WIDTH, formula_leading
from footprint_api.exports.report import GREEN, cjk_face
from label_service.pdf import REPORTLAB


@dataclass(frozen=True)
class Row:
    """One candidate as the sheet shows it."""

    position: int
    given: str
    kind_zh: str
    kind_en: str
    columns: list[str]  # the buyer's own, in the order of Sheet.buyer_headings
    number: str | None
    product: str | None
    manufacturer: str | None
    expires_on: date | None
    value: float | None
    limit: float | None
    margin: float | None
    grade: int | None
    ratio: float | None
    rank: int | None
    verdict: str  # the code: pass, fail, not_comparable, invalid, unknown
    verdict_zh: str
    verdict_en: str
    reasons_zh: str
    reasons_en: str


@dataclass(frozen=True)
class Sheet:
    title: str
    declared_unit: str
    facts: list[tuple[str, str, str, str]]  # (name zh, name en, value zh, value en)
    buyer_headings: list[str]
    rows: list[Row] = field(default_factory=list)


COLUMNS = (  # (catalogue key of the heading, "num" for a column of numbers)
    ("proc.col.position", "num"),
    ("proc.col.given", ""),
    ("proc.col.kind", ""),
    ("proc.col.number", ""),
    ("proc.col.product", ""),
    ("proc.col.manufacturer", ""),
    ("proc.col.expires_on", ""),
    ("proc.col.value", "num"),
    ("proc.col.limit", "num"),
    ("proc.col.margin", "num"),
    ("proc.col.grade", "num"),
    ("proc.col.ratio", "num"),
    ("proc.col.rank", "num"),
    ("proc.col.verdict_zh", ""),
    ("proc.col.verdict_en", ""),
    ("proc.col.reasons_zh", ""),
    ("proc.col.reasons_en", ""),
)
BUYER_AFTER = 3  # the buyer's columns follow what they gave: position, given, kind


def heading(key: str, unit: str) -> str:
    """'标示值（kg CO2e/1 t） Value (kg CO2e per 1 t)': Chinese, then English."""
    zh, en = catalogue("zh")(key, unit=unit), catalogue("en")(key, unit=unit)
    return zh if zh == en else f"{zh} {en}"


def headings(sheet: Sheet) -> list[str]:
    ours = [heading(key, sheet.declared_unit) for key, _ in COLUMNS]
    return [*ours[:BUYER_AFTER], *sheet.buyer_headings, *ours[BUYER_AFTER:]]


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def cells(sheet: Sheet, row: Row) -> list:
    ours = [
        row.position,
        row.given,
        f"{row.kind_zh} {row.kind_en}",
        row.number,
        row.product,
        row.manufacturer,
        row.expires_on,
        row.value,
        _rounded(row.limit),
        _rounded(row.margin),
        row.grade,
        _rounded(row.ratio),
        row.rank,
        row.verdict_zh,
        row.verdict_en,
        row.reasons_zh,
        row.reasons_en,
    ]
    return [*ours[:BUYER_AFTER], *row.columns, *ours[BUYER_AFTER:]]


# --- XLSX -----------------------------------------------------------------------------------------------------------


def xlsx(sheet: Sheet) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")

    def cell(worksheet, value, strong: bool = False):
        written = WriteOnlyCell(worksheet)
        if isinstance(value, int | float | date) and not isinstance(value, bool):
            written.value = value
        elif value is not None:
            text = str(value)
            written.value = text
            written.data_type = "s"  # never a formula
            if formula_leading(text):
                written.quotePrefix = True
        if strong:
            written.font = bold
        written.alignment = wrap
        return written

    results = book.create_sheet("结果 Results")
    names = headings(sheet)
    table = [cells(sheet, row) for row in sheet.rows]
    for index, name in enumerate(names):
        longest = max([_width(name) // 2, *(_width(r[index]) for r in table)], default=10)
        results.column_dimensions[get_column_letter(index + 1)].width = min(MAX_COLUMN_WIDTH, 4 + longest)
    results.freeze_panes = "A2"
    results.append([cell(results, name, strong=True) for name in names])
    for values in table:
        results.append([cell(results, value) for value in values])

    basis = book.create_sheet("依据 Basis")
    for letter, width in zip("ABCD", (24, 24, 60, 60), strict=True):
        basis.column_dimensions[letter].width = width
    basis.append([cell(basis, text, strong=True) for text in ("项目", "Item", "中文", "English")])
    for name_zh, name_en, value_zh, value_en in sheet.facts:
        basis.append(
            [cell(basis, name_zh, True), cell(basis, name_en, True), cell(basis, value_zh), cell(basis, value_en)]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _width(value) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


# --- PDF ------------------------------------------------------------------------------------------------------------


def _p(text, style):
    from reportlab.platypus import Paragraph

    return Paragraph(escape("" if text is None else str(text)).replace("\n", "<br/>"), style)


def _n(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    return f"{round(value, digits):,.{digits}g}" if abs(value) < 1e5 else f"{value:,.0f}"


def pdf(sheet: Sheet, font: Path) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    face = cjk_face(font)
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=face, fontSize=8, leading=10)
    small = ParagraphStyle("small", parent=body, fontSize=6.5, leading=8)
    title = ParagraphStyle("t", parent=base["Title"], fontName=face, fontSize=15, textColor=GREEN)
    heading_style = ParagraphStyle(
        "h", parent=base["Heading2"], fontName=face, fontSize=11, textColor=GREEN, spaceBefore=6, spaceAfter=3
    )
    zh, en = catalogue("zh"), catalogue("en")

    def grid(rows, widths, repeat: int = 1) -> Table:
        table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=repeat)
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, repeat - 1), colors.HexColor("#e8f2ec")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("FONT", (0, 0), (-1, -1), face, 6.5),  # the cells that are figures, not paragraphs
                    ("LEFTPADDING", (0, 0), (-1, -1), 2),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return table

    facts = [
        [_p(f"{name_zh}\n{name_en}", body), _p(value_zh if value_zh == value_en else f"{value_zh}\n{value_en}", body)]
        for name_zh, name_en, value_zh, value_en in sheet.facts
    ]
    unit = sheet.declared_unit

    def both(key: str) -> str:
        return f"{zh(key, unit=unit)}\n{en(key, unit=unit)}"

    head = [
        both("proc.col.position"),
        both("proc.col.given"),
        both("proc.col.buyer"),
        both("proc.col.label"),
        both("proc.col.value"),
        both("proc.col.limit"),
        both("proc.col.margin"),
        both("proc.col.grade"),
        both("proc.col.rank"),
        both("proc.col.verdict"),
        both("proc.col.reasons"),
    ]
    header = [_p(text, small) for text in head]
    rows = []
    for row in sheet.rows:
        own = "\n".join(
            f"{name}: {value}" for name, value in zip(sheet.buyer_headings, row.columns, strict=True) if value
        )
        label = "\n".join(
            part
            for part in (
                row.number,
                row.product,
                row.manufacturer,
                f"≤ {row.expires_on.isoformat()}" if row.expires_on else None,
            )
            if part
        )
        rows.append(
            [
                str(row.position),
                _p(f"{row.given}\n{row.kind_zh} {row.kind_en}", small),
                _p(own, small),
                _p(label or "–", small),
                _n(row.value),
                _n(row.limit),
                _n(row.margin),
                "–" if row.grade is None else str(row.grade),
                "–" if row.rank is None else str(row.rank),
                f"{row.verdict_zh}\n{row.verdict_en}",
                _p(f"{row.reasons_zh}\n{row.reasons_en}", small),
            ]
        )
    story = [
        Paragraph(escape(f"{zh('proc.sheet.heading')} · {en('proc.sheet.heading')}"), title),
        _p(sheet.title, heading_style),
        grid([[_p("依据", body), _p("Basis", body)], *facts], [60, 200]),
        Spacer(1, 4 * mm),
        Paragraph(escape(f"{zh('proc.sheet.results')} · {en('proc.sheet.results')}"), heading_style),
    ]
    story.append(grid([header, *rows], [9, 30, 34, 44, 18, 18, 18, 11, 11, 18, 56]))
    out = io.BytesIO()
    with REPORTLAB:
        SimpleDocTemplate(
            out,
            pagesize=landscape(A4),
            title=f"Evaluation sheet {sheet.title}",
            leftMargin=10 * mm,
            rightMargin=10 * mm,
            topMargin=12 * mm,
            bottomMargin=12 * mm,
        ).build(story)
    return out.getvalue()
