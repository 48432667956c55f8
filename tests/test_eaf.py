"""The EAF route of PCR-CN-STEEL 1.1.0: charge carbon, quicklime, burnt dolomite and oxygen, each with its chain.

A scrap-EAF plant, 1,000 t crude steel in 2023, per t crude steel:
  scrap 1.08 t; charge carbon (anthracite) 15 kg; graphite electrodes 1.5 kg; quicklime 40 kg; burnt dolomite
  10 kg; oxygen 35 Nm3; grid electricity 420 kWh; carbon leaving in the steel at a measured 0.30 %.

Factors (hand-calculated from their sources):
- carbon contents, IPCC 2006 Vol. 3 Table 4.3: EAF charge carbon 0.83, EAF carbon electrodes 0.82 kg C/kg;
- coal mining CH4 (18 + 2.5) m3/t x 0.67 kg/m3 = 13.735 kg/t (IPCC 2006 Vol. 2 Ch. 4.1.3.2, Tier 1 underground);
- coke production 560 kg CO2/t and 1.3 t coal/t coke (IPCC 2006 Vol. 3 Table 4.1; coal charge: screening);
- quicklime (materials.yaml): calcination 0.95 x 44.009/56.077 = 0.745556 t CO2/t (IPCC 2006 Vol. 3 Eq. 2.9,
  Table 2.4 CaO content 0.95; IUPAC atomic weights); 1.695556 t limestone = 0.95 x 100.086/56.077; kiln coal
  4.5 GJ/19.570 GJ/t = 0.229944 t; 30 kWh (kiln energy: screening);
- burnt dolomite: 0.95 x 88.018/96.381 = 0.867568 t CO2/t; 1.817568 t dolomite = 0.95 x 184.399/96.381; same kiln;
- oxygen: 0.5 kWh per Nm3 (screening); grid life-cycle factor 2023 0.6205 kg CO2e/kWh (MEE/NBS/NEA 2025 No. 3);
- bituminous coal burned: 19.570 GJ/t x 26.18 t C/TJ x 0.93 x 44/12 = 1,747.0883 kg CO2, CH4 0.1957, N2O
  0.029355 kg/t (GB/T 32150-2015 Table B.1; IPCC 2006 Vol. 2 Table 2.3); diesel burned 42.652 x 20.20 x 0.98 x
  44/12 = 3,095.9096 kg CO2, CH4 0.127956, N2O 0.0255912 kg/t; limestone and dolomite at the quarry: 3 kWh and
  0.0005 t diesel per t.
"""

import pytest
from typer.testing import CliRunner

from footprint_api.cli import app
from lca_models.flows import FLOWS
from pcr_rules import InventoryInvalid, validate_inventory
from pcr_rules.registry import default_registry
from tests.builders import inventory_data, item
from tests.conftest import inventory
from tests.test_per_gas import chain_gases, row

C_TO_CO2 = 44 / 12
LC_2023 = 0.6205
CO2, CH4, N2O = (FLOWS[k].label for k in ("co2_fossil", "ch4_fossil", "n2o"))
DIRECT_PARTS = ("process", "combustion")


def scrap_eaf(version: str = "1.1.0", extra: list[dict] | None = None) -> dict:
    data = inventory_data(
        "PCR-CN-STEEL",
        1000,
        "t",
        [
            item("steel_scrap", 1080, "t"),
            item("eaf_charge_carbon", 15, "t"),
            item("eaf_electrodes", 1.5, "t"),
            item("quicklime_flux", 40, "t"),
            item("burnt_dolomite_flux", 10, "t"),
            item("oxygen", 35_000, "Nm3"),
            item("grid_electricity", 420_000, "kWh"),
            item("carbon_in_crude_steel", 1000, "t", parameters={"carbon_fraction": {"amount": 0.003, "unit": "1"}}),
            *(extra or []),
        ],
    )
    data["pcr"]["version"] = version
    return data


@pytest.fixture(scope="module")
def eaf(engine):
    return engine.calculate(inventory(scrap_eaf()))


@pytest.fixture(scope="module")
def electricity_2023(engine):
    """kg of each gas per kWh of the grid electricity in the 2023 supply chains (CO2e 0.6205 in total)."""
    factor_set = engine.factor_set
    return chain_gases(factor_set, factor_set.for_year("electricity_grid_lifecycle", 2023))


def test_charge_carbon_is_process_co2_by_its_carbon_content(eaf):
    """15 kg charge carbon per t x 0.83 x 44/12 = 0.01245 t C x 3.666667 = 45.65 kg CO2."""
    assert row(eaf, "eaf_charge_carbon", "process").gases == {CO2: pytest.approx(45.65, rel=1e-9)}


def test_the_direct_co2_of_a_scrap_eaf_is_carbon_in_less_carbon_out(eaf):
    """Charge carbon 45.65 + electrodes 1.5 kg x 0.82 x 44/12 = 4.51 - steel 1 t x 0.003 x 44/12 = 11.0:
    direct CO2 = 45.65 + 4.51 - 11.0 = 39.16 kg per t, below the IPCC 2006 Tier 1 default of 80 kg (0.08 t CO2/t,
    Vol. 3 Table 4.1, scrap EAF) as expected for a furnace charging no raw carbonate; the lime's calcination is
    upstream."""
    direct = sum(c.kg_co2e for c in eaf.contributions if c.part in DIRECT_PARTS)
    assert row(eaf, "eaf_electrodes", "process").gases[CO2] == pytest.approx(4.51, rel=1e-9)
    assert row(eaf, "carbon_in_crude_steel", "process").gases[CO2] == pytest.approx(-11.0, rel=1e-9)
    assert direct == pytest.approx(39.16, rel=1e-9)
    assert 0 < direct < 0.08 * 1000


def test_charge_carbon_supply_is_coal_mining_methane(eaf):
    """15 kg coal x 13.735 kg CH4/t = 0.206025 kg CH4 (single-precision background: 1e-6)."""
    assert row(eaf, "eaf_charge_carbon", "supply").gases == {CH4: pytest.approx(0.206025, rel=1e-6)}


def test_charge_coke_carries_the_coke_plant(engine):
    """5 kg coke per t: process 0.005 x 0.83 x 44/12 = 15.216667 kg CO2; supply 0.005 t x 560 kg CO2/t = 2.8 kg CO2
    and 0.005 x 1.3 t coal x 13.735 kg CH4/t = 0.0892775 kg CH4."""
    result = engine.calculate(inventory(scrap_eaf(extra=[item("eaf_charge_coke", 5, "t")])))
    assert row(result, "eaf_charge_coke", "process").gases == {CO2: pytest.approx(15.216667, rel=1e-6)}
    supply = row(result, "eaf_charge_coke", "supply").gases
    assert supply == {CO2: pytest.approx(2.8, rel=1e-6), CH4: pytest.approx(0.0892775, rel=1e-6)}


def test_quicklime_carries_calcination_kiln_coal_quarry_and_power(eaf, electricity_2023):
    """Per t quicklime, without electricity: CO2 = 745.556 calcination + 1.695556 x 0.0005 x 3,095.9096 = 2.624644
    quarry diesel + 0.229944 x 1,747.0883 = 401.732464 kiln coal = 1,149.913108 kg; CH4 = 0.229944 x (0.1957 +
    13.735) + 1.695556 x 0.0005 x 0.127956 = 3.203389 kg; N2O = 0.229944 x 0.029355 + 1.695556 x 0.0005 x 0.0255912
    = 0.0067717 kg; electricity 30 + 1.695556 x 3 = 35.086668 kWh.
    x 0.04 t per t steel: CO2 45.996524 kg, CH4 0.128136 kg, 1.403467 kWh;
    CO2e = 0.04 x (1,149.913108 + 3.203389 x 29.8 + 0.0067717 x 273 + 35.086668 x 0.6205) = 50.759763 kg."""
    lime = row(eaf, "quicklime_flux", "input")
    kwh = 0.04 * 35.086668
    assert lime.gases[CO2] - kwh * electricity_2023.get(CO2, 0.0) == pytest.approx(45.996524, rel=1e-6)
    assert lime.gases[CH4] - kwh * electricity_2023.get(CH4, 0.0) == pytest.approx(0.128136, rel=1e-5)
    assert lime.gases[N2O] == pytest.approx(0.04 * 0.0067717, rel=1e-4)
    assert lime.kg_co2e == pytest.approx(50.759763, rel=1e-6)
    assert lime.stage == "raw_material_acquisition"


def test_burnt_dolomite_carries_its_calcination_and_kiln(eaf, electricity_2023):
    """Per t: CO2 = 867.568 + 1.817568 x 0.0005 x 3,095.9096 = 2.813516 + 401.732464 = 1,272.113980 kg; CH4 3.203397
    kg; N2O 0.0067733 kg; 30 + 1.817568 x 3 = 35.452704 kWh. x 0.01 t: CO2 12.721140 kg;
    CO2e = 0.01 x (1,272.113980 + 3.203397 x 29.8 + 0.0067733 x 273 + 35.452704 x 0.6205) = 13.914227 kg."""
    dolomite = row(eaf, "burnt_dolomite_flux", "input")
    kwh = 0.01 * 35.452704
    assert dolomite.gases[CO2] - kwh * electricity_2023.get(CO2, 0.0) == pytest.approx(12.721140, rel=1e-6)
    assert dolomite.kg_co2e == pytest.approx(13.914227, rel=1e-6)


def test_oxygen_carries_the_air_separation_power(eaf):
    """35 Nm3 x 0.5 kWh/Nm3 = 17.5 kWh x 0.6205 kg CO2e/kWh (2023 life-cycle average) = 10.85875 kg CO2e."""
    oxygen = row(eaf, "oxygen", "input")
    assert oxygen.kg_co2e == pytest.approx(10.85875, rel=1e-6)
    assert sum(oxygen.gases.values()) == pytest.approx(10.85875, rel=1e-6)  # CO2 and unresolved CO2e, GWP 1


def test_the_lime_factors_are_the_stoichiometry_times_the_cited_content(engine):
    """44.009 / 56.077 = 0.784796; x 0.95 = 0.745556 t/t. 88.018 / 96.381 = 0.913230; x 0.95 = 0.867568 t/t."""
    co2, cao, mgo = 12.011 + 2 * 15.999, 40.078 + 15.999, 24.305 + 15.999
    for code, per_t in (("quicklime", 0.95 * co2 / cao), ("burnt_dolomite", 0.95 * 2 * co2 / (cao + mgo))):
        calcination = next(e for e in engine.factor_set.activity(code).exchanges if e.flow == "co2_fossil")
        assert calcination.amount == pytest.approx(per_t * 1000, abs=0.001)
    assert 0.95 * co2 / cao == pytest.approx(0.745556, abs=1e-6)


# --- the PCR's versions -----------------------------------------------------------------------------------------


def test_version_1_1_0_takes_the_provincial_grid_factor_and_1_0_0_is_unchanged():
    registry = default_registry()
    old, new = registry.get("PCR-CN-STEEL", "1.0.0"), registry.get("PCR-CN-STEEL", "1.1.0")
    assert old.electricity.location_level == "national" and new.electricity.location_level == "province"
    added = {"eaf_charge_carbon", "eaf_charge_coke", "quicklime_flux", "burnt_dolomite_flux", "oxygen"}
    assert {i.id for i in new.items} - {i.id for i in old.items} == added
    assert not added & {i.id for i in old.items}
    # offered for new products since issue 21: 2.0.0, a product form per label (1.1.0 stays for crude steel)
    assert registry.get("PCR-CN-STEEL").version == "2.0.0"


def test_the_pcr_notes_the_tier1_scrap_eaf_plausibility():
    notes = " ".join(default_registry().get("PCR-CN-STEEL", "1.1.0").notes)
    assert "0.08 t CO2/t" in notes and "Table 4.1" in notes


def test_an_eaf_item_under_1_0_0_is_refused_naming_the_field():
    data = scrap_eaf(version="1.0.0")
    with pytest.raises(InventoryInvalid) as refused:
        validate_inventory(inventory(data), default_registry().get("PCR-CN-STEEL", "1.0.0"))
    fields = {error.loc for error in refused.value.errors}
    assert {"items[1].item", "items[3].item", "items[4].item", "items[5].item"} <= fields


def test_oxygen_beyond_the_plausible_range_is_refused():
    data = scrap_eaf()
    data["items"][5]["amount"] = 200_000  # 200 Nm3 per t
    with pytest.raises(InventoryInvalid) as refused:
        validate_inventory(inventory(data), default_registry().get("PCR-CN-STEEL", "1.1.0"))
    assert "items[5].amount" in {error.loc for error in refused.value.errors}


def test_the_cli_lists_both_versions_and_the_steel_example_still_follows_1_0_0():
    runner = CliRunner()
    rows = [line.split()[:2] for line in runner.invoke(app, ["pcr", "list"]).stdout.splitlines()]
    assert ["PCR-CN-STEEL", "1.0.0"] in rows and ["PCR-CN-STEEL", "1.1.0"] in rows
    example = runner.invoke(app, ["example", "steel-hebei-bfbof-2023"])
    assert example.exit_code == 0 and '"version": "1.0.0"' in example.stdout


def test_the_web_pcr_chooser_offers_the_latest_steel_version():
    from footprint_api.web.routes.inventory import _pcr_choices

    steel = [pcr for pcr in _pcr_choices() if pcr.id == "PCR-CN-STEEL"]
    assert [pcr.version for pcr in steel] == ["2.0.0"]
