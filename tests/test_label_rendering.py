"""The label as laid out and rendered: what a reader of each size can rely on, checked on the layout's operations.

The layout is one list of drawing operations in mm that all three formats draw, so geometry is asserted there, not
on pixels; the PNG is opened only for what only a raster has (whole pixels per QR module).
"""

import io
from dataclasses import replace
from datetime import date
from itertools import combinations
from xml.etree import ElementTree

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from label_service.qr import matrix
from label_service.render import (
    FORMATS,
    LABEL_SIZES,
    MIN_MODULE_MM,
    MIN_TEXT_MM,
    SIZES,
    Frame,
    LabelView,
    Picture,
    Text,
    find_font,
    layout,
    module_mm,
    qr_pixels,
    render_all,
    render_pdf,
    render_png,
    render_svg,
)

NUMBER = "PCF-2026-000123-F"
BASE = "HTTPS://LABELS.PCF-REGISTRY.CN"  # 30 characters: a production resolver's base URL
SHORT_URL = f"{BASE}/V/{NUMBER}"
GS1_LINK = f"{BASE}/01/06901234567892?label={NUMBER}"

CEMENT = LabelView(
    number=NUMBER,
    product="Ordinary Portland cement (P.O 42.5 (GB 175))",
    manufacturer="Demo Manufacturing Group",
    value="784.8",
    unit="kg CO2e",
    declared_unit="1 t",
    pcr="PCR-CN-CEMENT 1.0.0",
    standard="GB/T 24067-2024 (ISO 14067:2018)",
    issuer="Demo Certification Body",
    issued=date(2026, 11, 24),
    expires=date(2029, 11, 23),
    qr_content=SHORT_URL,
)
LONG_NAMES = replace(
    CEMENT,
    value="11,170",
    product="高炉-转炉长流程粗钢 Crude steel, BF-BOF route (carbon steel slab Q235B, continuously cast, for hot rolling)",
    manufacturer="河北示范钢铁集团有限公司 Hebei Demonstration Iron and Steel Group Co., Ltd.",
    pcr="PCR-CN-STEEL 2.1.0 钢铁产品碳足迹核算规则 (product category rules for crude steel)",
    standard="GB/T 24067-2024 温室气体 产品碳足迹 量化要求和指南 (ISO 14067:2018 Greenhouse gases — Carbon footprint "
    "of products — Requirements and guidelines for quantification)",
    issuer="中国示范质量认证中心 China Demonstration Quality Certification Centre, Beijing branch",
    qr_content=GS1_LINK,
)


@pytest.fixture(scope="module")
def font():
    return find_font()


def boxes_overlap(a: tuple[float, ...], b: tuple[float, ...], tolerance: float = 0.01) -> bool:
    return a[0] < b[2] - tolerance and b[0] < a[2] - tolerance and a[1] < b[3] - tolerance and b[1] < a[3] - tolerance


def row_lines(texts: list[Text], caption: str, next_caption: str) -> int:
    """Lines a detail row takes: the distinct baselines from its caption up to the next row's caption."""
    start = next(i for i, op in enumerate(texts) if op.text.startswith(caption))
    end = next(i for i, op in enumerate(texts) if op.text.startswith(next_caption))
    return len({op.y for op in texts[start:end]})


def test_the_sizes_are_named_by_their_qr_code_smallest_first():
    assert SIZES == ("qr20", "qr30", "qr50")
    assert [LABEL_SIZES[size].qr for size in SIZES] == [20.0, 30.0, 50.0]


@pytest.mark.parametrize("size", SIZES)
def test_a_version_5_code_gets_modules_of_at_least_0_4_mm(size, font):
    """Version 5 is 4 x 5 + 17 = 37 modules, + 2 x 4 quiet = 45; the smallest, qr20: 20 mm / 45 = 0.444 mm >= 0.4."""
    assert LABEL_SIZES[size].qr / 45 >= MIN_MODULE_MM
    assert layout(LONG_NAMES, size, font).qr.side == LABEL_SIZES[size].qr


@pytest.mark.parametrize("content", [SHORT_URL, GS1_LINK], ids=["short-url", "gs1-digital-link"])
def test_the_on_pack_contents_fit_version_5(content):
    """The premise of the sizes: both forms on a 30-character base URL need at most 45 modules, quiet zone included."""
    assert len(matrix(content)) <= 45


@pytest.mark.parametrize("size", SIZES)
def test_the_gs1_link_is_drawn_with_modules_of_at_least_0_4_mm(size):
    assert module_mm(replace(CEMENT, qr_content=GS1_LINK), size) >= MIN_MODULE_MM


@pytest.mark.parametrize("size", SIZES)
def test_the_png_draws_every_module_with_the_same_whole_number_of_pixels_centred_in_the_qr_square(size, font):
    """qr20 at 300 dpi: 20 mm = 236.2 px for 45 modules = 5.25 px, drawn as 5 px (0.423 mm) x 45 = 225 px."""
    view = replace(CEMENT, qr_content=GS1_LINK)
    modules = len(matrix(GS1_LINK))
    pixels = qr_pixels(modules, LABEL_SIZES[size].qr, 300)
    assert pixels * 25.4 / 300 >= MIN_MODULE_MM
    image = Image.open(io.BytesIO(render_png(view, font, size))).convert("L")
    square = layout(view, size, font).qr
    scale = 300 / 25.4
    crop = image.crop(
        (
            round(square.x * scale),
            round(square.y * scale),
            round((square.x + square.side) * scale),
            round((square.y + square.side) * scale),
        )
    )
    left, top, right, bottom = crop.point(lambda v: 255 if v < 128 else 0).getbbox()
    assert right - left == bottom - top == (modules - 8) * pixels  # the dark part: modules without the quiet zone
    assert abs((left + right) / 2 - crop.width / 2) <= 1 and abs((top + bottom) / 2 - crop.height / 2) <= 1
    assert set(crop.getdata()) <= {0, 255}  # no grey: every module edge falls on a pixel edge


@pytest.mark.parametrize("size", SIZES)
def test_no_text_is_smaller_than_6_pt(size, font):
    """6 pt = 6/72 in x 25.4 mm/in = 2.117 mm; the subscript 2 of CO2e included."""
    assert pytest.approx(2.117, abs=0.001) == MIN_TEXT_MM
    assert min(op.size for op in layout(LONG_NAMES, size, font).texts) >= MIN_TEXT_MM


@pytest.mark.parametrize("size", SIZES)
def test_long_names_wrap_inside_the_label_clear_of_the_code_and_of_each_other(size, font):
    plan = layout(LONG_NAMES, size, font)
    texts, square = plan.texts, plan.qr
    assert row_lines(texts, "产品 Product", "生产者 Manufacturer") >= 2
    for op in texts:
        left, top, right, bottom = op.box
        assert left >= 0 and right <= plan.size.width and top >= 0 and bottom <= plan.size.height, op
        assert not boxes_overlap(op.box, (square.x, square.y, square.x + square.side, square.y + square.side)), op
    for a, b in combinations(texts, 2):
        assert not boxes_overlap(a.box, b.box), (a, b)


@pytest.mark.parametrize("size", SIZES)
def test_the_realistic_label_is_shown_without_an_ellipsis(size, font):
    assert not [op for op in layout(CEMENT, size, font).texts if "…" in op.text]


@pytest.mark.parametrize("size", SIZES)
def test_text_that_cannot_fit_ends_in_an_ellipsis_as_a_last_resort(size, font):
    endless = replace(CEMENT, product="Crude steel slab " * 40)
    texts = layout(endless, size, font).texts
    manufacturer = next(i for i, op in enumerate(texts) if op.text.startswith("生产者 Manufacturer"))
    assert texts[manufacturer - 1].text.endswith("…")
    assert row_lines(texts, "产品 Product", "生产者 Manufacturer") == LABEL_SIZES[size].row_lines


@pytest.mark.parametrize("size", SIZES)
def test_co2e_is_written_with_a_real_subscript_2(size, font):
    texts = layout(CEMENT, size, font).texts
    i = next(i for i, op in enumerate(texts) if op.text == "kg CO")
    co, two, e = texts[i : i + 3]
    assert two.text == "2" and two.size < co.size and two.y > co.y and two.x == pytest.approx(co.x + co.width)
    assert e.text.startswith("e") and e.y == co.y
    assert not [op for op in texts if "₂" in op.text]


@pytest.mark.parametrize("size", SIZES)
def test_the_figure_is_the_largest_text_and_keeps_its_thousands_separator(size, font):
    texts = layout(LONG_NAMES, size, font).texts
    assert max(texts, key=lambda op: op.size).text == "11,170"


@pytest.mark.parametrize("size", SIZES)
def test_the_system_boundary_is_said_in_plain_words(size, font):
    words = " ".join(op.text for op in layout(CEMENT, size, font).texts)
    assert "从摇篮到大门" in words and "Cradle-to-gate" in words


@pytest.mark.parametrize("size", SIZES)
def test_number_validity_and_call_to_action_are_kept(size, font):
    words = " ".join(op.text for op in layout(LONG_NAMES, size, font).texts)
    for expected in (NUMBER, "2026-11-24 – 2029-11-23", "扫码验证", "Scan to verify", "碳足迹标签"):
        assert expected in words


@pytest.mark.parametrize("size", SIZES)
def test_without_a_scheme_mark_no_empty_box_is_drawn_and_the_figure_starts_at_the_margin(size, font):
    """Defect 7: an empty box captioned '认证标志 Scheme mark' read as a missing mark. The only frame left is the
    label's own border; the figure's ink starts at the left margin."""
    plan = layout(CEMENT, size, font)
    assert [op for op in plan.ops if isinstance(op, Frame)] == [
        Frame(0, 0, plan.size.width, plan.size.height, "#1b6b3a", plan.size.margin * 0.1)
    ]
    assert not [op for op in plan.texts if "认证标志" in op.text or "Scheme mark" in op.text]
    figure = next(op for op in plan.texts if op.text == CEMENT.value)
    assert figure.x == pytest.approx(plan.size.margin)


@pytest.mark.parametrize("size", SIZES)
def test_the_printed_code_of_every_size_decodes_to_what_the_label_carries(size, font):
    view = replace(CEMENT, qr_content=GS1_LINK)
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(render_png(view, font, size))))
    assert [code.text for code in found] == [GS1_LINK]


def test_a_scheme_mark_image_takes_its_place_beside_the_figure(font):
    out = io.BytesIO()
    Image.new("RGB", (60, 60), "#0a5").save(out, format="PNG")
    plan = layout(replace(CEMENT, scheme_mark=out.getvalue()), "qr30", font)
    [mark] = [op for op in plan.ops if isinstance(op, Picture)]
    figure = next(op for op in plan.texts if op.text == CEMENT.value)
    assert mark.x == plan.size.margin and figure.x >= mark.x + mark.width
    assert b"data:image/png;base64," in render_svg(replace(CEMENT, scheme_mark=out.getvalue()), "qr30", font)


def test_svg_escapes_the_text_it_is_given(font):
    svg = render_svg(replace(CEMENT, product='<script>alert("x")</script> & Sons'), "qr50", font)
    assert b"<script>" not in svg and b"&lt;script&gt;" in svg and b"&amp; Sons" in svg
    ElementTree.fromstring(svg)  # well-formed


@pytest.mark.parametrize("size", SIZES)
def test_pdf_text_reads_back(size, font):
    text = PdfReader(io.BytesIO(render_pdf(LONG_NAMES, font, size))).pages[0].extract_text()
    for expected in (NUMBER, "11,170", "Cradle-to-gate", "Carbon Footprint Label", "Scan to verify", "碳足迹标签"):
        assert expected in text


def test_render_all_gives_every_size_in_every_format(font):
    files = render_all(CEMENT, font)
    assert list(files) == [f"{size}.{fmt}" for size in SIZES for fmt in FORMATS]
    assert files["qr20.svg"].startswith(b"<svg") and files["qr50.pdf"].startswith(b"%PDF")
    assert Image.open(io.BytesIO(files["qr30.png"])).info["dpi"][0] == pytest.approx(300, abs=1)


def test_the_default_size_keeps_the_earlier_calls_working(font):
    assert render_png(CEMENT, font) == render_png(CEMENT, font, "qr30")
    assert b'width="100.0mm"' in render_svg(CEMENT)
