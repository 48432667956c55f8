"""Renderings of a carbon label: SVG (for the web), PNG (300 dpi, for print) and PDF (vector), bilingual.

One layout in millimetres (`layout`) is drawn by three small back-ends, so the formats cannot drift apart. The CJK
font is WenQuanYi Micro Hei (Debian `fonts-wqy-microhei`, installed by `make`); PCF_LABEL_FONT names another.
"""

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from label_service.qr import dark_runs, matrix, svg_path

WIDTH_MM, HEIGHT_MM = 100.0, 62.0
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
SVG_FONTS = "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"
GREEN, INK, GREY = "#1b6b3a", "#111111", "#555555"


class FontMissing(RuntimeError):
    pass


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


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline, mm from the top
    size: float  # mm
    text: str
    colour: str = INK
    bold: bool = False


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    colour: str


def _fit(text: str, size_mm: float, width_mm: float) -> str:
    """Shortens text to about width_mm (CJK characters count as one em, others as 0.55 em)."""
    used, out = 0.0, ""
    for ch in text:
        used += size_mm * (1.0 if ord(ch) > 0x2E80 else 0.55)
        if used > width_mm:
            return out.rstrip() + "…"
        out += ch
    return out


def layout(view: LabelView) -> tuple[list[Box | Text], tuple[float, float, float]]:
    """Drawing operations and the QR square (x, y, size), all in mm."""
    text_width = 56.0
    ops: list[Box | Text] = [
        Box(0, 0, WIDTH_MM, HEIGHT_MM, "#ffffff"),
        Box(0, 0, WIDTH_MM, 9.5, GREEN),
        Text(3, 6.4, 4.0, "碳足迹标签  Carbon Footprint Label", "#ffffff", bold=True),
        Text(3, 21, 10.0, _fit(view.value, 10.0, 40), GREEN, bold=True),
        Text(3, 27, 3.6, _fit(f"{view.unit} / {view.declared_unit}", 3.6, text_width), INK),
        Text(3, 30.5, 2.2, _fit(f"每声明单位 per declared unit · {view.standard}", 2.2, text_width), GREY),
    ]
    rows = [
        ("产品 Product", view.product),
        ("生产者 Manufacturer", view.manufacturer),
        ("核算规则 PCR", view.pcr),
        ("认证机构 Certified by", view.issuer),
        ("有效期 Valid", f"{view.issued.isoformat()} – {view.expires.isoformat()}"),
    ]
    y = 35.0
    for caption, value in rows:
        ops.append(Text(3, y, 2.2, caption, GREY))
        ops.append(Text(3, y + 3.0, 2.8, _fit(value, 2.8, text_width), INK))
        y += 5.5
    ops.append(Text(62, 58.5, 2.6, f"No. {view.number}", INK, bold=True))
    ops.append(Text(62, 13.0, 2.2, "扫码验证 Scan to verify", GREY))
    return ops, (60.0, 14.0, 38.0)


def find_font(explicit: Path | None = None) -> Path:
    for candidate in ([explicit] if explicit else []) + list(FONT_CANDIDATES):
        if candidate and candidate.exists():
            return candidate
    raise FontMissing("no CJK font found: install Debian's fonts-wqy-microhei (make install-system) "
                      "or set PCF_LABEL_FONT")


def render_svg(view: LabelView) -> bytes:
    ops, (qx, qy, qsize) = layout(view)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM}mm" height="{HEIGHT_MM}mm" '
             f'viewBox="0 0 {WIDTH_MM} {HEIGHT_MM}" font-family="{SVG_FONTS}">',
             f"<title>{escape(view.number)}: {escape(view.value)} {escape(view.unit)} / "
             f"{escape(view.declared_unit)}</title>"]
    for op in ops:
        if isinstance(op, Box):
            parts.append(f'<rect x="{op.x}" y="{op.y}" width="{op.width}" height="{op.height}" fill="{op.colour}"/>')
        else:
            weight = ' font-weight="bold"' if op.bold else ""
            parts.append(f'<text x="{op.x}" y="{op.y}" font-size="{op.size}" fill="{op.colour}"{weight}>'
                         f"{escape(op.text)}</text>")
    parts.append(svg_path(matrix(view.qr_content), qx, qy, qsize))
    parts.append("</svg>")
    return "\n".join(parts).encode("utf-8")


def render_png(view: LabelView, font: Path, dpi: int = 300) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    scale = dpi / 25.4  # px per mm
    image = Image.new("RGB", (round(WIDTH_MM * scale), round(HEIGHT_MM * scale)), "#ffffff")
    draw = ImageDraw.Draw(image)
    ops, (qx, qy, qsize) = layout(view)
    for op in ops:
        if isinstance(op, Box):
            draw.rectangle([op.x * scale, op.y * scale, (op.x + op.width) * scale - 1,
                            (op.y + op.height) * scale - 1], fill=op.colour)
        else:
            face = ImageFont.truetype(str(font), max(1, round(op.size * scale)), index=0)
            draw.text((op.x * scale, op.y * scale), op.text, font=face, fill=op.colour, anchor="ls",
                      stroke_width=1 if op.bold else 0, stroke_fill=op.colour)
    modules = matrix(view.qr_content)
    pixels = max(1, int(qsize * scale / len(modules)))  # whole pixels per module keep the code sharp
    x0, y0 = round(qx * scale), round(qy * scale)
    for row, start, length in dark_runs(modules):
        draw.rectangle([x0 + start * pixels, y0 + row * pixels, x0 + (start + length) * pixels - 1,
                        y0 + (row + 1) * pixels - 1], fill="#000000")
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()


def render_pdf(view: LabelView, font: Path) -> bytes:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    name = f"LabelCJK-{font.stem}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(font), subfontIndex=0))
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(WIDTH_MM * mm, HEIGHT_MM * mm), invariant=1)
    canvas.setTitle(f"Carbon label {view.number}")
    canvas.setAuthor(view.issuer)
    ops, (qx, qy, qsize) = layout(view)

    def top(y_mm: float) -> float:
        return (HEIGHT_MM - y_mm) * mm

    for op in ops:
        if isinstance(op, Box):
            canvas.setFillColor(HexColor(op.colour))
            canvas.rect(op.x * mm, top(op.y + op.height), op.width * mm, op.height * mm, stroke=0, fill=1)
        else:
            canvas.setFillColor(HexColor(op.colour))
            canvas.setFont(name, op.size * mm * 1.0)
            canvas.drawString(op.x * mm, top(op.y), op.text)
    modules = matrix(view.qr_content)
    step = qsize / len(modules)
    canvas.setFillColor(HexColor("#000000"))
    for row, start, length in dark_runs(modules):
        canvas.rect((qx + start * step) * mm, top(qy + (row + 1) * step), length * step * mm, step * mm, stroke=0,
                    fill=1)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
