"""Properties of the engine that hold for every inventory."""

import pytest

from lca_models.naive import calculate_naive
from tests.conftest import EXAMPLES, inventory, load_example


@pytest.mark.parametrize("example", [p.name for p in EXAMPLES])
def test_factorised_engine_agrees_with_a_fresh_brightway_lca(engine, example):
    """The naive path lets Brightway solve background and foreground together; the engine sums unit scores."""
    data = inventory(load_example(example))
    fast, naive = engine.calculate(data), calculate_naive(engine, data)
    assert fast.total_kg_co2e == pytest.approx(naive.total_kg_co2e, rel=1e-6)
    assert fast.fossil_kg_co2e == pytest.approx(naive.fossil_kg_co2e, rel=1e-6)


@pytest.mark.parametrize("example", [p.name for p in EXAMPLES])
def test_same_inventory_same_result(engine, example):
    data = inventory(load_example(example))
    assert engine.calculate(data).model_dump_json() == engine.calculate(data).model_dump_json()


@pytest.mark.parametrize("example", [p.name for p in EXAMPLES])
def test_split_stages_and_contributions_add_up_to_the_total(engine, example):
    result = engine.calculate(inventory(load_example(example)))
    assert result.fossil_kg_co2e + result.biogenic_kg_co2e + result.land_use_kg_co2e == pytest.approx(
        result.total_kg_co2e, rel=1e-9
    )
    assert sum(result.stages.values()) == pytest.approx(result.total_kg_co2e, rel=1e-9)
    assert sum(c.kg_co2e for c in result.contributions) == pytest.approx(result.total_kg_co2e, rel=1e-9)
    assert sum(g.kg_co2e for g in result.per_gas.values()) == pytest.approx(result.total_kg_co2e, rel=1e-6)


def test_monte_carlo_is_reproducible_and_brackets_the_static_result(engine):
    data = inventory(load_example("aluminium-guizhou-2023.json"))
    first = engine.calculate(data, monte_carlo_iterations=200, seed=7)
    again = engine.calculate(data, monte_carlo_iterations=200, seed=7)
    other = engine.calculate(data, monte_carlo_iterations=200, seed=8)
    u = first.uncertainty
    assert u == again.uncertainty and u != other.uncertainty
    assert u.p2_5_kg_co2e < first.total_kg_co2e < u.p97_5_kg_co2e
    assert u.mean_kg_co2e == pytest.approx(first.total_kg_co2e, rel=0.02)
    assert 0 < u.relative_sd < 0.2


def test_cbam_context_does_not_apply_certificates(engine):
    """EU CBAM accepts no GEC for indirect emissions: market-based then equals residual on every kWh."""
    data = load_example("aluminium-guizhou-2023.json")
    data["export_context"] = "cbam"
    result = engine.calculate(inventory(data))
    assert not result.electricity.certificates_applied
    assert result.electricity.covered_kwh_per_declared_unit == 0
    assert result.electricity.market_based_kg_co2e == pytest.approx(13_500 * 0.6205 * 0.6096 / 0.5306, rel=1e-6)


def test_result_records_versions_needed_to_reproduce_it(engine):
    result = engine.calculate(inventory(load_example("cement-guizhou-2023.json")))
    assert (result.pcr.id, result.pcr.version) == ("PCR-CN-CEMENT", "1.0.0")
    assert result.factor_set.id == "cn-2025.1"
    assert result.method["total"] == ["IPCC 2021", "climate change", "global warming potential (GWP100)"]
    assert result.electricity.location_factor.year == 2023 and result.electricity.residual_factor.note
