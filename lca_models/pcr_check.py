"""The full check of a PCR draft: the language's rules (`pcr_rules.language`) and every reference into the factor
set the engine computes with — background activities, fuels, formula constants, elementary flows, generation
technologies — each problem with the path of its field. An empty list means the draft may leave draft."""

from collections.abc import Iterator
from typing import Any

from lca_models.config import LCASettings
from lca_models.factor_set import FactorSet, load_factor_set
from lca_models.flows import FLOWS
from pcr_rules.errors import FieldError
from pcr_rules.formulas import FORMULAS, FUEL_FORMULA, OXIDES, FormulaSpec
from pcr_rules.language import (
    Draft,
    language_problems,
    parse_pcr,
    pcr_json_schema,
    references_to_choices,
    same_unit,
    unit_problem,
)
from pcr_rules.models import ItemKind, ItemSpec, ParameterRef, ParameterSpec

__all__ = ["check_pcr", "factor_set_problems", "pcr_json_schema"]


def check_pcr(document: dict[str, Any], factor_set: FactorSet | None = None) -> list[FieldError]:
    """Every problem of a PCR document (the JSON form of `pcr_rules.models.PCR`), against the factor set of the
    engine's settings unless another is given. Empty: publishable."""
    factor_set = factor_set or load_factor_set(LCASettings().factor_set)
    draft = parse_pcr(document)
    return [*draft.errors, *language_problems(draft), *factor_set_problems(draft, factor_set)]


def factor_set_problems(draft: Draft, factor_set: FactorSet) -> list[FieldError]:
    product = {p.id: p for p in draft.parameters.values()}
    where = {p.id: f"parameters[{index}]" for index, p in draft.parameters.items()}
    problems: list[FieldError] = []
    for index, item in draft.items.items():
        problems.extend(_item_references(f"items[{index}]", item, product, where, factor_set))
    if draft.pcr is not None:
        problems.extend(_electricity_references(draft, factor_set))
    return problems


def _unit_of(loc: str, unit: str, expected: str, what: str) -> Iterator[FieldError]:
    if unit_problem("", unit) is None and not same_unit(unit, expected):
        yield FieldError(loc, f"{what} is given per {expected!r}: the item's unit must be {expected!r}", "pcr.unit")


def _activity(loc: str, code: str, unit: str, factor_set: FactorSet) -> Iterator[FieldError]:
    activity = factor_set.activities.get(code)
    if activity is None:
        yield FieldError(
            f"{loc}.activity",
            f"factor set {factor_set.id} has no background activity {code!r}",
            "pcr.unknown_activity",
        )
    else:
        yield from _unit_of(f"{loc}.unit", unit, activity.unit, f"background activity {code!r}")


def _item_references(
    loc: str, item: ItemSpec, product: dict[str, ParameterSpec], where: dict[str, str], factor_set: FactorSet
) -> Iterator[FieldError]:
    if item.activity and item.kind in (ItemKind.INPUT, ItemKind.PROCESS):
        yield from _activity(loc, item.activity, item.unit, factor_set)
    if item.kind is ItemKind.FUEL and item.fuel:
        yield from _fuel_reference(loc, item, factor_set)
    if item.kind is ItemKind.ELECTRICITY:
        yield from _unit_of(f"{loc}.unit", item.unit, "kWh", "electricity")
    yield from _formula_constants(loc, item, factor_set)
    yield from _choice_constants(loc, item, product, where, factor_set)


def _fuel_reference(loc: str, item: ItemSpec, factor_set: FactorSet) -> Iterator[FieldError]:
    """A fuel item's fuel must be in the factor set, and the item measured in that fuel's unit."""
    fuel = factor_set.fuels.get(item.fuel)
    if fuel is None:
        yield FieldError(
            f"{loc}.fuel",
            f"factor set {factor_set.id} has no fuel {item.fuel!r}; known: {sorted(factor_set.fuels)}",
            "pcr.unknown_fuel",
        )
    else:
        yield from _unit_of(f"{loc}.unit", item.unit, fuel["unit"], f"fuel {item.fuel!r}")


def _formula_constants(loc: str, item: ItemSpec, factor_set: FactorSet) -> Iterator[FieldError]:
    """The constants named by a process item's formula settings, and by its default method's when absent."""
    if item.kind is ItemKind.PROCESS and item.formula in FORMULAS:
        yield from _constants(loc, item.formula_config, FORMULAS[item.formula], item, factor_set)
    if item.when_absent is not None and item.when_absent.formula in FORMULAS:
        default = FORMULAS[item.when_absent.formula]
        yield from _constants(f"{loc}.when_absent", item.when_absent.formula_config, default, item, factor_set)


def _choice_constants(
    loc: str, item: ItemSpec, product: dict[str, ParameterSpec], where: dict[str, str], factor_set: FactorSet
) -> Iterator[FieldError]:
    """Every choice of a parameter a constant setting names must have its constant (e.g. each pot-cell technology
    its Table 4.15 row in `pfc_tier1` and its Table 4.16 row in `pfc`)."""
    for path, key, parameter in references_to_choices(item, product):
        spec = FORMULAS.get((item.when_absent.formula if path.startswith(".when_absent") else item.formula) or "")
        setting = spec.setting(key) if spec else None
        if setting is None or setting.kind != "constant":
            continue
        known = _section(setting.section, factor_set)
        for index, choice in enumerate(parameter.choices):
            if choice.value not in known:
                yield FieldError(
                    f"{_parameter_path(loc, item, parameter, where)}.choices[{index}].value",
                    f"{choice.value!r} has no {setting.section} constant in factor set {factor_set.id} "
                    f"(formula {spec.name}, setting {key})",
                    "pcr.unknown_constant",
                )


def _parameter_path(loc: str, item: ItemSpec, parameter: ParameterSpec, where: dict[str, str]) -> str:
    """Where a referenced parameter is written: the item's own list, else the PCR's."""
    own = item.parameter(parameter.id)
    if own is not None:
        return f"{loc}.parameters[{item.parameters.index(own)}]"
    return where[parameter.id]


def _section(section: str | None, factor_set: FactorSet) -> dict[str, Any]:
    if section == "fuels":
        return factor_set.fuels
    return factor_set.process.get(section or "", {}) or {}


def _constants(
    loc: str, config: dict[str, Any], spec: FormulaSpec, item: ItemSpec, factor_set: FactorSet
) -> Iterator[FieldError]:
    for key, value in config.items():
        setting = spec.setting(key)
        if setting is None or isinstance(value, ParameterRef) or not isinstance(value, str):
            continue
        yield from _named_value(f"{loc}.formula_config.{key}", value, setting, factor_set)
    if spec.name == "oxide_decomposition":
        yield from _oxide_constants(loc, item, factor_set)
    if spec.name == FUEL_FORMULA and item.kind is ItemKind.PROCESS:
        fuel = factor_set.fuels.get(str(config.get("fuel", "")))
        if fuel is not None:
            yield from _unit_of(f"{loc}.unit", item.unit, fuel["unit"], f"fuel {config['fuel']!r}")


def _named_value(where: str, value: str, setting, factor_set: FactorSet) -> Iterator[FieldError]:
    """A setting's name must exist: a constant in its section of the factor set, a flow among the elementary flows."""
    if setting.kind == "constant" and value not in _section(setting.section, factor_set):
        yield FieldError(
            where,
            f"factor set {factor_set.id} has no {setting.section} constant {value!r}; known: "
            f"{sorted(_section(setting.section, factor_set))}",
            "pcr.unknown_constant",
        )
    if setting.kind == "flow" and value not in FLOWS:
        yield FieldError(
            where,
            f"unknown elementary flow {value!r}; known: {sorted(FLOWS)}",
            "pcr.unknown_flow",
        )


def _oxide_constants(loc: str, item: ItemSpec, factor_set: FactorSet) -> Iterator[FieldError]:
    """oxide_decomposition needs the factor set's oxides constant for each oxide fraction the item lists."""
    oxides = factor_set.process.get("oxides", {})
    for prefix, oxide in OXIDES.items():
        if item.parameter(f"{prefix}_fraction") is not None and oxide not in oxides:
            yield FieldError(
                f"{loc}.formula",
                f"factor set {factor_set.id} has no oxides constant {oxide!r} for {prefix}_fraction",
                "pcr.unknown_constant",
            )


def _electricity_references(draft: Draft, factor_set: FactorSet) -> Iterator[FieldError]:
    rule = draft.pcr.electricity
    if rule.gec_allowed:
        for index, technology in enumerate(rule.eligible_technologies):
            if technology not in factor_set.technology:
                yield FieldError(
                    f"electricity.eligible_technologies[{index}]",
                    f"factor set {factor_set.id} has no footprint factor for generation technology {technology!r}",
                    "pcr.unknown_technology",
                )
    for fuel_key, unit in rule.captive_fuels.items():
        fuel = factor_set.fuels.get(fuel_key)
        loc = f"electricity.captive_fuels.{fuel_key}"
        if fuel is None:
            yield FieldError(loc, f"factor set {factor_set.id} has no fuel {fuel_key!r}", "pcr.unknown_fuel")
        else:
            yield from _unit_of(loc, unit, fuel["unit"], f"fuel {fuel_key!r}")
