"""The prepared background pack: per-activity results of an imported database, checked against bw2calc.

A synthetic database of 150 activities (`lca_models.backgrounds.synthetic`, seed 11) is prepared into a pack. Every
unit score must equal bw2calc's LCA score of one unit of that activity (lca.lci(); lca.lcia(); lca.score), method by
method; every gas mass must equal the sum of bw2calc's life cycle inventory over the biosphere flows of that gas group
(the "other" group: sum of characterisation factor x kg over the remaining characterised flows).
"""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from lca_models.model import METHOD_ORDER

ACTIVITIES = 150
SEED = 11
PROJECT = "pcf-background-pack-test"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    from lca_models.background import import_bw2data
    from lca_models.backgrounds import prepare_pack, write_synthetic

    bd = import_bw2data(Path(os.environ["PCF_BRIGHTWAY_DIR"]))
    written = write_synthetic(PROJECT, "synthetic-a", ACTIVITIES, SEED)
    root = tmp_path_factory.mktemp("backgrounds")
    manifest = prepare_pack(
        PROJECT, "synthetic-a", root / "synthetic-a" / "1", name="synthetic-a", version="1", methods=written["methods"]
    )
    return {"bd": bd, "root": root, "methods": written["methods"], "manifest": manifest, "written": written}


@pytest.fixture(autouse=True)
def in_project(prepared):
    """bw2data's current project is process-wide: this module's tests read theirs, then hand the previous one back."""
    bd = prepared["bd"]
    previous = bd.projects.current
    bd.projects.set_current(PROJECT)
    yield
    bd.projects.set_current(previous)


@pytest.fixture(scope="module")
def pack(prepared):
    from lca_models.backgrounds import PreparedBackground

    return PreparedBackground.open(prepared["root"] / "synthetic-a" / "1")


def _bw2calc_lca(bd, code: str, method):
    import bw2calc

    node = bd.get_node(database="synthetic-a", code=code)
    lca = bw2calc.LCA({node: 1.0}, method)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All values in characterization matrix are zero")
        lca.lci()
        lca.lcia()
    return lca


COLUMNS = (0, 7, 41, 99, ACTIVITIES - 1)


def test_the_generator_builds_an_ecoinvent_like_database(prepared):
    """10-60 inputs per activity (capped by the 40-activity core of a small database), ~17 biosphere exchanges each,
    lognormal uncertainty on about 60 % of the exchanges."""
    bd = prepared["bd"]
    bd.projects.set_current(PROJECT)
    inputs, uncertain, amounts = [], 0, 0
    for activity in bd.Database("synthetic-a"):
        technosphere = list(activity.technosphere())
        inputs.append(len(technosphere))
        for exchange in [*technosphere, *activity.biosphere()]:
            amounts += 1
            uncertain += exchange.get("uncertainty type") == 2
    assert min(inputs) >= 10 and max(inputs) <= 60
    assert 0.55 < uncertain / amounts < 0.65
    assert prepared["manifest"]["activities"] == ACTIVITIES
    assert prepared["manifest"]["biosphere_exchanges"] / ACTIVITIES == pytest.approx(17, abs=2)


def test_the_generator_is_deterministic_by_seed(prepared):
    from lca_models.backgrounds.synthetic import biosphere_pools, synthetic_database

    pools = biosphere_pools(prepared["bd"], prepared["methods"]["total"])
    first = synthetic_database(60, seed=5, pools=pools, name="x")
    assert first == synthetic_database(60, seed=5, pools=pools, name="x")
    assert first != synthetic_database(60, seed=6, pools=pools, name="x")


@pytest.mark.parametrize("column", COLUMNS)
def test_unit_scores_equal_bw2calc_scores_for_every_method(prepared, pack, column):
    code = pack.activity(column).code
    for m, key in enumerate(METHOD_ORDER):
        lca = _bw2calc_lca(prepared["bd"], code, prepared["methods"][key])
        assert pack.unit_scores[m, column] == pytest.approx(lca.score, rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize("column", COLUMNS)
def test_gas_masses_equal_bw2calc_inventory_sums(prepared, pack, column):
    """kg of a group = sum of lca.inventory over the rows whose flow has the group's name and factor; "other" = sum of
    factor x kg over every other characterised row."""
    bd = prepared["bd"]
    lca = _bw2calc_lca(bd, pack.activity(column).code, prepared["methods"]["total"])
    inventory = np.asarray(lca.inventory.sum(axis=1)).ravel()
    factors = lca.characterization_matrix.diagonal()
    names = {row: bd.get_node(id=node)["name"] for node, row in lca.dicts.biosphere.items()}
    from lca_models.flows import FLOWS

    group_names = {FLOWS[g].name: g for g in pack.gases if g != "other"}
    expected = dict.fromkeys(pack.gases, 0.0)
    gas_factor = dict(zip(pack.gases, pack.gas_factors, strict=True))
    for row, kg in enumerate(inventory):
        group = group_names.get(names[row])
        if group is not None and factors[row] == gas_factor[group]:
            expected[group] += kg
        elif factors[row] != 0:
            expected["other"] += factors[row] * kg
    for g, gas in enumerate(pack.gases):
        assert pack.gas_masses[g, column] == pytest.approx(expected[gas], rel=1e-9, abs=1e-15), gas
    assert expected["co2_fossil"] > 0 and expected["other"] != 0  # the comparison is not vacuous


def test_gas_groups_add_up_to_the_total_score(pack):
    """sum over groups of (kg CO2e per kg) x kg, with "other" already in kg CO2e, is the total-method unit score."""
    assert pack.gas_factors[pack.gases.index("ch4_fossil")] == 29.8  # IPCC 2021 AR6 GWP100, fossil methane
    assert pack.gases[-1] == "other" and pack.gas_factors[-1] == 1.0
    np.testing.assert_allclose(pack.gas_factors @ pack.gas_masses, pack.unit_scores[0], rtol=1e-9)


def test_direct_scores_are_the_activitys_own_emissions(prepared, pack):
    """Own biosphere exchanges x IPCC 2021 factors, summed by hand from the database, per unit of product (production
    amount 1). bw2data stores matrix values at float32 (its datapackages' `data` arrays), so the hand sum rounds amounts
    and factors to float32 as every bw2calc result does."""
    bd = prepared["bd"]
    factors = {}
    for key, factor in bd.Method(prepared["methods"]["total"]).load():
        node = key if isinstance(key, int) else bd.get_node(database=key[0], code=key[1]).id
        factors[node] = float(np.float32(factor))
    for column in COLUMNS:
        activity = bd.get_node(database="synthetic-a", code=pack.activity(column).code)
        own = sum(float(np.float32(e["amount"])) * factors.get(e.input.id, 0.0) for e in activity.biosphere())
        assert pack.direct_scores[column] == pytest.approx(own, rel=1e-12)


def test_activities_are_found_by_code_and_described(prepared, pack):
    bd = prepared["bd"]
    info = pack.activity(41)
    node = bd.get_node(database="synthetic-a", code=info.code)
    assert pack.column(info.code) == 41
    assert (info.name, info.reference_product, info.location, info.unit) == (
        node["name"],
        node["reference product"],
        node["location"],
        node["unit"],
    )
    assert pack.column("no-such-code") is None


def test_manifest_records_counts_digest_solver_and_stages(prepared, pack):
    manifest = pack.manifest
    assert (pack.name, pack.version) == ("synthetic-a", "1")
    assert len(pack.digest) == 64
    assert manifest["technosphere_exchanges"] == prepared["written"]["technosphere_exchanges"]
    assert manifest["biosphere_exchanges"] == prepared["written"]["biosphere_exchanges"]
    assert manifest["solver"]["solver"] == "scipy SuperLU (COLAMD)"
    assert set(manifest["seconds"]) >= {"matrices", "factorisation", "unit_scores", "gases", "writing"}
    assert manifest["samples"] == 0 and pack.samples is None and pack.sample_count == 0


def test_arrays_are_memory_mapped_and_read_only(pack):
    assert isinstance(pack.unit_scores, np.memmap) and isinstance(pack.gas_masses, np.memmap)
    with pytest.raises(ValueError, match="read-only"):
        pack.unit_scores[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        pack.direct_scores[:] = 0.0


def test_library_activates_versions_atomically_and_current_sees_the_switch(prepared, pack, monkeypatch):
    from lca_models.backgrounds import BackgroundLibrary, prepare_pack, write_synthetic

    root = prepared["root"]
    library = BackgroundLibrary(root)
    assert library.current("synthetic-a") is None  # prepared, not yet in use
    library.activate("synthetic-a", "1")
    assert library.current("synthetic-a").version == "1"
    assert library.current("synthetic-a") is library.current("synthetic-a")  # cached, not reopened

    # a second version: the database regenerated with another seed (other amounts, another digest)
    written = write_synthetic(PROJECT, "synthetic-a", ACTIVITIES, SEED + 1)
    prepare_pack(PROJECT, "synthetic-a", root / "synthetic-a" / "2", name="synthetic-a", version="2",
                 methods=written["methods"])  # fmt: skip
    assert library.versions("synthetic-a") == ["1", "2"]
    other_process = BackgroundLibrary(root)  # another worker, its own cache
    assert other_process.current("synthetic-a").version == "1"
    library.activate("synthetic-a", "2")
    switched = other_process.current("synthetic-a")
    assert switched.version == "2" and switched.digest != pack.digest

    # an activation that fails before its rename leaves the version in use unchanged and no stray file
    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr("lca_models.backgrounds.pack.os.replace", failing_replace)
    with pytest.raises(OSError):
        library.activate("synthetic-a", "1")
    monkeypatch.undo()
    assert BackgroundLibrary(root).current("synthetic-a").version == "2"
    assert sorted(p.name for p in (root / "synthetic-a").iterdir()) == ["1", "2", "current.json"]
    with pytest.raises(FileNotFoundError):
        library.activate("synthetic-a", "3")
    with pytest.raises(ValueError, match="name"):
        library.get("../etc", "1")

    library.remove("synthetic-a", "2")
    assert library.current("synthetic-a") is None and library.versions("synthetic-a") == ["1"]
    # the database is back to the first version's contents for the other tests of this module
    write_synthetic(PROJECT, "synthetic-a", ACTIVITIES, SEED)


def test_solver_report_names_the_explicit_solver(monkeypatch):
    from lca_models.backgrounds import SolverUnavailable, solver_report
    from lca_models.backgrounds import solver as solver_module

    report = solver_report()
    assert report["solver"] == "scipy SuperLU (COLAMD)" and report["name"] == "superlu"
    monkeypatch.setattr(solver_module, "_pypardiso_installed", lambda: False)
    with pytest.raises(SolverUnavailable, match="PCF_SOLVER=pardiso"):
        solver_report("pardiso")
    with pytest.raises(SolverUnavailable, match="unknown solver"):
        solver_report("umfpack")
    monkeypatch.setattr(solver_module, "_pypardiso_installed", lambda: True)
    assert solver_report()["bw2calc_default"] == "pypardiso"  # reported, not followed
    assert solver_report()["solver"] == "scipy SuperLU (COLAMD)"


@pytest.fixture
def pypardiso_installed(monkeypatch):
    """bw2calc as it behaves with pypardiso installed: PYPARDISO true, and its solver entry points replaced by ones
    that count their calls and return a slightly wrong answer (x 1.000001), so any use would show in the results."""
    import bw2calc
    import bw2calc.lca
    import bw2calc.lca_base
    from scipy.sparse.linalg import spsolve

    calls = []

    def fake_spsolve(matrix, rhs, solver=None):
        calls.append("spsolve")
        return spsolve(matrix, rhs) * 1.000001

    def fake_factorized(matrix):
        calls.append("factorized")
        raise AssertionError("bw2calc.factorized must not be used")

    class FakePardisoSolver:
        def free_memory(self, everything=False):
            pass

    for module in (bw2calc, bw2calc.lca, bw2calc.lca_base):
        monkeypatch.setattr(module, "PYPARDISO", True, raising=False)
    monkeypatch.setattr(bw2calc, "factorized", fake_factorized)
    monkeypatch.setattr(bw2calc.lca_base, "spsolve", fake_spsolve)
    monkeypatch.setattr(bw2calc.lca_base, "PyPardisoSolver", FakePardisoSolver)
    return calls


def test_an_installed_pypardiso_changes_neither_the_pack_nor_its_solver(prepared, pack, pypardiso_installed, tmp_path):
    from lca_models.backgrounds import PreparedBackground, prepare_pack

    manifest = prepare_pack(
        PROJECT, "synthetic-a", tmp_path / "p", name="synthetic-a", version="p", methods=prepared["methods"]
    )
    again = PreparedBackground.open(tmp_path / "p")
    assert pypardiso_installed == []
    assert manifest["solver"]["solver"] == "scipy SuperLU (COLAMD)"
    assert manifest["solver"]["pypardiso_installed"] is False  # the real import still fails: not installed here
    np.testing.assert_array_equal(again.unit_scores, pack.unit_scores)
    np.testing.assert_array_equal(again.gas_masses, pack.gas_masses)


def test_an_installed_pypardiso_changes_nothing_in_the_factor_set_background(engine, pypardiso_installed):
    """The engine's own background (245 activities of the factor set) factorised again, as the engine does, while
    bw2calc believes pypardiso is installed: same unit scores and supplies, bit for bit, and bw2calc's solver never
    called (bw2calc would otherwise solve every supply with pypardiso)."""
    import bw2calc

    from lca_models.model import characterise

    packages = engine.packages
    first = next(iter(packages["activity_ids"].values()))
    lca = bw2calc.LCA({first: 1}, data_objs=packages["inventory"] + packages["methods"]["total"])
    lca.load_lci_data()
    model = characterise(
        lca,
        packages["methods"],
        packages["activity_ids"],
        packages["flow_ids"],
        packages["names"],
        packages["flow_cf"],
    )
    demand = np.zeros(model.unit_scores.shape[1])
    demand[[0, 5, 17]] = [2.0, 0.5, 10.0]
    np.testing.assert_array_equal(model.unit_scores, engine.model.unit_scores)
    np.testing.assert_array_equal(model.supply(demand), engine.model.supply(demand))
    np.testing.assert_array_equal(lca.solve_linear_system(demand), engine.model.supply(demand))
    assert pypardiso_installed == []


@pytest.mark.parametrize("marker", ["[]", '"1"', "7", "null", '{"version": 5}', '{"version": "1\\n"}', "{", ""])
def test_a_current_marker_that_names_no_valid_version_names_none(prepared, tmp_path, marker):
    """A garbled `current.json` (an operator's edit, a cut write) answers "not prepared", never an exception."""
    import shutil

    from lca_models.backgrounds import BackgroundLibrary

    shutil.copytree(prepared["root"] / "synthetic-a" / "1", tmp_path / "synthetic-a" / "1")
    (tmp_path / "synthetic-a" / "current.json").write_text(marker)
    library = BackgroundLibrary(tmp_path)
    assert library.current_version("synthetic-a") is None
    assert library.current("synthetic-a") is None


@pytest.mark.parametrize("name", ["eco\n", "a..b", "../x", "a/b", "", "é"])
def test_a_name_that_cannot_be_a_directory_is_refused(tmp_path, name):
    from lca_models.backgrounds import BackgroundLibrary

    with pytest.raises(ValueError):
        BackgroundLibrary(tmp_path).path(name, "1")


def _copy(prepared, tmp_path, name="synthetic-a", version="1") -> Path:
    import shutil

    target = tmp_path / name / version
    shutil.copytree(prepared["root"] / "synthetic-a" / "1", target)
    return target


def test_a_pack_with_arrays_shorter_than_its_activity_list_is_refused_at_open(prepared, tmp_path):
    """150 activities listed, unit scores of 149: refused when opened (PackError), so the library answers "not
    prepared" instead of a footprint indexing past the array."""
    from lca_models.backgrounds import BackgroundLibrary, PreparedBackground
    from lca_models.backgrounds.pack import PackError

    target = _copy(prepared, tmp_path)
    scores = np.load(target / "unit_scores.npy")
    np.save(target / "unit_scores.npy", scores[:, :-1])
    with pytest.raises(PackError, match="unit_scores"):
        PreparedBackground.open(target)
    assert BackgroundLibrary(tmp_path).get("synthetic-a", "1") is None


def test_a_cut_samples_or_activity_file_is_refused_at_open(prepared, tmp_path):
    from lca_models.backgrounds import PreparedBackground
    from lca_models.backgrounds.pack import PackError

    target = _copy(prepared, tmp_path)
    (target / "samples.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(PackError):
        PreparedBackground.open(target)
    target = _copy(prepared, tmp_path, version="2")
    text = (target / "activities.json").read_text()
    (target / "activities.json").write_text(text[: len(text) // 2])
    with pytest.raises(PackError):
        PreparedBackground.open(target)


def test_a_pack_copied_under_another_version_is_not_that_version(prepared, tmp_path):
    from lca_models.backgrounds import BackgroundLibrary

    _copy(prepared, tmp_path, version="2")  # its manifest says synthetic-a 1
    library = BackgroundLibrary(tmp_path)
    assert library.get("synthetic-a", "2") is None
    _copy(prepared, tmp_path, version="1")
    assert library.get("synthetic-a", "1").version == "1"
