"""Pages of the web application: products, facilities and inventories (form and Excel).

The inventory form is generated from the product's PCR (pcr_rules data): one row per PCR item with the units of its
dimension, its parameters, data-quality indicators and uncertainty; certificates, measured emissions and co-products
where the PCR admits them. A submission builds the same `Inventory` as the JSON API and calls the same service
(`inventories.submit_inventory`); every error it reports is shown next to the input it concerns, in one round.
"""

import re
import uuid
from typing import get_args
from urllib.parse import urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from stdnum import ean

from footprint_api.core import names
from footprint_api.core.errors import Conflict, Unprocessable
from footprint_api.infra.http import attachment
from footprint_api.infra.workbooks import XLSX
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Facility, InventoryRecord, Product
from footprint_api.schemas import CalculationIn, FacilityIn, FacilityPatch, ProductIn, ProductPatch
from footprint_api.services import (
    catalogue,
    certificates,
    dashboard,
    excel,
    footprints,
    inventories,
    jobs,
    messages,
    supplier_data,
)
from footprint_api.services.messages import unit_label, unit_text
from footprint_api.services.principals import MANUFACTURER_ROLES
from footprint_api.web import i18n
from footprint_api.web import session as web_session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import page_router
from footprint_api.web.session import ManufacturerPage
from pcr_rules import FieldError, InventoryInvalid, PCRNotFound, default_registry
from pcr_rules.inventory import DataQuality, GreenCertificate, Inventory, InventoryItem
from pcr_rules.models import PCR, ItemKind, ItemSpec, ParameterSpec, Range, in_language
from pcr_rules.units import UnitProblem, conversion_factor, is_fraction, same_kind
from pcr_rules.validation import item_amount_in_pcr_unit, problems, span

router = page_router()
manufacturer = web_session.page_user(*MANUFACTURER_ROLES)

# Units a person may enter, offered for an amount when pint converts them to the PCR's unit (pcr_rules.units):
# the PCR states one unit per item; any unit of the same dimension is accepted and converted on the server.
UNIT_CHOICES = (
    "t",
    "kg",
    "g",
    "kWh",
    "MWh",
    "GWh",
    "MJ",
    "GJ",
    "TJ",
    "t*km",
    "kg*km",
    "m^3",
    "Nm3",
    "L",
    "GJ/t",
    "MJ/kg",
    "t/TJ",
    "kg/GJ",
    "dimensionless",
    "percent",
    "minute/day",
    "hour/day",
)
DQ_INDICATORS = tuple(DataQuality.model_fields)
DATA_SOURCES = get_args(InventoryItem.model_fields["data_source"].annotation)
INSTRUMENTS = get_args(GreenCertificate.model_fields["instrument"].annotation)
EXPORT_CONTEXTS = get_args(Inventory.model_fields["export_context"].annotation)
ITEM_FIELDS = ("amount", "unit", "data_source", "relative_sd", "supplier_pcf_kg_co2e_per_unit", "note")
CERTIFICATE_FIELDS = (
    "serial",
    "serial_last",
    "amount_mwh",
    "technology",
    "generation_month",
    "province",
    "plant",
    "instrument",
)
MEASURED_FIELDS = ("amount", "unit", "method", "source", "relative_sd")
CAPTIVE_FIELDS = tuple(c for c in excel.CAPTIVE_COLUMNS if c not in excel.DQ_COLUMNS)  # as the template has them
CO_PRODUCT_FIELDS = ("name", "amount", "unit", "economic_value_cny")
MAX_ROWS = 200  # certificate or co-product rows of one form
# The supplier-data choice of a purchased input (pcr_rules.inventory.SupplierRef): its kind, then the input of each
# kind's reference (a label number, a received PACT footprint, a release and its entry). No kind: the screening value.
SUPPLIER_INPUTS = ("kind", "label", "pact", "release", "entry")
CHECK = "supplier_check."  # the name of an item's "check" of its label number, followed by the item's id
NAME = re.compile(r"^[a-z_.0-9]+$")


# --- shared helpers ------------------------------------------------------------------------------------------------


def field_id(name: str) -> str:
    """The HTML id of the input named `name` (names hold dots and ids of PCR data)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def units_for(unit: str) -> list[str]:
    """The PCR's unit first, then every offered unit of its kind that pint converts to it: a mass fraction is
    offered as a fraction and in percent, never in hours per day (pcr_rules.units.kind)."""
    offered = [unit]
    for choice in UNIT_CHOICES:
        if choice != unit and _convertible(choice, unit):
            offered.append(choice)
    return offered


def _convertible(unit: str, target: str) -> bool:
    try:
        conversion_factor(unit, target)
        return same_kind(unit, target)
    except UnitProblem:
        return False


def offered_unit(stored: str, offered: list[str]) -> str:
    """The option of a unit select that means the unit stored (an inventory from the API or a workbook may give
    `%` where the form offers `percent`); the stored unit itself where no option means it."""
    if not stored or stored in offered:
        return stored
    return next(
        (u for u in offered if _convertible(stored, u) and abs(conversion_factor(stored, u) - 1.0) < 1e-12), stored
    )


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def number(value) -> str:
    """An amount for reading: digits grouped, whole numbers without decimals, others to 6 significant digits."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.6g}"


def _pcr_choices() -> list[PCR]:
    """The latest version of every PCR of the registry."""
    latest: dict[str, PCR] = {}
    for pcr in default_registry().list():
        latest[pcr.id] = pcr
    return list(latest.values())


def _reason(t, error: dict) -> str:
    """A pydantic error in the reader's language where the form knows its kind; the schema's words otherwise."""
    key = f"inv.err.{error['type']}"
    if key in t.messages:
        return t(key, **{k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (int, float, str))})
    return error["msg"].removeprefix("Value error, ")


def _one(value) -> str:
    """A form value as one string (a repeated field keeps its last value)."""
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value.strip() if isinstance(value, str) else ""


def _flat(data: dict) -> dict[str, str]:
    return {k: _one(v) for k, v in data.items() if isinstance(v, str | list)}


def _errors_by_field(t, exc: ValidationError, known: set[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        errors.setdefault(name if name in known else "", []).append(_reason(t, error))
    return errors


def _service_errors(t, exc: Unprocessable, known: set[str]) -> dict[str, list[str]]:
    """A refusal of the catalogue service at the fields it names, in the reader's language (by its code)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors or [{"field": "", "reason": exc.detail, "code": exc.code, "params": exc.params}]:
        name = error.get("field", "")
        errors.setdefault(name if name in known else "", []).append(messages.render(error, t.lang))
    return errors


# --- products and facilities ---------------------------------------------------------------------------------------

PRODUCT_FIELDS = {"name", "model", "gtin", "pcr_id"}
FACILITY_FIELDS = {"name", "province", "grid_region"}


def places(lang: str) -> dict:
    """The provinces and regional grids a facility or a certificate batch may name, from the factor set: values
    are the factor set's (English) names, shown by their names in the reader's language; each province's usual
    grid for the form to suggest."""
    provinces = catalogue.provinces()
    return {
        "provinces": [(key, catalogue.province_name(key, lang)) for key in provinces],
        "grid_regions": [(key, catalogue.region_name(key, lang)) for key in catalogue.grid_regions()],
        "province_regions": {key: spec["region"] for key, spec in provinces.items()},
        "province_name": lambda key: catalogue.province_name(key, lang),
        "region_name": lambda key: catalogue.region_name(key, lang),
    }


pcr_title = names.pcr_title  # its Chinese title on a Chinese page (named from its category where it has none)


def _catalogue_values(user, db: Session, lang: str) -> dict:
    pcrs = _pcr_choices()
    return {
        "pcrs": pcrs,
        "pcr_titles": {p.id: pcr_title(p, lang) for p in pcrs},
        "field_id": field_id,
        **places(lang),
    }


def _empty_form(values: dict | None = None) -> dict:
    return {"values": values or {}, "errors": {}}


# --- lists: search, filters, sorting, pages --------------------------------------------------------------------------


def _whole(value: str | None) -> int | None:
    """A page number or size from the query; None (the list's default) for anything that is not a whole number."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 6 else None


def list_args(request: Request, prefix: str = "") -> dict:
    """A list's search text, sort key, page and size from the query (`prefix` tells two lists of a page apart);
    bad values fall back to the list's defaults (services.catalogue.paged)."""
    query = request.query_params
    return {
        "q": query.get(prefix + "q", "")[: catalogue.MAX_QUERY_CHARS],
        "sort": query.get(prefix + "sort") or None,
        "page": _whole(query.get(prefix + "page")),
        "size": _whole(query.get(prefix + "size")),
    }


def pager(request: Request, found: catalogue.Page, prefix: str = "") -> dict:
    """What the list's page links need: the page's number of all, the rows, and the same list's previous and next
    pages (the other query values kept)."""

    def to(number: int) -> str:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != prefix + "page"]
        return f"{request.url.path}?{urlencode([*query, (prefix + 'page', str(number))])}"

    return {
        "number": found.number,
        "pages": found.pages,
        "total": found.total,
        "previous": to(found.number - 1) if found.number > 1 else None,
        "next": to(found.number + 1) if found.number < found.pages else None,
    }


def _kept(request: Request, prefix: str) -> dict[str, str]:
    """The query values of the page's other list, kept as hidden inputs by this list's filter form."""
    return {k: v for k, v in request.query_params.items() if k.startswith(prefix)}


def _products_page(
    request: Request,
    user,
    db: Session,
    status_code: int = 200,
    product_form=None,
    facility_form=None,
    notice: str | None = None,
):
    lang = i18n.negotiate(request)
    pcr_id = request.query_params.get("pcr") or None
    products = catalogue.search_products(db, user.principal, pcr_id=pcr_id, **list_args(request))
    province = request.query_params.get("f_province") or None
    facilities = catalogue.search_facilities(db, user.principal, province=province, **list_args(request, "f_"))
    return page(
        request,
        "inventory/products.html",
        user,
        status_code,
        notice=notice,
        product_form={**(product_form or _empty_form()), "prefix": "product-"},
        facility_form={**(facility_form or _empty_form()), "prefix": "facility-"},
        products=products,
        products_pager=pager(request, products),
        facilities=facilities,
        facilities_pager=pager(request, facilities, "f_"),
        product_filters={"pcr": pcr_id or "", "q": request.query_params.get("q", "")},
        facility_filters={"province": province or "", "q": request.query_params.get("f_q", "")},
        kept_for_products=_kept(request, "f_"),
        kept_for_facilities={k: v for k, v in request.query_params.items() if not k.startswith("f_")},
        **_catalogue_values(user, db, lang),
    )


@router.get("/app/products")
def products_page(request: Request, user: ManufacturerPage, db: SessionDep):
    t = i18n.catalogue(i18n.negotiate(request))
    notice = {"product": t("inv.product.saved"), "facility": t("inv.facility.saved")}.get(
        request.query_params.get("saved", "")
    )
    return _products_page(request, user, db, notice=notice)


@router.get("/app/facilities/{facility_id}")
def facility_page(request: Request, facility_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    """A facility and the products made there: the products whose inventories name it, each with its latest."""
    facility = catalogue.owned(db, Facility, facility_id, user.principal)
    lang = i18n.negotiate(request)
    return page(
        request,
        "inventory/facility.html",
        user,
        facility=facility,
        made_here=catalogue.facility_products(db, user.principal, facility.id),
        pool=certificates.facility_pool(db, user.principal, facility.id),
        when=when,
        number=number,
        **_catalogue_values(user, db, lang),
    )


def _product_values(data: dict) -> dict[str, str]:
    return {k: v for k, v in _flat(data).items() if k in PRODUCT_FIELDS}


def _facility_values(data: dict) -> dict[str, str]:
    return {k: v for k, v in _flat(data).items() if k in FACILITY_FIELDS}


def _optional(values: dict, *names: str) -> dict:
    return {k: (values.get(k) or None) for k in names}


def _save_product(t, db: Session, user, values: dict, product_id: uuid.UUID | None) -> dict[str, list[str]]:
    """Creates or changes a product through the catalogue service; the errors by field, empty when saved."""
    fields = {"name": values.get("name", ""), "pcr_id": values.get("pcr_id", ""), **_optional(values, "model", "gtin")}
    try:
        if product_id is None:
            body = ProductIn(**fields)
            catalogue.create_product(db, user.principal, body.name, body.pcr_id, body.model, body.gtin)
        else:
            catalogue.update_product(db, user.principal, product_id, **ProductPatch(**fields).changes())
    except ValidationError as exc:
        errors = _errors_by_field(t, exc, PRODUCT_FIELDS)
        if "pcr_id" not in errors:  # named in the same round as the schema's errors
            errors.update(_pcr_error(t, fields["pcr_id"]))
    except Unprocessable as exc:
        errors = _service_errors(t, exc, PRODUCT_FIELDS)
    except PCRNotFound:
        errors = _pcr_error(t, fields["pcr_id"])
    else:
        return {}
    if "gtin" in errors:
        errors["gtin"] = [_gtin_reason(t, fields["gtin"] or "")]
    return errors


def _gtin_reason(t, gtin: str) -> str:
    """Why a GTIN is refused, in the reader's language: not 8, 12, 13 or 14 digits, or the check digit it should
    have (GS1 General Specifications 7.9.1)."""
    digits = gtin.replace(" ", "").replace("-", "")
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return t("inv.err.gtin_format")
    return t("inv.err.gtin_check", digit=ean.calc_check_digit(digits[:-1]))


def _pcr_error(t, pcr_id: str) -> dict[str, list[str]]:
    if not pcr_id:
        return {"pcr_id": [t("inv.err.missing")]}
    try:
        default_registry().get(pcr_id)
    except PCRNotFound:
        return {"pcr_id": [t("inv.err.unknown_pcr", pcr=pcr_id)]}
    return {}


def _save_facility(t, db: Session, user, values: dict, facility_id: uuid.UUID | None) -> dict[str, list[str]]:
    fields = {
        "name": values.get("name", ""),
        "province": values.get("province", ""),
        **_optional(values, "grid_region"),
    }
    try:
        if facility_id is None:
            body = FacilityIn(**fields)
            catalogue.create_facility(db, user.principal, body.name, body.province, body.grid_region)
        else:
            catalogue.update_facility(db, user.principal, facility_id, **FacilityPatch(**fields).changes())
    except ValidationError as exc:
        return _errors_by_field(t, exc, FACILITY_FIELDS)
    except Unprocessable as exc:
        return _service_errors(t, exc, FACILITY_FIELDS)
    return {}


@router.post("/app/products")
async def create_product(request: Request, user: ManufacturerPage, db: SessionDep):
    values = _product_values(await web_session.form(request, user))
    t = i18n.catalogue(i18n.negotiate(request))
    errors = await run_in_threadpool(_save_product, t, db, user, values, None)
    if errors:
        return await run_in_threadpool(_products_page, request, user, db, 422, {"values": values, "errors": errors})
    return RedirectResponse("/app/products?saved=product", status_code=303)


@router.post("/app/facilities")
async def create_facility(request: Request, user: ManufacturerPage, db: SessionDep):
    values = _facility_values(await web_session.form(request, user))
    t = i18n.catalogue(i18n.negotiate(request))
    errors = await run_in_threadpool(_save_facility, t, db, user, values, None)
    if errors:
        return await run_in_threadpool(
            _products_page, request, user, db, 422, None, {"values": values, "errors": errors}
        )
    return RedirectResponse("/app/products?saved=facility", status_code=303)


def _edit_page(request: Request, user, db: Session, kind: str, obj, form: dict, status_code: int = 200):
    values = _catalogue_values(user, db, i18n.negotiate(request))
    pool = certificates.facility_pool(db, user.principal, obj.id) if kind == "facility" else None
    return page(
        request,
        f"inventory/{kind}_edit.html",
        user,
        status_code,
        obj=obj,
        form=form,
        pool=pool,
        number=number,
        **values,
    )


@router.get("/app/products/{product_id}/edit")
def edit_product_page(request: Request, product_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    product = catalogue.owned(db, Product, product_id, user.principal)
    values = {k: _text(getattr(product, k)) for k in PRODUCT_FIELDS}
    return _edit_page(request, user, db, "product", product, _empty_form(values))


async def _edit(request: Request, user, db: Session, kind: str, model, object_id: uuid.UUID, read, save):
    """An edit form sent back: saved (then back to the list) or shown again with its errors, nothing stored."""
    values = read(await web_session.form(request, user))
    t = i18n.catalogue(i18n.negotiate(request))
    obj = await run_in_threadpool(catalogue.owned, db, model, object_id, user.principal)
    errors = await run_in_threadpool(save, t, db, user, values, object_id)
    if errors:
        db.rollback()
        return await run_in_threadpool(
            _edit_page, request, user, db, kind, obj, {"values": values, "errors": errors}, 422
        )
    return RedirectResponse(f"/app/products?saved={kind}", status_code=303)


@router.post("/app/products/{product_id}")
async def edit_product(request: Request, product_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    return await _edit(request, user, db, "product", Product, product_id, _product_values, _save_product)


@router.get("/app/facilities/{facility_id}/edit")
def edit_facility_page(request: Request, facility_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    facility = catalogue.owned(db, Facility, facility_id, user.principal)
    values = {k: _text(getattr(facility, k)) for k in FACILITY_FIELDS}
    return _edit_page(request, user, db, "facility", facility, _empty_form(values))


@router.post("/app/facilities/{facility_id}")
async def edit_facility(request: Request, facility_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    return await _edit(request, user, db, "facility", Facility, facility_id, _facility_values, _save_facility)


# --- the list of inventories ---------------------------------------------------------------------------------------


@router.get("/app/inventories")
def inventories_page(request: Request, user: ManufacturerPage, db: SessionDep):
    """The organisation's inventories, newest first: found by product (name, model or GTIN), filtered by product,
    PCR, reference year and source, sorted and in pages."""
    lang, query = i18n.negotiate(request), request.query_params
    filters = {
        "product_id": _uuid(query.get("product")),
        "pcr_id": query.get("pcr") or None,
        "year": _whole(query.get("year")),
        "source": query.get("source") if query.get("source") in inventories.SOURCES else None,
    }
    found = inventories.search_inventories(db, user.principal, **filters, **list_args(request))
    return page(
        request,
        "inventory/list.html",
        user,
        rows=found.rows,
        found=found,
        pager=pager(request, found),
        filters={k: "" if v is None else str(v) for k, v in filters.items()} | {"q": query.get("q", "")},
        products=catalogue.list_owned(db, Product, user.principal),
        years=inventories.reference_years(db, user.principal),
        sources=inventories.SOURCES,
        when=when,
        **_catalogue_values(user, db, lang),
    )


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None


# --- the inventory form, generated from the PCR --------------------------------------------------------------------

SECTION_IDS = {
    "parameters": "sec-parameters",
    "items": "sec-items",
    "green_certificates": "sec-certificates",
    "measured_emissions": "sec-measured",
    "co_products": "sec-co-products",
    "captive_power": "sec-captive",
}


def _name(spec, lang: str) -> str:
    """An item's or parameter's name on a page in `lang`: the PCR's Chinese name on a Chinese page where it has one."""
    return spec.label_zh if lang == "zh" and spec.label_zh else spec.label


def _item_view(spec: ItemSpec, pcr: PCR, lang: str) -> dict:
    per = f"{pcr.declared_unit.amount:g} {unit_label(pcr.declared_unit.unit)}"
    return {
        "id": spec.id,
        "label": spec.label,
        "label_zh": spec.label_zh,
        "kind": spec.kind.value,
        "stage": spec.stage.value,
        "unit": spec.unit,
        "units": units_for(spec.unit),
        "required": spec.required,
        "primary_required": spec.primary_data_required,
        "note": in_language(spec, "note", lang),
        "range_text": span(spec.plausible_per_declared_unit),
        "per": per,
        "supplier": spec.kind is ItemKind.INPUT,
        "parameters": [_parameter_view(p) for p in spec.parameters],
    }


def _parameter_view(spec: ParameterSpec) -> dict:
    """What the form shows of a parameter: a number's units and range, or a choice's codes with their names and the
    default an empty choice takes. A fraction (a mass fraction within 0–1) says so, in percent too: 65.2 typed
    for CaO is a percentage, and the help says which unit to choose for it."""
    bounds = spec.range
    fraction = (
        not spec.is_choice
        and is_fraction(spec.unit)
        and bounds is not None
        and bounds.min is not None
        and bounds.max is not None
        and 0 <= bounds.min <= bounds.max <= 1
    )
    return {
        "id": spec.id,
        "label": spec.label,
        "label_zh": spec.label_zh,
        "unit": spec.unit,
        "units": [] if spec.is_choice else units_for(spec.unit),
        "required": spec.required,
        "range_text": span(spec.range),
        "fraction": fraction,
        "percent_text": span(Range(min=spec.range.min * 100, max=spec.range.max * 100)) if fraction else "",
        "choices": [{"value": c.value, "label": c.label, "label_zh": c.label_zh} for c in spec.choices],
        "default": spec.default,
        "default_choice": spec.choice(str(spec.default)) if spec.is_choice and spec.default is not None else None,
    }


def _labels(t, pcr: PCR, gec_rows: int, co_rows: int, cap_rows: int = 0) -> dict[str, str]:
    """What the error summary calls each input: the words of its label."""
    labels = {
        "facility_id": t("inv.form.facility"),
        "reference_period.start": t("inv.form.period_start"),
        "reference_period.end": t("inv.form.period_end"),
        "production.amount": t("inv.form.production"),
        "production.unit": t("inv.form.production"),
        "main_product_value_cny": t("inv.form.main_value"),
        "items": t("inv.form.items"),
        "green_certificates": t("inv.gec.title"),
        "measured_emissions": t("inv.measured.title"),
        "co_products": t("inv.co.title"),
        "captive_power": t("inv.captive.title"),
        "captive.supplied_mwh": t("inv.captive.supplied_mwh"),
    }
    labels["parameters"] = t("inv.param.title")
    labels.update(_parameter_labels("", "", pcr.parameters, t.lang))
    for spec in pcr.items:
        labels.update(_item_labels(t, spec))
    for index in range(gec_rows):
        for key in CERTIFICATE_FIELDS:
            labels[f"gec.{index}.{key}"] = f"{t('inv.gec.row', n=index + 1)}: {t('inv.gec.' + key)}"
    for gas in pcr.measured_emissions.allowed_gases:
        for key in MEASURED_FIELDS:
            labels[f"measured.{gas}.{key}"] = t(f"inv.gas.{gas}")
        labels[f"measured.{gas}.covers"] = f"{t(f'inv.gas.{gas}')}: {t('inv.measured.covers')}"
    for index in range(cap_rows):
        for key in CAPTIVE_FIELDS:
            labels[f"cap.{index}.{key}"] = f"{t('inv.captive.row', n=index + 1)}: {t('inv.captive.' + key)}"
        for indicator in DQ_INDICATORS:
            labels[f"cap.{index}.dq.{indicator}"] = f"{t('inv.captive.row', n=index + 1)}: {t('inv.dq.' + indicator)}"
    for index in range(co_rows):
        for key in CO_PRODUCT_FIELDS:
            labels[f"co.{index}.{key}"] = t("inv.co.row", n=index + 1)
    return labels


def _item_labels(t, spec: ItemSpec) -> dict[str, str]:
    """The inputs of an item's row by name: its fields, its parameters and its data-quality scores."""
    p, name = f"item.{spec.id}", _name(spec, t.lang)
    labels = {
        f"{p}.{key}": name if key in ("amount", "unit") else f"{name}: {t('inv.field.' + key)}" for key in ITEM_FIELDS
    }
    labels.update(_parameter_labels(f"{p}.", f"{name}: ", spec.parameters, t.lang))
    labels.update({f"{p}.dq.{indicator}": f"{name}: {t('inv.dq.' + indicator)}" for indicator in DQ_INDICATORS})
    if spec.kind is ItemKind.INPUT:
        labels.update({f"{p}.supplier.{key}": f"{name}: {t('sd.form.' + key)}" for key in SUPPLIER_INPUTS})
    return labels


def _parameter_labels(prefix: str, owner: str, specs: list[ParameterSpec], lang: str) -> dict[str, str]:
    """A choice's select, or a number's amount and unit, named by the parameter (after its item's name)."""
    return {
        f"{prefix}param.{spec.id}.{key}": f"{owner}{_name(spec, lang)}"
        for spec in specs
        for key in (("choice",) if spec.is_choice else ("amount", "unit"))
    }


def _form_layout(pcr: PCR, lang: str) -> dict:
    """What the form shows for this PCR: data only, the same template for every category."""
    return {
        "pcr": pcr,
        "product_parameters": [_parameter_view(spec) for spec in pcr.parameters],
        "items": [_item_view(spec, pcr, lang) for spec in pcr.items],
        "production_units": units_for(pcr.declared_unit.unit),
        "mass_units": units_for("kg"),
        "certificates_allowed": pcr.electricity.gec_allowed,
        "technologies": pcr.electricity.eligible_technologies,
        "instruments": INSTRUMENTS,
        "gases": pcr.measured_emissions.allowed_gases,
        "methods": pcr.measured_emissions.methods,
        "allocation": pcr.allocation.method,
        "dq_indicators": DQ_INDICATORS,
        "data_sources": DATA_SOURCES,
        "export_contexts": EXPORT_CONTEXTS,
        "direct_items": [s for s in pcr.items if s.kind in (ItemKind.FUEL, ItemKind.PROCESS)],
        "captive_fuels": pcr.electricity.captive_fuels,
    }


def _prefill(data: dict, pcr: PCR) -> tuple[dict[str, str], int, int]:
    """The form's values from a stored inventory (a new version starts as a copy of it, its certificates too: a
    new version for the same period draws on the same batches in the facility's pool), every amount with the unit
    it was stated in, so that the form sent back unchanged is the same inventory. Returns the values and the
    numbers of co-product and certificate rows."""
    values = _general_values(data, pcr)
    values.update(_parameter_values("", data.get("parameters") or {}, pcr.parameters))
    for entry in data.get("items", []):
        spec = pcr.item(entry["item"])
        if spec is not None:  # an item the PCR no longer has has no row to show it
            values.update(_item_values(entry, spec))
    for entry in data.get("measured_emissions", []):
        values.update(_measured_values(entry))
    captive = data.get("captive_power") or {}
    if captive and pcr.electricity.captive_fuels:
        values.update(_captive_values(captive, list(dict.fromkeys(pcr.electricity.captive_fuels.values()))))
    co_products = data.get("co_products", [])
    values.update(_row_values("co", co_products, CO_PRODUCT_FIELDS))
    values.update({f"co.{i}.unit": offered_unit(e.get("unit", ""), units_for("kg")) for i, e in enumerate(co_products)})
    batches = data.get("green_certificates", []) if pcr.electricity.gec_allowed else []
    values.update(_row_values("gec", batches, CERTIFICATE_FIELDS))
    return values, len(co_products), len(batches)


def _general_values(data: dict, pcr: PCR) -> dict[str, str]:
    """The inputs above the items: production, reference period, main product value and export context."""
    return {
        "production.amount": _text(data["production"]["amount"]),
        "production.unit": offered_unit(data["production"]["unit"], units_for(pcr.declared_unit.unit)),
        "reference_period.start": data["reference_period"]["start"],
        "reference_period.end": data["reference_period"]["end"],
        "main_product_value_cny": _text(data.get("main_product_value_cny")),
        "export_context": data.get("export_context", "footprint"),
    }


def _item_values(entry: dict, spec: ItemSpec) -> dict[str, str]:
    """The inputs of one item's row: its fields, each parameter's amount and unit, each data-quality score."""
    prefix = f"item.{entry['item']}"
    values = {f"{prefix}.{key}": _text(entry.get(key)) for key in ITEM_FIELDS}
    values[f"{prefix}.unit"] = offered_unit(entry.get("unit", ""), units_for(spec.unit))
    values.update(_parameter_values(f"{prefix}.", entry.get("parameters") or {}, spec.parameters))
    values.update(_quality_values(prefix, entry))
    values.update(_supplier_values(prefix, entry.get("supplier")))
    return values


def _supplier_values(prefix: str, supplier: dict | None) -> dict[str, str]:
    """The supplier-data inputs of an item that named a source: its kind and the input of that kind's reference
    (a new version keeps the supplier the earlier one chose)."""
    if not supplier:
        return {}
    kind = supplier.get("kind", "")
    values = {f"{prefix}.supplier.kind": kind}
    if kind == "release":
        values[f"{prefix}.supplier.release"] = supplier.get("reference") or ""
        values[f"{prefix}.supplier.entry"] = supplier.get("entry") or ""
    elif kind in supplier_data.KINDS:
        values[f"{prefix}.supplier.{kind}"] = supplier.get("reference") or ""
    return values


def _parameter_values(prefix: str, given: dict, specs: list[ParameterSpec]) -> dict[str, str]:
    """The inputs of the parameters given (of an item, prefix 'item.clinker.', or of the product system, ''): a
    choice's code in its select, a number's amount and the unit it was stated in (65.2 stays 65.2 %)."""
    by_id = {spec.id: spec for spec in specs}
    values = {}
    for name, value in given.items():
        if "choice" in value:
            values[f"{prefix}param.{name}.choice"] = value["choice"]
            continue
        unit, spec = value.get("unit", ""), by_id.get(name)
        values[f"{prefix}param.{name}.amount"] = _text(value.get("amount"))
        values[f"{prefix}param.{name}.unit"] = offered_unit(unit, units_for(spec.unit)) if spec else unit
    return values


def _quality_values(prefix: str, entry: dict) -> dict[str, str]:
    """The data-quality inputs of an item or a captive unit, one per indicator it was rated on."""
    return {f"{prefix}.dq.{indicator}": _text(score) for indicator, score in (entry.get("data_quality") or {}).items()}


def _measured_values(entry: dict) -> dict[str, str]:
    """The inputs of one gas's measured emission, with a ticked box for each item its source covers."""
    prefix = f"measured.{entry['gas']}"
    values = {f"{prefix}.{key}": _text(entry.get(key)) for key in MEASURED_FIELDS}
    values[f"{prefix}.unit"] = offered_unit(entry.get("unit", ""), units_for("kg"))
    values.update({f"{prefix}.covers.{item_id}": "1" for item_id in entry.get("covers") or []})
    return values


def _captive_values(captive: dict, fuel_units: list[str]) -> dict[str, str]:
    """The captive-power inputs: the electricity the plant's own units supplied, then one row per unit."""
    values = {"captive.supplied_mwh": _text(captive.get("supplied_mwh"))}
    for index, unit in enumerate(captive.get("units", [])):
        values.update({f"cap.{index}.{key}": _text(unit.get(key)) for key in CAPTIVE_FIELDS})
        values[f"cap.{index}.fuel_unit"] = offered_unit(unit.get("fuel_unit", ""), fuel_units)
        values.update(_quality_values(f"cap.{index}", unit))
    return values


def _row_values(prefix: str, entries: list[dict], fields: tuple[str, ...]) -> dict[str, str]:
    """The inputs of repeatable rows (certificates, co-products), one numbered row per entry."""
    return {f"{prefix}.{index}.{key}": _text(entry.get(key)) for index, entry in enumerate(entries) for key in fields}


def _rows(values: dict, prefix: str) -> int:
    """The number of repeatable rows a submitted form had (row indexes are 0..n-1; gaps are allowed)."""
    found = [int(m.group(1)) for k in values if (m := re.match(rf"^{prefix}\.(\d+)\.", k))]
    return min(max(found) + 1, MAX_ROWS) if found else 0


# An error of the inventory (its `loc`) is shown at an input of the form: the field of a captive unit or of a list
# entry in that entry's row, a general field or a whole section at the input named here.
CAPTIVE_UNIT_LOC = re.compile(r"^captive_power\.units\[(\d+)\](?:\.(\w+))?")
LIST_ENTRY_LOC = re.compile(r"^(items|green_certificates|measured_emissions|co_products)\[(\d+)\](?:\.(.+))?$")
PRODUCT_PARAMETER_LOC = re.compile(r"^parameters\.([^.]+)(?:\.(\w+))?$")
CHOICE_INPUT = re.compile(r"^(?:item\.(?P<item>[^.]+)\.)?param\.(?P<parameter>[^.]+)\.choice$")
GENERAL_INPUTS = {
    "parameters": "parameters",
    "captive_power": "captive_power",
    "captive_power.supplied_mwh": "captive.supplied_mwh",
    "reference_period": "reference_period.end",
    "reference_period.start": "reference_period.start",
    "reference_period.end": "reference_period.end",
    "production": "production.amount",
    "production.amount": "production.amount",
    "production.unit": "production.unit",
    "main_product_value_cny": "main_product_value_cny",
    "green_certificates": "green_certificates",
    "measured_emissions": "measured_emissions",
    "co_products": "co_products",
}
FIRST_FIELDS = {"green_certificates": "serial", "measured_emissions": "amount", "co_products": "name"}


class FormReading:
    """A submitted form read into inventory data, remembering the input behind every list entry."""

    def __init__(self, values: dict[str, str], pcr: PCR):
        self.values, self.pcr = values, pcr
        self.where: dict[str, list[str]] = {
            "items": [],
            "green_certificates": [],
            "measured_emissions": [],
            "co_products": [],
            "captive_power": [],
        }
        self.errors: dict[str, list[str]] = {}

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def error(self, name: str, reason: str) -> None:
        self.errors.setdefault(name, []).append(reason)

    def data(self, product: Product, facility: Facility | None, manufacturer: str) -> dict:
        data: dict = {
            "pcr": {"id": self.pcr.id, "version": self.pcr.version},
            "product": {
                k: v for k, v in {"name": product.name, "model": product.model, "gtin": product.gtin}.items() if v
            },
            "manufacturer": manufacturer,
            # without a facility (already named as an error) a stand-in lets the PCR's checks of the rest run
            "facility": (
                {
                    k: v
                    for k, v in {
                        "name": facility.name,
                        "province": facility.province,
                        "grid_region": facility.grid_region,
                    }.items()
                    if v
                }
                if facility
                else {"name": "?", "province": "?"}
            ),
            "reference_period": {
                "start": self.get("reference_period.start") or None,
                "end": self.get("reference_period.end") or None,
            },
            "production": {"amount": self.get("production.amount") or None, "unit": self.get("production.unit")},
            "export_context": self.get("export_context") or "footprint",
            "parameters": self._parameters("", self.pcr.parameters),
            "items": self._items(),
            "green_certificates": self._rows_of("gec", "green_certificates", CERTIFICATE_FIELDS, ("instrument",)),
            "measured_emissions": self._measured(),
            "co_products": self._rows_of("co", "co_products", CO_PRODUCT_FIELDS, ("unit",)),
        }
        units = self._rows_of("cap", "captive_power", CAPTIVE_FIELDS, ("fuel_unit", "data_source"))
        for unit, prefix in zip(units, self.where["captive_power"], strict=False):
            quality = self._quality(prefix)
            if quality:
                unit["data_quality"] = quality
        if units or self.get("captive.supplied_mwh"):
            data["captive_power"] = {"units": units, "supplied_mwh": self.get("captive.supplied_mwh") or None}
        if self.get("main_product_value_cny"):
            data["main_product_value_cny"] = self.get("main_product_value_cny")
        return data

    def _quality(self, prefix: str) -> dict[str, str]:
        """The data-quality scores given for the item or unit `prefix`, by indicator."""
        return {i: self.get(f"{prefix}.dq.{i}") for i in DQ_INDICATORS if self.get(f"{prefix}.dq.{i}")}

    def _items(self) -> list[dict]:
        entries = []
        for spec in self.pcr.items:
            prefix = f"item.{spec.id}"
            amount = self.get(f"{prefix}.amount")
            parameters = self._parameters(f"{prefix}.", spec.parameters)
            quality = self._quality(prefix)
            supplier = self._supplier(prefix) if spec.kind is ItemKind.INPUT else None
            details = [self.get(f"{prefix}.{k}") for k in ("relative_sd", "supplier_pcf_kg_co2e_per_unit", "note")]
            if not amount:
                if parameters or quality or supplier or any(details):
                    self.error(f"{prefix}.amount", "missing_amount")
                continue
            entry = {"item": spec.id, "amount": amount, "unit": self.get(f"{prefix}.unit") or spec.unit}
            for key in ("data_source", "relative_sd", "supplier_pcf_kg_co2e_per_unit", "note"):
                if self.get(f"{prefix}.{key}"):
                    entry[key] = self.get(f"{prefix}.{key}")
            if parameters:
                entry["parameters"] = parameters
            if quality:
                entry["data_quality"] = quality
            if supplier:
                entry["supplier"] = supplier
            entries.append(entry)
            self.where["items"].append(prefix)
        return entries

    def _supplier(self, prefix: str) -> dict | None:
        """The item's supplier source as the inventory states it (pcr_rules.inventory.SupplierRef), or None for the
        screening value. The reference is the chosen kind's input; an empty one is refused by the schema there."""
        kind = self.get(f"{prefix}.supplier.kind")
        if not kind:
            return None
        if kind == "release":
            release, entry = self.get(f"{prefix}.supplier.release"), self.get(f"{prefix}.supplier.entry")
            return {"kind": kind, "reference": release, "entry": entry or None}
        reference = self.get(f"{prefix}.supplier.{kind}") if kind in supplier_data.KINDS else ""
        return {"kind": kind, "reference": reference}

    def _parameters(self, prefix: str, specs: list[ParameterSpec]) -> dict[str, dict]:
        """The parameters given (of an item, prefix 'item.clinker.', or of the product system, ''): a choice as
        {"choice": code}, a number as its amount and unit (the PCR's unless another is chosen). An empty input
        gives none: the PCR's default applies."""
        given = {}
        for spec in specs:
            q = f"{prefix}param.{spec.id}"
            if spec.is_choice and self.get(f"{q}.choice"):
                given[spec.id] = {"choice": self.get(f"{q}.choice")}
            elif not spec.is_choice and self.get(f"{q}.amount"):
                given[spec.id] = {"amount": self.get(f"{q}.amount"), "unit": self.get(f"{q}.unit") or spec.unit}
        return given

    def problem(self, t, problem: FieldError, where: dict[str, list[str]] | None = None) -> None:
        """A problem of the inventory at its input, in the reader's language (by its code)."""
        name = self.input_of(problem.loc, problem.message, where)
        self.error(name, self._reason(t, name, problem))

    def _reason(self, t, name: str, problem: FieldError) -> str:
        """A code that is not one of a choice's (a form sent from an older page, or crafted) is named with the
        parameter and its codes by their names; every other problem by its code's message."""
        found = CHOICE_INPUT.match(name) if problem.loc.endswith(".choice") else None
        owner = self.pcr.item(found["item"]) if found and found["item"] else self.pcr
        spec = owner.parameter(found["parameter"]) if found and owner is not None else None
        if spec is None:
            return messages.render(problem, t.lang)
        codes = " / ".join(f"{c.value} {_name(c, t.lang)}" for c in spec.choices)
        return t("inv.err.choice", value=self.get(name), parameter=_name(spec, t.lang), choices=codes)

    def _rows_of(self, prefix: str, collection: str, fields: tuple[str, ...], defaults: tuple[str, ...]) -> list:
        entries = []
        for index in range(_rows(self.values, prefix)):
            row = {key: self.get(f"{prefix}.{index}.{key}") for key in fields}
            if not any(v for k, v in row.items() if k not in defaults):
                continue
            entries.append({k: v for k, v in row.items() if v})
            self.where[collection].append(f"{prefix}.{index}")
        return entries

    def _measured(self) -> list[dict]:
        entries = []
        for gas in self.pcr.measured_emissions.allowed_gases:
            prefix = f"measured.{gas}"
            if not self.get(f"{prefix}.amount"):
                continue
            entry = {"gas": gas, **{k: self.get(f"{prefix}.{k}") for k in MEASURED_FIELDS if self.get(f"{prefix}.{k}")}}
            covers = [s.id for s in self.pcr.items if self.get(f"{prefix}.covers.{s.id}")]
            if covers:
                entry["covers"] = covers
            entries.append(entry)
            self.where["measured_emissions"].append(prefix)
        return entries

    # where an error of the inventory (a `loc` such as `items[2].parameters.cao_fraction.unit`) is shown
    def input_of(self, loc: str, message: str = "", where: dict[str, list[str]] | None = None) -> str:
        where = where or self.where
        loc = loc.removeprefix("inventory.")
        if captive := CAPTIVE_UNIT_LOC.match(loc):
            return self._captive_unit_input(loc, captive, where["captive_power"])
        if entry := LIST_ENTRY_LOC.match(loc):
            return self._list_entry_input(entry, where)
        if parameter := PRODUCT_PARAMETER_LOC.match(loc):
            return self._product_parameter_input(parameter)
        if loc == "items":
            return self._named_item_input(message)
        if loc.startswith("facility"):
            return "facility_id"
        return GENERAL_INPUTS.get(loc, "")

    @staticmethod
    def _captive_unit_input(loc: str, found: re.Match, units: list[str]) -> str:
        """A captive unit's field in the unit's row (a score by its indicator); the section if the row is not there."""
        index, field = int(found.group(1)), found.group(2) or "name"
        if index >= len(units):
            return "captive_power"
        if field == "data_quality":
            indicator = loc.rsplit(".", 1)[-1]
            return f"{units[index]}.dq.{indicator if indicator in DQ_INDICATORS else DQ_INDICATORS[0]}"
        return f"{units[index]}.{field if field in CAPTIVE_FIELDS else 'name'}"

    def _list_entry_input(self, found: re.Match, where: dict[str, list[str]]) -> str:
        """A list entry's field in the entry's row; the section if the entry is not there (it was set aside)."""
        collection, index, rest = found.group(1), int(found.group(2)), found.group(3) or ""
        if index >= len(where[collection]):
            return collection
        prefix = where[collection][index]
        if collection == "items" and rest.split(".")[0] == "supplier":
            return f"{prefix}.{self._supplier_input(prefix, rest)}"
        if collection == "items":
            return f"{prefix}.{self._item_field(rest, self.pcr.item(prefix.removeprefix('item.')))}"
        return f"{prefix}.{self._row_field(collection, rest)}"

    def _supplier_input(self, prefix: str, rest: str) -> str:
        """An error of an item's supplier source (`supplier.reference`, `supplier.entry`) at the input of the kind
        chosen: the label number, the PACT footprint, the release or its entry; else at the choice of kind."""
        kind, field = self.get(f"{prefix}.supplier.kind"), rest.partition(".")[2]
        if kind == "release":
            return "supplier.entry" if field == "entry" else "supplier.release"
        if kind in supplier_data.KINDS and field in ("reference", "entry"):
            return f"supplier.{kind}"
        return "supplier.kind"

    def _product_parameter_input(self, found: re.Match) -> str:
        """A product-system parameter's select or amount (its unit); the section for one the PCR does not have."""
        spec = self.pcr.parameter(found.group(1))
        return _parameter_input(spec, found.group(2)) if spec else "parameters"

    def _named_item_input(self, message: str) -> str:
        """An error of the list of items (a required item missing) is shown at the amount of the item it names."""
        named = next((s.id for s in self.pcr.items if f"'{s.id}'" in message), None)
        return f"item.{named}.amount" if named else "items"

    @staticmethod
    def _row_field(collection: str, rest: str) -> str:
        """A certificate's, measured emission's or co-product's field; an error of the whole row goes to its first
        input, and one of a measured gas to its amount (the form names the gas, it has no input for it)."""
        field = rest.split(".")[0] if rest else FIRST_FIELDS[collection]
        return "amount" if field == "gas" else field

    @staticmethod
    def _item_field(rest: str, spec: ItemSpec | None = None) -> str:
        if not rest or rest == "item":
            return "amount"
        parts = rest.split(".")
        if parts[0] == "parameters" and len(parts) > 1:
            return FormReading._parameter_field(parts, spec)
        if parts[0] == "data_quality":
            return f"dq.{parts[1] if len(parts) > 1 else DQ_INDICATORS[0]}"
        return parts[0] if parts[0] in ITEM_FIELDS else "amount"

    @staticmethod
    def _parameter_field(parts: list[str], spec: ItemSpec | None) -> str:
        """The input of an error of an item's parameter (`parameters.purity.unit`): by the PCR's parameter when the
        item declares it, else its amount (or the field the error names)."""
        parameter = spec.parameter(parts[1]) if spec else None
        field = parts[2] if len(parts) > 2 else None
        return _parameter_input(parameter, field) if parameter else f"param.{parts[1]}.{field or 'amount'}"


def _parameter_input(spec: ParameterSpec, field: str | None) -> str:
    """A parameter's input (after its item's prefix): a choice's select, else the amount (or the unit, for an error
    of the unit)."""
    if spec.is_choice:
        return f"param.{spec.id}.choice"
    return f"param.{spec.id}.{field if field in ('amount', 'unit') else 'amount'}"


def _check(reading: FormReading, data: dict, t) -> Inventory | None:
    """The inventory, or None with every error recorded on the reading. Errors of the schema (a number that is
    not one) come first; the entries they concern are then set aside, so that the PCR's checks of the rest are
    reported in the same round instead of after the next submission."""
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        failing = _schema_errors(reading, exc, data, t)
    if failing is None:
        return None
    kept, where = _set_aside(data, reading.where, failing)
    set_aside = {data["items"][i]["item"] for i in failing.get("items", set())}
    try:
        rest = Inventory.model_validate({**data, **kept})
    except ValidationError:
        return None  # nothing left to check (no item without an error)
    for problem in problems(rest, reading.pcr):
        if not _shown_already(problem, set_aside, failing):
            reading.problem(t, problem, where)
    return None


def _schema_errors(reading: FormReading, exc: ValidationError, data: dict, t) -> dict[str, set[int]] | None:
    """Records every error of the schema at its input (a parameter's against the shape the form gave it). Returns
    the list entries they concern, by list, or None when one concerns the inventory as a whole: then nothing can be
    set aside and the PCR's checks wait."""
    failing: dict[str, set[int]] = {}
    whole = False
    for error in excel.schema_errors(exc, data):
        reading.error(reading.input_of(excel.field_path(error["loc"]), error["msg"]), _reason(t, error))
        parts = error["loc"]
        if len(parts) >= 2 and parts[0] in reading.where and isinstance(parts[1], int):
            failing.setdefault(parts[0], set()).add(parts[1])
        else:
            whole = True
    return None if whole else failing


def _set_aside(
    data: dict, where: dict[str, list[str]], failing: dict[str, set[int]]
) -> tuple[dict[str, list], dict[str, list[str]]]:
    """The lists without their failing entries, and the inputs of the entries left, so that a PCR problem of the
    rest (`items[1]`) is still shown at its own row."""
    kept = {
        key: [e for i, e in enumerate(data[key]) if i not in failing.get(key, set())]
        for key in where
        if key != "captive_power"
    }  # the units' errors are not set aside: they stop the round (`whole`)
    left = {key: [p for i, p in enumerate(where[key]) if i not in failing.get(key, set())] for key in where}
    return kept, left


def _shown_already(problem: FieldError, set_aside: set[str], failing: dict[str, set[int]]) -> bool:
    """A PCR problem of an entry set aside: the entry is there, with an error of its own."""
    if problem.loc == "items" and any(f"'{item}'" in problem.message for item in set_aside):
        return True
    return problem.loc == "green_certificates" and bool(failing.get("green_certificates"))


def _form_page(
    request: Request,
    user,
    db: Session,
    product: Product,
    pcr: PCR,
    values: dict[str, str],
    errors: dict[str, list[str]],
    co_rows: int = 0,
    gec_rows: int = 0,
    source=None,
    status_code=200,
    checked: dict | None = None,
):
    t = i18n.catalogue(i18n.negotiate(request))
    facilities = catalogue.list_owned(db, Facility, user.principal)
    shown = {
        name: [t("inv.err.missing_amount") if m == "missing_amount" else m for m in found]
        for name, found in errors.items()
    }
    summary = [
        {"name": name, "reason": reason, "id": SECTION_IDS.get(name) or (field_id(name) if name else "general-h")}
        for name, found in shown.items()
        for reason in found
    ]
    shown.setdefault("", [])
    gec_rows, co_rows = max(gec_rows, 1), max(co_rows, 1)
    cap_rows = max(_rows(values, "cap"), 1) if pcr.electricity.captive_fuels else 0
    return page(
        request,
        "inventory/form.html",
        user,
        status_code,
        product=product,
        facilities=facilities,
        values=values,
        errors=shown,
        summary=summary,
        source=source,
        gec_rows=gec_rows,
        co_rows=co_rows,
        cap_rows=cap_rows,
        labels=_labels(t, pcr, gec_rows, co_rows, cap_rows),
        supplier_choices=supplier_data.form_choices(db, user.principal),
        checked=checked or {},
        sd_number=number,
        **form_context(t, pcr),
    )


def form_context(t, pcr: PCR) -> dict:
    """What the inventory form template needs of a PCR in the reader's language, whoever shows the form (the
    manufacturer's form, a standards body's preview of the form its draft generates)."""
    return {
        "field_id": field_id,
        "section_ids": SECTION_IDS,
        "unit_label": lambda unit: unit_text(t, unit),
        "unit_choices": lambda units, current=None: _unit_options(t, units, current),
        "pcr_title": pcr_title(pcr, t.lang),
        "when": when,
        **places(t.lang),
        **_form_layout(pcr, t.lang),
    }


def _unit_options(t, units: list[str], current: str | None = None) -> list[tuple[str, str]]:
    """A unit select's options by their names in the reader's language; a unit the inventory was stated in that
    none of them means is offered too, so that a new version keeps it instead of the first option taking its
    place."""
    offered = list(units) + ([current] if current and current not in units else [])
    return [(u, unit_text(t, u)) for u in offered]


def _latest(db: Session, user, product_id: uuid.UUID) -> InventoryRecord | None:
    records = inventories.list_inventories(db, user.principal, product_id)
    return records[-1] if records else None


@router.get("/app/inventories/new")
def new_inventory_page(
    request: Request,
    user: ManufacturerPage,
    db: SessionDep,
    product: uuid.UUID | None = None,
    source: uuid.UUID | None = None,
):
    if product is None:  # which product? then the form of its PCR
        return page(
            request,
            "inventory/choose.html",
            user,
            products=catalogue.list_owned(db, Product, user.principal),
            field_id=field_id,
        )
    record = catalogue.owned(db, Product, product, user.principal)
    original = (
        catalogue.owned(db, InventoryRecord, source, user.principal)
        if source is not None
        else _latest(db, user, record.id)
    )
    if original is not None and original.product_id != record.id:
        original = None
    pcr = default_registry().get(record.pcr_id)
    values, co_rows, gec_rows = _prefill(original.data, pcr) if original else ({}, 0, 0)
    if original and original.facility_id:
        values["facility_id"] = str(original.facility_id)
    return _form_page(request, user, db, record, pcr, values, {}, co_rows, gec_rows, original)


def _sent(user, db: Session, fields: dict) -> tuple[dict[str, str], Product, PCR]:
    """The form's values as sent (the item check buttons left out), its product (the organisation's) and the PCR
    version it was generated from."""
    values = {
        k: v
        for k, v in _flat(fields).items()
        if (NAME.match(k.lower()) or k.startswith("item.")) and not k.startswith(CHECK)
    }
    try:
        product_id = uuid.UUID(values.get("product_id", ""))
    except ValueError:
        reason = "not a product id"
        raise Unprocessable(
            "choose a product", [{"field": "product_id", "reason": reason, "code": "inv.err.product"}]
        ) from None
    product = catalogue.owned(db, Product, product_id, user.principal)
    return values, product, default_registry().get(product.pcr_id, values.get("pcr_version") or None)


def _submit_form(request: Request, user, db: Session, fields: dict):
    """The form sent: stored as a new version (then its page), or shown again with every problem at its input."""
    t = i18n.catalogue(i18n.negotiate(request))
    values, product, pcr = _sent(user, db, fields)
    reading = FormReading(values, pcr)
    facility = _chosen_facility(reading, db, user, t)
    inventory = _check(reading, reading.data(product, facility, user.organisation.name), t)
    if inventory is not None and not reading.errors:
        record = _stored(reading, db, user, product, inventory, facility, t)
        if record is not None:
            return RedirectResponse(f"/app/inventories/{record.id}", status_code=303)
    rows = (_rows(values, "co"), _rows(values, "gec"))
    return _form_page(request, user, db, product, pcr, values, reading.errors, *rows, status_code=422)


def label_checked_form(request: Request, user, db: Session, fields: dict):
    """The "check" of an item's label number (its button `supplier_check.<item>` sends the form to the supply
    pages, web.routes.supply): the form shown again as it was sent, nothing stored, with what the label's public
    page says beside the number, or why there is no such label."""
    t = i18n.catalogue(i18n.negotiate(request))
    item_id = next((k[len(CHECK) :] for k in fields if k.startswith(CHECK)), "")
    values, product, pcr = _sent(user, db, fields)
    spec = pcr.item(item_id)
    rows = (_rows(values, "co"), _rows(values, "gec"))
    if spec is None or spec.kind is not ItemKind.INPUT:
        return _form_page(request, user, db, product, pcr, values, {}, *rows)
    name = f"item.{spec.id}.supplier.label"
    values[f"item.{spec.id}.supplier.kind"] = "label"
    number = values.get(name, "")
    if not number:
        return _form_page(
            request, user, db, product, pcr, values, {name: [t("inv.err.missing")]}, *rows, status_code=422
        )
    try:
        found = supplier_data.public_label(db, number, spec.unit)
    except Unprocessable as exc:
        errors = {name: [messages.render(error, t.lang) for error in exc.errors]}
        return _form_page(request, user, db, product, pcr, values, errors, *rows, status_code=422)
    return _form_page(request, user, db, product, pcr, values, {}, *rows, checked={spec.id: found})


def _chosen_facility(reading: FormReading, db: Session, user, t) -> Facility | None:
    """The facility the form names (one of the organisation's), or None with the error at its select."""
    try:
        return catalogue.owned(db, Facility, uuid.UUID(reading.get("facility_id")), user.principal)
    except ValueError:
        reading.error("facility_id", t("inv.err.facility"))
        return None


def _stored(reading: FormReading, db: Session, user, product: Product, inventory: Inventory, facility, t):
    """The inventory submitted through the service; None with the service's refusals at their inputs, in the
    reader's language."""
    try:
        return inventories.submit_inventory(db, user.principal, product.id, inventory, facility.id, source="form")
    except InventoryInvalid as exc:
        for problem in exc.errors:
            reading.problem(t, problem)
    except (Unprocessable, Conflict) as exc:
        db.rollback()
        for error in exc.errors or [{"field": "", "reason": exc.detail, "code": exc.code, "params": exc.params}]:
            field, reason = str(error.get("field", "")), str(error.get("reason", ""))
            reading.error(reading.input_of(field, reason), messages.render(error, t.lang))
    return None


@router.post("/app/inventories")
async def submit_inventory(request: Request, user: ManufacturerPage, db: SessionDep):
    fields = await web_session.form(request, user)
    return await run_in_threadpool(_submit_form, request, user, db, fields)


# --- one inventory, and its calculation ----------------------------------------------------------------------------


def _in_pcr_unit(entry: dict, pcr: PCR) -> float | None:
    spec = pcr.item(entry["item"])
    if spec is None:
        return None
    try:
        return item_amount_in_pcr_unit(InventoryItem.model_validate(entry), spec)
    except (UnitProblem, ValidationError):
        return None


@router.get("/app/inventories/{inventory_id}/workbook")
def inventory_workbook(inventory_id: uuid.UUID, user: ManufacturerPage, db: SessionDep) -> Response:
    """The workbook this version was uploaded as, byte for byte (404 for a version entered otherwise)."""
    record = catalogue.owned(db, InventoryRecord, inventory_id, user.principal)
    data = excel.source_workbook(record)
    return attachment(data, XLSX, excel.source_download_name(record), record.source_file_name)


@router.get("/app/inventories/{inventory_id}")
def inventory_page(request: Request, inventory_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    record = catalogue.owned(db, InventoryRecord, inventory_id, user.principal)
    try:
        pcr = default_registry().get(record.pcr_id, record.pcr_version)
    except PCRNotFound:
        pcr = None
    lang = i18n.negotiate(request)
    t = i18n.catalogue(lang)
    return page(
        request,
        "inventory/detail.html",
        user,
        record=record,
        data=record.data,
        product=db.get(Product, record.product_id),
        facility=db.get(Facility, record.facility_id) if record.facility_id else None,
        pcr=pcr,
        pcr_title=pcr_title(pcr, lang) if pcr else record.pcr_id,
        items=[_item_row(entry, pcr, lang) for entry in record.data.get("items", [])],
        parameters=dashboard.product_parameters(record.data, pcr),
        dq_indicators=DQ_INDICATORS,
        max_iterations=CalculationIn.model_fields["monte_carlo_iterations"].metadata[-1].le,
        number=number,
        when=when,
        unit_label=lambda unit: unit_text(t, unit),
        **places(lang),
    )


def _item_row(entry: dict, pcr: PCR | None, lang: str) -> dict:
    """An item of a stored inventory as its page shows it: its name in the reader's language, what it stated, its
    amount in the PCR's unit and its data-quality rating."""
    spec = pcr.item(entry["item"]) if pcr else None
    quality = entry.get("data_quality")
    return {
        **entry,
        "label": _name(spec, lang) if spec else entry["item"],
        "stated_parameters": dashboard.stated_parameters(
            entry.get("parameters") or {}, spec.parameters if spec else []
        ),
        "pcr_unit": spec.unit if spec else None,
        "in_pcr_unit": _in_pcr_unit(entry, pcr) if pcr else None,
        "dqr": sum(quality.values()) / len(quality) if quality else None,
    }


@router.post("/app/inventories/{inventory_id}/calculate")
async def calculate(request: Request, inventory_id: uuid.UUID, user: ManufacturerPage, db: SessionDep):
    fields = await web_session.form(request, user)
    iterations = _one(fields.get("monte_carlo_iterations", "")) or "0"
    try:
        body = CalculationIn(monte_carlo_iterations=iterations)
    except ValidationError as exc:
        raise Unprocessable(
            "the number of Monte Carlo iterations is out of range",
            [{"field": "monte_carlo_iterations", "reason": e["msg"]} for e in exc.errors()],
        ) from None
    job = await run_in_threadpool(
        footprints.request_calculation, db, user.principal, inventory_id, body.monte_carlo_iterations, body.seed
    )
    await run_in_threadpool(jobs.dispatch, str(job.id))  # a slow broker holds a thread, not the event loop
    return RedirectResponse(f"/app/jobs/{job.id}", status_code=303)
