"""Resolution at submission: each item's supplier reference to a value per unit of the PCR item, then the links
written in the submitting transaction.

- `label`: a carbon label of this service, by its number, read as its public page shows it (value per declared unit,
  declared unit, PCR and version, validity, state, issuer, and the labelled footprint's data quality that the public
  label JSON carries): the supplier's inventory stays private.
- `pact`: a PACT ProductFootprint the buyer received from its supplier (services.pact.suppliers), by its PACT id: the
  newest Active version the buyer holds.
- `release`: an entry of a factor-database release (services.factor_database), by release number and entry key.
"""

import math
import unicodedata
import uuid
from datetime import date

from sqlmodel import Session, col, select

from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    FactorEntry,
    FactorRelease,
    Footprint,
    InventoryRecord,
    Label,
    Organisation,
    Product,
    SupplierFootprint,
    SupplyLink,
    utcnow,
)
from footprint_api.services import audit, verification
from footprint_api.services.supply_chain.cycles import cycle
from footprint_api.services.supply_chain.links import (
    ACTIVE,
    LABEL,
    LABEL_REASONS,
    PACT,
    RELEASE,
    Refusal,
    expired,
    label_params,
    refused,
    value_of,
    zh,
)
from label_service.numbering import InvalidLabelNumber, normalise
from label_service.workflow import LabelState
from pcr_rules import default_registry
from pcr_rules.inventory import Inventory, SupplierRef
from pcr_rules.models import ItemKind
from pcr_rules.units import UnitProblem, conversion_factor

# PACT's declared units (declaredUnitOfMeasurement: the v2 spelling and the v3 one) in the units the PCRs are written
# in (pcr_rules.units, pint). `piece` and `megabit second` have no dimension a PCR item is measured in; a piece
# converts to mass only through the footprint's productMassPerDeclaredUnit (`_pact_value`).
PACT_UNITS = {
    "liter": "L",
    "kilogram": "kg",
    "ton": "t",
    "tonne": "t",
    "cubic meter": "m^3",
    "cubicMeter": "m^3",
    "kilowatt hour": "kWh",
    "kilowattHour": "kWh",
    "megajoule": "MJ",
    "ton kilometer": "tkm",
    "tonKilometer": "tkm",
    "square meter": "m^2",
    "squareMeter": "m^2",
    "hour": "h",
}
# the declared units whose footprint states the product's mass (PACT Methodology 3.2.4, table 4): per piece, per
# volume, per area. An energy, a transport or a service has none (`productMassPerDeclaredUnit` SHALL be 0): a mass
# given there anyway is not a way to read kWh as tonnes.
MASS_BEARING = frozenset({"piece", "liter", "cubic meter", "cubicMeter", "square meter", "squareMeter"})


def resolve(session: Session, principal: Principal, inventory: Inventory, product_id: uuid.UUID) -> list[SupplyLink]:
    """The unsaved links of the inventory's items that name a supplier source, each with its value per unit of the
    PCR item; Unprocessable naming every item whose source cannot be used, all in one round (nothing is stored)."""
    pcr = default_registry().get(inventory.pcr.id, inventory.pcr.version)
    links, errors = [], []
    for index, entry in enumerate(inventory.items):
        if entry.supplier is None:
            continue
        spec = pcr.item(entry.item)
        try:
            if spec is None:  # an item the PCR does not know: the PCR validation names it
                continue
            if spec.kind is not ItemKind.INPUT:
                raise Refusal(
                    "not_an_input",
                    f"{entry.item} is not a purchased input: only an input's upstream footprint comes from a supplier",
                    item=spec.label,
                    item_zh=spec.label_zh or spec.label,
                    kind=spec.kind.value,
                    kind_zh=zh(f"inv.kind.{spec.kind.value}"),
                )
            link = RESOLVERS[entry.supplier.kind](session, principal, entry.supplier, spec.unit, inventory)
            link.organisation_id, link.product_id = principal.organisation_id, product_id
            link.item_index, link.item, link.item_unit = index, entry.item, spec.unit
            _refuse_value(link)
            _refuse_cycle(session, link)
        except Refusal as refusal:
            errors.append(refusal.error(index))
            continue
        links.append(link)
    if errors:
        raise refused(errors)
    return links


def _refuse_value(link: SupplyLink) -> None:
    """A value the calculation can take (services.supply_chain.links.value_of: a footprint per unit is finite and
    not negative, a share 0..1, a rating 1..5), or the refusal now, naming the item, rather than a calculation that
    fails later. A PACT footprint may be negative (technological removals, PACT 3.0); a purchased input here may
    not: the engine adds no negative supplier value to a total whose own removals it does not count."""
    try:
        value_of(link)
    except ValueError:
        raise Refusal(
            "value_out_of_range",
            f"the source declares {link.value_per_declared_unit:g} kg CO2e per {link.declared_unit}: not a value a "
            "purchased input can rest on (a footprint per unit is finite and not negative)",
            value=link.value_per_declared_unit,
            declared_unit=link.declared_unit,
        ) from None


def _refuse_cycle(session: Session, link: SupplyLink) -> None:
    """A source whose supplier's product rests, through its suppliers, on the buyer's own product."""
    path = cycle(session, link.product_id, link.supplier_product_id, link.supplier_product)
    if path:
        shown = " → ".join(path)
        reason = f"{link.kind} {link.reference} rests, through its suppliers, on this product's own footprint: {shown}"
        raise Refusal("cycle", reason, number=link.reference, path=shown)


def _label_link(
    session: Session, _principal: Principal, ref: SupplierRef, item_unit: str, inventory: Inventory
) -> SupplyLink:
    """A label by its number, read as its public page shows it: its value per declared unit converted to the item's
    unit. A label in force is used; an expired one only if it was valid when the reference period began (it was
    valid for the data), and its link is affected from the start; a suspended, revoked or superseded one is not."""
    label = label_by_number(session, ref.reference)
    _refuse_label(label, inventory.reference_period.start)
    amount, unit = declared(label.declared_unit)
    value = float(label.value)
    per_item_unit = _per_item_unit(value, amount, unit, item_unit, label.declared_unit)
    quality = verification.label_data_quality(session, label) or {}
    issuer = session.get(Organisation, label.issuer_id)
    link = SupplyLink(
        kind=LABEL,
        reference=label.number,
        label_id=label.id,
        supplier_name=label.manufacturer_name,
        supplier_product=label.product_name,
        supplier_organisation_id=label.organisation_id,
        supplier_product_id=label.product_id,
        value_per_declared_unit=value,
        declared_unit=label.declared_unit,
        value_per_item_unit=per_item_unit,
        pcr_ref=f"{label.pcr_id}@{label.pcr_version}",
        valid_from=label.issued_on,
        valid_until=label.expires_on,
        verified=True,
        assurance=issuer.name if issuer else None,
        primary_data_share=quality.get("primary_data_share"),
        dqr=quality.get("dqr"),
    )
    if expired(label):  # valid for the data, no longer in force: shown as affected from the start
        link.affected_at, link.affected_reason = utcnow(), LABEL_REASONS[LabelState.EXPIRED.value]
        link.affected_params = label_params(label)
    return link


def _typed(text: str) -> str:
    """A reference as typed on a Chinese keyboard: full-width letters, digits and hyphens (ＰＣＦ－２０２６…) read as
    the ASCII ones they stand for (Unicode NFKC), surrounding spaces dropped."""
    return unicodedata.normalize("NFKC", text).strip()


def label_by_number(session: Session, text: str) -> Label:
    """The label of a number in any spelling. A number whose check character does not match names the issued labels
    one typing error away, as the public verification page does (label_service.numbering.one_typo_away); a well
    formed number has no issued label one error away (the check character tells them apart)."""
    text = _typed(text)
    try:
        number = normalise(text)
    except InvalidLabelNumber as exc:
        nearest = verification.nearest(session, text)
        if nearest:
            reason = f"{text[:40]!r}: the check character does not match; did you mean {', '.join(nearest)}?"
            raise Refusal("label_mistyped", reason, number=text[:40], nearest=nearest) from None
        raise Refusal("label_invalid", str(exc), number=text[:40]) from None
    label = session.exec(select(Label).where(Label.number == number)).first()
    if label is None:
        raise Refusal("label_unknown", f"no label {number} was issued", number=number, nearest=[])
    return label


def _refuse_label(label: Label, period_start: date) -> None:
    """Why a label cannot be used for a reference period beginning on `period_start`, if it cannot."""
    if label.state == LabelState.SUPERSEDED.value:
        raise Refusal(
            "label_superseded",
            f"label {label.number} was superseded by {label.superseded_by}: name that one",
            number=label.number,
            by=label.superseded_by or "",
        )
    if label.state in (LabelState.SUSPENDED.value, LabelState.REVOKED.value):
        raise Refusal(
            "label_withdrawn",
            f"label {label.number} is {label.state}: its value may not be used",
            number=label.number,
            state=label.state,
            state_zh=zh(f"labels.state.{label.state}"),
        )
    if label.expires_on < period_start:
        raise Refusal(
            "label_expired_for_period",
            f"label {label.number} expired on {label.expires_on}, before the reference period began on {period_start}",
            number=label.number,
            expires_on=label.expires_on.isoformat(),
            period_start=period_start.isoformat(),
        )


def declared(text: str) -> tuple[float, str]:
    """A declared unit as a footprint writes it: '1 t' -> (1.0, 't'), '1000 kWh' -> (1000.0, 'kWh')."""
    amount, _, unit = text.strip().partition(" ")
    try:
        return float(amount), unit.strip()
    except ValueError:
        return 1.0, text.strip()


def _per_item_unit(value: float, amount: float, unit: str, item_unit: str, shown: str) -> float:
    """kg CO2e per unit of the item from kg CO2e per `amount` `unit`: 850 kg per 1 t is 0.85 kg per kg."""
    if not (math.isfinite(amount) and amount > 0):
        raise Refusal(
            "unit_mismatch",
            f"the source is declared per {shown}: not an amount a value can be per",
            declared_unit=shown,
            item_unit=item_unit,
        )
    try:
        return value / amount * conversion_factor(item_unit, unit)
    except UnitProblem:
        raise Refusal(
            "unit_mismatch",
            f"the source is declared per {shown}, which cannot be converted to the item's unit {item_unit}",
            declared_unit=shown,
            item_unit=item_unit,
        ) from None


def _pact_link(
    session: Session, principal: Principal, ref: SupplierRef, item_unit: str, inventory: Inventory
) -> SupplyLink:
    """A PACT footprint the buyer holds, by its id: the newest Active version. Its PCF excluding biogenic uptake
    (v2 `pCfExcludingBiogenic`, v3 `pcfExcludingBiogenicUptake`) is the value used: GB/T 24067-2024 (ISO
    14067:2018) reports fossil, biogenic and land-use GHG separately, and this service's footprint totals are fossil
    plus land use with biogenic CO2 emissions and removals reported beside them (Brightway's IPCC 2021 method gives
    biogenic CO2 no factor), so the supplier's value without biogenic uptake is the one that adds up with the buyer's
    own; the value including it would subtract the supplier's removals from a total that reports none of its own.
    It is not exactly the quantity of our totals: PACT 3.0 counts biogenic CO2 *emissions* in it, which our totals
    weigh at 0 (services.pact.mapping exports our total plus the biogenic CO2 emitted). For a supplier burning
    biomass (the clinker PCR's `kiln_biomass`) the value used is higher than its fossil and land-use total by its
    biogenic CO2 emitted, and so higher than the same footprint reaches a buyer through its label: conservative,
    never lower than the supplier's fossil footprint."""
    found = _pact_footprint(session, principal.organisation_id, ref.reference)
    _refuse_pact(found, inventory.reference_period.start)
    value, unit, amount, shown = _pact_value(found, item_unit)
    supplier_product = _product_of_own_footprint(session, found.pf_id)
    return SupplyLink(
        kind=PACT,
        reference=found.pf_id,
        supplier_footprint_id=found.id,
        supplier_name=found.company_name,
        supplier_product=found.product_name,
        supplier_organisation_id=supplier_product.organisation_id if supplier_product else None,
        supplier_product_id=supplier_product.id if supplier_product else None,
        value_per_declared_unit=found.pcf_excluding_biogenic,
        declared_unit=shown,
        value_per_item_unit=_per_item_unit(value, amount, unit, item_unit, shown),
        pcr_ref=_pact_pcr(found.document),
        valid_from=found.valid_from,
        valid_until=found.valid_until,
        verified=found.verified,
        assurance=_assurance(found.assurance) if found.verified else None,
        primary_data_share=found.primary_data_share,
        dqr=pact_dqr(found.dqi),
    )


def _product_of_own_footprint(session: Session, pf_id: str) -> Product | None:
    """The product of a footprint of this service that a PACT footprint is (services.pact.mapping publishes a
    footprint under its own id): a supplier pulling over PACT from this very service is in its supply chain as a
    label would be, and a cycle through it is refused the same way. A PACT footprint from another service names no
    product here: a cycle through another service cannot be seen."""
    footprint = session.get(Footprint, uuid.UUID(pf_id))
    if footprint is None:
        return None
    record = session.get(InventoryRecord, footprint.inventory_id)
    return session.get(Product, record.product_id) if record else None


def _pact_footprint(session: Session, organisation_id: uuid.UUID, pf_id: str) -> SupplierFootprint:
    """The newest Active version the buyer holds of the footprint `pf_id` (a PACT id is a UUID: stored in its
    canonical lower-case text, whatever case or width the supplier or the buyer wrote it in)."""
    try:
        canonical = str(uuid.UUID(_typed(pf_id)))
    except ValueError:
        raise Refusal("pact_invalid", f"{pf_id[:64]!r} is not a PACT footprint id (a UUID)", pf_id=pf_id[:64]) from None
    rows = session.exec(
        select(SupplierFootprint)
        .where(SupplierFootprint.organisation_id == organisation_id, SupplierFootprint.pf_id == canonical)
        .order_by(col(SupplierFootprint.pf_version).desc(), col(SupplierFootprint.received_at).desc())
    ).all()
    if not rows:
        raise Refusal("pact_unknown", f"you hold no PACT footprint {pf_id}", pf_id=pf_id[:64])
    return next((row for row in rows if row.status == ACTIVE), rows[0])


def _refuse_pact(found: SupplierFootprint, period_start: date) -> None:
    if found.status != ACTIVE:
        raise Refusal(
            "pact_deprecated",
            f"PACT footprint {found.pf_id} (version {found.pf_version}) is {found.status}: ask the supplier for the "
            "current one",
            pf_id=found.pf_id,
            version=found.pf_version,
        )
    if found.valid_until is not None and found.valid_until < period_start:
        raise Refusal(
            "pact_expired_for_period",
            f"PACT footprint {found.pf_id} was valid until {found.valid_until}, before the reference period began on "
            f"{period_start}",
            pf_id=found.pf_id,
            valid_until=found.valid_until.isoformat(),
            period_start=period_start.isoformat(),
        )


def _pact_value(found: SupplierFootprint, item_unit: str) -> tuple[float, str, float, str]:
    """(kg CO2e, per `amount` of `unit`, the declared unit as shown): by the declared unit, or, for a footprint
    declared per piece (or another unit without the item's dimension) of an item counted by mass, by the product's
    mass per declared unit (PACT Methodology 3.2.4: `productMassPerDeclaredUnit`, kg)."""
    shown = f"{found.declared_amount:g} {found.declared_unit}"[:40]
    unit = PACT_UNITS.get(found.declared_unit)
    if unit is None or not _same_dimension(unit, item_unit):
        mass = _mass_per_declared_unit(found.document) if found.declared_unit in MASS_BEARING else None
        if mass and _same_dimension("kg", item_unit):
            return found.pcf_excluding_biogenic, "kg", mass, f"{shown} ({mass:g} kg)"[:40]
        raise Refusal(
            "unit_mismatch",
            f"the source is declared per {shown}, which cannot be converted to the item's unit {item_unit}",
            declared_unit=shown,
            item_unit=item_unit,
        )
    return found.pcf_excluding_biogenic, unit, found.declared_amount, shown


def _same_dimension(unit: str, other: str) -> bool:
    try:
        conversion_factor(unit, other)
    except UnitProblem:
        return False
    return True


def _mass_per_declared_unit(document: dict) -> float | None:
    pcf = document.get("pcf") if isinstance(document, dict) else None
    try:
        mass = float((pcf or {}).get("productMassPerDeclaredUnit"))
    except (TypeError, ValueError):
        return None
    return mass if mass > 0 else None


def _pact_pcr(document: dict) -> str | None:
    """The product category rule the supplier followed, as PACT v3 names it (`pcf.productOrSectorSpecificRules`)."""
    rules = ((document.get("pcf") or {}) if isinstance(document, dict) else {}).get("productOrSectorSpecificRules")
    if isinstance(rules, list) and rules and isinstance(rules[0], dict):
        name = rules[0].get("ruleNames") or rules[0].get("name")
        if isinstance(name, list):
            name = ", ".join(str(n) for n in name)
        return str(name)[:140] if name else None
    return None


def _assurance(assurance: dict | None) -> str | None:
    if not isinstance(assurance, dict):
        return None
    return str(assurance.get("providerName") or assurance.get("level") or "third-party assurance")[:300]


def pact_dqr(dqi: dict | None) -> float | None:
    """The supplier's data-quality rating: the mean of PACT's technological, geographical and temporal DQRs (each
    1..5, PACT Technical Specifications v3 DataQualityIndicators), on the same 1 (best) .. 5 scale as ours."""
    ratings = []
    for key in ("technologicalDQR", "geographicalDQR", "temporalDQR"):
        try:
            ratings.append(float((dqi or {})[key]))
        except (KeyError, TypeError, ValueError):
            continue
    return round(sum(ratings) / len(ratings), 3) if ratings else None


def _release_link(
    session: Session, _principal: Principal, ref: SupplierRef, item_unit: str, _inventory: Inventory
) -> SupplyLink:
    """An entry of a factor-database release: the mean of certified values of a product class. It is verified data
    but not the buyer's supplier's own: it counts as secondary data (no primary share) with the entry's DQR."""
    release = session.exec(select(FactorRelease).where(FactorRelease.number == _typed(ref.reference))).first()
    if release is None:
        raise Refusal("release_unknown", f"no factor-database release {ref.reference}", release=ref.reference[:20])
    entry = session.exec(
        select(FactorEntry).where(FactorEntry.release_id == release.id, FactorEntry.key == (ref.entry or ""))
    ).first()
    if entry is None:
        raise Refusal(
            "release_entry_unknown",
            f"release {release.number} has no entry {ref.entry}",
            "entry",
            release=release.number,
            entry=(ref.entry or "")[:300],
        )
    amount, unit = declared(entry.declared_unit)
    return SupplyLink(
        kind=RELEASE,
        reference=f"{release.number}/{entry.key}",
        release_entry_id=entry.id,
        supplier_name=entry.named_manufacturer or release.title_zh or release.title,
        supplier_product=entry.product_class or entry.product_category,
        value_per_declared_unit=entry.value,
        declared_unit=entry.declared_unit,
        value_per_item_unit=_per_item_unit(entry.value, amount, unit, item_unit, entry.declared_unit),
        pcr_ref=(f"{entry.pcr_id}@{','.join(entry.pcr_versions)}" if entry.pcr_versions else entry.pcr_id)[:140],
        verified=True,  # certified values; who certified them, the labels behind the entry say (its `sources`)
        assurance=None,
        primary_data_share=None,
        dqr=entry.dqr,
    )


RESOLVERS = {LABEL: _label_link, PACT: _pact_link, RELEASE: _release_link}


def record(
    session: Session, inventory_record: InventoryRecord, links: list[SupplyLink], who: audit.Actor | None = None
) -> None:
    """Writes the links of a new inventory version in the submitting transaction, with their audit entry. Each
    source is read again under a row lock: a label revoked (or a PACT footprint deprecated) between resolution and
    this write is refused here rather than linked unseen, and one withdrawn after it finds the link to mark."""
    if not links:
        return
    period_start = Inventory.model_validate(inventory_record.data).reference_period.start
    errors, rows = [], []
    for link in links:
        try:
            _recheck(session, link, period_start)
        except Refusal as refusal:
            errors.append(refusal.error(link.item_index))
            continue
        row = SupplyLink.model_validate(
            {**link.model_dump(exclude={"id", "created_at"}), "inventory_id": inventory_record.id}
        )
        row.organisation_id, row.product_id = inventory_record.organisation_id, inventory_record.product_id
        rows.append(row)
    if errors:
        raise refused(errors)
    session.add_all(rows)
    audit.record(
        session,
        who or audit.SYSTEM,
        "supply.linked",
        "inventory",
        inventory_record.id,
        after={
            "product_id": str(inventory_record.product_id),
            "version": inventory_record.version,
            "links": [
                {
                    "item_index": row.item_index,
                    "item": row.item,
                    "kind": row.kind,
                    "reference": row.reference,
                    "value_per_declared_unit": row.value_per_declared_unit,
                    "declared_unit": row.declared_unit,
                    "value_per_item_unit": row.value_per_item_unit,
                    "item_unit": row.item_unit,
                    "affected": row.affected_reason,
                }
                for row in rows
            ],
        },
        organisation_id=inventory_record.organisation_id,
    )


def _recheck(session: Session, link: SupplyLink, period_start: date) -> None:
    """The source and the chain again, in the submitting transaction. The source's row is locked: its withdrawal
    waits for this submission (and then finds the link to mark), or this submission sees it withdrawn. The
    supplier's product row is locked before the chain is walked again: two submissions that would close a cycle
    between them (A names B's label while B names A's) each hold their own product and wait for the other's, which
    PostgreSQL breaks as a deadlock; the submission retried (services.inventories) then sees the other's links and
    is refused. SQLite runs one writing transaction at a time, so the walk at resolution already saw everything."""
    if link.label_id is not None:
        label = session.exec(select(Label).where(Label.id == link.label_id).with_for_update()).one()
        _refuse_label(label, period_start)
    elif link.supplier_footprint_id is not None:
        found = session.exec(
            select(SupplierFootprint).where(SupplierFootprint.id == link.supplier_footprint_id).with_for_update()
        ).one()
        _refuse_pact(found, period_start)
    if link.supplier_product_id is not None and link.supplier_product_id != link.product_id:
        session.exec(select(Product.id).where(Product.id == link.supplier_product_id).with_for_update()).one()
        _refuse_cycle(session, link)
