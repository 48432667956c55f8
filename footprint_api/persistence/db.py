"""Database engine and sessions. SQLite for the embedded mode, PostgreSQL in production and CI.

Also what "the database is unavailable" means (`unavailable`), and the outage as this process sees it (`outage`):
the edges answer such an error with 503 and Retry-After, and the log gets one line when an outage begins and one
when it ends, not a stack trace per request."""

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, create_engine

from footprint_api.core.settings import get_settings

log = logging.getLogger(__name__)

# SQLSTATEs of a PostgreSQL that cannot serve now (PostgreSQL 15, Appendix A): the classes 08 connection exception,
# 53 insufficient resources (disk full, out of memory, too many connections) and 58 system error (I/O); 57P01
# admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up, shutting down, in recovery); 25006
# read-only SQL transaction (a standby, or default_transaction_read_only). Constraint violations (23), serialization
# failures and deadlocks (40), a cancelled statement (57014) and programming errors (42) are not among them.
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "58")
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "25006"})
READ_ONLY_SQLSTATE = "25006"
# SQLite's primary result codes of a database that cannot serve now (sqlite.org/rescode.html): BUSY and LOCKED past
# the busy timeout, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL. SQLITE_ERROR (no such table, a syntax error) is not.
UNAVAILABLE_SQLITE_CODES = frozenset({5, 6, 8, 10, 13, 14, 15})
SQLITE_READONLY = 8


def ensure_sqlite_directory(url: str) -> None:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


# SQLite allows one writer. A transaction that reads and then writes must take the write lock when it begins
# (BEGIN IMMEDIATE, which waits its turn under the busy timeout): upgrading a read snapshot to a write fails at once
# with "database is locked" when another writer committed meanwhile. Reads (GET requests) begin DEFERRED and run
# side by side under WAL. PostgreSQL ignores this.
SQLITE_BEGIN: ContextVar[str] = ContextVar("sqlite_begin", default="IMMEDIATE")
SQLITE_TURN_SECONDS = 30  # as the driver's busy timeout: past it, SQLite's own wait decides


class _WriterTurn:
    """The turn to write to an SQLite database, among this process's threads: a thread that begins a write
    transaction waits here, woken the moment the writer before it commits, instead of in SQLite's busy handler,
    which sleeps 1, 2, 5, 10… up to 100 ms between tries and so, with a few threads writing, spends most of the
    time asleep with the lock free (58 % of thread time in issue 22's profile of the job queue). Reentrant per
    thread (a thread holding it that begins another write fails in SQLite as before, not here); released by the
    connection's commit, rollback or close, from whichever thread. Other processes still wait in SQLite."""

    def __init__(self):
        self._condition = threading.Condition()
        self._owner: int | None = None
        self._depth = 0

    def take(self, timeout: float) -> bool:
        me = threading.get_ident()
        with self._condition:
            if self._owner == me:
                self._depth += 1
                return True
            if not self._condition.wait_for(lambda: self._owner is None, timeout):
                return False  # left to SQLite's own busy timeout
            self._owner, self._depth = me, 1
            return True

    def give_back(self) -> None:
        with self._condition:
            self._depth -= 1
            if self._depth <= 0:
                self._owner, self._depth = None, 0
                self._condition.notify()


_writer_turns: dict[str, _WriterTurn] = {}


class _TurnTakingConnection(sqlite3.Connection):
    """An SQLite connection that gives back its writer's turn when its transaction ends."""

    turn: _WriterTurn | None = None

    def _give_back(self) -> None:
        turn, self.turn = self.turn, None
        if turn is not None:
            turn.give_back()

    def commit(self):
        try:
            return super().commit()
        finally:
            self._give_back()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self._give_back()

    def close(self):
        try:
            return super().close()
        finally:
            self._give_back()


@contextmanager
def reads_only() -> Iterator[None]:
    """Transactions begun inside only read: on SQLite they begin DEFERRED and do not wait for the writer."""
    token = SQLITE_BEGIN.set("DEFERRED")
    try:
        yield
    finally:
        SQLITE_BEGIN.reset(token)


class DatabaseUnavailable(SQLAlchemyError):
    """The database is known to be unavailable (an outage this process is in), so it is not asked again."""


def _driver_error(exc: BaseException) -> BaseException | None:
    return exc.orig if isinstance(exc, DBAPIError) else None


def _sqlstate(orig: BaseException | None) -> str | None:
    """psycopg's SQLSTATE of the error (None: a client-side error, or not psycopg)."""
    return getattr(orig, "sqlstate", None) if type(orig).__module__.startswith("psycopg") else None


def unavailable(exc: BaseException) -> bool:
    """Whether an error means the database cannot serve now (refused, gone away, shut down, read-only, busy, no free
    connection in the pool), as opposed to an error of the request or of the code, which stays what it is."""
    if isinstance(exc, (PoolTimeout, DisconnectionError, DatabaseUnavailable)):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:  # the dialect recognised a lost connection
        return True
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF in UNAVAILABLE_SQLITE_CODES
    if not type(orig).__module__.startswith("psycopg"):
        return False
    state = _sqlstate(orig)
    if state is None:  # no answer from a server at all: connection refused, closed, lost, timed out
        return isinstance(exc, OperationalError)
    return state in UNAVAILABLE_SQLSTATES or state[:2] in UNAVAILABLE_SQLSTATE_CLASSES


def outage_kind(exc: BaseException) -> str:
    """busy (no free connection), read-only (writes refused, reads served) or unreachable (nothing served)."""
    if isinstance(exc, PoolTimeout):
        return "busy"
    orig = _driver_error(exc)
    if _sqlstate(orig) == READ_ONLY_SQLSTATE or (getattr(orig, "sqlite_errorcode", 0) or 0) & 0xFF == SQLITE_READONLY:
        return "read-only"
    return "unreachable"


def _reason(exc: BaseException) -> str:
    """The error's class and the first line of its message, without a connection string."""
    orig = _driver_error(exc) or exc
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(orig).__name__}: {first}" if first else type(orig).__name__


class Outage:
    """The database's unavailability as this process sees it. It begins with the first failure and ends when the
    database serves again: an unreachable database when a connection is checked out again (after the pool's
    pre-ping), a read-only one when a write commits. One log line at each end, with the count of refusals between.
    A busy pool (no free connection within db_pool_timeout_seconds) is no outage: one line a minute at most."""

    BUSY_LOG_SECONDS = 60.0

    def __init__(self):
        self._lock = threading.Lock()
        self.began: float | None = None  # time.monotonic() of the first failure
        self.kind = ""
        self.refused = 0
        self._busy_logged = float("-inf")
        self._busy_refused = 0

    @property
    def active(self) -> bool:
        return self.began is not None

    def unreachable_since(self) -> float | None:
        """When the current outage began, if nothing can be read now."""
        began, kind = self.began, self.kind
        return began if kind == "unreachable" else None

    def failed(self, exc: BaseException, started: float | None = None, answered: bool = True) -> None:
        """The database failed with `exc` (`answered`: and a request was answered 503 for it); `started`: when the
        attempt that failed began (default now)."""
        kind = outage_kind(exc)
        if kind == "busy":
            return self._busy(exc)
        at = time.monotonic() if started is None else started
        with self._lock:
            self.refused += answered
            if self.began is not None:
                self.began = min(self.began, at)
                if kind == "unreachable":
                    self.kind = kind  # a read-only database that then went away: nothing can be read now
                return
            self.began, self.kind, self.refused = at, kind, int(answered)
        log.warning("database %s (%s): answering 503 with Retry-After until it serves again", kind, _reason(exc))

    def recovered(self, wrote: bool = False) -> None:
        """The database served: a connection was checked out (`wrote` False) or a write committed (True)."""
        if self.began is None or (self.kind == "read-only" and not wrote):
            return
        with self._lock:
            if self.began is None:
                return
            lasted, kind, refused = time.monotonic() - self.began, self.kind, self.refused
            self.began, self.kind, self.refused = None, "", 0
        log.warning("database serves again: it was %s for %.1f s (%d requests answered 503)", kind, lasted, refused)

    def _busy(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._busy_refused += 1
            if now - self._busy_logged < self.BUSY_LOG_SECONDS:
                return
            self._busy_logged, refused, self._busy_refused = now, self._busy_refused, 0
        log.warning(
            "database pool busy (%s): %d requests answered 503 in the last minute at most", _reason(exc), refused
        )


outage = Outage()


@event.listens_for(Session, "after_flush")
def _note_writes(session: Session, _context) -> None:
    session.info["wrote"] = True


# What ends credentials: a revoked token row, and these columns of an account or API client. A flush that writes any
# of them raises the credential generation in the same transaction, whichever code path made the change, so that no
# process trusts a token it checked before the change for longer than it takes to read the generation again
# (services.principals).
CREDENTIAL_COLUMNS = ("active", "credentials_valid_after", "role", "organisation_id")


def _ends_credentials(session: Session) -> bool:
    from sqlalchemy import inspect

    from footprint_api.persistence.models import ApiClient, RevokedToken, User

    for instance in session.deleted:
        if isinstance(instance, User | ApiClient | RevokedToken):
            return True
    for instance in session.new:
        if isinstance(instance, RevokedToken):
            return True
    for instance in session.dirty:
        if isinstance(instance, User | ApiClient):
            state = inspect(instance)
            if any(state.attrs[name].history.has_changes() for name in CREDENTIAL_COLUMNS):
                return True
    return False


@event.listens_for(Session, "after_flush")
def _raise_credential_generation(session: Session, _context) -> None:
    if (session.deleted or session.dirty or session.new) and _ends_credentials(session):
        from sqlalchemy import update

        from footprint_api.persistence.models import CredentialGeneration

        session.connection().execute(
            update(CredentialGeneration)
            .where(CredentialGeneration.id == 1)
            .values(value=CredentialGeneration.value + 1)
        )
        session.info["credentials_ended"] = True


# called after a commit that ended credentials: this process forgets what it trusted at once (the others within the
# generation's reading interval); services.principals registers its cache here
credentials_ended: list = []


@event.listens_for(Session, "after_commit")
def _writes_committed(session: Session) -> None:
    if session.info.pop("credentials_ended", False):
        for forget in credentials_ended:
            forget()
    if session.info.pop("wrote", False) and outage.began is not None:
        outage.recovered(wrote=True)


@event.listens_for(Session, "after_rollback")
def _writes_undone(session: Session) -> None:
    session.info.pop("wrote", None)
    session.info.pop("credentials_ended", None)


def _served(*_args) -> None:
    """Pool checkout: the connection passed the pre-ping (or was just made), so the database answers."""
    if outage.began is not None:
        outage.recovered()


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    ensure_sqlite_directory(url)
    settings = get_settings()
    pool = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_seconds,
    }
    if url.startswith("sqlite"):
        turn = _writer_turns.setdefault(url, _WriterTurn())
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "factory": _TurnTakingConnection},
            poolclass=QueuePool,
            **pool,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            connection.isolation_level = None  # the driver's own BEGIN is replaced by the "begin" event below
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL syncs the log at checkpoints, not at every commit (sqlite.org/pragma.html
            # #pragma_synchronous, sqlite.org/wal.html#performance_considerations): a commit survives a crash of the
            # service, and the database is never corrupted; a power loss or crash of the machine may undo the last
            # commits before a checkpoint. FULL's fsync per commit (~3 ms on this disk) was what a job waited for
            # under the write lock (issue 22: 58 % of thread time). Production runs on PostgreSQL, which keeps its
            # own synchronous_commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            mode = SQLITE_BEGIN.get()
            if mode == "IMMEDIATE":
                raw = connection.connection.dbapi_connection
                if isinstance(raw, _TurnTakingConnection) and raw.turn is None and turn.take(SQLITE_TURN_SECONDS):
                    raw.turn = turn
            try:
                connection.exec_driver_sql(f"BEGIN {mode}")
            except BaseException:
                raw = connection.connection.dbapi_connection
                if isinstance(raw, _TurnTakingConnection):
                    raw._give_back()
                raise

        event.listen(engine, "checkout", _served)
        return engine
    connect_args = {"connect_timeout": settings.db_connect_timeout_seconds} if url.startswith("postgresql") else {}
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pool)
    event.listen(engine, "checkout", _served)
    return engine


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one session per request. It closes after the answer is sent, so a database that went away
    meanwhile must not raise there (the answer cannot change any more, and the connection would be dropped)."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
    finally:
        close_quietly(session)


def close_quietly(session: Session) -> None:
    """Closes a session; a database that is unavailable is noted as such instead of raising (its transaction is
    rolled back by the server when the connection ends, nothing of it was committed)."""
    try:
        session.close()
    except SQLAlchemyError as exc:
        if not unavailable(exc):
            raise
        outage.failed(exc, answered=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]  # the request's session, for the JSON API and the pages
