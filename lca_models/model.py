"""The characterised background: matrices of one bw2calc LCA, factorised once, with the cradle-to-gate unit score
of every background activity for each IPCC 2021 method (total, fossil, biogenic, land use).

With A the technosphere, B the biosphere and C the characterisation matrix, the unit scores are U = C B A^-1,
obtained by one LU factorisation of A^T and one solve per method. A footprint is then a sparse demand d on the
background plus direct flows b: score = U d + C b; its supply chain s = A^-1 d is one more (transposed) solve with the
same factorisation (for per-gas results and process contributions).

The factorisation is the engine's explicit one (`lca_models.backgrounds.solver`, `LCASettings.solver`), never
bw2calc's: bw2calc takes pypardiso by itself when it is installed, which would change the solver behind every
footprint silently. `characterise` also hands it to the bw2calc LCA (`lca.solver`), so `lca.solve_linear_system`
uses it too.
"""

import warnings
from dataclasses import dataclass

import numpy as np

METHOD_ORDER = ("total", "fossil", "biogenic", "land_use")


@dataclass
class CharacterisedBackground:
    lca: object  # bw2calc.LCA, factorised (lca.solver)
    activity_col: dict[str, int]  # background activity code -> column
    flow_row: dict[str, int]  # short flow key -> row of the background biosphere matrix (flows it uses)
    flow_keys: list[str]  # every flow the service knows, in the order of `flow_characterisation` columns
    flow_characterisation: np.ndarray  # (methods, flow_keys): factors for direct (foreground) flows
    activity_names: list[str]  # by column
    activity_codes: list[str]  # by column
    characterisation: np.ndarray  # (methods, flows)
    unit_scores: np.ndarray  # (methods, activities): C B A^-1
    direct_scores: np.ndarray  # (activities,): total-GWP of each activity's own emissions per unit supply
    factorisation: object = None  # lca_models.backgrounds.solver.Factorisation of A^T

    @property
    def flow_index(self) -> dict[str, int]:
        return self._flow_index

    def __post_init__(self) -> None:
        self._flow_index = {key: i for i, key in enumerate(self.flow_keys)}
        rows = self.lca.biosphere_matrix.shape[0]
        # short flow key of each row of the background biosphere matrix ("" for a flow the service does not name)
        self.biosphere_flow_keys = [""] * rows
        for key, row in self.flow_row.items():
            self.biosphere_flow_keys[row] = key
        # B A^-1, one column per activity, solved the first time the activity is asked for (see `unit_gases`)
        self._unit_gases = np.zeros((rows, self.unit_scores.shape[1]))
        self._unit_gases_solved = np.zeros(self.unit_scores.shape[1], dtype=bool)

    def supply(self, demand: np.ndarray) -> np.ndarray:
        return self.factorisation.solve(demand)

    def unit_gases(self, columns) -> np.ndarray:
        """(background flows, activities): kg of each flow through the whole supply chain per unit of each
        activity, with `columns` solved (one solve on the factorised matrix for an activity not asked for before;
        callers hold the engine's lock, as for every solve)."""
        for column in columns:
            if not self._unit_gases_solved[column]:
                unit = np.zeros(self.unit_scores.shape[1])
                unit[column] = 1.0
                self._unit_gases[:, column] = self.biosphere @ self.supply(unit)
                self._unit_gases_solved[column] = True
        return self._unit_gases

    @property
    def biosphere(self):
        return self.lca.biosphere_matrix


def characterise(
    lca,
    method_packages: dict[str, list],
    activity_ids: dict[str, int],
    flow_ids: dict[str, int],
    names: dict[str, str],
    flow_characterisation: np.ndarray,
    solver: str = "superlu",
) -> CharacterisedBackground:
    """Build the characterised background from a bw2calc LCA whose inventory is loaded, factorising its technosphere
    with the explicitly chosen `solver` (whatever bw2calc factorised with is replaced)."""
    from lca_models.backgrounds.solver import factorise  # the package imports this module (METHOD_ORDER)

    vectors = []
    with warnings.catch_warnings():
        # biogenic and land-use methods characterise none of the flows of a fossil-only background
        warnings.filterwarnings("ignore", message="All values in characterization matrix are zero")
        for key in METHOD_ORDER:
            lca.load_lcia_data(data_objs=method_packages[key])
            vectors.append(np.asarray(lca.characterization_matrix.diagonal()).copy())
        lca.load_lcia_data(data_objs=method_packages["total"])
    characterisation = np.vstack(vectors)
    per_activity = np.asarray(lca.biosphere_matrix.T @ characterisation.T).T  # C B: (methods, activities)
    factorisation = factorise(lca.technosphere_matrix, solver)
    lca.solver = factorisation  # bw2calc's protocol: solve_linear_system calls lca.solver(demand) when it is set
    unit_scores = factorisation.solve_transposed(np.ascontiguousarray(per_activity.T)).T

    activity_col = {code: lca.dicts.activity[node] for code, node in activity_ids.items() if node in lca.dicts.activity}
    flow_row = {key: lca.dicts.biosphere[node] for key, node in flow_ids.items() if node in lca.dicts.biosphere}
    codes = [""] * lca.technosphere_matrix.shape[1]
    for code, col in activity_col.items():
        codes[col] = code
    return CharacterisedBackground(
        lca=lca,
        activity_col=activity_col,
        flow_row=flow_row,
        flow_keys=list(flow_ids),
        flow_characterisation=flow_characterisation,
        activity_names=[names.get(c, c) for c in codes],
        activity_codes=codes,
        characterisation=characterisation,
        unit_scores=unit_scores,
        direct_scores=per_activity[0],
        factorisation=factorisation,
    )
