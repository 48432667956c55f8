"""A synthetic background database with the size and structure of ecoinvent 3.10 cut-off, for tests (small) and the
benchmark (full size). Generated data only: no licensed numbers.

Structure, as in ecoinvent: a core of frequently used market activities (electricity, transport, chemicals, fuels,
heat; 3 % of the activities, at least 40 in a small database) that every producer buys most of its inputs from, with
power-law popularity (electricity and transport first); producers also buy on average one input directly from another
producer further down an acyclic chain; the core buys from itself and from producers, which closes loops through the
core as in a real database. 10–60 inputs per activity, about 17 biosphere exchanges per activity (fossil CO2 in
several air compartments, CH4, N2O, other characterised gases and uncharacterised flows of biosphere3, with their real
codes), a mean-preserving lognormal uncertainty (stats_arrays id 2) on 60 % of the exchanges. This structure also
gives the LU factors of A^T the sparsity ecoinvent's have (the fill stays in the core block), where uniformly random
links would fill them densely.

Productive by construction: the input amounts of each activity, expressed in a common "value" unit, sum to a budget
below 0.8, so the column sums of the input matrix V are < 1 and its spectral radius is < 1 (A = I - V is then
nonsingular and A^-1 = sum V^k >= 0). Each activity then gets a unit scale s (kWh, tkm, kg ... differ by orders of
magnitude in real data): the amount of input i per unit of j is v_ij * s_j / s_i, a similarity transform D^-1 V D that
keeps the spectral radius. Full size = 23,500 activities, ~738,000 technosphere exchanges (production included) and
~400,000 biosphere exchanges, the counts of ecoinvent 3.10 cut-off.
"""

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FULL_SIZE = 23_500
LOGNORMAL = 2  # stats_arrays LognormalUncertainty.id
UNDEFINED = 0
CORE_SHARE = 0.03  # ~700 of 23,500 activities are markets for electricity, transport, chemicals and fuels
INPUTS_MIN, INPUTS_MODE, INPUTS_MAX = 10, 15.7, 60  # triangular(10, 15.7, 66) clipped to 60: mean ~30 inputs
UNCERTAIN_SHARE = 0.6
SIGMA_RANGE = (0.05, 0.4)  # lognormal sigma; ecoinvent's basic uncertainty + pedigree spans about this
PRODUCER_LINKS = 1.0  # direct producer-to-producer inputs per producer (Poisson mean)
OTHER_FLOWS_PER_ACTIVITY = 14  # with CO2/CH4/N2O: ~17 biosphere exchanges per activity (399,626 / 23,523)

_CORE_KINDS = (
    ("market for electricity, medium voltage", "electricity, medium voltage", "kilowatt hour"),
    ("market for transport, freight, lorry 16-32 metric ton", "transport, freight, lorry", "ton kilometer"),
    ("market for chemical, organic", "chemical, organic", "kilogram"),
    ("market for diesel", "diesel", "kilogram"),
    ("market for heat, district or industrial, natural gas", "heat, natural gas", "megajoule"),
)
_OTHER_KINDS = (
    ("production of component", "component", "kilogram"),
    ("production of material", "material", "kilogram"),
    ("treatment of waste", "waste", "kilogram"),
    ("operation of machine", "machine operation", "hour"),
    ("water supply", "tap water", "cubic meter"),
    ("construction of facility", "facility", "unit"),
)
_LOCATIONS = ("CN", "GLO", "RoW", "RER", "US", "IN", "JP", "DE", "BR", "ZA")


@dataclass(frozen=True)
class BiospherePools:
    """biosphere3 flow keys ((database, code)) the generator draws from."""

    co2_fossil: tuple[tuple[str, str], ...]  # "Carbon dioxide, fossil" in its air compartments
    ch4_fossil: tuple[tuple[str, str], ...]
    n2o: tuple[tuple[str, str], ...]
    characterised: tuple[tuple[str, str], ...]  # other flows the GWP method characterises (CO2 non-fossil, SF6 ...)
    uncharacterised: tuple[tuple[str, str], ...]


def biosphere_pools(bd, method: tuple[str, ...]) -> BiospherePools:
    """The pools from biosphere3 and the total GWP method of the current bw2data project (both written by
    `lca_models.background.write_biosphere_and_methods`)."""
    characterised_keys = set()
    for key, _factor in bd.Method(method).load():
        if isinstance(key, int):
            node = bd.get_node(id=key)
            key = (node["database"], node["code"])
        characterised_keys.add(tuple(key))
    by_name: dict[str, list] = {}
    uncharacterised = []
    characterised = []
    for flow in sorted(bd.Database("biosphere3"), key=lambda f: f["code"]):
        key = (flow["database"], flow["code"])
        if not flow["categories"] or flow["categories"][0] not in ("air", "water", "soil", "natural resource"):
            continue
        if key in characterised_keys:
            if flow["categories"][0] == "air":
                by_name.setdefault(flow["name"], []).append(key)
            characterised.append(key)
        else:
            uncharacterised.append(key)
    main = {
        "co2_fossil": tuple(by_name.get("Carbon dioxide, fossil", ())),
        "ch4_fossil": tuple(by_name.get("Methane, fossil", ())),
        "n2o": tuple(by_name.get("Dinitrogen monoxide", ())),
    }
    if not all(main.values()):
        raise RuntimeError("biosphere3 or the GWP method lacks fossil CO2, fossil CH4 or N2O")
    taken = {k for keys in main.values() for k in keys}
    rng = np.random.default_rng(4300)  # ecoinvent uses ~4,300 biosphere flows: keep at most that many
    pool = np.array(uncharacterised, dtype=object)
    chosen = rng.choice(len(pool), size=min(len(pool), 4000), replace=False)
    return BiospherePools(
        **main,
        characterised=tuple(k for k in characterised if k not in taken),
        uncharacterised=tuple(tuple(pool[i]) for i in sorted(chosen)),
    )


def _code(database: str, seed: int, index: int) -> str:
    digest = hashlib.md5(f"{database}/{seed}/{index}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _uncertainty(rng: np.random.Generator, amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which exchanges carry a lognormal, and its sigma (0 where none)."""
    uncertain = rng.random(len(amounts)) < UNCERTAIN_SHARE
    sigma = np.where(uncertain, rng.uniform(*SIGMA_RANGE, len(amounts)), 0.0)
    return uncertain, sigma


def _exchange(key, amount: float, kind: str, sigma: float) -> dict:
    row = {"input": key, "amount": amount, "type": kind}
    if sigma > 0:
        # mean-preserving lognormal: E[exp(N(loc, sigma))] = exp(loc + sigma^2 / 2) = amount
        row.update({"uncertainty type": LOGNORMAL, "loc": math.log(amount) - sigma * sigma / 2, "scale": sigma})
    else:
        row["uncertainty type"] = UNDEFINED
    return row


def _input_columns(rng: np.random.Generator, activities: int, core: int) -> list[np.ndarray]:
    """The input activities of each activity, as ecoinvent's markets and producers buy.

    Producers (outside the core) buy mostly from the core markets (power-law popularity: electricity and transport
    first) and on average `PRODUCER_LINKS` inputs directly from other producers further down the chain (higher
    index: the producer-to-producer graph is acyclic, as a supply chain below the markets is). Core markets buy from
    each other (the loops of a real database: electricity needs transport, transport needs fuel and electricity) and
    from producers. This is also what keeps the LU factors of A^T sparse, as ecoinvent's are: the fill stays in the
    dense core block."""
    counts = np.clip(np.rint(rng.triangular(INPUTS_MIN, INPUTS_MODE, 66, activities)), INPUTS_MIN, INPUTS_MAX)
    counts = np.minimum(counts.astype(int), activities - 1)
    core_cdf = np.cumsum(1.0 / np.arange(1, core + 1))
    core_cdf /= core_cdf[-1]
    inputs = []
    for j in range(activities):
        if j < core:
            from_producers = counts[j] // 4
        else:
            from_producers = min(int(rng.poisson(PRODUCER_LINKS)), activities - j - 1)
        from_core = min(counts[j] - from_producers, core - (1 if j < core else 0))
        draws = np.searchsorted(core_cdf, rng.random(from_core * 3 + 4))
        draws = draws[draws != j]
        unique, first = np.unique(draws, return_index=True)
        chosen = unique[np.argsort(first)][:from_core]
        if len(chosen) < from_core:  # a draw heavy on the top markets: top up uniformly over the core
            rest = np.setdiff1d(np.arange(core), np.append(chosen, j))
            chosen = np.append(chosen, rng.choice(rest, from_core - len(chosen), replace=False))
        if from_producers:
            low = core if j < core else j + 1
            deeper = low + np.floor((activities - low) * rng.random(from_producers * 2) ** 2).astype(int)
            chosen = np.append(chosen, np.unique(deeper)[:from_producers])
        inputs.append(chosen)
    return inputs


def synthetic_database(
    activities: int,
    *,
    seed: int,
    pools: BiospherePools,
    name: str = "synthetic",
) -> dict:
    """The database in bw2data's `Database.write` format, deterministic by `seed`."""
    if activities < 12:
        raise ValueError("a synthetic database needs at least 12 activities")
    rng = np.random.default_rng(seed)
    core = max(round(activities * CORE_SHARE), min(activities // 3, 40))  # small test databases keep 10+ inputs
    scale = np.exp(rng.uniform(math.log(1e-2), math.log(1e2), activities))  # unit of each activity
    budget = rng.uniform(0.2, 0.75, activities)  # value share of inputs per unit of output (< 1: productive)
    inputs = _input_columns(rng, activities, core)
    codes = [_code(name, seed, i) for i in range(activities)]
    flows_char = pools.characterised
    flows_other = pools.uncharacterised
    data = {}
    for j in range(activities):
        kinds = _CORE_KINDS if j < core else _OTHER_KINDS
        title, product, unit = kinds[j % len(kinds)]
        location = _LOCATIONS[int(rng.integers(len(_LOCATIONS)))]
        exchanges = [{"input": (name, codes[j]), "amount": 1.0, "type": "production", "uncertainty type": 0}]
        rows = inputs[j]
        weights = rng.exponential(1.0, len(rows))
        amounts = weights / weights.sum() * budget[j] * scale[j] / scale[rows]
        _, sigma = _uncertainty(rng, amounts)
        exchanges += [
            _exchange((name, codes[i]), float(a), "technosphere", float(s))
            for i, a, s in zip(rows, amounts, sigma, strict=True)
        ]
        bio = []
        if rng.random() < 0.9:
            bio.append((pools.co2_fossil[int(rng.integers(len(pools.co2_fossil)))], rng.uniform(0.05, 3.0)))
        if rng.random() < 0.5:
            bio.append((pools.ch4_fossil[int(rng.integers(len(pools.ch4_fossil)))], rng.uniform(1e-4, 1e-2)))
        if rng.random() < 0.4:
            bio.append((pools.n2o[int(rng.integers(len(pools.n2o)))], rng.uniform(1e-5, 1e-3)))
        for _ in range(2):
            if flows_char and rng.random() < 0.5:
                bio.append((flows_char[int(rng.integers(len(flows_char)))], rng.uniform(1e-7, 1e-4)))
        picked = rng.choice(len(flows_other), size=OTHER_FLOWS_PER_ACTIVITY, replace=False)
        bio += [(flows_other[i], rng.uniform(1e-6, 1.0)) for i in picked]
        seen = set()
        bio = [(k, a) for k, a in bio if not (k in seen or seen.add(k))]
        bio_amounts = np.array([a for _, a in bio]) * scale[j]
        _, bio_sigma = _uncertainty(rng, bio_amounts)
        exchanges += [
            _exchange(k, float(a), "biosphere", float(s))
            for (k, _), a, s in zip(bio, bio_amounts, bio_sigma, strict=True)
        ]
        data[(name, codes[j])] = {
            "name": f"{title} ({j})",
            "reference product": product,
            "unit": unit,
            "location": location,
            "type": "process",
            "exchanges": exchanges,
        }
    return data


def write_synthetic(project: str, name: str, activities: int, seed: int, brightway_dir: Path | None = None) -> dict:
    """Write the synthetic database `name` into `project` (with biosphere3 and the IPCC 2021 methods of the default
    factor set, created offline from bw2io) and return counts and seconds. bw2data's bulk path is used
    (`Database.write` with the dict, no search index, no typo checks: the generator's keys are known-good)."""
    from lca_models.background import import_bw2data
    from lca_models.backgrounds.prepare import in_project
    from lca_models.config import LCASettings

    bd = import_bw2data(brightway_dir or LCASettings().brightway_dir)
    with in_project(bd, project):
        return _write(bd, project, name, activities, seed)


def _write(bd, project: str, name: str, activities: int, seed: int) -> dict:
    import time

    from lca_models.background import write_biosphere_and_methods
    from lca_models.config import LCASettings
    from lca_models.factor_set import load_factor_set

    factor_set = load_factor_set(LCASettings().factor_set)
    started = time.perf_counter()
    write_biosphere_and_methods(bd, factor_set)
    pools = biosphere_pools(bd, factor_set.methods["total"])
    setup = time.perf_counter() - started
    started = time.perf_counter()
    data = synthetic_database(activities, seed=seed, pools=pools, name=name)
    generated = time.perf_counter() - started
    technosphere = sum(1 for ds in data.values() for e in ds["exchanges"] if e["type"] != "biosphere")
    biosphere = sum(1 for ds in data.values() for e in ds["exchanges"] if e["type"] == "biosphere")
    started = time.perf_counter()
    if name in bd.databases:
        bd.Database(name).delete(warn=False)
    bd.Database(name).write(data, searchable=False, check_typos=False)
    return {
        "project": project,
        "database": name,
        "activities": activities,
        "technosphere_exchanges": technosphere,
        "biosphere_exchanges": biosphere,
        "methods": dict(factor_set.methods),
        "seconds": {"biosphere_and_methods": setup, "generate": generated, "write": time.perf_counter() - started},
    }
