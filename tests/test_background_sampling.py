"""Pre-sampled background results (Monte Carlo) against a brute-force bw2calc Monte Carlo on the same database.

The agreement test compares, for a demand on a synthetic database of 60 activities, the distribution of its total
score drawn from the pack's 2,000 pre-sampled unit scores with 2,000 iterations of bw2calc's own Monte Carlo
(`bw2calc.LCA(..., use_distributions=True)`, `next(lca)`: every matrix resampled and solved afresh). The two are
independent samples of the same distribution (other seeds, other solvers), so the tolerances are statistical:
- mean within 2 %: the scores' coefficient of variation is ~10-20 %, so the standard error of the difference of two
  means of 2,000 draws is ~0.3-0.6 %; 2 % is > 3 standard errors;
- standard deviation within 10 %: the relative standard error of a standard deviation is ~1/sqrt(2N) = 1.6 % per
  sample, 2.2 % for the difference; 10 % is > 4 standard errors;
- 5th and 95th percentiles within 5 % of their value: their standard errors are ~1 % of the value here.
A systematic error (a distribution not drawn, a draw not solved, a wrong matrix) moves the mean or the spread by more.
"""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

PROJECT = "pcf-background-sampling-test"
DATABASE = "synthetic-s"
ACTIVITIES = 60
SAMPLES = 2000


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from lca_models.background import import_bw2data
    from lca_models.backgrounds import prepare_pack, write_synthetic

    bd = import_bw2data(Path(os.environ["PCF_BRIGHTWAY_DIR"]))
    written = write_synthetic(PROJECT, DATABASE, ACTIVITIES, 23)
    root = tmp_path_factory.mktemp("backgrounds")
    out = root / DATABASE / "1"
    prepare_pack(PROJECT, DATABASE, out, name=DATABASE, version="1", methods=written["methods"])
    return {"bd": bd, "out": out, "methods": written["methods"], "root": root}


@pytest.fixture(autouse=True)
def in_project(setup):
    """bw2data's current project is process-wide: this module's tests read theirs, then hand the previous one back."""
    bd = setup["bd"]
    previous = bd.projects.current
    bd.projects.set_current(PROJECT)
    yield
    bd.projects.set_current(previous)


@pytest.fixture(scope="module")
def sampled(setup):
    from lca_models.backgrounds import PreparedBackground, sample_pack

    fractions = []
    manifest = sample_pack(
        PROJECT,
        DATABASE,
        setup["out"],
        samples=SAMPLES,
        seed=5,
        progress=lambda s, f: fractions.append((s, f)),
        workers=1,
    )
    return {"manifest": manifest, "pack": PreparedBackground.open(setup["out"]), "fractions": fractions}


def _brute_force(bd, demand: dict, method, iterations: int, seed: int) -> np.ndarray:
    import bw2calc

    lca = bw2calc.LCA(demand, method, use_distributions=True, seed_override=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        lca.lci()
        lca.lcia()
        scores = []
        for _ in range(iterations):
            next(lca)
            scores.append(lca.score)
    return np.array(scores)


def test_presampled_scores_agree_with_a_brute_force_bw2calc_monte_carlo(setup, sampled):
    bd, pack = setup["bd"], sampled["pack"]
    bd.projects.set_current(PROJECT)
    columns = (3, 30, 55)
    amounts = np.array([2.0, 0.5, 1.5])
    demand = {
        bd.get_node(database=DATABASE, code=pack.activity(c).code): a for c, a in zip(columns, amounts, strict=True)
    }
    presampled = amounts @ np.asarray(pack.samples[list(columns), :])  # one joint draw of the three per sample
    brute = _brute_force(bd, demand, setup["methods"]["total"], SAMPLES, seed=991)
    assert np.isfinite(brute).all() and len(presampled) == SAMPLES
    assert presampled.std() / presampled.mean() > 0.03  # the database is uncertain: the comparison is not vacuous
    assert presampled.mean() == pytest.approx(brute.mean(), rel=0.02)
    assert presampled.std() == pytest.approx(brute.std(), rel=0.10)
    for q in (5, 95):
        assert np.percentile(presampled, q) == pytest.approx(np.percentile(brute, q), rel=0.05)


def test_samples_are_recorded_in_the_manifest_with_progress(sampled):
    manifest, pack = sampled["manifest"], sampled["pack"]
    assert pack.samples.shape == (ACTIVITIES, SAMPLES) and pack.sample_count == SAMPLES
    assert isinstance(pack.samples, np.memmap) and pack.samples.flags["C_CONTIGUOUS"]
    assert manifest["samples"] == SAMPLES and manifest["rejected_samples"] == 0
    assert manifest["seconds"]["per_sample"] > 0
    assert sampled["fractions"][-1] == ("sampling", 1.0)
    assert [f for _, f in sampled["fractions"]] == sorted(f for _, f in sampled["fractions"])


def test_each_sample_solves_the_sampled_system(setup, sampled):
    """The nominal factorisation only preconditions: every accepted sample solves its own sampled matrix. Redrawn
    with the same seed, sample k's matrices give A'^T u = B'^T c with u the stored column (to 1e-9)."""
    import matrix_utils as mu

    from lca_models.backgrounds.prepare import bw2data_for, load_matrices

    bd = bw2data_for(None)
    matrices = load_matrices(bd, PROJECT, DATABASE, setup["methods"])
    lca = matrices.lca
    from lca_models.backgrounds.sampling import chunk_seed

    # the first stream of the pack's samples (seed 5, chunk 0); its own two seeds for technosphere and biosphere
    tech_seed, bio_seed = (int(s) for s in np.random.SeedSequence(chunk_seed(5, 0)).generate_state(2))
    technosphere = mu.MappedMatrix(
        packages=matrices.inventory_packages, matrix="technosphere_matrix", use_distributions=True,
        seed_override=tech_seed, row_mapper=lca.technosphere_mm.row_mapper, col_mapper=lca.technosphere_mm.col_mapper,
    )  # fmt: skip
    biosphere = mu.MappedMatrix(
        packages=matrices.inventory_packages, matrix="biosphere_matrix", use_distributions=True,
        seed_override=bio_seed, row_mapper=lca.biosphere_mm.row_mapper, col_mapper=lca.technosphere_mm.col_mapper,
    )  # fmt: skip
    for _ in range(2):  # sample 2 (the first draw is the one built with the matrices)
        next(technosphere)
        next(biosphere)
    u = np.asarray(sampled["pack"].samples[:, 2])
    rhs = biosphere.matrix.T @ matrices.characterisation[0]
    np.testing.assert_allclose(technosphere.matrix.T @ u, rhs, rtol=1e-9, atol=1e-9 * np.abs(rhs).max())
    assert not np.allclose(u, sampled["pack"].unit_scores[0])  # a sampled database, not the nominal one


def test_sampling_is_deterministic_by_seed(setup, sampled):
    from lca_models.backgrounds.prepare import bw2data_for, load_matrices
    from lca_models.backgrounds.sampling import chunk_seed, draw_samples

    matrices = load_matrices(bw2data_for(None), PROJECT, DATABASE, setup["methods"])
    again, _ = draw_samples(matrices, 50, chunk_seed(5, 0))  # the first 50 of the pack's first stream
    other, _ = draw_samples(matrices, 50, chunk_seed(6, 0))
    np.testing.assert_array_equal(again, np.asarray(sampled["pack"].samples[:, :50]))
    assert not np.array_equal(again, other)


@pytest.fixture(scope="module")
def with_singular_samples(setup, tmp_path_factory):
    """The database plus an activity nobody buys whose production amount is uncertain between 0 and 1 (stats_arrays
    discrete uniform, id 7, minimum 0, maximum 2: the integers 0 and 1): a draw of 0 empties its row of A', which is
    then singular. About half of the draws are singular."""
    from lca_models.backgrounds import prepare_pack, write_synthetic

    bd = setup["bd"]
    written = write_synthetic(PROJECT, "synthetic-z", 40, 29)
    bd.projects.set_current(PROJECT)
    database = bd.Database("synthetic-z")
    supplier = next(iter(database))
    co2 = next(
        f for f in bd.Database("biosphere3") if f["name"] == "Carbon dioxide, fossil" and f["categories"] == ("air",)
    )
    orphan = database.new_activity(
        code="orphan", name="orphan product", unit="kilogram", location="GLO", type="process"
    )
    orphan["reference product"] = "orphan product"
    orphan.save()
    production = {"uncertainty type": 7, "minimum": 0, "maximum": 2}  # stats_arrays DiscreteUniform: 0 or 1
    orphan.new_exchange(input=orphan, amount=1.0, type="production", **production).save()
    orphan.new_exchange(input=supplier, amount=0.3, type="technosphere").save()
    orphan.new_exchange(input=co2, amount=1.0, type="biosphere").save()
    database.process()
    out = tmp_path_factory.mktemp("singular") / "synthetic-z" / "1"
    prepare_pack(PROJECT, "synthetic-z", out, name="synthetic-z", version="1", methods=written["methods"])
    return out


def test_a_sampled_matrix_that_is_singular_is_rejected_counted_and_redrawn(with_singular_samples):
    from lca_models.backgrounds import PreparedBackground, sample_pack

    manifest = sample_pack(
        PROJECT, "synthetic-z", with_singular_samples, samples=40, seed=3, max_rejections=200, workers=2
    )
    pack = PreparedBackground.open(with_singular_samples)
    assert pack.sample_count == 40 and np.isfinite(pack.samples).all()
    assert 10 <= manifest["rejected_samples"] <= 80  # ~40 expected: one draw in two is singular
    assert manifest["rejected_reasons"] == {"singular": manifest["rejected_samples"]}
    # again, in this process instead of two workers: the same samples, the same rejections
    again = sample_pack(
        PROJECT, "synthetic-z", with_singular_samples, samples=40, seed=3, max_rejections=200, workers=1
    )
    assert manifest["sample_workers"] == 2 and again["sample_workers"] == 1
    assert again["rejected_samples"] == manifest["rejected_samples"]
    np.testing.assert_array_equal(np.asarray(PreparedBackground.open(with_singular_samples).samples), pack.samples)


def test_too_many_rejections_end_the_stage_with_a_clear_error(with_singular_samples):
    from lca_models.backgrounds import PreparedBackground, SamplingFailed, sample_pack

    before = PreparedBackground.open(with_singular_samples).manifest
    with pytest.raises(SamplingFailed, match="rejected"):
        sample_pack(PROJECT, "synthetic-z", with_singular_samples, samples=40, seed=4, max_rejections=2, workers=1)
    assert PreparedBackground.open(with_singular_samples).manifest == before  # nothing written


def test_a_daemonic_process_draws_the_samples_itself(with_singular_samples, monkeypatch):
    """A Celery prefork worker is daemonic and may not start processes: the streams are drawn one after the other."""
    from lca_models.backgrounds import sample_pack, sampling

    monkeypatch.setattr(sampling, "_daemonic", lambda: True)
    manifest = sample_pack(PROJECT, "synthetic-z", with_singular_samples, samples=10, seed=3, max_rejections=200)
    assert manifest["sample_workers"] == 1 and manifest["samples"] == 10


def test_a_singular_factorisation_is_reported_as_such():
    import scipy.sparse as sp

    from lca_models.backgrounds import SingularMatrix, factorise

    with pytest.raises(SingularMatrix):
        factorise(sp.csr_matrix(np.array([[1.0, 2.0], [2.0, 4.0]])))


def test_a_changed_database_is_not_sampled_into_an_old_pack(setup, sampled):
    from lca_models.backgrounds import PackError, sample_pack

    bd = setup["bd"]
    bd.projects.set_current(PROJECT)
    activity = next(iter(bd.Database(DATABASE)))
    exchange = next(iter(activity.technosphere()))
    amount = exchange["amount"]
    exchange["amount"] = amount * 2
    exchange.save()
    try:
        bd.Database(DATABASE).process()
        with pytest.raises(PackError, match="changed"):
            sample_pack(PROJECT, DATABASE, setup["out"], samples=5, seed=1)
    finally:
        exchange["amount"] = amount
        exchange.save()
        bd.Database(DATABASE).process()
