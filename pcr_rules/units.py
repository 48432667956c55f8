"""Units of activity data, through pint: every amount comes with its unit and is converted, never assumed."""

import math
import re
import tokenize
from functools import lru_cache
from typing import Any

import pint

_REGISTRY = pint.UnitRegistry()
# Normal cubic metre (0 degC, 101.325 kPa) as used in Chinese fuel statistics: a volume for conversion purposes.
_REGISTRY.define("Nm3 = meter ** 3")
_REGISTRY.define("tkm = tonne * kilometer")


class UnitProblem(ValueError):
    """A unit that pint does not know, or one of the wrong dimension. `code` and `params` name the problem for an
    edge that words it in its reader's language (messages `validation.unit_*`); the text is the English wording."""

    def __init__(self, message: str, code: str = "validation.unit_unknown", **params: Any):
        super().__init__(message)
        self.code, self.params = code, params


# What a unit may be written with before pint reads it (pint evaluates its text as arithmetic: `m**9**9**9` would
# compute for minutes, `t\` continues a line, `t (` never ends). Names are letters, digits and `_`; between them
# `*`, `/`, spaces and parentheses; a power (`**` or `^`) is one number of at most two digits and three decimals.
MAX_UNIT_LENGTH = 64
_POWER = re.compile(r"(\*\*|\^)\s*")
# An exponent is one number (`2`, `-1`, `2.5`) or one in parentheses, possibly a fraction (`(1/2)`), and whole:
# no digit after it (backtracking would read `10**10**10` as `1` then `0**10**10`), no arithmetic inside
# (`9**(99*99*99*99)`), and no power after it, also behind closing parentheses (`(9**99)**99`).
_EXPONENT = re.compile(
    r"(?:[-+]?\d{1,2}(?:\.\d{1,3})?(?![\d.])|\(\s*[-+]?\d{1,2}(?:\.\d{1,3})?\s*(?:/\s*\d{1,2}\s*)?\))"
    r"(?![\s)]*(\*\*|\^))"
)
_LARGEST_POWER = 12


@lru_cache(maxsize=512)
def _parse(unit: str) -> pint.Unit:
    if not _well_formed(unit):
        raise UnitProblem(f"unknown unit {_shown(unit)!r}", "validation.unit_unknown", unit=_shown(unit))
    try:
        parsed = _REGISTRY.Unit(unit)
    except (
        pint.UndefinedUnitError,
        pint.errors.DefinitionSyntaxError,
        tokenize.TokenError,
        ArithmeticError,
        ValueError,
        AttributeError,
        TypeError,
        AssertionError,
        KeyError,
        IndexError,
    ) as exc:
        raise UnitProblem(f"unknown unit {unit!r}", "validation.unit_unknown", unit=unit) from exc
    if any(not math.isfinite(power) or abs(power) > _LARGEST_POWER for power in parsed._units.values()):
        raise UnitProblem(f"unknown unit {unit!r}", "validation.unit_unknown", unit=unit)
    return parsed


def _well_formed(unit: str) -> bool:
    """Short, of the characters units are written with, parentheses balanced, each power a small number: what pint
    can read in bounded time (it reads the rest, or says it does not know the unit)."""
    if len(unit) > MAX_UNIT_LENGTH or not all(_allowed(character) for character in unit):
        return False
    depth = 0
    for character in unit:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            return False
    if depth:
        return False
    return all(_EXPONENT.match(unit, power.end()) for power in _POWER.finditer(unit))


def _allowed(character: str) -> bool:
    return character.isalpha() or character in "0123456789_ */^().-%°²³"


def _shown(unit: str) -> str:
    return unit if len(unit) <= MAX_UNIT_LENGTH else unit[:MAX_UNIT_LENGTH] + "…"


def parse_unit(unit: str) -> pint.Unit:
    """The pint unit of a unit's text; UnitProblem for any text that is not one, whatever it holds."""
    if not isinstance(unit, str) or not unit.strip():
        raise UnitProblem("unit is empty", "validation.unit_empty")
    return _parse(unit.strip())


@lru_cache(maxsize=2048)
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Multiplier taking an amount in `from_unit` to `to_unit`; raises UnitProblem on a dimension mismatch."""
    source, target = parse_unit(from_unit), parse_unit(to_unit)
    if source.dimensionality != target.dimensionality:
        raise UnitProblem(
            f"unit {from_unit!r} has dimension {source.dimensionality}, expected {target.dimensionality} "
            f"(like {to_unit!r})",
            "validation.unit_dimension",
            unit=from_unit,
            expected_unit=to_unit,
        )
    return float(_REGISTRY.Quantity(1.0, source).to(target).magnitude)


def convert(amount: float, from_unit: str, to_unit: str) -> float:
    return amount * conversion_factor(from_unit, to_unit)


@lru_cache(maxsize=512)
def kind(unit: str) -> tuple[str, ...]:
    """What a unit measures: its dimension and, for a ratio of like quantities (pint calls both dimensionless), the
    dimension of what it counts. A mass fraction in `percent` and one in `dimensionless` are of one kind; the share
    of a day in `minute/day` is of another, though pint would convert between them."""
    parsed = parse_unit(unit)
    if not parsed.dimensionless:
        return (str(parsed.dimensionality),)
    counted = {str(_REGISTRY.get_dimensionality(name)) for name, power in parsed._units.items() if power > 0}
    return ("dimensionless", *sorted(counted - {"dimensionless"}))


def same_kind(unit: str, other: str) -> bool:
    """Whether an amount in `unit` may be given for one in `other` (UnitProblem for a unit pint does not know)."""
    return kind(unit) == kind(other)


def is_fraction(unit: str) -> bool:
    """A ratio of like quantities without a unit of its own, as a mass fraction is (0–1, or in percent)."""
    return kind(unit) == ("dimensionless",)
