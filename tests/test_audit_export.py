"""The audit trail of a period as CSV or XLSX: Beijing days, at most a year and MAX_ROWS entries, each admin the part
of the trail they may read, headings and action names in the reader's language, no cell read as a formula, and the
export itself recorded in the trail."""

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import OrganisationKind
from footprint_api.services import accounts, audit_export
from tests.web_client import Browser

# 2025-03-01 23:30 and 2025-03-02 00:30 in Beijing (UTC+8): one on each side of midnight, both on 2025-03-01 in UTC
LATE_EVENING = datetime(2025, 3, 1, 15, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2025, 3, 1, 16, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def dated(world):
    """Two organisations created at LATE_EVENING and AFTER_MIDNIGHT (the trail's clock set back for each), the
    second named as a formula, as a spreadsheet would run it."""
    names = {}
    for moment, name in ((LATE_EVENING, f"Evening {uuid.uuid4().hex[:6]}"), (AFTER_MIDNIGHT, '=HYPERLINK("x")')):
        with pytest.MonkeyPatch.context() as patch, session_scope() as session:
            patch.setattr("footprint_api.services.audit.utcnow", lambda moment=moment: moment)
            names[moment] = accounts.create_organisation(session, None, name, OrganisationKind.MANUFACTURER).id
    return names


def exported(world, user="root", **params):
    return world.call(user, "GET", "/api/v1/audit/export", params=params)


def rows_of(response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")  # a byte order mark: Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_a_beijing_day_begins_at_16_00_utc_the_day_before(world, dated):
    """AFTER_MIDNIGHT (16:30 UTC on 1 March) is 00:30 on 2 March in Beijing: in the export of 2 March, not of
    1 March; LATE_EVENING (15:30 UTC) is 23:30 on 1 March: in the export of 1 March."""
    first = rows_of(exported(world, **{"from": "2025-03-01", "to": "2025-03-01"}))
    second = rows_of(exported(world, **{"from": "2025-03-02", "to": "2025-03-02"}))
    assert [row[5] for row in first[1:]] == [str(dated[LATE_EVENING])]
    assert [row[5] for row in second[1:]] == [str(dated[AFTER_MIDNIGHT])]
    assert first[1][1] == "2025-03-01T23:30:00" and second[1][1] == "2025-03-02T00:30:00"  # shown in UTC+8


def test_the_csv_is_headed_and_named_in_the_readers_language(world, dated):
    english = rows_of(exported(world, **{"from": "2025-03-02", "to": "2025-03-02"}))
    chinese = rows_of(exported(world, **{"from": "2025-03-02", "to": "2025-03-02", "lang": "zh"}))
    assert english[0][:4] == ["No.", "Time (UTC+8)", "Action", "Action code"]
    assert chinese[0] == [
        "序号",
        "时间（UTC+8）",
        "操作",
        "操作代码",
        "对象类型",
        "对象标识",
        "操作者",
        "操作者类型",
        "机构",
        "变更前",
        "变更后",
        "哈希值",
    ]
    assert chinese[1][2:5] == ["创建机构", "organisation.created", "机构"]
    assert chinese[1][6:8] == ["系统自身", "系统"] and english[1][2] == "Organisation created"


def test_no_cell_of_the_csv_is_read_as_a_formula(world, dated):
    """The organisation named =HYPERLINK("x") is written with a leading quote (OWASP, CSV injection)."""
    rows = rows_of(exported(world, **{"from": "2025-03-02", "to": "2025-03-02"}))
    assert rows[1][8] == '\'=HYPERLINK("x")'
    assert not any(
        cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row if not cell.lstrip("-").isdigit()
    )


def test_the_xlsx_has_text_cells_dates_and_chinese_headings(world, dated):
    response = exported(world, **{"from": "2025-03-02", "to": "2025-03-02", "format": "xlsx", "lang": "zh"})
    assert response.status_code == 200 and response.headers["content-type"] == audit_export.cells.XLSX_MEDIA_TYPE
    assert (
        "filename*=UTF-8''%E5%AE%A1%E8%AE%A1%E6%97%A5%E5%BF%97-2025-03-02_2025-03-02.xlsx"
        in (response.headers["content-disposition"])
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "审计日志"
    assert [cell.value for cell in sheet[1]][:3] == ["序号", "时间（UTC+8）", "操作"]
    organisation = sheet.cell(row=2, column=9)
    assert organisation.value == '=HYPERLINK("x")' and organisation.data_type == "s"  # text, never a formula
    assert sheet.cell(row=2, column=2).value == datetime(2025, 3, 2, 0, 30)  # a date cell, Beijing time
    assert sheet.cell(row=2, column=3).value == "创建机构"


@pytest.mark.parametrize(
    "params, field, code",
    [
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to", "adm.export.too_long"),  # 365 days of 2025 + 2 = 367
        ({"from": "2025-03-02", "to": "2025-03-01"}, "to", "adm.export.reversed"),
    ],
)
def test_a_period_too_long_or_reversed_is_a_422_naming_the_field(world, params, field, code):
    response = exported(world, **params)
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]


def test_a_leap_year_is_not_too_long():
    """2024-01-01 to 2024-12-31: 366 days, MAX_DAYS."""
    assert audit_export.checked_period(date(2024, 1, 1), date(2024, 12, 31)) == (date(2024, 1, 1), date(2024, 12, 31))


@pytest.mark.parametrize("params, field", [({"to": "2025-03-01"}, "from"), ({"from": "2025/03/01", "to": "x"}, "from")])
def test_a_missing_or_malformed_day_is_a_422_naming_it(world, params, field):
    response = exported(world, **params)
    assert response.status_code == 422 and field in [e["field"] for e in response.json()["errors"]]


def test_a_period_with_more_entries_than_allowed_is_refused(world, dated, monkeypatch):
    monkeypatch.setattr(audit_export, "MAX_ROWS", 1)
    today = datetime.now(UTC).date()
    response = exported(world, **{"from": "2025-03-01", "to": today.isoformat()})
    if (today - date(2025, 3, 1)).days + 1 > audit_export.MAX_DAYS:  # the period alone is refused first
        response = exported(world, **{"from": "2025-03-01", "to": "2025-03-02"})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["code"] == "adm.export.too_many" and error["params"] == {"count": 2, "max": 1}


def test_the_export_is_recorded_in_the_trail(world, dated):
    exported(world, **{"from": "2025-03-01", "to": "2025-03-02", "format": "xlsx"})
    trail = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    entry = [e for e in trail if e["action"] == "audit.exported"][-1]
    assert entry["object_id"] == "2025-03-01..2025-03-02" and entry["actor_kind"] == "user"
    assert entry["after"] == {"from": "2025-03-01", "to": "2025-03-02", "format": "xlsx", "entries": 2}


def test_an_organisations_admin_exports_its_own_trail_only(world):
    world.product("rival-engineer", "PCR-CN-CEMENT", "rival export secret")
    world.product("acme-engineer", "PCR-CN-CEMENT", "acme export product")
    today = datetime.now(UTC).date()
    period = {
        "from": date.fromordinal(today.toordinal() - 1).isoformat(),
        "to": date.fromordinal(today.toordinal() + 1).isoformat(),
    }
    response = exported(world, "acme-admin", **period)
    (acme,) = world.call("acme-admin", "GET", "/api/v1/organisations").json()
    rows = rows_of(response)[1:]
    assert rows and {row[8] for row in rows} == {acme["name"]}
    assert "acme export product" in response.text and "rival export secret" not in response.text
    assert exported(world, "acme-engineer", **period).status_code == 403


# --- from the audit page ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root_zh(world):
    return Browser(world.client.app, "root", lang="zh-CN")


def test_the_audit_page_exports_the_filtered_trail_with_chinese_headings(root_zh, dated):
    form = {"export_since": "2025-03-01", "export_until": "2025-03-02", "export_format": "csv"}
    response = root_zh.post_form(
        "/app/admin/audit", "/app/admin/audit/export", {**form, "action": "organisation.created"}
    )
    assert response.status_code == 200 and response.headers["content-disposition"].startswith("attachment;")
    rows = rows_of(response)
    assert rows[0][2] == "操作" and [row[3] for row in rows[1:]] == ["organisation.created", "organisation.created"]


@pytest.mark.parametrize(
    "form, field, message",
    [
        (
            {"export_since": "2024-01-01", "export_until": "2025-03-02"},
            "export_until",
            "期间为 427 天，最长 366 天，请缩短期间。",
        ),
        ({"export_since": "2025-03-02", "export_until": "2025-03-01"}, "export_until", "截止日期早于起始日期。"),
        ({"export_since": "", "export_until": "2025-03-01"}, "export_since", "请选择日期。"),
        ({"export_since": "yesterday", "export_until": "2025-03-01"}, "export_since", "请输入日期，例如 2026-01-31。"),
        (
            {"export_since": "2025-03-01", "export_until": "2025-03-01", "export_format": "pdf"},
            "export_format",
            "请从选项中选择文件格式。",
        ),
    ],
)
def test_a_refused_export_is_named_at_its_field_in_chinese(root_zh, form, field, message):
    """2024-01-01 to 2025-03-02: 366 days of 2024 + 31 of January + 28 of February + 2 of March = 427 days."""
    response = root_zh.post_form("/app/admin/audit", "/app/admin/audit/export", {"export_format": "csv", **form})
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', response.text), response.text
    assert f'id="e-{field}">{message}<' in response.text


@pytest.mark.parametrize("period", [("0001-01-01", "0001-12-31"), ("9999-01-01", "9999-12-31")])
def test_the_first_and_last_year_of_the_calendar_export_an_empty_file_not_an_error(world, period):
    """Beijing midnight of 0001-01-01 is before year 1 in UTC, and the day after 9999-12-31 does not exist."""
    response = exported(world, **{"from": period[0], "to": period[1]})
    assert response.status_code == 200 and len(rows_of(response)) == 1
