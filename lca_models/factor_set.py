"""The factor set: versioned, cited background data, read from YAML and turned into background activities.

Derived activities (fuel combustion, the residual electricity factor) are computed here by documented rules, so a
new year of grid factors or a new fuel is a data change only.
"""

import hashlib
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from lca_models.flows import FLOWS

DATA_DIR = Path(__file__).parent / "data" / "factor_sets"
DEFAULT_FACTOR_SET = "cn-2025.1"
C_TO_CO2 = 44.0 / 12.0


class FactorSetError(ValueError):
    """The factor set is inconsistent, or lacks a factor an inventory needs."""


@dataclass(frozen=True)
class Exchange:
    """Per unit of the activity: either an elementary flow (kg) or an input of another background activity."""

    amount: float
    flow: str | None = None
    input: str | None = None
    relative_sd: float = 0.0


@dataclass(frozen=True)
class BackgroundActivity:
    code: str
    name: str
    unit: str
    exchanges: tuple[Exchange, ...]
    source: str
    check: str


@dataclass(frozen=True)
class FactorChoice:
    """Which published factor was used: carried into every result that depends on it."""

    activity: str
    year: int
    kg_co2e_per_kwh: float
    source: str
    note: str = ""


@dataclass
class FactorSet:
    id: str
    version: str
    title: str
    methods: dict[str, tuple[str, ...]]
    activities: dict[str, BackgroundActivity]
    fuels: dict[str, dict[str, Any]]
    non_co2: dict[str, dict[str, Any]]
    process: dict[str, Any]
    sources: dict[str, str]
    lifecycle_average: dict[int, FactorChoice] = field(default_factory=dict)
    residual: dict[int, FactorChoice] = field(default_factory=dict)
    technology: dict[str, FactorChoice] = field(default_factory=dict)
    grid_co2: dict[tuple[str, str, int], FactorChoice] = field(default_factory=dict)
    digest: str = ""

    # --- electricity factor choices -------------------------------------------------------------------------
    def location_factor(self, year: int) -> FactorChoice:
        return _by_year(self.lifecycle_average, year, "life-cycle average electricity factor")

    def residual_factor(self, year: int) -> FactorChoice:
        return _by_year(self.residual, year, "residual electricity factor")

    def technology_factor(self, technology: str) -> FactorChoice:
        try:
            return self.technology[technology]
        except KeyError:
            raise FactorSetError(
                f"factor set {self.id} has no footprint factor for generation technology {technology!r}"
            ) from None

    def grid_co2_factor(self, scope: str, year: int, area: str = "") -> FactorChoice:
        candidates = {y: f for (s, a, y), f in self.grid_co2.items() if s == scope and a == area}
        return _by_year(candidates, year, f"grid CO2 factor {scope} {area}".strip())

    def fuel(self, key: str) -> dict[str, Any]:
        try:
            return self.fuels[key]
        except KeyError:
            raise FactorSetError(f"factor set {self.id} has no fuel {key!r}") from None

    def activity(self, code: str) -> BackgroundActivity:
        try:
            return self.activities[code]
        except KeyError:
            raise FactorSetError(f"factor set {self.id} has no background activity {code!r}") from None


def _by_year(table: dict[int, FactorChoice], year: int, what: str) -> FactorChoice:
    """The latest factor published for a year at or before `year` (factors lag the accounting year);
    if every factor is newer, the earliest, marked as such."""
    if not table:
        raise FactorSetError(f"no {what} in the factor set")
    earlier = [y for y in table if y <= year]
    if earlier:
        return table[max(earlier)]
    first = table[min(table)]
    return FactorChoice(first.activity, first.year, first.kg_co2e_per_kwh, first.source,
                        note=f"no factor for {year} or earlier; the {first.year} factor is used")


# --- loading ----------------------------------------------------------------------------------------------------

def _read(directory: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load((directory / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def load_factor_set(factor_set_id: str = DEFAULT_FACTOR_SET) -> FactorSet:
    directory = DATA_DIR / factor_set_id
    if not directory.is_dir():
        raise FactorSetError(f"unknown factor set {factor_set_id!r}")
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        digest.update(path.name.encode() + path.read_bytes())
    meta = _read(directory, "meta.yaml")
    electricity = _read(directory, "electricity.yaml")
    fuels = _read(directory, "fuels.yaml")
    materials = _read(directory, "materials.yaml")
    transport = _read(directory, "transport.yaml")
    process = _read(directory, "process.yaml")

    sources: dict[str, str] = {}
    for document in (electricity, fuels, materials, transport, process):
        sources.update(document.get("sources", {}))

    factor_set = FactorSet(
        id=meta["id"],
        version=meta["version"],
        title=meta["title"],
        methods={k: tuple(v) for k, v in meta["characterisation"].items() if k != "source"},
        activities={},
        fuels=fuels["fuels"],
        non_co2=fuels["non_co2"],
        process=process,
        sources=sources,
        digest=digest.hexdigest()[:16],
    )
    _add_electricity(factor_set, electricity)
    _add_fuels(factor_set, fuels)
    for section in (materials["materials"], transport["transport"]):
        for code, spec in section.items():
            _add_declared(factor_set, code, spec)
    _check_references(factor_set)
    return factor_set


def _add(factor_set: FactorSet, activity: BackgroundActivity) -> None:
    if activity.code in factor_set.activities:
        raise FactorSetError(f"background activity {activity.code!r} defined twice")
    factor_set.activities[activity.code] = activity


def _electricity_activity(factor_set: FactorSet, code: str, name: str, value: float, flow: str, relative_sd: float,
                          year: int, source: str, check: str, note: str = "") -> FactorChoice:
    """One kWh of electricity with one emission factor, as a background activity and as a citable choice."""
    _add(factor_set, BackgroundActivity(code, name, "kWh", (Exchange(value, flow=flow, relative_sd=relative_sd),),
                                        f"{source}; {note}" if note else source, check))
    return FactorChoice(code, year, value, source, note)


def _add_electricity(factor_set: FactorSet, data: dict[str, Any]) -> None:
    sources = data["sources"]
    grid_sd = data["uncertainty"]["grid_relative_sd"]
    tech_sd = data["uncertainty"]["technology_relative_sd"]

    for row in data["grid_co2"]:
        area, year = row.get("area", ""), row["year"]
        code = "-".join(filter(None, ["electricity-grid-co2", row["scope"], area.lower(), str(year)]))
        factor_set.grid_co2[(row["scope"], area, year)] = _electricity_activity(
            factor_set, code, " ".join(filter(None, ["electricity, grid, CO2 factor", row["scope"], area, str(year)])),
            row["kg_co2_per_kwh"], "co2_fossil", grid_sd, year, sources[row["source"]], row["check"])

    co2 = {(r["scope"], r["year"]): r["kg_co2_per_kwh"] for r in data["grid_co2"] if "area" not in r}
    co2_years = sorted({y for (s, y) in co2 if s == "national_residual" and ("national_average", y) in co2})
    for row in data["lifecycle_average"]:
        year, value, source = row["year"], row["kg_co2e_per_kwh"], sources[row["source"]]
        factor_set.lifecycle_average[year] = _electricity_activity(
            factor_set, f"electricity-lifecycle-average-{year}",
            f"electricity, grid, CN national average, life cycle {year}", value, "co2e_as_co2_fossil", grid_sd,
            year, source, row["check"])
        # residual_lc(Y) = lifecycle_average(Y) x national_residual(Yc) / national_average(Yc), Yc latest <= Y
        ratio_years = [y for y in co2_years if y <= year] or co2_years[:1]
        if not ratio_years:
            continue
        yc = ratio_years[-1]
        residual, average = co2[("national_residual", yc)], co2[("national_average", yc)]
        factor_set.residual[year] = _electricity_activity(
            factor_set, f"electricity-lifecycle-residual-{year}", f"electricity, grid, CN residual mix, life cycle {year}",
            value * residual / average, "co2e_as_co2_fossil", grid_sd, year, source, "derived",
            note=f"derived: {value} x {residual} / {average} (life-cycle average {year} x CO2 residual/average "
                 f"ratio {yc})")

    for row in data["technology_lifecycle"]:
        technology, year = row["technology"], row["year"]
        factor_set.technology[technology] = _electricity_activity(
            factor_set, f"electricity-lifecycle-{technology}-{year}", f"electricity, {technology}, life cycle {year}",
            row["kg_co2e_per_kwh"], "co2e_as_co2_fossil", tech_sd, year, sources[row["source"]], row["check"])

    latest = max(factor_set.lifecycle_average)
    # Alias used by background supply chains: the latest national life-cycle average of this set.
    _add(factor_set, BackgroundActivity(
        "electricity_grid_lifecycle", f"electricity, grid, CN national average (latest, {latest})", "kWh",
        (Exchange(1.0, input=factor_set.lifecycle_average[latest].activity),), "alias", "derived"))


def combustion_exchanges(fuel: dict[str, Any], non_co2: dict[str, Any], sector: str,
                         ncv: float | None = None, carbon_content: float | None = None,
                         oxidation: float | None = None) -> dict[str, float]:
    """kg of CO2, CH4 and N2O per unit of fuel burned (GB/T 32150-2015 eq.; IPCC 2006 Vol. 2 Tables 2.2/2.3)."""
    ncv = fuel["ncv_gj_per_unit"] if ncv is None else ncv
    carbon_content = fuel["carbon_content_tc_per_tj"] if carbon_content is None else carbon_content
    oxidation = fuel["oxidation"] if oxidation is None else oxidation
    tj = ncv / 1000.0
    gases = non_co2[fuel["family"]][sector]
    return {
        "co2_fossil": tj * carbon_content * oxidation * C_TO_CO2 * 1000.0,
        "ch4_fossil": tj * gases["ch4"],
        "n2o": tj * gases["n2o"],
    }


def _add_fuels(factor_set: FactorSet, data: dict[str, Any]) -> None:
    sources = data["sources"]
    for code, spec in data["supply"].items():
        _add_declared(factor_set, code, spec)
    for key, fuel in data["fuels"].items():
        for sector in ("energy", "industry"):
            exchanges = [Exchange(amount, flow=flow, relative_sd=0.05)
                         for flow, amount in combustion_exchanges(fuel, data["non_co2"], sector).items()]
            if fuel.get("supply"):
                exchanges.append(Exchange(1.0, input=fuel["supply"]))
            _add(factor_set, BackgroundActivity(
                f"{key}_combustion_{sector}", f"{fuel['label']}, supplied and burned ({sector})", fuel["unit"],
                tuple(exchanges), sources[fuel["source"]], fuel["check"]))


def _add_declared(factor_set: FactorSet, code: str, spec: dict[str, Any]) -> None:
    exchanges = tuple(
        Exchange(float(e["amount"]), flow=e.get("flow"), input=e.get("input"), relative_sd=float(e.get("relative_sd") or 0))
        for e in spec.get("exchanges", [])
    )
    source = factor_set.sources.get(spec["source"], spec["source"])
    _add(factor_set, BackgroundActivity(code, spec["label"], spec["unit"], exchanges, source, spec["check"]))


def _check_references(factor_set: FactorSet) -> None:
    for activity in factor_set.activities.values():
        for exchange in activity.exchanges:
            if (exchange.flow is None) == (exchange.input is None):
                raise FactorSetError(f"{activity.code}: an exchange needs exactly one of flow or input")
            if exchange.flow is not None and exchange.flow not in FLOWS:
                raise FactorSetError(f"{activity.code}: unknown flow {exchange.flow!r}")
            if exchange.input is not None and exchange.input not in factor_set.activities:
                raise FactorSetError(f"{activity.code}: unknown input {exchange.input!r}")
            if not math.isfinite(exchange.amount):
                raise FactorSetError(f"{activity.code}: amount is not finite")
