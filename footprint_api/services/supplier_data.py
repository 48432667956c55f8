"""What the pages show of supplier data: the choices of the inventory form (the buyer's received PACT footprints,
the factor database's release entries), a label as the public sees it (the form's "check"), and the supplier source
of every purchased input of a footprint, with the inputs left on the factor set's screening values named as such.

The values themselves are resolved and recorded by `services.supply_chain` when an inventory is submitted; this
module only reads, for people. A label is shown with what its public page shows (product, manufacturer, value per
declared unit, validity, state), never with the supplier's inventory: that stays private (issue 20). Every purchased
input is listed, so that nothing rests silently on a secondary value: a verified source (label, PACT footprint,
release entry), a figure the buyer typed (unverified), or the screening value of the factor set.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from footprint_api.core.errors import Unprocessable
from footprint_api.core.messages import Catalogue
from footprint_api.core.names import factor_set
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import FactorEntry, FactorRelease, Footprint, InventoryRecord, SupplierFootprint
from footprint_api.services import labels, supply_chain
from footprint_api.services.messages import worded
from pcr_rules import PCRNotFound, default_registry
from pcr_rules.models import PCR, ItemKind
from pcr_rules.units import UnitProblem, conversion_factor, same_kind

KINDS = ("label", "pact", "release")  # pcr_rules.inventory.SupplierRef.kind
SCREENING, DECLARED = "screening", "declared"  # an input without a verified source: the factor set's, the buyer's
MAX_ENTRIES = 500  # release entries offered by one form (the newest releases first)
MAX_PACT = 500  # received PACT footprints offered by one form (the newest first)


# --- the choices of the inventory form -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PactChoice:
    """A PACT footprint the buyer received and may use: the newest Active version of its PACT id."""

    pf_id: str
    product_name: str
    company_name: str
    pcf_kg_co2e: float  # per declared_amount of declared_unit, excluding biogenic
    declared_amount: float
    declared_unit: str  # as PACT names it: kilogram, kilowattHour, ...
    valid_until: date | None
    verified: bool


@dataclass(frozen=True)
class EntryChoice:
    """An entry of a factor-database release, as the form offers it."""

    release: str
    key: str
    pcr_id: str
    product_category: str
    product_class: str
    province: str | None
    reference_year: int
    value: float  # kg CO2e per declared unit
    declared_unit: str  # e.g. "1 t"
    label_count: int


@dataclass(frozen=True)
class FormChoices:
    factor_set: str  # the screening values' factor set, e.g. cn-2025.1
    pact: list[PactChoice] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)  # release numbers, newest first
    entries: list[EntryChoice] = field(default_factory=list)

    def entries_for(self, unit: str) -> list[EntryChoice]:
        """The entries whose declared unit converts to the item's unit (a factor per t for an item in t or kg)."""
        return [e for e in self.entries if convertible(supply_chain.declared(e.declared_unit)[1], unit)]


def form_choices(session: Session, principal: Principal) -> FormChoices:
    """What the supplier-data choice of each purchased input offers: the organisation's received PACT footprints
    (newest Active version of each PACT id) and the entries of the factor database's releases."""
    return FormChoices(factor_set().id, _pact_choices(session, principal.organisation_id), *_release_choices(session))


def _pact_choices(session: Session, organisation_id: uuid.UUID) -> list[PactChoice]:
    rows = session.exec(
        select(SupplierFootprint)
        .where(SupplierFootprint.organisation_id == organisation_id, SupplierFootprint.status == "Active")
        .order_by(col(SupplierFootprint.received_at).desc(), col(SupplierFootprint.pf_version).desc())
        .limit(MAX_PACT)
    )
    newest: dict[str, SupplierFootprint] = {}
    for row in rows:
        if row.pf_id not in newest or row.pf_version > newest[row.pf_id].pf_version:
            newest[row.pf_id] = row
    return [
        PactChoice(
            row.pf_id,
            row.product_name,
            row.company_name,
            row.pcf_excluding_biogenic,
            row.declared_amount,
            row.declared_unit,
            row.valid_until,
            row.verified,
        )
        for row in newest.values()
    ]


def _release_choices(session: Session) -> tuple[list[str], list[EntryChoice]]:
    releases = list(session.exec(select(FactorRelease).order_by(col(FactorRelease.cut_at).desc())))
    number = {release.id: release.number for release in releases}
    rows = session.exec(
        select(FactorEntry)
        .join(FactorRelease, col(FactorRelease.id) == col(FactorEntry.release_id))
        .order_by(col(FactorRelease.cut_at).desc(), col(FactorEntry.pcr_id), col(FactorEntry.key))
        .limit(MAX_ENTRIES)
    )
    entries = [
        EntryChoice(
            number[e.release_id],
            e.key,
            e.pcr_id,
            e.product_category,
            e.product_class,
            e.province,
            e.reference_year,
            e.value,
            e.declared_unit,
            e.label_count,
        )
        for e in rows
    ]
    return [release.number for release in releases], entries


# --- a label as the public sees it (the form's "check") --------------------------------------------------------------


@dataclass(frozen=True)
class PublicLabel:
    """What the label's public page says, and its value per unit of the item that would use it."""

    number: str
    product_name: str
    manufacturer_name: str
    value: str  # as signed: four significant digits
    declared_unit: str  # e.g. "1 t"
    pcr: str
    issued_on: date
    expires_on: date
    state: str
    verdict: str  # label_service.verification.Verdict: VALID, SUSPENDED, REVOKED, EXPIRED, SUPERSEDED
    superseded_by: str | None
    item_unit: str | None
    value_per_item_unit: float | None  # None: the declared unit does not convert to the item's


def public_label(session: Session, number: str, item_unit: str | None = None, today: date | None = None) -> PublicLabel:
    """The label of a number typed in any spelling, as its public page shows it; Unprocessable naming the field
    when the number is malformed or no label has it. A label that is not valid is shown too (with its state): the
    submission refuses it, naming why."""
    field_name = "supplier.reference"  # the refusals the submission makes of the same number (supply.yaml)
    try:  # read as the submission reads it: full-width typing, and the labels one typing error away
        label = supply_chain.label_by_number(session, number)
    except supply_chain.Refusal as refusal:
        entry = {"field": field_name, "reason": refusal.reason, "code": f"supply.{refusal.code}"}
        raise Unprocessable(refusal.reason, [{**entry, "params": refusal.params}]) from None
    return PublicLabel(
        label.number,
        label.product_name,
        label.manufacturer_name,
        label.value,
        label.declared_unit,
        f"{label.pcr_id} {label.pcr_version}",
        label.issued_on,
        label.expires_on,
        label.state,
        labels.status(label, today).value,
        label.superseded_by,
        item_unit,
        per_item_unit(float(label.value), label.declared_unit, item_unit) if item_unit else None,
    )


def convertible(unit: str, target: str) -> bool:
    try:
        conversion_factor(unit, target)
        return same_kind(unit, target)
    except UnitProblem:
        return False


def per_item_unit(value: float, declared: str, item_unit: str) -> float | None:
    """A value per declared unit as kg CO2e per one item unit: 850 kg per '1 t' is 0.85 per kg. None when the units
    are of different dimensions (the submission refuses that, naming the field)."""
    amount, unit = supply_chain.declared(declared)
    if not convertible(item_unit, unit) or amount <= 0:
        return None
    return value / amount * conversion_factor(item_unit, unit)


# --- the supplier sources of a footprint -------------------------------------------------------------------------------


@dataclass
class SourceRow:
    """One purchased input of a footprint and where its upstream value came from. `kind`: label, pact or release
    (`source` is supply_chain.sources_of_footprint's view of it), declared (a figure the buyer typed, unverified)
    or screening (the factor set's background activity). `kg_co2e`: its contribution per declared unit."""

    index: int
    item: str
    label: str
    label_zh: str | None
    kind: str
    unit: str
    kg_co2e: float | None
    source: dict | None = None
    declared_value: float | None = None  # kg CO2e per item unit, as typed
    activity: str | None = None  # the screening activity of the factor set
    newer: str | None = None  # the successor's reference, when the source was withdrawn and one exists

    @property
    def verified(self) -> bool:
        return bool(self.source and self.source.get("verified"))

    @property
    def affected(self) -> bool:
        return bool(self.source and self.source.get("affected_reason"))


@dataclass
class FootprintSources:
    rows: list[SourceRow]
    factor_set: str

    @property
    def affected(self) -> list[SourceRow]:
        return [row for row in self.rows if row.affected]

    @property
    def recalculable(self) -> bool:
        """Every withdrawn source has a successor: one click makes the next version."""
        return bool(self.affected) and all(row.newer for row in self.affected)

    @property
    def sourced(self) -> list[SourceRow]:
        return [row for row in self.rows if row.source is not None]


def footprint_sources(session: Session, principal: Principal, footprint: Footprint) -> FootprintSources:
    """Every purchased input of the footprint's inventory with its source, in the inventory's order."""
    inventory = session.get(InventoryRecord, footprint.inventory_id)
    result = footprint.result or {}
    pcr = _pcr(result.get("pcr") or {"id": inventory.pcr_id, "version": inventory.pcr_version})
    by_item = {view["item"]: view for view in supply_chain.sources_of_footprint(session, principal, footprint)}
    contributions = _contributions(result)
    rows = []
    for index, entry in enumerate(inventory.data.get("items", [])):
        spec = pcr.item(entry["item"]) if pcr else None
        view = by_item.get(entry["item"])
        if view is None and (spec is None or spec.kind is not ItemKind.INPUT):
            continue
        row = SourceRow(
            index,
            entry["item"],
            spec.label if spec else entry["item"],
            spec.label_zh if spec else None,
            _kind(entry, view),
            spec.unit if spec else entry.get("unit", ""),
            view.get("kg_co2e") if view else contributions.get(entry["item"]),
            view,
            entry.get("supplier_pcf_kg_co2e_per_unit"),
            spec.activity if spec else None,
            view.get("newer") if view else None,
        )
        rows.append(row)
    set_id = (result.get("factor_set") or {}).get("id") or factor_set().id
    return FootprintSources(rows, set_id)


def reason_text(t: Catalogue, code: str | None, params: dict | None) -> str:
    """Why a supplier value was withdrawn (label.revoked, pact.deprecated, ...), in the reader's language: the
    catalogue's `supply.reason.<code>` (services.supply_chain names the codes)."""
    for key in (f"supply.reason.{code}", str(code)):
        if key in t.messages:
            return worded(t, key, params or {}, str(code))
    return t("sd.reason.other", code=code or "")


def _kind(entry: dict, view: dict | None) -> str:
    if view is not None:
        return str(view.get("kind") or (entry.get("supplier") or {}).get("kind") or "label")
    return DECLARED if entry.get("supplier_pcf_kg_co2e_per_unit") is not None else SCREENING


def _contributions(result: dict) -> dict[str, float]:
    """kg CO2e per declared unit of each item, over its parts."""
    total: dict[str, float] = {}
    for contribution in result.get("contributions", []):
        total[contribution["item"]] = total.get(contribution["item"], 0.0) + contribution["kg_co2e"]
    return total


def item_name(session: Session, footprint_id: uuid.UUID, item: str, lang: str) -> str:
    """A purchased input of a footprint by its name in `lang`, from the PCR version the footprint followed."""
    footprint = session.get(Footprint, footprint_id)
    pcr = _pcr({"id": footprint.pcr_id, "version": footprint.pcr_version}) if footprint else None
    spec = pcr.item(item) if pcr else None
    if spec is None:
        return item
    return spec.label_zh if lang == "zh" and spec.label_zh else spec.label


def _pcr(ref: dict) -> PCR | None:
    try:
        return default_registry().get(ref["id"], ref.get("version"))
    except (PCRNotFound, KeyError):
        return None
