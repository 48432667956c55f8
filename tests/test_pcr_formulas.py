"""The formula catalogue: named, parameterised building blocks of IPCC 2006 and the GB/T 32150/32151 series. Each
formula the engine implements is declared in the catalogue (what it reads, what it takes, its citation), and each
computes what its equation says, checked by hand against the factor set cn-2025.1."""

import pytest

from lca_models import process_emissions
from lca_models.factor_set import FactorSetError, load_factor_set
from lca_models.foreground import build_foreground
from lca_models.process_emissions import FormulaContext, evaluate
from pcr_rules import formulas
from pcr_rules.inventory import Inventory
from pcr_rules.models import PCR, ParameterRef
from pcr_rules.parameters import UnresolvedParameter, resolve_config
from tests.builders import inventory_data, item
from tests.hand import C_TO_CO2

FACTOR_SET = load_factor_set()


def context(production: float = 1.0) -> FormulaContext:
    return FormulaContext(FACTOR_SET.process, production, FACTOR_SET.fuels, FACTOR_SET.non_co2)


# --- the catalogue and the implementations agree ----------------------------------------------------------------


def test_every_catalogue_formula_is_implemented_and_every_implementation_declared():
    assert set(process_emissions.FORMULAS) == set(formulas.FORMULAS)


def test_an_undeclared_formula_cannot_be_registered():
    with pytest.raises(FactorSetError, match="not declared"):
        process_emissions.formula("secret_sauce")


def test_the_existing_formula_names_keep_working():
    assert {
        "carbonate_decomposition",
        "carbon_content",
        "clinker_calcination",
        "anode_co2",
        "pfc_slope",
        "pfc_tier1",
        "direct_emission",
    } <= set(formulas.FORMULAS)


@pytest.mark.parametrize(
    "family",
    [
        "fuel_combustion",
        "carbonate_decomposition",
        "carbon_mass_balance",
        "fixed_factor",
        "technology_default",
        "direct_emission",
    ],
)
def test_every_family_has_a_building_block(family):
    assert any(spec.family == family for spec in formulas.CATALOGUE)


def test_every_block_cites_its_source_and_names_itself_in_both_languages():
    for spec in formulas.CATALOGUE:
        assert spec.citation and spec.title and spec.title_zh and spec.equation, spec.name
        for entry in (*spec.inputs, *spec.settings):
            assert entry.description and entry.description_zh, f"{spec.name}.{entry.id}"


# --- fuel combustion: NCV x carbon content x oxidation x 44/12 ------------------------------------------------------


def test_fuel_combustion_with_the_factor_set_defaults():
    """10 t bituminous coal, manufacturing (GB/T 32150-2015 Table B.1; IPCC 2006 Vol. 2 Table 2.3):
    CO2 = 10 x 19.570 GJ/t x 26.18 t C/TJ x 0.93 x 44/12 = 10 x 1,747.0883 = 17,470.883 kg
    CH4 = 10 x 0.01957 TJ x 10 kg/TJ = 1.957 kg;  N2O = 10 x 0.01957 x 1.5 = 0.29355 kg."""
    flows = evaluate("fuel_combustion", 10.0, {}, {"fuel": "bituminous_coal"}, context())
    assert flows["co2_fossil"] == pytest.approx(10 * 19.570 * 26.18 * 0.93 * C_TO_CO2)
    assert flows["co2_fossil"] == pytest.approx(17_470.883, rel=1e-7)
    assert flows["ch4_fossil"] == pytest.approx(1.957)
    assert flows["n2o"] == pytest.approx(0.29355)


def test_fuel_combustion_takes_measured_values_and_the_energy_table():
    """10 t at a measured NCV 21.0 GJ/t, carbon 25.0 t C/TJ, oxidation 0.95, energy industries (Table 2.2, CH4 1,
    N2O 1.5 kg/TJ): CO2 = 10 x 21.0 x 25.0 x 0.95 x 44/12 = 18,287.5 kg; CH4 = 10 x 0.021 x 1 = 0.21 kg."""
    params = {"ncv_gj_per_unit": 21.0, "carbon_content_tc_per_tj": 25.0, "oxidation": 0.95}
    flows = evaluate("fuel_combustion", 10.0, params, {"fuel": "bituminous_coal", "sector": "energy"}, context())
    assert flows["co2_fossil"] == pytest.approx(18_287.5)
    assert flows["ch4_fossil"] == pytest.approx(0.21)
    assert flows["n2o"] == pytest.approx(10 * 0.021 * 1.5)


# --- carbonate decomposition: from carbonate masses, from oxide fractions -----------------------------------------


def test_carbonate_decomposition_of_manganese_carbonate_ore():
    """100 t ore x 0.30 MnCO3 x 1.0 x 0.382867 t CO2/t (44.009 / 114.946) = 11.48601 t CO2."""
    flows = evaluate("carbonate_decomposition", 100.0, {"purity": 0.30}, {"carbonate": "MnCO3"}, context())
    assert flows == {"co2_fossil": pytest.approx(11_486.01)}


def test_oxide_decomposition_of_high_calcium_lime_matches_the_lime_factor():
    """100 t lime at CaO 0.95: 100 x 0.95 x 0.784796 (44.009 / 56.077) = 74.5556 t CO2, the 745.556 kg/t the factor
    set's quicklime carries (IPCC 2006 Vol. 3 Eq. 2.9)."""
    flows = evaluate("oxide_decomposition", 100.0, {"cao_fraction": 0.95}, {}, context())
    assert flows == {"co2_fossil": pytest.approx(74_555.62)}


def test_oxide_decomposition_subtracts_non_carbonate_oxides():
    """1 t product, CaO 0.60 of which 0.05 from non-carbonate sources, MgO 0.35:
    (0.60 - 0.05) x 0.784796 + 0.35 x 1.091926 (44.009 / 40.304) = 0.4316378 + 0.3821741 = 0.8138119 t CO2."""
    params = {"cao_fraction": 0.60, "cao_noncarbonate_fraction": 0.05, "mgo_fraction": 0.35}
    assert evaluate("oxide_decomposition", 1.0, params, {}, context())["co2_fossil"] == pytest.approx(813.8119)


def test_clinker_calcination_keeps_the_gbt_32151_8_ratios():
    """GB/T 32151.8 rounds the molar masses: 1 t clinker, CaO 0.65, MgO 0.02: 0.65 x 44/56 + 0.02 x 44/40
    = 0.5107143 + 0.022 = 0.5327143 t CO2 (the oxide block with IUPAC masses gives 0.65 x 0.784796 + 0.02 x
    1.091926 = 0.5319559 t: the sector standard's own rounding is kept where a PCR names it)."""
    params = {"cao_fraction": 0.65, "mgo_fraction": 0.02}
    assert evaluate("clinker_calcination", 1.0, params, {}, context())["co2_fossil"] == pytest.approx(
        532.7143, rel=1e-6
    )
    assert evaluate("oxide_decomposition", 1.0, params, {}, context())["co2_fossil"] == pytest.approx(
        531.9559, rel=1e-6
    )


# --- carbon mass balance, fixed factor --------------------------------------------------------------------------------


def test_a_carbon_mass_balance_is_the_sum_of_signed_carbon_terms():
    """In: 15 t charge carbon at 0.83 C and 1.5 t electrodes at 0.82 C; out: 1,000 t steel at 0.003 C (IPCC 2006
    Vol. 3 Eq. 4.9): (15 x 0.83 + 1.5 x 0.82 - 1,000 x 0.003) x 44/12 = (12.45 + 1.23 - 3.0) x 44/12 = 39.16 t CO2."""
    terms = [
        (15.0, {}, {"material": "eaf_charge_carbon", "sign": 1.0}),
        (1.5, {}, {"material": "eaf_carbon_electrodes", "sign": 1.0}),
        (1000.0, {"carbon_fraction": 0.003}, {"material": "crude_steel", "sign": -1.0}),
    ]
    total = sum(evaluate("carbon_content", *term, context())["co2_fossil"] for term in terms)
    assert total == pytest.approx((12.45 + 1.23 - 3.0) * C_TO_CO2 * 1000)
    assert total == pytest.approx(39_160.0)


def test_a_fixed_factor_multiplies_the_activity_data():
    """500 t x 0.12 kg N2O per t = 60 kg N2O."""
    config = {"flow": "n2o", "kg_per_unit": 0.12, "citation": "example citation, table 1, 2024"}
    assert evaluate("fixed_factor", 500.0, {}, config, context()) == {"n2o": pytest.approx(60.0)}


# --- settings that name parameters, and defaults --------------------------------------------------------------------


def test_a_setting_takes_the_item_s_parameter_before_the_product_s():
    config = {"technology": ParameterRef(parameter="technology"), "sign": 1.0}
    assert resolve_config(config, {"technology": "HSS"}, {"technology": "VSS"}) == {"technology": "HSS", "sign": 1.0}
    assert resolve_config(config, {}, {"technology": "VSS"})["technology"] == "VSS"
    with pytest.raises(UnresolvedParameter):
        resolve_config(config, {}, {})


def manganese_pcr(**ore_parameter) -> PCR:
    """A two-item PCR in the manganese form, the leached fraction of the ore with the default given here."""
    return PCR.model_validate(
        {
            "id": "PCR-TEST-EMM",
            "version": "0.0.1",
            "title": "test",
            "product_category": "test",
            "declared_unit": {"unit": "t", "description": "1 t"},
            "standards": [],
            "boundary": {"included": ["leaching"]},
            "cut_off": {"rule": "none"},
            "allocation": {"method": "none", "justification": "single product"},
            "items": [
                {
                    "id": "grid_electricity",
                    "label": "power",
                    "kind": "electricity",
                    "unit": "kWh",
                    "stage": "production",
                },
                {
                    "id": "ore_mnco3",
                    "label": "ore",
                    "kind": "process",
                    "formula": "carbonate_decomposition",
                    "formula_config": {"carbonate": "MnCO3"},
                    "unit": "t",
                    "stage": "production",
                    "parameters": [
                        {"id": "purity", "label": "MnCO3 fraction", "required": True},
                        {"id": "calcination_fraction", "label": "leached", **ore_parameter},
                    ],
                },
            ],
        }
    )


def leaching_kg_per_t(pcr: PCR, parameters: dict) -> float:
    inventory = inventory_data(
        pcr.id,
        1000,
        "t",
        [item("grid_electricity", 6_000_000, "kWh"), item("ore_mnco3", 10_000, "t", parameters=parameters)],
    )
    inventory["pcr"]["version"] = pcr.version
    foreground = build_foreground(Inventory.model_validate(inventory), pcr, FACTOR_SET)
    return sum(e.amount for e in foreground.exchanges if e.item == "ore_mnco3" and e.part == "process")


def test_a_parameter_default_of_the_pcr_applies_when_the_inventory_gives_none():
    """Default leached fraction 0.9 (stated with its source): 10 t ore/t x 0.25 x 0.9 x 382.867 kg = 861.45 kg/t;
    the inventory's own 0.95 wins: 10 x 0.25 x 0.95 x 382.867 = 909.31 kg/t."""
    pcr = manganese_pcr(default=0.9, default_source="test default, 2026")
    purity = {"purity": {"amount": 0.25, "unit": "dimensionless"}}
    assert leaching_kg_per_t(pcr, purity) == pytest.approx(10 * 0.25 * 0.9 * 382.867)
    given = {**purity, "calcination_fraction": {"amount": 0.95, "unit": "dimensionless"}}
    assert leaching_kg_per_t(pcr, given) == pytest.approx(10 * 0.25 * 0.95 * 382.867)


def mineral_pcr() -> PCR:
    """The ore item names its carbonate by an item choice parameter (default MnCO3)."""
    pcr = manganese_pcr().model_dump(mode="json")
    ore = pcr["items"][1]
    ore["formula_config"] = {"carbonate": {"parameter": "mineral"}}
    ore["parameters"].append(
        {
            "id": "mineral",
            "label": "carbonate mineral of the ore",
            "label_zh": "矿石中的碳酸盐矿物",
            "choices": [
                {"value": "MnCO3", "label": "rhodochrosite", "label_zh": "菱锰矿"},
                {"value": "CaCO3", "label": "calcite", "label_zh": "方解石"},
            ],
            "default": "MnCO3",
        }
    )
    return PCR.model_validate(pcr)


def test_an_item_choice_parameter_selects_the_constant():
    """10 t ore/t x 0.25 carbonate: rhodochrosite by default, 2.5 x 382.867 = 957.17 kg/t; calcite when the
    inventory says so, 2.5 x 440 = 1,100 kg/t."""
    pcr = mineral_pcr()
    purity = {"purity": {"amount": 0.25, "unit": "dimensionless"}}
    assert leaching_kg_per_t(pcr, purity) == pytest.approx(2.5 * 382.867)
    assert leaching_kg_per_t(pcr, {**purity, "mineral": {"choice": "CaCO3"}}) == pytest.approx(2.5 * 440)


def test_an_unknown_item_choice_is_refused_at_its_path():
    from pcr_rules.validation import problems

    pcr = mineral_pcr()
    data = inventory_data(
        pcr.id,
        1000,
        "t",
        [
            item("grid_electricity", 6_000_000, "kWh"),
            item("ore_mnco3", 10_000, "t", parameters={"purity": {"amount": 0.25}, "mineral": {"choice": "FeCO3"}}),
        ],
    )
    data["pcr"]["version"] = pcr.version
    data["items"][1]["parameters"]["purity"]["unit"] = "dimensionless"
    assert [e.loc for e in problems(Inventory.model_validate(data), pcr)] == ["items[1].parameters.mineral.choice"]


def test_the_item_choice_pcr_passes_the_full_check_and_a_choice_without_constant_does_not():
    from lca_models.pcr_check import check_pcr

    document = mineral_pcr().model_dump(mode="json")
    assert check_pcr(document) == []
    document["items"][1]["parameters"][2]["choices"].append({"value": "FeCO3", "label": "siderite"})
    assert [e.loc for e in check_pcr(document)] == ["items[1].parameters[2].choices[2].value"]
