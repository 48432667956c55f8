"""The PDF footprint report: the figures of the stored result, the certificates, the versions, the label."""

import io
import re

from pypdf import PdfReader

from tests.builders import item
from tests.conftest import ROOT, inventory, load_example
from tests.labelling import calculated_footprint, issued_label


def text_of(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_report_shows_what_was_calculated(world):
    footprint = calculated_footprint(world, example="aluminium-guizhou-2023.json", gtin=None)["footprint_id"]
    response = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    result = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}").json()["result"]
    text = text_of(response.content)
    assert "Product carbon footprint report" in text and "产品碳足迹报告" in text
    assert f"{result['total_kg_co2e']:,.6g}" in text
    assert "PCR-CN-ALUMINIUM 1.0.0" in text and "cn-2025.1" in text and "bw2calc 3.1.0" in text
    assert result["electricity"]["certificates"][0]["serial"] in "".join(text.split())  # a cell may wrap it
    assert "not certified" in text


def test_a_certified_footprint_names_its_label_and_others_cannot_read_it(world):
    label = issued_label(world, gtin=None)
    footprint = world.call("acme-engineer", "GET", f"/api/v1/applications/{label['application_id']}").json()[
        "footprint_id"
    ]
    assert label["number"] in text_of(
        world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf").content
    )
    assert world.call("cb-verifier", "GET", f"/api/v1/footprints/{footprint}/report.pdf").status_code == 200
    assert world.call("rival-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf").status_code == 404


def test_an_approved_footprint_carries_the_verification_statement_and_its_uncertainty(world):
    """Monte Carlo of 200 iterations: the report prints the 2.5th–97.5th percentile interval and the count; the
    approval's statement, verifier, body and label number follow. Names with markup characters print as typed."""
    from tests.conftest import load_example
    from tests.labelling import act, unique_serials

    product = world.call(
        "acme-engineer", "POST", "/api/v1/products", json={"name": "Cement <b>grey</b> & co", "pcr_id": "PCR-CN-CEMENT"}
    ).json()
    inventory = world.submit("acme-engineer", product["id"], unique_serials(load_example("cement-guizhou-2023.json")))
    job = world.calculate("acme-engineer", inventory.json()["id"], monte_carlo_iterations=200, seed=7)
    footprint = job["footprint_id"]
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint, "certification_body_id": str(world.organisations["cb"])},
    ).json()["id"]
    act(world, "acme-engineer", application, "submit")
    act(world, "cb-verifier", application, "start_review")
    statement = "We verified the inventory <with site visit> & found it fair."
    assert act(world, "cb-verifier", application, "approve", comment="").status_code == 422  # no statement
    assert (
        world.call(
            "cb-verifier", "POST", f"/api/v1/applications/{application}/actions/approve", json={"comment": statement}
        ).status_code
        == 200
    )
    act(world, "cb-verifier", application, "issue_label")
    number = next(
        label["number"]
        for label in world.call("acme-engineer", "GET", "/api/v1/labels").json()
        if label["application_id"] == application
    )

    pdf = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf").content
    text = " ".join(text_of(pdf).split())
    uncertainty = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}").json()["result"]["uncertainty"]
    assert "Verification statement" in text and statement in text and "cb-verifier" in text
    assert text.count(number) >= 2  # the label line and the statement's
    assert "Cement <b>grey</b> & co" in text
    assert "Uncertainty (Monte Carlo)" in text and f"{uncertainty['p2_5_kg_co2e']:,.6g}" in text
    assert f"{uncertainty['p97_5_kg_co2e']:,.6g}" in text and "200 · 7" in text
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "report-verified.pdf").write_bytes(pdf)


def test_markup_in_a_product_name_neither_breaks_the_report_nor_reads_a_file(world, tmp_path):
    """Product names were once read as reportlab markup: an unbalanced tag gave a 500 and an <img> tag embedded a
    file from the server's disk into the report (issue 11 item 2). Now they print as typed."""
    secret = tmp_path / "secret.png"
    from PIL import Image

    Image.new("RGB", (40, 40), "#ff0000").save(secret)
    from tests.conftest import load_example
    from tests.labelling import unique_serials

    for name in (f'<img src="{secret}" width="40" height="40"/>', "<para><font name='nope'>broken", "a </b> b"):
        product = world.call(
            "acme-engineer", "POST", "/api/v1/products", json={"name": name, "pcr_id": "PCR-CN-CEMENT"}
        ).json()
        inventory = world.submit(
            "acme-engineer", product["id"], unique_serials(load_example("cement-guizhou-2023.json"))
        ).json()
        footprint = world.calculate("acme-engineer", inventory["id"])["footprint_id"]
        response = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf")
        assert response.status_code == 200, name
        reader = PdfReader(io.BytesIO(response.content))
        printed = "".join("".join(page.extract_text() for page in reader.pages).split())
        assert "".join(name.split()) in printed  # as typed (a long name may wrap anywhere)
        assert not any(page.images for page in reader.pages)  # no picture came from the server's disk


# --- what the result explains, in the reader's language ------------------------------------------------------------


def test_the_catalogue_words_each_code_in_english_as_the_result_stores_it_and_in_chinese():
    """One English wording per code: the result's (lca_models.results.ENGLISH) and the catalogue's are the same."""
    from footprint_api.core.messages import catalogue
    from lca_models.results import ENGLISH

    en, zh = catalogue("en").messages, catalogue("zh").messages
    assert {code: en[f"code.result.{code}"] for code in ENGLISH} == ENGLISH
    assert all(f"code.result.{code}" in zh for code in ENGLISH)


def english_words(text: str, *allowed: str) -> list[str]:
    for term in (*allowed, "cn-2025.1", "CO2"):
        text = text.replace(term, " ")
    return re.findall(r"[A-Za-z]{3,}", text)


def test_the_location_rule_and_the_derivation_of_a_provincial_factor_in_chinese(engine):
    """Xinjiang under PCR-CN-ALUMINIUM 1.1.0, which asks for the provincial factor: 0.6205 x 0.6231 / 0.5366 (the
    2023 life-cycle national average times Xinjiang's 2022 CO2 factor over the national 2022 CO2 factor)."""
    from footprint_api.exports.report import explained

    result = engine.calculate(inventory(load_example("aluminium-xinjiang-captive-2023.json"))).model_dump(mode="json")
    zh = explained(result, "zh")
    assert zh["location_rule"] == (
        "PCR-CN-ALUMINIUM@1.1.0 要求采用省级电力因子（有发布值时依次取省级、区域电网、全国）：新疆（西北电网）"
    )
    assert zh["location_note"] == (
        "省级因子推算值：0.6205 × 0.6231 / 0.5366（2023 年全国平均生命周期因子 × 新疆 2022 年 CO2 排放因子 / "
        "2022 年全国 CO2 排放因子；新疆 CO2 排放因子核对状态：转录值，尚未核对原文）"
    )
    assert english_words(" ".join([zh["residual_note"], *zh["data_gaps"]])) == []
    en = explained(result, "en")
    assert en["location_rule"] == result["electricity"]["location_rule"]  # the stored English, code for code
    assert en["location_note"] == result["electricity"]["location_factor"]["note"]


def test_a_default_method_names_the_parameter_it_took_in_chinese(engine):
    """Aluminium 1.2.0 without anode-effect data takes the Tier 1 default of the smelter's pot-cell technology (CWPB
    when the inventory states none): the gap names the item, the data quality (4.0) and the technology."""
    from footprint_api.exports.report import explained
    from tests.builders import make_inventory

    data = make_inventory(
        "PCR-CN-ALUMINIUM",
        1000,
        "t",
        [
            item("grid_electricity", 13_500_000, "kWh"),
            item("alumina", 1_920, "t"),
            item("anode_net_consumption", 410, "t"),
        ],
    ).model_dump(mode="json", exclude_none=True)
    data["pcr"]["version"] = "1.2.0"
    result = engine.calculate(inventory(data)).model_dump(mode="json")
    gap = next(g for g in explained(result, "zh")["data_gaps"] if g.startswith("阳极效应"))
    assert gap == (
        "阳极效应持续时间（分钟/槽·日）：未填写，采用 PCR 规定的缺省方法（数据质量评分 4.0；"
        "电解槽型（阳极技术）：中间下料预焙阳极电解槽）"
    )
    assert any("technology = CWPB" in g for g in result["data_gaps"])  # the English, as the JSON API keeps it


def test_a_result_stored_before_explanations_carried_codes_keeps_its_english_text(engine):
    from footprint_api.exports.report import explained

    result = engine.calculate(inventory(load_example("aluminium-xinjiang-captive-2023.json"))).model_dump(mode="json")
    electricity = result["electricity"]
    for stored in (result, electricity, electricity["location_factor"], electricity["residual_factor"]):
        for key in ("data_gaps_explained", "location_rule_explained", "note_explained", "notes"):
            stored.pop(key, None)
    zh = explained(result, "zh")
    assert zh["location_rule"] == electricity["location_rule"] and zh["data_gaps"] == result["data_gaps"]
    assert zh["location_note"] == electricity["location_factor"]["note"]


def test_the_report_gives_each_explanation_in_chinese_and_in_english(world):
    footprint = calculated_footprint(world, example="aluminium-guizhou-2023.json", gtin=None)["footprint_id"]
    text = "".join(
        text_of(world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf").content).split()
    )
    assert "移动设备用柴油：燃料（柴油）的上游供应链未建模" in text
    assert "supplychainofdieseloil(dieselformobileequipment)isnotmodelled" in text  # named, not coded
    assert "推算值：0.6205×0.6096/0.5306" in text and "derived:0.6205x0.6096/0.5306" in text
