"""Which footprints a PACT data recipient may read, as ProductFootprints, with the v3 filters."""

import uuid
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from footprint_api.core.errors import Conflict, NotFound
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    ApiClient,
    Footprint,
    InventoryRecord,
    Label,
    Organisation,
    PactShare,
    Product,
    Role,
)
from footprint_api.services import audit
from footprint_api.services.catalogue import owned
from footprint_api.services.pact.mapping import Certification, PactSource, product_footprint
from footprint_api.services.principals import actor
from label_service import gs1
from label_service.workflow import LabelState
from pcr_rules import default_registry

FILTERS = ("productId", "companyId", "geography", "classification", "validOn", "validAfter", "validBefore", "status")
CERTIFIED_STATES = (
    LabelState.ACTIVE.value,
    LabelState.SUSPENDED.value,
    LabelState.EXPIRED.value,
    LabelState.SUPERSEDED.value,
)


def share(session: Session, principal: Principal, footprint_id: uuid.UUID, client_id: str) -> PactShare:
    """The manufacturer grants one of its PACT recipients a footprint that is not (yet) certified."""
    footprint = owned(session, Footprint, footprint_id, principal)
    client = session.exec(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    if (
        client is None
        or client.organisation_id != principal.organisation_id
        or client.role is not (Role.PACT_RECIPIENT)
    ):
        raise NotFound("no such PACT recipient of your organisation")
    granted = PactShare(footprint_id=footprint.id, client_id=client.id, shared_by=principal.subject)
    session.add(granted)
    audit.record(
        session,
        actor(principal),
        "footprint.pact_shared",
        "footprint",
        footprint.id,
        after={"client_id": client.client_id},
    )
    try:
        audit.commit(session)
    except IntegrityError:  # the unique (footprint, client) pair
        session.rollback()
        raise Conflict("already shared with this recipient") from None
    return granted


def visible_product_footprints(session: Session, principal: Principal) -> list[dict]:
    """Every ProductFootprint the recipient may read: its manufacturer's certified footprints and those shared
    with it. Older exposed footprints of a product are Deprecated and listed as precedingPfIds of the newest."""
    certified = select(Label.footprint_id).where(
        Label.organisation_id == principal.organisation_id, col(Label.state).in_(CERTIFIED_STATES)
    )
    shared = select(PactShare.footprint_id).where(PactShare.client_id == principal.subject)
    rows = session.exec(
        select(Footprint, InventoryRecord, Product, Organisation)
        .join(InventoryRecord, col(InventoryRecord.id) == col(Footprint.inventory_id))
        .join(Product, col(Product.id) == col(InventoryRecord.product_id))
        .join(Organisation, col(Organisation.id) == col(Footprint.organisation_id))
        .where(
            Footprint.organisation_id == principal.organisation_id,
            or_(col(Footprint.id).in_(certified), col(Footprint.id).in_(shared)),
        )
        .order_by(Footprint.created_at)
    ).all()
    labels = {
        label.footprint_id: label
        for label in session.exec(
            select(Label).where(
                Label.organisation_id == principal.organisation_id, col(Label.state).in_(CERTIFIED_STATES)
            )
        )
    }
    bodies = {
        body.id: body.name
        for body in session.exec(
            select(Organisation).where(col(Organisation.id).in_({label.issuer_id for label in labels.values()}))
        )
    }
    by_product: dict[uuid.UUID, list] = defaultdict(list)
    for row in rows:
        by_product[row[2].id].append(row)
    footprints = []
    for versions in by_product.values():
        for index, (footprint, record, product, company) in enumerate(versions):
            label = labels.get(footprint.id)
            footprints.append(
                product_footprint(
                    PactSource(
                        footprint_id=str(footprint.id),
                        created=footprint.created_at,
                        deprecated=index < len(versions) - 1,
                        preceding_ids=[str(v[0].id) for v in versions[:index]],
                        company_name=company.name,
                        company_urn=f"urn:uuid:{company.id}",
                        product_urns=product_urns(product),
                        product_name=product.name,
                        pcr=default_registry().get(record.pcr_id, record.pcr_version),
                        province=record.data["facility"]["province"],
                        result=footprint.result,
                        certification=Certification(
                            bodies[label.issuer_id], label.number, label.issued_on, label.expires_on
                        )
                        if label
                        else None,
                    )
                )
            )
    return footprints


def product_urns(product: Product) -> list[str]:
    urns = [f"urn:uuid:{product.id}"]
    if product.gtin:
        urns.insert(0, f"urn:gtin:{product.gtin}")
    return urns


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def validity_period(footprint: dict) -> tuple[datetime, datetime]:
    """PACT v3 'validity period': as declared, else from the reference period's end for 3 years."""
    start = _instant(footprint.get("validityPeriodStart") or footprint["pcf"]["referencePeriodEnd"])
    if footprint.get("validityPeriodEnd"):
        return start, _instant(footprint["validityPeriodEnd"])
    return start, start.replace(year=start.year + 3)


def _product_key(product_id: str) -> str:
    """A product id compared case-insensitively, a GTIN URN in its GTIN-14 form (GS1 General Specifications
    §3.3.2): `urn:gtin:6901234567892` and `urn:gtin:06901234567892` name the same product."""
    folded = product_id.casefold()
    if folded.startswith("urn:gtin:") and gs1.is_gtin(folded[9:]):
        return f"urn:gtin:{gs1.gtin14(folded[9:])}"
    return folded


def matches(footprint: dict, filters: dict[str, list[str]]) -> bool:
    """PACT v3 ListFootprints filtering: values of one criterion OR, criteria AND; text matches ignore case."""
    pcf = footprint["pcf"]
    geography = {
        pcf.get("geographyCountrySubdivision"),
        pcf.get("geographyCountry"),
        pcf.get("geographyRegionOrSubregion"),
    } - {None}
    if pcf.get("geographyCountrySubdivision"):
        geography.add(pcf["geographyCountrySubdivision"].split("-")[0])  # CN-GZ lies in CN
    start, end = validity_period(footprint)

    def among(values: list[str]):
        folded = {value.casefold() for value in values}
        return lambda v: v.casefold() in folded

    products = {_product_key(value) for value in footprint["productIds"]}
    tests = {
        "productId": lambda v: _product_key(v) in products,
        "companyId": among(footprint["companyIds"]),
        "geography": among(list(geography)),
        "classification": among(footprint.get("productClassifications", [])),
        "status": among([footprint["status"]]),
        "validOn": lambda v: start <= _instant(v) <= end,
        "validAfter": lambda v: start > _instant(v),
        "validBefore": lambda v: end < _instant(v),
    }
    return all(any(tests[name](value) for value in values) for name, values in filters.items() if values)
