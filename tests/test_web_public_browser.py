"""The public pages in Chromium, as a visitor without an account uses them, at phone and desktop width in both
languages: a label number typed on the home page opens its page (VALID); the registry searched by category and
value; the category compared (chart and rank); a CSV checked and both result files downloaded. And the camera: a
label's QR code shown to Chromium's fake camera is read in the page and opens the label's page.
Every page passes axe-core and loads nothing from another host; screenshots in test-artifacts/public-*.png."""

import io
from pathlib import Path

import pytest
import qrcode
from PIL import Image

from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
    Visit,
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    visit,
)
from tests.labelling import issued_label

RANK_TEXT = {"en": "lowest of", "zh": "低（每"}
VALID_WORD = {"en": "Valid", "zh": "有效"}


@pytest.fixture(scope="module")
def labels(world):
    """Five cement labels (a comparable group is ranked from five labels on, issue 21) and a glass one."""
    cement, *_ = [issued_label(world, gtin=None) for _ in range(5)]
    glass = issued_label(world, example="flat-glass-hebei-2023.json", gtin=None)
    url = world.client.get(f"/api/v1/public/labels/{cement['number']}").json()["verification_url"]
    return {"cement": cement, "glass": glass, "url": url}


@pytest.fixture(scope="module")
def served(world, labels):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


def checked(tab: Visit, served: str, name: str) -> None:
    """What every page must pass; the screenshot for people to look at."""
    tab.page.wait_for_load_state("networkidle")
    screenshot(tab, name)
    assert_accessible(tab.page)
    assert_self_contained(tab, served)


@pytest.mark.parametrize("width,lang", [("desktop", "en"), ("phone", "zh"), ("phone", "en"), ("desktop", "zh")])
def test_a_visitor_checks_searches_compares_and_checks_a_list(served, visit, labels, width, lang, tmp_path):
    tab = visit(width, lang)
    page, number = tab.page, labels["cement"]["number"]

    page.goto(f"{served}/")
    checked(tab, served, f"public-home-{width}-{lang}")
    page.fill("#number", number.lower())
    page.click("form.number-form button[type=submit]")
    page.wait_for_url(f"**/V/{number}")
    assert page.locator("[data-status]").get_attribute("data-status") == "VALID"
    checked(tab, served, f"public-verified-{width}-{lang}")

    page.goto(f"{served}/registry")
    page.select_option("#pcr_id", "PCR-CN-CEMENT")
    value = float(labels["cement"]["value"])
    page.fill("#min_kg_co2e", f"{value - 1:g}")
    page.fill("#max_kg_co2e", f"{value + 1:g}")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/registry?*pcr_id=PCR-CN-CEMENT*")
    row = page.locator("table.results tr", has=page.locator(f"a[href='/V/{number}']"))
    assert row.count() == 1 and VALID_WORD[lang] in row.inner_text()
    assert labels["glass"]["number"] not in page.content()
    checked(tab, served, f"public-registry-{width}-{lang}")

    row.locator("a[href^='/compare/']").click()
    page.wait_for_url("**/compare/PCR-CN-CEMENT?label=*")
    page.wait_for_selector(".chart[data-chart-drawn] canvas")
    assert RANK_TEXT[lang] in page.locator("#placed").inner_text()
    assert page.locator("tr.highlight").count() == 1
    checked(tab, served, f"public-compare-{width}-{lang}")

    page.goto(f"{served}/batch")
    checked(tab, served, f"public-batch-{width}-{lang}")
    listing = f"Label\n{number}\n{labels['glass']['number']}\nPCF-2026-999999-0\n".encode()
    page.set_input_files("#file", files=[{"name": "labels.csv", "mimeType": "text/csv", "buffer": listing}])
    page.click("form[action='/batch'] button[type=submit]")
    page.wait_for_selector("[data-status=VALID]")
    assert page.locator("[data-status=VALID]").inner_text() == "2"
    assert page.locator("[data-status=NOT_FOUND]").inner_text() == "1"
    checked(tab, served, f"public-batch-result-{width}-{lang}")
    with page.expect_download() as xlsx:
        page.click("#download-xlsx")
    with page.expect_download() as csv_file:
        page.click("#download-csv")
    xlsx_path, csv_path = Path(xlsx.value.path()), Path(csv_file.value.path())
    assert xlsx_path.read_bytes()[:2] == b"PK" and xlsx.value.suggested_filename.endswith(".xlsx")
    content = csv_path.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and number.encode() in content
    assert_self_contained(tab, served)


def y4m_of(image: Image.Image, frames: int = 3) -> bytes:
    """A YUV4MPEG2 video (4:2:0) of one still picture, for Chromium's --use-file-for-fake-video-capture."""
    width, height = image.size
    y, cb, cr = image.convert("YCbCr").split()
    half = (width // 2, height // 2)
    frame = (
        b"FRAME\n"
        + y.tobytes()
        + cb.resize(half, Image.Resampling.BOX).tobytes()
        + cr.resize(half, Image.Resampling.BOX).tobytes()
    )
    return f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * frames


@pytest.fixture(scope="module")
def camera_browser(browser, labels, tmp_path_factory):
    """A second Chromium whose camera shows the cement label's QR code."""
    code = qrcode.make(labels["url"], box_size=7, border=4).get_image().convert("RGB")
    scene = Image.new("RGB", (640, 480), (205, 200, 190))
    scene.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    video = tmp_path_factory.mktemp("camera") / "label.y4m"
    video.write_bytes(y4m_of(scene))
    camera = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_FLAGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    yield camera
    camera.close()


@pytest.mark.parametrize("width,lang", [("phone", "zh"), ("desktop", "en")])
def test_the_camera_reads_a_label_and_opens_its_page(served, camera_browser, labels, width, lang):
    tab = Visit(camera_browser, width, lang)
    try:
        tab.context.grant_permissions(["camera"], origin=served)
        tab.page.goto(f"{served}/")
        tab.page.click("#scan-start")
        tab.page.wait_for_url(f"**/V/{labels['cement']['number']}", timeout=15_000)
        assert tab.page.locator("[data-status]").get_attribute("data-status") == "VALID"
        screenshot(tab, f"public-scanned-{width}-{lang}")
        assert_self_contained(tab, served)
    finally:
        tab.close()


def test_the_page_decoder_follows_only_this_services_label_urls(served, visit, labels):
    """The function the camera calls on each decoded text, and the decoding of a still picture by the same code."""
    tab = visit("phone", "en")
    tab.page.goto(f"{served}/")
    tab.page.wait_for_function("window.pcfScan !== undefined && typeof window.jsQR === 'function'")
    number = labels["cement"]["number"]
    cases = {
        labels["url"]: f"/V/{number}",
        f"{served}/verify/{number.lower()}": f"/V/{number}",
        f"{served}/01/06901234567892?label={number}": f"/V/{number}",
        f"{served}/01/06901234567892": "/01/06901234567892",
        f"https://evil.example/V/{number}": None,
        "https://evil.example/01/06901234567892": None,
        f"{served}.evil.example/V/{number}": None,
        f"{served}/V/{number}%2F..%2Fadmin": None,
        "javascript:alert(1)": None,
        "PCF1:XYZ": None,
    }
    for text, expected in cases.items():
        path = tab.page.evaluate(
            "([text, bases]) => window.pcfScan.labelPath(text, bases, location.origin)",
            [text, ["http://127.0.0.1:8000"]],
        )
        assert path == expected, text
    picture = io.BytesIO()
    qrcode.make(labels["url"], box_size=6).get_image().convert("RGB").save(picture, format="PNG")
    decoded = tab.page.evaluate(
        """async (bytes) => {
        const image = await createImageBitmap(new Blob([new Uint8Array(bytes)], {type: "image/png"}));
        const canvas = document.createElement("canvas");
        canvas.width = image.width; canvas.height = image.height;
        const context = canvas.getContext("2d");
        context.drawImage(image, 0, 0);
        return window.pcfScan.decodeImageData(context.getImageData(0, 0, image.width, image.height));
    }""",
        list(picture.getvalue()),
    )
    assert decoded == labels["url"]
    assert_self_contained(tab, served)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_chinese_reader_meets_categories_provinces_and_pcr_titles_in_chinese(served, visit, labels, width):
    """Defects 4 and 5 as a Chinese reader sees them: the registry's filters name categories and provinces in
    Chinese (a province asked as typed in a workbook, '贵州', is chosen as 贵州), the comparison is headed by its
    category, and the PCR library names each PCR by its Chinese title. Screenshots in test-artifacts/issue18/public/."""
    from pcr_rules.registry import default_registry

    (ARTIFACTS / "issue18" / "public").mkdir(parents=True, exist_ok=True)
    tab = visit(width, "zh")
    page = tab.page
    page.goto(f"{served}/registry?province=贵州&pcr_id=PCR-CN-CEMENT")
    assert page.locator("#province option:checked").inner_text() == "贵州"
    assert page.locator("#pcr_id option:checked").inner_text() == "水泥"
    assert "PCR-CN" not in page.locator("#pcr_id").inner_text() and "河北" in page.locator("#province").inner_text()
    row = page.locator("table.results tr", has=page.locator(f"a[href='/V/{labels['cement']['number']}']"))
    assert "水泥" in row.inner_text()
    checked(tab, served, f"issue18/public/registry-{width}-zh")

    row.locator("a[href^='/compare/']").click()
    page.wait_for_selector(".chart[data-chart-drawn] canvas")
    assert page.locator("h1").inner_text().startswith("同类产品比较：水泥")
    checked(tab, served, f"issue18/public/compare-{width}-zh")

    cement = default_registry().get("PCR-CN-CEMENT")
    title = cement.title_zh or "水泥产品种类规则"
    page.goto(f"{served}/pcrs")
    assert (
        page.locator(f"tr[data-pcr='PCR-CN-CEMENT'][data-version='{cement.version}'] td a").first.inner_text() == title
    )
    checked(tab, served, f"issue18/public/pcr-library-{width}-zh")
    page.goto(f"{served}/pcrs/{cement.id}/{cement.version}")
    assert page.locator("h1").inner_text().startswith(title)
    checked(tab, served, f"issue18/public/pcr-version-{width}-zh")

    page.goto(f"{served}/batch")
    listing = f"标签编号\n{labels['cement']['number']}\n{labels['glass']['number']}\nPCF-2026-999999-0\n".encode()
    page.set_input_files("#file", files=[{"name": "清单.csv", "mimeType": "text/csv", "buffer": listing}])
    page.click("form[action='/batch'] button[type=submit]")
    page.wait_for_selector("[data-status=VALID]")
    checked(tab, served, f"issue18/public/batch-result-{width}-zh")
    with page.expect_download() as csv_file:
        page.click("#download-csv")
    rows = Path(csv_file.value.path()).read_bytes().decode("utf-8-sig").splitlines()
    assert rows[0].startswith("标签编号,状态,产品,") and rows[1].split(",")[1] == "有效"
