"""Benchmark pages and JSON: the platform admin computes a group's benchmark from the registry and sets a cited one
(previewed first), through the forms; the public sees a group's basis, bands and distribution, in both languages;
a refusal is named beside its field in the reader's language and stores nothing. Figures computed by hand."""

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlmodel import select

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import Benchmark
from footprint_api.services.benchmarks import Group
from footprint_api.services.verification import today
from tests.test_benchmarks import CEMENT, Seeder
from tests.test_chinese_pages import english_phrases, visible_text
from tests.web_client import Browser

ADMIN = "/app/admin/benchmarks"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The service over a database of its own, its organisations and people (tests.service), and a seeder of labels."""
    from footprint_api.persistence.migrate import upgrade
    from tests.service import configure, seed_world

    url = f"sqlite:///{tmp_path_factory.mktemp('web-benchmarks') / 'pcf.db'}"
    configure(url, PCF_TASK_MODE="in_process")
    upgrade(url)
    from footprint_api.app import create_app

    app = create_app()
    seed_world()
    return app, Seeder()


@pytest.fixture(scope="module")
def root(site):
    return Browser(site[0], "root", lang="zh-CN")


def _group(site, product_class: str, values: list[str], unit: str = "1 t") -> Group:
    group = Group(CEMENT, 1, product_class, unit)
    with session_scope() as session:
        for value in values:
            site[1].label(session, value, group=group, product=f"水泥 {product_class} {value}")
        session.commit()
    return group


def _admin_page(group: Group) -> str:
    return f"{ADMIN}/g/{quote(group.key, safe='')}"


def _versions(group: Group) -> list[Benchmark]:
    with session_scope() as session:
        return list(session.exec(select(Benchmark).where(*group.benchmark_conditions())))


def _chinese_only(html: str) -> list[str]:
    return english_phrases(visible_text(html))


def test_the_admin_computes_a_registry_benchmark_through_the_form(site, root):
    """P·O 42.5R, 2025: 700, 750, 800, 850, 900 -> median 800 (h = 4 × 0.5 = 2), p20 740, p40 780, p80 860.
    The public page then shows 800, the basis (median of 5 labels of 2025) and the bands as values:
    0.6 × 800 = 480, 0.8 × 800 = 640, 1.2 × 800 = 960, 2.0 × 800 = 1,600."""
    group = _group(site, "P·O/42.5R", ["700", "750", "800", "850", "900"])
    listing = root.get(ADMIN)
    assert listing.status_code == 200 and f'data-group="{group.key}"' in listing.text
    assert "2025 年：5 个有效" in listing.text and _chinese_only(listing.text) == []
    answer = root.post_form(
        _admin_page(group),
        f"{ADMIN}/compute",
        {"group": group.key, "year": "2025", "band1": "0.6", "band2": "0.8", "band3": "1.2", "band4": "2"},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].endswith("?done=computed")
    page = root.get(answer.headers["location"])
    assert "已由登记册计算并记录基准值" in page.text and _chinese_only(page.text) == []
    [benchmark] = _versions(group)
    assert (benchmark.value, benchmark.label_count, benchmark.percentiles["p20"]) == (800, 5, 740)

    public = Browser(site[0], lang="zh-CN").get(group.href)
    assert public.status_code == 200 and _chinese_only(public.text) == []
    text = visible_text(public.text)
    assert "5 个参考年 2025 的有效标签声明值的中位数" in text
    assert "前 20 % 不高于 740，前 40 % 不高于 780，中位数 800，第 80 百分位数 860" in text
    assert re.search(r"≤ 480\b", text) and "480 – 640" in text and "640 – 960" in text and "960 – 1,600" in text
    assert "> 1,600" in text


def test_a_group_of_four_is_not_ranked_and_the_registry_refuses_it_beside_the_year(site, root):
    """Four valid labels of 2025: the public page says too small to rank (no rank numbers); the compute form is
    answered 422 with the reason at the year, in Chinese, and nothing is stored."""
    group = _group(site, "P·I/52.5", ["700", "720", "740", "760"])
    public = Browser(site[0], lang="zh-CN").get(group.href)
    assert "只有 4 个有效标签：少于 5 个标签的可比组太小，不予排名。" in visible_text(public.text)
    ranks = re.findall(r'data-label="名次" class="num">([^<]*)<', public.text)
    assert len(ranks) == 4 and all(not r.strip() for r in ranks)
    answer = root.post_form(
        _admin_page(group),
        f"{ADMIN}/compute",
        {"group": group.key, "year": "2025", "band1": "0.6", "band2": "0.8", "band3": "1.2", "band4": "2"},
    )
    assert answer.status_code == 422
    assert 'id="e-compute-year"' in answer.text
    assert "本组 2025 年只有 4 个有效标签：由登记册计算基准值至少需要 5 个。" in answer.text
    assert _versions(group) == []


def test_a_cited_benchmark_is_previewed_then_recorded(site, root):
    """Cited 1,000 kg/t with bands 0.7 / 0.8 / 0.9 / 1.0 (limits 700, 800, 900, 1,000 kg). The group's labels
    700, 750, 800, 850, 900: ratios 0.70 (grade 1), 0.75 and 0.80 (2), 0.85 and 0.90 (3) -> 1: 1, 2: 2, 3: 2,
    4: 0, 5: 0. The preview stores nothing; recording makes version 1, shown on the public page."""
    group = _group(site, "P·O/52.5", ["700", "750", "800", "850", "900"])
    form = {
        "group": group.key,
        "year": "2025",
        "value": "1000",
        "citation": "Buyer's threshold, tender rules, 2025",
        "citation_zh": "采购方门槛值，招标规则，2025 年",
        "effective_from": today().isoformat(),
        "band1": "0.7",
        "band2": "0.8",
        "band3": "0.9",
        "band4": "1.0",
    }
    preview = root.post_form(_admin_page(group), f"{ADMIN}/cited", {**form, "action": "preview"})
    assert preview.status_code == 200 and _versions(group) == []
    counts = re.findall(r'<li data-grade="(\d)">([^<]+)</li>', preview.text)
    assert [text for _, text in counts] == ["1 级：1 个", "2 级：2 个", "3 级：2 个", "4 级：0 个", "5 级：0 个"]
    assert "700 – 800" in visible_text(preview.text) and "> 1,000" in visible_text(preview.text)
    typed = form["citation"]  # what the admin typed in English, shown again in its field
    assert english_phrases(visible_text(preview.text).replace(typed, "")) == []
    recorded = root.post_form(_admin_page(group), f"{ADMIN}/cited", {**form, "action": "record"})
    assert recorded.status_code == 303
    [benchmark] = _versions(group)
    assert (benchmark.basis, benchmark.value, benchmark.bands) == ("cited", 1000, [0.7, 0.8, 0.9, 1.0])
    english = Browser(site[0], lang="en").get(group.href)
    text = visible_text(english.text)
    assert "Buyer's threshold, tender rules, 2025" in text and "Grade 1" in text
    grades = re.findall(r'<span class="grade grade-(\d)">', english.text.split('id="labels"')[1])
    assert grades == ["1", "2", "2", "3", "3"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"value": "abc"}, "e-cited-value", "大于 0 且不超过 1,000,000,000 的数。"),
        ({"band2": "0.5"}, "e-cited-bands", "2 级的上限（0.5）必须大于前一级的上限（0.6）。"),
        ({"citation": ""}, "e-cited-citation", "请以两种语言注明来源。"),
        ({"effective_from": "2000-01-01"}, "e-cited-effective", "基准值不改变过去。"),
    ],
)
def test_a_cited_benchmark_refused_is_named_beside_its_field_and_nothing_is_stored(site, root, changes, field, message):
    group = Group(CEMENT, 1, "P·P/42.5", "1 t")
    form = {
        "group": group.key,
        "year": "2025",
        "value": "900",
        "citation": "Industry average",
        "citation_zh": "行业平均值",
        "band1": "0.6",
        "band2": "0.8",
        "band3": "1.2",
        "band4": "2.0",
        "action": "record",
        **changes,
    }
    answer = root.post_form(_admin_page(group), f"{ADMIN}/cited", form)
    assert answer.status_code == 422
    error = re.search(rf'<p class="field-error" id="{field}">([^<]*)</p>', answer.text)
    assert error and message in error.group(1)
    assert _versions(group) == []


def test_only_the_platform_admin_opens_the_admin_pages(site):
    assert Browser(site[0], "cb-admin").get(ADMIN).status_code == 403
    visitor = Browser(site[0]).get(ADMIN)
    assert visitor.status_code in (302, 303) and "/login" in visitor.headers["location"]


def test_the_public_index_and_a_group_in_english_name_the_group_not_a_code(site):
    group = _group(site, "P·S·A/42.5", ["810"])
    index = Browser(site[0], lang="en").get("/benchmarks")
    assert index.status_code == 200
    assert "Cement · PCR-CN-CEMENT 1.x · P·S·A Portland slag cement 42.5 · 1 t" in visible_text(index.text)
    chinese = Browser(site[0], lang="zh-CN").get("/benchmarks")
    assert "水泥 · PCR-CN-CEMENT 1.x 版 · P·S·A 矿渣硅酸盐水泥 42.5 · 1 t" in visible_text(chinese.text)
    assert _chinese_only(chinese.text) == []
    page = Browser(site[0], lang="en").get(group.href)
    assert "No benchmark is in force for this group" in visible_text(page.text)


def test_a_group_no_pcr_defines_is_not_found(site):
    assert Browser(site[0]).get("/benchmarks/PCR-CN-CEMENT~1~X·Y~1 t").status_code == 404
    assert Browser(site[0]).get("/benchmarks/nonsense").status_code == 404


# --- the JSON API ----------------------------------------------------------------------------------------------------


def _token(site, user: str) -> dict:
    from fastapi.testclient import TestClient

    from tests.service import PASSWORD

    client = TestClient(site[0])
    response = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": f"{user}@test.example", "password": PASSWORD},
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_the_json_api_records_and_opens_a_groups_benchmarks(site):
    """Cited 800 for P·C/52.5 (values 560, 800, 1,700): ratios 0.7 (grade 2), 1.0 (3), 2.125 (5); three labels:
    not ranked. The admin's answer is 201; a manufacturer's 403; bad bands 422 naming the field."""
    from fastapi.testclient import TestClient

    group = _group(site, "P·C/52.5", ["560", "800", "1700"])
    client = TestClient(site[0])
    body = {
        "group": group.key,
        "year": 2025,
        "value": 800,
        "citation": "Industry average, 2025",
        "citation_zh": "行业平均值，2025 年",
    }
    assert client.post("/api/v1/benchmarks/cited", json=body, headers=_token(site, "acme-admin")).status_code == 403
    wrong = client.post(
        "/api/v1/benchmarks/cited", json={**body, "bands": [1, 0.5, 2, 3]}, headers=_token(site, "root")
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "bands"
    made = client.post("/api/v1/benchmarks/cited", json=body, headers=_token(site, "root"))
    assert made.status_code == 201, made.text
    assert made.json()["band_limits"][0] == {"grade": 1, "above": None, "up_to": pytest.approx(480)}
    opened = client.get(f"/api/v1/public/benchmarks/{quote(group.key, safe='')}").json()
    assert opened["rankable"] is False and opened["count"] == 3
    assert [(row["value"], row["rank"], row["grade"]["grade"]) for row in opened["labels"]] == [
        ("560", None, 2),
        ("800", None, 3),
        ("1700", None, 5),
    ]
    number = opened["labels"][0]["number"]
    grades = client.get(f"/api/v1/public/label-grades/{number}").json()
    assert grades["group"]["key"] == group.key and grades["current"]["grade"] == 2
    assert grades["at_issue"] is None  # seeded as issued before the benchmark: no grade then
    listed = client.get("/api/v1/public/benchmarks").json()
    assert next(g for g in listed if g["group"] == group.key)["benchmark"]["value"] == 800


def test_a_future_effective_date_is_recorded_but_not_yet_in_force(site):
    """A cited version effective in 30 days is listed, and grades today still use none (no earlier version)."""
    from fastapi.testclient import TestClient

    group = _group(site, "P·F/52.5", ["900"])
    body = {
        "group": group.key,
        "year": 2025,
        "value": 1000,
        "citation": "A limit value to come",
        "citation_zh": "即将施行的限定值",
        "effective_from": (today() + timedelta(days=30)).isoformat(),
    }
    client = TestClient(site[0])
    assert client.post("/api/v1/benchmarks/cited", json=body, headers=_token(site, "root")).status_code == 201
    opened = client.get(f"/api/v1/public/benchmarks/{quote(group.key, safe='')}").json()
    assert opened["benchmark"] is None and len(opened["versions"]) == 1
    assert opened["labels"][0]["grade"] is None
