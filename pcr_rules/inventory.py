"""The inventory a manufacturer submits: activity data of one product for one reference period."""

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{3,63}$")


class _Strict(BaseModel):
    # unknown fields are mistakes; NaN and infinity are never activity data
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class PCRRef(_Strict):
    id: str = Field(min_length=1)
    version: str = Field(min_length=1)


class Product(_Strict):
    name: str = Field(min_length=1)
    model: str | None = None
    gtin: str | None = Field(default=None, pattern=r"^\d{8}$|^\d{12,14}$")


class Facility(_Strict):
    name: str = Field(min_length=1)
    province: str = Field(min_length=1)
    grid_region: str | None = None  # North, Northeast, East, Central, Northwest, South, Southwest


class Period(_Strict):
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class Quantity(_Strict):
    amount: float
    unit: str = Field(min_length=1)


class DataQuality(_Strict):
    """Data-quality indicators, 1 (best) to 5 (worst), as in the PEF data-quality rating (DQR)."""

    technological: int = Field(ge=1, le=5)
    geographical: int = Field(ge=1, le=5)
    temporal: int = Field(ge=1, le=5)
    precision: int = Field(ge=1, le=5)

    @property
    def dqr(self) -> float:
        return (self.technological + self.geographical + self.temporal + self.precision) / 4


class InventoryItem(_Strict):
    item: str = Field(min_length=1, description="PCR item id")
    amount: float = Field(ge=0)
    unit: str = Field(min_length=1)
    parameters: dict[str, Quantity] = Field(default_factory=dict)
    data_source: Literal["primary", "secondary"] = "primary"
    data_quality: DataQuality | None = None
    relative_sd: float | None = Field(default=None, ge=0, le=2, description="activity-data uncertainty")
    supplier_pcf_kg_co2e_per_unit: float | None = Field(
        default=None, ge=0, description="supplier-specific cradle-to-gate footprint per PCR item unit"
    )
    note: str | None = None


class GreenCertificate(_Strict):
    """A green electricity certificate (GEC, 绿证) or a batch of them under one serial; 1 GEC = 1 MWh."""

    serial: str
    amount_mwh: int = Field(gt=0)
    technology: str
    generation_month: str = Field(description="YYYY-MM")
    province: str = Field(min_length=1)
    plant: str | None = None
    instrument: Literal["gec", "green_power_contract"] = "gec"

    @field_validator("serial")
    @classmethod
    def _serial(cls, value: str) -> str:
        if not _SERIAL.match(value):
            raise ValueError("serial must be 4-64 letters, digits or . _ / -")
        return value

    @field_validator("generation_month")
    @classmethod
    def _month(cls, value: str) -> str:
        if not _MONTH.match(value):
            raise ValueError("generation_month must be YYYY-MM")
        return value

    @property
    def amount_kwh(self) -> float:
        return self.amount_mwh * 1000.0


class MeasuredEmission(_Strict):
    """Directly measured emissions (e.g. CEMS) that replace the calculated direct emissions of that gas."""

    gas: Literal["co2", "ch4", "n2o"]
    amount: float = Field(ge=0)
    unit: str = Field(min_length=1)
    method: str = "CEMS"
    relative_sd: float | None = Field(default=None, ge=0, le=1)


class CoProduct(_Strict):
    name: str = Field(min_length=1)
    amount: float = Field(gt=0)
    unit: str
    economic_value_cny: float | None = Field(default=None, ge=0)


class Inventory(_Strict):
    pcr: PCRRef
    product: Product
    manufacturer: str | None = None
    facility: Facility
    reference_period: Period
    production: Quantity = Field(description="output of the reference product in the reference period")
    main_product_value_cny: float | None = Field(default=None, ge=0)
    items: list[InventoryItem] = Field(min_length=1)
    co_products: list[CoProduct] = Field(default_factory=list)
    green_certificates: list[GreenCertificate] = Field(default_factory=list)
    measured_emissions: list[MeasuredEmission] = Field(default_factory=list)
    export_context: Literal["footprint", "cbam"] = "footprint"
