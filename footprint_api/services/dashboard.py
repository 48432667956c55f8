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
from footprint_api.core.messages import Catalogue
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Application, Finding, Footprint, InventoryRecord, Job, Label, Product
from footprint_api.services import certification, supply_chain
from footprint_api.services.catalogue import owned
from footprint_api.services.footprints import visible_footprint
from label_service.workflow import ApplicationState
from pcr_rules import PCRNotFound, default_registry
from pcr_rules.models import PCR, ParameterSpec
from pcr_rules.units import UnitProblem, conversion_factor, is_fraction

CLOSED_APPLICATIONS = (ApplicationState.REJECTED.value, ApplicationState.LABEL_ISSUED.value)
RECENT_JOBS = 10
PRODUCTS_PER_PAGE = 50
FOOTPRINTS_PER_PAGE = 100
TOP_CONTRIBUTORS = 8
IN_FORCE = ("active", "suspended")  # label states in which a label still speaks for its footprint


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
    label_value: str | None  # the figure the label shows (4 significant digits, as signed): 11215.3 -> "11220"
    label_declared_unit: str | None


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
    subject: str  # its code (items[6], production)
    text: str
    raised_at: datetime
    subject_name: str = ""  # in the reader's language ("清单项 7：外购电力"), where a catalogue was given


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
class AffectedItem:
    """A purchased input whose supplier value was withdrawn: why (a code and its values) and, where the supplier
    has one, the newer value's reference."""

    item: str
    label: str
    label_zh: str | None
    reason: str
    params: dict
    newer: str | None


@dataclass(frozen=True)
class AffectedFootprint:
    """A footprint resting on a withdrawn supplier value (services.supply_chain.affected_footprints), its inputs
    concerned grouped under it. `recalculable`: every one has a newer value, so one click makes the next version."""

    footprint_id: uuid.UUID | None  # the version's newest calculation (None: the version was not calculated)
    inventory_id: uuid.UUID
    product_id: uuid.UUID
    product_name: str
    inventory_version: int
    items: list[AffectedItem]

    @property
    def recalculable(self) -> bool:
        return self.footprint_id is not None and all(item.newer for item in self.items)


@dataclass(frozen=True)
class Dashboard:
    products: list[ProductRow]
    product_count: int
    offset: int
    applications: list[ApplicationRow]
    findings: list[FindingRow]
    jobs: list[JobRow]
    affected: list[AffectedFootprint] = field(default_factory=list)


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
    in_force = col(Label.state).in_(IN_FORCE)  # the label in force, else the most recent one
    labels = _first_per_product(
        session,
        select(
            Label.product_id,
            Label.number,
            Label.state,
            Label.value,
            Label.declared_unit,
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
                *labels.get(product_id, (None,) * 4),
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


def open_findings(session: Session, principal: Principal, t: Catalogue | None = None) -> list[FindingRow]:
    """The organisation's open findings, newest first; with a catalogue, each subject named in its language."""
    query = (
        select(Finding, Product.name)
        .join(Application, col(Application.id) == col(Finding.application_id))
        .join(Product, col(Product.id) == col(Application.product_id))
        .where(Application.organisation_id == principal.organisation_id, col(Finding.resolved_at).is_(None))
        .order_by(col(Finding.raised_at).desc())
    )
    found = list(session.exec(query))
    names = certification.subject_names(session, [f for f, _ in found], t) if t is not None and found else {}
    return [
        FindingRow(f.application_id, name, f.subject, f.text, f.raised_at, names.get(f.id, f.subject))
        for f, name in found
    ]


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


def dashboard(session: Session, principal: Principal, offset: int = 0, t: Catalogue | None = None) -> Dashboard:
    rows, count = products(session, principal, offset)
    return Dashboard(
        rows,
        count,
        offset,
        applications(session, principal),
        open_findings(session, principal, t),
        recent_jobs(session, principal),
        affected_footprints(session, principal),
    )


def affected_footprints(session: Session, principal: Principal) -> list[AffectedFootprint]:
    """The organisation's footprints resting on a withdrawn supplier value, each with its inputs concerned named
    from the PCR it was calculated by."""
    grouped: dict[uuid.UUID, AffectedFootprint] = {}
    for row in supply_chain.affected_footprints(session, principal):
        key = row["inventory_id"]
        if key not in grouped:
            grouped[key] = AffectedFootprint(
                row["footprint_id"], key, row["product_id"], row["product_name"], row["inventory_version"], []
            )
        spec = _item_spec(session, key, row["item"])
        grouped[key].items.append(
            AffectedItem(
                row["item"],
                spec.label if spec else row["item"],
                spec.label_zh if spec else None,
                row["reason"],
                dict(row.get("params") or {}),
                row.get("newer"),
            )
        )
    return list(grouped.values())


def _item_spec(session: Session, inventory_id: uuid.UUID, item: str):
    record = session.get(InventoryRecord, inventory_id)
    pcr = _pcr_of(record) if record else None
    return pcr.item(item) if pcr else None


# --- the footprint list ------------------------------------------------------------------------------------------

FOOTPRINT_SORTS = ("product", "newest", "total_desc", "total_asc")
LABEL_FILTERS = ("in_force", "none")


@dataclass(frozen=True)
class FootprintFilter:
    """What the footprint list is narrowed to and how it is ordered. `sort` product: by product (name), then
    inventory version (newest first), then calculation (first first), so a rerun of an earlier version never
    stands above a later version; the other orders are by date or total."""

    text: str = ""  # in the product's name or model
    product_id: uuid.UUID | None = None
    pcr_id: str = ""
    reference_year: int | None = None
    label: str = ""  # "" | in_force (a label in force certifies it) | none (no label in force)
    sort: str = "product"


@dataclass(frozen=True)
class FootprintRow:
    footprint_id: uuid.UUID
    product_id: uuid.UUID
    product_name: str
    product_model: str | None
    inventory_id: uuid.UUID
    inventory_version: int
    calculation: int  # 1 for the inventory's first calculation, 2 for the first recalculation…
    monte_carlo_iterations: int
    reference_year: int | None
    pcr_id: str
    pcr_version: str
    total_kg_co2e: float
    declared_unit: str
    created_at: datetime
    label_number: str | None
    label_state: str | None
    label_value: str | None  # as the label shows it (4 significant digits, as signed)
    label_declared_unit: str | None

    @property
    def recalculation(self) -> bool:
        """Another calculation of an inventory already calculated (a Monte Carlo rerun, or the same again)."""
        return self.calculation > 1


@dataclass(frozen=True)
class FootprintChoices:
    """What the list's filters offer: the products with footprints, the PCRs and the reference years."""

    products: list[tuple[uuid.UUID, str, str | None]]
    pcr_ids: list[str]
    reference_years: list[int]


def _reference_year():
    """The footprint's reference year, read in the database from its result (no result JSON comes to Python)."""
    return col(Footprint.result)["reference_year"].as_integer()


def _labels_per_footprint(organisation_id: uuid.UUID):
    """One label per footprint: the one in force, else the latest."""
    in_force = col(Label.state).in_(IN_FORCE)
    ranked = (
        select(
            Label.footprint_id,
            Label.number,
            Label.state,
            Label.value,
            Label.declared_unit,
            func.row_number()
            .over(partition_by=Label.footprint_id, order_by=(in_force.desc(), col(Label.created_at).desc()))
            .label("rank"),
        )
        .where(Label.organisation_id == organisation_id)
        .subquery()
    )
    return select(ranked).where(ranked.c.rank == 1).subquery()


def _calculations(organisation_id: uuid.UUID):
    """The organisation's footprints, each with its place among its inventory's calculations (1, 2, …)."""
    return (
        select(
            Footprint.id,
            Footprint.inventory_id,
            Footprint.job_id,
            Footprint.pcr_id,
            Footprint.pcr_version,
            Footprint.total_kg_co2e,
            Footprint.declared_unit,
            Footprint.created_at,
            _reference_year().label("reference_year"),
            func.row_number()
            .over(partition_by=Footprint.inventory_id, order_by=(col(Footprint.created_at), col(Footprint.id)))
            .label("calculation"),
        )
        .where(Footprint.organisation_id == organisation_id)
        .subquery()
    )


def _filtered(query, calculations, labels, wanted: FootprintFilter):
    if wanted.text:
        text = wanted.text.lower()
        query = query.where(
            func.lower(Product.name).contains(text, autoescape=True)
            | func.lower(func.coalesce(Product.model, "")).contains(text, autoescape=True)
        )
    if wanted.product_id is not None:
        query = query.where(Product.id == wanted.product_id)
    if wanted.pcr_id:
        query = query.where(calculations.c.pcr_id == wanted.pcr_id)
    if wanted.reference_year is not None:
        query = query.where(calculations.c.reference_year == wanted.reference_year)
    if wanted.label == "in_force":
        query = query.where(labels.c.state.in_(IN_FORCE))
    elif wanted.label == "none":
        query = query.where(labels.c.state.is_(None) | labels.c.state.not_in(IN_FORCE))
    return query


def _ordered(query, calculations, wanted: FootprintFilter):
    newest = (calculations.c.created_at.desc(), calculations.c.id)
    by_product = (
        col(Product.name),
        col(Product.id),
        col(InventoryRecord.version).desc(),
        calculations.c.calculation,
    )
    orders = {
        "product": by_product,
        "newest": newest,
        "total_desc": (calculations.c.total_kg_co2e.desc(), *newest),
        "total_asc": (calculations.c.total_kg_co2e, *newest),
    }
    return query.order_by(*orders[wanted.sort])


def footprints(
    session: Session,
    principal: Principal,
    offset: int = 0,
    limit: int = FOOTPRINTS_PER_PAGE,
    wanted: FootprintFilter | None = None,
) -> tuple[list[FootprintRow], int]:
    """A page of the organisation's footprints as `wanted` narrows and orders them, each with the label that speaks
    for it (if any) and its place among its inventory's calculations, and their number; no result JSON read."""
    wanted = wanted or FootprintFilter()
    calculations = _calculations(principal.organisation_id)
    labels = _labels_per_footprint(principal.organisation_id)

    def joined(query):
        query = (
            query.select_from(calculations)
            .join(InventoryRecord, col(InventoryRecord.id) == calculations.c.inventory_id)
            .join(Product, col(Product.id) == col(InventoryRecord.product_id))
            .outerjoin(labels, labels.c.footprint_id == calculations.c.id)
        )
        return _filtered(query, calculations, labels, wanted)

    total = session.exec(joined(select(func.count()))).one()
    query = _ordered(
        joined(
            select(
                calculations.c.id,
                Product.id,
                Product.name,
                Product.model,
                InventoryRecord.id,
                InventoryRecord.version,
                calculations.c.calculation,
                Job.parameters,
                calculations.c.reference_year,
                calculations.c.pcr_id,
                calculations.c.pcr_version,
                calculations.c.total_kg_co2e,
                calculations.c.declared_unit,
                calculations.c.created_at,
                labels.c.number,
                labels.c.state,
                labels.c.value,
                labels.c.declared_unit,
            ).outerjoin(Job, col(Job.id) == calculations.c.job_id)
        ),
        calculations,
        wanted,
    )
    rows = []
    for row in session.exec(query.offset(offset).limit(limit)):
        *head, parameters, year = row[:9]
        iterations = int((parameters or {}).get("monte_carlo_iterations") or 0)
        rows.append(FootprintRow(*head, iterations, year, *row[9:]))
    return rows, total


def footprint_choices(session: Session, principal: Principal) -> FootprintChoices:
    """The values the footprint list's filters offer, from the organisation's footprints."""
    organisation_id = principal.organisation_id
    products = session.exec(
        select(Product.id, Product.name, Product.model)
        .where(
            Product.organisation_id == organisation_id,
            col(Product.id).in_(
                select(InventoryRecord.product_id)
                .join(Footprint, col(Footprint.inventory_id) == col(InventoryRecord.id))
                .where(Footprint.organisation_id == organisation_id)
            ),
        )
        .order_by(col(Product.name), col(Product.id))
    )
    pcr_ids = session.exec(
        select(Footprint.pcr_id)
        .distinct()
        .where(Footprint.organisation_id == organisation_id)
        .order_by(Footprint.pcr_id)
    )
    years = session.exec(select(_reference_year()).distinct().where(Footprint.organisation_id == organisation_id))
    return FootprintChoices(
        [tuple(p) for p in products], list(pcr_ids), sorted((y for y in years if y is not None), reverse=True)
    )


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
    calculation: int = 1  # its place among its inventory's calculations (2 and on: recalculations)

    @property
    def inventory_version(self) -> int:
        return self.inventory.version

    @property
    def recalculation(self) -> bool:
        return self.calculation > 1

    @property
    def monte_carlo_iterations(self) -> int:
        return int((self.footprint.result.get("uncertainty") or {}).get("iterations") or 0)


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
    earlier = session.exec(
        select(func.count())
        .select_from(Footprint)
        .where(
            Footprint.inventory_id == inventory.id,
            (col(Footprint.created_at) < footprint.created_at)
            | ((col(Footprint.created_at) == footprint.created_at) & (col(Footprint.id) < footprint.id)),
        )
    ).one()
    return FootprintView(
        footprint,
        inventory,
        product,
        labels,
        previous,
        running,
        product_parameters(inventory.data, _pcr_of(inventory)),
        earlier + 1,
    )


def _pcr_of(inventory: InventoryRecord) -> PCR | None:
    try:
        return default_registry().get(inventory.pcr_id, inventory.pcr_version)
    except PCRNotFound:
        return None


# --- two versions side by side ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One compared value: its name, the value in version a and in version b (None where absent). Amounts are in
    one unit, `unit` (the PCR's, a fraction in percent); `a_entered`/`b_entered` say how a side was entered where
    that was another unit ('120 GWh'). A contributor names its item (`key`) and `part`."""

    group: str  # production | item | parameter | certificate | result | stage | gas | contributor
    key: str
    a: object
    b: object
    unit: str = ""
    a_entered: tuple[float, str] | None = None  # (amount, unit) as entered, where that was not `unit`
    b_entered: tuple[float, str] | None = None
    part: str = ""

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

    @property
    def relative(self) -> float | None:
        """The change as a share of version a's value (None where a is 0 or either is not a number)."""
        return self.delta / self.a if self.delta is not None and self.a else None


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
            code="mfr.cmp.other_product",
        )
    return Comparison(
        a,
        b,
        _input_changes(a.inventory.data, b.inventory.data, _pcr_of(b.inventory) or _pcr_of(a.inventory)),
        _result_changes(a.footprint.result, b.footprint.result, f"kg CO2e / {b.footprint.declared_unit}"),
    )


PERCENT = "percent"  # a fraction (a PCR unit of 'dimensionless' kind) is compared and shown in percent


def _shown_unit(unit: str) -> str:
    """The unit a PCR amount is compared in: the PCR's own, except a fraction, which people read in percent."""
    try:
        return PERCENT if is_fraction(unit) else unit
    except UnitProblem:
        return unit


Entered = tuple[float, str]


def _amounts(
    a: dict | None, b: dict | None, unit: str | None
) -> tuple[object, object, str, Entered | None, Entered | None]:
    """Two amounts as entered ({amount, unit}) in one unit: `unit` (the PCR's), else b's. Returns both values,
    the unit, and how each side was entered where that was another unit. A side that cannot be converted (a unit
    of another kind, from a PCR version that allowed it) keeps its own value and unit: it is then not compared as a
    number, and the page shows it as entered."""
    target = unit or (b or a or {}).get("unit", "")

    def side(given: dict | None) -> tuple[object, Entered | None]:
        if not given or given.get("amount") is None:
            return None, None
        entered = (given["amount"], given.get("unit", target))
        if entered[1] == target:
            return given["amount"], None
        try:
            return given["amount"] * conversion_factor(entered[1], target), entered
        except UnitProblem:
            return f"{given['amount']:g} {entered[1]}", entered

    (value_a, entered_a), (value_b, entered_b) = side(a), side(b)
    return value_a, value_b, target, entered_a, entered_b


def _items(data: dict) -> dict[str, dict]:
    return {item["item"]: item for item in data.get("items", [])}


def _input_changes(a: dict, b: dict, pcr: PCR | None = None) -> list[Change]:
    """What was entered, in the PCR's units: 120 GWh in version a and 118,000,000 kWh in version b of an item the
    PCR counts in kWh compare as 120,000,000 and 118,000,000 kWh."""
    declared = pcr.declared_unit.unit if pcr else None
    production = _amounts(a["production"], b["production"], declared)
    changes = [
        Change("production", "production", *production[:3], *production[3:]),
        Change("production", "reference_period", _period(a), _period(b)),
        Change("production", "facility", a["facility"]["name"], b["facility"]["name"]),
    ]
    specs = {spec.id: spec for spec in pcr.parameters} if pcr else {}
    changes += _parameter_changes("", a.get("parameters") or {}, b.get("parameters") or {}, specs)
    items_a, items_b = _items(a), _items(b)
    for key in sorted(items_a.keys() | items_b.keys()):
        item_a, item_b = items_a.get(key), items_b.get(key)
        spec = pcr.item(key) if pcr else None
        amounts = _amounts(item_a, item_b, spec.unit if spec else None)
        changes.append(Change("item", key, *amounts[:3], *amounts[3:]))
        specs = {p.id: p for p in spec.parameters} if spec else {}
        changes += _parameter_changes(
            f"{key}.", (item_a or {}).get("parameters") or {}, (item_b or {}).get("parameters") or {}, specs
        )
    return changes + _certificate_changes(a, b)


def _parameter_changes(prefix: str, a: dict, b: dict, specs: dict[str, ParameterSpec]) -> list[Change]:
    """The parameters of the product system (prefix '') or of an item ('clinker.'): a number in the PCR's unit of
    the parameter (a fraction in percent: CaO 0.652 and 65.5 % compare as 65.2 and 65.5 %), or a choice's code (the
    pot-cell technology CWPB -> VSS)."""
    changes = []
    for name in sorted(a.keys() | b.keys()):
        pa, pb = a.get(name) or {}, b.get(name) or {}
        if "choice" in pa or "choice" in pb:
            changes.append(Change("parameter", f"{prefix}{name}", pa.get("choice"), pb.get("choice")))
            continue
        spec = specs.get(name)
        amounts = _amounts(pa or None, pb or None, _shown_unit(spec.unit) if spec else None)
        changes.append(Change("parameter", f"{prefix}{name}", *amounts[:3], *amounts[3:]))
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
                item,
                contributors_a.get((item, part)),
                contributors_b.get((item, part)),
                unit,
                part=part,
            )
        )
    return changes


# --- a product over time --------------------------------------------------------------------------------------------

HISTORY_LIMIT = 500  # calculations of one product listed on its page (reruns included)


@dataclass(frozen=True)
class VersionRow:
    inventory_id: uuid.UUID
    version: int
    period_start: str | None
    period_end: str | None
    source: str
    created_at: datetime


@dataclass(frozen=True)
class HistoryPoint:
    """One inventory version on the chart: its latest calculation and the label in force on any of its footprints."""

    version: int
    reference_year: int | None
    total_kg_co2e: float
    declared_unit: str
    footprint_id: uuid.UUID
    label_number: str | None
    label_value: str | None


@dataclass
class ProductHistory:
    product: Product
    versions: list[VersionRow]  # newest first
    footprints: list[FootprintRow]  # by version (newest first), then calculation
    labels: list[Label]  # newest first
    points: list[HistoryPoint]  # oldest version first; those in the latest declared unit only
    other_unit: int  # versions left off the chart: their declared unit is not the latest's


def product_history(session: Session, principal: Principal, product_id: uuid.UUID) -> ProductHistory:
    """A product over its inventory versions and reference years: every version, every calculation, every label,
    and per version the figure a chart draws. Another organisation's product is not found."""
    product = owned(session, Product, product_id, principal)
    start, end = (col(InventoryRecord.data)[("reference_period", day)] for day in ("start", "end"))  # JSON paths
    versions = [
        VersionRow(*row)
        for row in session.exec(
            select(
                InventoryRecord.id,
                InventoryRecord.version,
                start.as_string(),
                end.as_string(),
                InventoryRecord.source,
                InventoryRecord.created_at,
            )
            .where(InventoryRecord.product_id == product.id, InventoryRecord.organisation_id == product.organisation_id)
            .order_by(col(InventoryRecord.version).desc())
        )
    ]
    rows, _ = footprints(session, principal, 0, HISTORY_LIMIT, FootprintFilter(product_id=product.id))
    labels = list(
        session.exec(
            select(Label)
            .where(
                Label.organisation_id == product.organisation_id,
                col(Label.footprint_id).in_([r.footprint_id for r in rows]),
            )
            .order_by(col(Label.created_at).desc())
        )
    )
    points, other_unit = _points(rows, labels)
    return ProductHistory(product, versions, rows, labels, points, other_unit)


def _points(rows: list[FootprintRow], labels: list[Label]) -> tuple[list[HistoryPoint], int]:
    """Per inventory version its latest calculation, with the label in force on any footprint of that version;
    versions in another declared unit than the latest one's are counted, not drawn (their figures do not compare)."""
    in_force = {label.footprint_id: label for label in labels if label.state in IN_FORCE}
    latest: dict[int, FootprintRow] = {}
    labelled: dict[int, Label] = {}
    for row in rows:
        if row.inventory_version not in latest or row.created_at > latest[row.inventory_version].created_at:
            latest[row.inventory_version] = row
        if row.footprint_id in in_force:
            labelled[row.inventory_version] = in_force[row.footprint_id]
    if not latest:
        return [], 0
    unit = latest[max(latest)].declared_unit
    points = [
        HistoryPoint(
            version,
            row.reference_year,
            row.total_kg_co2e,
            row.declared_unit,
            row.footprint_id,
            labelled[version].number if version in labelled else None,
            labelled[version].value if version in labelled else None,
        )
        for version, row in sorted(latest.items())
        if row.declared_unit == unit
    ]
    return points, len(latest) - len(points)
