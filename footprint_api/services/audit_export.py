"""The audit trail of a period as a spreadsheet (CSV or XLSX) for whoever reviews it outside the service: an auditor,
a certification body's accreditation assessor, a company's compliance officer.

A period is Beijing days, as the pages show every moment (UTC+8), at most MAX_DAYS long, and an export holds at most
MAX_ROWS entries: a longer period or a fuller one is refused naming the field, so that one request cannot hold the
service for minutes. Each admin exports what they may read on the audit page (`accounts.visible_trail`). The
headings, the action names and the kinds of objects and actors are in the reader's language; every cell is written
safe from formula injection (`exports.cells`). The export itself is an entry of the trail: who took which period.
"""

import json
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, func, select

from footprint_api.core.china_time import CHINA_TIME
from footprint_api.core.errors import Unprocessable
from footprint_api.core.messages import Catalogue, catalogue
from footprint_api.exports import cells
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import AuditEvent, Organisation
from footprint_api.services import accounts, audit
from footprint_api.services.principals import actor

MAX_DAYS = 366  # a year, a leap year's too
MAX_ROWS = 50_000
FORMATS = {"csv": cells.CSV_MEDIA_TYPE, "xlsx": cells.XLSX_MEDIA_TYPE}
COLUMNS = (
    "seq",
    "at",
    "action_name",
    "action",
    "object_type",
    "object_id",
    "actor",
    "actor_kind",
    "organisation",
    "before",
    "after",
    "hash",
)
WIDTHS = (8, 20, 24, 26, 16, 38, 30, 12, 28, 50, 50, 66)  # characters, a CJK character counting as two


@dataclass(frozen=True)
class Export:
    data: bytes
    media_type: str
    filename: str  # the reader's language (审计日志-…)
    ascii_filename: str
    entries: int


def checked_period(first: date | None, last: date | None) -> tuple[date, date]:
    """The period of an export: both days given, the last not before the first, at most MAX_DAYS days; else 422
    naming the field (`from`, `to`)."""
    for field, day in (("from", first), ("to", last)):
        if day is None:
            raise _refused(field, "adm.export.missing", f"the period's {field} day is required")
    if last < first:
        raise _refused("to", "adm.export.reversed", "the period ends before it begins")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise _refused(
            "to", "adm.export.too_long", f"a period of {days} days: at most {MAX_DAYS}", days=days, max=MAX_DAYS
        )
    return first, last


def export(
    session: Session,
    principal: Principal,
    filters: accounts.TrailFilter,
    fmt: str,
    lang: str,
) -> Export:
    """The entries of the period (`filters.since`..`filters.until`, and its other filters) oldest first, as a file
    in `fmt`, headed in `lang`; recorded in the trail once the file is made."""
    if fmt not in FORMATS:
        raise _refused("format", "adm.export.format_unknown", f"the format is one of {', '.join(FORMATS)}")
    first, last = checked_period(filters.since, filters.until)
    matching = accounts.visible_trail(principal, select(func.count()).select_from(AuditEvent))
    total = session.exec(accounts.filtered_trail(matching, filters)).one()
    if total > MAX_ROWS:
        raise _refused(
            "to",
            "adm.export.too_many",
            f"{total} entries in the period: at most {MAX_ROWS}; choose a shorter period",
            count=total,
            max=MAX_ROWS,
        )
    entries = session.exec(
        accounts.filtered_trail(accounts.visible_trail(principal, select(AuditEvent)), filters).order_by(
            col(AuditEvent.seq)
        )
    ).all()
    t = catalogue(lang)
    headers = [t(f"adm.export.col.{column}") for column in COLUMNS]
    rows = _rows(session, entries, t)
    data = cells.csv_bytes(headers, rows, bom=True) if fmt == "csv" else _xlsx(headers, rows, t)
    audit.record(
        session,
        actor(principal),
        "audit.exported",
        "audit_trail",
        f"{first.isoformat()}..{last.isoformat()}",
        after={"from": first.isoformat(), "to": last.isoformat(), "format": fmt, "entries": len(entries)},
    )
    audit.commit(session)
    stem = f"{first.isoformat()}_{last.isoformat()}.{fmt}"
    return Export(data, FORMATS[fmt], f"{t('adm.export.file')}-{stem}", f"audit-trail-{stem}", len(entries))


def _rows(session: Session, entries: list[AuditEvent], t: Catalogue) -> list[list[cells.Value]]:
    actors = accounts.actor_names(session, {entry.actor_id for entry in entries if entry.actor_id})
    organisation_ids = {entry.organisation_id for entry in entries if entry.organisation_id}
    organisations = dict(
        session.exec(select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(organisation_ids))).all()
    )
    return [
        [
            entry.seq,
            entry.at.astimezone(CHINA_TIME).replace(tzinfo=None, microsecond=0),  # a spreadsheet has no time zones
            named(t, "adm.action", entry.action),
            entry.action,
            named(t, "adm.object", entry.object_type),
            entry.object_id,
            t("adm.audit.system") if entry.actor_kind == "system" else actors.get(entry.actor_id, entry.actor_id),
            named(t, "adm.actor", entry.actor_kind),
            organisations.get(entry.organisation_id, ""),
            _json(entry.before),
            _json(entry.after),
            entry.hash,
        ]
        for entry in entries
    ]


def named(t: Catalogue, prefix: str, code: str) -> str:
    """A code's name in the catalogue's language (`prefix.code`), or the code itself where it has none."""
    return t.messages.get(f"{prefix}.{code}", code)


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _xlsx(headers: list[str], rows: list[list[cells.Value]], t: Catalogue) -> bytes:
    return cells.xlsx_bytes(headers, rows, sheet=t("adm.export.sheet"), widths=WIDTHS)


def _refused(field: str, code: str, detail: str, **params: object) -> Unprocessable:
    return Unprocessable(detail, [{"field": field, "reason": detail, "code": code, "params": params}], code, params)
