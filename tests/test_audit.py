"""The audit trail: every state change, with actor and before/after, chained so that tampering shows."""

import ast
import re
from pathlib import Path

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


def test_the_audit_page_names_each_action_in_the_readers_language(world):
    from tests.web_client import Browser

    product = world.product("acme-engineer", "PCR-CN-CEMENT", "named in the trail")
    page = Browser(world.client.app, "acme-admin", lang="zh-CN").get(
        "/app/admin/audit", params={"action": "product.created"}
    )
    entry = re.search(r'<li class="card entry"[^>]*data-action="product.created">.*?</li>', page.text, re.S)
    assert entry and '<span class="action">创建产品</span>' in entry.group(0)
    assert '<option value="product.created" selected>创建产品</option>' in page.text
    assert product["id"] in page.text


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


# --- every action and kind of object of the trail has a name in both languages ------------------------------------

SOURCE = Path(__file__).resolve().parents[1] / "footprint_api"


def _dynamic_actions() -> dict[str, set[str]]:
    """The actions recorded by an f-string, by the f-string's source, and where their values come from: the
    transition tables and enumerations of the code itself, or (where the code lists them inline) the values here."""
    from footprint_api.persistence.models import JobStatus
    from footprint_api.services.pact.events import EVENT_TYPES
    from label_service.workflow import APPLICATION_ACTIONS, FINDING_ACTIONS, LABEL_ACTIONS
    from pcr_rules.lifecycle import COMMENT_ACTIONS, VERSION_ACTIONS

    return {
        "f'application.{action}'": {f"application.{a}" for a in APPLICATION_ACTIONS},
        "f'finding.{action}'": {f"finding.{a}" for a in FINDING_ACTIONS},
        "f'label.{action}'": {f"label.{a}" for a in LABEL_ACTIONS},
        "f'pcr.{action}'": {f"pcr.{a}" for a in VERSION_ACTIONS},
        "f'pcr.comment_{target.value}'": {f"pcr.comment_{target.value}" for _, target, _ in COMMENT_ACTIONS.values()},
        "f'job.{status.value}'": {
            f"job.{s.value}" for s in (JobStatus.SUCCEEDED, JobStatus.FAILED)
        },  # footprints._finish
        "f'pact.{kind}'": {f"pact.{k}" for k in EVENT_TYPES.values() if k != "RequestCreatedEvent"},
        "f'pact.request_{status}'": {f"pact.request_{s}" for s in ("fulfilled", "rejected", "undeliverable")},
        "f'auth.{kind}_failed'": {"auth.password_failed", "auth.client_failed"},  # throttle.failed's callers
        "f'{kind}.updated'": {"product.updated", "facility.updated"},  # catalogue._updated's callers
    }


DYNAMIC_OBJECT_TYPES = {"kind": {"product", "facility"}}  # catalogue._updated's callers


def _recorded(argument: int, name: str, dynamic: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every value of one argument of the `audit.record(...)` calls of the service, by the file that records it:
    constants, both sides of a conditional, and the expressions `dynamic` resolves. An expression it does not
    resolve fails the test, so a new kind of record cannot go unnamed."""
    found: dict[str, set[str]] = {}

    def values(node) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return values(node.body) | values(node.orelse)
        source = ast.unparse(node)
        assert source in dynamic, f"say in this test which values {source} takes"
        return dynamic[source]

    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
            ):
                given = node.args[argument] if len(node.args) > argument else None
                given = given or next(k.value for k in node.keywords if k.arg == name)
                found.setdefault(str(path.relative_to(SOURCE)), set()).update(values(given))
    return found


def test_every_action_the_service_records_has_a_name_in_both_languages():
    from footprint_api.core.messages import catalogue

    recorded = _recorded(2, "action", _dynamic_actions())
    actions = set().union(*recorded.values())
    assert {"label.issued", "application.approve", "pcr.publish", "audit.exported"} <= actions
    for lang in ("zh", "en"):
        unnamed = sorted(a for a in actions if f"adm.action.{a}" not in catalogue(lang).messages)
        assert unnamed == [], (lang, unnamed)
    assert catalogue("zh")("adm.action.label.issued") == "签发标签"


def test_every_kind_of_object_in_the_trail_has_a_name_in_both_languages():
    from footprint_api.core.messages import catalogue

    types = set().union(*_recorded(3, "object_type", DYNAMIC_OBJECT_TYPES).values())
    for lang in ("zh", "en"):
        assert sorted(t for t in types if f"adm.object.{t}" not in catalogue(lang).messages) == [], lang


def test_every_reason_a_chain_check_gives_is_worded_in_both_languages():
    """Every code services.audit.verify_chain gives (each `_broken` call names one of audit.REASONS) is worded from
    its parameters on the pages, in Chinese without English words; and each state of the witness too."""
    from footprint_api.core.messages import catalogue
    from footprint_api.services.audit import REASONS, ChainCheck
    from footprint_api.web.routes.admin import chain_reason

    tree = ast.parse((SOURCE / "services" / "audit.py").read_text(encoding="utf-8"))
    given = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) in ("_broken", "_broken_at")
        and isinstance(node.args[0], ast.Constant)  # not _broken_at passing its own code on
    }
    assert given == set(REASONS)
    params = {"seq": 8, "last": 7, "checkpoint": 9, "witness": 9, "line": 3}
    for lang in ("zh", "en"):
        t = catalogue(lang)
        for code in REASONS:
            worded = chain_reason(t, ChainCheck(False, 8, REASONS[code].format(**params), 9, code, params))
            assert worded and "{" not in worded, (lang, code)
            assert lang == "en" or not re.search(r"[A-Za-z]{3,}", worded), worded
        for state in ("ok", "behind", "empty", "unavailable", "damaged"):
            assert t(f"adm.chain.witness.{state}", where="/var/w", seq=3, checkpoint=5)
            assert t(f"adm.chain.witness.state.{state}")
    deleted = ChainCheck(False, 8, "", 9, "deleted", {"seq": 8, "last": 7, "checkpoint": 9})
    assert chain_reason(catalogue("zh"), deleted) == "第 8 条及之后的记录已被删除（检查点曾密封第 9 条）。"
    assert chain_reason(catalogue("zh"), ChainCheck(True)) is None
