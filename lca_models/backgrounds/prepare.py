"""Prepare a background database version once: matrices from its bw2data datapackages, one explicit factorisation
of A^T, then the per-activity results every footprint reads (contract in `lca_models.backgrounds.pack`).

With A the technosphere (products x activities), B the biosphere (flows x activities) and c a method's
characterisation vector, the unit score of every product is u = A^-T B^T c (one transposed solve per method: 4),
and the gas masses G B A^-1 are g more transposed solves, where G (g x flows) sums the flows of each gas group and
weights the "other" characterised flows by their factor. Only characterised flows and the named gases enter:
no dense flows x activities array is ever formed. bw2calc builds the matrices (its `load_lci_data`/
`load_lcia_data`) but never factorises: `lca.lci(factorize=True)` would take pypardiso when it is installed.
"""

import hashlib
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from lca_models.backgrounds.pack import FORMAT, GAS_OTHER, MANIFEST, write_json_atomic, write_pack
from lca_models.backgrounds.solver import factorise, solver_report
from lca_models.flows import FLOWS
from lca_models.model import METHOD_ORDER

Progress = Callable[[str, float], None]


@dataclass
class Matrices:
    """The nominal matrices of one database, as bw2calc builds them, with what the pack needs to label them."""

    lca: object  # bw2calc.LCA with load_lci_data() done, never factorised
    inventory_packages: list
    method_packages: dict[str, list]
    technosphere: sp.csr_matrix
    biosphere: sp.csr_matrix
    characterisation: np.ndarray  # (methods, flows), METHOD_ORDER
    product_ids: np.ndarray  # node id of each technosphere row (pack column)
    activity_ids: np.ndarray  # node id of each technosphere column
    flow_ids: np.ndarray  # node id of each biosphere row
    total_method: tuple


def bw2data_for(brightway_dir: Path | None):
    """bw2data, pointed at `brightway_dir` (default: as already configured, else the settings' directory)."""
    import sys

    from lca_models.background import import_bw2data

    if brightway_dir is not None:
        return import_bw2data(brightway_dir)
    if "bw2data" in sys.modules:
        return sys.modules["bw2data"]
    from lca_models.config import LCASettings

    return import_bw2data(LCASettings().brightway_dir)


@contextmanager
def in_project(bd, project: str) -> Iterator[None]:
    """bw2data's current project is process-wide: switch to `project` and back, so that preparing a database in a
    worker leaves the project the engine reads from as it was."""
    previous = bd.projects.current
    bd.projects.set_current(project)
    try:
        yield
    finally:
        bd.projects.set_current(previous)


def load_matrices(bd, project: str, database: str, methods: dict[str, tuple]) -> Matrices:
    import bw2calc

    if bd.projects.current != project:  # set_current collects garbage twice (bw2data 4.8): costly in a large process
        bd.projects.set_current(project)
    if database not in bd.databases:
        raise KeyError(f"database {database!r} is not in project {project!r}")
    first = bd.Database(database).random()
    if first is None:
        raise ValueError(f"database {database!r} is empty")
    _, data_objs, _ = bd.prepare_lca_inputs(demand={first.id: 1}, method=methods["total"], remapping=False)
    inventory = [p for p in data_objs if p.exclude({"matrix": "characterization_matrix"}).resources]
    method_packages = {key: [bd.Method(methods[key]).datapackage()] for key in METHOD_ORDER}
    lca = bw2calc.LCA({first.id: 1}, data_objs=inventory + method_packages["total"])
    lca.load_lci_data()
    vectors = []
    with warnings.catch_warnings():
        # a method that characterises none of the database's flows (land use on a fossil-only database) is zero
        warnings.filterwarnings("ignore", message="All values in characterization matrix are zero")
        for key in METHOD_ORDER:
            lca.load_lcia_data(data_objs=method_packages[key])
            vectors.append(np.asarray(lca.characterization_matrix.diagonal()).copy())
    return Matrices(
        lca=lca,
        inventory_packages=inventory,
        method_packages=method_packages,
        technosphere=sp.csr_matrix(lca.technosphere_matrix),
        biosphere=sp.csr_matrix(lca.biosphere_matrix),
        characterisation=np.vstack(vectors),
        product_ids=np.asarray(lca.technosphere_mm.row_mapper.array),
        activity_ids=np.asarray(lca.technosphere_mm.col_mapper.array),
        flow_ids=np.asarray(lca.biosphere_mm.row_mapper.array),
        total_method=tuple(methods["total"]),
    )


def _nodes(ids: np.ndarray) -> dict[int, object]:
    from bw2data.backends import ActivityDataset

    found = {}
    wanted = [int(i) for i in ids]
    for start in range(0, len(wanted), 900):  # SQLite's variable limit
        chunk = wanted[start : start + 900]
        for row in ActivityDataset.select().where(ActivityDataset.id.in_(chunk)):
            found[row.id] = row
    return found


def activity_rows(product_ids: np.ndarray) -> list[dict]:
    nodes = _nodes(product_ids)
    rows = []
    for node_id in product_ids:
        node = nodes[int(node_id)]
        rows.append(
            {
                "code": node.code,
                "name": node.name or "",
                "reference_product": node.data.get("reference product") or node.product or node.name or "",
                "location": node.location or "",
                "unit": node.data.get("unit") or "",
            }
        )
    return rows


def gas_groups(bd, matrices: Matrices) -> tuple[list[str], sp.csr_matrix, dict[str, float]]:
    """G (groups x biosphere rows) and the total-method factor of each group.

    A group is a key of `lca_models.flows.FLOWS` (the first key of each flow name), holding every biosphere row of that
    flow name in any compartment whose total-method factor equals the factor of the key's own flow (name and
    compartment); "other" weights every remaining characterised row by its factor (kg CO2e). So
    sum_g factor_g * G_g = c exactly, and the gas masses add up to the total score."""
    from lca_models.background import flow_keys

    total = matrices.characterisation[0]
    nodes = _nodes(matrices.flow_ids)
    method_factors = {}
    for key, factor in bd.Method(matrices.total_method).load():
        node_id = key if isinstance(key, int) else bd.get_node(database=key[0], code=key[1]).id
        method_factors[node_id] = float(factor)
    named = flow_keys(bd)
    groups: list[str] = []
    factors: dict[str, float] = {}
    group_of_name: dict[str, str] = {}
    for key, flow in FLOWS.items():
        if flow.name in group_of_name:
            continue
        group_of_name[flow.name] = key
        groups.append(key)
        exact = bd.get_node(database=named[key][0], code=named[key][1]).id
        factors[key] = method_factors.get(exact, 0.0)
    groups.append(GAS_OTHER)
    factors[GAS_OTHER] = 1.0
    index = {g: i for i, g in enumerate(groups)}
    rows, cols, values = [], [], []
    for row, node_id in enumerate(matrices.flow_ids):
        name = nodes[int(node_id)].name
        group = group_of_name.get(name)
        if group is not None and total[row] == factors[group]:
            rows.append(index[group])
            cols.append(row)
            values.append(1.0)
        elif total[row] != 0.0:
            rows.append(index[GAS_OTHER])
            cols.append(row)
            values.append(float(total[row]))
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(groups), len(matrices.flow_ids)))
    return groups, matrix, factors


def digest(matrices: Matrices, codes: list[str], methods: dict[str, tuple]) -> str:
    """sha256 over what the results depend on: the matrices, the column codes and the methods."""
    h = hashlib.sha256()
    for matrix in (matrices.technosphere, matrices.biosphere):
        m = sp.csr_matrix(matrix)
        m.sort_indices()
        for array in (m.indptr, m.indices, m.data):
            h.update(np.ascontiguousarray(array).tobytes())
    h.update(np.ascontiguousarray(matrices.characterisation).tobytes())
    h.update("\n".join(codes).encode())
    h.update(repr(sorted((k, tuple(v)) for k, v in methods.items())).encode())
    return h.hexdigest()


def direct_per_product(matrices: Matrices) -> np.ndarray:
    """Total-method score of each activity's own biosphere exchanges per unit of its reference product (the score per
    unit of activity divided by its production amount), indexed like the products."""
    per_activity = matrices.biosphere.T @ matrices.characterisation[0]
    if np.array_equal(matrices.product_ids, matrices.activity_ids):  # one product per activity, same order
        production = matrices.technosphere.diagonal()
        return np.divide(per_activity, production, out=np.zeros_like(per_activity), where=production != 0)
    column_of = {int(a): j for j, a in enumerate(matrices.activity_ids)}
    diagonal = matrices.technosphere.tocsc()
    out = np.zeros(len(matrices.product_ids))
    for i, product in enumerate(matrices.product_ids):
        j = column_of.get(int(product))
        if j is not None and diagonal[i, j] != 0:
            out[i] = per_activity[j] / diagonal[i, j]
    return out


def prepare_pack(
    project: str,
    database: str,
    out: Path,
    *,
    name: str,
    version: str,
    methods: dict[str, tuple],
    solver: str = "superlu",
    progress: Progress | None = None,
    brightway_dir: Path | None = None,
) -> dict:
    """Prepare `database` of `project` into the pack directory `out` (`<root>/<name>/<version>`); the manifest."""
    report = solver_report(solver)  # an unavailable solver fails before any work
    progress = progress or (lambda stage, fraction: None)
    bd = bw2data_for(brightway_dir)

    with in_project(bd, project):
        return _prepare(bd, project, database, Path(out), name, version, methods, solver, report, progress)


def _prepare(bd, project, database, out: Path, name, version, methods, solver, report, progress) -> dict:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    progress("matrices", 0.0)
    matrices = load_matrices(bd, project, database, methods)
    if matrices.technosphere.shape[0] != matrices.technosphere.shape[1]:
        raise ValueError(f"database {database!r}: the technosphere matrix is not square {matrices.technosphere.shape}")
    activities = activity_rows(matrices.product_ids)
    seconds["matrices"] = time.perf_counter() - started

    started = time.perf_counter()
    progress("factorisation", 0.2)
    factorisation = factorise(matrices.technosphere, solver)
    seconds["factorisation"] = time.perf_counter() - started

    started = time.perf_counter()
    progress("unit_scores", 0.5)
    per_activity = np.asarray(matrices.biosphere.T @ matrices.characterisation.T)  # (activities, methods)
    unit_scores = factorisation.solve_transposed(per_activity).T
    seconds["unit_scores"] = time.perf_counter() - started

    started = time.perf_counter()
    progress("gases", 0.7)
    groups, grouping, factors = gas_groups(bd, matrices)
    per_activity_gases = np.asarray((grouping @ matrices.biosphere).T.todense())  # (activities, groups)
    gas_masses = factorisation.solve_transposed(per_activity_gases).T
    seconds["gases"] = time.perf_counter() - started

    started = time.perf_counter()
    progress("writing", 0.9)
    codes = [row["code"] for row in activities]
    manifest = {
        "format": FORMAT,
        "name": name,
        "version": version,
        "digest": digest(matrices, codes, methods),
        "project": project,
        "database": database,
        "activities": len(codes),
        "technosphere_exchanges": int(matrices.technosphere.nnz),
        "biosphere_exchanges": int(matrices.biosphere.nnz),
        "biosphere_flows": int(matrices.biosphere.shape[0]),
        "methods": {key: list(methods[key]) for key in METHOD_ORDER},
        "method_order": list(METHOD_ORDER),
        "gases": groups,
        "gas_factors": factors,
        "solver": report,
        "factor_nonzeros": factorisation.nonzeros,
        "samples": 0,
        "rejected_samples": 0,
        "seconds": seconds,
        "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_pack(
        Path(out),
        manifest=manifest,
        activities=activities,
        gases=groups,
        unit_scores=unit_scores,
        gas_masses=gas_masses,
        direct_scores=direct_per_product(matrices),
    )
    seconds["writing"] = time.perf_counter() - started
    # the stage times including the writing, in the manifest as written last
    write_json_atomic(Path(out) / MANIFEST, manifest)
    progress("done", 1.0)
    return manifest
