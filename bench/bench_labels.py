"""Carbon labels: render time per size and format, the QR code each size prints, and whether a phone-like photo of
each size is read by zbar and by zxing-cpp (the photos of tests/test_label_scanning.py).

    python bench/bench_labels.py                        # the tables
    python bench/bench_labels.py --pictures docs/labels # writes qr20.png, qr30.png, qr50.png for the README

Targets: every size read in every photo by both decoders; modules >= 0.4 mm (GS1 General Specifications, symbol
specification table 1) for the short URL and the GS1 Digital Link form.
"""

import argparse
import io
import statistics
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = 10
README_LABEL_CONTENT = "HTTPS://PCF.EXAMPLE.CN/01/06901234567892?label=PCF-2026-000123-F"


def readme_label():
    """The aluminium example as the demo certifies it, with a GTIN (so its code is a GS1 Digital Link)."""
    from label_service.render import LabelView

    return LabelView(
        number="PCF-2026-000123-F",
        product="原铝液 Primary aluminium, liquid (Al99.70)",
        manufacturer="Demo Manufacturing Group",
        value="11,170",
        unit="kg CO2e",
        declared_unit="1 t",
        pcr="PCR-CN-ALUMINIUM 1.0.0",
        standard="GB/T 24067-2024 (ISO 14067:2018)",
        issuer="Demo Certification Body",
        issued=date(2026, 11, 24),
        expires=date(2029, 11, 23),
        qr_content=README_LABEL_CONTENT,
    )


def write_pictures(folder: Path) -> None:
    from label_service.render import SIZES, find_font, render_png

    folder.mkdir(parents=True, exist_ok=True)
    font = find_font()
    for size in SIZES:
        path = folder / f"{size}.png"
        path.write_bytes(render_png(readme_label(), font, size))
        print(f"wrote {path}")


def render_times() -> None:
    from label_service.render import SIZES, find_font, render_pdf, render_png, render_svg

    view, font = readme_label(), find_font()
    renderers = {
        "SVG": lambda size: render_svg(view, size, font),
        "PNG 300 dpi": lambda size: render_png(view, font, size),
        "PDF": lambda size: render_pdf(view, font, size),
    }
    print(f"render time, median of {RUNS} (QR code of {len(view.qr_content)} characters)")
    print(f"  {'size':<6} {'format':<12} {'median ms':>10} {'KiB':>7}")
    for size in SIZES:
        for name, render in renderers.items():
            samples, length = [], 0
            for _ in range(RUNS):
                started = time.perf_counter()
                length = len(render(size))
                samples.append(time.perf_counter() - started)
            print(f"  {size:<6} {name:<12} {statistics.median(samples) * 1000:10.1f} {length / 1024:7.0f}")


def qr_codes() -> None:
    from label_service.qr import matrix
    from label_service.render import LABEL_SIZES, SIZES, qr_pixels
    from tests.test_label_scanning import CONTENTS

    print("QR code per size (modules include the 4-module quiet zone on each side)")
    print(
        f"  {'size':<6} {'content':<17} {'chars':>5} {'version':>7} {'modules':>7} {'module mm':>9} "
        f"{'PNG px/module':>13} {'PNG module mm':>13}"
    )
    for size in SIZES:
        for kind, content in CONTENTS.items():
            modules = len(matrix(content))
            pixels = qr_pixels(modules, LABEL_SIZES[size].qr, 300)
            print(
                f"  {size:<6} {kind:<17} {len(content):5d} {(modules - 8 - 17) // 4:7d} {modules:7d} "
                f"{LABEL_SIZES[size].qr / modules:9.3f} {pixels:13d} {pixels * 25.4 / 300:13.3f}"
            )


def decode_table() -> None:
    from PIL import Image

    from label_service.render import LABEL_SIZES, SIZES, find_font, render_png
    from tests.test_label_rendering import CEMENT
    from tests.test_label_scanning import (
        CONTENTS,
        DECODERS,
        VARIANTS,
        at_phone_resolution,
        old_content,
        old_label,
        old_symbol,
    )

    font = find_font()
    photos = {
        f"{size} {kind}": (
            at_phone_resolution(
                Image.open(io.BytesIO(render_png(replace(CEMENT, qr_content=content), font, size))),
                LABEL_SIZES[size].width,
            ),
            content,
        )
        for size in SIZES
        for kind, content in CONTENTS.items()
    }
    old = old_content()
    photos["old design (v29, 38 mm)"] = (at_phone_resolution(old_label(old_symbol(old)), 100), old)
    print("read at 10 px/mm, per photo: zbar / zxing-cpp (+ read exactly, - not read)")
    print(f"  {'label':<28}" + "".join(f"{variant:>16}" for variant in VARIANTS))
    for label, (photo, content) in photos.items():
        cells = []
        for spoil in VARIANTS.values():
            image = spoil(photo)
            cells.append(" / ".join("+" if read(image) == [content] else "-" for read in DECODERS.values()))
        print(f"  {label:<28}" + "".join(f"{cell:>16}" for cell in cells))


def main(argv: list[str] | tuple[str, ...] = ()) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=Path, help="write the README's label pictures into this folder and stop")
    args = parser.parse_args(list(argv))
    if args.pictures:
        write_pictures(args.pictures)
        return
    render_times()
    print()
    qr_codes()
    print()
    decode_table()


if __name__ == "__main__":
    main(sys.argv[1:])
