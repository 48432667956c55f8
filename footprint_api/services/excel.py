"""The Excel template of a PCR (openpyxl) and the reading of a filled one.

Every error of a filled template names its sheet, row and column, whether it comes from the file's shape, the
inventory schema or the PCR's rules.
"""

import io
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from pydantic import ValidationError

from footprint_api.errors import Unprocessable
from pcr_rules import InventoryInvalid, default_registry, validate_inventory
from pcr_rules.inventory import Inventory
from pcr_rules.models import PCR

HEADER = Font(bold=True)
REQUIRED = PatternFill("solid", fgColor="FFF2CC")

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
ITEM_COLUMNS = ["item", "label", "PCR unit", "required", "amount", "unit", "data_source", "relative_sd",
                "supplier_pcf_kg_co2e_per_unit", "note"]
PARAMETER_COLUMNS = ["item", "parameter", "label", "PCR unit", "amount", "unit"]
CERTIFICATE_COLUMNS = ["serial", "amount_mwh", "technology", "generation_month", "province", "plant", "instrument"]
CO_PRODUCT_COLUMNS = ["name", "amount", "unit", "economic_value_cny"]
MEASURED_COLUMNS = ["gas", "amount", "unit", "method", "relative_sd"]
TABLES = {"Items": ITEM_COLUMNS, "Parameters": PARAMETER_COLUMNS, "Certificates": CERTIFICATE_COLUMNS,
          "Co-products": CO_PRODUCT_COLUMNS, "Measured emissions": MEASURED_COLUMNS}


def template(pcr: PCR) -> bytes:
    book = Workbook()
    general = book.active
    general.title = "Inventory"
    general.append(["field", "value", "help"])
    general.append(["PCR", f"{pcr.id}", "do not change"])
    general.append(["PCR version", pcr.version, "do not change"])
    for label, path, help_text in GENERAL_FIELDS:
        if path == "production.unit":
            help_text = f"declared unit: {pcr.declared_unit.amount:g} {pcr.declared_unit.unit}"
        general.append([label, None, help_text])
    _style(general)

    items = book.create_sheet("Items")
    items.append(ITEM_COLUMNS)
    for spec in pcr.items:
        items.append([spec.id, spec.label, spec.unit, "yes" if spec.required else "", None, spec.unit,
                      "primary", None, None, None])
        if spec.required:
            for cell in items[items.max_row]:
                cell.fill = REQUIRED
    source = DataValidation(type="list", formula1='"primary,secondary"', allow_blank=True)
    items.add_data_validation(source)
    source.add(f"G2:G{max(2, items.max_row)}")
    _style(items)

    parameters = book.create_sheet("Parameters")
    parameters.append(PARAMETER_COLUMNS)
    for spec in pcr.items:
        for parameter in spec.parameters:
            parameters.append([spec.id, parameter.id, parameter.label, parameter.unit, None, parameter.unit])
    _style(parameters)
    for name in ("Certificates", "Co-products", "Measured emissions"):
        sheet = book.create_sheet(name)
        sheet.append(TABLES[name])
        _style(sheet)
    guide = book.create_sheet("Guide")
    for line in [pcr.title, f"{pcr.id} {pcr.version}", f"Declared unit: {pcr.declared_unit.description}",
                 "Fill the yellow rows of Items (mandatory) and any other item that applies; leave unused items "
                 "empty.", "Amounts are totals of the reference period, in the unit of the 'unit' column.",
                 "Certificates: one row per retired green certificate serial (1 GEC = 1 MWh).", *pcr.notes]:
        guide.append([line])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _style(sheet) -> None:
    for cell in sheet[1]:
        cell.font = HEADER
    for index, _ in enumerate(sheet[1], start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 22
    sheet.freeze_panes = "A2"


class _Reader:
    """Reads a filled template into inventory data and remembers the cell behind every field."""

    def __init__(self, book):
        self.book = book
        self.cells: dict[str, tuple[str, int, str]] = {}
        self.errors: list[dict] = []

    def cell_of(self, loc: str) -> tuple[str, int, str] | None:
        while loc:
            if loc in self.cells:
                return self.cells[loc]
            loc = loc.rsplit(".", 1)[0] if "." in loc else (loc.rsplit("[", 1)[0] if "[" in loc else "")
        return None

    def error(self, loc: str, reason: str, where: tuple[str, int, str] | None = None) -> None:
        sheet, row, column = where or self.cell_of(loc) or ("Inventory", 1, "A")
        self.errors.append({"field": loc, "reason": reason, "sheet": sheet, "row": row, "column": column})

    def sheet(self, name: str):
        if name not in self.book.sheetnames:
            self.error(name, f"sheet {name!r} is missing; start from the PCR's template", (name, 1, "A"))
            return None
        return self.book[name]

    def general(self, data: dict) -> None:
        sheet = self.sheet("Inventory")
        if sheet is None:
            return
        by_label = {}
        for row in range(2, sheet.max_row + 1):
            by_label[str(sheet.cell(row, 1).value or "").strip()] = row
        for label, path in [("PCR", "pcr.id"), ("PCR version", "pcr.version")] + [(lbl, p) for lbl, p, _ in
                                                                                 GENERAL_FIELDS]:
            row = by_label.get(label)
            if row is None:
                self.error(path, f"row {label!r} is missing", ("Inventory", sheet.max_row + 1, "A"))
                continue
            self.cells[path] = ("Inventory", row, "B")
            value = _plain(sheet.cell(row, 2).value)
            if value is not None:
                _put(data, path, str(value) if path in ("pcr.version", "product.gtin") else value)

    def table(self, name: str):
        sheet = self.sheet(name)
        if sheet is None:
            return
        header = [str(c.value or "").strip() for c in sheet[1]]
        missing = [c for c in TABLES[name] if c not in header]
        if missing:
            self.error(name, f"columns missing: {missing}", (name, 1, "A"))
            return
        columns = {c: header.index(c) + 1 for c in TABLES[name]}
        for row in range(2, sheet.max_row + 1):
            values = {c: _plain(sheet.cell(row, i).value) for c, i in columns.items()}
            cell = {c: (name, row, get_column_letter(i)) for c, i in columns.items()}
            yield row, values, cell


def read_workbook(content: bytes) -> tuple[Inventory, "_Reader"]:
    try:
        book = load_workbook(io.BytesIO(content), data_only=True, read_only=False)
    except Exception as exc:
        raise Unprocessable("the file is not an Excel workbook (.xlsx)",
                            [{"field": "file", "reason": str(exc) or type(exc).__name__}]) from None
    reader = _Reader(book)
    data: dict[str, Any] = {"items": [], "green_certificates": [], "co_products": [], "measured_emissions": []}
    reader.general(data)
    index_of_item: dict[str, int] = {}
    for _row, values, cell in reader.table("Items") or []:
        if values["amount"] is None:
            continue
        i = len(data["items"])
        index_of_item[str(values["item"])] = i
        entry = {k: values[k] for k in ("item", "amount", "unit", "data_source", "relative_sd",
                                        "supplier_pcf_kg_co2e_per_unit", "note") if values[k] is not None}
        data["items"].append(entry)
        for key in entry:
            reader.cells[f"items[{i}].{key}"] = cell[key]
        reader.cells[f"items[{i}]"] = cell["amount"]
    for _row, values, cell in reader.table("Parameters") or []:
        i = index_of_item.get(str(values["item"]))
        if i is not None:  # a missing required parameter points to its (empty) row
            reader.cells[f"items[{i}].parameters.{values['parameter']}"] = cell["amount"]
        if values["amount"] is None:
            continue
        if i is None:
            reader.error(f"parameters.{values['item']}", "parameter of an item without an amount", cell["item"])
            continue
        name = str(values["parameter"])
        data["items"][i].setdefault("parameters", {})[name] = {"amount": values["amount"],
                                                               "unit": values["unit"] or "dimensionless"}
        reader.cells[f"items[{i}].parameters.{name}"] = cell["amount"]
        reader.cells[f"items[{i}].parameters.{name}.unit"] = cell["unit"]
        reader.cells[f"items[{i}].parameters.{name}.amount"] = cell["amount"]
    for name, key, columns in [("Certificates", "green_certificates", CERTIFICATE_COLUMNS),
                               ("Co-products", "co_products", CO_PRODUCT_COLUMNS),
                               ("Measured emissions", "measured_emissions", MEASURED_COLUMNS)]:
        for _row, values, cell in reader.table(name) or []:
            if all(v is None for v in values.values()):
                continue
            i = len(data[key])
            entry = {c: values[c] for c in columns if values[c] is not None}
            if key == "green_certificates":
                for text in ("serial", "generation_month"):
                    if text in entry:
                        entry[text] = str(entry[text])
            data[key].append(entry)
            for column in columns:
                reader.cells[f"{key}[{i}].{column}"] = cell[column]
            reader.cells[f"{key}[{i}]"] = cell[columns[0]]
    if reader.errors:
        raise Unprocessable("the workbook does not follow the template", reader.errors)
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            reader.error(_loc(e["loc"]), e["msg"])
        raise Unprocessable("the workbook has invalid values", reader.errors) from None
    try:
        validate_inventory(inventory, default_registry().get(inventory.pcr.id, inventory.pcr.version))
    except InventoryInvalid as exc:
        for e in exc.errors:
            reader.error(e.loc, e.message)
        raise Unprocessable("the inventory does not satisfy its PCR", reader.errors) from None
    return inventory, reader


def _loc(parts) -> str:
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
