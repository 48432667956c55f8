"""A PCR as data for others: openEPD `Pcr` metadata for EPD registries and tools, and the service's own JSON form.

The openEPD fields follow `openepd.model.pcr.Pcr` (cchangelabs/openepd, src/openepd/model/pcr.py, with `Org` from
model/org.py and `Amount` from model/common.py). Mapped:

    issuer.name        record.issuer_name (left out for seed data, which no standards body issued)
    issuer_doc_id      pcr.id, the standards body's document code (max 40 characters)
    name               pcr.title (max 200)
    short_name         the product category's English name (max 40)
    version            pcr.version
    declared_units     [{qty, unit}] of the declared unit
    date_of_issue      record.effective_from: openEPD's "first day on which the document is valid", which is the
                       effective date, not the day it was published
    valid_until        record.valid_until, or the end of the transition period where that comes first
    doc                the URL of the PCR document (PDF), the library's page route
    status             STATUS below, then openEPD's rule on dates: a PCR whose valid_until has passed is Expired,
                       more than five years ago Sunset
    product_classes    {the service's host: pcr.product_category}
    applicable_in      ["CN"]
    alt_ids            {the service's host: "PCR-CN-ALUMINIUM@1.1.0"}
    attachments        {"JSON": the URL of the rules as the service's JSON (pcr_json), beside the PDF}

Not mapped: `id` (an id registered at open-xpd-uuid.cqd.io, which these PCRs do not have) and `parent` (a Part A or
base PCR, not the previous version). What openEPD has no field for (the life-cycle state, the publication date, the
version that supersedes this one, its transition end, the previous version, and the input items linked to activities
of imported background databases) goes in `ext` under EXTENSION.
"""

from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import BaseModel

from footprint_api.core.messages import catalogue
from footprint_api.exports.pcr_document import PcrRecordView
from pcr_rules.models import PCR

EXTENSION = "pcf_service"
# openEPD PcrStatus for each state of the PCR life cycle; a superseded version stays Published until its transition
# ends (footprints may still follow it), after which the rule on dates makes it Expired.
STATUS = {
    "draft": "InDevelopment",
    "consultation": "InDevelopment",
    "review": "InDevelopment",
    "published": "Published",
    "superseded": "Published",
    "expired": "Expired",
    "withdrawn": "Expired",  # certifies nothing any more; openEPD has no withdrawn state
}
SUNSET_AFTER = timedelta(days=5 * 365 + 1)  # openEPD: valid_until more than 5 years in the past -> Sunset
APPLICABLE_IN = ["CN"]  # the PCRs apply GB/T 24067-2024 to products made in China
# where the service serves a version (the library's routes, web/routes/pcr_library.py): every version the reader may
# see, published or not, at one address of its own
DOCUMENT_PATH = "/pcrs/{id}/{version}/document.pdf"
JSON_PATH = "/pcrs/{id}/{version}/pcr.json"


def _url(base_url: str, path: str, pcr: PCR) -> str:
    return base_url.rstrip("/") + path.format(id=quote(pcr.id, safe=""), version=quote(pcr.version, safe=""))


def _valid_until(record: PcrRecordView) -> date | None:
    ends = [day for day in (record.valid_until, record.transition_until) if day]
    return min(ends) if ends else None


def _status(record: PcrRecordView, valid_until: date | None, as_of: date) -> str | None:
    status = STATUS.get(record.status)
    if status in ("Published", "Expired") and valid_until and valid_until < as_of:
        return "Sunset" if as_of - valid_until > SUNSET_AFTER else "Expired"
    return status


def openepd_pcr(pcr: PCR, record: PcrRecordView, base_url: str, as_of: date | None = None) -> dict[str, Any]:
    """openEPD `Pcr` metadata of one PCR version; `as_of` (default today) decides Expired / Sunset from the dates.
    Absent values are left out, as openEPD's optional fields allow."""
    host = urlsplit(base_url).netloc or base_url
    valid_until = _valid_until(record)
    category = catalogue("en").messages.get(f"pcr.category.{pcr.product_category}", pcr.product_category)
    metadata = {
        "issuer": {"name": record.issuer_name[:200]} if record.issuer_name else None,
        "issuer_doc_id": pcr.id[:40],
        "name": pcr.title[:200],
        "short_name": category[:40],
        "version": pcr.version,
        "declared_units": [{"qty": pcr.declared_unit.amount, "unit": pcr.declared_unit.unit}],
        "date_of_issue": _iso(record.effective_from),
        "valid_until": _iso(valid_until),
        "doc": _url(base_url, DOCUMENT_PATH, pcr),
        "status": _status(record, valid_until, as_of or date.today()),
        "product_classes": {host: pcr.product_category},
        "applicable_in": APPLICABLE_IN,
        "alt_ids": {host: pcr.ref},
        "attachments": {"JSON": _url(base_url, JSON_PATH, pcr)},
        "ext": {EXTENSION: _extension(record) | _backgrounds(pcr)},
    }
    return {k: v for k, v in metadata.items() if v is not None}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _extension(record: PcrRecordView) -> dict[str, Any]:
    """What openEPD has no field for: the life-cycle state and its dates, the successor, the previous version."""
    values = {
        "status": record.status,
        "published_at": _iso(record.published_at),
        "superseded_by": record.superseded_by,
        "transition_until": _iso(record.transition_until),
        "previous_version": record.based_on,
    }
    return {k: v for k, v in values.items() if v is not None}


def _backgrounds(pcr: PCR) -> dict[str, Any]:
    """The input items linked to activities of imported background databases (left out where none is): a tool
    reading the PCR sees which background data every manufacturer under it takes, and the factor set's activity
    taken where a deployment lacks the database."""
    links = [
        {"item": item.id, **item.background.model_dump(mode="json", exclude_none=True), "fallback": item.activity}
        for item in pcr.items
        if item.background
    ]
    return {"backgrounds": links} if links else {}


def pcr_json(pcr: PCR) -> dict[str, Any]:
    """The rules as the service serves them: the model's JSON, keys in the model's field order and the keys of its
    free mappings (formula_config, captive_fuels) sorted, so equal rules give the same bytes however they were
    loaded."""
    return _stable(pcr, pcr.model_dump(mode="json"))


def _stable(value: Any, dumped: Any) -> Any:
    if isinstance(value, BaseModel):
        return {key: _stable(getattr(value, key), dumped[key]) for key in dumped}
    if isinstance(value, dict):
        return {key: _stable(value[key], dumped[key]) for key in sorted(dumped)}
    if isinstance(value, list):
        return [_stable(v, d) for v, d in zip(value, dumped, strict=True)]
    return dumped
