"""What changed between two versions of a PCR, field by field, as a standards body lists it in a new version.

Both sides are read as PCRs (a dict is validated first), so a field a version leaves to its default compares as the
default: `electricity.location_level` of a 1.0.0 file that never names it is "national". Items and parameters are
matched by id (a parameter's choices by value), not by position, so an item inserted in the middle is one addition
and not a cascade of changes; lists of strings (standards, boundary, notes, technologies) are compared as sets of
entries, each added or removed.

Paths name what changed: `items[alumina].plausible_per_declared_unit.max`, `electricity.location_level`,
`items[+eaf_charge_carbon]` (added), `items[-old_item]` (removed), `standards` (an entry added or removed).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pcr_rules.models import PCR

# lists of objects matched by a key, not by position: items and parameters by id, a parameter's choices by value
KEYED_LISTS = {"items": "id", "parameters": "id", "choices": "value"}


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class Change:
    """One difference; `old` and `new` are JSON values (None on the side where the thing does not exist)."""

    path: str
    kind: ChangeKind
    old: Any = None
    new: Any = None


def diff(old: PCR | dict, new: PCR | dict) -> list[Change]:
    """The changes from `old` to `new`, in the order of the PCR's fields; [] for identical rules."""
    return _compare("", _dump(old), _dump(new))


def _dump(pcr: PCR | dict) -> dict:
    model = pcr if isinstance(pcr, PCR) else PCR.model_validate(pcr)
    return model.model_dump(mode="json")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _compare(path: str, old: Any, new: Any) -> list[Change]:
    if old == new:
        return []
    if old is None:
        return [Change(path, ChangeKind.ADDED, new=new)]
    if new is None:
        return [Change(path, ChangeKind.REMOVED, old=old)]
    if isinstance(old, dict) and isinstance(new, dict):
        return _compare_mappings(path, old, new)
    if isinstance(old, list) and isinstance(new, list):
        return _compare_lists(path, old, new)
    return [Change(path, ChangeKind.CHANGED, old, new)]


def _compare_lists(path: str, old: list, new: list) -> list[Change]:
    """Lists matched by their entries' key, or entry by entry for lists of text; else changed as a whole."""
    key = KEYED_LISTS.get(path.rsplit(".", 1)[-1])
    if key and _keyed(old, key) and _keyed(new, key):
        return _compare_keyed(path, old, new, key)
    if all(isinstance(v, str) for v in old + new):
        return _compare_entries(path, old, new)
    return [Change(path, ChangeKind.CHANGED, old, new)]


def _compare_mappings(path: str, old: dict, new: dict) -> list[Change]:
    keys = list(old) + [key for key in new if key not in old]
    return [change for key in keys for change in _compare(_join(path, key), old.get(key), new.get(key))]


def _keyed(values: list, key: str) -> bool:
    return all(isinstance(v, dict) and key in v for v in values)


def _compare_keyed(path: str, old: list[dict], new: list[dict], key: str) -> list[Change]:
    """Old entries in their order (removed or changed), then the new ones in theirs."""
    before, after = {v[key]: v for v in old}, {v[key]: v for v in new}
    changes: list[Change] = []
    for name, value in before.items():
        if name not in after:
            changes.append(Change(f"{path}[-{name}]", ChangeKind.REMOVED, old=value))
        else:
            changes += _compare(f"{path}[{name}]", value, after[name])
    changes += [Change(f"{path}[+{name}]", ChangeKind.ADDED, new=v) for name, v in after.items() if name not in before]
    return changes


def _compare_entries(path: str, old: list[str], new: list[str]) -> list[Change]:
    """A reworded entry is one removal and one addition: a list of strings has no identity to match on."""
    removed = [Change(path, ChangeKind.REMOVED, old=entry) for entry in old if entry not in new]
    return removed + [Change(path, ChangeKind.ADDED, new=entry) for entry in new if entry not in old]
