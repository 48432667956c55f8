"""The schema of a product category rule (PCR). A PCR is versioned data (see `pcr_rules/data/`)."""

import re
from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pcr_rules.units import UnitProblem, conversion_factor, parse_unit


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


# Bounds of a background link's texts: a database name is a directory of the prepared packs
# (`<backgrounds_dir>/<name>/<version>/`), an activity code an ecospold2 uuid, a JSON-LD @id or a code bw2io made.
MAX_DATABASE_NAME = 100
MAX_ACTIVITY_CODE = 200
MAX_ACTIVITY_NAME = 500
# a directory name on every platform (the pack library's rule): letters, digits, '.', '_', '+', '-', starting with a
# letter or digit, without '..'
# fullmatch: `$` alone would also admit a name ending in a line break
DATABASE_NAME = VERSION_NAME = re.compile(r"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._+-]*")


# Units as background databases name them (bw2io's normalised names, `bw2io.units.UNITS_NORMALIZATION`) where pint
# would read them otherwise or not at all: in LCA databases a "ton" is the metric tonne (pint: the short ton) and the
# "-year" units are area or volume occupied for a year.
DATABASE_UNITS = {
    "ton": "t",
    "ton kilometer": "tkm",
    "kilogram kilometer": "kg * km",
    "normal cubic meter": "Nm3",
    "standard cubic meter": "m**3",
    "cubic meter-year": "m**3 * year",
    "square meter-year": "m**2 * year",
    "meter-year": "m * year",
    "kilometer-year": "km * year",
    "kilogram day": "kg * day",
    "kilo Becquerel": "kBq",
}


def database_unit(unit: str) -> str:
    """The pint spelling of a unit as a background database writes it (`ton` -> `t`); other units unchanged."""
    return DATABASE_UNITS.get(unit.strip(), unit)


def link_factor(item_unit: str, activity_unit: str) -> float:
    """Multiplier taking an item's amount to the unit of a database activity. The same text is the same unit, also
    for counts pint does not know ("unit", "person kilometer"); UnitProblem where the two do not convert."""
    if item_unit.strip() == activity_unit.strip():
        return 1.0
    return conversion_factor(database_unit(item_unit), database_unit(activity_unit))


class BackgroundLink(BaseModel):
    """An activity of an imported background database (ecoinvent, CLCD, a JSON-LD export) that an input item takes
    in place of the factor set's screening activity. The footprint takes it where this deployment has that database
    prepared (the pinned `version`, else the version in use) and the activity is in it; otherwise the item's
    `activity` of the factor set, with a data gap saying so (lca_models.foreground)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    database: str = Field(
        min_length=1,
        max_length=MAX_DATABASE_NAME,
        description="name of the imported database, e.g. ecoinvent-3.10-cutoff / 背景数据库名称",
    )
    activity: str = Field(
        min_length=1,
        max_length=MAX_ACTIVITY_CODE,
        description="the activity's code in that database (ecospold2: the code bw2io gives; JSON-LD: the process "
        "@id) / 背景数据库中的活动代码",
    )
    unit: str = Field(
        min_length=1, max_length=64, description="the activity's unit; the item's amount is converted to it / 活动单位"
    )
    name: str | None = Field(
        default=None, max_length=MAX_ACTIVITY_NAME, description="the activity's name, for display / 活动名称"
    )
    version: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="a version of the database this link pins; absent: the version in use / 指定的数据库版本",
    )

    @field_validator("database")
    @classmethod
    def _database_name(cls, value: str) -> str:
        if not DATABASE_NAME.fullmatch(value):
            raise ValueError(
                "a database name is letters, digits, '.', '_', '+' and '-', starting with a letter or digit, without "
                "'..'"
            )
        return value

    @field_validator("version")
    @classmethod
    def _version_name(cls, value: str | None) -> str | None:
        if value is not None and not VERSION_NAME.fullmatch(value):
            raise ValueError(
                "a version is letters, digits, '.', '_', '+' and '-', starting with a letter or digit, without '..'"
            )
        return value

    @field_validator("activity")
    @classmethod
    def _printable_code(cls, value: str) -> str:
        if value != value.strip() or not value.isprintable():
            raise ValueError("an activity code has no leading or trailing spaces and no control characters")
        return value


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
    # INPUT items only: an activity of an imported background database taken in place of `activity` (the fallback)
    background: BackgroundLink | None = None
    note: str | None = None
    note_zh: str | None = None

    @model_validator(mode="after")
    def _kind_has_its_reference(self) -> "ItemSpec":
        needed = {ItemKind.INPUT: "activity", ItemKind.FUEL: "fuel", ItemKind.PROCESS: "formula"}.get(self.kind)
        if needed and not getattr(self, needed):
            raise ValueError(f"item {self.id}: kind {self.kind} needs `{needed}`")
        return self

    @model_validator(mode="after")
    def _background_fits(self) -> "ItemSpec":
        """A link belongs to an input item, and the item's amount must convert to the linked activity's unit (the
        engine converts it; a link the engine could not use would silently fall back)."""
        link = self.background
        if link is None:
            return self
        if self.kind is not ItemKind.INPUT:
            raise ValueError(f"item {self.id}: `background` belongs to input items only (kind {self.kind})")
        if link.unit.strip() == self.unit.strip():
            return self
        try:
            parse_unit(database_unit(link.unit))
        except UnitProblem as exc:
            raise ValueError(f"item {self.id}: `background.unit` {exc}: not a unit the service can convert") from exc
        try:
            link_factor(self.unit, link.unit)
        except UnitProblem as exc:
            if exc.code == "validation.unit_dimension":  # an unknown item unit is the language's own problem
                raise ValueError(
                    f"item {self.id}: `background.unit` {link.unit!r} of activity {link.activity!r} cannot be "
                    f"converted from the item's unit {self.unit!r}"
                ) from exc
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
