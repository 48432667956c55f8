"""The inventory form of a PCR with choice parameters: aluminium 1.2.0 asks for the smelter's pot-cell technology
once for the product system (`parameters.pot_cell_technology`, CWPB unless stated). The form offers its codes by
name in the reader's language, stores the choice as the JSON API does, shows an unknown code at its select, keeps
the choice in a new version and in the inventory and footprint pages, and the comparison of two versions lists a
changed technology.

Without anode-effect data the PFC is IPCC 2006 Vol. 3 Table 4.15's Tier 1 default of the technology, per t Al, with
the GWP100 of the service's method (IPCC 2021, AR6: CF4 7,380, C2F6 12,400; checked below against the footprint's
own per-gas masses):

    VSS   CF4 0.8 kg x 7,380 + C2F6 0.04 kg x 12,400 = 5,904 + 496 = 6,400 kg CO2e/t
    CWPB  CF4 0.4 kg x 7,380 + C2F6 0.04 kg x 12,400 = 2,952 + 496 = 3,448 kg CO2e/t
"""

import re
from html import unescape
from types import SimpleNamespace

import pytest

from footprint_api.web import i18n
from footprint_api.web.routes.inventory import FormReading, _check, _labels, _prefill
from pcr_rules import default_registry
from pcr_rules.models import Choice, ParameterSpec
from tests.test_choice_parameters import smelter_workbook
from tests.test_web_inventory import app, error_of, error_summary, input_of, new_product, stored, upload  # noqa: F401 (fixture: the app)
from tests.web_client import Browser

TECHNOLOGY = "param.pot_cell_technology.choice"
REL = 1e-6  # Brightway stores matrix values as float32


@pytest.fixture(scope="module")
def chinese(app):
    return Browser(app, "acme-engineer", lang="zh")


@pytest.fixture(scope="module")
def smelter(world):
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/facilities",
        json={"name": "Qingzhen smelter", "province": "Guizhou", "grid_region": "South"},
    )
    return response.json()


def aluminium_pcr():
    return default_registry().get("PCR-CN-ALUMINIUM", "1.2.0")


def smelter_form(product_id: str, facility_id: str, technology: str | None, **changes) -> dict:
    """1,000 t of aluminium without anode-effect data: 13,500 kWh, 1.92 t alumina, 0.41 t anodes per t, all within
    the PCR's plausible ranges; the technology only when stated."""
    fields = {
        "product_id": product_id,
        "facility_id": facility_id,
        "pcr_version": "1.2.0",
        "reference_period.start": "2023-01-01",
        "reference_period.end": "2023-12-31",
        "production.amount": "1000",
        "production.unit": "t",
        "item.grid_electricity.amount": "13500000",
        "item.grid_electricity.unit": "kWh",
        "item.alumina.amount": "1920",
        "item.alumina.unit": "t",
        "item.anode_net_consumption.amount": "410",
        "item.anode_net_consumption.unit": "t",
    }
    if technology is not None:
        fields[TECHNOLOGY] = technology
    return {**fields, **changes}


def submitted(world, browser, facility, technology: str | None, product: dict | None = None) -> dict:
    product = product or new_product(world, "PCR-CN-ALUMINIUM")
    fields = smelter_form(product["id"], facility["id"], technology)
    response = browser.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 303, error_summary(response.text)
    return {"product": product, "inventory_id": response.headers["location"].rsplit("/", 1)[1]}


def pfc_default(result: dict) -> float:
    return sum(
        c["kg_co2e"] for c in result["contributions"] if (c["item"], c["part"]) == ("anode_effect_minutes", "default")
    )


def footprint_of(world, inventory_id: str) -> dict:
    job = world.calculate("acme-engineer", inventory_id)
    assert job["status"] == "succeeded", job
    return world.call("acme-engineer", "GET", f"/api/v1/footprints/{job['footprint_id']}").json()


def options_of(html: str, name: str) -> list[tuple[str, str, bool]]:
    """(value, text, selected) of every option of the select named `name`."""
    select = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [
        (value, unescape(text).strip(), bool(selected))
        for value, selected, text in re.findall(r'<option value="([^"]*)"( selected)?>(.*?)</option>', select, re.S)
    ]


# --- the form ----------------------------------------------------------------------------------------------------------


def test_the_form_asks_for_the_technology_once_for_the_product_system_by_chinese_name(world, chinese):
    product = new_product(world, "PCR-CN-ALUMINIUM")
    page = chinese.get(f"/app/inventories/new?product={product['id']}").text
    assert 'id="sec-parameters"' in page and "产品系统参数" in page
    assert options_of(page, TECHNOLOGY) == [
        ("", "PCR 缺省值：CWPB 中间下料预焙阳极电解槽", False),  # first, so chosen: the PCR's default
        ("CWPB", "CWPB 中间下料预焙阳极电解槽", False),
        ("SWPB", "SWPB 边部加工预焙阳极电解槽", False),
        ("VSS", "VSS 上插棒自焙阳极电解槽", False),
        ("HSS", "HSS 侧插棒自焙阳极电解槽", False),
    ]
    assert "电解槽型（阳极技术）" in page


def test_the_english_form_names_the_technologies_in_english(world, app):
    product = new_product(world, "PCR-CN-ALUMINIUM")
    page = Browser(app, "acme-engineer").get(f"/app/inventories/new?product={product['id']}").text
    assert ("VSS", "VSS vertical stud Soederberg", False) in options_of(page, TECHNOLOGY)


def test_a_pcr_without_product_parameters_has_no_such_section(world, chinese):
    # electricity (1.0.0, its latest) has none; cement has had its product class since 1.2.0 (issue 20), steel its
    # product form since 2.0.0 and flat glass its thickness range since 1.1.0 (issue 21)
    product = new_product(world, "PCR-CN-ELECTRICITY")
    page = chinese.get(f"/app/inventories/new?product={product['id']}").text
    assert 'id="sec-parameters"' not in page and 'name="param.' not in page


@pytest.mark.parametrize(
    ("technology", "kg_co2e_per_t", "cf4_kg_per_t"),
    [("VSS", 6_400, 0.8), ("CWPB", 3_448, 0.4), (None, 3_448, 0.4)],  # None: the PCR's default, CWPB
)
def test_the_chosen_technology_gives_its_tier1_pfc_default(
    world, chinese, smelter, technology, kg_co2e_per_t, cf4_kg_per_t
):
    """Per t Al without anode-effect data: VSS 0.8 x 7,380 + 0.04 x 12,400 = 6,400; CWPB 0.4 x 7,380 + 0.04 x
    12,400 = 3,448 kg CO2e."""
    made = submitted(world, chinese, smelter, technology)
    [record] = stored(world, made["product"]["id"])
    assert record["data"]["parameters"] == ({"pot_cell_technology": {"choice": technology}} if technology else {})
    result = footprint_of(world, made["inventory_id"])["result"]
    assert pfc_default(result) == pytest.approx(kg_co2e_per_t, rel=REL)
    cf4, c2f6 = result["per_gas"]["CF4"], result["per_gas"]["C2F6"]
    assert cf4["mass_kg"] == pytest.approx(cf4_kg_per_t, rel=REL) and c2f6["mass_kg"] == pytest.approx(0.04, rel=REL)
    # the method's GWP100, as the footprint applied it: AR6 CF4 7,380 and C2F6 12,400
    assert cf4["kg_co2e"] / cf4["mass_kg"] == pytest.approx(7_380, rel=REL)
    assert c2f6["kg_co2e"] / c2f6["mass_kg"] == pytest.approx(12_400, rel=REL)
    assert kg_co2e_per_t == pytest.approx(cf4_kg_per_t * 7_380 + 0.04 * 12_400)


def test_an_unknown_technology_is_shown_at_its_select_in_chinese_and_nothing_is_stored(world, chinese, smelter):
    """A code the PCR does not list (a form sent from an older page, or crafted): 422, the reason at the select in
    the reader's language, with the parameter's codes; the summary names the parameter."""
    product = new_product(world, "PCR-CN-ALUMINIUM")
    fields = smelter_form(product["id"], smelter["id"], "PFPB")
    response = chinese.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422
    reason = error_of(response.text, TECHNOLOGY)
    assert reason.startswith("“PFPB”不是“电解槽型（阳极技术）”的可选项。") and "VSS 上插棒自焙阳极电解槽" in reason
    assert 'aria-invalid="true"' in input_of(response.text, TECHNOLOGY)
    assert "电解槽型（阳极技术） : “PFPB”不是" in " ".join(error_summary(response.text).split())
    assert stored(world, product["id"]) == []


def test_an_unknown_technology_is_named_in_english_on_an_english_page(world, app, smelter):
    product = new_product(world, "PCR-CN-ALUMINIUM")
    english = Browser(app, "acme-engineer")
    fields = smelter_form(product["id"], smelter["id"], "PFPB")
    response = english.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422
    assert error_of(response.text, TECHNOLOGY).startswith("“PFPB” is not a choice of pot-cell technology")


def test_a_new_version_from_this_one_keeps_the_chosen_technology(world, chinese, smelter):
    made = submitted(world, chinese, smelter, "VSS")
    page = chinese.get(f"/app/inventories/new?product={made['product']['id']}&source={made['inventory_id']}").text
    assert ("VSS", "VSS 上插棒自焙阳极电解槽", True) in options_of(page, TECHNOLOGY)
    fields = smelter_form(made["product"]["id"], smelter["id"], "VSS")
    again = chinese.post_form(f"/app/inventories/new?product={made['product']['id']}", "/app/inventories", fields)
    assert again.status_code == 303
    assert [r["data"]["parameters"] for r in stored(world, made["product"]["id"])] == [
        {"pot_cell_technology": {"choice": "VSS"}}
    ] * 2


def test_the_inventory_page_shows_the_technology_by_name_and_the_default_when_none_was_stated(world, chinese, smelter):
    stated = submitted(world, chinese, smelter, "VSS")
    page = unescape(chinese.get(f"/app/inventories/{stated['inventory_id']}").text)
    assert re.search(r'<dd data-parameter="pot_cell_technology">上插棒自焙阳极电解槽 <code>VSS</code></dd>', page)
    defaulted = submitted(world, chinese, smelter, None)
    page = unescape(chinese.get(f"/app/inventories/{defaulted['inventory_id']}").text)
    assert '中间下料预焙阳极电解槽 <code>CWPB</code> <span class="muted">(PCR 缺省值)</span>' in page


def test_the_footprint_page_shows_the_technology_it_was_calculated_with(world, chinese, smelter):
    made = submitted(world, chinese, smelter, "VSS")
    footprint = footprint_of(world, made["inventory_id"])
    page = unescape(chinese.get(f"/app/footprints/{footprint['id']}").text)
    assert "电解槽型（阳极技术）" in page and "上插棒自焙阳极电解槽 <code>VSS</code>" in page


def test_the_comparison_of_two_versions_lists_a_changed_technology(world, chinese, smelter):
    """Version 1 CWPB, version 2 VSS, the same activity data: the technology is the one input changed, and the PFC
    rises by 6,400 - 3,448 = 2,952 kg CO2e/t."""
    first = submitted(world, chinese, smelter, "CWPB")
    second = submitted(world, chinese, smelter, "VSS", product=first["product"])
    a, b = footprint_of(world, first["inventory_id"]), footprint_of(world, second["inventory_id"])
    assert pfc_default(b["result"]) - pfc_default(a["result"]) == pytest.approx(2_952, rel=REL)
    page = chinese.get(f"/app/footprints/compare?a={a['id']}&b={b['id']}").text
    changed = re.search(r"<table[^>]*data-changed>.*?</table>", page, re.S).group(0)
    row = re.search(r'<tr class="changed" data-key="parameter:pot_cell_technology">(.*?)</tr>', changed, re.S)
    assert row and "CWPB" in row.group(1) and "VSS" in row.group(1)
    inputs = changed.split("</table>")[0]
    assert inputs.count('<tr class="changed"') == 1  # nothing else was entered differently


def test_an_uploaded_workbook_with_an_unknown_technology_names_its_cell_on_the_page(world, chinese):
    product = new_product(world, "PCR-CN-ALUMINIUM")
    response = upload(chinese, product["id"], smelter_workbook("PFPB"))
    assert response.status_code == 422
    rows = re.findall(
        r'<tr class="cell-error" data-field="([^"]*)" data-sheet="([^"]*)" data-cell="([^"]*)">', response.text
    )
    assert ("parameters.pot_cell_technology.choice", "Product parameters 产品参数", "F2") in rows
    assert stored(world, product["id"]) == []


# --- the form's steps: where an error is shown, what a stored inventory fills --------------------------------------


def smelter_pcr_with_item_choice():
    """Aluminium 1.2.0 with the technology also asked on the anode-effect item (an item's own choice parameter)."""
    pcr = aluminium_pcr().model_copy(deep=True)
    item = pcr.item("anode_effect_minutes")
    item.parameters.append(
        ParameterSpec(
            id="pot_cell_technology",
            label="pot-cell technology of this potline",
            label_zh="本系列电解槽型",
            choices=[Choice(value="CWPB", label="centre-worked prebake"), Choice(value="VSS", label="VSS")],
        )
    )
    return pcr


@pytest.mark.parametrize(
    ("loc", "shown_at"),
    [
        ("parameters.pot_cell_technology.choice", TECHNOLOGY),
        ("parameters.pot_cell_technology", TECHNOLOGY),  # a number given for a choice: its select
        ("parameters.anode_type", "parameters"),  # a parameter the PCR does not have: the section
        (
            "items[0].parameters.pot_cell_technology.choice",
            "item.anode_effect_minutes.param.pot_cell_technology.choice",
        ),
        ("items[0].parameters.pot_cell_technology", "item.anode_effect_minutes.param.pot_cell_technology.choice"),
    ],
)
def test_an_error_of_a_parameter_is_shown_at_its_input(loc, shown_at):
    reading = FormReading({}, smelter_pcr_with_item_choice())
    reading.where["items"] = ["item.anode_effect_minutes"]
    assert reading.input_of(loc) == shown_at


def test_every_parameter_input_has_a_label_for_the_error_summary():
    labels = _labels(i18n.catalogue("zh"), smelter_pcr_with_item_choice(), 1, 1)
    assert labels[TECHNOLOGY] == "电解槽型（阳极技术）"
    assert (
        labels["item.anode_effect_minutes.param.pot_cell_technology.choice"]
        == "阳极效应持续时间（分钟/槽·日）: 本系列电解槽型"
    )
    assert labels["parameters"] == "产品系统参数"


def test_a_stored_inventory_fills_the_choices_of_the_product_and_of_its_items():
    """Stored choices are codes, not amounts: the form's selects take them (the form read `amount` before)."""
    data = {
        "production": {"amount": 1000, "unit": "t"},
        "reference_period": {"start": "2023-01-01", "end": "2023-12-31"},
        "parameters": {"pot_cell_technology": {"choice": "VSS"}},
        "items": [
            {"item": "anode_effect_minutes", "amount": 0.1, "unit": "minute/day",
             "parameters": {"pot_cell_technology": {"choice": "CWPB"}}},
            {"item": "anode_net_consumption", "amount": 410, "unit": "t",
             "parameters": {"sulphur_fraction": {"amount": 2.1, "unit": "percent"}}},
        ],
    }  # fmt: skip
    values, _, _ = _prefill(data, smelter_pcr_with_item_choice())
    assert values[TECHNOLOGY] == "VSS"
    assert values["item.anode_effect_minutes.param.pot_cell_technology.choice"] == "CWPB"
    assert values["item.anode_net_consumption.param.sulphur_fraction.amount"] == "2.1"


def read(values: dict[str, str], pcr=None) -> tuple[FormReading, dict]:
    reading = FormReading(values, pcr or smelter_pcr_with_item_choice())
    product = SimpleNamespace(name="Al99.70", model=None, gtin=None)
    facility = SimpleNamespace(name="Qingzhen", province="Guizhou", grid_region="South")
    return reading, reading.data(product, facility, "Qianzhong Aluminium")


def test_the_form_reads_a_choice_as_its_code_and_an_empty_one_as_none():
    values = smelter_form("p", "f", "VSS", **{"item.anode_effect_minutes.amount": "0.1"})
    values["item.anode_effect_minutes.param.pot_cell_technology.choice"] = "CWPB"
    _, data = read(values)
    assert data["parameters"] == {"pot_cell_technology": {"choice": "VSS"}}
    effect = next(e for e in data["items"] if e["item"] == "anode_effect_minutes")
    assert effect["parameters"] == {"pot_cell_technology": {"choice": "CWPB"}}
    _, data = read(smelter_form("p", "f", ""))
    assert data["parameters"] == {}


def test_a_choice_of_an_item_without_an_amount_asks_for_the_amount():
    values = smelter_form("p", "f", None, **{"item.anode_effect_minutes.param.pot_cell_technology.choice": "VSS"})
    reading, _ = read(values)
    assert reading.errors == {"item.anode_effect_minutes.amount": ["missing_amount"]}


def test_an_overlong_code_is_one_error_at_its_select_not_one_per_shape():
    """A parameter is a number or a choice: the schema's errors of the other shape are not the person's."""
    reading, data = read(smelter_form("p", "f", "X" * 101))
    assert _check(reading, data, i18n.catalogue("en")) is None
    assert reading.errors == {TECHNOLOGY: ["At most 100 characters."]}


def test_a_number_that_is_not_one_is_one_error_at_its_amount():
    values = smelter_form("p", "f", None, **{"item.anode_net_consumption.param.sulphur_fraction.amount": "abc"})
    reading, data = read(values)
    assert _check(reading, data, i18n.catalogue("zh")) is None
    assert reading.errors == {"item.anode_net_consumption.param.sulphur_fraction.amount": ["请输入数字。"]}
