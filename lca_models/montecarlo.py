"""Monte Carlo: background uncertainty (the factor set's distributions, sampled by bw2calc/matrix_utils) combined
with activity-data uncertainty of each inventory item (mean-preserving lognormal on the item's amount)."""

import math
import warnings
from collections.abc import Callable

import numpy as np

from lca_models.foreground import Foreground
from lca_models.results import UncertaintyResult


def _item_multipliers(rng: np.random.Generator, relative_sds: np.ndarray, iterations: int) -> np.ndarray:
    sigma = np.sqrt(np.log1p(relative_sds**2))
    return np.exp(rng.standard_normal((iterations, len(relative_sds))) * sigma - sigma**2 / 2)


def run_monte_carlo(
    engine, foreground: Foreground, iterations: int, seed: int, progress: Callable[[float], None] | None = None
) -> UncertaintyResult:
    import bw2calc

    model = engine.model
    exchanges = foreground.for_method(foreground.reported_electricity_method)
    items = sorted({e.item for e in exchanges})
    item_index = {item: i for i, item in enumerate(items)}
    flow_index = {key: i for i, key in enumerate(model.flow_keys)}

    demand_by_item = np.zeros((model.unit_scores.shape[1], len(items)))
    direct_by_item = np.zeros(len(items))
    for exchange in exchanges:
        i = item_index[exchange.item]
        if exchange.activity is not None:
            demand_by_item[model.activity_col[exchange.activity], i] += exchange.amount
        else:
            direct_by_item[i] += model.flow_characterisation[0, flow_index[exchange.flow]] * exchange.amount

    relative_sds = np.array([foreground.quality[item].relative_sd for item in items])
    multipliers = _item_multipliers(np.random.default_rng(seed), relative_sds, iterations)

    packages = engine.packages
    first = next(iter(packages["activity_ids"].values()))
    lca = bw2calc.LCA(
        {first: 1},
        data_objs=packages["inventory"] + packages["methods"]["total"],
        use_distributions=True,
        seed_override=seed,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All values in characterization matrix are zero")
        lca.lci()
        lca.lcia()
    characterisation = lca.characterization_matrix.diagonal()
    results = np.empty(iterations)
    report_every = max(1, iterations // 10)
    for n in range(iterations):
        if progress is not None and n and n % report_every == 0:
            progress(n / iterations)
        next(lca)
        demand = demand_by_item @ multipliers[n]
        supply = lca.solve_linear_system(demand)
        results[n] = characterisation @ (lca.biosphere_matrix @ supply) + direct_by_item @ multipliers[n]

    mean = float(results.mean())
    return UncertaintyResult(
        iterations=iterations,
        seed=seed,
        mean_kg_co2e=mean,
        median_kg_co2e=float(np.median(results)),
        p2_5_kg_co2e=float(np.percentile(results, 2.5)),
        p97_5_kg_co2e=float(np.percentile(results, 97.5)),
        relative_sd=float(results.std(ddof=1) / mean) if mean and iterations > 1 else math.nan,
    )
