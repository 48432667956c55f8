"""Parameter values of an inventory as formulas read them: numbers in the PCR's unit, choices as their code, the
PCR's defaults where the inventory gives none; formula settings that name a parameter take its value."""

from typing import Any

from pcr_rules.inventory import ChoiceValue, Inventory, InventoryItem, ParameterValue
from pcr_rules.models import PCR, ItemSpec, ParameterRef, ParameterSpec
from pcr_rules.units import conversion_factor

Value = float | str


def parameter_value(given: ParameterValue, spec: ParameterSpec) -> Value:
    """A given value as the formula reads it: a choice's code, or the amount converted to the parameter's unit."""
    if isinstance(given, ChoiceValue):
        return given.choice
    return given.amount * conversion_factor(given.unit, spec.unit)


def _values(given: dict[str, ParameterValue], specs: list[ParameterSpec]) -> dict[str, Value]:
    values: dict[str, Value] = {spec.id: spec.default for spec in specs if spec.default is not None}
    by_id = {spec.id: spec for spec in specs}
    for name, value in given.items():
        if name in by_id:
            values[name] = parameter_value(value, by_id[name])
    return values


def item_parameter_values(entry: InventoryItem | None, spec: ItemSpec) -> dict[str, Value]:
    """The item's parameters: the inventory's values, else the PCR's defaults (absent item: the defaults only)."""
    return _values(entry.parameters if entry is not None else {}, spec.parameters)


def product_parameter_values(inventory: Inventory, pcr: PCR) -> dict[str, Value]:
    """The product system's parameters (`PCR.parameters`): the inventory's values, else the PCR's defaults."""
    return _values(inventory.parameters, pcr.parameters)


class UnresolvedParameter(ValueError):
    """A formula setting names a parameter that has neither a value nor a default (the PCR check refuses this)."""


def resolve_config(
    config: dict[str, Any], item_values: dict[str, Value], product_values: dict[str, Value]
) -> dict[str, Value]:
    """The formula's settings with every `{parameter: id}` replaced by that parameter's value: the item's own
    parameter of that id first, else the product system's."""
    resolved: dict[str, Value] = {}
    for key, setting in config.items():
        if isinstance(setting, ParameterRef):
            name = setting.parameter
            value = item_values.get(name, product_values.get(name))
            if value is None:
                raise UnresolvedParameter(f"setting {key!r} names parameter {name!r}, which has no value or default")
            resolved[key] = value
        else:
            resolved[key] = setting
    return resolved


def names_parameters(config: dict[str, Any]) -> bool:
    return any(isinstance(setting, ParameterRef) for setting in config.values())
