"""Properties that hold for any inventory, checked over generated ones (hypothesis)."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pcr_rules.inventory import Inventory
from tests.builders import certificate, inventory_data, item

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def aluminium(scale: float, kwh_per_t: float, certificates_mwh: int):
    production = 1000 * scale
    certificates = [certificate("GEC-PROP-0001", certificates_mwh)] if certificates_mwh else []
    return Inventory.model_validate(
        inventory_data(
            "PCR-CN-ALUMINIUM",
            production,
            "t",
            [
                item("grid_electricity", kwh_per_t * production, "kWh"),
                item("alumina", 1.92 * production, "t"),
                item("anode_net_consumption", 0.41 * production, "t"),
                item("anode_effect_minutes", 0.05, "minute/day"),
            ],
            green_certificates=certificates,
        )
    )


@SETTINGS
@given(scale=st.floats(min_value=0.01, max_value=1000), kwh=st.floats(min_value=12_000, max_value=16_000))
def test_the_footprint_per_declared_unit_does_not_depend_on_plant_size(engine, scale, kwh):
    """Same intensities at any production volume give the same footprint per tonne."""
    small, large = engine.calculate(aluminium(1, kwh, 0)), engine.calculate(aluminium(scale, kwh, 0))
    assert large.total_kg_co2e == pytest.approx(small.total_kg_co2e, rel=1e-9)


@SETTINGS
@given(fewer=st.integers(min_value=0, max_value=6_000), more=st.integers(min_value=0, max_value=6_000))
def test_more_wind_certificates_never_raise_the_market_based_footprint(engine, fewer, more):
    fewer, more = sorted((fewer, more))
    low = engine.calculate(aluminium(1, 13_500, fewer)).market_based_kg_co2e
    high = engine.calculate(aluminium(1, 13_500, more)).market_based_kg_co2e
    assert high <= low + 1e-6
    # 1 MWh covered over 1,000 t is 1 kWh per t, which moves from the residual to the wind factor:
    # 0.6205 x 0.6096 / 0.5306 - 0.0336 = 0.679285 kg CO2e per t (float32 precision of Brightway's matrices)
    assert low - high == pytest.approx((more - fewer) * (0.6205 * 0.6096 / 0.5306 - 0.0336), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_non_finite_or_negative_activity_data_is_refused(bad):
    data = inventory_data("PCR-CN-CEMENT", 1000, "t", [item("grid_electricity", bad, "kWh")])
    with pytest.raises(ValidationError) as caught:
        Inventory.model_validate(data)
    assert caught.value.errors()[0]["loc"] == ("items", 0, "amount")
