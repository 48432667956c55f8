"""From a validated inventory to the foreground of one footprint: exchanges with the background and direct
elementary flows, per declared unit, each tagged with the PCR item and life-cycle stage it comes from."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from lca_models.factor_set import FactorChoice, FactorSet, combustion_exchanges
from lca_models.flows import MEASURABLE_GAS_FLOWS
from lca_models.process_emissions import FormulaContext, evaluate
from pcr_rules.inventory import Inventory, InventoryItem
from pcr_rules.models import PCR, ItemKind, ItemSpec, Stage
from pcr_rules.units import conversion_factor
from pcr_rules.validation import item_amount_in_pcr_unit, production_in_declared_units

LOCATION, MARKET = "location_based", "market_based"
DEFAULT_DQR = {"primary": 2.0, "secondary": 3.0}


@dataclass(frozen=True)
class ForegroundExchange:
    item: str
    part: str  # input | supply | combustion | process | electricity | supplier_pcf | measured
    stage: Stage
    amount: float  # per declared unit, allocated
    activity: str | None = None  # background activity (technosphere)
    flow: str | None = None  # elementary flow key (biosphere)
    electricity_method: str | None = None  # LOCATION or MARKET for electricity exchanges, else None


@dataclass(frozen=True)
class CertificateUse:
    serial: str
    technology: str
    generation_month: str
    covered_kwh_per_declared_unit: float
    factor: FactorChoice


@dataclass
class ElectricityAccount:
    consumed_kwh: float = 0.0  # per declared unit
    covered_kwh: float = 0.0
    location_factor: FactorChoice | None = None
    residual_factor: FactorChoice | None = None
    certificates: list[CertificateUse] = field(default_factory=list)
    certificates_applied: bool = True
    note: str = ""


@dataclass(frozen=True)
class ItemQuality:
    dqr: float
    relative_sd: float
    data_source: str


@dataclass
class Foreground:
    exchanges: list[ForegroundExchange]
    production_declared_units: float
    allocation_method: str
    allocation_factor: float
    electricity: ElectricityAccount
    reported_electricity_method: str
    reference_year: int
    direct_basis: dict[str, str]  # gas -> calculated | measured (method)
    quality: dict[str, ItemQuality]
    data_gaps: list[str]
    indicators: dict[str, float]

    def for_method(self, electricity_method: str) -> list[ForegroundExchange]:
        """The exchanges of one electricity accounting method (location- or market-based)."""
        return [e for e in self.exchanges if e.electricity_method in (None, electricity_method)]


def reference_year(start: date, end: date) -> int:
    return (start + timedelta(days=(end - start).days // 2)).year


def build_foreground(inventory: Inventory, pcr: PCR, factor_set: FactorSet) -> Foreground:
    production = production_in_declared_units(inventory, pcr)
    allocation = _allocation_factor(inventory, pcr)
    scale = allocation / production
    year = reference_year(inventory.reference_period.start, inventory.reference_period.end)
    context = FormulaContext(factor_set.process, production)
    exchanges: list[ForegroundExchange] = []
    quality: dict[str, ItemQuality] = {}
    gaps: list[str] = []
    electricity_entries: list[tuple[InventoryItem, ItemSpec, float]] = []

    for entry in inventory.items:
        spec = pcr.item(entry.item)
        amount = item_amount_in_pcr_unit(entry, spec)
        quality[spec.id] = _quality(entry, pcr)
        if spec.kind is ItemKind.ELECTRICITY:
            electricity_entries.append((entry, spec, amount))
        elif spec.kind is ItemKind.INPUT:
            exchanges.extend(_input(entry, spec, amount * scale, factor_set))
        elif spec.kind is ItemKind.FUEL:
            exchanges.extend(_fuel(entry, spec, amount, scale, factor_set, gaps))
        else:
            exchanges.extend(_process(entry, spec, amount, scale, context))

    account = _electricity(inventory, pcr, factor_set, electricity_entries, scale, year)
    exchanges.extend(_electricity_exchanges(electricity_entries, account, scale))
    direct_basis = _apply_measurements(inventory, exchanges, scale, quality, pcr)
    indicators = {f"{spec.id}_per_declared_unit": amount / production for _, spec, amount in electricity_entries}
    clinker = next((i for i in inventory.items if i.item == "clinker"), None)
    if clinker is not None and pcr.product_category == "cement":
        indicators["clinker_to_cement_ratio"] = item_amount_in_pcr_unit(clinker, pcr.item("clinker")) / production
    return Foreground(
        exchanges=exchanges, production_declared_units=production, allocation_method=pcr.allocation.method,
        allocation_factor=allocation, electricity=account, reported_electricity_method=pcr.electricity.reported_method,
        reference_year=year, direct_basis=direct_basis, quality=quality, data_gaps=gaps, indicators=indicators,
    )


def _quality(entry: InventoryItem, pcr: PCR) -> ItemQuality:
    dqr = entry.data_quality.dqr if entry.data_quality else DEFAULT_DQR[entry.data_source]
    default_sd = (pcr.data_quality.default_primary_relative_sd if entry.data_source == "primary"
                  else pcr.data_quality.default_secondary_relative_sd)
    return ItemQuality(dqr, entry.relative_sd if entry.relative_sd is not None else default_sd, entry.data_source)


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


def _input(entry: InventoryItem, spec: ItemSpec, amount: float, factor_set: FactorSet):
    if entry.supplier_pcf_kg_co2e_per_unit is not None:
        # Supplier-specific footprint (primary upstream data) replaces the background activity.
        yield ForegroundExchange(spec.id, "supplier_pcf", spec.stage, amount * entry.supplier_pcf_kg_co2e_per_unit,
                                 flow="co2e_as_co2_fossil")
        return
    factor_set.activity(spec.activity)
    yield ForegroundExchange(spec.id, "input", spec.stage, amount, activity=spec.activity)


def _parameters(entry: InventoryItem, spec: ItemSpec) -> dict[str, float]:
    return {name: q.amount * conversion_factor(q.unit, spec.parameter(name).unit) for name, q in entry.parameters.items()}


def _fuel(entry, spec: ItemSpec, amount: float, scale: float, factor_set: FactorSet, gaps: list[str]):
    fuel = factor_set.fuel(spec.fuel)
    params = _parameters(entry, spec)
    per_unit = combustion_exchanges(fuel, factor_set.non_co2, spec.sector, params.get("ncv_gj_per_unit"),
                                    params.get("carbon_content_tc_per_tj"), params.get("oxidation"))
    for flow, kg in per_unit.items():
        yield ForegroundExchange(spec.id, "combustion", Stage.PRODUCTION, amount * kg * scale, flow=flow)
    if fuel.get("supply"):
        yield ForegroundExchange(spec.id, "supply", Stage.RAW_MATERIAL_ACQUISITION, amount * scale,
                                 activity=fuel["supply"])
    elif amount > 0:
        gaps.append(f"supply chain of {spec.fuel} ({spec.id}) is not modelled: no cited upstream factor "
                    f"in factor set {factor_set.id}")


def _process(entry, spec: ItemSpec, amount: float, scale: float, context: FormulaContext):
    flows = evaluate(spec.formula, amount, _parameters(entry, spec), spec.formula_config, context)
    for flow, kg in flows.items():
        yield ForegroundExchange(spec.id, "process", spec.stage, kg * scale, flow=flow)
    if spec.activity:
        yield ForegroundExchange(spec.id, "supply", Stage.RAW_MATERIAL_ACQUISITION, amount * scale,
                                 activity=spec.activity)


def _electricity(inventory: Inventory, pcr: PCR, factor_set: FactorSet, entries, scale: float,
                 year: int) -> ElectricityAccount:
    account = ElectricityAccount(
        consumed_kwh=sum(amount for *_, amount in entries) * scale,
        location_factor=factor_set.location_factor(year),
        residual_factor=factor_set.residual_factor(year),
    )
    if inventory.export_context == "cbam" and inventory.green_certificates:
        # EU CBAM accepts no certificates for indirect emissions (only a direct technical link or a PPA).
        account.certificates_applied = False
        account.note = "green certificates not applied: CBAM export context"
        return account
    for certificate in inventory.green_certificates:
        covered = certificate.amount_kwh * scale
        account.covered_kwh += covered
        account.certificates.append(CertificateUse(
            certificate.serial, certificate.technology, certificate.generation_month, covered,
            factor_set.technology_factor(certificate.technology)))
    return account


def _electricity_exchanges(entries, account: ElectricityAccount, scale: float):
    """Location-based: all kWh at the grid average. Market-based: kWh covered by retired certificates at the
    generation technology's factor, the rest at the residual factor. Uncovered kWh are shared over the
    electricity items in proportion to their consumption."""
    total = sum(amount for *_, amount in entries) * scale
    uncovered_share = 1.0 - (account.covered_kwh / total if total else 0.0)
    for _, spec, amount in entries:
        kwh = amount * scale
        yield ForegroundExchange(spec.id, "electricity", spec.stage, kwh,
                                 activity=account.location_factor.activity, electricity_method=LOCATION)
        yield ForegroundExchange(spec.id, "electricity", spec.stage, kwh * uncovered_share,
                                 activity=account.residual_factor.activity, electricity_method=MARKET)
        share = kwh / total if total else 0.0
        for use in account.certificates:
            yield ForegroundExchange(spec.id, "electricity", spec.stage, use.covered_kwh_per_declared_unit * share,
                                     activity=use.factor.activity, electricity_method=MARKET)


def _apply_measurements(inventory: Inventory, exchanges: list[ForegroundExchange], scale: float,
                        quality: dict[str, ItemQuality], pcr: PCR) -> dict[str, str]:
    """A measured gas (CEMS) replaces every calculated direct emission of that gas."""
    basis = {gas: "calculated" for gas in MEASURABLE_GAS_FLOWS}
    for measured in inventory.measured_emissions:
        flows = MEASURABLE_GAS_FLOWS[measured.gas]
        exchanges[:] = [e for e in exchanges
                        if not (e.flow in flows and e.part in ("combustion", "process"))]
        item = f"measured_{measured.gas}"
        kg = measured.amount * conversion_factor(measured.unit, "kg")
        exchanges.append(ForegroundExchange(item, "measured", Stage.PRODUCTION, kg * scale, flow=flows[0]))
        quality[item] = ItemQuality(1.5, measured.relative_sd if measured.relative_sd is not None
                                    else pcr.data_quality.default_primary_relative_sd, "primary")
        basis[measured.gas] = f"measured ({measured.method})"
    return basis
