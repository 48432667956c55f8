"""A manufacturer's products and facilities: created and changed with an audit entry, listed with search, filters,
sorting and pages, and the places a facility names (province, regional grid) in the factor set's spelling."""

import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from footprint_api.core import names
from footprint_api.core.errors import NotFound, Unprocessable
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Facility, InventoryRecord, Product
from footprint_api.services import audit
from footprint_api.services.principals import actor
from label_service import gs1
from pcr_rules import default_registry


def owned(session: Session, model, object_id: uuid.UUID, principal: Principal):
    """The object if it belongs to the caller's organisation; otherwise NotFound (existence is not revealed)."""
    found = session.get(model, object_id)
    if found is None or found.organisation_id != principal.organisation_id:
        raise NotFound(f"no such {model.__name__.lower()} in your organisation")
    return found


# --- places: the provinces and regional grids of the factor set -----------------------------------------------------


def provinces() -> dict[str, dict[str, str]]:
    """China's provincial-level divisions as the factor set names them: English name -> {zh, region}."""
    return names.factor_set().provinces


grid_regions = names.grid_regions
province_key = names.province_key  # 贵州, 贵州省, guizhou -> Guizhou
province_name = names.province_name
region_key = names.region_key  # 南方电网, 南方, south -> South
region_name = names.grid_region_name


def canonical_province(value: str, field: str = "province") -> str:
    """The factor set's name of the province; 422 naming the field for one it does not know."""
    found = province_key(value)
    if found is None:
        reason = f"{value!r} is not a provincial-level division of mainland China"
        raise Unprocessable(reason, [_place_error(field, reason, "inv.err.unknown_province", value)])
    return found


def canonical_region(value: str | None, field: str = "grid_region") -> str | None:
    """The factor set's name of the regional grid (None for none); 422 naming the field for an unknown one."""
    if value is None or not value.strip():
        return None
    found = region_key(value)
    if found is None:
        reason = f"{value!r} is not a regional grid; known: {list(grid_regions())}"
        raise Unprocessable(reason, [_place_error(field, reason, "inv.err.unknown_grid_region", value)])
    return found


def _place_error(field: str, reason: str, code: str, value: str) -> dict[str, Any]:
    return {"field": field, "reason": reason, "code": code, "params": {"value": value}}


# --- products and facilities ----------------------------------------------------------------------------------------


def _gtin14(gtin: str | None) -> str | None:
    try:
        return gs1.gtin14(gtin) if gtin else None
    except gs1.InvalidGTIN as exc:
        raise Unprocessable(str(exc), [{"field": "gtin", "reason": str(exc)}]) from None


def create_product(
    session: Session, principal: Principal, name: str, pcr_id: str, model: str | None, gtin: str | None
) -> Product:
    default_registry().get(pcr_id)  # PCRNotFound -> 422
    gtin = _gtin14(gtin)
    product = Product(organisation_id=principal.organisation_id, name=name, model=model, gtin=gtin, pcr_id=pcr_id)
    session.add(product)
    audit.record(
        session, actor(principal), "product.created", "product", product.id, after=product.model_dump(mode="json")
    )
    audit.commit(session)
    return product


def create_facility(
    session: Session, principal: Principal, name: str, province: str, grid_region: str | None
) -> Facility:
    """A facility in the factor set's spelling of its province and grid (贵州 is stored as Guizhou), so that every
    way in (the API, the form, the workbook) names one province one way."""
    province, grid_region = _places(province, grid_region)
    facility = Facility(
        organisation_id=principal.organisation_id, name=name, province=province, grid_region=grid_region
    )
    session.add(facility)
    audit.record(
        session, actor(principal), "facility.created", "facility", facility.id, after=facility.model_dump(mode="json")
    )
    audit.commit(session)
    return facility


def _places(province: str, grid_region: str | None) -> tuple[str, str | None]:
    """Both places checked in one round: a refusal names every field that is wrong."""
    errors: list[dict] = []
    found: list[str | None] = []
    for check, value in ((canonical_province, province), (canonical_region, grid_region)):
        try:
            found.append(check(value))
        except Unprocessable as exc:
            errors += exc.errors
            found.append(None)
    if errors:
        raise Unprocessable("; ".join(e["reason"] for e in errors), errors)
    return found[0] or province, found[1]


UNSET = object()  # a field an update leaves as it is


def update_product(
    session: Session, principal: Principal, product_id: uuid.UUID, name=UNSET, pcr_id=UNSET, model=UNSET, gtin=UNSET
) -> Product:
    """Changes the fields given. A product keeps its PCR once it has an inventory: every version of its inventory
    follows that PCR (a product of another category is another product)."""
    product: Product = owned(session, Product, product_id, principal)
    before = product.model_dump(mode="json")
    changes = {"name": name, "model": model, "gtin": _gtin14(gtin) if gtin is not UNSET else UNSET}
    if pcr_id is not UNSET and pcr_id != product.pcr_id:
        default_registry().get(pcr_id)  # PCRNotFound -> 422
        if session.exec(select(InventoryRecord.id).where(InventoryRecord.product_id == product.id)).first():
            reason = f"the product has inventories that follow {product.pcr_id}; create a new product instead"
            error = {
                "field": "pcr_id",
                "reason": reason,
                "code": "inv.err.pcr_fixed",
                "params": {"pcr": product.pcr_id},
            }
            raise Unprocessable(reason, [error])
        changes["pcr_id"] = pcr_id
    for field, value in changes.items():  # only once every change is known to be valid
        if value is not UNSET:
            setattr(product, field, value)
    return _updated(session, principal, product, "product", before)


def update_facility(
    session: Session, principal: Principal, facility_id: uuid.UUID, name=UNSET, province=UNSET, grid_region=UNSET
) -> Facility:
    """Changes the fields given; submitted inventories keep the facility as it was (they carry a copy)."""
    facility: Facility = owned(session, Facility, facility_id, principal)
    before = facility.model_dump(mode="json")
    if province is not UNSET or grid_region is not UNSET:
        province, grid_region = _places(
            facility.province if province is UNSET else province,
            facility.grid_region if grid_region is UNSET else grid_region,
        )
    for field, value in (("name", name), ("province", province), ("grid_region", grid_region)):
        if value is not UNSET:
            setattr(facility, field, value)
    return _updated(session, principal, facility, "facility", before)


def _updated(session: Session, principal: Principal, obj, kind: str, before: dict):
    after = obj.model_dump(mode="json")
    changed = {k for k in after if after[k] != before.get(k)}
    if changed:
        session.add(obj)
        audit.record(
            session,
            actor(principal),
            f"{kind}.updated",
            kind,
            obj.id,
            before={k: before[k] for k in sorted(changed)},
            after={k: after[k] for k in sorted(changed)},
        )
        audit.commit(session)
    return obj


def list_owned(session: Session, model, principal: Principal) -> list:
    return list(
        session.exec(select(model).where(model.organisation_id == principal.organisation_id).order_by(model.created_at))
    )


# --- lists: search, filters, sorting, pages -------------------------------------------------------------------------

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
MAX_QUERY_CHARS = 100


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, the number of rows of the whole list, the page's number (from 1) and size."""

    rows: list
    total: int
    number: int
    size: int
    sort: str

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


def page_size(size: int | None) -> int:
    """A page size from those offered (25 for anything else): a list is never read whole."""
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def paged(session: Session, query, sorts: dict[str, tuple], sort: str | None, number: int | None, size: int | None):
    """The page `number` of `query` ordered by the sort key given (the table's first key for an unknown one); a page
    beyond the last shows the last, one below 1 the first."""
    key = sort if sort in sorts else next(iter(sorts))
    size = page_size(size)
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    last = max(1, math.ceil(total / size))
    number = min(max(number or 1, 1), last)
    rows = session.exec(query.order_by(*sorts[key]).offset((number - 1) * size).limit(size)).all()
    return Page(list(rows), total, number, size, key)


def search_text(value: str | None) -> str:
    """What a search box gave, trimmed and bounded; LIKE's wildcards taken literally."""
    text = (value or "").strip()[:MAX_QUERY_CHARS]
    return text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


def contains(column, text: str):
    """A case-blind LIKE of a search text (`search_text`) anywhere in the column."""
    return func.lower(column).like(f"%{text.lower()}%", escape="\\")


# the first key of each table is the list's default: newest first, so that what was just created is in view
PRODUCT_SORTS = {
    "-created": (col(Product.created_at).desc(),),
    "created": (Product.created_at,),
    "name": (func.lower(Product.name), Product.created_at),
    "-name": (func.lower(Product.name).desc(), Product.created_at),
    "pcr": (Product.pcr_id, func.lower(Product.name)),
    "gtin": (Product.gtin, func.lower(Product.name)),
}


def search_products(
    session: Session,
    principal: Principal,
    q: str | None = None,
    pcr_id: str | None = None,
    sort: str | None = None,
    page: int | None = 1,
    size: int | None = DEFAULT_PAGE_SIZE,
) -> Page:
    """The organisation's products whose name, model or GTIN contains `q` (a GTIN by its digits, so that a GTIN-13
    finds the GTIN-14 stored with its leading zero), of one PCR if given."""
    query = select(Product).where(Product.organisation_id == principal.organisation_id)
    text = search_text(q)
    if text:
        matches = [contains(Product.name, text), contains(col(Product.model), text)]
        if text.isdigit():
            matches.append(col(Product.gtin).like(f"%{text.lstrip('0') or '0'}%"))
        query = query.where(or_(*matches))
    if pcr_id:
        query = query.where(Product.pcr_id == pcr_id)
    return paged(session, query, PRODUCT_SORTS, sort, page, size)


FACILITY_SORTS = {
    "-created": (col(Facility.created_at).desc(),),
    "created": (Facility.created_at,),
    "name": (func.lower(Facility.name), Facility.created_at),
    "-name": (func.lower(Facility.name).desc(), Facility.created_at),
    "province": (Facility.province, func.lower(Facility.name)),
}


def search_facilities(
    session: Session,
    principal: Principal,
    q: str | None = None,
    province: str | None = None,
    sort: str | None = None,
    page: int | None = 1,
    size: int | None = DEFAULT_PAGE_SIZE,
) -> Page:
    """The organisation's facilities whose name contains `q` or whose province it names (in English or Chinese)."""
    query = select(Facility).where(Facility.organisation_id == principal.organisation_id)
    text = search_text(q)
    if text:
        named = province_key(q)
        query = query.where(or_(contains(Facility.name, text), Facility.province == (named or text)))
    if province:
        query = query.where(Facility.province == (province_key(province) or province))
    return paged(session, query, FACILITY_SORTS, sort, page, size)


@dataclass(frozen=True)
class FacilityProduct:
    """A product made at a facility: its inventories that name the facility, the latest of them and its period."""

    product: Product
    inventories: int
    latest: InventoryRecord


def facility_products(session: Session, principal: Principal, facility_id: uuid.UUID) -> list[FacilityProduct]:
    """The products whose inventories name the facility, by name, each with its latest such inventory."""
    owned(session, Facility, facility_id, principal)
    records = session.exec(
        select(InventoryRecord)
        .where(
            InventoryRecord.organisation_id == principal.organisation_id,
            InventoryRecord.facility_id == facility_id,
        )
        .order_by(InventoryRecord.product_id, InventoryRecord.version)
    ).all()
    by_product: dict[uuid.UUID, list[InventoryRecord]] = {}
    for record in records:
        by_product.setdefault(record.product_id, []).append(record)
    products = (
        {p.id: p for p in session.exec(select(Product).where(col(Product.id).in_(list(by_product)))).all()}
        if by_product
        else {}
    )
    found = [FacilityProduct(products[pid], len(rows), rows[-1]) for pid, rows in by_product.items() if pid in products]
    return sorted(found, key=lambda f: (f.product.name.casefold(), str(f.product.id)))
