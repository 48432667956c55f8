"""The public side of procurement (issue 21): the registry searched by product, manufacturer, GTIN and label number;
the comparison only within a comparable group, the group named and counted, a small group not ranked; grades now
and at issue beside each label; names, not codes, in both languages; the verification page's group and grade; the
batch check that hands the buyer's own file back with the results appended (CSV and XLSX); the open data.

The market of this module (one database of its own): cement labels issued through the service, then placed in their
groups as services.benchmarks fills them, and given round values so that every figure below is computed by hand:

    group A = PCR-CN-CEMENT, major 1, product class "" (the whole category: PCR 1.0.0 declares no
              classification), declared unit 1 t
        reference year 2023: "cement A" 500, "cement B" 650, "cement C" 850, "cement D" 850, "cement E" 1100,
                             "cement F" 1800
        reference year 2024: "cement G" 600
        suspended:           "cement S" 400 (2023; never compared, never counted)
    group B = the same PCR and unit, product class "P·S·A/32.5": "slag cement Y" 720, "slag cement X" 700
    flat glass: one label (another category altogether)

Benchmarks of group A (cited, by the platform admin), year 2023: version 1 = 850 kg CO2e/t, then version 2 =
1000 kg CO2e/t (in force now). "cement E" was graded at issue against version 1 (recorded as
services.benchmarks.record_at_issue records it): ratio 1100 / 850 = 1.2941 -> grade 4 (1.2 < r <= 2.0).
Bands: the default 碳效码 bands, grade 1 <= 0.6 < 2 <= 0.8 < 3 <= 1.2 < 4 <= 2.0 < 5.
"""

import csv
import io
import json
import re
from datetime import date, datetime

import openpyxl
import pytest
from sqlmodel import select

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import Benchmark, Label
from footprint_api.services import benchmarks, registry
from label_service.numbering import label_number
from tests.conftest import load_example
from tests.labelling import GTIN, calculated_footprint, label_of
from tests.web_client import Browser, csrf_of

GROUP_A = "PCR-CN-CEMENT~1~~1 t"
GROUP_B = "PCR-CN-CEMENT~1~P·S·A/32.5~1 t"
VALUES_A_2023 = {"cement A": 500, "cement B": 650, "cement C": 850, "cement D": 850, "cement E": 1100, "cement F": 1800}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def issued(world, name: str, example: str = "cement-guizhou-2023.json", gtin: str | None = None) -> str:
    """A label of a product of this name, issued through the service; its number."""
    pcr_id = load_example(example)["pcr"]["id"]
    body = {"name": name, "pcr_id": pcr_id, **({"gtin": gtin} if gtin else {})}
    product = world.call("acme-engineer", "POST", "/api/v1/products", json=body)
    assert product.status_code == 201, product.text
    footprint = calculated_footprint(world, example=example, product_id=product.json()["id"])
    return label_of(world, footprint["footprint_id"])["number"]


def placed(number: str, value: float, product_class: str = "", year: int = 2023) -> None:
    """The label's group columns and stated value as this module's market needs them (the group columns filled by
    services.benchmarks as at issue)."""
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        if label.pcr_major is None:
            assert benchmarks.fill_group(session, label)
        label.value, label.total_kg_co2e = f"{value:g}", float(value)
        label.product_class, label.reference_year = product_class, year
        session.add(label)
        session.commit()


@pytest.fixture(scope="module")
def market(world):
    numbers = {name: issued(world, name) for name in VALUES_A_2023}
    numbers["cement G"] = issued(world, "cement G", gtin=GTIN)
    numbers["cement S"] = issued(world, "cement S")
    numbers["slag cement X"] = issued(world, "slag cement X")
    numbers["slag cement Y"] = issued(world, "slag cement Y")
    numbers["glass"] = issued(world, "float glass", example="flat-glass-hebei-2023.json")
    with session_scope() as session:
        benchmarks.backfill(session)
    for name, value in VALUES_A_2023.items():
        placed(numbers[name], value)
    placed(numbers["cement G"], 600, year=2024)
    placed(numbers["cement S"], 400)
    placed(numbers["slag cement X"], 700, "P·S·A/32.5")
    placed(numbers["slag cement Y"], 720, "P·S·A/32.5")
    suspended = world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/labels/{numbers['cement S']}/actions/suspend",
        json={"comment": "CEMS data under review"},
    )
    assert suspended.status_code == 200, suspended.text
    first = cited(world, 850)
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == numbers["cement E"])).one()
        label.benchmark_at_issue_id, label.grade_at_issue, label.grade_ratio_at_issue = first, 4, 1100 / 850
        session.add(label)
        session.commit()
    cited(world, 1000)
    registry.forget_standings()
    return numbers


def cited(world, value: float):
    response = world.call(
        "root",
        "POST",
        "/api/v1/benchmarks/cited",
        json={
            "group": GROUP_A,
            "year": 2023,
            "value": value,
            "citation": f"Industry average {value:g}, test source, table 1",
            "citation_zh": f"行业平均值 {value:g}，测试来源表 1",
        },
    )
    assert response.status_code in (200, 201), response.text
    with session_scope() as session:
        return session.exec(select(Benchmark.id).where(Benchmark.value == value)).one()


def compared(world, **params) -> dict:
    response = world.client.get("/api/v1/public/compare", params={"pcr_id": "PCR-CN-CEMENT", **params})
    assert response.status_code == 200, response.text
    return {group["group"]: group for group in response.json()["groups"]}


# --- the comparison ------------------------------------------------------------------------------------------------


def test_a_comparison_never_mixes_groups(world, market):
    """Every label compared sits in the group its own columns name, and in no other; the suspended label is in none.
    Group A (all years): values 500, 600, 650, 850, 850, 1100, 1800 -> competition ranks 1, 2, 3, 4, 4, 6, 7; the
    median is the 4th of 7 sorted values, 850; 500 / 850 = 0.588."""
    groups = compared(world)
    assert set(groups) == {GROUP_A, GROUP_B}
    with session_scope() as session:
        own = {label.number: benchmarks.group_of(label).key for label in session.exec(select(Label))}
    seen = [entry["number"] for group in groups.values() for entry in group["labels"]]
    assert len(seen) == len(set(seen)) and market["cement S"] not in seen and market["glass"] not in seen
    for key, group in groups.items():
        assert {own[entry["number"]] for entry in group["labels"]} == {key}
    a = groups[GROUP_A]
    assert [(entry["product"], entry["kg_co2e"], entry["rank"]) for entry in a["labels"]] == [
        ("cement A", 500, 1),
        ("cement G", 600, 2),
        ("cement B", 650, 3),
        ("cement C", 850, 4),
        ("cement D", 850, 4),
        ("cement E", 1100, 6),
        ("cement F", 1800, 7),
    ]
    assert (a["count"], a["ranked"], a["median_kg_co2e"], a["min_kg_co2e"], a["max_kg_co2e"]) == (
        7,
        True,
        850,
        500,
        1800,
    )
    assert a["labels"][0]["relative_to_median"] == pytest.approx(500 / 850)
    assert a["name"] == {
        "zh": "水泥 · PCR-CN-CEMENT 1.x 版 · 该类别全部产品 · 1 t",
        "en": benchmarks.group_name(benchmarks.Group.from_key(GROUP_A), "en"),
    }


def test_a_group_of_fewer_than_five_is_not_ranked_and_says_so(world, market):
    """Group B has 2 valid labels (< 5): no rank, no median, no chart; listed by product name ("slag cement X"
    before "slag cement Y", though X's 700 < Y's 720 would give the same order: the names decide)."""
    b = compared(world)[GROUP_B]
    assert (b["count"], b["ranked"], b["not_ranked"], b["median_kg_co2e"]) == (2, False, "too_small", None)
    assert [(entry["product"], entry["rank"]) for entry in b["labels"]] == [
        ("slag cement X", None),
        ("slag cement Y", None),
    ]
    english = Browser(world.client.app, lang="en").get("/compare/PCR-CN-CEMENT").text
    card = english.split(f'data-group="{GROUP_B}"', 1)[1].split("</section>", 1)[0]
    assert 'data-ranked="false"' in english
    assert "Only 2 valid labels in this group: fewer than 5, so they are not ranked." in card
    assert "data-chart" not in card and '<th scope="col" class="num">Rank</th>' not in card
    chinese = (
        Browser(world.client.app, lang="zh-CN").get(f"/compare/PCR-CN-CEMENT?label={market['slag cement Y']}").text
    )
    assert "此组只有 2 个有效标签，不足 5 个，因此不排名" in chinese
    assert "slag cement Y：所在可比组" in chinese and "只有 2 个有效标签，不足 5 个，因此不排名。" in chinese


def test_the_reference_year_is_shown_and_narrows_the_comparison(world, market):
    """2023 alone: 500, 650, 850, 850, 1100, 1800 -> ranks 1, 2, 3, 3, 5, 6, median (850 + 850) / 2 = 850. 2024
    alone: "cement G" only -> 1 label, not ranked."""
    a2023 = compared(world, reference_year=2023)[GROUP_A]
    assert [entry["rank"] for entry in a2023["labels"]] == [1, 2, 3, 3, 5, 6]
    assert {entry["reference_year"] for entry in a2023["labels"]} == {2023} and a2023["median_kg_co2e"] == 850
    a2024 = compared(world, reference_year=2024)[GROUP_A]
    assert (a2024["count"], a2024["ranked"]) == (1, False)
    page = Browser(world.client.app, lang="en").get("/compare/PCR-CN-CEMENT", params={"group": GROUP_A, "year": "2023"})
    assert page.status_code == 200 and 'data-group="PCR-CN-CEMENT~1~P·S·A/32.5~1 t"' not in page.text
    assert "cement G" not in page.text and '<option value="2024">2024</option>' in page.text


def test_a_group_of_another_category_or_no_group_at_all_is_refused_naming_the_field(world, market):
    answer = world.client.get("/api/v1/public/compare", params={"pcr_id": "PCR-CN-CEMENT", "group": "nonsense"})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "group"
    page = Browser(world.client.app, lang="zh-CN").get("/compare/PCR-CN-CEMENT", params={"group": "nonsense"})
    assert page.status_code == 422 and 'id="group-error"' in page.text and "请从列表中选择可比组" in page.text


def test_bars_are_named_by_product_and_manufacturer(world, market):
    page = Browser(world.client.app, lang="en").get("/compare/PCR-CN-CEMENT", params={"group": GROUP_A}).text
    option = json.loads(re.search(r'<script type="application/json" id="chart-0">(.*?)</script>', page, re.S).group(1))
    assert option["xAxis"]["data"][:3] == ["cement A", "cement G", "cement B"]
    assert option["series"][0]["data"][0]["name"].startswith("cement A · acme")


# --- grades --------------------------------------------------------------------------------------------------------


def grade_of(entry: dict) -> tuple:
    return (entry["grade"] or {}).get("grade"), (entry["grade_at_issue"] or {}).get("grade")


def test_each_label_carries_its_grade_now_and_at_issue(world, market):
    """Now, against version 2 (1000 kg CO2e/t): A 500/1000 = 0.5 -> 1; G 600/1000 = 0.6 -> 1 (a bound is
    inclusive); B 0.65 -> 2; C, D 0.85 -> 3; E 1.1 -> 3; F 1.8 -> 4. At issue, E only: 1100/850 = 1.294 -> 4.
    Group B has no benchmark: no grade."""
    found = world.client.get("/api/v1/public/registry", params={"pcr_id": "PCR-CN-CEMENT", "size": 100}).json()
    grades = {entry["product"]: grade_of(entry) for entry in found}
    assert grades == {
        "cement A": (1, None),
        "cement G": (1, None),
        "cement B": (2, None),
        "cement C": (3, None),
        "cement D": (3, None),
        "cement E": (3, 4),
        "cement F": (4, None),
        "slag cement X": (None, None),
        "slag cement Y": (None, None),
    }
    e = next(entry for entry in found if entry["product"] == "cement E")
    assert e["grade"]["ratio"] == pytest.approx(1.1) and e["grade"]["benchmark"]["version"] == 2
    assert e["grade"]["basis_text"]["zh"] == "行业平均值 1000，测试来源表 1"
    assert (
        e["grade_at_issue"]["ratio"] == pytest.approx(1100 / 850) and e["grade_at_issue"]["benchmark"]["version"] == 1
    )
    page = Browser(world.client.app, lang="zh-CN").get("/registry", params={"q": "cement E"}).text
    assert 'class="grade grade-3"' in page and "3 级" in page and "签发时 4 级" in page
    compare = Browser(world.client.app, lang="en").get("/compare/PCR-CN-CEMENT").text
    assert "grade 4 at issue" in compare


def test_the_verification_page_links_to_the_group_and_shows_the_grade_with_its_basis(world, market):
    """cement E now: 1100 / 1000 = 1.10 -> grade 3 (0.8 < 1.10 <= 1.2); at issue 1100 / 850 = 1.29 -> grade 4."""
    number = market["cement E"]
    href = benchmarks.Group.from_key(GROUP_A).href
    chinese = Browser(world.client.app, lang="zh-CN").get(f"/V/{number}").text
    assert f'<a class="group" href="{href}">水泥 · PCR-CN-CEMENT 1.x 版 · 该类别全部产品 · 1 t</a>' in chinese
    assert "3 级（共 5 级）" in chinese and "比值 1.10 = 1,100 ÷ 1,000" in chinese
    assert "引用基准值: 行业平均值 1000，测试来源表 1" in chinese and "2023 年第 2 版" in chinese
    assert "4 级（共 5 级）" in chinese and "比值 1.29 = 1,100 ÷ 850" in chinese
    assert "今日组内有效标签" in chinese and "7 个" in chinese
    english = Browser(world.client.app, lang="en").get(f"/V/{number}").text
    assert "Grade 3 of 5" in english and "Cited benchmark: Industry average 1000, test source, table 1" in english
    as_json = world.client.get(f"/api/v1/public/labels/{number}").json()
    assert as_json["standing"]["group"]["key"] == GROUP_A and as_json["standing"]["group"]["href"] == href
    assert (as_json["standing"]["grade"]["grade"], as_json["standing"]["grade_at_issue"]["grade"]) == (3, 4)
    on_page = world.client.get(f"/V/{number}", headers={"Accept": "application/json"}).json()
    assert on_page["standing"] == as_json["standing"] and on_page["status"] == "VALID"


def test_a_label_of_a_small_group_says_it_is_not_ranked_on_its_page(world, market):
    page = Browser(world.client.app, lang="en").get(f"/V/{market['slag cement X']}").text
    assert "(fewer than 5: not ranked)" in page and "no benchmark for this group yet" in page


# --- the registry --------------------------------------------------------------------------------------------------


def numbers_found(world, **params) -> list[str]:
    response = world.client.get("/api/v1/public/registry", params={"size": 100, **params})
    assert response.status_code == 200, response.text
    return [entry["number"] for entry in response.json()]


def test_one_box_finds_a_label_by_product_manufacturer_gtin_or_number(world, market):
    g = market["cement G"]
    assert numbers_found(world, q="cement g") == [g]
    assert set(numbers_found(world, q="ACME")) >= {g, market["cement A"]}
    assert numbers_found(world, q="6901234567892") == [g]  # the GTIN-13 on the pack; stored as GTIN-14
    assert numbers_found(world, q=g.lower().replace("-", "")) == [g]  # any spelling of the number
    assert g in numbers_found(world, q=g[4:15])  # a part of it: "2026-000007"
    assert numbers_found(world, q="no such thing") == []
    page = Browser(world.client.app, lang="en").get("/registry", params={"q": "6901234567892"}).text
    assert f'href="/V/{g}"' in page and "GTIN 6901234567892" in page


def test_the_filters_narrow_by_group_year_state_and_province(world, market):
    assert set(numbers_found(world, group=GROUP_B)) == {market["slag cement X"], market["slag cement Y"]}
    assert numbers_found(world, reference_year=2024) == [market["cement G"]]
    assert numbers_found(world, state="suspended") == [market["cement S"]]
    assert market["cement S"] not in numbers_found(world, pcr_id="PCR-CN-CEMENT")
    assert market["cement S"] in numbers_found(world, pcr_id="PCR-CN-CEMENT", state="all")
    assert numbers_found(world, province="河北") == [market["glass"]]
    page = Browser(world.client.app, lang="en").get("/registry", params={"group": GROUP_B, "validity": "all"}).text
    assert {market["slag cement X"], market["slag cement Y"]} == set(re.findall(r'href="/V/(PCF-[0-9A-Z-]+)"', page))
    wrong = world.client.get("/api/v1/public/registry", params={"group": "x"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "group"
    refused = Browser(world.client.app, lang="zh-CN").get("/registry", params={"year": "去年", "group": "x"})
    assert refused.status_code == 422 and 'id="year-error"' in refused.text and 'id="group-error"' in refused.text
    assert "请从列表中选择参考年" in refused.text and "请从列表中选择可比组" in refused.text


def test_the_registry_json_is_paged_with_its_total(world, market):
    """9 valid cement labels (7 of group A, 2 of group B), by value: 500, 600, 650, 700, 720, 850, 850, 1100, 1800;
    pages of 4: 4 + 4 + 1."""
    pages = [
        world.client.get(
            "/api/v1/public/registry", params={"pcr_id": "PCR-CN-CEMENT", "size": 4, "page": n, "sort": "value"}
        )
        for n in (1, 2, 3)
    ]
    assert {page.headers["X-Total-Count"] for page in pages} == {"9"}
    values = [float(entry["value"]) for page in pages for entry in page.json()]
    assert values == [500, 600, 650, 700, 720, 850, 850, 1100, 1800]


@pytest.mark.parametrize(
    ("lang", "category", "province", "group"),
    [
        ("zh", "水泥", "贵州", "水泥 · PCR-CN-CEMENT 1.x 版 · 该类别全部产品 · 1 t"),
        ("en", "cement", "Guizhou", None),
    ],
)
def test_categories_provinces_and_groups_are_named_not_coded(world, market, lang, category, province, group):
    """The category column shows its name, with the PCR id only as a small code under it; provinces and groups by
    name; the JSON names each in both languages."""
    group = group or benchmarks.group_name(benchmarks.Group.from_key(GROUP_A), "en")
    page = Browser(world.client.app, lang=lang).get("/registry", params={"q": "cement A"}).text
    row = page.split(f'href="/V/{market["cement A"]}"', 1)[1].split("</tr>", 1)[0]
    assert f'?label={market["cement A"]}">{category}</a>' in row and f">{province}<" in row and group in row
    assert ">PCR-CN-CEMENT<" not in page  # never the code alone
    compare = Browser(world.client.app, lang=lang).get("/compare/PCR-CN-CEMENT").text
    assert group in compare and f'<option value="{GROUP_A}"' in compare
    entry = world.client.get("/api/v1/public/registry", params={"q": "cement A"}).json()[0]
    assert entry["category"] == {"zh": "水泥", "en": "cement"}
    assert entry["province_name"] == {"zh": "贵州", "en": "Guizhou"} and entry["group"]["name"][lang] == group


# --- the batch check ---------------------------------------------------------------------------------------------

UNISSUED = label_number(2026, 999_999)  # well formed, its check character right, never issued
BUYER_HEADER = ["供应商", "物料", "标签编号", "数量", "单价", "交货日期"]


def buyer_rows(market) -> list[list]:
    """The buyer's own rows: suppliers, items, the label number in column C (typed in lower case in one row), a
    quantity, a price (one negative: a credit note), a date; a blank row between, and a row without a number."""
    return [
        ["黔西水泥", "P·O 42.5", market["cement E"], 1200, 385.5, "2026-03-01"],
        ["黔西水泥", "P·O 42.5", market["cement S"].lower(), 300, -12.5, "2026-03-02"],
        [],
        ["某公司", "矿渣水泥", market["slag cement X"], 50, 401, "2026-03-03"],
        ["无标签供应商", "砂", "", 10, 80, "2026-03-04"],
        ["无此标签", "水泥", UNISSUED, 1, 1, "2026-03-05"],
    ]


def csv_of(market) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BUYER_HEADER)
    for row in buyer_rows(market):
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def xlsx_of(market) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(BUYER_HEADER)
    for row in buyer_rows(market):
        sheet.append([date.fromisoformat(v) if isinstance(v, str) and v.startswith("2026-") else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def check_and_download(browser: Browser, name: str, content: bytes, fmt: str, **form) -> bytes:
    page = browser.post_form("/batch", "/batch", data=form, files={"file": (name, content, "text/csv")})
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    download = browser.client.post(
        "/batch/download", data={"token": token, "format": fmt, "csrf_token": csrf_of(page.text)}
    )
    assert download.status_code == 200
    return download.content


def test_the_batch_csv_comes_back_with_the_buyers_columns_and_the_results_appended(world, market):
    """Every row as it was (the blank one too, the credit note's -12.5 without a quote), in its place; the results
    after column F: verdicts and notes in the page's language (Chinese), headings in both languages."""
    chinese = Browser(world.client.app, lang="zh-CN")
    body = check_and_download(chinese, "采购清单.csv", csv_of(market), "csv", headers="both")
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    given = [BUYER_HEADER] + [[str(v) for v in row] for row in buyer_rows(market)]
    assert [row[:6] for row in rows] == [g + [""] * (6 - len(g)) for g in given]
    assert rows[0][6:9] == ["状态 / Status", "产品 / Product", "生产企业 / Manufacturer"]
    assert rows[0][-1] == "核验的标签编号 / Label number checked"
    status, note, number = 6, 6 + 16, 6 + 17
    assert [row[status] for row in rows[1:]] == ["有效", "已暂停", "", "有效", "", "未找到"]
    assert rows[2][note] == "已暂停：CEMS data under review" and rows[2][number] == market["cement S"]
    assert rows[6][note] == "没有此编号的标签"
    e = dict(zip(rows[0][6:], rows[1][6:], strict=True))
    assert e["当前评级（1 级最好至 5 级） / Grade now (1 best … 5)"] == "3"
    assert e["与基准值之比 / Ratio to the benchmark"] == "1.100"  # 1100 / 1000
    assert e["签发时评级 / Grade at issue"] == "4"
    assert e["可比组 / Comparable group"] == "水泥 · PCR-CN-CEMENT 1.x 版 · 该类别全部产品 · 1 t"
    assert e["产品类别 / Category"] == "水泥" and e["参考年 / Reference year"] == "2023"


def test_the_batch_xlsx_keeps_numbers_numbers_and_dates_dates(world, market):
    """The buyer's quantities and prices stay numeric cells, the delivery dates date cells; the appended value is a
    number a spreadsheet sums; English headings on request from a Chinese page."""
    chinese = Browser(world.client.app, lang="zh-CN")
    content = check_and_download(chinese, "list.xlsx", xlsx_of(market), "xlsx", headers="en")
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][:6] == BUYER_HEADER and rows[0][6:8] == ["Status", "Product"]
    assert rows[1][:5] == ["黔西水泥", "P·O 42.5", market["cement E"], 1200, 385.5]
    assert isinstance(rows[1][5], datetime) and rows[1][5].date() == date(2026, 3, 1)
    assert rows[2][4] == -12.5 and rows[3][:6] == [None] * 6
    assert rows[1][6] == "有效" and rows[1][9] == 1100  # status in the page's language, value as a number
    assert len(rows) == 7  # heading + 6 rows: the file merges back row for row


def test_the_json_batch_check_keeps_the_buyers_columns_too(world, market):
    response = world.client.post(
        "/api/v1/public/verify-batch",
        params={"column": "标签编号", "lang": "en", "headers": "code"},
        content=csv_of(market),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["供应商"] for row in rows] == ["黔西水泥", "黔西水泥", "", "某公司", "无标签供应商", "无此标签"]
    assert [row["status"] for row in rows] == ["Valid", "Suspended", "", "Valid", "", "Not found"]
    assert rows[0]["grade"] == "3" and rows[0]["group"] == benchmarks.group_name(
        benchmarks.Group.from_key(GROUP_A), "en"
    )


def test_a_column_that_is_not_in_the_list_is_refused_naming_the_field(world, market):
    api = world.client.post(
        "/api/v1/public/verify-batch",
        params={"column": "Z"},
        content=csv_of(market),
        headers={"Content-Type": "text/csv"},
    )
    assert api.status_code == 422
    assert api.json()["errors"] == [
        {
            "field": "column",
            "reason": "no such column",
            "code": "pub.batch.reason.column",
            "params": {"column": "Z", "last": "F"},
        }
    ]
    chinese = Browser(world.client.app, lang="zh-CN")
    page = chinese.post_form(
        "/batch", "/batch", data={"column": "Z"}, files={"file": ("a.csv", csv_of(market), "text/csv")}
    )
    assert page.status_code == 422 and 'id="column-error"' in page.text
    assert "清单中没有“Z”列。请填写列字母（A 至 F）" in page.text


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (("a," * 60 + "PCF-2026-000001-0\n").encode(), "pub.batch.reason.columns"),
        (("x" * 1500 + ",PCF-2026-000001-0\n").encode(), "pub.batch.reason.cell_too_long"),
        (b"\xff\xfe bad", "pub.batch.reason.not_utf8"),  # neither UTF-8 nor GB 18030,
    ],
)
def test_a_list_the_check_cannot_take_is_a_422_with_its_code(world, content, code):
    response = world.client.post("/api/v1/public/verify-batch", content=content, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == code


def test_a_list_in_gb18030_as_chinese_excel_saves_it_is_read(world, market):
    body = "供应商,标签编号\n黔西水泥,{}\n".format(market["cement A"]).encode("gb18030")
    response = world.client.post("/api/v1/public/verify-batch", content=body, headers={"Content-Type": "text/csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][:3] == ["黔西水泥", market["cement A"], "VALID"]


# --- open data -----------------------------------------------------------------------------------------------------


def test_the_registry_is_open_data_in_csv_and_json(world, market):
    as_csv = world.client.get("/api/v1/public/open-data/registry.csv", params={"pcr_id": "PCR-CN-CEMENT"})
    assert as_csv.status_code == 200 and as_csv.content.startswith(b"\xef\xbb\xbf")
    assert as_csv.headers["content-disposition"] == 'attachment; filename="carbon-label-registry.csv"'
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert len(rows) == 9 and {row["category_zh"] for row in rows} == {"水泥"}
    e = next(row for row in rows if row["product"] == "cement E")
    assert (e["grade"], e["grade_ratio"], e["grade_at_issue"], e["group"]) == ("3", "1.1", "4", GROUP_A)
    assert e["province_zh"] == "贵州" and e["url"].endswith(f"/V/{market['cement E']}")
    as_json = world.client.get("/api/v1/public/open-data/registry.json", params={"pcr_id": "PCR-CN-CEMENT"}).json()
    assert [row["number"] for row in as_json] == [row["number"] for row in rows]
    assert next(row for row in as_json if row["product"] == "cement E")["grade_ratio"] == 1.1


def test_the_benchmarks_are_open_data_with_their_basis(world, market):
    rows = list(
        csv.DictReader(
            io.StringIO(world.client.get("/api/v1/public/open-data/benchmarks.csv").content.decode("utf-8-sig"))
        )
    )
    assert [(row["group"], row["year"], row["version"], row["value"], row["in_force"]) for row in rows] == [
        (GROUP_A, "2023", "1", "850.0", "false"),
        (GROUP_A, "2023", "2", "1000.0", "true"),
    ]
    assert rows[1]["basis"] == "cited" and rows[1]["citation_zh"] == "行业平均值 1000，测试来源表 1"
    assert rows[1]["bands"] == "0.6;0.8;1.2;2" and rows[1]["group_name_zh"].startswith("水泥 · ")
    as_json = world.client.get("/api/v1/public/open-data/benchmarks.json").json()
    assert [row["value"] for row in as_json] == [850.0, 1000.0]


def test_the_open_data_page_offers_the_downloads_in_chinese(world):
    page = Browser(world.client.app, lang="zh-CN").get("/open-data")
    assert page.status_code == 200 and "开放数据：标签登记册和基准值" in page.text
    for path in ("registry.csv", "registry.json", "benchmarks.csv", "benchmarks.json"):
        assert f'href="/api/v1/public/open-data/{path}"' in page.text


def test_the_public_json_api_is_documented_with_examples(world):
    spec = world.client.get("/openapi.json").json()
    registry_get = spec["paths"]["/api/v1/public/registry"]["get"]
    assert {"q", "group", "reference_year", "state", "page", "size", "sort"} <= {
        p["name"] for p in registry_get["parameters"]
    }
    assert all(p.get("description") for p in registry_get["parameters"] if p["name"] in ("group", "state", "q"))
    assert "X-Total-Count" in registry_get["responses"]["200"]["headers"]
    assert spec["components"]["schemas"]["RegistryLabel"]["examples"][0]["category"] == {"zh": "水泥", "en": "cement"}
    batch = spec["paths"]["/api/v1/public/verify-batch"]["post"]
    assert "example" in batch["requestBody"]["content"]["text/csv"]
    assert "/api/v1/public/open-data/registry.{fmt}" in spec["paths"]
