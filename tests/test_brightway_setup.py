"""The Brightway project: built offline from bw2io's data, IPCC 2021 GWP100 from the bundled method, read-only after."""

import json
from pathlib import Path

import pytest

from lca_models.flows import FLOWS
from lca_models.model import METHOD_ORDER


@pytest.mark.parametrize(
    "flow,gwp",
    [
        ("co2_fossil", 1),
        ("co2e_as_co2_fossil", 1),
        ("ch4_fossil", 29.8),
        ("ch4_biogenic", 27.0),
        ("n2o", 273),
        ("cf4", 7380),
        ("c2f6", 12400),
        ("sf6", 25200),
        ("co2_biogenic", 0),
    ],
)
def test_ipcc_2021_gwp100_as_shipped_in_brightway(engine, flow, gwp):
    """IPCC AR6 GWP100 (GHG Protocol table, Aug 2024), read from the bundled method, never retyped."""
    column = engine.model.flow_keys.index(flow)
    assert engine.model.flow_characterisation[METHOD_ORDER.index("total"), column] == pytest.approx(gwp)


def test_total_method_is_the_sum_of_fossil_biogenic_and_land_use(engine):
    cf = engine.model.flow_characterisation
    assert cf[0] == pytest.approx(cf[1] + cf[2] + cf[3])


def test_every_flow_is_a_biosphere3_flow(engine):
    import bw2data as bd

    from lca_models.background import flow_keys

    keys = flow_keys(bd)
    assert set(keys) == set(FLOWS)
    assert all(database == "biosphere3" for database, _ in keys.values())


def test_background_activities_carry_source_and_check(engine):
    for activity in engine.factor_set.activities.values():
        assert activity.source and activity.check in {"verified", "transcribed", "screening", "derived"}


def test_a_second_engine_reuses_the_project_without_writing(engine, brightway_dir):
    """The build marker matches, so the project files stay untouched."""
    from lca_models import FootprintEngine

    before = {p: p.stat().st_mtime_ns for p in Path(brightway_dir).rglob("*") if p.is_file() and "logs" not in p.parts}
    FootprintEngine()
    after = {p: p.stat().st_mtime_ns for p in Path(brightway_dir).rglob("*") if p.is_file() and "logs" not in p.parts}
    changed = [str(p) for p in after if before.get(p) != after[p] and not p.name.endswith(".lock")]
    assert changed == []
    marker = next(Path(brightway_dir).rglob("pcf-background.json"))
    assert json.loads(marker.read_text())["digest"] == engine.factor_set.digest
