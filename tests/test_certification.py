"""The certification workflow over HTTP: states, who may do what, findings and corrections, audit."""

import pytest

from tests.labelling import act, calculated_footprint, issued_label


def application_for(world, footprint_id: str, body: str = "cb") -> str:
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint_id, "certification_body_id": str(world.organisations[body])},
    )
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
    finding = world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/applications/{application}/findings",
        json={"subject": "items[2]", "text": "kiln coal: use the weighbridge total"},
    )
    assert finding.status_code == 201
    assert act(world, "cb-verifier", application, "approve").status_code == 409  # an open finding
    assert act(world, "cb-verifier", application, "request_corrections").json()["state"] == "findings"

    corrected = calculated_footprint(world, product_id=first["product_id"], **{"2.amount": 150_000_000})
    assert act(world, "acme-engineer", application, "resubmit").status_code == 409  # the finding is unanswered
    step(
        world,
        "acme-engineer",
        application,
        finding.json()["id"],
        "answer",
        text="weighbridge total used",
        footprint_id=corrected["footprint_id"],
    )
    resubmitted = act(world, "acme-engineer", application, "resubmit", footprint_id=corrected["footprint_id"])
    assert resubmitted.json()["state"] == "corrected"
    assert resubmitted.json()["footprint_id"] == corrected["footprint_id"]
    assert world.call("cb-verifier", "GET", f"/api/v1/footprints/{corrected['footprint_id']}").status_code == 200
    findings = world.call("acme-engineer", "GET", f"/api/v1/applications/{application}/findings").json()
    assert findings[0]["resolved_at"] is None and findings[0]["state"] == "answered"  # only the verifier closes

    assert act(world, "cb-verifier", application, "start_review").json()["state"] == "under_review"
    step(world, "cb-verifier", application, finding.json()["id"], "close", text="accepted")
    for action, state in (("approve", "approved"), ("issue_label", "label_issued")):
        assert act(world, "cb-verifier", application, action).json()["state"] == state
    labels = world.call("acme-engineer", "GET", "/api/v1/labels").json()
    label = next(label for label in labels if label["application_id"] == application)
    assert label["state"] == "active" and label["pcr_id"] == "PCR-CN-CEMENT"


def step(world, user: str, application: str, finding: str, action: str, **body):
    response = world.call(
        user, "POST", f"/api/v1/applications/{application}/findings/{finding}/actions/{action}", json=body
    )
    assert response.status_code == 200, response.text
    return response.json()


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
    assert response.json()["errors"][0]["code"] == "cert.error.party"
    assert response.json()["errors"][0]["params"]["party"] == "certification_body"
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
    response = world.call(
        "rival-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint, "certification_body_id": str(world.organisations["cb"])},
    )
    assert response.status_code == 404


def test_every_transition_is_audited_with_actor_and_comment(world):
    label = issued_label(world)
    trail = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    steps = [e for e in trail if e["object_type"] == "application" and e["object_id"] == label["application_id"]]
    assert [e["action"] for e in steps] == [
        "application.created",
        "application.submit",
        "application.start_review",
        "application.approve",
        "application.issue_label",
    ]
    assert steps[-1]["after"]["label"] == label["number"]
    assert steps[1]["after"]["comment"] == "submit by acme-engineer" and steps[1]["actor_kind"] == "user"
    assert world.call("root", "GET", "/api/v1/audit/verify").json()["intact"]


def test_suspend_reinstate_revoke(world):
    number = issued_label(world)["number"]
    path = f"/api/v1/labels/{number}/actions"
    assert (
        world.call("cb-verifier", "POST", f"{path}/suspend", json={"comment": "surveillance"}).json()["state"]
        == "suspended"
    )
    assert world.call("cb-verifier", "POST", f"{path}/suspend", json={"comment": "again"}).status_code == 409
    assert world.call("cb-verifier", "POST", f"{path}/reinstate", json={"comment": "fixed"}).json()["state"] == "active"
    assert world.call("acme-engineer", "POST", f"{path}/revoke", json={"comment": "x"}).status_code == 403
    assert world.call("cb2-verifier", "POST", f"{path}/revoke", json={"comment": "x"}).status_code == 404
    assert world.call("cb-verifier", "POST", f"{path}/revoke", json={"comment": ""}).status_code == 422
    assert world.call("cb-verifier", "POST", f"{path}/revoke", json={"comment": "fraud"}).json()["state"] == "revoked"
    assert world.call("cb-verifier", "POST", f"{path}/reinstate", json={"comment": "no"}).status_code == 409


def test_labels_issued_at_once_on_the_embedded_database_get_distinct_numbers(world):
    """Four issuances at the same moment on SQLite: none waits on another's write lock while it renders."""
    from concurrent.futures import ThreadPoolExecutor

    applications = []
    for _ in range(4):
        application = application_for(world, calculated_footprint(world, gtin=None)["footprint_id"])
        for user, action in (("acme-engineer", "submit"), ("cb-verifier", "start_review"), ("cb-verifier", "approve")):
            act(world, user, application, action)
        applications.append(application)
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda a: act(world, "cb-verifier", a, "issue_label"), applications))
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    numbers = {
        label["number"]
        for label in world.call("cb-verifier", "GET", "/api/v1/labels").json()
        if label["application_id"] in applications
    }
    assert len(numbers) == 4
    again = act(world, "cb-verifier", applications[0], "issue_label")
    assert again.status_code == 409


def under_review_with_finding(world, subject: str = "items[1]") -> tuple[dict, str, str]:
    footprint = calculated_footprint(world, gtin=None)
    application = application_for(world, footprint["footprint_id"])
    act(world, "acme-engineer", application, "submit")
    act(world, "cb-verifier", application, "start_review")
    finding = world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/applications/{application}/findings",
        json={"subject": subject, "text": "kiln coal NCV: show the lab report"},
    )
    assert finding.status_code == 201
    return footprint, application, finding.json()["id"]


def test_an_answered_finding_stays_open_until_the_verifier_closes_it(world):
    """open -(answer)-> answered -(reply)-> open -(answer)-> answered -(close)-> closed; approval waits for it."""
    _, application, finding = under_review_with_finding(world)
    assert (
        step(world, "acme-engineer", application, finding, "answer", text="lab report attached")["state"] == "answered"
    )
    refused = act(world, "cb-verifier", application, "approve")
    assert refused.status_code == 409 and "items[1]" in refused.json()["detail"] and finding in refused.json()["detail"]
    assert step(world, "cb-verifier", application, finding, "reply", text="the report is for 2022")["state"] == "open"
    assert (
        step(world, "acme-engineer", application, finding, "answer", text="2023 report attached")["state"] == "answered"
    )
    closed = step(world, "cb-verifier", application, finding, "close", text="accepted")
    assert closed["state"] == "closed" and closed["resolved_at"] is not None and closed["reply"] == "accepted"
    assert act(world, "cb-verifier", application, "approve").json()["state"] == "approved"


def test_approving_with_an_open_finding_is_refused_naming_it(world):
    _, application, finding = under_review_with_finding(world, subject="items[4].amount")
    response = act(world, "cb-verifier", application, "approve")
    assert response.status_code == 409
    assert "items[4].amount" in response.json()["detail"] and finding in response.json()["detail"]


def test_only_the_verifier_closes_and_only_the_manufacturer_answers(world):
    _, application, finding = under_review_with_finding(world)
    path = f"/api/v1/applications/{application}/findings/{finding}/actions"
    assert world.call("acme-engineer", "POST", f"{path}/close", json={}).status_code == 409
    assert world.call("cb-verifier", "POST", f"{path}/answer", json={"text": "x"}).status_code == 409
    assert world.call("cb-verifier", "POST", f"{path}/reply", json={"text": " "}).status_code == 422
    assert world.call("acme-engineer", "POST", f"{path}/answer", json={"text": ""}).status_code == 422
    for intruder in ("rival-engineer", "cb2-verifier"):
        assert world.call(intruder, "POST", f"{path}/answer", json={"text": "x"}).status_code == 404


def test_an_answer_may_name_only_a_newer_version_of_the_same_product(world):
    footprint, application, finding = under_review_with_finding(world)
    other_product = calculated_footprint(world, gtin=None)
    path = f"/api/v1/applications/{application}/findings/{finding}/actions/answer"
    wrong = world.call("acme-engineer", "POST", path, json={"text": "x", "footprint_id": other_product["footprint_id"]})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "footprint_id"
    corrected = calculated_footprint(world, product_id=footprint["product_id"], **{"1.amount": 230_000})
    answered = step(
        world, "acme-engineer", application, finding, "answer", text="corrected", footprint_id=corrected["footprint_id"]
    )
    assert answered["answer_footprint_id"] == corrected["footprint_id"]


def test_a_resubmission_is_diffed_against_the_previous_version_and_closes_nothing(world):
    """Kiln coal 240,000 t -> 230,000 t: the review file shows that input and the changed results."""
    footprint, application, finding = under_review_with_finding(world)
    act(world, "cb-verifier", application, "request_corrections")
    corrected = calculated_footprint(world, product_id=footprint["product_id"], **{"1.amount": 230_000})
    step(
        world, "acme-engineer", application, finding, "answer", text="corrected", footprint_id=corrected["footprint_id"]
    )
    act(world, "acme-engineer", application, "resubmit", footprint_id=corrected["footprint_id"])
    act(world, "cb-verifier", application, "start_review")
    review = world.call("cb-verifier", "GET", f"/api/v1/applications/{application}/review").json()
    diff = review["diff"]
    assert diff["before"]["footprint_id"] == footprint["footprint_id"]
    coal = next(row for row in diff["inputs"] if row["field"] == "items.kiln_coal.amount")
    assert (coal["kind"], coal["item"], coal["before"], coal["after"], coal["unit"]) == (
        "item",
        "kiln_coal",
        240000,
        230000,
        "t",
    )
    assert coal["change_percent"] == pytest.approx(-4.1667, abs=1e-4)  # (230,000 - 240,000) / 240,000
    assert "total_kg_co2e" in {row["field"] for row in diff["results"]}
    assert "kiln_coal" in {row["field"] for row in diff["contributions"]}
    assert review["findings"][0]["state"] == "answered"
    trail = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    actions = [e["action"] for e in trail if e["object_id"] == application]
    assert actions.count("finding.raised") == 1 and actions.count("finding.answer") == 1


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def upload(world, user: str, application: str, name: str, data: bytes):
    return world.call(user, "POST", f"/api/v1/applications/{application}/evidence", files={"file": (name, data)})


def test_evidence_is_checksummed_typed_by_content_and_audited(world):
    import hashlib

    _, application, _ = under_review_with_finding(world)
    stored = upload(world, "acme-engineer", application, "meter <readings>.png", PNG)
    assert stored.status_code == 201, stored.text
    document = stored.json()
    assert document["sha256"] == hashlib.sha256(PNG).hexdigest() and document["size_bytes"] == len(PNG)
    assert document["content_type"] == "image/png"
    for reader in ("acme-engineer", "cb-verifier"):
        got = world.call(reader, "GET", f"/api/v1/applications/{application}/evidence/{document['id']}")
        assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
        assert got.headers["content-disposition"].startswith('attachment; filename="meter_readings_.png"')
    listed = world.call("cb-verifier", "GET", f"/api/v1/applications/{application}/evidence").json()
    assert [d["name"] for d in listed] == ["meter <readings>.png"]
    trail = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    entry = next(e for e in trail if e["action"] == "evidence.uploaded" and e["object_id"] == application)
    assert entry["after"]["sha256"] == document["sha256"]


def test_evidence_of_other_organisations_answers_404(world):
    _, application, _ = under_review_with_finding(world)
    document = upload(world, "acme-engineer", application, "invoice.pdf", PDF).json()
    for intruder in ("rival-engineer", "cb2-verifier"):
        base = f"/api/v1/applications/{application}/evidence"
        assert world.call(intruder, "GET", f"{base}/{document['id']}").status_code == 404
        assert world.call(intruder, "GET", base).status_code == 404
    assert upload(world, "rival-engineer", application, "x.pdf", PDF).status_code == 404
    assert upload(world, "cb-verifier", application, "x.pdf", PDF).status_code == 403


def test_oversized_empty_and_unknown_evidence_is_refused_and_nothing_stored(world):
    from footprint_api.services.certification import MAX_EVIDENCE_BYTES

    _, application, _ = under_review_with_finding(world)
    too_big = upload(world, "acme-engineer", application, "scan.pdf", b"%PDF-" + b"0" * MAX_EVIDENCE_BYTES)
    assert too_big.status_code == 413 and too_big.json()["errors"][0]["field"] == "file"
    empty = upload(world, "acme-engineer", application, "empty.csv", b"")
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "file"
    binary = upload(world, "acme-engineer", application, "x.exe", b"MZ\x90\x00\x03\x00\x00\x00")
    assert binary.status_code == 422
    assert (
        upload(world, "acme-engineer", application, "data.csv", "item,amount\n煤,240000\n".encode()).json()[
            "content_type"
        ]
        == "text/csv"
    )
    assert len(world.call("acme-engineer", "GET", f"/api/v1/applications/{application}/evidence").json()) == 1


def test_a_png_named_pdf_is_refused_not_retyped(world):
    """The name says PDF, the bytes say PNG: refused (422 at the file field, with its code), nothing attached."""
    _, application, _ = under_review_with_finding(world)
    refused = upload(world, "acme-engineer", application, "meter.pdf", PNG)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "field": "file",
            "reason": "'meter.pdf' is named a PDF file but its content is PNG",
            "code": "cert.error.evidence_mismatch",
            "params": {"name": "meter.pdf", "claimed": "PDF", "found": "PNG"},
        }
    ]
    assert world.call("acme-engineer", "GET", f"/api/v1/applications/{application}/evidence").json() == []


def test_document_types_are_told_by_their_content():
    """PDF %PDF-, PNG's 8-byte signature, JPEG's SOI marker FF D8 FF, XLSX = a ZIP with xl/workbook.xml, DOCX = a ZIP
    with word/document.xml; CSV is text that is no markup; HTML (a page a browser would run) is told apart."""
    import io
    import zipfile

    import openpyxl

    from footprint_api.services.certification import DOCX, XLSX, sniff

    workbook = io.BytesIO()
    openpyxl.Workbook().save(workbook)
    assert sniff(workbook.getvalue()) == XLSX
    assert sniff(PDF) == "application/pdf" and sniff(PNG) == "image/png"
    assert sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image/jpeg"
    assert sniff("电量,千瓦时\n1,2\n".encode("gb18030")) == "text/csv"
    assert sniff(b"PK\x03\x04 a zip that is no workbook") is None
    assert sniff(b"\x00\x01binary") is None and sniff(b"<script>alert(1)</script>\x07") == "text/html"
    assert sniff(b"\xef\xbb\xbf  <!DOCTYPE html><p>meter</p>") == "text/html"
    assert sniff(b"<svg onload=alert(1)>") == "text/html"
    document = io.BytesIO()
    with zipfile.ZipFile(document, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    assert sniff(document.getvalue()) == DOCX
