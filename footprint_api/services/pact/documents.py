"""A supplier's PACT ProductFootprint as the buyer receives it (pulled from the supplier's API, or uploaded as a file):
checked against the spec's schema (spec/openapi.yaml, PACT Technical Specifications 3.0.3) and read into the values
the service keeps beside the document (persistence.models.SupplierFootprint).

What is read, and why:
- the value per declared unit: `pcfExcludingBiogenicUptake` and `pcfIncludingBiogenicUptake` per
  `declaredUnitAmount` × `declaredUnitOfMeasurement`, the unit kept as PACT writes it ("kilogram", "kilowatt hour");
  converting it to an inventory item's unit is the supply link's business, not the reader's;
- `primaryDataShare`: PACT gives a percentage (Decimal string, 0 to 100); the service keeps shares as 0..1;
- verified: when `pcf.verification` names who verified (`providerName`) and what (`coverage`). PACT 3.0 renamed
  v2's `assurance` to `verification` and made its fields optional; an object naming no verifier claims nothing a
  buyer could check, so it does not make the footprint verified;
- reference period: PACT's end is exclusive; kept as the last day included, in UTC days as PACT's instants are written;
- validity: `validityPeriodStart`/`End`, else 3 years from `referencePeriodEnd` (PACT 3.2.3 "Validity period");
  its days in China time, the days of the service's labels (a label valid to 7 December ends at 8 December 00:00
  Beijing time, which PACT writes as 16:00Z on 7 December).

A problem is reported at the JSON path of the first one found (`pcf.declaredUnitAmount`, `productIds[0]`), as a code
and values the pages word in the reader's language (`suppliers.document.*`); nothing of a refused document is kept.
"""

import json
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from footprint_api.core.china_time import CHINA_TIME
from footprint_api.services.pact.footprints import validity_period

SPEC = Path(__file__).with_name("spec") / "openapi.yaml"
MAX_DOCUMENT_BYTES = (
    1024 * 1024
)  # PACT's example footprints are ~3 KiB; a file of a thousand times that is no footprint
MAX_DEPTH = 32
MAX_VALUE = 1e15  # kg CO2e per declared unit, and declared amounts: as pcr_rules bounds amounts of activity data
# the columns the values are kept in (persistence.models.SupplierFootprint)
COLUMN_LENGTHS = {"companyName": 300, "productNameCompany": 300}
MAX_PRODUCT_IDS = 100
ROOT = "(document)"
TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")


class DocumentInvalid(ValueError):
    """What is wrong with a document, where: `path` (a JSON path), `code` and `params` (the reader's language) and
    `reason` (English, as the JSON API answers)."""

    def __init__(self, path: str, code: str, reason: str, **params: Any):
        super().__init__(f"{path}: {reason}")
        self.path, self.code, self.reason, self.params = path, code, reason, {"path": path, **params}

    def entry(self, field: str | None = None) -> dict:
        """The error as a problem response's entry."""
        return {"field": field or self.path, "reason": str(self), "code": self.code, "params": self.params}


@dataclass(frozen=True)
class Received:
    """A ProductFootprint that passed the checks, with the values the service reads from it."""

    document: dict
    pf_id: str  # canonical UUID text (lower case): the same footprint however the supplier cased it
    status: str  # Active | Deprecated
    preceding_ids: list[str]
    company_name: str
    product_name: str
    product_ids: list[str]
    declared_unit: str
    declared_amount: float
    pcf_excluding_biogenic: float
    pcf_including_biogenic: float | None
    primary_data_share: float | None
    dqi: dict | None
    verification: dict | None
    verified: bool
    reference_period_start: date
    reference_period_end: date
    valid_from: date
    valid_until: date


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    registry = Registry().with_resource("urn:pact", Resource.from_contents(spec, default_specification=DRAFT202012))
    schema = {"$ref": "urn:pact#/components/schemas/ProductFootprint"}
    # formats are assertions here (uuid of ids, date-time of periods): JSON Schema makes them annotations by default
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def parse(body: bytes) -> dict:
    """A file's bytes as one ProductFootprint object: a footprint, or a GetFootprint answer `{"data": footprint}`."""
    if len(body) > MAX_DOCUMENT_BYTES:
        raise DocumentInvalid(
            ROOT, "suppliers.document.too_large", f"larger than {MAX_DOCUMENT_BYTES // 1024} KiB", limit_kib=1024
        )
    value = loads(body)
    if isinstance(value, dict) and "id" not in value and isinstance(value.get("data"), dict):
        value = value["data"]
    if not isinstance(value, dict):
        raise DocumentInvalid(ROOT, "suppliers.document.not_object", "not a JSON object (a ProductFootprint)")
    return value


def loads(body: bytes) -> Any:
    """JSON as RFC 8259 writes it (no NaN or Infinity), nested at most MAX_DEPTH levels."""

    def refuse_constant(name: str):
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(body.decode("utf-8-sig"), parse_constant=refuse_constant)
    except UnicodeDecodeError:
        raise DocumentInvalid(ROOT, "suppliers.document.not_utf8", "not UTF-8 text") from None
    except RecursionError:
        raise DocumentInvalid(ROOT, "suppliers.document.too_deep", "nested too deeply", levels=MAX_DEPTH) from None
    except json.JSONDecodeError as exc:
        raise DocumentInvalid(
            ROOT, "suppliers.document.not_json", f"not JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
    except ValueError as exc:
        raise DocumentInvalid(ROOT, "suppliers.document.not_json", f"not JSON: {exc}", line=1, column=1) from None
    if _depth(value) > MAX_DEPTH:
        raise DocumentInvalid(ROOT, "suppliers.document.too_deep", "nested too deeply", levels=MAX_DEPTH)
    return value


def _depth(value: Any, level: int = 0) -> int:
    """How deeply a JSON value nests (stops counting past MAX_DEPTH)."""
    if level > MAX_DEPTH or not isinstance(value, dict | list):
        return level
    children = value.values() if isinstance(value, dict) else value
    return max((_depth(child, level + 1) for child in children), default=level + 1)


def json_path(parts: Iterable) -> str:
    """('pcf', 'dqi', 'temporalDQR') -> 'pcf.dqi.temporalDQR'; ('productIds', 0) -> 'productIds[0]'."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or ROOT


def _problem(error: ValidationError) -> DocumentInvalid:
    """One schema error as a coded problem at its path (a missing property is named at its own path)."""
    parts = list(error.absolute_path)
    keyword = error.validator
    if keyword == "required" and isinstance(error.instance, dict):
        missing = next(name for name in error.validator_value if name not in error.instance)
        return DocumentInvalid(
            json_path([*parts, missing]), "suppliers.document.required", "required property missing", name=missing
        )
    path = json_path(parts)
    if keyword == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else "value"
        code = f"suppliers.document.type_{expected}" if expected in TYPES else "suppliers.document.invalid"
        return DocumentInvalid(path, code, error.message[:300])
    if keyword == "enum":
        return DocumentInvalid(
            path, "suppliers.document.enum", error.message[:300], allowed=[str(v) for v in error.validator_value]
        )
    if keyword in ("format", "pattern"):
        return DocumentInvalid(path, "suppliers.document.format", error.message[:300])
    if keyword == "additionalProperties":
        return DocumentInvalid(path, "suppliers.document.unknown_property", error.message[:300])
    return DocumentInvalid(path, "suppliers.document.invalid", error.message[:300])


def check(document: dict) -> Received:
    """The document if it is a valid ProductFootprint whose values the service can keep; else DocumentInvalid at
    the first problem (jsonschema's best match: the most specific error of the most relevant branch)."""
    error = best_match(_validator().iter_errors(document))
    if error is not None:
        raise _problem(error)
    return _read(document)


def _decimal(pcf: dict, name: str, positive: bool = False) -> float:
    """A PACT Decimal (a string of digits: the schema checked its pattern) as a finite float within MAX_VALUE."""
    value = float(pcf[name])
    if not math.isfinite(value) or abs(value) > MAX_VALUE or (positive and value <= 0):
        lowest = 0 if positive else -MAX_VALUE
        raise DocumentInvalid(
            f"pcf.{name}", "suppliers.document.range", "outside the range the service keeps", min=lowest, max=MAX_VALUE
        )
    return value


def _share(pcf: dict) -> float | None:
    if pcf.get("primaryDataShare") is None:
        return None
    percent = float(pcf["primaryDataShare"])
    if not 0 <= percent <= 100:
        raise DocumentInvalid(
            "pcf.primaryDataShare", "suppliers.document.range", "a percentage from 0 to 100", min=0, max=100
        )
    return percent / 100


def _dqi(pcf: dict) -> dict | None:
    """The data quality ratings, each 1 (best) to 5 (PACT 3.0 DataQualityIndicators: "MUST be between 1 and 5")."""
    dqi = pcf.get("dqi")
    if dqi is None:
        return None
    for name in ("technologicalDQR", "geographicalDQR", "temporalDQR"):  # required, Decimal strings (the schema)
        if not 1 <= float(dqi[name]) <= 5:
            raise DocumentInvalid(f"pcf.dqi.{name}", "suppliers.document.range", "a rating from 1 to 5", min=1, max=5)
    return dqi


def _bounded_texts(document: dict) -> None:
    for name, most in COLUMN_LENGTHS.items():
        if len(document[name]) > most:
            raise DocumentInvalid(name, "suppliers.document.too_long", f"longer than {most} characters", limit=most)
    if len(document["productIds"]) > MAX_PRODUCT_IDS:
        raise DocumentInvalid(
            "productIds", "suppliers.document.too_many", f"more than {MAX_PRODUCT_IDS} ids", limit=MAX_PRODUCT_IDS
        )


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _last_day(end: datetime, zone) -> date:
    """The last day an exclusive end includes, in the zone's calendar."""
    return (end - timedelta(microseconds=1)).astimezone(zone).date()


def _periods(document: dict) -> tuple[date, date, date, date]:
    pcf = document["pcf"]
    try:
        start, end = _instant(pcf["referencePeriodStart"]), _instant(pcf["referencePeriodEnd"])
        valid_from, valid_until = validity_period(document)
        days = (
            start.astimezone(UTC).date(),
            _last_day(end, UTC),
            valid_from.astimezone(CHINA_TIME).date(),
            _last_day(valid_until, CHINA_TIME),
        )
    except (ValueError, OverflowError):  # a date-time the format allows and Python cannot place (23:59:60, year 1)
        raise DocumentInvalid("pcf.referencePeriodEnd", "suppliers.document.format", "not a usable date-time") from None
    if end <= start:
        raise DocumentInvalid("pcf.referencePeriodEnd", "suppliers.document.period", "ends before it starts")
    if valid_until <= valid_from:
        raise DocumentInvalid("validityPeriodEnd", "suppliers.document.period", "ends before it starts")
    return days


def _verified(verification: dict | None) -> bool:
    return bool(verification and str(verification.get("providerName", "")).strip() and verification.get("coverage"))


def _read(document: dict) -> Received:
    pcf = document["pcf"]
    _bounded_texts(document)
    start, end, valid_from, valid_until = _periods(document)
    verification = pcf.get("verification")
    return Received(
        document=document,
        pf_id=str(uuid.UUID(document["id"])),
        status=document["status"],
        preceding_ids=[str(uuid.UUID(pf)) for pf in document.get("precedingPfIds", [])],
        company_name=document["companyName"],
        product_name=document["productNameCompany"],
        product_ids=list(document["productIds"]),
        declared_unit=pcf["declaredUnitOfMeasurement"],
        declared_amount=_decimal(pcf, "declaredUnitAmount", positive=True),
        pcf_excluding_biogenic=_decimal(pcf, "pcfExcludingBiogenicUptake"),
        pcf_including_biogenic=_decimal(pcf, "pcfIncludingBiogenicUptake")
        if pcf.get("pcfIncludingBiogenicUptake") is not None
        else None,
        primary_data_share=_share(pcf),
        dqi=_dqi(pcf),
        verification=verification,
        verified=_verified(verification),
        reference_period_start=start,
        reference_period_end=end,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def canonical(document: dict) -> str:
    """One text per JSON value, whatever the order of its keys: to tell a footprint received again from a changed one."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
