"""Suppliers' values in the engine (issue 20): a purchased input takes its supplier's certified value per unit, given
as fixed data by the service (`lca_models.supply.SupplierValue`, keyed by the item's index), in place of the factor
set's screening activity; the primary data share and the data-quality rating weight the suppliers' own by their
contributions (PACT Technical Specifications v3, Methodology 4.2.2 and 4.2.3).

Factors by hand (tests/hand.py, the cn-2025.1 factor set), reference year 2023, facility in Guizhou:
- grid, market-based without certificates: the residual life-cycle factor 0.6205 x 0.6096 / 0.5306 = 0.712885;
- gypsum at the quarry: 3 kWh x 0.6205 + 0.0005 t diesel x 3,106.7091 = 1.8615 + 1.5534 = 3.4149 kg CO2e/t.
"""

import pytest

from footprint_api.services.pact import mapping
from lca_models.supply import SupplierValue, SupplierValueMissing
from pcr_rules.errors import InventoryInvalid
from pcr_rules.inventory import Inventory
from tests.builders import certificate, inventory_data, item
from tests.hand import BITUMINOUS_INDUSTRY, DIESEL_INDUSTRY, GWP_C2F6, GWP_CF4, LC_AVERAGE_2023, RESIDUAL_2023
from tests.test_pact import FOOTPRINT, assert_valid

REL = 1e-6  # Brightway stores matrix values as float32
GYPSUM = 3 * LC_AVERAGE_2023 + 0.0005 * DIESEL_INDUSTRY  # = 3.414854 kg CO2e/t
KILN_LABEL = "label:PCF-2026-000123-F"
PLANT_LABEL = "label:PCF-2026-000200-F"


def contribution(result, item_id: str, part: str) -> float:
    return sum(c.kg_co2e for c in result.contributions if c.item == item_id and c.part == part)


def inventory(pcr_id: str, version: str, production_t: float, items: list[dict], **extra) -> Inventory:
    data = inventory_data(pcr_id, production_t, "t", items, **extra)
    data["pcr"]["version"] = version
    return Inventory.model_validate(data)


# --- a grinding station's cement on its kiln's clinker label --------------------------------------------------------

PO_42_5 = {"cement_type": {"choice": "P·O"}, "strength_class": {"choice": "42.5"}}


def grinding_station(clinker: dict | None = None, **overrides) -> Inventory:
    """100,000 t of P·O 42.5 from a grinding station (粉磨站, no kiln): 75,000 t of purchased clinker (0.75 t/t),
    5,000 t of gypsum (estimated: secondary data), 20,000 t of slag (burden-free), 3,500,000 kWh (35 kWh/t)."""
    purchased = item("purchased_clinker", 75_000, "t", **(clinker or {}))
    items = [
        purchased,
        item("gypsum", 5_000, "t", data_source="secondary"),
        item("supplementary_materials", 20_000, "t"),
        item("grid_electricity", 3_500_000, "kWh"),
    ]
    return inventory("PCR-CN-CEMENT", "1.2.0", 100_000, items, parameters=PO_42_5, **overrides)


ON_THE_LABEL = {"supplier": {"kind": "label", "reference": "PCF-2026-000123-F"}}


def label_value(share: float | None = 0.8, dqr: float | None = 1.5) -> SupplierValue:
    """The kiln's clinker label: 850 kg CO2e per t clinker, its own primary data share and rating."""
    return SupplierValue(850.0, KILN_LABEL, True, share, dqr)


def test_a_grinding_station_takes_its_kiln_s_label_for_the_purchased_clinker(engine):
    """Per t of cement:
        purchased clinker   0.75 t x 850 kg CO2e/t (the label)            = 637.5
        grid electricity    35 kWh x 0.712885 (residual, no certificates)  =  24.950976
        gypsum              0.05 t x 3.414854                              =   0.170743
        slag                0.2 t, burden-free (cut-off)                   =   0
        total                                                              = 662.621719 kg CO2e/t
    The clinker row is part `supplier` and names the label; the clinker-to-cement ratio counts purchased clinker."""
    result = engine.calculate(grinding_station(ON_THE_LABEL), suppliers={0: label_value()})
    assert contribution(result, "purchased_clinker", "supplier") == pytest.approx(637.5, rel=REL)
    [clinker] = [c for c in result.contributions if c.item == "purchased_clinker"]
    assert clinker.source == KILN_LABEL and clinker.stage == "raw_material_acquisition"
    assert contribution(result, "grid_electricity", "electricity") == pytest.approx(35 * RESIDUAL_2023, rel=REL)
    assert contribution(result, "gypsum", "input") == pytest.approx(0.05 * GYPSUM, rel=REL)
    assert result.total_kg_co2e == pytest.approx(637.5 + 35 * RESIDUAL_2023 + 0.05 * GYPSUM, rel=REL)
    assert pytest.approx(662.621719, rel=1e-8) == 637.5 + 35 * RESIDUAL_2023 + 0.05 * GYPSUM
    assert result.indicators["clinker_to_cement_ratio"] == pytest.approx(0.75)
    assert result.per_gas["CO2e not resolved by gas"].kg_co2e >= 637.5  # a label gives no gas split


def test_without_a_supplier_the_factor_set_s_screening_clinker_is_the_fallback(engine):
    """The factor set's `clinker` (materials.yaml), per t clinker in 2023:
        calcination 520 (IPCC 0.51 x 1.02) + limestone 1.160117 t x (3 x 0.6205 + 0.0005 x 3,106.7091)
        + clay 0.25 t x (2 x 0.6205 + 0.0005 x 3,106.7091) + coal 0.157246 t x 2,170.2370 + 55 kWh x 0.6205
        = 520 + 3.961631 + 0.698589 + 341.261094 + 34.1275 = 900.048813 kg CO2e/t clinker;
    x 0.75 t = 675.036610 kg per t of cement, part `input` (a screening value, no source)."""
    screening = (
        520
        + 1.160117 * (3 * LC_AVERAGE_2023 + 0.0005 * DIESEL_INDUSTRY)
        + 0.25 * (2 * LC_AVERAGE_2023 + 0.0005 * DIESEL_INDUSTRY)
        + 0.157246 * BITUMINOUS_INDUSTRY
        + 55 * LC_AVERAGE_2023
    )
    assert screening == pytest.approx(900.048813, rel=1e-8)
    result = engine.calculate(grinding_station())
    assert contribution(result, "purchased_clinker", "input") == pytest.approx(0.75 * screening, rel=REL)
    assert [c.source for c in result.contributions if c.item == "purchased_clinker"] == [None]


def test_the_primary_data_share_weights_the_supplier_s_own_share_by_its_contribution(engine):
    """PACT v3 (Methodology 4.2.2): the primary data share is the share of the footprint from primary data, and an
    input taken from its supplier's footprint brings the supplier's own share. Per t of cement:
        clinker      637.5      x 0.80 (the label's primaryDataShare)  = 510.0
        electricity   24.950976 x 1    (metered on site: primary)      =  24.950976
        gypsum         0.170743 x 0    (estimated: secondary)          =   0
        share = 534.950976 / 662.621719 = 80.73 %  (PACT primaryDataShare "80.7")
    The rating likewise: (637.5 x 1.5 + 24.950976 x 2.0 (primary default) + 0.170743 x 3.0 (secondary default))
        / 662.621719 = 1,006.664181 / 662.621719 = 1.519 (PACT dqi: each of the three ratings 1.52)."""
    result = engine.calculate(grinding_station(ON_THE_LABEL), suppliers={0: label_value(0.8, 1.5)})
    electricity, gypsum = 35 * RESIDUAL_2023, 0.05 * GYPSUM
    total = 637.5 + electricity + gypsum
    share = (637.5 * 0.8 + electricity) / total
    assert share == pytest.approx(0.807325, abs=1e-6)
    assert result.data_quality.primary_data_share == pytest.approx(share, rel=REL)
    dqr = (637.5 * 1.5 + electricity * 2.0 + gypsum * 3.0) / total
    assert result.data_quality.dqr == round(dqr, 3) == 1.519
    assert result.data_quality.technological_dqr == result.data_quality.temporal_dqr == 1.519

    footprint = mapping.product_footprint(pact_source(result))
    assert_valid(FOOTPRINT, footprint)  # the spec's ProductFootprint schema, `dqi` included
    pcf = footprint["pcf"]
    assert pcf["primaryDataShare"] == "80.7"
    assert pcf["dqi"] == {"technologicalDQR": "1.52", "geographicalDQR": "1.52", "temporalDQR": "1.52"}


def test_a_supplier_value_of_unknown_share_and_rating_counts_as_secondary(engine):
    """No primaryDataShare and no rating from the supplier: its 637.5 kg are secondary data, rated 3.0.
    share = 24.950976 / 662.621719 = 3.77 %;  rating = (637.5 x 3 + 24.950976 x 2 + 0.170743 x 3) / 662.621719
    = 1,962.914181 / 662.621719 = 2.962."""
    result = engine.calculate(grinding_station(ON_THE_LABEL), suppliers={0: label_value(None, None)})
    electricity, gypsum = 35 * RESIDUAL_2023, 0.05 * GYPSUM
    total = 637.5 + electricity + gypsum
    assert result.data_quality.primary_data_share == pytest.approx(electricity / total, rel=REL)
    assert result.data_quality.dqr == round((637.5 * 3 + electricity * 2 + gypsum * 3) / total, 3) == 2.962


def test_a_supplier_value_is_fixed_data_in_the_monte_carlo(engine):
    """With every item's activity data exact (relative_sd 0), the label's 637.5 kg stay 637.5 in every draw: only
    the grid factor (5 % in the factor set) and the gypsum's background vary. So every draw lies above 637.5 and
    the 95 % interval is a few kg wide around 662.6 (2 x 1.96 x 5 % x 24.95 = 4.9 kg for the grid); the screening
    clinker, with its own uncertain background (calcination 5 %, coal 15 %, power 20 %), spreads far wider."""
    exact = {"relative_sd": 0.0}
    labelled = grinding_station({**ON_THE_LABEL, **exact})
    for entry in labelled.items[1:]:
        entry.relative_sd = 0.0
    result = engine.calculate(labelled, suppliers={0: label_value()}, monte_carlo_iterations=200, seed=11)
    u = result.uncertainty
    assert 637.5 < u.p2_5_kg_co2e < result.total_kg_co2e < u.p97_5_kg_co2e < 637.5 + 2 * 35 * RESIDUAL_2023
    assert u.p97_5_kg_co2e - u.p2_5_kg_co2e < 10
    screening = grinding_station(exact)
    for entry in screening.items[1:]:
        entry.relative_sd = 0.0
    spread = engine.calculate(screening, monte_carlo_iterations=200, seed=11).uncertainty
    assert spread.p97_5_kg_co2e - spread.p2_5_kg_co2e > 5 * (u.p97_5_kg_co2e - u.p2_5_kg_co2e)


def test_an_item_naming_a_supplier_without_its_resolved_value_is_refused(engine):
    with pytest.raises(SupplierValueMissing, match=r"items\[0\] \(purchased_clinker\) names label PCF-2026-000123-F"):
        engine.calculate(grinding_station(ON_THE_LABEL))
    with pytest.raises(ValueError, match=r"items\[1\], which names no supplier"):
        engine.calculate(grinding_station(ON_THE_LABEL), suppliers={0: label_value(), 1: label_value()})


def test_a_supplier_value_is_checked_when_it_is_made():
    with pytest.raises(ValueError, match=r"share is 0\.\.1"):
        SupplierValue(850.0, KILN_LABEL, True, 80.0, None)  # a percentage where a share is due
    with pytest.raises(ValueError, match=r"rating is 1\.\.5"):
        SupplierValue(850.0, KILN_LABEL, True, 0.8, 0.5)
    with pytest.raises(ValueError, match="finite"):
        SupplierValue(float("nan"), KILN_LABEL, True, None, None)


def test_the_typed_supplier_footprint_still_works_and_stays_apart(engine):
    """The buyer's typed 850 kg/t (unverified): the same 637.5 kg, as part `supplier_pcf` with no source."""
    result = engine.calculate(grinding_station({"supplier_pcf_kg_co2e_per_unit": 850}))
    assert contribution(result, "purchased_clinker", "supplier_pcf") == pytest.approx(637.5, rel=REL)
    assert contribution(result, "purchased_clinker", "supplier") == 0


# --- a smelter on direct-line power from a labelled plant -----------------------------------------------------------


def smelter(direct_kwh: float, grid_kwh: float | None = None, **extra) -> Inventory:
    """1,000 t of aluminium (PCR-CN-ALUMINIUM 1.3.0, CWPB by default): direct-line power with the plant's label,
    alumina with a typed supplier footprint, 410 t of anodes, 0.1 anode-effect minutes per cell-day."""
    items = [
        item(
            "direct_line_electricity", direct_kwh, "kWh", supplier={"kind": "label", "reference": "PCF-2026-000200-F"}
        ),
        item("alumina", 1_920, "t", supplier_pcf_kg_co2e_per_unit=1_500),
        item("anode_net_consumption", 410, "t"),
        item("anode_effect_minutes", 0.1, "minute/day"),
    ]
    if grid_kwh is not None:
        items.append(item("grid_electricity", grid_kwh, "kWh"))
    return inventory("PCR-CN-ALUMINIUM", "1.3.0", 1_000, items, **extra)


PLANT = {0: SupplierValue(0.95, PLANT_LABEL, True, 0.9, 1.2)}  # the coal plant's label: 0.95 kg CO2e/kWh


def test_a_smelter_takes_its_power_plant_s_label_for_direct_line_electricity(engine):
    """Per t of aluminium (the other terms as in tests/test_footprints_by_category.py):
        direct-line power   13,500 kWh x 0.95 kg CO2e/kWh (the plant's label)          = 12,825
        alumina             1.92 t x 1,500 (typed supplier footprint)                  =  2,880
        anode CO2           0.41 t x (1 - 0.02 - 0.004) x 44/12 x 1000                 =  1,467.253333
        anode production    0.41 x (70 m3 gas x 2.164412 + 120 kWh x 0.6205 + 250)     =    195.147225
        PFC (CWPB slope)    0.143 x 0.1 = 0.0143 kg CF4 x 7,380 + 0.0143 x 0.121 x 12,400 = 105.534 + 21.455720
        total                                                                          = 17,494.390278 kg CO2e/t
    No grid power: the electricity account is empty, whatever the method."""
    result = engine.calculate(smelter(13_500_000), suppliers=PLANT)
    assert contribution(result, "direct_line_electricity", "supplier") == pytest.approx(12_825, rel=REL)
    assert contribution(result, "alumina", "supplier_pcf") == pytest.approx(2_880, rel=REL)
    anode = 0.41 * (1 - 0.02 - 0.004) * 44 / 12 * 1000
    pfc = 0.0143 * GWP_CF4 + 0.0143 * 0.121 * GWP_C2F6
    assert contribution(result, "anode_net_consumption", "process") == pytest.approx(anode, rel=REL)
    assert contribution(result, "anode_effect_minutes", "process") == pytest.approx(pfc, rel=REL)
    total = 12_825 + 2_880 + anode + contribution(result, "anode_net_consumption", "supply") + pfc
    assert result.total_kg_co2e == pytest.approx(total, rel=REL)
    assert result.total_kg_co2e == pytest.approx(17_494.390278, rel=REL)
    assert result.electricity.consumed_kwh_per_declared_unit == 0 == result.electricity.market_based_kg_co2e


def test_without_the_plant_s_label_direct_line_power_takes_coal_fired_generation(engine):
    """The fallback is the factor set's coal-fired generation, life cycle 2023: 13,500 x 0.9440 = 12,744 kg/t."""
    data = smelter(13_500_000).model_dump(mode="json")
    data["items"][0].pop("supplier")
    result = engine.calculate(Inventory.model_validate(data))
    assert contribution(result, "direct_line_electricity", "input") == pytest.approx(12_744, rel=REL)


def test_green_certificates_cover_grid_power_only_never_the_direct_line(engine):
    """12,500 kWh/t over the direct line and 1,000 kWh/t from the grid: certificates for 1,500 MWh (1,500,000 kWh,
    1.5 GWh for 1,000 t) exceed the 1,000,000 kWh of grid power and are refused, though the smelter consumed
    13,500,000 kWh in all. Certificates for 600 MWh cover 600 kWh of each t's 1,000 grid kWh:
        market-based grid = 600 x 0.0336 (wind) + 400 x 0.712885 = 20.16 + 285.154 = 305.314 kg/t
    and the direct line stays 12,500 x 0.95 = 11,875 kg/t."""
    with pytest.raises(InventoryInvalid) as refused:
        engine.calculate(
            smelter(12_500_000, 1_000_000, green_certificates=[certificate("GEC-WIND-000001", 1_500)]), suppliers=PLANT
        )
    assert [(e.loc, e.code) for e in refused.value.errors] == [
        ("green_certificates", "validation.certificates_over_grid")
    ]
    covered = smelter(12_500_000, 1_000_000, green_certificates=[certificate("GEC-WIND-000001", 600)])
    result = engine.calculate(covered, suppliers=PLANT)
    assert result.electricity.market_based_kg_co2e == pytest.approx(600 * 0.0336 + 400 * RESIDUAL_2023, rel=REL)
    assert contribution(result, "direct_line_electricity", "supplier") == pytest.approx(11_875, rel=REL)


# --- what the checks refuse --------------------------------------------------------------------------------------


def test_a_supplier_reference_belongs_to_a_purchased_input_only(engine):
    """Grid electricity is no purchased input: the reference is refused at `items[4].supplier`, naming the item."""
    data = smelter(12_500_000, 1_000_000).model_dump(mode="json")
    data["items"][4]["supplier"] = {"kind": "label", "reference": "PCF-2026-000200-F"}
    with pytest.raises(InventoryInvalid) as refused:
        engine.calculate(Inventory.model_validate(data), suppliers={**PLANT, 4: PLANT[0]})
    [error] = refused.value.errors
    assert (error.loc, error.code, error.params["item_id"]) == (
        "items[4].supplier",
        "validation.supplier_not_input",
        "grid_electricity",
    )


def test_a_release_is_cited_with_its_entry_and_a_label_without_one(engine):
    release = grinding_station({"supplier": {"kind": "release", "reference": "2026.1"}})
    labelled = grinding_station({"supplier": {"kind": "label", "reference": "PCF-2026-000123-F", "entry": "x"}})
    for inventory_, code in ((release, "supplier_entry_required"), (labelled, "supplier_entry_refused")):
        with pytest.raises(InventoryInvalid) as refused:
            engine.calculate(inventory_, suppliers={0: label_value()})
        assert [(e.loc, e.code) for e in refused.value.errors] == [("items[0].supplier.entry", f"validation.{code}")]


def test_a_supplier_reference_and_a_typed_footprint_do_not_stand_together(engine):
    both = grinding_station({**ON_THE_LABEL, "supplier_pcf_kg_co2e_per_unit": 850})
    with pytest.raises(InventoryInvalid) as refused:
        engine.calculate(both, suppliers={0: label_value()})
    assert [(e.loc, e.code) for e in refused.value.errors] == [
        ("items[0].supplier_pcf_kg_co2e_per_unit", "validation.supplier_and_typed_pcf")
    ]


# --- helpers ---------------------------------------------------------------------------------------------------


def pact_source(result) -> mapping.PactSource:
    from datetime import UTC, datetime

    from pcr_rules.registry import default_registry

    return mapping.PactSource(
        footprint_id="6f0b0c1e-0000-4000-8000-000000000001",
        created=datetime(2026, 1, 5, tzinfo=UTC),
        deprecated=False,
        preceding_ids=[],
        company_name="Grinding station (test)",
        company_urn="urn:uuid:6f0b0c1e-0000-4000-8000-000000000002",
        product_urns=["urn:uuid:6f0b0c1e-0000-4000-8000-000000000003"],
        product_name="P·O 42.5",
        pcr=default_registry().get("PCR-CN-CEMENT", "1.2.0"),
        province="Guizhou",
        result=result.model_dump(mode="json"),
        certification=None,
    )
