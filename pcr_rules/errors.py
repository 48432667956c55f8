"""Typed errors of the PCR layer; the edges (CLI, HTTP) map them to messages and status codes."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of an inventory or a PCR: `loc` is a dotted path such as `items[2].amount`.

    `code` names the kind of problem (e.g. `validation.out_of_range`) and `params` its values (numbers, codes, the
    English name of an item and, beside it as `item_zh`, its Chinese name), so that an edge can word it in the
    reader's language; `message` is the English wording. Two errors are equal by place and message."""

    loc: str
    message: str
    code: str = field(default="", compare=False)
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}"

    def entry(self) -> dict[str, Any]:
        """As a problem response lists it: the field, the English reason, and its code and params when it has any."""
        found: dict[str, Any] = {"field": self.loc, "reason": self.message}
        if self.code:
            found["code"] = self.code
            found["params"] = dict(self.params)
        return found


class InventoryInvalid(ValueError):
    """The inventory does not satisfy its PCR; `errors` lists every problem found, not only the first."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


class PCRNotFound(LookupError):
    def __init__(self, pcr_id: str, version: str | None = None):
        self.pcr_id = pcr_id
        self.version = version
        label = pcr_id if version is None else f"{pcr_id} version {version}"
        super().__init__(f"no PCR {label}")
