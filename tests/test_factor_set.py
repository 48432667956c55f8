"""Derived factors of the factor set, recomputed from the published ones."""

import pytest

from lca_models.factor_set import load_factor_set

ATOMIC = {"C": 12.011, "O": 15.999, "Ca": 40.078, "Mg": 24.305, "Na": 22.990}


def test_residual_factor_scales_the_life_cycle_average_by_the_published_co2_ratio():
    """2023: 0.6205 x 0.6096 / 0.5306 = 0.712885; 2024 (latest CO2 year 2023): 0.5777 x 0.6096 / 0.5306 = 0.663712."""
    factors = load_factor_set()
    assert factors.residual_factor(2023).kg_co2e_per_kwh == pytest.approx(0.6205 * 0.6096 / 0.5306)
    assert factors.residual_factor(2024).kg_co2e_per_kwh == pytest.approx(0.5777 * 0.6096 / 0.5306)


def test_factor_year_lags_the_reference_year():
    factors = load_factor_set()
    assert factors.location_factor(2025).year == 2024
    assert factors.location_factor(2023).year == 2023
    earlier = factors.location_factor(2021)
    assert earlier.year == 2023 and "no factor for 2021" in earlier.note
    assert factors.grid_co2_factor("region", 2023, "South").kg_co2e_per_kwh == 0.4042


@pytest.mark.parametrize(
    "carbonate,co2_per_formula,formula_mass",
    [
        ("CaCO3", 1, ATOMIC["Ca"] + ATOMIC["C"] + 3 * ATOMIC["O"]),
        ("MgCO3", 1, ATOMIC["Mg"] + ATOMIC["C"] + 3 * ATOMIC["O"]),
        ("Na2CO3", 1, 2 * ATOMIC["Na"] + ATOMIC["C"] + 3 * ATOMIC["O"]),
        ("CaMg(CO3)2", 2, ATOMIC["Ca"] + ATOMIC["Mg"] + 2 * ATOMIC["C"] + 6 * ATOMIC["O"]),
    ],
)
def test_carbonate_factors_are_stoichiometric(carbonate, co2_per_formula, formula_mass):
    co2 = ATOMIC["C"] + 2 * ATOMIC["O"]
    stored = load_factor_set().process["carbonates"][carbonate]["t_co2_per_t"]
    assert stored == pytest.approx(co2_per_formula * co2 / formula_mass, abs=5e-4)


def test_fuel_combustion_activity_matches_the_gbt32150_formula():
    """Natural gas, industry: 0.038931 GJ/m3 x 15.30 t C/TJ x 0.99 x 44/12 = 2.16219 kg CO2/m3."""
    activity = load_factor_set().activity("natural_gas_combustion_industry")
    co2 = next(e for e in activity.exchanges if e.flow == "co2_fossil")
    assert co2.amount == pytest.approx(0.038931 * 15.30 * 0.99 * 44 / 12)


def test_unknown_factor_set_is_refused():
    from lca_models.factor_set import FactorSetError

    with pytest.raises(FactorSetError):
        load_factor_set("xx-0000")


# --- how a factor was chosen, by code and values ---------------------------------------------------------------------


def test_a_later_factor_says_so_by_its_code_and_in_english():
    earlier = load_factor_set().location_factor(2021)
    assert [(n.code, n.params) for n in earlier.notes] == [("factor.later_year_used", {"year": 2021, "used": 2023})]
    assert earlier.note == "no factor for 2021 or earlier; the 2023 factor is used"


def test_a_provincial_factor_carries_its_derivation_as_values():
    """Guizhou 2023: 0.6205 (national life-cycle 2023) x 0.4989 (Guizhou CO2 2022) / 0.5366 (national CO2 2022)
    = 0.576905 kg CO2e/kWh."""
    factor = load_factor_set().location_factor(2023, "Guizhou", "South", "province")
    assert factor.kg_co2e_per_kwh == pytest.approx(0.6205 * 0.4989 / 0.5366)
    [derived] = factor.notes
    assert derived.code == "factor.area_derived"
    assert derived.params == {
        "scope": "province",
        "lifecycle": 0.6205,
        "area_co2": 0.4989,
        "average": 0.5366,
        "year": 2023,
        "area": "Guizhou",
        "co2_year": 2022,
        "check": "transcribed",
    }


def test_an_unknown_province_falls_back_to_the_national_factor_and_says_why():
    factor = load_factor_set().location_factor(2023, "Atlantis", None, "province")
    assert [n.code for n in factor.notes] == ["factor.unknown_province", "factor.national_taken"]
    assert factor.note == "province “Atlantis” is not a known provincial-level division; national factor taken"
