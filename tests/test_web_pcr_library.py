"""The PCR library's pages without a browser: the list of every version a reader may see, filtered; one version as a
bilingual document with its comment log and its changes; the PDF, the JSON, the openEPD metadata and the schema;
the visibility of drafts and consultations; the comment form of a signed-in person, what it refuses, and every route
of the router deciding who may use it."""

import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import yaml
from markupsafe import escape
from pypdf import PdfReader

from footprint_api.core.messages import catalogue
from footprint_api.core.settings import get_settings
from footprint_api.exports.pcr_metadata import pcr_json
from footprint_api.web.routes.pcr_library import router
from pcr_rules.models import PCR
from pcr_rules.registry import DATA_DIR
from tests.test_api_pcrs import draft, in_consultation
from tests.test_pcr_lifecycle import new_pcr_id
from tests.web_client import Browser, csrf_of

ZH, EN = catalogue("zh"), catalogue("en")
SEEDS = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(DATA_DIR.glob("*.yaml"))]
CEMENT = "/pcrs/PCR-CN-CEMENT/1.1.0"


@pytest.fixture(scope="module")
def visitor_zh(world):
    return Browser(world.client.app, lang="zh-CN")


@pytest.fixture(scope="module")
def visitor_en(world):
    return Browser(world.client.app, lang="en")


@pytest.fixture(scope="module")
def manufacturer(world):
    return Browser(world.client.app, "acme-engineer", lang="zh-CN")


def row_of(html: str, pcr_id: str, version: str) -> str:
    found = re.search(rf'<tr data-pcr="{re.escape(pcr_id)}" data-version="{re.escape(version)}">(.*?)</tr>', html, re.S)
    assert found, f"no row of {pcr_id} {version}"
    return found.group(1)


def rows_on(html: str) -> set[tuple[str, str]]:
    return set(re.findall(r'<tr data-pcr="([^"]+)" data-version="([^"]+)">', html))


def field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no error at {field}"
    return found.group(1)


def comment_form(browser: Browser, url: str, path: str, text: str):
    return browser.client.post(
        f"{url}/comments", data={"path": path, "text": text, "csrf_token": csrf_of(browser.get(url).text)}
    )


# --- the library ---------------------------------------------------------------------------------------------------


def test_the_library_lists_every_seeded_version_as_published_with_its_category_in_chinese(visitor_zh):
    page = visitor_zh.get("/pcrs")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    # the eight of 1.0.0 and 1.1.0 and aluminium 1.2.0 (migration 0011), and since issues 20 and 21 clinker 1.0.0,
    # cement 1.2.0, aluminium 1.3.0, steel 2.0.0 and flat glass 1.1.0 (migration 0016): 9 + 5
    assert len(SEEDS) == 14
    assert rows_on(page.text) == {(seed["id"], seed["version"]) for seed in SEEDS}
    for seed in SEEDS:
        row = row_of(page.text, seed["id"], seed["version"])
        category = ZH(f"pcr.category.{seed['product_category']}")  # 水泥, 电解铝, 粗钢…
        assert f'data-category="{seed["product_category"]}">{category}</td>' in row
        assert f'data-status="published">{ZH("pcr.status.published")}</span>' in row  # 已发布
        assert "2023-01-01" in row and "2030-12-31" in row  # effective from, valid until (migration 0011)


def test_the_library_filters_by_category_and_status(visitor_zh):
    cement = visitor_zh.get("/pcrs?category=cement")
    assert rows_on(cement.text) == {("PCR-CN-CEMENT", "1.0.0"), ("PCR-CN-CEMENT", "1.1.0"), ("PCR-CN-CEMENT", "1.2.0")}
    assert rows_on(visitor_zh.get("/pcrs?status=published").text) == {(s["id"], s["version"]) for s in SEEDS}
    assert rows_on(visitor_zh.get("/pcrs?status=superseded").text) == set()


def test_an_unknown_filter_is_refused_at_its_field_in_the_readers_language(visitor_zh, visitor_en):
    page = visitor_zh.get("/pcrs?status=bogus&category=cement")
    assert page.status_code == 422 and field_error(page.text, "status") == ZH("pcrl.filter.error.status")
    page = visitor_en.get("/pcrs?category=unobtainium")
    assert page.status_code == 422 and field_error(page.text, "category") == EN("pcrl.filter.error.category")
    page = visitor_en.get("/pcrs?category=" + "x" * 5000)  # however long: only compared with the categories
    assert page.status_code == 422 and field_error(page.text, "category") == EN("pcrl.filter.error.category")


def test_a_version_that_does_not_exist_is_404_in_the_readers_language(visitor_zh):
    for url in ("/pcrs/PCR-CN-CEMENT/9.9.9", "/pcrs/PCR-CN-CEMENT/" + "9" * 5000, f"/pcrs/{'P' * 5000}/1.0.0/pcr.json"):
        page = visitor_zh.get(url)
        assert page.status_code == 404 and ZH("error.404") in page.text, url[:40]


def test_everyone_finds_the_library_on_the_home_page_and_in_the_navigation(world, visitor_zh):
    home = visitor_zh.get("/").text
    assert 'href="/pcrs"' in home and ZH("pcrl.home.link") in home
    author = Browser(world.client.app, "sb-author", lang="zh-CN").get("/pcrs").text
    assert f'<a href="/app/pcr-authoring">{ZH("pcrl.nav.mine")}</a>' in author
    assert 'aria-current="page">' + ZH("pcrl.nav.library") in author
    assert "/app/pcr-authoring" not in visitor_zh.get("/pcrs").text


# --- one version as a document -------------------------------------------------------------------------------------


def test_a_version_reads_as_a_document_in_chinese(visitor_zh):
    page = visitor_zh.get(CEMENT)
    assert page.status_code == 200
    html = page.text
    assert "<h1>水泥（按品种和强度等级，从摇篮到大门） <span" in html  # the version's Chinese title (title_zh)
    for key in ("document", "scope", "boundary", "electricity", "items", "comments", "changes"):
        assert f'id="pcr-{key}"' in html, key
    assert ZH("pcr.section.changes") in html and ZH("pcr.doc.no_comments") in html
    for download in ("document.pdf", "pcr.json", "openepd.json"):
        assert f'href="{CEMENT}/{download}"' in html
    assert 'href="/pcrs/schema.json"' in html
    assert 'id="comment"' not in html  # published: no comment form


def test_a_version_lists_its_changes_from_the_previous_version(visitor_zh):
    html = visitor_zh.get(CEMENT).text
    changes = html[html.index('id="pcr-changes"') :]
    # 1.0.0 -> 1.1.0 (pcr_rules/data): provincial grid factors, measured emissions name their sources, biomass added
    assert "electricity.location_level" in changes and "items[+kiln_biomass]" in changes
    assert "<td>否</td><td>是</td>" in changes.replace("\n", "")  # require_sources: no -> yes, in Chinese


def test_changed_codes_are_named_in_the_readers_language(visitor_zh, visitor_en):
    """electricity.location_level: national -> province, as the electricity section names the levels."""
    for browser, t in ((visitor_zh, ZH), (visitor_en, EN)):
        html = browser.get(CEMENT).text
        changes = html[html.index('id="pcr-changes"') :].replace("\n", "")
        national, province = t("pcr.location_level.national"), t("pcr.location_level.province")
        assert f"<td>{escape(national)}</td><td>{escape(province)}</td>" in changes
        assert "<td>national</td>" not in changes and "<td>province</td>" not in changes


def test_the_changes_of_a_seeded_version_are_listed_in_the_pdf_too(visitor_en):
    """The seeded versions name no base: the PDF compares cement 1.1.0 with 1.0.0, as the page does."""
    text = pdf_text(visitor_en.get(f"{CEMENT}/document.pdf").content)
    assert "electricity.location_level" in text and EN("pcr.doc.first_version") not in text
    assert EN("pcr.location_level.province") in text


def test_a_tables_scrolling_region_has_a_name_of_its_own(visitor_zh):
    html = visitor_zh.get(CEMENT).text
    regions = re.findall(r'<div class="table-scroll"[^>]*aria-label="([^"]*)"', html)
    headings = set(re.findall(r'<h2 id="pcr-[a-z_]+-h">([^<]*?)(?: <span|</h2>)', html))
    assert "表格：清单项" in regions and "清单项" in headings
    assert len(set(regions)) == len(regions) and not set(regions) & headings


def test_a_version_reads_as_a_document_in_english(visitor_en):
    html = visitor_en.get(CEMENT).text
    assert '<html lang="en">' in html and "<h1>Product category rules: cement <span" in html
    assert EN("pcr.section.boundary") in html and EN("pcr.status.published") in html
    assert "Seeded by the platform" in html  # no standards body has been given the seeded PCRs


def test_the_first_version_has_nothing_to_compare_with(visitor_en):
    assert EN("pcr.doc.first_version") in visitor_en.get("/pcrs/PCR-CN-CEMENT/1.0.0").text


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def test_the_pdf_of_a_seeded_version_says_seed_data_where_the_issuer_would_be(visitor_zh):
    text = pdf_text(visitor_zh.get(f"{CEMENT}/document.pdf").content)
    assert "PCR-CN-CEMENT 1.1.0 · 已发布 · 平台初始数据（尚未指定标准机构）" in text
    assert "已发布 · PCR-CN-CEMENT" not in text  # before, an empty issuer: "… · 已发布 · " and the next line


def test_the_pdf_downloads_and_carries_the_pcr_title(visitor_zh):
    response = visitor_zh.get(f"{CEMENT}/document.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    title = next(s["title"] for s in SEEDS if (s["id"], s["version"]) == ("PCR-CN-CEMENT", "1.1.0"))
    assert reader.metadata.title == f"PCR-CN-CEMENT@1.1.0 {title}"
    first = " ".join(reader.pages[0].extract_text().split())
    assert title in first and "水泥产品种类规则" in first
    assert len(reader.pages) >= 2


def test_the_rules_download_as_the_services_json(visitor_en):
    response = visitor_en.get(f"{CEMENT}/pcr.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith('attachment; filename="PCR-CN-CEMENT-1.1.0.json"')
    seed = next(s for s in SEEDS if (s["id"], s["version"]) == ("PCR-CN-CEMENT", "1.1.0"))
    assert response.json() == pcr_json(PCR.model_validate(seed))


def urls_in(value) -> list[str]:
    if isinstance(value, dict):
        return [url for v in value.values() for url in urls_in(v)]
    if isinstance(value, list):
        return [url for v in value for url in urls_in(v)]
    return [value] if isinstance(value, str) and value.startswith(("http://", "https://")) else []


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"{seed['id']}@{seed['version']}")
def test_every_url_of_the_openepd_metadata_answers(seed, visitor_en):
    """The document (PDF) and the rules (JSON) openEPD links to are served where the metadata says."""
    metadata = visitor_en.get(f"/pcrs/{seed['id']}/{seed['version']}/openepd.json").json()
    urls = urls_in(metadata)
    assert metadata["doc"] in urls and metadata["attachments"]["JSON"] in urls
    base = get_settings().base_url.rstrip("/")
    for url in urls:
        assert url.startswith(f"{base}/"), url
        response = visitor_en.get(url.removeprefix(base))
        assert response.status_code == 200, url
    assert visitor_en.get(metadata["doc"].removeprefix(base)).headers["content-type"] == "application/pdf"
    rules = visitor_en.get(metadata["attachments"]["JSON"].removeprefix(base)).json()
    assert (rules["id"], rules["version"]) == (seed["id"], seed["version"])


def test_the_openepd_metadata_downloads(visitor_en):
    response = visitor_en.get(f"{CEMENT}/openepd.json")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer_doc_id"] == "PCR-CN-CEMENT" and metadata["version"] == "1.1.0"
    assert metadata["status"] == "Published"
    assert metadata["date_of_issue"] == "2023-01-01" and metadata["valid_until"] == "2030-12-31"
    assert metadata["declared_units"] == [{"qty": 1.0, "unit": "t"}]
    assert metadata["ext"]["pcf_service"]["status"] == "published"


def test_the_schema_of_the_pcr_language_is_served_and_every_seed_satisfies_it(visitor_en):
    response = visitor_en.get("/pcrs/schema.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/pcrs/schema.json")
    validator = jsonschema.Draft202012Validator(schema)
    for seed in SEEDS:
        assert list(validator.iter_errors(json.loads(json.dumps(seed, default=str)))) == [], seed["id"]
    assert list(validator.iter_errors({"id": "PCR-X"}))  # a document missing its sections does not


# --- who sees what -------------------------------------------------------------------------------------------------


def test_a_draft_of_another_organisation_is_404(world, visitor_zh):
    pcr_id = new_pcr_id()
    draft(world, pcr_id)
    url = f"/pcrs/{pcr_id}/1.0.0"
    author = Browser(world.client.app, "sb-author")
    assert author.get(url).status_code == 200 and (pcr_id, "1.0.0") in rows_on(author.get("/pcrs").text)
    for outsider in (Browser(world.client.app, "rival-engineer"), Browser(world.client.app, "sb2-chair"), visitor_zh):
        for path in ("", "/document.pdf", "/pcr.json", "/openepd.json"):
            assert outsider.get(url + path).status_code == 404, path
        assert pcr_id not in outsider.get("/pcrs").text


def test_a_draft_that_is_no_pcr_yet_shows_as_such_and_has_no_downloads(world):
    pcr_id = new_pcr_id()
    draft(world, pcr_id)  # an empty document: only its id and version
    author = Browser(world.client.app, "sb-author", lang="en")
    page = author.get(f"/pcrs/{pcr_id}/1.0.0")
    assert page.status_code == 200 and EN("pcrl.doc.incomplete") in page.text
    assert author.get(f"/pcrs/{pcr_id}/1.0.0/document.pdf").status_code == 409


# --- the consultation ----------------------------------------------------------------------------------------------


def test_a_manufacturer_comments_through_the_form_and_finds_the_comment_in_the_log(world, manufacturer, visitor_zh):
    pcr_id = new_pcr_id()
    in_consultation(world, pcr_id)
    url = f"/pcrs/{pcr_id}/1.0.0"
    assert visitor_zh.get(url).status_code == 404  # a consultation is for people signed in
    page = manufacturer.get(url).text
    assert 'id="comment"' in page and '<option value="items[clinker]">' in page
    assert (pcr_id, "1.0.0") in rows_on(manufacturer.get("/pcrs?status=consultation").text)
    response = comment_form(manufacturer, url, "items[clinker]", "请写明窑灰（CKD）修正系数。")
    assert response.status_code == 303 and response.headers["location"] == f"{url}?done=commented#comments"
    log = manufacturer.get(f"{url}?done=commented").text
    assert ZH("pcrl.comment.done") in log
    comments = log[log.index('id="pcr-comments"') : log.index('id="comment"')]
    assert "items[clinker]" in comments and "请写明窑灰（CKD）修正系数。" in comments and "acme" in comments
    assert ZH("pcr.answer.pending") in comments  # 待答复


def test_the_pdf_of_a_version_in_consultation_carries_the_comments_sent_since_it_was_last_made(world):
    pcr_id = new_pcr_id()
    in_consultation(world, pcr_id)
    url = f"/pcrs/{pcr_id}/1.0.0"
    engineer = Browser(world.client.app, "acme-engineer", lang="en")

    def pdf_text() -> str:
        reader = PdfReader(io.BytesIO(engineer.get(f"{url}/document.pdf").content))
        return " ".join(" ".join(page.extract_text() for page in reader.pages).split())

    assert "No comments were recorded." in pdf_text()
    assert comment_form(engineer, url, "boundary", "Name the quarry diesel explicitly.").status_code == 303
    text = pdf_text()
    assert "Name the quarry diesel explicitly." in text and "Awaiting an answer" in text


def test_a_comment_too_long_is_refused_at_its_field(world, manufacturer):
    pcr_id = new_pcr_id()
    in_consultation(world, pcr_id)
    url = f"/pcrs/{pcr_id}/1.0.0"
    response = comment_form(manufacturer, url, "general", "长" * 4001)
    assert response.status_code == 422
    assert field_error(response.text, "text") == ZH("pcrl.comment.error.long", max=4000, length=4001)
    assert 'aria-describedby="text-help text-error" aria-invalid="true"' in response.text
    assert "items[" not in manufacturer.get(url).text.split('id="pcr-comments"')[1].split('id="comment"')[0]


def test_a_comment_on_a_part_the_version_does_not_have_is_refused_at_its_field(world):
    pcr_id = new_pcr_id()
    in_consultation(world, pcr_id)
    url = f"/pcrs/{pcr_id}/1.0.0"
    engineer = Browser(world.client.app, "acme-engineer", lang="en")
    for path in ("items[unobtainium]", "kiln", ""):
        response = comment_form(engineer, url, path, "a comment")
        assert response.status_code == 422, path
        assert field_error(response.text, "path") == EN("pcrl.comment.error.path")
    assert comment_form(engineer, url, "", "").status_code == 422


def test_a_visitor_who_comments_is_sent_to_sign_in_and_back(world, visitor_zh):
    pcr_id = new_pcr_id()
    in_consultation(world, pcr_id)
    response = visitor_zh.client.post(f"/pcrs/{pcr_id}/1.0.0/comments", data={"path": "general", "text": "x"})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login" and parse_qs(location.query)["next"] == [f"/pcrs/{pcr_id}/1.0.0#comment"]


def test_a_published_version_takes_no_comment_and_the_page_says_why_in_chinese(manufacturer):
    """The registry's refusal (pcr_rules.lifecycle: comment is allowed in consultation), worded by its code."""
    response = comment_form(manufacturer, CEMENT, "general", "x")
    assert response.status_code == 409
    notice = re.search(r'<p class="notice warn" role="alert">(.*?)</p>', response.text, re.S)
    assert notice, "no reason above the form"
    assert notice.group(1) == escape("本版本的状态为“已发布”，不能提出意见；只有状态为“公开征求意见”时才可以。")
    assert "cannot comment" not in response.text and "allowed in" not in response.text


# --- every route decides who may use it ----------------------------------------------------------------------------


def test_every_route_answers_a_visitor_and_another_organisation_as_its_visibility_says(world):
    """Published versions answer everyone alike; a form needs a session (a visitor is sent to sign in) and its form
    token. A new route without a case here fails this test."""
    cases = {  # (method, route) -> (url, status for a visitor, status for rival signed in)
        ("GET", "/pcrs"): ("/pcrs", 200, 200),
        ("GET", "/pcrs/schema.json"): ("/pcrs/schema.json", 200, 200),
        ("GET", "/pcrs/{pcr_id}/{version}"): (CEMENT, 200, 200),
        ("GET", "/pcrs/{pcr_id}/{version}/document.pdf"): (f"{CEMENT}/document.pdf", 200, 200),
        ("GET", "/pcrs/{pcr_id}/{version}/pcr.json"): (f"{CEMENT}/pcr.json", 200, 200),
        ("GET", "/pcrs/{pcr_id}/{version}/openepd.json"): (f"{CEMENT}/openepd.json", 200, 200),
        ("POST", "/pcrs/{pcr_id}/{version}/comments"): (f"{CEMENT}/comments", 303, 403),  # no form token
    }
    routes = {(method, route.path) for route in router.routes for method in route.methods}
    assert routes == set(cases), routes ^ set(cases)
    visitor, rival = Browser(world.client.app), Browser(world.client.app, "rival-engineer")
    for (method, _), (url, anyone, signed_in) in cases.items():
        assert getattr(visitor.client, method.lower())(url).status_code == anyone, url
        assert getattr(rival.client, method.lower())(url).status_code == signed_in, url
