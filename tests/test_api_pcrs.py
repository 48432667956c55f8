"""The PCR registry over JSON (/api/v1/pcrs): the public library, the standards bodies' authoring, and the bounds and
errors of every route."""

from datetime import timedelta

import yaml

from footprint_api.persistence.db import session_scope
from footprint_api.services import pcr_registry
from pcr_rules.registry import DATA_DIR, file_registry
from tests.test_pcr_lifecycle import AFTER_CONSULTATION, TODAY, cement_rules, new_pcr_id, principal


def draft(world, pcr_id: str, version: str = "1.0.0", document: dict | None = None) -> dict:
    response = world.call(
        "sb-author", "POST", f"/api/v1/pcrs/{pcr_id}/versions", json={"version": version, "start_from": "empty"}
    )
    assert response.status_code == 201, response.text
    if document is not None:
        put = world.call("sb-author", "PUT", f"/api/v1/pcrs/{pcr_id}/versions/{version}/document", json=document)
        assert put.status_code == 200, put.text
        return put.json()
    return response.json()


def in_consultation(world, pcr_id: str, version: str = "1.0.0") -> str:
    draft(world, pcr_id, version, cement_rules(pcr_id, version))
    url = f"/api/v1/pcrs/{pcr_id}/versions/{version}"
    opened = world.call(
        "sb-chair", "POST", f"{url}/actions/open_consultation", json={"consultation_until": TODAY.isoformat()}
    )
    assert opened.status_code == 200, opened.text
    return url


def test_anyone_lists_the_published_versions_with_status_and_dates(world):
    listed = world.client.get("/api/v1/pcrs").json()
    cement = next(v for v in listed if (v["id"], v["version"]) == ("PCR-CN-CEMENT", "1.1.0"))
    rules = file_registry().get("PCR-CN-CEMENT", "1.1.0")
    assert {k: cement[k] for k in ("id", "version", "title", "product_category", "declared_unit")} == {
        "id": rules.id,
        "version": rules.version,
        "title": rules.title,
        "product_category": rules.product_category,
        "declared_unit": rules.declared_unit.model_dump(),
    }  # the fields the list of PCRs answered before
    assert (cement["status"], cement["in_force"]) == ("published", True)
    assert (cement["effective_from"], cement["valid_until"]) == ("2023-01-01", "2030-12-31")
    assert all(v["status"] in ("published", "superseded", "expired", "withdrawn") for v in listed)


def test_a_draft_is_invisible_to_other_organisations(world):
    pcr_id = new_pcr_id()
    draft(world, pcr_id)
    url = f"/api/v1/pcrs/{pcr_id}/versions/1.0.0"
    assert world.call("sb-chair", "GET", url).status_code == 200
    for outsider in ("rival-engineer", "sb2-chair", "root", None):
        assert world.call(outsider, "GET", url).status_code == 404, outsider
        assert pcr_id not in world.call(outsider, "GET", "/api/v1/pcrs").text, outsider


def test_a_manufacturers_consultation_comment_is_answered_by_the_chair(world):
    pcr_id = new_pcr_id()
    url = in_consultation(world, pcr_id)
    comment = world.call(
        "acme-engineer",
        "POST",
        f"{url}/comments",
        json={"path": "items[clinker]", "text": "state the CKD correction factor"},
    )
    assert comment.status_code == 201, comment.text
    assert comment.json()["state"] == "open" and comment.json()["path"] == "items[clinker]"
    with session_scope() as session:  # the stated period has passed
        pcr_registry.close_consultation(session, principal("sb-chair"), pcr_id, "1.0.0", today=AFTER_CONSULTATION)
    answered = world.call(
        "sb-chair",
        "POST",
        f"{url}/comments/{comment.json()['id']}/answer",
        json={"decision": "rejected", "reason": "GB/T 32151.8 back-calculation already covers it"},
    )
    assert answered.status_code == 200, answered.text
    log = world.call("acme-engineer", "GET", url).json()["comments"]
    assert [(c["path"], c["state"], c["answer"]) for c in log] == [
        ("items[clinker]", "rejected", "GB/T 32151.8 back-calculation already covers it")
    ]


def test_a_comment_names_a_part_of_the_pcr(world):
    url = in_consultation(world, new_pcr_id())
    response = world.call("acme-engineer", "POST", f"{url}/comments", json={"path": "items[unobtainium]", "text": "x"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "path",
            "reason": "this version has no item 'unobtainium'",
            "code": "pcr.error.no_item",  # what a page words in its reader's language, with the parameters
            "params": {"item": "unobtainium"},
        }
    ]


def test_a_comment_longer_than_4000_characters_is_refused_naming_the_field(world):
    url = in_consultation(world, new_pcr_id())
    response = world.call("acme-engineer", "POST", f"{url}/comments", json={"path": "general", "text": "x" * 4001})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "text"


def test_only_the_chair_answers_a_comment(world):
    pcr_id = new_pcr_id()
    url = in_consultation(world, pcr_id)
    note = world.call("acme-engineer", "POST", f"{url}/comments", json={"path": "general", "text": "fine"}).json()
    with session_scope() as session:
        pcr_registry.close_consultation(session, principal("sb-chair"), pcr_id, "1.0.0", today=AFTER_CONSULTATION)
    for user in ("sb-author", "acme-engineer", "sb2-chair"):
        response = world.call(user, "POST", f"{url}/comments/{note['id']}/answer", json={"decision": "accepted"})
        assert response.status_code in (403, 404), (user, response.text)


def test_the_consultation_is_closed_only_after_its_stated_end(world):
    url = in_consultation(world, new_pcr_id())
    response = world.call("sb-chair", "POST", f"{url}/actions/close_consultation", json={})
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "field": "consultation_until",
            "reason": f"the consultation runs until {TODAY.isoformat()}",
            "code": "pcr.error.consultation_running",
            "params": {"until": TODAY.isoformat()},
        }
    ]


def test_a_published_version_is_never_edited(world):
    assert (
        world.call(
            "root",
            "PUT",
            "/api/v1/pcrs/PCR-CN-FLATGLASS/steward",
            json={"organisation_id": str(world.organisations["sb"])},
        ).status_code
        == 204
    )
    document = yaml.safe_load((DATA_DIR / "flat-glass-1.0.0.yaml").read_text(encoding="utf-8"))
    response = world.call(
        "sb-author",
        "PUT",
        "/api/v1/pcrs/PCR-CN-FLATGLASS/versions/1.0.0/document",
        json={**document, "title": "rewritten after publication"},
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "cannot revise a PCR version that is published: allowed in draft, review"
    assert response.json()["errors"] == [
        {
            "field": "document",
            "reason": "allowed in draft, review",
            "code": "pcr.error.state",
            "params": {"action": "revise", "state": "published", "allowed": ["draft", "review"]},
        }
    ]
    assert world.client.get("/api/v1/pcrs/PCR-CN-FLATGLASS").json()["title"] == document["title"]


def test_a_document_larger_than_1_mib_is_refused_naming_the_field(world):
    pcr_id = new_pcr_id()
    draft(world, pcr_id)
    body = {"id": pcr_id, "version": "1.0.0", "notes": ["x" * 1024] * 1100}
    response = world.call("sb-author", "PUT", f"/api/v1/pcrs/{pcr_id}/versions/1.0.0/document", json=body)
    assert response.status_code == 413
    assert response.json()["errors"] == [
        {
            "field": "document",
            "reason": "larger than 1048576 bytes",
            "code": "pcr.error.too_large",
            "params": {"max_kib": 1024},
        }
    ]


def test_a_document_that_is_not_a_json_object_is_refused_naming_the_field(world):
    pcr_id = new_pcr_id()
    draft(world, pcr_id)
    url = f"/api/v1/pcrs/{pcr_id}/versions/1.0.0/document"
    for content in (b"{not json", b"[1, 2]", b'{"id": NaN}', b"[" * 100_000):
        response = world.call("sb-author", "PUT", url, content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, (content[:20], response.text)
        assert response.json()["errors"][0]["field"] == "document"


def test_a_document_names_its_own_pcr_and_version(world):
    pcr_id = new_pcr_id()
    draft(world, pcr_id)
    response = world.call(
        "sb-author", "PUT", f"/api/v1/pcrs/{pcr_id}/versions/1.0.0/document", json=cement_rules(pcr_id, "9.9.9")
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "version",
            "reason": "must be '1.0.0', as the version's address says",
            "code": "pcr.error.identity",
            "params": {"expected": "1.0.0"},
        }
    ]


def test_replacing_a_draft_answers_what_the_full_check_finds(world):
    pcr_id = new_pcr_id()
    answered = draft(world, pcr_id, document={**cement_rules(pcr_id, "1.0.0"), "declared_unit": None})
    assert answered["status"] == "draft"
    assert "declared_unit" in [p["field"] for p in answered["problems"]]


def test_an_author_submits_for_consultation_but_may_not_close_or_publish(world):
    """The life cycle's table: open_consultation is an author's step; closing, answering and publishing the chair's."""
    pcr_id = new_pcr_id()
    draft(world, pcr_id, document=cement_rules(pcr_id, "1.0.0"))
    steps = f"/api/v1/pcrs/{pcr_id}/versions/1.0.0/actions"
    opened = world.call(
        "sb-author", "POST", f"{steps}/open_consultation", json={"consultation_until": TODAY.isoformat()}
    )
    assert opened.status_code == 200 and opened.json()["status"] == "consultation"
    assert world.call("sb-author", "POST", f"{steps}/close_consultation", json={}).status_code == 403
    assert world.call("sb-author", "POST", f"{steps}/withdraw", json={"reason": "not mine to end"}).status_code == 403


def test_an_unknown_action_is_refused_naming_the_field(world):
    response = world.call("sb-chair", "POST", "/api/v1/pcrs/PCR-CN-CEMENT/versions/1.1.0/actions/promote", json={})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "action"


def test_a_version_published_through_the_api_becomes_the_one_in_force(world):
    pcr_id = new_pcr_id()
    url = in_consultation(world, pcr_id)
    with session_scope() as session:
        pcr_registry.close_consultation(session, principal("sb-chair"), pcr_id, "1.0.0", today=AFTER_CONSULTATION)
    response = world.call(
        "sb-chair",
        "POST",
        f"{url}/actions/publish",
        json={"effective_from": "2023-01-01", "valid_until": (TODAY + timedelta(days=3650)).isoformat()},
    )
    assert response.status_code == 200, response.text
    version = response.json()
    assert (version["status"], version["issuer"]["id"]) == ("published", str(world.organisations["sb"]))
    assert world.client.get(f"/api/v1/pcrs/{pcr_id}").json()["version"] == "1.0.0"
    assert world.client.get(f"/api/v1/pcrs/{pcr_id}/template.xlsx").status_code == 200


def test_publication_dates_are_checked_naming_each_field(world):
    pcr_id = new_pcr_id()
    url = in_consultation(world, pcr_id)
    with session_scope() as session:
        pcr_registry.close_consultation(session, principal("sb-chair"), pcr_id, "1.0.0", today=AFTER_CONSULTATION)
    response = world.call(
        "sb-chair", "POST", f"{url}/actions/publish", json={"effective_from": "2030-01-01", "valid_until": "2029-01-01"}
    )
    assert response.status_code == 422
    assert {
        "field": "valid_until",
        "reason": "must be after effective_from",
        "code": "pcr.error.valid_after",
    } in response.json()["errors"]


def test_the_pcr_routes_of_before_keep_their_answers(world):
    document = world.client.get("/api/v1/pcrs/PCR-CN-CEMENT", params={"version": "1.0.0"}).json()
    assert document == file_registry().get("PCR-CN-CEMENT", "1.0.0").model_dump()
    template = world.client.get("/api/v1/pcrs/PCR-CN-CEMENT/template.xlsx")  # the latest: 1.2.0 since issue 20
    assert (
        template.status_code == 200 and "PCR-CN-CEMENT-1.2.0-inventory.xlsx" in template.headers["content-disposition"]
    )
    assert world.client.get("/api/v1/pcrs/PCR-CN-NOTHING").status_code == 422


def test_an_invalid_token_is_refused_not_read_as_the_public(world):
    response = world.client.get("/api/v1/pcrs", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


def test_the_platform_admin_creates_a_standards_body_with_its_authors_and_chair(world):
    body = world.call(
        "root", "POST", "/api/v1/organisations", json={"name": f"{new_pcr_id()} association", "kind": "standards_body"}
    )
    assert body.status_code == 201, body.text
    users = f"/api/v1/organisations/{body.json()['id']}/users"
    for role, expected in (("pcr_chair", 201), ("pcr_author", 201), ("verifier", 403)):
        response = world.call(
            "root",
            "POST",
            users,
            json={
                "email": f"{role}-{body.json()['id'][:8]}@test.example",
                "name": role,
                "password": "p" * 16,
                "role": role,
            },
        )
        assert response.status_code == expected, (role, response.text)


def test_only_the_platform_admin_hands_a_pcr_to_a_standards_body(world):
    url = "/api/v1/pcrs/PCR-CN-STEEL/steward"
    body = {"organisation_id": str(world.organisations["sb2"])}
    assert world.call("sb2-chair", "PUT", url, json=body).status_code == 403
    not_a_body = world.call("root", "PUT", url, json={"organisation_id": str(world.organisations["acme"])})
    assert not_a_body.status_code == 422 and not_a_body.json()["errors"][0]["field"] == "organisation_id"


def test_the_pcr_language_schema_is_served_with_every_formula(world):
    """A standards body's tools validate a document against it: a JSON Schema (2020-12) whose formula names are the
    catalogue's, served as application/schema+json without sign-in."""
    response = world.client.get("/api/v1/pcrs/language/schema.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/schema+json")
    schema = response.json()
    assert schema["$schema"].endswith("2020-12/schema") and "items" in schema["properties"]
    assert {"fuel_combustion", "pfc_tier1", "fixed_factor"} <= {formula["name"] for formula in schema["x-formulas"]}
