"""The audit trail: every state change, with actor and before/after, chained so that tampering shows."""

from sqlalchemy import text

from footprint_api.db import session_scope
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


def test_the_chain_is_intact_and_tampering_shows(world):
    world.product("acme-engineer", "PCR-CN-STEEL")
    verdict = world.call("root", "GET", "/api/v1/audit/verify").json()
    assert verdict["intact"] and verdict["entries"] > 5
    with session_scope() as session:
        seq, original = session.execute(text(
            "SELECT seq, after FROM audit_event WHERE action = 'product.created' ORDER BY seq LIMIT 1")).one()
        session.execute(text("UPDATE audit_event SET after = :after WHERE seq = :seq"),
                        {"after": '{"name": "forged"}', "seq": seq})
        session.commit()
    verdict = world.call("root", "GET", "/api/v1/audit/verify").json()
    assert not verdict["intact"] and verdict["first_broken_seq"] == seq
    with session_scope() as session:  # put the original back: the chain verifies again
        session.execute(text("UPDATE audit_event SET after = :after WHERE seq = :seq"), {"after": original, "seq": seq})
        session.commit()
    assert world.call("root", "GET", "/api/v1/audit/verify").json()["intact"]
