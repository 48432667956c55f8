"""Our footprints as PACT Technical Specifications v3 `ProductFootprint`s (spec 3.0.3, data model section).

What maps where, and why:
- declared unit: PACT knows "kilogram", "kilowatt hour"…: 1 t becomes 1000 kilogram (pint converts), and
  `productMassPerDeclaredUnit` is the mass in kg (0 for electricity, which has none);
- `fossilGhgEmissions` = the IPCC 2021 fossil sub-method; `landUseChangeGhgEmissions` = land use;
  `biogenicNonCO2Emissions` = the biogenic sub-method (biogenic CH4; biogenic CO2 has factor 0 in IPCC 2021);
- `pcfExcludingBiogenicUptake` = all emissions including biogenic CO2 emissions, i.e. our GWP100 total plus the
  biogenic CO2 emitted; `biogenicCO2Uptake` = minus the biogenic CO2 removed; `pcfIncludingBiogenicUptake` = the
  sum of the two (as in the spec's examples);
- geography: the facility's province as an ISO 3166-2:CN subdivision, else the country;
- reference period: PACT's end is exclusive, so the last day of our period + 1 day at 00:00 UTC;
- `verification` = our certification (body, date of issue), `validityPeriod` = the label's validity;
- `productOrSectorSpecificRules` = our PCR (operator "Other"), `crossSectoralStandards` = ISO 14067;
- `primaryDataShare` and `dqi` = the result's, each the mean of the items' weighted by their emissions, a purchased
  input taken from its supplier's footprint counting with the supplier's own primary data share and rating (PACT
  Methodology 4.2.2 and 4.2.3); `dqi` is left out for a result calculated before its three ratings were kept.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from footprint_api.core.china_time import CHINA_TIME
from pcr_rules.models import PCR
from pcr_rules.units import conversion_factor, parse_unit

SPEC_VERSION = "3.0.3"
DATA = Path(__file__).with_name("data.yaml")
UNITS = {
    "[mass]": ("kilogram", "kg"),
    "[mass] * [length] ** 2 / [time] ** 2": ("kilowatt hour", "kWh"),
    "[length] ** 3": ("cubic meter", "m**3"),
    "[length] ** 2": ("square meter", "m**2"),
}


@lru_cache(maxsize=1)
def _data() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Certification:
    body: str
    label_number: str
    issued: date
    expires: date


@dataclass(frozen=True)
class PactSource:
    """Everything one ProductFootprint is made of."""

    footprint_id: str
    created: datetime
    deprecated: bool
    preceding_ids: list[str]
    company_name: str
    company_urn: str
    product_urns: list[str]
    product_name: str
    pcr: PCR
    province: str
    result: dict[str, Any]  # FootprintResult as JSON
    certification: Certification | None


def decimal_text(value: float, places: int = 6) -> str:
    """A PACT Decimal (a string, no exponent): rounded to `places` decimals, trailing zeros dropped."""
    text = format(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places)), "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def _instant(day: date) -> str:
    """A reference period's day boundary, as PACT's examples write it: midnight UTC."""
    return datetime.combine(day, time(0), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _label_day_start(day: date) -> str:
    """The first instant of a label's day, in UTC: a label's days are Beijing calendar days (UTC+8), so a validity
    from 8 December starts at 7 December 16:00 UTC (and one to 7 December ends at 8 December 00:00 Beijing)."""
    return datetime.combine(day, time(0), tzinfo=CHINA_TIME).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def declared_unit(pcr: PCR) -> tuple[str, str, str]:
    """(PACT unit name, amount, product mass per declared unit in kg)."""
    unit = parse_unit(pcr.declared_unit.unit)
    dimensionality = str(unit.dimensionality)
    if dimensionality not in UNITS:
        raise ValueError(f"PCR declared unit {pcr.declared_unit.unit} has no PACT unit")
    name, base = UNITS[dimensionality]
    amount = pcr.declared_unit.amount * conversion_factor(pcr.declared_unit.unit, base)
    mass = amount if name == "kilogram" else 0.0
    return name, decimal_text(amount), decimal_text(mass)


def geography(province: str) -> dict[str, str]:
    code = _data()["province_subdivision_codes"]["codes"].get(province.strip())
    return {"geographyCountrySubdivision": code} if code else {"geographyCountry": "CN"}


DQI_FIELDS = {
    "technologicalDQR": "technological_dqr",
    "geographicalDQR": "geographical_dqr",
    "temporalDQR": "temporal_dqr",
}


def data_quality_indicators(quality: dict[str, Any]) -> dict[str, Any]:
    """PACT `dqi`: the footprint's emissions-weighted technological, geographical and temporal ratings (1 to 5),
    where the result carries them."""
    ratings = {name: quality.get(key) for name, key in DQI_FIELDS.items()}
    if any(value is None for value in ratings.values()):
        return {}
    return {"dqi": {name: decimal_text(value, 2) for name, value in ratings.items()}}


def product_footprint(source: PactSource) -> dict[str, Any]:
    result, pcr = source.result, source.pcr
    unit, amount, mass = declared_unit(pcr)
    start, end = (date.fromisoformat(day) for day in result["reference_period"])
    excluding = result["total_kg_co2e"] + result["biogenic_co2_emission_kg"]
    uptake = -result["biogenic_co2_removal_kg"]
    carbon = _data()["fossil_carbon_content"][pcr.id]["kg_c_per_declared_unit"]
    pcf: dict[str, Any] = {
        "declaredUnitOfMeasurement": unit,
        "declaredUnitAmount": amount,
        "productMassPerDeclaredUnit": mass,
        "referencePeriodStart": _instant(start),
        "referencePeriodEnd": _instant(end + timedelta(days=1)),
        **geography(source.province),
        "boundaryProcessesDescription": "; ".join(pcr.boundary.included),
        "pcfExcludingBiogenicUptake": decimal_text(excluding),
        "pcfIncludingBiogenicUptake": decimal_text(excluding + uptake),
        "fossilCarbonContent": decimal_text(carbon),
        "fossilGhgEmissions": decimal_text(max(result["fossil_kg_co2e"], 0.0)),
        "landUseChangeGhgEmissions": decimal_text(max(result["land_use_kg_co2e"], 0.0)),
        "biogenicNonCO2Emissions": decimal_text(max(result["biogenic_kg_co2e"], 0.0)),
        "biogenicCO2Uptake": decimal_text(min(uptake, 0.0)),
        "packagingEmissionsIncluded": False,
        "ipccCharacterizationFactors": ["AR6"],
        "crossSectoralStandards": ["ISO14067"],
        "productOrSectorSpecificRules": [
            {
                "operator": "Other",
                "otherOperatorName": "PCF service PCR registry",
                "ruleNames": [f"{pcr.id} {pcr.version}"],
            }
        ],
        "exemptedEmissionsPercent": "0",
        "exemptedEmissionsDescription": "Excluded by the PCR: " + "; ".join(pcr.boundary.excluded),
        "allocationRulesDescription": f"{pcr.allocation.method}: {pcr.allocation.justification}",
        "secondaryEmissionFactorSources": [
            {"name": "PCF service factor set", "version": result["factor_set"]["version"]}
        ],
        "primaryDataShare": decimal_text(result["data_quality"]["primary_data_share"] * 100, 1),
        **data_quality_indicators(result["data_quality"]),
    }
    footprint: dict[str, Any] = {
        "id": source.footprint_id,
        "specVersion": SPEC_VERSION,
        "created": source.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": "Deprecated" if source.deprecated else "Active",
        "companyName": source.company_name,
        "companyIds": [source.company_urn],
        "productDescription": pcr.declared_unit.description,
        "productIds": source.product_urns,
        "productClassifications": [f"urn:pact:productclassification:pcf-service-pcr:{pcr.id.lower()}"],
        "productNameCompany": source.product_name,
        "comment": f"Cradle-to-gate, {pcr.id} {pcr.version}, factor set {result['factor_set']['id']} "
        f"{result['factor_set']['version']}; market-based electricity with retired green certificates.",
        "pcf": pcf,
    }
    if source.preceding_ids:
        footprint["precedingPfIds"] = source.preceding_ids
    if source.certification:
        cert = source.certification
        footprint["validityPeriodStart"] = _label_day_start(cert.issued)
        footprint["validityPeriodEnd"] = _label_day_start(cert.expires + timedelta(days=1))
        pcf["verification"] = {
            "coverage": "product level",
            "providerName": cert.body,
            "completedAt": _instant(cert.issued),
            "standardName": "ISO 14067:2018",
            "comments": f"carbon label {cert.label_number}",
        }
    return footprint
