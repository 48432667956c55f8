"""Exports of a stored footprint for others: the EU CBAM communication, the PDF report."""

import uuid
from functools import lru_cache

from sqlmodel import Session, col, select

from footprint_api.core.errors import Unprocessable
from footprint_api.core.settings import get_settings
from footprint_api.exports import cbam, report
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Application, InventoryRecord, Label, Organisation, Product, User
from footprint_api.services.footprints import visible_footprint
from label_service.render import find_font
from lca_models.factor_set import FactorSet, load_factor_set
from pcr_rules.units import convert


@lru_cache(maxsize=4)
def _factor_set(factor_set_id: str) -> FactorSet:
    return load_factor_set(factor_set_id)


def cbam_line(session: Session, principal: Principal, footprint_id: uuid.UUID) -> cbam.CbamLine:
    footprint = visible_footprint(session, principal, footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    result = footprint.result
    factor = _factor_set(result["factor_set"]["id"]).grid_co2_factor(cbam.grid_factor_scope(), result["reference_year"])
    production = record.data["production"]
    product = session.get(Product, record.product_id)
    try:
        amount = convert(production["amount"], production["unit"], cbam.good(record.pcr_id)["unit"])
        return cbam.embedded_emissions(
            result,
            record.pcr_id,
            factor,
            record.data["facility"]["name"],
            amount,
            f"{product.name} ({product.model})" if product.model else product.name,
        )
    except cbam.NotACbamGood as exc:
        entry = {"field": "footprint_id", "reason": "not a CBAM good", "code": exc.code, "params": exc.params}
        raise Unprocessable(str(exc), [entry], code=exc.code, params=exc.params) from None


def report_pdf(session: Session, principal: Principal, footprint_id: uuid.UUID) -> bytes:
    footprint = visible_footprint(session, principal, footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    product = session.get(Product, record.product_id)
    label = session.exec(select(Label).where(Label.footprint_id == footprint.id)).first()
    facts = {
        "product": f"{product.name} ({product.model})" if product.model else product.name,
        "manufacturer": session.get(Organisation, footprint.organisation_id).name,
        "facility": f"{record.data['facility']['name']}, {record.data['facility']['province']}",
        "pcr": f"{record.pcr_id} {record.pcr_version}",
        "footprint_id": str(footprint.id),
        "created": footprint.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "label": f"{label.number} ({label.state}, valid to {label.expires_on})" if label else "",
    }
    return report.render_report(
        footprint.result, facts, find_font(get_settings().label_font), verification(session, footprint.id, label)
    )


def verification(session: Session, footprint_id: uuid.UUID, label: Label | None) -> dict[str, str] | None:
    """The certification body's statement on this footprint, once an application for it was approved."""
    application = session.exec(
        select(Application)
        .where(Application.footprint_id == footprint_id, col(Application.statement).is_not(None))
        .order_by(col(Application.verified_at).desc())
    ).first()
    if application is None:
        return None
    verifier = session.get(User, application.verified_by) if application.verified_by else None
    return {
        "body": session.get(Organisation, application.certification_body_id).name,
        "verifier": verifier.name if verifier else "",
        "statement": application.statement,
        "date": application.verified_at.strftime("%Y-%m-%d") if application.verified_at else "",
        "label": label.number if label and label.application_id == application.id else "",
    }
