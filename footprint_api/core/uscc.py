"""The unified social credit code (统一社会信用代码) of a Chinese organisation, as GB 32100-2015 defines it.

18 characters from a set of 31 (the digits and the capital letters without I, O, Z, S, V): the registration
authority (1), the kind of organisation (2), the administrative division of the registering authority (3–8, GB/T
2260 digits), the organisation code (9–17, GB 11714) and a check character (18). The check character makes any
single mistyped character, and any swap of two neighbours, detectable (GB 32100-2015, clause 5 and annex: weights
3^(i-1) mod 31, check = (31 - Σ value × weight mod 31) mod 31).

A code is checked, never repaired: `check` names what is wrong (a code and its parameters, so a page words it in its
reader's language) and `normalised` gives the form to store (full-width characters and lower case as typed on a
Chinese keyboard become the standard's characters; spaces between groups are dropped).
"""

import unicodedata
from dataclasses import dataclass, field

LENGTH = 18
CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015 table 1: value = position in this string
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^(i-1) mod 31, positions 1–17
DIVISION = slice(2, 8)  # positions 3–8: the administrative division code, six digits
VALUES = {character: value for value, character in enumerate(CHARACTERS)}


@dataclass(frozen=True)
class Problem:
    """Why a text is no unified social credit code: `code` (uscc.length, uscc.character, uscc.division,
    uscc.check) and its parameters; `detail` is the English wording."""

    code: str
    detail: str
    params: dict = field(default_factory=dict)


def normalised(text: str) -> str:
    """The code as stored: NFKC (full-width ９１ＡＢ → 91AB), upper case, without spaces and hyphens between groups."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(character for character in folded if character not in " -\u3000")


def check_character(first_17: str) -> str:
    """The 18th character of a code whose first 17 are given (GB 32100-2015: C18 = 31 - Σ Ci × Wi mod 31; 31 → 0)."""
    total = sum(VALUES[character] * weight for character, weight in zip(first_17, WEIGHTS, strict=True))
    return CHARACTERS[(31 - total % 31) % 31]


def check(code: str) -> Problem | None:
    """None when `code` (normalised) is a well-formed code whose check character matches; else the first problem."""
    if len(code) != LENGTH:
        return Problem(
            "uscc.length",
            f"a unified social credit code has {LENGTH} characters, not {len(code)}",
            {"length": len(code)},
        )
    for position, character in enumerate(code, start=1):
        if character not in VALUES:
            return Problem(
                "uscc.character",
                f"character {position} ({character!r}) is not one of the digits and letters of GB 32100-2015 "
                "(no I, O, Z, S or V)",
                {"position": position, "character": character},
            )
    if not code[DIVISION].isdigit():
        return Problem(
            "uscc.division",
            "characters 3 to 8 are the administrative division code: six digits",
        )
    if check_character(code[:17]) != code[17]:
        return Problem(
            "uscc.check",
            "the check character (the 18th) does not match the first 17: a character is mistyped",
        )
    return None
