"""The steps of reading a filled template, each on its own over sheets given as rows of values (as
`workbooks.read_values` returns them): which rows become entries, and which cell every field points to."""

import io
from datetime import date, datetime

import openpyxl
import pytest

from footprint_api.infra import workbooks
from footprint_api.services import excel
from footprint_api.services.excel import (
    LIST_SHEETS,
    _certificate,
    _items,
    _list_rows,
    _measured_emission,
    _parameters,
    _Reader,
)
from pcr_rules import default_registry


def header(name: str) -> tuple:
    return tuple(excel.caption(column) for column in excel.TABLES[name])


def row(name: str, **values) -> tuple:
    """A row of the sheet `name`, its values by column key, the other cells empty."""
    return tuple(values.get(column) for column in excel.TABLES[name])


def reader_of(name: str, rows: list[tuple]) -> _Reader:
    """A reader of a workbook with the one bilingual sheet `name`: its header, then `rows`."""
    return _Reader({excel.SHEETS[name]: [header(name), *rows]})


def list_sheet(name: str):
    return next(sheet for sheet in LIST_SHEETS if sheet.name == name)


def test_items_without_an_amount_are_left_out_and_the_others_keep_their_index():
    reader = reader_of("Items", [row("Items", item="clinker"), row("Items", item="kiln_coal", amount=20, unit="t")])
    data = {"items": []}
    assert _items(reader, data) == {"kiln_coal": 0}
    assert data["items"] == [{"item": "kiln_coal", "amount": 20, "unit": "t"}]


def test_an_item_points_to_its_cells_the_item_itself_to_its_amount():
    """Row 3 of the sheet (the second item), amount in column E, unit in F, dq_temporal in J."""
    rating = {"dq_technological": 1, "dq_geographical": 2, "dq_temporal": 3, "dq_precision": 4}
    reader = reader_of("Items", [row("Items"), row("Items", item="kiln_coal", amount=20, unit="t", **rating)])
    data = {"items": []}
    _items(reader, data)
    sheet = excel.SHEETS["Items"]
    assert data["items"][0]["data_quality"] == {"technological": 1, "geographical": 2, "temporal": 3, "precision": 4}
    assert reader.cells["items[0]"] == (sheet, 3, "E")
    assert reader.cells["items[0].unit"] == (sheet, 3, "F")
    assert reader.cells["items[0].data_quality.temporal"] == (sheet, 3, "J")


def test_a_parameter_goes_under_its_item_and_one_without_a_unit_is_dimensionless():
    reader = reader_of("Parameters", [row("Parameters", item="clinker", parameter="cao_fraction", amount=0.655)])
    data = {"items": [{"item": "clinker", "amount": 1000, "unit": "t"}]}
    _parameters(reader, data, {"clinker": 0})
    assert data["items"][0]["parameters"] == {"cao_fraction": {"amount": 0.655, "unit": "dimensionless"}}
    assert reader.cells["items[0].parameters.cao_fraction.amount"] == (excel.SHEETS["Parameters"], 2, "E")
    assert reader.errors == []


def test_an_empty_parameter_row_of_an_item_still_names_its_cell():
    """A required parameter left empty is reported by the PCR; the error points to the row to fill."""
    reader = reader_of("Parameters", [row("Parameters", item="clinker", parameter="cao_fraction")])
    data = {"items": [{"item": "clinker", "amount": 1000, "unit": "t"}]}
    _parameters(reader, data, {"clinker": 0})
    assert "parameters" not in data["items"][0]
    assert reader.cells["items[0].parameters.cao_fraction"] == (excel.SHEETS["Parameters"], 2, "E")


def test_a_parameter_of_an_item_without_an_amount_is_an_error_of_its_row():
    reader = reader_of("Parameters", [row("Parameters", item="clinker", parameter="cao_fraction", amount=0.655)])
    _parameters(reader, {"items": []}, {}, default_registry().get("PCR-CN-CEMENT", "1.0.0"))
    [error] = reader.errors
    assert error == {
        "field": "parameters.clinker",
        "reason": (
            "A parameter of item clinker produced and used in this cement, which has no amount on the Items sheet: "
            "enter the item's amount or clear this row."
        ),
        "sheet": excel.SHEETS["Parameters"],
        "row": 2,
        "column": "A",
        "heading": "item",
        "code": "workbook.parameter_without_item",
        "params": {
            "item": "clinker",
            "name": "clinker produced and used in this cement",
            "name_zh": "本水泥所用自产熟料",
        },
    }
    assert excel.message(error, "zh") == (
        "项目「本水泥所用自产熟料」在活动数据表中未填写数量，不能填写其参数：请填写该项目的数量，或清空此行。"
    )


def test_certificate_serials_and_months_are_text_though_a_spreadsheet_holds_numbers():
    assert _certificate({"serial": 400001, "generation_month": 202308, "amount_mwh": 10}) == {
        "serial": "400001",
        "generation_month": "202308",
        "amount_mwh": 10,
    }


def test_the_items_a_measured_source_covers_are_a_list_of_codes():
    assert _measured_emission({"gas": "co2", "covers": " clinker, kiln_coal ,"})["covers"] == ["clinker", "kiln_coal"]


def test_empty_list_rows_are_skipped_and_each_entry_points_to_its_row():
    reader = reader_of(
        "Certificates",
        [
            row("Certificates"),
            row("Certificates", serial=400001, amount_mwh=10, technology="wind", generation_month="2023-04"),
        ],
    )
    data = {"green_certificates": []}
    _list_rows(reader, data, list_sheet("Certificates"))
    sheet = excel.SHEETS["Certificates"]
    assert data["green_certificates"] == [
        {"serial": "400001", "amount_mwh": 10, "technology": "wind", "generation_month": "2023-04"}
    ]
    assert reader.cells["green_certificates[0]"] == (sheet, 3, "A")  # the batch itself: its first serial
    assert reader.cells["green_certificates[0].amount_mwh"] == (sheet, 3, "B")


def test_every_list_sheet_is_read_into_its_inventory_list():
    assert {(sheet.name, sheet.key) for sheet in LIST_SHEETS} == {
        ("Certificates", "green_certificates"),
        ("Co-products", "co_products"),
        ("Measured emissions", "measured_emissions"),
    }


def test_a_certificate_sheet_of_an_older_template_without_serial_last_is_read_not_refused_with_a_500():
    """Workbooks filled from the template before `serial_last` existed have no such column: the row is read with
    the columns it has, and each field still points to its cell."""
    columns = [c for c in excel.TABLES["Certificates"] if c != "serial_last"]
    rows = [
        tuple(excel.caption(c) for c in columns),
        tuple("GEC-2023-000001" if c == "serial" else None for c in columns),
    ]
    reader = _Reader({excel.SHEETS["Certificates"]: rows})
    data = {"green_certificates": []}
    _list_rows(reader, data, list_sheet("Certificates"))
    assert len(data["green_certificates"]) == 1
    assert "serial_last" not in data["green_certificates"][0]
    assert reader.cells["green_certificates[0]"] == reader.cells["green_certificates[0].serial"]


# --- cells as Chinese Excel writes them ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("1,234.5", (1234.5, False)),
        ("６５.２", (65.2, False)),  # full-width digits
        ("１，２３４", (1234, False)),  # full-width grouping comma: a whole number stays whole
        (" 2 000 ", (2000, False)),
        ("65.2%", (65.2, True)),
        ("65.2 ％", (65.2, True)),
        (workbooks.Percent(0.652), (65.2, True)),  # a cell formatted 0.0%, as Excel stores 65.2 %
        (800, (800, False)),
    ],
)
def test_numbers_are_read_as_people_type_them(typed, read):
    assert workbooks.cell_number(typed) == read


@pytest.mark.parametrize("typed", ["一百", "1,23", "12,34.5", "1.2.3", "", True, "nan", "inf"])
def test_a_number_that_is_none_is_refused(typed):
    with pytest.raises(ValueError):
        workbooks.cell_number(typed)


@pytest.mark.parametrize(
    "typed",
    ["2024-12-31", "2024/12/31", "2024.12.31", "2024年12月31日", "２０２４／１２／３１", datetime(2024, 12, 31)],
)
def test_a_date_is_read_in_the_forms_chinese_excel_shows(typed):
    assert workbooks.cell_date(typed) == date(2024, 12, 31)


@pytest.mark.parametrize("typed", ["2024/2/30", "31/12/2024", "2024-12", "明年", 45657])
def test_a_date_that_is_none_is_refused(typed):
    with pytest.raises(ValueError):
        workbooks.cell_date(typed)


@pytest.mark.parametrize("typed", ["2023-04", "2023/4", "2023.04", "2023年4月", 202304, datetime(2023, 4, 1)])
def test_a_generation_month_is_read_as_yyyy_mm(typed):
    assert workbooks.cell_month(typed) == "2023-04"


def test_a_cell_formatted_as_a_percentage_is_read_as_one():
    """Excel stores 65.2 % as 0.652 with the format 0.0%; the reader learns what the person saw."""
    book = openpyxl.Workbook()
    book.active["A1"], book.active["A2"] = 0.652, 0.652
    book.active["A1"].number_format = "0.0%"
    out = io.BytesIO()
    book.save(out)
    shown, plain = (row[0] for row in workbooks.read_values(out.getvalue(), excel.LIMITS, percent=True)["Sheet"])
    assert isinstance(shown, workbooks.Percent) and shown.shown == 65.2
    assert not isinstance(plain, workbooks.Percent)


@pytest.mark.parametrize(
    ("amount", "unit", "read"),
    [
        ("65.2%", None, (65.2, "percent")),
        ("65.2%", "%", (65.2, "percent")),
        (workbooks.Percent(0.652), "百分数（%）", (65.2, "percent")),
        ("65.2%", "dimensionless", (0.652, "dimensionless")),  # 65.2 % of a fraction given in 0–1: 0.652
        (workbooks.Percent(0.652), "小数（0–1）", (0.652, "dimensionless")),
        ("0.652", "小数（0–1）", (0.652, "dimensionless")),
        ("90,000", "kWh", (90000, "kWh")),
    ],
)
def test_a_quantity_keeps_what_the_person_saw(amount, unit, read):
    assert excel.quantity(amount, unit) == read


def test_a_value_of_a_list_is_read_in_either_language_and_a_wrong_one_names_the_list():
    pcr = default_registry().get("PCR-CN-CEMENT", "1.1.0")
    assert [excel.read_cell("instrument", v, pcr) for v in ("绿证", "GEC", "绿证（GEC）", "gec")] == ["gec"] * 4
    assert excel.read_cell("grid_region", "南方电网", pcr) == excel.read_cell("grid_region", "south", pcr) == "South"
    with pytest.raises(excel.CellProblem) as refused:
        excel.read_cell("gas", "甲烷", pcr)  # the cement PCR accepts measured CO2 only
    assert (refused.value.code, refused.value.params["allowed"]) == ("workbook.choice", ["co2"])


def test_a_caption_is_read_by_its_key_whichever_line_it_is_on():
    assert excel.key_of("amount\n数量") == excel.key_of("数量\namount") == excel.key_of("数量") == "amount"
    assert (
        excel.key_of("Reference period end")
        == excel.key_of("核算期止\nReference period end")
        == ("Reference period end")
    )


@pytest.mark.parametrize(
    ("error", "code", "params"),
    [
        (
            {"type": "date_from_datetime_parsing", "loc": ("reference_period", "end"), "input": "2024/12/31"},
            "workbook.date",
            {"value": "2024/12/31"},
        ),
        (
            {"type": "literal_error", "loc": ("green_certificates", 0, "instrument"), "input": "x"},
            "workbook.choice",
            {"value": "x", "set": "instrument", "allowed": ["gec", "green_power_contract"]},
        ),
        ({"type": "greater_than", "loc": ("amount_mwh",), "input": 0, "ctx": {"gt": 0}}, "workbook.more_than", {}),
        ({"type": "serial_format", "loc": ("serial",), "input": "GEC 1"}, "workbook.serial", {"value": "GEC 1"}),
        ({"type": "something_new", "loc": ("note",), "input": ["x"]}, "workbook.invalid", {"value": ""}),
    ],
)
def test_the_schemas_refusals_become_codes_never_its_words(error, code, params):
    found, values = excel.schema_code(error)
    assert found == code and params.items() <= values.items()
    assert "Input should" not in excel.worded(found, values, "en")


def test_a_mandatory_item_left_empty_is_named_at_its_amount_cell():
    """The PCR names a missing item by the list (`items`); the reading names the row of the item to fill (and,
    when no item has an amount at all, the first)."""
    pcr = default_registry().get("PCR-CN-CEMENT", "1.0.0")
    book = openpyxl.load_workbook(io.BytesIO(excel.template(pcr, "zh")))
    general = book[excel.SHEETS["Inventory"]]
    values = {
        "Product name": "水泥",
        "Facility name": "二号线",
        "Province": "贵州",
        "Reference period start": "2023/1/1",
        "Reference period end": "2023/12/31",
        "Production amount": 1000,
        "Production unit": "t",
    }
    for row in range(2, general.max_row + 1):
        general.cell(row, 2).value = values.get(excel.key_of(general.cell(row, 1).value), general.cell(row, 2).value)
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(excel.Unprocessable) as refused:
        excel.read_workbook(out.getvalue())
    [nothing] = refused.value.errors  # no item at all: the list is named at its first amount cell
    assert (nothing["sheet"], nothing["row"], nothing["column"]) == (excel.SHEETS["Items"], 2, "E")
    assert excel.message(nothing, "zh") == "活动数据表中没有填写任何项目的数量。"
    kiln_coal = next(r for r in range(2, 20) if book[excel.SHEETS["Items"]].cell(r, 1).value == "kiln_coal")
    book[excel.SHEETS["Items"]].cell(kiln_coal, 5).value = 110
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(excel.Unprocessable) as refused:
        excel.read_workbook(out.getvalue())
    clinker = next(e for e in refused.value.errors if e.get("params", {}).get("item_id") == "clinker")
    row = next(r for r in range(2, 20) if book[excel.SHEETS["Items"]].cell(r, 1).value == "clinker")
    assert (clinker["field"], clinker["sheet"], clinker["row"], clinker["column"]) == (
        "items",
        excel.SHEETS["Items"],
        row,
        "E",
    )
    assert excel.message(clinker, "zh") == "缺少必填项目“本水泥所用自产熟料”。"


@pytest.mark.parametrize(("unit", "stored"), [(None, (65.5, "percent")), ("小数（0–1）", (0.655, "dimensionless"))])
def test_a_parameter_cell_formatted_as_a_percentage_is_stored_as_the_person_saw_it(unit, stored):
    """CaO typed as 65.5% in Excel (stored 0.655, formatted 0.0%): 65.5 percent with no unit stated, the fraction
    0.655 with the template's unit 小数（0–1） left in place."""
    from tests.test_api_inventories import CEMENT_GENERAL, fill

    pcr = default_registry().get("PCR-CN-CEMENT", "1.1.0")
    content = fill(
        excel.template(pcr, "zh"),
        CEMENT_GENERAL,
        {"clinker": (800, "t"), "kiln_coal": (110, "t"), "grid_electricity": (90_000, "kWh")},
        {("clinker", "mgo_fraction"): 0.02},
    )
    book = openpyxl.load_workbook(io.BytesIO(content))
    parameters = book[excel.SHEETS["Parameters"]]
    row = next(r for r in range(2, parameters.max_row + 1) if parameters.cell(r, 2).value == "cao_fraction")
    parameters.cell(row, 5).value, parameters.cell(row, 5).number_format = 0.655, "0.0%"
    parameters.cell(row, 6).value = unit
    out = io.BytesIO()
    book.save(out)
    inventory, _ = excel.read_workbook(out.getvalue())
    cao = inventory.items[0].parameters["cao_fraction"]
    assert (cao.amount, cao.unit) == stored
