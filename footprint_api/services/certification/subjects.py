"""What a finding is about: its subject's code, and its name in the inventory it was raised on and in the
reader's language."""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, select

from footprint_api.core.messages import Catalogue
from footprint_api.persistence.models import Application, AuditEvent, Finding, Footprint, InventoryRecord
from footprint_api.services.certification.vocabulary import pcr_vocabulary

_INDEXED = re.compile(r"^(items|captive_power\.units|measured_emissions)\[(\d{1,4})\]$")
# the lists a finding may name a row of: the code's list -> (kind, the list's path in an inventory, a row's name)
_LISTS = {
    "items": ("item", ("items",), "item"),
    "captive_power.units": ("captive_unit", ("captive_power", "units"), "name"),
    "measured_emissions": ("measured", ("measured_emissions",), "gas"),
}
WHOLE_SUBJECTS = ("production", "facility", "green_certificates", "result")  # parts a finding may be about
GASES = {"co2": "CO₂", "ch4": "CH₄", "n2o": "N₂O"}


@dataclass(frozen=True)
class Subject:
    """What a finding is about. Stored as its code (`items[6]`, `production`); named for people by its kind, its
    row (from 1) and what the inventory the finding was raised on has there: the PCR item, the generating unit's
    name, the measured gas."""

    code: str
    kind: str  # item | captive_unit | captive_power | measured | production | facility | green_certificates | …
    number: int | None = None
    ref: str = ""


def _list_at(data: dict, path: tuple[str, ...]) -> list:
    for key in path:
        data = (data.get(key) if isinstance(data, dict) else None) or {}
    return data if isinstance(data, list) else []


def subject_of(code: str, data: dict) -> Subject:
    """The subject a code names in an inventory (a code the pages do not offer, from the API, is kind 'other')."""
    indexed = _INDEXED.match(code)
    if indexed:
        kind, path, named_by = _LISTS[indexed.group(1)]
        index, rows = int(indexed.group(2)), _list_at(data, path)
        row = rows[index] if index < len(rows) and isinstance(rows[index], dict) else {}
        return Subject(code, kind, index + 1, str(row.get(named_by) or ""))
    if code in (*WHOLE_SUBJECTS, "captive_power"):
        return Subject(code, code)
    return Subject(code, "other")


def subjects_to_choose(data: dict) -> list[Subject]:
    """What a verifier may raise a finding about in an inventory: each item, generating unit and measurement, then
    the production, the facility, the certificates and the result."""
    units = (data.get("captive_power") or {}).get("units", [])
    codes = (
        [f"items[{i}]" for i in range(len(data.get("items", [])))]
        + [f"captive_power.units[{i}]" for i in range(len(units))]
        + (["captive_power"] if units else [])
        + [f"measured_emissions[{i}]" for i in range(len(data.get("measured_emissions", [])))]
        + list(WHOLE_SUBJECTS)
    )
    return [subject_of(code, data) for code in codes]


def subject_name(t: Catalogue, subject: Subject, item_names: Mapping[str, str]) -> str:
    """The subject in the reader's language: "清单项 7：外购电力", "产量"; a code the pages do not know, as written."""
    if subject.kind == "item" and not subject.ref:  # a row the inventory does not have
        return t("cert.subject.item_row", number=subject.number)
    if subject.kind == "item":
        return t("cert.subject.item", number=subject.number, name=item_names.get(subject.ref, subject.ref))
    if subject.kind == "captive_unit":
        return t("cert.subject.captive_unit", number=subject.number, name=subject.ref)
    if subject.kind == "measured":
        return t("cert.subject.measured", number=subject.number, gas=GASES.get(subject.ref, subject.ref))
    return t.messages.get(f"cert.subject.{subject.kind}", subject.code)


def _raised_on(application: Application, events: list[dict]) -> dict[str, uuid.UUID]:
    """{finding id: the footprint the application named when the finding was raised}, from its history: the one it
    was made with, then each corrected one a resubmission named."""
    current, raised = application.footprint_id, {}
    created = next((e for e in events if e["action"] == "application.created"), None)
    if created and created["after"].get("footprint_id"):
        current = uuid.UUID(created["after"]["footprint_id"])
    for event in events:
        if event["action"] == "application.resubmit" and event["after"].get("footprint_id"):
            current = uuid.UUID(event["after"]["footprint_id"])
        elif event["action"] == "finding.raised" and event["after"].get("finding_id"):
            raised[event["after"]["finding_id"]] = current
    return raised


def finding_subjects(
    session: Session, application: Application, found: list[Finding], events: list[dict]
) -> dict[uuid.UUID, Subject]:
    """Each finding's subject, read in the inventory it was raised on (a later version may order its items
    otherwise)."""
    raised = _raised_on(application, events)
    inventories: dict[uuid.UUID, dict] = {}

    def data_of(footprint_id: uuid.UUID) -> dict:
        if footprint_id not in inventories:
            footprint = session.get(Footprint, footprint_id)
            record = session.get(InventoryRecord, footprint.inventory_id) if footprint else None
            inventories[footprint_id] = record.data if record else {}
        return inventories[footprint_id]

    return {f.id: subject_of(f.subject, data_of(raised.get(str(f.id), application.footprint_id))) for f in found}


def subject_names(session: Session, found: list[Finding], t: Catalogue) -> dict[uuid.UUID, str]:
    """Findings of any applications named in the reader's language (for a list of findings, a notice, a mail):
    {finding id: "清单项 7：外购电力"}. The caller has already decided that the reader may see them."""
    names: dict[uuid.UUID, str] = {}
    for application_id in {f.application_id for f in found}:
        application = session.get(Application, application_id)
        events = [
            {"action": e.action, "after": e.after or {}}
            for e in session.exec(
                select(AuditEvent)
                .where(AuditEvent.object_type == "application", AuditEvent.object_id == str(application_id))
                .order_by(AuditEvent.seq)
            )
        ]
        mine = [f for f in found if f.application_id == application_id]
        footprint = session.get(Footprint, application.footprint_id)
        vocabulary = pcr_vocabulary(footprint.pcr_id, footprint.pcr_version, t.lang)
        for finding_id, subject in finding_subjects(session, application, mine, events).items():
            names[finding_id] = subject_name(t, subject, vocabulary.items)
    return names
