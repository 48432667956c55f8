"""Applications for certification: the manufacturer applies, the certification body reviews and decides.

Findings follow their own table (label_service.workflow.FINDING_ACTIONS): the manufacturer answers, the verifier
replies or closes; only the verifier's close ends a finding. Evidence documents are checked by their content (magic
bytes) against the kind their name claims, stored content-addressed in the object store and read only by the two
parties of the application, as is the workbook an inventory was uploaded in.

Every refusal carries a code of the message catalogue (`cert.error.*`) and its parameters besides the English
wording the JSON API answers with; `refusal_in` words it in a reader's language.
"""

import csv
import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import case, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from footprint_api.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PCRNotInForce,
    ServiceError,
    Unprocessable,
)
from footprint_api.core.messages import Catalogue
from footprint_api.infra.objects import object_store
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    Application,
    AuditEvent,
    EvidenceDocument,
    Finding,
    Footprint,
    InventoryRecord,
    Job,
    Label,
    Organisation,
    OrganisationKind,
    Product,
    Submission,
    User,
    utcnow,
)
from footprint_api.services import audit, certificates, excel, labels, pcr_registry
from footprint_api.services.catalogue import owned
from footprint_api.services.principals import CB_ROLES, MANUFACTURER_ROLES, actor
from label_service.storage import CONTENT_TYPES, StorageError
from label_service.workflow import (
    ApplicationState,
    FindingState,
    IllegalTransition,
    Party,
    next_application_state,
    next_finding_state,
)
from pcr_rules import Inventory, default_registry
from pcr_rules.errors import PCRNotFound
from pcr_rules.models import PCR, ParameterSpec
from pcr_rules.units import UnitProblem, conversion_factor
from pcr_rules.validation import problems as pcr_problems

# --- refusals, and their wording in the reader's language -----------------------------------------------------------


def _refusal(kind: type[ServiceError], code: str, detail: str, field: str, **params: object) -> ServiceError:
    """A refusal naming one field: the English `detail` (the JSON API's words), its code and its parameters, on the
    whole and on the field."""
    entry = {"field": field, "reason": detail, "code": code, **({"params": params} if params else {})}
    return kind(detail, [entry], code=code, params=params)


def _coded(exc: ServiceError, code: str, **params: object) -> ServiceError:
    """Another service's refusal, given this part's code where it has none of its own (its English stays)."""
    if not exc.code:
        exc.code, exc.params = code, params
        exc.errors = [{**e, "code": code, "params": params} for e in exc.errors] or [
            {"field": "", "reason": exc.detail, "code": code, "params": params}
        ]
    return exc


def _illegal(exc: IllegalTransition, field: str = "action") -> ServiceError:
    """A step the workflow's tables do not allow now (409), with the table's reason as its code and parameters."""
    return _refusal(Conflict, exc.code, str(exc), field, **exc.params)


# parameters that are codes themselves: where the catalogue names them (a state by what it is the state of)
STATE_NAMES = {"application": "cert.state", "label": "cert.label_state", "finding": "cert.finding_state"}
WORDED = {"action": "cert.action", "party": "cert.party", "subject": "cert.thing"}


def _worded(t: Catalogue, name: str, value: object, params: Mapping) -> str:
    if isinstance(value, list | tuple):
        return ("、" if t.lang == "zh" else ", ").join(_worded(t, name, v, params) for v in value)
    if name in ("state", "allowed"):
        prefix = STATE_NAMES.get(str(params.get("subject", "application")), "cert.state")
    else:
        prefix = WORDED.get(name)
    if prefix is None:
        return str(value)
    return t.messages.get(f"{prefix}.{value}", str(value))


def reason_in(t: Catalogue, code: str, params: Mapping | None = None, english: str = "", status: int = 400) -> str:
    """A refusal in the reader's language: the message of its code filled with its parameters (those that are codes
    by their names). A refusal without a message in the catalogue is worded by its kind (its HTTP status), never
    in another language than the page's."""
    params = params or {}
    if code and code in t.messages:
        try:
            return t(code, **{name: _worded(t, name, value, params) for name, value in params.items()})
        except (KeyError, IndexError, ValueError):  # a message needing a parameter the refusal lacks
            pass
    if t.lang == "en" and english:
        return english
    return t.messages.get(f"cert.error.status.{status}", t("cert.error.status.other"))


def refusal_in(t: Catalogue, exc: ServiceError) -> str:
    """The refusal as a whole, in the reader's language."""
    return reason_in(t, exc.code, exc.params, exc.detail, exc.status)


def field_reasons_in(t: Catalogue, exc: ServiceError) -> dict[str, str]:
    """{field: reason in the reader's language} of a refusal (the first reason of a field that has several)."""
    reasons: dict[str, str] = {}
    for error in exc.errors or [{"field": "", "reason": exc.detail}]:
        reasons.setdefault(
            str(error.get("field", "")),
            reason_in(
                t,
                error.get("code") or exc.code,
                error.get("params", exc.params if not error.get("code") else None),
                str(error.get("reason", exc.detail)),
                exc.status,
            ),
        )
    return reasons


# --- applying ------------------------------------------------------------------------------------------------------


def _share(session: Session, principal: Principal, footprint_id: uuid.UUID, body_id: uuid.UUID) -> None:
    """The body may read the footprint (and its inventory) once it is submitted to it."""
    exists = session.exec(
        select(Submission).where(Submission.footprint_id == footprint_id, Submission.certification_body_id == body_id)
    ).first()
    if exists is None:
        session.add(
            Submission(footprint_id=footprint_id, certification_body_id=body_id, submitted_by=principal.subject)
        )


def _certifiable(session: Session, footprint: Footprint) -> None:
    """Nothing is applied for or approved under a PCR version that expired or was withdrawn."""
    try:
        pcr_registry.require_certifiable(session, footprint.pcr_id, footprint.pcr_version)
    except PCRNotInForce as exc:
        raise _coded(exc, "cert.error.pcr_not_in_force", pcr=f"{footprint.pcr_id} {footprint.pcr_version}") from None


def apply(
    session: Session, principal: Principal, footprint_id: uuid.UUID, body_id: uuid.UUID, label_kind: str
) -> Application:
    footprint = owned(session, Footprint, footprint_id, principal)
    body = session.get(Organisation, body_id)
    if body is None or body.kind is not OrganisationKind.CERTIFICATION_BODY:
        raise _refusal(NotFound, "cert.error.no_body", "no such certification body", "certification_body_id")
    _certifiable(session, footprint)
    record = session.get(InventoryRecord, footprint.inventory_id)
    try:
        certificates.redraw_for_application(session, actor(principal), record)
    except Conflict as exc:
        raise _coded(exc, "cert.error.certificates_given_back", count=len(exc.errors)) from None
    application = Application(
        organisation_id=principal.organisation_id,
        certification_body_id=body.id,
        footprint_id=footprint.id,
        product_id=record.product_id,
        label_kind=label_kind,
        created_by=principal.subject,
    )
    session.add(application)
    audit.record(
        session,
        actor(principal),
        "application.created",
        "application",
        application.id,
        after={
            "state": application.state,
            "footprint_id": str(footprint.id),
            "certification_body_id": str(body.id),
            "label_kind": label_kind,
        },
    )
    audit.commit(session)
    return application


def footprint_to_apply(session: Session, principal: Principal, footprint_id: uuid.UUID) -> dict:
    """What the application form shows of the caller's footprint (404 for another organisation's)."""
    footprint = owned(session, Footprint, footprint_id, principal)
    record = session.get(InventoryRecord, footprint.inventory_id)
    return {
        "footprint": footprint,
        "product": session.get(Product, record.product_id),
        "inventory_version": record.version,
    }


def footprints_to_apply(session: Session, principal: Principal, limit: int = 20) -> list[dict]:
    """The caller's calculated footprints that no application named yet (as applied for, or as the version a
    correction replaced), by product, then inventory version (newest first), then calculation (first first): a
    rerun of a version (`calculation` > 1, e.g. a Monte Carlo rerun) is listed under it, never above a later
    version, and named as such."""
    mine = Application.organisation_id == principal.organisation_id
    applied = select(Application.footprint_id).where(mine)
    replaced = select(Application.previous_footprint_id).where(
        mine, col(Application.previous_footprint_id).is_not(None)
    )
    earlier = aliased(Footprint)
    calculation = (
        select(func.count(earlier.id) + 1)
        .where(earlier.inventory_id == Footprint.inventory_id, col(earlier.created_at) < col(Footprint.created_at))
        .scalar_subquery()
    )
    rows = session.exec(
        select(Footprint, InventoryRecord, Product, Job, calculation)
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .join(Product, col(Product.id) == col(InventoryRecord.product_id))
        .join(Job, col(Job.id) == col(Footprint.job_id))
        .where(
            Footprint.organisation_id == principal.organisation_id,
            col(Footprint.id).not_in(applied),
            col(Footprint.id).not_in(replaced),
        )
        .order_by(col(Product.name), col(Product.id), col(InventoryRecord.version).desc(), col(Footprint.created_at))
        .limit(limit)
    )
    return [
        {
            "footprint_id": f.id,
            "product": p.name,
            "inventory_version": r.version,
            "calculation": number,
            "recalculation": number > 1,
            "monte_carlo_iterations": int((job.parameters or {}).get("monte_carlo_iterations") or 0),
            "total_kg_co2e": f.total_kg_co2e,
            "declared_unit": f.declared_unit,
            "created_at": f.created_at,
        }
        for f, r, p, job, number in rows
    ]


def apply_and_submit(
    session: Session,
    principal: Principal,
    footprint_id: uuid.UUID,
    body_id: uuid.UUID,
    label_kind: str,
    document: tuple[str, bytes] | None = None,
) -> Application:
    """Apply, attach the evidence document if one is given, submit: the document is checked before anything is
    stored, so a refused document leaves no application behind."""
    if document is not None:
        check_evidence(*document)
    application = apply(session, principal, footprint_id, body_id, label_kind)
    if document is not None:
        upload_evidence(session, principal, application.id, *document)
    return act(session, principal, application.id, "submit", "")


def _party(principal: Principal, application: Application) -> Party:
    """Which side the caller is on; anyone else learns nothing (404)."""
    if principal.organisation_id == application.organisation_id and principal.role in MANUFACTURER_ROLES:
        return Party.MANUFACTURER
    if principal.organisation_id == application.certification_body_id and principal.role in CB_ROLES:
        return Party.CERTIFICATION_BODY
    raise NotFound("no such application visible to you")


def visible(session: Session, principal: Principal, application_id: uuid.UUID) -> Application:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound("no such application visible to you")
    _party(principal, application)
    if principal.role in CB_ROLES and application.state == ApplicationState.DRAFT:
        raise NotFound("no such application visible to you")  # a draft is the manufacturer's own
    return application


def _mine(principal: Principal):
    """The condition of the caller's applications: a manufacturer's own, or those submitted to the caller's body."""
    if principal.role in CB_ROLES:
        return (
            Application.certification_body_id == principal.organisation_id,
            Application.state != ApplicationState.DRAFT.value,
        )
    return (Application.organisation_id == principal.organisation_id,)


def list_applications(session: Session, principal: Principal) -> list[Application]:
    return list(session.exec(select(Application).where(*_mine(principal)).order_by(Application.created_at)))


def certification_bodies(session: Session) -> list[Organisation]:
    return list(
        session.exec(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.CERTIFICATION_BODY)
            .order_by(Organisation.name)
        )
    )


# --- lists of applications: search, filters, sorting, pages ------------------------------------------------------

CHINA_TIME = timezone(timedelta(hours=8))  # the days a reader types are Beijing days, as every page shows times
STATES = tuple(state.value for state in ApplicationState)
PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
MAX_QUERY_CHARS = 100
_ORDER = case({state: index for index, state in enumerate(STATES)}, value=Application.state, else_=len(STATES))
# sort key -> its order (the newest change first by default); ties broken by the id, so pages never overlap
SORTS = {
    "updated": (col(Application.updated_at).desc(),),
    "updated_asc": (col(Application.updated_at).asc(),),
    "created": (col(Application.created_at).desc(),),
    "created_asc": (col(Application.created_at).asc(),),
    "product": (func.lower(Product.name).asc(),),
    "state": (_ORDER.asc(), col(Application.updated_at).desc()),
}
_HEX = re.compile(r"^[0-9a-f]{4,8}$")


@dataclass(frozen=True)
class ApplicationQuery:
    """What a list of applications is asked for: words to find, a state, the days it was made in, an order, a page.
    Built by `parse_query`, which never refuses: a value it cannot use is set aside with the reason."""

    q: str = ""
    state: str = ""
    since: date | None = None  # made on or after this Beijing day
    until: date | None = None  # made on or before this Beijing day
    sort: str = "updated"
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @property
    def refined(self) -> bool:
        """A state, days, an order or a page size other than the list's own (beyond the words to find)."""
        default = ApplicationQuery()
        return (self.state, self.since, self.until, self.sort, self.size) != (
            default.state,
            default.since,
            default.until,
            default.sort,
            default.size,
        )

    def link(self, **changes) -> dict[str, str]:
        """The query string of this list with some values changed (the page goes back to 1 unless named)."""
        values = {**asdict(self), "page": 1, **changes}
        defaults = asdict(ApplicationQuery())
        return {
            name: str(value) for name, value in values.items() if value not in (None, "") and value != defaults[name]
        }


def _day(text: str) -> date | None:
    return date.fromisoformat(text.strip()) if text.strip() else None


def _number(text: str, default: int) -> int:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else default


def parse_query(params: Mapping[str, str]) -> tuple[ApplicationQuery, list[dict]]:
    """The list's query from a page's query string, and the errors of the values it could not use (each naming its
    field, with a catalogue code): a day not written YYYY-MM-DD or a range that ends before it starts. An unknown
    state, order or page size falls back to all states, the default order and size; a page past the last, to the
    last."""
    errors: list[dict] = []
    days: dict[str, date | None] = {}
    for name in ("since", "until"):
        try:
            days[name] = _day(str(params.get(name, ""))[:20])
        except ValueError:
            days[name] = None
            errors.append({"field": name, "reason": "not a day (YYYY-MM-DD)", "code": "cert.error.bad_day"})
    if days["since"] and days["until"] and days["until"] < days["since"]:
        errors.append({"field": "until", "reason": "ends before it starts", "code": "cert.error.range_reversed"})
        days["until"] = None
    size = _number(str(params.get("size", "")), DEFAULT_PAGE_SIZE)
    query = ApplicationQuery(
        q=" ".join(str(params.get("q", "")).split())[:MAX_QUERY_CHARS],
        state=state if (state := str(params.get("state", ""))) in STATES else "",
        since=days["since"],
        until=days["until"],
        sort=sort if (sort := str(params.get("sort", ""))) in SORTS else "updated",
        page=max(1, _number(str(params.get("page", "")), 1)),
        size=size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE,
    )
    return query, errors


def _beijing_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CHINA_TIME).astimezone(UTC)


def _matching(principal: Principal, query: ApplicationQuery) -> list:
    """The conditions of the query but its state (the counts of the state filter are of the other conditions)."""
    conditions = list(_mine(principal))
    if query.since:
        conditions.append(col(Application.created_at) >= _beijing_midnight(query.since))
    if query.until:
        conditions.append(col(Application.created_at) < _beijing_midnight(query.until + timedelta(days=1)))
    if query.q:
        conditions.append(_words(principal, query.q))
    return conditions


def _words(principal: Principal, q: str):
    """A product's name or model, the other party's name, a label number, or the application number (the first
    eight hex digits of its id, as the pages show it) or its whole id."""
    other = Application.organisation_id if principal.role in CB_ROLES else Application.certification_body_id
    lowered = q.lower()
    found = [
        func.lower(Product.name).contains(lowered, autoescape=True),
        func.lower(func.coalesce(Product.model, "")).contains(lowered, autoescape=True),
        col(other).in_(select(Organisation.id).where(func.lower(Organisation.name).contains(lowered, autoescape=True))),
        col(Application.id).in_(
            select(Label.application_id).where(func.lower(Label.number).contains(lowered, autoescape=True))
        ),
    ]
    compact = lowered.replace("-", "")
    if _HEX.match(compact):
        found.append(col(Application.id).in_(_with_number(compact)))
    elif len(compact) == 32 and all(c in "0123456789abcdef" for c in compact):
        found.append(Application.id == uuid.UUID(compact))
    return or_(*found)


def _with_number(prefix: str):
    """The ids of applications whose number (the id's first hex digits) starts with `prefix`: the 16**(8-n)
    numbers between prefix+'0…' and prefix+'f…' bound an index range of ids, in either database's uuid type."""
    low = uuid.UUID(prefix.ljust(32, "0"))
    high = uuid.UUID(prefix.ljust(32, "f"))
    return select(Application.id).where(col(Application.id) >= low, col(Application.id) <= high)


def application_number(application_id: uuid.UUID) -> str:
    """The application's number as people read and search it: the first eight hex digits of its id."""
    return application_id.hex[:8].upper()


@dataclass(frozen=True)
class ApplicationRow:
    """An application as a list shows it: with its product, the two parties, its open findings and its label."""

    application: Application
    product: str
    manufacturer: str
    body: str
    open_findings: int
    label: str | None

    @property
    def number(self) -> str:
        return application_number(self.application.id)


@dataclass(frozen=True)
class ApplicationPage:
    """One page of a list of applications, with how many match and how many there are in each state."""

    rows: list[ApplicationRow]
    query: ApplicationQuery
    total: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)  # by state, under the other conditions

    @property
    def first(self) -> int:
        return (self.query.page - 1) * self.query.size + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.query.page * self.query.size)


def application_page(session: Session, principal: Principal, query: ApplicationQuery) -> ApplicationPage:
    """The caller's applications matching the query, one page of them in its order (the database pages)."""
    conditions = _matching(principal, query)
    joined = select(Application).join(Product, col(Product.id) == col(Application.product_id))
    counts = dict(
        session.exec(
            select(Application.state, func.count())
            .join(Product, col(Product.id) == col(Application.product_id))
            .where(*conditions)
            .group_by(Application.state)
        ).all()
    )
    if query.state:
        conditions.append(Application.state == query.state)
    total = sum(counts.values()) if not query.state else counts.get(query.state, 0)
    pages = max(1, -(-total // query.size))
    page = min(query.page, pages)
    query = ApplicationQuery(**{**asdict(query), "page": page})
    applications = list(
        session.exec(
            joined.where(*conditions)
            .order_by(*SORTS[query.sort], col(Application.id))
            .offset((page - 1) * query.size)
            .limit(query.size)
        )
    )
    ordered = {state: counts[state] for state in STATES if counts.get(state)}
    return ApplicationPage(_rows(session, applications), query, total, pages, ordered)


def _rows(session: Session, applications: list[Application]) -> list[ApplicationRow]:
    """The applications with their names, open findings and labels, in four queries whatever their number."""
    names = {
        o.id: o.name
        for o in session.exec(
            select(Organisation).where(
                col(Organisation.id).in_(
                    {a.organisation_id for a in applications} | {a.certification_body_id for a in applications}
                )
            )
        )
    }
    products = {
        p.id: p.name
        for p in session.exec(select(Product).where(col(Product.id).in_({a.product_id for a in applications})))
    }
    ids = [a.id for a in applications]
    counts = dict(
        session.exec(
            select(Finding.application_id, func.count())
            .where(col(Finding.application_id).in_(ids), Finding.state != FindingState.CLOSED.value)
            .group_by(Finding.application_id)
        ).all()
    )
    numbers = {
        label.application_id: label.number
        for label in session.exec(select(Label).where(col(Label.application_id).in_(ids)))
    }
    return [
        ApplicationRow(
            a,
            products.get(a.product_id, ""),
            names.get(a.organisation_id, ""),
            names.get(a.certification_body_id, ""),
            counts.get(a.id, 0),
            numbers.get(a.id),
        )
        for a in applications
    ]


# --- one application, as its two parties see it --------------------------------------------------------------------


def history(session: Session, principal: Principal, application_id: uuid.UUID) -> list[dict]:
    """The application's audit entries (every step, finding and document), oldest first, with who acted."""
    application = visible(session, principal, application_id)
    events = list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.object_type == "application", AuditEvent.object_id == str(application.id))
            .order_by(AuditEvent.seq)
        )
    )
    people = {
        str(u.id): u.name
        for u in session.exec(
            select(User).where(
                col(User.id).in_({uuid.UUID(e.actor_id) for e in events if e.actor_kind == "user" and e.actor_id})
            )
        )
    }
    return [
        {"at": e.at, "action": e.action, "actor": people.get(e.actor_id or "", e.actor_kind), "after": e.after or {}}
        for e in events
    ]


def application_view(session: Session, principal: Principal, application_id: uuid.UUID) -> dict:
    """An application as its two parties' pages show it: parties, product, current footprint, findings (each with
    what it is about), evidence, the uploaded workbook, history, its label, the label in force it would supersede,
    and for the manufacturer the footprints that may correct it."""
    application = visible(session, principal, application_id)
    party = _party(principal, application)
    footprint = session.get(Footprint, application.footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    verifier = session.get(User, application.verified_by) if application.verified_by else None
    events = history(session, principal, application.id)
    found = findings(session, principal, application.id)
    return {
        "application": application,
        "number": application_number(application.id),
        "party": party.value,
        "product": session.get(Product, application.product_id),
        "manufacturer": session.get(Organisation, application.organisation_id).name,
        "body": session.get(Organisation, application.certification_body_id).name,
        "footprint": footprint,
        "inventory_version": record.version,
        "workbook": record.source_file_name if record.source_file_key else None,
        "verifier": verifier.name if verifier else "",
        "findings": found,
        "subjects": finding_subjects(session, application, found, events),
        "evidence": evidence(session, principal, application.id),
        "history": events,
        "label": label_of(session, principal, application.id),
        "in_force": label_in_force(session, application),
        "candidates": correction_candidates(session, principal, application) if party is Party.MANUFACTURER else [],
    }


def label_of(session: Session, principal: Principal, application_id: uuid.UUID) -> Label | None:
    application = visible(session, principal, application_id)
    return session.exec(select(Label).where(Label.application_id == application.id)).first()


def open_findings(session: Session, application_id: uuid.UUID) -> list[Finding]:
    """The findings the verifier has not closed (open, or answered and awaiting the verifier)."""
    return list(
        session.exec(
            select(Finding)
            .where(Finding.application_id == application_id, Finding.state != FindingState.CLOSED.value)
            .order_by(Finding.raised_at)
        )
    )


def _named(found: list[Finding]) -> str:
    return "; ".join(f"{finding.subject} ({finding.id})" for finding in found)


# --- the workflow's steps ------------------------------------------------------------------------------------------


@dataclass
class _Step:
    """What one step of the workflow is about: the caller, the application, the comment, the corrected footprint
    named, and the details its audit entry records."""

    session: Session
    principal: Principal
    application: Application
    action: str
    comment: str
    footprint_id: uuid.UUID | None
    details: dict


def _on_submit(step: _Step) -> None:
    _share(step.session, step.principal, step.application.footprint_id, step.application.certification_body_id)


def _on_request_corrections(step: _Step) -> None:
    if not open_findings(step.session, step.application.id):
        raise _refusal(
            Conflict,
            "cert.error.no_findings",
            "raise at least one finding before requesting corrections",
            "findings",
        )


def _on_approve(step: _Step) -> None:
    _certifiable(step.session, step.session.get(Footprint, step.application.footprint_id))
    _approve(step.session, step.principal, step.application, step.comment)
    step.details["statement"] = step.application.statement


def _on_resubmit(step: _Step) -> None:
    unanswered = [f for f in open_findings(step.session, step.application.id) if f.state == FindingState.OPEN]
    if unanswered:
        raise _refusal(
            Conflict,
            "cert.error.findings_unanswered",
            f"answer every open finding before resubmitting: {_named(unanswered)}",
            "findings",
            count=len(unanswered),
        )
    if step.footprint_id is not None:
        corrected = _corrected_footprint(step.session, step.principal, step.application, step.footprint_id)
        step.details["footprint_id"] = str(corrected)


def _on_issue_label(step: _Step) -> None:
    try:
        label = labels.issue(step.session, step.principal, step.application)
    except labels.IssuanceNotConfigured as exc:
        raise _coded(exc, "cert.error.issuance_not_configured") from None
    except labels.StorageUnavailable as exc:
        raise _coded(exc, "cert.error.storage") from None
    except Conflict as exc:
        raise _coded(exc, "cert.error.issued_meanwhile") from None
    step.details["label"] = label.number


def _on_release(step: _Step) -> None:
    """A withdrawn or rejected application gives back the certificates its inventory drew."""
    certificates.release_for_application(
        step.session, actor(step.principal), step.application, certificates.RELEASED_BY_APPLICATION[step.action]
    )


# action -> what it needs and does besides the change of state (the table of states is label_service.workflow's)
STEP_RULES = {
    "submit": _on_submit,
    "request_corrections": _on_request_corrections,
    "approve": _on_approve,
    "resubmit": _on_resubmit,
    "issue_label": _on_issue_label,
    **dict.fromkeys(certificates.RELEASED_BY_APPLICATION, _on_release),
}


def act(
    session: Session,
    principal: Principal,
    application_id: uuid.UUID,
    action: str,
    comment: str,
    footprint_id: uuid.UUID | None = None,
) -> Application:
    """One step of the workflow (label_service.workflow), with its preconditions; audited with the comment."""
    application = visible(session, principal, application_id)
    party = _party(principal, application)
    if party is Party.CERTIFICATION_BODY and principal.organisation_id == application.organisation_id:
        raise _refusal(
            Forbidden, "cert.error.own_organisation", "a certification body cannot certify its own organisation", ""
        )
    before = ApplicationState(application.state)
    try:
        after = next_application_state(before, action, party)
    except IllegalTransition as exc:
        raise _illegal(exc) from None
    step = _Step(session, principal, application, action, comment, footprint_id, {"comment": comment})
    if action in STEP_RULES:
        STEP_RULES[action](step)
    application.state, application.updated_at = after.value, utcnow()
    session.add(application)
    audit.record(
        session,
        actor(principal),
        f"application.{action}",
        "application",
        application.id,
        before={"state": before.value},
        after={"state": after.value, **step.details},
        organisation_id=application.organisation_id,
    )
    audit.commit(session)
    return application


def _approve(session: Session, principal: Principal, application: Application, statement: str) -> None:
    """Approval needs every finding closed by the verifier and a verification statement (the report prints it)."""
    remaining = open_findings(session, application.id)
    if remaining:
        raise _refusal(
            Conflict,
            "cert.error.findings_open",
            f"findings not closed by the verifier: {_named(remaining)}; close them or request corrections",
            "findings",
            count=len(remaining),
        )
    if not statement.strip():
        raise _refusal(
            Unprocessable,
            "cert.error.statement_required",
            "approval needs the verification statement",
            "comment",
        )
    application.statement, application.verified_by, application.verified_at = (
        statement.strip(),
        principal.subject,
        utcnow(),
    )


def corrected_footprint(
    session: Session,
    principal: Principal,
    application: Application,
    footprint_id: uuid.UUID,
    field: str = "footprint_id",
) -> Footprint:
    """A correction is the footprint of a newer inventory version of the application's product."""
    footprint = owned(session, Footprint, footprint_id, principal)
    record = session.get(InventoryRecord, footprint.inventory_id)
    previous = session.get(InventoryRecord, session.get(Footprint, application.footprint_id).inventory_id)
    if record.product_id != application.product_id or record.version <= previous.version:
        raise _refusal(
            Unprocessable,
            "cert.error.not_newer",
            f"the corrected footprint must come from a newer inventory version of the product "
            f"(inventory version {record.version}, the application's is {previous.version})",
            field,
            version=record.version,
            current=previous.version,
        )
    return footprint


def correction_candidates(session: Session, principal: Principal, application: Application) -> list[dict]:
    """The manufacturer's footprints that may correct the application: newer versions of the same product."""
    current = session.get(InventoryRecord, session.get(Footprint, application.footprint_id).inventory_id)
    rows = session.exec(
        select(Footprint, InventoryRecord)
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .where(
            InventoryRecord.product_id == application.product_id,
            InventoryRecord.version > current.version,
            Footprint.organisation_id == principal.organisation_id,
        )
        .order_by(col(InventoryRecord.version).desc(), col(Footprint.created_at).desc())
    )
    return [
        {
            "footprint_id": f.id,
            "inventory_version": r.version,
            "total_kg_co2e": f.total_kg_co2e,
            "declared_unit": f.declared_unit,
            "created_at": f.created_at,
        }
        for f, r in rows
    ]


def _corrected_footprint(
    session: Session, principal: Principal, application: Application, footprint_id: uuid.UUID
) -> uuid.UUID:
    """A resubmission may name the corrected footprint; the previous one is kept for the verifier's diff.
    Findings stay as they are: only the verifier closes them."""
    footprint = corrected_footprint(session, principal, application, footprint_id)
    application.previous_footprint_id, application.footprint_id = application.footprint_id, footprint.id
    _share(session, principal, footprint.id, application.certification_body_id)
    return footprint.id


# --- findings ------------------------------------------------------------------------------------------------------


def raise_finding(
    session: Session, principal: Principal, application_id: uuid.UUID, subject: str, text: str
) -> Finding:
    application = visible(session, principal, application_id)
    if _party(principal, application) is not Party.CERTIFICATION_BODY:
        raise _refusal(Forbidden, "cert.error.body_raises", "only the certification body raises findings", "")
    if application.state != ApplicationState.UNDER_REVIEW:
        raise _refusal(
            Conflict,
            "cert.error.raise_not_in_review",
            f"findings are raised during review; the application is {application.state}",
            "subject",
            state=application.state,
        )
    finding = Finding(application_id=application.id, subject=subject, text=text, raised_by=principal.subject)
    session.add(finding)
    audit.record(
        session,
        actor(principal),
        "finding.raised",
        "application",
        application.id,
        after={"finding_id": str(finding.id), "subject": subject, "text": text},
        organisation_id=application.organisation_id,
    )
    audit.commit(session)
    return finding


def _finding(
    session: Session, principal: Principal, application_id: uuid.UUID, finding_id: uuid.UUID
) -> tuple[Application, Finding, Party]:
    application = visible(session, principal, application_id)
    finding = session.get(Finding, finding_id)
    if finding is None or finding.application_id != application.id:
        raise NotFound("no such finding of this application")
    return application, finding, _party(principal, application)


def _step(
    session: Session,
    principal: Principal,
    application: Application,
    finding: Finding,
    action: str,
    party: Party,
    details: dict,
    **changes,
) -> Finding:
    """One step of a finding by its table, with its changes and audit entry in one transaction."""
    before = FindingState(finding.state)
    try:
        after = next_finding_state(before, action, party)
    except IllegalTransition as exc:
        raise _illegal(exc) from None
    for name, value in {"state": after.value, **changes}.items():
        setattr(finding, name, value)
    session.add(finding)
    audit.record(
        session,
        actor(principal),
        f"finding.{action}",
        "application",
        application.id,
        before={"finding_id": str(finding.id), "state": before.value},
        after={"finding_id": str(finding.id), "state": after.value, **details},
        organisation_id=application.organisation_id,
    )
    audit.commit(session)
    return finding


ANSWERABLE = (ApplicationState.UNDER_REVIEW, ApplicationState.FINDINGS)  # while the review is going on


def _text_required(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise _refusal(Unprocessable, "cert.error.text_required", f"{what} needs its text", "text")
    return text


def answer_finding(
    session: Session,
    principal: Principal,
    application_id: uuid.UUID,
    finding_id: uuid.UUID,
    text: str,
    footprint_id: uuid.UUID | None = None,
) -> Finding:
    """The manufacturer's answer: an explanation, optionally naming the corrected footprint it refers to (a newer
    inventory version of the product, resubmitted with the application). The finding stays open for the verifier."""
    application, finding, party = _finding(session, principal, application_id, finding_id)
    text = _text_required(text, "an answer")
    if application.state not in ANSWERABLE:
        raise _refusal(
            Conflict,
            "cert.error.not_answerable",
            f"findings are answered while the application is under review or awaiting corrections; "
            f"it is {application.state}",
            "text",
            state=application.state,
        )
    details: dict = {"answer": text}
    if footprint_id is not None and party is Party.MANUFACTURER:
        details["footprint_id"] = str(corrected_footprint(session, principal, application, footprint_id).id)
    return _step(
        session,
        principal,
        application,
        finding,
        "answer",
        party,
        details,
        answer=text,
        answer_footprint_id=footprint_id,
        answered_by=principal.subject,
        answered_at=utcnow(),
    )


def reply_finding(
    session: Session, principal: Principal, application_id: uuid.UUID, finding_id: uuid.UUID, text: str
) -> Finding:
    """The verifier is not satisfied: the finding stays open, with the reply for the manufacturer."""
    application, finding, party = _verifier_finding(session, principal, application_id, finding_id)
    text = _text_required(text, "a reply")
    return _step(session, principal, application, finding, "reply", party, {"text": text}, reply=text)


def close_finding(
    session: Session, principal: Principal, application_id: uuid.UUID, finding_id: uuid.UUID, text: str = ""
) -> Finding:
    """The verifier accepts the answer (or the correction): the finding no longer stands in the way of approval."""
    application, finding, party = _verifier_finding(session, principal, application_id, finding_id)
    text = text.strip()
    return _step(
        session,
        principal,
        application,
        finding,
        "close",
        party,
        {"text": text},
        reply=text or finding.reply,
        closed_by=principal.subject,
        resolved_at=utcnow(),
    )


def _verifier_finding(session: Session, principal: Principal, application_id: uuid.UUID, finding_id: uuid.UUID):
    application, finding, party = _finding(session, principal, application_id, finding_id)
    if application.state not in ANSWERABLE:
        raise _refusal(
            Conflict,
            "cert.error.step_not_in_review",
            f"findings are replied to and closed during review; the application is {application.state}",
            "text",
            state=application.state,
        )
    return application, finding, party


def findings(session: Session, principal: Principal, application_id: uuid.UUID) -> list[Finding]:
    application = visible(session, principal, application_id)
    return list(
        session.exec(select(Finding).where(Finding.application_id == application.id).order_by(Finding.raised_at))
    )


# --- what a finding is about ---------------------------------------------------------------------------------------

_INDEXED = re.compile(r"^(items|captive_power\.units|measured_emissions)\[(\d{1,4})\]$")
# the lists a finding may name a row of: the code's list -> (kind, the list's path in an inventory, a row's name)
_LISTS = {
    "items": ("item", ("items",), "item"),
    "captive_power.units": ("captive_unit", ("captive_power", "units"), "name"),
    "measured_emissions": ("measured", ("measured_emissions",), "gas"),
}
WHOLE_SUBJECTS = ("production", "facility", "green_certificates", "result")  # parts a finding may be about
GASES = {"co2": "CO₂", "ch4": "CH₄", "n2o": "N₂O"}


@dataclass(frozen=True)
class Subject:
    """What a finding is about. Stored as its code (`items[6]`, `production`); named for people by its kind, its
    row (from 1) and what the inventory the finding was raised on has there: the PCR item, the generating unit's
    name, the measured gas."""

    code: str
    kind: str  # item | captive_unit | captive_power | measured | production | facility | green_certificates | …
    number: int | None = None
    ref: str = ""


def _list_at(data: dict, path: tuple[str, ...]) -> list:
    for key in path:
        data = (data.get(key) if isinstance(data, dict) else None) or {}
    return data if isinstance(data, list) else []


def subject_of(code: str, data: dict) -> Subject:
    """The subject a code names in an inventory (a code the pages do not offer, from the API, is kind 'other')."""
    indexed = _INDEXED.match(code)
    if indexed:
        kind, path, named_by = _LISTS[indexed.group(1)]
        index, rows = int(indexed.group(2)), _list_at(data, path)
        row = rows[index] if index < len(rows) and isinstance(rows[index], dict) else {}
        return Subject(code, kind, index + 1, str(row.get(named_by) or ""))
    if code in (*WHOLE_SUBJECTS, "captive_power"):
        return Subject(code, code)
    return Subject(code, "other")


def subjects_to_choose(data: dict) -> list[Subject]:
    """What a verifier may raise a finding about in an inventory: each item, generating unit and measurement, then
    the production, the facility, the certificates and the result."""
    units = (data.get("captive_power") or {}).get("units", [])
    codes = (
        [f"items[{i}]" for i in range(len(data.get("items", [])))]
        + [f"captive_power.units[{i}]" for i in range(len(units))]
        + (["captive_power"] if units else [])
        + [f"measured_emissions[{i}]" for i in range(len(data.get("measured_emissions", [])))]
        + list(WHOLE_SUBJECTS)
    )
    return [subject_of(code, data) for code in codes]


def subject_name(t: Catalogue, subject: Subject, item_names: Mapping[str, str]) -> str:
    """The subject in the reader's language: "清单项 7：外购电力", "产量"; a code the pages do not know, as written."""
    if subject.kind == "item" and not subject.ref:  # a row the inventory does not have
        return t("cert.subject.item_row", number=subject.number)
    if subject.kind == "item":
        return t("cert.subject.item", number=subject.number, name=item_names.get(subject.ref, subject.ref))
    if subject.kind == "captive_unit":
        return t("cert.subject.captive_unit", number=subject.number, name=subject.ref)
    if subject.kind == "measured":
        return t("cert.subject.measured", number=subject.number, gas=GASES.get(subject.ref, subject.ref))
    return t.messages.get(f"cert.subject.{subject.kind}", subject.code)


def _raised_on(application: Application, events: list[dict]) -> dict[str, uuid.UUID]:
    """{finding id: the footprint the application named when the finding was raised}, from its history: the one it
    was made with, then each corrected one a resubmission named."""
    current, raised = application.footprint_id, {}
    created = next((e for e in events if e["action"] == "application.created"), None)
    if created and created["after"].get("footprint_id"):
        current = uuid.UUID(created["after"]["footprint_id"])
    for event in events:
        if event["action"] == "application.resubmit" and event["after"].get("footprint_id"):
            current = uuid.UUID(event["after"]["footprint_id"])
        elif event["action"] == "finding.raised" and event["after"].get("finding_id"):
            raised[event["after"]["finding_id"]] = current
    return raised


def finding_subjects(
    session: Session, application: Application, found: list[Finding], events: list[dict]
) -> dict[uuid.UUID, Subject]:
    """Each finding's subject, read in the inventory it was raised on (a later version may order its items
    otherwise)."""
    raised = _raised_on(application, events)
    inventories: dict[uuid.UUID, dict] = {}

    def data_of(footprint_id: uuid.UUID) -> dict:
        if footprint_id not in inventories:
            footprint = session.get(Footprint, footprint_id)
            record = session.get(InventoryRecord, footprint.inventory_id) if footprint else None
            inventories[footprint_id] = record.data if record else {}
        return inventories[footprint_id]

    return {f.id: subject_of(f.subject, data_of(raised.get(str(f.id), application.footprint_id))) for f in found}


def subject_names(session: Session, found: list[Finding], t: Catalogue) -> dict[uuid.UUID, str]:
    """Findings of any applications named in the reader's language (for a list of findings, a notice, a mail):
    {finding id: "清单项 7：外购电力"}. The caller has already decided that the reader may see them."""
    names: dict[uuid.UUID, str] = {}
    for application_id in {f.application_id for f in found}:
        application = session.get(Application, application_id)
        events = [
            {"action": e.action, "after": e.after or {}}
            for e in session.exec(
                select(AuditEvent)
                .where(AuditEvent.object_type == "application", AuditEvent.object_id == str(application_id))
                .order_by(AuditEvent.seq)
            )
        ]
        mine = [f for f in found if f.application_id == application_id]
        footprint = session.get(Footprint, application.footprint_id)
        vocabulary = pcr_vocabulary(footprint.pcr_id, footprint.pcr_version, t.lang)
        for finding_id, subject in finding_subjects(session, application, mine, events).items():
            names[finding_id] = subject_name(t, subject, vocabulary.items)
    return names


# --- the names of a PCR's items and parameters in the reader's language -------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """A PCR's names in one language: items by id, parameters by 'item.parameter' (the PCR's own parameters by
    'parameter'), choices by 'item.parameter.choice' (or 'parameter.choice'), and the declared unit."""

    items: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)
    declared_unit: str = ""


def _name(thing, lang: str) -> str:
    """A PCR's name of a thing in the language (the English one where the PCR gives no Chinese name)."""
    return (thing.label_zh or thing.label) if lang == "zh" else thing.label


def pcr_vocabulary(pcr_id: str, version: str, lang: str) -> Vocabulary:
    """The names of a PCR version in `lang` ('zh' or 'en'); empty for a PCR the registry does not know."""
    try:
        pcr = default_registry().get(pcr_id, version)
    except PCRNotFound:
        return Vocabulary()
    owners = [("", pcr.parameters)] + [(f"{item.id}.", item.parameters) for item in pcr.items]
    return Vocabulary(
        items={item.id: _name(item, lang) for item in pcr.items},
        parameters={f"{prefix}{p.id}": _name(p, lang) for prefix, specs in owners for p in specs},
        choices={
            f"{prefix}{p.id}.{c.value}": _name(c, lang) for prefix, specs in owners for p in specs for c in p.choices
        },
        declared_unit=(pcr.declared_unit.description_zh if lang == "zh" else None) or pcr.declared_unit.description,
    )


# --- the review file -----------------------------------------------------------------------------------------------


def review_file(session: Session, principal: Principal, application_id: uuid.UUID) -> dict:
    """What the verifier works from: the inventory, the PCR checks run again now, the full result, the evidence,
    after a resubmission with a corrected footprint what changed since the previously submitted one, and where the
    product has a label in force, what changed since the inventory that label certified."""
    application = visible(session, principal, application_id)
    footprint = session.get(Footprint, application.footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    inventory = Inventory.model_validate(record.data)
    pcr = default_registry().get(record.pcr_id, record.pcr_version)
    problems = pcr_problems(inventory, pcr)
    diff = None
    if application.previous_footprint_id is not None:
        previous = session.get(Footprint, application.previous_footprint_id)
        diff = version_diff(session.get(InventoryRecord, previous.inventory_id), previous, record, footprint)
    return {
        "application_id": application.id,
        "state": application.state,
        "inventory_id": record.id,
        "inventory_version": record.version,
        "inventory": record.data,
        "workbook": record.source_file_name if record.source_file_key else None,
        "pcr_checks": {
            "pcr": f"{pcr.id} {pcr.version}",
            "passed": not problems,
            "problems": [p.entry() for p in problems],  # the English reason, with its code and params
        },
        "problems": problems,  # the checks' own errors, with their codes, for a page to word
        "footprint_id": footprint.id,
        "result": footprint.result,
        "findings": findings(session, principal, application_id),
        "diff": diff,
        "in_force": in_force_diff(session, application, record, footprint),
        "evidence": [row.document for row in evidence(session, principal, application_id)],
    }


def label_in_force(session: Session, application: Application) -> Label | None:
    """The product's label in force under the application's PCR, issued for another application: issuing this
    application's label supersedes it (one label in force per product and PCR)."""
    footprint = session.get(Footprint, application.footprint_id)
    return session.exec(
        select(Label)
        .where(
            Label.product_id == application.product_id,
            Label.pcr_id == footprint.pcr_id,
            col(Label.state).in_(labels.IN_FORCE),
            Label.application_id != application.id,
        )
        .order_by(col(Label.issued_on).desc(), col(Label.sequence).desc())
    ).first()


def in_force_diff(
    session: Session, application: Application, record: InventoryRecord, footprint: Footprint
) -> dict | None:
    """The label in force that issuing would supersede, and what changed since the inventory it certified. The
    changes are shown to this body only if that inventory was submitted to it (another body's file stays with
    that body); the label's number and value are public anyway."""
    label = label_in_force(session, application)
    if label is None:
        return None
    certified = session.get(Footprint, label.footprint_id)
    certified_record = session.get(InventoryRecord, certified.inventory_id)
    shared = (
        session.exec(
            select(Submission).where(
                Submission.footprint_id == certified.id,
                Submission.certification_body_id == application.certification_body_id,
            )
        ).first()
        is not None
    )
    return {
        "label": label.number,
        "state": label.state,
        "value": label.value,
        "declared_unit": label.declared_unit,
        "issued_on": label.issued_on,
        "inventory_version": certified_record.version,
        "footprint_id": certified.id,
        "diff": version_diff(certified_record, certified, record, footprint) if shared else None,
    }


# --- what changed between two inventory versions -------------------------------------------------------------------

HEADLINE = (
    "total_kg_co2e",
    "fossil_kg_co2e",
    "biogenic_kg_co2e",
    "land_use_kg_co2e",
    "location_based_kg_co2e",
    "market_based_kg_co2e",
)
ITEM_FIELDS = ("data_source", "relative_sd", "supplier_pcf_kg_co2e_per_unit", "note")  # besides amount, parameters
HANDLED = {"pcr", "production", "reference_period", "facility", "parameters", "items", "green_certificates"}


@dataclass(frozen=True)
class Change:
    """One input that differs between two versions. Numbers are in the PCR's unit (`unit`: an item's unit, a
    parameter's, the declared unit for the production), so that 120 GWh and 110,000,000 kWh compare as the same
    kind of thing; `*_stated` keeps what was entered, amount and unit, where that was another unit."""

    field: str  # a stable code: items.kiln_coal.amount, items.clinker.parameters.cao_fraction, production, …
    kind: str  # item | item_parameter | item_field | parameter | production | period | facility | certificate | other
    before: float | str | None
    after: float | str | None
    unit: str = ""
    item: str = ""
    name: str = ""  # the parameter's or the field's id
    before_stated: tuple[float, str] | None = None
    after_stated: tuple[float, str] | None = None

    @property
    def change_percent(self) -> float | None:
        """(after − before) / before × 100 for two numbers, before not zero."""
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (self.before, self.after))
        return (self.after - self.before) / self.before * 100 if numbers and self.before else None


def _same(a, b) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    return a == b


def _in_unit(quantity: dict | None, unit: str | None) -> tuple[float | str | None, tuple[float, str] | None, str]:
    """(value in `unit`, (amount, unit) as entered if that was another unit, the unit of the value)."""
    if not isinstance(quantity, dict):
        return None, None, unit or ""
    if "choice" in quantity:
        return str(quantity["choice"]), None, ""
    amount, given = quantity.get("amount"), str(quantity.get("unit") or "")
    if not isinstance(amount, int | float) or not unit or given == unit:
        return amount, None, given
    try:
        return amount * conversion_factor(given, unit), (amount, given), unit
    except UnitProblem:
        return amount, None, given  # not convertible: the PCR checks say so; compared as entered


def _quantity_change(field_: str, kind: str, a: dict | None, b: dict | None, unit: str | None, **more) -> list[Change]:
    """The change of one quantity (or choice), each side in `unit` where it converts; sides in two units that do
    not convert into each other are shown as entered."""
    before, before_stated, unit_a = _in_unit(a, unit)
    after, after_stated, unit_b = _in_unit(b, unit)
    if _same(before, after) and unit_a == unit_b:
        return []
    if unit_a == unit_b or b is None:
        shown = unit_a
    elif a is None:
        shown = unit_b
    else:
        shown = ""
        before_stated, after_stated = before_stated or (before, unit_a), after_stated or (after, unit_b)
    return [Change(field_, kind, before, after, shown, before_stated=before_stated, after_stated=after_stated, **more)]


def _parameter_changes(prefix: str, kind: str, a: dict, b: dict, specs: list[ParameterSpec], item: str = "") -> list:
    by_id = {spec.id: spec for spec in specs}
    changes = []
    for name in [*a, *(n for n in b if n not in a)]:
        spec = by_id.get(name)
        unit = None if spec is None or spec.is_choice else spec.unit
        changes += _quantity_change(f"{prefix}.{name}", kind, a.get(name), b.get(name), unit, item=item, name=name)
    return changes


def _by_item(data: dict) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for entry in data.get("items", []):
        if isinstance(entry, dict):
            found.setdefault(str(entry.get("item")), entry)
    return found


def _item_changes(a: dict, b: dict, pcr: PCR | None) -> list[Change]:
    old, new = _by_item(a), _by_item(b)
    order = [i.id for i in pcr.items] if pcr else []
    ids = [i for i in order if i in old or i in new] + [i for i in [*old, *new] if i not in order]
    changes: list[Change] = []
    for item in dict.fromkeys(ids):
        spec = pcr.item(item) if pcr else None
        before, after = old.get(item) or {}, new.get(item) or {}
        changes += _quantity_change(
            f"items.{item}.amount",
            "item",
            before or None,
            after or None,
            spec.unit if spec else None,
            item=item,
        )
        changes += _parameter_changes(
            f"items.{item}.parameters",
            "item_parameter",
            before.get("parameters") or {},
            after.get("parameters") or {},
            spec.parameters if spec else [],
            item,
        )
        changes += [
            Change(f"items.{item}.{name}", "item_field", before.get(name), after.get(name), item=item, name=name)
            for name in (*ITEM_FIELDS, "data_quality")
            if before and after and not _same(before.get(name), after.get(name))
        ]
    return changes


def _period(data: dict) -> str | None:
    period = data.get("reference_period") or {}
    return f"{period.get('start')} – {period.get('end')}" if period else None


def _batches(data: dict) -> dict[str, int]:
    """{'first serial … last serial' (or the first serial): MWh drawn} of an inventory's certificate batches."""
    found: dict[str, int] = {}
    for c in data.get("green_certificates", []):
        if isinstance(c, dict):
            batch = f"{c.get('serial')} … {c['serial_last']}" if c.get("serial_last") else str(c.get("serial"))
            found[batch] = found.get(batch, 0) + (c.get("amount_mwh") or 0)
    return found


def _certificate_changes(a: dict, b: dict) -> list[Change]:
    """Each batch drawn in one version and not the other, or drawn for another amount (MWh)."""
    old, new = _batches(a), _batches(b)
    return [
        Change(f"green_certificates.{batch}", "certificate", old.get(batch), new.get(batch), "MWh", name=batch)
        for batch in [*old, *(x for x in new if x not in old)]
        if old.get(batch) != new.get(batch)
    ]


def _leaves(value, path: str = "") -> dict[str, object]:
    """{'captive_power.units[0].fuel_amount': 52000, …}: the values of the rest of an inventory by their paths."""
    if isinstance(value, dict):
        return {
            k: v for key, item in value.items() for k, v in _leaves(item, f"{path}.{key}" if path else str(key)).items()
        }
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, f"{path}[{i}]").items()}
    return {path: value}


def inventory_changes(a: dict, b: dict, pcr: PCR | None) -> list[Change]:
    """Every input that differs from version `a` to version `b` of an inventory, numbers in the PCR's units: the
    production (in the declared unit), the period, the facility, the product system's parameters, each item (by its
    PCR id, in the PCR's order) with its parameters, the certificates, then any other value by its path."""
    declared = pcr.declared_unit.unit if pcr else None
    changes = _quantity_change("production", "production", a.get("production"), b.get("production"), declared)
    if _period(a) != _period(b):
        changes.append(Change("reference_period", "period", _period(a), _period(b)))
    for name in ("name", "province", "grid_region"):
        before, after = (a.get("facility") or {}).get(name), (b.get("facility") or {}).get(name)
        if before != after:
            changes.append(Change(f"facility.{name}", "facility", before, after, name=name))
    changes += _parameter_changes(
        "parameters", "parameter", a.get("parameters") or {}, b.get("parameters") or {}, pcr.parameters if pcr else []
    )
    changes += _item_changes(a, b, pcr)
    changes += _certificate_changes(a, b)
    rest_a = _leaves({k: v for k, v in a.items() if k not in HANDLED})
    rest_b = _leaves({k: v for k, v in b.items() if k not in HANDLED})
    changes += [
        Change(path, "other", rest_a.get(path), rest_b.get(path))
        for path in sorted(rest_a.keys() | rest_b.keys())
        if not _same(rest_a.get(path), rest_b.get(path))
    ]
    return changes


def _contributions_by_item(result: dict) -> dict[str, float]:
    totals: dict[str, float] = {}
    for contribution in result.get("contributions", []):
        totals[contribution["item"]] = totals.get(contribution["item"], 0.0) + contribution["kg_co2e"]
    return totals


def version_diff(
    before_record: InventoryRecord, before: Footprint, after_record: InventoryRecord, after: Footprint
) -> dict:
    """The inputs (in the PCR's units) and results that changed between two versions (only what differs)."""
    try:
        pcr = default_registry().get(after_record.pcr_id, after_record.pcr_version)
    except PCRNotFound:
        pcr = None
    changes = inventory_changes(before_record.data, after_record.data, pcr)
    results = [
        {"field": key, "before": before.result.get(key), "after": after.result.get(key)}
        for key in HEADLINE
        if before.result.get(key) != after.result.get(key)
    ]
    old_items, new_items = _contributions_by_item(before.result), _contributions_by_item(after.result)
    contributions = [
        {"field": item, "before": old_items.get(item), "after": new_items.get(item)}
        for item in sorted(old_items.keys() | new_items.keys())
        if old_items.get(item) != new_items.get(item)
    ]
    return {
        "before": {"footprint_id": before.id, "inventory_version": before_record.version},
        "after": {"footprint_id": after.id, "inventory_version": after_record.version},
        "inputs": [{**asdict(c), "change_percent": c.change_percent} for c in changes],
        "results": results,
        "contributions": contributions,
    }


# --- evidence documents --------------------------------------------------------------------------------------------

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


# --- the workbook an inventory was uploaded in ---------------------------------------------------------------------


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
