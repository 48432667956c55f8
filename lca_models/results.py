"""The result of a footprint calculation: everything a verifier needs to reproduce and review it.

What the calculation explains in words (why a factor was taken, what a data gap is) is an `Explanation`: a stable
code and its values, which a page or a report words in its reader's language (the service's message catalogue,
`code.result.<code>`), and the English wording the JSON API shows. Results stored before explanations carried codes
have the English text only; a reader of those falls back to it.
"""

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

ExplanationValue = str | int | float | list[str]  # a list: several codes (items), worded as one list

# The English wording of each code, filled with the explanation's values (str.format). The message catalogue of the
# service words the same codes in Chinese and English (locales/*/codes.yaml); a test holds the two English texts equal.
ENGLISH = {
    # the location-based factor the PCR asks for (the grid of the place of consumption), and for which place
    "rule.location_national": "{pcr} takes the national factor",
    "rule.location_area": "{pcr} takes the {level} factor where published (province, then grid region, then national) "
    "for {province}",
    "rule.location_area_grid": "{pcr} takes the {level} factor where published (province, then grid region, then "
    "national) for {province} ({grid_region} grid)",
    # how a factor was chosen or derived
    "factor.later_year_used": "no factor for {year} or earlier; the {used} factor is used",
    "factor.unknown_province": "province “{province}” is not a known provincial-level division",
    "factor.no_area_factor": "no {scope} factor for {area}",
    "factor.no_place": "the facility names no province or grid region",
    "factor.national_taken": "national factor taken",
    "factor.residual_derived": "derived: {lifecycle} x {residual} / {average} (life-cycle average {year} x CO2 "
    "residual/average ratio {co2_year})",
    "factor.area_derived": "{scope} factor derived: {lifecycle} x {area_co2} / {average} (life-cycle national average "
    "{year} x {area} CO2 {co2_year} / national CO2 {co2_year}; {area} CO2 factor check: {check})",
    "factor.area_co2_later_year": "no {scope} CO2 factor for {year} or earlier, the {used} one is used",
    # the electricity account
    "electricity.cbam_no_certificates": "green certificates not applied: CBAM export context",
    # data gaps, which the study report states
    "gap.fuel_supply": "supply chain of {fuel} ({item}) is not modelled: no cited upstream factor in factor set "
    "{factor_set}",
    "gap.default_method": "{item}: not given; {note}",
    "gap.default_method_settings": "{item}: not given; {note} [{settings}]",
    "gap.measured_everywhere": "measured {gas} ({label}) names no emission sources: it replaces the calculated {gas} "
    "of every item ({items}), including sources no stack monitor sees",
    # an item linked to an activity of an imported background database that this deployment cannot take
    "gap.background_unavailable": "{item}: background database {database} is not prepared in this deployment; the "
    "factor set's activity {fallback} ({factor_set}) is used in place of {activity}",
    "gap.background_activity_missing": "{item}: background database {database} {version} has no activity "
    "{activity}; the factor set's activity {fallback} ({factor_set}) is used",
    "gap.background_unit": "{item}: activity {activity} of {database} {version} is given per {unit}, which the "
    "item's unit {item_unit} does not convert to; the factor set's activity {fallback} is used",
    # Monte Carlo
    "uncertainty.background_not_sampled": "background database {database} {version} has no prepared samples: its "
    "activities enter the Monte Carlo at their nominal unit scores (no background uncertainty)",
}


class Explanation(BaseModel):
    """One thing the result says in words: `code` (a key of ENGLISH), its values, and the English `text`."""

    model_config = ConfigDict(frozen=True)
    code: str
    params: dict[str, ExplanationValue] = Field(default_factory=dict)
    text: str

    def __hash__(self) -> int:
        values = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in self.params.items()))
        return hash((self.code, values, self.text))


def explain(code: str, **params: ExplanationValue) -> Explanation:
    """The explanation of `code` with its values, worded in English (a list as 'a, b', or 'none')."""
    english = {k: (", ".join(v) or "none") if isinstance(v, list) else v for k, v in params.items()}
    return Explanation(code=code, params=params, text=ENGLISH[code].format(**english))


def worded(explanations: Sequence[Explanation]) -> str:
    """Several explanations as one English sentence, as results have always stored a factor's note."""
    return "; ".join(e.text for e in explanations)


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
    source: str | None = Field(
        default=None,
        description="part `supplier`: the supplier's value the row takes, e.g. label:<number>, pact:<id>, "
        "release:<number>/<entry>",
    )
    database: str | None = Field(
        default=None, description="an input taken from an imported background database: its name (else None)"
    )
    version: str | None = Field(default=None, description="the version of that database")


class ProcessContribution(BaseModel):
    """A process of the supply chain: a factor-set background process by its own emissions, the foreground's direct
    emissions, or an activity of an imported database as one aggregated row (its whole supply chain)."""

    activity: str
    name: str
    kg_co2e: float
    share: float
    database: str | None = Field(default=None, description="imported database of an aggregated activity")
    version: str | None = Field(default=None, description="its version")


class BackgroundUsed(BaseModel):
    """A prepared background database version a footprint took activities from."""

    name: str
    version: str
    digest: str


class FactorUsed(BaseModel):
    activity: str
    year: int
    kg_co2e_per_kwh: float
    source: str
    note: str = ""
    notes: list[Explanation] = Field(default_factory=list, description="`note` by code and values, one per clause")
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
    location_rule_explained: Explanation | None = None  # `location_rule` by code and values
    grid_kwh_per_declared_unit: float = 0.0
    captive_kwh_per_declared_unit: float = 0.0
    captive_kg_co2e: float = 0.0
    captive_kg_co2e_per_kwh: float | None = None
    note: str = ""
    note_explained: Explanation | None = None  # `note` by code and values


class DataQualityResult(BaseModel):
    """Ratings and the primary share of the footprint, each its items' weighted by their emissions (|kg CO2e|);
    a supplier's value brings the supplier's own share and rating (PACT v3 Methodology 4.2.2, 4.2.3)."""

    dqr: float = Field(description="footprint-weighted data-quality rating, 1 best .. 5 worst")
    level: str
    meets_pcr: bool
    primary_data_share: float = Field(
        description="share of the footprint from primary (site-specific) data, 0..1; a supplier's value counts with "
        "its supplier's own primary data share"
    )
    # PACT `dqi` (results calculated before these were kept have none)
    technological_dqr: float | None = Field(default=None, description="footprint-weighted technological rating")
    geographical_dqr: float | None = Field(default=None, description="footprint-weighted geographical rating")
    temporal_dqr: float | None = Field(default=None, description="footprint-weighted temporal rating")


class UncertaintyResult(BaseModel):
    iterations: int
    seed: int
    mean_kg_co2e: float
    median_kg_co2e: float
    p2_5_kg_co2e: float
    p97_5_kg_co2e: float
    relative_sd: float
    notes: list[Explanation] = Field(
        default_factory=list, description="what the sampling could not vary (a background database without samples)"
    )


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
    data_gaps_explained: list[Explanation] = Field(
        default_factory=list, description="`data_gaps` by code and values, in the same order"
    )
    uncertainty: UncertaintyResult | None = None
    method: dict[str, list[str]]
    engine: dict[str, str]
    backgrounds: list[BackgroundUsed] = Field(
        default_factory=list,
        description="the imported background databases (name, version, digest) the footprint took activities from",
    )
