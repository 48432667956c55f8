"""The audit trail: every state change, with actor and before/after, chained so that tampering shows."""

import pytest
from sqlalchemy import text

from footprint_api.persistence.db import session_scope
from tests.conftest import load_example
from tests.test_api_inventories import unique_serials


def test_state_changes_are_audited_with_actor_and_after(world):
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    submitted = world.submit("acme-engineer", product["id"], unique_serials(load_example("cement-guizhou-2023.json")))
    job = world.calculate("acme-engineer", submitted.json()["id"])
    entries = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    by_object = {}
    for entry in entries:
        by_object.setdefault(entry["object_id"], []).append(entry["action"])
    assert by_object[product["id"]] == ["product.created"]
    assert by_object[submitted.json()["id"]] == ["inventory.submitted"]
    assert by_object[job["id"]] == ["job.queued", "job.started", "job.succeeded"]
    submitted_entry = next(e for e in entries if e["object_id"] == submitted.json()["id"])
    assert submitted_entry["actor_kind"] == "user" and submitted_entry["after"]["version"] == 1


def test_organisation_admins_see_only_their_organisations_entries(world):
    world.product("rival-engineer", "PCR-CN-CEMENT", "rival secret product")
    acme_view = world.call("acme-admin", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    assert acme_view and all(e["organisation_id"] == str(world.organisations["acme"]) for e in acme_view)
    assert world.call("acme-engineer", "GET", "/api/v1/audit").status_code == 403


def _as_database_admin(statement: str, **values) -> None:
    """What someone with the database's own credentials can do: drop the append-only triggers, then write."""
    with session_scope() as session:
        for name in (
            session.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
                    "tbl_name IN ('audit_event', 'audit_checkpoint')"
                )
            )
            .scalars()
            .all()
        ):
            session.execute(text(f"DROP TRIGGER {name}"))
        session.execute(text(statement), values)
        session.commit()


def test_the_database_refuses_to_change_or_delete_audit_entries(world):
    from sqlalchemy.exc import DatabaseError

    world.product("acme-engineer", "PCR-CN-STEEL")
    assert world.call("root", "GET", "/api/v1/audit/verify").json()["intact"]  # seals a checkpoint
    for statement in (
        "UPDATE audit_event SET action = 'forged' WHERE seq = 1",
        "DELETE FROM audit_event",
        "UPDATE audit_checkpoint SET hash = 'x'",
        "DELETE FROM audit_checkpoint",
    ):
        with session_scope() as session:
            with pytest.raises(DatabaseError, match="append-only"):
                session.execute(text(statement))
            session.rollback()


def test_an_edit_shows_even_with_the_chain_recomputed_and_a_deleted_tail_shows(engine, tmp_path):
    """Against a trail of its own (the triggers are dropped here, as a database administrator could): an edited
    entry breaks the chain; recomputing every hash after it still fails the entries' seals; deleting the last
    entries leaves the sealed checkpoint pointing past the end."""
    from fastapi.testclient import TestClient
    from sqlmodel import col, select

    from footprint_api.persistence.migrate import upgrade
    from footprint_api.persistence.models import AuditEvent
    from footprint_api.services import audit
    from tests.service import World, configure, seed_world

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    configure(url, PCF_TASK_MODE="in_process")
    upgrade(url)
    from footprint_api.app import create_app

    with TestClient(create_app()) as client:
        world = World(client, seed_world())
        world.product("acme-engineer", "PCR-CN-STEEL")
        assert world.call("root", "GET", "/api/v1/audit/verify").json()["intact"]  # and seals the head
        world.product("acme-engineer", "PCR-CN-CEMENT", "after the checkpoint")
        with session_scope() as session:
            target = (
                session.exec(
                    select(AuditEvent).where(AuditEvent.action == "product.created").order_by(col(AuditEvent.seq))
                )
                .first()
                .seq
            )
        _as_database_admin(
            "UPDATE audit_event SET after = :after WHERE seq = :seq", after='{"name": "forged"}', seq=target
        )
        verdict = world.call("root", "GET", "/api/v1/audit/verify").json()
        assert not verdict["intact"] and verdict["first_broken_seq"] == target

        with session_scope() as session:  # recompute every hash from the edit on, as a forger would
            events = session.exec(
                select(AuditEvent).where(AuditEvent.seq >= target).order_by(col(AuditEvent.seq))
            ).all()
            previous = (
                session.exec(select(AuditEvent.hash).where(AuditEvent.seq == target - 1)).first() or audit.GENESIS
            )
            forged = []
            for event in events:
                forged.append((event.seq, previous, audit.entry_hash(previous, event)))
                previous = forged[-1][2]
            session.expunge_all()
        for seq, prev_hash, new_hash in forged:
            _as_database_admin(
                "UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s", p=prev_hash, h=new_hash, s=seq
            )
        verdict = world.call("root", "GET", "/api/v1/audit/verify").json()
        assert not verdict["intact"] and verdict["first_broken_seq"] == target and "seal" in verdict["reason"]

    url = f"sqlite:///{tmp_path / 'tail.db'}"
    configure(url, PCF_TASK_MODE="in_process")
    upgrade(url)
    with TestClient(create_app()) as client:
        world = World(client, seed_world())
        world.product("acme-engineer", "PCR-CN-STEEL")
        sealed = world.call("root", "GET", "/api/v1/audit/verify").json()
        assert sealed["intact"] and sealed["checkpoint_seq"] is None  # the first check seals the head
        assert world.call("root", "GET", "/api/v1/audit/verify").json()["checkpoint_seq"] == sealed["entries"]
        _as_database_admin("DELETE FROM audit_event WHERE seq > :keep", keep=sealed["entries"] - 3)
        verdict = world.call("root", "GET", "/api/v1/audit/verify").json()
        assert not verdict["intact"] and "deleted" in verdict["reason"]
