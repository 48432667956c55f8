"""Persistent records (SQLModel). Submitted inventories are never edited: a correction is a new version."""

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """An instant in UTC, stored with its zone (PostgreSQL) or as UTC (SQLite, which drops the zone on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: give instants in UTC")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _timestamp(**kwargs) -> Any:
    return Field(default_factory=utcnow, sa_column_kwargs=kwargs, sa_type=UtcDateTime)


class OrganisationKind(StrEnum):
    MANUFACTURER = "manufacturer"
    CERTIFICATION_BODY = "certification_body"
    PLATFORM = "platform"
    STANDARDS_BODY = "standards_body"  # writes PCRs: an industry association, an institute, a committee
    PROCUREMENT = "procurement"  # buys on labels: a government buyer, a company's purchasing department


class Role(StrEnum):
    MANUFACTURER_MEMBER = "manufacturer_member"
    MANUFACTURER_ADMIN = "manufacturer_admin"
    VERIFIER = "verifier"
    CB_ADMIN = "cb_admin"
    PLATFORM_ADMIN = "platform_admin"
    PACT_RECIPIENT = "pact_recipient"  # a customer's system, reading this manufacturer's footprints over PACT
    PACT_SUPPLIER = "pact_supplier"  # a supplier's system, telling this buyer over PACT events of its footprints
    PCR_AUTHOR = "pcr_author"  # drafts and revises the PCR versions of a standards body
    PCR_CHAIR = "pcr_chair"  # chairs its committee: opens and closes consultations, answers comments, publishes
    PROCUREMENT_OFFICER = "procurement_officer"  # evaluates tenders on labels and awards
    PROCUREMENT_ADMIN = "procurement_admin"  # the procurement organisation's administrator: its people


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Organisation(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(index=True, unique=True)
    kind: OrganisationKind
    created_at: datetime = _timestamp()
    # as Chinese practice registers an organisation: the unified social credit code (统一社会信用代码, GB 32100-2015,
    # 18 characters, the last a check character), its address and a contact
    uscc: str | None = Field(default=None, max_length=18, sa_column_kwargs={"unique": True})
    address: str | None = Field(default=None, max_length=300)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=254)


class User(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(index=True, unique=True)
    name: str
    password_hash: str
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    role: Role
    active: bool = True
    # Tokens issued before this instant are refused (auth.authenticate): set on disable and password reset.
    credentials_valid_after: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = _timestamp()
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ApiClient(SQLModel, table=True):
    """A machine client of an organisation (OAuth2 client credentials)."""

    __tablename__ = "api_client"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: str = Field(index=True, unique=True)
    secret_hash: str
    name: str
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    role: Role
    active: bool = True
    credentials_valid_after: datetime | None = Field(default=None, sa_type=UtcDateTime)  # as User's
    created_at: datetime = _timestamp()


class RevokedToken(SQLModel, table=True):
    __tablename__ = "revoked_token"
    jti: str = Field(primary_key=True)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime = _timestamp()


class Facility(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    name: str
    province: str
    grid_region: str | None = None
    created_at: datetime = _timestamp()


class Product(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    name: str
    model: str | None = None
    gtin: str | None = None
    pcr_id: str
    created_at: datetime = _timestamp()


class InventoryRecord(SQLModel, table=True):
    """One submitted inventory version; the JSON is the validated inventory exactly as submitted."""

    __tablename__ = "inventory"
    __table_args__ = (UniqueConstraint("product_id", "version", name="uq_inventory_product_version"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    product_id: uuid.UUID = Field(foreign_key="product.id", index=True)
    facility_id: uuid.UUID | None = Field(default=None, foreign_key="facility.id")
    version: int
    pcr_id: str
    pcr_version: str
    data: dict = Field(sa_column=Column(JSON, nullable=False))
    source: str = "json"  # json | excel
    # an inventory read from a workbook keeps the workbook as uploaded (object store, by SHA-256) for the verifier
    source_file_key: str | None = Field(default=None, max_length=200)
    source_file_name: str | None = Field(default=None, max_length=255)
    submitted_by: uuid.UUID | None = None
    created_at: datetime = _timestamp()


class CertificateRetirement(SQLModel, table=True):
    """A batch of green certificates (the serial range ``serial`` .. ``serial_last``) retired into one pool: a
    claimant (the facility, or the product of an inventory without facility) and a reference period. Its
    inventories draw MWh from it (CertificateDraw); a retirement is final.

    No two retired batches overlap anywhere in the service: migration 0010 lets the database refuse it (PostgreSQL:
    an exclusion constraint on (serial_prefix, int8range(first, last)); SQLite: triggers). ``drawn_mwh``, the sum
    of the batch's active draws, is kept within ``batch_mwh`` by a CHECK constraint.
    """

    __tablename__ = "certificate_retirement"
    __table_args__ = (
        CheckConstraint("serial_first_number <= serial_last_number", name="ck_certificate_retirement_range"),
        CheckConstraint("drawn_mwh >= 0 AND drawn_mwh <= batch_mwh", name="ck_certificate_retirement_drawn"),
        Index("ix_certificate_retirement_range", "serial_prefix", "serial_first_number", "serial_last_number"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    serial: str = Field(unique=True, index=True)  # the batch's first serial, as written
    serial_last: str  # its last serial (inclusive), as written or counted from the first
    serial_prefix: str  # what the serials share before their trailing number
    serial_first_number: int = Field(sa_type=BigInteger)
    serial_last_number: int = Field(sa_type=BigInteger)
    batch_mwh: int = Field(sa_type=BigInteger)  # 1 GEC = 1 MWh
    drawn_mwh: int = Field(default=0, sa_type=BigInteger)
    technology: str
    generation_month: str
    province: str
    plant: str | None = None
    instrument: str
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    facility_id: uuid.UUID | None = Field(default=None, foreign_key="facility.id", index=True)
    product_id: uuid.UUID | None = Field(default=None, foreign_key="product.id", index=True)  # claimant w/o facility
    period_start: date
    period_end: date
    inventory_id: uuid.UUID = Field(foreign_key="inventory.id", index=True)  # the inventory that retired it
    retired_by: uuid.UUID | None = None
    retired_at: datetime = _timestamp()


class CertificateDraw(SQLModel, table=True):
    """MWh of a retired batch that one inventory version claims. Released (never deleted) when a newer version of
    the product for the same period replaces it, or when the application certifying it is withdrawn or rejected."""

    __tablename__ = "certificate_draw"
    __table_args__ = (CheckConstraint("amount_mwh > 0", name="ck_certificate_draw_amount"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    retirement_id: uuid.UUID = Field(foreign_key="certificate_retirement.id", index=True)
    inventory_id: uuid.UUID = Field(foreign_key="inventory.id", index=True)
    product_id: uuid.UUID = Field(foreign_key="product.id", index=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    amount_mwh: int = Field(sa_type=BigInteger)
    created_at: datetime = _timestamp()
    released_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    released_reason: str | None = None


class Job(SQLModel, table=True):
    # the outbox: queued jobs not yet taken by the broker, which the housekeeping task sends
    __table_args__ = (Index("ix_job_outbox", "status", "dispatched_at"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    kind: str = "calculate_footprint"
    inventory_id: uuid.UUID = Field(foreign_key="inventory.id", index=True)
    parameters: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: JobStatus = JobStatus.QUEUED
    progress: float = 0.0
    attempts: int = 0
    error: str | None = None
    footprint_id: uuid.UUID | None = None
    requested_by: uuid.UUID | None = None
    created_at: datetime = _timestamp()
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # the running worker's lease: renewed every few seconds while it calculates; a job whose lease lapsed belongs
    # to a dead worker and is queued again by the housekeeping task
    heartbeat_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # the outbox mark: empty until the broker took the job's message (the job is written first, in the request's
    # transaction; the message is sent after the commit, by the request or else by the housekeeping task)
    dispatched_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # a batch's item (kind "batch_item"): the batch job it belongs to and its place in the batch's list. Its id is
    # derived from the two (services.footprints.item_job_id), so a batch taken over from a dead worker writes no item
    # twice; it never enters the outbox (the batch job is what is sent)
    batch_id: uuid.UUID | None = Field(default=None, index=True)
    position: int | None = None


class Footprint(SQLModel, table=True):
    """The stored result of one calculation job (one job, one footprint, however often the task runs)."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    inventory_id: uuid.UUID = Field(foreign_key="inventory.id", index=True)
    job_id: uuid.UUID = Field(foreign_key="job.id", unique=True)
    pcr_id: str
    pcr_version: str
    factor_set: str
    total_kg_co2e: float
    declared_unit: str
    result: dict = Field(sa_column=Column(JSON, nullable=False))
    # the result as JSON, serialised once when stored: the read of a footprint answers these bytes as they are
    # (None for footprints stored before migration 0018: those are serialised on read)
    result_json: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = _timestamp()


class Submission(SQLModel, table=True):
    """A footprint submitted to a certification body: what that body may see."""

    __table_args__ = (UniqueConstraint("footprint_id", "certification_body_id", name="uq_submission"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    footprint_id: uuid.UUID = Field(foreign_key="footprint.id", index=True)
    certification_body_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    submitted_by: uuid.UUID | None = None
    created_at: datetime = _timestamp()


class SigningKey(SQLModel, table=True):
    """A certification body's label-signing key: the public part here and published, the private part in the key
    store (label_service.keys). A rotated key is retired, never deleted: earlier labels still verify."""

    __tablename__ = "signing_key"
    kid: str = Field(primary_key=True, max_length=16)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    public_key: str  # raw Ed25519, base64url (the JWK's x)
    created_at: datetime = _timestamp()
    retired_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Application(SQLModel, table=True):
    """An application for certification of a footprint, addressed to one certification body."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)  # the manufacturer
    certification_body_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    footprint_id: uuid.UUID = Field(foreign_key="footprint.id", index=True)  # the latest (corrected) one
    previous_footprint_id: uuid.UUID | None = Field(default=None, foreign_key="footprint.id")  # before resubmit
    product_id: uuid.UUID = Field(foreign_key="product.id", index=True)
    state: str = Field(default="draft", index=True)
    label_kind: str = "footprint"
    created_by: uuid.UUID | None = None
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    # the verification statement of the approval (ISO 14064-3 §6.3.4 / ISO 14065: the opinion and who gave it)
    statement: str | None = Field(default=None, sa_type=Text)
    verified_by: uuid.UUID | None = None
    verified_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Finding(SQLModel, table=True):
    """A verifier's finding on one part of the inventory or result (e.g. `items[2]`): the manufacturer answers
    it (optionally naming the corrected footprint), the verifier replies or closes it (label_service.workflow)."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(foreign_key="application.id", index=True)
    subject: str = Field(max_length=200)  # the field or item the finding is about
    text: str = Field(sa_type=Text)
    raised_by: uuid.UUID | None = None
    raised_at: datetime = _timestamp()
    state: str = Field(default="open", max_length=20)
    answer: str | None = Field(default=None, sa_type=Text)
    answer_footprint_id: uuid.UUID | None = Field(default=None, foreign_key="footprint.id")
    answered_by: uuid.UUID | None = None
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reply: str | None = Field(default=None, sa_type=Text)  # the verifier's last reply (or closing note)
    closed_by: uuid.UUID | None = None
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # when the verifier closed it


class EvidenceDocument(SQLModel, table=True):
    """A document the manufacturer attached to an application (a meter reading, an invoice, a certificate), kept
    in the object store under its SHA-256; readable by the manufacturer and the body the application is for."""

    __tablename__ = "evidence_document"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(foreign_key="application.id", index=True)
    name: str = Field(max_length=200)  # as the uploader named it (shown escaped; downloads get a safe name)
    content_type: str = Field(max_length=100)  # from the content's magic bytes, not from the name
    size_bytes: int
    sha256: str = Field(max_length=64)
    key: str = Field(max_length=200)  # the object store's key
    uploaded_by: uuid.UUID | None = None
    uploaded_at: datetime = _timestamp()


class LabelCounter(SQLModel, table=True):
    """The last label sequence number of a year, taken with one atomic UPDATE: unique numbers under concurrency
    (a number whose issuance then fails is not reused: numbers are unique, not gapless)."""

    __tablename__ = "label_counter"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class Label(SQLModel, table=True):
    """An issued carbon label: its signed statement, its files and its state. Public once issued."""

    __table_args__ = (
        UniqueConstraint("year", "sequence", name="uq_label_sequence"),
        # one label in force per product and PCR: a newer label supersedes the earlier one
        Index(
            "uq_label_in_force",
            "product_id",
            "pcr_id",
            unique=True,
            sqlite_where=text("state IN ('active', 'suspended')"),
            postgresql_where=text("state IN ('active', 'suspended')"),
        ),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    number: str = Field(unique=True, max_length=20)
    year: int
    sequence: int
    application_id: uuid.UUID = Field(foreign_key="application.id", unique=True)
    footprint_id: uuid.UUID = Field(foreign_key="footprint.id", index=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)  # the manufacturer
    issuer_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    kind: str = "footprint"
    pcr_id: str = Field(index=True)
    pcr_version: str
    product_name: str
    manufacturer_name: str = Field(index=True)
    gtin: str | None = Field(default=None, index=True)
    value: str  # as signed: 4 significant digits
    total_kg_co2e: float = Field(index=True)
    declared_unit: str
    issued_on: date
    expires_on: date = Field(index=True)
    state: str = Field(default="active", index=True)
    # the last state change: when, why (the certification body's words) and, when superseded, by which label
    state_changed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    state_reason: str | None = Field(default=None, sa_type=Text)
    superseded_by: str | None = Field(default=None, max_length=20)
    product_id: uuid.UUID | None = Field(default=None, foreign_key="product.id", index=True)
    # the comparable group (services.benchmarks): PCR major version, product class (PCR `classification`), declared
    # unit; with the footprint's reference year and province. Filled at issuance (earlier labels: at start).
    pcr_major: int | None = None
    product_class: str | None = Field(default=None, max_length=200)
    reference_year: int | None = None
    province: str | None = Field(default=None, max_length=60)
    # the grade against the benchmark in force when the label was issued (None: no benchmark then)
    benchmark_at_issue_id: uuid.UUID | None = Field(default=None, foreign_key="benchmark.id")
    grade_at_issue: int | None = None
    grade_ratio_at_issue: float | None = None
    key_id: str = Field(foreign_key="signing_key.kid")
    token: str = Field(sa_type=Text)  # compact JWS of the claim
    compact: str | None = Field(default=None, sa_type=Text)  # the offline code: COSE_Sign1 CWT, Base45
    qr_content: str = Field(sa_type=Text)  # what the on-pack code carries: the short URL or GS1 Digital Link
    files: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class PactShare(SQLModel, table=True):
    """A footprint a manufacturer shares over PACT with one recipient client, certified or not."""

    __tablename__ = "pact_share"
    __table_args__ = (UniqueConstraint("footprint_id", "client_id", name="uq_pact_share"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    footprint_id: uuid.UUID = Field(foreign_key="footprint.id", index=True)
    client_id: uuid.UUID = Field(foreign_key="api_client.id", index=True)
    shared_by: uuid.UUID | None = None
    created_at: datetime = _timestamp()


class PactEndpoint(SQLModel, table=True):
    """Where a PACT recipient's own PACT API is, to answer its requests: base URL and the credentials it issued to
    this service (the secret encrypted with a key derived from the service's secret key)."""

    __tablename__ = "pact_endpoint"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="api_client.id", unique=True)
    base_url: str = Field(max_length=500)
    token_client_id: str = Field(max_length=200)
    token_secret_encrypted: str = Field(sa_type=Text)
    updated_at: datetime = _timestamp()


class PactRequest(SQLModel, table=True):
    """A recipient's RequestCreatedEvent and how it was answered (fulfilled or rejected, delivered or not)."""

    __tablename__ = "pact_request"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_pact_request_event"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    event_id: str = Field(max_length=200)
    source: str = Field(max_length=500)
    client_id: uuid.UUID = Field(foreign_key="api_client.id", index=True)
    criteria: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = "accepted"  # accepted | fulfilled | rejected | undeliverable
    answer: dict | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = None
    created_at: datetime = _timestamp()
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AuditEvent(SQLModel, table=True):
    """Append-only; each entry's hash covers its content and the previous entry's hash."""

    __tablename__ = "audit_event"
    seq: int | None = Field(default=None, primary_key=True)
    at: datetime = _timestamp()
    actor_id: str | None = None
    actor_kind: str  # user | client | system
    organisation_id: uuid.UUID | None = Field(default=None, index=True)
    action: str
    object_type: str
    object_id: str
    before: dict | None = Field(default=None, sa_column=Column(JSON))
    after: dict | None = Field(default=None, sa_column=Column(JSON))
    prev_hash: str = Field(unique=True)  # a chain cannot fork: two entries never share a predecessor
    hash: str = Field(unique=True)
    # HMAC-SHA256 of the hash under a key derived from the service's secret key: whoever edits the database can
    # recompute the hashes, not this (None: entries written before the trail was sealed)
    mac: str | None = None


class AuditCheckpoint(SQLModel, table=True):
    """The head of the audit trail at a moment, sealed with the service's key: entries deleted from the end of the
    trail, or a chain recomputed after an edit, no longer match the latest checkpoint."""

    __tablename__ = "audit_checkpoint"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: str
    at: datetime = _timestamp()
    mac: str


class AuthThrottle(SQLModel, table=True):
    """Failed sign-ins of one account or from one address in the current window, and until when it is locked
    (footprint_api.services.throttle)."""

    __tablename__ = "auth_throttle"
    key: str = Field(primary_key=True, max_length=300)  # "account:{e-mail or client id}" | "address:{ip}"
    failures: int = 0
    window_start: datetime = _timestamp()
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ProductCategoryRule(SQLModel, table=True):
    """A PCR (its id, e.g. PCR-CN-CEMENT) and the standards body that writes its versions. The versions seeded from
    the package's files have no steward until the platform admin gives them one."""

    __tablename__ = "pcr"
    id: str = Field(primary_key=True, max_length=100)
    steward_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    created_at: datetime = _timestamp()


class PCRVersion(SQLModel, table=True):
    """One version of a PCR and where it stands in its life cycle (pcr_rules.lifecycle). Once published its
    document, dates and issuer never change: migration 0011 lets the database refuse it (triggers), and every
    process may cache it for good."""

    __tablename__ = "pcr_version"
    __table_args__ = (
        UniqueConstraint("pcr_id", "version", name="uq_pcr_version"),
        Index("ix_pcr_version_order", "pcr_id", "major", "minor", "patch"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    pcr_id: str = Field(foreign_key="pcr.id", max_length=100)
    version: str = Field(max_length=20)  # MAJOR.MINOR.PATCH
    major: int
    minor: int
    patch: int
    state: str = Field(default="draft", max_length=20, index=True)
    document: dict = Field(sa_column=Column(JSON, nullable=False))  # the PCR as its authors wrote it
    organisation_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)  # the issuer
    source: str = Field(default="authored", max_length=200)  # "authored", or the seed file it was loaded from
    based_on: str | None = Field(default=None, max_length=20)  # the published version it started as a copy of
    consultation_until: date | None = None  # the last day of the public consultation
    effective_from: date | None = None
    valid_until: date | None = None
    transition_until: date | None = None  # once superseded: the last day a reference period under it may end
    superseded_by: str | None = Field(default=None, max_length=20)
    reason: str | None = Field(default=None, sa_type=Text)  # why it was withdrawn
    created_by: uuid.UUID | None = None
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    published_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    published_by: uuid.UUID | None = None
    state_changed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class PCRComment(SQLModel, table=True):
    """A comment of the public consultation on one section or item of a version (`path`, e.g. `items[alumina]` or
    `electricity`) and the chair's answer; part of the version's published record."""

    __tablename__ = "pcr_comment"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = Field(foreign_key="pcr_version.id", index=True)
    path: str = Field(max_length=200)
    text: str = Field(sa_type=Text)
    author_id: uuid.UUID | None = None
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)  # the commenter's
    created_at: datetime = _timestamp()
    state: str = Field(default="open", max_length=20)
    answer: str | None = Field(default=None, sa_type=Text)
    answered_by: uuid.UUID | None = None
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class PCRRegistryState(SQLModel, table=True):
    """One row: a number raised in the same transaction as every change of the published versions (publish,
    supersede, expire, withdraw), so a process knows with one primary-key read whether its listing is current."""

    __tablename__ = "pcr_registry_state"
    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    generation: int = Field(default=0, sa_type=BigInteger)
    changed_at: datetime = _timestamp()


class Notice(SQLModel, table=True):
    """A notice to one user (the in-application inbox, and e-mail when an SMTP server is configured): what happened
    (`kind`, e.g. `label.issued`), to what (`params`, rendered in the reader's language) and where to look (`link`).
    `event_key` makes each notice once per user however often its cause is seen (e.g. a label expiring)."""

    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("user_id", "event_key", name="uq_notice_event"),
        Index("ix_notice_user_unread", "user_id", "read_at", "created_at"),  # the inbox: unread, newest first
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True)
    kind: str = Field(max_length=60)
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    link: str | None = Field(default=None, max_length=300)
    event_key: str = Field(max_length=200)
    created_at: datetime = _timestamp()
    read_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    emailed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SupplierConnection(SQLModel, table=True):
    """A buyer's connection to a supplier's PACT API (the buyer is the data recipient): where it is and the client
    credentials the supplier issued, the secret stored encrypted (footprint_api.services.pact.suppliers)."""

    __tablename__ = "supplier_connection"
    __table_args__ = (UniqueConstraint("organisation_id", "name", name="uq_supplier_connection_name"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)  # the buyer
    name: str = Field(max_length=200)  # the supplier as the buyer calls it
    base_url: str = Field(max_length=500)
    token_client_id: str = Field(max_length=200)
    token_secret_encrypted: str = Field(sa_type=Text)
    active: bool = True
    created_by: uuid.UUID | None = None
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    last_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, max_length=500)


class SupplierFootprint(SQLModel, table=True):
    """A supplier's PACT ProductFootprint as the buyer received it: pulled over a connection, delivered by an event,
    or uploaded as a file. `document` is the footprint exactly as received; the columns are what the service reads
    from it. A newer version of the same footprint (same PACT id) is a row of its own; the older one is then
    `Deprecated`."""

    __tablename__ = "supplier_footprint"
    __table_args__ = (UniqueConstraint("organisation_id", "pf_id", "pf_version", name="uq_supplier_footprint"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)  # the buyer who holds it
    connection_id: uuid.UUID | None = Field(default=None, foreign_key="supplier_connection.id", index=True)
    origin: str = Field(max_length=20)  # pulled | event | uploaded
    pf_id: str = Field(max_length=64, index=True)  # the PACT id (a UUID as the supplier wrote it)
    pf_version: int = 0  # PACT v2 `version`; v3 has none: the order received (0, 1, ...)
    status: str = Field(default="Active", max_length=20)  # Active | Deprecated
    company_name: str = Field(max_length=300)
    product_name: str = Field(max_length=300)
    product_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    declared_unit: str = Field(max_length=40)  # PACT declaredUnitOfMeasurement, e.g. kilogram, kilowattHour
    declared_amount: float  # PACT declaredUnitAmount
    pcf_excluding_biogenic: float  # kg CO2e per declaredUnitAmount
    pcf_including_biogenic: float | None = None
    primary_data_share: float | None = None  # 0..1 (PACT gives a percentage)
    dqi: dict | None = Field(default=None, sa_column=Column(JSON))
    assurance: dict | None = Field(default=None, sa_column=Column(JSON))
    verified: bool = False  # carries third-party assurance
    reference_period_start: date | None = None
    reference_period_end: date | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    document: dict = Field(sa_column=Column(JSON, nullable=False))
    received_by: uuid.UUID | None = None
    received_at: datetime = _timestamp()
    deprecated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    successor_id: uuid.UUID | None = Field(default=None, foreign_key="supplier_footprint.id")


class SupplyLink(SQLModel, table=True):
    """One purchased input of an inventory version that rests on a supplier's value: a label of this service, a PACT
    footprint received from the supplier, or an entry of a factor-database release. Written when the inventory is
    submitted (the value resolved then), read by every calculation of that version, and marked affected when the
    source is withdrawn (a label suspended, revoked, superseded or expired; a PACT footprint deprecated)."""

    __tablename__ = "supply_link"
    __table_args__ = (UniqueConstraint("inventory_id", "item_index", name="uq_supply_link_item"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)  # the buyer
    inventory_id: uuid.UUID = Field(foreign_key="inventory.id", index=True)
    product_id: uuid.UUID = Field(foreign_key="product.id", index=True)
    item_index: int  # position in the inventory's items
    item: str = Field(max_length=100)  # the PCR item id
    kind: str = Field(max_length=20)  # label | pact | release
    reference: str = Field(max_length=400)  # the label number, the PACT id, or "<release>/<entry key>"
    label_id: uuid.UUID | None = Field(default=None, foreign_key="label.id", index=True)
    supplier_footprint_id: uuid.UUID | None = Field(default=None, foreign_key="supplier_footprint.id", index=True)
    release_entry_id: uuid.UUID | None = Field(default=None, foreign_key="factor_entry.id", index=True)
    supplier_name: str = Field(max_length=300)
    supplier_product: str = Field(max_length=300)
    supplier_organisation_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id")  # label kind
    supplier_product_id: uuid.UUID | None = Field(default=None, foreign_key="product.id")  # label kind: for cycles
    value_per_declared_unit: float  # kg CO2e per the source's declared unit
    declared_unit: str = Field(max_length=40)  # as the source states it, e.g. "1 t", "1 kWh", "1 kilogram"
    value_per_item_unit: float  # kg CO2e per unit of the item (the conversion the calculation uses)
    item_unit: str = Field(max_length=40)
    pcr_ref: str | None = Field(default=None, max_length=140)  # e.g. PCR-CN-CLINKER@1.0.0
    valid_from: date | None = None
    valid_until: date | None = None
    verified: bool = False  # a label, or a PACT footprint with assurance, or a release entry (verified data)
    assurance: str | None = Field(default=None, max_length=300)  # who verified it: the certification body, ...
    primary_data_share: float | None = None  # 0..1, the source's own
    dqr: float | None = None  # the source's data-quality rating, 1 (best) to 5
    created_at: datetime = _timestamp()
    affected_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    affected_reason: str | None = Field(default=None, max_length=60)  # code: label.revoked, pact.deprecated, ...
    affected_params: dict | None = Field(default=None, sa_column=Column(JSON))  # e.g. the successor's number


class FactorConsent(SQLModel, table=True):
    """A manufacturer's consent that the certified value of one of its labels enters the factor database's releases:
    anonymously (only in averages of three or more labels) or named."""

    __tablename__ = "factor_consent"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    label_id: uuid.UUID = Field(foreign_key="label.id", unique=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    level: str = Field(max_length=20)  # anonymous | named
    given_by: uuid.UUID | None = None
    given_at: datetime = _timestamp()
    withdrawn_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class FactorRelease(SQLModel, table=True):
    """A numbered, immutable release of the factor database (e.g. "2026.1"): product-level factors from certified
    labels whose manufacturers consented. Cut once by the platform admin; never edited."""

    __tablename__ = "factor_release"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    title: str = Field(max_length=300)
    title_zh: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, sa_type=Text)
    previous_id: uuid.UUID | None = Field(default=None, foreign_key="factor_release.id")
    entry_count: int = 0
    label_count: int = 0
    digest: str = Field(max_length=64)  # SHA-256 of the release's canonical JSON
    files: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # format -> object key
    cut_by: uuid.UUID | None = None
    cut_at: datetime = _timestamp()


class FactorEntry(SQLModel, table=True):
    """One factor of a release: the certified values of a comparable group (PCR major version, product class,
    declared unit, reference year, province) as a count, a mean and a spread."""

    __tablename__ = "factor_entry"
    __table_args__ = (UniqueConstraint("release_id", "key", name="uq_factor_entry_key"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    release_id: uuid.UUID = Field(foreign_key="factor_release.id", index=True)
    key: str = Field(max_length=300)  # stable across releases: the same group has the same key
    pcr_id: str = Field(max_length=100, index=True)
    pcr_major: int
    pcr_versions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    product_category: str = Field(max_length=100)
    product_class: str = Field(default="", max_length=200)  # "" where the PCR declares no classification
    declared_unit: str = Field(max_length=40)  # e.g. "1 t"
    reference_year: int
    province: str | None = Field(default=None, max_length=60)  # None: the national entry
    value: float  # kg CO2e per declared unit: mean of the labels behind it
    gases: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # kg per declared unit by gas
    dqr: float | None = None
    label_count: int
    organisation_count: int
    value_min: float
    value_max: float
    value_sd: float | None = None
    named_manufacturer: str | None = Field(default=None, max_length=300)  # only with named consent
    sources: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # label numbers behind it


class Benchmark(SQLModel, table=True):
    """The benchmark of a comparable group for a year: computed from the registry (median and percentiles of valid
    labels) or set by the platform admin from a cited source (an industry average, a standard's limit value, a
    buyer's threshold). Versioned: a new version supersedes the one in force; none is edited."""

    __tablename__ = "benchmark"
    __table_args__ = (
        UniqueConstraint(
            "pcr_id", "pcr_major", "product_class", "declared_unit", "year", "version", name="uq_benchmark"
        ),
        Index("ix_benchmark_group", "pcr_id", "pcr_major", "product_class", "declared_unit", "year"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    pcr_id: str = Field(max_length=100)
    pcr_major: int
    product_class: str = Field(default="", max_length=200)
    declared_unit: str = Field(max_length=40)
    year: int
    version: int
    basis: str = Field(max_length=20)  # registry | cited
    value: float  # the reference value per declared unit: the registry median, or the cited value
    percentiles: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # "p20": ..., registry
    label_count: int = 0  # registry basis: the labels it was computed from
    citation: str | None = Field(default=None, sa_type=Text)  # cited basis: document, table, year
    citation_zh: str | None = Field(default=None, sa_type=Text)
    bands: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # ratio upper bounds, grades 1-4
    effective_from: date
    superseded_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_by: uuid.UUID | None = None
    created_at: datetime = _timestamp()


class ProcurementEvaluation(SQLModel, table=True):
    """A buyer's evaluation of tender candidates against one comparable group and a documented rule."""

    __tablename__ = "procurement_evaluation"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)  # the buyer
    title: str = Field(max_length=300)
    reference: str | None = Field(default=None, max_length=100)  # the tender's own number
    pcr_id: str = Field(max_length=100)
    pcr_major: int
    product_class: str = Field(default="", max_length=200)
    declared_unit: str = Field(max_length=40)
    rule: str = Field(max_length=20)  # max_value | max_grade | best_percent | threshold
    rule_value: float
    award_date: date
    min_validity_days: int = 0  # validity left at the award date
    benchmark_id: uuid.UUID | None = Field(default=None, foreign_key="benchmark.id")
    state: str = Field(default="draft", max_length=20)  # draft | evaluated | awarded
    result: dict | None = Field(default=None, sa_column=Column(JSON))  # the last evaluation, as the sheet shows it
    evaluated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    sheet_files: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # format -> object key
    created_by: uuid.UUID | None = None
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class EvaluationCandidate(SQLModel, table=True):
    """One candidate of an evaluation as the buyer gave it (a label number, a GTIN, a row of a supplier's list, with
    the buyer's own columns), what it resolved to, its verdict and whether it was awarded (then watched)."""

    __tablename__ = "evaluation_candidate"
    __table_args__ = (UniqueConstraint("evaluation_id", "position", name="uq_evaluation_candidate_position"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    evaluation_id: uuid.UUID = Field(foreign_key="procurement_evaluation.id", index=True)
    position: int
    given: str = Field(max_length=100)  # as the buyer typed it
    given_kind: str = Field(max_length=20)  # label | gtin
    columns: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # the buyer's own columns
    label_id: uuid.UUID | None = Field(default=None, foreign_key="label.id", index=True)
    verdict: str | None = Field(default=None, max_length=20)  # pass | fail | not_comparable | invalid | unknown
    reasons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # coded: {code, params}
    value: float | None = None
    margin: float | None = None  # threshold minus value, per declared unit (positive: under the threshold)
    grade: int | None = None
    rank: int | None = None
    awarded_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    awarded_by: uuid.UUID | None = None


class BackgroundDatabase(SQLModel, table=True):
    """One version of a background database (issue 22): imported by the platform admin with Brightway's importers
    into a bw2data project of its own, prepared and sampled into a pack (`lca_models.backgrounds`). State: queued |
    importing | needs_attention | preparing | sampling | ready | failed | discarded | retired; `in_use` marks the
    one version of a name that footprints take (one per name, services.backgrounds.activate)."""

    __tablename__ = "background_database"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_background_database_version"),
        Index(
            "uq_background_database_in_use",
            "name",
            unique=True,
            postgresql_where=text("in_use"),
            sqlite_where=text("in_use = 1"),
        ),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=100, index=True)  # e.g. ecoinvent-3.10-cutoff
    version: str = Field(max_length=40)  # e.g. 3.10
    format: str = Field(max_length=20)  # ecospold2 | jsonld | excel | csv
    state: str = Field(default="queued", max_length=20, index=True)
    stage: str | None = Field(default=None, max_length=40)  # what runs now: importing, linking, writing, ...
    progress: float = 0.0  # 0-1 of the whole import
    in_use: bool = False
    source: str = Field(sa_type=Text)  # the file or folder imported (the service's copy of an upload)
    source_name: str | None = Field(default=None, max_length=300)  # the uploaded file's name, as given
    source_bytes: int | None = Field(default=None, sa_type=BigInteger)
    source_digest: str | None = Field(default=None, max_length=64)  # SHA-256 of the file imported
    project: str = Field(max_length=200)  # the bw2data project holding this version alone
    drop_unlinked: bool = False  # proceed: the listed unlinked exchanges are dropped
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    problems: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # unlinked, other
    dropped: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # exchanges dropped, forever
    timings: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # stage -> seconds
    solver: dict | None = Field(default=None, sa_column=Column(JSON))  # lca_models.backgrounds.solver_report()
    digest: str | None = Field(default=None, max_length=64)  # the prepared pack's digest
    samples: int = 0
    failure: str | None = Field(default=None, sa_type=Text)  # why it failed, in English
    failure_code: str | None = Field(default=None, max_length=80)  # the message code of the reason
    created_by: uuid.UUID | None = None
    created_at: datetime = _timestamp()
    dispatched_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # outbox: None until sent
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = _timestamp()


class BackgroundActivity(SQLModel, table=True):
    """An activity of a ready background database version, for the search PCR authors link items through: its
    column in the prepared pack and its total unit score (kg CO2e per unit, IPCC 2021 GWP100)."""

    __tablename__ = "background_activity"
    __table_args__ = (
        UniqueConstraint("database_id", "code", name="uq_background_activity_code"),
        Index("ix_background_activity_name", "database_id", "name"),
    )
    id: int | None = Field(default=None, primary_key=True)
    database_id: uuid.UUID = Field(foreign_key="background_database.id")
    column: int
    code: str = Field(max_length=100)
    name: str = Field(max_length=500)
    reference_product: str | None = Field(default=None, max_length=500)
    location: str = Field(default="", max_length=100)
    unit: str = Field(default="", max_length=50)
    unit_score: float | None = None


class CredentialGeneration(SQLModel, table=True):
    """One row: a number raised in the transaction of every change that ends credentials (a token revoked, an
    account or API client disabled or its credentials ended, a role changed; `persistence.db` raises it on flush).
    Each process trusts the bearer tokens it checked for a few seconds only while this number stays what it read,
    and it reads it at most every 0.1 s (services.principals): a revocation reaches every process within 250 ms."""

    __tablename__ = "credential_generation"
    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0, sa_type=BigInteger)
