"""Request and response bodies of the HTTP API."""

import unicodedata
import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, field_validator
from pydantic_core import PydanticCustomError

from footprint_api.core import uscc
from footprint_api.core.errors import Unprocessable
from footprint_api.persistence.models import JobStatus, OrganisationKind, Role
from label_service.gs1 import gtin14
from lca_models.results import FootprintResult
from pcr_rules.inventory import Inventory


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


PHONE = r"^\+?[0-9][0-9 ()\-]{4,38}$"  # a number as people write it: +86 851 8888 6666, 0851-88886666, 13800138000


def tidy(value):
    """A form's text as stored: full-width characters typed on a Chinese keyboard folded (NFKC: ０８５１ → 0851),
    surrounding spaces dropped; an empty optional field is no value."""
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFKC", value).strip() or None


def checked_uscc(value: str | None) -> str | None:
    """The code as stored, or a validation error whose type is the problem's code (uscc.length, uscc.character,
    uscc.division, uscc.check) and whose context is its parameters (footprint_api.core.uscc, GB 32100-2015)."""
    if value is None:
        return None
    code = uscc.normalised(value)
    problem = uscc.check(code)
    if problem is not None:
        raise PydanticCustomError(problem.code, problem.detail, problem.params)
    return code


class OrganisationContact(BaseModel):
    """Where an organisation is and whom to contact there: what its own admins may change."""

    address: str | None = Field(default=None, max_length=300, description="registered or postal address")
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40, pattern=PHONE)
    contact_email: EmailStr | None = Field(default=None, max_length=254)

    @field_validator("address", "contact_name", "contact_phone", "contact_email", mode="before")
    @classmethod
    def _tidy(cls, value):
        return tidy(value)


USCC_FIELD = Field(
    default=None,
    max_length=40,
    description="unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, the last a check "
    "character; unique",
)


class OrganisationIn(OrganisationContact):
    name: str = Field(min_length=2, max_length=200)
    kind: OrganisationKind
    uscc: str | None = USCC_FIELD

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value):
        return tidy(value) or "" if isinstance(value, str) else value

    @field_validator("uscc", mode="before")
    @classmethod
    def _code(cls, value):
        return tidy(value)

    @field_validator("uscc")
    @classmethod
    def _checked(cls, value: str | None) -> str | None:
        return checked_uscc(value)


class OrganisationUpdate(OrganisationContact):
    """The fields to change (absent: unchanged; null or empty: cleared, except the name). The name and the code are
    the platform admin's to change; the kind never changes (it decides the roles of the organisation's accounts)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=2, max_length=200)
    uscc: str | None = USCC_FIELD

    @field_validator("name", "uscc", mode="before")
    @classmethod
    def _tidy_registration(cls, value):
        return tidy(value)

    @field_validator("uscc")
    @classmethod
    def _checked(cls, value: str | None) -> str | None:
        return checked_uscc(value)


class OrganisationOut(_Out):
    id: uuid.UUID
    name: str
    kind: OrganisationKind
    uscc: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None


class OrganisationSummary(_Out):
    """An organisation as any signed-in person may see it (a certification body to apply to): without its contact."""

    id: uuid.UUID
    name: str
    kind: OrganisationKind
    uscc: str | None = None


class UserIn(BaseModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=12, max_length=256)
    role: Role


class UserOut(_Out):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    organisation_id: uuid.UUID
    active: bool
    last_sign_in_at: datetime | None = None


class ClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role


class ClientOut(BaseModel):
    id: uuid.UUID
    client_id: str
    client_secret: str = Field(description="shown once; only a hash is stored")
    role: Role


class ProductIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    pcr_id: str
    model: str | None = Field(default=None, max_length=200)
    gtin: str | None = Field(
        default=None,
        max_length=20,
        description="GTIN-8/12/13/14 with a valid check digit; stored and returned as GTIN-14",
    )

    @field_validator("gtin")
    @classmethod
    def _gtin14(cls, value: str | None) -> str | None:
        return gtin14(value) if value else None


class ProductOut(_Out):
    id: uuid.UUID
    name: str
    model: str | None
    gtin: str | None
    pcr_id: str


class FacilityIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    province: str = Field(min_length=1, max_length=100)
    grid_region: str | None = None


class FacilityOut(_Out):
    id: uuid.UUID
    name: str
    province: str
    grid_region: str | None


class InventoryIn(BaseModel):
    product_id: uuid.UUID
    facility_id: uuid.UUID | None = None
    inventory: Inventory


class InventoryOut(_Out):
    id: uuid.UUID
    product_id: uuid.UUID
    facility_id: uuid.UUID | None
    version: int
    pcr_id: str
    pcr_version: str
    source: str
    created_at: datetime
    data: dict


class CalculationIn(BaseModel):
    monte_carlo_iterations: int = Field(default=0, ge=0, le=20_000)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


class JobOut(_Out):
    id: uuid.UUID
    kind: str
    status: JobStatus
    progress: float
    attempts: int
    inventory_id: uuid.UUID
    footprint_id: uuid.UUID | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class BatchIn(BaseModel):
    """Many inventories of the caller's organisation calculated in one job (at most 5,000: about five seconds of
    engine time on the shipped background; more is more batches)."""

    inventory_ids: list[uuid.UUID] = Field(min_length=1, max_length=5_000)
    monte_carlo_iterations: int = Field(default=0, ge=0, le=20_000)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


class BatchItemOut(_Out):
    position: int
    inventory_id: uuid.UUID
    status: JobStatus
    footprint_id: uuid.UUID | None
    error: str | None


class BatchOut(BaseModel):
    id: uuid.UUID
    status: JobStatus
    progress: float
    attempts: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    inventories: int
    succeeded: int
    failed: int
    items: list[BatchItemOut]


class FootprintHead(BaseModel):
    """A stored footprint without its result: the read joins it to the result's stored JSON bytes."""

    id: uuid.UUID
    inventory_id: uuid.UUID
    job_id: uuid.UUID
    total_kg_co2e: float
    declared_unit: str
    created_at: datetime


class FootprintOut(FootprintHead):
    result: FootprintResult


class FootprintSummary(_Out):
    id: uuid.UUID
    inventory_id: uuid.UUID
    pcr_id: str
    pcr_version: str
    total_kg_co2e: float
    declared_unit: str
    created_at: datetime


class SubmissionIn(BaseModel):
    certification_body_id: uuid.UUID


class SubmissionOut(_Out):
    id: uuid.UUID
    footprint_id: uuid.UUID
    certification_body_id: uuid.UUID
    created_at: datetime


class AuditEventOut(_Out):
    seq: int
    at: datetime
    actor_id: str | None
    actor_kind: str
    organisation_id: uuid.UUID | None
    action: str
    object_type: str
    object_id: str
    before: dict | None
    after: dict | None
    prev_hash: str
    hash: str


class ChainOut(BaseModel):
    intact: bool
    first_broken_seq: int | None
    reason: str | None = None
    checkpoint_seq: int | None = Field(default=None, description="the latest sealed head the trail matched")
    entries: int
    code: str | None = Field(default=None, description="the reason as a message code (audit.REASONS)")
    params: dict[str, int] = Field(default_factory=dict, description="the values of that message")
    witness: Literal["ok", "behind", "empty", "unavailable", "damaged"] = Field(
        default="empty", description="the heads kept outside the database, compared with the trail"
    )
    witness_seq: int | None = Field(default=None, description="the newest head the witness holds")


class ApplicationIn(BaseModel):
    footprint_id: uuid.UUID
    certification_body_id: uuid.UUID
    label_kind: Literal["footprint", "low_carbon", "carbon_neutral"] = "footprint"


class ActionIn(BaseModel):
    comment: str = Field(default="", max_length=2000)
    footprint_id: uuid.UUID | None = Field(default=None, description="resubmit: the corrected footprint")


class ApplicationOut(_Out):
    id: uuid.UUID
    organisation_id: uuid.UUID
    certification_body_id: uuid.UUID
    footprint_id: uuid.UUID
    product_id: uuid.UUID
    state: str
    label_kind: str
    created_at: datetime
    updated_at: datetime


class FindingIn(BaseModel):
    subject: str = Field(min_length=1, max_length=200, description="the field or item, e.g. items[2]")
    text: str = Field(min_length=1, max_length=4000)


class FindingOut(_Out):
    id: uuid.UUID
    subject: str
    text: str
    raised_at: datetime
    resolved_at: datetime | None


class ReviewOut(BaseModel):
    application_id: uuid.UUID
    state: str
    inventory_id: uuid.UUID
    inventory_version: int
    inventory: dict
    pcr_checks: dict
    footprint_id: uuid.UUID
    result: dict
    findings: list[FindingOut]


class LabelOut(_Out):
    number: str
    application_id: uuid.UUID
    kind: str
    state: str
    product_name: str
    manufacturer_name: str
    value: str
    declared_unit: str
    pcr_id: str
    pcr_version: str
    issued_on: date
    expires_on: date
    state_changed_at: datetime | None = None
    state_reason: str | None = None
    superseded_by: str | None = None
    key_id: str
    token: str
    qr_content: str
    files: dict


class LabelActionIn(BaseModel):
    comment: str = Field(min_length=1, max_length=2000, description="the reason, kept in the audit trail")


class SigningKeyOut(_Out):
    kid: str
    public_key: str
    created_at: datetime
    retired_at: datetime | None


class PublicLabel(BaseModel):
    """What anyone may know of a label: its verdict and its signed claim."""

    number: str
    status: str = Field(description="VALID | SUSPENDED | REVOKED | EXPIRED | SUPERSEDED | NOT_FOUND")
    claim: dict | None = None
    token: str | None = Field(default=None, description="compact JWS (EdDSA) of the claim")
    compact: str | None = Field(
        default=None,
        description="the offline code: the claim as a CWT in a COSE_Sign1 "
        "(Ed25519), Base45, as printed on the certificate",
    )
    key_id: str | None = None
    verification_url: str | None = Field(default=None, description="what the on-pack QR code carries")
    files: dict[str, str] = Field(default_factory=dict, description="rendering name -> path")
    state_changed_at: datetime | None = Field(default=None, description="when the label last changed state")
    state_reason: str | None = Field(default=None, description="why, as the certification body gave it")
    state_reason_code: str | None = Field(
        default=None, description="a reason the service wrote itself (superseded, expired), as a message code"
    )
    state_reason_params: dict = Field(default_factory=dict, description="the values of that message")
    superseded_by: str | None = Field(default=None, description="the newer label of the same product and PCR")
    mistyped: bool = Field(default=False, description="NOT_FOUND because the check character does not match")
    nearest: list[str] = Field(default_factory=list, description="issued labels one typing error away")
    data_quality: dict | None = Field(
        default=None,
        description="the labelled footprint's primary data share (0..1) and data-quality rating (1 best .. 5): "
        "a buyer whose footprint uses the label carries them through its own (PACT v3 primaryDataShare)",
    )


class PactShareIn(BaseModel):
    client_id: str = Field(min_length=1, max_length=100, description="the client_id of a PACT recipient client")


class PactEndpointIn(BaseModel):
    base_url: HttpUrl = Field(description="the recipient's PACT API, https://…")
    client_id: str = Field(min_length=1, max_length=200, description="issued by the recipient to this service")
    client_secret: str = Field(min_length=1, max_length=500, description="stored encrypted, never shown again")

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: HttpUrl) -> HttpUrl:
        if value.scheme != "https":
            raise ValueError("the PACT API of a recipient is served over HTTPS")
        return value


def public_label_json(public: dict, status, _lang: str = "zh") -> bytes:
    """A label's public JSON for a verdict: the verification answer for machines (a `verification.Renderer`)."""
    return PublicLabel(**{**public, "status": status.value}).model_dump_json().encode()


class _Patch(BaseModel):
    """The fields to change; a field left out stays as it is. Fields that must have a value refuse null."""

    model_config = ConfigDict(extra="forbid")
    required: ClassVar[tuple[str, ...]] = ()

    def changes(self) -> dict:
        given = self.model_dump(include=self.model_fields_set)
        for name in self.required:
            if name in given and given[name] is None:
                raise Unprocessable(f"{name} cannot be removed", [{"field": name, "reason": "may not be null"}])
        return given


class ProductPatch(_Patch):
    required = ("name", "pcr_id")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    pcr_id: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=200)
    gtin: str | None = Field(
        default=None,
        max_length=20,
        description="GTIN-8/12/13/14 with a valid check digit; stored as GTIN-14; null removes it",
    )

    @field_validator("gtin")
    @classmethod
    def _gtin14(cls, value: str | None) -> str | None:
        return gtin14(value) if value else None


class FacilityPatch(_Patch):
    required = ("name", "province")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    province: str | None = Field(default=None, min_length=1, max_length=100)
    grid_region: str | None = Field(default=None, max_length=100)


# --- PCR registry (services.pcr_registry) -------------------------------------------------------------------------


class PCRIssuerOut(BaseModel):
    id: uuid.UUID
    name: str


class PCRVersionSummary(BaseModel):
    """A version as a listing shows it (the first five fields are those of the earlier list of PCRs)."""

    id: str
    version: str
    title: str
    product_category: str | None = None
    declared_unit: dict | None = None
    status: str = Field(description="draft | consultation | review | published | superseded | expired | withdrawn")
    in_force: bool = Field(description="a new inventory form offers it today")
    consultation_until: date | None = None
    effective_from: date | None = None
    valid_until: date | None = None
    transition_until: date | None = Field(
        default=None, description="once superseded: the last day a reference period under it may end"
    )
    superseded_by: str | None = None
    based_on: str | None = Field(default=None, description="the published version this one started as a copy of")
    published_at: datetime | None = None
    issuer: PCRIssuerOut | None = Field(default=None, description="the standards body (none for a seeded version)")
    source: str = Field(description="authored, or the seed file it was loaded from")


class PCRCommentOut(BaseModel):
    id: uuid.UUID
    path: str = Field(description="the section or item commented on, e.g. items[alumina] or electricity")
    text: str
    organisation: str = Field(description="the commenter's organisation")
    created_at: datetime
    state: str = Field(description="open | accepted | rejected")
    answer: str | None = Field(default=None, description="the chair's reason or note")
    answered_at: datetime | None = None


class PCRVersionOut(PCRVersionSummary):
    reason: str | None = Field(default=None, description="why it was withdrawn")
    document: dict
    comments: list[PCRCommentOut] = Field(default_factory=list, description="the consultation and its answers")
    actions: list[str] = Field(default_factory=list, description="what the caller may do now")
    problems: list[dict] | None = Field(
        default=None, description="after a document is replaced: what the full check finds ({field, reason})"
    )


class PCRDraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=5, max_length=14, description="MAJOR.MINOR.PATCH, newer than any published")
    start_from: Literal["latest", "empty"] = Field(
        default="latest", description="a copy of the latest published version, or an empty document"
    )


class PCRActionIn(BaseModel):
    """The dates and reason an action takes: open_consultation `consultation_until`; publish `effective_from`,
    `valid_until` and optionally `transition_until`; withdraw `reason`."""

    model_config = ConfigDict(extra="forbid")
    consultation_until: date | None = None
    effective_from: date | None = None
    valid_until: date | None = None
    transition_until: date | None = None
    reason: str = Field(default="", max_length=4000)


class PCRCommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=200, description="a section or item, e.g. items[alumina], electricity")
    text: str = Field(min_length=1, max_length=4000)


class PCRAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["accepted", "rejected"]
    reason: str = Field(default="", max_length=4000, description="required when rejected")


class PCRStewardIn(BaseModel):
    organisation_id: uuid.UUID = Field(description="the standards body that writes the PCR's next versions")
