"""The result of a footprint calculation: everything a verifier needs to reproduce and review it."""

from pydantic import BaseModel, Field


class Ref(BaseModel):
    id: str
    version: str


class DeclaredUnitOut(BaseModel):
    amount: float
    unit: str
    description: str


class GasResult(BaseModel):
    mass_kg: float
    kg_co2e: float


class Contribution(BaseModel):
    item: str
    part: str
    stage: str
    kg_co2e: float
    share: float
    gases: dict[str, float] = Field(
        default_factory=dict,
        description="kg of each gas per declared unit, by the gas names of `per_gas`: a direct emission is its own "
        "flow, a background input the gases of its whole supply chain; summed over the contributions, "
        "each equals `per_gas[gas].mass_kg`",
    )


class ProcessContribution(BaseModel):
    activity: str
    name: str
    kg_co2e: float
    share: float


class FactorUsed(BaseModel):
    activity: str
    year: int
    kg_co2e_per_kwh: float
    source: str
    note: str = ""
    level: str = "national"  # national | region | province
    area: str = ""


class CertificateResult(BaseModel):
    serial: str
    technology: str
    generation_month: str
    covered_kwh_per_declared_unit: float
    factor: FactorUsed


class ElectricityResult(BaseModel):
    consumed_kwh_per_declared_unit: float
    covered_kwh_per_declared_unit: float
    location_based_kg_co2e: float
    market_based_kg_co2e: float
    reported_method: str
    location_factor: FactorUsed
    residual_factor: FactorUsed
    certificates: list[CertificateResult]
    certificates_applied: bool
    location_rule: str = ""
    grid_kwh_per_declared_unit: float = 0.0
    captive_kwh_per_declared_unit: float = 0.0
    captive_kg_co2e: float = 0.0
    captive_kg_co2e_per_kwh: float | None = None
    note: str = ""


class DataQualityResult(BaseModel):
    dqr: float = Field(description="footprint-weighted data-quality rating, 1 best .. 5 worst")
    level: str
    meets_pcr: bool
    primary_data_share: float = Field(description="share of the footprint from primary (site-specific) data")


class UncertaintyResult(BaseModel):
    iterations: int
    seed: int
    mean_kg_co2e: float
    median_kg_co2e: float
    p2_5_kg_co2e: float
    p97_5_kg_co2e: float
    relative_sd: float


class FootprintResult(BaseModel):
    product: str
    declared_unit: DeclaredUnitOut
    pcr: Ref
    factor_set: Ref
    reference_period: tuple[str, str]
    reference_year: int
    production_declared_units: float
    allocation: dict[str, float | str]
    total_kg_co2e: float
    fossil_kg_co2e: float
    biogenic_kg_co2e: float
    land_use_kg_co2e: float
    biogenic_co2_emission_kg: float
    biogenic_co2_removal_kg: float
    location_based_kg_co2e: float
    market_based_kg_co2e: float
    per_gas: dict[str, GasResult]
    stages: dict[str, float]
    contributions: list[Contribution]
    top_processes: list[ProcessContribution]
    electricity: ElectricityResult
    direct_emissions_basis: dict[str, str]
    direct_emissions_by_item: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="item -> gas -> calculated | measured (method, source)"
    )
    data_quality: DataQualityResult
    indicators: dict[str, float]
    data_gaps: list[str]
    uncertainty: UncertaintyResult | None = None
    method: dict[str, list[str]]
    engine: dict[str, str]
