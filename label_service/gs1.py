"""GS1 identifiers of a product: the GTIN, validated and stored in its 14-digit form.

GS1 General Specifications §3.3.2: a GTIN-8, -12, -13 or -14 is written as 14 digits by padding it with leading
zeros (the form Application Identifier (01) and the Digital Link path `/01/` use); its last digit is the GS1 mod-10
check digit (§7.9.1), which python-stdnum's `ean` computes for all four lengths.
"""

from stdnum import ean
from stdnum.exceptions import InvalidChecksum, ValidationError

GTIN_LENGTHS = (8, 12, 13, 14)


class InvalidGTIN(ValueError):
    pass


def gtin14(gtin: str) -> str:
    """The GTIN-14 of a GTIN-8/12/13/14 written with or without spaces; raises InvalidGTIN naming the reason."""
    digits = ean.compact(str(gtin)).replace("-", "")
    if not digits.isdigit() or len(digits) not in GTIN_LENGTHS:
        raise InvalidGTIN(f"{gtin!r} is not a GTIN: 8, 12, 13 or 14 digits")
    try:
        ean.validate(digits)
    except InvalidChecksum:
        expected = ean.calc_check_digit(digits[:-1])
        raise InvalidGTIN(f"{gtin!r}: the check digit should be {expected} (mistyped?)") from None
    except ValidationError as exc:  # pragma: no cover - lengths and digits are checked above
        raise InvalidGTIN(f"{gtin!r} is not a GTIN: {exc}") from None
    return digits.zfill(14)


def is_gtin(gtin: str) -> bool:
    try:
        gtin14(gtin)
    except InvalidGTIN:
        return False
    return True
