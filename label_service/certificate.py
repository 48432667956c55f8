"""The certificate document of a label: an A4 PDF that the manufacturer keeps and shows, bilingual.

It carries what the pack cannot: the label's facts in full, the on-pack code (a short URL, for the status online),
the compact offline code (`label_service.compact`) and the full signed statement (the JWS), printed as text and as
a QR code of its own, so the statement can be checked years later without the service.

Every string that comes from a user (product, manufacturer, issuer names) is escaped before it enters reportlab's
Paragraph markup, which would otherwise read `<`, `>` and `&` as tags and entities.
"""

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import qrcode
from qrcode.constants import ERROR_CORRECT_L, ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Paragraph,
    Preformatted,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from label_service.pdf import REPORTLAB
from label_service.qr import dark_runs, matrix, parse_verification_url
from label_service.render import gtin_shown, label_figure
from label_service.signing import SignedStatement

GREEN, INK, GREY, RULE = HexColor("#1b6b3a"), HexColor("#111111"), HexColor("#555555"), HexColor("#c8d3cc")
MARGIN_MM = 16.0
CONTENT_MM = 210.0 - 2 * MARGIN_MM
MIN_MODULE_MM = 0.4  # GS1: about 0.4 mm or more a module for phones; a printer keeps it at 300 dpi (4.7 dots)
CODE_BOX_MM = 38.0  # the two small codes side by side
JWS_CHARS_PER_LINE = 116  # Courier at 7 pt: 0.6 em = 1.48 mm a character, 116 characters = 172 mm


class QRCode(Flowable):
    """A QR code drawn as vector rectangles, at least MIN_MODULE_MM a module, quiet zone included."""

    def __init__(self, modules: list[list[bool]], box_mm: float):
        super().__init__()
        self.modules = modules
        self.size = max(box_mm, len(self.modules) * MIN_MODULE_MM) * mm

    def wrap(self, available_width, available_height):
        return self.size, self.size

    def draw(self):
        step = self.size / len(self.modules)
        self.canv.setFillColor(HexColor("#000000"))
        for row, start, length in dark_runs(self.modules):
            self.canv.rect(start * step, self.size - (row + 1) * step, length * step, step, stroke=0, fill=1)


def _font(font: Path) -> str:
    name = f"LabelCJK-{font.stem}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(font), subfontIndex=0))
    return name


def _styles(font_name: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font_name, fontSize=9.5, leading=13, textColor=INK)
    return {
        "title": ParagraphStyle("title", base, fontSize=20, leading=26, textColor=GREEN),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=12, leading=16, textColor=GREEN),
        "number": ParagraphStyle("number", base, fontSize=13, leading=18),
        "caption": ParagraphStyle("caption", base, fontSize=8, leading=10.5, textColor=GREY),
        "value": base,
        "headline": ParagraphStyle("headline", base, fontSize=16, leading=21, textColor=GREEN),
        "heading": ParagraphStyle(
            "heading", base, fontSize=11, leading=15, textColor=GREEN, spaceBefore=8, spaceAfter=4, keepWithNext=1
        ),
        "mono": ParagraphStyle("mono", fontName="Courier", fontSize=7, leading=8.6, textColor=INK),
    }


def _text(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _facts(claim: dict[str, Any], key_id: str) -> list[tuple[str, str]]:
    """(caption, value) rows: what the label states, as signed."""
    product = claim["product"]
    name = f"{product['name']} ({product['model']})" if product.get("model") else product["name"]
    if product.get("gtin"):
        name += f" · GTIN {gtin_shown(product['gtin'])}"
    footprint = claim["footprint"]
    return [
        ("产品 Product", name),
        ("生产者 Manufacturer", claim["manufacturer"]),
        (
            "碳足迹 Carbon footprint",
            f"{label_figure(footprint['value'])} {footprint['unit']} 每 per {footprint['declared_unit']}",
        ),
        ("产品种类规则 PCR", f"{claim['pcr']['id']} {claim['pcr']['version']}"),
        ("标准 Standard", claim["standard"]),
        ("认证机构 Issuer", claim["issuer"]["name"]),
        ("有效期 Validity", f"{claim['issued']} – {claim['expires']}"),
        ("排放因子集 Factor set", claim["factor_set"]),
        ("签名密钥 Signing key", f"Ed25519, key id {key_id}"),
    ]


def _facts_table(rows: list[tuple[str, str]], styles: dict[str, ParagraphStyle]) -> Table:
    cells = [[_text(caption, styles["caption"]), _text(value, styles["value"])] for caption, value in rows]
    cells[2][1] = _text(rows[2][1], styles["headline"])
    table = Table(cells, colWidths=[46 * mm, (CONTENT_MM - 46) * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _code_with_caption(
    content: str, caption: str, detail: str, styles: dict[str, ParagraphStyle], error_correction: str | None = None
) -> list:
    return [
        QRCode(matrix(content, error_correction), CODE_BOX_MM),
        Spacer(1, 2 * mm),
        _text(caption, styles["value"]),
        _text(detail, styles["caption"]),
    ]


def _codes_table(qr_content: str, compact: str, styles: dict[str, ParagraphStyle]) -> Table:
    online = _code_with_caption(qr_content, "扫码在线查询状态 · scan to check status online", qr_content, styles)
    offline = _code_with_caption(
        compact,
        "离线核验 · offline check (signed, CBOR/COSE)",
        "紧凑签名码：用公布的公钥离线核验 · the compact signed code, checked with the published keys without the "
        "service",
        styles,
        "M",
    )
    table = Table([[online, offline]], colWidths=[CONTENT_MM / 2 * mm] * 2)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8 * mm),
            ]
        )
    )
    return table


def statement_code(token: str) -> QRCode | None:
    """The JWS as a QR code of its own (byte mode): error correction M if it fits version 40, else L; None if not
    even that (a statement with every name at its longest), when the printed text and the service still hold it."""
    for level in (ERROR_CORRECT_M, ERROR_CORRECT_L):
        symbol = qrcode.QRCode(error_correction=level, border=4)
        symbol.add_data(token)
        try:
            symbol.make(fit=True)
        except (ValueError, DataOverflowError):  # qrcode says "version 41" for data beyond version 40
            continue
        return QRCode(symbol.get_matrix(), 0)
    return None


def _statement(token: str, how_to_check: str, styles: dict[str, ParagraphStyle]) -> list:
    """The JWS as a QR code beside how to check it, then as wrapped monospace text (which may run on to a next
    page; a table row could not)."""
    code = statement_code(token)
    about = [_text(how_to_check, styles["caption"])]
    if code is None:
        about.insert(
            0,
            _text(
                "签名声明过长，无法放入一个二维码 · the statement is too long for one QR code: its text "
                "follows, and the service holds it",
                styles["value"],
            ),
        )
    row = Table([[code or "", about]], colWidths=[code.size if code else 1, None])
    row.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("LEFTPADDING", (1, 0), (1, 0), 6 * mm),
            ]
        )
    )
    lines = [token[i : i + JWS_CHARS_PER_LINE] for i in range(0, len(token), JWS_CHARS_PER_LINE)]
    return [row, Spacer(1, 3 * mm), Preformatted("\n".join(lines), styles["mono"])]


def _header_band(canvas, document) -> None:
    canvas.saveState()
    canvas.setFillColor(GREEN)
    canvas.rect(0, A4[1] - 8 * mm, A4[0], 8 * mm, stroke=0, fill=1)
    canvas.restoreState()


def _how_to_check(qr_content: str) -> str:
    keys = f"{parse_verification_url(qr_content)[0]}/.well-known/pcf-label-keys.json"
    return (
        f"此二维码含完整签名声明，可用认证机构公布的公钥离线核验 · this code holds the whole signed statement; "
        f"check it, or a photo of this page, without the service: pcf verify <photo or text> --keys "
        f"pcf-label-keys.json, the issuer's public keys as published at {keys}"
    )


def render_certificate(statement: SignedStatement, qr_content: str, compact: str, font: Path) -> bytes:
    """The certificate of one issued label (reproducible bytes: no creation date or random ids in the file)."""
    styles = _styles(_font(font))
    claim = statement.claim
    story = [
        _text("碳足迹标签证书", styles["title"]),
        _text("Carbon Footprint Label Certificate", styles["subtitle"]),
        Spacer(1, 3 * mm),
        _text(f"标签编号 Label number  {claim['number']}", styles["number"]),
        Spacer(1, 2 * mm),
        _facts_table(_facts(claim, statement.key_id), styles),
        Spacer(1, 6 * mm),
        _codes_table(qr_content, compact, styles),
        _text("签名声明 Signed statement (JWS, EdDSA / Ed25519, RFC 7515 / RFC 8037)", styles["heading"]),
        *_statement(statement.token, _how_to_check(qr_content), styles),
    ]
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN_MM * mm,
        rightMargin=MARGIN_MM * mm,
        topMargin=14 * mm,
        bottomMargin=12 * mm,
        title=f"Carbon Footprint Label Certificate {claim['number']}",
        author=claim["issuer"]["name"],
        subject=claim["product"]["name"],
        invariant=1,
    )
    with REPORTLAB:
        document.build(story, onFirstPage=_header_band, onLaterPages=_header_band)
    return out.getvalue()
