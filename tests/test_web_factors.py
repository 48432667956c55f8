"""The factor database's pages without a browser: the public releases, a release (its files, entries by category
and province, what changed), an entry (citation, how to use it), the platform admin's preview and cut, a
manufacturer's consent per label; who may open which, refusals worded in the reader's language, and every page in
Chinese without English sentences.

Acme's cement label signs 785.0 kg CO2e/t and its flat-glass label 726.6 kg CO2e/t (the examples in
pcr_rules/examples under the factor set cn-2025.1), each consented named: the only organisation behind its entries.
"""

import re

import pytest

from tests.labelling import act, calculated_footprint
from tests.test_chinese_pages import english_phrases, visible_text
from tests.web_client import Browser, csrf_of

CEMENT = "PCR-CN-CEMENT_v1_all_1t_2023_guizhou"
GLASS = "PCR-CN-FLATGLASS_v1_all_1t_2023_hebei"


def issued(world, example: str) -> dict:
    """Acme's label of an example, certified by cb."""
    footprint = calculated_footprint(world, example=example, gtin=None)
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
        assert act(world, user, application["id"], action).status_code == 200, action
    return next(
        label
        for label in world.call("acme-engineer", "GET", "/api/v1/labels").json()
        if label["application_id"] == application["id"]
    )


@pytest.fixture(scope="module")
def labels(world):
    return {
        "cement": issued(world, "cement-guizhou-2023.json"),
        "glass": issued(world, "flat-glass-hebei-2023.json"),
        "suspended": issued(world, "cement-guizhou-2023.json"),
    }


@pytest.fixture(scope="module")
def engineer(world):
    return Browser(world.client.app, "acme-engineer", lang="zh-CN")


@pytest.fixture(scope="module")
def admin(world):
    return Browser(world.client.app, "root", lang="zh-CN")


@pytest.fixture(scope="module")
def visitor(world):
    return Browser(world.client.app, lang="zh-CN")


def row_of(html: str, number: str) -> str:
    found = re.search(rf'<tr data-label-number="{re.escape(number)}".*?</tr>', html, re.S)
    assert found, number
    return found.group(0)


def chinese_only(html: str) -> list[str]:
    return english_phrases(visible_text(html))


# --- consent --------------------------------------------------------------------------------------------------------


def test_a_manufacturer_consents_per_label_on_its_page(world, labels, engineer):
    page = engineer.get("/app/factors/consent")
    assert page.status_code == 200
    assert 'data-consent="none"' in row_of(page.text, labels["cement"]["number"])
    for kind in ("cement", "glass"):
        number = labels[kind]["number"]
        given = engineer.post_form("/app/factors/consent", f"/app/factors/consent/{number}", {"level": "named"})
        assert given.status_code == 303 and given.headers["location"] == "/app/factors/consent?done=consent_given"
    page = engineer.get("/app/factors/consent?done=consent_given")
    assert "授权已保存，将在下一个版本中生效。" in page.text
    assert 'data-consent="named"' in row_of(page.text, labels["cement"]["number"])
    assert chinese_only(page.text) == []


def test_a_label_not_in_force_is_refused_on_the_page_in_the_readers_language(world, labels, engineer):
    number = labels["suspended"]["number"]
    world.call("cb-verifier", "POST", f"/api/v1/labels/{number}/actions/suspend", json={"comment": "meter check"})
    page = engineer.get("/app/factors/consent")
    assert "<select" not in row_of(page.text, number)  # no consent form for a label not in force
    refused = engineer.post_form("/app/factors/consent", f"/app/factors/consent/{number}", {"level": "named"})
    assert refused.status_code == 409
    assert f"标签 {number} 当前无效" in refused.text
    unknown = engineer.post_form("/app/factors/consent", f"/app/factors/consent/{number}", {"level": "everyone"})
    assert unknown.status_code in (409, 422)


def test_only_manufacturers_open_the_consent_page_and_only_the_platform_admin_the_cut(world, labels, engineer):
    assert engineer.get("/app/factors/releases/new").status_code == 403
    assert Browser(world.client.app, "cb-verifier", lang="zh-CN").get("/app/factors/consent").status_code == 403
    assert Browser(world.client.app, lang="zh-CN").get("/app/factors/consent").status_code == 303  # sign in first
    # another manufacturer cannot consent for acme's label: the label is not found for it
    rival = Browser(world.client.app, "rival-engineer", lang="zh-CN")
    refused = rival.post_form("/app/factors/consent", f"/app/factors/consent/{labels['glass']['number']}/withdraw", {})
    assert refused.status_code == 404 and "本机构没有编号为" in refused.text


# --- the platform admin's cut ---------------------------------------------------------------------------------------


def test_the_platform_admin_sees_what_a_release_would_publish_before_cutting_it(world, labels, admin):
    """Acme's cement (785.0) and glass (726.6) labels, named: four entries (Guizhou and national cement, Hebei and
    national glass) from two labels."""
    page = admin.get("/app/factors/releases/new")
    assert page.status_code == 200
    assert "将公开 4 个条目，依据 2 个标签" in page.text
    for key in (CEMENT, GLASS):
        assert f'data-entry="{key}"' in page.text
    assert chinese_only(page.text) == []


def test_a_malformed_number_is_refused_next_to_its_field_and_nothing_is_cut(world, labels, admin):
    refused = admin.post_form(
        "/app/factors/releases/new",
        "/app/factors/releases",
        {"number": "26.1", "title_zh": "第一版", "title": "First", "notes": ""},
    )
    assert refused.status_code == 422
    assert 'id="e-number"' in refused.text and "版本号格式应为“年份.序号”" in refused.text
    assert 'value="第一版"' in refused.text  # what was typed stays
    assert world.call(None, "GET", "/api/v1/factor-releases").json() == []


def test_the_platform_admin_cuts_a_release_and_its_page_shows_it(world, labels, admin, visitor):
    cut = admin.post_form(
        "/app/factors/releases/new",
        "/app/factors/releases",
        {"number": "2026.1", "title_zh": "第一版", "title": "First release", "notes": "水泥与平板玻璃"},
    )
    assert cut.status_code == 303 and cut.headers["location"] == "/factors/2026.1?done=cut"
    page = admin.get(cut.headers["location"])
    assert "版本已发布。" in page.text and "第一版" in page.text and "水泥与平板玻璃" in page.text
    listed = visitor.get("/factors")
    assert 'data-release="2026.1"' in listed.text and "第一版" in listed.text
    assert "发布新版本" not in listed.text  # a visitor is offered no cut
    assert "发布新版本" in admin.get("/factors").text


def test_a_release_page_lists_entries_by_category_and_province_with_its_files(world, labels, visitor):
    page = visitor.get("/factors/2026.1")
    assert page.status_code == 200
    assert re.findall(r'data-entry="([^"]+)"', page.text) == sorted(
        [CEMENT, CEMENT.replace("guizhou", "national"), GLASS, GLASS.replace("hebei", "national")]
    )
    assert re.search(rf'data-entry="{CEMENT}".*?data-value="785.0"', page.text, re.S)
    for name in ("csv", "json", "jsonld"):
        link = re.search(rf'href="([^"]+)"[^>]*data-file="{name}"', page.text).group(1)
        assert visitor.get(link).status_code == 200
    glass_only = visitor.get("/factors/2026.1?category=flat_glass")
    assert set(re.findall(r'data-entry="([^"]+)"', glass_only.text)) == {GLASS, GLASS.replace("hebei", "national")}
    guizhou = visitor.get("/factors/2026.1?province=Guizhou")
    assert re.findall(r'data-entry="([^"]+)"', guizhou.text) == [CEMENT]
    national = visitor.get("/factors/2026.1?province=national")
    assert len(re.findall(r'data-entry="([^"]+)"', national.text)) == 2
    assert "这是首个版本" in page.text
    assert chinese_only(page.text) == []


def test_an_entry_page_gives_its_citation_and_how_to_use_it(world, labels, visitor):
    page = visitor.get(f"/factors/2026.1/entries/{CEMENT}")
    assert page.status_code == 200
    shown = page.text.replace("&#34;", '"').replace("<wbr>", "")  # a long key may break after '_' or ','
    assert f"PCF 因子数据库 2026.1 版，条目 {CEMENT}" in shown
    assert f"PCF factor database release 2026.1, entry {CEMENT}" in shown  # beside it, marked as English
    assert f'{{"entry":"{CEMENT}","kind":"release","reference":"2026.1"}}' in shown
    assert labels["cement"]["number"] in page.text  # named: its label is listed
    assert 'data-value="785.0"' in page.text
    assert chinese_only(page.text) == []
    english = Browser(world.client.app, lang="en").get(f"/factors/2026.1/entries/{CEMENT}")
    assert "How to use it" in english.text and "Mean footprint per declared unit" in english.text


def test_a_second_release_says_what_changed(world, labels, engineer, admin, visitor):
    """Glass withdrawn, then 2026.2: the two glass entries (726.6 each) removed, the two cement entries unchanged."""
    withdrawn = engineer.post_form(
        "/app/factors/consent", f"/app/factors/consent/{labels['glass']['number']}/withdraw", {}
    )
    assert withdrawn.status_code == 303
    cut = admin.post_form(
        "/app/factors/releases/new",
        "/app/factors/releases",
        {"number": "2026.2", "title_zh": "第二版", "title": "Second release", "notes": ""},
    )
    assert cut.status_code == 303, cut.text
    page = visitor.get("/factors/2026.2")
    assert "与 2026.1 版相比：新增 0 个条目，移除 2 个，数值变化 0 个，未变 2 个。" in page.text
    removed = re.search(r'<ul id="removed">(.*?)</ul>', page.text, re.S).group(1)
    assert GLASS in removed and "726.6" in removed
    assert 'href="/factors/2026.1"' in page.text  # the previous release is linked
    assert GLASS in visitor.get("/factors/2026.1").text  # the cut release keeps the withdrawn label's entry


def test_unknown_releases_and_entries_answer_404_pages_in_chinese(world, labels, visitor):
    missing = visitor.get("/factors/2030.9")
    assert missing.status_code == 404 and "没有这个因子数据库版本。" in missing.text
    entry = visitor.get("/factors/2026.1/entries/nothing")
    assert entry.status_code == 404 and "此版本没有这个条目。" in entry.text


def test_every_factor_page_reads_in_chinese(world, labels, engineer, admin, visitor):
    pages = [
        (visitor, "/factors"),
        (visitor, "/factors/2026.2"),
        (visitor, f"/factors/2026.1/entries/{GLASS}"),
        (admin, "/factors"),
        (admin, "/app/factors/releases/new"),
        (engineer, "/app/factors/consent"),
    ]
    found = {url: chinese_only(who.get(url).text) for who, url in pages}
    assert found == {url: [] for _, url in pages}


def test_a_form_without_its_token_is_refused(world, labels, admin):
    page = admin.get("/app/factors/releases/new")
    assert csrf_of(page.text)
    refused = admin.client.post("/app/factors/releases", data={"number": "2026.3", "title": "x", "title_zh": "x"})
    assert refused.status_code == 403
    assert [r["number"] for r in world.call(None, "GET", "/api/v1/factor-releases").json()] == ["2026.2", "2026.1"]
