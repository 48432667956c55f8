"""Checks of an inventory against its PCR. Every problem is reported with the field it concerns."""

from collections import Counter
from datetime import date

from pcr_rules.certificates import SerialProblem, SerialRange
from pcr_rules.errors import FieldError, InventoryInvalid
from pcr_rules.inventory import ChoiceValue, GreenCertificate, Inventory, InventoryItem, ParameterValue, Period
from pcr_rules.models import PCR, ItemKind, ItemSpec, ParameterSpec, Range
from pcr_rules.units import UnitProblem, conversion_factor


def problems(inventory: Inventory, pcr: PCR) -> list[FieldError]:
    """Every problem of the inventory against the PCR; empty when it satisfies it (a verifier's check list)."""
    return list(_problems(inventory, pcr))


def validate_inventory(inventory: Inventory, pcr: PCR) -> None:
    """Raise InventoryInvalid listing every problem; return None when the inventory satisfies the PCR."""
    errors = problems(inventory, pcr)
    if errors:
        raise InventoryInvalid(errors)


def production_in_declared_units(inventory: Inventory, pcr: PCR) -> float:
    factor = conversion_factor(inventory.production.unit, pcr.declared_unit.unit)
    return inventory.production.amount * factor / pcr.declared_unit.amount


def item_amount_in_pcr_unit(entry: InventoryItem, spec: ItemSpec) -> float:
    return entry.amount * conversion_factor(entry.unit, spec.unit)


def electricity_consumed_kwh(inventory: Inventory, pcr: PCR) -> float:
    total = 0.0
    for entry in inventory.items:
        spec = pcr.item(entry.item)
        if spec is not None and spec.kind is ItemKind.ELECTRICITY:
            total += entry.amount * conversion_factor(entry.unit, "kWh")
    return total


def certificate_window(period: Period, validity_months: int) -> tuple[str, str]:
    """Earliest and latest generation month a certificate may have to be used for this reference period.

    NEA GEC rules: a certificate is valid for `validity_months` from its generation month; it must still be
    valid at the start of the reference period and must not be generated after its end.
    """
    earliest = _add_months(period.start.replace(day=1), -(validity_months - 1))
    return f"{earliest:%Y-%m}", f"{period.end:%Y-%m}"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _problems(inventory: Inventory, pcr: PCR):
    if (inventory.pcr.id, inventory.pcr.version) != (pcr.id, pcr.version):
        yield FieldError(
            "pcr", f"inventory names {inventory.pcr.id}@{inventory.pcr.version}, checked against {pcr.ref}"
        )
    yield from _period_problems(inventory.reference_period, pcr)
    yield from _values_problems("parameters", inventory.parameters, pcr.parameters, f"the PCR {pcr.ref}")
    production_ok = True
    try:
        production = production_in_declared_units(inventory, pcr)
        if production <= 0:
            production_ok = False
            yield FieldError("production.amount", "must be greater than zero")
    except UnitProblem as exc:
        production_ok = False
        yield FieldError("production.unit", f"{exc} (declared unit is {pcr.declared_unit.unit})")
    yield from _item_problems(inventory, pcr, production if production_ok else None)
    yield from _co_product_problems(inventory, pcr)
    yield from _measured_problems(inventory, pcr)
    yield from _captive_problems(inventory, pcr)
    yield from _certificate_problems(inventory, pcr)


def _period_problems(period: Period, pcr: PCR):
    if period.end < period.start:
        yield FieldError("reference_period.end", "must not be before reference_period.start")
    elif period.days > pcr.max_reference_period_days:
        yield FieldError(
            "reference_period", f"spans {period.days} days; the PCR allows at most {pcr.max_reference_period_days}"
        )


def _item_problems(inventory: Inventory, pcr: PCR, production: float | None):
    counts = Counter(entry.item for entry in inventory.items)
    seen: set[str] = set()
    for index, entry in enumerate(inventory.items):
        loc = f"items[{index}]"
        spec = pcr.item(entry.item)
        if spec is None:
            yield FieldError(
                f"{loc}.item", f"{entry.item!r} is not an item of {pcr.ref}; known: {[i.id for i in pcr.items]}"
            )
            continue
        if entry.item in seen:
            yield FieldError(f"{loc}.item", f"{entry.item!r} is already listed; give each item once")
        seen.add(entry.item)
        try:
            amount = item_amount_in_pcr_unit(entry, spec)
        except UnitProblem as exc:
            yield FieldError(f"{loc}.unit", f"{exc} for {spec.label} (PCR unit {spec.unit})")
            continue
        if production and spec.plausible_per_declared_unit is not None:
            per_unit = amount / production
            if not spec.plausible_per_declared_unit.contains(per_unit):
                yield FieldError(
                    f"{loc}.amount",
                    f"{per_unit:.6g} {spec.unit} per {pcr.declared_unit.unit} of {spec.label} is outside the "
                    f"plausible range {spec.plausible_per_declared_unit} of {pcr.ref}",
                )
        if spec.primary_data_required and entry.data_source != "primary":
            yield FieldError(f"{loc}.data_source", f"{pcr.ref} requires primary (site-specific) data for {spec.label}")
        if entry.supplier_pcf_kg_co2e_per_unit is not None and spec.kind is not ItemKind.INPUT:
            yield FieldError(
                f"{loc}.supplier_pcf_kg_co2e_per_unit", "only purchased inputs can carry a supplier footprint"
            )
        yield from _values_problems(f"{loc}.parameters", entry.parameters, spec.parameters, spec.id)
    present = set(counts)
    for spec in pcr.items:
        if spec.required and spec.id not in present:
            yield FieldError("items", f"mandatory item {spec.id!r} ({spec.label}) is missing")


def _values_problems(loc: str, given: dict[str, ParameterValue], specs: list[ParameterSpec], owner: str):
    """Parameter values against their specs: known names, numbers in a convertible unit within the range, choices
    among the PCR's codes, required ones present."""
    by_id = {spec.id: spec for spec in specs}
    for name, value in given.items():
        parameter = by_id.get(name)
        if parameter is None:
            yield FieldError(f"{loc}.{name}", f"not a parameter of {owner}; known: {list(by_id)}")
            continue
        yield from _value_problems(f"{loc}.{name}", value, parameter)
    for parameter in specs:
        if parameter.required and parameter.id not in given:
            yield FieldError(f"{loc}.{parameter.id}", f"required by {owner}: {parameter.label}")


def _value_problems(loc: str, value: ParameterValue, parameter: ParameterSpec):
    codes = [c.value for c in parameter.choices]
    if parameter.is_choice:
        if not isinstance(value, ChoiceValue):
            yield FieldError(loc, f"{parameter.label} is a choice: give {{'choice': one of {codes}}}")
        elif parameter.choice(value.choice) is None:
            yield FieldError(
                f"{loc}.choice", f"{value.choice!r} is not a choice of {parameter.label}; choices: {codes}"
            )
        return
    if isinstance(value, ChoiceValue):
        yield FieldError(loc, f"{parameter.label} is a number: give an amount and its unit ({parameter.unit})")
        return
    try:
        amount = value.amount * conversion_factor(value.unit, parameter.unit)
    except UnitProblem as exc:
        yield FieldError(f"{loc}.unit", str(exc))
        return
    if parameter.range is not None and not parameter.range.contains(amount):
        yield FieldError(loc, f"{amount:.6g} {parameter.unit} is outside {parameter.range}")


def _co_product_problems(inventory: Inventory, pcr: PCR):
    if not inventory.co_products:
        return
    if pcr.allocation.method == "none":
        yield FieldError("co_products", f"{pcr.ref} does not allocate: {pcr.allocation.justification}")
        return
    for index, co_product in enumerate(inventory.co_products):
        loc = f"co_products[{index}]"
        if pcr.allocation.method == "mass":
            try:
                conversion_factor(co_product.unit, "kg")
            except UnitProblem as exc:
                yield FieldError(f"{loc}.unit", f"mass allocation needs a mass unit: {exc}")
        elif co_product.economic_value_cny is None:
            yield FieldError(f"{loc}.economic_value_cny", "economic allocation needs the co-product's value")
    if pcr.allocation.method == "economic" and inventory.main_product_value_cny is None:
        yield FieldError("main_product_value_cny", "economic allocation needs the main product's value")


def _measured_problems(inventory: Inventory, pcr: PCR):
    rule = pcr.measured_emissions
    unnamed = Counter(m.gas for m in inventory.measured_emissions if not m.covers)
    named = Counter(m.gas for m in inventory.measured_emissions if m.covers)
    listed = {entry.item for entry in inventory.items}
    covered: dict[tuple[str, str], int] = {}
    for index, measured in enumerate(inventory.measured_emissions):
        loc = f"measured_emissions[{index}]"
        if measured.gas not in rule.allowed_gases:
            yield FieldError(f"{loc}.gas", f"{pcr.ref} does not accept measured {measured.gas}")
        if measured.method not in rule.methods:
            yield FieldError(f"{loc}.method", f"accepted methods: {rule.methods}")
        if not measured.covers:
            if rule.require_sources:
                yield FieldError(
                    f"{loc}.covers",
                    f"{pcr.ref} requires a measurement to name the items its monitor "
                    f"sees (e.g. the kiln stack: clinker and the kiln fuels)",
                )
            elif unnamed[measured.gas] > 1 or named[measured.gas]:
                yield FieldError(
                    f"{loc}.gas",
                    f"{measured.gas} is measured more than once without naming the items each measurement covers",
                )
        for position, item_id in enumerate(measured.covers):
            spec = pcr.item(item_id)
            where = f"{loc}.covers[{position}]"
            if spec is None or spec.kind not in (ItemKind.FUEL, ItemKind.PROCESS):
                yield FieldError(where, f"{item_id!r} is not an item of {pcr.ref} with direct emissions")
            elif item_id not in listed:
                yield FieldError(where, f"{item_id!r} is not listed in the inventory's items")
            elif (measured.gas, item_id) in covered:
                yield FieldError(
                    where, f"{item_id} is already covered by measured_emissions[{covered[(measured.gas, item_id)]}]"
                )
            else:
                covered[(measured.gas, item_id)] = index
        try:
            conversion_factor(measured.unit, "kg")
        except UnitProblem as exc:
            yield FieldError(f"{loc}.unit", f"a measured emission is a mass: {exc}")


# Physical bounds of a fossil-fuelled generating unit (not PCR rules; beyond them the data is misreported):
# heat rate, GJ of fuel per net MWh: 6.0 (60 % efficient) .. 18.0 (20 %);
# carbon per unit heat, t C/TJ: IPCC 2006 Vol. 2 Table 1.3 defaults of fossil fuels span 14.4 (natural gas, lower
# bound) .. 30.9 (coke oven coke, upper bound), given with margin;
# stack CO2 per net MWh, t: 0.2 (the best gas combined cycle is ~0.33) .. 1.6 (a small subcritical coal unit ~1.2).
HEAT_RATE_GJ_PER_MWH = Range(min=6.0, max=18.0)
CARBON_TC_PER_TJ = Range(min=10.0, max=35.0)
STACK_T_CO2_PER_MWH = Range(min=0.2, max=1.6)
NET_BALANCE_TOLERANCE = 0.005


def _captive_problems(inventory: Inventory, pcr: PCR):
    captive = inventory.captive_power
    if captive is None:
        return
    fuels = pcr.electricity.captive_fuels
    if not fuels:
        yield FieldError("captive_power", f"{pcr.ref} does not describe captive power")
        return
    net_total = 0.0
    for index, unit in enumerate(captive.units):
        loc = f"captive_power.units[{index}]"
        net_total += unit.net_generation_mwh
        if unit.fuel not in fuels:
            yield FieldError(f"{loc}.fuel", f"{unit.fuel!r} is not a captive fuel of {pcr.ref}; known: {sorted(fuels)}")
            continue
        try:
            amount = unit.fuel_amount * conversion_factor(unit.fuel_unit, fuels[unit.fuel])
        except UnitProblem as exc:
            yield FieldError(f"{loc}.fuel_unit", f"{exc} (the factor set gives {unit.fuel} per {fuels[unit.fuel]})")
            continue
        expected = unit.gross_generation_mwh - unit.auxiliary_mwh
        if abs(unit.net_generation_mwh - expected) > NET_BALANCE_TOLERANCE * unit.gross_generation_mwh:
            yield FieldError(
                f"{loc}.net_generation_mwh",
                f"{unit.net_generation_mwh:,.0f} MWh is not gross {unit.gross_generation_mwh:,.0f} "
                f"less auxiliary {unit.auxiliary_mwh:,.0f} = {expected:,.0f} MWh",
            )
        if unit.ncv_gj_per_unit is not None:
            heat_rate = amount * unit.ncv_gj_per_unit / unit.net_generation_mwh
            if not HEAT_RATE_GJ_PER_MWH.contains(heat_rate):
                efficiency = f" (efficiency {3.6 / heat_rate:.0%})" if 0.01 < heat_rate < 1e4 else ""
                yield FieldError(
                    f"{loc}.fuel_amount",
                    f"{heat_rate:.4g} GJ of fuel per net MWh is outside "
                    f"{HEAT_RATE_GJ_PER_MWH}{efficiency}: fuel or generation "
                    f"misreported",
                )
        if unit.carbon_content_tc_per_tj is not None and not CARBON_TC_PER_TJ.contains(unit.carbon_content_tc_per_tj):
            yield FieldError(
                f"{loc}.carbon_content_tc_per_tj",
                f"{unit.carbon_content_tc_per_tj:.4g} t C/TJ is outside {CARBON_TC_PER_TJ}, the range "
                f"of fossil fuels (IPCC 2006 Vol. 2 Table 1.3)",
            )
        stack = unit.measured_co2_t / unit.net_generation_mwh if unit.measured_co2_t is not None else None
        if stack is not None and not STACK_T_CO2_PER_MWH.contains(stack):
            yield FieldError(
                f"{loc}.measured_co2_t",
                f"{stack:.4g} t CO2 per net MWh is outside {STACK_T_CO2_PER_MWH}, the range of fossil "
                f"generating units: CO2 or generation misreported",
            )
    if captive.supplied_mwh > net_total * (1 + 1e-9):
        yield FieldError(
            "captive_power.supplied_mwh",
            f"{captive.supplied_mwh:,.0f} MWh supplied is more than the units' net generation of {net_total:,.0f} MWh",
        )
    try:
        consumed_mwh = electricity_consumed_kwh(inventory, pcr) / 1000.0
    except UnitProblem:
        return
    if captive.supplied_mwh > consumed_mwh * (1 + 1e-9):
        yield FieldError(
            "captive_power.supplied_mwh",
            f"{captive.supplied_mwh:,.0f} MWh supplied is more than the "
            f"{consumed_mwh:,.0f} MWh of electricity consumed (items)",
        )


def _certificate_problems(inventory: Inventory, pcr: PCR):
    certificates = inventory.green_certificates
    if not certificates:
        return
    rule = pcr.electricity
    if not rule.gec_allowed:
        yield FieldError("green_certificates", f"{pcr.ref} does not apply green certificates")
        return
    earliest, latest = certificate_window(inventory.reference_period, rule.certificate_validity_months)
    batches: list[tuple[int, SerialRange]] = []
    for index, certificate in enumerate(certificates):
        loc = f"green_certificates[{index}]"
        try:
            batch = certificate.batch
        except SerialProblem as exc:
            yield FieldError(f"{loc}.serial_last" if certificate.serial_last else f"{loc}.serial", str(exc))
        else:
            if certificate.amount_mwh > batch.count:
                yield FieldError(
                    f"{loc}.amount_mwh",
                    f"{certificate.amount_mwh} MWh is more than the {batch.count} certificates of {batch}",
                )
            earlier = next((i for i, other in batches if other.overlaps(batch)), None)
            if earlier is not None:
                yield FieldError(
                    f"{loc}.serial",
                    f"{batch} overlaps green_certificates[{earlier}] "
                    f"({certificates[earlier].batch}); a certificate is retired once",
                )
            batches.append((index, batch))
        if certificate.technology not in rule.eligible_technologies:
            yield FieldError(
                f"{loc}.technology",
                f"{certificate.technology!r} is not eligible; eligible: {rule.eligible_technologies}",
            )
        if not earliest <= certificate.generation_month <= latest:
            yield FieldError(
                f"{loc}.generation_month",
                f"{certificate.generation_month} is outside {earliest}..{latest}, the window of certificates "
                f"valid ({rule.certificate_validity_months} months) for the reference period",
            )
    yield from _coverage_problems(inventory, pcr, certificates)


def _coverage_problems(inventory: Inventory, pcr: PCR, certificates: list[GreenCertificate]):
    try:
        consumed = electricity_consumed_kwh(inventory, pcr)
    except UnitProblem:
        return  # already reported on the item
    captive = inventory.captive_power.supplied_mwh * 1000.0 if inventory.captive_power else 0.0
    grid = consumed - captive
    covered = sum(c.amount_kwh for c in certificates)
    if covered > grid * (1 + 1e-9):
        yield FieldError(
            "green_certificates",
            f"certificates cover {covered:,.0f} kWh but only {grid:,.0f} kWh of grid electricity was consumed"
            + (f" ({consumed:,.0f} kWh less {captive:,.0f} kWh from captive units)" if captive else ""),
        )
