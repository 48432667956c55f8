"""Problems in the reader's language. A problem carries a code and the values it is about (a `pcr_rules.FieldError`,
an entry of a `ServiceError`'s errors or of a problem response: `{"field", "reason", "code", "params"}`); the
catalogue (`core/locales/*/validation.yaml` and the other parts' files) words it in Chinese or English, and the
English `reason` stays what the JSON API answers with.

Values are shown as a reader expects them: numbers grouped, units by their names (`inv.unit.*`: 比例（0–1）, %),
lists joined, and a name given in both languages (`item` beside `item_zh`) in the page's."""

import math
from collections.abc import Mapping
from typing import Any

from footprint_api.core.messages import Catalogue, catalogue
from pcr_rules.errors import FieldError

UNIT_PARAMS = frozenset({"unit", "expected_unit", "declared_unit", "given_unit"})
# values that are codes with a name in the catalogue: the parameter -> the prefix of its messages
NAMED_CODES = {
    "gas": "inv.gas",
    "technology": "inv.tech",
    "technologies": "inv.tech",
    "fuel": "inv.fuel",
    "fuels": "inv.fuel",
}
CHINESE_SUFFIX = "_zh"


def render(error: FieldError | Mapping[str, Any], lang: str) -> str:
    """One problem in `lang` ('zh' or 'en'): the catalogue's message of its code filled with its params; the
    English reason where the code has no message (a problem of a part that does not word its problems yet)."""
    code, params, english = _parts(error)
    return worded(catalogue(lang), code, params, english)


def worded(t: Catalogue, code: str, params: Mapping[str, Any] | None, english: str = "") -> str:
    """As `render`, with the catalogue of the page at hand."""
    if not code or code not in t.messages:
        return english
    values = params or {}
    shown = {name: _shown(t, name, value, values) for name, value in values.items() if not _is_translation(name)}
    try:
        return t(code, **shown)
    except (KeyError, IndexError, ValueError):  # a message naming a value the problem does not carry
        return english or code


def _parts(error: FieldError | Mapping[str, Any]) -> tuple[str, Mapping[str, Any], str]:
    if isinstance(error, FieldError):
        return error.code, error.params, error.message
    return str(error.get("code") or ""), error.get("params") or {}, str(error.get("reason") or "")


def _is_translation(name: str) -> bool:
    return name.endswith(CHINESE_SUFFIX)


def _shown(t: Catalogue, name: str, value: Any, params: Mapping[str, Any]) -> str:
    if t.lang == "zh" and params.get(name + CHINESE_SUFFIX):
        value = params[name + CHINESE_SUFFIX]
    if isinstance(value, list | tuple):
        return ("、" if t.lang == "zh" else ", ").join(_shown(t, name, v, {}) for v in value)
    if name in UNIT_PARAMS and isinstance(value, str):
        return unit_text(t, value)
    if name in NAMED_CODES and isinstance(value, str):
        return t.messages.get(f"{NAMED_CODES[name]}.{value}", value)
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int | float):
        return number(value)
    return str(value)


def number(value: float) -> str:
    """An amount for reading: digits grouped, whole numbers without decimals, others to 6 significant digits."""
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1e5:
        return f"{value:,.0f}"
    return f"{value:,.6g}"


def unit_label(unit: str) -> str:
    """A unit as people write it: t·km, m³."""
    return unit.replace("*", "·").replace("^3", "³").replace("^2", "²").replace("Nm3", "Nm³")


def unit_text(t: Catalogue, unit: str) -> str:
    """A unit by its name in the reader's language where it has one (比例（0–1）, %), else as people write it."""
    key = f"inv.unit.{unit}"
    return t.messages[key] if key in t.messages else unit_label(unit)
