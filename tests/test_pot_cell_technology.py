"""The pot-cell technology of an aluminium smelter is a choice the inventory states (PCR-CN-ALUMINIUM 1.2.0,
`parameters.pot_cell_technology`); the PFC formulas take that technology's coefficients:

IPCC 2006 Guidelines Vol. 3 Ch. 4, Table 4.15 (Tier 1, kg per t Al) and Table 4.16 (Tier 2 slope S, kg CF4 per t Al
per anode-effect minute per cell-day, and the C2F6/CF4 weight fraction F), as held in the factor set cn-2025.1
(process.yaml, `pfc_tier1` and `pfc`, marked "transcribed"):

    technology  CF4   C2F6   |  S      F
    CWPB        0.4   0.04   |  0.143  0.121
    SWPB        1.6   0.4    |  0.272  0.252
    VSS         0.8   0.04   |  0.092  0.053
    HSS         0.4   0.03   |  0.099  0.085

GWP100 of IPCC AR6 (Brightway's bundled IPCC 2021 method, tests/hand.py): CF4 7,380, C2F6 12,400.
"""

import pytest
import yaml

from lca_models.pcr_check import check_pcr
from pcr_rules.errors import InventoryInvalid
from pcr_rules.inventory import Inventory
from pcr_rules.registry import DATA_DIR
from tests.builders import inventory_data, item
from tests.hand import GWP_C2F6, GWP_CF4

REL = 1e-6  # Brightway stores matrix values as float32
PRODUCTION_T = 1000


def smelter(technology: str | None, anode_effect_minutes: float | None = None, version: str = "1.2.0") -> Inventory:
    """1,000 t of aluminium; the anode-effect item only when monitored; the technology only when stated."""
    items = [
        item("grid_electricity", 13_500_000, "kWh"),
        item("alumina", 1_920, "t", supplier_pcf_kg_co2e_per_unit=1_500),
        item("anode_net_consumption", 410, "t"),
    ]
    if anode_effect_minutes is not None:
        items.append(item("anode_effect_minutes", anode_effect_minutes, "minute/day"))
    extra = {"parameters": {"pot_cell_technology": {"choice": technology}}} if technology else {}
    data = inventory_data("PCR-CN-ALUMINIUM", PRODUCTION_T, "t", items, **extra)
    data["pcr"]["version"] = version
    return Inventory.model_validate(data)


def pfc(result, part: str) -> float:
    return sum(c.kg_co2e for c in result.contributions if c.item == "anode_effect_minutes" and c.part == part)


def assert_tier1(result, cf4_kg_per_t: float, c2f6_kg_per_t: float, kg_co2e_per_t: float) -> None:
    assert result.per_gas["CF4"].mass_kg == pytest.approx(cf4_kg_per_t, rel=REL)
    assert result.per_gas["C2F6"].mass_kg == pytest.approx(c2f6_kg_per_t, rel=REL)
    assert pfc(result, "default") == pytest.approx(kg_co2e_per_t, rel=REL)


# --- Tier 1 defaults (no anode-effect data), IPCC 2006 Table 4.15 ----------------------------------------------


def test_tier1_cwpb(engine):
    """CWPB: CF4 0.4 kg/t x 1,000 t = 400 kg, C2F6 0.04 x 1,000 = 40 kg; per t:
    0.4 x 7,380 + 0.04 x 12,400 = 2,952 + 496 = 3,448 kg CO2e/t."""
    result = engine.calculate(smelter("CWPB"))
    assert_tier1(result, 400 / PRODUCTION_T, 40 / PRODUCTION_T, 3_448)
    assert pytest.approx(3_448) == 0.4 * GWP_CF4 + 0.04 * GWP_C2F6


def test_tier1_swpb(engine):
    """SWPB: CF4 1.6 x 1,000 = 1,600 kg, C2F6 0.4 x 1,000 = 400 kg; per t:
    1.6 x 7,380 + 0.4 x 12,400 = 11,808 + 4,960 = 16,768 kg CO2e/t."""
    result = engine.calculate(smelter("SWPB"))
    assert_tier1(result, 1_600 / PRODUCTION_T, 400 / PRODUCTION_T, 16_768)
    assert pytest.approx(16_768) == 1.6 * GWP_CF4 + 0.4 * GWP_C2F6


def test_tier1_vss(engine):
    """VSS: CF4 0.8 x 1,000 = 800 kg, C2F6 0.04 x 1,000 = 40 kg; per t:
    0.8 x 7,380 + 0.04 x 12,400 = 5,904 + 496 = 6,400 kg CO2e/t (1.1.0 gave this smelter the prebake 3,448)."""
    result = engine.calculate(smelter("VSS"))
    assert_tier1(result, 800 / PRODUCTION_T, 40 / PRODUCTION_T, 6_400)
    assert pytest.approx(6_400) == 0.8 * GWP_CF4 + 0.04 * GWP_C2F6


def test_tier1_hss(engine):
    """HSS: CF4 0.4 x 1,000 = 400 kg, C2F6 0.03 x 1,000 = 30 kg; per t:
    0.4 x 7,380 + 0.03 x 12,400 = 2,952 + 372 = 3,324 kg CO2e/t."""
    result = engine.calculate(smelter("HSS"))
    assert_tier1(result, 400 / PRODUCTION_T, 30 / PRODUCTION_T, 3_324)
    assert pytest.approx(3_324) == 0.4 * GWP_CF4 + 0.03 * GWP_C2F6


def test_a_smelter_that_states_no_technology_takes_the_pcr_default_cwpb(engine):
    """No `pot_cell_technology`: the PCR's default CWPB, 3,448 kg CO2e/t as above; the data gap says which."""
    result = engine.calculate(smelter(None))
    assert pfc(result, "default") == pytest.approx(3_448, rel=REL)
    assert any("technology = CWPB" in gap for gap in result.data_gaps)


def test_the_data_gap_names_the_technology_taken(engine):
    result = engine.calculate(smelter("VSS"))
    assert any(
        gap.startswith("anode_effect_minutes: not given") and "technology = VSS" in gap for gap in result.data_gaps
    )


# --- Tier 2 slope method, IPCC 2006 Eq. 4.25 and Table 4.16 ----------------------------------------------------


@pytest.mark.parametrize(
    "technology,cf4_kg_per_t,c2f6_kg_per_t,kg_co2e_per_t",
    [
        # CF4 = S x AEM (1.0) per t; C2F6 = CF4 x F; CO2e = CF4 x 7,380 + C2F6 x 12,400
        ("CWPB", 0.143, 0.143 * 0.121, 0.143 * 7_380 + 0.017303 * 12_400),  # 1,055.34 + 214.5572 = 1,269.8972
        ("SWPB", 0.272, 0.272 * 0.252, 0.272 * 7_380 + 0.068544 * 12_400),  # 2,007.36 + 849.9456 = 2,857.3056
        ("VSS", 0.092, 0.092 * 0.053, 0.092 * 7_380 + 0.004876 * 12_400),  # 678.96 + 60.4624 = 739.4224
        ("HSS", 0.099, 0.099 * 0.085, 0.099 * 7_380 + 0.008415 * 12_400),  # 730.62 + 104.346 = 834.966
    ],
)
def test_the_slope_method_takes_the_stated_technology(engine, technology, cf4_kg_per_t, c2f6_kg_per_t, kg_co2e_per_t):
    """1.0 anode-effect minute per cell-day on 1,000 t: CF4 = S x 1.0 x 1,000 t, per t = S; the table's rows above."""
    result = engine.calculate(smelter(technology, anode_effect_minutes=1.0))
    assert result.per_gas["CF4"].mass_kg == pytest.approx(cf4_kg_per_t, rel=REL)
    assert result.per_gas["C2F6"].mass_kg == pytest.approx(c2f6_kg_per_t, rel=REL)
    assert pfc(result, "process") == pytest.approx(kg_co2e_per_t, rel=REL)
    assert {
        "CWPB": 1_269.8972,
        "SWPB": 2_857.3056,
        "VSS": 739.4224,
        "HSS": 834.966,
    }[technology] == pytest.approx(kg_co2e_per_t)


# --- what an inventory may say ----------------------------------------------------------------------------------


def refused(inventory: Inventory, engine) -> list[str]:
    with pytest.raises(InventoryInvalid) as error:
        engine.calculate(inventory)
    return [e.loc for e in error.value.errors]


def test_an_unknown_technology_is_refused_naming_the_path(engine):
    with pytest.raises(InventoryInvalid) as error:
        engine.calculate(smelter("PFPB"))
    [problem] = error.value.errors
    assert problem.loc == "parameters.pot_cell_technology.choice"
    assert "CWPB" in problem.message and "HSS" in problem.message


def test_a_number_for_the_technology_is_refused(engine):
    data = smelter("VSS").model_dump(mode="json")
    data["parameters"] = {"pot_cell_technology": {"amount": 1, "unit": "dimensionless"}}
    assert refused(Inventory.model_validate(data), engine) == ["parameters.pot_cell_technology"]


def test_an_unknown_product_parameter_is_refused(engine):
    data = smelter("VSS").model_dump(mode="json")
    data["parameters"]["anode_type"] = {"choice": "prebake"}
    assert refused(Inventory.model_validate(data), engine) == ["parameters.anode_type"]


def test_version_1_1_0_has_no_technology_to_state(engine):
    assert refused(smelter("VSS", version="1.1.0"), engine) == ["parameters.pot_cell_technology"]


def test_version_1_1_0_keeps_the_prebake_default(engine):
    """Unchanged: 1.1.0 fixes CWPB in the PCR, 3,448 kg CO2e/t without anode-effect data."""
    assert pfc(engine.calculate(smelter(None, version="1.1.0")), "default") == pytest.approx(3_448, rel=REL)


# --- the PCR itself -----------------------------------------------------------------------------------------------


def pcr_document() -> dict:
    return yaml.safe_load((DATA_DIR / "aluminium-1.2.0.yaml").read_text(encoding="utf-8"))


def test_the_pcr_version_passes_the_full_check():
    assert check_pcr(pcr_document()) == []


def test_a_technology_without_coefficients_in_the_factor_set_is_refused():
    """A fifth choice (point-fed prebake, PFPB) has no Table 4.15 / 4.16 row in the factor set: both formulas that
    read the technology refuse it, at the choice."""
    document = pcr_document()
    document["parameters"][0]["choices"].append({"value": "PFPB", "label": "point-fed prebake"})
    assert {e.loc for e in check_pcr(document)} == {"parameters[0].choices[4].value"}


def test_a_default_outside_the_choices_is_refused():
    document = pcr_document()
    document["parameters"][0]["default"] = "Soderberg"
    assert [e.loc for e in check_pcr(document)] == ["parameters[0].default"]
