"""The product class of a footprint: which products of one PCR are comparable with each other.

A PCR names, in `classification`, the product-system parameters (choice parameters) whose values define the class,
e.g. cement type and strength class (GB 175-2023: P·O 42.5 and P·S·A 32.5 are different products, and a tonne of
one is not compared with a tonne of the other). A factor-database entry and a comparable group of the registry are
one class of one PCR; a PCR that declares no classification has one class, all of its products.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from pcr_rules.inventory import ChoiceValue
from pcr_rules.models import PCR

KEY_SEPARATOR = "/"  # between the codes of the key, in the order of `PCR.classification`
LABEL_SEPARATOR = " "  # between the choices' names: "P·O ordinary Portland cement 42.5"
WHOLE_CATEGORY = ("", "—", "全部")  # key, English and Chinese label where the PCR declares no classification


@dataclass(frozen=True)
class ProductClass:
    """`key`: the choices' codes joined by '/' in the order the PCR lists its classification ('P·O/42.5'; '' for
    a PCR without one), stable across versions that keep the codes; `label`, `label_zh`: the choices' names."""

    key: str
    label: str
    label_zh: str

    @property
    def whole_category(self) -> bool:
        return self.key == ""


class UnclassifiedProduct(ValueError):
    """A classification parameter without a value (or with a code the PCR does not list): the inventory was not
    validated against this PCR (validation requires the parameter, or the PCR gives it a default)."""


def product_class(pcr: PCR, parameter_values: Mapping[str, object]) -> ProductClass:
    """The product class of an inventory under `pcr`. `parameter_values` are the inventory's product-system
    parameters as given (`Inventory.parameters`, or the same as stored JSON: `{"choice": code}`) or as formulas read
    them (codes, `pcr_rules.parameters.product_parameter_values`); a parameter not given takes the PCR's default."""
    if not pcr.classification:
        return ProductClass(*WHOLE_CATEGORY)
    choices = []
    for parameter_id in pcr.classification:
        spec = pcr.parameter(parameter_id)
        code = _code(parameter_values.get(parameter_id))
        if code is None:
            code = spec.default if spec is not None else None
        choice = spec.choice(str(code)) if spec is not None and code is not None else None
        if choice is None:
            raise UnclassifiedProduct(f"{pcr.ref}: no valid value of classification parameter {parameter_id!r}")
        choices.append(choice)
    return ProductClass(
        KEY_SEPARATOR.join(c.value for c in choices),
        LABEL_SEPARATOR.join(c.label for c in choices),
        LABEL_SEPARATOR.join(c.label_zh or c.label for c in choices),
    )


def _code(given: object) -> object:
    """The choice's code of a value in any of the forms `product_class` takes (None where none is given)."""
    if isinstance(given, ChoiceValue):
        return given.choice
    if isinstance(given, Mapping):
        return given.get("choice")
    return given
