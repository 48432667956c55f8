"""The PCR language: its JSON Schema, and the checks of a draft that need no factor set.

A standards body writes a PCR as data (YAML or JSON: the form of `pcr_rules.models.PCR`). Before a draft may leave
draft it is checked fully: the schema (every pydantic error becomes a path such as
`items[2].plausible_per_declared_unit.min`), then the language's own rules — units pint can read, ranges with
min <= max, formulas of the catalogue (`pcr_rules.formulas`) with the settings and parameters they take, parameter
references that resolve, no parameter that no formula reads. The references into a factor set (activities, fuels,
constants, flows) are checked by `lca_models.pcr_check`, which adds them to these.
"""

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from pcr_rules import models
from pcr_rules.errors import FieldError
from pcr_rules.formulas import FORMULAS, FUEL_FORMULA, FormulaSpec, catalogue
from pcr_rules.inventory import MeasuredEmission
from pcr_rules.models import PCR, ItemKind, ItemSpec, ParameterRef, ParameterSpec, Range
from pcr_rules.units import UnitProblem, conversion_factor, parse_unit

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MEASURABLE_GASES: tuple[str, ...] = get_args(MeasuredEmission.model_fields["gas"].annotation)

# --- the schema -------------------------------------------------------------------------------------------------

# Bilingual descriptions of the language's fields: (model, field) -> "English / 中文".
DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("PCR", "id"): "PCR identifier, e.g. PCR-CN-ALUMINIUM / PCR 编号",
    ("PCR", "version"): "semantic version; a published version never changes / 版本号（语义化版本），发布后不可更改",
    ("PCR", "title"): "title / 标题",
    ("PCR", "product_category"): "product category code / 产品类别代码",
    ("PCR", "declared_unit"): "the declared unit of every footprint under this PCR / 声明单位",
    ("PCR", "standards"): "standards and guidelines the PCR follows / 依据的标准与指南",
    ("PCR", "boundary"): "system boundary: processes included and excluded / 系统边界：包含与排除的过程",
    ("PCR", "cut_off"): "cut-off criteria (GB/T 24067-2024 6.3.4) / 取舍准则",
    ("PCR", "allocation"): "allocation rule (GB/T 24067-2024 6.4.6) / 分配规则",
    ("PCR", "electricity"): "electricity rules: location level, green certificates, captive power / 电力规则",
    ("PCR", "data_quality"): "data-quality requirements / 数据质量要求",
    ("PCR", "measured_emissions"): "measured-emission rules (CEMS) / 实测排放规则（CEMS）",
    ("PCR", "max_reference_period_days"): "longest reference period / 核算期最长天数",
    ("PCR", "parameters"): "parameters of the whole product system, stated once per inventory (e.g. the pot-cell "
    "technology) / 产品系统参数，每份清单填写一次（如电解槽型）",
    ("PCR", "classification"): "the product-system choice parameters whose values define the product class (e.g. "
    "cement type and strength class); footprints of one class are compared / 产品分类参数：其取值确定产品类别（如水泥"
    "品种和强度等级），同类产品的碳足迹可相互比较",
    ("PCR", "items"): "the items an inventory gives: inputs, fuels, electricity, process emissions / 清单条目",
    ("PCR", "require_one_of"): "groups of items of which an inventory gives at least one (e.g. own or purchased "
    "clinker) / 条目组：清单须至少填写每组中的一项（如自产熟料或外购熟料）",
    ("PCR", "notes"): "notes / 说明",
    ("ItemSpec", "id"): "item id, unique in the PCR / 条目编号（PCR 内唯一）",
    ("ItemSpec", "label"): "English name / 英文名称",
    ("ItemSpec", "label_zh"): "Chinese name / 中文名称",
    ("ItemSpec", "kind"): "input (background activity), fuel, electricity, or process (a formula) / 条目类型",
    ("ItemSpec", "unit"): "unit of the amount; the unit of the activity, fuel or formula it feeds / 数量单位",
    ("ItemSpec", "stage"): "life-cycle stage / 生命周期阶段",
    ("ItemSpec", "required"): "the inventory must give this item / 必填条目",
    ("ItemSpec", "required_with"): "the inventory must give this item where it gives any of these items / "
    "填写所列任一条目时本条目必填",
    ("ItemSpec", "activity"): "input: background activity of the factor set; process: its supply chain / 背景活动代码",
    ("ItemSpec", "fuel"): "fuel: fuel key of the factor set / 因子集燃料代码",
    ("ItemSpec", "sector"): "fuel: which CH4/N2O table applies / 燃料：适用的 CH4/N2O 表",
    ("ItemSpec", "formula"): "process: a formula of the catalogue / 过程排放：公式目录中的公式名",
    ("ItemSpec", "formula_config"): "the formula's settings; a value may name a parameter: {parameter: id} / "
    "公式设置，可引用参数",
    ("ItemSpec", "parameters"): "parameters the inventory gives for this item / 条目参数",
    ("ItemSpec", "plausible_per_declared_unit"): "plausible amount per declared unit / 每声明单位的合理范围",
    ("ItemSpec", "primary_data_required"): "site-specific (primary) data required / 须使用初级数据",
    ("ItemSpec", "when_absent"): "process: the default method when the item is not given / 未填写时的缺省方法",
    ("ItemSpec", "background"): "input: an activity of an imported background database (database, activity code, "
    "unit) taken in place of the factor set's `activity`, which stays the fallback / 投入：引用已导入背景数据库中的活动"
    "（数据库、活动代码、单位），替代因子集的背景活动；该数据库不可用时仍用因子集活动",
    ("ParameterSpec", "unit"): "unit of a numeric parameter / 数值参数的单位",
    ("ParameterSpec", "range"): "allowed range of a numeric parameter / 数值参数的允许范围",
    ("ParameterSpec", "required"): "the inventory must give it / 必填参数",
    ("Range", "min"): "lower bound, inclusive / 下限（含）",
    ("Range", "max"): "upper bound, inclusive / 上限（含）",
    ("WhenAbsent", "formula"): "formula of the default method, evaluated on the production / 缺省方法的公式",
    ("WhenAbsent", "dqr"): "data-quality rating of the default (1 best .. 5 worst) / 缺省值的数据质量评分",
    ("WhenAbsent", "relative_sd"): "relative standard deviation of the default / 缺省值的相对标准差",
    ("WhenAbsent", "note"): "why and what is taken / 说明",
    ("ElectricityRule", "location_level"): "most specific published grid factor: national, region or province / "
    "基于位置法的电网因子层级",
    ("ElectricityRule", "gec_allowed"): "green certificates (GEC) may be retired / 是否允许使用绿证",
    (
        "ElectricityRule",
        "eligible_technologies",
    ): "generation technologies whose certificates count / 可用绿证的发电技术",
    ("ElectricityRule", "captive_fuels"): "captive power: fuel key -> unit of its amount / 自备电厂燃料及单位",
    ("MeasuredEmissionsRule", "allowed_gases"): "gases an inventory may give as measured / 允许实测的气体",
    (
        "MeasuredEmissionsRule",
        "require_sources",
    ): "a measurement names the items its monitor sees / 实测须注明覆盖的排放源",
    ("CutOff", "max_single_share"): "largest share of the footprint one excluded flow may have / 单项取舍上限",
    ("CutOff", "max_total_share"): "largest share all excluded flows may have together / 取舍总量上限",
    ("Allocation", "method"): "none, mass or economic (GB/T 24067-2024 6.4.6) / 分配方法",
    ("DataQualityRule", "max_dqr"): "worst acceptable footprint-weighted DQR / 可接受的最差数据质量评分",
}


def pcr_json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of the PCR language, with bilingual descriptions and the formula catalogue's names
    as the values `formula` may take. The service serves it; an editor validates a draft against it as it is
    written (the full check, with the factor set, is `lca_models.pcr_check.check_pcr`)."""
    schema = PCR.model_json_schema(mode="validation")
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = "PCR (product category rule) / 产品种类规则"
    schema["description"] = (
        "A product category rule for cradle-to-gate product carbon footprints (GB/T 24067-2024 / ISO 14067:2018), "
        "written as data. / 产品碳足迹（GB/T 24067-2024 / ISO 14067:2018）产品种类规则的数据格式。"
    )
    definitions = schema.setdefault("$defs", {})
    for (model, name), text in DESCRIPTIONS.items():
        target = schema if model == "PCR" else definitions.get(model)
        if target is not None and name in target.get("properties", {}):
            target["properties"][name]["description"] = text
    names = sorted(FORMULAS)
    for model in ("ItemSpec", "WhenAbsent"):
        formula = definitions[model]["properties"]["formula"]
        formula.pop("type", None)
        options = formula.get("anyOf") or []
        if options:
            formula["anyOf"] = [{"enum": names, "type": "string"} if o.get("type") == "string" else o for o in options]
        else:
            formula.update({"enum": names, "type": "string"})
    schema["x-formulas"] = catalogue()
    return schema


# --- from pydantic errors to paths -------------------------------------------------------------------------------

_MODEL_NAMES = {
    name for name, value in vars(models).items() if isinstance(value, type) and issubclass(value, BaseModel)
}
_TYPE_TAG = re.compile(r"^(str|float|int|bool|none|literal\[.*\]|list\[.*\]|dict\[.*\]|function-\w+\[.*\])$")
_NEEDS = re.compile(r"needs `(\w+)`")
# an item's own check that names the field it is about: "item x: `background.unit` ..."
_ITEM_FIELD = re.compile(r"^item [^:]*: `([\w.]+)`")


def document_path(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a path: ('items', 2, 'plausible_per_declared_unit', 'min') ->
    `items[2].plausible_per_declared_unit.min`; the union members pydantic names are left out."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _MODEL_NAMES or _TYPE_TAG.match(str(part)):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def _schema_errors(exc: ValidationError, document: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = document_path(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        needs = _NEEDS.search(message)
        named = _ITEM_FIELD.search(message)
        if needs:  # an item of a kind without its reference: name the missing field
            loc = f"{loc}.{needs.group(1)}"
        elif named and loc.startswith("items["):  # a check of the item that names its field
            loc = f"{loc}.{named.group(1)}"
        if "duplicate item ids" in message:
            errors.extend(_duplicate_ids(document.get("items") if isinstance(document, dict) else None, "items"))
            continue
        if loc in seen:  # a union reports each member; one error per place is enough
            continue
        seen.add(loc)
        errors.append(FieldError(loc or "(document)", message, f"schema.{error['type']}"))
    return errors


def _duplicate_ids(rows: Any, loc: str) -> list[FieldError]:
    if not isinstance(rows, list):
        return []
    ids = [row.get("id") if isinstance(row, dict) else getattr(row, "id", None) for row in rows]
    counts = Counter(i for i in ids if i is not None)
    return [
        FieldError(f"{loc}[{index}].id", f"id {value!r} is used more than once", "pcr.duplicate_id")
        for index, value in enumerate(ids)
        if value is not None and counts[value] > 1 and ids.index(value) != index
    ]


# --- a parsed draft ----------------------------------------------------------------------------------------------


@dataclass
class Draft:
    """A PCR document as far as it parses: the PCR when the whole document is valid, else the items and parameters
    that parse on their own (so that their references are checked too), with the schema errors."""

    pcr: PCR | None
    items: dict[int, ItemSpec] = field(default_factory=dict)
    parameters: dict[int, ParameterSpec] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)


def parse_pcr(document: Any) -> Draft:
    try:
        pcr = PCR.model_validate(document)
    except ValidationError as exc:
        draft = Draft(None, errors=_schema_errors(exc, document))
        if isinstance(document, dict):
            draft.items = _parse_rows(document.get("items"), ItemSpec)
            draft.parameters = _parse_rows(document.get("parameters"), ParameterSpec)
        return draft
    return Draft(pcr, dict(enumerate(pcr.items)), dict(enumerate(pcr.parameters)))


def _parse_rows(rows: Any, model: type[BaseModel]) -> dict:
    parsed = {}
    for index, row in enumerate(rows if isinstance(rows, list) else []):
        try:
            parsed[index] = model.model_validate(row)
        except ValidationError:
            continue
    return parsed


# --- the language's rules ----------------------------------------------------------------------------------------


def language_problems(draft: Draft) -> list[FieldError]:
    """Every problem of the draft that the language itself finds (no factor set needed)."""
    problems: list[FieldError] = []
    if draft.pcr is not None:
        problems.extend(_frame_problems(draft.pcr))
    product = {p.id: p for p in draft.parameters.values()}
    for index, parameter in draft.parameters.items():
        problems.extend(_parameter_problems(f"parameters[{index}]", parameter))
    if draft.pcr is not None:
        problems.extend(_duplicate_ids(draft.pcr.parameters, "parameters"))
    for index, item in draft.items.items():
        problems.extend(_item_problems(f"items[{index}]", item, product))
    if draft.pcr is not None:
        problems.extend(_unused_product_parameters(draft.pcr))
        for step in (_classification_problems, _require_one_of_problems, _required_with_problems):
            problems.extend(step(draft.pcr))
    return problems


def unit_problem(loc: str, unit: str) -> FieldError | None:
    try:
        parse_unit(unit)
    except UnitProblem as exc:
        return FieldError(loc, f"{exc}: not a unit the service can convert (pint)", "pcr.unknown_unit")
    return None


def same_unit(unit: str, expected: str) -> bool:
    """The unit is the expected one up to its spelling (t*km and tkm), so amounts pass unconverted."""
    try:
        return abs(conversion_factor(unit, expected) - 1.0) < 1e-9
    except UnitProblem:
        return False


def range_problem(loc: str, bounds: Range | None) -> FieldError | None:
    if bounds is not None and bounds.min is not None and bounds.max is not None and bounds.min > bounds.max:
        return FieldError(f"{loc}.min", f"min {bounds.min} is greater than max {bounds.max}", "pcr.range_inverted")
    return None


def _frame_problems(pcr: PCR) -> Iterator[FieldError]:
    """The PCR's frame: declared unit, cut-off, data quality, measured emissions, periods, default methods."""
    for step in (_declared_unit_problems, _cut_off_problems, _quality_problems, _measured_rule_problems):
        yield from step(pcr)
    for loc, value in (
        ("max_reference_period_days", pcr.max_reference_period_days),
        ("electricity.certificate_validity_months", pcr.electricity.certificate_validity_months),
    ):
        if value < 1:
            yield FieldError(loc, "must be at least 1", "pcr.not_positive")
    for fuel, unit in pcr.electricity.captive_fuels.items():
        problem = unit_problem(f"electricity.captive_fuels.{fuel}", unit)
        if problem:
            yield problem


def _declared_unit_problems(pcr: PCR) -> Iterator[FieldError]:
    problem = unit_problem("declared_unit.unit", pcr.declared_unit.unit)
    if problem:
        yield problem
    if pcr.declared_unit.amount <= 0:
        yield FieldError("declared_unit.amount", "must be greater than zero", "pcr.not_positive")
    if problem is None:
        yield from _default_method_units(pcr)


def _default_method_units(pcr: PCR) -> Iterator[FieldError]:
    """A default method is evaluated on the production, in declared units: its formula must take that unit."""
    for index, item in enumerate(pcr.items):
        default = FORMULAS.get(item.when_absent.formula) if item.when_absent else None
        if default is None or "{" in default.amount_unit or same_unit(pcr.declared_unit.unit, default.amount_unit):
            continue
        yield FieldError(
            f"items[{index}].when_absent.formula",
            f"a default method is evaluated on the production in declared units ({pcr.declared_unit.unit!r}); "
            f"{default.name} takes {default.amount_unit!r}",
            "pcr.unit",
        )


def _cut_off_problems(pcr: PCR) -> Iterator[FieldError]:
    cut = pcr.cut_off
    if not 0 <= cut.max_single_share <= cut.max_total_share <= 1:
        yield FieldError(
            "cut_off.max_single_share",
            f"shares must satisfy 0 <= max_single_share ({cut.max_single_share}) <= max_total_share "
            f"({cut.max_total_share}) <= 1",
            "pcr.range_inverted",
        )


def _quality_problems(pcr: PCR) -> Iterator[FieldError]:
    quality = pcr.data_quality
    if not 1 <= quality.max_dqr <= 5:
        yield FieldError("data_quality.max_dqr", "a data-quality rating is 1 (best) to 5 (worst)", "pcr.out_of_range")
    for name in ("default_primary_relative_sd", "default_secondary_relative_sd"):
        if getattr(quality, name) < 0:
            yield FieldError(f"data_quality.{name}", "must not be negative", "pcr.out_of_range")
    ids = {item.id for item in pcr.items}
    for index, item_id in enumerate(quality.forbid_screening_factors_for):
        if item_id not in ids:
            yield FieldError(
                f"data_quality.forbid_screening_factors_for[{index}]", f"{item_id!r} is not an item", "pcr.unknown_item"
            )


def _measured_rule_problems(pcr: PCR) -> Iterator[FieldError]:
    rule = pcr.measured_emissions
    for index, gas in enumerate(rule.allowed_gases):
        if gas not in MEASURABLE_GASES:
            yield FieldError(
                f"measured_emissions.allowed_gases[{index}]",
                f"{gas!r} cannot be measured; measurable gases: {list(MEASURABLE_GASES)}",
                "pcr.unknown_gas",
            )
    if rule.allowed_gases and not rule.methods:
        yield FieldError("measured_emissions.methods", "name the measurement methods accepted", "pcr.missing")


def _parameter_problems(loc: str, parameter: ParameterSpec) -> Iterator[FieldError]:
    problem = unit_problem(f"{loc}.unit", parameter.unit)
    if problem:
        yield problem
    problem = range_problem(f"{loc}.range", parameter.range)
    if problem:
        yield problem
    if parameter.is_choice:
        yield from _choice_problems(loc, parameter)
    elif isinstance(parameter.default, str):
        yield FieldError(f"{loc}.default", "a numeric parameter's default is a number", "pcr.wrong_type")
    elif parameter.default is not None:
        if parameter.range is not None and not parameter.range.contains(parameter.default):
            yield FieldError(
                f"{loc}.default", f"{parameter.default} is outside the range {parameter.range}", "pcr.out_of_range"
            )
        if not parameter.default_source:
            yield FieldError(
                f"{loc}.default_source", "a numeric default needs its source (document, table, year)", "pcr.no_source"
            )


def _choice_problems(loc: str, parameter: ParameterSpec) -> Iterator[FieldError]:
    values = [c.value for c in parameter.choices]
    for index, value in enumerate(values):
        if values.index(value) != index:
            yield FieldError(f"{loc}.choices[{index}].value", f"{value!r} is listed twice", "pcr.duplicate_id")
    if parameter.range is not None:
        yield FieldError(f"{loc}.range", "a choice parameter has no range", "pcr.wrong_type")
    if parameter.default is not None and parameter.choice(str(parameter.default)) is None:
        yield FieldError(
            f"{loc}.default", f"{parameter.default!r} is not one of the choices {values}", "pcr.unknown_choice"
        )


def _item_problems(loc: str, item: ItemSpec, product: dict[str, ParameterSpec]) -> Iterator[FieldError]:
    """One item: its own fields, fields its kind does not take, its formula and default method, and parameters no
    formula reads."""
    yield from _item_field_problems(loc, item)
    yield from _misplaced_problems(loc, item)
    spec = FORMULAS.get(FUEL_FORMULA if item.kind is ItemKind.FUEL else item.formula or "")
    if item.kind is ItemKind.PROCESS and item.formula and spec is None:
        yield _unknown_formula(f"{loc}.formula", item.formula)
    if spec is not None:
        yield from _formula_problems(loc, item, spec, product)
    if item.when_absent is not None:
        yield from _default_method_problems(f"{loc}.when_absent", item, product)
    if item.kind is not ItemKind.PROCESS or spec is not None:  # an unknown formula's parameters are unknown too
        yield from _unused_item_parameters(loc, item, spec)


def _item_field_problems(loc: str, item: ItemSpec) -> Iterator[FieldError]:
    for problem in (
        unit_problem(f"{loc}.unit", item.unit),
        range_problem(f"{loc}.plausible_per_declared_unit", item.plausible_per_declared_unit),
    ):
        if problem:
            yield problem
    yield from _duplicate_ids(item.parameters, f"{loc}.parameters")
    for index, parameter in enumerate(item.parameters):
        yield from _parameter_problems(f"{loc}.parameters[{index}]", parameter)


# Fields an item of another kind must leave empty: field -> (the kinds that take it, why).
_KIND_FIELDS: dict[str, tuple[frozenset[ItemKind], str]] = {
    "formula": (frozenset({ItemKind.PROCESS}), "only process items use a formula"),
    "formula_config": (frozenset({ItemKind.PROCESS}), "only process items use a formula"),
    "when_absent": (frozenset({ItemKind.PROCESS}), "only process items have a default method"),
    "fuel": (frozenset({ItemKind.FUEL}), "only fuel items name a fuel"),
    "activity": (
        frozenset({ItemKind.INPUT, ItemKind.PROCESS}),
        "a background activity belongs to an input (or a process item's supply chain); a fuel's supply chain comes "
        "with the fuel, electricity's factors with the PCR's electricity rule",
    ),
}


def _misplaced_problems(loc: str, item: ItemSpec) -> Iterator[FieldError]:
    for name, (kinds, why) in _KIND_FIELDS.items():
        if getattr(item, name) and item.kind not in kinds:
            yield FieldError(f"{loc}.{name}", f"{why} (kind {item.kind})", "pcr.misplaced")
    if item.when_absent is not None and item.required:
        yield FieldError(f"{loc}.when_absent", "a required item is always given: no default method", "pcr.misplaced")


def _unknown_formula(loc: str, name: str) -> FieldError:
    return FieldError(loc, f"unknown formula {name!r}; known: {sorted(FORMULAS)}", "pcr.unknown_formula")


def _default_method_problems(loc: str, item: ItemSpec, product: dict[str, ParameterSpec]) -> Iterator[FieldError]:
    default = FORMULAS.get(item.when_absent.formula)
    if default is None:
        yield _unknown_formula(f"{loc}.formula", item.when_absent.formula)
    else:
        yield from _settings_problems(loc, item.when_absent.formula_config, default, item, product)


def _unused_item_parameters(loc: str, item: ItemSpec, spec: FormulaSpec | None) -> Iterator[FieldError]:
    read = {i.id for i in spec.inputs} if spec else set()
    referenced = {ref.parameter for ref in _references(item)}
    for index, parameter in enumerate(item.parameters):
        if parameter.id not in read and parameter.id not in referenced:
            yield FieldError(
                f"{loc}.parameters[{index}].id",
                f"no formula reads parameter {parameter.id!r}"
                + (f" (formula {spec.name} reads {[i.id for i in spec.inputs]})" if spec else ""),
                "pcr.unused_parameter",
            )


def _references(item: ItemSpec) -> list[ParameterRef]:
    configs = [item.formula_config] + ([item.when_absent.formula_config] if item.when_absent else [])
    return [value for config in configs for value in config.values() if isinstance(value, ParameterRef)]


def _formula_problems(
    loc: str, item: ItemSpec, spec: FormulaSpec, product: dict[str, ParameterSpec]
) -> Iterator[FieldError]:
    if item.kind is ItemKind.PROCESS:
        yield from _settings_problems(loc, item.formula_config, spec, item, product)
        yield from _amount_unit_problems(loc, item, spec)
    listed = {p.id: (index, p) for index, p in enumerate(item.parameters)}
    for needed in spec.inputs:
        yield from _input_problems(loc, item, spec, needed, listed.get(needed.id))
    if spec.required_any and not any(name in listed for name in spec.required_any):
        yield FieldError(
            f"{loc}.parameters",
            f"formula {spec.name} needs at least one of {list(spec.required_any)}",
            "pcr.missing_parameter",
        )


def _amount_unit_problems(loc: str, item: ItemSpec, spec: FormulaSpec) -> Iterator[FieldError]:
    """A process item's unit must be the one its formula takes the amount in (when the formula fixes one)."""
    expected = spec.amount_unit.replace("{item_unit}", item.unit)
    if "{" not in expected and not same_unit(item.unit, expected) and unit_problem("", item.unit) is None:
        yield FieldError(
            f"{loc}.unit", f"formula {spec.name} takes its amount in {expected!r}, not {item.unit!r}", "pcr.unit"
        )


def _input_problems(
    loc: str, item: ItemSpec, spec: FormulaSpec, needed, found: tuple[int, ParameterSpec] | None
) -> Iterator[FieldError]:
    """One input the formula reads, against the item's parameter of that id (`found`: its row and spec, if listed):
    listed when required, always available when required, a number in the formula's unit."""
    if found is None:
        if needed.required:
            yield FieldError(
                f"{loc}.parameters",
                f"formula {spec.name} needs parameter {needed.id!r} ({needed.description}): list it as required",
                "pcr.missing_parameter",
            )
        return
    index, parameter = found
    if needed.required and not parameter.required and parameter.default is None:
        yield FieldError(
            f"{loc}.parameters[{index}].required",
            f"formula {spec.name} cannot run without {needed.id!r}: make it required or give a default",
            "pcr.missing_parameter",
        )
    expected = needed.unit.replace("{fuel_unit}", item.unit)
    if parameter.is_choice:
        yield FieldError(
            f"{loc}.parameters[{index}].choices",
            f"formula {spec.name} reads {needed.id!r} as a number",
            "pcr.wrong_type",
        )
    elif unit_problem("", parameter.unit) is None and not same_unit(parameter.unit, expected):
        yield FieldError(
            f"{loc}.parameters[{index}].unit",
            f"formula {spec.name} reads {needed.id!r} in {expected!r}, not {parameter.unit!r}",
            "pcr.unit",
        )


def _settings_problems(
    loc: str, config: dict[str, Any], spec: FormulaSpec, item: ItemSpec, product: dict[str, ParameterSpec]
) -> Iterator[FieldError]:
    for key, value in config.items():
        yield from _setting_problems(f"{loc}.formula_config.{key}", key, value, spec, item, product)
    for setting in spec.settings:
        if setting.required and setting.id not in config and not _implied(setting.id, item):
            yield FieldError(
                f"{loc}.formula_config",
                f"formula {spec.name} needs setting {setting.id!r} ({setting.description})",
                "pcr.missing_setting",
            )


def _setting_problems(
    where: str, key: str, value: Any, spec: FormulaSpec, item: ItemSpec, product: dict[str, ParameterSpec]
) -> Iterator[FieldError]:
    """One setting the document gives: one the formula takes, and a value (or a parameter reference) it accepts."""
    setting = spec.setting(key)
    if setting is None:
        yield FieldError(
            where,
            f"formula {spec.name} takes no setting {key!r}; it takes {[s.id for s in spec.settings]}",
            "pcr.unknown_setting",
        )
    elif isinstance(value, ParameterRef):
        yield from _reference_problems(where, value, setting, spec, item, product)
    else:
        yield from _setting_value_problems(where, value, setting)


def _setting_value_problems(where: str, value: Any, setting) -> Iterator[FieldError]:
    """A literal setting value against its kind: a declared choice, a number, a name, non-empty text."""
    if setting.kind == "choice" and value not in setting.choices:
        yield FieldError(where, f"{value!r} is not one of {list(setting.choices)}", "pcr.unknown_choice")
    elif setting.kind == "number" and not isinstance(value, float):
        yield FieldError(where, "must be a number", "pcr.wrong_type")
    elif setting.kind in ("constant", "flow", "text") and not isinstance(value, str):
        yield FieldError(where, "must be a name (text)", "pcr.wrong_type")
    elif setting.kind == "text" and not value.strip():
        yield FieldError(where, "must not be empty", "pcr.missing")


def _implied(setting: str, item: ItemSpec) -> bool:
    """A fuel item gives the fuel_combustion formula its fuel."""
    return item.kind is ItemKind.FUEL and setting == "fuel"


def _reference_problems(
    where: str, ref: ParameterRef, setting, spec: FormulaSpec, item: ItemSpec, product: dict[str, ParameterSpec]
) -> Iterator[FieldError]:
    if not setting.from_parameter:
        yield FieldError(
            f"{where}.parameter",
            f"setting {setting.id!r} of {spec.name} cannot be taken from a parameter",
            "pcr.misplaced",
        )
        return
    parameter = item.parameter(ref.parameter) or product.get(ref.parameter)
    if parameter is None:
        yield FieldError(
            f"{where}.parameter",
            f"{ref.parameter!r} is neither a parameter of item {item.id} nor of the PCR",
            "pcr.unknown_parameter",
        )
    elif not parameter.is_choice:
        yield FieldError(f"{where}.parameter", f"{ref.parameter!r} is not a choice parameter", "pcr.wrong_type")
    elif parameter.default is None and not parameter.required:
        yield FieldError(
            f"{where}.parameter",
            f"{ref.parameter!r} is optional and has no default: give it a default or make it required",
            "pcr.missing_default",
        )


def _unused_product_parameters(pcr: PCR) -> Iterator[FieldError]:
    """A product-system parameter is read by a formula setting or defines the product class; else it is unused."""
    referenced = {
        ref.parameter for item in pcr.items for ref in _references(item) if item.parameter(ref.parameter) is None
    } | set(pcr.classification)
    for index, parameter in enumerate(pcr.parameters):
        if parameter.id not in referenced:
            yield FieldError(
                f"parameters[{index}].id",
                f"no formula setting names parameter {parameter.id!r}",
                "pcr.unused_parameter",
            )


def references_to_choices(item: ItemSpec, product: dict[str, ParameterSpec]) -> list[tuple[str, str, ParameterSpec]]:
    """(path of the setting, setting id, the choice parameter it names) for every parameter reference of the item
    (for the factor-set check: each choice must exist in the setting's section)."""
    found = []
    for prefix, config in [("", item.formula_config)] + (
        [(".when_absent", item.when_absent.formula_config)] if item.when_absent else []
    ):
        for key, value in config.items():
            if isinstance(value, ParameterRef):
                parameter = item.parameter(value.parameter) or product.get(value.parameter)
                if parameter is not None and parameter.is_choice:
                    found.append((f"{prefix}.formula_config.{key}", key, parameter))
    return found


# --- the product class and the rules between items -----------------------------------------------------------------


def _classification_problems(pcr: PCR) -> Iterator[FieldError]:
    """Each classification entry names a choice parameter of the product system, once, that always has a value
    (required, or a default): every footprint under the PCR has a product class."""
    seen: set[str] = set()
    for index, parameter_id in enumerate(pcr.classification):
        loc = f"classification[{index}]"
        parameter = pcr.parameter(parameter_id)
        if parameter_id in seen:
            yield FieldError(loc, f"{parameter_id!r} is listed twice", "pcr.duplicate_id")
        elif parameter is None:
            yield FieldError(
                loc, f"{parameter_id!r} is not a parameter of the product system (parameters)", "pcr.unknown_parameter"
            )
        elif not parameter.is_choice:
            yield FieldError(
                loc, f"{parameter_id!r} is a number: a product class is defined by choices", "pcr.wrong_type"
            )
        elif not parameter.required and parameter.default is None:
            yield FieldError(
                loc,
                f"{parameter_id!r} is optional and has no default: make it required or give a default, so that every "
                "footprint has a product class",
                "pcr.missing_default",
            )
        seen.add(parameter_id)


def _require_one_of_problems(pcr: PCR) -> Iterator[FieldError]:
    """A group names two or more distinct items of the PCR, none of them required (a required item makes the group
    say nothing)."""
    for group_index, group in enumerate(pcr.require_one_of):
        loc = f"require_one_of[{group_index}]"
        if len(set(group)) < 2:
            yield FieldError(loc, "a group names at least two different items", "pcr.missing")
        for index, item_id in enumerate(group):
            item = pcr.item(item_id)
            if item is None:
                yield FieldError(f"{loc}[{index}]", f"{item_id!r} is not an item", "pcr.unknown_item")
            elif item.required:
                yield FieldError(
                    f"{loc}[{index}]", f"{item_id!r} is required anyway: the group says nothing", "pcr.misplaced"
                )


def _required_with_problems(pcr: PCR) -> Iterator[FieldError]:
    """`required_with` names other items of the PCR, on an item that is not required anyway."""
    for item_index, item in enumerate(pcr.items):
        loc = f"items[{item_index}].required_with"
        if item.required_with and item.required:
            yield FieldError(loc, f"item {item.id} is required anyway", "pcr.misplaced")
        for index, other in enumerate(item.required_with):
            if other == item.id or pcr.item(other) is None:
                yield FieldError(f"{loc}[{index}]", f"{other!r} is not another item", "pcr.unknown_item")
