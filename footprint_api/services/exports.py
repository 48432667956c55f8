"""Exports of a stored footprint for others: the EU CBAM communication, the PDF report."""

import uuid
from functools import lru_cache

from sqlmodel import Session, col, select

from footprint_api.core.errors import Unprocessable
from footprint_api.core.messages import catalogue
from footprint_api.core.settings import get_settings
from footprint_api.exports import cbam, report
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Application, InventoryRecord, Label, Organisation, Product, User
from footprint_api.services.footprints import visible_footprint
from footprint_api.services.supplier_data import SourceRow, footprint_sources, reason_text
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
        footprint.result,
        facts,
        find_font(get_settings().label_font),
        verification(session, footprint.id, label),
        supply_rows(session, principal, footprint),
    )


def supply_rows(session: Session, principal: Principal, footprint) -> list[dict[str, str]]:
    """The supplier data of each purchased input as the report prints it (exports.report.SUPPLY_COLUMNS), each word
    in both languages: the source behind it, or the screening value or the buyer's typed figure standing in."""
    sources = footprint_sources(session, principal, footprint)
    words = _Bilingual()
    return [
        _sourced_row(row, words) if row.source else _unsourced_row(row, sources.factor_set, words)
        for row in sources.rows
    ]


class _Bilingual:
    """A message in Chinese, then (where it differs) in English, on the next line of the cell."""

    def __init__(self):
        self.zh, self.en = catalogue("zh"), catalogue("en")

    def __call__(self, key: str, **values) -> str:
        return self.both(self.zh(key, **values), self.en(key, **values))

    def reason(self, code: str, params: dict) -> str:
        return self.both(reason_text(self.zh, code, params), reason_text(self.en, code, params))

    @staticmethod
    def both(zh_text: str, en_text: str) -> str:
        return zh_text if zh_text == en_text else f"{zh_text}\n{en_text}"


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:,.6g}"


def _sourced_row(row: SourceRow, words: _Bilingual) -> dict[str, str]:
    """A purchased input on a label, PACT footprint or release entry: its value as declared and as converted."""
    s = row.source
    verified = words("sd.verified") + (f"\n{s['assurance']}" if s.get("assurance") else "")
    share = s.get("primary_data_share")
    return {
        "item": f"{row.label_zh or row.label} / {row.item}",
        "source": f"{words('sd.kind.' + row.kind)}\n{s['reference']}\n{s['supplier_name']}",
        "value": f"{_figure(s['value_per_declared_unit'])} kg CO2e/{s['declared_unit']}\n"
        f"= {_figure(s['value_per_item_unit'])} kg CO2e/{s['item_unit']}",
        "contribution": _figure(row.kg_co2e),
        "validity": f"{s.get('valid_from') or ''} – {s.get('valid_until') or ''}",
        "verified": verified if row.verified else words("sd.unverified"),
        "primary": "–" if share is None else f"{share:.0%}",
        "state": words.reason(s["affected_reason"], s["affected_params"])
        if row.affected
        else words("sd.state.in_force"),
    }


def _unsourced_row(row: SourceRow, factor_set: str, words: _Bilingual) -> dict[str, str]:
    """A purchased input on the factor set's screening value, or on a figure the buyer typed (unverified)."""
    declared = row.kind == "declared"
    return {
        "item": f"{row.label_zh or row.label} / {row.item}",
        "source": words("sd.declared") if declared else words("sd.screening", factor_set=factor_set),
        "value": f"{_figure(row.declared_value)} kg CO2e/{row.unit}" if declared else "–",
        "contribution": _figure(row.kg_co2e),
        "validity": "–",
        "verified": words("sd.unverified"),
        "primary": "–",
        "state": words("sd.unverified") if declared else words("sd.state.secondary"),
    }


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
