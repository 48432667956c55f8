"""A label's QR code read as a phone reads it: every size, photographed badly, by two independent decoders.

A phone frames a label at roughly 10 px per mm (a 4,000-px-wide camera image across 40 cm of the world). Each
rendering is brought to that resolution and then spoilt the way photos are: tilted, out of focus, compressed hard,
lit unevenly, and all of these at once. zbar and zxing-cpp share no code, so a code both read in every photo is not
one decoder's luck. The first design (the signed statement in the code, version 29) fails this same test.
"""

import io
import random
import string
from collections.abc import Callable
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
import qrcode
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter
from pyzbar import pyzbar
from qrcode.constants import ERROR_CORRECT_Q

from label_service.render import LABEL_SIZES, SIZES, find_font, render_pdf, render_png
from tests.test_label_rendering import CEMENT, GS1_LINK, SHORT_URL

PHONE_PX_PER_MM = 10
CONTENTS = {"short-url": SHORT_URL, "gs1-digital-link": GS1_LINK}


def at_phone_resolution(image: Image.Image, width_mm: float) -> Image.Image:
    """Box filter: a sensor pixel averages the light that falls on it (a sharpening filter such as Lanczos adds
    ringing that no camera has)."""
    width = round(width_mm * PHONE_PX_PER_MM)
    return image.convert("RGB").resize((width, round(image.height * width / image.width)), Image.Resampling.BOX)


def tilted(degrees: float) -> Callable[[Image.Image], Image.Image]:
    return lambda image: image.rotate(degrees, Image.Resampling.BICUBIC, expand=True, fillcolor="white")


def out_of_focus(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius=1))


def jpeg_40(image: Image.Image) -> Image.Image:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=40)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def uneven_light(image: Image.Image) -> Image.Image:
    """Full light on the left falling to 55 % on the right, as under a lamp to one side."""
    pixels = np.asarray(image, dtype=np.float32)
    light = np.linspace(1.0, 0.55, pixels.shape[1], dtype=np.float32)[None, :, None]
    return Image.fromarray(np.round(pixels * light).astype(np.uint8))


def everything_at_once(image: Image.Image) -> Image.Image:
    """In the order a photo suffers them: the scene (tilt, light), the lens (focus), the file (JPEG)."""
    return jpeg_40(out_of_focus(uneven_light(tilted(-7)(image))))


VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "sharp": lambda image: image,
    "tilted+3": tilted(3),
    "tilted-7": tilted(-7),
    "blurred-1px": out_of_focus,
    "jpeg-q40": jpeg_40,
    "light-100-to-55": uneven_light,
    "all-at-once": everything_at_once,
}


def read_by_zbar(image: Image.Image) -> list[str]:
    return [found.data.decode("utf-8") for found in pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE])]


def read_by_zxing(image: Image.Image) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


DECODERS = {"zbar": read_by_zbar, "zxing-cpp": read_by_zxing}


@pytest.fixture(scope="module")
def photo() -> Callable[[str, str], Image.Image]:
    """The label of a size holding a content, at phone resolution; rendered once per module."""
    font = find_font()

    @cache
    def taken(size: str, content: str) -> Image.Image:
        png = render_png(replace(CEMENT, qr_content=content), font, size)
        return at_phone_resolution(Image.open(io.BytesIO(png)), LABEL_SIZES[size].width)

    return taken


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", CONTENTS)
@pytest.mark.parametrize("size", SIZES)
def test_every_photo_of_every_size_is_read_exactly_by_both_decoders(size, kind, variant, photo):
    image = VARIANTS[variant](photo(size, CONTENTS[kind]))
    for name, read in DECODERS.items():
        assert read(image) == [CONTENTS[kind]], name


@pytest.mark.parametrize("kind", CONTENTS)
@pytest.mark.parametrize("size", SIZES)
def test_the_pdf_printed_at_150_dpi_is_read_by_both_decoders(size, kind):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(render_pdf(replace(CEMENT, qr_content=CONTENTS[kind]), find_font(), size))
    image = pdf[0].render(scale=150 / 72).to_pil().convert("RGB")
    for name, read in DECODERS.items():
        assert read(image) == [CONTENTS[kind]], name


def old_content() -> str:
    """The first design's code: the short URL and, in its fragment, an 850-character compact JWS (base64url)."""
    letters = random.Random(2026).choices(string.ascii_letters + string.digits + "-_", k=848)
    jws = f"{''.join(letters[:36])}.{''.join(letters[36:762])}.{''.join(letters[762:])}"
    return f"{SHORT_URL}#jws={jws}"


def old_symbol(content: str) -> list[list[bool]]:
    """The first design's symbol: error correction Q, quiet zone 4."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=4)
    code.add_data(content)
    code.make(fit=True)
    return code.get_matrix()


def old_label(modules: list[list[bool]]) -> Image.Image:
    """The code as the first design printed it: in the old 38 mm square of a 100 x 62 mm label at 300 dpi, whole
    pixels a module (141 modules: 3 px, so 35.8 mm drawn)."""
    scale = 300 / 25.4
    pixels = int(38 * scale / len(modules))
    image = Image.new("RGB", (round(100 * scale), round(62 * scale)), "white")
    draw = ImageDraw.Draw(image)
    x0, y0 = round(60 * scale), round(14 * scale)
    for row, line in enumerate(modules):
        for column, dark in enumerate(line):
            if dark:
                draw.rectangle(
                    [
                        x0 + column * pixels,
                        y0 + row * pixels,
                        x0 + (column + 1) * pixels - 1,
                        y0 + (row + 1) * pixels - 1,
                    ],
                    fill="black",
                )
    return image


def test_the_old_design_is_not_read_in_every_photo():
    """Version 29 (4 x 29 + 17 = 133 modules, + 8 quiet = 141) in 38 mm is 0.25 mm a module, 2.5 px at phone
    resolution: what the new sizes pass, it must fail, or this test could not tell a readable label from an
    unreadable one."""
    content = old_content()
    modules = old_symbol(content)
    assert len(content) > 850 and len(modules) >= 4 * 29 + 17 + 8
    image = at_phone_resolution(old_label(modules), 100)
    results = {
        (variant, name): read(spoil(image)) == [content]
        for variant, spoil in VARIANTS.items()
        for name, read in DECODERS.items()
    }
    assert not all(results.values()), results
