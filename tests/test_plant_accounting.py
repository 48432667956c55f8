"""Accounting for real plants: site-specific grid factors, captive power, Tier 1 PFC, measured emissions that name
their sources, biomass fuels, and one factor year per footprint. Expected values are computed by hand from the
cited factors (tests/hand.py and the factor-set data files)."""

import pytest

from pcr_rules.errors import InventoryInvalid
from pcr_rules.inventory import Inventory
from tests.builders import certificate, inventory_data, item, make_inventory
from tests.hand import (
    C_TO_CO2,
    COAL_SUPPLY,
    DIESEL_INDUSTRY,
    GWP_C2F6,
    GWP_CF4,
    GWP_CH4_FOSSIL,
    GWP_N2O,
    LC_AVERAGE_2023,
    LC_AVERAGE_2024,
    RESIDUAL_2023,
    combustion,
)

REL = 1e-6  # Brightway stores matrix values as float32
GUIZHOU_CO2_2022, NATIONAL_CO2_2022 = 0.4989, 0.5366  # MEE/NBS 2022 CO2 factors (announced 2024-12-20)
SOUTH_CO2_2023, NATIONAL_CO2_2023 = 0.4042, 0.5306  # MEE/NBS 2023 CO2 factors
GUIZHOU_2023 = LC_AVERAGE_2023 * GUIZHOU_CO2_2022 / NATIONAL_CO2_2022  # = 0.576912 kg CO2e/kWh
GWP_CH4_BIOGENIC = 27.0  # IPCC AR6 CH4 non-fossil


def contribution(result, item_id: str, part: str | None = None) -> float:
    return sum(c.kg_co2e for c in result.contributions if c.item == item_id and part in (None, c.part))


def aluminium(items=None, version="1.1.0", **extra):
    inventory = inventory_data(
        "PCR-CN-ALUMINIUM",
        1000,
        "t",
        items
        or [
            item("grid_electricity", 13_500_000, "kWh"),
            item("alumina", 1_920, "t", supplier_pcf_kg_co2e_per_unit=1_500),
            item("anode_net_consumption", 410, "t"),
            item("anode_effect_minutes", 0.1, "minute/day"),
        ],
        **extra,
    )
    inventory["pcr"]["version"] = version
    return Inventory.model_validate(inventory)


# --- site-specific grid electricity ----------------------------------------------------------------------------


def test_a_guizhou_facility_takes_the_provincial_factor(engine):
    """PCR 1.1.0 asks for the provincial factor. Guizhou's latest published CO2 factor for 2023 or before is 2022's
    (0.4989); the life-cycle factor is derived by the rule of the factor set:
        0.6205 (national life cycle 2023) x 0.4989 / 0.5366 (national CO2 2022) = 0.576912 kg CO2e/kWh
    location-based electricity = 13,500 kWh x 0.576912 = 7,788.31 kg CO2e/t. Market-based is unchanged: the residual
    factor is national (13,500 x 0.712885)."""
    result = engine.calculate(aluminium())
    factor = result.electricity.location_factor
    assert (factor.level, factor.area, factor.year) == ("province", "Guizhou", 2023)
    assert factor.kg_co2e_per_kwh == pytest.approx(GUIZHOU_2023)
    assert "0.4989" in factor.note and "0.5366" in factor.note
    assert result.electricity.location_based_kg_co2e == pytest.approx(13_500 * GUIZHOU_2023, rel=REL)
    assert result.electricity.market_based_kg_co2e == pytest.approx(13_500 * RESIDUAL_2023, rel=REL)
    assert "province" in result.electricity.location_rule


def test_the_province_may_be_written_in_chinese(engine):
    inventory = aluminium()
    inventory.facility.province = "贵州省"
    assert engine.calculate(inventory).electricity.location_factor.area == "Guizhou"


def test_without_a_known_province_the_grid_region_and_then_the_nation_apply(engine):
    """An unknown province in the South grid: 0.6205 x 0.4042 / 0.5306 (South 2023) = 0.472686; with no region
    either, the national 0.6205, and the result says why."""
    inventory = aluminium()
    inventory.facility.province = "Atlantis"
    factor = engine.calculate(inventory).electricity.location_factor
    assert (factor.level, factor.area) == ("region", "South")
    assert factor.kg_co2e_per_kwh == pytest.approx(LC_AVERAGE_2023 * SOUTH_CO2_2023 / NATIONAL_CO2_2023)
    assert "Atlantis" in factor.note
    inventory.facility.grid_region = None
    factor = engine.calculate(inventory).electricity.location_factor
    assert (factor.level, factor.kg_co2e_per_kwh) == ("national", LC_AVERAGE_2023)
    assert "national factor taken" in factor.note


def test_a_pcr_of_version_1_0_0_keeps_the_national_factor(engine):
    factor = engine.calculate(aluminium(version="1.0.0")).electricity.location_factor
    assert (factor.level, factor.kg_co2e_per_kwh) == ("national", LC_AVERAGE_2023)


def test_the_supply_chain_takes_the_factor_year_of_the_footprint(engine):
    """Limestone (factor set: 3 kWh grid power + 0.0005 t diesel per t) in a 2023 and a 2024 footprint:
        2023: 1.2 t x (3 x 0.6205 + 0.0005 x 3,133.66) = 1.2 x 3.428330 = 4.113996
        2024: 1.2 t x (3 x 0.5777 + 0.0005 x 3,133.66) = 1.2 x 3.300230 = 3.960276
    (before, both took the latest factor, 0.5777)."""
    items = [
        item(
            "clinker",
            800,
            "t",
            parameters={
                "cao_fraction": {"amount": 0.65, "unit": "dimensionless"},
                "mgo_fraction": {"amount": 2, "unit": "percent"},
            },
        ),
        item("kiln_coal", 110, "t"),
        item("grid_electricity", 90_000, "kWh"),
        item("limestone", 1_200, "t"),
    ]
    for year, grid in ((2023, LC_AVERAGE_2023), (2024, LC_AVERAGE_2024)):
        result = engine.calculate(
            make_inventory(
                "PCR-CN-CEMENT", 1000, "t", items, reference_period={"start": f"{year}-01-01", "end": f"{year}-12-31"}
            )
        )
        assert contribution(result, "limestone") == pytest.approx(1.2 * (3 * grid + 0.0005 * DIESEL_INDUSTRY), rel=REL)


def test_grid_electricity_is_resolved_into_its_combustion_co2():
    """The 2023 life-cycle factor 0.6205 holds the published combustion CO2 0.5306 (MEE/NBS 2023); only the rest,
    0.0899, stays "CO2e not resolved by gas"."""
    from lca_models.factor_set import load_factor_set

    activity = load_factor_set().activity("electricity-lifecycle-average-2023")
    amounts = {e.flow: e.amount for e in activity.exchanges}
    assert amounts["co2_fossil"] == pytest.approx(0.5306)
    assert amounts["co2e_as_co2_fossil"] == pytest.approx(0.6205 - 0.5306)


# --- captive power ---------------------------------------------------------------------------------------------


def captive(**unit):
    return {
        "units": [
            {
                "name": "unit 1",
                "fuel": "bituminous_coal",
                "fuel_amount": 5_000,
                "fuel_unit": "t",
                "ncv_gj_per_unit": 20.0,
                "gross_generation_mwh": 11_000,
                "auxiliary_mwh": 1_000,
                "net_generation_mwh": 10_000,
                **unit,
            }
        ],
        "supplied_mwh": 9_000,
    }


# per t of coal burned in a power unit: GB/T 32150 B.1 carbon 26.18 t C/TJ, oxidation 0.93, measured NCV 20.0 GJ/t;
# IPCC 2006 Vol. 2 Table 2.2 (energy industries) CH4 1, N2O 1.5 kg/TJ
COAL_CO2 = 20.0 * 26.18 * 0.93 * C_TO_CO2  # = 1,785.476 kg CO2
COAL_NON_CO2 = 0.020 * 1 * GWP_CH4_FOSSIL + 0.020 * 1.5 * GWP_N2O  # = 0.596 + 8.19


def test_an_aluminium_smelter_on_captive_coal_power(engine):
    """1,000 t Al, 13,500 MWh consumed, 9,000 MWh of it from a captive coal unit (5,000 t coal, net 10,000 MWh):
    share of the unit's output = 9,000 / 10,000 = 0.9; per t Al: 5,000 x 0.9 / 1,000 = 4.5 t coal
    combustion = 4.5 x (1,785.476 CO2 + 0.596 + 8.19) = 8,074.18; coal supply = 4.5 x 409.303 = 1,841.86
    captive = 9,916.04 kg CO2e/t = 1.101782 kg CO2e per captive kWh (9,000 kWh/t)
    grid = 13,500 - 9,000 = 4,500 kWh; market 4,500 x 0.712885 = 3,207.98; location 4,500 x 0.576912
    """
    result = engine.calculate(aluminium(captive_power=captive()))
    combustion_kg = 4.5 * (COAL_CO2 + COAL_NON_CO2)
    captive_kg = combustion_kg + 4.5 * COAL_SUPPLY
    assert contribution(result, "captive_power", "combustion") == pytest.approx(combustion_kg, rel=REL)
    assert contribution(result, "captive_power", "supply") == pytest.approx(4.5 * COAL_SUPPLY, rel=REL)
    electricity = result.electricity
    assert electricity.captive_kwh_per_declared_unit == pytest.approx(9_000)
    assert electricity.grid_kwh_per_declared_unit == pytest.approx(4_500)
    assert electricity.captive_kg_co2e == pytest.approx(captive_kg, rel=REL)
    assert electricity.captive_kg_co2e_per_kwh == pytest.approx(captive_kg / 9_000, rel=REL)
    assert electricity.market_based_kg_co2e == pytest.approx(4_500 * RESIDUAL_2023, rel=REL)
    assert electricity.location_based_kg_co2e == pytest.approx(4_500 * GUIZHOU_2023, rel=REL)
    assert result.location_based_kg_co2e - result.market_based_kg_co2e == pytest.approx(
        4_500 * (GUIZHOU_2023 - RESIDUAL_2023), rel=REL
    )
    assert result.per_gas["CO2 (fossil)"].mass_kg >= 4.5 * COAL_CO2 * (1 - REL)
    assert result.direct_emissions_by_item["captive_power"] == {
        "co2": "calculated",
        "ch4": "calculated",
        "n2o": "calculated",
    }


def test_a_captive_unit_with_a_stack_monitor_replaces_only_its_own_co2(engine):
    """CEMS of the unit: 8,000 t CO2 for the year; per t Al 8,000,000 x 0.9 / 1,000 = 7,200 kg replaces
    4.5 x 1,785.476 = 8,034.64 kg calculated; CH4, N2O and the coal supply stay calculated."""
    result = engine.calculate(aluminium(captive_power=captive(measured_co2_t=8_000)))
    assert contribution(result, "captive_power", "measured") == pytest.approx(7_200, rel=REL)
    assert contribution(result, "captive_power", "combustion") == pytest.approx(4.5 * COAL_NON_CO2, rel=REL)
    assert result.direct_emissions_by_item["captive_power"]["co2"].startswith("measured")
    assert result.direct_emissions_basis["co2"].startswith("measured (CEMS of the captive units)")


def test_certificates_cover_only_the_grid_part(engine):
    """4,500 MWh came from the grid: 5,000 MWh of certificates is more than it; 4,000 MWh is accepted and the
    market-based electricity is 4,000 kWh x 0.0336 + 500 kWh x 0.712885 per t."""
    with pytest.raises(InventoryInvalid) as refused:
        engine.calculate(aluminium(captive_power=captive(), green_certificates=[certificate("GEC-W-000001", 5_000)]))
    assert any(e.loc == "green_certificates" and "captive" in e.message for e in refused.value.errors)
    result = engine.calculate(
        aluminium(captive_power=captive(), green_certificates=[certificate("GEC-W-000001", 4_000)])
    )
    assert result.electricity.market_based_kg_co2e == pytest.approx(4_000 * 0.0336 + 500 * RESIDUAL_2023, rel=REL)


@pytest.mark.parametrize(
    "change,loc",
    [
        ({"net_generation_mwh": 10_500}, "captive_power.units[0].net_generation_mwh"),
        ({"fuel": "wood_waste"}, "captive_power.units[0].fuel"),
        ({"fuel_unit": "kWh"}, "captive_power.units[0].fuel_unit"),
        ({"fuel_amount": 500}, "captive_power.units[0].fuel_amount"),  # 1 GJ per MWh: 360 % efficient
    ],
)
def test_captive_units_are_checked(engine, change, loc):
    with pytest.raises(InventoryInvalid) as refused:
        engine.calculate(aluminium(captive_power=captive(**change)))
    assert loc in [e.loc for e in refused.value.errors]


def test_captive_supply_is_balanced_against_generation_and_consumption(engine):
    data = captive()
    data["supplied_mwh"] = 10_001  # more than the unit's net 10,000 MWh
    with pytest.raises(InventoryInvalid) as refused:
        engine.calculate(aluminium(captive_power=data))
    assert [e.loc for e in refused.value.errors] == ["captive_power.supplied_mwh"]
    data["units"][0].update(gross_generation_mwh=21_000, net_generation_mwh=20_000)
    data["supplied_mwh"] = 14_000  # more than the 13,500 MWh consumed
    with pytest.raises(InventoryInvalid) as refused:
        engine.calculate(aluminium(captive_power=data))
    assert "13,500 MWh of electricity consumed" in str(refused.value)


def test_a_pcr_without_captive_power_refuses_it(engine):
    with pytest.raises(InventoryInvalid) as refused:
        engine.calculate(aluminium(version="1.0.0", captive_power=captive()))
    assert [e.loc for e in refused.value.errors] == ["captive_power"]


# --- PFC without anode-effect data -----------------------------------------------------------------------------


def test_tier1_pfc_when_there_is_no_anode_effect_data(engine):
    """No anode-effect item: IPCC 2006 Vol. 3 Table 4.15, CWPB Tier 1: CF4 0.4 kg/t Al, C2F6 0.04 kg/t Al:
        0.4 x 7,380 + 0.04 x 12,400 = 2,952 + 496 = 3,448 kg CO2e/t
    (the slope method with 0.1 AEM gives 0.0143 kg CF4: monitoring pays). The item's data quality is the
    PCR's 4.0 for the default, so the footprint's rating rises."""
    items = [
        item("grid_electricity", 13_500_000, "kWh"),
        item("alumina", 1_920, "t", supplier_pcf_kg_co2e_per_unit=1_500),
        item("anode_net_consumption", 410, "t"),
    ]
    result = engine.calculate(aluminium(items))
    assert contribution(result, "anode_effect_minutes", "default") == pytest.approx(
        0.4 * GWP_CF4 + 0.04 * GWP_C2F6, rel=REL
    )
    assert result.per_gas["CF4"].mass_kg == pytest.approx(0.4, rel=REL)
    assert result.per_gas["C2F6"].mass_kg == pytest.approx(0.04, rel=REL)
    assert any("Tier 1" in gap for gap in result.data_gaps)
    measured = engine.calculate(aluminium())
    assert result.data_quality.dqr > measured.data_quality.dqr
    assert result.data_quality.primary_data_share < measured.data_quality.primary_data_share


def test_the_anode_effect_item_stays_mandatory_in_version_1_0_0(engine):
    items = [
        item("grid_electricity", 13_500_000, "kWh"),
        item("alumina", 1_920, "t"),
        item("anode_net_consumption", 410, "t"),
    ]
    with pytest.raises(InventoryInvalid, match="anode_effect_minutes"):
        engine.calculate(aluminium(items, version="1.0.0"))


# --- measured emissions that name their sources ----------------------------------------------------------------


def cement(version="1.1.0", extra_items=(), **extra):
    data = inventory_data(
        "PCR-CN-CEMENT",
        1000,
        "t",
        [
            item(
                "clinker",
                800,
                "t",
                parameters={
                    "cao_fraction": {"amount": 0.65, "unit": "dimensionless"},
                    "mgo_fraction": {"amount": 2, "unit": "percent"},
                },
            ),
            item("kiln_coal", 110, "t"),
            item("diesel", 1, "t"),
            item("grid_electricity", 90_000, "kWh"),
            *extra_items,
        ],
        **extra,
    )
    data["pcr"]["version"] = version
    return Inventory.model_validate(data)


def test_a_kiln_stack_cems_keeps_the_quarry_diesel_calculated(engine):
    """The kiln stack's CEMS: 700 t CO2 for 1,000 t cement covers clinker calcination and kiln coal. Per t:
    measured 700 + kiln coal CH4/N2O 0.11 x 0.01957 TJ x (10 x 29.8 + 1.5 x 273) + coal supply 0.11 x 409.303
    + diesel, calculated in full: 0.001 t x (42.652 x 20.20 x 0.98 x 44/12 + 0.042652 x (3 x 29.8 + 0.6 x 273))
    + electricity 90 kWh x 0.712885 (residual 2023)
    """
    result = engine.calculate(
        cement(
            measured_emissions=[
                {
                    "gas": "co2",
                    "amount": 700,
                    "unit": "t",
                    "method": "CEMS",
                    "source": "kiln stack",
                    "covers": ["clinker", "kiln_coal"],
                }
            ]
        )
    )
    coal_non_co2 = 0.11 * 0.01957 * (10 * GWP_CH4_FOSSIL + 1.5 * GWP_N2O)
    diesel = 0.001 * combustion(42.652, 20.20, 0.98, 3, 0.6)
    assert contribution(result, "diesel", "combustion") == pytest.approx(diesel, rel=REL)
    assert contribution(result, "clinker", "process") == 0
    assert result.total_kg_co2e == pytest.approx(
        700 + coal_non_co2 + 0.11 * COAL_SUPPLY + diesel + 90 * RESIDUAL_2023, rel=REL
    )
    by_item = result.direct_emissions_by_item
    assert by_item["clinker"]["co2"].startswith("measured (CEMS, kiln stack")
    assert by_item["kiln_coal"] == {"co2": by_item["clinker"]["co2"], "ch4": "calculated", "n2o": "calculated"}
    assert by_item["diesel"]["co2"] == "calculated"
    assert result.direct_emissions_basis["co2"] == "measured (CEMS, kiln stack) and calculated"


def test_version_1_1_0_requires_the_covered_sources_to_be_named(engine):
    with pytest.raises(InventoryInvalid) as refused:
        engine.calculate(cement(measured_emissions=[{"gas": "co2", "amount": 700, "unit": "t"}]))
    assert [e.loc for e in refused.value.errors] == ["measured_emissions[0].covers"]
    with pytest.raises(InventoryInvalid) as refused:
        engine.calculate(
            cement(
                measured_emissions=[
                    {"gas": "co2", "amount": 700, "unit": "t", "covers": ["clinker", "transport_rail"]},
                    {"gas": "co2", "amount": 10, "unit": "t", "covers": ["clinker"]},
                ]
            )
        )
    assert [e.loc for e in refused.value.errors] == [
        "measured_emissions[0].covers[1]",
        "measured_emissions[1].covers[0]",
    ]


def test_an_unnamed_measurement_under_1_0_0_is_flagged(engine):
    result = engine.calculate(cement(version="1.0.0", measured_emissions=[{"gas": "co2", "amount": 700, "unit": "t"}]))
    assert any("names no emission sources" in gap and "diesel" in gap for gap in result.data_gaps)


# --- biomass ---------------------------------------------------------------------------------------------------

# IPCC 2006 Vol. 2 Ch. 1 Tables 1.2/1.3, wood/wood waste: NCV 15.6 GJ/t, 30.5 t C/TJ, oxidation 1 (Ch. 2 default);
# Table 2.3 (manufacturing industries), wood/wood waste: CH4 30, N2O 4 kg/TJ; all of its carbon is biomass
WOOD_NCV, WOOD_CARBON = 15.6, 30.5


def test_a_cement_kiln_burning_biomass_reports_biogenic_co2_apart(engine):
    """20 t wood waste for 1,000 t cement = 0.02 t per t cement:
    CO2 = 0.02 x 15.6 GJ x 30.5 kg C/GJ x 1.0 x 44/12 = 0.02 x 1,744.6 = 34.892 kg, all biogenic: reported apart,
          not in the GWP total (IPCC 2021 gives biogenic CO2 no factor)
    CH4 = 0.02 x 0.0156 TJ x 30 kg/TJ = 0.00936 kg x 27.0 (non-fossil) = 0.25272 kg CO2e
    N2O = 0.02 x 0.0156 TJ x 4 kg/TJ = 0.001248 kg x 273 = 0.340704 kg CO2e (fossil sub-method: N2O counts there)
    """
    result = engine.calculate(cement(extra_items=[item("kiln_biomass", 20, "t")]))
    biogenic_co2 = 0.02 * WOOD_NCV * WOOD_CARBON * 1.0 * C_TO_CO2
    assert biogenic_co2 == pytest.approx(34.892, abs=1e-3)
    assert result.biogenic_co2_emission_kg == pytest.approx(biogenic_co2, rel=REL)
    assert result.per_gas["CO2 (biogenic)"].kg_co2e == 0
    assert contribution(result, "kiln_biomass", "combustion") == pytest.approx(
        0.02 * 0.0156 * (30 * GWP_CH4_BIOGENIC + 4 * GWP_N2O), rel=REL
    )
    assert contribution(result, "kiln_biomass", "supply") == 0  # residues: burden-free at collection (cut-off)
    baseline = engine.calculate(cement())
    assert result.total_kg_co2e - baseline.total_kg_co2e == pytest.approx(0.25272 + 0.340704, rel=1e-5)


def test_a_mixed_waste_fuel_splits_its_carbon_by_the_measured_biomass_fraction(engine):
    """Biomass fraction 0.6 of the same 20 t: biogenic CO2 = 0.6 x 34.892 = 20.935 kg (apart); fossil CO2
    = 0.4 x 34.892 = 13.957 kg counts in the total, with CH4 split the same way (0.4 x fossil 29.8, 0.6 x 27.0)."""
    fuel = item("kiln_biomass", 20, "t", parameters={"biomass_fraction": {"amount": 0.6, "unit": "dimensionless"}})
    result = engine.calculate(cement(extra_items=[fuel]))
    co2 = 0.02 * WOOD_NCV * WOOD_CARBON * C_TO_CO2
    ch4 = 0.02 * 0.0156 * 30
    assert result.biogenic_co2_emission_kg == pytest.approx(0.6 * co2, rel=REL)
    assert contribution(result, "kiln_biomass", "combustion") == pytest.approx(
        0.4 * co2 + ch4 * (0.4 * GWP_CH4_FOSSIL + 0.6 * GWP_CH4_BIOGENIC) + 0.02 * 0.0156 * 4 * GWP_N2O, rel=REL
    )


@pytest.mark.parametrize(
    "change,loc",
    [
        ({"carbon_content_tc_per_tj": 1e300}, "captive_power.units[0].carbon_content_tc_per_tj"),  # schema bound
        ({"carbon_content_tc_per_tj": 60}, "captive_power.units[0].carbon_content_tc_per_tj"),  # not a fossil fuel
        ({"measured_co2_t": 1e308}, "captive_power.units[0].measured_co2_t"),
        ({"measured_co2_t": 1}, "captive_power.units[0].measured_co2_t"),  # 0.0001 t CO2 per MWh from 5,000 t coal
        ({"measured_co2_t": 20_000}, "captive_power.units[0].measured_co2_t"),  # 2 t per MWh
    ],
)
def test_implausible_captive_figures_are_refused_on_their_field(change, loc):
    from pydantic import ValidationError

    from pcr_rules import default_registry
    from pcr_rules.validation import problems

    try:
        inventory = aluminium(captive_power=captive(**change))
    except ValidationError as exc:
        assert loc.replace("[0]", ".0").split(".")[-1] in str(exc)
        return
    found = problems(inventory, default_registry().get("PCR-CN-ALUMINIUM", "1.1.0"))
    assert [e.loc for e in found] == [loc]


def test_a_serial_number_of_more_than_18_digits_is_named_as_such():
    from pcr_rules import default_registry
    from pcr_rules.validation import problems

    inventory = aluminium(
        green_certificates=[certificate("GEC-XJ-2023-S-000001", 1, serial_last="GEC-XJ-2023-S-9000000000000000001")]
    )
    [error] = problems(inventory, default_registry().get("PCR-CN-ALUMINIUM", "1.1.0"))
    assert error.loc == "green_certificates[0].serial_last" and "19 digits" in error.message
