"""Read-only views of a manufacturer's work for its pages: the dashboard, the footprint list and the comparison of
two inventory versions.

Each view is a few set-based queries over the organisation's rows (window functions pick the latest row per
product), never one query per row: the dashboard stays as fast with a thousand footprints and labels as with one.
Only the columns a page shows are read; a footprint's full result JSON is read for one footprint at a time.
"""

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from footprint_api.core.errors import Unprocessable
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Application, Finding, Footprint, InventoryRecord, Job, Label, Product
from footprint_api.services.footprints import visible_footprint
from label_service.workflow import ApplicationState
from pcr_rules import PCRNotFound, default_registry
from pcr_rules.models import PCR, ParameterSpec

CLOSED_APPLICATIONS = (ApplicationState.REJECTED.value, ApplicationState.LABEL_ISSUED.value)
RECENT_JOBS = 10
PRODUCTS_PER_PAGE = 50
FOOTPRINTS_PER_PAGE = 100
TOP_CONTRIBUTORS = 8


@dataclass(frozen=True)
class ProductRow:
    product_id: uuid.UUID
    name: str
    model: str | None
    pcr_id: str
    inventory_id: uuid.UUID | None  # the latest inventory version
    inventory_version: int | None
    calculated: bool  # the latest inventory version has a footprint
    footprint_id: uuid.UUID | None  # the latest footprint of any version
    footprint_version: int | None  # the inventory version it was calculated from
    total_kg_co2e: float | None
    declared_unit: str | None
    footprint_created_at: datetime | None
    label_number: str | None  # the label in force, else the latest
    label_state: str | None


@dataclass(frozen=True)
class ApplicationRow:
    application_id: uuid.UUID
    product_name: str
    state: str
    updated_at: datetime
    open_findings: int


@dataclass(frozen=True)
class FindingRow:
    application_id: uuid.UUID
    product_name: str
    subject: str
    text: str
    raised_at: datetime


@dataclass(frozen=True)
class JobRow:
    job_id: uuid.UUID
    product_name: str
    inventory_version: int
    status: str
    progress: float
    monte_carlo_iterations: int
    created_at: datetime
    footprint_id: uuid.UUID | None


@dataclass(frozen=True)
class Dashboard:
    products: list[ProductRow]
    product_count: int
    offset: int
    applications: list[ApplicationRow]
    findings: list[FindingRow]
    jobs: list[JobRow]


def _latest(partition, *order):
    return func.row_number().over(partition_by=partition, order_by=order).label("rank")


def _first_per_product(session: Session, ranked) -> dict[uuid.UUID, tuple]:
    """Rows of rank 1 of a query ranked per product, by product id (one pass over the result)."""
    subquery = ranked.subquery()
    rows = session.exec(select(*subquery.c).where(subquery.c.rank == 1))
    return {row[0]: tuple(row[1:-1]) for row in rows}


def products(
    session: Session, principal: Principal, offset: int = 0, limit: int = PRODUCTS_PER_PAGE
) -> tuple[list[ProductRow], int]:
    """A page of the organisation's products (by name) with each one's latest inventory, latest footprint and
    label, and the number of products: six queries whatever the number of products, merged by product id."""
    organisation_id = principal.organisation_id
    total = session.exec(
        select(func.count()).select_from(Product).where(Product.organisation_id == organisation_id)
    ).one()
    page = list(
        session.exec(
            select(Product.id, Product.name, Product.model, Product.pcr_id)
            .where(Product.organisation_id == organisation_id)
            .order_by(col(Product.name), col(Product.created_at), col(Product.id))
            .offset(offset)
            .limit(limit)
        )
    )
    ids = [row[0] for row in page]
    inventories = _first_per_product(
        session,
        select(
            InventoryRecord.product_id,
            InventoryRecord.id,
            InventoryRecord.version,
            _latest(InventoryRecord.product_id, col(InventoryRecord.version).desc()),
        ).where(col(InventoryRecord.product_id).in_(ids)),
    )
    footprints_ = _first_per_product(
        session,
        select(
            InventoryRecord.product_id,
            Footprint.id,
            InventoryRecord.version,
            Footprint.total_kg_co2e,
            Footprint.declared_unit,
            Footprint.created_at,
            _latest(InventoryRecord.product_id, col(InventoryRecord.version).desc(), col(Footprint.created_at).desc()),
        )
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .where(col(InventoryRecord.product_id).in_(ids)),
    )
    latest_ids = [inventory_id for inventory_id, _ in inventories.values()]
    calculated = set(
        session.exec(select(Footprint.inventory_id).distinct().where(col(Footprint.inventory_id).in_(latest_ids)))
    )
    in_force = col(Label.state).in_(("active", "suspended"))  # the label in force, else the most recent one
    labels = _first_per_product(
        session,
        select(
            Label.product_id,
            Label.number,
            Label.state,
            _latest(Label.product_id, in_force.desc(), col(Label.created_at).desc()),
        ).where(col(Label.product_id).in_(ids)),
    )
    rows = []
    for product_id, name, model, pcr_id in page:
        inventory_id, version = inventories.get(product_id, (None, None))
        rows.append(
            ProductRow(
                product_id,
                name,
                model,
                pcr_id,
                inventory_id,
                version,
                inventory_id in calculated,
                *footprints_.get(product_id, (None,) * 5),
                *labels.get(product_id, (None, None)),
            )
        )
    return rows, total


def applications(session: Session, principal: Principal) -> list[ApplicationRow]:
    findings = (
        select(Finding.application_id, func.count().label("open"))
        .where(col(Finding.resolved_at).is_(None))
        .group_by(Finding.application_id)
        .subquery()
    )
    query = (
        select(
            Application.id, Product.name, Application.state, Application.updated_at, func.coalesce(findings.c.open, 0)
        )
        .join(Product, col(Product.id) == col(Application.product_id))
        .outerjoin(findings, findings.c.application_id == Application.id)
        .where(
            Application.organisation_id == principal.organisation_id, col(Application.state).not_in(CLOSED_APPLICATIONS)
        )
        .order_by(col(Application.updated_at).desc())
    )
    return [ApplicationRow(*row) for row in session.exec(query)]


def open_findings(session: Session, principal: Principal) -> list[FindingRow]:
    query = (
        select(Finding.application_id, Product.name, Finding.subject, Finding.text, Finding.raised_at)
        .join(Application, col(Application.id) == col(Finding.application_id))
        .join(Product, col(Product.id) == col(Application.product_id))
        .where(Application.organisation_id == principal.organisation_id, col(Finding.resolved_at).is_(None))
        .order_by(col(Finding.raised_at).desc())
    )
    return [FindingRow(*row) for row in session.exec(query)]


def recent_jobs(session: Session, principal: Principal, limit: int = RECENT_JOBS) -> list[JobRow]:
    query = (
        select(
            Job.id,
            Product.name,
            InventoryRecord.version,
            Job.status,
            Job.progress,
            Job.parameters,
            Job.created_at,
            Job.footprint_id,
        )
        .join(InventoryRecord, col(InventoryRecord.id) == col(Job.inventory_id))
        .join(Product, col(Product.id) == col(InventoryRecord.product_id))
        .where(Job.organisation_id == principal.organisation_id)
        .order_by(col(Job.created_at).desc())
        .limit(limit)
    )
    return [
        JobRow(
            job_id,
            name,
            version,
            str(status),
            progress,
            int((parameters or {}).get("monte_carlo_iterations") or 0),
            created,
            footprint_id,
        )
        for job_id, name, version, status, progress, parameters, created, footprint_id in session.exec(query)
    ]


def dashboard(session: Session, principal: Principal, offset: int = 0) -> Dashboard:
    rows, count = products(session, principal, offset)
    return Dashboard(
        rows,
        count,
        offset,
        applications(session, principal),
        open_findings(session, principal),
        recent_jobs(session, principal),
    )


# --- the footprint list ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FootprintRow:
    footprint_id: uuid.UUID
    product_name: str
    product_model: str | None
    inventory_version: int
    pcr_id: str
    pcr_version: str
    total_kg_co2e: float
    declared_unit: str
    created_at: datetime
    label_number: str | None
    label_state: str | None


def footprints(
    session: Session, principal: Principal, offset: int = 0, limit: int = FOOTPRINTS_PER_PAGE
) -> tuple[list[FootprintRow], int]:
    """A page of the organisation's footprints, newest first, with the label issued on each (if any), and their
    number; no result JSON read."""
    total = session.exec(
        select(func.count()).select_from(Footprint).where(Footprint.organisation_id == principal.organisation_id)
    ).one()
    query = (
        select(
            Footprint.id,
            Product.name,
            Product.model,
            InventoryRecord.version,
            Footprint.pcr_id,
            Footprint.pcr_version,
            Footprint.total_kg_co2e,
            Footprint.declared_unit,
            Footprint.created_at,
            Label.number,
            Label.state,
        )
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .join(Product, col(Product.id) == col(InventoryRecord.product_id))
        .outerjoin(Label, col(Label.footprint_id) == col(Footprint.id))
        .where(Footprint.organisation_id == principal.organisation_id)
        .order_by(col(Footprint.created_at).desc(), col(Footprint.id))
        .offset(offset)
        .limit(limit)
    )
    return [FootprintRow(*row) for row in session.exec(query)], total


# --- one footprint and its neighbours ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StatedParameter:
    """A parameter of the product system (PCR.parameters, e.g. the pot-cell technology) as the footprint took it:
    the inventory's value, or the PCR's default where the inventory gives none."""

    id: str
    label: str
    label_zh: str | None
    value: object  # a choice's code, or an amount in `unit`
    unit: str
    choice_label: str | None = None
    choice_label_zh: str | None = None
    stated: bool = True  # False: the PCR's default

    def name(self, lang: str) -> str:
        return self.label_zh if lang == "zh" and self.label_zh else self.label

    def value_name(self, lang: str) -> str | None:
        """A choice's name in the reader's language (None for a number or a code the PCR does not list)."""
        return self.choice_label_zh if lang == "zh" and self.choice_label_zh else self.choice_label


def product_parameters(data: dict, pcr: PCR | None) -> list[StatedParameter]:
    """The product system's parameters of an inventory as its footprint takes them, the PCR's defaults included."""
    return stated_parameters(data.get("parameters") or {}, pcr.parameters if pcr else [], defaults=True)


def stated_parameters(given: dict, specs: list[ParameterSpec], defaults: bool = False) -> list[StatedParameter]:
    """The parameters given, named by their specs, in the PCR's order (with `defaults`, also those the inventory
    leaves to the PCR's default); then any the specs do not know (a PCR version no longer in the registry), by id."""
    rows = []
    for spec in specs:
        value = given.get(spec.id)
        if value is not None:
            rows.append(_stated(spec.id, value, spec))
        elif defaults and spec.default is not None:
            rows.append(_stated(spec.id, _default(spec), spec, stated=False))
    known = {spec.id for spec in specs}
    return rows + [_stated(name, value, None) for name, value in given.items() if name not in known]


def _default(spec: ParameterSpec) -> dict:
    return {"choice": spec.default} if spec.is_choice else {"amount": spec.default, "unit": spec.unit}


def _stated(name: str, value: dict, spec: ParameterSpec | None, stated: bool = True) -> StatedParameter:
    choice = spec.choice(str(value["choice"])) if spec is not None and "choice" in value else None
    return StatedParameter(
        name,
        spec.label if spec else name,
        spec.label_zh if spec else None,
        _parameter_value(value),
        "" if "choice" in value else value.get("unit", ""),
        choice.label if choice else None,
        choice.label_zh if choice else None,
        stated,
    )


@dataclass
class FootprintView:
    footprint: Footprint
    inventory: InventoryRecord
    product: Product
    labels: list[Label]
    previous_footprint_id: uuid.UUID | None  # the latest footprint of the product's previous inventory version
    monte_carlo_jobs: list[Job] = field(default_factory=list)  # Monte Carlo runs of this inventory still going
    parameters: list[StatedParameter] = field(default_factory=list)  # of the product system, as calculated


def footprint_view(session: Session, principal: Principal, footprint_id: uuid.UUID) -> FootprintView:
    footprint = visible_footprint(session, principal, footprint_id)
    inventory = session.get(InventoryRecord, footprint.inventory_id)
    product = session.get(Product, inventory.product_id)
    labels = list(
        session.exec(select(Label).where(Label.footprint_id == footprint.id).order_by(col(Label.created_at).desc()))
    )
    previous = session.exec(
        select(Footprint.id)
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .where(
            InventoryRecord.product_id == product.id,
            InventoryRecord.version < inventory.version,
            Footprint.organisation_id == footprint.organisation_id,
        )
        .order_by(col(InventoryRecord.version).desc(), col(Footprint.created_at).desc())
        .limit(1)
    ).first()
    running = list(
        session.exec(select(Job).where(Job.inventory_id == inventory.id, col(Job.status).in_(("queued", "running"))))
    )
    return FootprintView(
        footprint, inventory, product, labels, previous, running, product_parameters(inventory.data, _pcr_of(inventory))
    )


def _pcr_of(inventory: InventoryRecord) -> PCR | None:
    try:
        return default_registry().get(inventory.pcr_id, inventory.pcr_version)
    except PCRNotFound:
        return None


# --- two versions side by side ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One compared value: its name, the value in version a and in version b (None where absent)."""

    group: str  # production | item | parameter | certificate | result | stage | gas | contributor
    key: str
    a: object
    b: object
    unit: str = ""

    @property
    def changed(self) -> bool:
        """Numbers within a relative 1e-9 of each other are the same (the same inputs give the same result up to
        the last bits of floating point)."""
        if self.delta is not None:
            return not math.isclose(self.a, self.b, rel_tol=1e-9, abs_tol=1e-12)
        return self.a != self.b

    @property
    def delta(self) -> float | None:
        if isinstance(self.a, int | float) and isinstance(self.b, int | float) and not isinstance(self.a, bool):
            return self.b - self.a
        return None


@dataclass
class Comparison:
    a: FootprintView
    b: FootprintView
    inputs: list[Change]
    results: list[Change]


def compare(session: Session, principal: Principal, a_id: uuid.UUID, b_id: uuid.UUID) -> Comparison:
    """Two footprints of one product (usually two inventory versions): what was entered differently and what
    came out differently. Footprints of different products are not compared."""
    a, b = footprint_view(session, principal, a_id), footprint_view(session, principal, b_id)
    if a.product.id != b.product.id:
        raise Unprocessable(
            "only footprints of the same product can be compared",
            [{"field": "b", "reason": "a footprint of another product"}],
        )
    return Comparison(
        a,
        b,
        _input_changes(a.inventory.data, b.inventory.data),
        _result_changes(a.footprint.result, b.footprint.result, f"kg CO2e / {b.footprint.declared_unit}"),
    )


def _items(data: dict) -> dict[str, dict]:
    return {item["item"]: item for item in data.get("items", [])}


def _input_changes(a: dict, b: dict) -> list[Change]:
    changes = [
        Change(
            "production", "production", a["production"]["amount"], b["production"]["amount"], b["production"]["unit"]
        ),
        Change("production", "reference_period", _period(a), _period(b)),
        Change("production", "facility", a["facility"]["name"], b["facility"]["name"]),
    ]
    changes += _parameter_changes("", a.get("parameters") or {}, b.get("parameters") or {})
    items_a, items_b = _items(a), _items(b)
    for key in sorted(items_a.keys() | items_b.keys()):
        item_a, item_b = items_a.get(key, {}), items_b.get(key, {})
        changes.append(
            Change(
                "item", key, item_a.get("amount"), item_b.get("amount"), item_b.get("unit") or item_a.get("unit", "")
            )
        )
        changes += _parameter_changes(f"{key}.", item_a.get("parameters") or {}, item_b.get("parameters") or {})
    return changes + _certificate_changes(a, b)


def _parameter_changes(prefix: str, a: dict, b: dict) -> list[Change]:
    """The parameters of the product system (prefix '') or of an item ('clinker.'): a number with its unit, or a
    choice's code (the pot-cell technology CWPB -> VSS)."""
    changes = []
    for name in sorted(a.keys() | b.keys()):
        pa, pb = a.get(name) or {}, b.get(name) or {}
        unit = "" if "choice" in pb or "choice" in pa else pb.get("unit") or pa.get("unit", "")
        changes.append(Change("parameter", f"{prefix}{name}", _parameter_value(pa), _parameter_value(pb), unit))
    return changes


def _parameter_value(value: dict) -> object:
    """What a parameter was given as: its amount, or its choice's code; None where it was not given."""
    return value.get("choice", value.get("amount"))


def _certificate_changes(a: dict, b: dict) -> list[Change]:
    certs_a = {c["serial"]: c for c in a.get("green_certificates", [])}
    certs_b = {c["serial"]: c for c in b.get("green_certificates", [])}
    return [
        Change(
            "certificate",
            serial,
            (certs_a.get(serial) or {}).get("amount_mwh"),
            (certs_b.get(serial) or {}).get("amount_mwh"),
            "MWh",
        )
        for serial in sorted(certs_a.keys() | certs_b.keys())
    ]


def _period(data: dict) -> str:
    period = data.get("reference_period") or {}
    return f"{period.get('start', '')} – {period.get('end', '')}"


RESULT_FIELDS = (
    "total_kg_co2e",
    "fossil_kg_co2e",
    "biogenic_kg_co2e",
    "land_use_kg_co2e",
    "location_based_kg_co2e",
    "market_based_kg_co2e",
)


def _result_changes(a: dict, b: dict, unit: str) -> list[Change]:
    changes = [Change("result", name, a.get(name), b.get(name), unit) for name in RESULT_FIELDS]
    for stage in sorted(a["stages"].keys() | b["stages"].keys()):
        changes.append(Change("stage", stage, a["stages"].get(stage), b["stages"].get(stage), unit))
    for gas in sorted(a["per_gas"].keys() | b["per_gas"].keys()):
        changes.append(
            Change(
                "gas",
                gas,
                (a["per_gas"].get(gas) or {}).get("kg_co2e"),
                (b["per_gas"].get(gas) or {}).get("kg_co2e"),
                unit,
            )
        )
    contributors_a = {(c["item"], c["part"]): c["kg_co2e"] for c in a["contributions"]}
    contributors_b = {(c["item"], c["part"]): c["kg_co2e"] for c in b["contributions"]}
    top = [key for key, _ in sorted((contributors_a | contributors_b).items(), key=lambda kv: -abs(kv[1]))]
    for item, part in top[:TOP_CONTRIBUTORS]:
        changes.append(
            Change(
                "contributor",
                f"{item} ({part})",
                contributors_a.get((item, part)),
                contributors_b.get((item, part)),
                unit,
            )
        )
    return changes
