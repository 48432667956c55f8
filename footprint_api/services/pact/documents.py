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

Stricter than the schema where the schema's words are looser than PACT means them, or than what the buyer's systems
can keep: a Decimal is ASCII digits (the spec's patterns use `\\d`, which takes any script's digits, and one of them
is anchored at one end only, so "1abc" passed as a PositiveNonZeroDecimal); an id is a UUID written in ASCII hex; an
object names each key once (two parsers would read `{"id": a, "id": b}` as two different footprints); every number
is finite (1e400 is infinity to Python, and no JSON); every text is one a database can keep (no NUL, no lone
surrogate); a footprint does not precede itself.
"""

import json
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
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
MAX_PRECEDING = 100  # precedingPfIds: each one is looked up among the footprints held
MAX_KEY_SHOWN = 100  # characters of a key named in a JSON path
ROOT = "(document)"
DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")  # PACT's Decimal, in ASCII digits, the whole text
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
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


def format_checker() -> FormatChecker:
    """jsonschema's format checks, with PACT's `decimal` and a stricter `uuid` (ASCII hex in the 8-4-4-4-12 form:
    Python's UUID() also reads full-width digits, so "１１１１…" would be the same footprint as "1111…")."""
    checker = FormatChecker()
    checker.checks("decimal")(lambda value: not isinstance(value, str) or bool(DECIMAL.fullmatch(value)))
    checker.checks("uuid")(lambda value: not isinstance(value, str) or bool(UUID_TEXT.fullmatch(value)))
    return checker


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    registry = Registry().with_resource("urn:pact", Resource.from_contents(spec, default_specification=DRAFT202012))
    schema = {"$ref": "urn:pact#/components/schemas/ProductFootprint"}
    # formats are assertions here (uuid of ids, date-time of periods, decimal of values): JSON Schema makes them
    # annotations by default
    return Draft202012Validator(schema, registry=registry, format_checker=format_checker())


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
    """JSON as RFC 8259 writes it (no NaN or Infinity), nested at most MAX_DEPTH levels, each key once in an object,
    every number finite and every text one a database keeps (DocumentInvalid at the path of the first problem)."""

    def refuse_constant(name: str):
        raise ValueError(f"{name} is not JSON")

    repeated: dict[int, tuple[dict, str]] = {}  # objects that named a key twice (by id: kept alive here), and the key

    def pairs(items: list[tuple[str, Any]]) -> dict:
        found = dict(items)
        if len(found) < len(items):
            seen: set[str] = set()
            repeated[id(found)] = (found, next(k for k, _ in items if k in seen or seen.add(k)))
        return found

    try:
        value = json.loads(body.decode("utf-8-sig"), parse_constant=refuse_constant, object_pairs_hook=pairs)
    except UnicodeDecodeError:
        raise DocumentInvalid(ROOT, "suppliers.document.not_utf8", "not UTF-8 text") from None
    except RecursionError:
        raise DocumentInvalid(ROOT, "suppliers.document.too_deep", "nested too deeply", levels=MAX_DEPTH) from None
    except json.JSONDecodeError as exc:
        raise DocumentInvalid(
            ROOT, "suppliers.document.not_json", f"not JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
    except ValueError as exc:  # NaN or Infinity, or an integer of more digits than Python converts (4300)
        reason = str(exc) if "is not JSON" in str(exc) else "a number with too many digits"
        raise DocumentInvalid(ROOT, "suppliers.document.not_json", f"not JSON: {reason}", line=1, column=1) from None
    _walk(value, (), {key: name for key, (_, name) in repeated.items()})
    return value


def _walk(value: Any, path: tuple, repeated: dict[int, str]) -> None:
    """Every value of a parsed document, depth first: DocumentInvalid at the first one that is not allowed."""
    if len(path) > MAX_DEPTH:
        raise DocumentInvalid(ROOT, "suppliers.document.too_deep", "nested too deeply", levels=MAX_DEPTH)
    if isinstance(value, str):
        _text(value, path)
    elif isinstance(value, float) and not math.isfinite(value):
        raise DocumentInvalid(json_path(path), "suppliers.document.number", "a number too large to be finite")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _walk(child, (*path, index), repeated)
    elif isinstance(value, dict):
        if id(value) in repeated:
            key = repeated[id(value)]
            raise DocumentInvalid(
                json_path((*path, key)),
                "suppliers.document.duplicate_key",
                "the key is given twice",
                name=_shown_key(key),
            )
        for key, child in value.items():
            _text(key, (*path, key))
            _walk(child, (*path, key), repeated)


def _text(text: str, path: tuple) -> None:
    """A text PostgreSQL and UTF-8 can hold: no NUL character, no half of a surrogate pair (`\\ud800` alone)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DocumentInvalid(json_path(path), "suppliers.document.text", "holds a character that is none") from None
    if "\x00" in text:
        raise DocumentInvalid(json_path(path), "suppliers.document.text", "holds a NUL character")


def json_path(parts: Iterable) -> str:
    """('pcf', 'dqi', 'temporalDQR') -> 'pcf.dqi.temporalDQR'; ('productIds', 0) -> 'productIds[0]'. A key is shown
    as text any page or answer can carry: at most MAX_KEY_SHOWN characters, a character that is none or a control
    character escaped (`\\ud800`, `\\x00`)."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        key = _shown_key(str(part))
        path += f".{key}" if path else key
    return path or ROOT


def _shown_key(key: str) -> str:
    """A key as a path shows it: cut to MAX_KEY_SHOWN characters, control characters and lone surrogates escaped."""
    key = key if len(key) <= MAX_KEY_SHOWN else key[:MAX_KEY_SHOWN] + "…"
    if key.isprintable():
        try:
            key.encode("utf-8")
            return key
        except UnicodeEncodeError:
            pass
    return "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else repr(c)[1:-1] for c in key)


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
    for name, most in (("productIds", MAX_PRODUCT_IDS), ("precedingPfIds", MAX_PRECEDING)):
        if len(document.get(name, [])) > most:
            raise DocumentInvalid(name, "suppliers.document.too_many", f"more than {most} ids", limit=most)


def _preceding(document: dict, pf_id: str) -> list[str]:
    """precedingPfIds in canonical text; a footprint does not precede itself (it would deprecate its own versions)."""
    found = []
    for index, named in enumerate(document.get("precedingPfIds", [])):
        canonical = str(uuid.UUID(named))
        if canonical == pf_id:
            raise DocumentInvalid(
                f"precedingPfIds[{index}]", "suppliers.document.preceding_self", "names the footprint itself"
            )
        found.append(canonical)
    return found


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _last_day(end: datetime, zone) -> date:
    """The last day an exclusive end includes, in the zone's calendar."""
    return (end - timedelta(microseconds=1)).astimezone(zone).date()


def _periods(document: dict) -> tuple[date, date, date, date]:
    pcf = document["pcf"]
    # a date-time the format allows and Python cannot place (23:59:60, year 1 before UTC, year 9999 plus 3 years) is
    # named where it is: the validity's own field when it gives one, else the reference period's end it follows
    at = "pcf.referencePeriodStart"
    try:
        start = _instant(pcf["referencePeriodStart"])
        at = "pcf.referencePeriodEnd"
        end = _instant(pcf["referencePeriodEnd"])
        start_day, end_day = start.astimezone(UTC).date(), _last_day(end, UTC)
        at = "validityPeriodStart" if document.get("validityPeriodStart") else "pcf.referencePeriodEnd"
        valid_from, valid_until = validity_period(document)
        from_day = valid_from.astimezone(CHINA_TIME).date()
        at = "validityPeriodEnd" if document.get("validityPeriodEnd") else at
        days = (start_day, end_day, from_day, _last_day(valid_until, CHINA_TIME))
    except (ValueError, OverflowError):
        raise DocumentInvalid(at, "suppliers.document.format", "not a usable date-time") from None
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
    pf_id = str(uuid.UUID(document["id"]))
    return Received(
        document=document,
        pf_id=pf_id,
        status=document["status"],
        preceding_ids=_preceding(document, pf_id),
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
