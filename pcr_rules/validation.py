"""Checks of an inventory against its PCR. Every problem is reported with the field it concerns, a code and the
values it is about (`FieldError.code`, `.params`: messages `validation.*` of the catalogue word it in the reader's
language; the message itself is the English wording the JSON API answers with)."""

from collections import Counter
from datetime import date

from pcr_rules.certificates import SerialProblem, SerialRange, split_serial
from pcr_rules.errors import FieldError, InventoryInvalid
from pcr_rules.inventory import ChoiceValue, GreenCertificate, Inventory, InventoryItem, ParameterValue, Period
from pcr_rules.models import PCR, ItemKind, ItemSpec, ParameterSpec, Range
from pcr_rules.units import UnitProblem, conversion_factor, is_fraction, same_kind

MAX_SERIAL_DIGITS = 18  # pcr_rules.certificates counts a trailing number of at most 18 digits
# the kinds of supplier source an item may name, for messages: English and Chinese names
SUPPLIER_KINDS = {
    "label": ("carbon label", "碳标签"),
    "pact": ("PACT product footprint", "PACT 产品碳足迹"),
    "release": ("factor-database release", "因子数据库版本"),
}


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


# --- the parts of a problem ------------------------------------------------------------------------------------------


def _error(loc: str, code: str, message: str, **params) -> FieldError:
    return FieldError(loc, message, f"validation.{code}", params)


def _unit_error(loc: str, exc: UnitProblem, context: str, **params) -> FieldError:
    """A unit pint does not know or cannot convert, with what it was given for (`context`, English)."""
    return FieldError(loc, f"{exc}{context}", exc.code, {**exc.params, **params})


def _named(spec: ItemSpec | ParameterSpec, as_: str) -> dict[str, str]:
    """An item's or a parameter's names for a message: English, Chinese (the English one where the PCR has none)
    and its id."""
    return {as_: spec.label, f"{as_}_zh": spec.label_zh or spec.label, f"{as_}_id": spec.id}


def span(bounds: Range | None) -> str:
    """A range as people write it, in any language: '0.55–0.72', '≤ 1.5', '≥ 20'."""
    if bounds is None or (bounds.min is None and bounds.max is None):
        return ""
    if bounds.min is None:
        return f"≤ {bounds.max:g}"
    return f"≥ {bounds.min:g}" if bounds.max is None else f"{bounds.min:g}–{bounds.max:g}"


def _percent_span(bounds: Range) -> str:
    return span(Range(min=_percent(bounds.min), max=_percent(bounds.max)))


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 9)


# --- the checks ------------------------------------------------------------------------------------------------------


def _problems(inventory: Inventory, pcr: PCR):
    if (inventory.pcr.id, inventory.pcr.version) != (pcr.id, pcr.version):
        given = f"{inventory.pcr.id}@{inventory.pcr.version}"
        yield _error(
            "pcr", "pcr_mismatch", f"inventory names {given}, checked against {pcr.ref}", given=given, pcr=pcr.ref
        )
    yield from _period_problems(inventory.reference_period, pcr)
    yield from _values_problems("parameters", inventory.parameters, pcr.parameters, pcr.ref)
    production_ok = True
    try:
        production = production_in_declared_units(inventory, pcr)
        if production <= 0:
            production_ok = False
            yield _error("production.amount", "production_not_positive", "must be greater than zero")
    except UnitProblem as exc:
        production_ok = False
        unit = pcr.declared_unit.unit
        yield _unit_error("production.unit", exc, f" (declared unit is {unit})", expected_unit=unit)
    yield from _item_problems(inventory, pcr, production if production_ok else None)
    yield from _co_product_problems(inventory, pcr)
    yield from _measured_problems(inventory, pcr)
    yield from _captive_problems(inventory, pcr)
    yield from _certificate_problems(inventory, pcr)


def _period_problems(period: Period, pcr: PCR):
    if period.end < period.start:
        yield _error("reference_period.end", "period_order", "must not be before reference_period.start")
    elif period.days > pcr.max_reference_period_days:
        most = pcr.max_reference_period_days
        yield _error(
            "reference_period",
            "period_too_long",
            f"spans {period.days} days; the PCR allows at most {most}",
            days=period.days,
            max_days=most,
        )


def _factor(given: str, expected: str) -> float:
    """The conversion of a unit to the PCR's; UnitProblem also for a unit pint converts that measures something
    else (hours per day are no mass fraction, though both are ratios to pint)."""
    factor = conversion_factor(given, expected)
    if not same_kind(given, expected):
        raise UnitProblem(
            f"unit {given!r} measures another quantity than {expected!r}",
            "validation.unit_kind",
            unit=given,
            expected_unit=expected,
        )
    return factor


def _item_problems(inventory: Inventory, pcr: PCR, production: float | None):
    counts = Counter(entry.item for entry in inventory.items)
    seen: set[str] = set()
    for index, entry in enumerate(inventory.items):
        loc = f"items[{index}]"
        spec = pcr.item(entry.item)
        if spec is None:
            known = [i.id for i in pcr.items]
            yield _error(
                f"{loc}.item",
                "unknown_item",
                f"{entry.item!r} is not an item of {pcr.ref}; known: {known}",
                item_id=entry.item,
                pcr=pcr.ref,
                known=known,
            )
            continue
        if entry.item in seen:
            yield _error(
                f"{loc}.item",
                "duplicate_item",
                f"{entry.item!r} is already listed; give each item once",
                **_named(spec, "item"),
            )
        seen.add(entry.item)
        yield from _one_item_problems(loc, entry, spec, pcr, production)
    present = set(counts)
    for spec in pcr.items:
        if spec.required and spec.id not in present:
            yield _error(
                "items", "missing_item", f"mandatory item {spec.id!r} ({spec.label}) is missing", **_named(spec, "item")
            )
    yield from _rules_between_items(present, pcr)


def _rules_between_items(present: set[str], pcr: PCR):
    """Items required together (`required_with`: the kiln's coal where the plant makes its own clinker) and groups
    of which one is given (`require_one_of`: own clinker or purchased clinker)."""
    for spec in pcr.items:
        given = [pcr.item(other) for other in spec.required_with if other in present]
        if given and spec.id not in present:
            yield _error(
                "items",
                "required_with",
                f"item {spec.id!r} ({spec.label}) is required where {', '.join(g.label for g in given)} is given",
                **_named(spec, "item"),
                given=[g.label for g in given],
                given_zh=[g.label_zh or g.label for g in given],
            )
    for group in pcr.require_one_of:
        if present.isdisjoint(group):
            specs = [pcr.item(item_id) for item_id in group]
            yield _error(
                "items",
                "missing_one_of",
                f"give at least one of {', '.join(f'{s.id!r} ({s.label})' for s in specs)}",
                items=[s.label for s in specs],
                items_zh=[s.label_zh or s.label for s in specs],
                item_ids=list(group),
            )


def _one_item_problems(loc: str, entry: InventoryItem, spec: ItemSpec, pcr: PCR, production: float | None):
    named = _named(spec, "item")
    try:
        amount = entry.amount * _factor(entry.unit, spec.unit)
    except UnitProblem as exc:
        yield _unit_error(f"{loc}.unit", exc, f" for {spec.label} (PCR unit {spec.unit})", **named)
        return
    plausible = spec.plausible_per_declared_unit
    if production and plausible is not None and not plausible.contains(amount / production):
        per_unit, declared = amount / production, pcr.declared_unit.unit
        yield _error(
            f"{loc}.amount",
            "implausible",
            f"{per_unit:.6g} {spec.unit} per {declared} of {spec.label} is outside the plausible range {plausible} of "
            f"{pcr.ref}",
            value=per_unit,
            unit=spec.unit,
            declared_unit=declared,
            range=span(plausible),
            pcr=pcr.ref,
            **named,
        )
    if spec.primary_data_required and entry.data_source != "primary":
        yield _error(
            f"{loc}.data_source",
            "primary_required",
            f"{pcr.ref} requires primary (site-specific) data for {spec.label}",
            pcr=pcr.ref,
            **named,
        )
    if entry.supplier_pcf_kg_co2e_per_unit is not None and spec.kind is not ItemKind.INPUT:
        yield _error(
            f"{loc}.supplier_pcf_kg_co2e_per_unit",
            "supplier_pcf_not_input",
            "only purchased inputs can carry a supplier footprint",
            **named,
        )
    if entry.supplier is not None:
        yield from _supplier_problems(loc, entry, spec, named)
    yield from _values_problems(f"{loc}.parameters", entry.parameters, spec.parameters, spec.id)


def _supplier_problems(loc: str, entry: InventoryItem, spec: ItemSpec, named: dict):
    """A supplier's value (a label, a PACT footprint, a factor-database entry) stands in for the background activity
    of a purchased input only, in place of a typed supplier footprint, and names a release's entry by its key.
    Whether the reference exists is the service's to check (it resolves it when the inventory is submitted)."""
    supplier = entry.supplier
    if spec.kind is not ItemKind.INPUT:
        message = f"only purchased inputs can name a supplier's value; {spec.label} is not one (kind {spec.kind})"
        yield _error(f"{loc}.supplier", "supplier_not_input", message, **named)
    if entry.supplier_pcf_kg_co2e_per_unit is not None:
        yield _error(
            f"{loc}.supplier_pcf_kg_co2e_per_unit",
            "supplier_and_typed_pcf",
            f"{spec.label} names a supplier's value: a typed supplier footprint cannot stand beside it",
            **named,
        )
    if supplier.kind == "release" and not supplier.entry:
        message = "a factor-database release is cited with the key of its entry"
        yield _error(f"{loc}.supplier.entry", "supplier_entry_required", message, release=supplier.reference, **named)
    elif supplier.kind != "release" and supplier.entry:
        kind, kind_zh = SUPPLIER_KINDS[supplier.kind]
        message = f"only a factor-database release has entries; a {kind} is named by its reference alone"
        yield _error(f"{loc}.supplier.entry", "supplier_entry_refused", message, kind=kind, kind_zh=kind_zh, **named)


def _values_problems(loc: str, given: dict[str, ParameterValue], specs: list[ParameterSpec], owner: str):
    """Parameter values against their specs: known names, numbers in a convertible unit within the range, choices
    among the PCR's codes, required ones present."""
    by_id = {spec.id: spec for spec in specs}
    for name, value in given.items():
        parameter = by_id.get(name)
        if parameter is None:
            yield _error(
                f"{loc}.{name}",
                "unknown_parameter",
                f"not a parameter of {owner}; known: {list(by_id)}",
                parameter_id=name,
                owner=owner,
                known=list(by_id),
            )
            continue
        yield from _value_problems(f"{loc}.{name}", value, parameter)
    for parameter in specs:
        if parameter.required and parameter.id not in given:
            yield _error(
                f"{loc}.{parameter.id}",
                "required_parameter",
                f"required by {owner}: {parameter.label}",
                owner=owner,
                **_named(parameter, "parameter"),
            )


def _value_problems(loc: str, value: ParameterValue, parameter: ParameterSpec):
    named, codes = _named(parameter, "parameter"), [c.value for c in parameter.choices]
    if parameter.is_choice:
        if not isinstance(value, ChoiceValue):
            message = f"{parameter.label} is a choice: give {{'choice': one of {codes}}}"
            yield _error(loc, "choice_expected", message, choices=codes, **named)
        elif parameter.choice(value.choice) is None:
            message = f"{value.choice!r} is not a choice of {parameter.label}; choices: {codes}"
            yield _error(f"{loc}.choice", "unknown_choice", message, value=value.choice, choices=codes, **named)
        return
    if isinstance(value, ChoiceValue):
        message = f"{parameter.label} is a number: give an amount and its unit ({parameter.unit})"
        yield _error(loc, "number_expected", message, unit=parameter.unit, **named)
        return
    try:
        factor = _factor(value.unit, parameter.unit)
    except UnitProblem as exc:
        yield _unit_error(f"{loc}.unit", exc, "", **named)
        return
    amount = value.amount * factor
    if parameter.range is None or parameter.range.contains(amount):
        return
    if _looks_like_percent(value.amount, factor, parameter):
        yield _error(
            loc,
            "looks_like_percent",
            f"{value.amount:g} {value.unit} is outside {parameter.range} and looks like a percentage: "
            f"choose the unit '%' (percent) for {parameter.label}, or enter {value.amount / 100:g}",
            value=value.amount,
            fraction=value.amount / 100,
            range=span(parameter.range),
            range_percent=_percent_span(parameter.range),
            **named,
        )
    elif is_fraction(parameter.unit):
        yield _error(
            loc,
            "fraction_out_of_range",
            f"{amount:.6g} {parameter.unit} is outside {parameter.range}",
            value=amount,
            percent=_percent(amount),
            range=span(parameter.range),
            range_percent=_percent_span(parameter.range),
            **named,
        )
    else:
        yield _error(
            loc,
            "out_of_range",
            f"{amount:.6g} {parameter.unit} is outside {parameter.range}",
            value=amount,
            unit=parameter.unit,
            range=span(parameter.range),
            **named,
        )


def _looks_like_percent(amount: float, factor: float, parameter: ParameterSpec) -> bool:
    """A fraction of at most 1 (a mass fraction) given as a plain number above 1 and up to 100: 65.2 for CaO's
    0.55–0.72 was meant as 65.2 %."""
    bounds = parameter.range
    if bounds is None or bounds.max is None or bounds.max > 1 or not is_fraction(parameter.unit):
        return False
    return abs(factor - 1.0) < 1e-12 and 1 < amount <= 100


def _co_product_problems(inventory: Inventory, pcr: PCR):
    if not inventory.co_products:
        return
    if pcr.allocation.method == "none":
        message = f"{pcr.ref} does not allocate: {pcr.allocation.justification}"
        yield _error("co_products", "no_allocation", message, pcr=pcr.ref)
        return
    for index, co_product in enumerate(inventory.co_products):
        loc = f"co_products[{index}]"
        if pcr.allocation.method == "mass":
            try:
                conversion_factor(co_product.unit, "kg")
            except UnitProblem as exc:
                yield FieldError(
                    f"{loc}.unit",
                    f"mass allocation needs a mass unit: {exc}",
                    "validation.mass_unit_needed",
                    {"unit": co_product.unit, "name": co_product.name},
                )
        elif co_product.economic_value_cny is None:
            message = "economic allocation needs the co-product's value"
            yield _error(f"{loc}.economic_value_cny", "co_product_value_needed", message, name=co_product.name)
    if pcr.allocation.method == "economic" and inventory.main_product_value_cny is None:
        yield _error(
            "main_product_value_cny", "main_value_needed", "economic allocation needs the main product's value"
        )


def _measured_problems(inventory: Inventory, pcr: PCR):
    rule = pcr.measured_emissions
    unnamed = Counter(m.gas for m in inventory.measured_emissions if not m.covers)
    named = Counter(m.gas for m in inventory.measured_emissions if m.covers)
    covered: dict[tuple[str, str], int] = {}
    for index, measured in enumerate(inventory.measured_emissions):
        loc = f"measured_emissions[{index}]"
        if measured.gas not in rule.allowed_gases:
            message = f"{pcr.ref} does not accept measured {measured.gas}"
            yield _error(f"{loc}.gas", "gas_not_accepted", message, gas=measured.gas, pcr=pcr.ref)
        if measured.method not in rule.methods:
            message = f"accepted methods: {rule.methods}"
            yield _error(f"{loc}.method", "method_not_accepted", message, method=measured.method, methods=rule.methods)
        if not measured.covers:
            if rule.require_sources:
                yield _error(
                    f"{loc}.covers",
                    "covers_required",
                    f"{pcr.ref} requires a measurement to name the items its monitor "
                    f"sees (e.g. the kiln stack: clinker and the kiln fuels)",
                    pcr=pcr.ref,
                )
            elif unnamed[measured.gas] > 1 or named[measured.gas]:
                yield _error(
                    f"{loc}.gas",
                    "gas_measured_twice",
                    f"{measured.gas} is measured more than once without naming the items each measurement covers",
                    gas=measured.gas,
                )
        yield from _covers_problems(loc, index, measured.gas, measured.covers, inventory, pcr, covered)
        try:
            conversion_factor(measured.unit, "kg")
        except UnitProblem as exc:
            yield _unit_error(f"{loc}.unit", exc, " (a measured emission is a mass)", expected_unit="kg")


def _covers_problems(loc: str, index: int, gas: str, covers: list[str], inventory: Inventory, pcr: PCR, covered: dict):
    """The items a measurement covers: items of the PCR with direct emissions, listed, each covered once per gas."""
    listed = {entry.item for entry in inventory.items}
    for position, item_id in enumerate(covers):
        spec = pcr.item(item_id)
        where = f"{loc}.covers[{position}]"
        names = _named(spec, "item") if spec else {"item": item_id, "item_zh": item_id, "item_id": item_id}
        if spec is None or spec.kind not in (ItemKind.FUEL, ItemKind.PROCESS):
            message = f"{item_id!r} is not an item of {pcr.ref} with direct emissions"
            yield _error(where, "covers_not_direct", message, pcr=pcr.ref, **names)
        elif item_id not in listed:
            message = f"{item_id!r} is not listed in the inventory's items"
            yield _error(where, "covers_not_listed", message, **names)
        elif (gas, item_id) in covered:
            earlier = covered[(gas, item_id)]
            message = f"{item_id} is already covered by measured_emissions[{earlier}]"
            yield _error(where, "covers_twice", message, gas=gas, **names)
        else:
            covered[(gas, item_id)] = index


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
        yield _error(
            "captive_power", "captive_not_described", f"{pcr.ref} does not describe captive power", pcr=pcr.ref
        )
        return
    for index, unit in enumerate(captive.units):
        yield from _captive_unit_problems(f"captive_power.units[{index}]", unit, fuels, pcr)
    net_total = sum(unit.net_generation_mwh for unit in captive.units)
    if captive.supplied_mwh > net_total * (1 + 1e-9):
        yield _error(
            "captive_power.supplied_mwh",
            "captive_over_generation",
            f"{captive.supplied_mwh:,.0f} MWh supplied is more than the units' net generation of {net_total:,.0f} MWh",
            supplied_mwh=captive.supplied_mwh,
            net_mwh=net_total,
        )
    try:
        consumed_mwh = electricity_consumed_kwh(inventory, pcr) / 1000.0
    except UnitProblem:
        return
    if captive.supplied_mwh > consumed_mwh * (1 + 1e-9):
        yield _error(
            "captive_power.supplied_mwh",
            "captive_over_consumption",
            f"{captive.supplied_mwh:,.0f} MWh supplied is more than the "
            f"{consumed_mwh:,.0f} MWh of electricity consumed (items)",
            supplied_mwh=captive.supplied_mwh,
            consumed_mwh=consumed_mwh,
        )


def _captive_unit_problems(loc: str, unit, fuels: dict[str, str], pcr: PCR):
    if unit.fuel not in fuels:
        known = sorted(fuels)
        message = f"{unit.fuel!r} is not a captive fuel of {pcr.ref}; known: {known}"
        yield _error(f"{loc}.fuel", "unknown_fuel", message, fuel=unit.fuel, fuels=known, pcr=pcr.ref)
        return
    try:
        amount = unit.fuel_amount * conversion_factor(unit.fuel_unit, fuels[unit.fuel])
    except UnitProblem as exc:
        context = f" (the factor set gives {unit.fuel} per {fuels[unit.fuel]})"
        yield _unit_error(f"{loc}.fuel_unit", exc, context, fuel=unit.fuel)
        return
    expected = unit.gross_generation_mwh - unit.auxiliary_mwh
    if abs(unit.net_generation_mwh - expected) > NET_BALANCE_TOLERANCE * unit.gross_generation_mwh:
        yield _error(
            f"{loc}.net_generation_mwh",
            "net_balance",
            f"{unit.net_generation_mwh:,.0f} MWh is not gross {unit.gross_generation_mwh:,.0f} "
            f"less auxiliary {unit.auxiliary_mwh:,.0f} = {expected:,.0f} MWh",
            net_mwh=unit.net_generation_mwh,
            gross_mwh=unit.gross_generation_mwh,
            auxiliary_mwh=unit.auxiliary_mwh,
            expected_mwh=expected,
        )
    if unit.ncv_gj_per_unit is not None:
        yield from _heat_rate_problems(f"{loc}.fuel_amount", amount * unit.ncv_gj_per_unit / unit.net_generation_mwh)
    if unit.carbon_content_tc_per_tj is not None and not CARBON_TC_PER_TJ.contains(unit.carbon_content_tc_per_tj):
        yield _error(
            f"{loc}.carbon_content_tc_per_tj",
            "carbon_content",
            f"{unit.carbon_content_tc_per_tj:.4g} t C/TJ is outside {CARBON_TC_PER_TJ}, the range "
            f"of fossil fuels (IPCC 2006 Vol. 2 Table 1.3)",
            value=unit.carbon_content_tc_per_tj,
            range=span(CARBON_TC_PER_TJ),
        )
    stack = unit.measured_co2_t / unit.net_generation_mwh if unit.measured_co2_t is not None else None
    if stack is not None and not STACK_T_CO2_PER_MWH.contains(stack):
        yield _error(
            f"{loc}.measured_co2_t",
            "stack_co2",
            f"{stack:.4g} t CO2 per net MWh is outside {STACK_T_CO2_PER_MWH}, the range of fossil "
            f"generating units: CO2 or generation misreported",
            value=stack,
            range=span(STACK_T_CO2_PER_MWH),
        )


def _heat_rate_problems(loc: str, heat_rate: float):
    """GJ of fuel per net MWh against the bounds of a fossil unit; the efficiency it means, where it means one."""
    if HEAT_RATE_GJ_PER_MWH.contains(heat_rate):
        return
    message = f"{heat_rate:.4g} GJ of fuel per net MWh is outside {HEAT_RATE_GJ_PER_MWH}"
    if 0.01 < heat_rate < 1e4:
        efficiency = 3.6 / heat_rate
        yield _error(
            loc,
            "heat_rate_efficiency",
            f"{message} (efficiency {efficiency:.0%}): fuel or generation misreported",
            value=heat_rate,
            range=span(HEAT_RATE_GJ_PER_MWH),
            efficiency_percent=round(efficiency * 100),
        )
    else:
        message = f"{message}: fuel or generation misreported"
        yield _error(loc, "heat_rate", message, value=heat_rate, range=span(HEAT_RATE_GJ_PER_MWH))


def _certificate_problems(inventory: Inventory, pcr: PCR):
    certificates = inventory.green_certificates
    if not certificates:
        return
    rule = pcr.electricity
    if not rule.gec_allowed:
        yield _error(
            "green_certificates",
            "certificates_not_allowed",
            f"{pcr.ref} does not apply green certificates",
            pcr=pcr.ref,
        )
        return
    earliest, latest = certificate_window(inventory.reference_period, rule.certificate_validity_months)
    batches: list[tuple[int, SerialRange]] = []
    for index, certificate in enumerate(certificates):
        loc = f"green_certificates[{index}]"
        try:
            batch = certificate.batch
        except SerialProblem as exc:
            yield _serial_problem(loc, certificate, exc)
        else:
            yield from _batch_problems(loc, certificate, batch, batches, certificates)
            batches.append((index, batch))
        if certificate.technology not in rule.eligible_technologies:
            yield _error(
                f"{loc}.technology",
                "technology_not_eligible",
                f"{certificate.technology!r} is not eligible; eligible: {rule.eligible_technologies}",
                technology=certificate.technology,
                technologies=rule.eligible_technologies,
            )
        if not earliest <= certificate.generation_month <= latest:
            months = rule.certificate_validity_months
            yield _error(
                f"{loc}.generation_month",
                "generation_month_window",
                f"{certificate.generation_month} is outside {earliest}..{latest}, the window of certificates "
                f"valid ({months} months) for the reference period",
                month=certificate.generation_month,
                earliest=earliest,
                latest=latest,
                months=months,
            )
    yield from _coverage_problems(inventory, pcr, certificates)


def _batch_problems(loc: str, certificate: GreenCertificate, batch: SerialRange, batches: list, certificates: list):
    if certificate.amount_mwh > batch.count:
        yield _error(
            f"{loc}.amount_mwh",
            "certificate_over_batch",
            f"{certificate.amount_mwh} MWh is more than the {batch.count} certificates of {batch}",
            amount_mwh=certificate.amount_mwh,
            count=batch.count,
            batch=str(batch),
        )
    earlier = next((i for i, other in batches if other.overlaps(batch)), None)
    if earlier is not None:
        yield _error(
            f"{loc}.serial",
            "batch_overlap",
            f"{batch} overlaps green_certificates[{earlier}] "
            f"({certificates[earlier].batch}); a certificate is retired once",
            batch=str(batch),
            row=earlier + 1,
            other_batch=str(certificates[earlier].batch),
        )


def _serial_problem(loc: str, certificate: GreenCertificate, exc: SerialProblem) -> FieldError:
    """Serials that cannot form a batch, named by what is wrong with them (the checks of
    pcr_rules.certificates.serial_range, in its order), at the last serial when one is given."""
    first, last = certificate.serial, certificate.serial_last
    params = {"serial": first, "serial_last": last or "", "count": certificate.amount_mwh, "digits": MAX_SERIAL_DIGITS}
    if any(len(s) - len(s.rstrip("0123456789")) > MAX_SERIAL_DIGITS for s in (first, last or "")):
        code = "serial_too_long"
    elif last is None:
        code = "serial_unnumbered" if split_serial(first)[1] is None else "serial_overflow"
    else:
        (prefix, number, _), (last_prefix, last_number, _) = split_serial(first), split_serial(last)
        if number is None or last_number is None:
            code = "range_unnumbered"
        else:
            code = "range_prefix" if last_prefix != prefix else "range_reversed"
    return FieldError(f"{loc}.serial_last" if last else f"{loc}.serial", str(exc), f"validation.{code}", params)


def _coverage_problems(inventory: Inventory, pcr: PCR, certificates: list[GreenCertificate]):
    try:
        consumed = electricity_consumed_kwh(inventory, pcr)
    except UnitProblem:
        return  # already reported on the item
    captive = inventory.captive_power.supplied_mwh * 1000.0 if inventory.captive_power else 0.0
    grid = consumed - captive
    covered = sum(c.amount_kwh for c in certificates)
    if covered > grid * (1 + 1e-9):
        message = f"certificates cover {covered:,.0f} kWh but only {grid:,.0f} kWh of grid electricity was consumed"
        params = {"covered_kwh": covered, "grid_kwh": grid}
        if captive:
            message += f" ({consumed:,.0f} kWh less {captive:,.0f} kWh from captive units)"
            yield _error(
                "green_certificates",
                "certificates_over_grid_captive",
                message,
                consumed_kwh=consumed,
                captive_kwh=captive,
                **params,
            )
        else:
            yield _error("green_certificates", "certificates_over_grid", message, **params)
