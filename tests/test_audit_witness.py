"""The audit trail's witness outside the database (embedded mode: an append-only file beside the label files).

Each tampering is done for real, as the database's owner could: the append-only triggers are dropped, the rows
deleted or rewritten, the triggers put back. The database's own checks are then satisfied; the witness is not.
"""

import json
import os
import socket
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent
from footprint_api.services import accounts, audit


@pytest.fixture
def world(engine, tmp_path, monkeypatch):
    """A service of its own (SQLite, tasks in-process): each test rewrites its trail."""
    from fastapi.testclient import TestClient

    from footprint_api.app import create_app
    from footprint_api.persistence.migrate import upgrade
    from tests.service import World, configure, seed_world

    monkeypatch.delenv("PCF_AUDIT_WITNESS_FILE", raising=False)
    url = f"sqlite:///{tmp_path / 'witnessed.db'}"
    configure(url, PCF_TASK_MODE="in_process")
    upgrade(url)
    with TestClient(create_app()) as client:
        yield World(client, seed_world())


def witness_file():
    from footprint_api.core.settings import get_settings

    return get_settings().storage_dir / "audit-witness" / "heads.log"


def sealed_and_witnessed(world, name: str) -> int:
    """One more product (a few entries), then a check that seals the head and writes it to the witness; the seq of
    that head."""
    world.product("acme-engineer", "PCR-CN-STEEL", name)
    with session_scope() as session:
        check, _ = accounts.check_chain(session)
        assert check.intact, check
        return session.exec(select(AuditEvent.seq).order_by(col(AuditEvent.seq).desc())).first()


def verdict() -> audit.ChainCheck:
    with session_scope() as session:
        return audit.verify_chain(session)


def as_database_owner(*statements: str, **values) -> None:
    """Drop the append-only triggers, write, put the triggers back: the database then refuses changes again."""
    with session_scope() as session:
        triggers = session.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('audit_event', 'audit_checkpoint')"
            )
        ).all()
        assert triggers
        for name, _ in triggers:
            session.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            session.execute(text(statement), values)
        for _, sql in triggers:
            session.execute(text(sql))
        session.commit()


def test_an_untouched_trail_verifies_intact_and_matches_its_witness(world):
    first = sealed_and_witnessed(world, "first")
    second = sealed_and_witnessed(world, "second")
    check = verdict()
    assert check.intact and check.code is None
    assert (check.witness, check.witness_seq, check.checkpoint_seq) == ("ok", second, second)
    lines = witness_file().read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [first, second]
    assert world.call("root", "GET", "/api/v1/audit/verify").json()["intact"]


def test_truncating_both_tables_is_detected(world):
    head = sealed_and_witnessed(world, "before the truncation")
    as_database_owner("DELETE FROM audit_event", "DELETE FROM audit_checkpoint")  # SQLite's TRUNCATE
    with session_scope() as session:  # the database alone finds nothing wrong with an empty trail
        assert audit._verify_database(session)[0].intact
    check = verdict()
    assert not check.intact and check.code == "witness_emptied"
    assert check.first_broken_seq == 1 and check.params == {"seq": 1, "last": 0, "witness": head}
    answer = world.call("root", "GET", "/api/v1/audit/verify").json()
    assert not answer["intact"] and answer["reason"] == (
        f"the trail was emptied (the witness outside the database holds entries up to {head})"
    )


def test_deleting_the_tail_with_the_checkpoints_past_it_is_detected(world):
    head = sealed_and_witnessed(world, "the tail")
    keep = head - 3
    as_database_owner(
        "DELETE FROM audit_event WHERE seq > :keep", "DELETE FROM audit_checkpoint WHERE seq > :keep", keep=keep
    )
    with session_scope() as session:
        assert audit._verify_database(session)[0].intact
    check = verdict()
    assert not check.intact and check.code == "witness_deleted"
    assert check.first_broken_seq == keep + 1 and check.params == {"seq": keep + 1, "last": keep, "witness": head}


def test_a_recomputed_chain_with_stripped_seals_and_no_checkpoints_is_detected(world):
    """Entry `target` lies after the first witnessed head and before the second: the first still matches, the
    second is the first head the rewritten trail no longer holds."""
    first = sealed_and_witnessed(world, "first")
    world.product("acme-engineer", "PCR-CN-CEMENT", "to be forged")
    second = sealed_and_witnessed(world, "second")
    with session_scope() as session:
        target = session.exec(
            select(AuditEvent.seq).where(AuditEvent.seq > first, AuditEvent.action == "product.created")
        ).first()
    assert first < target < second
    as_database_owner("UPDATE audit_event SET after = :after WHERE seq = :seq", after='{"name": "forged"}', seq=target)
    with session_scope() as session:  # recompute every hash from the edit on, as a forger would
        previous = session.exec(select(AuditEvent.hash).where(AuditEvent.seq == target - 1)).one()
        forged = []
        for event in session.exec(select(AuditEvent).where(AuditEvent.seq >= target).order_by(col(AuditEvent.seq))):
            forged.append((event.seq, previous, audit.entry_hash(previous, event)))
            previous = forged[-1][2]
    as_database_owner(
        *[f"UPDATE audit_event SET prev_hash = 'p{seq}', hash = 'h{seq}' WHERE seq = {seq}" for seq, _, _ in forged],
        *[f"UPDATE audit_event SET prev_hash = '{p}', hash = '{h}' WHERE seq = {seq}" for seq, p, h in forged],
        "UPDATE audit_event SET mac = NULL",
        "DELETE FROM audit_checkpoint",
    )
    with session_scope() as session:
        assert audit._verify_database(session)[0].intact  # links, hashes, no seals, no checkpoints: all consistent
    check = verdict()
    assert not check.intact and check.code == "witness_differs"
    assert check.first_broken_seq == second and check.params == {"seq": second}


def test_a_witness_cut_in_the_middle_of_a_line_is_detected(world):
    sealed_and_witnessed(world, "first")
    sealed_and_witnessed(world, "second")
    path = witness_file()
    os.truncate(path, path.stat().st_size - 10)
    check = verdict()
    assert not check.intact and check.code == "witness_damaged"
    assert check.witness == "damaged" and check.params == {"line": 2} and check.first_broken_seq is None


def test_an_edited_witness_line_is_detected(world):
    sealed_and_witnessed(world, "first")
    sealed_and_witnessed(world, "second")
    path = witness_file()
    lines = path.read_text().splitlines(keepends=True)
    head = json.loads(lines[0])
    lines[0] = json.dumps(head | {"hash": "f" * 64}) + "\n"  # another head, its record hash left as it was
    path.write_text("".join(lines))
    check = verdict()
    assert not check.intact and check.code == "witness_damaged" and check.params == {"line": 1}


def test_a_witness_that_lost_its_last_heads_is_reported_behind_and_written_again(world):
    first = sealed_and_witnessed(world, "first")
    second = sealed_and_witnessed(world, "second")
    path = witness_file()
    path.write_text(path.read_text().splitlines(keepends=True)[0])  # the file truncated by itself to its first line
    check = verdict()
    assert check.intact and (check.witness, check.witness_seq, check.checkpoint_seq) == ("behind", first, second)
    with session_scope() as session:
        audit.checkpoint(session)  # the housekeeping task's next run
    check = verdict()
    assert (check.witness, check.witness_seq) == ("ok", second)


def test_a_rewritten_trail_is_never_witnessed_over_the_genuine_head(world):
    """The housekeeping task seals whatever head it finds; it does not give the witness a head unless the trail
    still holds the head the witness holds."""
    head = sealed_and_witnessed(world, "genuine")
    as_database_owner("UPDATE audit_event SET hash = 'rewritten' WHERE seq = :seq", seq=head)
    world.product("acme-engineer", "PCR-CN-CEMENT", "after the rewrite")
    with session_scope() as session:
        audit.checkpoint(session)
    assert len(witness_file().read_text().splitlines()) == 1  # still only the genuine head


def test_a_witness_that_cannot_be_written_fails_no_request_and_the_check_says_so(world, monkeypatch, tmp_path):
    from footprint_api.core.settings import get_settings

    sealed_and_witnessed(world, "witnessed")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the witness's folder should be")
    monkeypatch.setenv("PCF_AUDIT_WITNESS_FILE", str(blocker / "heads.log"))
    get_settings.cache_clear()
    try:
        world.product("acme-engineer", "PCR-CN-STEEL", "while the witness is down")  # 201
        with session_scope() as session:
            audit.checkpoint(session)  # the housekeeping task: logs, does not raise
        answer = world.call("root", "GET", "/api/v1/audit/verify")
        assert answer.status_code == 200 and answer.json()["intact"]
        assert verdict().witness == "unavailable"
    finally:
        get_settings.cache_clear()


def test_the_chain_page_words_a_detection_and_the_witness_in_chinese(world):
    from tests.web_client import Browser

    head = sealed_and_witnessed(world, "shown")
    as_database_owner("DELETE FROM audit_event WHERE seq > 2", "DELETE FROM audit_checkpoint WHERE seq > 2")
    page = Browser(world.client.app, "root", lang="zh-CN").get("/app/admin/audit/chain")
    assert 'data-intact="false"' in page.text and 'data-code="witness_deleted"' in page.text
    assert f"第 3 条及之后的记录已被删除（数据库之外的见证存储保存着第 {head} 条）。" in page.text
    assert 'data-witness="ok"' in page.text


# --- S3 (moto's server, standing in for MinIO) --------------------------------------------------------------------


@pytest.fixture
def s3_witness(monkeypatch):
    from moto.server import ThreadedMotoServer

    from footprint_api.infra.witness import S3Witness

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    bucket = f"pcf-audit-witness-{uuid.uuid4().hex[:8]}"
    yield (
        server,
        S3Witness(
            f"127.0.0.1:{port}", "testing", "testing", bucket, secure=False, region="us-east-1", retention_days=30
        ),
    )
    server.stop()


def test_the_s3_witness_keeps_each_head_under_object_lock_and_reads_the_latest(s3_witness):
    from footprint_api.infra.witness import make_head

    _, witness = s3_witness
    assert witness.heads() == []  # no bucket yet
    first = witness.append(5, "a" * 64, "m5", "2025-01-01T00:00:00.000000")
    second = witness.append(9, "b" * 64, "m9", "2025-01-01T00:01:00.000000")
    assert witness.append(7, "c" * 64, "m7", "2025-01-01T00:02:00.000000") == second  # never backwards
    assert second == make_head(first, 9, "b" * 64, "m9", "2025-01-01T00:01:00.000000")
    assert witness.heads() == [first, second]
    from minio.error import S3Error

    assert witness.client.get_object_lock_config(witness.bucket) is not None  # created with object lock
    version = witness.client.stat_object(witness.bucket, witness.key(9)).version_id
    with pytest.raises(S3Error, match="AccessDenied"):  # under retention: not even its version can be deleted
        witness.client.remove_object(witness.bucket, witness.key(9), version_id=version)


def test_the_s3_witness_down_is_reported_unreachable_within_seconds(s3_witness):
    import time

    from footprint_api.infra.witness import WitnessError

    server, witness = s3_witness
    witness.append(5, "a" * 64, "m5", "2025-01-01T00:00:00.000000")
    server.stop()
    started = time.monotonic()
    with pytest.raises(WitnessError) as raised:
        witness.append(9, "b" * 64, "m9", "2025-01-01T00:01:00.000000")
    assert not raised.value.damaged and time.monotonic() - started < 10
    server.start()
    assert [head.seq for head in witness.heads()] == [5]


def test_an_s3_witness_written_again_after_an_outage_closes_the_gap(world, s3_witness, monkeypatch):
    """The service on S3: the witness down, a change is still recorded (201) and the check reports the witness
    unreadable; back up, the check reports it behind the database's checkpoint, the next checkpoint closes the gap."""
    from footprint_api.core.settings import get_settings
    from footprint_api.infra.witness import _witness

    server, witness = s3_witness
    host, port = server.get_host_and_port()
    monkeypatch.setenv("PCF_AUDIT_WITNESS_BUCKET", witness.bucket)
    monkeypatch.setenv("PCF_S3_ENDPOINT", f"{host}:{port}")
    monkeypatch.setenv("PCF_S3_ACCESS_KEY", "testing")
    monkeypatch.setenv("PCF_S3_SECRET_KEY", "testing")
    monkeypatch.setenv("PCF_S3_SECURE", "false")
    monkeypatch.setenv("PCF_S3_REGION", "us-east-1")
    monkeypatch.setenv("PCF_STORAGE_BACKEND", "s3")
    get_settings.cache_clear()
    _witness.cache_clear()
    try:
        first = sealed_and_witnessed(world, "witnessed in the bucket")
        assert (verdict().witness, verdict().witness_seq) == ("ok", first)
        server.stop()
        world.product("acme-engineer", "PCR-CN-STEEL", "while the bucket is down")  # 201
        with session_scope() as session:
            check, _ = accounts.check_chain(session)  # verified, sealed; the witness not written
        assert check.intact and check.witness == "unavailable"
        server.start()
        check = verdict()
        assert check.intact and check.witness == "behind" and check.witness_seq == first
        with session_scope() as session:
            audit.checkpoint(session)  # the housekeeping task's next run
        check = verdict()
        assert (check.witness, check.witness_seq) == ("ok", check.checkpoint_seq) and check.witness_seq > first
    finally:
        get_settings.cache_clear()
        _witness.cache_clear()
