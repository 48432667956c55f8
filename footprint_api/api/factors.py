"""The factor database over the JSON API: consent per label, releases (cut by the platform admin) and their entries and files."""

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from footprint_api.api.deps import ManufacturerDep, PlatformAdminDep
from footprint_api.exports import factor_release
from footprint_api.exports.factor_release import MEDIA_TYPES
from footprint_api.infra.http import attachment
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import FactorEntry, FactorRelease
from footprint_api.services import factor_database
from footprint_api.services.factor_database import ConsentRow, Draft, Preview

router = APIRouter(tags=["factors"])
RELEASES = "/api/v1/factor-releases"


class FileOut(BaseModel):
    filename: str
    content_type: str
    size: int
    sha256: str
    href: str


class ReleaseOut(BaseModel):
    number: str = Field(description="e.g. 2026.1 (year.sequence)")
    title: str
    title_zh: str | None
    notes: str | None
    cut_at: datetime
    cut_on: date = Field(description="the day (China time) whose labels in force the release holds")
    previous: str | None = Field(description="the release before it")
    entry_count: int
    label_count: int
    digest: str = Field(description="SHA-256 of the release's JSON file (its canonical JSON)")
    files: dict[str, FileOut] = Field(description="csv (UTF-8 with BOM), json, jsonld (openLCA olca-schema 2 zip)")


class ChangeOut(BaseModel):
    key: str
    old: float
    new: float
    change_percent: float | None


class KeyValueOut(BaseModel):
    key: str
    value: float


class ChangesOut(BaseModel):
    previous: str | None
    added: list[KeyValueOut]
    removed: list[KeyValueOut]
    changed: list[ChangeOut]
    unchanged: int


class ReleaseDetailOut(ReleaseOut):
    changes: ChangesOut


class GasOut(BaseModel):
    mass_kg: float
    kg_co2e: float


class EntryOut(BaseModel):
    """An entry as the release's JSON file states it (exports.factor_release)."""

    key: str = Field(description="stable across releases: cite it as {kind: release, reference, entry: key}")
    citation: str
    pcr_id: str
    pcr_major: int
    pcr_versions: list[str]
    product_category: str
    product_category_name: str
    product_category_name_zh: str
    product_class: str = Field(description="the classification's codes, '' where the PCR declares none")
    product_class_name: str
    product_class_name_zh: str
    declared_unit: str
    reference_year: int
    province: str | None = Field(description="the factor set's name of the province; null: the national entry")
    province_name: str
    province_name_zh: str
    value_kg_co2e: float = Field(description="mean of the labels' values per declared unit")
    min_kg_co2e: float
    max_kg_co2e: float
    sd_kg_co2e: float | None = Field(description="sample standard deviation; null for a single label")
    gases: dict[str, GasOut] = Field(
        description="per declared unit by gas; a gas fewer than three organisations' amounts would show apart is "
        "within 'CO2e not resolved by gas'"
    )
    dqr: float | None = Field(description="mean data-quality rating; null where it would show a single company's")
    label_count: int
    organisation_count: int
    named_manufacturer: str | None
    sources: list[str] = Field(description="the labels behind the entry, only where every manufacturer is named")


class GroupOut(BaseModel):
    """A group a release would withhold: what it is and why, never its figures."""

    key: str
    label_count: int
    organisation_count: int
    reason: str


class ExcludedOut(BaseModel):
    label: str
    reason: str


class PreviewEntryOut(BaseModel):
    key: str
    value_kg_co2e: float
    label_count: int
    organisation_count: int
    named_manufacturer: str | None


class PreviewOut(BaseModel):
    day: date
    previous: str | None
    label_count: int
    entries: list[PreviewEntryOut] = Field(description="the entries a release cut now would hold")
    withheld: list[GroupOut]
    excluded: list[ExcludedOut]
    changes: ChangesOut


class ReleaseIn(BaseModel):
    number: str = Field(max_length=20, description="e.g. 2026.1: year and sequence, after the latest release")
    title: str = Field(max_length=300)
    title_zh: str = Field(max_length=300)
    notes: str | None = Field(default=None, max_length=5000)


class ConsentIn(BaseModel):
    level: Literal["anonymous", "named"] = Field(
        description="anonymous: only in entries of three or more organisations; named: the entry may name you"
    )


class ConsentOut(BaseModel):
    label: str
    product_name: str
    value: str
    declared_unit: str
    pcr_id: str
    expires_on: date
    label_state: str
    state: str | None = Field(description="anonymous | named | withdrawn, or null: never asked")
    given_at: datetime | None
    withdrawn_at: datetime | None
    may_consent: bool = Field(description="the label is in force, so consent may be given or changed")


def _release_out(session, found: FactorRelease) -> dict:
    previous = factor_database.previous_of(session, found)
    return {
        "number": found.number,
        "title": found.title,
        "title_zh": found.title_zh,
        "notes": found.notes,
        "cut_at": found.cut_at,
        "cut_on": factor_database.cut_on(found),
        "previous": previous.number if previous else None,
        "entry_count": found.entry_count,
        "label_count": found.label_count,
        "digest": found.digest,
        "files": {
            name: {
                **{k: stored[k] for k in ("filename", "content_type", "size", "sha256")},
                "href": _file_href(found, name),
            }
            for name, stored in found.files.items()
        },
    }


def _file_href(found: FactorRelease, name: str) -> str:
    return f"{RELEASES}/{found.number}/files/{name}"


def _entry_out(found_number: str, row: FactorEntry) -> dict:
    return factor_release.entry_document(found_number, row, factor_database.entry_names(row))


def _consent_out(row: ConsentRow) -> dict:
    return {
        "label": row.label.number,
        "product_name": row.label.product_name,
        "value": row.label.value,
        "declared_unit": row.label.declared_unit,
        "pcr_id": row.label.pcr_id,
        "expires_on": row.label.expires_on,
        "label_state": row.label.state,
        "state": row.state,
        "given_at": row.given_at,
        "withdrawn_at": row.withdrawn_at,
        "may_consent": row.may_consent,
    }


def _group_out(draft: Draft) -> dict:
    return {
        "key": draft.key,
        "label_count": draft.label_count,
        "organisation_count": draft.organisation_count,
        "reason": draft.withheld,
    }


def _preview_out(found: Preview) -> dict:
    return {
        "day": found.day,
        "previous": found.previous.number if found.previous else None,
        "label_count": found.label_count,
        "entries": [
            {
                "key": d.key,
                "value_kg_co2e": d.value,
                "label_count": d.label_count,
                "organisation_count": d.organisation_count,
                "named_manufacturer": d.named_manufacturer,
            }
            for d in found.published
        ],
        "withheld": [_group_out(draft) for draft in found.withheld],
        "excluded": [{"label": e.label, "reason": e.reason} for e in found.excluded],
        "changes": found.changes,
    }


# --- releases: public ---------------------------------------------------------------------------------------------


@router.get(RELEASES, response_model=list[ReleaseOut], summary="Releases of the factor database, the newest first")
def list_releases(session: SessionDep):
    return [_release_out(session, found) for found in factor_database.releases(session)]


@router.get(
    f"{RELEASES}/preview",
    response_model=PreviewOut,
    summary="What a release cut now would publish, withhold (and why) and change (platform admin)",
)
def preview(session: SessionDep, principal: PlatformAdminDep):
    return _preview_out(factor_database.preview(session, principal))


@router.post(
    RELEASES,
    response_model=ReleaseDetailOut,
    status_code=201,
    summary="Cut a release from the consented labels in force today (platform admin); immutable once cut",
)
def cut_release(body: ReleaseIn, session: SessionDep, principal: PlatformAdminDep):
    found = factor_database.cut(session, principal, body.number, body.title, body.title_zh, body.notes)
    return {**_release_out(session, found), "changes": factor_database.changes(session, found)}


@router.get(f"{RELEASES}/{{number}}", response_model=ReleaseDetailOut, summary="A release and what changed in it")
def get_release(number: str, session: SessionDep):
    found = factor_database.release(session, number)
    return {**_release_out(session, found), "changes": factor_database.changes(session, found)}


@router.get(
    f"{RELEASES}/{{number}}/entries",
    response_model=list[EntryOut],
    summary="A release's entries, by category (product category code) and province ('national': across provinces)",
)
def list_entries(
    number: str,
    session: SessionDep,
    category: Annotated[str | None, Query(max_length=100)] = None,
    province: Annotated[str | None, Query(max_length=100)] = None,
):
    found = factor_database.release(session, number)
    return [_entry_out(found.number, row) for row in factor_database.entries(session, found, category, province)]


@router.get(f"{RELEASES}/{{number}}/entries/{{key}}", response_model=EntryOut, summary="One entry of a release")
def get_entry(number: str, key: str, session: SessionDep):
    return _entry_out(number.strip(), factor_database.entry(session, number, key))


@router.get(
    f"{RELEASES}/{{number}}/files/{{name}}",
    summary="A release's file: csv (UTF-8 with BOM), json (canonical; its SHA-256 is the digest), jsonld (openLCA zip)",
    response_class=Response,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
def release_file(number: str, name: str, session: SessionDep):
    data, stored = factor_database.release_file(session, number, name)
    response = attachment(data, MEDIA_TYPES[name], stored["filename"], stored["filename"])
    response.headers["Cache-Control"] = "public, max-age=86400"  # a cut release never changes
    response.headers["ETag"] = f'"{stored["sha256"]}"'
    return response


# --- consent: the manufacturer's -----------------------------------------------------------------------------------


@router.get("/api/v1/factor-consents", response_model=list[ConsentOut], summary="Your labels and their consent")
def list_consents(session: SessionDep, principal: ManufacturerDep):
    return [_consent_out(row) for row in factor_database.consents(session, principal)]


@router.put(
    "/api/v1/labels/{number}/factor-consent",
    response_model=ConsentOut,
    summary="Consent that your label in force enters the factor database's next releases (anonymous or named)",
)
def give_consent(number: str, body: ConsentIn, session: SessionDep, principal: ManufacturerDep):
    factor_database.give_consent(session, principal, number, body.level)
    return _consent_out(_row(session, principal, number))


@router.delete(
    "/api/v1/labels/{number}/factor-consent",
    response_model=ConsentOut,
    summary="Withdraw your label's consent: the next release leaves it out; releases already cut stay as they are",
)
def withdraw_consent(number: str, session: SessionDep, principal: ManufacturerDep):
    factor_database.withdraw_consent(session, principal, number)
    return _consent_out(_row(session, principal, number))


def _row(session, principal, number: str) -> ConsentRow:
    return factor_database.consent_row(session, principal, number)
