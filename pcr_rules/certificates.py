"""Green certificate serial numbers and batches.

GECs are issued and transferred in numbered batches, one certificate per MWh; a batch is a range of serials that
share a prefix and differ in their trailing number (e.g. ``GEC-GZ-2023-W-0000001`` to ``GEC-GZ-2023-W-0500000``).
Two batches overlap when their prefixes are equal and their number ranges intersect; the leading zeros of the
number do not make a different certificate.
"""

import re
from dataclasses import dataclass

# The trailing number: at most 18 digits, so that it fits a signed 64-bit integer (PostgreSQL bigint, int8range).
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d{1,18})$")


class SerialProblem(ValueError):
    """A serial or a serial range that cannot describe a batch of certificates."""


@dataclass(frozen=True, order=True)
class SerialRange:
    """Certificates ``prefix + first`` .. ``prefix + last`` (inclusive); a serial without a trailing number is a
    range of one with ``first == last == 0`` and ``numbered`` false."""

    prefix: str
    first: int
    last: int
    width: int = 0
    numbered: bool = True

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def overlaps(self, other: "SerialRange") -> bool:
        return self.prefix == other.prefix and self.first <= other.last and other.first <= self.last

    def serial(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.width}d}" if self.numbered else self.prefix

    def __str__(self) -> str:
        if self.count == 1:
            return self.serial(self.first)
        return f"{self.serial(self.first)}..{self.serial(self.last)}"


def split_serial(serial: str) -> tuple[str, int | None, int]:
    """(prefix, trailing number or None, digits of the number); SerialProblem for a number of more than 18 digits."""
    digits = len(serial) - len(serial.rstrip("0123456789"))
    if digits > 18:
        raise SerialProblem(f"{serial} ends in a number of {digits} digits; at most 18 are counted")
    match = _TRAILING_NUMBER.match(serial)
    if match is None:
        return serial, None, 0
    return match.group(1), int(match.group(2)), len(match.group(2))


def serial_range(serial: str, serial_last: str | None, count_if_open: int) -> SerialRange:
    """The batch named by its first serial and either its last serial or, when none is given, its size.

    Raises SerialProblem when the two serials have different prefixes, the last comes before the first, or a
    batch of more than one certificate has no trailing number to count with.
    """
    prefix, first, width = split_serial(serial)
    if serial_last is None:
        if first is None:
            if count_if_open != 1:
                raise SerialProblem(
                    f"{serial} has no trailing number: a batch of {count_if_open} certificates needs numbered serials"
                )
            return SerialRange(prefix, 0, 0, 0, numbered=False)
        last = first + count_if_open - 1
        if last >= 10**18:
            raise SerialProblem(f"{serial} + {count_if_open} certificates passes the largest serial number")
        return SerialRange(prefix, first, last, width)
    last_prefix, last, _ = split_serial(serial_last)
    if first is None or last is None:
        raise SerialProblem("a serial range needs serials that end in a number")
    if last_prefix != prefix:
        raise SerialProblem(f"{serial} and {serial_last} differ before their numbers ({prefix!r} / {last_prefix!r})")
    if last < first:
        raise SerialProblem(f"the last serial {serial_last} comes before the first {serial}")
    return SerialRange(prefix, first, last, width)
