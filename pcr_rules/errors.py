"""Typed errors of the PCR layer; the edges (CLI, HTTP) map them to messages and status codes."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of an inventory: `loc` is a dotted path such as `items[2].amount`."""

    loc: str
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}"


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
