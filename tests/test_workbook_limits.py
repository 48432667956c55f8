"""Uploaded workbooks cost bounded time and memory: a crafted file is refused with a 4xx naming the limit.

Issue 11, item 5: "A 72 KB .xlsx took 43 s and grew the API process from 313 to 1,041 MiB, never given back."
The workbooks are built here part by part (an .xlsx is a ZIP of XML parts, ECMA-376 Part 2), so that each test
holds exactly one hostile property and is otherwise a valid filled template.
"""

import io
import time
import zipfile

import pytest

from footprint_api.infra import workbooks
from footprint_api.services import batch_check, excel

ITEMS_PART = "xl/worksheets/sheet2.xml"  # the template's second sheet, "Items"
SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = b"</sheetData></worksheet>"
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>' + SHEET_TAIL
)


def rss_bytes() -> int:
    """Resident set size of this process (the API runs in it, behind the test client), from /proc/self/status."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def rebuilt(template: bytes, parts: dict[str, bytes | object]) -> bytes:
    """The template with some parts replaced or added; a part given as an iterable of chunks is streamed into the
    archive (so a bomb's hundreds of MB are never held in memory here either)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for member in source.infolist():
            if member.filename not in parts:
                target.writestr(member, source.read(member))
        for name, content in parts.items():
            if isinstance(content, bytes):
                target.writestr(name, content)
                continue
            with target.open(name, "w", force_zip64=True) as part:
                for chunk in content:
                    part.write(chunk)
    return out.getvalue()


def repeated_rows(rows: int):
    """A sheet of `rows` identical rows of 16 numeric cells (the row number is optional: rows follow each other),
    written in chunks of 10,000 rows; identical rows are what deflate packs most tightly, about 1,000 to 1."""
    cells = b"".join(b'<c t="n"><v>1</v></c>' for _ in range(16))
    yield SHEET_HEAD
    for start in range(0, rows, 10_000):
        yield (b"<row>" + cells + b"</row>") * min(10_000, rows - start)
    yield SHEET_TAIL


@pytest.fixture(scope="module")
def template(world) -> bytes:
    return world.client.get("/api/v1/pcrs/PCR-CN-CEMENT/template.xlsx").content


@pytest.fixture(scope="module")
def product_id(world) -> str:
    return world.product("acme-engineer", "PCR-CN-CEMENT")["id"]


def upload(world, product_id: str, content: bytes):
    return world.call(
        "acme-engineer",
        "POST",
        "/api/v1/inventories/excel",
        data={"product_id": product_id},
        files={"file": ("inventory.xlsx", content, excel_media_type())},
    )


def excel_media_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def refusal(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["detail"], body["errors"][0]["reason"]


def one_long_string(characters: int):
    """A shared-strings part of one string of `characters` x 'A', in chunks of 10 MB: deflate's best, ~1,030 to 1."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
    )
    for start in range(0, characters, 10_000_000):
        yield b"A" * min(10_000_000, characters - start)
    yield b"</t></si></sst>"


def with_shared_strings(template: bytes, strings) -> bytes:
    """The template with a shared-strings part the workbook refers to (openpyxl writes none; it loads one whole
    when the workbook opens)."""
    with zipfile.ZipFile(io.BytesIO(template)) as source:
        relations = source.read("xl/_rels/workbook.xml.rels").replace(
            b"</Relationships>",
            (
                b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"'
                b' Target="/xl/sharedStrings.xml" Id="rIdStrings"/></Relationships>'
            ),
        )
        types = source.read("[Content_Types].xml").replace(
            b"</Types>",
            (
                b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument'
                b'.spreadsheetml.sharedStrings+xml"/></Types>'
            ),
        )
    return rebuilt(
        template,
        {"xl/_rels/workbook.xml.rels": relations, "[Content_Types].xml": types, "xl/sharedStrings.xml": strings},
    )


@pytest.mark.parametrize(
    ("build", "packed_below"),
    [
        (lambda t: rebuilt(t, {ITEMS_PART: repeated_rows(1_500_000)}), 3_000_000),  # 1.5 M x (16 x 22 + 11) bytes
        (lambda t: with_shared_strings(t, one_long_string(500_000_000)), 600_000),  # 500 MB of 'A'
    ],
    ids=["sheet of repeated cells", "one shared string"],
)
def test_a_compressed_bomb_answers_413_in_bounded_time_with_memory_back_near_its_start(
    world, template, product_id, build, packed_below
):
    bomb = build(template)
    assert len(bomb) < packed_below
    assert sum(m.file_size for m in zipfile.ZipFile(io.BytesIO(bomb)).infolist()) > 500_000_000
    before, started = rss_bytes(), time.monotonic()
    response = upload(world, product_id, bomb)
    elapsed, grown = time.monotonic() - started, rss_bytes() - before
    assert refusal(response) == (413, "the workbook unpacks to more than 20 MB", "too large unpacked")
    assert elapsed < 5, f"{elapsed:.1f} s"
    assert grown < 50_000_000, f"RSS grew by {grown / 1e6:.0f} MB"


def test_a_part_that_declares_a_huge_size_is_refused_unopened(world, template, product_id):
    """A few kB: the central directory claims the Items sheet unpacks to 4 GB; nothing is inflated to find out."""
    content = bytearray(rebuilt(template, {ITEMS_PART: SHEET_HEAD + SHEET_TAIL}))
    offset = _central_entry(content, ITEMS_PART)
    content[offset + 24 : offset + 28] = (4_000_000_000).to_bytes(4, "little")  # uncompressed size
    assert len(content) < 50_000
    started = time.monotonic()
    status, _detail, reason = refusal(upload(world, product_id, bytes(content)))
    assert (status, reason) == (413, "too large unpacked") and time.monotonic() - started < 5


def _central_entry(archive: bytearray, name: str) -> int:
    """Offset of a member's central directory header (APPNOTE.TXT 4.3.12: signature, then sizes at 20 and 24)."""
    return next(i for i in _all(archive, b"PK\x01\x02") if archive[i + 46 : i + 46 + len(name)] == name.encode())


def _all(data: bytearray, mark: bytes):
    start = data.find(mark)
    while start != -1:
        yield start
        start = data.find(mark, start + 1)


def test_a_part_that_inflates_past_its_declared_size_stops_there(world, template, product_id):
    """The Items sheet declares 1 kB but holds 50 MB: zipfile stops inflating at the declared size, and the CRC
    check fails; the workbook is 422, having cost 1 kB of inflation."""
    content = bytearray(rebuilt(template, {ITEMS_PART: repeated_rows(100_000)}))
    offset = _central_entry(content, ITEMS_PART)
    content[offset + 24 : offset + 28] = (1_000).to_bytes(4, "little")
    started = time.monotonic()
    status, _detail, reason = refusal(upload(world, product_id, bytes(content)))
    assert (status, reason) == (422, "not XLSX") and time.monotonic() - started < 5


def test_a_part_compressed_as_only_a_bomb_is_is_refused(world, template, product_id):
    """5.7 MB of repeated rows (under the 8 MB part limit) in about 20 kB: a ratio over 100 to 1."""
    content = rebuilt(template, {ITEMS_PART: repeated_rows(15_000)})
    status, detail, reason = refusal(upload(world, product_id, content))
    assert (status, reason) == (413, "compression ratio") and ITEMS_PART in detail


def test_a_workbook_of_100_sheets_is_413(world, product_id):
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for index in range(100):
        book.create_sheet(f"Sheet {index}").append(["x"])
    out = io.BytesIO()
    book.save(out)
    assert refusal(upload(world, product_id, out.getvalue())) == (
        413,
        "the workbook has more than 20 sheets",
        "too many sheets",
    )


@pytest.mark.parametrize(
    "sheet",
    [
        SHEET_HEAD.replace(b"<sheetData>", b'<dimension ref="A1:P1000000"/><sheetData>')
        + b'<row r="1000000"><c r="A1000000" t="n"><v>1</v></c></row>'
        + SHEET_TAIL,
        b"".join(repeated_rows(1_000)).replace(SHEET_TAIL, b"")
        + b'<row r="1000000"><c r="A1000000" t="n"><v>1</v></c></row>'
        + SHEET_TAIL,
    ],
    ids=["one cell at row 1,000,000", "1,000 rows then row 1,000,000"],
)
def test_a_sheet_of_a_million_rows_is_refused_at_the_row_limit(world, template, product_id, sheet):
    """openpyxl fills the rows a sheet skips; reading stops at the limit, not at row 1,000,000."""
    started = time.monotonic()
    response = upload(world, product_id, rebuilt(template, {ITEMS_PART: sheet}))
    assert refusal(response) == (413, "the sheet 'Items 活动数据' has more than 5000 rows", "too many rows")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("part", [ITEMS_PART, "xl/sharedStrings.xml", "xl/workbook.xml"])
def test_a_dtd_in_any_xml_part_is_refused_unparsed(world, template, product_id, part):
    """Billion laughs (10^9 'lol's from nine nested entities) and, by the same refusal, any external entity."""
    response = upload(world, product_id, rebuilt(template, {part: BILLION_LAUGHS}))
    assert refusal(response) == (422, "the workbook contains a DTD, which no spreadsheet writes", "DTD")


def test_a_dtd_split_across_two_read_chunks_is_found(world, template, product_id):
    padding = b" " * (workbooks.CHUNK_BYTES - len(SHEET_HEAD) - 4)
    sheet = SHEET_HEAD + padding + b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + SHEET_TAIL
    assert refusal(upload(world, product_id, rebuilt(template, {ITEMS_PART: sheet})))[2] == "DTD"


def test_a_utf16_part_is_refused_for_it_could_hide_a_dtd(world, template, product_id):
    sheet = BILLION_LAUGHS.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    response = upload(world, product_id, rebuilt(template, {ITEMS_PART: sheet.encode("utf-16")}))
    assert refusal(response)[::2] == (422, "XML encoding")


def test_cells_right_of_the_column_limit_are_not_read(template):
    """A row of 10,000 cells yields the first 32 (the template has 17 columns)."""
    cells = b"".join(b'<c t="n"><v>%d</v></c>' % i for i in range(10_000))
    content = rebuilt(template, {ITEMS_PART: SHEET_HEAD + b'<row r="1">' + cells + b"</row>" + SHEET_TAIL})
    rows = workbooks.read_values(content, excel.LIMITS)["Items 活动数据"]
    assert [len(row) for row in rows] == [32]


def test_the_cell_budget_counts_every_sheet(template):
    limits = workbooks.Limits(max_bytes=10**7, max_unpacked_bytes=10**8, max_member_bytes=10**8, max_cells=100)
    with pytest.raises(workbooks.WorkbookTooLarge, match="more than 100 cells"):
        workbooks.read_values(template, limits)


def test_the_batch_check_reads_through_the_same_limits(template):
    """batch_check.numbers_from_xlsx answers 422 (as it always has) for what the inventory upload refuses."""
    with pytest.raises(batch_check.Unprocessable, match="DTD"):
        batch_check.numbers_from_xlsx(rebuilt(template, {"xl/workbook.xml": BILLION_LAUGHS}))
    million = SHEET_HEAD + b'<row r="1000000"><c r="A1000000" t="n"><v>1</v></c></row>' + SHEET_TAIL
    with pytest.raises(batch_check.Unprocessable, match="more than 50000 rows"):
        batch_check.numbers_from_xlsx(rebuilt(template, {"xl/worksheets/sheet1.xml": million}))


def test_a_filled_template_is_still_read(world, template, product_id):
    from tests.test_api_inventories import CEMENT_CLASS, CEMENT_GENERAL, CEMENT_PARAMETERS, fill

    content = fill(
        template,
        CEMENT_GENERAL,
        {"clinker": (800, "t"), "kiln_coal": (110, "t"), "grid_electricity": (90_000, "kWh")},
        CEMENT_PARAMETERS,
        choices=CEMENT_CLASS,
    )
    response = upload(world, product_id, content)
    assert response.status_code == 201, response.text


def test_a_refusal_of_the_file_carries_its_code_for_the_page_to_word_it(world, template, product_id):
    """The JSON API keeps the English detail and reason; the code and its parameters word it on a Chinese page."""
    dtd = upload(world, product_id, rebuilt(template, {"xl/workbook.xml": BILLION_LAUGHS})).json()["errors"][0]
    assert (dtd["code"], dtd["reason"]) == ("workbook.file.dtd", "DTD")
    assert excel.file_message(dtd, "zh") == "工作簿含有 DTD 声明，电子表格软件不会写入此类内容。"
    million = SHEET_HEAD + b'<row r="1000000"><c r="A1000000" t="n"><v>1</v></c></row>' + SHEET_TAIL
    rows = upload(world, product_id, rebuilt(template, {ITEMS_PART: million})).json()["errors"][0]
    assert rows["params"] == {"sheet": "Items 活动数据", "limit": 5000}
    assert excel.file_message(rows, "zh") == "工作表「Items 活动数据」超过 5000 行。"
