"""The PCR language: a standards body writes a PCR as data; a draft is checked fully before it may leave draft,
every problem named by the path of its field; the language has a JSON Schema; and a category the service never had
(electrolytic manganese metal) is written, checked and computed from data alone."""

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from lca_models.engine import FootprintEngine
from lca_models.pcr_check import check_pcr
from pcr_rules.formulas import FORMULAS
from pcr_rules.inventory import Inventory
from pcr_rules.language import pcr_json_schema
from pcr_rules.registry import DATA_DIR, PCRRegistry
from tests.hand import BITUMINOUS_INDUSTRY, COAL_SUPPLY, DIESEL_INDUSTRY, LC_AVERAGE_2023, RESIDUAL_2023, combustion

REL = 1e-6  # Brightway stores matrix values as float32
DRAFTS = Path(__file__).resolve().parents[1] / "pcr_rules" / "examples" / "pcr-drafts"
MANGANESE_PCR = DRAFTS / "pcr-electrolytic-manganese-draft.json"
MANGANESE_INVENTORY = DRAFTS / "electrolytic-manganese-guizhou-2023.json"
PUBLISHED = sorted(DATA_DIR.glob("*.yaml"))


def manganese() -> dict:
    return json.loads(MANGANESE_PCR.read_text(encoding="utf-8"))


def paths(document: dict) -> list[str]:
    return [error.loc for error in check_pcr(document)]


# --- every PCR the service has passes the full check ----------------------------------------------------------


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: p.stem)
def test_every_pcr_version_passes_the_full_check(path):
    assert check_pcr(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_the_nine_earlier_versions_and_those_of_the_supply_chains_are_there():
    """The eight of 1.0.0 and 1.1.0 and aluminium 1.2.0, then for supply chains (issue 20): clinker 1.0.0, cement
    1.2.0 (purchased clinker, product class) and aluminium 1.3.0 (direct-line power), and for comparable groups
    (issue 21): steel 2.0.0 (product forms) and flat glass 1.1.0 (thickness ranges): 9 + 3 + 2 = 14."""
    stems = [p.stem for p in PUBLISHED]
    assert len(PUBLISHED) == 14 and "aluminium-1.2.0" in stems
    assert {"clinker-1.0.0", "cement-1.2.0", "aluminium-1.3.0", "steel-2.0.0", "flat-glass-1.1.0"} <= set(stems)


def test_the_manganese_draft_passes_the_full_check():
    assert check_pcr(manganese()) == []


# --- the JSON Schema ------------------------------------------------------------------------------------------


def test_the_schema_is_a_valid_2020_12_schema_that_every_pcr_satisfies():
    schema = pcr_json_schema()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for path in PUBLISHED:
        assert list(validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))) == [], path.name
    assert list(validator.iter_errors(manganese())) == []


def test_the_schema_names_the_formulas_of_the_catalogue():
    schema = pcr_json_schema()
    formula = schema["$defs"]["ItemSpec"]["properties"]["formula"]
    assert {"enum": sorted(FORMULAS), "type": "string"} in formula["anyOf"]
    assert [f["name"] for f in schema["x-formulas"]] == list(FORMULAS)
    document = manganese()
    document["items"][1]["formula"] = "alchemy"
    assert list(Draft202012Validator(schema).iter_errors(document))


def test_the_schema_describes_fields_in_both_languages():
    schema = pcr_json_schema()
    described = schema["properties"]["declared_unit"]["description"]
    assert "declared unit" in described and "声明单位" in described
    assert "公式" in schema["$defs"]["ItemSpec"]["properties"]["formula"]["description"]
    assert "/" in schema["title"] and "产品种类规则" in schema["title"]


# --- a draft with each kind of error: the path of the field ---------------------------------------------------


def test_an_unknown_background_activity_is_refused_at_its_field():
    document = manganese()
    document["items"][3]["activity"] = "manganese_ore_mining"
    assert paths(document) == ["items[3].activity"]


def test_an_unknown_fuel_is_refused_at_its_field():
    document = manganese()
    document["items"][4]["fuel"] = "lignite"
    assert paths(document) == ["items[4].fuel"]


def test_an_unknown_formula_is_refused_at_its_field():
    document = manganese()
    document["items"][1]["formula"] = "acid_leaching"
    assert paths(document) == ["items[1].formula"]


def test_an_unknown_unit_is_refused_at_its_field():
    document = manganese()
    document["items"][0]["unit"] = "kWhr"
    assert paths(document) == ["items[0].unit"]


def test_a_range_with_min_above_max_is_refused_at_its_min():
    document = manganese()
    document["items"][2]["plausible_per_declared_unit"] = {"min": 3, "max": 0}
    assert paths(document) == ["items[2].plausible_per_declared_unit.min"]


def test_a_parameter_range_with_min_above_max_is_refused():
    document = manganese()
    document["items"][1]["parameters"][0]["range"] = {"min": 0.7, "max": 0.1}
    assert paths(document) == ["items[1].parameters[0].range.min"]


def test_an_item_parameter_no_formula_reads_is_refused():
    """The carbonate formula reads purity and calcination_fraction; a moisture parameter would be asked of every
    manufacturer and used by nothing."""
    document = manganese()
    document["items"][1]["parameters"].append({"id": "moisture", "label": "moisture of the ore"})
    [error] = check_pcr(document)
    assert error.loc == "items[1].parameters[2].id" and error.code == "pcr.unused_parameter"
    assert "purity" in error.message


def test_a_parameter_of_electricity_is_read_by_no_formula():
    document = manganese()
    document["items"][0]["parameters"] = [{"id": "voltage", "label": "cell voltage", "unit": "V"}]
    assert paths(document) == ["items[0].parameters[0].id"]


def test_a_product_parameter_no_setting_names_is_refused():
    document = manganese()
    document["parameters"] = [{"id": "grade", "label": "grade", "choices": [{"value": "99.7", "label": "99.7 %"}]}]
    assert paths(document) == ["parameters[0].id"]


def test_a_schema_error_names_its_path():
    document = manganese()
    document["items"][2]["plausible_per_declared_unit"] = {"min": "none"}
    [error] = check_pcr(document)
    assert error.loc == "items[2].plausible_per_declared_unit.min" and error.code.startswith("schema.")


def test_a_missing_reference_of_an_item_kind_names_the_field():
    document = manganese()
    del document["items"][3]["activity"]
    assert paths(document) == ["items[3].activity"]


def test_an_unknown_constant_is_refused():
    document = manganese()
    document["items"][1]["formula_config"]["carbonate"] = "FeCO3"
    assert paths(document) == ["items[1].formula_config.carbonate"]


def test_a_setting_the_formula_does_not_take_is_refused():
    document = manganese()
    document["items"][1]["formula_config"]["temperature"] = 80.0
    assert paths(document) == ["items[1].formula_config.temperature"]


def test_a_setting_naming_an_unknown_parameter_is_refused():
    document = manganese()
    document["items"][1]["formula_config"]["carbonate"] = {"parameter": "ore_mineral"}
    assert paths(document) == ["items[1].formula_config.carbonate.parameter"]


def test_an_amount_not_in_the_unit_of_its_activity_is_refused():
    """road_truck is per t*km; an item in t*mi would feed miles to a per-kilometre factor."""
    document = manganese()
    document["items"][7]["unit"] = "t*mi"
    assert paths(document) == ["items[7].unit"]


def test_a_duplicate_item_id_is_refused_at_the_second():
    document = manganese()
    document["items"].append(copy.deepcopy(document["items"][6]))
    assert paths(document) == ["items[9].id"]


def test_an_unknown_generation_technology_is_refused():
    document = manganese()
    document["electricity"]["eligible_technologies"] = ["wind", "tidal"]
    assert paths(document) == ["electricity.eligible_technologies[1]"]


def test_a_fixed_factor_needs_its_citation():
    document = manganese()
    document["items"].append(
        {
            "id": "leach_co2_fixed",
            "label": "leach CO2 by a fixed factor",
            "kind": "process",
            "formula": "fixed_factor",
            "formula_config": {"flow": "co2_fossil", "kg_per_unit": 115.0},
            "unit": "t",
            "stage": "production",
        }
    )
    [error] = check_pcr(document)
    assert error.loc == "items[9].formula_config" and "citation" in error.message


def test_a_required_input_of_a_formula_must_be_listed():
    document = manganese()
    document["items"].append(
        {
            "id": "clinker",
            "label": "clinker",
            "kind": "process",
            "formula": "clinker_calcination",
            "unit": "t",
            "stage": "production",
            "parameters": [{"id": "cao_fraction", "label": "CaO", "required": True}],
        }
    )
    [error] = check_pcr(document)
    assert error.loc == "items[9].parameters" and "mgo_fraction" in error.message


def test_a_draft_with_many_errors_gets_them_all_at_once():
    document = manganese()
    document["items"][0]["unit"] = "kWhr"
    document["items"][1]["formula"] = "acid_leaching"
    document["items"][2]["plausible_per_declared_unit"] = {"min": 3, "max": 0}
    document["items"][3]["activity"] = "manganese_ore_mining"
    document["items"][4]["fuel"] = "lignite"
    document["items"][5]["stage"] = "use"  # a schema error: the others are still checked
    assert sorted(paths(document)) == [
        "items[0].unit",
        "items[1].formula",
        "items[2].plausible_per_declared_unit.min",
        "items[3].activity",
        "items[4].fuel",
        "items[5].stage",
    ]


def test_every_error_carries_a_code_for_the_reader_s_language():
    document = manganese()
    document["items"][3]["activity"] = "manganese_ore_mining"
    document["items"][4]["fuel"] = "lignite"
    assert [e.code for e in check_pcr(document)] == ["pcr.unknown_activity", "pcr.unknown_fuel"]


# --- a new category from data alone: electrolytic manganese metal -----------------------------------------------


@pytest.fixture(scope="module")
def manganese_engine(engine, tmp_path_factory):
    """The engine over the session's background with a registry holding only the manganese draft (a JSON
    document is YAML, so the registry reads it as it is)."""
    directory = tmp_path_factory.mktemp("pcr-drafts")
    shutil.copy(MANGANESE_PCR, directory / "manganese-0.1.0.yaml")
    return FootprintEngine(engine.settings, PCRRegistry(directory))


@pytest.fixture(scope="module")
def emm(manganese_engine):
    data = json.loads(MANGANESE_INVENTORY.read_text(encoding="utf-8"))
    return manganese_engine.calculate(Inventory.model_validate(data))


QUICKLIME = (
    745.556  # calcination, 0.95 x 44.009/56.077 t CO2/t (IPCC 2006 Vol. 3 Eq. 2.9)
    + 1.695556 * (3 * LC_AVERAGE_2023 + 0.0005 * DIESEL_INDUSTRY)  # limestone at the quarry
    + 0.229944 * BITUMINOUS_INDUSTRY  # kiln coal, 4.5 GJ / 19.570 GJ/t
    + 30 * LC_AVERAGE_2023  # kiln power
)  # = 1,268.9941 kg CO2e per t quicklime
EMM_PER_T = {
    # 62,000,000 kWh / 10,000 t = 6,200 kWh x residual 0.6205 x 0.6096 / 0.5306 = 6,200 x 0.712885 = 4,419.8872
    ("grid_electricity", "electricity"): 6_200 * RESIDUAL_2023,
    # 9.5 t ore x 0.30 MnCO3 x 0.95 leached x 0.382867 t CO2/t (44.009 / 114.946) x 1000 = 1,036.6124
    ("ore_mnco3", "process"): 9.5 * 0.30 * 0.95 * 0.382867 * 1000,
    # 0.4 t CaCO3 x 0.440 t CO2/t x 1000 = 176
    ("ore_calcite", "process"): 0.4 * 440,
    # 0.3 t quicklime x 1,268.9941 = 380.6982
    ("quicklime", "input"): 0.3 * QUICKLIME,
    # 0.08 t coal at the measured NCV 21.0 GJ/t: 21.0 x 26.18 x 0.93 x 44/12 = 1,874.7 kg CO2, CH4 10 and N2O 1.5
    # kg/TJ (IPCC Table 2.3): 1,889.6073 kg CO2e/t x 0.08 = 151.1686
    ("boiler_coal", "combustion"): 0.08 * combustion(21.0, 26.18, 0.93, 10, 1.5),
    # coal mining CH4 (18 + 2.5) x 0.67 x 29.8 = 409.303 kg CO2e/t x 0.08 = 32.7442
    ("boiler_coal", "supply"): 0.08 * COAL_SUPPLY,
    # 0.005 t diesel x 3,106.7091 = 15.5335 (no upstream in the set: a data gap)
    ("diesel", "combustion"): 0.005 * DIESEL_INDUSTRY,
    # 200 t*km x 0.000017 t diesel/t*km x 3,106.7091 = 10.5628
    ("transport_road", "input"): 200 * 0.000017 * DIESEL_INDUSTRY,
}


def test_electrolytic_manganese_footprint_by_hand(emm):
    """1 t EMM, Guizhou 2023, market-based (no certificates: all grid power at the residual factor):
    4,419.8872 + 1,036.6124 + 176 + 380.6982 + 151.1686 + 32.7442 + 15.5335 + 10.5628 = 6,223.2070 kg CO2e/t."""
    got = {(c.item, c.part): c.kg_co2e for c in emm.contributions}
    assert got.keys() == EMM_PER_T.keys()
    for key, expected in EMM_PER_T.items():
        assert got[key] == pytest.approx(expected, rel=REL), key
    assert emm.total_kg_co2e == pytest.approx(sum(EMM_PER_T.values()), rel=REL)
    assert emm.total_kg_co2e == pytest.approx(6_223.2070, rel=1e-7)
    assert emm.pcr.id == "PCR-CN-MANGANESE-EMM" and emm.pcr.version == "0.1.0"


def test_electrolytic_manganese_location_based_takes_guizhou(emm):
    """Location-based: Guizhou's factor 0.6205 x 0.4989 / 0.5366 = 0.576905 kg CO2e/kWh x 6,200 = 3,576.8136; the
    rest unchanged (1,803.3199): 5,380.1335 kg CO2e/t."""
    guizhou = LC_AVERAGE_2023 * 0.4989 / 0.5366
    others = sum(v for (item, _), v in EMM_PER_T.items() if item != "grid_electricity")
    assert emm.electricity.location_factor.area == "Guizhou"
    assert emm.location_based_kg_co2e == pytest.approx(6_200 * guizhou + others, rel=REL)
    assert emm.location_based_kg_co2e == pytest.approx(5_380.1335, rel=1e-7)


def test_electrolytic_manganese_leaching_co2_is_its_largest_direct_emission(emm):
    process = sum(c.kg_co2e for c in emm.contributions if c.part == "process")
    assert process == pytest.approx(1_036.6124 + 176, rel=1e-6)
    assert emm.direct_emissions_by_item["ore_mnco3"] == {"co2": "calculated"}


def test_a_pcr_may_carry_its_title_in_chinese_and_the_schema_says_so():
    """Standards bodies publish group standards under a Chinese title; the English one stays required."""
    from pcr_rules.language import pcr_json_schema

    document = json.loads(MANGANESE_PCR.read_text(encoding="utf-8")) | {"title_zh": "电解金属锰产品碳足迹核算规则"}
    assert check_pcr(document) == []
    assert "title_zh" in pcr_json_schema()["properties"]
