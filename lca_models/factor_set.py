"""The factor set: versioned, cited background data, read from YAML and turned into background activities.

Derived activities (fuel combustion, the residual electricity factor) are computed here by documented rules, so a
new year of grid factors or a new fuel is a data change only.
"""

import hashlib
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from lca_models.flows import FLOWS, split_biogenic
from lca_models.results import Explanation, explain, worded

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
    """Which published factor was used: carried into every result that depends on it. `notes` say how it was
    chosen or derived, each by its code and values (a page words them in its reader's language)."""

    activity: str
    year: int
    kg_co2e_per_kwh: float
    source: str
    notes: tuple[Explanation, ...] = ()
    level: str = "national"  # national | region | province
    area: str = ""  # the grid region or province of a regional or provincial factor

    @property
    def note(self) -> str:
        """The notes as one English sentence (as results store it)."""
        return worded(self.notes)


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
    # life-cycle factors of a grid region or province, derived per life-cycle year: (scope, area, year) -> choice
    area_lifecycle: dict[tuple[str, str, int], FactorChoice] = field(default_factory=dict)
    provinces: dict[str, dict[str, str]] = field(default_factory=dict)  # English name -> {zh, region}
    # activities whose supply chain uses grid electricity, copied per life-cycle factor year: (code, year) -> code
    by_year: dict[tuple[str, int], str] = field(default_factory=dict)
    digest: str = ""

    # --- electricity factor choices -------------------------------------------------------------------------
    def location_factor(
        self, year: int, province: str | None = None, grid_region: str | None = None, level: str = "national"
    ) -> FactorChoice:
        """The location-based life-cycle factor: the most specific one the PCR's `level` allows for the place
        (province, then grid region, then national), for the life-cycle year taken for `year`; the choice says
        which level was taken and, where a more specific one was wanted, why it was not."""
        national = _by_year(self.lifecycle_average, year, "life-cycle average electricity factor")
        if level == "national":
            return national
        wanted: list[tuple[str, str]] = []
        province_key = self.province_key(province) if province else None
        if level == "province" and province_key:
            wanted.append(("province", province_key))
        # the grid region the facility states wins over the province's usual one (eastern Inner Mongolia is on the
        # Northeast grid, the rest of the region on the North grid)
        region = self.region_key(grid_region) or (
            self.provinces.get(province_key, {}).get("region") if province_key else None
        )
        if region:
            wanted.append(("region", region))
        missed: list[Explanation] = []
        if province and not province_key:
            missed.append(explain("factor.unknown_province", province=province))
        for scope, area in wanted:
            choice = self.area_lifecycle.get((scope, area, national.year))
            if choice is not None:
                return replace(choice, notes=(*choice.notes, *missed)) if missed else choice
            missed.append(explain("factor.no_area_factor", scope=scope, area=area))
        if not wanted and not missed:
            missed.append(explain("factor.no_place"))
        return replace(national, notes=(*national.notes, *missed, explain("factor.national_taken")))

    def province_key(self, name: str | None) -> str | None:
        """The English name of a province as written in English or Chinese (with or without 省/市/自治区)."""
        if not name:
            return None
        wanted = name.strip().casefold()
        for key, spec in self.provinces.items():
            zh = spec.get("zh", "")
            if wanted in (key.casefold(), zh) or (zh and wanted.startswith(zh)):
                return key
        return None

    def region_key(self, name: str | None) -> str | None:
        if not name:
            return None
        regions = {a for (scope, a, _y) in self.grid_co2 if scope == "region"}
        return next((r for r in regions if r.casefold() == name.strip().casefold()), None)

    def for_year(self, code: str, year: int) -> str:
        """The copy of a background activity whose grid electricity is that of the life-cycle year taken for
        `year` (the factor years of one footprint agree); the activity itself where it uses no grid power."""
        factor_year = _by_year(self.lifecycle_average, year, "life-cycle average electricity factor").year
        return self.by_year.get((code, factor_year), code)

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
    chosen = table[_latest(list(table), year)]
    if chosen.year <= year:
        return chosen
    return FactorChoice(
        chosen.activity,
        chosen.year,
        chosen.kg_co2e_per_kwh,
        chosen.source,
        notes=(explain("factor.later_year_used", year=year, used=chosen.year),),
    )


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
    factor_set.provinces = electricity.get("provinces") or {}
    _add_electricity(factor_set, electricity)
    _add_fuels(factor_set, fuels)
    for section in (materials["materials"], transport["transport"]):
        for code, spec in section.items():
            _add_declared(factor_set, code, spec)
    _check_references(factor_set)
    _add_year_copies(factor_set)
    return factor_set


def _add(factor_set: FactorSet, activity: BackgroundActivity) -> None:
    if activity.code in factor_set.activities:
        raise FactorSetError(f"background activity {activity.code!r} defined twice")
    factor_set.activities[activity.code] = activity


def _electricity_activity(
    factor_set: FactorSet,
    code: str,
    name: str,
    value: float,
    flow: str,
    relative_sd: float,
    year: int,
    source: str,
    check: str,
    notes: tuple[Explanation, ...] = (),
    co2_part: float = 0.0,
    level: str = "national",
    area: str = "",
) -> FactorChoice:
    """One kWh of electricity with one emission factor, as a background activity and as a citable choice.

    A life-cycle factor is published in CO2e only; where the CO2 factor of the same grid is published too, that
    part is the combustion CO2 of the kWh (fossil CO2) and only the rest (upstream fuel chains, methane, plant
    construction) stays "CO2e not resolved by gas". The total is the published life-cycle factor either way.
    """
    exchanges = [Exchange(value - co2_part, flow=flow, relative_sd=relative_sd)]
    if co2_part:
        exchanges.insert(0, Exchange(co2_part, flow="co2_fossil", relative_sd=relative_sd))
    _add(
        factor_set,
        BackgroundActivity(
            code, name, "kWh", tuple(exchanges), f"{source}; {worded(notes)}" if notes else source, check
        ),
    )
    return FactorChoice(code, year, value, source, notes, level, area)


def _add_electricity(factor_set: FactorSet, data: dict[str, Any]) -> None:
    sources = data["sources"]
    grid_sd = data["uncertainty"]["grid_relative_sd"]
    tech_sd = data["uncertainty"]["technology_relative_sd"]

    for row in data["grid_co2"]:
        area, year = row.get("area", ""), row["year"]
        code = "-".join(filter(None, ["electricity-grid-co2", row["scope"], area.lower(), str(year)]))
        factor_set.grid_co2[(row["scope"], area, year)] = _electricity_activity(
            factor_set,
            code,
            " ".join(filter(None, ["electricity, grid, CO2 factor", row["scope"], area, str(year)])),
            row["kg_co2_per_kwh"],
            "co2_fossil",
            grid_sd,
            year,
            sources[row["source"]],
            row["check"],
        )

    co2 = {(r["scope"], r["year"]): r["kg_co2_per_kwh"] for r in data["grid_co2"] if "area" not in r}
    co2_years = sorted({y for (s, y) in co2 if s == "national_residual" and ("national_average", y) in co2})
    average_years = sorted(y for (s, y) in co2 if s == "national_average")
    for row in data["lifecycle_average"]:
        year, value, source = row["year"], row["kg_co2e_per_kwh"], sources[row["source"]]
        co2_year = _latest(average_years, year)
        factor_set.lifecycle_average[year] = _electricity_activity(
            factor_set,
            f"electricity-lifecycle-average-{year}",
            f"electricity, grid, CN national average, life cycle {year}",
            value,
            "co2e_as_co2_fossil",
            grid_sd,
            year,
            source,
            row["check"],
            co2_part=co2[("national_average", co2_year)] if co2_year else 0.0,
        )
        # residual_lc(Y) = lifecycle_average(Y) x national_residual(Yc) / national_average(Yc), Yc latest <= Y
        yc = _latest(co2_years, year)
        if yc is not None:
            residual, average = co2[("national_residual", yc)], co2[("national_average", yc)]
            factor_set.residual[year] = _electricity_activity(
                factor_set,
                f"electricity-lifecycle-residual-{year}",
                f"electricity, grid, CN residual mix, life cycle {year}",
                value * residual / average,
                "co2e_as_co2_fossil",
                grid_sd,
                year,
                source,
                "derived",
                notes=(
                    explain(
                        "factor.residual_derived",
                        lifecycle=value,
                        residual=residual,
                        average=average,
                        year=year,
                        co2_year=yc,
                    ),
                ),
                co2_part=residual,
            )
        _add_area_factors(factor_set, data, year, value, source, co2, grid_sd)

    for row in data["technology_lifecycle"]:
        technology, year = row["technology"], row["year"]
        factor_set.technology[technology] = _electricity_activity(
            factor_set,
            f"electricity-lifecycle-{technology}-{year}",
            f"electricity, {technology}, life cycle {year}",
            row["kg_co2e_per_kwh"],
            "co2e_as_co2_fossil",
            tech_sd,
            year,
            sources[row["source"]],
            row["check"],
        )

    latest = max(factor_set.lifecycle_average)
    # Alias used by background supply chains: the latest national life-cycle average of this set.
    _add(
        factor_set,
        BackgroundActivity(
            "electricity_grid_lifecycle",
            f"electricity, grid, CN national average (latest, {latest})",
            "kWh",
            (Exchange(1.0, input=factor_set.lifecycle_average[latest].activity),),
            "alias",
            "derived",
        ),
    )


def _latest(years: list[int], year: int) -> int | None:
    """The latest of `years` at or before `year`, else the earliest (factors lag the accounting year)."""
    earlier = [y for y in years if y <= year]
    return max(earlier) if earlier else (min(years) if years else None)


def _add_area_factors(
    factor_set: FactorSet,
    data: dict[str, Any],
    year: int,
    national_lc: float,
    source: str,
    national_co2: dict[tuple[str, int], float],
    grid_sd: float,
) -> None:
    """Life-cycle factors of grid regions and provinces for life-cycle year `year`. Only CO2 factors are published
    below the national level, so each is derived by the rule of the residual factor:
        lc_area(Y) = lc_national(Y) x co2_area(Yc) / co2_national_average(Yc),  Yc = latest area year <= Y
    which keeps the published life-cycle level and applies the published ratio of the area's grid to the nation's.
    """
    sources = data["sources"]
    rows: dict[tuple[str, str], list[dict]] = {}
    for row in data["grid_co2"]:
        if row["scope"] in ("region", "province"):
            rows.setdefault((row["scope"], row["area"]), []).append(row)
    for (scope, area), area_rows in sorted(rows.items()):
        by_year = {r["year"]: r for r in area_rows if ("national_average", r["year"]) in national_co2}
        yc = _latest(sorted(by_year), year)
        if yc is None:
            continue
        row = by_year[yc]
        area_co2, average = row["kg_co2_per_kwh"], national_co2[("national_average", yc)]
        derived = explain(
            "factor.area_derived",
            scope=scope,
            lifecycle=national_lc,
            area_co2=area_co2,
            average=average,
            year=year,
            area=area,
            co2_year=yc,
            check=row["check"],
        )
        lag = () if yc <= year else (explain("factor.area_co2_later_year", scope=scope, year=year, used=yc),)
        factor_set.area_lifecycle[(scope, area, year)] = _electricity_activity(
            factor_set,
            f"electricity-lifecycle-{scope}-{_slug(area)}-{year}",
            f"electricity, grid, {area} ({scope}), life cycle {year}",
            national_lc * area_co2 / average,
            "co2e_as_co2_fossil",
            grid_sd,
            year,
            f"{source}; {sources[row['source']]}",
            "derived" if row["check"] != "screening" else "screening",
            notes=(derived, *lag),
            co2_part=area_co2,
            level=scope,
            area=area,
        )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.casefold())


def _add_year_copies(factor_set: FactorSet) -> None:
    """Copies, per life-cycle factor year, of every activity whose supply chain uses grid electricity (through the
    alias `electricity_grid_lifecycle`), so that a footprint of reference year Y takes Y's factor in its whole
    supply chain and not the latest one."""
    alias = "electricity_grid_lifecycle"
    dependent = {alias}
    changed = True
    while changed:
        changed = False
        for activity in factor_set.activities.values():
            if activity.code not in dependent and any(e.input in dependent for e in activity.exchanges):
                dependent.add(activity.code)
                changed = True
    for year, choice in sorted(factor_set.lifecycle_average.items()):
        for code in sorted(dependent):
            factor_set.by_year[(code, year)] = f"{code}@{year}"
        for code in sorted(dependent):
            original = factor_set.activities[code]
            if code == alias:
                exchanges = (Exchange(1.0, input=choice.activity),)
                name = f"electricity, grid, CN national average ({year})"
            else:
                exchanges = tuple(
                    replace(e, input=factor_set.by_year.get((e.input, year), e.input)) for e in original.exchanges
                )
                name = f"{original.name} [grid electricity {year}]"
            _add(
                factor_set,
                BackgroundActivity(f"{code}@{year}", name, original.unit, exchanges, original.source, original.check),
            )


def combustion_exchanges(
    fuel: dict[str, Any],
    non_co2: dict[str, Any],
    sector: str,
    ncv: float | None = None,
    carbon_content: float | None = None,
    oxidation: float | None = None,
    biomass_fraction: float | None = None,
) -> dict[str, float]:
    """kg of CO2, CH4 and N2O per unit of fuel burned (GB/T 32150-2015 eq.; IPCC 2006 Vol. 2 Tables 2.2/2.3).

    The biomass share of the fuel's carbon (1 for wood, a measured fraction for mixed waste fuels) gives biogenic
    CO2 and CH4 instead of fossil (IPCC 2006 Vol. 2 Ch. 2.3.3.4); N2O counts whatever the carbon's origin."""
    ncv = fuel["ncv_gj_per_unit"] if ncv is None else ncv
    carbon_content = fuel["carbon_content_tc_per_tj"] if carbon_content is None else carbon_content
    oxidation = fuel["oxidation"] if oxidation is None else oxidation
    biomass = fuel.get("biomass_fraction", 0.0) if biomass_fraction is None else biomass_fraction
    tj = ncv / 1000.0
    gases = non_co2[fuel["family"]][sector]
    return split_biogenic(
        {
            "co2_fossil": tj * carbon_content * oxidation * C_TO_CO2 * 1000.0,
            "ch4_fossil": tj * gases["ch4"],
            "n2o": tj * gases["n2o"],
        },
        biomass,
    )


def _add_fuels(factor_set: FactorSet, data: dict[str, Any]) -> None:
    sources = data["sources"]
    for code, spec in data["supply"].items():
        _add_declared(factor_set, code, spec)
    for key, fuel in data["fuels"].items():
        for sector in ("energy", "industry"):
            exchanges = [
                Exchange(amount, flow=flow, relative_sd=0.05)
                for flow, amount in combustion_exchanges(fuel, data["non_co2"], sector).items()
                if amount
            ]
            if fuel.get("supply"):
                exchanges.append(Exchange(1.0, input=fuel["supply"]))
            _add(
                factor_set,
                BackgroundActivity(
                    f"{key}_combustion_{sector}",
                    f"{fuel['label']}, supplied and burned ({sector})",
                    fuel["unit"],
                    tuple(exchanges),
                    sources[fuel["source"]],
                    fuel["check"],
                ),
            )


def _add_declared(factor_set: FactorSet, code: str, spec: dict[str, Any]) -> None:
    exchanges = tuple(
        Exchange(
            float(e["amount"]), flow=e.get("flow"), input=e.get("input"), relative_sd=float(e.get("relative_sd") or 0)
        )
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
