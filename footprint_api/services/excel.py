"""The Excel template of a PCR (openpyxl), the reading of a filled one, and an inventory uploaded as one.

The template is made in its reader's language (`lang` "zh" or "en"; None, as the JSON API gives it, in both): the
item names, the help, the guide and the drop-down lists of every column with a closed set of values (provinces,
grid regions, data sources, technologies, instruments, gases, fuels) in that language. The reader takes what
Chinese Excel produces (dates as 2024/12/31, full-width digits, thousands separators, percentages: see
infra.workbooks) and the values of those lists in either language.

Every error of a filled workbook names its sheet, row, column heading and cell, whether it comes from the file's
shape, the inventory schema or the PCR's rules, and carries a code and parameters (`workbook.*` messages in
locales/*/workbook.yaml): `message` words it in the reader's language, and the JSON API keeps the English wording
beside the code.

An upload (`submit_upload`) links the facility the workbook names, so that its certificates are retired to that
facility's pool (where the next version through the form, which names the facility, takes them over), and keeps
the original workbook in the object store for the verifier (`source_workbook`).
"""

import io
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from pydantic import ValidationError
from sqlmodel import Session

from footprint_api.core import messages, names
from footprint_api.core.errors import Conflict, NotFound, Unprocessable
from footprint_api.infra import workbooks
from footprint_api.infra.objects import object_store
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import Facility, InventoryRecord, Product
from footprint_api.services import inventories, labels
from footprint_api.services.catalogue import list_owned, owned
from footprint_api.services.messages import render as render_problem
from label_service.numbering import InvalidLabelNumber, normalise
from label_service.storage import StorageError
from pcr_rules import InventoryInvalid, PCRNotFound, default_registry, validate_inventory
from pcr_rules.inventory import DataQuality, Inventory
from pcr_rules.models import PCR, ElectricityRule, ItemKind, ParameterSpec

HEADER = Font(bold=True)
REQUIRED = PatternFill("solid", fgColor="FFF2CC")

# Sheet names are bilingual in every template: English, by which the file is read (and which templates downloaded
# before the Chinese names still have), then Chinese for the person filling it in.
SHEETS = {
    "Inventory": "Inventory 基本信息",
    "Items": "Items 活动数据",
    "Parameters": "Parameters 参数",
    "Product parameters": "Product parameters 产品参数",
    "Certificates": "Certificates 绿证",
    "Co-products": "Co-products 联产品",
    "Measured emissions": "Measured emissions 实测排放",
    "Captive units": "Captive units 自备电厂",
    "Guide": "Guide 填写说明",
    "Lists": "Lists 选项",  # hidden: the values of the drop-down lists
}
GENERAL_FIELDS = [  # (label, inventory path, help message of the template)
    ("Product name", "product.name", None),
    ("Product model", "product.model", None),
    ("GTIN", "product.gtin", None),
    ("Manufacturer", "manufacturer", None),
    ("Facility name", "facility.name", "workbook.help.facility"),
    ("Province", "facility.province", "workbook.help.province"),
    ("Grid region", "facility.grid_region", "workbook.help.grid_region"),
    ("Reference period start", "reference_period.start", "workbook.help.date"),
    ("Reference period end", "reference_period.end", "workbook.help.date"),
    ("Production amount", "production.amount", "workbook.help.production"),
    ("Production unit", "production.unit", "workbook.help.declared_unit"),
    ("Main product value (CNY)", "main_product_value_cny", "workbook.help.economic"),
]
# Rows only the templates of PCRs with captive power have (and templates made before them lack)
CAPTIVE_FIELDS = [("Captive electricity supplied (MWh)", "captive_power.supplied_mwh", "workbook.help.captive")]
DQ_COLUMNS = [f"dq_{indicator}" for indicator in DataQuality.model_fields]  # PEF data-quality rating, 1 best .. 5
ITEM_COLUMNS = [
    "item",
    "label",
    "PCR unit",
    "required",
    "amount",
    "unit",
    "data_source",
    *DQ_COLUMNS,
    "relative_sd",
    "supplier_pcf_kg_co2e_per_unit",
    "note",
    "supplier",  # a verified supplier source (read_supplier): new columns go last
]
OPTIONAL_COLUMNS = {*DQ_COLUMNS, "supplier"}  # absent from templates made before they were added
# A parameter is a number (amount, unit) or, for a choice parameter, one of the PCR's codes (choice, a list to pick
# from); `choice` goes last, so that rows filled by position stay where they were.
PARAMETER_COLUMNS = ["item", "parameter", "label", "PCR unit", "amount", "unit", "choice"]
# The product system's parameters (PCR.parameters, e.g. the pot-cell technology), stated once per inventory
PRODUCT_PARAMETER_COLUMNS = ["parameter", "label", "PCR unit", "amount", "unit", "choice"]
CERTIFICATE_COLUMNS = [
    "serial",
    "amount_mwh",
    "technology",
    "generation_month",
    "province",
    "plant",
    "instrument",
    "serial_last",
]  # new columns go last: rows filled by position stay where they were
CO_PRODUCT_COLUMNS = ["name", "amount", "unit", "economic_value_cny"]
MEASURED_COLUMNS = ["gas", "amount", "unit", "method", "relative_sd", "source", "covers"]
CAPTIVE_COLUMNS = [
    "name",
    "fuel",
    "fuel_amount",
    "fuel_unit",
    "ncv_gj_per_unit",
    "carbon_content_tc_per_tj",
    "oxidation",
    "gross_generation_mwh",
    "auxiliary_mwh",
    "net_generation_mwh",
    "measured_co2_t",
    "data_source",
    *DQ_COLUMNS,
]
OPTIONAL_COLUMNS |= {"serial_last", "source", "covers", "choice"}  # absent from templates made before them
TABLES = {
    "Items": ITEM_COLUMNS,
    "Parameters": PARAMETER_COLUMNS,
    "Product parameters": PRODUCT_PARAMETER_COLUMNS,
    "Certificates": CERTIFICATE_COLUMNS,
    "Co-products": CO_PRODUCT_COLUMNS,
    "Measured emissions": MEASURED_COLUMNS,
    "Captive units": CAPTIVE_COLUMNS,
}
CHINESE = {  # the caption beside each English key
    "field": "字段",
    "value": "填写值",
    "help": "说明",
    "PCR": "产品种类规则",
    "PCR version": "PCR 版本",
    "Product name": "产品名称",
    "Product model": "产品型号",
    "GTIN": "商品条码",
    "Manufacturer": "生产者",
    "Facility name": "工厂名称",
    "Province": "省份",
    "Grid region": "区域电网",
    "Reference period start": "核算期起",
    "Reference period end": "核算期止",
    "Production amount": "产量",
    "Production unit": "产量单位",
    "Main product value (CNY)": "主产品产值（元）",
    "item": "项目代码",
    "label": "名称",
    "PCR unit": "PCR 单位",
    "required": "必填",
    "amount": "数量",
    "unit": "单位",
    "data_source": "数据来源（初级/次级）",
    "dq_technological": "技术代表性（1 最好–5 最差）",
    "dq_geographical": "地理代表性（1–5）",
    "dq_temporal": "时间代表性（1–5）",
    "dq_precision": "精确度（1–5）",
    "relative_sd": "不确定性（相对标准差）",
    "supplier_pcf_kg_co2e_per_unit": "未经核验的供应商声明值（kg CO2e/单位）",
    "supplier": "供应商数据（碳标签编号、PACT:编号 或 release:发布/条目）",
    "note": "备注",
    "parameter": "参数代码",
    "choice": "选项（从列表中选择）",
    "serial": "绿证编号",
    "amount_mwh": "电量（MWh）",
    "technology": "发电类型",
    "generation_month": "发电月份（年-月）",
    "province": "发电省份",
    "plant": "电站",
    "instrument": "凭证类型",
    "name": "名称",
    "economic_value_cny": "产值（元）",
    "gas": "气体",
    "method": "监测方法",
    "serial_last": "批次末位编号（可空）",
    "source": "监测排放源（如窑尾烟囱）",
    "covers": "覆盖的项目代码（逗号分隔）",
    "fuel": "燃料",
    "fuel_amount": "燃料消耗量",
    "fuel_unit": "燃料单位",
    "ncv_gj_per_unit": "实测低位发热量（GJ/单位）",
    "carbon_content_tc_per_tj": "实测单位热值含碳量（t C/TJ）",
    "oxidation": "实测碳氧化率",
    "gross_generation_mwh": "发电量（MWh）",
    "auxiliary_mwh": "厂用电量（MWh）",
    "net_generation_mwh": "供电量（MWh）",
    "measured_co2_t": "CEMS 实测 CO2（t）",
    "Captive electricity supplied (MWh)": "自备电厂供本产品电量（MWh）",
}
# the keys a caption may carry, and a caption that has only its Chinese line (its English line deleted)
KEYS = (
    set(CHINESE)
    | {column for columns in TABLES.values() for column in columns}
    | {label for label, _, _ in GENERAL_FIELDS + CAPTIVE_FIELDS}
)
_ZH_CAPTIONS = [(zh, key) for key, zh in CHINESE.items()]
KEY_OF_CHINESE = {zh: key for zh, key in _ZH_CAPTIONS if [z for z, _ in _ZH_CAPTIONS].count(zh) == 1}
WRAP = Alignment(wrap_text=True, vertical="top")
# Excel's bounds of a data validation: a list written in the formula, the input message and its title
MAX_LIST_FORMULA, MAX_PROMPT, MAX_PROMPT_TITLE = 255, 255, 32
LIST_ROWS = 200  # rows of a list sheet (certificates, co-products…) that offer the drop-downs
# A filled template is a few tens of kB: seven sheets, a header and one row per PCR item, 17 columns. The limits
# leave two orders of magnitude to that and keep reading a crafted file to well under a second and 100 MB.
LIMITS = workbooks.Limits(
    max_bytes=5_000_000,
    max_unpacked_bytes=20_000_000,
    max_member_bytes=8_000_000,
    max_members=200,
    max_sheets=20,
    max_rows=5_000,
    max_columns=32,
    max_cells=200_000,
)
WORKBOOK_PREFIX = "workbooks"  # object-store keys of kept workbooks: workbooks/{sha256}.xlsx
MAX_FILE_NAME = 255


def caption(key: str, lang: str | None = None) -> str:
    """'amount' -> 'amount\\n数量' (a Chinese template: '数量\\namount'): the English key, by which `key_of` reads the
    column back, and its Chinese caption."""
    if key not in CHINESE:
        return key
    return f"{CHINESE[key]}\n{key}" if lang == "zh" else f"{key}\n{CHINESE[key]}"


def key_of(value) -> str:
    """The English key of a caption cell: the line that is a key (a template of the old layout has only that), else
    the key of a Chinese caption left alone, else its first line."""
    lines = [line.strip() for line in str(value or "").strip().split("\n")]
    for line in lines:
        if line in KEYS:
            return line
    for line in lines:
        if line in KEY_OF_CHINESE:
            return KEY_OF_CHINESE[line]
    return lines[0]


def heading(key: str, lang: str) -> str:
    """A column's (or an Inventory row's) heading as the reader's template shows it."""
    return CHINESE.get(key, key) if lang == "zh" else key


# --- closed sets of values ------------------------------------------------------------------------------------------

GRID_REGIONS = ("North", "Northeast", "East", "Central", "Northwest", "South", "Southwest")  # MEE/NBS regional grids
GASES = ("co2", "ch4", "n2o")  # pcr_rules.inventory.MeasuredEmission.gas
DATA_SOURCES = ("primary", "secondary")
INSTRUMENTS = ("gec", "green_power_contract")
FRACTION_UNITS = ("dimensionless", "percent")  # a mass fraction as 0.652, or as 65.2 percent
PERCENT_UNITS = {"%", "percent", "pct", "百分比", "百分数"}


factor_set = names.factor_set  # the service's factor set: its provinces and grid regions


def _pcr_codes(pcr: PCR | None, name: str) -> list[str]:
    electricity = pcr.electricity if pcr else ElectricityRule()
    if name == "technology":
        return list(electricity.eligible_technologies)
    if name == "fuel":
        return list(electricity.captive_fuels)
    if name == "gas":
        return list(pcr.measured_emissions.allowed_gases) if pcr and pcr.measured_emissions.allowed_gases else [*GASES]
    return list(pcr.measured_emissions.methods) if pcr else ["CEMS"]  # method


VALUE_SETS: dict[str, Callable[[PCR | None], list[str]]] = {  # the codes of each closed set, for a PCR
    "data_source": lambda pcr: [*DATA_SOURCES],
    "instrument": lambda pcr: [*INSTRUMENTS],
    "province": lambda pcr: list(factor_set().provinces),
    "grid_region": lambda pcr: [r for r in GRID_REGIONS if factor_set().region_key(r)],
    "technology": lambda pcr: _pcr_codes(pcr, "technology"),
    "gas": lambda pcr: _pcr_codes(pcr, "gas"),
    "fuel": lambda pcr: _pcr_codes(pcr, "fuel"),
    "method": lambda pcr: _pcr_codes(pcr, "method"),
    "fraction": lambda pcr: [*FRACTION_UNITS],
}


def shown(name: str, code: str, lang: str | None) -> str:
    """A value of a closed set as the template of `lang` lists it (the code itself in the bilingual template)."""
    if lang is None:
        return code
    if name == "province":
        return factor_set().provinces.get(code, {}).get("zh", code) if lang == "zh" else code
    return messages.catalogue(lang).messages.get(f"workbook.value.{name}.{code}", code)


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).replace("_", " ").split()).casefold()


@cache
def _spellings(name: str, code: str) -> frozenset[str]:
    """Every way a value may be written: its code, its names in both languages, and the parts of a name in
    brackets ('绿证（GEC）': 绿证, GEC); a grid region with or without 电网 / 区域电网, a technology with 发电."""
    names = [code] + [shown(name, code, lang) for lang in messages.LANGUAGES]
    parts = [part for text in names for part in re.split(r"[()（）]", text) if part.strip()]
    spellings = {_folded(text) for text in names + parts}
    if name == "grid_region":
        spellings |= {s.removesuffix("区域电网").removesuffix("电网") for s in spellings}
        spellings |= {f"{s}区域电网" for s in spellings} | {f"{s} grid" for s in spellings}
    if name == "technology":
        spellings |= {s.removesuffix("发电") for s in spellings} | {f"{s}发电" for s in spellings}
    return frozenset(s for s in spellings if s)


def matched(name: str, value: str, pcr: PCR | None = None) -> str | None:
    """The code of a closed set's value written in either language, or None. A province is also found as
    贵州省 or GUIZHOU (FactorSet.province_key)."""
    if name == "province":
        return factor_set().province_key(unicodedata.normalize("NFKC", value))
    wanted = _folded(value)
    return next((code for code in VALUE_SETS[name](pcr) if wanted in _spellings(name, code)), None)


# --- the template ---------------------------------------------------------------------------------------------------


def _text(key: str, lang: str | None, **values) -> str:
    """A text of the template in its language; in the bilingual template the English line, then the Chinese."""
    if lang is None:
        return "\n".join(messages.catalogue(each)(key, **values) for each in ("en", "zh"))
    return messages.catalogue(lang)(key, **values)


def _name(thing, lang: str | None) -> str:
    """An item's or a parameter's name in the template's language (both, one per line, in the bilingual one)."""
    zh = getattr(thing, "label_zh", None)
    if lang == "zh":
        return zh or thing.label
    if lang == "en" or not zh:
        return thing.label
    return f"{thing.label}\n{zh}"


class _Lists:
    """The hidden sheet holding the values of the drop-down lists, a column per list: a list written in the
    validation's formula may not exceed 255 characters (the 31 provinces do), a range of cells may."""

    def __init__(self, lang: str | None):
        self.lang = lang
        self.columns: dict[str, tuple[int, list[str]]] = {}

    def add(self, sheet, name: str, codes: list[str], cells: list[str], prompt: str | None = None) -> None:
        """A drop-down of the set `name` on `cells` (e.g. ['B7'], ['C2:C200']). A value not in the list is accepted
        after a warning: the reader also takes the other language's names and spellings such as 贵州省."""
        if not codes:
            return
        values = [shown(name, code, self.lang) for code in codes]
        column, _ = self.columns.setdefault(f"{name}:{'|'.join(codes)}", (len(self.columns) + 1, values))
        letter = get_column_letter(column)
        validation = DataValidation(
            type="list",
            formula1=f"{quote_sheetname(SHEETS['Lists'])}!${letter}$1:${letter}${len(values)}",
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="warning",
            errorTitle=_text("workbook.dv.list_title", self.lang)[:MAX_PROMPT_TITLE],
            error=_text("workbook.dv.list_error", self.lang)[:MAX_PROMPT],
        )
        if prompt:
            validation.prompt, validation.showInputMessage = prompt[:MAX_PROMPT], True
        sheet.add_data_validation(validation)
        for cell in cells:
            validation.add(cell)

    def write(self, book: Workbook) -> None:
        """The sheet itself, last and hidden (the reader does not read it)."""
        if not self.columns:
            return
        sheet = book.create_sheet(SHEETS["Lists"])
        for column, values in self.columns.values():
            for row, value in enumerate(values, start=1):
                sheet.cell(row, column).value = value
        sheet.sheet_state = "hidden"


def template(pcr: PCR, lang: str | None = None) -> bytes:
    """The workbook to fill for `pcr`, in the reader's language `lang` (zh or en; None: both, as the JSON API gives
    it)."""
    book = Workbook()
    lists = _Lists(lang)
    _general_sheet(book, pcr, lang, lists)
    _items_sheet(book, pcr, lang, lists)
    _parameter_sheets(book, pcr, lang, lists)
    for name, listed in (
        ("Certificates", {"technology": "technology", "province": "province", "instrument": "instrument"}),
        ("Co-products", {}),
        ("Measured emissions", {"gas": "gas", "method": "method"}),
    ):
        _list_sheet(book, pcr, lang, lists, name, listed)
    if pcr.electricity.captive_fuels:
        _list_sheet(book, pcr, lang, lists, "Captive units", {"fuel": "fuel", "data_source": "data_source"})
    _guide_sheet(book, pcr, lang)
    lists.write(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _general_sheet(book: Workbook, pcr: PCR, lang: str | None, lists: _Lists) -> None:
    general = book.active
    general.title = SHEETS["Inventory"]
    general.append([caption("field", lang), caption("value", lang), caption("help", lang)])
    general.append([caption("PCR", lang), f"{pcr.id}", _text("workbook.help.do_not_change", lang)])
    general.append([caption("PCR version", lang), pcr.version, _text("workbook.help.do_not_change", lang)])
    declared = f"{pcr.declared_unit.amount:g} {pcr.declared_unit.unit}"
    for label, path, help_key in GENERAL_FIELDS + (CAPTIVE_FIELDS if pcr.electricity.captive_fuels else []):
        help_text = _text(help_key, lang, unit=declared) if help_key else None
        general.append([caption(label, lang), None, help_text])
        if path in ("facility.province", "facility.grid_region"):
            name = path.split(".")[1]
            lists.add(general, name, VALUE_SETS[name](pcr), [f"B{general.max_row}"])
    _style(general)
    general.column_dimensions["C"].width = 44


def _items_sheet(book: Workbook, pcr: PCR, lang: str | None, lists: _Lists) -> None:
    items = book.create_sheet(SHEETS["Items"])
    items.append([caption(c, lang) for c in ITEM_COLUMNS])
    required = messages.catalogue(lang)("workbook.value.required") if lang else "yes"
    for spec in pcr.items:
        items.append(
            [
                spec.id,
                _name(spec, lang),
                spec.unit,
                required if spec.required else "",
                None,
                spec.unit,
                shown("data_source", "primary", lang),
                *[None] * len(DQ_COLUMNS),
                None,
                None,
                None,
                None,
            ]
        )
        if spec.required:
            for cell in items[items.max_row]:
                cell.fill = REQUIRED
    last = max(2, items.max_row)
    source = get_column_letter(ITEM_COLUMNS.index("data_source") + 1)
    lists.add(items, "data_source", [*DATA_SOURCES], [f"{source}2:{source}{last}"])
    _scores(items, lang, ITEM_COLUMNS, last)
    _supplier_prompt(items, pcr, lang)
    _style(items)


def _supplier_prompt(sheet, pcr: PCR, lang: str | None) -> None:
    """The supplier column of each purchased input says what it takes (read_supplier); other items have none."""
    column = get_column_letter(ITEM_COLUMNS.index("supplier") + 1)
    rows = [row for row, spec in enumerate(pcr.items, start=2) if spec.kind is ItemKind.INPUT]
    if not rows:
        return
    prompt = DataValidation(allow_blank=True, showInputMessage=True)
    prompt.promptTitle = _text("workbook.dv.supplier_title", lang).replace("\n", " / ")[:MAX_PROMPT_TITLE]
    prompt.prompt = _text("workbook.dv.supplier", lang).replace("\n", " / ")[:MAX_PROMPT]
    sheet.add_data_validation(prompt)
    for row in rows:
        prompt.add(f"{column}{row}")


def _scores(sheet, lang: str | None, columns: list[str], last: int) -> None:
    """The data-quality columns take a whole number from 1 (best) to 5 (worst)."""
    scores = DataValidation(
        type="whole",
        operator="between",
        formula1="1",
        formula2="5",
        allow_blank=True,
        error=_text("workbook.dv.score_error", lang).replace("\n", " / ")[:MAX_PROMPT],
        showErrorMessage=True,
    )
    sheet.add_data_validation(scores)
    first_dq, last_dq = (get_column_letter(columns.index(c) + 1) for c in (DQ_COLUMNS[0], DQ_COLUMNS[-1]))
    scores.add(f"{first_dq}2:{last_dq}{last}")


def _list_sheet(book: Workbook, pcr: PCR, lang: str | None, lists: _Lists, name: str, listed: dict) -> None:
    """A sheet of one row per entry (certificates, co-products, measured emissions, captive units), with the
    drop-downs of its columns that take a value of a closed set (column -> set)."""
    sheet = book.create_sheet(SHEETS[name])
    sheet.append([caption(c, lang) for c in TABLES[name]])
    for column, value_set in listed.items():
        letter = get_column_letter(TABLES[name].index(column) + 1)
        lists.add(sheet, value_set, VALUE_SETS[value_set](pcr), [f"{letter}2:{letter}{LIST_ROWS}"])
    if "dq_technological" in TABLES[name]:
        _scores(sheet, lang, TABLES[name], LIST_ROWS)
    _style(sheet)


def _parameter_sheets(book: Workbook, pcr: PCR, lang: str | None, lists: _Lists) -> None:
    """One row per parameter of each item (sheet Parameters) and, where the PCR has them, per parameter of the
    product system (sheet Product parameters, only in templates of such PCRs)."""
    parameters = book.create_sheet(SHEETS["Parameters"])
    parameters.append([caption(c, lang) for c in PARAMETER_COLUMNS])
    for spec in pcr.items:
        for parameter in spec.parameters:
            _parameter_row(parameters, [spec.id], parameter, lang)
    _fraction_units(parameters, PARAMETER_COLUMNS, lang, lists)
    _style(parameters)
    if pcr.parameters:
        product = book.create_sheet(SHEETS["Product parameters"])
        product.append([caption(c, lang) for c in PRODUCT_PARAMETER_COLUMNS])
        for parameter in pcr.parameters:
            _parameter_row(product, [], parameter, lang)
        _fraction_units(product, PRODUCT_PARAMETER_COLUMNS, lang, lists)
        _style(product)


def _fraction_units(sheet, columns: list[str], lang: str | None, lists: _Lists) -> None:
    """The unit cell of every fraction parameter offers a fraction (0–1) or a percentage: the percent trap of
    65.2 typed where 0.652 is meant is named where it is typed."""
    unit, pcr_unit = columns.index("unit") + 1, columns.index("PCR unit") + 1
    fraction = shown("fraction", "dimensionless", lang)
    cells = [
        f"{get_column_letter(unit)}{row}"
        for row in range(2, sheet.max_row + 1)
        if sheet.cell(row, pcr_unit).value == fraction
    ]
    if cells:
        lists.add(sheet, "fraction", [*FRACTION_UNITS], cells, _text("workbook.dv.fraction_prompt", lang))


def _parameter_row(sheet, leading: list, parameter: ParameterSpec, lang: str | None) -> None:
    """A parameter's row: a number's PCR unit, or for a choice its codes as a list to pick from in the `choice` cell
    (the PCR's default where the cell is left empty)."""
    label = _name(parameter, lang)
    if not parameter.is_choice:
        unit = shown("fraction", parameter.unit, lang) if parameter.unit in FRACTION_UNITS else parameter.unit
        sheet.append([*leading, parameter.id, label, unit, None, unit, None])
        return
    sheet.append([*leading, parameter.id, label, "—", None, None, None])
    codes = [choice.value for choice in parameter.choices]
    listed = f'"{",".join(codes)}"'
    if len(listed) > MAX_LIST_FORMULA or any("," in code or '"' in code for code in codes):
        return  # no list Excel can hold: the prompt is left out too, and the reader checks the code against the PCR
    choices = DataValidation(
        type="list",
        formula1=listed,
        allow_blank=True,
        showErrorMessage=True,
        error="choose a code of the list / 请从列表中选择" if lang is None else _text("workbook.dv.list_error", lang),
        promptTitle=parameter.id[:MAX_PROMPT_TITLE],
        prompt=_choice_prompt(parameter, lang)[:MAX_PROMPT],
        showInputMessage=True,
    )
    sheet.add_data_validation(choices)
    choices.add(f"{get_column_letter(len(leading) + PRODUCT_PARAMETER_COLUMNS.index('choice') + 1)}{sheet.max_row}")


def _choice_prompt(parameter: ParameterSpec, lang: str | None = None) -> str:
    """A line per code with its name ('VSS 上插棒自焙阳极电解槽'), then the default an empty cell takes: the input
    message Excel shows when the cell is selected."""
    lines = [
        f"{choice.value} {choice.label if lang == 'en' else (choice.label_zh or choice.label)}"
        for choice in parameter.choices
    ]
    if parameter.default is not None:
        empty = _text("workbook.dv.empty", lang, value=parameter.default) if lang else f"empty 空: {parameter.default}"
        lines.append(empty)
    return "\n".join(lines)


def _choice_guides(pcr: PCR, lang: str | None = None) -> list[str]:
    """The Guide's line for each choice parameter: the sheet it is stated in, its codes with their names, the
    default an empty cell takes."""
    stated = [("Product parameters", p) for p in pcr.parameters]
    stated += [("Parameters", p) for spec in pcr.items for p in spec.parameters]
    lines = []
    for sheet, parameter in stated:
        if not parameter.is_choice:
            continue
        if lang is not None:
            lines.append(_choice_guide(sheet, parameter, lang))
            continue
        codes = "; ".join(
            f"{c.value} = {c.label}" + (f" / {c.label_zh}" if c.label_zh else "") for c in parameter.choices
        )
        default = f" (empty 空: {parameter.default})" if parameter.default is not None else ""
        name = f"{parameter.label} / {parameter.label_zh}" if parameter.label_zh else parameter.label
        lines.append(f"{sheet}, {parameter.id} ({name}): {codes}{default}")
    return lines


def _choice_guide(sheet: str, parameter: ParameterSpec, lang: str) -> str:
    names = [(c.value, c.label_zh or c.label if lang == "zh" else c.label) for c in parameter.choices]
    codes = messages.catalogue(lang)("workbook.list_separator").join(f"{code} = {name}" for code, name in names)
    if parameter.default is not None:
        codes += f" ({_text('workbook.dv.empty', lang, value=parameter.default)})"
    return _text("workbook.guide.choices", lang, sheet=SHEETS[sheet], parameter=_name(parameter, lang), choices=codes)


GUIDE = [
    "workbook.guide.items",
    "workbook.guide.amounts",
    "workbook.guide.dates",
    "workbook.guide.lists",
    "workbook.guide.quality",
    "workbook.guide.parameters",
    "workbook.guide.facility",
    "workbook.guide.certificates",
    "workbook.guide.measured",
    "workbook.guide.supplier",
    "workbook.guide.keep",
]


def _guide_sheet(book: Workbook, pcr: PCR, lang: str | None) -> None:
    """How to fill the workbook, in its language (both, a line each, in the bilingual template): the PCR, its
    declared unit, the rules of the sheets and the codes of its choices. The PCR's revision notes are in English
    only, and are left out of a Chinese template."""
    guide = book.create_sheet(SHEETS["Guide"])
    title = names.pcr_title(pcr, lang or "en")
    declared = pcr.declared_unit.description_zh or pcr.declared_unit.description
    if lang != "zh":
        declared = pcr.declared_unit.description
    lines = [title, f"{pcr.id} {pcr.version}"]
    if lang is None:
        lines.append(f"Declared unit: {declared}")
    else:
        lines.append(_text("workbook.guide.declared_unit", lang, unit=declared))
    for key in GUIDE:
        lines.extend(_text(key, lang).split("\n"))
    lines += _choice_guides(pcr, lang)
    if lang != "zh":
        lines += pcr.notes
    for line in lines:
        guide.append([line])
    guide.column_dimensions["A"].width = 110


def _style(sheet) -> None:
    for cell in sheet[1]:
        cell.font = HEADER
        cell.alignment = WRAP
    if sheet.title == SHEETS["Inventory"]:
        for row in sheet.iter_rows(min_row=2, max_col=3):
            for cell in row:
                cell.alignment = WRAP
    for index, _ in enumerate(sheet[1], start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 22
    sheet.freeze_panes = "A2"


# --- reading a filled template --------------------------------------------------------------------------------------

TEXT, NUMBER, DATE, MONTH, SUPPLIER = "text", "number", "date", "month", "supplier"
# How each cell is read: the Inventory sheet's rows by their path, the tables' columns by their key; a closed set
# by its name. Anything else is text.
GENERAL_KINDS = {
    "reference_period.start": DATE,
    "reference_period.end": DATE,
    "production.amount": NUMBER,
    "main_product_value_cny": NUMBER,
    "captive_power.supplied_mwh": NUMBER,
    "facility.province": "province",
    "facility.grid_region": "grid_region",
}
COLUMN_KINDS = {
    **dict.fromkeys(
        [
            "amount",
            "relative_sd",
            "supplier_pcf_kg_co2e_per_unit",
            *DQ_COLUMNS,
            "amount_mwh",
            "economic_value_cny",
            "fuel_amount",
            "ncv_gj_per_unit",
            "carbon_content_tc_per_tj",
            "oxidation",
            "gross_generation_mwh",
            "auxiliary_mwh",
            "net_generation_mwh",
            "measured_co2_t",
        ],
        NUMBER,
    ),
    "generation_month": MONTH,
    "supplier": SUPPLIER,
    **{name: name for name in ("data_source", "technology", "province", "instrument", "gas", "fuel")},
}
ITEM_FIELDS = [
    "item",
    "amount",
    "unit",
    "data_source",
    "relative_sd",
    "supplier_pcf_kg_co2e_per_unit",
    "note",
    "supplier",
]


class CellProblem(ValueError):
    """A cell that cannot be read as its column's kind: a message code and its parameters."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code, self.params = code, params


def _hundredth(number: int | float) -> float:
    """65.2 -> 0.652, shifted in decimal (65.2 / 100 in binary is 0.6520000000000001)."""
    return float(Decimal(repr(number)).scaleb(-2))


def _number(value) -> tuple[int | float, bool]:
    try:
        return workbooks.cell_number(value)
    except ValueError:
        raise CellProblem("workbook.number", value=_as_text(value)) from None


def _as_text(value) -> str:
    """A cell as text: a whole number without '.0' (a serial, a GTIN), a date as YYYY-MM-DD, text trimmed."""
    if isinstance(value, workbooks.Percent):
        return f"{value.shown:g}%"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def unit_code(value) -> str:
    """A unit as typed, a fraction's unit as the template's list names it (小数（0–1）, 百分数（%）, %) as its code."""
    text = _as_text(value)
    if _folded(text) in PERCENT_UNITS:
        return "percent"
    return matched("fraction", text) or text


def quantity(amount, unit) -> tuple[int | float, str | None]:
    """An amount and its unit as typed. 65.2 % (typed, or a cell formatted as a percentage) is 65.2 percent where
    the unit is empty or a percentage, and the fraction 0.652 where another unit is stated."""
    number, percent = _number(amount)
    unit = unit_code(unit) if unit is not None else None
    if not percent:
        return number, unit
    if unit is None or unit == "percent":
        return number, "percent"
    return _hundredth(number), unit


def _read_number(value) -> int | float:
    """A number without a unit of its own: a percentage is its fraction (relative SD 2% -> 0.02)."""
    number, percent = _number(value)
    return _hundredth(number) if percent else number


def _read_date(value) -> str:
    try:
        return workbooks.cell_date(value).isoformat()
    except ValueError:
        raise CellProblem("workbook.date", value=_as_text(value)) from None


def _read_month(value) -> str:
    try:
        return workbooks.cell_month(value)
    except ValueError:
        raise CellProblem("workbook.month", value=_as_text(value)) from None


# A supplier cell: a label number of this service, `PACT:<id>` (a footprint the buyer received), or
# `release:<number>/<key>` (an entry of a factor-database release); the prefixes in any case, `:` or `：`.
PACT_PREFIX, RELEASE_PREFIX = "pact", "release"


def read_supplier(value) -> dict:
    """A supplier cell as the inventory item's `supplier` (pcr_rules.inventory.SupplierRef): `PCF-2026-000123-F`
    (a label, in any spelling: kept canonical), `PACT:3f1c…` or `release:2026.1/<key>`. Whether the source exists
    and may be used is decided at submission (services.supply_chain.resolve), naming this cell."""
    text = _as_text(value)
    prefix, colon, rest = text.replace("：", ":").partition(":")
    kind = prefix.strip().lower() if colon else ""
    if kind == PACT_PREFIX and rest.strip():
        return {"kind": "pact", "reference": rest.strip()}
    if kind == RELEASE_PREFIX:
        number, slash, key = rest.strip().partition("/")
        if number.strip() and slash and key.strip():
            return {"kind": "release", "reference": number.strip(), "entry": key.strip()}
    if not colon:
        try:
            return {"kind": "label", "reference": normalise(text)}
        except InvalidLabelNumber:
            pass
    raise CellProblem("workbook.supplier", value=text)


def supplier_cell(supplier: dict | None) -> str:
    """An item's supplier source as its workbook cell (read_supplier's inverse)."""
    if not supplier:
        return ""
    if supplier["kind"] == "pact":
        return f"PACT:{supplier['reference']}"
    if supplier["kind"] == "release":
        return f"release:{supplier['reference']}/{supplier.get('entry') or ''}"
    return str(supplier["reference"])


READERS: dict[str, Callable[[Any], Any]] = {
    NUMBER: _read_number,
    DATE: _read_date,
    MONTH: _read_month,
    TEXT: _as_text,
    SUPPLIER: read_supplier,
}


def read_cell(kind: str, value, pcr: PCR | None = None):
    """A cell's value as its kind reads it (a closed set's value as its code); CellProblem naming the problem for
    a value it cannot be."""
    if kind in READERS:
        return READERS[kind](value)
    code = matched(kind, _as_text(value), pcr)
    if code is not None:
        return code
    if kind == "province":
        raise CellProblem("workbook.province", value=_as_text(value))
    raise CellProblem("workbook.choice", value=_as_text(value), set=kind, allowed=VALUE_SETS[kind](pcr))


def _field(column: str) -> str:
    """The inventory field of a column: dq_temporal -> data_quality.temporal."""
    return f"data_quality.{column.removeprefix('dq_')}" if column in DQ_COLUMNS else column


class _Sheet:
    """A sheet's values as read within the limits: rows[0] is row 1; a cell outside them is empty."""

    def __init__(self, title: str, rows: list[tuple]):
        self.title, self.rows = title, rows
        self.max_row = len(rows)

    def value(self, row: int, column: int):
        values = self.rows[row - 1] if 0 < row <= len(self.rows) else ()
        return values[column - 1] if 0 < column <= len(values) else None


class _Reader:
    """Reads a filled template into inventory data and remembers the cell behind every field."""

    def __init__(self, sheets: dict[str, list[tuple]], pcr: PCR | None = None):
        self.sheets = sheets
        self.pcr = pcr
        self.cells: dict[str, tuple[str, int, str]] = {}
        self.errors: list[dict] = []
        self.unread: set[str] = set()  # fields whose cell could not be read: the schema's errors there are not repeated
        self.item_rows: dict[str, tuple[str, int, str]] = {}  # every Items row's amount cell, filled or not, by item
        self.shape_errors = 0

    def cell_of(self, loc: str) -> tuple[str, int, str] | None:
        while loc:
            if loc in self.cells:
                return self.cells[loc]
            loc = loc.rsplit(".", 1)[0] if "." in loc else (loc.rsplit("[", 1)[0] if "[" in loc else "")
        return None

    def error(
        self,
        loc: str,
        reason: str,
        where: tuple[str, int, str] | None = None,
        code: str = "",
        params: dict | None = None,
    ) -> None:
        """An error of the field `loc` at its cell (or `where`): the English reason, and its code and parameters."""
        sheet, row, column = where or self.cell_of(loc) or (self.title("Inventory"), 1, "A")
        entry = {"field": loc, "reason": reason, "sheet": sheet, "row": row, "column": column}
        entry["heading"] = self.heading(sheet, row, column)
        if code:
            entry["code"], entry["params"] = code, dict(params or {})
        self.errors.append(entry)

    def refuse(self, loc: str, code: str, where: tuple[str, int, str] | None = None, **params) -> None:
        """An error of the reading, worded from its code (the English wording as the reason)."""
        self.error(loc, worded(code, params, "en"), where, code, params)

    def heading(self, sheet: str, row: int, column: str) -> str:
        """The key of the cell's column heading (on the Inventory sheet: its row's label)."""
        rows = self.sheets.get(sheet) or []
        if sheet == self.title("Inventory"):
            return key_of(rows[row - 1][0]) if 0 < row <= len(rows) and rows[row - 1] else ""
        header = rows[0] if rows else ()
        index = column_index_from_string(column) - 1 if column else -1
        return key_of(header[index]) if 0 <= index < len(header) else ""

    def title(self, name: str) -> str:
        """The sheet's name in this workbook: bilingual, or English only in a template of the old layout."""
        for title in (SHEETS[name], name):
            if title in self.sheets:
                return title
        return SHEETS[name]

    def shape(self, loc: str, code: str, where: tuple[str, int, str], **params) -> None:
        """An error of the workbook's shape (a sheet, row or column missing): nothing further is read from it."""
        self.shape_errors += 1
        self.refuse(loc, code, where, **params)

    def sheet(self, name: str) -> _Sheet | None:
        title = self.title(name)
        if title not in self.sheets:
            self.shape(name, "workbook.sheet_missing", (title, 1, "A"), sheet=title)
            return None
        return _Sheet(title, self.sheets[title])

    def general(self, data: dict) -> None:
        sheet = self.sheet("Inventory")
        if sheet is None:
            return
        by_label = {}
        for row in range(2, sheet.max_row + 1):
            by_label[key_of(sheet.value(row, 1))] = row
        for label, path in [("PCR", "pcr.id"), ("PCR version", "pcr.version")] + [
            (lbl, p) for lbl, p, _ in GENERAL_FIELDS
        ]:
            row = by_label.get(label)
            if row is None:
                self.shape(path, "workbook.row_missing", (sheet.title, sheet.max_row + 1, "A"), row=label)
                continue
            self._value(data, sheet, row, path)
        for label, path, _ in CAPTIVE_FIELDS:  # only in templates of PCRs with captive power
            if label in by_label:
                self._value(data, sheet, by_label[label], path)

    def _value(self, data: dict, sheet: _Sheet, row: int, path: str) -> None:
        self.cells[path] = (sheet.title, row, "B")
        value = _plain(sheet.value(row, 2))
        if value is None:
            return
        try:
            _put(data, path, read_cell(GENERAL_KINDS.get(path, TEXT), value, self.pcr))
        except CellProblem as problem:
            self.unread.add(path)
            self.refuse(path, problem.code, **problem.params)

    def table(self, name: str, optional: bool = False) -> Iterator[tuple[int, dict, dict]]:
        if optional and self.title(name) not in self.sheets:
            return
        sheet = self.sheet(name)
        if sheet is None:
            return
        header = [key_of(value) for value in (sheet.rows[0] if sheet.rows else ())]
        missing = [c for c in TABLES[name] if c not in header and c not in OPTIONAL_COLUMNS]
        if missing:
            self.shape(name, "workbook.columns_missing", (sheet.title, 1, "A"), columns=missing)
            return
        columns = {c: header.index(c) + 1 for c in TABLES[name] if c in header}
        for row in range(2, sheet.max_row + 1):
            values = {c: _plain(sheet.value(row, i)) for c, i in columns.items()}
            cell = {c: (sheet.title, row, get_column_letter(i)) for c, i in columns.items()}
            yield row, values, cell

    def typed(self, loc: str, values: dict, cell: dict, columns) -> dict:
        """The row's filled cells of `columns`, each read as its column's kind (an amount with its unit); a cell
        that cannot be read is an error at its cell and left out."""
        read: dict[str, Any] = {}
        for column in columns:
            value = values.get(column)
            if value is None:
                continue
            try:
                if column == "amount" and "unit" in columns:
                    read["amount"], unit = quantity(value, values.get("unit"))
                    if unit is not None:
                        read["unit"] = unit
                elif column == "unit" and "amount" in columns:
                    read.setdefault("unit", unit_code(value))
                else:
                    read[column] = read_cell(COLUMN_KINDS.get(column, TEXT), value, self.pcr)
            except CellProblem as problem:
                self.unread.add(f"{loc}.{_field(column)}")
                self.refuse(f"{loc}.{_field(column)}", problem.code, cell.get(column), **problem.params)
        return read


def read_workbook(content: bytes) -> tuple[Inventory, "_Reader"]:
    """The inventory of a filled template. The workbook is inspected and read within LIMITS before any of it is
    interpreted (footprint_api.infra.workbooks): a crafted file answers 413 or 422 at once instead of costing minutes
    and a gigabyte (issue 11, item 5)."""
    reader = _Reader(workbooks.read_values(content, LIMITS, percent=True))
    data: dict[str, Any] = {"items": [], "green_certificates": [], "co_products": [], "measured_emissions": []}
    reader.general(data)
    reader.pcr = pcr = _named_pcr(reader, data)
    index_of_item = _items(reader, data)
    _parameters(reader, data, index_of_item, pcr)
    _product_parameters(reader, data, pcr)
    for sheet in LIST_SHEETS:
        _list_rows(reader, data, sheet)
    _captive_units(reader, data)
    if reader.shape_errors:
        raise Unprocessable("the workbook does not follow the template", reader.errors)
    inventory = _schema_checked(reader, data)
    if reader.errors:
        raise Unprocessable("the workbook has invalid values", reader.errors)
    _pcr_checked(reader, inventory, pcr)
    return inventory, reader


def _named_pcr(reader: _Reader, data: dict) -> PCR | None:
    """The PCR version the workbook names, whose parameters say which rows are choices; None for a missing row
    (named by the reading) or a PCR the registry does not have (named at its cell)."""
    ref = data.get("pcr") or {}
    if ref.get("id") is None or ref.get("version") is None:
        return None
    try:
        return default_registry().get(str(ref["id"]), str(ref["version"]))
    except PCRNotFound:
        reader.shape(
            "pcr.id", "workbook.pcr_unknown", reader.cells.get("pcr.id"), pcr=ref["id"], version=ref["version"]
        )
        return None


def _items(reader: _Reader, data: dict) -> dict[str, int]:
    """The Items rows with an amount (an empty one is an item that does not apply); returns each item's index."""
    index_of_item: dict[str, int] = {}
    for _row, values, cell in reader.table("Items") or []:
        reader.item_rows.setdefault(_as_text(values["item"]) if values["item"] is not None else "", cell["amount"])
        reader.cells.setdefault("items", cell["amount"])  # the list itself (none given): its first amount
        if values["amount"] is None:
            continue
        i = len(data["items"])
        index_of_item[str(values["item"])] = i
        _item_cells(reader, i, cell)
        read = reader.typed(f"items[{i}]", values, cell, ITEM_FIELDS + [c for c in DQ_COLUMNS if c in cell])
        data["items"].append(_item_entry(read))
    return index_of_item


def _item_entry(read: dict) -> dict:
    """An Items row as an inventory item: its filled cells, and its data-quality rating where one is given."""
    entry = {k: read[k] for k in ITEM_FIELDS if k in read}
    quality = _quality(read)
    if quality:  # all four or none: a partial rating is named by its empty cells
        entry["data_quality"] = quality
    return entry


def _item_cells(reader: _Reader, i: int, cell: dict) -> None:
    """Every field of item i points to its cell, so that an error of the schema or the PCR names the cell."""
    for key in ITEM_FIELDS:
        reader.cells[f"items[{i}].{key}"] = cell.get(key, cell["amount"])
    for column in DQ_COLUMNS:
        if column in cell:
            reader.cells[f"items[{i}].{_field(column)}"] = cell[column]
    reader.cells[f"items[{i}]"] = cell["amount"]


def _parameters(reader: _Reader, data: dict, index_of_item: dict[str, int], pcr: PCR | None = None) -> None:
    """The Parameters rows, each under its item; a parameter given for an item without an amount is an error."""
    for _row, values, cell in reader.table("Parameters") or []:
        i = index_of_item.get(str(values["item"]))
        item_spec = pcr.item(str(values["item"])) if pcr else None
        spec = item_spec.parameter(str(values["parameter"])) if item_spec else None
        given = _given(values, spec)
        if i is not None:  # a missing required parameter points to its (empty) row
            reader.cells[f"items[{i}].parameters.{values['parameter']}"] = _value_cell(cell, given, spec)
        if given is None:
            continue
        if i is None:
            names = {"item": str(values["item"])}
            if item_spec:
                names |= {"name": item_spec.label, "name_zh": item_spec.label_zh or item_spec.label}
            reader.refuse(f"parameters.{values['item']}", "workbook.parameter_without_item", cell["item"], **names)
            continue
        _parameter(reader, data["items"][i].setdefault("parameters", {}), f"items[{i}].parameters", given, cell)


def _product_parameters(reader: _Reader, data: dict, pcr: PCR | None = None) -> None:
    """The Product parameters rows (templates of PCRs with product-system parameters) as the inventory's
    `parameters`, e.g. {"pot_cell_technology": {"choice": "VSS"}}; an empty row leaves the PCR's default."""
    parameters: dict[str, dict] = {}
    for _row, values, cell in reader.table("Product parameters", optional=True) or []:
        spec = pcr.parameter(str(values["parameter"])) if pcr else None
        given = _given(values, spec)
        reader.cells[f"parameters.{values['parameter']}"] = _value_cell(cell, given, spec)
        if given is not None:
            _parameter(reader, parameters, "parameters", given, cell)
    if parameters:
        data["parameters"] = parameters


class _Given(NamedTuple):
    """A filled parameter row: the parameter, its value as the workbook gives it, the column holding it."""

    name: str
    value: dict  # {"choice": code} or {"amount": cell, "unit": cell}
    column: str  # choice | amount


def _given(values: dict, spec: ParameterSpec | None) -> _Given | None:
    """A choice parameter's code (from `choice`, or typed into `amount`; its name in either language is its code);
    else a number in `amount` (without a unit a ratio, dimensionless); a code in `choice` for a number is passed
    on, for the PCR to refuse at its cell. None for an empty row."""
    name, amount, code = str(values["parameter"]), values.get("amount"), values.get("choice")
    if spec is not None and spec.is_choice:
        column = "choice" if code is not None else "amount"
        chosen = code if code is not None else amount
        return None if chosen is None else _Given(name, {"choice": _choice_code(spec, chosen)}, column)
    if amount is not None:
        return _Given(name, {"amount": amount, "unit": values.get("unit")}, "amount")
    return None if code is None else _Given(name, {"choice": _as_text(code)}, "choice")


def _choice_code(spec: ParameterSpec, value) -> str:
    """The code of a choice written as its code or as its name in either language (中间下料预焙阳极电解槽: CWPB)."""
    text = _as_text(value)
    wanted = _folded(text)
    found = (c.value for c in spec.choices if wanted in {_folded(c.value), _folded(c.label), _folded(c.label_zh or "")})
    return next(found, text)


def _value_cell(cell: dict, given: _Given | None, spec: ParameterSpec | None) -> tuple[str, int, str]:
    """The cell an error of the parameter names: its value's, or for an empty row the one to fill (a template
    made before the `choice` column has only `amount`)."""
    column = given.column if given else ("choice" if spec is not None and spec.is_choice else "amount")
    return cell.get(column, cell["amount"])


def _parameter(reader: _Reader, parameters: dict, loc: str, given: _Given, cell: dict) -> None:
    """A filled parameter row into `parameters`, each field of its value pointing to its cell; a number that is
    not one is an error at its cell, and the parameter is left out."""
    reader.cells[f"{loc}.{given.name}"] = cell[given.column]
    for key in given.value:  # choice, or amount and unit
        reader.cells[f"{loc}.{given.name}.{key}"] = cell[given.column if key == "choice" else key]
    if "choice" in given.value:
        parameters[given.name] = given.value
        return
    try:
        amount, unit = quantity(given.value["amount"], given.value["unit"])
    except CellProblem as problem:
        reader.unread.add(f"{loc}.{given.name}.amount")
        reader.refuse(f"{loc}.{given.name}.amount", problem.code, cell["amount"], **problem.params)
        return
    parameters[given.name] = {"amount": amount, "unit": unit or "dimensionless"}


def _certificate(entry: dict) -> dict:
    """A certificate batch: serials are text, though a spreadsheet may hold them as numbers."""
    for text in ("serial", "serial_last", "generation_month"):
        if text in entry:
            entry[text] = _as_text(entry[text])
    return entry


def _co_product(entry: dict) -> dict:
    """A co-product is taken as filled in."""
    return entry


def _measured_emission(entry: dict) -> dict:
    """A measured emission: 'clinker, kiln_coal' (or 'clinker，kiln_coal', 'clinker、kiln_coal') in `covers` is
    the list of item codes its source covers."""
    if "covers" in entry:
        text = unicodedata.normalize("NFKC", str(entry["covers"]))
        entry["covers"] = [part for part in re.split(r"[,;、\s]+", text) if part]
    return entry


class _ListSheet(NamedTuple):
    """A sheet whose every non-empty row is one entry of an inventory list."""

    name: str
    key: str
    columns: list[str]
    entry: Callable[[dict], dict]


LIST_SHEETS = (
    _ListSheet("Certificates", "green_certificates", CERTIFICATE_COLUMNS, _certificate),
    _ListSheet("Co-products", "co_products", CO_PRODUCT_COLUMNS, _co_product),
    _ListSheet("Measured emissions", "measured_emissions", MEASURED_COLUMNS, _measured_emission),
)


def _list_rows(reader: _Reader, data: dict, sheet: _ListSheet) -> None:
    """The non-empty rows of one list sheet as entries, every field pointing to its cell (the row to its first)."""
    for _row, values, cell in reader.table(sheet.name) or []:
        if all(v is None for v in values.values()):
            continue
        i = len(data[sheet.key])
        _point_to_cells(reader, f"{sheet.key}[{i}]", sheet.columns, cell)
        # a workbook of an older template may lack an optional column (serial_last, source, covers): absent, not 500
        data[sheet.key].append(sheet.entry(reader.typed(f"{sheet.key}[{i}]", values, cell, sheet.columns)))


def _point_to_cells(reader: _Reader, entry: str, columns, cell: dict) -> None:
    """Each field of a list entry points to its cell, and the entry itself to its first: errors name the cell."""
    for column in columns:
        if column in cell:
            reader.cells[f"{entry}.{_field(column)}"] = cell[column]
    first = next((cell[c] for c in columns if c in cell), None)
    if first is not None:
        reader.cells[entry] = first


def _schema_checked(reader: _Reader, data: dict) -> Inventory | None:
    """The inventory the cells make, or 422 naming the cell of every value the schema refuses (with the reading's
    own errors; a field whose cell could not be read is named once, by the reading)."""
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        for e in schema_errors(exc, data):
            loc = field_path(e["loc"])
            if any(loc == unread or loc.startswith(f"{unread}.") for unread in reader.unread):
                continue
            code, params = schema_code(e)
            reader.error(loc, worded(code, params, "en"), None, code, params)
        raise Unprocessable("the workbook has invalid values", reader.errors) from None


# A parameter's value is a number with its unit or a choice's code (pcr_rules.inventory.ParameterValue, a union):
# pydantic checks a bad value against both shapes and names the shape in the path. The mistake is in the shape given.
VALUE_SHAPES = {"Quantity": False, "ChoiceValue": True}  # the union's member -> whether it is the choice


def schema_errors(exc: ValidationError, data: dict) -> list[dict]:
    """The schema's errors of inventory data, a parameter's against the shape it was given in only, without the
    shape's name in the path: `items[0].parameters.purity.amount`, not also `...ChoiceValue.choice` missing."""
    kept = []
    for error in exc.errors():
        loc = list(error["loc"])
        at = next(
            (i + 2 for i, part in enumerate(loc[:-2]) if part == "parameters" and loc[i + 2] in VALUE_SHAPES), None
        )
        if at is not None:
            if VALUE_SHAPES[loc[at]] != _is_choice(_value_at(data, loc[:at])):
                continue
            del loc[at]
        kept.append({**error, "loc": tuple(loc)})
    return kept


# The schema's refusals by pydantic's error type: the message code, and the bound it names
BOUNDS = {
    "greater_than_equal": ("workbook.at_least", "ge"),
    "greater_than": ("workbook.more_than", "gt"),
    "less_than_equal": ("workbook.at_most", "le"),
    "less_than": ("workbook.less_than", "lt"),
    "string_too_long": ("workbook.text_too_long", "max_length"),
    "too_long": ("workbook.too_many", "max_length"),
}
SCHEMA_CODES = {
    "missing": "workbook.missing",
    "string_too_short": "workbook.missing",
    "int_parsing": "workbook.whole_number",
    "int_from_float": "workbook.whole_number",
    "int_type": "workbook.whole_number",
    "float_parsing": "workbook.number",
    "float_type": "workbook.number",
    "finite_number": "workbook.number",
    "date_parsing": "workbook.date",
    "date_from_datetime_parsing": "workbook.date",
    "date_from_datetime_inexact": "workbook.date",
    "date_type": "workbook.date",
    "serial_format": "workbook.serial",  # pcr_rules.inventory.GreenCertificate's own checks
    "month_format": "workbook.month",
}
FIELD_CODES = {"gtin": "workbook.gtin", "serial": "workbook.serial", "serial_last": "workbook.serial"}
FIELD_CODES |= {"generation_month": "workbook.month"}


def schema_code(error: dict) -> tuple[str, dict]:
    """A pydantic error of inventory data as a message code and its parameters; never pydantic's own words, which
    name Python types ("Input should be a valid date or datetime, invalid date separator")."""
    kind, ctx, last = error["type"], error.get("ctx") or {}, str(error["loc"][-1]) if error["loc"] else ""
    value = error.get("input")
    shown_value = _as_text(value) if isinstance(value, str | int | float | date) else ""
    if kind in BOUNDS:
        code, bound = BOUNDS[kind]
        limit = ctx.get(bound, "")
        return code, {"limit": _as_text(limit) if isinstance(limit, int | float) else str(limit)}
    if kind in SCHEMA_CODES:
        return SCHEMA_CODES[kind], {"value": shown_value}
    if kind == "too_short":
        return (
            ("workbook.no_items", {})
            if error["loc"] == ("items",)
            else ("workbook.too_few", {"limit": ctx.get("min_length", 1)})
        )
    if kind == "literal_error" and last in VALUE_SETS:
        return "workbook.choice", {"value": shown_value, "set": last, "allowed": VALUE_SETS[last](None)}
    if last in FIELD_CODES and kind in ("value_error", "string_pattern_mismatch"):
        return FIELD_CODES[last], {"value": shown_value}
    return "workbook.invalid", {"value": shown_value}


def _value_at(data, path: list):
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _is_choice(value) -> bool:
    return isinstance(value, dict) and "choice" in value


def _pcr_checked(reader: _Reader, inventory: Inventory, pcr: PCR | None) -> None:
    """422 naming the cell behind every rule of its PCR the inventory breaks; a PCR checks what the schema cannot.
    Each error keeps the PCR's code and parameters (pcr_rules FieldError), for the page to word."""
    try:
        validate_inventory(inventory, pcr or default_registry().get(inventory.pcr.id, inventory.pcr.version))
    except InventoryInvalid as exc:
        for e in exc.errors:
            params = getattr(e, "params", None) or {}
            where = reader.item_rows.get(params.get("item_id", "")) if e.loc == "items" else None  # a missing item
            reader.error(e.loc, e.message, where, getattr(e, "code", ""), params)
        raise Unprocessable("the inventory does not satisfy its PCR", reader.errors) from None


def _quality(values: dict) -> dict:
    """The data-quality scores of a row (dq_* columns) by indicator; all four or none are expected."""
    return {c.removeprefix("dq_"): values[c] for c in DQ_COLUMNS if values.get(c) is not None}


def _captive_units(reader: _Reader, data: dict) -> None:
    """The sheet of the plant's own generating units (templates of PCRs with captive power)."""
    units = []
    for _row, values, cell in reader.table("Captive units", optional=True) or []:
        if all(v is None for v in values.values()):
            continue
        i = len(units)
        _point_to_cells(reader, f"captive_power.units[{i}]", CAPTIVE_COLUMNS, cell)
        reader.cells[f"captive_power.units[{i}]"] = cell["name"]
        read = reader.typed(f"captive_power.units[{i}]", values, cell, [c for c in CAPTIVE_COLUMNS if c in cell])
        unit = {c: read[c] for c in CAPTIVE_COLUMNS if c not in DQ_COLUMNS and c in read}
        quality = _quality(read)
        if quality:
            unit["data_quality"] = quality
        units.append(unit)
    supplied = data.pop("captive_power", {}) if isinstance(data.get("captive_power"), dict) else {}
    if units or supplied:
        data["captive_power"] = {**supplied, "units": units}


def field_path(parts) -> str:
    """('items', 0, 'parameters', 'purity', 'amount') -> 'items[0].parameters.purity.amount', as the PCR names it."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _plain(value):
    """A cell's value, text trimmed; an empty text is an empty cell."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _put(data: dict, path: str, value) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[leaf] = value


# --- the messages of a workbook, in the reader's language -----------------------------------------------------------


def worded(code: str, params: dict, lang: str) -> str:
    """A `workbook.*` message in `lang`: the allowed values of a closed set in that language, a row or a column by
    its heading, an item by its name."""
    t = messages.catalogue(lang)
    separator = t("workbook.list_separator")
    values = {k: v for k, v in params.items() if isinstance(v, str | int | float)}
    if "allowed" in params:
        values["allowed"] = separator.join(shown(params["set"], c, lang or "en") for c in params["allowed"])
    if "row" in params:
        values["row"] = heading(params["row"], lang)
    if "columns" in params:
        values["columns"] = separator.join(heading(c, lang) for c in params["columns"])
    if "item" in params:
        values["item"] = params.get("name_zh" if lang == "zh" else "name") or params["item"]
    return t(code, **values)


def message(error: dict, lang: str) -> str:
    """An error of a workbook in the reader's language: the reading's own by its code, a PCR's or the
    submission's by theirs (services.messages); the English reason of one without a code."""
    code = error.get("code") or ""
    if code.startswith("workbook."):
        return worded(code, error.get("params") or {}, lang)
    return render_problem(error, lang)


def place(error: dict, lang: str) -> str:
    """Where an error is, as the reader finds it: 工作表「Items 活动数据」F4."""
    t = messages.catalogue(lang)
    if not error.get("sheet"):
        return ""
    if not (error.get("row") and error.get("column")):
        return t("workbook.place_sheet", sheet=error["sheet"])
    return t("workbook.place", sheet=error["sheet"], cell=f"{error['column']}{error['row']}")


def file_message(error: dict, lang: str) -> str:
    """A refusal of the file itself (infra.workbooks: too large, not XLSX, a DTD…) in `lang`."""
    code = error.get("code") or ""
    t = messages.catalogue(lang)
    if code in t.messages:
        return t(code, **{k: v for k, v in (error.get("params") or {}).items() if isinstance(v, str | int | float)})
    return error.get("reason", "")


# --- an upload ------------------------------------------------------------------------------------------------------


def _same_name(one: str, other: str) -> bool:
    return _folded(one) == _folded(other)


def linked_facility(
    session: Session, principal: Principal, inventory: Inventory, reader: _Reader, chosen: Facility | None
) -> Facility | None:
    """The facility the inventory is of: the one chosen on the upload page, whose name must be the workbook's;
    else the organisation's facility of the workbook's name. A workbook whose certificates have no facility to be
    retired to is refused: retired to the product alone, they could not be taken over by the next version, which
    names its facility (issue 18, defect 3)."""
    named = inventory.facility.name
    where = reader.cells.get("facility.name")
    if chosen is not None:
        if _same_name(chosen.name, named):
            return chosen
        reader.refuse("facility_id", "workbook.facility_disagrees", where, name=named, chosen=chosen.name)
        raise Unprocessable("the workbook names another facility than the one chosen", reader.errors)
    matches = [f for f in list_owned(session, Facility, principal) if _same_name(f.name, named)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        reader.refuse("facility.name", "workbook.facility_ambiguous", where, name=named)
        raise Unprocessable("several facilities have the workbook's facility name", reader.errors)
    if inventory.green_certificates:
        reader.refuse("facility.name", "workbook.facility_unknown", where, name=named)
        raise Unprocessable("the workbook's facility is not one of the organisation's", reader.errors)
    return None


def file_name(name: str | None) -> str:
    """The uploaded file's name as kept: no path, no control characters, bounded."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return (name or "inventory.xlsx")[:MAX_FILE_NAME]


def keep_workbook(content: bytes):
    """The workbook's bytes in the object store, content-addressed as evidence documents are
    (workbooks/{sha256}.xlsx); 503 before anything is submitted when the store does not answer."""
    try:
        return object_store().put(content, "xlsx", prefix=WORKBOOK_PREFIX)
    except StorageError as exc:
        raise labels.StorageUnavailable(
            f"the workbook could not be stored ({exc}); nothing was submitted",
            [{"field": "file", "reason": "storage unavailable", "code": "workbook.file.storage", "params": {}}],
        ) from None


def submit_upload(
    session: Session,
    principal: Principal,
    product_id: uuid.UUID,
    content: bytes,
    facility_id: uuid.UUID | None = None,
    name: str | None = None,
) -> InventoryRecord:
    """A filled template as a new inventory version of the product: ownership is checked before the file is read;
    the facility the workbook names is linked (its certificates go to that facility's pool); the original
    workbook is kept for the verifier. Errors of the submission that concern a field (a certificate already
    retired) name the workbook's cell too."""
    owned(session, Product, product_id, principal)
    chosen = owned(session, Facility, facility_id, principal) if facility_id is not None else None
    inventory, reader = read_workbook(content)
    facility = linked_facility(session, principal, inventory, reader, chosen)
    stored = keep_workbook(content)
    try:
        record = inventories.submit_inventory(
            session,
            principal,
            product_id,
            inventory,
            facility.id if facility else None,
            source="excel",
            source_file=(stored.key, file_name(name)),
        )
    except (Unprocessable, Conflict) as exc:
        exc.errors = _located(reader, exc.errors)
        raise
    except InventoryInvalid as exc:  # the checks the reading made, made again at the submission
        errors = _located(reader, [e.entry() for e in exc.errors])
        raise Unprocessable("the inventory does not satisfy its PCR", errors) from None
    return record


def _located(reader: _Reader, errors: list[dict]) -> list[dict]:
    """Errors of the submission (`inventory.green_certificates[0].serial`) with the cell behind their field."""
    located = []
    for error in errors:
        field = str(error.get("field", "")).removeprefix("inventory.")
        where = reader.cell_of(field) if field else None
        if where and "sheet" not in error:
            sheet, row, column = where
            error = {**error, "sheet": sheet, "row": row, "column": column}
            error["heading"] = reader.heading(sheet, row, column)
        located.append(error)
    return located


def source_workbook(record: InventoryRecord) -> bytes:
    """The workbook an inventory version was uploaded as (the caller has authorised the reader). NotFound for a
    version entered otherwise; 503 when the store does not answer or the bytes do not match their key."""
    if not record.source_file_key:
        raise NotFound("this inventory version was not uploaded as a workbook")
    try:
        return object_store().get(record.source_file_key)
    except StorageError as exc:
        raise labels.StorageUnavailable(f"the workbook could not be read ({exc})") from None


def source_download_name(record: InventoryRecord) -> str:
    """An ASCII file name for Content-Disposition (letters, digits, . _ -), ending in .xlsx."""
    stem = unicodedata.normalize("NFKD", record.source_file_name or "")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:100]
    stem = stem.removesuffix(".xlsx").removesuffix(".XLSX") or f"inventory-v{record.version}"
    return f"{stem}.xlsx"
