"""Database engine and sessions. SQLite for the embedded mode, PostgreSQL in production and CI."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, create_engine

from footprint_api.core.settings import get_settings


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


@contextmanager
def reads_only() -> Iterator[None]:
    """Transactions begun inside only read: on SQLite they begin DEFERRED and do not wait for the writer."""
    token = SQLITE_BEGIN.set("DEFERRED")
    try:
        yield
    finally:
        SQLITE_BEGIN.reset(token)


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
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, poolclass=QueuePool, **pool
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            connection.isolation_level = None  # the driver's own BEGIN is replaced by the "begin" event below
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            connection.exec_driver_sql(f"BEGIN {SQLITE_BEGIN.get()}")

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one session per request."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


@contextmanager
def session_scope() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]  # the request's session, for the JSON API and the pages
