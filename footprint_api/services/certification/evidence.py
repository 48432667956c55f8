"""Evidence documents of an application: checked by their content (magic bytes) against the kind their name
claims, stored content-addressed in the object store and read only by the two parties of the application."""

import csv
import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass

from sqlmodel import Session, col, select

from footprint_api.core.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from footprint_api.infra.objects import object_store
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import EvidenceDocument, User
from footprint_api.services import audit, labels
from footprint_api.services.certification.parties import _party, visible
from footprint_api.services.certification.refusals import _coded, _refusal
from footprint_api.services.principals import actor
from label_service.storage import CONTENT_TYPES, StorageError
from label_service.workflow import ApplicationState, Party

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
MAX_EVIDENCE_NAME = 200
PDF, PNG, JPEG, CSV, TEXT, HTML = "application/pdf", "image/png", "image/jpeg", "text/csv", "text/plain", "text/html"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# the kinds of document a name may claim, by its extension; evidence is any of them the object store keeps
NAMED_KINDS = {"pdf": PDF, "png": PNG, "jpg": JPEG, "jpeg": JPEG, "xlsx": XLSX, "docx": DOCX, "csv": CSV, "txt": TEXT}
# content type -> the extension it is stored under (the first the store knows: jpg before jpeg)
EVIDENCE_TYPES = {kind: ext for ext, kind in reversed(NAMED_KINDS.items()) if ext in CONTENT_TYPES}
CLAIMED = {ext: kind for ext, kind in NAMED_KINDS.items() if kind in EVIDENCE_TYPES}
EXTENSIONS = tuple(f".{ext}" for ext in CLAIMED)  # for the file field's accept and the messages
TEXT_KINDS = (CSV, TEXT)  # text has no magic number: its name says which of the two it is
# what the messages call each kind (the same in both languages)
KIND_NAMES = {PDF: "PDF", PNG: "PNG", JPEG: "JPEG", XLSX: "XLSX", DOCX: "DOCX", CSV: "CSV", TEXT: "TXT", HTML: "HTML"}
# the parts an OOXML package of each kind holds (ECMA-376 Part 2, Open Packaging Conventions)
OOXML_PARTS = {XLSX: "xl/workbook.xml", DOCX: "word/document.xml"}
_MARKUP = re.compile(rb"<\s*(!doctype|html|head|body|script|iframe|svg|meta|object|embed|\?xml)\b", re.IGNORECASE)
EVIDENCE_STATES = (
    ApplicationState.DRAFT,
    ApplicationState.SUBMITTED,
    ApplicationState.UNDER_REVIEW,
    ApplicationState.FINDINGS,
    ApplicationState.CORRECTED,
)  # before the decision


@dataclass(frozen=True)
class EvidenceRow:
    document: EvidenceDocument
    uploader: str


def sniff(data: bytes) -> str | None:
    """The content type of a document from its first bytes (its magic number), never from its name. An OOXML file
    is a ZIP holding [Content_Types].xml and its main part (xl/workbook.xml, word/document.xml). Text has no magic
    number: text that decodes as UTF-8 (or GB18030, common in Chinese Excel exports) with no control bytes is
    text/csv, unless it is markup (HTML, SVG, XML), which a browser would run."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        return _ooxml(data)
    if _MARKUP.search(data[:65536]):
        return HTML
    return CSV if _is_text(data) else None


def _ooxml(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist()[:1000])
    except (zipfile.BadZipFile, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    return next((kind for kind, part in OOXML_PARTS.items() if part in names), None)


def _is_text(data: bytes) -> bool:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    if not text.strip() or any(ord(c) < 32 and c not in "\t\r\n" for c in text):
        return False
    try:
        rows = list(csv.reader(io.StringIO(text[:65536])))
    except csv.Error:
        return False
    return len(rows) > 0


def clean_name(name: str) -> str:
    """The document's name as shown: no path, no control characters, bounded."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return (name or "document")[:MAX_EVIDENCE_NAME]


def _ascii_name(name: str, extension: str) -> str:
    """An ASCII file name safe in any Content-Disposition (letters, digits, . _ -), ending in `.extension`."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", unicodedata.normalize("NFKD", name)).strip("._") or "document"
    stem = stem[:100]
    return stem if stem.lower().endswith(f".{extension}") else f"{stem}.{extension}"


def download_name(document: EvidenceDocument) -> str:
    """The document's ASCII download name, ending in the extension of what the file really is; the full name goes
    in RFC 6266 filename* (UTF-8)."""
    return _ascii_name(document.name, EVIDENCE_TYPES.get(document.content_type, "bin"))


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def check_evidence(name: str, data: bytes) -> str:
    """The document's content type, or the error that refuses it: bounded size, not empty, a name that claims a
    kind of evidence (EXTENSIONS) and content of exactly that kind (an HTML page or a PNG named report.pdf is
    refused, so a file is never retyped to what it is not claimed to be)."""
    shown = clean_name(name)
    if len(data) > MAX_EVIDENCE_BYTES:
        mb = MAX_EVIDENCE_BYTES // (1024 * 1024)
        raise _refusal(
            PayloadTooLarge, "cert.error.evidence_too_large", f"the document is larger than {mb} MiB", "file", mb=mb
        )
    if not data:
        raise _refusal(Unprocessable, "cert.error.evidence_empty", "the document is empty", "file", name=shown)
    claimed = CLAIMED.get(_extension(shown))
    if claimed is None:
        raise _refusal(
            Unprocessable,
            "cert.error.evidence_name",
            f"{shown!r} does not end in {', '.join(EXTENSIONS)}",
            "file",
            name=shown,
            extensions=list(EXTENSIONS),
        )
    found = sniff(data)
    if found == CSV and claimed in TEXT_KINDS:
        return claimed
    if found != claimed:
        raise _refusal(
            Unprocessable,
            "cert.error.evidence_mismatch" if found in KIND_NAMES else "cert.error.evidence_unknown",
            f"{shown!r} is named a {KIND_NAMES[claimed]} file but its content is "
            + (f"{KIND_NAMES[found]}" if found in KIND_NAMES else "not a supported kind"),
            "file",
            name=shown,
            claimed=KIND_NAMES[claimed],
            found=KIND_NAMES.get(found, ""),
        )
    return claimed


def upload_evidence(
    session: Session, principal: Principal, application_id: uuid.UUID, name: str, data: bytes
) -> EvidenceDocument:
    application = visible(session, principal, application_id)
    if _party(principal, application) is not Party.MANUFACTURER:
        raise _refusal(Forbidden, "cert.error.manufacturer_attaches", "the manufacturer attaches evidence", "file")
    if application.state not in EVIDENCE_STATES:
        raise _refusal(
            Conflict,
            "cert.error.evidence_closed",
            f"evidence is attached before the decision; the application is {application.state}",
            "file",
            state=application.state,
        )
    content_type = check_evidence(name, data)
    try:
        stored = object_store().put(data, EVIDENCE_TYPES[content_type], prefix="evidence")
    except StorageError as exc:
        raise _coded(
            labels.StorageUnavailable(f"the document could not be stored ({exc}); nothing was attached"),
            "cert.error.storage",
        ) from None
    document = EvidenceDocument(
        application_id=application.id,
        name=clean_name(name),
        content_type=content_type,
        size_bytes=stored.size,
        sha256=hashlib.sha256(data).hexdigest(),
        key=stored.key,
        uploaded_by=principal.subject,
    )
    session.add(document)
    audit.record(
        session,
        actor(principal),
        "evidence.uploaded",
        "application",
        application.id,
        after={
            "document_id": str(document.id),
            "name": document.name,
            "content_type": content_type,
            "size_bytes": document.size_bytes,
            "sha256": document.sha256,
        },
        organisation_id=application.organisation_id,
    )
    audit.commit(session)
    return document


def evidence(session: Session, principal: Principal, application_id: uuid.UUID) -> list[EvidenceRow]:
    application = visible(session, principal, application_id)
    rows = session.exec(
        select(EvidenceDocument, User)
        .outerjoin(User, col(User.id) == col(EvidenceDocument.uploaded_by))
        .where(EvidenceDocument.application_id == application.id)
        .order_by(EvidenceDocument.uploaded_at)
    )
    return [EvidenceRow(document, user.name if user else "") for document, user in rows]


def _read(key: str) -> bytes:
    try:
        return object_store().get(key)
    except StorageError as exc:
        raise _coded(
            labels.StorageUnavailable(f"the document could not be read ({exc})"), "cert.error.storage"
        ) from None


def evidence_file(
    session: Session, principal: Principal, application_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[EvidenceDocument, bytes]:
    application = visible(session, principal, application_id)
    document = session.get(EvidenceDocument, document_id)
    if document is None or document.application_id != application.id:
        raise NotFound("no such document of this application")
    return document, _read(document.key)
