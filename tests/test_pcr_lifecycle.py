"""The life of a PCR version: the transition table (pcr_rules.lifecycle), and the rules the service obeys with it
(services.pcr_registry): who may take each step, what a step checks, which versions an inventory and a
certification may follow."""

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from string import Formatter

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import select

from footprint_api.core.errors import Conflict, Forbidden, PCRNotInForce, Unprocessable
from footprint_api.core.messages import catalogue
from footprint_api.infra.security import Principal
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent, PCRVersion, User
from footprint_api.services import pcr_registry
from pcr_rules import lifecycle
from pcr_rules.lifecycle import (
    COMMENT_ACTIONS,
    VERSION_ACTIONS,
    VERSION_WORK,
    IllegalTransition,
    Party,
    PCRState,
    Validity,
    check_work,
    next_version_state,
)
from pcr_rules.registry import DATA_DIR
from tests.conftest import load_example
from tests.labelling import act, unique_serials

TODAY = datetime.now(UTC).date()
ZH, EN = catalogue("zh"), catalogue("en")
AFTER_CONSULTATION = TODAY + timedelta(days=1)
CHAIR, AUTHOR = frozenset({Party.CHAIR, Party.AUTHOR, Party.PARTICIPANT}), frozenset({Party.AUTHOR, Party.PARTICIPANT})


# --- helpers: a PCR of a test's own, walked through its life by the service functions ------------------------------


def principal(user: str) -> Principal:
    with session_scope() as session:
        person = session.exec(select(User).where(User.email == f"{user}@test.example")).one()
    return Principal(person.id, "user", person.organisation_id, person.role, "test", datetime.now(UTC))


def new_pcr_id() -> str:
    return f"PCR-T-{uuid.uuid4().hex[:8].upper()}"


def cement_rules(pcr_id: str, version: str) -> dict:
    """The cement PCR 1.1.0 under another id and version: rules the engine and the inventories know."""
    document = yaml.safe_load((DATA_DIR / "cement-1.1.0.yaml").read_text(encoding="utf-8"))
    return {**document, "id": pcr_id, "version": version}


def reviewed(pcr_id: str, version: str, start_from: str = "empty", comments: tuple[str, ...] = ()) -> None:
    """A draft (the cement rules, or a copy of the latest published version) through consultation into review."""
    author, chair = principal("sb-author"), principal("sb-chair")
    with session_scope() as session:
        pcr_registry.create_draft(session, author, pcr_id, version, start_from)
        if start_from == "empty":
            pcr_registry.replace_document(session, author, pcr_id, version, cement_rules(pcr_id, version))
        pcr_registry.open_consultation(session, chair, pcr_id, version, TODAY)
        for path in comments:
            pcr_registry.comment(session, principal("acme-engineer"), pcr_id, version, path, f"about {path}")
        pcr_registry.close_consultation(session, chair, pcr_id, version, today=AFTER_CONSULTATION)


def published(
    pcr_id: str,
    version: str = "1.0.0",
    effective_from: date = date(2023, 1, 1),
    valid_until: date = date(2030, 12, 31),
    transition_until: date | None = None,
    start_from: str = "empty",
) -> None:
    reviewed(pcr_id, version, start_from)
    with session_scope() as session:
        pcr_registry.publish(
            session,
            principal("sb-chair"),
            pcr_id,
            version,
            effective_from,
            valid_until,
            transition_until,
            today=AFTER_CONSULTATION,
        )


def cement_inventory(pcr_id: str, version: str, start: str = "2023-01-01", end: str = "2023-12-31") -> dict:
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["pcr"] = {"id": pcr_id, "version": version}
    data["reference_period"] = {"start": start, "end": end}
    data.pop("green_certificates", None)  # the certificates' generation months belong to the example's own year
    return data


def footprint_under(world, pcr_id: str, version: str) -> dict:
    product = world.product("acme-engineer", pcr_id, f"cement under {pcr_id} {version}")
    inventory = world.submit("acme-engineer", product["id"], cement_inventory(pcr_id, version))
    assert inventory.status_code == 201, inventory.text
    job = world.calculate("acme-engineer", inventory.json()["id"])
    assert job["status"] == "succeeded", job
    return {"product_id": product["id"], "footprint_id": job["footprint_id"]}


def application_under_review(world, footprint_id: str) -> str:
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint_id, "certification_body_id": str(world.organisations["cb"])},
    )
    assert response.status_code == 201, response.text
    application_id = response.json()["id"]
    for user, action in (("acme-engineer", "submit"), ("cb-verifier", "start_review")):
        assert act(world, user, application_id, action).status_code == 200
    return application_id


def label_under(world, pcr_id: str, version: str) -> dict:
    footprint = footprint_under(world, pcr_id, version)
    application_id = application_under_review(world, footprint["footprint_id"])
    for action in ("approve", "issue_label"):
        response = act(world, "cb-verifier", application_id, action)
        assert response.status_code == 200, (action, response.text)
    labels = world.call("cb-verifier", "GET", "/api/v1/labels").json()
    return {**footprint, **next(label for label in labels if label["application_id"] == application_id)}


# --- the table --------------------------------------------------------------------------------------------------


def test_the_table_lets_the_chair_publish_a_reviewed_version():
    assert next_version_state(PCRState.REVIEW, "publish", CHAIR) is PCRState.PUBLISHED


def test_the_authors_submit_a_draft_for_consultation_and_the_chair_may_too():
    assert next_version_state(PCRState.DRAFT, "open_consultation", AUTHOR) is PCRState.CONSULTATION
    assert next_version_state(PCRState.DRAFT, "open_consultation", CHAIR) is PCRState.CONSULTATION


@pytest.mark.parametrize("action, state", [("close_consultation", "consultation"), ("publish", "review")])
def test_closing_the_consultation_and_publishing_stay_with_the_chair(action, state):
    with pytest.raises(IllegalTransition, match="only the chair may"):
        next_version_state(PCRState(state), action, AUTHOR)


def test_an_author_may_not_publish_and_the_refusal_says_who_may():
    with pytest.raises(IllegalTransition, match="only the chair may") as refused:
        next_version_state(PCRState.REVIEW, "publish", AUTHOR)
    assert refused.value.kind == "party"


def test_an_illegal_step_explains_itself():
    with pytest.raises(IllegalTransition) as refused:
        next_version_state(PCRState.DRAFT, "publish", CHAIR)
    assert str(refused.value) == "cannot publish a PCR version that is draft: allowed in review"


def test_an_illegal_step_carries_a_code_and_its_parameters_for_any_language():
    with pytest.raises(IllegalTransition) as refused:
        next_version_state(PCRState.DRAFT, "publish", CHAIR)
    assert refused.value.code == "pcr.error.state"
    assert refused.value.params == {"action": "publish", "state": "draft", "allowed": ["review"]}
    with pytest.raises(IllegalTransition) as refused:
        next_version_state(PCRState.REVIEW, "publish", AUTHOR)
    assert (refused.value.code, refused.value.params) == (
        "pcr.error.party",
        {"action": "publish", "state": "review", "party": "chair"},
    )


def test_a_refused_step_reads_in_chinese_from_its_code():
    """`pcr.error.state` with the names of the state, the step and the states it is allowed in (pcr.yaml); the
    English stays the answer's detail, for the JSON API."""
    with pytest.raises(IllegalTransition) as illegal:
        check_work(PCRState.PUBLISHED, "comment", frozenset({Party.PARTICIPANT}))
    refusal = pcr_registry.refused(illegal.value, "path")
    assert refusal.detail == "cannot comment a PCR version that is published: allowed in consultation"
    chinese = "本版本的状态为“已发布”，不能提出意见；只有状态为“公开征求意见”时才可以。"
    assert pcr_registry.refusal_in(ZH, refusal) == chinese
    assert pcr_registry.field_reasons_in(ZH, refusal) == {"path": chinese}
    english = "The version is “Published”: you may comment on it only while it is “Public consultation”."
    assert pcr_registry.refusal_in(EN, refusal) == english


def test_every_refusal_code_has_a_message_in_both_languages_with_the_same_parameters():
    """Every `pcr.error.*` code the registry and the life cycle raise (as written in their source), and every kind
    of illegal step."""
    sources = [Path(pcr_registry.__file__), Path(lifecycle.__file__)]
    codes = {code for path in sources for code in re.findall(r"\"(pcr\.error\.[a-z_]+)\"", path.read_text())}
    codes |= {f"pcr.error.{kind}" for kind in ("state", "party", "action")}
    assert len(codes) > 30
    for code in sorted(codes):
        assert code in ZH.messages and code in EN.messages, code
        assert placeholders(ZH.messages[code]) == placeholders(EN.messages[code]), code
    for action in [*VERSION_ACTIONS, *VERSION_WORK, *COMMENT_ACTIONS]:
        assert f"pcr.action.{action}" in ZH.messages and f"pcr.action.{action}" in EN.messages, action
    assert all(f"pcr.party.{party.value}" in ZH.messages for party in Party)


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(message) if name}


def test_supersession_and_expiry_are_the_systems_steps_only():
    assert {action for action, (_, _, party) in VERSION_ACTIONS.items() if party is Party.SYSTEM} == {
        "supersede",
        "expire",
    }
    with pytest.raises(IllegalTransition, match="only the system may"):
        next_version_state(PCRState.PUBLISHED, "supersede", CHAIR)


def test_a_superseded_version_applies_to_periods_ending_by_its_transition_end():
    old = Validity("P", "1.0.0", PCRState.SUPERSEDED, date(2023, 1, 1), date(2030, 12, 31), date(2025, 6, 30), "1.1.0")
    assert old.refusal_for_period(date(2025, 6, 30)) is None
    assert "transition period covers reference periods ending up to 2025-06-30" in old.refusal_for_period(
        date(2025, 7, 1)
    )


def test_a_version_does_not_apply_to_periods_ending_before_it_takes_effect():
    new = Validity("P", "2.0.0", PCRState.PUBLISHED, date(2025, 1, 1), date(2030, 12, 31))
    assert "ending on or after 2025-01-01" in new.refusal_for_period(date(2024, 12, 31))


def test_an_expired_version_certifies_nothing_a_superseded_one_still_does():
    expired = Validity("P", "1.0.0", PCRState.PUBLISHED, date(2023, 1, 1), date(2025, 12, 31))
    superseded = Validity("P", "1.0.0", PCRState.SUPERSEDED, date(2023, 1, 1), date(2030, 12, 31), date(2026, 1, 1))
    assert expired.refusal_for_certification(date(2026, 1, 1)) == "P 1.0.0 expired on 2025-12-31"
    assert superseded.refusal_for_certification(date(2027, 1, 1)) is None


# --- the service ------------------------------------------------------------------------------------------------


def test_a_draft_leaves_draft_only_when_the_full_check_passes_and_nothing_changes_otherwise(world):
    pcr_id = new_pcr_id()
    with session_scope() as session:
        pcr_registry.create_draft(session, principal("sb-author"), pcr_id, "1.0.0", "empty")
        with pytest.raises(Unprocessable) as refused:
            pcr_registry.open_consultation(session, principal("sb-chair"), pcr_id, "1.0.0", TODAY)
    assert {"field": "declared_unit", "reason": "Field required"} in [
        {"field": e["field"], "reason": e["reason"]} for e in refused.value.errors
    ]
    with session_scope() as session:
        row = pcr_registry.visible_version(session, principal("sb-author"), pcr_id, "1.0.0")
        assert (row.state, row.consultation_until) == ("draft", None)


def test_publishing_is_refused_while_a_comment_is_unanswered(world):
    pcr_id = new_pcr_id()
    reviewed(pcr_id, "1.0.0", comments=("items[clinker]", "electricity"))
    chair = principal("sb-chair")
    with session_scope() as session:
        first = pcr_registry.comments_of(session, pcr_registry.visible_version(session, chair, pcr_id, "1.0.0"))[0]
        pcr_registry.answer(session, chair, pcr_id, "1.0.0", first.id, "accepted", "worked into clinker")
        with pytest.raises(Conflict, match="1 unanswered") as refused:
            pcr_registry.publish(
                session, chair, pcr_id, "1.0.0", date(2023, 1, 1), date(2030, 12, 31), today=AFTER_CONSULTATION
            )
        assert [e["reason"] for e in refused.value.errors] == ["electricity: not answered"]
        assert pcr_registry.visible_version(session, chair, pcr_id, "1.0.0").state == "review"


def test_a_rejection_states_its_reason(world):
    pcr_id = new_pcr_id()
    reviewed(pcr_id, "1.0.0", comments=("boundary",))
    chair = principal("sb-chair")
    with session_scope() as session:
        note = pcr_registry.comments_of(session, pcr_registry.visible_version(session, chair, pcr_id, "1.0.0"))[0]
        with pytest.raises(Unprocessable) as refused:
            pcr_registry.answer(session, chair, pcr_id, "1.0.0", note.id, "rejected", "  ")
    assert refused.value.errors == [{"field": "reason", "reason": "required", "code": "pcr.error.required"}]


def test_the_consultation_is_not_closed_before_its_stated_end(world):
    pcr_id = new_pcr_id()
    author, chair = principal("sb-author"), principal("sb-chair")
    with session_scope() as session:
        pcr_registry.create_draft(session, author, pcr_id, "1.0.0", "empty")
        pcr_registry.replace_document(session, author, pcr_id, "1.0.0", cement_rules(pcr_id, "1.0.0"))
        pcr_registry.open_consultation(session, chair, pcr_id, "1.0.0", TODAY + timedelta(days=30))
        with pytest.raises(Conflict) as refused:
            pcr_registry.close_consultation(session, chair, pcr_id, "1.0.0", today=TODAY + timedelta(days=30))
    assert refused.value.errors[0]["field"] == "consultation_until"


def test_a_published_version_is_never_edited(world):
    pcr_id = new_pcr_id()
    published(pcr_id)
    with session_scope() as session, pytest.raises(Conflict, match="allowed in draft, review"):
        pcr_registry.replace_document(
            session, principal("sb-author"), pcr_id, "1.0.0", {**cement_rules(pcr_id, "1.0.0"), "title": "changed"}
        )


def test_the_database_itself_refuses_to_change_a_published_document(world):
    pcr_id = new_pcr_id()
    published(pcr_id)
    with session_scope() as session, pytest.raises(DatabaseError, match="a published version is immutable"):
        session.execute(
            text("UPDATE pcr_version SET document = '{}' WHERE pcr_id = :id"),
            {"id": pcr_id},
        )
        session.commit()


def test_supersession_leaves_the_old_version_usable_until_the_transition_end(world):
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0")
    published(pcr_id, "1.1.0", effective_from=date(2023, 7, 1), transition_until=date(2023, 9, 30), start_from="latest")
    product = world.product("acme-engineer", pcr_id, "cement in transition")
    within = world.submit("acme-engineer", product["id"], cement_inventory(pcr_id, "1.0.0", end="2023-09-30"))
    assert within.status_code == 201, within.text


def test_after_the_transition_end_the_superseded_version_is_refused_for_new_inventories(world):
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0")
    published(pcr_id, "1.1.0", effective_from=date(2023, 7, 1), transition_until=date(2023, 9, 30), start_from="latest")
    product = world.product("acme-engineer", pcr_id, "cement after transition")
    after = world.submit("acme-engineer", product["id"], cement_inventory(pcr_id, "1.0.0", end="2023-12-31"))
    assert after.status_code == 422
    [error] = after.json()["errors"]
    assert error["field"] == "inventory.pcr.version"
    assert f"{pcr_id} 1.0.0 was superseded by 1.1.0" in error["reason"] and "2023-09-30" in error["reason"]
    newer = world.submit("acme-engineer", product["id"], cement_inventory(pcr_id, "1.1.0", end="2023-12-31"))
    assert newer.status_code == 201, newer.text


def test_a_superseded_versions_labels_stay_valid_and_name_their_version(world):
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0")
    label = label_under(world, pcr_id, "1.0.0")
    published(pcr_id, "1.1.0", effective_from=date(2023, 7, 1), transition_until=date(2023, 9, 30), start_from="latest")
    public = world.client.get(f"/api/v1/public/labels/{label['number']}").json()
    assert public["status"] == "VALID"
    assert public["claim"]["pcr"] == {"id": pcr_id, "version": "1.0.0"}


def test_old_footprints_keep_the_version_they_were_made_under(world):
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0")
    made = footprint_under(world, pcr_id, "1.0.0")
    published(pcr_id, "1.1.0", effective_from=date(2024, 1, 1), start_from="latest")
    footprint = world.call("acme-engineer", "GET", f"/api/v1/footprints/{made['footprint_id']}").json()
    assert footprint["result"]["pcr"] == {"id": pcr_id, "version": "1.0.0"}
    report = world.call("acme-engineer", "GET", f"/api/v1/footprints/{made['footprint_id']}/report.pdf")
    assert report.status_code == 200  # the report reads the superseded version's rules


def test_an_application_under_an_expired_pcr_is_refused_naming_it(world):
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0", valid_until=AFTER_CONSULTATION)
    made = footprint_under(world, pcr_id, "1.0.0")
    with session_scope() as session:
        assert pcr_registry.expire_due(session, AFTER_CONSULTATION + timedelta(days=1)) >= 1
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": made["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "pcr",
            "reason": f"{pcr_id} 1.0.0 expired on {AFTER_CONSULTATION.isoformat()}",
            "code": "cert.error.pcr_not_in_force",
            "params": {"pcr": f"{pcr_id} 1.0.0"},
        }
    ]


def test_an_approval_under_a_pcr_that_expired_during_review_is_refused(world):
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0", valid_until=AFTER_CONSULTATION)
    application_id = application_under_review(world, footprint_under(world, pcr_id, "1.0.0")["footprint_id"])
    with session_scope() as session:
        pcr_registry.expire_due(session, AFTER_CONSULTATION + timedelta(days=1))
    response = act(world, "cb-verifier", application_id, "approve")
    assert response.status_code == 422 and pcr_id in response.json()["detail"]
    assert world.call("cb-verifier", "GET", f"/api/v1/applications/{application_id}").json()["state"] == "under_review"


def test_a_withdrawn_version_is_refused_for_inventories_and_certification(world):
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0")
    made = footprint_under(world, pcr_id, "1.0.0")
    with session_scope() as session:
        pcr_registry.withdraw(session, principal("sb-chair"), pcr_id, "1.0.0", "the clinker factor is wrong")
        with pytest.raises(PCRNotInForce, match="was withdrawn"):
            pcr_registry.require_usable(session, pcr_id, "1.0.0", date(2023, 12, 31))
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": made["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    )
    assert response.status_code == 422 and "was withdrawn" in response.json()["errors"][0]["reason"]


def test_only_the_steward_writes_the_next_version_of_a_pcr(world):
    pcr_id = new_pcr_id()
    published(pcr_id)
    with session_scope() as session, pytest.raises(Forbidden, match="another standards body"):
        pcr_registry.create_draft(session, principal("sb2-chair"), pcr_id, "2.0.0", "latest")


def test_a_new_version_must_be_newer_than_every_published_one(world):
    pcr_id = new_pcr_id()
    published(pcr_id, "1.1.0")
    with session_scope() as session, pytest.raises(Unprocessable) as refused:
        pcr_registry.create_draft(session, principal("sb-author"), pcr_id, "1.0.5", "latest")
    assert refused.value.errors[0]["field"] == "version" and "newer than 1.1.0" in refused.value.errors[0]["reason"]


def test_a_new_version_starts_as_a_copy_of_the_latest_published_one(world):
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0")
    with session_scope() as session:
        draft = pcr_registry.create_draft(session, principal("sb-author"), pcr_id, "1.1.0", "latest")
        base, own = pcr_registry.base_documents(session, principal("sb-author"), pcr_id, "1.1.0")
    assert draft.based_on == "1.0.0"
    assert {**own, "version": "1.0.0"} == base


def test_every_step_of_a_version_is_in_the_audit_trail(world):
    pcr_id = new_pcr_id()
    reviewed(pcr_id, "1.0.0", comments=("general",))
    chair = principal("sb-chair")
    with session_scope() as session:
        note = pcr_registry.comments_of(session, pcr_registry.visible_version(session, chair, pcr_id, "1.0.0"))[0]
        pcr_registry.answer(session, chair, pcr_id, "1.0.0", note.id, "rejected", "out of scope")
        pcr_registry.publish(
            session, chair, pcr_id, "1.0.0", date(2023, 1, 1), date(2030, 12, 31), today=AFTER_CONSULTATION
        )
        actions = session.exec(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "pcr_version", AuditEvent.object_id == f"{pcr_id}@1.0.0")
            .order_by(AuditEvent.seq)
        ).all()
    assert actions == [
        "pcr.draft_created",
        "pcr.document_replaced",
        "pcr.open_consultation",
        "pcr.comment",
        "pcr.close_consultation",
        "pcr.comment_rejected",
        "pcr.publish",
    ]


def test_the_comment_log_is_part_of_the_published_record(world):
    pcr_id = new_pcr_id()
    reviewed(pcr_id, "1.0.0", comments=("items[clinker]",))
    chair = principal("sb-chair")
    with session_scope() as session:
        note = pcr_registry.comments_of(session, pcr_registry.visible_version(session, chair, pcr_id, "1.0.0"))[0]
        pcr_registry.answer(session, chair, pcr_id, "1.0.0", note.id, "accepted", "")
        pcr_registry.publish(
            session, chair, pcr_id, "1.0.0", date(2023, 1, 1), date(2030, 12, 31), today=AFTER_CONSULTATION
        )
        with pytest.raises(DatabaseError, match="part of its record"):
            session.execute(text("DELETE FROM pcr_comment WHERE id = :id"), {"id": note.id.hex})
            session.commit()
        session.rollback()
        assert session.exec(select(PCRVersion).where(PCRVersion.pcr_id == pcr_id)).one().state == "published"


def test_a_new_version_lists_what_changed_from_the_one_it_copied(world):
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0")
    author = principal("sb-author")
    with session_scope() as session:
        pcr_registry.create_draft(session, author, pcr_id, "1.1.0", "latest")
        revised = {**cement_rules(pcr_id, "1.1.0"), "title": "Cement, revised"}
        pcr_registry.replace_document(session, author, pcr_id, "1.1.0", revised)
        changes = pcr_registry.changes_from_base(session, author, pcr_id, "1.1.0")
    assert [(c.path, c.kind.value) for c in changes] == [("version", "changed"), ("title", "changed")]


def test_a_draft_that_is_not_yet_a_pcr_has_no_changes_to_list(world):
    """The diff reads both sides as PCRs: a copy whose declared unit was removed is not one, so no changes yet."""
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0")
    author = principal("sb-author")
    with session_scope() as session:
        pcr_registry.create_draft(session, author, pcr_id, "1.1.0", "latest")
        unfinished = {**cement_rules(pcr_id, "1.1.0"), "declared_unit": None}
        pcr_registry.replace_document(session, author, pcr_id, "1.1.0", unfinished)
        assert pcr_registry.changes_from_base(session, author, pcr_id, "1.1.0") is None


def test_a_seeded_version_is_compared_with_the_newest_earlier_published_version(world):
    """The seeded versions name no base: cement 1.1.0 revises 1.0.0 (pcr_rules/data), and 1.0.0 is the first."""
    with session_scope() as session:
        record = pcr_registry.record_view(session, None, "PCR-CN-CEMENT", "1.1.0")
        changes = pcr_registry.changes_from_base(session, None, "PCR-CN-CEMENT", "1.1.0")
        first = pcr_registry.record_view(session, None, "PCR-CN-CEMENT", "1.0.0")
    assert record.based_on == "1.0.0"
    assert ("electricity.location_level", "national", "province") in [(c.path, c.old, c.new) for c in changes]
    assert first.previous_version is None


def test_a_withdrawn_version_is_not_the_previous_one(world):
    """1.0.0, then 1.1.0 (withdrawn after publication), then 1.2.0, each written from an empty document: 1.2.0
    revises 1.0.0."""
    pcr_id = new_pcr_id()
    published(pcr_id, "1.0.0")
    published(pcr_id, "1.1.0", effective_from=date(2024, 1, 1))
    chair = principal("sb-chair")
    with session_scope() as session:
        pcr_registry.withdraw(session, chair, pcr_id, "1.1.0", "the kiln rule was wrong")
    published(pcr_id, "1.2.0", effective_from=date(2024, 6, 1))
    with session_scope() as session:
        row = pcr_registry.visible_version(session, None, pcr_id, "1.2.0")
        assert row.based_on is None and pcr_registry.previous_version(session, row).version == "1.0.0"
        assert pcr_registry.record_view(session, None, pcr_id, "1.2.0").based_on == "1.0.0"


def test_a_seeded_version_is_printed_as_seed_data_not_as_an_issuer(world):
    with session_scope() as session:
        record = pcr_registry.record_view(session, None, "PCR-CN-CEMENT", "1.1.0")
    assert (record.issuer_name, record.seeded) == ("", True)


def test_the_printed_record_carries_the_comment_log_with_its_answers(world):
    pcr_id = new_pcr_id()
    reviewed(pcr_id, "1.0.0", comments=("electricity",))
    chair = principal("sb-chair")
    with session_scope() as session:
        note = pcr_registry.comments_of(session, pcr_registry.visible_version(session, chair, pcr_id, "1.0.0"))[0]
        pcr_registry.answer(session, chair, pcr_id, "1.0.0", note.id, "rejected", "market-based stays")
        pcr_registry.publish(
            session, chair, pcr_id, "1.0.0", date(2023, 1, 1), date(2030, 12, 31), today=AFTER_CONSULTATION
        )
        record = pcr_registry.record_view(session, None, pcr_id, "1.0.0")
    assert record.status == "published" and record.effective_from == date(2023, 1, 1)
    [printed] = record.comments
    assert (printed.path, printed.answer, printed.reason) == ("electricity", "rejected", "market-based stays")
