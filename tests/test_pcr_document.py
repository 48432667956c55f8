"""The PCR as a published document (PDF and the pages' sections), its openEPD metadata and its JSON form."""

import io
import json
import re
from datetime import date

import jinja2
import pytest
import yaml
from pypdf import PdfReader

from footprint_api.core.messages import catalogue
from footprint_api.exports.pcr_document import (
    WIDTHS_MM,
    PcrComment,
    PcrRecordView,
    pcr_html_sections,
    pcr_pdf,
    pcr_title,
)
from footprint_api.exports.pcr_metadata import openepd_pcr, pcr_json
from footprint_api.exports.report import PAGE_WIDTH_MM
from pcr_rules.registry import default_registry
from tests.conftest import ROOT

LOCALES = ROOT / "footprint_api" / "core" / "locales"
ZH, EN = catalogue("zh"), catalogue("en")


@pytest.fixture(scope="module")
def aluminium():
    return default_registry().get("PCR-CN-ALUMINIUM", "1.1.0")


@pytest.fixture(scope="module")
def record():
    return PcrRecordView(
        status="published",
        issuer_name="中国有色金属工业协会",
        published_at=date(2025, 3, 1),
        effective_from=date(2025, 4, 1),
        valid_until=date(2030, 3, 31),
        comments=[
            PcrComment(
                "items[anode_effect_minutes]",
                "Smelters without anode-effect monitoring cannot report AEM.",
                "Guizhou Aluminium Co.",
                "accepted",
                "Tier 1 default by cell technology added.",
            ),
            ("electricity.location_level", "建议保留全国电网因子。", "某铝业集团", "rejected", "省级因子按年发布。"),
        ],
        previous_version=default_registry().get("PCR-CN-ALUMINIUM", "1.0.0"),
    )


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def sections_of(pcr, lang="zh"):
    return {s.key: s for s in pcr_html_sections(pcr, lang)}


def squeezed(text: str) -> str:
    """The text without whitespace: a table cell may wrap a phrase or a path."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def zh_text(aluminium, record):
    return text_of(pcr_pdf(aluminium, record, "zh"))


@pytest.fixture(scope="module")
def en_text(aluminium, record):
    return text_of(pcr_pdf(aluminium, record, "en"))


def test_a_chinese_document_has_the_chinese_title_and_item_names_chinese_first(zh_text):
    text = squeezed(zh_text)
    assert "电解铝产品种类规则" in text and "PCR-CN-ALUMINIUM" in text and "1.1.0" in text
    for name in ("氧化铝", "预焙阳极净耗", "阳极效应持续时间（分钟/槽·日）", "预焙阳极含硫量（质量分数）"):
        assert name in text
    assert text.index("系统边界") < text.index("Systemboundary")
    assert "已发布" in text and "中国有色金属工业协会" in text and "2025-04-01" in text and "2030-03-31" in text


def test_an_english_document_has_the_english_title_and_item_names_english_first(en_text):
    text = squeezed(en_text)
    assert "Productcategoryrules:primaryaluminium" in text
    for name in ("alumina", "netprebakedanodeconsumption", "sulphurmassfractionofbakedanodes"):
        assert name in text
    assert text.index("Systemboundary") < text.index("系统边界")
    assert "Published" in text and "Effectivefrom" in text


def test_the_rules_print_their_boundary_ranges_and_methods(en_text):
    text = squeezed(en_text)
    assert "12000–16000" in text  # grid_electricity, kWh per t
    assert "1.85–2" in text  # alumina, t per t
    assert "formulapfc_slope(technology:CWPB)" in text
    assert "whennotgiven:pfc_tier1(technology:CWPB),DQR4,relativeSD100%" in text
    assert squeezed("spent pot lining treatment (cut-off, < 1 %)") in text
    assert squeezed("GB/T 32150-2015 (fuel combustion of captive power units)") in text


def test_the_comment_log_shows_each_comment_with_its_answer(zh_text, en_text):
    zh, en = squeezed(zh_text), squeezed(en_text)
    assert "征求意见及处理" in zh and "建议保留全国电网因子。" in zh and "某铝业集团" in zh
    assert "采纳" in zh and "不采纳" in zh and "省级因子按年发布。" in zh
    assert "Consultationcommentsandanswers" in en and "GuizhouAluminiumCo." in en
    assert "Accepted" in en and "Rejected" in en and "Tier1defaultbycelltechnologyadded." in en


def test_the_changes_from_the_previous_version_are_listed(zh_text, en_text):
    for text in (squeezed(zh_text), squeezed(en_text)):
        assert "items[anode_effect_minutes].when_absent" in text
        assert "electricity.location_level" in text and "electricity.captive_fuels.natural_gas" in text
    assert "与上一版本相比的变更" in squeezed(zh_text)
    assert "Changesfromthepreviousversion" in squeezed(en_text)


def byline(pdf: bytes) -> str:
    """The line under the title: id and version, status, issuer."""
    lines = PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines()
    return next(line for line in lines if line.startswith("PCR-CN-ALUMINIUM 1.1.0"))


def test_the_byline_names_the_issuer(aluminium, record):
    assert byline(pcr_pdf(aluminium, record, "zh")) == "PCR-CN-ALUMINIUM 1.1.0 · 已发布 · 中国有色金属工业协会"


def test_seed_data_is_printed_as_such_where_the_issuer_would_be(aluminium):
    seeded = PcrRecordView(status="published", issuer_name="", seeded=True)
    assert (
        byline(pcr_pdf(aluminium, seeded, "zh")) == "PCR-CN-ALUMINIUM 1.1.0 · 已发布 · 平台初始数据（尚未指定标准机构）"
    )
    assert byline(pcr_pdf(aluminium, seeded, "en")) == (
        "PCR-CN-ALUMINIUM 1.1.0 · Published · Seeded by the platform (no standards body yet)"
    )
    fields = sections_of_record(aluminium, seeded)["document"].fields
    assert {f.label.main: f.value for f in fields}[ZH("pcr.field.issuer")] == "平台初始数据（尚未指定标准机构）"


def test_a_version_without_an_issuer_prints_no_empty_one(aluminium):
    anonymous = PcrRecordView(status="published", issuer_name="")
    pdf = pcr_pdf(aluminium, anonymous, "zh")
    assert byline(pdf) == "PCR-CN-ALUMINIUM 1.1.0 · 已发布"  # no trailing separator
    assert PdfReader(io.BytesIO(pdf)).metadata.get("/Author", "") == ""
    assert ZH("pcr.field.issuer") not in [
        f.label.main for f in sections_of_record(aluminium, anonymous)["document"].fields
    ]


def sections_of_record(pcr, record, lang="zh"):
    return {s.key: s for s in pcr_html_sections(pcr, lang, record)}


def test_changed_codes_are_named_in_the_readers_language_as_the_rules_name_them(aluminium, record):
    """1.0.0 -> 1.1.0 of aluminium: the location-based grid factor went from national to provincial."""
    for lang, t in (("zh", ZH), ("en", EN)):
        changes = sections_of_record(aluminium, record, lang)["changes"].table.rows
        row = next(r for r in changes if r.cells[0].main == "electricity.location_level")
        assert [c.main for c in row.cells[2:]] == [
            t("pcr.location_level.national"),  # 全国电网排放因子
            t("pcr.location_level.province"),  # 省级排放因子，无则区域电网，再无则全国
        ]


def test_every_kind_of_code_in_the_changes_is_named(aluminium):
    """A previous version that differed in each coded field: allocation method, reported method, technologies, an
    item's kind, stage and sector."""
    before = aluminium.model_dump(mode="json")
    before["allocation"]["method"] = "mass"
    before["electricity"]["reported_method"] = "location_based"
    before["electricity"]["eligible_technologies"].remove("ocean")  # added in the version compared
    fuel = next(item for item in before["items"] if item["kind"] == "fuel")
    fuel["sector"] = "energy" if fuel["sector"] == "industry" else "industry"
    alumina = next(item for item in before["items"] if item["id"] == "alumina")
    alumina["stage"] = "transport"
    record = PcrRecordView(status="draft", issuer_name="CNIA", previous_version=before)
    rows = {
        r.cells[0].main: [c.main for c in r.cells[2:]]
        for r in sections_of_record(aluminium, record)["changes"].table.rows
    }
    assert rows["allocation.method"] == [ZH("pcr.allocation.mass"), ZH(f"pcr.allocation.{aluminium.allocation.method}")]
    assert rows["electricity.reported_method"] == [
        ZH("code.method.location_based"),
        ZH(f"code.method.{aluminium.electricity.reported_method}"),
    ]
    assert rows["electricity.eligible_technologies"] == ["", ZH("inv.tech.ocean")]  # added: 海洋能
    assert rows["items[alumina].stage"] == [ZH("code.stage.transport"), ZH("code.stage.raw_material_acquisition")]
    sector = rows[f"items[{fuel['id']}].sector"]
    assert sector == [ZH(f"pcr.sector.{fuel['sector']}"), ZH(f"pcr.sector.{aluminium.item(fuel['id']).sector}")]
    assert not any(code in cell for cells in rows.values() for cell in cells for code in ("mass", "transport", "ocean"))


def test_a_first_version_says_it_has_nothing_to_compare_with_and_no_comments(aluminium):
    record = PcrRecordView(status="draft", issuer_name="CNIA")
    text = squeezed(text_of(pcr_pdf(aluminium, record, "en")))
    assert "Firstversion:thereisnopreviousversiontocomparewith." in text
    assert "Nocommentswererecorded." in text and "Draft" in text


def test_user_strings_print_literally_never_as_markup(aluminium):
    """reportlab reads Paragraph text as markup: an unescaped `<b>&</b>` would be bold, or an error."""
    pcr = aluminium.model_copy(update={"title": "Aluminium <b>&</b> alloys"})
    record = PcrRecordView(
        status="consultation",
        issuer_name="Acme <Standards> & Co",
        comments=[("boundary", "Add <i>casting</i> & rolling &amp; more", "Org <br/>", None, "")],
    )
    for lang in ("zh", "en"):
        text = text_of(pcr_pdf(pcr, record, lang))
        assert "Aluminium <b>&</b> alloys" in text
        assert "Acme <Standards> & Co" in text
        assert "Add <i>casting</i> & rolling &amp; more" in text
        assert "Org <br/>" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("pcr", default_registry().list(), ids=lambda p: p.ref)
def test_every_pcr_renders_in_both_languages(pcr, lang):
    pdf = pcr_pdf(pcr, PcrRecordView(status="published", issuer_name="CNIA"), lang)
    text = squeezed(text_of(pdf))
    assert squeezed(pcr_title(pcr, lang).main) in text
    assert all(squeezed(item.label_zh if lang == "zh" else item.label)[:6] in text for item in pcr.items)


def test_every_table_fits_the_page_width(aluminium, record):
    assert all(sum(widths) == PAGE_WIDTH_MM for widths in WIDTHS_MM.values())
    for section in pcr_html_sections(aluminium, "zh", record):
        if section.table:
            assert len(section.table.columns) == len(WIDTHS_MM[section.key])
            assert all(len(row.cells) == len(WIDTHS_MM[section.key]) for row in section.table.rows)


def test_the_sections_without_a_record_are_the_rules_alone(aluminium, record):
    keys = [s.key for s in pcr_html_sections(aluminium, "zh")]
    assert keys == [
        "document",
        "scope",
        "boundary",
        "cut_off",
        "allocation",
        "data_quality",
        "electricity",
        "measured_emissions",
        "parameters",
        "items",
        "standards",
        "notes",
    ]
    assert [s.key for s in pcr_html_sections(aluminium, "zh", record)] == [*keys, "comments", "changes"]
    items = next(s for s in pcr_html_sections(aluminium, "zh") if s.key == "items")
    assert [row.cells[0].main for row in items.table.rows][:2] == [
        "交流电耗（电解系列及辅助设施；电网及自备电厂）",
        "氧化铝",
    ]
    assert items.table.rows[1].cells[0].sub == "alumina\nalumina"  # English name, then the id


POT_CELL_TECHNOLOGY = {
    "id": "pot_cell_technology",
    "label": "pot-cell technology of the potlines",
    "label_zh": "电解槽型（阳极技术）",
    "choices": [
        {"value": "CWPB", "label": "centre-worked prebake", "label_zh": "中间下料预焙阳极电解槽"},
        {"value": "VSS", "label": "vertical stud Soederberg", "label_zh": "上插棒自焙阳极电解槽"},
    ],
    "default": "CWPB",
}


def with_pot_cell_technology(pcr):
    """The PCR with a product-system parameter that the PFC formula takes its technology from."""
    data = pcr.model_dump()
    data["parameters"] = [POT_CELL_TECHNOLOGY]
    aem = next(item for item in data["items"] if item["id"] == "anode_effect_minutes")
    aem["formula_config"] = {"technology": {"parameter": "pot_cell_technology"}}
    return type(pcr).model_validate(data)


def test_product_system_parameters_print_their_choices_and_default(aluminium):
    pcr = with_pot_cell_technology(aluminium)
    sections = {s.key: s for s in pcr_html_sections(pcr, "zh")}
    row = sections["parameters"].table.rows[0]
    assert row.cells[0].main == "电解槽型（阳极技术）" and row.cells[0].sub.endswith("pot_cell_technology")
    assert row.cells[3].main == "CWPB: 中间下料预焙阳极电解槽\nVSS: 上插棒自焙阳极电解槽"
    assert row.cells[4].main == "CWPB"
    aem = next(r for r in sections["items"].table.rows if r.cells[0].sub.endswith("anode_effect_minutes"))
    assert aem.cells[5].main == "公式 pfc_slope (technology: 按参数 pot_cell_technology)"
    assert "产品系统参数" in text_of(pcr_pdf(pcr, PcrRecordView(status="draft", issuer_name="CNIA"), "zh"))
    assert sections_of(aluminium)["parameters"].empty == "无"  # a PCR without such parameters says so


def test_an_unknown_language_is_refused(aluminium):
    with pytest.raises(ValueError):
        pcr_html_sections(aluminium, "fr")


def test_the_pages_template_renders_the_same_sections_escaped(aluminium):
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "footprint_api" / "web" / "templates"), autoescape=True
    )
    macro = environment.get_template("pcr/_sections.html").module.pcr_sections
    pcr = aluminium.model_copy(update={"title": "Aluminium <b>&</b> alloys"})
    record = PcrRecordView(
        status="review", issuer_name="CNIA", comments=[("notes", "<script>x</script>", "Org", None, "")]
    )
    html = str(macro(pcr_html_sections(pcr, "en", record), "zh-CN"))
    assert "Aluminium &lt;b&gt;&amp;&lt;/b&gt; alloys" in html and "<script>" not in html
    assert 'id="pcr-items"' in html and "net prebaked anode consumption" in html and "Awaiting an answer" in html


def test_a_tables_scrolling_region_is_named_apart_from_its_section(aluminium, record):
    """A section is a landmark named by its heading; the region its table scrolls in is a second one, which must
    not carry the same name (axe: landmark-unique)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "footprint_api" / "web" / "templates"), autoescape=True
    )
    macro = environment.get_template("pcr/_sections.html").module.pcr_sections
    for lang, t in (("zh", ZH), ("en", EN)):
        sections = pcr_html_sections(aluminium, lang, record)
        html = str(macro(sections, "en"))
        regions = re.findall(r'role="region" aria-label="([^"]*)"', html)
        tables = [s for s in sections if s.table]
        assert regions == [t("pcr.doc.table", heading=s.heading.main) for s in tables]  # 表格：清单项
        assert not set(regions) & {s.heading.main for s in sections}
        assert len(set(regions)) == len(regions) == len(tables) >= 3  # the items, the comments, the changes


def test_the_document_messages_exist_in_both_languages_and_nowhere_else():
    zh, en = (yaml.safe_load((LOCALES / lang / "pcr.yaml").read_text(encoding="utf-8")) for lang in ("zh", "en"))
    assert set(zh) == set(en) and all(key.startswith("pcr.") for key in zh)
    for path in LOCALES.glob("*/*.yaml"):
        if path.name != "pcr.yaml":
            assert not set(zh) & set(yaml.safe_load(path.read_text(encoding="utf-8")) or {}), path


def test_openepd_metadata_carries_the_pcr_fields(aluminium, record):
    metadata = openepd_pcr(aluminium, record, "https://pcf.example.cn/", as_of=date(2026, 1, 1))
    assert metadata["issuer"] == {"name": "中国有色金属工业协会"}
    assert metadata["issuer_doc_id"] == "PCR-CN-ALUMINIUM" and metadata["version"] == "1.1.0"
    assert metadata["name"] == aluminium.title and metadata["short_name"] == "primary aluminium"
    assert metadata["date_of_issue"] == "2025-04-01"  # the effective date, not the day of publication
    assert metadata["valid_until"] == "2030-03-31" and metadata["status"] == "Published"
    assert metadata["declared_units"] == [{"qty": 1.0, "unit": "t"}]
    assert metadata["doc"] == "https://pcf.example.cn/pcrs/PCR-CN-ALUMINIUM/1.1.0/document.pdf"  # the library's
    assert metadata["attachments"] == {"JSON": "https://pcf.example.cn/pcrs/PCR-CN-ALUMINIUM/1.1.0/pcr.json"}
    assert metadata["product_classes"] == {"pcf.example.cn": "electrolytic_aluminium"}
    assert metadata["alt_ids"] == {"pcf.example.cn": "PCR-CN-ALUMINIUM@1.1.0"}
    assert metadata["applicable_in"] == ["CN"]
    assert metadata["ext"]["pcf_service"] == {
        "status": "published",
        "published_at": "2025-03-01",
        "previous_version": "1.0.0",
    }
    json.dumps(metadata)  # plain JSON values only


@pytest.mark.parametrize(
    ("status", "valid_until", "transition_until", "as_of", "expected"),
    [
        ("consultation", None, None, date(2026, 1, 1), "InDevelopment"),
        ("review", None, None, date(2026, 1, 1), "InDevelopment"),
        ("superseded", date(2030, 1, 1), date(2026, 6, 30), date(2026, 1, 1), "Published"),  # in transition
        ("superseded", date(2030, 1, 1), date(2026, 6, 30), date(2026, 7, 1), "Expired"),
        ("published", date(2020, 1, 1), None, date(2026, 1, 1), "Sunset"),  # more than five years past
        ("expired", date(2025, 1, 1), None, date(2026, 1, 1), "Expired"),
    ],
)
def test_openepd_status_follows_the_life_cycle_and_the_dates(
    aluminium, status, valid_until, transition_until, as_of, expected
):
    record = PcrRecordView(
        status=status, issuer_name="CNIA", valid_until=valid_until, transition_until=transition_until
    )
    metadata = openepd_pcr(aluminium, record, "https://pcf.example.cn", as_of=as_of)
    assert metadata["status"] == expected
    if transition_until:
        assert metadata["valid_until"] == transition_until.isoformat()  # the last day one may declare against it


def test_the_json_form_is_the_model_in_a_stable_key_order(aluminium):
    data = pcr_json(aluminium)
    assert data == aluminium.model_dump(mode="json")
    assert list(data) == list(type(aluminium).model_fields)
    assert list(data["electricity"]["captive_fuels"]) == ["anthracite", "bituminous_coal", "natural_gas"]
    shuffled = aluminium.model_dump()
    shuffled["electricity"]["captive_fuels"] = dict(reversed(shuffled["electricity"]["captive_fuels"].items()))
    assert json.dumps(pcr_json(type(aluminium).model_validate(shuffled)), ensure_ascii=False) == json.dumps(
        data, ensure_ascii=False
    )


def test_the_document_names_the_product_class_and_the_rules_between_items():
    """Cement 1.2.0 classifies by cement type and strength class, requires own or purchased clinker, and the kiln's
    coal where the plant makes its own clinker: the document (page and PDF) says all three, in the reader's
    language."""
    cement = default_registry().get("PCR-CN-CEMENT", "1.2.0")
    sections = {s.key: s for s in pcr_html_sections(cement, "zh")}
    scope = {f.label.main: f.value for f in sections["scope"].fields}
    assert scope["产品类别参数"] == "水泥品种（GB 175-2023）、强度等级（GB 175-2023）"
    items = {f.label.main: f.value for f in sections["items"].fields}
    assert items["至少填写其一"] == ["clinker、purchased_clinker 至少填写一项"]
    coal = next(r for r in sections["items"].table.rows if r.cells[0].sub.endswith("kiln_coal"))
    assert "填写 clinker 时必填" in coal.cells[3].sub
    english = {s.key: s for s in pcr_html_sections(cement, "en")}
    assert {f.label.main: f.value for f in english["items"].fields} == {
        "At least one of": ["at least one of clinker, purchased_clinker"]
    }
