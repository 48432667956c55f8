"""The footprint engine: one factorised Brightway background per process, many footprints on it."""

import sys
import threading
import warnings
from collections.abc import Callable, Mapping
from contextlib import redirect_stdout
from functools import lru_cache
from importlib.metadata import version

import numpy as np

from lca_models.background import PROJECT_LOCK, Background, flow_keys, prepare_background
from lca_models.config import LCASettings
from lca_models.factor_set import FactorSet, load_factor_set
from lca_models.flows import FLOWS
from lca_models.foreground import LOCATION, MARKET, Foreground, build_foreground
from lca_models.model import METHOD_ORDER, CharacterisedBackground, characterise
from lca_models.results import FootprintResult
from lca_models.summary import summarise
from lca_models.supply import SupplierValue, checked_suppliers
from pcr_rules.inventory import Inventory
from pcr_rules.models import PCR
from pcr_rules.registry import PCRRegistry, default_registry
from pcr_rules.validation import validate_inventory

# bw2calc suggests pypardiso at import; the SuperLU factorisation it falls back to is what this engine reuses.
warnings.filterwarnings("ignore", message=r"(?s).*pypardiso")


class FootprintEngine:
    """Computes footprints of validated inventories. Build once (reads or builds the Brightway project, loads and
    factorises the background), then `calculate` as often as needed; it never writes to the project."""

    def __init__(self, settings: LCASettings | None = None, registry: PCRRegistry | None = None):
        from lca_models.backgrounds import BackgroundLibrary, solver_report

        self.settings = settings or LCASettings()
        self.registry = registry or default_registry()
        self.factor_set: FactorSet = load_factor_set(self.settings.factor_set)
        # the imported databases, prepared once per version (memory-mapped, shared by the processes of a host)
        self.library = BackgroundLibrary(self.settings.backgrounds_dir)
        self._lock = threading.Lock()
        # Brightway reports progress on stdout; keep stdout for results (the CLI prints JSON there).
        with redirect_stdout(sys.stderr), warnings.catch_warnings(), PROJECT_LOCK:
            warnings.filterwarnings("ignore", message="All values in characterization matrix are zero")
            self.background: Background = prepare_background(self.factor_set, self.settings.brightway_dir)
            self.model, self.packages = self._load()
        self._info = {
            "engine": "brightway",
            "bw2calc": version("bw2calc"),
            "bw2data": version("bw2data"),
            "bw2io": version("bw2io"),
            "path": "factorised",
            "solver": solver_report(self.settings.solver)["solver"],
        }

    # --- set-up -----------------------------------------------------------------------------------------------
    def _load(self) -> tuple[CharacterisedBackground, dict]:
        import bw2calc
        import bw2data as bd

        bd.projects.set_current(self.background.project)
        database = bd.Database(self.background.database)
        activity_ids = {node["code"]: node.id for node in database}
        names = {node["code"]: node["name"] for node in database}
        flows = flow_keys(bd)
        flow_ids = {key: bd.get_node(database=db, code=code).id for key, (db, code) in flows.items()}
        method_packages = {key: [bd.Method(self.background.methods[key]).datapackage()] for key in METHOD_ORDER}
        flow_cf = np.zeros((len(METHOD_ORDER), len(flow_ids)))
        for m, key in enumerate(METHOD_ORDER):
            cfs = {_flow_id(bd, k): amount for k, amount in bd.Method(self.background.methods[key]).load()}
            flow_cf[m] = [cfs.get(node, 0.0) for node in flow_ids.values()]
        first = next(iter(activity_ids.values()))
        _, data_objs, _ = bd.prepare_lca_inputs(
            demand={first: 1}, method=self.background.methods["total"], remapping=False
        )
        inventory_packages = [p for p in data_objs if p.exclude({"matrix": "characterization_matrix"}).resources]
        lca = bw2calc.LCA({first: 1}, data_objs=inventory_packages + method_packages["total"])
        # matrices only: bw2calc's lci(factorize=True) would factorise and solve with pypardiso when it is installed;
        # `characterise` factorises with the engine's explicit solver (LCASettings.solver)
        lca.load_lci_data()
        model = characterise(lca, method_packages, activity_ids, flow_ids, names, flow_cf, solver=self.settings.solver)
        packages = {
            "inventory": inventory_packages,
            "methods": method_packages,
            "activity_ids": activity_ids,
            "flow_ids": flow_ids,
            "names": names,
            "flow_cf": flow_cf,
        }
        return model, packages

    # --- calculation ------------------------------------------------------------------------------------------
    def pcr_for(self, inventory: Inventory) -> PCR:
        return self.registry.get(inventory.pcr.id, inventory.pcr.version)

    def foreground(
        self, inventory: Inventory, suppliers: Mapping[int, SupplierValue] | None = None
    ) -> tuple[PCR, Foreground]:
        pcr = self.pcr_for(inventory)
        validate_inventory(inventory, pcr)
        return pcr, build_foreground(
            inventory, pcr, self.factor_set, checked_suppliers(inventory, suppliers), self.library
        )

    def calculate(
        self,
        inventory: Inventory,
        *,
        suppliers: Mapping[int, SupplierValue] | None = None,
        monte_carlo_iterations: int = 0,
        seed: int | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> FootprintResult:
        """The footprint of a valid inventory. `suppliers`: the values the service resolved for the items that name a
        supplier (a label, a PACT footprint, a release entry), by the item's index in `inventory.items`; an item that
        names one without its value is refused (lca_models.supply.SupplierValueMissing, a ValueError). Monte Carlo
        varies a supplier's item by its activity data only: the supplier's value is fixed data.

        An item whose PCR links it to an activity of an imported database takes that activity's prepared unit scores
        (no solve at request time: numpy lookups in the memory-mapped pack) where the database is prepared here,
        else the factor set's activity with a data gap; the result lists the databases used (`backgrounds`)."""
        pcr, foreground = self.foreground(inventory, suppliers)
        with self._lock:  # the factorised solver is shared; solves take well under a millisecond
            result = summarise(self.model, foreground, inventory, pcr, self.factor_set, self.engine_info())
        if monte_carlo_iterations:
            from lca_models.montecarlo import run_monte_carlo

            result.uncertainty = run_monte_carlo(
                self,
                foreground,
                monte_carlo_iterations,
                self.settings.monte_carlo_seed if seed is None else seed,
                progress,
            )
        return result

    def engine_info(self) -> dict[str, str]:
        return dict(self._info)


def _flow_id(bd, key) -> int:
    if isinstance(key, int):
        return key
    return bd.get_node(database=key[0], code=key[1]).id


@lru_cache(maxsize=2)
def _engine(settings_json: str) -> FootprintEngine:
    return FootprintEngine(LCASettings.model_validate_json(settings_json))


def get_engine(settings: LCASettings | None = None) -> FootprintEngine:
    """The process-wide engine for these settings (built on first use)."""
    return _engine((settings or LCASettings()).model_dump_json())


__all__ = ["FLOWS", "LOCATION", "MARKET", "FootprintEngine", "get_engine"]
