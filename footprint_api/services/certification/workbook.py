"""The workbook an application's inventory was uploaded in, read only by the two parties of the application
(as its evidence)."""

import uuid
from dataclasses import dataclass

from sqlmodel import Session

from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Footprint, InventoryRecord
from footprint_api.services import excel, labels
from footprint_api.services.certification.evidence import XLSX
from footprint_api.services.certification.parties import visible
from footprint_api.services.certification.refusals import _coded


@dataclass(frozen=True)
class Workbook:
    name: str  # as it was uploaded
    download_name: str  # ASCII, for Content-Disposition
    content_type: str
    data: bytes


def workbook_file(session: Session, principal: Principal, application_id: uuid.UUID) -> Workbook:
    """The workbook the application's inventory was uploaded in, byte for byte, for the two parties of the
    application only (as its evidence); 404 when the inventory was entered in the form or the JSON API."""
    application = visible(session, principal, application_id)
    record = session.get(InventoryRecord, session.get(Footprint, application.footprint_id).inventory_id)
    try:
        data = excel.source_workbook(record)
    except labels.StorageUnavailable as exc:
        raise _coded(exc, "cert.error.storage") from None
    name = record.source_file_name or "inventory.xlsx"
    return Workbook(name, excel.source_download_name(record), XLSX, data)
