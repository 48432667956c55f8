"""The background databases' pages without a browser: the platform admin's list of databases and versions (state,
progress with its stage, counts, in use), the import form and its refusals beside their fields, a version's page
(followed by the service's own small script while the import runs, the unlinked exchanges grouped in a table, the
steps its state offers, each confirmed), an import through the pages from upload to ready, the activity search of
anyone signed in (name, reference product, location, unit, unit score, paged), a PCR author linking an input item
of a draft to a searched activity (kept when saved, shown in the editor, the preview and the version page, printed
in the PCR document with its fallback), and the footprint page's line of the background databases a footprint
used. Pages in Chinese have no English sentence.

The versions and activities are mostly rows written straight into the tables (the import itself is
tests/test_background_import.py's): their values are chosen so that each page's figure can be checked by hand.
"""

import html
import re
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import BackgroundActivity, BackgroundDatabase, Footprint
from footprint_api.services import pcr_registry
from footprint_api.web.routes import backgrounds as pages
from footprint_api.web.routes import pcr_authoring
from tests.test_chinese_pages import ALLOWED, english_phrases, visible_text
from tests.test_pcr_lifecycle import new_pcr_id, principal
from tests.test_web_pcr_authoring import EMM, form_on
from tests.web_client import Browser, csrf_of

ADMIN, SEARCH = pages.ADMIN, pages.SEARCH
DB = f"cn-bg-{uuid.uuid4().hex[:6]}"  # the database in use
OTHER = f"eu-bg-{uuid.uuid4().hex[:6]}"  # one that needs attention
QUICKLIME = ("ql-cn-0001", "quicklime production, milled", "quicklime, milled", "CN", "kg", 1.0312345)
LIME = ("lime-row-0002", "lime production, hydrated", "lime, hydrated", "RoW", "kg", 0.98766)
STEEL = ("steel-cn-0003", "steel production, converter", "steel, low-alloyed", "CN", "t", 1234.5678)
BATCHES = 30  # activities "batch kiln i": three pages of 10


def _version(**values) -> uuid.UUID:
    defaults = {"format": "ecospold2", "source": "/nowhere", "project": f"pcf-bg-{uuid.uuid4().hex[:8]}"}
    with session_scope() as session:
        row = BackgroundDatabase(**{**defaults, **values})
        session.add(row)
        session.commit()
        return row.id


def _activities(database_id: uuid.UUID, rows) -> None:
    with session_scope() as session:
        for column, (code, name, product, location, unit, score) in enumerate(rows):
            session.add(
                BackgroundActivity(
                    database_id=database_id,
                    column=column,
                    code=code,
                    name=name,
                    reference_product=product,
                    location=location,
                    unit=unit,
                    unit_score=score,
                )
            )
        session.commit()


@pytest.fixture(scope="module")
def versions(world):
    """A database in use (1.0) with its activities, its older ready version (0.9), a version that needs attention
    (two groups of unlinked exchanges, 3 + 2 = 5 exchanges, and one other problem), a running import at 42 % in the
    stage of linking, and a failed one."""
    counts = {"activities": 3 + BATCHES, "technosphere": 1234, "biosphere": 5678}
    in_use = _version(name=DB, version="1.0", state="ready", progress=1.0, in_use=True, counts=counts, samples=200)
    older = _version(name=DB, version="0.9", state="ready", progress=1.0, counts=counts)
    problems = {
        "unlinked": [
            {
                "name": "Unobtainium hexafluoride",
                "categories": ["air", "urban air close to ground"],
                "location": None,
                "unit": "kilogram",
                "type": "biosphere",
                "count": 3,
                "activities": ["clinker production", "cement production, Portland"],
            },
            {
                "name": "market for pixie dust",
                "categories": None,
                "location": "GLO",
                "unit": "kilogram",
                "type": "technosphere",
                "count": 2,
                "activities": ["lime production, hydrated"],
            },
        ],
        "other": [{"code": "no_production", "activity": "kiln heat recovery", "detail": "no production exchange"}],
    }
    attention = _version(name=OTHER, version="2.0", state="needs_attention", progress=0.3, problems=problems)
    running = _version(name=OTHER, version="2.1", state="importing", stage="linking", progress=0.42)
    failed = _version(name=OTHER, version="1.9", state="failed", failure="the archive has no ecospold2 files")
    _activities(in_use, [QUICKLIME, LIME, STEEL])
    _activities(
        in_use,
        [(f"batch-{i:02d}", f"batch kiln {i:02d}", "clinker", "CN", "kg", 0.8 + i / 1000) for i in range(BATCHES)],
    )
    _activities(older, [(f"old-{QUICKLIME[0]}", *QUICKLIME[1:])])
    return {"in_use": in_use, "older": older, "attention": attention, "running": running, "failed": failed}


@pytest.fixture(scope="module")
def people(world):
    browsers = {}

    def of(user: str | None, lang: str = "zh-CN") -> Browser:
        if (user, lang) not in browsers:
            browsers[(user, lang)] = Browser(world.client.app, user, lang=lang)
        return browsers[(user, lang)]

    return of


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def row_of(page: str, attribute: str, value: str) -> str:
    found = re.search(rf'<tr {attribute}="{re.escape(value)}".*?</tr>', page, re.S)
    assert found, (attribute, value)
    return text_of(found.group(0))


# names as the databases write them (ecoinvent's are English): data, like a manufacturer's product names
DATA = sorted(
    {
        *(name for row in (QUICKLIME, LIME, STEEL) for name in row[1:3]),
        *("clinker production", "cement production, Portland", "lime production, hydrated", "market for pixie dust"),
        *("urban air close to ground", "Unobtainium hexafluoride", "kiln heat recovery", "no production exchange"),
    },
    key=len,
    reverse=True,
)


def chinese_only(page: str) -> list[str]:
    return english_phrases(visible_text(page), [*DATA, *ALLOWED])


# --- the platform admin's list and version pages --------------------------------------------------------------------


def test_the_list_shows_each_version_with_its_state_progress_counts_and_which_is_in_use(people, versions):
    page = people("root").get(ADMIN)
    assert page.status_code == 200
    in_use = row_of(page.text, "data-version", f"{DB}/1.0")
    assert "就绪" in in_use and "在用" in in_use
    assert "活动 33" in in_use and "技术圈交换 1,234" in in_use and "生物圈交换 5,678" in in_use  # 3 + 30 activities
    assert "在用" not in row_of(page.text, "data-version", f"{DB}/0.9")
    running = row_of(page.text, "data-version", f"{OTHER}/2.1")
    assert "导入中" in running and "42 % · 链接交换" in running  # progress 0.42 of the whole import
    assert re.search(rf'<progress id="progress-{versions["running"]}" max="100" value="42"', page.text)
    assert "待处理" in row_of(page.text, "data-version", f"{OTHER}/2.0")
    assert "失败" in row_of(page.text, "data-version", f"{OTHER}/1.9")
    assert 'data-refresh="3"' in page.text and "backgrounds.js" in page.text  # an import runs: the list follows it
    assert chinese_only(page.text) == []


def test_the_import_form_offers_the_four_formats_and_says_where_a_licensed_database_stays(people, versions):
    page = people("root").get(ADMIN).text
    form = re.search(
        r'<form method="post" action="/app/admin/backgrounds" enctype="multipart/form-data".*?</form>', page, re.S
    )
    assert form
    options = re.findall(r'<option value="([^"]+)"', form.group(0))
    assert options == ["ecospold2", "jsonld", "excel", "csv"]
    words = text_of(form.group(0))
    assert "只保存在本部署中" in words and "不附带也不下载任何数据库" in words
    assert "pcf backgrounds import PATH --format ecospold2" in words  # multi-GB databases: the CLI
    english = people("root", "en").get(ADMIN).text
    assert "stays in this deployment" in english and "Brightway Excel (xlsx)" in english


def test_an_upload_without_a_file_or_format_is_refused_beside_each_field_in_the_readers_language(people, versions):
    admin = people("root")
    response = admin.post_form(ADMIN, ADMIN, {"name": "x-db", "version": "1", "format": "pdf"})
    assert response.status_code == 422
    assert re.search(r'<p class="field-error" id="e-file">请选择要导入的文件。</p>', response.text)
    assert "请选择格式" in re.search(r'<p class="field-error" id="e-format">(.*?)</p>', response.text).group(1)
    assert 'value="x-db"' in response.text  # what was typed stays
    english = people("root", "en").post_form(ADMIN, ADMIN, {"name": "", "version": "1", "format": "csv"})
    assert re.search(r'id="e-name">Please fill this in.</p>', english.text)
    with session_scope() as session:
        assert session.query(BackgroundDatabase).filter_by(name="x-db").count() == 0  # nothing stored


def test_a_version_that_needs_attention_lists_its_unlinked_exchanges_grouped_and_offers_proceed_or_discard(
    people, versions
):
    page = people("root").get(f"{ADMIN}/{versions['attention']}")
    assert page.status_code == 200
    assert "未链接的交换：2 组，共 5 个交换" in text_of(page.text)  # 3 + 2 exchanges
    flow = row_of(page.text, "data-unlinked", "Unobtainium hexafluoride")
    assert "air / urban air close to ground" in flow and "kilogram" in flow and "生物圈" in flow
    assert " 3 " in f" {flow} " and "clinker production; cement production, Portland" in flow
    assert "GLO" in row_of(page.text, "data-unlinked", "market for pixie dust")
    assert "技术圈" in row_of(page.text, "data-unlinked", "market for pixie dust")
    assert "kiln heat recovery" in row_of(page.text, "data-problem", "no_production")
    assert 'id="step-proceed"' in page.text and 'id="step-discard"' in page.text
    assert 'id="step-activate"' not in page.text
    proceed = re.search(r'<form[^>]*id="step-proceed"[^>]*>', page.text).group(0)
    assert "丢弃所列 2 组、共 5 个未链接交换" in html.unescape(proceed)  # the confirmation says what is dropped
    assert "data-refresh" not in page.text  # nothing runs: nothing to follow
    assert chinese_only(page.text) == []
    english = people("root", "en").get(f"{ADMIN}/{versions['attention']}").text
    assert "Unlinked exchanges: 2 groups, 5 exchanges" in text_of(english)


def test_proceeding_without_ticking_the_box_is_refused_beside_the_step_and_changes_nothing(people, versions):
    admin = people("root")
    url = f"{ADMIN}/{versions['attention']}"
    response = admin.post_form(url, f"{url}/proceed", {})
    assert response.status_code == 422
    assert "请勾选确认：继续导入会丢弃所列交换。" in re.search(r'id="e-proceed"[^>]*>(.*?)</p>', response.text).group(1)
    with session_scope() as session:
        assert session.get(BackgroundDatabase, versions["attention"]).state == "needs_attention"


def test_a_running_import_refreshes_its_page_and_shows_its_stage(people, versions):
    page = people("root").get(f"{ADMIN}/{versions['running']}").text
    assert re.search(r'<p class="help muted" id="refreshing" data-refresh="3">.*?<a href="([^"]+)">立即刷新</a>', page)
    assert re.search(r'<progress id="progress" max="100" value="42"', page)
    assert "42 % · 链接交换" in text_of(page)
    assert "<script" not in page.split("</main>")[0].split('<main id="content"')[1]  # no inline script
    assert re.search(r'<script src="/static/backgrounds.js\?v=[0-9a-f]{12}" defer>', page)  # served by the service


def test_a_failed_version_says_so_and_offers_only_discard(people, versions):
    page = people("root").get(f"{ADMIN}/{versions['failed']}").text
    assert "导入失败。" in page and "the archive has no ecospold2 files" in page
    assert 'id="step-discard"' in page and 'id="step-proceed"' not in page


def test_a_ready_version_not_in_use_offers_activate_and_retire_and_the_one_in_use_none(people, versions):
    older = people("root").get(f"{ADMIN}/{versions['older']}").text
    assert 'id="step-activate"' in older and 'id="step-retire"' in older
    assert "启用 " + DB + " 0.9？" in html.unescape(older)
    in_use = people("root").get(f"{ADMIN}/{versions['in_use']}").text
    assert 'id="steps"' not in in_use


def test_only_the_platform_admin_opens_the_admin_pages(people, versions):
    for user in ("acme-engineer", "sb-author", "cb-admin"):
        assert people(user).get(ADMIN).status_code == 403, user
        assert people(user).get(f"{ADMIN}/{versions['in_use']}").status_code == 403, user
    visitor = people(None).get(ADMIN)
    assert visitor.status_code in (302, 303) and visitor.headers["location"].startswith("/login")
    assert people("root").get(f"{ADMIN}/{uuid.uuid4()}").status_code == 404


def test_the_platform_admin_sees_the_section_in_the_navigation_and_others_do_not(people, versions):
    assert f'href="{ADMIN}"' in people("root").get("/app/admin").text
    assert f'href="{ADMIN}"' not in people("acme-engineer").get(SEARCH).text


# --- the activity search ---------------------------------------------------------------------------------------------


def test_the_search_finds_activities_by_name_with_their_unit_score_per_unit(people, versions):
    page = people("acme-engineer").get(SEARCH, params={"q": "quicklime"})
    assert page.status_code == 200
    found = row_of(page.text, "data-activity", QUICKLIME[0])
    # 1.0312345 kg CO2e per kg shown to four significant digits
    assert "quicklime production, milled" in found and "quicklime, milled" in found and "CN" in found
    assert "1.031 kg CO2e / kg" in found and f"{DB} 1.0" in found
    assert "结果：1 个活动" in text_of(page.text)
    assert f"old-{QUICKLIME[0]}" not in page.text  # only the versions in use are searched
    assert chinese_only(page.text) == []


def test_the_search_by_reference_product_and_the_grouped_score_of_a_large_figure(people, versions):
    page = people("sb-author").get(SEARCH, params={"q": "low-alloyed"})
    assert "1,235 kg CO2e / t" in row_of(page.text, "data-activity", STEEL[0])  # 1234.5678 to four digits


def test_filters_by_location_and_unit_narrow_the_results(people, versions):
    page = people("acme-engineer").get(SEARCH, params={"q": "lime", "location": "RoW", "unit": "kg"})
    codes = re.findall(r'<tr data-activity="([^"]+)"', page.text)
    assert codes == [LIME[0]]  # quicklime is CN, lime RoW
    assert "0.9877 kg CO2e / kg" in row_of(page.text, "data-activity", LIME[0])


def test_results_come_in_pages_with_links_to_the_next(people, versions):
    first = people("acme-engineer").get(SEARCH, params={"q": "batch kiln", "size": "10"})
    assert len(re.findall(r'<tr data-activity="batch-', first.text)) == 10
    assert "第 1 / 3 页" in first.text  # 30 activities, 10 a page
    following = re.search(r'<a href="([^"]+)" rel="next">', first.text).group(1)
    second = people("acme-engineer").get(html.unescape(following))
    assert "第 2 / 3 页" in second.text and 'rel="prev"' in second.text
    assert len(re.findall(r'<tr data-activity="batch-', second.text)) == 10


def test_a_query_too_long_is_refused_beside_the_field_and_nothing_is_searched(people, versions):
    page = people("acme-engineer").get(SEARCH, params={"q": "x" * 201})
    assert page.status_code == 422
    assert "不超过 200 个字符。" in re.search(r'id="e-q">(.*?)</p>', page.text).group(1)
    assert 'id="activities"' not in page.text


def test_the_search_is_for_people_who_are_signed_in(people, versions):
    visitor = people(None).get(SEARCH)
    assert visitor.status_code in (302, 303) and visitor.headers["location"].startswith("/login")


# --- a PCR author links an input item ------------------------------------------------------------------------------


def new_draft(background: dict | None = None) -> str:
    """A draft of the manganese rules by sb's author; item 3 is quicklime, an input in t (linked to `background`)."""
    pcr_id = new_pcr_id()
    document = {**EMM, "id": pcr_id, "version": "0.1.0", "items": [dict(item) for item in EMM["items"]]}
    if background:
        document["items"][3]["background"] = background
    with session_scope() as session:
        author = principal("sb-author")
        pcr_registry.create_draft(session, author, pcr_id, "0.1.0", "empty")
        pcr_registry.replace_document(session, author, pcr_id, "0.1.0", document)
    return pcr_id


@pytest.fixture(scope="module")
def draft(world, versions):
    """A draft whose quicklime item is not linked yet."""
    return new_draft()


@pytest.fixture(scope="module")
def linked(world, versions):
    """A draft whose quicklime item is linked to the quicklime activity of the database in use."""
    return new_draft({"database": DB, "activity": QUICKLIME[0], "unit": "kg", "name": QUICKLIME[1]})


def stored(pcr_id: str) -> dict:
    with session_scope() as session:
        return pcr_registry.visible_version(session, principal("sb-author"), pcr_id, "0.1.0").document


def test_an_author_finds_an_activity_for_an_input_item_and_links_it(people, draft):
    author = people("sb-author")
    edit = f"{pcr_authoring.BASE}/{draft}/0.1.0/edit"
    editor = author.get(edit).text
    assert 'value="find:items[3]"' in editor  # the quicklime input item offers the search
    assert 'value="find:items[1]"' not in editor  # a process item does not
    token = csrf_of(editor)
    found = author.client.post(edit, data={**form_on(editor), "csrf_token": token, "action": "find:items[3]"})
    assert found.status_code == 303
    search = found.headers["location"]
    assert search.startswith(f"{SEARCH}?pcr={draft}&pcr_version=0.1.0&item=3&label=")
    asked = dict(parse_qsl(urlsplit(search).query))
    assert (
        asked["label"] == "渣及废水中和用生石灰" and asked["q"] == "quicklime for neutralising residue and wastewater"
    )
    results = author.get(SEARCH, params={**asked, "q": "quicklime"})
    assert f"为 PCR {draft} 0.1.0 的清单项“渣及废水中和用生石灰”选择背景活动" in html.unescape(results.text)
    choose = re.search(
        rf'<tr data-activity="{QUICKLIME[0]}".*?<form method="post" action="([^"]+)"', results.text, re.S
    )
    assert choose and choose.group(1) == f"/app/pcr-authoring/{draft}/0.1.0/background"
    chosen = author.client.post(
        choose.group(1),
        data={"item": "3", "database": DB, "activity": QUICKLIME[0], "csrf_token": csrf_of(results.text)},
    )
    assert chosen.status_code == 303 and chosen.headers["location"].endswith("/edit?done=linked#f-items-3-")
    assert "已关联背景活动并保存草稿。" in author.get(chosen.headers["location"]).text
    item = stored(draft)["items"][3]
    # the code, unit and name are the activity's own record, not the form's
    assert item["background"] == {"database": DB, "activity": QUICKLIME[0], "unit": "kg", "name": QUICKLIME[1]}
    assert item["activity"] == "quicklime"  # the factor set's activity stays: the fallback


def test_the_link_is_kept_when_the_draft_is_saved_and_shown_in_the_editor(people, linked):
    author = people("sb-author")
    edit = f"{pcr_authoring.BASE}/{linked}/0.1.0/edit"
    editor = author.get(edit).text
    assert f"已关联：{QUICKLIME[1]}（{DB}）" in html.unescape(editor)
    fields = form_on(editor)
    assert fields["items[3].background.activity"] == QUICKLIME[0] and fields["items[3].background.unit"] == "kg"
    saved = author.client.post(edit, data={**fields, "csrf_token": csrf_of(editor), "action": "save"})
    assert saved.status_code == 303
    assert stored(linked)["items"][3]["background"]["activity"] == QUICKLIME[0]


def test_the_version_page_and_the_preview_show_the_link_and_its_fallback(people, linked):
    author = people("sb-author")
    for path in ("", "/preview"):
        page = author.get(f"{pcr_authoring.BASE}/{linked}/0.1.0{path}")
        assert page.status_code == 200, path
        row = row_of(page.text, "data-linked-item", "quicklime")
        assert QUICKLIME[1] in row and DB in row and "本部署可用" in row and "quicklime" in row


def test_a_link_the_deployment_lacks_is_shown_as_falling_back(people, world):
    pcr_id = new_draft({"database": "ecoinvent-9.9", "activity": "abc", "unit": "kg", "name": "x"})
    page = people("sb-author").get(f"{pcr_authoring.BASE}/{pcr_id}/0.1.0").text
    assert "本部署不可用：采用因子集的筛选活动" in row_of(page, "data-linked-item", "quicklime")


def test_typing_a_unit_the_item_cannot_convert_to_is_a_problem_at_the_link(people, linked):
    author = people("sb-author")
    edit = f"{pcr_authoring.BASE}/{linked}/0.1.0/edit"
    editor = author.get(edit).text
    fields = {**form_on(editor), "items[3].background.unit": "kWh"}  # t of quicklime cannot become kWh
    response = author.client.post(edit, data={**fields, "csrf_token": csrf_of(editor), "action": "save"})
    page = author.get(response.headers["location"]).text if response.status_code == 303 else response.text
    assert re.search(r'<a href="#f-items-3-[^"]*"><code>items\[3\]', page)  # the problem points at the item
    fields["items[3].background.unit"] = "kg"
    again = author.get(edit).text
    author.client.post(edit, data={**fields, "csrf_token": csrf_of(again), "action": "save"})


def test_removing_the_link_keeps_the_factor_set_activity(people, world, versions):
    pcr_id = new_draft({"database": DB, "activity": QUICKLIME[0], "unit": "kg"})
    browser = people("sb-author")
    edit = f"{pcr_authoring.BASE}/{pcr_id}/0.1.0/edit"
    editor = browser.get(edit).text
    fields = form_on(editor)
    redrawn = browser.client.post(edit, data={**fields, "csrf_token": csrf_of(editor), "action": "unlink:items[3]"})
    assert redrawn.status_code == 200 and form_on(redrawn.text)["items[3].background.activity"] == ""
    browser.client.post(edit, data={**form_on(redrawn.text), "csrf_token": csrf_of(redrawn.text), "action": "save"})
    item = stored(pcr_id)["items"][3]
    assert "background" not in item and item["activity"] == "quicklime"


def test_choosing_for_an_item_that_is_no_input_is_refused_in_the_readers_language(people, linked):
    author = people("sb-author")
    page = author.get(f"{pcr_authoring.BASE}/{linked}/0.1.0/edit").text
    refused = author.client.post(
        f"{pcr_authoring.BASE}/{linked}/0.1.0/background",
        data={"item": "1", "database": DB, "activity": QUICKLIME[0], "csrf_token": csrf_of(page)},
    )
    assert refused.status_code == 422 and "只有“外购输入”类清单项可以关联背景活动。" in refused.text
    missing = author.client.post(
        f"{pcr_authoring.BASE}/{linked}/0.1.0/background",
        data={"item": "3", "database": DB, "activity": "no-such-code", "csrf_token": csrf_of(page)},
    )
    assert missing.status_code == 422 and "在用的背景数据库中找不到该活动。" in missing.text
    assert stored(linked)["items"][3]["background"]["activity"] == QUICKLIME[0]  # unchanged


@pytest.mark.parametrize(("user", "status"), [("sb2-chair", 404), ("acme-engineer", 404), ("root", 404)])
def test_outsiders_cannot_link_an_item_of_another_bodys_draft(people, linked, user, status):
    """Another standards body's chair, a manufacturer and the platform admin see no draft of "sb" (404, as the
    authoring pages answer every outsider); the link stays as it was."""
    browser = people(user)
    response = browser.client.post(
        f"{pcr_authoring.BASE}/{linked}/0.1.0/background",
        data={"item": "3", "database": DB, "activity": LIME[0], "csrf_token": csrf_of(browser.get(SEARCH).text)},
    )
    assert response.status_code == status
    assert stored(linked)["items"][3]["background"]["activity"] == QUICKLIME[0]


# --- the PCR document and the footprint page -----------------------------------------------------------------------


def test_the_pcr_document_prints_the_link_with_its_fallback_rule(linked):
    from footprint_api.exports.pcr_document import pcr_html_sections
    from pcr_rules.models import PCR

    pcr = PCR.model_validate(stored(linked))
    for lang, expected in (
        ("zh", [f"背景数据：{QUICKLIME[1]} ({DB})", "本部署缺少该数据库时，采用因子集的筛选活动 quicklime"]),
        ("en", [f"Background data: {QUICKLIME[1]} ({DB})", "the factor set's screening activity quicklime"]),
    ):
        items = next(s for s in pcr_html_sections(pcr, lang) if s.key == "items")
        method = next(row.cells[5].main for row in items.table.rows if row.cells[0].sub.endswith("quicklime"))
        assert all(line in method for line in expected), method


def test_the_openepd_metadata_names_the_linked_items(linked):
    from datetime import date

    from footprint_api.exports.pcr_document import PcrRecordView
    from footprint_api.exports.pcr_metadata import openepd_pcr
    from pcr_rules.models import PCR

    pcr = PCR.model_validate(stored(linked))
    metadata = openepd_pcr(
        pcr, PcrRecordView(status="draft", issuer_name="sb"), "https://pcf.example", date(2026, 1, 1)
    )
    assert metadata["ext"]["pcf_service"]["backgrounds"] == [
        {"item": "quicklime", "database": DB, "activity": QUICKLIME[0], "unit": "kg", "name": QUICKLIME[1],
         "fallback": "quicklime"}
    ]  # fmt: skip


def test_the_footprint_page_names_the_background_databases_used(world, people):
    from tests.labelling import calculated_footprint

    footprint = calculated_footprint(world, example="cement-guizhou-2023.json", gtin=None)
    page = people("acme-engineer").get(f"/app/footprints/{footprint['footprint_id']}").text
    line = re.search(r"<div data-backgrounds>(.*?)</div>", page, re.S).group(1)
    assert "所用背景数据库" in line and "无（仅因子集）" in line  # the factor set alone: no database used
    with session_scope() as session:  # a result that took two imported databases (lca_models records them)
        row = session.get(Footprint, uuid.UUID(footprint["footprint_id"]))
        used = [
            {"name": DB, "version": "1.0", "digest": "a" * 64},
            {"name": OTHER, "version": "2.0", "digest": "b" * 64},
        ]
        row.result = {**row.result, "backgrounds": used}
        row.result_json = None
        session.add(row)
        session.commit()
    page = people("acme-engineer").get(f"/app/footprints/{footprint['footprint_id']}").text
    line = text_of(re.search(r"<div data-backgrounds>(.*?)</div>", page, re.S).group(1))
    assert line == f"所用背景数据库 {DB} 1.0 {OTHER} 2.0"


def test_the_pdf_of_the_draft_prints_the_background_line(people, linked):
    """The PCR document as the library serves it (PDF): the linked item's method cell names the activity and its
    database, and the fallback rule; text read back with pypdf (its lines wrap inside the cell)."""
    import io

    from pypdf import PdfReader

    response = people("sb-author").get(f"/pcrs/{linked}/0.1.0/document.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages).split())
    assert f"背景数据：{QUICKLIME[1]}({DB})".replace(" ", "") in text
    assert "本部署缺少该数据库时，采用因子集的筛选活动quicklime" in text


# --- an import through the pages, end to end ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def backgrounds_dir(tmp_path_factory):
    """A pack folder of this module's own, and 50 pre-sampled background results (the pages show the count)."""
    folder = tmp_path_factory.mktemp("backgrounds")
    with pytest.MonkeyPatch.context() as patched:
        patched.setenv("PCF_BACKGROUNDS_DIR", str(folder))
        patched.setenv("PCF_BACKGROUND_SAMPLES", "50")
        yield folder


def followed(browser: Browser, url: str, timeout: float = 90.0) -> str:
    """The version's page once its import has stopped (the page says so: no note that it follows the import)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = browser.get(url).text
        if 'id="refreshing"' not in page:
            return page
        time.sleep(0.1)
    raise AssertionError(f"{url} still importing after {timeout} s")


def test_an_upload_with_an_unknown_flow_stops_for_attention_then_proceeds_to_ready(people, backgrounds_dir, tmp_path):
    """The fixture database (tests/background_fixtures.py: six activities) with one exchange of cement production on
    a flow biosphere3 lacks: the import stops, the flow named in the table (1 group, 1 exchange); the admin proceeds
    with the box ticked; the version is ready, in use (the first of its name), its six activities searchable."""
    from tests import background_fixtures as fixtures

    name = f"fx-{uuid.uuid4().hex[:6]}"
    flow = (fixtures.UNKNOWN_FLOW[0], fixtures.UNKNOWN_FLOW[1], 0.5)
    archive = fixtures.ecospold2_zip(tmp_path / "unknown.zip", extra_flow={"cement": flow})
    admin = people("root")
    token = csrf_of(admin.get(ADMIN).text)
    with open(archive, "rb") as handle:
        uploaded = admin.client.post(
            ADMIN,
            data={"name": name, "version": "1", "format": "ecospold2", "csrf_token": token},
            files={"file": ("unknown.zip", handle.read(), "application/zip")},
        )
    assert uploaded.status_code == 303, uploaded.text
    version = uploaded.headers["location"].split("?")[0]
    page = followed(admin, version)
    assert 'data-state="needs_attention"' in page
    assert "未链接的交换：1 组，共 1 个交换" in text_of(page)
    assert "cement production, Portland" in row_of(page, "data-unlinked", fixtures.UNKNOWN_FLOW[1])
    proceeded = admin.post_form(version, f"{version}/proceed", {"confirm": "yes"})
    assert proceeded.status_code == 303 and proceeded.headers["location"].endswith("?done=proceed")
    page = followed(admin, version)
    assert 'data-state="ready"' in page and "data-in-use" in page, text_of(page)[:2000]
    assert fixtures.UNKNOWN_FLOW[1] in row_of(page, "data-dropped", fixtures.UNKNOWN_FLOW[1])  # listed for good
    assert "活动 6" in text_of(page) and "蒙特卡洛样本数 50" in text_of(page)
    found = people("acme-engineer").get(SEARCH, params={"database": name, "q": "clinker"}).text
    assert len(re.findall(r'<tr data-activity="', found)) == 1 and "clinker production" in found


def test_malformed_addresses_and_forms_are_answered_with_4xx_pages_never_500(people, versions, linked):
    admin, author = people("root"), people("sb-author")
    for url in (
        f"{ADMIN}/not-a-uuid",
        f"{SEARCH}?page=abc&size=-3&q=lime",  # a page or size that is no number: the first page, 25 a page
        f"{SEARCH}?database={'d' * 101}",
        f"{SEARCH}?q=%01lime",
        f"{SEARCH}?pcr=../../x&pcr_version=1&item=3",  # no PCR id: an ordinary search
    ):
        response = admin.get(url)
        assert response.status_code in (200, 404, 422) and "text/html" in response.headers["content-type"], url
    assert admin.get(f"{SEARCH}?page=abc&size=-3&q=lime").status_code == 200
    assert admin.get(f"{SEARCH}?q=%01lime").status_code == 422
    token = csrf_of(author.get(SEARCH).text)
    for item in ("abc", "99999", "-1", ""):
        response = author.client.post(
            f"{pcr_authoring.BASE}/{linked}/0.1.0/background",
            data={"item": item, "database": DB, "activity": LIME[0], "csrf_token": token},
        )
        assert response.status_code == 422, item
    assert stored(linked)["items"][3]["background"]["activity"] == QUICKLIME[0]
    step = admin.post_form(ADMIN, f"{ADMIN}/{uuid.uuid4()}/activate", {})
    assert step.status_code == 404


def test_a_taken_version_or_a_bad_name_is_refused_beside_its_field_with_nothing_stored(people, versions, tmp_path):
    """The service's refusals (services.backgrounds.upload), worded by their codes at the fields they name."""
    from tests import background_fixtures as fixtures

    archive = fixtures.ecospold2_zip(tmp_path / "es2.zip").read_bytes()
    with session_scope() as session:
        before = session.query(BackgroundDatabase).count()
    for lang, values, field in (
        ("zh-CN", {"name": DB, "version": "1.0"}, "version"),  # DB 1.0 exists
        ("en", {"name": "bad name!", "version": "1"}, "name"),
    ):
        admin = people("root", lang)
        token = csrf_of(admin.get(ADMIN).text)
        response = admin.client.post(
            ADMIN,
            data={**values, "format": "ecospold2", "csrf_token": token},
            files={"file": ("es2.zip", archive, "application/zip")},
        )
        assert response.status_code in (409, 422), response.text[:500]
        error = re.search(rf'<p class="field-error" id="e-{field}">(.*?)</p>', response.text)
        assert error and error.group(1).strip(), (lang, field)
        assert bool(re.search(r"[\u4e00-\u9fff]", error.group(1))) == (lang == "zh-CN"), error.group(1)
        if lang == "zh-CN":
            assert error.group(1) == f"{DB} 1.0 已存在：版本不会被替换，请以新版本号导入。"
    with session_scope() as session:
        assert session.query(BackgroundDatabase).count() == before
