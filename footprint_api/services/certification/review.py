"""The review file: what the verifier works from."""

import uuid

from sqlmodel import Session

from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Footprint, InventoryRecord
from footprint_api.services.certification.comparison import in_force_diff, version_diff
from footprint_api.services.certification.evidence import evidence
from footprint_api.services.certification.findings import findings
from footprint_api.services.certification.parties import visible
from footprint_api.services.supplier_data import footprint_sources
from pcr_rules import Inventory, default_registry
from pcr_rules.validation import problems as pcr_problems


def review_file(session: Session, principal: Principal, application_id: uuid.UUID) -> dict:
    """What the verifier works from: the inventory, the PCR checks run again now, the full result, the evidence,
    after a resubmission with a corrected footprint what changed since the previously submitted one, and where the
    product has a label in force, what changed since the inventory that label certified. `supply`: the supplier
    source of every purchased input (a label, PACT footprint or release entry, a figure the buyer typed, or the
    screening value), each withdrawn one marked, so that the verifier sees what the footprint rests on."""
    application = visible(session, principal, application_id)
    footprint = session.get(Footprint, application.footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    inventory = Inventory.model_validate(record.data)
    pcr = default_registry().get(record.pcr_id, record.pcr_version)
    problems = pcr_problems(inventory, pcr)
    diff = None
    if application.previous_footprint_id is not None:
        previous = session.get(Footprint, application.previous_footprint_id)
        diff = version_diff(session.get(InventoryRecord, previous.inventory_id), previous, record, footprint)
    return {
        "application_id": application.id,
        "state": application.state,
        "inventory_id": record.id,
        "inventory_version": record.version,
        "inventory": record.data,
        "workbook": record.source_file_name if record.source_file_key else None,
        "pcr_checks": {
            "pcr": f"{pcr.id} {pcr.version}",
            "passed": not problems,
            "problems": [p.entry() for p in problems],  # the English reason, with its code and params
        },
        "problems": problems,  # the checks' own errors, with their codes, for a page to word
        "footprint_id": footprint.id,
        "result": footprint.result,
        "findings": findings(session, principal, application_id),
        "diff": diff,
        "in_force": in_force_diff(session, application, record, footprint),
        "evidence": [row.document for row in evidence(session, principal, application_id)],
        "supply": footprint_sources(session, principal, footprint),
    }
