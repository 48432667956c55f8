"""The schema of a product category rule (PCR). A PCR is versioned data (see `pcr_rules/data/`)."""

from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Stage(StrEnum):
    """Life-cycle stages of a cradle-to-gate footprint (GB/T 24067-2024 6.3)."""

    RAW_MATERIAL_ACQUISITION = "raw_material_acquisition"
    TRANSPORT = "transport"
    PRODUCTION = "production"


class ItemKind(StrEnum):
    INPUT = "input"  # purchased material, energy carrier or transport: a background activity
    FUEL = "fuel"  # fuel burned on site: direct combustion emissions plus the fuel's supply chain
    ELECTRICITY = "electricity"  # grid electricity, adjusted by retired green certificates
    PROCESS = "process"  # activity data of a sector formula for direct process emissions


def _same_length(model: BaseModel, *fields: str) -> None:
    """A list given in Chinese (`<field>_zh`) has one entry per entry of the list it translates."""
    for name in fields:
        translated = getattr(model, f"{name}_zh")
        if translated and len(translated) != len(getattr(model, name)):
            raise ValueError(f"{name}_zh has {len(translated)} entries where {name} has {len(getattr(model, name))}")


def in_language(model: BaseModel, name: str, lang: str):
    """A text of the PCR (or a list of texts) in the reader's language: `<name>_zh` on a Chinese page where the
    authors wrote it, else the text as written. A PCR is written by its standards body; the service translates
    nothing itself."""
    if lang == "zh":
        translated = getattr(model, f"{name}_zh", None)
        if translated:
            return translated
    return getattr(model, name)


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float | None = None
    max: float | None = None

    def contains(self, value: float) -> bool:
        """Bounds are inclusive, with a relative tolerance of 1e-9 for the rounding of unit conversions."""
        slack = 1e-9 * abs(value)
        return (self.min is None or value >= self.min - slack) and (self.max is None or value <= self.max + slack)

    def __str__(self) -> str:
        return f"[{self.min if self.min is not None else '-inf'}, {self.max if self.max is not None else 'inf'}]"


class Choice(BaseModel):
    """One value a choice parameter may take, e.g. the pot-cell technology CWPB, with its names."""

    model_config = ConfigDict(extra="forbid")
    value: str = Field(min_length=1, description="the code the inventory gives / 清单填写的代码")
    label: str = Field(description="English name / 英文名称")
    label_zh: str | None = Field(default=None, description="Chinese name / 中文名称")


class ParameterSpec(BaseModel):
    """A parameter of an item (e.g. the CaO content of clinker, a measured net calorific value) or of the whole
    product system (`PCR.parameters`, e.g. the pot-cell technology of a smelter). A number with a unit, or, with
    `choices`, one of a list of codes."""

    model_config = ConfigDict(extra="forbid")
    id: str
    label: str
    label_zh: str | None = None  # the name on Chinese pages; absent: the English label
    unit: str = "dimensionless"
    required: bool = False
    range: Range | None = None
    choices: list[Choice] = Field(
        default_factory=list, description="a choice parameter: the values allowed / 选择型参数的可选值"
    )
    default: float | str | None = Field(
        default=None,
        description="what formulas take when the inventory gives no value (a number in `unit`, or a choice value) / "
        "清单未填写时公式采用的缺省值",
    )
    default_source: str | None = Field(
        default=None, description="citation of a numeric default (document, table, year) / 数值缺省值的出处"
    )

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)

    def choice(self, value: str) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)


class ParameterRef(BaseModel):
    """A formula setting taken from a parameter the inventory states (or the parameter's default), e.g.
    `{parameter: pot_cell_technology}` for the technology of the Tier 1 PFC defaults."""

    model_config = ConfigDict(extra="forbid")
    parameter: str = Field(min_length=1)


SettingValue = str | float | ParameterRef


class WhenAbsent(BaseModel):
    """What the footprint takes when an optional item is not given: a default method (e.g. IPCC Tier 1 PFC per
    cell technology where no anode-effect data exists), evaluated on the production, with its data quality."""

    model_config = ConfigDict(extra="forbid")
    formula: str
    formula_config: dict[str, SettingValue] = Field(default_factory=dict)
    dqr: float = Field(ge=1, le=5, description="data-quality rating of the default (1 best .. 5 worst)")
    relative_sd: float = Field(ge=0, le=5)
    note: str
    note_zh: str | None = None


class ItemSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    label: str
    label_zh: str | None = None  # the name on Chinese pages (GB/T 24067 and sector-guideline terms)
    kind: ItemKind
    unit: str
    stage: Stage
    required: bool = False
    activity: str | None = None  # INPUT: background activity code of the factor set
    fuel: str | None = None  # FUEL: fuel key of the factor set
    sector: Literal["energy", "industry"] = "industry"  # FUEL: which non-CO2 table applies
    formula: str | None = None  # PROCESS: name of the sector formula
    formula_config: dict[str, SettingValue] = Field(default_factory=dict)
    parameters: list[ParameterSpec] = Field(default_factory=list)
    plausible_per_declared_unit: Range | None = None
    primary_data_required: bool = False
    # required where any of these items is given (the kiln's coal where the cement plant makes its own clinker)
    required_with: list[str] = Field(default_factory=list)
    when_absent: WhenAbsent | None = None  # PROCESS items only: the default method when the item is not given
    note: str | None = None
    note_zh: str | None = None

    @model_validator(mode="after")
    def _kind_has_its_reference(self) -> "ItemSpec":
        needed = {ItemKind.INPUT: "activity", ItemKind.FUEL: "fuel", ItemKind.PROCESS: "formula"}.get(self.kind)
        if needed and not getattr(self, needed):
            raise ValueError(f"item {self.id}: kind {self.kind} needs `{needed}`")
        return self

    def parameter(self, parameter_id: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.id == parameter_id), None)


class DeclaredUnit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: float = 1.0
    unit: str
    description: str
    description_zh: str | None = None


class Boundary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["cradle-to-gate"] = "cradle-to-gate"
    included: list[str]
    excluded: list[str] = Field(default_factory=list)
    included_zh: list[str] | None = None  # the same entries in Chinese, in the same order
    excluded_zh: list[str] | None = None

    @model_validator(mode="after")
    def _translations_match(self) -> "Boundary":
        _same_length(self, "included", "excluded")
        return self


class CutOff(BaseModel):
    """GB/T 24067-2024 6.3.4: what may be left out, and the justification."""

    model_config = ConfigDict(extra="forbid")
    rule: str
    rule_zh: str | None = None
    max_single_share: float = 0.01
    max_total_share: float = 0.05


class Allocation(BaseModel):
    """GB/T 24067-2024 6.4.6 hierarchy: avoid, then physical relationship, then economic value."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["none", "mass", "economic"]
    justification: str
    justification_zh: str | None = None


class ElectricityRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reported_method: Literal["market_based", "location_based"] = "market_based"
    gec_allowed: bool = True
    eligible_technologies: list[str] = Field(
        default_factory=lambda: ["wind", "solar_pv", "solar_thermal", "biomass", "geothermal", "ocean", "hydro"]
    )
    certificate_validity_months: int = 24  # NEA GEC rules: valid for 2 years from the generation month
    # Location-based method: the most specific published grid factor this PCR lets a footprint take for the
    # facility's place (province, then grid region, then national); PCRs of version 1.0.0 take the national one.
    location_level: Literal["national", "region", "province"] = "national"
    # The plant's own generating units (自备电厂) a footprint may describe: fuel key of the factor set -> the unit
    # its amount is given in. Empty: captive power is not part of this PCR.
    captive_fuels: dict[str, str] = Field(default_factory=dict)


class DataQualityRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_dqr: float = 3.0  # worst acceptable footprint-weighted data-quality rating (1 best .. 5 worst)
    default_primary_relative_sd: float = 0.02  # metered activity data
    default_secondary_relative_sd: float = 0.10
    forbid_screening_factors_for: list[str] = Field(default_factory=list)


class MeasuredEmissionsRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowed_gases: list[str] = Field(default_factory=list)
    methods: list[str] = Field(default_factory=lambda: ["CEMS"])
    # A measurement must name the items (emission sources) its monitor sees; the others stay calculated.
    require_sources: bool = False


class PCR(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    version: str
    title: str
    title_zh: str | None = None  # the title on Chinese pages and documents; absent: named from the category
    product_category: str
    # the category's name where the service has none of its own (a category a standards body adds): 电解金属锰
    product_category_label: str | None = None
    product_category_label_zh: str | None = None
    declared_unit: DeclaredUnit
    standards: list[str]
    standards_zh: list[str] | None = None  # the standards by their Chinese titles, in the same order
    boundary: Boundary
    cut_off: CutOff
    allocation: Allocation
    electricity: ElectricityRule = Field(default_factory=ElectricityRule)
    data_quality: DataQualityRule = Field(default_factory=DataQualityRule)
    measured_emissions: MeasuredEmissionsRule = Field(default_factory=MeasuredEmissionsRule)
    max_reference_period_days: int = 366
    # Parameters of the whole product system, stated once per inventory (e.g. the pot-cell technology of a smelter)
    # and read by formula settings that name them.
    parameters: list[ParameterSpec] = Field(default_factory=list)
    # The product-system parameters (choice parameters of `parameters`) whose values define the product class, e.g.
    # cement type and strength class (GB 175-2023): footprints of one class are comparable (pcr_rules.classification).
    classification: list[str] = Field(default_factory=list)
    items: list[ItemSpec]
    # Groups of items of which an inventory gives at least one (own clinker or purchased clinker).
    require_one_of: list[list[str]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    notes_zh: list[str] | None = None  # the notes in Chinese, in the same order

    @model_validator(mode="after")
    def _translations_match(self) -> "PCR":
        _same_length(self, "standards", "notes")
        return self

    @model_validator(mode="after")
    def _item_ids_unique(self) -> "PCR":
        ids = [item.id for item in self.items]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"duplicate item ids: {sorted(duplicates)}")
        return self

    @cached_property
    def _items_by_id(self) -> dict[str, ItemSpec]:
        return {item.id: item for item in self.items}

    def item(self, item_id: str) -> ItemSpec | None:
        return self._items_by_id.get(item_id)

    def parameter(self, parameter_id: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.id == parameter_id), None)

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"
