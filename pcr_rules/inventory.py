"""The inventory a manufacturer submits: activity data of one product for one reference period."""

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidatorFunctionWrapHandler, WrapValidator, field_validator
from pydantic_core import PydanticCustomError, PydanticKnownError

from pcr_rules.certificates import SerialRange, serial_range
from pcr_rules.units import MAX_UNIT_LENGTH

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{3,63}$")
# Bounds of amounts, in their own units. A production is at least MIN_PRODUCTION (a gram of a product counted in
# tonnes): a normal positive number, so that amounts per unit of product stay finite (a production of 1e-308 t once
# passed every check, its per-unit figures infinite, and failed the calculation). No amount of activity data exceeds
# MAX_AMOUNT (a billion tonnes counted in grams), for the same reason.
MIN_PRODUCTION = 1e-6
MAX_AMOUNT = 1e15
Unit = Annotated[str, Field(min_length=1, max_length=MAX_UNIT_LENGTH)]


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
    amount: float = Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    unit: Unit


class Production(Quantity):
    """The output of the reference product in the reference period: at least 1e-6 of its unit (MIN_PRODUCTION)."""

    amount: float = Field(le=MAX_AMOUNT)

    @field_validator("amount")
    @classmethod
    def _at_least_the_minimum(cls, value: float) -> float:
        """A positive amount below the minimum is refused here, as `greater_than_equal` (the forms word it); zero or
        less is left to the PCR check, which says that a production must be greater than zero."""
        if 0 < value < MIN_PRODUCTION:
            raise PydanticKnownError("greater_than_equal", {"ge": MIN_PRODUCTION})
        return value


class ChoiceValue(_Strict):
    """The value of a choice parameter, one of the codes the PCR lists (e.g. the pot-cell technology `VSS`)."""

    choice: str = Field(min_length=1, max_length=100)


def _one_shape(value: Any, handler: ValidatorFunctionWrapHandler) -> "Quantity | ChoiceValue":
    """A parameter's value is checked against the shape it was given in (`choice` names a choice, anything else is
    an amount and its unit), so that a wrong amount is reported once, not also as a choice that is missing."""
    if isinstance(value, dict):
        return (ChoiceValue if "choice" in value else Quantity).model_validate(value)
    if isinstance(value, Quantity | ChoiceValue):
        return handler(value)
    raise PydanticCustomError(
        "parameter_value", "a parameter is an amount with its unit or a choice: {{'amount', 'unit'}} or {{'choice'}}"
    )


# A parameter is a number with its unit, or the code of a choice.
ParameterValue = Annotated[Quantity | ChoiceValue, WrapValidator(_one_shape)]


class DataQuality(_Strict):
    """Data-quality indicators, 1 (best) to 5 (worst), as in the PEF data-quality rating (DQR)."""

    technological: int = Field(ge=1, le=5)
    geographical: int = Field(ge=1, le=5)
    temporal: int = Field(ge=1, le=5)
    precision: int = Field(ge=1, le=5)

    @property
    def dqr(self) -> float:
        return (self.technological + self.geographical + self.temporal + self.precision) / 4


class SupplierRef(_Strict):
    """Where a purchased input's upstream footprint comes from, in place of the background activity: a carbon label
    of this service (`label`: its number), a supplier's PACT ProductFootprint the buyer received (`pact`: its id), or
    an entry of a factor-database release (`release`: the release number, and `entry`: the entry's key). The service
    resolves the reference to a value per unit of the item when the inventory is submitted (SupplyLink); the
    calculation reads that value, never a number typed by the buyer."""

    kind: Literal["label", "pact", "release"]
    reference: str = Field(min_length=1, max_length=200, description="label number, PACT id, or release number")
    entry: str | None = Field(default=None, min_length=1, max_length=300, description="release entry key")


class InventoryItem(_Strict):
    item: str = Field(min_length=1, description="PCR item id")
    amount: float = Field(ge=0, le=MAX_AMOUNT)
    unit: Unit
    parameters: dict[str, ParameterValue] = Field(default_factory=dict)
    data_source: Literal["primary", "secondary"] = "primary"
    data_quality: DataQuality | None = None
    relative_sd: float | None = Field(default=None, ge=0, le=2, description="activity-data uncertainty")
    supplier_pcf_kg_co2e_per_unit: float | None = Field(
        default=None, ge=0, description="supplier-specific cradle-to-gate footprint per PCR item unit"
    )
    # a verified supplier source (label, PACT footprint, factor-database entry): resolved by the service
    supplier: SupplierRef | None = None
    note: str | None = None


class GreenCertificate(_Strict):
    """A batch of green electricity certificates (GEC, 绿证; 1 GEC = 1 MWh) or a green-power contract's certificates,
    drawn on for this inventory.

    The batch is the serial range ``serial`` .. ``serial_last``; without ``serial_last`` it is the ``amount_mwh``
    certificates from ``serial`` on. ``amount_mwh`` is what this inventory draws from the batch: all of it, or a
    part when several products of one facility share the batch (the service keeps their sum within the batch).
    """

    serial: str = Field(description="first serial of the batch")
    serial_last: str | None = Field(default=None, description="last serial of the batch (inclusive)")
    amount_mwh: int = Field(gt=0, description="MWh drawn from the batch for this inventory")
    technology: str
    generation_month: str = Field(description="YYYY-MM")
    province: str = Field(min_length=1)
    plant: str | None = None
    instrument: Literal["gec", "green_power_contract"] = "gec"

    @field_validator("serial", "serial_last")
    @classmethod
    def _serial(cls, value: str | None) -> str | None:
        if value is not None and not _SERIAL.match(value):
            raise PydanticCustomError("serial_format", "serial must be 4-64 letters, digits or . _ / -")
        return value

    @field_validator("generation_month")
    @classmethod
    def _month(cls, value: str) -> str:
        if not _MONTH.match(value):
            raise PydanticCustomError("month_format", "generation_month must be YYYY-MM")
        return value

    @property
    def batch(self) -> SerialRange:
        """The batch's serial range; raises SerialProblem for serials that cannot form one (validation reports it
        on the field before anything else asks)."""
        return serial_range(self.serial, self.serial_last, self.amount_mwh)

    @property
    def amount_kwh(self) -> float:
        return self.amount_mwh * 1000.0


class MeasuredEmission(_Strict):
    """Directly measured emissions of one gas at one monitored emission source (e.g. the kiln stack's CEMS).

    The measurement replaces the calculated direct emissions of that gas of the items it `covers` (e.g. clinker
    calcination and the kiln fuels); every other item stays calculated. Without `covers` it replaces the calculated
    direct emissions of that gas of every item (PCRs may refuse this).
    """

    gas: Literal["co2", "ch4", "n2o"]
    amount: float = Field(ge=0, le=MAX_AMOUNT)
    unit: Unit
    method: str = "CEMS"
    source: str | None = Field(
        default=None, max_length=200, description="the monitored emission source, e.g. kiln stack"
    )
    covers: list[str] = Field(default_factory=list, max_length=50, description="PCR item ids the monitor sees")
    relative_sd: float | None = Field(default=None, ge=0, le=1)


class CaptiveUnit(_Strict):
    """One of the plant's own generating units (自备电厂机组) in the reference period."""

    name: str = Field(min_length=1, max_length=200)
    fuel: str = Field(min_length=1, description="fuel key of the factor set, as the PCR lists")
    # Bounds far beyond any generating unit (the largest Chinese units generate ~8 TWh a year), so that no amount
    # overflows a calculation; the physical checks (heat rate, carbon content, CO2 per MWh) are in validation.
    fuel_amount: float = Field(ge=0, le=1e12)
    fuel_unit: Unit
    ncv_gj_per_unit: float | None = Field(default=None, gt=0, le=1e3, description="measured net calorific value")
    carbon_content_tc_per_tj: float | None = Field(
        default=None, gt=0, le=1e3, description="measured carbon per unit heat"
    )
    oxidation: float | None = Field(default=None, gt=0, le=1, description="measured oxidation rate")
    gross_generation_mwh: float = Field(gt=0, le=1e9)
    auxiliary_mwh: float = Field(ge=0, le=1e9, description="the unit's own consumption (厂用电)")
    net_generation_mwh: float = Field(gt=0, le=1e9, description="gross generation less auxiliary consumption")
    measured_co2_t: float | None = Field(
        default=None, ge=0, le=1e10, description="the unit's stack CO2 by CEMS, if measured"
    )
    data_source: Literal["primary", "secondary"] = "primary"
    data_quality: DataQuality | None = None


class CaptivePower(_Strict):
    """The plant's own generation and how much of it this product's process consumed.

    The electricity items give the whole consumption; of it `supplied_mwh` came from these units (their footprint
    per net MWh), the rest from the grid (location- or market-based, certificates applying to the grid part only).
    """

    units: list[CaptiveUnit] = Field(min_length=1, max_length=50)
    supplied_mwh: float = Field(ge=0, le=1e9, description="captive electricity consumed by this product's process")


class CoProduct(_Strict):
    name: str = Field(min_length=1)
    amount: float = Field(gt=0, le=MAX_AMOUNT)
    unit: Unit
    economic_value_cny: float | None = Field(default=None, ge=0)


class Inventory(_Strict):
    pcr: PCRRef
    product: Product
    manufacturer: str | None = None
    facility: Facility
    reference_period: Period
    production: Production = Field(
        description=f"output of the reference product in the reference period (at least {MIN_PRODUCTION:g} of its unit)"
    )
    main_product_value_cny: float | None = Field(default=None, ge=0)
    # values of the PCR's product-system parameters (e.g. the pot-cell technology), by parameter id
    parameters: dict[str, ParameterValue] = Field(default_factory=dict, max_length=50)
    items: list[InventoryItem] = Field(min_length=1)
    co_products: list[CoProduct] = Field(default_factory=list)
    green_certificates: list[GreenCertificate] = Field(default_factory=list)
    measured_emissions: list[MeasuredEmission] = Field(default_factory=list)
    captive_power: CaptivePower | None = None
    export_context: Literal["footprint", "cbam"] = "footprint"
