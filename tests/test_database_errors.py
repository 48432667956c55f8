"""A database that cannot serve answers 503 with Retry-After on every route, pages included; an error of the code or
of the request stays what it is; the public verification answer comes from the cache during an outage only when it
cannot be a stale VALID; an unhandled error does not cost the next request on the same connection (issue 19, items
1 and 9). The real outage (PostgreSQL stopped under load) is tests/integration/test_database_outage.py."""

import logging
import socket
import sqlite3
import time

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, InternalError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from footprint_api.persistence import db
from footprint_api.persistence.db import Outage, close_quietly, outage_kind, unavailable
from footprint_api.web.routes import WEB_TAG
from tests.browser import serving
from tests.labelling import issued_label

# --- which errors mean "unavailable" -----------------------------------------------------------------------------


def sqlite_error(tmp_path, what: str) -> DBAPIError:
    """The error SQLAlchemy raises for a real SQLite database in the state `what`."""
    path = tmp_path / f"{what}.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        setup.execute("INSERT INTO t VALUES (1)")
    holder = None
    if what == "locked":  # another connection holds the write lock past the busy timeout (0 s here)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    url, statement = {
        "locked": (f"sqlite:///{path}", "SELECT * FROM t"),
        "read-only": (f"sqlite:///file:{path}?mode=ro&uri=true", "INSERT INTO t VALUES (2)"),
        "cannot open": (f"sqlite:///file:{tmp_path}/missing/x.db?mode=ro&uri=true", "SELECT 1"),
        "no such table": (f"sqlite:///{path}", "SELECT * FROM nowhere"),
        "syntax": (f"sqlite:///{path}", "SELEC 1"),
        "unique": (f"sqlite:///{path}", "INSERT INTO t VALUES (1)"),
    }[what]
    engine = create_engine(url, connect_args={"timeout": 0})
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    except DBAPIError as exc:
        return exc
    finally:
        engine.dispose()
        if holder:
            holder.close()
    raise AssertionError(f"{what}: no error")


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        ("locked", True),
        ("read-only", True),
        ("cannot open", True),
        ("no such table", False),
        ("syntax", False),
        ("unique", False),
    ],
)
def test_sqlite_errors_of_an_unavailable_database_are_told_from_errors_of_the_code(tmp_path, what, expected):
    assert unavailable(sqlite_error(tmp_path, what)) is expected


def psycopg_error(wrapper: type[DBAPIError], error: type[psycopg.Error], message: str = "") -> DBAPIError:
    """SQLAlchemy's wrapping of a psycopg error, as the engine raises it (its SQLSTATE is the class's)."""
    return wrapper("SELECT 1", {}, error(message or error.__name__))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (psycopg_error(OperationalError, psycopg.OperationalError, "connection failed: Connection refused"), True),
        (psycopg_error(OperationalError, psycopg.OperationalError, "server closed the connection unexpectedly"), True),
        (psycopg_error(OperationalError, psycopg.errors.AdminShutdown), True),  # 57P01, pg_ctl stop
        (psycopg_error(OperationalError, psycopg.errors.CrashShutdown), True),  # 57P02
        (psycopg_error(OperationalError, psycopg.errors.CannotConnectNow), True),  # 57P03, starting up
        (psycopg_error(OperationalError, psycopg.errors.TooManyConnections), True),  # 53300
        (psycopg_error(InternalError, psycopg.errors.ReadOnlySqlTransaction), True),  # 25006, a standby
        (psycopg_error(OperationalError, psycopg.errors.SerializationFailure), False),  # 40001: concurrency
        (psycopg_error(OperationalError, psycopg.errors.DeadlockDetected), False),  # 40P01
        (psycopg_error(OperationalError, psycopg.errors.QueryCanceled), False),  # 57014
        (psycopg_error(IntegrityError, psycopg.errors.UniqueViolation), False),  # 23505
        (psycopg_error(ProgrammingError, psycopg.errors.UndefinedTable), False),  # 42P01
        (PoolTimeout("QueuePool limit of size 20 overflow 30 reached"), True),
        (DBAPIError("SELECT 1", {}, Exception("lost"), connection_invalidated=True), True),
        (ValueError("not a database error"), False),
    ],
    ids=lambda value: value if isinstance(value, bool) else f"{type(value).__name__}-{getattr(value, 'orig', '')}",
)
def test_postgresql_errors_of_an_unavailable_database_are_told_from_errors_of_the_code(error, expected):
    assert unavailable(error) is expected


def test_the_kind_of_outage_is_named():
    assert outage_kind(psycopg_error(OperationalError, psycopg.errors.AdminShutdown)) == "unreachable"
    assert outage_kind(psycopg_error(InternalError, psycopg.errors.ReadOnlySqlTransaction)) == "read-only"
    assert outage_kind(PoolTimeout("pool")) == "busy"


# --- one log line per outage ---------------------------------------------------------------------------------------


def test_an_outage_is_logged_once_when_it_begins_and_once_when_it_ends(caplog):
    tracker = Outage()
    refused = psycopg_error(OperationalError, psycopg.OperationalError, "connection failed: Connection refused")
    with caplog.at_level(logging.WARNING, logger="footprint_api.persistence.db"):
        for _ in range(3):
            tracker.failed(refused)
        tracker.recovered()
        tracker.recovered()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("database unreachable (OperationalError: connection failed: Connection refused)")
    assert "(3 requests answered 503)" in lines[1]
    assert not any(record.exc_info for record in caplog.records)


def test_a_read_only_database_is_back_only_when_a_write_commits(caplog):
    tracker = Outage()
    with caplog.at_level(logging.WARNING, logger="footprint_api.persistence.db"):
        tracker.failed(psycopg_error(InternalError, psycopg.errors.ReadOnlySqlTransaction))
        tracker.recovered()  # a connection checked out: reads work on a standby, writes still do not
        assert tracker.active
        tracker.recovered(wrote=True)
    assert not tracker.active
    assert len(caplog.records) == 2


def test_closing_a_session_on_a_database_that_went_away_does_not_raise():
    class Gone:
        def close(self):
            raise psycopg_error(OperationalError, psycopg.errors.AdminShutdown)

    class Broken:
        def close(self):
            raise psycopg_error(ProgrammingError, psycopg.errors.UndefinedTable)

    close_quietly(Gone())
    with pytest.raises(ProgrammingError):
        close_quietly(Broken())


# --- every route: 503 with Retry-After -----------------------------------------------------------------------------

SHUTDOWN = psycopg_error(OperationalError, psycopg.errors.AdminShutdown, "terminating connection due to administrator")


@pytest.fixture(scope="module")
def app():
    from footprint_api.app import create_app

    app = create_app()

    @app.get("/api/v1/test/shutdown")
    def api_shutdown():
        raise SHUTDOWN

    @app.get("/api/v1/test/read-only")
    def api_read_only():
        raise psycopg_error(InternalError, psycopg.errors.ReadOnlySqlTransaction)

    @app.get("/api/v1/test/unique")
    def api_unique():
        raise psycopg_error(IntegrityError, psycopg.errors.UniqueViolation)

    @app.get("/app/test/shutdown", tags=[WEB_TAG])
    def page_shutdown():
        raise SHUTDOWN

    @app.get("/3/test/shutdown")
    def pact_shutdown():
        raise SHUTDOWN

    @app.get("/test/failure")
    def failure():
        raise RuntimeError("an unexpected error")

    return app


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client
    db.outage.recovered(wrote=True)


@pytest.mark.parametrize("path", ["/api/v1/test/shutdown", "/api/v1/test/read-only"])
def test_the_json_api_answers_503_with_retry_after(client, path):
    response = client.get(path)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Database unavailable"


def test_a_constraint_violation_is_not_an_outage(client):
    assert client.get("/api/v1/test/unique").status_code == 500


def test_a_page_answers_503_as_a_page_in_the_readers_language(client):
    """Chinese first; signed in or not, the page does not ask the database who is signed in."""
    response = client.get("/app/test/shutdown", headers={"Accept": "text/html"}, cookies={"pcf_session": "x.y.z"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith("text/html")
    assert "暂时不可用" in response.text
    assert "数据库暂时无法访问，本次操作未能完成。请稍候几秒再试；已保存的数据不受影响。" in response.text
    english = client.get("/app/test/shutdown", headers={"Accept": "text/html", "Accept-Language": "en"})
    assert "The database cannot be reached right now" in english.text


def test_the_pact_api_answers_503_in_its_own_error_shape(client):
    response = client.get("/3/test/shutdown")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"code": "InternalError", "message": "the database does not answer now; retry shortly"}


def test_the_verification_page_of_a_person_answers_503_as_a_page(client, monkeypatch):
    """The QR code's page is for people: its 503 is a page too (the JSON of the same route stays problem+json)."""
    from footprint_api.services import verification

    async def down(*_args, **_kwargs):
        raise SHUTDOWN

    monkeypatch.setattr(verification, "answer", down)
    page = client.get("/V/PCF-2026-000001-0", headers={"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"][:9]) == (503, "text/html")
    assert "数据库暂时无法访问" in page.text
    machine = client.get("/V/PCF-2026-000001-0", headers={"Accept": "application/json"})
    assert (machine.status_code, machine.headers["content-type"]) == (503, "application/problem+json")


# --- item 9: an unhandled error does not reset the next request on the connection -----------------------------------


def exchange(connection: socket.socket, path: str) -> bytes:
    """One HTTP/1.1 request on a kept-alive connection; the whole answer (Content-Length bytes of body)."""
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nAccept: application/json\r\n\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            return received
        received += chunk
    head, body = received.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_after_an_unhandled_error_the_next_request_on_the_same_connection_is_answered(app, caplog):
    with serving(app) as base, socket.create_connection(base.removeprefix("http://").split(":")) as connection:
        connection.settimeout(10)
        failed = exchange(connection, "/test/failure")
        time.sleep(0.2)  # the server had time to close the connection, if it were to
        after = exchange(connection, "/healthz")
    assert failed.startswith(b"HTTP/1.1 500 ")
    assert b"x-content-type-options: nosniff" in failed.lower()
    assert after.startswith(b"HTTP/1.1 200 "), after
    assert after.endswith(b'{"status":"ok"}')
    logged = [r for r in caplog.records if "unhandled error in GET /test/failure" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info


# --- the public verification answer during an outage ----------------------------------------------------------------


@pytest.fixture
def outage_of_the_database(monkeypatch, tmp_path):
    """Every session of the service gets a database that cannot be opened (SQLite's CANTOPEN, the driver's real
    error); call it to begin the outage."""
    broken = create_engine(f"sqlite:///file:{tmp_path}/gone/pcf.db?mode=ro&uri=true")

    def begin():
        monkeypatch.setattr(db, "get_engine", lambda: broken)

    yield begin
    monkeypatch.undo()
    db.outage.recovered(wrote=True)


def revoke_behind_the_services_back(number: str) -> None:
    """As another API process would: a plain SQL update, no session event of this process sees it."""
    from footprint_api.persistence.models import utcnow

    with db.get_engine().begin() as connection:
        connection.execute(
            text("UPDATE label SET state = 'revoked', updated_at = :now WHERE number = :number"),
            {"now": utcnow(), "number": number},
        )


def settle():
    """Longer than the recheck interval (0.25 s): the next verification request checks the generation."""
    time.sleep(0.3)


def test_a_label_confirmed_just_before_the_outage_is_answered_from_the_cache_and_says_so(world, outage_of_the_database):
    number = issued_label(world)["number"]
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"
    settle()
    outage_of_the_database()
    machine = world.client.get(f"/api/v1/public/labels/{number}")
    assert machine.status_code == 200 and machine.json()["status"] == "VALID"
    assert machine.headers["pcf-answer-source"].startswith("cache; confirmed-at=")
    assert int(machine.headers["age"]) <= 1
    page = world.client.get(f"/V/{number}", headers={"Accept": "text/html", "Accept-Language": "zh-CN"})
    assert page.status_code == 200 and 'data-source="cache"' in page.text
    assert "数据库暂时无法访问：以上是本服务在" in page.text
    signed_in = world.call("acme-engineer", "GET", "/api/v1/products")
    assert (signed_in.status_code, signed_in.headers["retry-after"]) == (503, "5")


def test_a_label_revoked_before_the_outage_is_never_answered_valid_from_the_cache(world, outage_of_the_database):
    """Revoked by another process; the next check of this process notices it, and from then on the cache holds the
    revocation, not the VALID answer it had before."""
    number = issued_label(world)["number"]
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"  # cached
    revoke_behind_the_services_back(number)
    settle()
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "REVOKED"
    settle()
    outage_of_the_database()
    answered = world.client.get(f"/api/v1/public/labels/{number}")
    assert "pcf-answer-source" in answered.headers
    assert (answered.status_code, answered.json()["status"]) == (200, "REVOKED")
    page = world.client.get(f"/V/{number}", headers={"Accept": "text/html"})
    assert 'data-status="REVOKED"' in page.text and 'data-status="VALID"' not in page.text


def test_an_answer_not_confirmed_shortly_before_the_outage_is_not_served(world, outage_of_the_database):
    """A revocation no check of this process saw (nobody asked meanwhile): the cached VALID was confirmed longer ago
    than the window (0.2 s here) before the first failure, so it is not served."""
    from footprint_api.services.verification import verification_cache

    number = issued_label(world)["number"]
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"
    revoke_behind_the_services_back(number)
    verification_cache().outage_confirmed_seconds = 0.2
    try:
        settle()
        outage_of_the_database()
        assert world.client.get(f"/api/v1/public/labels/{number}").status_code == 503
    finally:
        verification_cache.cache_clear()


def test_the_cache_is_served_only_for_a_short_while_into_the_outage(world, outage_of_the_database):
    from footprint_api.services.verification import verification_cache

    number = issued_label(world)["number"]
    cache = verification_cache()
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"
    cache.outage_serve_seconds = 0.5
    try:
        settle()
        outage_of_the_database()
        assert world.client.get(f"/api/v1/public/labels/{number}").status_code == 200
        time.sleep(0.6)
        assert world.client.get(f"/api/v1/public/labels/{number}").status_code == 503
    finally:
        verification_cache.cache_clear()


def test_after_the_outage_the_answer_is_confirmed_again(world, outage_of_the_database, monkeypatch):
    number = issued_label(world)["number"]
    assert world.client.get(f"/api/v1/public/labels/{number}").status_code == 200
    healthy = db.get_engine()
    settle()
    outage_of_the_database()
    assert "pcf-answer-source" in world.client.get(f"/api/v1/public/labels/{number}").headers
    monkeypatch.setattr(db, "get_engine", lambda: healthy)
    settle()
    answered = world.client.get(f"/api/v1/public/labels/{number}")
    assert answered.status_code == 200 and "pcf-answer-source" not in answered.headers
    assert not db.outage.active
