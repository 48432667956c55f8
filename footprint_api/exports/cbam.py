"""EU CBAM embedded emissions of a footprint, for the exporter's communication to its EU importer.

A CBAM figure is not a cradle-to-gate footprint: it counts the installation's direct emissions (fuel combustion
and process emissions of the production process, precursors made on site included) per tonne or MWh, plus
indirect emissions (electricity consumed x the grid's emission factor, never certificates) where the good
counts them, plus the embedded emissions of purchased precursors; upstream supply chains of fuels and non-CBAM
materials, transport and mobile machinery are outside. `cbam.yaml` holds, per PCR, the good and these boundaries.
"""

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from footprint_api.exports import cells
from footprint_api.exports.cells import Value
from lca_models.factor_set import FactorChoice

DATA = Path(__file__).with_name("cbam.yaml")
DIRECT_PARTS = ("combustion", "process", "measured", "default")  # measured: CEMS; default: e.g. Tier 1 PFC
CAPTIVE = "captive_power"  # the installation's own generating units (lca_models.foreground)


class NotACbamGood(ValueError):
    """The PCR's product is not a good of Annex I of Regulation (EU) 2023/956. The text is the English wording;
    `code` and `params` name the message (`cbam.not_a_good`) for a page in its reader's language."""

    code = "cbam.not_a_good"

    def __init__(self, pcr_id: str):
        super().__init__(f"{pcr_id} does not make a good listed in Annex I of Regulation (EU) 2023/956")
        self.params = {"pcr": pcr_id}


@lru_cache(maxsize=1)
def _data() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def grid_factor_scope() -> str:
    return _data()["grid_factor"]["scope"]


@dataclass(frozen=True)
class CbamLine:
    """The communication template's figures for one good of one installation and period."""

    good_category: str
    cn_code: str
    cn_description: str
    production_route: str
    unit: str
    reporting_period_start: str
    reporting_period_end: str
    installation: str
    country: str
    production_amount: float
    specific_direct_t_co2e: float
    electricity_mwh_per_unit: float
    grid_factor_t_co2_per_mwh: float
    grid_factor_source: str
    specific_indirect_t_co2e: float
    indirect_counted: bool
    precursor_t_co2e: float
    precursor_note: str
    specific_embedded_t_co2e: float
    excluded_from_direct: str
    captive_mwh_per_unit: float = 0.0
    captive_factor_t_co2_per_mwh: float | None = None
    determination: str = "actual data of the installation (PCF service inventory)"
    product: str = ""  # the manufacturer's name of the product, as registered


def good(pcr_id: str) -> dict[str, Any]:
    goods = _data()["goods"]
    if pcr_id not in goods:
        raise NotACbamGood(pcr_id)
    return goods[pcr_id]


def refusal(pcr_id: str) -> NotACbamGood | None:
    """Why a footprint under this PCR has no CBAM export, or None when it has one."""
    try:
        good(pcr_id)
    except NotACbamGood as exc:
        return exc
    return None


def embedded_emissions(
    result: dict[str, Any],
    pcr_id: str,
    grid_factor: FactorChoice,
    installation: str,
    production_amount: float,
    product: str = "",
) -> CbamLine:
    spec = good(pcr_id)
    per_unit = 1000.0 if spec["unit"] == "MWh" else 1.0  # declared units are 1 t or 1 kWh; CBAM: per t or MWh
    onsite = set(spec.get("onsite_supply", []))
    # Electricity made by the installation's own units is indirect, like grid power (Regulation (EU) 2023/956
    # Art. 3(34): emissions from the production of electricity consumed, wherever it is produced), at the units'
    # actual emission factor: their stack emissions (CO2e of combustion, or measured) per net MWh.
    direct_kg = sum(
        c["kg_co2e"]
        for c in result["contributions"]
        if c["item"] not in spec["excluded_direct"]
        and c["item"] != CAPTIVE
        and (c["part"] in DIRECT_PARTS or (c["item"] in onsite and c["part"] == "supply"))
    )
    precursor_kg = sum(c["kg_co2e"] for c in result["contributions"] if c["item"] in spec["precursors"])
    electricity = result["electricity"]
    electricity_mwh = electricity["consumed_kwh_per_declared_unit"] * per_unit / 1000
    captive_mwh = electricity.get("captive_kwh_per_declared_unit", 0.0) * per_unit / 1000
    captive_t = (
        sum(c["kg_co2e"] for c in result["contributions"] if c["item"] == CAPTIVE and c["part"] in DIRECT_PARTS)
        * per_unit
        / 1000
    )
    indirect_t = (
        0.0 if spec["unit"] == "MWh" else ((electricity_mwh - captive_mwh) * grid_factor.kg_co2e_per_kwh + captive_t)
    )
    direct_t = direct_kg * per_unit / 1000
    precursor_t = precursor_kg * per_unit / 1000
    embedded = direct_t + precursor_t + (indirect_t if spec["indirect_counted"] else 0.0)
    return CbamLine(
        good_category=spec["category"],
        cn_code=spec["cn_code"],
        cn_description=spec["description"],
        production_route=spec["route"],
        unit=spec["unit"],
        reporting_period_start=result["reference_period"][0],
        reporting_period_end=result["reference_period"][1],
        installation=installation,
        country="CN",
        production_amount=production_amount,
        specific_direct_t_co2e=direct_t,
        electricity_mwh_per_unit=electricity_mwh,
        grid_factor_t_co2_per_mwh=grid_factor.kg_co2e_per_kwh,
        grid_factor_source=f"{grid_factor.source} ({grid_factor.year})",
        specific_indirect_t_co2e=indirect_t,
        indirect_counted=spec["indirect_counted"],
        precursor_t_co2e=precursor_t,
        precursor_note="; ".join(f"{k}: {v}" for k, v in spec["precursors"].items())
        + (" — value here: the cradle-to-gate screening footprint, an upper bound" if spec["precursors"] else ""),
        specific_embedded_t_co2e=embedded,
        excluded_from_direct="; ".join(f"{k}: {v}" for k, v in spec["excluded_direct"].items()),
        product=product,
        captive_mwh_per_unit=captive_mwh,
        captive_factor_t_co2_per_mwh=captive_t / captive_mwh if captive_mwh else None,
    )


FIELDS = [
    ("good_category", "Aggregated goods category"),
    ("cn_code", "CN code"),
    ("cn_description", "Good"),
    ("production_route", "Production route"),
    ("product", "Product"),
    ("installation", "Installation"),
    ("country", "Country"),
    ("reporting_period_start", "Reporting period start"),
    ("reporting_period_end", "Reporting period end"),
    ("production_amount", "Production in the period"),
    ("unit", "Unit"),
    ("specific_direct_t_co2e", "Specific direct embedded emissions (t CO2e per unit)"),
    ("electricity_mwh_per_unit", "Electricity consumption (MWh per unit)"),
    ("grid_factor_t_co2_per_mwh", "Emission factor of electricity (t CO2 / MWh)"),
    ("grid_factor_source", "Source of the electricity emission factor"),
    ("captive_mwh_per_unit", "of which produced by the installation's own units (MWh per unit)"),
    ("captive_factor_t_co2_per_mwh", "Emission factor of the installation's own electricity (t CO2e / MWh)"),
    ("specific_indirect_t_co2e", "Specific indirect embedded emissions (t CO2e per unit)"),
    ("indirect_counted", "Indirect emissions counted for this good"),
    ("precursor_t_co2e", "Embedded emissions of purchased precursors (t CO2e per unit)"),
    ("precursor_note", "Precursors"),
    ("specific_embedded_t_co2e", "Specific embedded emissions counted (t CO2e per unit)"),
    ("excluded_from_direct", "Excluded from direct emissions"),
    ("determination", "Determination"),
]


def _rows(line: CbamLine, number) -> list[tuple[str, Value]]:
    values = asdict(line)
    return [(title, _value(values[name], number)) for name, title in FIELDS]


def to_csv(line: CbamLine) -> bytes:
    """One header row of the field titles, one row of values. Names the user gave (installation, product) go
    through the shared export cells (exports.cells, OWASP CSV injection rules), so `=HYPERLINK(...)` stays text;
    UTF-8 with a byte order mark, by which Excel reads a Chinese installation name as such."""
    rows = _rows(line, _rounded)
    return cells.csv_bytes([title for title, _ in rows], [[value for _, value in rows]], bom=True)


def to_xlsx(line: CbamLine) -> bytes:
    """Field and value, one field a row; text as string cells (never a formula), figures as numbers."""
    return cells.xlsx_bytes(("Field", "Value"), _rows(line, float), sheet="CBAM embedded emissions", widths=(58, 70))


def _value(value: Any, number) -> Value:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value)
    return value


def _rounded(value: float) -> float:
    """Six significant figures: the template's precision, and a number still (written as one, never quoted)."""
    return float(f"{value:.6g}")
