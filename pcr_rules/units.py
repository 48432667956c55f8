"""Units of activity data, through pint: every amount comes with its unit and is converted, never assumed."""

from functools import lru_cache

import pint

_REGISTRY = pint.UnitRegistry()
# Normal cubic metre (0 degC, 101.325 kPa) as used in Chinese fuel statistics: a volume for conversion purposes.
_REGISTRY.define("Nm3 = meter ** 3")
_REGISTRY.define("tkm = tonne * kilometer")


class UnitProblem(ValueError):
    """A unit that pint does not know, or one of the wrong dimension."""


@lru_cache(maxsize=512)
def _parse(unit: str) -> pint.Unit:
    try:
        return _REGISTRY.Unit(unit)
    except (
        pint.UndefinedUnitError,
        pint.errors.DefinitionSyntaxError,
        ValueError,
        AttributeError,
        TypeError,
        AssertionError,
    ) as exc:
        raise UnitProblem(f"unknown unit {unit!r}") from exc


def parse_unit(unit: str) -> pint.Unit:
    if not isinstance(unit, str) or not unit.strip():
        raise UnitProblem("unit is empty")
    return _parse(unit.strip())


@lru_cache(maxsize=2048)
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Multiplier taking an amount in `from_unit` to `to_unit`; raises UnitProblem on a dimension mismatch."""
    source, target = parse_unit(from_unit), parse_unit(to_unit)
    if source.dimensionality != target.dimensionality:
        raise UnitProblem(
            f"unit {from_unit!r} has dimension {source.dimensionality}, expected {target.dimensionality} "
            f"(like {to_unit!r})"
        )
    return float(_REGISTRY.Quantity(1.0, source).to(target).magnitude)


def convert(amount: float, from_unit: str, to_unit: str) -> float:
    return amount * conversion_factor(from_unit, to_unit)
