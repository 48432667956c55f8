"""The footprint Monte Carlo with an imported background against a brute-force bw2calc Monte Carlo of the same system.

The system: one tonne of a product made from two materials, the two per-kilogram activities of highest unit score of
a small synthetic database (lca_models.backgrounds.synthetic, 40 activities, lognormal uncertainty on 60 % of its
exchanges; they share suppliers through its core), in amounts that give each about half of the footprint. The
activity data are uncertain too: relative sd 5 % on each item, as the engine samples them (mean-preserving
lognormal).

- The engine: the database prepared once with K = 2,000 sampled versions (`sample_pack`); each iteration n takes
  sample n mod K of both activities (one joint draw) times the items' multipliers (lca_models.montecarlo).
- Brute force: the same system written into bw2data — a foreground activity with the two amounts in kg, each
  exchange with the lognormal of its item (loc = ln(amount) - sigma^2/2, sigma = sqrt(ln(1 + sd^2))) — and
  `bw2calc.LCA(..., use_distributions=True)` iterated with `next(lca)` (every exchange of the database resampled and
  the system solved again, 2,000 times).

Tolerances, from the sampling error of two independent runs of N = 2,000 (fixed seeds, so the test is deterministic):
with a relative sd of the footprint of ~7 %, the standard error of each mean is ~0.16 % and of their difference
~0.25 %: mean within 2 %, far outside chance, catches a biased draw (a unit conversion, a missing exchange). The
relative standard error of a sample sd is ~1/sqrt(2N) = 1.6 % for a normal variable, more for a skewed one (~2 %):
their difference ~3 %, so sd within 10 % is ~3 standard errors (runs with other seeds differed by 1-7 %; the engine's
draw also differs from bw2calc's in that bw2calc seeds the technosphere and biosphere streams alike, which pairs
their k-th uncertain exchanges). A 2.5th or 97.5th percentile has a standard error of ~0.1 sd (sqrt(p(1-p)/N) /
density), ~0.7 % of the value here: within 5 %.
What the approximation leaves out (correlation with the factor set's background, which this system does not use)
is described in lca_models/montecarlo.py.
"""

import math

import numpy as np
import pytest

from pcr_rules.inventory import Inventory
from pcr_rules.models import PCR
from tests.test_background_linking import Registry, base_pcr

DATABASE = "synthetic-mc"
PROJECT = "pcf-test-backgrounds"  # as tests/test_background_linking.py: biosphere3 and the methods written once
FOREGROUND = "pcf-test-mc-foreground"
ACTIVITIES = 40
SEED = 11
SAMPLES = 2000
ITERATIONS = 2000
RELATIVE_SD = 0.05  # of each item's activity data
ITEMS = ("material_a", "material_b")


def pcr(codes: dict[str, str]) -> PCR:
    """A PCR of two purchased materials, each linked to an activity of the database (the factor set's alumina and
    aluminium fluoride as their fallbacks)."""
    document = base_pcr().model_dump(mode="json", exclude_none=True)
    document.update(id="PCR-TEST-LINKED-MC", version="1.0.0", require_one_of=[], classification=[], parameters=[])
    document["items"] = [
        {
            "id": item,
            "label": item,
            "kind": "input",
            "activity": fallback,
            "unit": "t",
            "stage": "raw_material_acquisition",
            "background": {"database": DATABASE, "activity": codes[item], "unit": "kg"},
        }
        for item, fallback in (("material_a", "alumina"), ("material_b", "aluminium_fluoride"))
    ]
    return PCR.model_validate(document)


def inventory(tonnes: dict[str, float]) -> Inventory:
    """`tonnes` of each material per 1,000 t of product."""
    return Inventory.model_validate(
        {
            "pcr": {"id": "PCR-TEST-LINKED-MC", "version": "1.0.0"},
            "product": {"name": "Test product"},
            "manufacturer": "Test manufacturer",
            "facility": {"name": "Test plant", "province": "Guizhou", "grid_region": "South"},
            "reference_period": {"start": "2023-01-01", "end": "2023-12-31"},
            "production": {"amount": 1000, "unit": "t"},
            "items": [
                {"item": item, "amount": tonnes[item], "unit": "t", "relative_sd": RELATIVE_SD} for item in ITEMS
            ],
        }
    )


def lognormal(amount: float, relative_sd: float) -> dict:
    sigma = math.sqrt(math.log1p(relative_sd**2))
    return {"uncertainty type": 2, "loc": math.log(amount) - sigma**2 / 2, "scale": sigma}


@pytest.fixture(scope="module")
def runs(engine, brightway_dir, tmp_path_factory):
    """Both Monte Carlo runs, and the nominal footprint."""
    import bw2calc

    from lca_models.background import import_bw2data
    from lca_models.backgrounds import BackgroundLibrary, prepare_pack, sample_pack, write_synthetic
    from lca_models.config import LCASettings
    from lca_models.engine import FootprintEngine

    bd = import_bw2data(brightway_dir)
    home = bd.projects.current
    root = tmp_path_factory.mktemp("backgrounds-mc")
    try:
        written = write_synthetic(PROJECT, DATABASE, ACTIVITIES, SEED, brightway_dir)
        methods = written["methods"]
        out = root / DATABASE / "1"
        prepare_pack(PROJECT, DATABASE, out, name=DATABASE, version="1", methods=methods)
        manifest = sample_pack(PROJECT, DATABASE, out, samples=SAMPLES, seed=5)
        library = BackgroundLibrary(root)
        library.activate(DATABASE, "1")
        pack = library.current(DATABASE)
        per_kg = [c for c in range(pack.unit_scores.shape[1]) if pack.activity(c).unit == "kilogram"]
        first, second = sorted(per_kg, key=lambda c: -pack.unit_scores[0, c])[:2]
        codes = {"material_a": pack.activity(first).code, "material_b": pack.activity(second).code}
        # 500 t of A per 1,000 t of product, and about as much B as gives the same score: whole tonnes, as bw2data
        # keeps exchange amounts in float32 and a whole number below 2^24 is exact there
        ratio = pack.unit_scores[0, first] / pack.unit_scores[0, second]
        tonnes = {"material_a": 500.0, "material_b": float(round(500.0 * ratio))}

        bd.projects.set_current(PROJECT)
        key = (FOREGROUND, "product")
        exchanges = [{"input": key, "amount": 1.0, "type": "production"}]
        for item in ITEMS:
            kg = tonnes[item]  # t per 1,000 t of product = kg per t
            exchanges.append(
                {"input": (DATABASE, codes[item]), "amount": kg, "type": "technosphere", **lognormal(kg, RELATIVE_SD)}
            )
        if FOREGROUND in bd.databases:
            bd.Database(FOREGROUND).delete(warn=False)
        bd.Database(FOREGROUND).write(
            {key: {"name": "product", "unit": "ton", "location": "CN", "type": "process", "exchanges": exchanges}}
        )
        lca = bw2calc.LCA({bd.get_node(database=FOREGROUND, code="product"): 1}, methods["total"])
        lca.lci()
        lca.lcia()
        nominal_bw2calc = float(lca.score)
        brute = bw2calc.LCA(
            {bd.get_node(database=FOREGROUND, code="product"): 1},
            methods["total"],
            use_distributions=True,
            seed_override=17,
        )
        brute.lci()
        brute.lcia()
        brute_force = []
        for _ in range(ITERATIONS):
            next(brute)
            brute_force.append(float(brute.score))
    finally:
        bd.projects.set_current(home)

    engine = FootprintEngine(LCASettings(backgrounds_dir=root), Registry(pcr(codes)))
    result = engine.calculate(inventory(tonnes), monte_carlo_iterations=ITERATIONS, seed=3)
    return {
        "engine": engine,
        "inventory": inventory(tonnes),
        "result": result,
        "brute_force": np.array(brute_force),
        "nominal_bw2calc": nominal_bw2calc,
        "manifest": manifest,
    }


def test_the_nominal_footprint_is_bw2calcs(runs):
    assert runs["result"].total_kg_co2e == pytest.approx(runs["nominal_bw2calc"], rel=1e-9)


def test_the_pack_was_sampled(runs):
    assert runs["manifest"]["samples"] == SAMPLES
    assert runs["result"].uncertainty.notes == []


def test_the_footprint_distribution_agrees_with_a_brute_force_bw2calc_monte_carlo(runs):
    u, brute = runs["result"].uncertainty, runs["brute_force"]
    mean, sd = brute.mean(), brute.std(ddof=1)
    assert u.iterations == ITERATIONS
    assert u.mean_kg_co2e == pytest.approx(mean, rel=0.02)
    assert u.relative_sd * u.mean_kg_co2e == pytest.approx(sd, rel=0.10)
    assert u.p2_5_kg_co2e == pytest.approx(np.percentile(brute, 2.5), rel=0.05)
    assert u.p97_5_kg_co2e == pytest.approx(np.percentile(brute, 97.5), rel=0.05)


def test_the_background_uncertainty_is_in_the_interval(runs):
    """With the background fixed, the footprint would vary by the activity data alone: two halves of the score, each
    with a relative sd of 5 %, give sqrt(2 x (0.5 x 0.05)^2) = 3.5 %. Both runs are clearly wider: the background's
    own uncertainty is in them."""
    result = runs["result"]
    halves = [c.kg_co2e for c in result.contributions]
    activity_data_only = math.sqrt(sum((c * RELATIVE_SD) ** 2 for c in halves)) / result.total_kg_co2e
    assert activity_data_only == pytest.approx(0.05 / math.sqrt(2), rel=0.01)
    brute = runs["brute_force"]
    assert brute.std(ddof=1) / brute.mean() > 1.5 * activity_data_only
    assert result.uncertainty.relative_sd > 1.5 * activity_data_only


def test_the_same_seed_gives_the_same_interval(runs):
    """Iteration n takes sample n mod K and the activity data come from the seed: the draw is reproducible."""
    again = runs["engine"].calculate(runs["inventory"], monte_carlo_iterations=ITERATIONS, seed=3).uncertainty
    assert again == runs["result"].uncertainty
    other = runs["engine"].calculate(runs["inventory"], monte_carlo_iterations=200, seed=4).uncertainty
    assert other.mean_kg_co2e != again.mean_kg_co2e
