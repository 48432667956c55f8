"""Inventories that break their PCR are refused, every problem named by field."""

import re

import pytest

from pcr_rules import InventoryInvalid, default_registry, validate_inventory
from pcr_rules.inventory import Period
from pcr_rules.validation import certificate_window
from tests.builders import certificate, item, make_inventory


def problems(inventory) -> dict[str, str]:
    pcr = default_registry().get(inventory.pcr.id, inventory.pcr.version)
    with pytest.raises(InventoryInvalid) as caught:
        validate_inventory(inventory, pcr)
    return {e.loc: e.message for e in caught.value.errors}


def test_aluminium_missing_mandatory_alumina():
    found = problems(
        make_inventory(
            "PCR-CN-ALUMINIUM",
            1000,
            "t",
            [
                item("grid_electricity", 13_500_000, "kWh"),
                item("anode_net_consumption", 410, "t"),
                item("anode_effect_minutes", 0.1, "minute/day"),
            ],
        )
    )
    assert "mandatory item 'alumina'" in found["items"]


def test_cement_clinker_cao_outside_its_range():
    found = problems(
        make_inventory(
            "PCR-CN-CEMENT",
            1000,
            "t",
            [
                item(
                    "clinker",
                    800,
                    "t",
                    parameters={
                        "cao_fraction": {"amount": 80, "unit": "percent"},
                        "mgo_fraction": {"amount": 2, "unit": "percent"},
                    },
                ),
                item("kiln_coal", 110, "t"),
                item("grid_electricity", 90_000, "kWh"),
            ],
        )
    )
    assert "outside [0.55, 0.72]" in found["items[0].parameters.cao_fraction"]


def test_cement_clinker_without_its_oxide_analysis():
    found = problems(
        make_inventory(
            "PCR-CN-CEMENT",
            1000,
            "t",
            [item("clinker", 800, "t"), item("kiln_coal", 110, "t"), item("grid_electricity", 90_000, "kWh")],
        )
    )
    assert "required" in found["items[0].parameters.cao_fraction"]
    assert "required" in found["items[0].parameters.mgo_fraction"]


def test_steel_electricity_in_a_mass_unit():
    found = problems(make_inventory("PCR-CN-STEEL", 1000, "t", [item("grid_electricity", 450_000, "kg")]))
    assert "dimension" in found["items[0].unit"]


def test_electricity_pcr_refuses_green_certificates():
    found = problems(
        make_inventory(
            "PCR-CN-ELECTRICITY",
            1_000_000,
            "kWh",
            [item("bituminous_coal", 300, "t"), item("grid_electricity_import", 1000, "kWh")],
            green_certificates=[certificate("GEC-0000001", 1)],
        )
    )
    assert "does not apply green certificates" in found["green_certificates"]


def test_glass_soda_ash_outside_the_plausible_range():
    found = problems(
        make_inventory(
            "PCR-CN-FLATGLASS",
            1000,
            "t",
            [item("soda_ash", 900, "t"), item("silica_sand", 650, "t"), item("grid_electricity", 100_000, "kWh")],
        )
    )
    assert "plausible range" in found["items[0].amount"]


def test_unknown_item_and_unknown_unit_are_named():
    found = problems(
        make_inventory(
            "PCR-CN-FLATGLASS",
            1000,
            "t",
            [
                item("silica_sand", 650, "bananas"),
                item("grid_electricity", 100_000, "kWh"),
                item("unobtainium", 1, "t"),
            ],
        )
    )
    assert "unknown unit" in found["items[0].unit"]
    assert "not an item" in found["items[2].item"]


def test_production_in_the_wrong_dimension():
    found = problems(make_inventory("PCR-CN-STEEL", 1000, "kWh", [item("grid_electricity", 450_000, "kWh")]))
    assert "production.unit" in found


# --- green certificates ---------------------------------------------------------------------------------------


def aluminium(certificates):
    return make_inventory(
        "PCR-CN-ALUMINIUM",
        1000,
        "t",
        [
            item("grid_electricity", 13_500_000, "kWh"),
            item("alumina", 1_920, "t"),
            item("anode_net_consumption", 410, "t"),
            item("anode_effect_minutes", 0.1, "minute/day"),
        ],
        green_certificates=certificates,
    )


def test_a_serial_listed_twice_is_refused():
    found = problems(aluminium([certificate("GEC-DUP-0001", 100), certificate("GEC-DUP-0001", 100)]))
    assert "retired once" in found["green_certificates[1].serial"]
    assert "green_certificates[0].serial" not in found


def test_certificate_vintage_outside_the_validity_window():
    """2023 reference period, 24-month validity: generation months 2021-02 .. 2023-12 qualify."""
    found = problems(
        aluminium(
            [certificate("GEC-OLD-0001", 100, month="2021-01"), certificate("GEC-NEW-0001", 100, month="2024-01")]
        )
    )
    assert "outside 2021-02..2023-12" in found["green_certificates[0].generation_month"]
    assert "green_certificates[1].generation_month" in found


def test_certificate_window_edges_are_inclusive():
    assert certificate_window(Period(start="2023-01-01", end="2023-12-31"), 24) == ("2021-02", "2023-12")


def test_coverage_above_consumption_is_refused():
    """13,500 MWh consumed; 14,000 certificates of 1 MWh cover 14,000,000 kWh."""
    found = problems(aluminium([certificate("GEC-BIG-0001", 14_000)]))
    assert "only 13,500,000 kWh" in found["green_certificates"]


def test_ineligible_technology_is_refused():
    found = problems(aluminium([certificate("GEC-COAL-0001", 10, technology="coal")]))
    assert "not eligible" in found["green_certificates[0].technology"]


def test_a_valid_inventory_passes():
    inventory = aluminium([certificate("GEC-OK-0001", 100)])
    validate_inventory(inventory, default_registry().get("PCR-CN-ALUMINIUM", "1.0.0"))


def test_range_bounds_are_inclusive_despite_unit_rounding():
    """12,000 kWh/t is the PCR's lower bound; 4.296e9 kWh / 358,020.8 t rounds to 11,999.999999999998."""
    inventory = make_inventory(
        "PCR-CN-ALUMINIUM",
        358_020.8276853978,
        "t",
        [
            item("grid_electricity", 12_000 * 358_020.8276853978, "kWh"),
            item("alumina", 1.92 * 358_020.8276853978, "t"),
            item("anode_net_consumption", 0.41 * 358_020.8276853978, "t"),
            item("anode_effect_minutes", 0.05, "minute/day"),
        ],
    )
    validate_inventory(inventory, default_registry().get("PCR-CN-ALUMINIUM", "1.0.0"))


# --- every problem has a code, its values and a message in both languages ------------------------------------------


def _codes_in_source() -> set[str]:
    """The codes pcr_rules.validation and pcr_rules.units give their problems, read from their source: the second
    argument of each `_error(...)`, the values a `code` variable takes, and every literal `validation.*`."""
    import ast
    import inspect

    from pcr_rules import units, validation

    codes: set[str] = set()
    for module in (validation, units):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_error":
                codes.add(f"validation.{node.args[1].value}")
            elif isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "code":
                named = [c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)]
                codes |= {f"validation.{c}" for c in named if isinstance(c, str) and c.isidentifier()}
            elif isinstance(node, ast.Constant) and re.fullmatch(r"validation\.[a-z_]+", str(node.value)):
                codes.add(node.value)
    return codes


def test_every_code_of_the_checks_has_a_message_in_both_languages_and_no_message_is_left_over():
    from footprint_api.core.messages import catalogue

    for lang in ("zh", "en"):
        worded = {key for key in catalogue(lang).messages if key.startswith("validation.")}
        assert _codes_in_source() == worded, lang


def _variant(data: dict, **changes) -> dict:
    import copy

    changed = copy.deepcopy(data)
    changed.update(changes)
    return changed


def _battery():
    """Inventories that break every rule the checks know, each with the PCR it is checked against (a copy of a
    registry PCR where a rule needs another setting: mass allocation, unnamed measurements allowed)."""
    import copy

    from tests.conftest import load_example

    registry = default_registry()
    cement_pcr, smelter_pcr = registry.get("PCR-CN-CEMENT", "1.1.0"), registry.get("PCR-CN-ALUMINIUM", "1.2.0")
    cement = _variant(load_example("cement-guizhou-2023.json"), pcr={"id": "PCR-CN-CEMENT", "version": "1.1.0"})
    smelter = _variant(load_example("aluminium-xinjiang-captive-2023.json"))
    smelter["pcr"]["version"] = "1.2.0"
    steel = load_example("steel-hebei-bfbof-2023.json")
    steel.pop("main_product_value_cny", None)

    def with_item(index: int, **changes) -> list[dict]:
        changed = copy.deepcopy(cement["items"])
        changed[index] = {**changed[index], **changes}
        return changed

    fractions = {
        "cao_fraction": {"amount": 65.2, "unit": "dimensionless"},  # looks like a percentage
        "mgo_fraction": {"choice": "high"},  # a number given as a choice
        "cao_noncarbonate_fraction": {"amount": 0.9, "unit": "dimensionless"},  # above 0.2
        "mgo_noncarbonate_fraction": {"amount": 1, "unit": "hour/day"},  # a share of time for a mass fraction
        "unheard_of": {"amount": 1, "unit": "t"},
    }
    items = with_item(0, parameters=fractions)
    items[1] = {  # kiln coal: estimated, with a supplier footprint, and a calorific value above 10–32 GJ/t
        **items[1],
        "parameters": {"ncv_gj_per_unit": {"amount": 50, "unit": "GJ/t"}},
        "data_source": "secondary",
        "supplier_pcf_kg_co2e_per_unit": 1,
    }
    items[4] = {**items[4], "unit": "blorb"}  # clay
    items[5] = {**items[5], "amount": 900000}  # gypsum: 0.45 t per t of cement, above 0.08
    items += [{"item": "unobtainium", "amount": 1, "unit": "t"}, {"item": "gypsum", "amount": 1, "unit": "t"}]
    batch = {"technology": "wind", "generation_month": "2023-06", "province": "Guizhou"}
    certificates = [
        {**batch, "serial": "GEC-" + "1" * 19, "amount_mwh": 1},  # a number of 19 digits
        {**batch, "serial": "GEC-NONUMBER", "amount_mwh": 5},  # 5 certificates without a number to count
        {**batch, "serial": "GEC-" + "9" * 18, "amount_mwh": 5},  # past the largest serial
        {**batch, "serial": "GEC-A-0001", "serial_last": "GEC-A-X", "amount_mwh": 1},
        {**batch, "serial": "GEC-A-0001", "serial_last": "GEC-B-0009", "amount_mwh": 1},
        {**batch, "serial": "GEC-A-0009", "serial_last": "GEC-A-0001", "amount_mwh": 1},
        {**batch, "serial": "GEC-C-0001", "serial_last": "GEC-C-0002", "amount_mwh": 5},  # 5 of a batch of 2
        {**batch, "serial": "GEC-C-0002", "amount_mwh": 1, "technology": "coal", "generation_month": "2019-01"},
        {**batch, "serial": "GEC-BIG-0001", "amount_mwh": 10**6},  # more than the electricity consumed
    ]
    measured = [
        {"gas": "n2o", "amount": 1, "unit": "t", "method": "guess"},
        {"gas": "co2", "amount": 1, "unit": "kWh", "covers": ["grid_electricity", "clinker", "clinker"]},
        {"gas": "co2", "amount": 1, "unit": "t", "covers": ["clinker"]},
    ]
    unlisted = [i for i in cement["items"] if i["item"] not in ("grid_electricity", "diesel")]
    units = copy.deepcopy(smelter["captive_power"]["units"])
    units[0].update(net_generation_mwh=3_000_000, ncv_gj_per_unit=0.00001, carbon_content_tc_per_tj=50)
    units[1].update(ncv_gj_per_unit=300, measured_co2_t=10)
    units += [{**units[0], "fuel": "peat"}, {**units[1], "fuel_unit": "kWh"}]
    # cement 1.2.0: the product class stated; the kiln's coal is required with own clinker, and own or purchased
    # clinker is given; supplier references only on purchased inputs, alone, a release's with its entry
    grinding_pcr = registry.get("PCR-CN-CEMENT", "1.2.0")
    classified = _variant(
        cement,
        pcr={"id": "PCR-CN-CEMENT", "version": "1.2.0"},
        parameters={"cement_type": {"choice": "P·O"}, "strength_class": {"choice": "42.5"}},
    )
    no_clinker = [i for i in cement["items"] if i["item"] != "clinker"]
    no_kiln_coal = [i for i in cement["items"] if i["item"] != "kiln_coal"]
    referenced = copy.deepcopy(cement["items"])
    referenced[1]["supplier"] = {"kind": "label", "reference": "PCF-2026-000001-F"}  # kiln coal: a fuel
    referenced[5].update(  # gypsum: a label beside a typed footprint, and an entry that only a release has
        supplier={"kind": "label", "reference": "PCF-2026-000002-F", "entry": "gypsum/all"},
        supplier_pcf_kg_co2e_per_unit=5,
    )
    referenced[6]["supplier"] = {"kind": "release", "reference": "2026.1"}  # a release without its entry
    mass, loose = cement_pcr.model_copy(deep=True), cement_pcr.model_copy(deep=True)
    mass.allocation.method = "mass"
    loose.measured_emissions.require_sources = False
    slag = [{"name": "slag", "amount": 1, "unit": "t"}]
    return [
        (cement_pcr, _variant(cement, pcr={"id": "PCR-CN-CEMENT", "version": "1.0.0"})),
        (cement_pcr, _variant(cement, reference_period={"start": "2023-12-31", "end": "2023-01-01"})),
        (cement_pcr, _variant(cement, reference_period={"start": "2022-01-01", "end": "2023-12-31"})),
        (cement_pcr, _variant(cement, production={"amount": 0, "unit": "t"})),
        (cement_pcr, _variant(cement, production={"amount": 1, "unit": "kWh"})),
        (cement_pcr, _variant(cement, items=with_item(0, parameters={}))),
        (cement_pcr, _variant(cement, items=items, green_certificates=certificates, measured_emissions=measured)),
        (
            cement_pcr,
            _variant(
                cement,
                items=unlisted,
                green_certificates=[],
                measured_emissions=[{"gas": "co2", "amount": 1, "unit": "t", "covers": ["diesel"]}],
            ),
        ),
        (loose, _variant(cement, measured_emissions=[{"gas": "co2", "amount": 1, "unit": "t"}] * 2)),
        (cement_pcr, _variant(cement, co_products=slag)),
        (mass, _variant(cement, co_products=[{"name": "slag", "amount": 1, "unit": "kWh"}])),
        (registry.get("PCR-CN-STEEL", "1.1.0"), _variant(steel, co_products=slag)),
        (cement_pcr, _variant(cement, captive_power=smelter["captive_power"])),
        (
            registry.get("PCR-CN-ELECTRICITY"),
            _variant(load_example("electricity-guizhou-coal-2023.json"), green_certificates=certificates[:1]),
        ),
        (grinding_pcr, _variant(classified, items=no_clinker)),
        (grinding_pcr, _variant(classified, items=no_kiln_coal)),
        (grinding_pcr, _variant(classified, items=referenced)),
        (smelter_pcr, _variant(smelter, parameters={"pot_cell_technology": {"amount": 1, "unit": "t"}})),
        (smelter_pcr, _variant(smelter, parameters={"pot_cell_technology": {"choice": "PFPB"}})),
        (
            smelter_pcr,
            _variant(
                smelter,
                captive_power={"units": units, "supplied_mwh": 20_000_000},
                green_certificates=certificates[-1:],
            ),
        ),
    ]


def test_every_check_is_met_by_a_case_and_worded_in_both_languages_with_all_its_values():
    """Each problem the battery finds is rendered in Chinese and English from its code: never the English reason
    as a stand-in, never a placeholder left unfilled; together the cases meet every code the catalogue words (an
    empty unit is refused by the schema before any check runs, so no inventory meets `validation.unit_empty`)."""
    from footprint_api.services.messages import render
    from pcr_rules.inventory import Inventory
    from pcr_rules.validation import problems as checks

    met = set()
    for pcr, data in _battery():
        for problem in checks(Inventory.model_validate(data), pcr):
            met.add(problem.code)
            for lang in ("zh", "en"):
                text = render(problem, lang)
                assert text and "{" not in text, (problem, lang)
                assert lang == "en" or text != problem.message, problem
    assert met == _codes_in_source() - {"validation.unit_empty"}


# --- the percent trap, units of another kind, and a parameter's value checked in its own shape ----------------------


def cement_with_cao(amount: float, unit: str):
    return make_inventory(
        "PCR-CN-CEMENT",
        1000,
        "t",
        [
            item(
                "clinker",
                800,
                "t",
                parameters={
                    "cao_fraction": {"amount": amount, "unit": unit},
                    "mgo_fraction": {"amount": 2, "unit": "%"},
                },
            ),
            item("kiln_coal", 110, "t"),
            item("grid_electricity", 90_000, "kWh"),
        ],
    )


def cao_problems(amount: float, unit: str) -> list:
    from pcr_rules.validation import problems as checks

    pcr = default_registry().get("PCR-CN-CEMENT", "1.0.0")
    return [p for p in checks(cement_with_cao(amount, unit), pcr) if "cao_fraction" in p.loc]


@pytest.mark.parametrize(("amount", "unit"), [(65.2, "%"), (65.2, "percent"), (0.652, "dimensionless")])
def test_cao_of_65_2_percent_is_accepted_however_it_is_written(amount, unit):
    """65.2 % = 0.652, inside the PCR's 0.55–0.72."""
    assert cao_problems(amount, unit) == []


def test_65_2_as_a_fraction_looks_like_a_percentage():
    """65.2 as a 0–1 fraction is far outside 0.55–0.72; as a percentage it would be 0.652, so the check says so."""
    [problem] = cao_problems(65.2, "dimensionless")
    assert problem.code == "validation.looks_like_percent"
    assert problem.params["value"] == 65.2 and problem.params["fraction"] == 0.652
    assert problem.params["range"] == "0.55–0.72" and problem.params["range_percent"] == "55–72"
    assert problem.params["parameter_zh"] == "熟料中 CaO 含量（质量分数）"


def test_a_fraction_in_percent_outside_its_range_says_both():
    """80 % = 0.8, above 0.72."""
    [problem] = cao_problems(80, "%")
    assert problem.code == "validation.fraction_out_of_range"
    assert (problem.params["value"], problem.params["percent"]) == (0.8, 80)
    assert "outside [0.55, 0.72]" in problem.message  # the English wording of the JSON API


def test_a_share_of_a_day_is_no_mass_fraction():
    """pint converts 15.6 hours per day to 0.65 (a ratio), but CaO is no time: refused, not taken as 0.65."""
    [problem] = cao_problems(15.6, "hour/day")
    assert (problem.loc, problem.code) == ("items[0].parameters.cao_fraction.unit", "validation.unit_kind")


def test_a_problem_is_a_json_entry_with_its_code_and_values():
    [problem] = cao_problems(65.2, "dimensionless")
    entry = problem.entry()
    assert entry["field"] == "items[0].parameters.cao_fraction" and entry["reason"] == problem.message
    assert entry["code"] == "validation.looks_like_percent" and entry["params"]["value"] == 65.2


@pytest.mark.parametrize(
    ("value", "loc", "kind"),
    [
        ({"amount": "abc", "unit": "%"}, ("amount",), "float_parsing"),
        ({"choice": 5}, ("choice",), "string_type"),
        ({"amount": 1}, ("unit",), "missing"),
        (7, (), "parameter_value"),
    ],
)
def test_a_bad_parameter_value_is_one_error_of_the_shape_it_was_given_in(value, loc, kind):
    """A number or a choice: the schema checks the value against the shape it has, not against both (which gave
    two errors for one mistake, one of them about a choice nobody gave)."""
    from pydantic import ValidationError

    from pcr_rules.inventory import Inventory
    from tests.builders import inventory_data

    data = inventory_data("PCR-CN-CEMENT", 1000, "t", [item("clinker", 800, "t", parameters={"cao_fraction": value})])
    with pytest.raises(ValidationError) as refused:
        Inventory.model_validate(data)
    [error] = refused.value.errors()
    assert (error["loc"], error["type"]) == (("items", 0, "parameters", "cao_fraction", *loc), kind)


def test_a_message_value_named_key_is_a_value_like_any_other():
    """A refused JSON document names the key at fault in a value called `key`; the catalogue's own first parameter is
    positional-only, so wording such a message never collides with it (it once raised TypeError: a 500)."""
    from footprint_api.core.messages import Catalogue

    t = Catalogue("en", {"doc.duplicate": "the key {key} is given twice"})
    assert t("doc.duplicate", key="pcf.declaredUnitAmount") == "the key pcf.declaredUnitAmount is given twice"
