"""Chinese pages name the product data in Chinese: every PCR item and parameter has a Chinese name (GB/T 24067 and
the sector accounting guidelines' terms), the codes of results (stages, parts, electricity methods) have message
keys in both languages, and the footprint page, the review file and the PDF report print the names, keeping the
code where a verifier needs it. English pages keep the codes as before."""

import io
import re
from typing import get_args

import pytest
from pypdf import PdfReader

from footprint_api.web import i18n
from pcr_rules.models import ElectricityRule, Stage
from pcr_rules.registry import default_registry
from tests.labelling import act, calculated_footprint
from tests.web_client import Browser

PCRS = default_registry().list()


def test_the_six_pcrs_are_the_ones_named():
    """The five categories, and Portland cement clinker (issue 20: the product a grinding station buys)."""
    assert {pcr.id for pcr in PCRS} == {
        "PCR-CN-ALUMINIUM",
        "PCR-CN-CEMENT",
        "PCR-CN-CLINKER",
        "PCR-CN-ELECTRICITY",
        "PCR-CN-FLATGLASS",
        "PCR-CN-STEEL",
    }


@pytest.mark.parametrize("pcr", PCRS, ids=lambda pcr: pcr.id)
def test_every_item_parameter_and_declared_unit_has_a_chinese_name(pcr):
    unnamed = [item.id for item in pcr.items if not item.label_zh]
    unnamed += [f"{item.id}.{p.id}" for item in pcr.items for p in item.parameters if not p.label_zh]
    assert unnamed == [] and pcr.declared_unit.description_zh


def test_the_chinese_names_use_the_sector_terms():
    cement, aluminium = default_registry().get("PCR-CN-CEMENT"), default_registry().get("PCR-CN-ALUMINIUM")
    assert "熟料" in cement.item("clinker").label_zh and "石灰石" in cement.item("limestone").label_zh
    assert cement.item("grid_electricity").label_zh == "外购电力"
    assert "阳极效应" in aluminium.item("anode_effect_minutes").label_zh


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_stage_and_electricity_method_has_a_name_in_both_languages(lang):
    codes = [f"code.stage.{stage.value}" for stage in Stage]
    methods = get_args(ElectricityRule.model_fields["reported_method"].annotation)
    codes += [f"code.method.{method}" for method in methods]
    assert [key for key in codes if key not in i18n.catalogue(lang).messages] == []


@pytest.fixture(scope="module")
def cement(world):
    """A cement footprint under review (Guizhou 2023 example), its result and the names of its codes."""
    footprint = calculated_footprint(world, gtin=None)
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()
    act(world, "acme-engineer", application["id"], "submit")
    act(world, "cb-verifier", application["id"], "start_review")
    result = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint['footprint_id']}").json()["result"]
    return {**footprint, "application_id": application["id"], "result": result}


def test_every_part_of_a_result_has_a_name_in_both_languages(cement):
    parts = {c["part"] for c in cement["result"]["contributions"]}
    for lang in i18n.LANGUAGES:
        assert [p for p in parts if f"code.part.{p}" not in i18n.catalogue(lang).messages] == []


def cells(html: str) -> list[str]:
    """The text of every table cell, with the title (the code) it carries."""
    return [f"{title}={text}" for title, text in re.findall(r'<t[hd][^>]*?title="([^"]*)"[^>]*>([^<]*)<', html)]


def test_the_chinese_footprint_page_names_items_stages_and_parts(world, cement):
    page = Browser(world.client.app, "acme-engineer", lang="zh").get(f"/app/footprints/{cement['footprint_id']}")
    assert page.status_code == 200
    shown = cells(page.text)
    assert "clinker=本水泥所用自产熟料" in shown and "raw_material_acquisition=原材料获取" in shown
    assert "process=过程排放" in shown and "基于市场" in page.text
    assert ">clinker<" not in page.text and ">raw_material_acquisition<" not in page.text
    assert "1 吨所声明品种和强度等级的水泥" in page.text


def test_the_english_footprint_page_names_items_by_their_english_names(world, cement):
    """An English page names each item by the PCR's English name, its code in the cell's title (codes are not
    shown to people, issue 18 defect 7)."""
    page = Browser(world.client.app, "acme-engineer", lang="en").get(f"/app/footprints/{cement['footprint_id']}")
    shown = cells(page.text)
    assert "clinker=clinker produced and used in this cement" in shown
    assert "raw_material_acquisition=Raw material acquisition" in shown
    assert "熟料" not in page.text


def test_the_chinese_review_file_names_items_stages_and_parts(world, cement):
    page = Browser(world.client.app, "cb-verifier", lang="zh").get(f"/app/review/{cement['application_id']}")
    assert page.status_code == 200
    shown = cells(page.text)
    assert "clinker=本水泥所用自产熟料" in shown and "raw_material_acquisition=原材料获取" in shown
    assert "<td>clinker</td>" not in page.text and ">raw_material_acquisition<" not in page.text
    assert '<td class="name" title="clinker">本水泥所用自产熟料</td>' in page.text  # the inventory row: code as title


def test_the_pdf_report_prints_stages_in_chinese_and_english(world, cement):
    pdf = world.call("acme-engineer", "GET", f"/api/v1/footprints/{cement['footprint_id']}/report.pdf").content
    text = "".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "原材料获取/Rawmaterialacquisition" in text and "生产/Production" in text
    assert "本水泥所用自产熟料/clinker" in text and "过程排放/processemissions" in text


# --- places, categories and PCR titles (core.names) ----------------------------------------------------------------


@pytest.mark.parametrize("written", ["Guizhou", "guizhou", " GUIZHOU ", "贵州", "贵州省"])
def test_a_province_is_named_alike_however_it_was_written(written):
    from footprint_api.core import names

    assert names.province_key(written) == "Guizhou"
    assert (names.province_name(written, "zh"), names.province_name(written, "en")) == ("贵州", "Guizhou")


def test_a_name_that_is_no_province_is_shown_as_written():
    from footprint_api.core import names

    assert names.province_key("Atlantis") is None and names.province_name(" Atlantis ", "zh") == "Atlantis"
    assert names.province_name(None, "zh") == ""


def test_grid_regions_and_categories_are_named_in_the_readers_language():
    from footprint_api.core import names

    assert (
        names.grid_region_name("south", "zh") == "南方电网" and names.grid_region_name("Atlantic", "zh") == "Atlantic"
    )
    assert names.pcr_category("PCR-CN-CEMENT", "zh") == "水泥" and names.pcr_category("PCR-CN-CEMENT", "en") == "cement"
    assert names.pcr_category("PCR-CN-NOTHING", "zh") == "PCR-CN-NOTHING"
    assert names.category_name("zh", "manganese", "电解金属锰", "electrolytic manganese") == "电解金属锰"
    assert names.category_name("en", "manganese", "电解金属锰", None) == "manganese"


def test_a_pcr_title_is_its_chinese_title_on_a_chinese_page():
    """Defect 5: PCR titles showed in English on Chinese pages. The Chinese title where the PCR has one, else the
    name from its category; an English page keeps the registered title."""
    from footprint_api.core import names

    cement = default_registry().get("PCR-CN-CEMENT").model_copy(update={"title_zh": None})
    assert names.pcr_title(cement, "zh") == "水泥产品种类规则" and names.pcr_title(cement, "en") == cement.title
    titled = cement.model_copy(update={"title_zh": "通用硅酸盐水泥碳足迹核算规则"})
    assert names.pcr_title(titled, "zh") == "通用硅酸盐水泥碳足迹核算规则"


def summary_of(html: str) -> str:
    """The PCR page's heading, lead and summary card (the page's own parts, before the document's sections)."""
    return (
        html.split('<section class="card pcr-summary"', 1)[0]
        + html.split('<section class="card pcr-summary"')[1].split("</section>", 1)[0]
    )


def test_the_chinese_pcr_page_is_titled_in_chinese_and_names_the_english_title_as_such(world):
    """Defect 5: the PCR library's page printed the registered English title in its summary on a Chinese page."""
    cement = default_registry().get("PCR-CN-CEMENT")
    heading = cement.title_zh or "水泥产品种类规则"  # the Chinese title, else the name from the category
    page = Browser(world.client.app, lang="zh-CN").get(f"/pcrs/{cement.id}/{cement.version}")
    assert page.status_code == 200
    own = summary_of(page.text)
    assert f"<title>{heading}" in own and f"<br>{heading}</dd>" in own
    assert own.count(cement.title) == 1 and f'英文标题：<span lang="en">{cement.title}</span>' in own
    english = summary_of(Browser(world.client.app, lang="en").get(f"/pcrs/{cement.id}/{cement.version}").text)
    assert "Product category rules: cement" in english and f'Chinese title: <span lang="zh-CN">{heading}' in english


def test_the_pcr_library_lists_a_version_by_its_chinese_title():
    from footprint_api.web.routes.pcr_library import title_in

    zh, en = i18n.catalogue("zh"), i18n.catalogue("en")
    row = {"id": "PCR-CN-MN", "title": "Electrolytic manganese", "title_zh": "电解金属锰产品种类规则"}
    assert title_in(zh, {**row, "product_category": "manganese"}) == "电解金属锰产品种类规则"
    assert title_in(zh, {**row, "title_zh": None, "product_category": "cement"}) == "水泥产品种类规则"
    assert title_in(en, {**row, "product_category": "cement"}) == "Product category rules: cement"
    assert title_in(zh, {**row, "title_zh": None, "product_category": None}) == "Electrolytic manganese"
