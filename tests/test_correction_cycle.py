"""The correction cycle on the inventory form, as a manufacturer meets it: a stored version opened as "new version
from this one" and sent back unchanged is the same inventory (every amount in the unit it was stated in), a mass
fraction is offered as a fraction or in percent and 65.2 typed as a fraction is named as the percentage it is,
every problem of the PCR's checks is worded in the reader's language, provinces are stored by one name, and
times are Beijing time as on every other page.

The cement example (pcr_rules/examples/cement-guizhou-2023.json): 2,000,000 t of cement; clinker 1,640,000 t with
CaO 65.5 % (the PCR's range is 0.55–0.72 of clinker). CaO is stated here as 65.2 %, i.e. 0.652, inside the range.
"""

import copy
import re
import uuid
from datetime import UTC, timedelta, timezone
from html import unescape
from html.parser import HTMLParser

import pytest

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import InventoryRecord
from footprint_api.web.routes.inventory import FormReading, _prefill
from pcr_rules import default_registry
from pcr_rules.examples import paths as example_paths
from pcr_rules.inventory import Inventory
from pcr_rules.units import conversion_factor
from tests.conftest import load_example
from tests.labelling import unique_serials
from tests.test_web_inventory import (  # noqa: F401 (fixtures: the app, a person, a facility)
    app,
    cement_form,
    engineer,
    error_of,
    error_summary,
    facility,
    input_of,
    new_product,
    stored,
)
from tests.web_client import Browser

CHINA = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def chinese(app):
    return Browser(app, "acme-engineer", lang="zh")


class FormOnPage(HTMLParser):
    """What a browser sends for the inventory form as the page shows it: every input's value, a select's selected
    option (its first when none is selected, as a browser takes it), ticked boxes only; nothing of a <template>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.select: str | None = None
        self.first: str | None = None
        self.in_template = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "template":
            self.in_template += 1
        if self.in_template or (not a.get("name") and tag != "option"):
            return
        if tag == "input" and (a.get("type") != "checkbox" or "checked" in a):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select, self.first = a["name"], None
        elif tag == "option" and self.select:
            if self.first is None:
                self.first = a.get("value", "")
                self.values[self.select] = self.first
            if "selected" in a:
                self.values[self.select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "template":
            self.in_template -= 1
        elif tag == "select":
            self.select = None


def sent_by_browser(html: str) -> dict[str, str]:
    form = re.search(r'<form method="post" action="/app/inventories" .*?</form>', html, re.S).group(0)
    parser = FormOnPage()
    parser.feed(form)
    return parser.values


def submitted_with_facility(world, product_id: str, facility_id: str, data: dict) -> dict:
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/inventories",
        json={"product_id": product_id, "facility_id": facility_id, "inventory": data},
    )
    assert response.status_code == 201, response.text
    return response.json()


def cement(**clinker_changes) -> dict:
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["items"][0].update(clinker_changes)
    return data


# --- defect 2: "new version from this one" keeps every unit ------------------------------------------------------

# The new version's form is the latest cement PCR's (1.2.0), which asks for the product class the earlier versions did
# not know (GB 175-2023 cement type and strength class): the person chooses it, everything else is sent unchanged.
PRODUCT_CLASS = {"param.cement_type.choice": "P·O", "param.strength_class.choice": "42.5"}


def test_a_percentage_stated_with_the_percent_sign_comes_back_in_percent_and_submits_unchanged(
    world, engineer, facility
):
    """CaO 65.2 % stated as `%` (as the JSON API and a workbook state it): the new version's form selects % for it
    (not the 0–1 fraction, which would make it 65.2 = 6,520 %), and the form sent back unchanged is accepted as
    version 2 with CaO 65.2 % = 0.652 of clinker, inside the PCR's 0.55–0.72."""
    product = new_product(world)
    parameters = {"cao_fraction": {"amount": 65.2, "unit": "%"}, "mgo_fraction": {"amount": 2.5, "unit": "%"}}
    first = submitted_with_facility(world, product["id"], facility["id"], cement(parameters=parameters))
    page = engineer.get(f"/app/inventories/new?product={product['id']}&source={first['id']}").text
    sent = sent_by_browser(page)
    assert sent["item.clinker.param.cao_fraction.amount"] == "65.2"
    assert sent["item.clinker.param.cao_fraction.unit"] == "percent"
    response = engineer.client.post("/app/inventories", data={**sent, **PRODUCT_CLASS})
    assert response.status_code == 303, error_summary(response.text)
    _, second = stored(world, product["id"])
    cao = second["data"]["items"][0]["parameters"]["cao_fraction"]
    assert cao["amount"] == 65.2 and cao["amount"] * conversion_factor(cao["unit"], "dimensionless") == 0.652


def test_an_amount_in_a_unit_the_form_does_not_list_keeps_its_unit_in_the_new_version(world, engineer, facility):
    """Grid electricity 0.16 TWh (= 160,000,000 kWh, 80 kWh per t of cement): the form offers kWh to TJ, so the new
    version offers TWh too and keeps it; taking the first option would make it 0.16 kWh."""
    product = new_product(world)
    data = cement()
    data["items"][2].update(amount=0.16, unit="TWh")
    first = submitted_with_facility(world, product["id"], facility["id"], data)
    page = engineer.get(f"/app/inventories/new?product={product['id']}&source={first['id']}").text
    assert sent_by_browser(page)["item.grid_electricity.unit"] == "TWh"
    response = engineer.client.post("/app/inventories", data={**sent_by_browser(page), **PRODUCT_CLASS})
    assert response.status_code == 303, error_summary(response.text)
    items = stored(world, product["id"])[1]["data"]["items"]
    electricity = next(e for e in items if e["item"] == "grid_electricity")
    assert (electricity["amount"], electricity["unit"]) == (0.16, "TWh")


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_every_example_read_back_from_its_prefilled_form_is_the_same_inventory(path):
    """Each example, with its parameters stated in `%` where it states them in percent: the form's values of it,
    read as the form reads a submission, give the same items, parameters, production, certificates, measured
    emissions, captive units and co-products."""
    data = load_example(path.name)
    for entry in data["items"]:
        for value in (entry.get("parameters") or {}).values():
            if value.get("unit") == "percent":
                value["unit"] = "%"
    pcr = default_registry().get(data["pcr"]["id"], data["pcr"]["version"])
    values, _, _ = _prefill(data, pcr)
    product = type("P", (), {"name": data["product"]["name"], "model": None, "gtin": None})()
    facility = type("F", (), data["facility"] | {"grid_region": data["facility"].get("grid_region")})()
    read = Inventory.model_validate(FormReading(values, pcr).data(product, facility, data.get("manufacturer", "")))
    original = Inventory.model_validate(data)
    for name in ("production", "green_certificates", "measured_emissions", "captive_power", "co_products"):
        assert _canonical(getattr(read, name)) == _canonical(getattr(original, name)), name
    by_item = {entry.item: _canonical(entry) for entry in original.items}
    assert {entry.item: _canonical(entry) for entry in read.items} == by_item  # in the PCR's order on the form


def _canonical(value):
    """A part of an inventory with every unit written as pint reads it (`%` and `percent` are one unit)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    elif isinstance(value, list):
        value = [v.model_dump() for v in value]
    return _units_read(value)


def _units_read(value):
    if isinstance(value, dict):
        return {k: (_unit(v) if k in ("unit", "fuel_unit") else _units_read(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_units_read(v) for v in value]
    return value


def _unit(unit: str) -> str:
    from pcr_rules.units import parse_unit

    return str(parse_unit(unit))


# --- defect 6: the percent trap --------------------------------------------------------------------------------------


def options_of(html: str, name: str) -> list[str]:
    found = re.search(rf'name="{re.escape(name)}".*?</select>', html, re.S)
    return re.findall(r'<option value="([^"]*)"', found.group(0))


def test_a_mass_fraction_is_offered_as_a_fraction_or_in_percent_and_never_in_hours_per_day(world, engineer):
    product = new_product(world)
    page = engineer.get(f"/app/inventories/new?product={product['id']}").text
    assert options_of(page, "item.clinker.param.cao_fraction.unit") == ["dimensionless", "percent"]


def test_anode_effect_minutes_per_day_are_offered_as_time_per_day_only(world, engineer):
    product = new_product(world, "PCR-CN-ALUMINIUM")
    page = engineer.get(f"/app/inventories/new?product={product['id']}").text
    assert options_of(page, "item.anode_effect_minutes.unit") == ["minute/day", "hour/day"]


def test_the_fraction_says_its_range_in_percent_and_which_unit_takes_a_percentage(world, chinese):
    product = new_product(world)
    page = unescape(chinese.get(f"/app/inventories/new?product={product['id']}").text)
    help_text = re.search(r'id="f-item-clinker-param-cao_fraction-amount-help">(.*?)</p>', page, re.S).group(1)
    assert help_text == "范围 0.55–0.72（以 0–1 的比例计），即 55–72%。填写百分数时，请将单位选为 %。"


@pytest.mark.parametrize(
    ("browser", "expected"),
    [
        (
            "engineer",
            "65.2 looks like a percentage: CaO mass fraction of clinker is a fraction from 0.55–0.72 (55–72 %). "
            "Choose the unit “%”, or enter 0.652.",
        ),
        (
            "chinese",
            "65.2 看起来是百分数：“熟料中 CaO 含量（质量分数）”按 0–1 的比例计，范围为 0.55–0.72（55–72%）。"
            "请将单位选为“%”，或填写 0.652。",
        ),
    ],
)
def test_65_2_typed_as_a_fraction_is_named_as_a_percentage(world, facility, browser, expected, request):
    """65.2 as a 0–1 fraction would be 6,520 %; as a percentage it is 0.652, inside 0.55–0.72."""
    person = request.getfixturevalue(browser)
    product = new_product(world)
    fields = cement_form(
        product["id"],
        facility["id"],
        **{"item.clinker.param.cao_fraction.amount": "65.2", "item.clinker.param.cao_fraction.unit": "dimensionless"},
    )
    response = person.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422
    assert error_of(response.text, "item.clinker.param.cao_fraction.amount") == expected
    assert stored(world, product["id"]) == []


# --- defect 5: the PCR's checks in the reader's language -------------------------------------------------------------

ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}\b")


def test_the_pcr_checks_speak_chinese_on_a_chinese_form(world, chinese, facility):
    """Gypsum 900,000 t for 2,000,000 t of cement is 0.45 t per t, above the PCR's plausible 0–0.08; a generation
    month of 2019 is outside the window of certificates valid for 2023."""
    product = new_product(world)
    fields = cement_form(
        product["id"], facility["id"], **{"item.gypsum.amount": "900000", "gec.0.generation_month": "2019-01"}
    )
    response = chinese.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422
    gypsum = error_of(response.text, "item.gypsum.amount")
    assert gypsum.startswith("每 t 产品的“石膏”为 0.45 t，超出 PCR-CN-CEMENT@")
    assert "合理范围" in gypsum
    month = error_of(response.text, "gec.0.generation_month")
    assert month.startswith("发电月份 2019-01 不在")
    for text in (gypsum, month, error_summary(response.text)):
        assert not ENGLISH_RUN.search(text.replace("PCR-CN-CEMENT", "")), text


def test_a_pcr_is_named_by_its_chinese_title_on_chinese_pages(world, chinese):
    pcr = default_registry().get("PCR-CN-CEMENT")
    assert pcr.title_zh
    product = new_product(world)
    for url in ("/app/products", f"/app/inventories/new?product={product['id']}", "/app/inventories"):
        page = chinese.get(url).text
        assert pcr.title_zh in page, url
        assert pcr.title not in page, url


# --- defect 4: one name per province ----------------------------------------------------------------------------------


def test_a_facility_created_with_a_chinese_province_is_stored_by_the_factor_sets_name(world, chinese):
    """贵州 and 贵州省 are Guizhou; its usual grid is the China Southern grid (lca_models factor set)."""
    for typed in ("贵州", "贵州省", "guizhou"):
        created = world.call(
            "acme-engineer", "POST", "/api/v1/facilities", json={"name": f"kiln {typed}", "province": typed}
        )
        assert created.status_code == 201, created.text
        assert created.json()["province"] == "Guizhou"
        page = chinese.get(f"/app/facilities/{created.json()['id']}").text
        assert "<dd>贵州</dd>" in page


def test_an_unknown_province_is_refused_naming_the_field(world, chinese):
    response = world.call("acme-engineer", "POST", "/api/v1/facilities", json={"name": "x", "province": "Atlantis"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["province"]
    page = chinese.post_form("/app/products", "/app/facilities", {"name": "x", "province": "Atlantis"})
    assert page.status_code == 422
    found = re.search(r'id="f-facility-province-error">(.*?)</p>', page.text, re.S)
    assert unescape(found.group(1)) == "“Atlantis”不是中国大陆的省级行政区，请从列表中选择。"


def test_a_grid_region_is_stored_by_the_factor_sets_name_and_an_unknown_one_refused(world):
    created = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/facilities",
        json={"name": "grid case", "province": "Hebei", "grid_region": "north"},
    )
    assert created.status_code == 201 and created.json()["grid_region"] == "North"
    refused = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/facilities",
        json={"name": "grid case", "province": "Hebei", "grid_region": "Mars"},
    )
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["grid_region"]


def test_an_inventory_naming_its_province_in_chinese_is_stored_by_the_factor_sets_name(world):
    """The registry's province filter reads the inventory's copy of the facility: 贵州 there is Guizhou too, and
    南方电网 the South grid."""
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    data = cement()
    data["facility"].update(province="贵州", grid_region="南方电网")
    data["green_certificates"][0]["province"] = "贵州省"
    response = world.submit("acme-engineer", product["id"], data)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["facility"]["province"] == "Guizhou"
    assert response.json()["data"]["facility"]["grid_region"] == "South"
    assert response.json()["data"]["green_certificates"][0]["province"] == "Guizhou"


def test_an_inventory_naming_an_unknown_province_is_refused_at_that_field(world):
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    data = cement()
    data["facility"]["province"] = "Atlantis"
    response = world.submit("acme-engineer", product["id"], data)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["facility.province"]


# --- defect 8 (the inventory list): Beijing time, as every other page ------------------------------------------------


def test_the_inventory_list_and_page_show_beijing_time(world, engineer, facility):
    product = new_product(world)
    response = engineer.post_form(
        "/app/inventories/new", "/app/inventories", cement_form(product["id"], facility["id"])
    )
    assert response.status_code == 303, error_summary(response.text)
    [record] = stored(world, product["id"])
    with session_scope() as session:
        created = session.get(InventoryRecord, uuid.UUID(record["id"])).created_at
    shown = f"{created.replace(tzinfo=UTC).astimezone(CHINA):%Y-%m-%d %H:%M} (UTC+8)"
    listed = engineer.get(f"/app/inventories?product={product['id']}").text
    assert shown in listed and "(UTC)" not in listed
    assert shown in engineer.get(f"/app/inventories/{record['id']}").text


def test_a_submitted_copy_is_not_changed_by_reading_it_back(world):
    """The stored JSON is the validated inventory as submitted (places aside): reading it back gives it again."""
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    data = cement()
    response = world.submit("acme-engineer", product["id"], copy.deepcopy(data))
    assert response.status_code == 201
    assert Inventory.model_validate(response.json()["data"]) == Inventory.model_validate(data)


def test_the_province_names_of_the_catalogue_are_the_factor_sets():
    """The pages of other parts name a province by the catalogue (`inv.province.*`); the form and the lists by the
    factor set: one Chinese name per province either way, and every province of the factor set named."""
    from footprint_api.core.messages import catalogue
    from footprint_api.services.catalogue import provinces

    for lang in ("zh", "en"):
        named = {
            k.removeprefix("inv.province."): v
            for k, v in catalogue(lang).messages.items()
            if k.startswith("inv.province.")
        }
        assert named == {key: spec["zh"] if lang == "zh" else key for key, spec in provinces().items()}, lang
