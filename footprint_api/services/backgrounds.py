"""Background databases (issue 22): the platform admin's imports of licensed LCA databases with Brightway's own
importers (`lca_models.backgrounds.importing`), their versions and which one is in use, and the search over their
activities that PCR authors link items to.

A version's life: queued → importing → (needs_attention) → preparing → sampling → ready | failed; from
needs_attention the admin proceeds (the listed unlinked exchanges are dropped, and listed on the version for good)
or discards; a ready version not in use may be retired. The first ready version of a name is put in use; later
ones are activated explicitly (one in use per name: the row's `in_use` and the pack library's `current.json`
change in the transaction of the audit event). Every state change is in the audit trail.

Where things are: the prepared packs in `LCASettings.backgrounds_dir/<name>/<version>/` (contract A, shared by
the API and worker processes), an upload's file in `<backgrounds_dir>/_imports/<id>/` (so a worker on another
host with the same shared folder reads it), each version's bw2data project `pcf-bg-<name>-<version>` under the
Brightway directory. A file on the server (`pcf backgrounds import PATH`) is read where it is, never copied.

A failure keeps its reason (`failure`, `failure_code`, and the problems found) and leaves nothing visible as
ready: a half-written pack is removed, the activities are not indexed.
"""

import hashlib
import logging
import re
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from footprint_api.core.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from footprint_api.core.settings import get_settings
from footprint_api.infra import queue
from footprint_api.infra.security import Principal
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent, BackgroundActivity, BackgroundDatabase, Role, utcnow
from footprint_api.services import audit
from footprint_api.services.audit import SYSTEM
from footprint_api.services.catalogue import Page, contains, page_size, search_text
from footprint_api.services.principals import actor

log = logging.getLogger(__name__)

FORMATS = ("ecospold2", "jsonld", "excel", "csv")
STATES = ("queued", "importing", "needs_attention", "preparing", "sampling", "ready", "failed", "discarded", "retired")
RUNNING = ("queued", "importing", "preparing", "sampling")
SUFFIXES = {"ecospold2": ".zip", "jsonld": ".zip", "excel": ".xlsx", "csv": ".csv"}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,39}")
MAX_FILENAME = 300
# an import sent but not started within this time was lost by the broker; one running whose heartbeat is older
# than STALLED_AFTER lost its worker: both are queued and sent again by the housekeeping task
OUTBOX_GRACE_SECONDS = 5
LOST_AFTER_SECONDS = 600
STALLED_AFTER_SECONDS = 1800
MAX_REQUEUES = 2  # a version whose worker stops a third time fails (a database that kills its worker, every time)
PROGRESS_EVERY_SECONDS = 1.0  # progress written to the row at most this often (and at every stage change)
# the share of the whole progress bar each part takes: bw2io's import, the preparation, the samples, the index
SHARES = (("import", 0.0, 0.5), ("prepare", 0.5, 0.75), ("sample", 0.75, 0.97), ("index", 0.97, 1.0))
INSERT_BATCH = 5000  # activity rows per INSERT statement (executemany): 23,500 rows in 5 statements
# below this many activities the samples are drawn in the worker's own process: starting sampling processes (each
# imports Brightway and loads the matrices) costs seconds, more than drawing a small database's samples takes; the
# samples are the same either way (lca_models.backgrounds.sampling draws fixed streams)
SAMPLE_IN_PROCESS_BELOW = 5000


@dataclass(frozen=True)
class ActivityFilters:
    """The values a search may filter by: the names of the databases in use, and the locations and units of their
    activities (each list bounded)."""

    databases: list[str]
    locations: list[str]
    units: list[str]


# --- places ----------------------------------------------------------------------------------------------------------


def lca_settings():
    from lca_models.config import LCASettings

    return LCASettings()


def library_root() -> Path:
    """The prepared packs' folder (contract A): `PCF_BACKGROUNDS_DIR`, default beside the Brightway directory."""
    settings = lca_settings()
    root = getattr(settings, "backgrounds_dir", None) or settings.brightway_dir.parent / "backgrounds"
    return Path(root)


def library():
    from lca_models.backgrounds import BackgroundLibrary

    return BackgroundLibrary(library_root())


def imports_dir(database_id: uuid.UUID) -> Path:
    return library_root() / "_imports" / str(database_id)


def project_name(name: str, version: str) -> str:
    return f"pcf-bg-{name}-{version}"


def _project(session: Session, row: BackgroundDatabase) -> str:
    """The bw2data project of a new version: `pcf-bg-<name>-<version>`, unless another version already has that
    project (names and versions may hold '-': "a-b" 1 and "a" "b-1" would share one, and discarding or retiring one
    would delete the other's database), then with the row's id added."""
    base = project_name(row.name, row.version)
    taken = session.exec(select(BackgroundDatabase.id).where(BackgroundDatabase.project == base)).first()
    return base if taken is None else f"{base}-{row.id.hex[:12]}"


# --- checks ----------------------------------------------------------------------------------------------------------


def _error(field: str, code: str, reason: str, **params) -> dict:
    return {"field": field, "reason": reason, "code": code, "params": params}


def _admin(principal: Principal | None) -> None:
    if principal is not None and principal.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("only the platform administrator manages background databases", code="backgrounds.not_admin")


def checked_fields(name: str, version: str, format: str) -> tuple[str, str, str]:
    """The name, version and format as stored, or an Unprocessable naming each field at fault."""
    name, version, format = (name or "").strip(), (version or "").strip(), (format or "").strip().lower()
    errors = []
    if not NAME.fullmatch(name) or ".." in name:  # a directory of the pack library; a PCR link refuses ".." too
        errors.append(
            _error(
                "name",
                "backgrounds.name_invalid",
                "1–100 letters, digits, '.', '_', '+' or '-', e.g. ecoinvent-3.10-cutoff",
            )
        )
    if not VERSION.fullmatch(version) or ".." in version:
        errors.append(
            _error("version", "backgrounds.version_invalid", "1–40 letters, digits, '.', '_', '+' or '-', e.g. 3.10")
        )
    if format not in FORMATS:
        errors.append(
            _error("format", "backgrounds.format_unknown", f"one of {', '.join(FORMATS)}", formats=", ".join(FORMATS))
        )
    if errors:
        raise Unprocessable("the import cannot be started as given", errors)
    return name, version, format


def _taken(session: Session, name: str, version: str) -> None:
    found = session.exec(
        select(BackgroundDatabase).where(BackgroundDatabase.name == name, BackgroundDatabase.version == version)
    ).first()
    if found is not None:
        raise Conflict(
            f"{name} {version} exists: a version is never replaced, import it under a new version",
            [_error("version", "backgrounds.version_taken", "taken", name=name, version=version)],
            code="backgrounds.version_taken",
            params={"name": name, "version": version},
        )


def upload_limits():
    """Bounds of an uploaded archive: the upload itself is at most `max_upload_bytes`; unpacked, at most 200 times
    that (capped at 8 GiB) and 100,000 files. Larger databases are imported from the server's disk (the CLI)."""
    from lca_models.backgrounds.importing import Limits

    upload = get_settings().max_upload_bytes
    return Limits(max_members=100_000, max_bytes=min(200 * upload, 8 * 1024**3), max_member_bytes=512 * 1024**2)


def check_file(path: Path, format: str, filename: str | None = None) -> None:
    """An upload's file checked before anything is stored: its size, its kind against the format, an archive's
    members (count, sizes, compression ratio, paths, links) from its directory, and that it holds the format's
    data. Refusals name the field `file` (or `format` for data of another format)."""
    from lca_models.backgrounds.importing import ArchiveRefused, inspect

    size = path.stat().st_size
    limit = get_settings().max_upload_bytes
    if size > limit:
        raise PayloadTooLarge(
            f"the file is larger than {limit // 1024**2} MiB: import it from the server's disk with the CLI",
            [_error("file", "backgrounds.file_too_large", "too large", mebibytes=limit // 1024**2)],
            code="backgrounds.file_too_large",
            params={"mebibytes": limit // 1024**2},
        )
    if size == 0:
        raise Unprocessable("the file is empty", [_error("file", "backgrounds.file_empty", "empty")])
    if filename is not None and len(filename) > MAX_FILENAME:
        raise Unprocessable("the file name is too long", [_error("file", "backgrounds.file_name", "too long")])
    if format == "csv":
        _check_csv(path)
        return
    try:
        members = inspect(path, upload_limits())
    except ArchiveRefused as refused:
        raise Unprocessable(
            f"the archive is refused: {refused.detail}",
            [_error("file", f"backgrounds.archive.{refused.code}", refused.detail)],
            code=f"backgrounds.archive.{refused.code}",
        ) from None
    wanted = {
        "ecospold2": lambda name: name.lower().endswith(".spold"),
        "jsonld": lambda name: "processes/" in name and name.lower().endswith(".json"),
        "excel": lambda name: name == "xl/workbook.xml",
    }[format]
    if not any(wanted(member) for member in members):
        raise Unprocessable(
            f"the file holds no {format} data",
            [_error("format", "backgrounds.wrong_format", f"no {format} data in the file", format=format)],
            code="backgrounds.wrong_format",
            params={"format": format},
        )


def _check_csv(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(65536)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the end of the block read
            raise Unprocessable(
                "the CSV file is not UTF-8 text",
                [_error("file", "backgrounds.csv_not_text", "not UTF-8 text")],
                code="backgrounds.csv_not_text",
            ) from None
        text = head[: exc.start].decode("utf-8-sig")
    if "\x00" in text or not text.lstrip().startswith("Database"):
        raise Unprocessable(
            "the CSV file is not in Brightway's format (its first cell says Database)",
            [_error("format", "backgrounds.wrong_format", "no csv data in the file", format="csv")],
            code="backgrounds.wrong_format",
            params={"format": "csv"},
        )


# --- starting an import -------------------------------------------------------------------------------------------


def upload(
    session: Session,
    principal: Principal,
    *,
    name: str,
    version: str,
    format: str,
    filename: str | None,
    staged: Path,
) -> BackgroundDatabase:
    """A new version from an uploaded file already streamed to `staged` (bounded by the edge): checked (name,
    version, format, archive safety), moved into the service's import folder, its row `queued`, audited, committed;
    the caller then calls `dispatch(row.id)`. Refused (Unprocessable/Conflict/PayloadTooLarge naming the field,
    nothing stored): a bad name or version, a taken name+version, an unknown format, an unsafe or unreadable archive.
    """
    _admin(principal)
    name, version, format = checked_fields(name, version, format)
    _taken(session, name, version)
    check_file(staged, format, filename)
    row = BackgroundDatabase(
        name=name,
        version=version,
        format=format,
        source="",
        source_name=(filename or "")[:MAX_FILENAME] or None,
        project="",
        created_by=principal.subject,
    )
    row.project = _project(session, row)
    folder = imports_dir(row.id)
    folder.mkdir(parents=True, exist_ok=False)
    target = folder / f"source{SUFFIXES[format]}"
    try:
        shutil.move(staged, target)
        row.source = str(target)
        row.source_bytes = target.stat().st_size
        row.source_digest = _sha256(target)
        return _queued(session, principal, row)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def import_path(
    session: Session,
    principal: Principal | None,
    source: Path,
    *,
    name: str,
    version: str,
    format: str,
) -> BackgroundDatabase:
    """A new version from a file or folder on the server (the CLI's `pcf backgrounds import PATH`: multi-GB licensed
    databases never go through HTTP). Same checks of the fields; the archive's limits are those of a full ecoinvent
    release (`importing.Limits()`), checked when the worker unpacks it. `principal` None is the operator at the
    console (audited as the system)."""
    _admin(principal)
    name, version, format = checked_fields(name, version, format)
    _taken(session, name, version)
    source = Path(source).expanduser().resolve()
    if not source.exists():
        raise Unprocessable(
            f"{source} does not exist", [_error("source", "backgrounds.source_missing", "not found", path=str(source))]
        )
    if format in ("excel", "csv") and not source.is_file():
        raise Unprocessable(
            f"{source} is not a file", [_error("source", "backgrounds.source_missing", "not a file", path=str(source))]
        )
    row = BackgroundDatabase(
        name=name,
        version=version,
        format=format,
        source=str(source),
        source_name=source.name[:MAX_FILENAME],
        source_bytes=source.stat().st_size if source.is_file() else None,
        source_digest=_sha256(source) if source.is_file() else None,
        project="",
        created_by=principal.subject if principal else None,
    )
    row.project = _project(session, row)
    return _queued(session, principal, row)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _who(principal: Principal | None) -> audit.Actor:
    return actor(principal) if principal is not None else SYSTEM


def _queued(session: Session, principal: Principal | None, row: BackgroundDatabase) -> BackgroundDatabase:
    session.add(row)
    audit.record(
        session,
        _who(principal),
        "background.import_queued",
        "background_database",
        row.id,
        after={
            "name": row.name,
            "version": row.version,
            "format": row.format,
            "source": row.source_name,
            "bytes": row.source_bytes,
            "sha256": row.source_digest,
        },
    )
    try:
        audit.commit(session)
    except Exception:
        session.rollback()
        _taken(session, row.name, row.version)  # the same version imported meanwhile: a Conflict
        raise
    return row


IMPORT_TASK = "pcf.import_background"  # the task's name on the queue (registered by footprint_api.tasks)


def run_import_job(database_id: str) -> str | None:
    """The queued task's body: the import of one version (`run_import`); its state and progress are on its row."""
    return run_import(uuid.UUID(database_id))


def dispatch(database_id: uuid.UUID) -> bool:
    """Sends the queued import to the task queue and marks it sent; a broker that is down leaves it queued and
    unsent, and the housekeeping task sends it again (`resend_imports`). Call it with no transaction open in the
    caller's session (on SQLite a transaction holds the process's writer turn, and this writes in a session of its
    own)."""
    try:
        queue.send(IMPORT_TASK, run_import_job, str(database_id))
    except queue.BrokerUnavailable as exc:
        log.warning("background import %s not sent now, the housekeeping task sends it: %s", database_id, exc)
        return False
    try:
        with session_scope() as session:
            session.exec(
                update(BackgroundDatabase)
                .where(col(BackgroundDatabase.id) == database_id, col(BackgroundDatabase.dispatched_at).is_(None))
                .values(dispatched_at=utcnow())
            )
            session.commit()
    except Exception:
        log.warning("background import %s sent but its mark not written", database_id, exc_info=True)
    return True


# --- running an import ---------------------------------------------------------------------------------------------


class Superseded(RuntimeError):
    """This run of an import no longer owns its row: the housekeeping task took it for a worker that had stopped
    beating and another run claimed it (or failed it). The run stops writing: nothing it does is shown, and it
    removes nothing of the run that replaced it."""


class _Row:
    """The running import's row: state changes (each audited, in its own short transaction) and progress (throttled),
    so that no transaction is held while bw2io or the solver works. Each write first checks that this run still
    owns the row (its claim's `started_at`, `token`): a worker that was only slow, taken over meanwhile, stops with
    `Superseded` instead of overwriting the run that replaced it."""

    def __init__(self, database_id: uuid.UUID, report: Callable[[str, float], None] | None, token=None):
        self.id = database_id
        self.report = report
        self.token = token
        self.written_at = 0.0
        self.stage: str | None = None

    def owned(self, row: BackgroundDatabase | None) -> BackgroundDatabase:
        if row is None or row.started_at != self.token or row.state not in RUNNING:
            raise Superseded(f"background import {self.id}: this run was taken over")
        return row

    def move(self, state: str, before: str, stage: str | None = None, **values) -> None:
        with session_scope() as session:
            row = self.owned(session.get(BackgroundDatabase, self.id))
            after = {"state": state, **{k: v for k, v in values.items() if k in ("failure_code", "samples")}}
            row.state, row.stage = state, stage
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = row.heartbeat_at = utcnow()
            audit.record(
                session,
                SYSTEM,
                (  # literal action names (the audit trail's catalogue names each): the states this moves to
                    "background.needs_attention"
                    if state == "needs_attention"
                    else "background.preparing"
                    if state == "preparing"
                    else "background.sampling"
                    if state == "sampling"
                    else "background.failed"
                ),
                "background_database",
                row.id,
                before={"state": before},
                after=after,
            )
            audit.commit(session)
        self.stage = stage

    def progress(self, part: str, stage: str, fraction: float) -> None:
        start, end = next((s, e) for p, s, e in SHARES if p == part)
        overall = start + (end - start) * min(max(fraction, 0.0), 1.0)
        if self.report is not None:
            self.report(stage, overall)
        now = time.monotonic()
        if stage == self.stage and now - self.written_at < PROGRESS_EVERY_SECONDS:
            return
        self.written_at, self.stage = now, stage
        with session_scope() as session:
            row = self.owned(session.get(BackgroundDatabase, self.id))
            row.progress, row.stage = overall, stage
            row.heartbeat_at = row.updated_at = utcnow()
            session.commit()


def _claim(database_id: uuid.UUID) -> BackgroundDatabase | None:
    """Moves a queued version to importing, atomically: an import sent twice runs once."""
    with session_scope() as session:
        now = utcnow()
        claimed = session.exec(
            update(BackgroundDatabase)
            .where(col(BackgroundDatabase.id) == database_id, col(BackgroundDatabase.state) == "queued")
            .values(state="importing", stage="extracting", progress=0.0, started_at=now, heartbeat_at=now)
        ).rowcount
        if not claimed:
            session.rollback()
            return None
        row = session.get(BackgroundDatabase, database_id)
        audit.record(
            session,
            SYSTEM,
            "background.importing",
            "background_database",
            row.id,
            before={"state": "queued"},
            after={"state": "importing", "drop_unlinked": row.drop_unlinked},
        )
        audit.commit(session)
        session.expunge(row)
        return row


def run_import(database_id: uuid.UUID, progress: Callable[[str, float], None] | None = None) -> str | None:
    """The job body: import with bw2io into the version's own bw2data project, then prepare and sample the pack,
    the row's state, stage and progress updated on the way; the activities indexed for the search. Returns the
    final state. A version already past `queued` (sent twice) is left alone."""
    row = _claim(database_id)
    if row is None:
        with session_scope() as session:
            found = session.get(BackgroundDatabase, database_id)
            return found.state if found else None
    tracker = _Row(database_id, progress, row.started_at)
    timings: dict[str, float] = {}
    out = library_root() / row.name / row.version
    try:
        report = _import(row, tracker, timings)
        if not report.written:
            tracker.move(
                "needs_attention",
                "importing",
                progress=SHARES[0][2],
                counts=report.counts,
                problems={"unlinked": report.unlinked, "other": report.problems},
                timings=timings,
            )
            return "needs_attention"
        return _prepare(row, report, tracker, timings, out)
    except Superseded:
        log.warning("background import %s: this run was taken over by another; it stops", database_id)
        return None
    except Exception as exc:  # noqa: BLE001 - every failure ends the version as failed with its reason
        try:
            _failed(row, tracker, timings, out, exc)
        except Superseded:
            log.warning("background import %s failed after it was taken over: left to the run that replaced it", row.id)
            return None
        return "failed"


def _import(row: BackgroundDatabase, tracker: _Row, timings: dict):
    from lca_models.backgrounds.importing import Limits, import_database, unpack

    source = Path(row.source)
    started = time.perf_counter()
    work = imports_dir(row.id) / f"unpacked-{uuid.uuid4().hex[:12]}"  # a run's own: a stopped run's is not shared
    if source.is_file() and row.format in ("ecospold2", "jsonld"):
        tracker.progress("import", "extracting", 0.0)
        limits = upload_limits() if Path(row.source).parent == imports_dir(row.id) else Limits()
        source = unpack(source, work, limits)
        timings["extracting"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    drop = (row.problems or {}).get("unlinked") if row.drop_unlinked else None
    try:
        report = import_database(
            source,
            format=row.format,
            project=row.project,
            name=row.name,
            progress=lambda stage, fraction: tracker.progress("import", stage, fraction),
            drop=drop,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timings["import"] = round(time.perf_counter() - started, 3)
    return report


def _prepare(row: BackgroundDatabase, report, tracker: _Row, timings: dict, out: Path) -> str:
    from lca_models.backgrounds import prepare_pack, sample_pack, solver_report
    from lca_models.backgrounds.importing import in_project

    settings = lca_settings()
    solver = getattr(settings, "solver", "superlu")
    samples = int(getattr(settings, "background_samples", 1000))
    methods = _methods()
    tracker.move(
        "preparing",
        "importing",
        "matrices",
        progress=SHARES[1][1],
        counts=report.counts,
        problems={"unlinked": [], "other": report.problems},
        dropped=report.dropped,
        timings=timings,
        solver=solver_report(solver),
    )
    with in_project(row.project):  # one switch of bw2data's current project for both stages
        started = time.perf_counter()
        manifest = prepare_pack(
            row.project,
            row.name,
            out,
            name=row.name,
            version=row.version,
            methods=methods,
            solver=solver,
            progress=lambda stage, fraction: tracker.progress("prepare", stage, fraction),
        )
        timings["prepare"] = round(time.perf_counter() - started, 3)
        tracker.move(
            "sampling", "preparing", "sampling", progress=SHARES[2][1], timings=timings, digest=manifest["digest"]
        )
        started = time.perf_counter()
        manifest = sample_pack(
            row.project,
            row.name,
            out,
            samples=samples,
            seed=settings.monte_carlo_seed,
            solver=solver,
            progress=lambda stage, fraction: tracker.progress("sample", stage, fraction),
            **({"workers": 1} if report.counts.get("activities", 0) < SAMPLE_IN_PROCESS_BELOW else {}),
        )
        timings["sample"] = round(time.perf_counter() - started, 3)
    tracker.progress("index", "indexing", 0.0)
    started = time.perf_counter()
    counts = dict(report.counts)
    counts["rejected_samples"] = manifest.get("rejected_samples", 0)
    _ready(row, tracker, out, manifest, counts, timings, started)
    if tracker.report is not None:
        tracker.report("ready", 1.0)
    return "ready"


def _methods() -> dict:
    from lca_models.config import LCASettings
    from lca_models.factor_set import load_factor_set

    return dict(load_factor_set(LCASettings().factor_set).methods)


def index_rows(database_id: uuid.UUID, pack) -> list[dict]:
    """The search rows of a prepared pack: one per column, with its total unit score (kg CO2e per unit)."""
    import numpy as np

    total = np.asarray(pack.unit_scores[0])
    rows = []
    for column in range(total.shape[0]):
        info = pack.activity(column)
        score = float(total[column])
        rows.append(
            {
                "database_id": database_id,
                "column": column,
                "code": str(info.code)[:100],
                "name": str(info.name or "")[:500],
                "reference_product": (str(info.reference_product)[:500] if info.reference_product else None),
                "location": str(info.location or "")[:100],
                "unit": str(info.unit or "")[:50],
                "unit_score": score if np.isfinite(score) else None,
            }
        )
    return rows


def insert_activities(session: Session, rows: list[dict]) -> None:
    """Bulk insert (executemany in batches): PostgreSQL's driver sends each batch as one multi-row statement,
    SQLite runs one prepared statement; 23,500 rows take about a second, not minutes of ORM objects."""
    table = BackgroundActivity.__table__
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(table), rows[start : start + INSERT_BATCH])


def _ready(
    row: BackgroundDatabase, tracker: _Row, out: Path, manifest: dict, counts: dict, timings: dict, started: float
) -> None:
    from lca_models.backgrounds import PreparedBackground

    pack = PreparedBackground.open(out)
    rows = index_rows(row.id, pack)
    try:
        _mark_ready(row, tracker, rows, manifest, counts, timings, started, may_activate=True)
    except IntegrityError:
        # another version of the name was put in use between the check and the write (two first versions of a
        # name ready at once): this one is ready, not in use, instead of failing
        _mark_ready(row, tracker, rows, manifest, counts, timings, started, may_activate=False)


def _mark_ready(
    row: BackgroundDatabase,
    tracker: _Row,
    rows: list[dict],
    manifest: dict,
    counts: dict,
    timings: dict,
    started: float,
    *,
    may_activate: bool,
) -> None:
    """The version ready and indexed, in one transaction with its audit events; the first ready version of a name
    is put in use, the library's `current.json` following before the commit and put back when the commit fails (a
    database down at that moment leaves no pack in use that the rows do not call ready)."""
    lib = library()
    with session_scope() as session:
        found = tracker.owned(session.get(BackgroundDatabase, row.id))
        session.exec(delete(BackgroundActivity).where(col(BackgroundActivity.database_id) == row.id))
        insert_activities(session, rows)
        timings["index"] = round(time.perf_counter() - started, 3)
        first = (
            may_activate
            and session.exec(
                select(BackgroundDatabase).where(
                    BackgroundDatabase.name == row.name, col(BackgroundDatabase.in_use).is_(True)
                )
            ).first()
            is None
        )
        now = utcnow()
        found.state, found.stage, found.progress = "ready", None, 1.0
        found.counts = {**counts, "indexed": len(rows)}
        found.timings = dict(timings)
        found.digest = manifest.get("digest") or found.digest
        found.samples = int(manifest.get("samples") or 0)
        found.finished_at = found.updated_at = found.heartbeat_at = now
        audit.record(
            session,
            SYSTEM,
            "background.ready",
            "background_database",
            row.id,
            before={"state": "sampling"},
            after={"state": "ready", "digest": found.digest, "activities": len(rows), "samples": found.samples},
        )
        previous = lib.current_version(row.name)
        if first:  # the first ready version of a name is the one in use
            found.in_use, found.activated_at = True, now
            audit.record(
                session,
                SYSTEM,
                "background.activated",
                "background_database",
                row.id,
                before={"in_use": None},
                after={"name": row.name, "version": row.version, "digest": found.digest},
            )
            session.flush()
            lib.activate(row.name, row.version)
        try:
            audit.commit(session)
        except BaseException:
            if first:
                _restore_current(lib, row.name, previous)
            raise


def _restore_current(lib, name: str, version: str | None) -> None:
    """The library's version in use put back as it was (none: no `current.json`)."""
    try:
        if version is None:
            lib.deactivate(name)
        else:
            lib.activate(name, version)
    except (OSError, ValueError):
        log.exception("background %s: the version in use could not be put back to %s", name, version)


def _remove_pack(out: Path) -> None:
    """A half-written pack and its temporary folders: never left to be read."""
    shutil.rmtree(out, ignore_errors=True)
    for leftover in out.parent.glob(f".{out.name}*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _failed(row: BackgroundDatabase, tracker: _Row, timings: dict, out: Path, exc: Exception) -> None:
    from lca_models.backgrounds.importing import ArchiveRefused, ImportFailed

    if isinstance(exc, ImportFailed):
        code, reason, problems = f"backgrounds.import.{exc.code}", exc.detail, exc.problems
    elif isinstance(exc, ArchiveRefused):
        code, reason, problems = f"backgrounds.archive.{exc.code}", exc.detail, []
    else:
        log.exception("background import %s failed", row.id)
        code, reason, problems = "backgrounds.import.error", f"{type(exc).__name__}: {exc}", []
    with session_scope() as session:
        before = tracker.owned(session.get(BackgroundDatabase, row.id)).state  # a run taken over removes nothing
    _remove_pack(out)
    with session_scope() as session:
        session.exec(delete(BackgroundActivity).where(col(BackgroundActivity.database_id) == row.id))
        session.commit()
    tracker.move(
        "failed",
        before,
        None,
        failure=reason[:4000],
        failure_code=code,
        timings=timings,
        finished_at=utcnow(),
        **({"problems": {"unlinked": [], "other": problems}} if problems else {}),
    )


# --- the admin's decisions -----------------------------------------------------------------------------------------


def _row(session: Session, database_id: uuid.UUID) -> BackgroundDatabase:
    row = session.get(BackgroundDatabase, database_id)
    if row is None:
        raise NotFound("no such background database version", code="backgrounds.not_found")
    return row


def _state_refused(row: BackgroundDatabase, action: str, allowed: tuple[str, ...]) -> Conflict:
    return Conflict(
        f"{row.name} {row.version} is {row.state}: it cannot be {action} (only when {' or '.join(allowed)})",
        [_error("state", f"backgrounds.{action}.state", row.state, state=row.state)],
        code=f"backgrounds.{action}.state",
        params={"state": row.state},
    )


def proceed(session: Session, principal: Principal | None, database_id: uuid.UUID) -> BackgroundDatabase:
    """From `needs_attention`: import again dropping exactly the listed unlinked exchanges (kept on the version as
    `dropped`), audited; queued again and sent by the caller (`dispatch`)."""
    _admin(principal)
    row = _row(session, database_id)
    if row.state != "needs_attention":
        raise _state_refused(row, "proceeded", ("needs_attention",))
    listed = (row.problems or {}).get("unlinked") or []
    row.state, row.stage, row.progress, row.drop_unlinked = "queued", None, 0.0, True
    row.dispatched_at = row.started_at = row.finished_at = None
    row.updated_at = utcnow()
    audit.record(
        session,
        _who(principal),
        "background.proceeded",
        "background_database",
        row.id,
        before={"state": "needs_attention"},
        after={
            "state": "queued",
            "drop": [
                {k: group.get(k) for k in ("name", "categories", "location", "unit", "type", "count")}
                for group in listed
            ],
        },
    )
    audit.commit(session)  # no refresh: the caller may dispatch now, with no transaction of this session open
    return row


def discard(session: Session, principal: Principal | None, database_id: uuid.UUID) -> BackgroundDatabase:
    """From `needs_attention` or `failed`: the version is discarded (its uploaded file and bw2data project
    removed, its row and problems kept), audited."""
    from lca_models.backgrounds.importing import delete_project

    _admin(principal)
    row = _row(session, database_id)
    if row.state not in ("needs_attention", "failed"):
        raise _state_refused(row, "discarded", ("needs_attention", "failed"))
    before = row.state
    row.state, row.stage, row.updated_at = "discarded", None, utcnow()
    audit.record(
        session,
        _who(principal),
        "background.discarded",
        "background_database",
        row.id,
        before={"state": before},
        after={"state": "discarded"},
    )
    audit.commit(session)  # no refresh: the caller may dispatch now, with no transaction of this session open
    shutil.rmtree(imports_dir(row.id), ignore_errors=True)
    delete_project(row.project)
    return row


def activate(session: Session, principal: Principal | None, database_id: uuid.UUID) -> BackgroundDatabase:
    """A ready version becomes the one in use for its name (one per name), in one transaction with the audit event;
    the pack library's `current.json` follows before the commit (and is put back if the commit fails)."""
    _admin(principal)
    row = _row(session, database_id)
    if row.state != "ready":
        raise _state_refused(row, "activated", ("ready",))
    if row.in_use:
        return row
    lib = library()
    if lib.get(row.name, row.version) is None:
        raise _pack_missing(row)
    previous = session.exec(
        select(BackgroundDatabase).where(BackgroundDatabase.name == row.name, col(BackgroundDatabase.in_use).is_(True))
    ).first()
    if previous is not None:
        previous.in_use = False
        session.flush()  # the old one out before the new one in: one in use per name at every moment
    row.in_use, row.activated_at, row.updated_at = True, utcnow(), utcnow()
    session.flush()
    audit.record(
        session,
        _who(principal),
        "background.activated",
        "background_database",
        row.id,
        before={"in_use": previous.version if previous else None},
        after={"name": row.name, "version": row.version, "digest": row.digest},
    )
    before = lib.current_version(row.name)
    try:
        lib.activate(row.name, row.version)
    except FileNotFoundError:  # removed between the check and now
        session.rollback()
        raise _pack_missing(row) from None
    try:
        audit.commit(session)
    except BaseException:
        _restore_current(lib, row.name, before)
        raise
    return row


def _pack_missing(row: BackgroundDatabase) -> Conflict:
    return Conflict(
        f"the prepared results of {row.name} {row.version} are not on this server ({library_root()}): the API and the"
        " workers must share PCF_BACKGROUNDS_DIR",
        [_error("state", "backgrounds.activated.missing", "not prepared here", name=row.name, version=row.version)],
        code="backgrounds.activated.missing",
        params={"name": row.name, "version": row.version},
    )


def retire(session: Session, principal: Principal | None, database_id: uuid.UUID) -> BackgroundDatabase:
    """A ready version not in use is retired: no longer offered for linking (its activities leave the search),
    its pack and bw2data project removed, its row kept; audited."""
    from lca_models.backgrounds.importing import delete_project

    _admin(principal)
    row = _row(session, database_id)
    if row.state != "ready" or row.in_use:
        raise Conflict(
            f"{row.name} {row.version} cannot be retired: only a ready version not in use",
            [_error("state", "backgrounds.retired.state", row.state, state=row.state)],
            code="backgrounds.retired.state",
            params={"state": row.state},
        )
    row.state, row.updated_at = "retired", utcnow()
    session.exec(delete(BackgroundActivity).where(col(BackgroundActivity.database_id) == row.id))
    audit.record(
        session,
        _who(principal),
        "background.retired",
        "background_database",
        row.id,
        before={"state": "ready"},
        after={"state": "retired"},
    )
    audit.commit(session)  # no refresh: the caller may dispatch now, with no transaction of this session open
    library().remove(row.name, row.version)
    delete_project(row.project)
    return row


# --- reading ---------------------------------------------------------------------------------------------------------


def databases(session: Session, principal: Principal) -> list[BackgroundDatabase]:
    """Every version, newest first (platform admin)."""
    _admin(principal)
    return list(
        session.exec(
            select(BackgroundDatabase).order_by(
                col(BackgroundDatabase.created_at).desc(), col(BackgroundDatabase.id).desc()
            )
        )
    )


def database(session: Session, principal: Principal, database_id: uuid.UUID) -> BackgroundDatabase:
    """One version (platform admin): state, progress, stage, problems, counts, timings, solver."""
    _admin(principal)
    return _row(session, database_id)


def in_use(session: Session) -> list[BackgroundDatabase]:
    """The versions in use, one per name (ready): what PCR authors may link to (any signed-in person)."""
    return list(
        session.exec(
            select(BackgroundDatabase)
            .where(col(BackgroundDatabase.in_use).is_(True), BackgroundDatabase.state == "ready")
            .order_by(BackgroundDatabase.name)
        )
    )


SEARCH_SORTS = ("name", "score", "-score", "location")


def search_activities(
    session: Session,
    *,
    q: str | None = None,
    database: str | None = None,
    location: str | None = None,
    unit: str | None = None,
    page: int | None = None,
    size: int | None = None,
    sort: str | None = None,
) -> Page:
    """Activities of the versions in use (or of `database`'s version in use) whose name or reference product
    contains `q` (bounded, LIKE wildcards literal), filtered by exact location and unit; one page of
    (BackgroundActivity, BackgroundDatabase) rows ordered by name, location."""
    query = (
        select(BackgroundActivity, BackgroundDatabase)
        .join(BackgroundDatabase, col(BackgroundDatabase.id) == col(BackgroundActivity.database_id))
        .where(col(BackgroundDatabase.in_use).is_(True), BackgroundDatabase.state == "ready")
    )
    text = search_text(q)
    if text:
        query = query.where(
            contains(BackgroundActivity.name, text) | contains(BackgroundActivity.reference_product, text)
        )
    if database:
        query = query.where(BackgroundDatabase.name == database.strip()[:100])
    if location:
        query = query.where(BackgroundActivity.location == location.strip()[:100])
    if unit:
        query = query.where(BackgroundActivity.unit == unit.strip()[:50])
    sorts = {
        "name": (func.lower(BackgroundActivity.name), BackgroundActivity.location, BackgroundActivity.id),
        "location": (BackgroundActivity.location, func.lower(BackgroundActivity.name), BackgroundActivity.id),
        "score": (BackgroundActivity.unit_score, BackgroundActivity.id),
        "-score": (col(BackgroundActivity.unit_score).desc(), BackgroundActivity.id),
    }
    key = sort if sort in sorts else "name"
    size = page_size(size)
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    last = max(1, -(-total // size))
    number = min(max(page or 1, 1), last)
    rows = session.exec(query.order_by(*sorts[key]).offset((number - 1) * size).limit(size)).all()
    return Page([tuple(row) for row in rows], total, number, size, key)


def activity(session: Session, database: str, code: str, version: str | None = None) -> BackgroundActivity | None:
    """One activity by its code in the version in use of `database` (or in `version`, when it is ready)."""
    query = (
        select(BackgroundActivity)
        .join(BackgroundDatabase, col(BackgroundDatabase.id) == col(BackgroundActivity.database_id))
        .where(BackgroundDatabase.name == database, BackgroundActivity.code == code)
    )
    if version is None:
        query = query.where(col(BackgroundDatabase.in_use).is_(True))
    else:
        query = query.where(BackgroundDatabase.version == version, BackgroundDatabase.state == "ready")
    return session.exec(query).first()


FILTER_VALUES = 500  # at most this many locations or units offered


def filters(session: Session, database: str | None = None) -> ActivityFilters:
    """The names, locations and units a search may filter by."""
    names = [row.name for row in in_use(session)]
    base = (
        select(BackgroundActivity)
        .join(BackgroundDatabase, col(BackgroundDatabase.id) == col(BackgroundActivity.database_id))
        .where(col(BackgroundDatabase.in_use).is_(True), BackgroundDatabase.state == "ready")
    )
    if database:
        base = base.where(BackgroundDatabase.name == database)
    sub = base.subquery()
    locations = session.exec(select(sub.c.location).distinct().order_by(sub.c.location).limit(FILTER_VALUES)).all()
    units = session.exec(select(sub.c.unit).distinct().order_by(sub.c.unit).limit(FILTER_VALUES)).all()
    return ActivityFilters(names, [x for x in locations if x], [x for x in units if x])


# --- lost imports ----------------------------------------------------------------------------------------------------


def unsent_imports(session: Session) -> list[uuid.UUID]:
    """Queued versions whose message was not sent (broker down) or was lost (sent long ago, never started), and
    running ones whose worker stopped beating (queued again here, audited): the housekeeping task sends them."""
    now = utcnow()
    stalled = session.exec(
        select(BackgroundDatabase).where(
            col(BackgroundDatabase.state).in_(("importing", "preparing", "sampling")),
            col(BackgroundDatabase.heartbeat_at) < now - timedelta(seconds=STALLED_AFTER_SECONDS),
        )
    ).all()
    given_up = []
    for row in stalled:
        if _requeues(session, row.id) >= MAX_REQUEUES:
            given_up.append(_worker_lost(session, row))
            continue
        audit.record(
            session,
            SYSTEM,
            "background.requeued",
            "background_database",
            row.id,
            before={"state": row.state, "heartbeat_at": row.heartbeat_at.isoformat() if row.heartbeat_at else None},
            after={"state": "queued"},
        )
        row.state, row.stage, row.progress, row.dispatched_at = "queued", None, 0.0, None
        row.updated_at = now
    if stalled:
        audit.commit(session)
    for out in given_up:
        _remove_pack(out)
    found = session.exec(
        select(BackgroundDatabase.id).where(
            BackgroundDatabase.state == "queued",
            (
                col(BackgroundDatabase.dispatched_at).is_(None)
                & (col(BackgroundDatabase.updated_at) < now - timedelta(seconds=OUTBOX_GRACE_SECONDS))
            )
            | (col(BackgroundDatabase.dispatched_at) < now - timedelta(seconds=LOST_AFTER_SECONDS)),
        )
    ).all()
    return list(found)


def _requeues(session: Session, database_id: uuid.UUID) -> int:
    """How many times the housekeeping task has queued this version again (its audit trail says)."""
    return session.exec(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == "background.requeued",
            AuditEvent.object_type == "background_database",
            AuditEvent.object_id == str(database_id),
        )
    ).one()


def _worker_lost(session: Session, row: BackgroundDatabase) -> Path:
    """A version whose worker stopped beating again after MAX_REQUEUES takeovers (a worker killed by the database
    each time, e.g. out of memory) fails with its reason, instead of being queued for ever; its pack folder (to
    remove after the commit)."""
    before = row.state
    attempts = MAX_REQUEUES + 1
    row.state, row.stage, row.dispatched_at = "failed", None, None
    row.failure = (
        f"the worker running the import stopped {attempts} times without finishing (no progress for "
        f"{STALLED_AFTER_SECONDS // 60} minutes, last during {before}): check the workers' memory and logs, "
        "then discard this version and import it again"
    )
    row.failure_code = "backgrounds.import.worker_lost"
    row.finished_at = row.updated_at = utcnow()
    session.exec(delete(BackgroundActivity).where(col(BackgroundActivity.database_id) == row.id))
    audit.record(
        session,
        SYSTEM,
        "background.failed",
        "background_database",
        row.id,
        before={"state": before, "heartbeat_at": row.heartbeat_at.isoformat() if row.heartbeat_at else None},
        after={"state": "failed", "failure_code": row.failure_code, "attempts": attempts},
    )
    return library_root() / row.name / row.version


def resend_imports() -> int:
    """The housekeeping task's call: sends every unsent, lost or stalled import again; the number sent (it stops
    at the first the broker refuses: the next run tries again)."""
    with session_scope() as session:
        waiting = unsent_imports(session)
    sent = 0
    for database_id in waiting:
        if not dispatch(database_id):
            break
        sent += 1
    return sent


def source_members(path: Path) -> list[str]:
    """The names in an archive (for the pages' description of an upload)."""
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()
