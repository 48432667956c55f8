"""The claim a label makes, as signed: what the label shows, nothing the manufacturer keeps confidential."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from label_service.render import LabelView, grouped  # one rule: render.declared_value
from label_service.render import declared_value as significant

CLAIM_VERSION = 1


@dataclass(frozen=True)
class LabelFacts:
    number: str
    product: str
    model: str | None
    gtin: str | None
    manufacturer: str
    total_kg_co2e: float
    declared_unit: str
    pcr_id: str
    pcr_version: str
    standard: str
    issuer_name: str
    issuer_id: str
    issued: date
    expires: date
    factor_set: str
    kind: str = "footprint"  # footprint | low_carbon | carbon_neutral (the three label kinds)


def build_claim(facts: LabelFacts) -> dict[str, Any]:
    return {
        "v": CLAIM_VERSION,
        "number": facts.number,
        "kind": facts.kind,
        "product": {"name": facts.product, "model": facts.model, "gtin": facts.gtin},
        "manufacturer": facts.manufacturer,
        "footprint": {
            "value": significant(facts.total_kg_co2e),
            "unit": "kg CO2e",
            "declared_unit": facts.declared_unit,
        },
        "pcr": {"id": facts.pcr_id, "version": facts.pcr_version},
        "standard": facts.standard,
        "issuer": {"name": facts.issuer_name, "id": facts.issuer_id},
        "issued": facts.issued.isoformat(),
        "expires": facts.expires.isoformat(),
        "factor_set": facts.factor_set,
    }


def label_view(claim: dict[str, Any], qr_content: str) -> LabelView:
    product = claim["product"]
    name = f"{product['name']} ({product['model']})" if product.get("model") else product["name"]
    return LabelView(
        number=claim["number"],
        product=name,
        manufacturer=claim["manufacturer"],
        value=grouped(claim["footprint"]["value"]),
        unit=claim["footprint"]["unit"],
        declared_unit=claim["footprint"]["declared_unit"],
        pcr=f"{claim['pcr']['id']} {claim['pcr']['version']}",
        standard=claim["standard"],
        issuer=claim["issuer"]["name"],
        issued=date.fromisoformat(claim["issued"]),
        expires=date.fromisoformat(claim["expires"]),
        qr_content=qr_content,
    )
