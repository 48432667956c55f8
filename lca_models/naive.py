"""The reference path: a fresh bw2calc.LCA per footprint, with the foreground as an in-memory datapackage.

Slow by design (matrices built and factorised for every footprint); it exists to check the factorised engine
against Brightway solving the whole system, and as the baseline of the benchmark.
"""

import warnings

import bw_processing as bwp
import numpy as np

from lca_models.model import characterise
from lca_models.results import FootprintResult
from lca_models.summary import summarise
from pcr_rules.inventory import Inventory

FOREGROUND_ID = 2**40  # outside bw2data's node ids


def foreground_datapackage(engine, exchanges) -> bwp.Datapackage:
    activity_ids, flow_ids = engine.packages["activity_ids"], engine.packages["flow_ids"]
    technosphere = [(FOREGROUND_ID, FOREGROUND_ID, 1.0, False)]
    biosphere = []
    for exchange in exchanges:
        if exchange.activity is not None:
            technosphere.append((activity_ids[exchange.activity], FOREGROUND_ID, exchange.amount, True))
        else:
            biosphere.append((flow_ids[exchange.flow], FOREGROUND_ID, exchange.amount))
    package = bwp.create_datapackage(sum_intra_duplicates=True)
    package.add_persistent_vector(
        matrix="technosphere_matrix",
        name="foreground-technosphere",
        indices_array=np.array([(r, c) for r, c, _, _ in technosphere], dtype=bwp.INDICES_DTYPE),
        data_array=np.array([a for _, _, a, _ in technosphere]),
        flip_array=np.array([f for *_, f in technosphere], dtype=bool),
    )
    if biosphere:
        package.add_persistent_vector(
            matrix="biosphere_matrix",
            name="foreground-biosphere",
            indices_array=np.array([(r, c) for r, c, _ in biosphere], dtype=bwp.INDICES_DTYPE),
            data_array=np.array([a for *_, a in biosphere]),
        )
    return package


def calculate_naive(engine, inventory: Inventory, suppliers=None) -> FootprintResult:
    import bw2calc

    pcr, foreground = engine.foreground(inventory, suppliers)
    exchanges = foreground.for_method(foreground.reported_electricity_method)
    packages = engine.packages
    lca = bw2calc.LCA(
        {FOREGROUND_ID: 1},
        data_objs=packages["inventory"] + packages["methods"]["total"] + [foreground_datapackage(engine, exchanges)],
    )
    lca.lci(factorize=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All values in characterization matrix are zero")
        lca.lcia()
    model = characterise(
        lca, packages["methods"], packages["activity_ids"], packages["flow_ids"], packages["names"], packages["flow_cf"]
    )
    info = {**engine.engine_info(), "path": "naive (fresh bw2calc.LCA per footprint)"}
    return summarise(model, foreground, inventory, pcr, engine.factor_set, info, total_override=float(lca.score))
