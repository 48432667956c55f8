"""Label numbers: readable, unique, with a check character that catches a mistyped or transposed character.

Format `PCF-2026-000123-F`: prefix, year of issue, sequence of that year, and the ISO/IEC 7064 MOD 37,36 check
character over the preceding characters (python-stdnum), as used for identifiers typed by hand.
"""

import re
import string

from stdnum.iso7064 import mod_37_36

PREFIX = "PCF"
_PATTERN = re.compile(r"^(?P<prefix>[A-Z]{3})(?P<year>\d{4})(?P<sequence>\d{6})(?P<check>[0-9A-Z])$")


class InvalidLabelNumber(ValueError):
    pass


def label_number(year: int, sequence: int, prefix: str = PREFIX) -> str:
    if not 1 <= sequence <= 999_999:
        raise ValueError(f"sequence {sequence} outside 1..999999")
    body = f"{prefix}{year:04d}{sequence:06d}"
    return f"{prefix}-{year:04d}-{sequence:06d}-{mod_37_36.calc_check_digit(body)}"


def compact(number: str) -> str:
    return re.sub(r"[\s\-]", "", number).upper()


def normalise(number: str) -> str:
    """The canonical spelling of a number typed or scanned in any case, with or without hyphens; raises
    InvalidLabelNumber if it is malformed or its check character does not match."""
    value = compact(number)
    match = _PATTERN.match(value)
    if not match:
        raise InvalidLabelNumber(f"{number!r} is not a label number (like PCF-2026-000123-F)")
    if not mod_37_36.is_valid(value):
        raise InvalidLabelNumber(f"{number!r}: check character does not match (mistyped?)")
    return f"{match['prefix']}-{match['year']}-{match['sequence']}-{match['check']}"


def is_valid(number: str) -> bool:
    try:
        normalise(number)
    except InvalidLabelNumber:
        return False
    return True


_ALPHABET = string.digits + string.ascii_uppercase  # of the check character (ISO/IEC 7064 MOD 37,36)


def one_typo_away(number: str) -> list[str]:
    """The valid label numbers one typing error away from a number of the right shape: one character replaced,
    or two neighbours swapped (the errors MOD 37,36 is designed to catch). Empty for input of another shape."""
    value = compact(number)
    match = _PATTERN.match(value)
    if not match:
        return []
    prefix, body = value[:3], value[3:]  # the prefix is not where typists err
    variants = set()
    for index, original in enumerate(body):
        choices = _ALPHABET if index == len(body) - 1 else string.digits
        variants.update(body[:index] + ch + body[index + 1 :] for ch in choices if ch != original)
    variants.update(body[:i] + body[i + 1] + body[i] + body[i + 2 :] for i in range(len(body) - 1))
    return sorted(normalise(prefix + v) for v in variants if v != body and is_valid(prefix + v))
