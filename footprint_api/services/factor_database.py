"""The factor database (issue 20, "Certified data out"): a manufacturer's consent per label, and the numbered,
immutable releases the platform admin cuts of product-level factors built from certified labels.

What a release publishes, and why
---------------------------------
- **Source.** Footprint labels of this service in force on the day of the cut (state `active`, issued on or before
  that day, not past their expiry; one label per product and PCR is in force, so a product counts once) whose
  manufacturer consented (`FactorConsent`, not withdrawn). The *value* is the one the label signs (four significant
  digits, what its public page shows); the gas split, the data-quality rating (DQR), the reference year and the
  province come from the verified footprint and inventory behind the label. Nothing else of a manufacturer's
  inventory leaves the service. Withdrawing consent takes effect at the next cut: a cut release is never changed.
- **Groups** (only like with like, GB/T 24067-2024 §6.3 / ISO 14067 comparability): PCR id and *major* version (a
  minor or patch version keeps the system boundary; the versions are listed), product class (the PCR's
  classification parameters, `pcr_rules.classification`; "" where it declares none), declared unit, reference year
  (of the reference period's end) and province (the facility's, as the verified inventory declares it). Each group
  is a provincial entry; the same group across provinces is its national entry.
- **Figures.** value = arithmetic mean per declared unit; min and max; SD = the sample standard deviation (n − 1)
  from two labels up; gases = the mean mass and CO2e of each gas per declared unit (a footprint without a gas counts
  0 for it; unrounded, so their CO2e adds up to the mean of the unrounded footprints, within the labels' rounding of
  the value); DQR = the mean of the footprints' DQR; the count of labels and of organisations behind it.
- **Disclosure** (issue 20: never one company's value where fewer than three stand behind a product-class average).
  An entry is published when at least `MIN_ORGANISATIONS` (3) organisations stand behind it, or when every label
  behind it was consented `named` (the entry then names the manufacturers and lists the labels). Nor may entries be
  combined into one company's value: every published figure is a sum over labels (mean × count), and a reader
  holding several of a group (a release's provincial and national entries, and those of every earlier release) can
  add and subtract them. An entry is withheld when, with the entries kept before it and the earlier releases', some
  combination would give the cells (a label's value, its amount of one gas, its DQR) of fewer than three
  organisations one of which is unnamed (`exposed`: a rank test on the figures' matrix, exact in fractions).
  Examples: Guizhou three organisations (published), Hebei one (withheld): the national entry of the four is
  withheld (COMPLEMENT), since 4 × national − 3 × Guizhou is Hebei's value; release 1 of A, B, C, D, then D
  withdraws: release 2 withholds A, B, C (EARLIER), since 4 × release 1 − 3 × release 2 is D's; D leaving while E, F,
  G join is published (the difference is D − (E + F + G), no one's value). Gases go by the same test on their own
  cells: a gas whose line would give fewer than three organisations' amounts (SF6 of one smelter; the national less
  a provincial line) is given by its CO2e within UNRESOLVED, the gas of the fewest emitters first, for every entry
  of the group; a DQR mean that would give one is left out. A gas a label does not have is no secret (a reader knows
  who emits SF6), so it counts as zero, not as a cell. The minimum and maximum of a published anonymous entry are
  single values, but of an unnamed one of at least three organisations; the labels' values themselves are public in
  the label registry, so anonymity keeps a company's name, label numbers and gas split out of a release, not the
  fact (which a reader may infer from the registry) that its label is among those counted. The rule takes a label's
  gases as unknown to a reader; its public value is their CO2e sum only within the label's rounding, which the rule
  does not model (a label of a single gas would have that gas read off the registry; footprints of this service
  carry several: CO2, CH4, N2O and the background's unresolved CO2e).
- **Kept for the rule.** An entry stores every label behind it (`FactorEntry.sources`); the files, pages and JSON
  list them only for an entry whose manufacturers all consented to be named.

The key of an entry
-------------------
`{pcr id}_v{major}_{product class}_{declared unit}_{reference year}_{place}`, e.g.
`PCR-CN-CEMENT_v1_PO-42.5_1t_2023_guizhou` and its national entry `PCR-CN-CEMENT_v1_PO-42.5_1t_2023_national`:
the product class as its codes (pcr_rules.classification's key, 'P·O/42.5') with '/' written '-' and every
character other than ASCII letters, digits, '.' and '+' left out ('all' where the PCR declares no class); the
declared unit without spaces ('1 t' -> '1t'); the province by its factor-set name in lower case with '-' for spaces
('Inner Mongolia' -> 'inner-mongolia'); 'national' for the entry across provinces. The same group has the same key
in every release, so an entry is cited as `{"kind": "release", "reference": "2026.1", "entry": key}`.

A release's JSON file is the release in canonical JSON (exports.factor_release); its `digest` is that file's
SHA-256, and the files are stored in the object store under their own SHA-256 like the label files.
"""

import hashlib
import math
import re
import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from fractions import Fraction
from itertools import combinations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from footprint_api.core import names
from footprint_api.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from footprint_api.exports import factor_release
from footprint_api.exports.factor_release import EntryNames
from footprint_api.infra.objects import object_store
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    FactorConsent,
    FactorEntry,
    FactorRelease,
    Footprint,
    InventoryRecord,
    Label,
    Role,
    utcnow,
)
from footprint_api.services import audit, labels
from footprint_api.services.principals import MANUFACTURER_ROLES, actor
from footprint_api.services.verification import label_day, today
from label_service.numbering import InvalidLabelNumber, normalise
from label_service.storage import StorageError
from label_service.verification import Verdict
from label_service.workflow import LabelState
from lca_models.flows import FLOWS
from pcr_rules import PCRNotFound, default_registry
from pcr_rules.classification import WHOLE_CATEGORY, UnclassifiedProduct, product_class

MIN_ORGANISATIONS = 3
CONSENT_LEVELS = ("anonymous", "named")
WITHDRAWN = "withdrawn"
NATIONAL = "national"
NUMBER = re.compile(r"(?P<year>20[0-9][0-9])\.(?P<sequence>[1-9][0-9]{0,2})", re.ASCII)  # 2026.1 … 2099.999
MAX_TITLE = 300
MAX_NOTES = 5000
OBJECT_PREFIX = "factors"
FORMATS = ("csv", "json", "jsonld")  # the files of a release
# why a group is not published (the preview names it; factors.yaml words it)
FEW_ORGANISATIONS = "factors.withheld.few_organisations"
COMPLEMENT = "factors.withheld.complement"
EARLIER = "factors.withheld.earlier_release"
UNCLASSIFIED = "factors.excluded.unclassified"
NO_PCR = "factors.excluded.no_pcr"
UNRESOLVED = FLOWS["co2e_as_co2_fossil"].label  # "CO2e not resolved by gas": where a gas is folded into


# --- consent -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRow:
    """One of the manufacturer's labels and what it consented to: anonymous, named, withdrawn, or None (never
    asked). `may_consent`: the label is in force today, so consent may be given or changed."""

    label: Label
    state: str | None
    given_at: datetime | None = None
    withdrawn_at: datetime | None = None
    may_consent: bool = False


def consent_state(consent: FactorConsent | None) -> str | None:
    if consent is None:
        return None
    return WITHDRAWN if consent.withdrawn_at is not None else consent.level


def _manufacturer(principal: Principal) -> None:
    if principal.role not in MANUFACTURER_ROLES:
        raise Forbidden("only the label's manufacturer decides its consent", code="factors.consent.not_manufacturer")


def _own_label(session: Session, principal: Principal, number: str) -> Label:
    """The label of this number issued to the caller's organisation; another's, or none, is 404 alike."""
    try:
        canonical = normalise(number)
    except InvalidLabelNumber:
        canonical = None
    label = session.exec(select(Label).where(Label.number == canonical)).first() if canonical else None
    if label is None or label.organisation_id != principal.organisation_id:
        raise NotFound(
            "no label of your organisation with this number",
            [{"field": "number", "reason": "unknown label", "code": "factors.consent.unknown_label"}],
            code="factors.consent.unknown_label",
            params={"number": number[:40]},
        )
    return label


def _consent_of(session: Session, label: Label) -> FactorConsent | None:
    return session.exec(select(FactorConsent).where(FactorConsent.label_id == label.id)).first()


def consents(session: Session, principal: Principal) -> list[ConsentRow]:
    """The caller's organisation's labels, newest first, each with its consent."""
    _manufacturer(principal)
    rows = session.exec(
        select(Label, FactorConsent)
        .join(FactorConsent, col(FactorConsent.label_id) == col(Label.id), isouter=True)
        .where(Label.organisation_id == principal.organisation_id, Label.kind == "footprint")
        .order_by(col(Label.issued_on).desc(), col(Label.number).desc())
    ).all()
    day = today()
    return [_consent_row(label, consent, day) for label, consent in rows]


def consent_row(session: Session, principal: Principal, number: str) -> ConsentRow:
    """One of the caller's labels with its consent."""
    _manufacturer(principal)
    label = _own_label(session, principal, number)
    return _consent_row(label, _consent_of(session, label), today())


def _consent_row(label: Label, consent: FactorConsent | None, day: date) -> ConsentRow:
    return ConsentRow(
        label,
        consent_state(consent),
        consent.given_at if consent else None,
        consent.withdrawn_at if consent else None,
        labels.status(label, day) is Verdict.VALID,
    )


def give_consent(session: Session, principal: Principal, number: str, level: str) -> FactorConsent:
    """Consent (or a changed level) for a label of one's own that is in force today; audited. Giving the level it
    already has changes nothing."""
    _manufacturer(principal)
    if level not in CONSENT_LEVELS:
        raise Unprocessable(
            f"level must be one of {', '.join(CONSENT_LEVELS)}",
            [{"field": "level", "reason": "unknown level", "code": "factors.consent.level.invalid", "params": {}}],
            code="factors.consent.level.invalid",
        )
    label = _own_label(session, principal, number)
    if label.kind != "footprint":  # a low-carbon or carbon-neutral label states a claim, not a factor to average
        raise Unprocessable(
            f"label {label.number} is a {label.kind} label: only footprint labels enter the factor database",
            [{"field": "number", "reason": "not a footprint label", "code": "factors.consent.not_footprint"}],
            code="factors.consent.not_footprint",
            params={"number": label.number},
        )
    verdict = labels.status(label, today())
    if verdict is not Verdict.VALID:
        raise Conflict(
            f"label {label.number} is not in force ({verdict.value}): only a label in force may enter the database",
            [{"field": "number", "reason": "label not in force", "code": "factors.consent.not_in_force"}],
            code="factors.consent.not_in_force",
            params={"number": label.number, "status": verdict.value},
        )
    consent = _consent_of(session, label)
    before = consent_state(consent)
    if before == level:
        return consent
    consent = consent or FactorConsent(label_id=label.id, organisation_id=label.organisation_id, level=level)
    consent.level, consent.given_by, consent.given_at, consent.withdrawn_at = level, principal.subject, utcnow(), None
    session.add(consent)
    audit.record(
        session,
        actor(principal),
        "factor_consent.given",
        "factor_consent",
        label.number,
        before={"level": before} if before else None,
        after={"level": level},
    )
    _commit_consent(session, label)
    session.refresh(consent)
    return consent


def withdraw_consent(session: Session, principal: Principal, number: str) -> FactorConsent:
    """Withdraws a label's consent (of a label in any state): the next release leaves it out, the releases already
    cut stay as they are. Audited; a label without consent in force answers 404."""
    _manufacturer(principal)
    label = _own_label(session, principal, number)
    consent = _consent_of(session, label)
    if consent is None or consent.withdrawn_at is not None:
        raise NotFound(
            f"label {label.number} has no consent to withdraw",
            [_error("number", "factors.consent.none_given", "no consent to withdraw", number=label.number)],
            code="factors.consent.none_given",
            params={"number": label.number},
        )
    consent.withdrawn_at = utcnow()
    session.add(consent)
    audit.record(
        session,
        actor(principal),
        "factor_consent.withdrawn",
        "factor_consent",
        label.number,
        before={"level": consent.level},
        after={"level": WITHDRAWN},
    )
    _commit_consent(session, label)
    session.refresh(consent)
    return consent


def _commit_consent(session: Session, label: Label) -> None:
    """One consent per label (unique label_id): of two first consents given at once, the database keeps one."""
    try:
        audit.commit(session)
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"the consent of label {label.number} was changed meanwhile; reload and try again",
            code="factors.consent.concurrent",
            params={"number": label.number},
        ) from None


# --- certified values: what each consented label brings --------------------------------------------------------------


@dataclass(frozen=True)
class GasAmount:
    mass_kg: float
    kg_co2e: float


@dataclass(frozen=True)
class CertifiedValue:
    """One consented label in force, as the factor database reads it (per declared unit)."""

    label: str
    organisation_id: str
    manufacturer: str
    consent: str  # anonymous | named
    pcr_id: str
    pcr_version: str
    product_category: str
    product_class: str
    declared_unit: str
    reference_year: int
    province: str | None  # the factor set's name of the province ('Guizhou'), or as the inventory wrote it
    value: float
    gases: Mapping[str, GasAmount] = field(default_factory=dict)
    dqr: float | None = None

    @property
    def pcr_major(self) -> int:
        return int(self.pcr_version.split(".", 1)[0])


@dataclass(frozen=True)
class Excluded:
    """A consented label in force that no group can take, and why (a code of factors.yaml)."""

    label: str
    reason: str


def certified_values(session: Session, day: date) -> tuple[list[CertifiedValue], list[Excluded]]:
    """Every consented footprint label in force on `day`, with its footprint's and inventory's facts."""
    rows = session.exec(
        select(Label, FactorConsent, Footprint, InventoryRecord)
        .join(FactorConsent, col(FactorConsent.label_id) == col(Label.id))
        .join(Footprint, col(Footprint.id) == col(Label.footprint_id))
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .where(
            Label.state == LabelState.ACTIVE.value,
            Label.kind == "footprint",
            Label.issued_on <= day,
            Label.expires_on >= day,
            col(FactorConsent.withdrawn_at).is_(None),
            FactorConsent.organisation_id == Label.organisation_id,
        )
        .order_by(Label.number)
    ).all()
    values, excluded = [], []
    for label, consent, footprint, record in rows:
        try:
            values.append(_certified(label, consent, footprint, record))
        except PCRNotFound:
            excluded.append(Excluded(label.number, NO_PCR))
        except UnclassifiedProduct:
            excluded.append(Excluded(label.number, UNCLASSIFIED))
    return values, excluded


def _certified(label: Label, consent: FactorConsent, footprint: Footprint, record: InventoryRecord) -> CertifiedValue:
    pcr = default_registry().get(label.pcr_id, label.pcr_version)
    found = product_class(pcr, _parameter_values(record.data.get("parameters") or {}))  # the classification's codes
    facility = record.data.get("facility") or {}
    written = (facility.get("province") or "").strip()
    return CertifiedValue(
        label=label.number,
        organisation_id=str(label.organisation_id),
        manufacturer=label.manufacturer_name,
        consent=consent.level,
        pcr_id=label.pcr_id,
        pcr_version=label.pcr_version,
        product_category=pcr.product_category,
        product_class=found.key,
        declared_unit=label.declared_unit,
        reference_year=int(str(record.data["reference_period"]["end"])[:4]),
        province=names.province_key(written) or written or None,
        value=float(label.value),
        gases={
            gas: GasAmount(float(amounts["mass_kg"]), float(amounts["kg_co2e"]))
            for gas, amounts in (footprint.result.get("per_gas") or {}).items()
        },
        dqr=(footprint.result.get("data_quality") or {}).get("dqr"),
    )


def _parameter_values(given: Mapping[str, object]) -> dict[str, object]:
    """The inventory's product-system parameters as stored (JSON): a choice by its code, an amount as it is."""
    return {
        key: value["choice"] if isinstance(value, dict) and "choice" in value else value for key, value in given.items()
    }


# --- groups and entries (no database: a rule over certified values) ---------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """A group of certified values as it would enter a release: its figures, and whether it is published (or the
    code of why not)."""

    key: str
    pcr_id: str
    pcr_major: int
    pcr_versions: tuple[str, ...]
    product_category: str
    product_class: str
    declared_unit: str
    reference_year: int
    province: str | None
    value: float
    gases: dict[str, dict[str, float]]
    dqr: float | None
    label_count: int
    organisation_count: int
    value_min: float
    value_max: float
    value_sd: float | None
    labels: tuple[str, ...]
    named_manufacturer: str | None = None
    sources: tuple[str, ...] = ()
    withheld: str | None = None
    folded: tuple[str, ...] = ()  # gases given in UNRESOLVED rather than apart (the disclosure rule)

    @property
    def published(self) -> bool:
        return self.withheld is None


def _version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in version.split("."))


def _slug(text: str, keep: str = "A-Za-z0-9.+") -> str:
    return re.sub(f"[^{keep}]", "", text)


def key_part_of_class(product_class_key: str) -> str:
    """'P·O/42.5' -> 'PO-42.5'; '' -> 'all'."""
    if not product_class_key:
        return "all"
    parts = [_slug(part) for part in product_class_key.split("/")]
    slug = "-".join(part for part in parts if part)
    return slug or "c" + hashlib.sha256(product_class_key.encode()).hexdigest()[:8]


def key_part_of_place(province: str | None) -> str:
    """None -> 'national'; 'Inner Mongolia' -> 'inner-mongolia'; a name of no ASCII letters by its hash."""
    if province is None:
        return NATIONAL
    slug = re.sub(r"-+", "-", _slug(province.strip().lower().replace(" ", "-"), "a-z0-9-")).strip("-")
    return slug or "p" + hashlib.sha256(province.encode()).hexdigest()[:8]


def entry_key(
    pcr_id: str, pcr_major: int, product_class_key: str, declared_unit: str, reference_year: int, province: str | None
) -> str:
    """The stable key of a group (see the module's docstring)."""
    parts = (
        _slug(pcr_id, "A-Za-z0-9.+-"),
        f"v{pcr_major}",
        key_part_of_class(product_class_key),
        _slug(declared_unit, "A-Za-z0-9.+"),
        str(reference_year),
        key_part_of_place(province),
    )
    return "_".join(parts)


def _disclosable(members: list[CertifiedValue]) -> bool:
    organisations = {m.organisation_id for m in members}
    return len(organisations) >= MIN_ORGANISATIONS or all(m.consent == "named" for m in members)


def _draft(members: list[CertifiedValue], province: str | None) -> Draft:
    first = members[0]
    values = [m.value for m in members]
    n = len(members)
    dqrs = [m.dqr for m in members if m.dqr is not None]
    named = all(m.consent == "named" for m in members)
    return Draft(
        key=entry_key(
            first.pcr_id, first.pcr_major, first.product_class, first.declared_unit, first.reference_year, province
        ),
        pcr_id=first.pcr_id,
        pcr_major=first.pcr_major,
        pcr_versions=tuple(sorted({m.pcr_version for m in members}, key=_version_key)),
        product_category=first.product_category,
        product_class=first.product_class,
        declared_unit=first.declared_unit,
        reference_year=first.reference_year,
        province=province,
        value=statistics.fmean(values),
        gases=gas_split(members),
        dqr=statistics.fmean(dqrs) if dqrs else None,
        label_count=n,
        organisation_count=len({m.organisation_id for m in members}),
        value_min=min(values),
        value_max=max(values),
        value_sd=statistics.stdev(values) if n >= 2 else None,
        labels=tuple(sorted(m.label for m in members)),
        named_manufacturer="; ".join(sorted({m.manufacturer for m in members})) if named else None,
        sources=tuple(sorted(m.label for m in members)) if named else (),
        withheld=None if _disclosable(members) else FEW_ORGANISATIONS,
    )


def gas_split(members: Iterable[CertifiedValue], folded: Iterable[str] = ()) -> dict[str, dict[str, float]]:
    """The mean mass and CO2e of each gas per declared unit (a label without the gas counts 0 for it); a gas in
    `folded` enters UNRESOLVED by its CO2e (the disclosure rule's way to keep a gas of fewer than three companies
    from being read apart), so the CO2e of the gases adds up the same either way."""
    members, folded = list(members), set(folded)
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for member in members:
        for gas, amount in member.gases.items():
            into = UNRESOLVED if gas in folded else gas
            sums[into][0] += amount.kg_co2e if gas in folded else amount.mass_kg
            sums[into][1] += amount.kg_co2e
    n = len(members)
    return {gas: {"mass_kg": mass / n, "kg_co2e": co2e / n} for gas, (mass, co2e) in sorted(sums.items())}


def _group(value: CertifiedValue) -> tuple:
    return (value.pcr_id, value.pcr_major, value.product_class, value.declared_unit, value.reference_year)


# --- the disclosure rule across entries and releases ------------------------------------------------------------------
#
# Every published figure of an entry is a sum over its labels (a mean times its count): of their values, of each
# gas's mass and CO2e, of their DQRs. A reader holding several figures of one group (the provincial and national
# entries of a release, and those of every earlier release) may combine them: 4 × national − 3 × Guizhou is
# Hebei's one label; 4 × release 1 − 3 × release 2 is the label that left. What a reader can learn is exactly what
# lies in the row space of the figures (a matrix: one row per figure, one column per "cell", a label's value or its
# amount of one gas), and the rule is that no vector of that space sums the cells of fewer than MIN_ORGANISATIONS
# organisations one of which did not consent to be named. Cells that enter exactly the same figures (a "class")
# can only be learnt together, so the test runs on classes: for each set O of at most two organisations, the
# classes made only of O's unnamed cells (and of named ones) are isolated when removing their columns lowers the
# rank. A gas that no label has (zero) is no cell: a reader knows which companies emit it.


@dataclass(frozen=True)
class Contributor:
    """A label as the disclosure rule knows it: whose it is, whether it was consented named, which gases it has
    (non-zero), whether it has a DQR."""

    organisation_id: str
    named: bool
    gases: frozenset[str]
    has_dqr: bool


@dataclass(frozen=True)
class Shown:
    """What an entry publishes (or would), as the rule reads it: its group, its labels, the gases it shows apart
    (every other gas of its labels, and UNRESOLVED itself, is in its UNRESOLVED line), whether it gives a DQR."""

    group: tuple
    labels: frozenset[str]
    apart: frozenset[str]
    dqr: bool


Cell = tuple[str, str]  # (label number, "value" | "dqr" | a gas)


def _contributor(value: CertifiedValue) -> Contributor:
    return Contributor(
        value.organisation_id,
        value.consent == "named",
        frozenset(gas for gas, amount in value.gases.items() if amount.mass_kg or amount.kg_co2e),
        value.dqr is not None,
    )


def _value_figures(shown: Iterable[Shown]) -> list[frozenset[Cell]]:
    return [frozenset((label, "value") for label in entry.labels) for entry in shown]


def _gas_figures(shown: Iterable[Shown], who: Mapping[str, Contributor]) -> list[frozenset[Cell]]:
    figures = []
    for entry in shown:
        cells = [(label, gas) for label in entry.labels for gas in who[label].gases]
        for gas in entry.apart:
            figures.append(frozenset(cell for cell in cells if cell[1] == gas))
        figures.append(frozenset(cell for cell in cells if cell[1] not in entry.apart))  # the UNRESOLVED line
    return figures


def _dqr_figures(shown: Iterable[Shown], who: Mapping[str, Contributor]) -> list[frozenset[Cell]]:
    return [frozenset((label, "dqr") for label in entry.labels if who[label].has_dqr) for entry in shown if entry.dqr]


def exposed(figures: Iterable[frozenset[Cell]], who: Mapping[str, Contributor]) -> set[frozenset[str]]:
    """The sets of fewer than MIN_ORGANISATIONS organisations whose unnamed cells some combination of the figures
    isolates (see the comment above); empty when the figures are safe together."""
    figures = list(dict.fromkeys(figure for figure in figures if figure))
    classes: dict[frozenset[int], set[str]] = {}
    membership: dict[Cell, set[int]] = defaultdict(set)
    for index, figure in enumerate(figures):
        for cell in figure:
            membership[cell].add(index)
    for cell, rows in membership.items():
        unnamed = classes.setdefault(frozenset(rows), set())
        if not who[cell[0]].named:
            unnamed.add(who[cell[0]].organisation_id)
    small = sorted({o for unnamed in classes.values() if len(unnamed) < MIN_ORGANISATIONS for o in unnamed})
    if not small:
        return set()
    columns = list(classes)
    basis = _row_basis([[Fraction(int(row in column)) for column in columns] for row in range(len(figures))])
    found = set()
    for size in range(1, MIN_ORGANISATIONS):
        for organisations in combinations(small, size):
            inside = {j for j, column in enumerate(columns) if classes[column] <= set(organisations)}
            if not any(classes[columns[j]] for j in inside):
                continue
            rest = [[value for j, value in enumerate(row) if j not in inside] for row in basis]
            if len(_row_basis(rest)) < len(basis):
                found.add(frozenset(organisations))
    return found


def _row_basis(rows: list[list[Fraction]]) -> list[list[Fraction]]:
    """The non-zero rows of the reduced row echelon form (exact: fractions)."""
    rows = [list(row) for row in rows]
    basis: list[list[Fraction]] = []
    width = len(rows[0]) if rows else 0
    for column in range(width):
        pivot = next((row for row in rows if row[column] != 0), None)
        if pivot is None:
            continue
        rows.remove(pivot)
        pivot = [value / pivot[column] for value in pivot]
        rows = [[a - row[column] * b for a, b in zip(row, pivot, strict=True)] for row in rows]
        basis = [[a - row[column] * b for a, b in zip(row, pivot, strict=True)] for row in basis]
        basis.append(pivot)
    return basis


def drafts(
    values: Iterable[CertifiedValue],
    earlier: Iterable[Shown] = (),
    known: Mapping[str, Contributor] | None = None,
) -> list[Draft]:
    """Every group's provincial entries and its national entry, in key order, each published or withheld by the
    disclosure rule of the module's docstring. `earlier`: what the releases already cut publish (their labels
    `known` as contributors where they are no longer among `values`)."""
    values = list(values)
    who = {**(known or {}), **{value.label: _contributor(value) for value in values}}
    before: dict[tuple, list[Shown]] = defaultdict(list)
    for entry in earlier:
        before[entry.group].append(entry)
        for label in entry.labels - who.keys():  # a label the service no longer has: its own, unnamed, every gas
            who[label] = Contributor(f"label:{label}", False, entry.apart | {UNRESOLVED}, entry.dqr)
    groups: dict[tuple, list[CertifiedValue]] = defaultdict(list)
    for value in values:
        groups[_group(value)].append(value)
    found: list[Draft] = []
    for group, members in groups.items():
        found += _group_drafts(members, before[group], who)
    return sorted(found, key=lambda draft: draft.key)


def _group_drafts(members: list[CertifiedValue], before: list[Shown], who: Mapping[str, Contributor]) -> list[Draft]:
    """A group's entries: each province's (a label without a province counts in the national entry only), then
    the national one, each kept only if it isolates no company's cells together with the entries kept before it and
    the earlier releases' (COMPLEMENT, EARLIER); then the gases shown apart and the DQR, by the same test."""
    by_province: dict[str, list[CertifiedValue]] = defaultdict(list)
    for member in members:
        if member.province is not None:
            by_province[member.province].append(member)
    candidates = sorted((_draft(group, place) for place, group in by_province.items()), key=lambda d: d.key)
    candidates.append(_draft(members, None))
    leaked = exposed(_value_figures(before), who)
    kept: list[Draft] = []
    out: list[Draft] = []
    for draft in candidates:
        if draft.published:
            trial = [*kept, draft]
            if exposed(_value_figures(_shown(d) for d in trial), who):
                draft = replace(draft, withheld=COMPLEMENT)
            elif exposed(_value_figures([*before, *(_shown(d) for d in trial)]), who) - leaked:
                draft = replace(draft, withheld=EARLIER)
            else:
                kept.append(draft)
        out.append(draft)
    if not kept:
        return out
    by_label = {member.label: member for member in members}
    folded = _folded(kept, before, who)
    if folded is None:
        return [replace(draft, withheld=COMPLEMENT) if draft.published else draft for draft in out]
    with_dqr = not (
        exposed(_dqr_figures([*before, *(_shown(d) for d in kept)], who), who) - exposed(_dqr_figures(before, who), who)
    )
    final = {
        draft.key: replace(
            draft,
            gases=gas_split((by_label[label] for label in draft.labels), folded),
            dqr=draft.dqr if with_dqr else None,
            folded=tuple(sorted(folded)),
        )
        for draft in kept
    }
    return [final.get(draft.key, draft) if draft.published else draft for draft in out]


def _shown(draft: Draft, folded: Iterable[str] = ()) -> Shown:
    group = (draft.pcr_id, draft.pcr_major, draft.product_class, draft.declared_unit, draft.reference_year)
    apart = frozenset(draft.gases) - {UNRESOLVED} - set(folded)
    return Shown(group, frozenset(draft.labels), apart, draft.dqr is not None)


def _folded(kept: list[Draft], before: list[Shown], who: Mapping[str, Contributor]) -> set[str] | None:
    """The gases the group's entries of this release give in UNRESOLVED rather than apart: none, unless a gas line
    (with the earlier releases' lines) would isolate a company's amount; then gases are folded, the one of the fewest
    emitting organisations first, until nothing is isolated. None: even the whole footprint in UNRESOLVED would
    isolate one (earlier releases showed a gas apart that this one cannot): the group's entries are withheld."""
    leaked = exposed(_gas_figures(before, who), who)
    gases = sorted({gas for draft in kept for gas in draft.gases} - {UNRESOLVED})
    emitters = {
        gas: len({who[label].organisation_id for d in kept for label in d.labels if gas in who[label].gases})
        for gas in gases
    }
    folded: set[str] = set()
    while exposed(_gas_figures([*before, *(_shown(d, folded) for d in kept)], who), who) - leaked:
        left = sorted(set(gases) - folded, key=lambda gas: (emitters[gas], gas))
        if not left:
            return None
        folded.add(left[0])
    return folded


# --- preview and cut ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What a release cut on `day` would publish, what it would withhold (and why), and what it would change."""

    day: date
    published: list[Draft]
    withheld: list[Draft]
    excluded: list[Excluded]
    previous: FactorRelease | None
    changes: dict

    @property
    def label_count(self) -> int:
        return len({label for draft in self.published for label in draft.labels})


def latest(session: Session) -> FactorRelease | None:
    return session.exec(select(FactorRelease).order_by(col(FactorRelease.cut_at).desc())).first()


def preview(session: Session, principal: Principal) -> Preview:
    """What a release cut now would hold (the platform admin's view before cutting)."""
    _platform_admin(principal)
    return _preview(session, today())


def _preview(session: Session, day: date) -> Preview:
    values, excluded = certified_values(session, day)
    earlier, known = published_before(session, {value.label for value in values})
    found = drafts(values, earlier, known)
    published = [d for d in found if d.published]
    previous = latest(session)
    before = {e.key: e.value for e in _entries_of(session, previous)} if previous else {}
    return Preview(
        day=day,
        published=published,
        withheld=[d for d in found if not d.published],
        excluded=excluded,
        previous=previous,
        changes=compare(previous.number if previous else None, before, {d.key: d.value for d in published}),
    )


def published_before(session: Session, current: set[str]) -> tuple[list[Shown], dict[str, Contributor]]:
    """What every release cut so far publishes, as the disclosure rule reads it, and the labels behind it that are
    no longer among the `current` consented labels in force (withdrawn, expired, revoked): whose they were, whether
    they stood named, their gases. An entry keeps all its labels (FactorEntry.sources), published only when named;
    an anonymous entry cut before entries kept them (sources empty) cannot be read and is left out."""
    rows = list(session.exec(select(FactorEntry)))
    earlier = [
        Shown(
            (row.pcr_id, row.pcr_major, row.product_class, row.declared_unit, row.reference_year),
            frozenset(row.sources),
            frozenset(row.gases) - {UNRESOLVED},
            row.dqr is not None,
        )
        for row in rows
        if row.sources
    ]
    stood_named = {label for row in rows if row.named_manufacturer for label in row.sources}
    missing = {label for entry in earlier for label in entry.labels} - current
    known = {}
    if missing:
        for label, footprint, consent in session.exec(
            select(Label, Footprint, FactorConsent)
            .join(Footprint, col(Footprint.id) == col(Label.footprint_id))
            .join(FactorConsent, col(FactorConsent.label_id) == col(Label.id), isouter=True)
            .where(col(Label.number).in_(missing))
        ):
            gases = footprint.result.get("per_gas") or {}
            known[label.number] = Contributor(
                str(label.organisation_id),
                label.number in stood_named or consent_state(consent) == "named",
                frozenset(gas for gas, amount in gases.items() if amount.get("mass_kg") or amount.get("kg_co2e")),
                (footprint.result.get("data_quality") or {}).get("dqr") is not None,
            )
    return earlier, known


def compare(previous: str | None, before: Mapping[str, float], after: Mapping[str, float]) -> dict:
    """What changed since the previous release, by entry key: added, removed, and changed values (old -> new, and
    the change in per cent of the old value, rounded to 0.01). A first release has nothing to compare with."""
    if previous is None:
        return {"previous": None, "added": [], "removed": [], "changed": [], "unchanged": 0}
    changed = [
        {
            "key": key,
            "old": before[key],
            "new": after[key],
            "change_percent": round((after[key] - before[key]) / before[key] * 100, 2) if before[key] else None,
        }
        for key in sorted(before.keys() & after.keys())
        if not math.isclose(before[key], after[key], rel_tol=1e-12, abs_tol=0.0)
    ]
    return {
        "previous": previous,
        "added": [{"key": key, "value": after[key]} for key in sorted(after.keys() - before.keys())],
        "removed": [{"key": key, "value": before[key]} for key in sorted(before.keys() - after.keys())],
        "changed": changed,
        "unchanged": len(before.keys() & after.keys()) - len(changed),
    }


def _platform_admin(principal: Principal) -> None:
    if principal.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("only the platform administrator cuts releases", code="factors.release.not_admin")


def _number_order(number: str) -> tuple[int, int]:
    found = NUMBER.fullmatch(number)
    return (int(found["year"]), int(found["sequence"])) if found else (0, 0)


def checked_release(number: str, title: str, title_zh: str, notes: str | None) -> tuple[str, str, str, str | None]:
    """The release's number, titles and notes as stored, or an Unprocessable naming each field at fault."""
    number, title, title_zh = (number or "").strip(), (title or "").strip(), (title_zh or "").strip()
    notes = (notes or "").strip() or None
    errors = []
    if not NUMBER.fullmatch(number):
        errors.append(_error("number", "factors.release.number_format", "a number like 2026.1 (year.sequence)"))
    for name, text in (("title", title), ("title_zh", title_zh)):
        if not text:
            errors.append(_error(name, "factors.release.title_missing", "a title is required"))
        elif len(text) > MAX_TITLE or _unprintable(text):
            errors.append(
                _error(
                    name, "factors.release.title_invalid", f"at most {MAX_TITLE} printable characters", max=MAX_TITLE
                )
            )
    if notes and (len(notes) > MAX_NOTES or _unprintable(notes.replace("\n", "").replace("\r", ""))):
        errors.append(
            _error("notes", "factors.release.notes_invalid", f"at most {MAX_NOTES} printable characters", max=MAX_NOTES)
        )
    if errors:
        raise Unprocessable("the release cannot be cut as given", errors)
    return number, title, title_zh, notes


def _unprintable(text: str) -> bool:
    """Control characters, or what UTF-8 cannot write (a lone surrogate): the files of a release are UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return any(ord(char) < 32 or char == "\x7f" for char in text)


def _error(field: str, code: str, reason: str, **params) -> dict:
    return {"field": field, "reason": reason, "code": code, "params": params}


def cut(
    session: Session,
    principal: Principal,
    number: str,
    title: str,
    title_zh: str,
    notes: str | None = None,
) -> FactorRelease:
    """Cuts release `number` from the consented labels in force today (China time): its entries, the
    changes since the latest release, its three files in the object store, its digest; audited. Refused, with
    nothing stored: a malformed number or title, a number taken or not after the latest's, nothing to publish."""
    _platform_admin(principal)
    number, title, title_zh, notes = checked_release(number, title, title_zh, notes)
    if session.exec(select(FactorRelease).where(FactorRelease.number == number)).first() is not None:
        raise _number_taken(number)
    now = utcnow()
    found = _preview(session, label_day(now))
    previous = found.previous
    if previous is not None and _number_order(number) <= _number_order(previous.number):
        raise Unprocessable(
            f"release {number} must come after the latest release {previous.number}",
            [_error("number", "factors.release.number_order", "not after the latest release", latest=previous.number)],
        )
    if len({draft.key for draft in found.published}) < len(found.published):  # two groups, one key: see entry_key
        raise Conflict("two groups of this release have the same key", code="factors.release.key_collision")
    if not found.published:
        raise Unprocessable(
            "no group of consented labels in force may be published yet: nothing to release",
            [_error("number", "factors.release.empty", "nothing to publish")],
            code="factors.release.empty",
        )
    release = FactorRelease(
        number=number,
        title=title,
        title_zh=title_zh,
        notes=notes,
        previous_id=previous.id if previous else None,
        entry_count=len(found.published),
        label_count=found.label_count,
        digest="",
        cut_by=principal.subject,
        cut_at=now,
    )
    entries = [_entry(release.id, draft) for draft in found.published]
    documents = factor_release.render(release, found.day, entries, found.changes, entry_names, MIN_ORGANISATIONS)
    release.digest = hashlib.sha256(documents["json"]).hexdigest()
    release.files = _stored(number, documents)
    session.add(release)
    try:
        session.flush()  # the release before its entries (no relationship orders the two inserts)
    except IntegrityError:  # the same number cut meanwhile (the database decides: unique number)
        session.rollback()
        raise _number_taken(number) from None
    session.add_all(entries)
    audit.record(
        session,
        actor(principal),
        "factor_release.cut",
        "factor_release",
        number,
        after={
            "entries": release.entry_count,
            "labels": release.label_count,
            "digest": release.digest,
            "previous": previous.number if previous else None,
            "cut_on": found.day.isoformat(),
        },
    )
    audit.commit(session)
    session.refresh(release)
    return release


def _number_taken(number: str) -> Conflict:
    return Conflict(
        f"release {number} exists: a release is never replaced, cut a new number",
        [_error("number", "factors.release.number_taken", "taken", number=number)],
        code="factors.release.number_taken",
        params={"number": number},
    )


def _entry(release_id: uuid.UUID, draft: Draft) -> FactorEntry:
    return FactorEntry(
        release_id=release_id,
        key=draft.key,
        pcr_id=draft.pcr_id,
        pcr_major=draft.pcr_major,
        pcr_versions=list(draft.pcr_versions),
        product_category=draft.product_category,
        product_class=draft.product_class,
        declared_unit=draft.declared_unit,
        reference_year=draft.reference_year,
        province=draft.province,
        value=draft.value,
        gases=draft.gases,
        dqr=draft.dqr,
        label_count=draft.label_count,
        organisation_count=draft.organisation_count,
        value_min=draft.value_min,
        value_max=draft.value_max,
        value_sd=draft.value_sd,
        named_manufacturer=draft.named_manufacturer,
        sources=list(draft.labels),  # every label, for the disclosure rule of later releases; public only if named
    )


def _stored(number: str, documents: dict[str, bytes]) -> dict[str, dict]:
    """The files in the object store, content-addressed; a store that fails stores nothing of the release."""
    store = object_store()
    files = {}
    try:
        for name, extension in (("csv", "csv"), ("json", "json"), ("jsonld", "zip")):
            stored = store.put(documents[name], extension, prefix=OBJECT_PREFIX)
            files[name] = {
                "key": stored.key,
                "sha256": stored.sha256,
                "size": stored.size,
                "content_type": stored.content_type,
                "filename": factor_release.file_name(number, name),
            }
    except StorageError as exc:
        raise labels.StorageUnavailable(f"the release files could not be stored ({exc}); nothing was cut") from None
    return files


# --- reading releases (public) ---------------------------------------------------------------------------------------


def releases(session: Session) -> list[FactorRelease]:
    """Every release, the newest first."""
    return list(session.exec(select(FactorRelease).order_by(col(FactorRelease.cut_at).desc())))


def release(session: Session, number: str) -> FactorRelease:
    found = session.exec(select(FactorRelease).where(FactorRelease.number == number.strip()[:20])).first()
    if found is None:
        raise NotFound(
            f"no factor-database release {number[:20]}",
            [_error("number", "factors.release.unknown", "unknown release")],
            code="factors.release.unknown",
        )
    return found


def previous_of(session: Session, found: FactorRelease) -> FactorRelease | None:
    return session.get(FactorRelease, found.previous_id) if found.previous_id else None


def _entries_of(session: Session, found: FactorRelease) -> list[FactorEntry]:
    return list(session.exec(select(FactorEntry).where(FactorEntry.release_id == found.id).order_by(FactorEntry.key)))


def entries(
    session: Session, found: FactorRelease, category: str | None = None, province: str | None = None
) -> list[FactorEntry]:
    """A release's entries in key order; `category` (a product category code) and `province` (a province in any
    spelling, or 'national') narrow them."""
    rows = _entries_of(session, found)
    if category:
        rows = [row for row in rows if row.product_category == category.strip()]
    if province:
        wanted = province.strip()
        place = None if wanted.lower() == NATIONAL else (names.province_key(wanted) or wanted)
        rows = [row for row in rows if row.province == place]
    return rows


def entry(session: Session, number: str, key: str) -> FactorEntry:
    """One entry of a release by its key: what a footprint cites (`{"kind": "release", "reference": number,
    "entry": key}`)."""
    found = release(session, number)
    row = session.exec(
        select(FactorEntry).where(FactorEntry.release_id == found.id, FactorEntry.key == key[:300])
    ).first()
    if row is None:
        raise NotFound(
            f"release {found.number} has no entry {key[:300]}",
            [_error("key", "factors.entry.unknown", "unknown entry")],
            code="factors.entry.unknown",
        )
    return row


def changes(session: Session, found: FactorRelease) -> dict:
    """What changed in `found` since the release before it (recomputed from the immutable entries: the same as its
    JSON file states)."""
    previous = previous_of(session, found)
    before = {e.key: e.value for e in _entries_of(session, previous)} if previous else {}
    return compare(previous.number if previous else None, before, {e.key: e.value for e in _entries_of(session, found)})


def categories(rows: Iterable[FactorEntry]) -> list[str]:
    return sorted({row.product_category for row in rows})


def provinces(rows: Iterable[FactorEntry]) -> list[str]:
    return sorted({row.province for row in rows if row.province is not None}, key=str.lower)


def cut_on(found: FactorRelease) -> date:
    """The day (China time) whose labels in force the release holds."""
    return label_day(found.cut_at)


def entry_names(entry_row: FactorEntry) -> EntryNames:
    """The names of an entry's category, product class and province in both languages."""
    label, label_zh = class_names(entry_row.pcr_id, entry_row.pcr_versions, entry_row.product_class)
    english, chinese = names.province_spellings(entry_row.province) if entry_row.province else ("China", "全国")
    newest = max(entry_row.pcr_versions, key=_version_key) if entry_row.pcr_versions else None
    return EntryNames(
        category=names.pcr_category(entry_row.pcr_id, "en", newest),
        category_zh=names.pcr_category(entry_row.pcr_id, "zh", newest),
        product_class=label,
        product_class_zh=label_zh,
        province=english,
        province_zh=chinese,
    )


def class_names(pcr_id: str, versions: list[str], key: str) -> tuple[str, str]:
    """(English, Chinese) name of a product class from the PCR's classification (its newest version listed); the
    key itself where the PCR cannot name it."""
    if not key:
        return WHOLE_CATEGORY[1], WHOLE_CATEGORY[2]
    for version in sorted(versions, key=_version_key, reverse=True):
        try:
            pcr = default_registry().get(pcr_id, version)
            found = product_class(pcr, dict(zip(pcr.classification, key.split("/"), strict=True)))
        except (PCRNotFound, UnclassifiedProduct, ValueError):
            continue
        return found.label, found.label_zh
    return key, key


def release_file(session: Session, number: str, name: str) -> tuple[bytes, dict]:
    """A release's file (csv, json or jsonld) as stored, and its record (name, content type, SHA-256)."""
    found = release(session, number)
    stored = found.files.get(name) if name in FORMATS else None
    if stored is None:
        raise NotFound(
            f"no file {name[:20]} of release {found.number}",
            [_error("name", "factors.file.unknown", "one of csv, json, jsonld")],
            code="factors.file.unknown",
        )
    try:
        return object_store().get(stored["key"]), stored
    except StorageError:
        raise labels.StorageUnavailable("the release file cannot be read now") from None


def citation(number: str, key: str, lang: str) -> str:
    """How a footprint's report cites an entry."""
    if lang == "zh":
        return f"PCF 因子数据库 {number} 版，条目 {key}"
    return factor_release.citation(number, key)
