"""Published PCR versions from the database, answering `pcr_rules.registry.default_registry()` in every process
(installed at start by the application factory, the Celery worker and the command line).

A published version never changes (the database refuses it: migration 0011), so its parsed document is kept for the
life of the process, and a version asked for by number that is not kept yet is read from the database: a version
another process has just published is found at once. What is *in force* (a listing, "the newest version") depends
on the set of published versions and their states: each process keeps that set's rows together with the registry's
generation (`pcr_registry_state`, raised in the same transaction as every publication, supersession, expiry and
withdrawal) and reads them again only when the generation, one primary-key read, has moved. Dates are compared with
today at each call, so a version taking effect or lapsing at midnight needs no write at all.
"""

from __future__ import annotations  # the class below names a method `list`

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from footprint_api.core.settings import get_settings
from footprint_api.persistence.db import get_engine, reads_only
from footprint_api.persistence.models import PCRRegistryState, PCRVersion
from pcr_rules import registry
from pcr_rules.errors import PCRNotFound
from pcr_rules.lifecycle import PCRState, Validity, semver
from pcr_rules.models import PCR

V = PCRVersion.__table__.c
GENERATION = select(PCRRegistryState.__table__.c.generation).where(PCRRegistryState.__table__.c.id == 1)
PUBLISHED_ROWS = select(
    V.pcr_id, V.version, V.state, V.effective_from, V.valid_until, V.transition_until, V.superseded_by
).where(V.published_at.is_not(None))


def today_utc() -> date:
    return datetime.now(UTC).date()


def validity(row) -> Validity:
    return Validity(
        row.pcr_id,
        row.version,
        PCRState(row.state),
        row.effective_from,
        row.valid_until,
        row.transition_until,
        row.superseded_by,
    )


class DatabaseSource:
    """The registry's answers from one database (by default the service's, as configured when asked)."""

    def __init__(self, engine: Callable[[], Engine] = get_engine, today: Callable[[], date] = today_utc):
        self._engine, self._today = engine, today
        self._lock = threading.Lock()
        self._documents: dict[tuple[str, str, str], PCR] = {}  # (database, id, version): for good
        self._published: dict[str, tuple[int, tuple[Validity, ...]]] = {}  # database: (generation, rows)

    def get(self, pcr_id: str, version: str | None = None) -> PCR:
        engine = self._engine()
        if version is None:
            candidates = [v for v in self._in_force(engine) if v.pcr_id == pcr_id]
            if not candidates:
                raise PCRNotFound(pcr_id)
            version = max(candidates, key=lambda v: semver(v.version)).version
        key = (_name(engine), pcr_id, version)
        if key not in self._documents:
            self._load(engine, [(pcr_id, version)])
        try:
            return self._documents[key]
        except KeyError:
            raise PCRNotFound(pcr_id, version) from None

    def list(self) -> list[PCR]:
        engine = self._engine()
        in_force = sorted(self._in_force(engine), key=lambda v: (v.pcr_id, semver(v.version)))
        name = _name(engine)
        missing = [(v.pcr_id, v.version) for v in in_force if (name, v.pcr_id, v.version) not in self._documents]
        if missing:
            self._load(engine, missing)
        return [self._documents[(name, v.pcr_id, v.version)] for v in in_force]

    def published(self, engine: Engine | None = None) -> tuple[Validity, ...]:
        """Every version ever published, with its state and dates as of the registry's current generation."""
        engine = engine or self._engine()
        name = _name(engine)
        with _reading(engine) as connection:
            generation = connection.execute(GENERATION).scalar_one_or_none() or 0
            kept = self._published.get(name)
            if kept is not None and kept[0] == generation:
                return kept[1]
            rows = tuple(validity(row) for row in connection.execute(PUBLISHED_ROWS))
        with self._lock:
            self._published[name] = (generation, rows)
        return rows

    def _in_force(self, engine: Engine) -> list[Validity]:
        today = self._today()
        return [v for v in self.published(engine) if v.in_force_on(today)]

    def _load(self, engine: Engine, refs: list[tuple[str, str]]) -> None:
        name = _name(engine)
        ids = {pcr_id for pcr_id, _ in refs}
        with _reading(engine) as connection:
            rows = connection.execute(
                select(V.pcr_id, V.version, V.document).where(V.published_at.is_not(None), V.pcr_id.in_(ids))
            ).all()
        wanted = set(refs)
        parsed = {
            (r.pcr_id, r.version): PCR.model_validate(r.document) for r in rows if (r.pcr_id, r.version) in wanted
        }
        with self._lock:
            for (pcr_id, version), pcr in parsed.items():
                self._documents.setdefault((name, pcr_id, version), pcr)


def _name(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def _reading(engine: Engine) -> Iterator[Connection]:
    """A connection of its own that only reads (on SQLite it begins DEFERRED: it never waits for, nor holds, the
    write lock that the caller's own transaction may hold)."""
    with reads_only(), engine.connect() as connection:
        yield connection


def install_database_source() -> DatabaseSource:
    """The service's start: every `default_registry()` of this process reads the service's database."""
    source = DatabaseSource()
    registry.install(source)
    return source


class DatabaseOrFiles:
    """For the command line: the database's registry when the configured database holds one, else the package's
    files (a scientist's `pcf calculate` needs no server), decided at the first question and said once."""

    def __init__(self, note: Callable[[str], None]):
        self._note, self._chosen = note, None
        self._lock = threading.Lock()

    def _source(self) -> registry.PCRSource:
        with self._lock:
            if self._chosen is None:
                reason = registry_absent()
                if reason is None:
                    self._chosen = DatabaseSource()
                else:
                    self._note(f"PCRs from the files shipped with the package: {reason}")
                    self._chosen = registry.file_registry()
            return self._chosen

    def get(self, pcr_id: str, version: str | None = None) -> PCR:
        return self._source().get(pcr_id, version)

    def list(self) -> list[PCR]:
        return self._source().list()


def registry_absent() -> str | None:
    """Why the configured database holds no PCR registry (None when it does); a missing SQLite file is not created."""
    url = get_settings().database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path != ":memory:" and not Path(path).exists():
            return "no database yet (run `pcf migrate`)"
    try:
        with _reading(get_engine()) as connection:
            if not inspect(connection).has_table(PCRRegistryState.__tablename__):
                return "the database predates the PCR registry (run `pcf migrate`)"
    except SQLAlchemyError as exc:
        return f"the database does not answer ({type(exc).__name__})"
    return None
