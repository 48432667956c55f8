"""The public pages without a browser: the registry's filters and pages, the comparison's ranks, the batch check's
files in and out (and what it refuses), the photo of a label, and every route answering anyone alike."""

import csv
import io
import time
import zipfile
from dataclasses import replace

import openpyxl
import pytest
from PIL import Image

from footprint_api.persistence.db import session_scope
from footprint_api.services import batch_check, benchmarks, registry
from footprint_api.web.routes.public import batch_token, numbers_of_token
from tests.labelling import act, calculated_footprint, issued_label, label_of
from tests.web_client import Browser, csrf_of

INJECTION = '=HYPERLINK("http://x")'


def issued_as(world, product_name: str, example: str = "cement-guizhou-2023.json", **changes) -> dict:
    """A label of a product with this name (issued_label names products after the example); `changes` as in
    calculated_footprint ("0.amount": the first item's amount)."""
    product = world.product(
        "acme-engineer", "PCR-CN-CEMENT" if "cement" in example else "PCR-CN-FLAT-GLASS", product_name
    )
    footprint = calculated_footprint(world, example=example, product_id=product["id"], **changes)
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()
    for user, action in (
        ("acme-engineer", "submit"),
        ("cb-verifier", "start_review"),
        ("cb-verifier", "approve"),
        ("cb-verifier", "issue_label"),
    ):
        assert act(world, user, application["id"], action).status_code == 200
    return next(
        label
        for label in world.call("cb-verifier", "GET", "/api/v1/labels").json()
        if label["application_id"] == application["id"]
    )


@pytest.fixture(scope="module")
def labels(world):
    """Two cement labels (Guizhou), one flat-glass label (Hebei), one cement label suspended, and a product whose
    name is a spreadsheet formula."""
    cement = issued_label(world, gtin=None)
    glass = issued_label(world, example="flat-glass-hebei-2023.json", gtin=None)
    suspended = issued_label(world, gtin=None)
    world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/labels/{suspended['number']}/actions/suspend",
        json={"comment": "CEMS data under review"},
    )
    formula = issued_as(world, INJECTION)
    return {"cement": cement, "glass": glass, "suspended": suspended, "formula": formula}


@pytest.fixture(scope="module")
def visitor(world):
    return Browser(world.client.app, lang="en")


def numbers_on(html: str) -> set[str]:
    import re

    return set(re.findall(r'href="/V/(PCF-[0-9A-Z-]+)"', html))


# --- registry ------------------------------------------------------------------------------------------------------


def test_the_registry_lists_valid_labels_and_each_filter_narrows(visitor, labels):
    everything = numbers_on(visitor.get("/registry").text)
    cement, glass, suspended = labels["cement"]["number"], labels["glass"]["number"], labels["suspended"]["number"]
    assert {cement, glass} <= everything and suspended not in everything

    by_category = numbers_on(visitor.get("/registry", params={"pcr_id": "PCR-CN-CEMENT"}).text)
    assert cement in by_category and glass not in by_category

    by_province = numbers_on(visitor.get("/registry", params={"province": "hebei"}).text)
    assert glass in by_province and cement not in by_province
    assert cement in numbers_on(visitor.get("/registry", params={"province": "Guizhou"}).text)

    value = float(labels["cement"]["value"])
    assert cement not in numbers_on(visitor.get("/registry", params={"max_kg_co2e": value - 1}).text)
    assert cement in numbers_on(
        visitor.get("/registry", params={"min_kg_co2e": value - 1, "max_kg_co2e": value + 1}).text
    )
    assert cement not in numbers_on(visitor.get("/registry", params={"min_kg_co2e": value + 1}).text)

    assert cement in numbers_on(visitor.get("/registry", params={"manufacturer": "ACME"}).text)
    assert not numbers_on(visitor.get("/registry", params={"manufacturer": "no such maker"}).text)


def test_all_labels_with_their_status_on_request(visitor, labels):
    page = visitor.get("/registry", params={"pcr_id": "PCR-CN-CEMENT", "validity": "all"}).text
    assert labels["suspended"]["number"] in numbers_on(page)
    assert '<span class="badge warn">Suspended</span>' in page


def test_registry_pages_are_stable_and_complete(visitor, labels, monkeypatch):
    whole = visitor.get("/registry", params={"validity": "all"}).text
    monkeypatch.setattr(registry, "PAGE_SIZE", 2)
    seen, page = [], 1
    while True:
        html = visitor.get("/registry", params={"validity": "all", "page": page}).text
        seen += sorted(numbers_on(html))
        if 'rel="next"' not in html:
            break
        assert f"/registry?validity=all&amp;page={page + 1}" in html  # the search is kept in the page links
        page += 1
    assert len(seen) == len(set(seen)) and set(seen) == numbers_on(whole) and page >= 2


def test_a_value_that_is_no_number_is_shown_next_to_its_field(visitor):
    response = visitor.get("/registry", params={"min_kg_co2e": "lots", "max_kg_co2e": "5"})
    assert response.status_code == 422
    assert 'aria-invalid="true" aria-describedby="min_kg_co2e-error"' in response.text
    assert '<p class="field-error" id="min_kg_co2e-error">Enter a number' in response.text
    reversed_range = visitor.get("/registry", params={"min_kg_co2e": "10", "max_kg_co2e": "5"})
    assert reversed_range.status_code == 422 and 'id="max_kg_co2e-error"' in reversed_range.text


def test_the_registry_json_filters_by_province_too(world, labels):
    found = world.client.get("/api/v1/public/registry", params={"province": "HEBEI", "limit": 500}).json()
    numbers = {label["number"] for label in found}
    assert labels["glass"]["number"] in numbers and labels["cement"]["number"] not in numbers


# --- comparison ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ranked(world, labels):
    """Five valid labels of one comparable group (enough to rank): the two of `labels` (the same value), one more
    of the example, one with less clinker, one with more. Clinker is most of cement's footprint: 1,400,000 t
    instead of 1,640,000 t lowers it, 1,800,000 t raises it."""
    low = issued_as(world, "low-clinker cement", **{"0.amount": 1_400_000})
    high = issued_as(world, "high-clinker cement", **{"0.amount": 1_800_000})
    issued_as(world, "mid cement")
    with session_scope() as session:
        benchmarks.backfill(session)
    return {"low": low, "high": high}


def test_the_comparison_ranks_valid_labels_and_states_the_highlighted_rank(world, visitor, labels, ranked):
    comparison = world.client.get("/api/v1/public/compare", params={"pcr_id": "PCR-CN-CEMENT"}).json()
    group = comparison["groups"][0]
    entry = next(e for e in group["labels"] if e["number"] == labels["cement"]["number"])
    assert labels["suspended"]["number"] not in {e["number"] for e in group["labels"]}  # valid labels only
    response = visitor.get(f"/compare/PCR-CN-CEMENT?label={labels['cement']['number'].lower()}")
    assert response.status_code == 200
    ordinal = {1: "1st", 2: "2nd", 3: "3rd"}.get(entry["rank"], f"{entry['rank']}th")
    assert f"{ordinal} lowest of {group['count']} (per 1 t) in its group, {group['name']['en']}." in response.text
    assert 'class="highlight" aria-current="true"' in response.text
    assert 'data-chart="chart-0"' in response.text and '<script type="application/json" id="chart-0">' in response.text


def test_lower_values_rank_first_and_equal_values_share_a_rank(world, visitor, labels, ranked):
    """low < the example (three labels of the same value: one rank) < high; competition ranks 1, 2, 2, 2, 5."""
    low, high = ranked["low"], ranked["high"]
    group = world.client.get("/api/v1/public/compare", params={"pcr_id": "PCR-CN-CEMENT"}).json()["groups"][0]
    ranks = {entry["number"]: entry["rank"] for entry in group["labels"]}
    assert float(low["value"]) < float(labels["cement"]["value"]) < float(high["value"])
    assert ranks[low["number"]] == 1 and ranks[labels["cement"]["number"]] == 2
    assert ranks[labels["formula"]["number"]] == 2  # the same value: the same rank
    assert ranks[high["number"]] == group["count"] == len(ranks)
    page = visitor.get(f"/compare/PCR-CN-CEMENT?label={low['number']}").text
    assert f"low-clinker cement: 1st lowest of {group['count']} (per 1 t)" in page
    page = visitor.get(f"/compare/PCR-CN-CEMENT?label={high['number']}", headers={"Accept-Language": "zh"}).text
    assert (
        f"high-clinker cement：在 {group['count']} 个有效标签中碳足迹第 {group['count']} 低（每 1 t，可比组：" in page
    )


def test_a_label_that_is_not_valid_is_not_ranked(visitor, labels):
    response = visitor.get(f"/compare/PCR-CN-CEMENT?label={labels['suspended']['number']}")
    assert "is not among the valid labels compared here (Suspended)" in response.text
    assert 'aria-current="true"' not in response.text


def test_a_category_without_labels_is_not_found(visitor):
    assert visitor.get("/compare/PCR-NOPE").status_code == 404


# --- batch check ---------------------------------------------------------------------------------------------------


def check(visitor, name: str, content: bytes, content_type: str = "text/csv"):
    return visitor.post_form("/batch", "/batch", files={"file": (name, content, content_type)})


def download(visitor, page_html: str, fmt: str):
    import re

    token = re.search(r'name="token" value="([^"]+)"', page_html).group(1)
    return visitor.client.post(
        "/batch/download", data={"token": token, "format": fmt, "csrf_token": csrf_of(page_html)}
    )


ENGLISH_HEADINGS = [
    "Label number",  # the buyer's own heading, kept
    "Status",
    "Product",
    "Manufacturer",
    "Carbon footprint (kg CO2e)",
    "Unit",
    "Declared unit",
    "Category",
    "PCR and version",
    "Comparable group",
    "Reference year",
    "Grade now (1 best … 5)",
    "Ratio to the benchmark",
    "Grade at issue",
    "Benchmark",
    "Issued",
    "Expires",
    "Note",
    "Label number checked",
]


def test_a_csv_is_checked_and_both_downloads_neutralise_formulas(visitor, labels):
    numbers = [
        labels["cement"]["number"],
        labels["suspended"]["number"].lower(),
        labels["formula"]["number"],
        "PCF-2026-999999-0",
        "=1+2",
    ]
    response = check(visitor, "list.csv", ("Label number\n" + "\n".join(numbers) + "\n").encode())
    assert response.status_code == 200, response.text
    assert '<strong data-status="VALID">2</strong>' in response.text
    assert '<strong data-status="SUSPENDED">1</strong>' in response.text
    assert '<strong data-status="NOT_FOUND">2</strong>' in response.text

    as_csv = download(visitor, response.text, "csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["content-disposition"].startswith("attachment;")
    assert as_csv.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0] == ENGLISH_HEADINGS and len(rows) == 6
    assert rows[3][2] == "'" + INJECTION  # the formula is text with the leading quote
    assert rows[5][:2] == ["'=1+2", "Not found"]
    assert rows[1][4] == labels["cement"]["value"] and rows[1][5] == "kg CO2e"

    as_xlsx = download(visitor, response.text, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    cell = sheet.cell(row=4, column=3)
    assert (cell.value, cell.data_type, cell.quotePrefix) == (INJECTION, "s", True)  # a string, never a formula
    assert [c.value for c in sheet[1]] == ENGLISH_HEADINGS
    assert sheet.cell(row=2, column=2).value == "Valid" and sheet.column_dimensions["C"].width > 10


def xlsx_of(values: list, sheets: int = 1) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Label"])
    for value in values:
        book.active.append([value, "ignored"])
    for index in range(1, sheets):
        book.create_sheet(f"s{index}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_is_checked_from_its_first_column(visitor, labels):
    response = check(
        visitor,
        "list.xlsx",
        xlsx_of([labels["cement"]["number"], labels["glass"]["number"]]),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert response.status_code == 200 and '<strong data-status="VALID">2</strong>' in response.text


def test_more_than_the_limit_is_refused_naming_the_field(world, visitor):
    numbers = "\n".join(f"PCF-2026-{n:06d}-0" for n in range(batch_check.MAX_ROWS + 1)).encode()
    response = world.client.post("/api/v1/public/verify-batch", content=numbers, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422 and response.json()["errors"] == [
        {"field": "body", "reason": "too many", "code": "pub.batch.reason.too_many", "params": {"limit": 10_000}}
    ]
    page = check(visitor, "many.csv", numbers)
    assert page.status_code == 422
    assert (
        'aria-invalid="true"' in page.text and 'id="file-error"' in page.text and "more than 10,000 rows" in page.text
    )


def test_a_file_named_xlsx_that_is_not_one_is_refused(visitor):
    response = check(visitor, "list.xlsx", b"PCF-2026-000001-0\n", "application/octet-stream")
    assert response.status_code == 422 and "not a readable Excel workbook" in response.text


def test_an_xlsx_zip_bomb_is_refused_unopened(visitor, world):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * 200_000_000 + b"/>")
    bomb = out.getvalue()
    assert len(bomb) < 400_000
    started = time.monotonic()
    response = check(visitor, "bomb.xlsx", bomb)
    assert response.status_code == 422 and "unpacks to more than 30 MB" in response.text
    api = world.client.post(
        "/api/v1/public/verify-batch",
        content=bomb,
        headers={"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    assert api.status_code == 422 and time.monotonic() - started < 2


def test_an_xlsx_with_a_dtd_is_refused(visitor):
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx_of(["PCF-2026-000001-0"]))) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet', 1)
            archive.writestr(item, data)
    assert check(visitor, "dtd.xlsx", out.getvalue()).status_code == 422


def test_the_json_batch_check_answers_xlsx_on_request_and_neutralises_csv(world, labels):
    body = f"{labels['formula']['number']}\n".encode()
    as_csv = world.client.post("/api/v1/public/verify-batch", content=body, headers={"Content-Type": "text/csv"})
    assert list(csv.reader(io.StringIO(as_csv.text)))[1][2] == "'" + INJECTION
    as_xlsx = world.client.post(
        "/api/v1/public/verify-batch",
        content=body,
        headers={
            "Content-Type": "text/csv",
            "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        },
    )
    cell = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active.cell(row=2, column=3)
    assert (cell.value, cell.data_type) == (INJECTION, "s")


def test_a_download_token_is_signed_and_expires():
    token = batch_token(["PCF-2026-000001-0"], now=1000.0)
    assert numbers_of_token(token, now=1001.0) == ["PCF-2026-000001-0"]
    with pytest.raises(Exception, match="expired"):
        numbers_of_token(token, now=1000.0 + 3601)
    with pytest.raises(Exception, match="not valid"):
        numbers_of_token(token[:-1] + ("0" if token[-1] != "0" else "1"), now=1001.0)


def test_a_download_link_that_expired_or_was_altered_is_refused_in_the_readers_language(world):
    """The refusal was the generic error page with the English detail; now the batch page says what to do."""
    chinese = Browser(world.client.app, lang="zh-CN")
    form = chinese.get("/batch").text
    expired = batch_token(["PCF-2026-000001-0"], now=time.time() - 3601)
    altered = batch_token(["PCF-2026-000001-0"])[:-1] + "x"
    for token, status, reason in (
        (expired, 400, "此下载已超过一小时的有效期"),
        (altered, 400, "此下载链接无效"),
        (batch_token(["PCF-2026-000001-0"]), 422, "请选择下载格式"),
    ):
        fmt = "csv" if status == 400 else "pdf"
        response = chinese.client.post(
            "/batch/download", data={"token": token, "format": fmt, "csrf_token": csrf_of(form)}
        )
        assert response.status_code == status and 'id="file-error"' in response.text and reason in response.text
        assert "check the list again" not in response.text and "choose a format" not in response.text


def test_an_upload_without_the_form_token_is_refused(world):
    stranger = Browser(world.client.app)
    response = stranger.client.post("/batch", files={"file": ("a.csv", b"PCF-2026-000001-0\n", "text/csv")})
    assert response.status_code == 403


# --- photo of a label ----------------------------------------------------------------------------------------------


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def photo(visitor, content: bytes, name: str = "label.png"):
    return visitor.post_form("/", "/scan", files={"photo": (name, content, "image/png")})


def test_a_photo_of_a_label_opens_its_page(world, visitor, labels):
    from label_service.render import find_font, render_png
    from tests.test_label_rendering import CEMENT

    number = labels["cement"]["number"]
    url = world.client.get(f"/api/v1/public/labels/{number}").json()["verification_url"]
    picture = render_png(replace(CEMENT, number=number, qr_content=url), find_font(), dpi=200)
    response = photo(visitor, picture)
    assert response.status_code == 303 and response.headers["location"] == f"/V/{number}"


def test_a_photo_without_a_code_says_so(visitor):
    response = photo(visitor, png(Image.new("RGB", (400, 300), "white")))
    assert response.status_code == 422 and "No QR code was found" in response.text
    assert 'id="photo-error"' in response.text


def test_a_code_of_another_site_is_shown_not_followed(visitor):
    import qrcode

    response = photo(visitor, png(qrcode.make("https://evil.example/V/PCF-2026-000001-0").get_image().convert("L")))
    assert response.status_code == 422 and "not a label of this service" in response.text
    assert "<code>https://evil.example/V/PCF-2026-000001-0</code>" in response.text


def test_a_code_naming_only_a_product_of_this_service_opens_its_resolver(visitor):
    import qrcode

    from footprint_api.core.settings import get_settings

    link = f"{get_settings().base_url}/01/06901234567892"
    response = photo(visitor, png(qrcode.make(link).get_image().convert("L")))
    assert response.status_code == 303 and response.headers["location"] == "/01/06901234567892"


def test_a_photo_of_too_many_pixels_is_refused_before_decoding(visitor):
    huge = png(Image.new("1", (10_000, 6_000), 1))  # 60 Mpx, a few kB as a PNG
    started = time.monotonic()
    response = photo(visitor, huge)
    assert response.status_code == 413 and "40 million pixels" in response.text
    assert time.monotonic() - started < 2


def test_a_file_that_is_no_picture_is_refused(visitor):
    assert photo(visitor, b"%PDF-1.4", "label.png").status_code == 422


# --- in Chinese ---------------------------------------------------------------------------------------------------


def province_stored_as(number: str, province: str) -> None:
    """The province of a label's inventory as an earlier upload stored it (typed in a workbook, e.g. '贵州')."""
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Footprint, InventoryRecord, Label

    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        record = session.get(InventoryRecord, session.get(Footprint, label.footprint_id).inventory_id)
        record.data = {**record.data, "facility": {**record.data["facility"], "province": province}}
        session.add(record)
        session.commit()


def options_of(html: str, select_id: str) -> list[tuple[str, str]]:
    import re

    select = html.split(f'<select id="{select_id}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


@pytest.fixture(scope="module")
def typed_in_chinese(world, labels):
    """A cement label whose inventory gives its province as typed in a Chinese workbook: '贵州'."""
    label = issued_label(world, gtin=None)
    province_stored_as(label["number"], "贵州")
    return label


def test_a_province_typed_in_chinese_is_found_by_either_name_and_offered_once(world, visitor, typed_in_chinese):
    """Defect 4: the registry offered 'Guizhou' and '贵州' side by side, and 'Guizhou' missed the label."""
    number = typed_in_chinese["number"]
    for asked in ("Guizhou", "guizhou", "贵州", "贵州省"):
        assert number in numbers_on(visitor.get("/registry", params={"province": asked}).text), asked
    assert number not in numbers_on(visitor.get("/registry", params={"province": "Hebei"}).text)
    found = world.client.get("/api/v1/public/registry", params={"province": "Guizhou", "limit": 500}).json()
    assert number in {label["number"] for label in found}
    offered = [value for value, _ in options_of(visitor.get("/registry").text, "province")]
    assert offered.count("Guizhou") == 1 and "贵州" not in offered and offered == sorted(offered, key=str.lower)


def test_the_chinese_registry_names_categories_and_provinces_in_chinese(world, typed_in_chinese):
    """Defects 4 and 5: the filters offered 'PCR-CN-CEMENT' and 'Hebei' on a Chinese page."""
    chinese = Browser(world.client.app, lang="zh-CN")
    page = chinese.get("/registry", params={"province": "贵州", "pcr_id": "PCR-CN-CEMENT"}).text
    assert ("PCR-CN-CEMENT", "水泥") in options_of(page, "pcr_id")
    assert {("Guizhou", "贵州"), ("Hebei", "河北")} <= set(options_of(page, "province"))
    assert '<option value="Guizhou" selected>贵州</option>' in page
    assert f'?label={typed_in_chinese["number"]}">水泥</a>' in page  # the category column
    assert "比较水泥的有效产品" in page
    english = Browser(world.client.app, lang="en").get("/registry").text
    assert ("PCR-CN-CEMENT", "cement") in options_of(english, "pcr_id")
    assert ("Hebei", "Hebei") in options_of(english, "province")


def test_the_chinese_comparison_is_headed_by_its_category(world, labels):
    page = Browser(world.client.app, lang="zh-CN").get("/compare/PCR-CN-CEMENT").text
    assert "<title>水泥同类产品比较 ·" in page and "同类产品比较：水泥" in page
    assert "依据的产品种类规则：PCR-CN-CEMENT" in page
    assert "Compare products: cement" in Browser(world.client.app, lang="en").get("/compare/PCR-CN-CEMENT").text


@pytest.fixture(scope="module")
def superseded(world):
    """Two labels of one product: the second supersedes the first."""
    product = world.product("acme-engineer", "PCR-CN-CEMENT", "cement relabelled")
    issued = []
    for _ in range(2):
        footprint = calculated_footprint(world, product_id=product["id"])
        issued.append(label_of(world, footprint["footprint_id"])["number"])
    return issued


def mistyped(number: str) -> str:
    """The number with its check character changed: one typo away from the real one."""
    return number[:-1] + ("A" if number[-1] != "A" else "B")


def test_the_batch_results_are_in_the_readers_language(world, labels, superseded):
    """Defect 5: the downloaded file's headings, verdicts and notes were codes and English on a Chinese page."""
    older, newer = superseded
    valid = labels["cement"]["number"]
    chinese = Browser(world.client.app, lang="zh-CN")
    body = "\n".join([valid, older, mistyped(valid), "PCF-2026-999999-0"]).encode()
    response = check(chinese, "清单.csv", body)
    assert response.status_code == 200
    assert f"已被标签 {newer} 替代" in response.text and f"可能输错，是否为：{valid}？" in response.text
    as_csv = download(chinese, response.text, "csv")
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    # a list without a heading row: its column named by its letter, then the results' headings in Chinese
    assert rows[0][:8] == ["A", "状态", "产品", "生产企业", "碳足迹（kg CO2e）", "单位", "声明单位", "产品类别"]
    assert rows[0][-3:] == ["到期日", "说明", "核验的标签编号"]
    note = len(rows[0]) - 2
    assert [row[1] for row in rows[1:]] == ["有效", "已被替代", "未找到", "未找到"]
    assert rows[2][note] == f"已被标签 {newer} 替代" and rows[3][note] == f"可能输错，是否为：{valid}？"
    assert rows[4][note] == "可能输错，请核对编号"  # a wrong check character, and no label one typo away
    assert rows[1][7] == "水泥"  # the category by name
    sheet = openpyxl.load_workbook(io.BytesIO(download(chinese, response.text, "xlsx").content)).active
    assert sheet.title == "标签核验结果" and sheet.cell(row=1, column=2).value == "状态"
    assert sheet.cell(row=3, column=2).value == "已被替代"


# --- every route, anyone alike -------------------------------------------------------------------------------------


def test_every_public_route_answers_a_signed_in_person_of_any_organisation_as_a_visitor(world, labels):
    """Public pages hold no organisation's data: signed in as rival or not, the answer is the same. A new route
    without a case here fails this test."""
    from footprint_api.web.routes.public import router

    cement = labels["cement"]["number"]
    cases = {  # (method, path) -> (url, status)
        ("GET", "/"): ("/", 200),
        ("POST", "/scan"): ("/scan", 403),  # no form token
        ("GET", "/scan"): ("/scan", 303),
        ("GET", "/registry"): ("/registry?pcr_id=PCR-CN-CEMENT", 200),
        ("GET", "/compare/{pcr_id}"): (f"/compare/PCR-CN-CEMENT?label={cement}", 200),
        ("GET", "/batch"): ("/batch", 200),
        ("POST", "/batch"): ("/batch", 403),
        ("POST", "/batch/download"): ("/batch/download", 403),
        ("GET", "/open-data"): ("/open-data", 200),
    }
    routes = {(method, route.path) for route in router.routes for method in route.methods}
    assert routes == set(cases), routes ^ set(cases)
    rival, visitor = Browser(world.client.app, "rival-engineer"), Browser(world.client.app)
    for (method, _), (url, status) in cases.items():
        answers = [getattr(who.client, method.lower())(url) for who in (rival, visitor)]
        assert [a.status_code for a in answers] == [status, status], url
        if status == 200:
            assert numbers_on(answers[0].text) == numbers_on(answers[1].text)
            assert "rival-engineer" in answers[0].text  # the top bar shows who is signed in
