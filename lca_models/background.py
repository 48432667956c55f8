"""The Brightway project behind the service: biosphere3, the IPCC 2021 methods and the factor-set background.

Built once per factor-set version (offline, from the data shipped in bw2io) and only read afterwards. A build writes a
marker with the factor-set digest; a process that finds a matching marker does not touch the project.
"""

import fcntl
import json
import math
import os
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lca_models.factor_set import FactorSet
from lca_models.flows import FLOWS

_MARKER = "pcf-background.json"
# bw2data has one current project per process: whoever switches it (the engine reading the factor set's project, an
# import writing a database version's) holds this lock until done with it
PROJECT_LOCK = threading.RLock()


@dataclass(frozen=True)
class Background:
    """Handles on the built project: what the engine needs to load matrices."""

    project: str
    database: str
    methods: dict[str, tuple[str, ...]]


def import_bw2data(brightway_dir: Path):
    """bw2data reads its data directory from the environment when first imported."""
    brightway_dir.mkdir(parents=True, exist_ok=True)
    os.environ["BRIGHTWAY2_DIR"] = str(brightway_dir)
    import bw2data

    if (
        Path(bw2data.projects._base_data_dir) != brightway_dir.resolve()
        and Path(bw2data.projects._base_data_dir) != brightway_dir
    ):
        bw2data.projects.change_base_directories(brightway_dir)
    return bw2data


@contextmanager
def _build_lock(brightway_dir: Path):
    with open(brightway_dir / ".pcf-build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_background(factor_set: FactorSet, brightway_dir: Path) -> Background:
    bd = import_bw2data(brightway_dir)
    project = f"pcf-{factor_set.id}"
    database = f"pcf-background-{factor_set.id}"
    background = Background(project, database, dict(factor_set.methods))
    with PROJECT_LOCK, _build_lock(brightway_dir):
        bd.projects.set_current(project)
        marker = Path(bd.projects.dir) / _MARKER
        wanted = {"factor_set": factor_set.id, "version": factor_set.version, "digest": factor_set.digest}
        if marker.exists() and json.loads(marker.read_text()) == wanted:
            return background
        write_biosphere_and_methods(bd, factor_set)
        write_background(bd, factor_set, database)
        marker.write_text(json.dumps(wanted))
    return background


def write_biosphere_and_methods(bd, factor_set: FactorSet) -> None:
    """biosphere3 from bw2io, and the IPCC 2021 methods from bw2io's bundled LCIA file.

    `bw2io.bw2setup()` (bw2io 0.9.17 with bw2data 4.8) fails on that file because its exchange inputs are lists;
    they are turned into (database, code) tuples here and the methods the factor set names are written directly.
    """
    import bw2io

    if "biosphere3" not in bd.databases:
        bw2io.create_default_biosphere3()
    wanted = set(factor_set.methods.values())
    missing = [m for m in wanted if m not in bd.methods]
    if not missing:
        return
    archive = Path(bw2io.__file__).parent / "data" / "lcia" / "lcia_39_ecoinvent.zip"
    with zipfile.ZipFile(archive) as zipped:
        data = json.load(zipped.open("data.json"))
    for entry in data:
        name = tuple(entry["name"])
        if name not in missing:
            continue
        cfs = [(tuple(e["input"]), e["amount"]) for e in entry["exchanges"] if "input" in e]
        method = bd.Method(name)
        method.register(
            unit=entry.get("unit", "kg CO2-Eq"),
            description=entry.get("description", ""),
            filename=entry.get("filename", "lcia_39_ecoinvent.zip"),
        )
        method.write(cfs)


def flow_keys(bd) -> dict[str, tuple[str, str]]:
    """Short flow key -> biosphere3 (database, code), looked up by name and categories."""
    wanted = {(f.name, f.categories): key for key, f in FLOWS.items()}
    found: dict[str, tuple[str, str]] = {}
    for flow in bd.Database("biosphere3"):
        key = wanted.get((flow["name"], tuple(flow["categories"])))
        if key:
            found[key] = flow.key
    missing = set(FLOWS) - set(found)
    if missing:
        raise RuntimeError(f"biosphere3 lacks flows {sorted(missing)}")
    return found


def write_background(bd, factor_set: FactorSet, database: str) -> None:
    from stats_arrays import LognormalUncertainty, NormalUncertainty, UndefinedUncertainty

    flows = flow_keys(bd)
    data = {}
    for activity in factor_set.activities.values():
        exchanges = [{"input": (database, activity.code), "amount": 1.0, "type": "production"}]
        for exchange in activity.exchanges:
            row = {"amount": exchange.amount, "uncertainty type": UndefinedUncertainty.id}
            if exchange.relative_sd > 0 and exchange.amount > 0:
                # mean-preserving lognormal: median exp(loc), sigma from the coefficient of variation
                sigma = math.sqrt(math.log(1 + exchange.relative_sd**2))
                row.update(
                    {
                        "uncertainty type": LognormalUncertainty.id,
                        "loc": math.log(exchange.amount) - sigma**2 / 2,
                        "scale": sigma,
                    }
                )
            elif exchange.relative_sd > 0:
                row.update(
                    {
                        "uncertainty type": NormalUncertainty.id,
                        "loc": exchange.amount,
                        "scale": abs(exchange.amount) * exchange.relative_sd,
                    }
                )
            if exchange.flow is not None:
                row.update({"input": flows[exchange.flow], "type": "biosphere"})
            else:
                row.update({"input": (database, exchange.input), "type": "technosphere"})
            exchanges.append(row)
        data[(database, activity.code)] = {
            "name": activity.name,
            "unit": activity.unit,
            "location": "CN",
            "reference product": activity.name,
            "comment": f"source: {activity.source}; check: {activity.check}",
            "exchanges": exchanges,
            "type": "process",
        }
    db = bd.Database(database)
    if database in bd.databases:
        db.delete(warn=False)
        db = bd.Database(database)
    db.write(data)
