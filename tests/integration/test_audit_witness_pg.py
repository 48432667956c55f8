"""The audit witness on PostgreSQL: the tamperings a database owner can do once the triggers are disabled.

Each test works on the integration run's database as its owner: it keeps a copy of both tables, disables the
append-only triggers (ALTER TABLE ... DISABLE TRIGGER USER), tampers, enables them again, asserts the detection,
and finally restores the copy (so the other tests of the run find their trail intact again).
"""

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent
from footprint_api.services import accounts, audit

TABLES = ("audit_event", "audit_checkpoint")


@pytest.fixture(scope="module")
def world(engine, own_database):
    from fastapi.testclient import TestClient

    from footprint_api.app import create_app
    from tests.service import World, configure, seed_world

    configure(own_database, PCF_TASK_MODE="in_process")  # a witness file of its own, in a fresh storage folder
    with TestClient(create_app()) as client:
        yield World(client, seed_world())


def as_owner(*statements: str, **values) -> None:
    with session_scope() as session:
        for table in TABLES:
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        for statement in statements:
            session.execute(text(statement), values)
        for table in TABLES:
            session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        session.commit()


@pytest.fixture
def restored(world):
    """The trail and its witness as they were before the test, put back afterwards (as a restore from a backup
    would)."""
    from footprint_api.infra.witness import audit_witness

    witness = audit_witness().path
    kept = witness.read_bytes() if witness.exists() else b""
    as_owner(*[f"CREATE TABLE saved_{table} AS SELECT * FROM {table}" for table in TABLES])
    yield
    witness.write_bytes(kept)
    as_owner(
        "TRUNCATE audit_event, audit_checkpoint",
        *[f"INSERT INTO {table} SELECT * FROM saved_{table}" for table in TABLES],
        *[f"DROP TABLE saved_{table}" for table in TABLES],
    )


def witnessed_head(world, name: str) -> int:
    world.product("acme-engineer", "PCR-CN-STEEL", name)
    with session_scope() as session:
        check, _ = accounts.check_chain(session)
        assert check.intact, check
        return session.exec(select(AuditEvent.seq).order_by(col(AuditEvent.seq).desc())).first()


def verdict() -> audit.ChainCheck:
    with session_scope() as session:
        return audit.verify_chain(session)


def database_alone_intact() -> bool:
    with session_scope() as session:
        return audit._verify_database(session)[0].intact


def test_the_triggers_refuse_truncation_while_enabled(world, restored):
    from sqlalchemy.exc import DatabaseError

    witnessed_head(world, "guarded")
    with session_scope() as session, pytest.raises(DatabaseError, match="append-only"):
        session.execute(text("TRUNCATE audit_event, audit_checkpoint"))


def test_an_untouched_trail_is_intact_and_matches_its_witness(world, restored):
    head = witnessed_head(world, "untouched")
    check = verdict()
    assert check.intact and (check.witness, check.witness_seq) == ("ok", head)


def test_truncating_both_tables_is_detected(world, restored):
    head = witnessed_head(world, "truncated")
    as_owner("TRUNCATE audit_event, audit_checkpoint")
    assert database_alone_intact()
    check = verdict()
    assert not check.intact and check.code == "witness_emptied"
    assert check.params == {"seq": 1, "last": 0, "witness": head}


def test_deleting_the_tail_and_the_checkpoints_past_it_is_detected(world, restored):
    head = witnessed_head(world, "the tail")
    with session_scope() as session:  # the last three entries go (PostgreSQL's sequence may have gaps)
        keep = session.exec(select(AuditEvent.seq).order_by(col(AuditEvent.seq).desc()).offset(3)).first()
    as_owner("DELETE FROM audit_event WHERE seq > :keep", "DELETE FROM audit_checkpoint WHERE seq > :keep", keep=keep)
    assert database_alone_intact()
    check = verdict()
    assert not check.intact and check.code == "witness_deleted"
    assert check.first_broken_seq == keep + 1 and check.params == {"seq": keep + 1, "last": keep, "witness": head}


def test_a_recomputed_chain_with_stripped_seals_and_deleted_checkpoints_is_detected(world, restored):
    head = witnessed_head(world, "recomputed")
    with session_scope() as session:
        target = session.exec(
            select(AuditEvent.seq).where(AuditEvent.action == "product.created").order_by(col(AuditEvent.seq).desc())
        ).first()
    as_owner("UPDATE audit_event SET after = CAST(:after AS json) WHERE seq = :seq", after='{"name": "x"}', seq=target)
    with session_scope() as session:  # every hash from the edit on recomputed, as a forger would
        previous = session.exec(
            select(AuditEvent.hash).where(AuditEvent.seq < target).order_by(col(AuditEvent.seq).desc())
        ).first()
        forged = []
        for event in session.exec(select(AuditEvent).where(AuditEvent.seq >= target).order_by(col(AuditEvent.seq))):
            forged.append((event.seq, previous, audit.entry_hash(previous, event)))
            previous = forged[-1][2]
    as_owner(
        *[f"UPDATE audit_event SET prev_hash = 'p{s}', hash = 'h{s}' WHERE seq = {s}" for s, _, _ in forged],
        *[f"UPDATE audit_event SET prev_hash = '{p}', hash = '{h}' WHERE seq = {s}" for s, p, h in forged],
        "UPDATE audit_event SET mac = NULL",
        "DELETE FROM audit_checkpoint",
    )
    assert database_alone_intact()
    check = verdict()
    assert not check.intact and check.code == "witness_differs" and check.params == {"seq": head}
