"""The Excel template of a PCR (openpyxl) and the reading of a filled one.

Every error of a filled template names its sheet, row and column, whether it comes from the file's shape, the
inventory schema or the PCR's rules.
"""

import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, NamedTuple

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from pydantic import ValidationError

from footprint_api.core.errors import Unprocessable
from footprint_api.infra import workbooks
from pcr_rules import InventoryInvalid, PCRNotFound, default_registry, validate_inventory
from pcr_rules.inventory import DataQuality, Inventory
from pcr_rules.models import PCR, ParameterSpec

HEADER = Font(bold=True)
REQUIRED = PatternFill("solid", fgColor="FFF2CC")

# Sheet names and captions are bilingual: English, by which the file is read (and which templates downloaded
# before the Chinese captions still have), then Chinese for the person filling it in.
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
}
GENERAL_FIELDS = [  # (label, inventory path, example)
    ("Product name", "product.name", ""),
    ("Product model", "product.model", ""),
    ("GTIN", "product.gtin", ""),
    ("Manufacturer", "manufacturer", ""),
    ("Facility name", "facility.name", ""),
    ("Province", "facility.province", ""),
    ("Grid region", "facility.grid_region", "North, Northeast, East, Central, Northwest, South, Southwest"),
    ("Reference period start", "reference_period.start", "YYYY-MM-DD"),
    ("Reference period end", "reference_period.end", "YYYY-MM-DD"),
    ("Production amount", "production.amount", "output of the reference product in the period"),
    ("Production unit", "production.unit", ""),
    ("Main product value (CNY)", "main_product_value_cny", "for economic allocation only"),
]
# Rows only the templates of PCRs with captive power have (and templates made before them lack)
CAPTIVE_FIELDS = [
    (
        "Captive electricity supplied (MWh)",
        "captive_power.supplied_mwh",
        "of the consumption, MWh from the plant's own units (sheet Captive units)",
    )
]
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
]
OPTIONAL_COLUMNS = set(DQ_COLUMNS)  # absent from templates made before they were added
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
    "data_source": "数据来源（primary 初级 / secondary 次级）",
    "dq_technological": "技术代表性（1 最好–5 最差）",
    "dq_geographical": "地理代表性（1–5）",
    "dq_temporal": "时间代表性（1–5）",
    "dq_precision": "精确度（1–5）",
    "relative_sd": "不确定性（相对标准差）",
    "supplier_pcf_kg_co2e_per_unit": "供应商碳足迹（kg CO2e/单位）",
    "note": "备注",
    "parameter": "参数代码",
    "choice": "选项（从列表中选择代码）",
    "serial": "绿证编号",
    "amount_mwh": "电量（MWh）",
    "technology": "发电类型",
    "generation_month": "发电月份（YYYY-MM）",
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
    "fuel": "燃料代码",
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
HELP_CHINESE = {
    "do not change": "请勿修改",
    "YYYY-MM-DD": "年-月-日",
    "output of the reference product in the period": "核算期内该产品的产量",
    "for economic allocation only": "仅经济价值分配时填写",
    "North, Northeast, East, Central, Northwest, South, Southwest": "华北、东北、华东、华中、西北、南方、西南（填英文）",
    "of the consumption, MWh from the plant's own units (sheet Captive units)": "电耗中来自自备电厂的电量（见 Captive units 表）",
}
WRAP = Alignment(wrap_text=True, vertical="top")
# Excel's bounds of a data validation: a list written in the formula, the input message and its title
MAX_LIST_FORMULA, MAX_PROMPT, MAX_PROMPT_TITLE = 255, 255, 32
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


def caption(key: str) -> str:
    """'amount' -> 'amount\n数量': the English key on the first line, read back by `key_of`."""
    return f"{key}\n{CHINESE[key]}" if key in CHINESE else key


def key_of(value) -> str:
    """The English key of a caption cell (its first line); a template of the old layout has only that."""
    return str(value or "").strip().split("\n", 1)[0].strip()


def _help(text: str) -> str:
    return f"{text}\n{HELP_CHINESE[text]}" if text in HELP_CHINESE else text


def template(pcr: PCR) -> bytes:
    book = Workbook()
    _general_sheet(book, pcr)
    _items_sheet(book, pcr)
    _parameter_sheets(book, pcr)
    for name in ("Certificates", "Co-products", "Measured emissions"):
        sheet = book.create_sheet(SHEETS[name])
        sheet.append([caption(c) for c in TABLES[name]])
        _style(sheet)
    if pcr.electricity.captive_fuels:
        units = book.create_sheet(SHEETS["Captive units"])
        units.append([caption(c) for c in CAPTIVE_COLUMNS])
        fuels = DataValidation(type="list", formula1=f'"{",".join(pcr.electricity.captive_fuels)}"', allow_blank=True)
        units.add_data_validation(fuels)
        fuels.add("B2:B50")
        _style(units)
    _guide_sheet(book, pcr)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _general_sheet(book: Workbook, pcr: PCR) -> None:
    general = book.active
    general.title = SHEETS["Inventory"]
    general.append([caption("field"), caption("value"), caption("help")])
    general.append([caption("PCR"), f"{pcr.id}", _help("do not change")])
    general.append([caption("PCR version"), pcr.version, _help("do not change")])
    for label, path, help_text in GENERAL_FIELDS:
        if path == "production.unit":
            help_text = (
                f"declared unit: {pcr.declared_unit.amount:g} {pcr.declared_unit.unit}\n"
                f"声明单位：{pcr.declared_unit.amount:g} {pcr.declared_unit.unit}"
            )
        general.append([caption(label), None, _help(help_text)])
    if pcr.electricity.captive_fuels:
        for label, _path, help_text in CAPTIVE_FIELDS:
            general.append([caption(label), None, _help(help_text)])
    _style(general)
    general.column_dimensions["C"].width = 44


def _items_sheet(book: Workbook, pcr: PCR) -> None:
    items = book.create_sheet(SHEETS["Items"])
    items.append([caption(c) for c in ITEM_COLUMNS])
    for spec in pcr.items:
        items.append(
            [
                spec.id,
                f"{spec.label}\n{spec.label_zh}" if spec.label_zh else spec.label,  # both languages, as on Parameters
                spec.unit,
                "yes" if spec.required else "",
                None,
                spec.unit,
                "primary",
                *[None] * len(DQ_COLUMNS),
                None,
                None,
                None,
            ]
        )
        if spec.required:
            for cell in items[items.max_row]:
                cell.fill = REQUIRED
    last = max(2, items.max_row)
    source = DataValidation(type="list", formula1='"primary,secondary"', allow_blank=True)
    items.add_data_validation(source)
    source.add(f"G2:G{last}")
    scores = DataValidation(
        type="whole",
        operator="between",
        formula1="1",
        formula2="5",
        allow_blank=True,
        error="1 (best) .. 5 (worst) / 1（最好）至 5（最差）",
        showErrorMessage=True,
    )
    items.add_data_validation(scores)
    first_dq, last_dq = (get_column_letter(ITEM_COLUMNS.index(c) + 1) for c in (DQ_COLUMNS[0], DQ_COLUMNS[-1]))
    scores.add(f"{first_dq}2:{last_dq}{last}")
    _style(items)


def _parameter_sheets(book: Workbook, pcr: PCR) -> None:
    """One row per parameter of each item (sheet Parameters) and, where the PCR has them, per parameter of the
    product system (sheet Product parameters, only in templates of such PCRs)."""
    parameters = book.create_sheet(SHEETS["Parameters"])
    parameters.append([caption(c) for c in PARAMETER_COLUMNS])
    for spec in pcr.items:
        for parameter in spec.parameters:
            _parameter_row(parameters, [spec.id], parameter)
    _style(parameters)
    if pcr.parameters:
        product = book.create_sheet(SHEETS["Product parameters"])
        product.append([caption(c) for c in PRODUCT_PARAMETER_COLUMNS])
        for parameter in pcr.parameters:
            _parameter_row(product, [], parameter)
        _style(product)


def _parameter_row(sheet, leading: list, parameter: ParameterSpec) -> None:
    """A parameter's row: a number's PCR unit, or for a choice its codes as a list to pick from in the `choice` cell
    (the PCR's default where the cell is left empty)."""
    label = f"{parameter.label}\n{parameter.label_zh}" if parameter.label_zh else parameter.label
    if not parameter.is_choice:
        sheet.append([*leading, parameter.id, label, parameter.unit, None, parameter.unit, None])
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
        error="choose a code of the list / 请从列表中选择",
        promptTitle=parameter.id[:MAX_PROMPT_TITLE],
        prompt=_choice_prompt(parameter)[:MAX_PROMPT],
        showInputMessage=True,
    )
    sheet.add_data_validation(choices)
    choices.add(f"{get_column_letter(len(leading) + PRODUCT_PARAMETER_COLUMNS.index('choice') + 1)}{sheet.max_row}")


def _choice_prompt(parameter: ParameterSpec) -> str:
    """A line per code with its name ('VSS 上插棒自焙阳极电解槽'), then the default an empty cell takes: the input
    message Excel shows when the cell is selected."""
    lines = [f"{choice.value} {choice.label_zh or choice.label}" for choice in parameter.choices]
    if parameter.default is not None:
        lines.append(f"empty 空: {parameter.default}")
    return "\n".join(lines)


def _choice_guides(pcr: PCR) -> list[str]:
    """The Guide's line for each choice parameter: the sheet it is stated in, its codes with both names, the
    default an empty cell takes."""
    stated = [("Product parameters", p) for p in pcr.parameters]
    stated += [("Parameters", p) for spec in pcr.items for p in spec.parameters]
    lines = []
    for sheet, parameter in stated:
        if not parameter.is_choice:
            continue
        codes = "; ".join(
            f"{c.value} = {c.label}" + (f" / {c.label_zh}" if c.label_zh else "") for c in parameter.choices
        )
        default = f" (empty 空: {parameter.default})" if parameter.default is not None else ""
        name = f"{parameter.label} / {parameter.label_zh}" if parameter.label_zh else parameter.label
        lines.append(f"{sheet}, {parameter.id} ({name}): {codes}{default}")
    return lines


def _guide_sheet(book: Workbook, pcr: PCR) -> None:
    guide = book.create_sheet(SHEETS["Guide"])
    for line in [
        pcr.title,
        f"{pcr.id} {pcr.version}",
        f"Declared unit: {pcr.declared_unit.description}",
        "Fill the yellow rows of Items (mandatory) and any other item that applies; leave unused items empty.",
        "请填写 Items 表中的黄色行（必填项目）以及其他适用的项目；不适用的项目留空。",
        "Amounts are totals of the reference period, in the unit of the 'unit' column.",
        "数量为核算期内的总量，单位以 unit 列为准（可改为同量纲的其他单位，如 MWh）。",
        "Data quality: dq_* columns, 1 (best) to 5 (worst) each; give all four for an item or none.",
        "数据质量：dq_* 四列各填 1（最好）至 5（最差）；同一项目四项全填或全不填。",
        "Parameters: a number in 'amount' and 'unit'; a choice (e.g. a technology) as one code of the list in 'choice'.",
        "参数：数值填在 amount 和 unit 列；选择型参数（如技术类型）在 choice 列从列表中选一个代码。",
        *_choice_guides(pcr),
        "Certificates: one row per batch: its first serial, its last serial (empty: amount_mwh "
        "certificates from the first), and the MWh this product draws from it (1 GEC = 1 MWh).",
        "绿证：每批一行：首个编号、末位编号（空则为自首个编号起 amount_mwh 个）及本产品使用的电量（1 个绿证 = 1 MWh）。",
        "Measured emissions: name the monitored source and the item codes it covers (e.g. clinker, "
        "kiln_coal); the other items stay calculated.",
        "实测排放：填写监测排放源及其覆盖的项目代码（如 clinker, kiln_coal）；其余项目仍按计算。",
        "Keep the sheet names and the first line of each caption: the file is read by them.",
        "请勿修改工作表名称和各列标题的第一行（英文），系统据此读取文件。",
        *pcr.notes,
    ]:
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

    def __init__(self, sheets: dict[str, list[tuple]]):
        self.sheets = sheets
        self.cells: dict[str, tuple[str, int, str]] = {}
        self.errors: list[dict] = []

    def cell_of(self, loc: str) -> tuple[str, int, str] | None:
        while loc:
            if loc in self.cells:
                return self.cells[loc]
            loc = loc.rsplit(".", 1)[0] if "." in loc else (loc.rsplit("[", 1)[0] if "[" in loc else "")
        return None

    def error(self, loc: str, reason: str, where: tuple[str, int, str] | None = None) -> None:
        sheet, row, column = where or self.cell_of(loc) or (self.title("Inventory"), 1, "A")
        self.errors.append({"field": loc, "reason": reason, "sheet": sheet, "row": row, "column": column})

    def title(self, name: str) -> str:
        """The sheet's name in this workbook: bilingual, or English only in a template of the old layout."""
        for title in (SHEETS[name], name):
            if title in self.sheets:
                return title
        return SHEETS[name]

    def sheet(self, name: str) -> _Sheet | None:
        title = self.title(name)
        if title not in self.sheets:
            self.error(name, f"sheet {title!r} is missing; start from the PCR's template", (title, 1, "A"))
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
                self.error(path, f"row {label!r} is missing", (sheet.title, sheet.max_row + 1, "A"))
                continue
            self._value(data, sheet, row, path)
        for label, path, _ in CAPTIVE_FIELDS:  # only in templates of PCRs with captive power
            if label in by_label:
                self._value(data, sheet, by_label[label], path)

    def _value(self, data: dict, sheet: "_Sheet", row: int, path: str) -> None:
        self.cells[path] = (sheet.title, row, "B")
        value = _plain(sheet.value(row, 2))
        if value is not None:
            _put(data, path, str(value) if path in ("pcr.version", "product.gtin") else value)

    def table(self, name: str, optional: bool = False):
        if optional and self.title(name) not in self.sheets:
            return
        sheet = self.sheet(name)
        if sheet is None:
            return
        header = [key_of(value) for value in (sheet.rows[0] if sheet.rows else ())]
        missing = [c for c in TABLES[name] if c not in header and c not in OPTIONAL_COLUMNS]
        if missing:
            self.error(name, f"columns missing: {missing}", (sheet.title, 1, "A"))
            return
        columns = {c: header.index(c) + 1 for c in TABLES[name] if c in header}
        for row in range(2, sheet.max_row + 1):
            values = {c: _plain(sheet.value(row, i)) for c, i in columns.items()}
            cell = {c: (sheet.title, row, get_column_letter(i)) for c, i in columns.items()}
            yield row, values, cell


def read_workbook(content: bytes) -> tuple[Inventory, "_Reader"]:
    """The inventory of a filled template. The workbook is inspected and read within LIMITS before any of it is
    interpreted (footprint_api.infra.workbooks): a crafted file answers 413 or 422 at once instead of costing minutes
    and a gigabyte (issue 11, item 5)."""
    reader = _Reader(workbooks.read_values(content, LIMITS))
    data: dict[str, Any] = {"items": [], "green_certificates": [], "co_products": [], "measured_emissions": []}
    reader.general(data)
    pcr = _named_pcr(data)
    index_of_item = _items(reader, data)
    _parameters(reader, data, index_of_item, pcr)
    _product_parameters(reader, data, pcr)
    for sheet in LIST_SHEETS:
        _list_rows(reader, data, sheet)
    _captive_units(reader, data)
    if reader.errors:
        raise Unprocessable("the workbook does not follow the template", reader.errors)
    inventory = _schema_checked(reader, data)
    _pcr_checked(reader, inventory)
    return inventory, reader


def _named_pcr(data: dict) -> PCR | None:
    """The PCR version the workbook names, whose parameters say which rows are choices; None for one the registry
    does not have (refused with the PCR's checks)."""
    ref = data.get("pcr") or {}
    if ref.get("id") is None or ref.get("version") is None:
        return None  # a missing row, named by the reading
    try:
        return default_registry().get(str(ref["id"]), str(ref["version"]))
    except PCRNotFound:
        return None


def _items(reader: _Reader, data: dict) -> dict[str, int]:
    """The Items rows with an amount (an empty one is an item that does not apply); returns each item's index."""
    index_of_item: dict[str, int] = {}
    for _row, values, cell in reader.table("Items") or []:
        if values["amount"] is None:
            continue
        i = len(data["items"])
        index_of_item[str(values["item"])] = i
        entry = _item_entry(values)
        data["items"].append(entry)
        _item_cells(reader, i, entry, cell)
    return index_of_item


def _item_entry(values: dict) -> dict:
    """An Items row as an inventory item: its filled cells, and its data-quality rating where one is given."""
    entry = {
        k: values[k]
        for k in ("item", "amount", "unit", "data_source", "relative_sd", "supplier_pcf_kg_co2e_per_unit", "note")
        if values[k] is not None
    }
    quality = _quality(values)
    if quality:  # all four or none: a partial rating is named by its empty cells
        entry["data_quality"] = quality
    return entry


def _item_cells(reader: _Reader, i: int, entry: dict, cell: dict) -> None:
    """Every field of item i points to its cell, so that an error of the schema or the PCR names the cell."""
    for key in entry:
        reader.cells[f"items[{i}].{key}"] = cell.get(key, cell["amount"])
    for column in DQ_COLUMNS:
        if column in cell:
            reader.cells[f"items[{i}].data_quality.{column.removeprefix('dq_')}"] = cell[column]
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
            reader.error(f"parameters.{values['item']}", "parameter of an item without an amount", cell["item"])
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
    """A filled parameter row: the parameter, its value as the inventory gives it, the column holding it."""

    name: str
    value: dict  # {"choice": code} or {"amount": number, "unit": unit}
    column: str  # choice | amount


def _given(values: dict, spec: ParameterSpec | None) -> _Given | None:
    """A choice parameter's code (from `choice`, or typed into `amount`); else a number in `amount` (without a
    unit a ratio, dimensionless); a code in `choice` for a number is passed on, for the PCR to refuse at its cell.
    None for an empty row."""
    name, amount, code = str(values["parameter"]), values.get("amount"), values.get("choice")
    if spec is not None and spec.is_choice:
        column = "choice" if code is not None else "amount"
        chosen = code if code is not None else amount
        return None if chosen is None else _Given(name, {"choice": str(chosen)}, column)
    if amount is not None:
        return _Given(name, {"amount": amount, "unit": values.get("unit") or "dimensionless"}, "amount")
    return None if code is None else _Given(name, {"choice": str(code)}, "choice")


def _value_cell(cell: dict, given: _Given | None, spec: ParameterSpec | None) -> tuple[str, int, str]:
    """The cell an error of the parameter names: its value's, or for an empty row the one to fill (a template
    made before the `choice` column has only `amount`)."""
    column = given.column if given else ("choice" if spec is not None and spec.is_choice else "amount")
    return cell.get(column, cell["amount"])


def _parameter(reader: _Reader, parameters: dict, loc: str, given: _Given, cell: dict) -> None:
    """A filled parameter row into `parameters`, each field of its value pointing to its cell."""
    parameters[given.name] = given.value
    reader.cells[f"{loc}.{given.name}"] = cell[given.column]
    for key in given.value:  # choice, or amount and unit
        reader.cells[f"{loc}.{given.name}.{key}"] = cell[given.column if key == "choice" else key]


def _certificate(entry: dict) -> dict:
    """A certificate batch: serials and months are text, though a spreadsheet may hold them as numbers."""
    for text in ("serial", "generation_month"):
        if text in entry:
            entry[text] = str(entry[text])
    return entry


def _co_product(entry: dict) -> dict:
    """A co-product is taken as filled in."""
    return entry


def _measured_emission(entry: dict) -> dict:
    """A measured emission: 'clinker, kiln_coal' in `covers` is the list of item codes its source covers."""
    if "covers" in entry:
        entry["covers"] = [part.strip() for part in str(entry["covers"]).split(",") if part.strip()]
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
        # a workbook of an older template may lack an optional column (serial_last, source, covers): absent, not 500
        data[sheet.key].append(sheet.entry({c: values[c] for c in sheet.columns if values.get(c) is not None}))
        _point_to_cells(reader, f"{sheet.key}[{i}]", sheet.columns, cell)


def _point_to_cells(reader: _Reader, entry: str, columns, cell: dict) -> None:
    """Each field of a list entry points to its cell, and the entry itself to its first: errors name the cell."""
    for column in columns:
        if column in cell:
            reader.cells[f"{entry}.{column}"] = cell[column]
    first = next((cell[c] for c in columns if c in cell), None)
    if first is not None:
        reader.cells[entry] = first


def _schema_checked(reader: _Reader, data: dict) -> Inventory:
    """The inventory the cells make, or 422 naming the cell of every value the schema refuses."""
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        for e in schema_errors(exc, data):
            reader.error(field_path(e["loc"]), e["msg"])
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


def _value_at(data, path: list):
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _is_choice(value) -> bool:
    return isinstance(value, dict) and "choice" in value


def _pcr_checked(reader: _Reader, inventory: Inventory) -> None:
    """422 naming the cell behind every rule of its PCR the inventory breaks; a PCR checks what the schema cannot."""
    try:
        validate_inventory(inventory, default_registry().get(inventory.pcr.id, inventory.pcr.version))
    except InventoryInvalid as exc:
        for e in exc.errors:
            reader.error(e.loc, e.message)
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
        unit = {c: values[c] for c in CAPTIVE_COLUMNS if c not in DQ_COLUMNS and values.get(c) is not None}
        for text in ("name", "fuel", "fuel_unit"):
            if text in unit:
                unit[text] = str(unit[text])
        quality = _quality(values)
        if quality:
            unit["data_quality"] = quality
        units.append(unit)
        for column, where in cell.items():
            reader.cells[f"captive_power.units[{i}].{column}"] = where
        reader.cells[f"captive_power.units[{i}]"] = cell["name"]
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
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _put(data: dict, path: str, value) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[leaf] = value
