"""Renderings of a carbon label: SVG (web), PNG (300 dpi, print) and PDF (vector), bilingual, in three sizes.

A size is named by the width of its QR code (`qr20`, `qr30`, `qr50`): the code must stay readable by a phone at the
size it is printed, and everything else on the label is laid out around it. One layout in millimetres (`layout`) is
drawn by three small back-ends, so the formats cannot drift apart; text is measured once, with the label font's own
metrics (Pillow), wrapped onto the lines a field may take, and shortened with an ellipsis only as a last resort.
The CJK font is WenQuanYi Micro Hei (Debian `fonts-wqy-microhei`, installed by `make`); PCF_LABEL_FONT names another.
"""

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from label_service.pdf import REPORTLAB
from label_service.qr import matrix

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
SVG_FONTS = "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"
GREEN, PALE_GREEN, INK, GREY, WHITE = "#1b6b3a", "#e7f2eb", "#111111", "#4d4d4d", "#ffffff"

# GS1 General Specifications, §5.12.3 symbol specification tables for trade items scanned at retail point of sale
# (with the addendum for GS1 Digital Link URIs in QR Code): a QR Code module (X-dimension) of at least about 0.4 mm
# (0.396 mm in the editions we know: 1.5 x the linear symbols' minimum, as 2D symbols are read by image capture;
# check the current edition for the exact figure). A version-5 code is 37 modules + 2 x 4 of quiet zone = 45
# modules, so the smallest label's 20 mm square gives 0.444 mm.
MIN_MODULE_MM = 0.4
QUIET_MODULES = 4  # light modules on each side of the symbol (ISO/IEC 18004), included in `matrix`
MIN_TEXT_MM = 6 * 25.4 / 72  # 6 pt, the smallest type a consumer is expected to read on a pack
ASCENT, DESCENT = 0.85, 0.25  # ink above and below the baseline, in ems (CJK ideographs, Latin descenders)
SUBSCRIPT_SCALE, SUBSCRIPT_DROP = 0.7, 0.2  # "CO₂e": the 2 drawn at 70 % of the size, lowered by 0.2 em
FIGURE_EM = 0.73  # height of the font's digits, in ems: the footprint figure is aligned on its ink
BOLD_STROKE_EM = 0.04  # the font has no bold face: bold is drawn as fill plus an outline this wide, in every format
BOUNDARY_WORDS = {
    "cradle-to-gate": ("从摇篮到大门", "Cradle-to-gate"),
    "cradle-to-grave": ("从摇篮到坟墓", "Cradle-to-grave"),
    "gate-to-gate": ("从大门到大门", "Gate-to-gate"),
}


class FontMissing(RuntimeError):
    pass


# --- the figures a label states, as people read them ---------------------------------------------------------------

SIGNIFICANT_DIGITS = 4


def declared_value(total_kg_co2e: float, digits: int = SIGNIFICANT_DIGITS) -> str:
    """The footprint as a label declares it and its claim signs it: `digits` significant digits, rounded half up,
    as a plain decimal string (never a float): 11215.3 -> '11220', 784.83 -> '784.8', 0.972812 -> '0.9728'.

    The rule, and where it comes from:
    - four significant digits: the precision this scheme has declared on every label since its first one (README,
      "The label"). ISO 14067:2018 and its Chinese adoption GB/T 24067-2024 set no number of digits for a
      communicated footprint, and no PCR of the registry declares a reporting precision of its own; a total built
      from emission factors known to two or three digits would claim a precision it does not have with more;
    - the digits are counted from the first non-zero one, also before the decimal point (11215.3 has its fourth
      digit in the tens), so a large figure is rounded as a small one is: 11,220, not 11,215;
    - rounding half up on the decimal Python writes for the float (its shortest exact form): the 四舍五入 of
      GB/T 8170-2008 数值修约规则 §3.3 for every dropped part other than an exact half, which GB/T 8170 rounds to
      even; a computed total is not an exact half at its fifth digit, and labels already issued were rounded so.
    """
    if total_kg_co2e == 0:
        return "0"
    exact = Decimal(repr(float(total_kg_co2e)))
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - digits + 1), rounding=ROUND_HALF_UP)
    return format(rounded.normalize(), "f") if rounded.adjusted() >= digits - 1 else format(rounded, "f")


def grouped(value: str) -> str:
    """A decimal string with its whole part grouped by thousands: '11220' -> '11,220', '-1234.5' -> '-1,234.5'."""
    whole, _, fraction = value.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-')):,}"
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def label_figure(value: float | int | str | None) -> str:
    """A label's footprint figure as the printed label, the certificate, the verification page and every list show
    it, and as a page must show a footprint it presents beside or as a label's value: a computed total (a float)
    is rounded by `declared_value`, a signed value (the claim's decimal string, `Label.value`) is taken as signed;
    either is grouped by thousands. 11215.3 -> '11,220'; '11220' -> '11,220'; None -> ''."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return grouped(value)
    return grouped(declared_value(value))


def gtin_shown(gtin: str | None) -> str:
    """A GTIN as people read it: the GTIN-13 printed under the pack's EAN-13 bar code when the stored GTIN-14 (the
    form of AI (01) and of the Digital Link, label_service.gs1) starts with 0, the GTIN-14 otherwise (GS1 General
    Specifications §3.3.2: the leading zeros only fill the 14-digit field). A Chinese product's 69… number is
    shown as on its pack: '06901234567892' -> '6901234567892'; '16901234567899' stays. Text that is not 14
    digits is shown as it was stored."""
    if not gtin:
        return ""
    return gtin[1:] if len(gtin) == 14 and gtin.isdigit() and gtin.startswith("0") else gtin


@dataclass(frozen=True)
class LabelView:
    """What a label shows; built from its signed claim."""

    number: str
    product: str
    manufacturer: str
    value: str
    unit: str
    declared_unit: str
    pcr: str
    standard: str
    issuer: str
    issued: date
    expires: date
    qr_content: str
    boundary: str = "cradle-to-gate"  # a key of BOUNDARY_WORDS (ISO 14067 system boundary), shown in plain words
    scheme_mark: bytes | None = field(default=None, repr=False)  # PNG or JPEG; None: no mark, and no place for one


@dataclass(frozen=True)
class LabelSize:
    """The physical design of one label size; all lengths in mm, text sizes as the em of the font."""

    name: str
    width: float
    height: float
    qr: float  # side of the QR square, quiet zone included
    margin: float
    header: float  # height of the green band
    title: float
    value: float  # the footprint figure: the largest text on the label
    unit: float
    body: float
    caption: float
    mark: float  # side of the scheme-mark square
    row_lines: int  # lines a detail row may wrap onto before it is shortened


LABEL_SIZES = {
    spec.name: spec
    for spec in (
        LabelSize("qr20", 72.0, 53.0, 20.0, 2.5, 6.5, 2.9, 7.5, 3.2, 2.3, 2.2, 11.0, 2),
        LabelSize("qr30", 100.0, 68.0, 30.0, 3.5, 9.0, 4.0, 11.0, 4.2, 2.8, 2.3, 15.0, 2),
        LabelSize("qr50", 150.0, 92.0, 50.0, 5.0, 13.0, 5.8, 17.0, 6.0, 3.6, 2.8, 22.0, 2),
    )
}
SIZES = tuple(LABEL_SIZES)  # smallest first
DEFAULT_SIZE = "qr30"
FORMATS = ("svg", "png", "pdf")


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline, mm from the top
    size: float  # em, mm
    text: str
    colour: str = INK
    bold: bool = False
    width: float = 0.0  # advance measured with the label font: what the SVG asks its viewer to keep
    ascent: float = 0.0  # ink above the baseline, mm, measured with the label font (0: the font's nominal ascent)
    descent: float = 0.0  # ink below the baseline, mm

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the text, in mm: its advance across, its ink up and down."""
        ascent = self.ascent or ASCENT * self.size
        return self.x, self.y - ascent, self.x + self.width, self.y + (self.descent or 0.0)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    colour: str


@dataclass(frozen=True)
class Frame:
    """An outlined rectangle; the line lies inside it."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    line: float


@dataclass(frozen=True)
class Picture:
    x: float
    y: float
    width: float
    height: float
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Square:
    x: float
    y: float
    side: float


@dataclass(frozen=True)
class Layout:
    size: LabelSize
    ops: list[Box | Frame | Picture | Text]
    qr: Square
    modules: list[list[bool]]  # the QR symbol drawn in the square, quiet zone included

    @property
    def texts(self) -> list[Text]:
        return [op for op in self.ops if isinstance(op, Text)]


def find_font(explicit: Path | None = None) -> Path:
    for candidate in ([explicit] if explicit else []) + list(FONT_CANDIDATES):
        if candidate and candidate.exists():
            return candidate
    raise FontMissing(
        "no CJK font found: install Debian's fonts-wqy-microhei (make install-system) or set PCF_LABEL_FONT"
    )


# --- measuring and wrapping text ------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _face(font: Path):
    from PIL import ImageFont

    return ImageFont.truetype(str(font), 1000, index=0)


@lru_cache(maxsize=8192)
def text_width(font: Path, text: str, size: float) -> float:
    """Advance of text at size (em, mm): the one measure all three formats are laid out with."""
    return _face(font).getlength(text) * size / 1000


@lru_cache(maxsize=8192)
def ink_extent(font: Path, text: str, size: float, bold: bool) -> tuple[float, float]:
    """(ascent, descent) of the ink of text at size, in mm; bold's outline included."""
    _left, top, _right, bottom = _face(font).getbbox(text, anchor="ls")
    outline = BOLD_STROKE_EM * size / 2 if bold else 0.0
    return max(0.0, -top * size / 1000) + outline, max(0.0, bottom * size / 1000) + outline


@dataclass(frozen=True)
class Run:
    """A stretch of a paragraph in one style; scale and drop (ems) draw sub- and superscripts."""

    text: str
    colour: str = INK
    bold: bool = False
    scale: float = 1.0
    drop: float = 0.0


def chemistry(text: str, colour: str = INK, bold: bool = False) -> list[Run]:
    """Runs of text with each "CO2" written CO₂: the 2 a separate, smaller, lowered run (the font's U+2082 is not
    relied on)."""
    runs: list[Run] = []
    head, found, tail = text.partition("CO2")
    while found:
        runs += [Run(head + "CO", colour, bold), Run("2", colour, bold, SUBSCRIPT_SCALE, SUBSCRIPT_DROP)]
        head, found, tail = tail.partition("CO2")
    return [*runs, Run(head, colour, bold)] if head else runs


OPENING, CLOSING = "（《「『【(", "，。、；：！？）》」』】,.;:!?)"


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def _may_break(before: str, after: str) -> bool:
    """Between two characters: after a space, hyphen or slash and around CJK characters, never before a space or
    closing punctuation nor after opening punctuation (the line-breaking rules of GB/T 15834 punctuation)."""
    if after in CLOSING or after == " " or before in OPENING:
        return False
    return before in " -/" or _is_cjk(before) or _is_cjk(after)


Piece = tuple[Run, str]  # a run and the part of its text in a word
Word = list[Piece]


def _words(runs: list[Run]) -> list[Word]:
    """The paragraph cut at its break opportunities."""
    words: list[Word] = [[]]
    before = ""
    for run in runs:
        for ch in run.text:
            if words[-1] and _may_break(before, ch):
                words.append([])
            _append(words[-1], run, ch)
            before = ch
    return [word for word in words if word]


def _append(word: Word, run: Run, ch: str) -> None:
    if word and word[-1][0] is run:
        word[-1] = (run, word[-1][1] + ch)
    else:
        word.append((run, ch))


def _width(font: Path, word: Word, size: float, trailing: bool = True) -> float:
    total = sum(text_width(font, text, size * run.scale) for run, text in word)
    if not trailing and word and word[-1][1].endswith(" "):
        run = word[-1][0]
        total -= text_width(font, " ", size * run.scale) * (len(word[-1][1]) - len(word[-1][1].rstrip(" ")))
    return total


def _letters(word: Word) -> list[Word]:
    return [[(run, ch)] for run, text in word for ch in text]


def wrap(font: Path, runs: list[Run], size: float, width: float | Callable[[int], float], max_lines: int) -> list[Word]:
    """Lines of a paragraph, greedy; width is the same for every line or a function of the line's index; a word wider
    than a whole line is cut between letters; past max_lines the last line ends in an ellipsis."""
    width_of = width if callable(width) else (lambda _index: width)
    lines: list[Word] = [[]]

    def fits(part: Word) -> bool:
        return _width(font, lines[-1] + part, size, trailing=False) <= width_of(len(lines) - 1)

    for word in _words(runs):
        if lines[-1] and not fits(word):
            lines.append([])
        for part in [word] if fits(word) else _letters(word):
            if lines[-1] and not fits(part):
                lines.append([])
            lines[-1] = _merge(lines[-1] + part)
    if len(lines) > max_lines:
        last = _with_ellipsis(font, lines[max_lines - 1], size, width_of(max_lines - 1))
        lines = [*lines[: max_lines - 1], last]
    return lines


def _merge(line: Word) -> Word:
    merged: Word = []
    for run, text in line:
        for ch in text:
            _append(merged, run, ch)
    return merged


def _with_ellipsis(font: Path, line: Word, size: float, width: float) -> Word:
    letters: Word = [(run, ch) for run, text in line for ch in text]
    last = letters[-1][0] if letters else Run("")
    mark = (last if last.scale == 1 else Run("…", last.colour, last.bold), "…")
    while letters and _width(font, _merge([*letters, mark]), size) > width:
        letters.pop()
    space = max((i for i, (_run, ch) in enumerate(letters) if ch == " "), default=0)
    if space > len(letters) * 2 / 3:  # end on a whole word when that costs less than a third of the line
        letters = letters[:space]
    while letters and letters[-1][1] == " ":
        letters.pop()
    return _merge([*letters, mark])


@dataclass(frozen=True)
class Paragraph:
    """Wrapped text placed in a column: the drawing operations and the height they take."""

    ops: list[Text]
    height: float
    lines: int = 1


def paragraph(
    font: Path,
    runs: list[Run],
    x: float,
    top: float,
    width: float | Callable[[float], float],
    size: float,
    max_lines: int = 1,
    leading: float = 1.25,
    align: str = "left",
) -> Paragraph:
    """The runs wrapped at x, the first line's ink starting at top; width is fixed or a function of a line's top
    (text flowing around the QR code); align is left, centre or right."""

    def line_top(index: int) -> float:
        return top + index * leading * size

    width_at = width if callable(width) else (lambda _top: width)
    ops: list[Text] = []
    lines = wrap(font, runs, size, lambda index: width_at(line_top(index)), max_lines)
    for index, line in enumerate(lines):
        baseline = line_top(index) + ASCENT * size
        line = _strip_trailing_space(line)
        room = width_at(line_top(index)) - _width(font, line, size)
        x_run = x + {"left": 0.0, "centre": room / 2, "right": room}[align]
        for run, text in line:
            run_size = size * run.scale
            advance = text_width(font, text, run_size)
            ascent, descent = ink_extent(font, text, run_size, run.bold)
            ops.append(
                Text(
                    round(x_run, 3),
                    round(baseline + run.drop * size, 3),
                    round(run_size, 3),
                    text,
                    run.colour,
                    run.bold,
                    round(advance, 3),
                    round(ascent, 3),
                    round(descent, 3),
                )
            )
            x_run += advance
    bottom = max([op.box[3] for op in ops] + [line_top(len(lines) - 1) + (ASCENT + DESCENT) * size])
    return Paragraph(ops, bottom - top, len(lines))


def _strip_trailing_space(line: Word) -> Word:
    if line and line[-1][1].endswith(" "):
        run, text = line[-1]
        return line[:-1] + ([(run, text.rstrip(" "))] if text.rstrip(" ") else [])
    return line


# --- the layout -----------------------------------------------------------------------------------------------------


def layout(view: LabelView, size: str = DEFAULT_SIZE, font: Path | None = None) -> Layout:
    """Drawing operations and the QR square, all in mm from the label's top left corner.

    A green band names the label. Below it the footprint figure leads (the largest text), beside the scheme mark
    when there is one, with its unit, declared unit and system boundary; the QR code stands on the right with its
    call to action; the details flow under the figure and around the code; the label number and validity close the
    label in its footer, where a verifier looks for them."""
    spec = LABEL_SIZES[size]
    font = font or find_font()
    # the code's quiet zone is part of its square and already keeps text away; the square's dark part is aligned
    # with the label's margins and the top of the figure
    modules = matrix(view.qr_content)
    quiet = spec.qr * QUIET_MODULES / len(modules)
    qr = Square(spec.width - spec.margin + quiet - spec.qr, spec.header, spec.qr)
    top = spec.header + max(quiet, spec.margin * 0.6)
    column = qr.x - spec.margin * 0.3 - spec.margin
    call = _call_to_action(spec, font, qr, quiet)
    code_bottom = qr.y + qr.side + call.height + spec.margin * 0.3

    def width_at(line_top: float) -> float:
        return column if line_top < code_bottom else spec.width - 2 * spec.margin

    footer, footer_top = _footer(view, spec, font)
    headline, headline_bottom = _headline(view, spec, font, top, column)
    details = _details(view, spec, font, headline_bottom + spec.margin * 0.6, footer_top - spec.margin * 0.5, width_at)
    ops: list[Box | Frame | Picture | Text] = [Box(0, 0, spec.width, spec.height, WHITE), *_header(spec, font)]
    ops += headline + call.ops + details + footer
    ops.append(Frame(0, 0, spec.width, spec.height, GREEN, spec.margin * 0.1))
    return Layout(spec, ops, qr, modules)


def _header(spec: LabelSize, font: Path) -> list[Box | Text]:
    title = paragraph(
        font,
        [Run("碳足迹标签", WHITE, True), Run("  Carbon Footprint Label", WHITE, True)],
        spec.margin,
        0,
        spec.width - 2 * spec.margin,
        spec.title,
    )
    offset = (spec.header - title.height) / 2
    return [Box(0, 0, spec.width, spec.header, GREEN), *_shifted(title.ops, offset)]


def _shifted(ops: list[Text], dy: float) -> list[Text]:
    return [replace(op, y=round(op.y + dy, 3)) for op in ops]


def _call_to_action(spec: LabelSize, font: Path, qr: Square, quiet: float) -> Paragraph:
    """ "Scan to verify" under the code, centred on its dark part (the square's sides reach into the margins); its
    height counts from the square's bottom edge."""
    offset = spec.body * 0.1
    call = _bilingual(
        font,
        "扫码验证",
        "Scan to verify",
        qr.x + quiet,
        qr.y + qr.side + offset,
        qr.side - 2 * quiet,
        spec.body,
        GREEN,
        "centre",
    )
    return Paragraph(call.ops, offset + call.height, call.lines)


def _bilingual(
    font: Path,
    chinese: str,
    english: str,
    x: float,
    top: float,
    width: float,
    size: float,
    colour: str,
    align: str,
    bold: bool = True,
) -> Paragraph:
    """Chinese and English on one line when they fit, else each language on its own line(s)."""
    parts = [part for part in (chinese, english) if part]
    together = [Run(" ".join(parts), colour, bold)]
    if len(parts) == 1 or len(wrap(font, together, size, width, 2)) == 1:
        return paragraph(font, together, x, top, width, size, max_lines=2, align=align)
    first = paragraph(font, [Run(chinese, colour, bold)], x, top, width, size, max_lines=2, align=align)
    second = paragraph(
        font, [Run(english, colour, bold)], x, top + first.lines * 1.25 * size, width, size, max_lines=2, align=align
    )
    return Paragraph(first.ops + second.ops, first.lines * 1.25 * size + second.height, first.lines + second.lines)


def _headline(view: LabelView, spec: LabelSize, font: Path, top: float, column: float) -> tuple[list, float]:
    """The scheme mark, when the scheme has one; beside it (or from the margin) the footprint figure, its unit per
    declared unit and the system boundary. Returns the operations and where they end."""
    mark = _scheme_mark(view, spec, spec.margin, top)
    x = spec.margin + (spec.mark + spec.margin * 0.8 if mark else 0.0)
    width = spec.margin + column - x
    value_size = min(spec.value, spec.value * width / text_width(font, view.value, spec.value))
    # the figure's digits start level with the top of the mark
    value = paragraph(
        font, [Run(view.value, GREEN, True)], x, top - (ASCENT - FIGURE_EM) * value_size, width, value_size
    )
    unit_top = top + (FIGURE_EM + 0.2) * value_size  # clear of the thousands separator's tail
    unit = paragraph(
        font, chemistry(f"{view.unit} / {view.declared_unit}", INK, True), x, unit_top, width, spec.unit, max_lines=2
    )
    per_top = unit_top + unit.height + 0.15 * spec.caption
    per_unit = _bilingual(
        font, "每声明单位", "per declared unit", x, per_top, width, spec.caption, GREY, "left", bold=False
    )
    boundary = _boundary(view, spec, font, x, per_top + per_unit.height + 0.45 * spec.caption, width)
    ops = mark + value.ops + unit.ops + per_unit.ops + boundary.ops
    end = per_top + per_unit.height + 0.45 * spec.caption + boundary.height
    return ops, max(top + spec.mark, end) if mark else end


def _scheme_mark(view: LabelView, spec: LabelSize, x: float, top: float) -> list[Picture]:
    """The certification scheme's mark as the scheme supplies it, or nothing: an empty box reserved for a mark
    reads as a missing mark, and a mark the renderer made up from a body's name would look like a certification
    mark that no scheme registered (in China the marks of certification schemes are registered with the CNCA);
    the body is named in the details either way."""
    return [Picture(x, top, spec.mark, spec.mark, view.scheme_mark)] if view.scheme_mark else []


def _boundary(view: LabelView, spec: LabelSize, font: Path, x: float, top: float, width: float) -> Paragraph:
    """The system boundary in plain words on a pale tag: what the figure covers matters as much as the figure."""
    chinese, english = BOUNDARY_WORDS.get(view.boundary, ("", view.boundary))
    size, pad = spec.caption, spec.caption * 0.4
    text = _bilingual(font, chinese, english, x + pad, top + pad, width - 2 * pad, size, GREEN, "left")
    used = max(op.x + op.width for op in text.ops) - x + pad
    tag = Box(x, top, round(used, 3), round(text.height + 2 * pad, 3), PALE_GREEN)
    return Paragraph([tag, *text.ops], tag.height, text.lines)  # type: ignore[list-item]


def _details(
    view: LabelView, spec: LabelSize, font: Path, top: float, bottom: float, width_at: Callable[[float], float]
) -> list[Text]:
    """Product, manufacturer, PCR, standard and issuer, each wrapped; when they need more room than the label has,
    rows give up lines from the bottom up (the product, named first, keeps its lines longest) and end in an
    ellipsis."""
    rows = [
        ("产品 Product", view.product),
        ("生产者 Manufacturer", view.manufacturer),
        ("核算规则 PCR", view.pcr),
        ("标准 Standard", view.standard),
        ("认证机构 Certified by", view.issuer),
    ]
    limits = [spec.row_lines] * len(rows)
    while True:
        placed, end = _rows(font, rows, spec, limits, top, width_at)
        if end <= bottom or all(row.lines == 1 for row in placed):
            return [op for row in placed for op in row.ops]
        last = max(i for i, row in enumerate(placed) if row.lines > 1)
        limits[last] = placed[last].lines - 1


def _rows(
    font: Path,
    rows: list[tuple[str, str]],
    spec: LabelSize,
    limits: list[int],
    top: float,
    width_at: Callable[[float], float],
) -> tuple[list[Paragraph], float]:
    """The rows placed from top down, each caption (grey) followed by its value; and where the last one ends."""
    placed, gap = [], spec.body * 0.3
    for (caption, value), limit in zip(rows, limits, strict=False):
        row = paragraph(
            font,
            [Run(f"{caption}  ", GREY), Run(value)],
            spec.margin,
            top,
            width_at,
            spec.body,
            max_lines=limit,
            leading=1.2,
        )
        placed.append(row)
        top += row.height + gap
    return placed, top - gap


def _footer(view: LabelView, spec: LabelSize, font: Path) -> tuple[list, float]:
    """Label number (left) and validity (right) on a pale band along the bottom; two lines if they do not share one."""
    number = [Run("No. ", GREY), Run(view.number, INK, True)]
    valid = [Run("有效期 Valid  ", GREY), Run(f"{view.issued.isoformat()} – {view.expires.isoformat()}", INK)]
    width = spec.width - 2 * spec.margin
    em = _width(font, [(r, r.text) for r in number + valid], 1.0) + 2  # both, two ems apart
    size = max(spec.caption, min(spec.body, width / em))
    pad = size * 0.45
    one_line = em * size <= width
    second = 0.0 if one_line else 1.25 * size
    height = (ASCENT + DESCENT) * size + 2 * pad + second
    top = spec.height - height
    left = paragraph(font, number, spec.margin, top + pad, width, size)
    right = paragraph(font, valid, spec.margin, top + pad + second, width, size, align="right" if one_line else "left")
    return [Box(0, top, spec.width, height, PALE_GREEN), *left.ops, *right.ops], top


# --- the back-ends --------------------------------------------------------------------------------------------------


def _dark_runs(modules: list[list[bool]]) -> list[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules: fewer shapes to draw."""
    runs = []
    for row, line in enumerate(modules):
        column = 0
        while column < len(line):
            start = column
            while column < len(line) and line[column]:
                column += 1
            if column > start:
                runs.append((row, start, column - start))
            column += 1
    return runs


def module_mm(view: LabelView, size: str = DEFAULT_SIZE) -> float:
    """Width of one module of the label's QR code as drawn in the vector formats."""
    return LABEL_SIZES[size].qr / len(matrix(view.qr_content))


def render_svg(view: LabelView, size: str = DEFAULT_SIZE, font: Path | None = None) -> bytes:
    plan = layout(view, size, font)
    spec, qr = plan.size, plan.qr
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{spec.width}mm" height="{spec.height}mm" '
        f'viewBox="0 0 {spec.width} {spec.height}" font-family="{SVG_FONTS}">',
        f"<title>{escape(view.number)}: {escape(view.value)} {escape(view.unit)} / "
        f"{escape(view.declared_unit)}</title>",
    ]
    parts += [_svg_op(op) for op in plan.ops]
    modules = plan.modules
    step = qr.side / len(modules)
    commands = "".join(
        f"M{qr.x + start * step:.3f} {qr.y + row * step:.3f}h{length * step:.3f}v{step:.3f}h{-length * step:.3f}z"
        for row, start, length in _dark_runs(modules)
    )
    parts.append(f'<path fill="#000" shape-rendering="crispEdges" d="{commands}"/>')
    parts.append("</svg>")
    return "\n".join(parts).encode("utf-8")


def _svg_op(op: Box | Frame | Picture | Text) -> str:
    if isinstance(op, Box):
        return (
            f'<rect x="{op.x:.3f}" y="{op.y:.3f}" width="{op.width:.3f}" height="{op.height:.3f}" fill="{op.colour}"/>'
        )
    if isinstance(op, Frame):
        half = op.line / 2
        return (
            f'<rect x="{op.x + half:.3f}" y="{op.y + half:.3f}" width="{op.width - op.line:.3f}" '
            f'height="{op.height - op.line:.3f}" fill="none" stroke="{op.colour}" stroke-width="{op.line:.3f}"/>'
        )
    if isinstance(op, Picture):
        href = f"data:{_mime(op.data)};base64,{base64.b64encode(op.data).decode('ascii')}"
        return (
            f'<image x="{op.x:.3f}" y="{op.y:.3f}" width="{op.width:.3f}" height="{op.height:.3f}" '
            f'preserveAspectRatio="xMidYMid meet" href={quoteattr(href)}/>'
        )
    bold = (
        f' stroke="{op.colour}" stroke-width="{BOLD_STROKE_EM * op.size:.3f}" stroke-linejoin="round"'
        if op.bold
        else ""
    )
    # textLength holds each run to the width it was laid out with, whichever fallback font a viewer substitutes
    return (
        f'<text x="{op.x:.3f}" y="{op.y:.3f}" font-size="{op.size:.3f}" fill="{op.colour}"{bold} '
        f'textLength="{op.width:.3f}" xml:space="preserve">{escape(op.text)}</text>'
    )


def _mime(data: bytes) -> str:
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


def qr_pixels(modules: int, side_mm: float, dpi: int) -> int:
    """Whole pixels per module in a raster: every module the same width keeps the code sharp; rounding down keeps
    the symbol, quiet zone included, inside the square the layout reserved (it is centred on it). qr20 at 300 dpi:
    236.2 px / 45 modules = 5.25, so 5 px = 0.423 mm."""
    return max(1, int(side_mm * dpi / 25.4 / modules))


def render_png(view: LabelView, font: Path, size: str = DEFAULT_SIZE, dpi: int = 300) -> bytes:
    from PIL import Image, ImageDraw

    plan = layout(view, size, font)
    scale = dpi / 25.4  # px per mm
    image = Image.new("RGB", (round(plan.size.width * scale), round(plan.size.height * scale)), WHITE)
    draw = ImageDraw.Draw(image)
    for op in plan.ops:
        _png_op(image, draw, op, font, scale)
    _png_qr(draw, plan.modules, plan.qr, dpi)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))  # optimize=True: 4x the time for 2 % less
    return out.getvalue()


def _png_op(image, draw, op: Box | Frame | Picture | Text, font: Path, scale: float) -> None:
    from PIL import Image

    if isinstance(op, Text):
        stroke = BOLD_STROKE_EM * op.size * scale / 2 if op.bold else 0
        draw.text(
            (op.x * scale, op.y * scale),
            op.text,
            font=_pixel_face(font, op.size * scale),
            fill=op.colour,
            anchor="ls",
            stroke_width=stroke,
            stroke_fill=op.colour,
        )
        return
    box = [
        round(op.x * scale),
        round(op.y * scale),
        round((op.x + op.width) * scale) - 1,
        round((op.y + op.height) * scale) - 1,
    ]
    if isinstance(op, Box):
        draw.rectangle(box, fill=op.colour)
    elif isinstance(op, Frame):
        draw.rectangle(box, outline=op.colour, width=max(1, round(op.line * scale)))
    else:
        mark = Image.open(io.BytesIO(op.data)).convert("RGBA")
        mark.thumbnail((box[2] - box[0] + 1, box[3] - box[1] + 1), Image.Resampling.LANCZOS)
        image.paste(
            mark,
            (box[0] + (box[2] - box[0] + 1 - mark.width) // 2, box[1] + (box[3] - box[1] + 1 - mark.height) // 2),
            mark,
        )


@lru_cache(maxsize=64)
def _pixel_face(font: Path, pixels: float):
    from PIL import ImageFont

    return ImageFont.truetype(str(font), pixels, index=0)


def _png_qr(draw, modules: list[list[bool]], qr: Square, dpi: int) -> None:
    scale = dpi / 25.4
    pixels = qr_pixels(len(modules), qr.side, dpi)
    drawn = pixels * len(modules)
    x0 = round(qr.x * scale + (qr.side * scale - drawn) / 2)
    y0 = round(qr.y * scale + (qr.side * scale - drawn) / 2)
    for row, start, length in _dark_runs(modules):
        draw.rectangle(
            [x0 + start * pixels, y0 + row * pixels, x0 + (start + length) * pixels - 1, y0 + (row + 1) * pixels - 1],
            fill="#000000",
        )


def render_pdf(view: LabelView, font: Path, size: str = DEFAULT_SIZE) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    plan = layout(view, size, font)
    out = io.BytesIO()
    with REPORTLAB:
        canvas = Canvas(out, pagesize=(plan.size.width * mm, plan.size.height * mm), invariant=1)
        canvas.setTitle(f"Carbon label {view.number}")
        canvas.setAuthor(view.issuer)
        face = _pdf_font(font)
        for op in plan.ops:
            _pdf_op(canvas, op, face, plan.size.height)
        _pdf_qr(canvas, plan.modules, plan.qr, plan.size.height)
        canvas.showPage()
        canvas.save()
    return out.getvalue()


def _pdf_font(font: Path) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = f"LabelCJK-{font.stem}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(font), subfontIndex=0))
    return name


def _pdf_op(canvas, op: Box | Frame | Picture | Text, face: str, height: float) -> None:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader

    def up(y_mm: float) -> float:  # PDF's origin is the bottom left corner
        return (height - y_mm) * mm

    if isinstance(op, Text):
        canvas.saveState()  # the text render mode is graphics state: it must not leak into the next text
        text = canvas.beginText(op.x * mm, up(op.y))
        text.setFont(face, op.size * mm)
        text.setFillColor(HexColor(op.colour))
        if op.bold:
            canvas.setStrokeColor(HexColor(op.colour))
            canvas.setLineWidth(BOLD_STROKE_EM * op.size * mm)
            text.setTextRenderMode(2)  # fill, then stroke: the bold of the other formats
        text.textOut(op.text)
        canvas.drawText(text)
        canvas.restoreState()
    elif isinstance(op, Box):
        canvas.setFillColor(HexColor(op.colour))
        canvas.rect(op.x * mm, up(op.y + op.height), op.width * mm, op.height * mm, stroke=0, fill=1)
    elif isinstance(op, Frame):
        canvas.setStrokeColor(HexColor(op.colour))
        canvas.setLineWidth(op.line * mm)
        half = op.line / 2
        canvas.rect(
            (op.x + half) * mm,
            up(op.y + op.height - half),
            (op.width - op.line) * mm,
            (op.height - op.line) * mm,
            stroke=1,
            fill=0,
        )
    else:
        canvas.drawImage(
            ImageReader(io.BytesIO(op.data)),
            op.x * mm,
            up(op.y + op.height),
            op.width * mm,
            op.height * mm,
            preserveAspectRatio=True,
            anchor="c",
            mask="auto",
        )


def _pdf_qr(canvas, modules: list[list[bool]], qr: Square, height: float) -> None:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.units import mm

    step = qr.side / len(modules)
    canvas.setFillColor(HexColor("#000000"))
    for row, start, length in _dark_runs(modules):
        canvas.rect(
            (qr.x + start * step) * mm,
            (height - qr.y - (row + 1) * step) * mm,
            length * step * mm,
            step * mm,
            stroke=0,
            fill=1,
        )


def render_all(view: LabelView, font: Path) -> dict[str, bytes]:
    """Every size in every format, keyed "{size}.{format}" (e.g. "qr20.png"): what an issued label stores."""
    renderers = {
        "svg": lambda size: render_svg(view, size, font),
        "png": lambda size: render_png(view, font, size),
        "pdf": lambda size: render_pdf(view, font, size),
    }
    return {f"{size}.{fmt}": renderers[fmt](size) for size in SIZES for fmt in FORMATS}
