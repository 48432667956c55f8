"""From a validated inventory to the foreground of one footprint: exchanges with the background and direct
elementary flows, per declared unit, each tagged with the PCR item and life-cycle stage it comes from."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

import numpy as np

from lca_models.factor_set import FactorChoice, FactorSet, combustion_exchanges
from lca_models.flows import MEASURABLE_GAS_FLOWS
from lca_models.process_emissions import FormulaContext, evaluate
from lca_models.results import Explanation, explain
from lca_models.supply import SupplierValue
from pcr_rules.inventory import Inventory, InventoryItem
from pcr_rules.models import PCR, BackgroundLink, ItemKind, ItemSpec, ParameterRef, Stage, link_factor
from pcr_rules.parameters import item_parameter_values, names_parameters, product_parameter_values, resolve_config
from pcr_rules.units import UnitProblem, conversion_factor
from pcr_rules.validation import item_amount_in_pcr_unit, production_in_declared_units

LOCATION, MARKET = "location_based", "market_based"
DEFAULT_DQR = {"primary": 2.0, "secondary": 3.0}


@dataclass(frozen=True)
class ForegroundExchange:
    item: str
    part: str  # input | supply | combustion | process | electricity | supplier | supplier_pcf | measured | default
    stage: Stage
    amount: float  # per declared unit, allocated
    activity: str | None = None  # background activity (technosphere)
    flow: str | None = None  # elementary flow key (biosphere)
    electricity_method: str | None = None  # LOCATION or MARKET for electricity exchanges, else None
    source: str | None = None  # part `supplier`: the supplier's value it comes from (SupplierValue.source)
    # an activity of an imported background database (a PCR item's `background`): `activity` is its code there
    database: str | None = None
    database_version: str | None = None

    @property
    def imported(self) -> bool:
        return self.database is not None


class PreparedPack(Protocol):
    """What the foreground needs of a prepared background database (lca_models.backgrounds.PreparedBackground)."""

    name: str
    version: str
    digest: str

    unit_scores: np.ndarray  # (4, n) lca_models.model.METHOD_ORDER
    gas_masses: np.ndarray  # (len(gases), n)
    gases: tuple[str, ...]
    gas_factors: np.ndarray

    def column(self, code: str) -> int | None: ...

    def activity(self, column: int): ...  # ActivityInfo: code, name, reference_product, location, unit


class BackgroundPacks(Protocol):
    """The prepared background databases of this deployment (lca_models.backgrounds.BackgroundLibrary)."""

    def current(self, name: str) -> PreparedPack | None: ...

    def get(self, name: str, version: str) -> PreparedPack | None: ...


@dataclass(frozen=True)
class CertificateUse:
    serial: str
    technology: str
    generation_month: str
    covered_kwh_per_declared_unit: float
    factor: FactorChoice


@dataclass
class ElectricityAccount:
    consumed_kwh: float = 0.0  # per declared unit, all sources
    covered_kwh: float = 0.0  # of the grid kWh, covered by retired certificates
    captive_kwh: float = 0.0  # from the plant's own generating units
    location_factor: FactorChoice | None = None
    residual_factor: FactorChoice | None = None
    certificates: list[CertificateUse] = field(default_factory=list)
    certificates_applied: bool = True
    location_rule: Explanation | None = None  # which level of factor the PCR asks for, for which place
    note: Explanation | None = None

    @property
    def grid_kwh(self) -> float:
        return self.consumed_kwh - self.captive_kwh


@dataclass(frozen=True)
class ItemQuality:
    """The data quality of one item's emissions, weighted by them in the footprint's (lca_models.summary)."""

    dqr: float
    relative_sd: float  # of the activity data (Monte Carlo)
    data_source: str  # primary | secondary | supplier
    # share of the item's emissions from primary data (None: all of it for primary data, none for secondary); a
    # supplier's value carries the supplier's own share (PACT v3 Methodology 4.2.2)
    primary_share: float | None = None
    # technological, geographical and temporal ratings (PACT `dqi`); None: each is `dqr`
    ratings: tuple[float, float, float] | None = None

    @property
    def primary(self) -> float:
        if self.primary_share is not None:
            return self.primary_share
        return 1.0 if self.data_source == "primary" else 0.0

    @property
    def representativeness(self) -> tuple[float, float, float]:
        return self.ratings or (self.dqr, self.dqr, self.dqr)


@dataclass
class Foreground:
    exchanges: list[ForegroundExchange]
    production_declared_units: float
    allocation_method: str
    allocation_factor: float
    electricity: ElectricityAccount
    reported_electricity_method: str
    reference_year: int
    direct_basis: dict[str, str]  # gas -> calculated | measured (method) | measured and calculated
    direct_basis_by_item: dict[str, dict[str, str]]  # item -> gas -> calculated | measured (method, source)
    quality: dict[str, ItemQuality]
    data_gaps: list[Explanation]
    indicators: dict[str, float]
    # the prepared background databases the imported exchanges take, by (name, version)
    backgrounds: dict[tuple[str, str], PreparedPack] = field(default_factory=dict)

    def for_method(self, electricity_method: str) -> list[ForegroundExchange]:
        """The exchanges of one electricity accounting method (location- or market-based)."""
        return [e for e in self.exchanges if e.electricity_method in (None, electricity_method)]


def reference_year(start: date, end: date) -> int:
    return (start + timedelta(days=(end - start).days // 2)).year


def build_foreground(
    inventory: Inventory,
    pcr: PCR,
    factor_set: FactorSet,
    suppliers: Mapping[int, SupplierValue] | None = None,
    packs: BackgroundPacks | None = None,
) -> Foreground:
    """`suppliers`: the resolved supplier values, by the index of their item in `inventory.items` (checked by the
    engine: one for each item that names a supplier, lca_models.supply.checked_suppliers). `packs`: the prepared
    background databases an item's `background` link may take (None: none is prepared, every link falls back)."""
    suppliers = suppliers or {}
    used: dict[tuple[str, str], PreparedPack] = {}
    # each database (and pinned version) is looked up once per footprint: a version activated meanwhile
    # cannot give two items of one footprint two versions of one database
    resolved: dict[tuple[str, str | None], PreparedPack | None] = {}
    production = production_in_declared_units(inventory, pcr)
    allocation = _allocation_factor(inventory, pcr)
    scale = allocation / production
    year = reference_year(inventory.reference_period.start, inventory.reference_period.end)
    context = FormulaContext(factor_set.process, production, factor_set.fuels, factor_set.non_co2)
    product_values = product_parameter_values(inventory, pcr)
    exchanges: list[ForegroundExchange] = []
    quality: dict[str, ItemQuality] = {}
    gaps: list[Explanation] = []
    electricity_entries: list[tuple[InventoryItem, ItemSpec, float]] = []

    for index, entry in enumerate(inventory.items):
        spec = pcr.item(entry.item)
        amount = item_amount_in_pcr_unit(entry, spec)
        supplier = suppliers.get(index)
        quality[spec.id] = _quality(entry, pcr) if supplier is None else _supplier_quality(entry, pcr, supplier)
        if spec.kind is ItemKind.ELECTRICITY:
            electricity_entries.append((entry, spec, amount))
        elif spec.kind is ItemKind.INPUT:
            linked = None
            if spec.background is not None and supplier is None and entry.supplier_pcf_kg_co2e_per_unit is None:
                linked = _linked(spec, amount * scale, factor_set, packs, used, resolved, gaps)  # supplier wins
            exchanges.extend(linked or _input(entry, spec, amount * scale, factor_set, year, supplier))
        elif spec.kind is ItemKind.FUEL:
            exchanges.extend(_fuel(entry, spec, amount, scale, factor_set, gaps, year))
        else:
            exchanges.extend(_process(entry, spec, amount, scale, context, factor_set, year, product_values))
    listed = {entry.item for entry in inventory.items}
    for spec in pcr.items:
        if spec.when_absent is not None and spec.id not in listed:
            exchanges.extend(_default_method(spec, production, scale, context, quality, gaps, product_values))

    account = _electricity(inventory, pcr, factor_set, electricity_entries, scale, year)
    exchanges.extend(_electricity_exchanges(electricity_entries, account, scale))
    if inventory.captive_power is not None:
        exchanges.extend(_captive(inventory, pcr, factor_set, scale, quality, gaps, year))
    direct_basis, by_item = _apply_measurements(inventory, exchanges, scale, quality, pcr, gaps)
    indicators = {f"{spec.id}_per_declared_unit": amount / production for _, spec, amount in electricity_entries}
    clinker = [entry for entry in inventory.items if entry.item in CLINKER_ITEMS]
    if clinker and pcr.product_category == "cement":
        # own and purchased clinker per t of cement (a grinding station's clinker is all purchased)
        indicators["clinker_to_cement_ratio"] = (
            sum(item_amount_in_pcr_unit(entry, pcr.item(entry.item)) for entry in clinker) / production
        )
    return Foreground(
        exchanges=exchanges,
        production_declared_units=production,
        allocation_method=pcr.allocation.method,
        allocation_factor=allocation,
        electricity=account,
        reported_electricity_method=pcr.electricity.reported_method,
        reference_year=year,
        direct_basis=direct_basis,
        direct_basis_by_item=by_item,
        quality=quality,
        data_gaps=gaps,
        indicators=indicators,
        backgrounds=used,
    )


CLINKER_ITEMS = ("clinker", "purchased_clinker")  # the cement PCRs' items of clinker made on site and bought


def _activity_sd(entry: InventoryItem, pcr: PCR) -> float:
    """The uncertainty of the item's amount: as stated, else the PCR's default for its data source."""
    if entry.relative_sd is not None:
        return entry.relative_sd
    if entry.data_source == "primary":
        return pcr.data_quality.default_primary_relative_sd
    return pcr.data_quality.default_secondary_relative_sd


def _quality(entry: InventoryItem, pcr: PCR) -> ItemQuality:
    rated = entry.data_quality
    dqr = rated.dqr if rated else DEFAULT_DQR[entry.data_source]
    ratings = (rated.technological, rated.geographical, rated.temporal) if rated else None
    return ItemQuality(dqr, _activity_sd(entry, pcr), entry.data_source, ratings=ratings)


def _supplier_quality(entry: InventoryItem, pcr: PCR, supplier: SupplierValue) -> ItemQuality:
    """A supplier's value: its rating and primary share are the supplier's (unknown: secondary), its uncertainty
    the item's activity data only (the value is fixed data; see lca_models.supply)."""
    dqr = supplier.dqr if supplier.dqr is not None else DEFAULT_DQR["secondary"]
    share = supplier.primary_data_share if supplier.primary_data_share is not None else 0.0
    return ItemQuality(dqr, _activity_sd(entry, pcr), "supplier", primary_share=share)


def _allocation_factor(inventory: Inventory, pcr: PCR) -> float:
    """Share of the burdens carried by the main product (GB/T 24067-2024 6.4.6)."""
    if not inventory.co_products or pcr.allocation.method == "none":
        return 1.0
    if pcr.allocation.method == "mass":
        main = inventory.production.amount * conversion_factor(inventory.production.unit, "kg")
        others = sum(c.amount * conversion_factor(c.unit, "kg") for c in inventory.co_products)
    else:
        main = inventory.main_product_value_cny
        others = sum(c.economic_value_cny for c in inventory.co_products)
    return main / (main + others)


def _input(
    entry: InventoryItem,
    spec: ItemSpec,
    amount: float,
    factor_set: FactorSet,
    year: int,
    supplier: SupplierValue | None = None,
):
    if supplier is not None:
        # A supplier's verified value (a label, a PACT footprint, a factor-database entry) replaces the background
        # activity; given in CO2e only, so it is not resolved by gas.
        yield ForegroundExchange(
            spec.id,
            "supplier",
            spec.stage,
            amount * supplier.kg_co2e_per_unit,
            flow="co2e_as_co2_fossil",
            source=supplier.source,
        )
        return
    if entry.supplier_pcf_kg_co2e_per_unit is not None:
        # A supplier footprint typed by the buyer (unverified) replaces the background activity.
        yield ForegroundExchange(
            spec.id, "supplier_pcf", spec.stage, amount * entry.supplier_pcf_kg_co2e_per_unit, flow="co2e_as_co2_fossil"
        )
        return
    factor_set.activity(spec.activity)
    yield ForegroundExchange(spec.id, "input", spec.stage, amount, activity=factor_set.for_year(spec.activity, year))


def _linked(
    spec: ItemSpec,
    amount: float,
    factor_set: FactorSet,
    packs: BackgroundPacks | None,
    used: dict[tuple[str, str], PreparedPack],
    resolved: dict[tuple[str, str | None], PreparedPack | None],
    gaps: list[Explanation],
) -> list[ForegroundExchange] | None:
    """An input item linked to an activity of an imported database: one exchange on that activity, its amount in the
    activity's unit, where the database (the pinned version, else the one in use) is prepared here and has the
    activity; else None (the item takes the factor set's activity) and the data gap that says why. A supplier's
    value, verified or typed, replaces both (the item never reaches here with one).

    A pack is data from disk, written by another process and possibly damaged (a truncated file, a `current.json`
    that is no JSON object, arrays shorter than the activity list, values that are not finite, a manifest naming
    another database): such a pack counts as not prepared here, so the footprint falls back with its data gap
    rather than failing or carrying a wrong number."""
    link = spec.background
    key = (link.database, link.version)
    if key not in resolved:
        resolved[key] = _usable_pack(packs, link)
    pack = resolved[key]
    column = _usable_column(pack, link.activity) if pack is not None else None
    if column == _DAMAGED:  # this activity's numbers cannot be read: as if the database were not prepared
        pack = column = None
    if pack is None or column is None:
        gaps.append(_unavailable(spec, link, factor_set, pack))
        return None
    activity = pack.activity(column)
    try:
        factor = link_factor(spec.unit, activity.unit)
    except (UnitProblem, AttributeError, TypeError):  # AttributeError/TypeError: a unit that is no text
        factor = None
    if factor is None or not math.isfinite(factor) or factor <= 0:
        gaps.append(
            explain(
                "gap.background_unit",
                item=spec.id,
                database=pack.name,
                version=pack.version,
                activity=link.activity,
                unit=str(activity.unit)[:64],
                item_unit=spec.unit,
                fallback=spec.activity,
            )
        )
        return None
    used[(pack.name, pack.version)] = pack
    return [
        ForegroundExchange(
            spec.id,
            "input",
            spec.stage,
            amount * factor,
            activity=link.activity,
            database=pack.name,
            database_version=pack.version,
        )
    ]


# what reading a damaged pack raises: JSON that does not parse or is of another shape, a file cut short, a version
# the library refuses as a directory name
_PACK_FAULTS = (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError)
_DAMAGED = -1  # `_usable_column`: the pack cannot be read


def _usable_pack(packs: BackgroundPacks | None, link: BackgroundLink) -> PreparedPack | None:
    """The pack the link takes, or None when it is not prepared here or is not the pack the link names."""
    if packs is None:
        return None
    try:
        pack = packs.get(link.database, link.version) if link.version else packs.current(link.database)
        if pack is None:
            return None
        named = (pack.name, pack.version, pack.digest)
        arrays = (pack.unit_scores, pack.gas_masses, pack.gases, pack.gas_factors)
    except _PACK_FAULTS:
        return None
    if not all(isinstance(part, str) and part for part in named):
        return None
    if named[0] != link.database or (link.version is not None and named[1] != link.version):
        return None  # a manifest naming another database or version than the link: another pack's numbers
    path = getattr(pack, "path", None)
    if path is not None and (path.parent.name, path.name) != named[:2]:
        return None  # nor another directory than its own (the version in use of one name, pinned by another link)
    unit_scores, gas_masses, gases, gas_factors = arrays
    n = unit_scores.shape[1] if getattr(unit_scores, "ndim", 0) == 2 else -1
    if (
        unit_scores.shape[0] != 4
        or getattr(gas_masses, "shape", ()) != (len(gases), n)
        or len(gas_factors) != len(gases)
        or not np.isfinite(gas_factors).all()
    ):
        return None
    return pack


def _usable_column(pack: PreparedPack, code: str) -> int | None:
    """The activity's column; None when the pack has no such activity, `_DAMAGED` when the pack cannot be read or
    its numbers for the activity are not finite."""
    try:
        column = pack.column(code)
        if column is None:
            return None
        if not isinstance(column, int) or not 0 <= column < pack.unit_scores.shape[1]:
            return _DAMAGED
        numbers = (pack.unit_scores[:, column], pack.gas_masses[:, column])
        named = isinstance(pack.activity(column).name, str)  # results print it (top processes)
    except _PACK_FAULTS:
        return _DAMAGED
    return column if named and all(np.isfinite(part).all() for part in numbers) else _DAMAGED


def _unavailable(spec: ItemSpec, link: BackgroundLink, factor_set: FactorSet, pack) -> Explanation:
    if pack is not None:  # the database is prepared, without this activity
        return explain(
            "gap.background_activity_missing",
            item=spec.id,
            database=pack.name,
            version=pack.version,
            activity=link.activity,
            fallback=spec.activity,
            factor_set=factor_set.id,
        )
    return explain(
        "gap.background_unavailable",
        item=spec.id,
        database=link.database if not link.version else f"{link.database} {link.version}",
        activity=link.activity,
        fallback=spec.activity,
        factor_set=factor_set.id,
    )


def _fuel(
    entry, spec: ItemSpec, amount: float, scale: float, factor_set: FactorSet, gaps: list[Explanation], year: int
):
    fuel = factor_set.fuel(spec.fuel)
    params = item_parameter_values(entry, spec)
    per_unit = combustion_exchanges(
        fuel,
        factor_set.non_co2,
        spec.sector,
        params.get("ncv_gj_per_unit"),
        params.get("carbon_content_tc_per_tj"),
        params.get("oxidation"),
        params.get("biomass_fraction"),
    )
    for flow, kg in per_unit.items():
        yield ForegroundExchange(spec.id, "combustion", Stage.PRODUCTION, amount * kg * scale, flow=flow)
    yield from _fuel_supply(spec.id, spec.fuel, fuel, amount * scale, factor_set, gaps, year)


def _fuel_supply(
    item: str, key: str, fuel: dict, amount: float, factor_set: FactorSet, gaps: list[Explanation], year: int
):
    if fuel.get("supply"):
        yield ForegroundExchange(
            item, "supply", Stage.RAW_MATERIAL_ACQUISITION, amount, activity=factor_set.for_year(fuel["supply"], year)
        )
    elif amount > 0:
        gaps.append(explain("gap.fuel_supply", fuel=key, fuel_label=fuel["label"], item=item, factor_set=factor_set.id))


def _process(
    entry,
    spec: ItemSpec,
    amount: float,
    scale: float,
    context: FormulaContext,
    factor_set: FactorSet,
    year: int,
    product_values: dict[str, float | str],
):
    params = item_parameter_values(entry, spec)
    config = resolve_config(spec.formula_config, params, product_values)
    flows = evaluate(spec.formula, amount, params, config, context)
    for flow, kg in flows.items():
        yield ForegroundExchange(spec.id, "process", spec.stage, kg * scale, flow=flow)
    if spec.activity:
        yield ForegroundExchange(
            spec.id,
            "supply",
            Stage.RAW_MATERIAL_ACQUISITION,
            amount * scale,
            activity=factor_set.for_year(spec.activity, year),
        )


def _default_method(
    spec: ItemSpec,
    production: float,
    scale: float,
    context: FormulaContext,
    quality: dict[str, ItemQuality],
    gaps: list[Explanation],
    product_values: dict[str, float | str],
):
    """An optional item that is not given takes the PCR's default method (e.g. IPCC Tier 1 PFC per cell technology
    where no anode-effect data exists), with the default's worse data quality. Settings that name a parameter take
    the inventory's value (e.g. its pot-cell technology), else the PCR's default; the gap names what was taken."""
    default = spec.when_absent
    params = item_parameter_values(None, spec)
    config = resolve_config(default.formula_config, params, product_values)
    flows = evaluate(default.formula, production, params, config, context)
    quality[spec.id] = ItemQuality(default.dqr, default.relative_sd, "secondary")
    gaps.append(_default_gap(spec, config))
    for flow, kg in flows.items():
        yield ForegroundExchange(spec.id, "default", spec.stage, kg * scale, flow=flow)


def _default_gap(spec: ItemSpec, config: dict[str, float | str]) -> Explanation:
    """The data gap of an item taken by the PCR's default method; where settings name a parameter, what they took
    (`parameters`: 'parameter=value', the parameter's id and the value's code)."""
    default = spec.when_absent
    if not names_parameters(default.formula_config):
        return explain("gap.default_method", item=spec.id, note=default.note, dqr=default.dqr)
    taken = [
        f"{setting.parameter}={config[key]}"
        for key, setting in sorted(default.formula_config.items())
        if isinstance(setting, ParameterRef)
    ]
    return explain(
        "gap.default_method_settings",
        item=spec.id,
        note=default.note,
        dqr=default.dqr,
        settings=", ".join(f"{key} = {value}" for key, value in sorted(config.items())),
        parameters=taken,
    )


def _location_rule(pcr: PCR, level: str, province: str, grid_region: str | None) -> Explanation:
    """Which location-based factor the PCR asks for, for which place."""
    if level == "national":
        return explain("rule.location_national", pcr=pcr.ref)
    if grid_region:
        return explain("rule.location_area_grid", pcr=pcr.ref, level=level, province=province, grid_region=grid_region)
    return explain("rule.location_area", pcr=pcr.ref, level=level, province=province)


def _electricity(
    inventory: Inventory, pcr: PCR, factor_set: FactorSet, entries, scale: float, year: int
) -> ElectricityAccount:
    level, facility = pcr.electricity.location_level, inventory.facility
    account = ElectricityAccount(
        consumed_kwh=sum(amount for *_, amount in entries) * scale,
        captive_kwh=inventory.captive_power.supplied_mwh * 1000.0 * scale if inventory.captive_power else 0.0,
        location_factor=factor_set.location_factor(year, facility.province, facility.grid_region, level),
        residual_factor=factor_set.residual_factor(year),
        location_rule=_location_rule(pcr, level, facility.province, facility.grid_region),
    )
    if inventory.export_context == "cbam" and inventory.green_certificates:
        # EU CBAM accepts no certificates for indirect emissions (only a direct technical link or a PPA).
        account.certificates_applied = False
        account.note = explain("electricity.cbam_no_certificates")
        return account
    for certificate in inventory.green_certificates:
        covered = certificate.amount_kwh * scale
        account.covered_kwh += covered
        account.certificates.append(
            CertificateUse(
                certificate.serial,
                certificate.technology,
                certificate.generation_month,
                covered,
                factor_set.technology_factor(certificate.technology),
            )
        )
    return account


def _electricity_exchanges(entries, account: ElectricityAccount, scale: float):
    """Grid kWh (consumption less the captive supply). Location-based: all grid kWh at the location factor.
    Market-based: grid kWh covered by retired certificates at the generation technology's factor, the rest at the
    residual factor. Grid and covered kWh are shared over the electricity items in proportion to their
    consumption; the captive kWh are accounted by `_captive`, the same in both methods."""
    total = sum(amount for *_, amount in entries) * scale
    grid_share = account.grid_kwh / total if total else 0.0
    uncovered_share = (account.grid_kwh - account.covered_kwh) / total if total else 0.0
    for _, spec, amount in entries:
        kwh = amount * scale
        yield ForegroundExchange(
            spec.id,
            "electricity",
            spec.stage,
            kwh * grid_share,
            activity=account.location_factor.activity,
            electricity_method=LOCATION,
        )
        yield ForegroundExchange(
            spec.id,
            "electricity",
            spec.stage,
            kwh * uncovered_share,
            activity=account.residual_factor.activity,
            electricity_method=MARKET,
        )
        share = kwh / total if total else 0.0
        for use in account.certificates:
            yield ForegroundExchange(
                spec.id,
                "electricity",
                spec.stage,
                use.covered_kwh_per_declared_unit * share,
                activity=use.factor.activity,
                electricity_method=MARKET,
            )


CAPTIVE = "captive_power"


def _captive(
    inventory: Inventory,
    pcr: PCR,
    factor_set: FactorSet,
    scale: float,
    quality: dict[str, ItemQuality],
    gaps: list[Explanation],
    year: int,
):
    """The plant's own units: their combustion (or stack-measured CO2) and fuel supply chains, times the share of
    their net generation this product's process consumed. Per unit u and declared unit:
        share = supplied MWh / sum of the units' net MWh;   flow_u = fuel_u x factor x share x scale
    so the product carries the units' footprint per net kWh for each captive kWh (auxiliary consumption is inside
    the units' footprint, as net generation is what they deliver)."""
    captive = inventory.captive_power
    net_total = sum(u.net_generation_mwh for u in captive.units)
    share = captive.supplied_mwh / net_total if net_total else 0.0
    sds, dqrs = [], []
    for unit in captive.units:
        fuel = factor_set.fuel(unit.fuel)
        amount = unit.fuel_amount * conversion_factor(unit.fuel_unit, pcr.electricity.captive_fuels[unit.fuel])
        per_unit = combustion_exchanges(
            fuel, factor_set.non_co2, "energy", unit.ncv_gj_per_unit, unit.carbon_content_tc_per_tj, unit.oxidation
        )
        if unit.measured_co2_t is not None:
            per_unit.pop("co2_fossil")
            yield ForegroundExchange(
                CAPTIVE, "measured", Stage.PRODUCTION, unit.measured_co2_t * 1000.0 * share * scale, flow="co2_fossil"
            )
        for flow, kg in per_unit.items():
            yield ForegroundExchange(CAPTIVE, "combustion", Stage.PRODUCTION, amount * kg * share * scale, flow=flow)
        yield from _fuel_supply(CAPTIVE, unit.fuel, fuel, amount * share * scale, factor_set, gaps, year)
        dqrs.append(unit.data_quality.dqr if unit.data_quality else DEFAULT_DQR[unit.data_source])
        sds.append(
            pcr.data_quality.default_primary_relative_sd
            if unit.data_source == "primary"
            else pcr.data_quality.default_secondary_relative_sd
        )
    worst = max(range(len(dqrs)), key=dqrs.__getitem__)
    quality[CAPTIVE] = ItemQuality(dqrs[worst], sds[worst], captive.units[worst].data_source)


DIRECT_PARTS = ("combustion", "process", "default")


def _apply_measurements(
    inventory: Inventory,
    exchanges: list[ForegroundExchange],
    scale: float,
    quality: dict[str, ItemQuality],
    pcr: PCR,
    gaps: list[Explanation],
):
    """A measured gas replaces the calculated direct emissions of that gas of the items its monitor covers (all
    items where the measurement names none); the other items stay calculated. Returns the basis per gas and, per
    item with direct emissions, per gas."""
    by_item, how = _calculated_basis(exchanges)
    for index, measured in enumerate(inventory.measured_emissions):
        label = ", ".join(filter(None, [measured.method, measured.source]))
        how[measured.gas].add(label)
        item = f"measured_{measured.gas}" if not measured.covers else f"measured_{measured.gas}_{index + 1}"
        replaced = _replace_by_measurement(exchanges, measured, item, scale)
        quality[item] = ItemQuality(
            1.5,
            measured.relative_sd if measured.relative_sd is not None else pcr.data_quality.default_primary_relative_sd,
            "primary",
        )
        for replaced_item in replaced:
            by_item.setdefault(replaced_item, {})[measured.gas] = f"measured ({label}: {item})"
        if not measured.covers:
            gaps.append(explain("gap.measured_everywhere", gas=measured.gas, label=label, items=replaced))
    return _basis_per_gas(by_item, how), dict(sorted(by_item.items()))


def _measured_gas(exchange: ForegroundExchange) -> str | None:
    """The measurable gas of a direct emission (or of a captive unit's stack CEMS), else None."""
    if exchange.activity is not None or exchange.part not in (*DIRECT_PARTS, "measured") or not exchange.amount:
        return None
    return next((g for g, flows in MEASURABLE_GAS_FLOWS.items() if exchange.flow in flows), None)


def _calculated_basis(exchanges: list[ForegroundExchange]) -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
    """Before any inventory measurement: per item and gas, calculated or measured by a captive unit's CEMS (or
    both, for an item with monitored and unmonitored units); per gas, the measurements behind it."""
    by_item: dict[str, dict[str, str]] = {}
    how: dict[str, set[str]] = {gas: set() for gas in MEASURABLE_GAS_FLOWS}
    for exchange in exchanges:
        gas = _measured_gas(exchange)
        if gas is None:
            continue
        kind = "calculated"
        if exchange.part == "measured":  # a captive unit's stack CEMS
            kind = "measured (CEMS of the unit)"
            how[gas].add("CEMS of the captive units")
        gases = by_item.setdefault(exchange.item, {})
        if gases.get(gas, kind) != kind:  # units of one item, some monitored, some not
            kind = "measured (CEMS of the unit) and calculated"
        gases[gas] = kind
    return by_item, how


def _replace_by_measurement(exchanges: list[ForegroundExchange], measured, item: str, scale: float) -> list[str]:
    """Remove the calculated direct emissions of the measured gas of the items the monitor covers (captive units
    keep their own basis), add the measured amount as one exchange; returns the items replaced."""
    flows = MEASURABLE_GAS_FLOWS[measured.gas]
    seen = set(measured.covers) or {e.item for e in exchanges}
    replaced = sorted({e.item for e in exchanges if _calculated(e, flows) and e.item in seen and e.item != CAPTIVE})
    exchanges[:] = [e for e in exchanges if not (_calculated(e, flows) and e.item in replaced)]
    kg = measured.amount * conversion_factor(measured.unit, "kg")
    exchanges.append(ForegroundExchange(item, "measured", Stage.PRODUCTION, kg * scale, flow=flows[0]))
    return replaced


def _calculated(exchange: ForegroundExchange, flows: tuple[str, ...]) -> bool:
    return exchange.flow in flows and exchange.part in DIRECT_PARTS


def _basis_per_gas(by_item: dict[str, dict[str, str]], how: dict[str, set[str]]) -> dict[str, str]:
    basis: dict[str, str] = {}
    for gas in MEASURABLE_GAS_FLOWS:
        calculated = any(gases.get(gas, "").endswith("calculated") for gases in by_item.values())
        label = f"measured ({'; '.join(sorted(how[gas]))})"
        basis[gas] = f"{label} and calculated" if how[gas] and calculated else label if how[gas] else "calculated"
    return basis
