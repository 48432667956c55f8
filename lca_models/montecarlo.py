"""Monte Carlo of a footprint: activity-data uncertainty of each inventory item (mean-preserving lognormal on the
item's amount) combined with the uncertainty of the backgrounds its inputs take.

- The factor set's background (245 activities): its distributions sampled by bw2calc/matrix_utils each iteration
  and the sampled technosphere solved (scipy's spsolve, as bw2calc does without pypardiso; named here so that a
  pypardiso installed beside the engine changes nothing).
- An imported database (lca_models.backgrounds): sampled once per database version when it is prepared — K sampled
  versions of the whole database, each solved in full, their total-method unit score of every activity kept in the
  pack (`samples`, activities x K). Iteration n takes sample n mod K of EVERY imported activity (one joint draw of
  the database per iteration, so activities that share suppliers stay correlated as in a brute-force Monte Carlo
  of the whole system), times the item's activity-data multiplier of that iteration.

The approximation, and why it holds: a footprint is linear in its demand on a background, so the score of a sampled
database for the footprint's demand d is u_k · d with u_k the sampled unit scores; drawing u_k from K prepared
samples instead of solving a fresh sample is exact in distribution for K -> infinity and, for finite K, draws from
the empirical distribution of K points: with more iterations than K the samples repeat (each time with new activity
data draws), so the background's part of the interval is as precise as K samples make it, no more. The samples are
solved in full with the database's own distributions (lca_models.backgrounds.sampling), so nothing of the
database's uncertainty is linearised or dropped. What it leaves out: correlation between the imported
database and the factor set's background (independent databases: none is expected) and between the imported
database and the foreground's activity data (independent by construction, as in bw2calc). The agreement with a
brute-force bw2calc Monte Carlo of the same combined system is tested in tests/test_background_footprint_montecarlo.py.
A database prepared without samples enters at its nominal unit scores, and the result says so (`notes`).
"""

import math
import warnings
from collections.abc import Callable

import numpy as np

from lca_models.foreground import Foreground
from lca_models.results import Explanation, UncertaintyResult, explain


def _item_multipliers(rng: np.random.Generator, relative_sds: np.ndarray, iterations: int) -> np.ndarray:
    sigma = np.sqrt(np.log1p(relative_sds**2))
    return np.exp(rng.standard_normal((iterations, len(relative_sds))) * sigma - sigma**2 / 2)


def run_monte_carlo(
    engine, foreground: Foreground, iterations: int, seed: int, progress: Callable[[float], None] | None = None
) -> UncertaintyResult:
    import bw2calc
    from scipy.sparse.linalg import spsolve

    model = engine.model
    exchanges = foreground.for_method(foreground.reported_electricity_method)
    items = sorted({e.item for e in exchanges})
    item_index = {item: i for i, item in enumerate(items)}
    flow_index = {key: i for i, key in enumerate(model.flow_keys)}

    demand_by_item = np.zeros((model.unit_scores.shape[1], len(items)))
    direct_by_item = np.zeros(len(items))
    imported: list[tuple[tuple[str, str], int, int, float]] = []  # pack, item, column, amount
    for exchange in exchanges:
        i = item_index[exchange.item]
        if exchange.database is not None:
            key = (exchange.database, exchange.database_version)
            imported.append((key, i, foreground.backgrounds[key].column(exchange.activity), exchange.amount))
        elif exchange.activity is not None:
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
        # matrices only: `next(lca)` then resamples them without solving the LCA's own demand each iteration
        lca.load_lci_data()
        lca.load_lcia_data()
    characterisation = lca.characterization_matrix.diagonal()
    results = np.empty(iterations)
    report_every = max(1, iterations // 10)
    for n in range(iterations):
        if progress is not None and n and n % report_every == 0:
            progress(n / iterations)
        next(lca)
        demand = demand_by_item @ multipliers[n]
        supply = spsolve(lca.technosphere_matrix, demand) if demand.any() else demand
        results[n] = characterisation @ (lca.biosphere_matrix @ supply) + direct_by_item @ multipliers[n]

    notes = _imported_draws(foreground, imported, multipliers, results)
    mean = float(results.mean())
    return UncertaintyResult(
        iterations=iterations,
        seed=seed,
        mean_kg_co2e=mean,
        median_kg_co2e=float(np.median(results)),
        p2_5_kg_co2e=float(np.percentile(results, 2.5)),
        p97_5_kg_co2e=float(np.percentile(results, 97.5)),
        relative_sd=float(results.std(ddof=1) / mean) if mean and iterations > 1 else math.nan,
        notes=notes,
    )


def _imported_draws(
    foreground: Foreground,
    imported: list[tuple[tuple[str, str], int, int, float]],
    multipliers: np.ndarray,
    results: np.ndarray,
) -> list[Explanation]:
    """Adds each imported exchange's score of every iteration to `results`: amount x the item's multiplier x the
    activity's unit score in sample n mod K of its pack (the nominal unit score where the pack has no samples)."""
    notes: list[Explanation] = []
    iterations = len(results)
    for key in sorted({key for key, *_ in imported}):
        pack = foreground.backgrounds[key]
        rows = [(item, column, amount) for k, item, column, amount in imported if k == key]
        items = np.array([item for item, _, _ in rows])
        columns = np.array([column for _, column, _ in rows])
        amounts = np.array([amount for _, _, amount in rows])
        weights = multipliers[:, items] * amounts  # (iterations, exchanges)
        draws = _draws(pack, columns, iterations)
        if draws is None:
            unit = np.asarray(pack.unit_scores[0, columns])
            results += weights @ unit
            notes.append(explain("uncertainty.background_not_sampled", database=pack.name, version=pack.version))
            continue
        results += np.einsum("ne,en->n", weights, draws)
    return notes


def _draws(pack, columns: np.ndarray, iterations: int) -> np.ndarray | None:
    """Sample n mod K of each column, (exchanges, iterations); None where the pack has no samples or samples that
    cannot be the pack's (another number of activities, a file cut short, values that are not finite): those enter at
    their nominal unit scores with the note, never as a wrong or NaN interval."""
    try:
        samples = pack.samples
        if samples is None or not pack.sample_count or samples.ndim != 2:
            return None
        if samples.shape[0] != pack.unit_scores.shape[1]:
            return None
        draws = np.asarray(samples[columns])[:, np.arange(iterations) % pack.sample_count]
    except (OSError, ValueError, TypeError, IndexError):
        return None
    return draws if np.isfinite(draws).all() else None
