"""The certification workflow over HTTP: states, who may do what, findings and corrections, audit."""

from tests.labelling import act, calculated_footprint, issued_label


def application_for(world, footprint_id: str, body: str = "cb") -> str:
    response = world.call("acme-engineer", "POST", "/api/v1/applications", json={
        "footprint_id": footprint_id, "certification_body_id": str(world.organisations[body])})
    assert response.status_code == 201 and response.json()["state"] == "draft", response.text
    return response.json()["id"]


def test_findings_corrections_and_approval_lead_to_a_label(world):
    first = calculated_footprint(world)
    application = application_for(world, first["footprint_id"])
    assert world.call("cb-verifier", "GET", f"/api/v1/applications/{application}").status_code == 404  # a draft
    assert act(world, "acme-engineer", application, "submit").json()["state"] == "submitted"
    assert act(world, "cb-verifier", application, "start_review").json()["state"] == "under_review"

    review = world.call("cb-verifier", "GET", f"/api/v1/applications/{application}/review").json()
    assert review["pcr_checks"]["passed"] and review["inventory"]["items"][2]["amount"] == 160_000_000
    assert review["result"]["contributions"]
    assert act(world, "cb-verifier", application, "request_corrections").status_code == 409  # no finding yet
    finding = world.call("cb-verifier", "POST", f"/api/v1/applications/{application}/findings",
                         json={"subject": "items[2]", "text": "kiln coal: use the weighbridge total"})
    assert finding.status_code == 201
    assert act(world, "cb-verifier", application, "approve").status_code == 409  # an open finding
    assert act(world, "cb-verifier", application, "request_corrections").json()["state"] == "findings"

    corrected = calculated_footprint(world, product_id=first["product_id"], **{"2.amount": 150_000_000})
    assert act(world, "acme-engineer", application, "resubmit").status_code == 422  # names no footprint
    resubmitted = act(world, "acme-engineer", application, "resubmit", footprint_id=corrected["footprint_id"])
    assert resubmitted.json()["state"] == "corrected"
    assert resubmitted.json()["footprint_id"] == corrected["footprint_id"]
    assert world.call("cb-verifier", "GET", f"/api/v1/footprints/{corrected['footprint_id']}").status_code == 200
    findings = world.call("acme-engineer", "GET", f"/api/v1/applications/{application}/findings").json()
    assert findings[0]["resolved_at"] is not None

    for action, state in (("start_review", "under_review"), ("approve", "approved"), ("issue_label", "label_issued")):
        assert act(world, "cb-verifier", application, action).json()["state"] == state
    labels = world.call("acme-engineer", "GET", "/api/v1/labels").json()
    label = next(label for label in labels if label["application_id"] == application)
    assert label["state"] == "active" and label["pcr_id"] == "PCR-CN-CEMENT"


def test_illegal_transitions_are_refused_with_the_reason(world):
    application = application_for(world, calculated_footprint(world)["footprint_id"])
    response = act(world, "cb-verifier", application, "approve")
    assert response.status_code == 404  # still a draft: the body does not see it
    act(world, "acme-engineer", application, "submit")
    response = act(world, "cb-verifier", application, "approve")
    assert response.status_code == 409 and response.headers["content-type"] == "application/problem+json"
    assert "allowed from under_review" in response.json()["detail"]
    response = act(world, "acme-engineer", application, "start_review")
    assert response.status_code == 409 and "only the certification body" in response.json()["detail"]
    assert act(world, "acme-engineer", application, "bogus").status_code == 422


def test_other_organisations_cannot_see_or_act(world):
    application = application_for(world, calculated_footprint(world)["footprint_id"])
    act(world, "acme-engineer", application, "submit")
    for user in ("rival-engineer", "cb2-verifier"):
        assert world.call(user, "GET", f"/api/v1/applications/{application}").status_code == 404
        assert act(world, user, application, "start_review").status_code == 404
        assert world.call(user, "GET", f"/api/v1/applications/{application}/review").status_code == 404


def test_a_footprint_of_another_organisation_cannot_be_submitted(world):
    footprint = calculated_footprint(world)["footprint_id"]
    response = world.call("rival-engineer", "POST", "/api/v1/applications", json={
        "footprint_id": footprint, "certification_body_id": str(world.organisations["cb"])})
    assert response.status_code == 404


def test_every_transition_is_audited_with_actor_and_comment(world):
    label = issued_label(world)
    trail = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    steps = [e for e in trail if e["object_type"] == "application" and e["object_id"] == label["application_id"]]
    assert [e["action"] for e in steps] == ["application.created", "application.submit",
                                            "application.start_review", "application.approve",
                                            "application.issue_label"]
    assert steps[-1]["after"]["label"] == label["number"]
    assert steps[1]["after"]["comment"] == "submit by acme-engineer" and steps[1]["actor_kind"] == "user"
    assert world.call("root", "GET", "/api/v1/audit/verify").json()["intact"]


def test_suspend_reinstate_revoke(world):
    number = issued_label(world)["number"]
    path = f"/api/v1/labels/{number}/actions"
    assert world.call("cb-verifier", "POST", f"{path}/suspend", json={"comment": "surveillance"}).json()[
        "state"] == "suspended"
    assert world.call("cb-verifier", "POST", f"{path}/suspend", json={"comment": "again"}).status_code == 409
    assert world.call("cb-verifier", "POST", f"{path}/reinstate", json={"comment": "fixed"}).json()[
        "state"] == "active"
    assert world.call("acme-engineer", "POST", f"{path}/revoke", json={"comment": "x"}).status_code == 403
    assert world.call("cb2-verifier", "POST", f"{path}/revoke", json={"comment": "x"}).status_code == 404
    assert world.call("cb-verifier", "POST", f"{path}/revoke", json={"comment": ""}).status_code == 422
    assert world.call("cb-verifier", "POST", f"{path}/revoke", json={"comment": "fraud"}).json()[
        "state"] == "revoked"
    assert world.call("cb-verifier", "POST", f"{path}/reinstate", json={"comment": "no"}).status_code == 409


def test_labels_issued_at_once_on_the_embedded_database_get_distinct_numbers(world):
    """Four issuances at the same moment on SQLite: none waits on another's write lock while it renders."""
    from concurrent.futures import ThreadPoolExecutor

    applications = []
    for _ in range(4):
        application = application_for(world, calculated_footprint(world, gtin=None)["footprint_id"])
        for user, action in (("acme-engineer", "submit"), ("cb-verifier", "start_review"),
                             ("cb-verifier", "approve")):
            act(world, user, application, action)
        applications.append(application)
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda a: act(world, "cb-verifier", a, "issue_label"), applications))
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    numbers = {label["number"] for label in world.call("cb-verifier", "GET", "/api/v1/labels").json()
               if label["application_id"] in applications}
    assert len(numbers) == 4
    again = act(world, "cb-verifier", applications[0], "issue_label")
    assert again.status_code == 409
