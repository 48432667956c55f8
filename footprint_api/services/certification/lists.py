"""Lists of applications: search, filters, sorting, pages."""

import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Application, Finding, Label, Organisation, Product
from footprint_api.services.certification.parties import _mine
from footprint_api.services.principals import CB_ROLES
from label_service.workflow import ApplicationState, FindingState


def list_applications(session: Session, principal: Principal) -> list[Application]:
    return list(session.exec(select(Application).where(*_mine(principal)).order_by(Application.created_at)))


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
