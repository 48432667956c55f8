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


def test_the_five_pcrs_are_the_ones_named():
    assert {pcr.id for pcr in PCRS} == {
        "PCR-CN-ALUMINIUM",
        "PCR-CN-CEMENT",
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


def test_the_english_footprint_page_keeps_the_item_codes(world, cement):
    page = Browser(world.client.app, "acme-engineer", lang="en").get(f"/app/footprints/{cement['footprint_id']}")
    shown = cells(page.text)
    assert "clinker=clinker" in shown and "raw_material_acquisition=Raw material acquisition" in shown
    assert "熟料" not in page.text


def test_the_chinese_review_file_names_items_stages_and_parts(world, cement):
    page = Browser(world.client.app, "cb-verifier", lang="zh").get(f"/app/review/{cement['application_id']}")
    assert page.status_code == 200
    shown = cells(page.text)
    assert "clinker=本水泥所用自产熟料" in shown and "raw_material_acquisition=原材料获取" in shown
    assert "<td>clinker</td>" not in page.text and ">raw_material_acquisition<" not in page.text
    assert '本水泥所用自产熟料 <code class="small">clinker</code>' in page.text  # the inventory row keeps the code


def test_the_pdf_report_prints_stages_in_chinese_and_english(world, cement):
    pdf = world.call("acme-engineer", "GET", f"/api/v1/footprints/{cement['footprint_id']}/report.pdf").content
    text = "".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "原材料获取/Rawmaterialacquisition" in text and "生产/Production" in text
    assert "本水泥所用自产熟料/clinker" in text and "过程排放/processemissions" in text
