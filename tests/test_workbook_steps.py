"""The steps of reading a filled template, each on its own over sheets given as rows of values (as
`workbooks.read_values` returns them): which rows become entries, and which cell every field points to."""

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
    _parameters(reader, {"items": []}, {})
    assert reader.errors == [
        {
            "field": "parameters.clinker",
            "reason": "parameter of an item without an amount",
            "sheet": excel.SHEETS["Parameters"],
            "row": 2,
            "column": "A",
        }
    ]


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
