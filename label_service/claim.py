"""The claim a label makes, as signed: what the label shows, nothing the manufacturer keeps confidential."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from label_service.render import LabelView

CLAIM_VERSION = 1
SIGNIFICANT_DIGITS = 4  # the label shows the footprint in digits; 4 significant digits, as the README's table


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


def significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> str:
    """11172.97 -> '11170', 0.972812 -> '0.9728', 784.83 -> '784.8': a decimal string, never a float."""
    if value == 0:
        return "0"
    exact = Decimal(repr(value))
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - digits + 1), rounding=ROUND_HALF_UP)
    return format(rounded.normalize(), "f") if rounded.adjusted() >= digits - 1 else format(rounded, "f")


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


def grouped(value: str) -> str:
    whole, _, fraction = value.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-')):,}"
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


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
