"""The certification pages without a browser: the manufacturer applies, attaches evidence, answers a finding with a
corrected version and resubmits; the body's queue and review file (with the diff), findings closed by the verifier,
approval with a statement, issuance, label suspension with a reason; bad input next to its field; every route
isolates organisations and roles."""

import hashlib
import re
import uuid

import pytest

from footprint_api.services.certification import MAX_EVIDENCE_BYTES
from tests.labelling import act, calculated_footprint
from tests.test_review_journey import uploaded
from tests.web_client import Browser, csrf_of

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture(scope="module")
def app(world):
    return world.client.app


@pytest.fixture(scope="module")
def engineer(app):
    return Browser(app, "acme-engineer")


@pytest.fixture(scope="module")
def verifier(app):
    return Browser(app, "cb-verifier")


@pytest.fixture(scope="module")
def acme(world):
    """A cement footprint and a corrected version of the same product (kiln coal 240,000 t -> 230,000 t)."""
    first = calculated_footprint(world, gtin=None)
    second = calculated_footprint(world, product_id=first["product_id"], **{"1.amount": 230_000})
    return {"first": first, "second": second}


def location_id(response) -> str:
    assert response.status_code == 303, response.text
    return re.search(r"/app/(?:applications|review)/([0-9a-f-]{36})", response.headers["location"]).group(1)


def apply(world, engineer, footprint_id: str, files=None) -> str:
    page = f"/app/applications/new?footprint={footprint_id}"
    return location_id(
        engineer.post_form(
            page,
            "/app/applications/new",
            {
                "footprint_id": footprint_id,
                "certification_body_id": str(world.organisations["cb"]),
                "label_kind": "footprint",
            },
            files=files,
        )
    )


def test_the_whole_path_through_the_pages(world, engineer, verifier, acme):
    """Apply with evidence, review, finding on an item, answer with the corrected version, resubmit, diff, close,
    approve with a statement, issue, suspend with a reason: each step shown on the next page."""
    new_page = engineer.get(f"/app/applications/new?footprint={acme['first']['footprint_id']}")
    assert new_page.status_code == 200 and "Apply and submit" in new_page.text
    application = apply(
        world, engineer, acme["first"]["footprint_id"], files={"file": ("meter <2023>.pdf", PDF, "application/pdf")}
    )
    mine = engineer.get(f"/app/applications/{application}")
    assert "Submitted" in mine.text and "meter &lt;2023&gt;.pdf" in mine.text and "<2023>" not in mine.text
    assert hashlib.sha256(PDF).hexdigest()[:16] in mine.text
    assert application in engineer.get("/app/applications?state=submitted").text

    review = f"/app/review/{application}"
    queue = verifier.get("/app/review")
    assert queue.status_code == 200 and application in queue.text
    assert verifier.post_form(review, f"{review}/actions/start_review").status_code == 303
    page = verifier.get(f"{review}?subject=items%5B1%5D")
    assert 'value="items[1]" selected' in page.text and "kiln_coal" in page.text
    assert (
        verifier.post_form(
            review, f"{review}/findings", {"subject": "items[1]", "text": "Coal <ton> & NCV?"}
        ).status_code
        == 303
    )
    assert "Coal &lt;ton&gt; &amp; NCV?" in verifier.get(review).text
    refused = verifier.post_form(review, f"{review}/actions/approve", {"comment": "fine"})
    assert refused.status_code == 409 and 'role="alert"' in refused.text
    assert "Findings not closed by the verifier: 1. Close them, or request corrections." in refused.text
    assert verifier.post_form(review, f"{review}/actions/request_corrections").status_code == 303

    finding = world.call("acme-engineer", "GET", f"/api/v1/applications/{application}/findings").json()[0]["id"]
    mine = f"/app/applications/{application}"
    assert acme["second"]["footprint_id"] in engineer.get(mine).text  # offered as the corrected version
    answered = engineer.post_form(
        mine,
        f"{mine}/findings/{finding}/answer",
        {"text": "Weighbridge total", "footprint_id": acme["second"]["footprint_id"]},
    )
    assert answered.status_code == 303
    resubmitted = engineer.post_form(mine, f"{mine}/actions/resubmit", {"footprint_id": acme["second"]["footprint_id"]})
    assert resubmitted.status_code == 303
    assert "Answered" in engineer.get(mine).text  # a resubmission closes nothing

    assert verifier.post_form(review, f"{review}/actions/start_review").status_code == 303
    page = verifier.get(review).text
    assert "Changes since the previous submission" in page and 'data-field="items.kiln_coal.amount"' in page
    assert "bituminous coal for the kiln" in page and "240,000 t" in page and "230,000 t" in page
    assert "-4.2 %" in page  # (230,000 - 240,000) / 240,000 = -4.17 %
    assert verifier.post_form(review, f"{review}/findings/{finding}/close", {"text": "accepted"}).status_code == 303
    no_statement = verifier.post_form(review, f"{review}/actions/approve", {"comment": " "})
    assert no_statement.status_code == 422 and 'id="approve-error"' in no_statement.text
    assert (
        verifier.post_form(
            review, f"{review}/actions/approve", {"comment": "Verified to ISO 14067 with a site visit."}
        ).status_code
        == 303
    )
    assert verifier.post_form(review, f"{review}/actions/issue_label").status_code == 303
    number = re.search(r'href="/V/([^"]+)"', verifier.get(review).text).group(1)
    assert number in engineer.get(mine).text

    assert number in verifier.get("/app/labels").text
    detail = f"/app/labels/{number}"  # the label's own page holds its steps (web.routes.labels)
    no_reason = verifier.post_form(detail, f"{detail}/suspend", {"comment": ""})
    assert no_reason.status_code == 422 and "aria-invalid" in no_reason.text
    assert verifier.post_form(detail, f"{detail}/suspend", {"comment": "surveillance audit due"}).status_code == 303
    label = next(x for x in world.call("cb-verifier", "GET", "/api/v1/labels").json() if x["number"] == number)
    assert label["state"] == "suspended" and "surveillance audit due" in verifier.get(detail).text


def test_the_new_application_form_shows_errors_next_to_the_field_and_stores_nothing(world, engineer, acme):
    page = f"/app/applications/new?footprint={acme['first']['footprint_id']}"
    before = len(world.call("acme-engineer", "GET", "/api/v1/applications").json())
    no_body = engineer.post_form(
        page,
        "/app/applications/new",
        {"footprint_id": acme["first"]["footprint_id"], "certification_body_id": "", "label_kind": "footprint"},
    )
    assert no_body.status_code == 422 and 'id="body-error"' in no_body.text
    too_big = engineer.post_form(
        page,
        "/app/applications/new",
        {
            "footprint_id": acme["first"]["footprint_id"],
            "certification_body_id": str(world.organisations["cb"]),
            "label_kind": "footprint",
        },
        files={"file": ("big.pdf", b"%PDF-" + b"0" * MAX_EVIDENCE_BYTES)},
    )
    assert too_big.status_code == 413 and 'id="file-error"' in too_big.text
    unknown = engineer.post_form(
        page,
        "/app/applications/new",
        {
            "footprint_id": acme["first"]["footprint_id"],
            "certification_body_id": str(world.organisations["cb"]),
            "label_kind": "footprint",
        },
        files={"file": ("x.pdf", b"MZ\x90\x00")},
    )
    assert unknown.status_code == 422 and "is named a PDF file but its content is of no supported type" in unknown.text
    assert len(world.call("acme-engineer", "GET", "/api/v1/applications").json()) == before


def test_evidence_downloads_as_an_attachment_with_a_safe_name(world, engineer, verifier, acme):
    footprint = calculated_footprint(world, gtin=None)["footprint_id"]
    application = apply(world, engineer, footprint)
    mine = f"/app/applications/{application}"
    assert engineer.post_form(mine, f"{mine}/evidence", files={"file": ("报告 <v2>.png", PNG)}).status_code == 303
    document = world.call("acme-engineer", "GET", f"/api/v1/applications/{application}/evidence").json()[0]
    for browser, base in ((engineer, mine), (verifier, f"/app/review/{application}")):
        got = browser.get(f"{base}/evidence/{document['id']}")
        assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
        assert got.headers["content-disposition"] == (
            "attachment; filename=\"v2_.png\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%20%3Cv2%3E.png"
        )
    empty = engineer.post_form(mine, f"{mine}/evidence", files={"file": ("e.csv", b"")})
    assert empty.status_code == 422 and 'id="evidence-error"' in empty.text


def test_the_pages_are_bilingual(world, app, acme):
    zh = Browser(app, "acme-engineer", lang="zh")
    assert "可以申请认证的碳足迹" in zh.get("/app/applications").text
    assert "审核队列" in Browser(app, "cb-verifier", lang="zh").get("/app/review").text


# --- isolation: every route of the router, as another organisation and as the wrong role --------------------------


@pytest.fixture(scope="module")
def victim(world, engineer, verifier):
    """An application of acme to cb under review, its inventory uploaded as a workbook, with a finding and a
    document, and a label cb issued."""
    footprint = uploaded(world, engineer)["footprint_id"]
    application = apply(world, engineer, footprint, files={"file": ("acme-confidential.pdf", PDF)})
    act(world, "cb-verifier", application, "start_review")
    finding = world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/applications/{application}/findings",
        json={"subject": "items[0]", "text": "acme confidential finding"},
    ).json()["id"]
    document = world.call("acme-engineer", "GET", f"/api/v1/applications/{application}/evidence").json()[0]["id"]
    labelled = apply(world, engineer, calculated_footprint(world, gtin=None)["footprint_id"])
    for action in ("start_review", "approve", "issue_label"):
        act(world, "cb-verifier", labelled, action)
    number = next(
        label["number"]
        for label in world.call("cb-verifier", "GET", "/api/v1/labels").json()
        if label["application_id"] == labelled
    )
    return {
        "application": application,
        "finding": finding,
        "document": document,
        "footprint": footprint,
        "label": number,
    }


def cases(v: dict) -> dict[tuple[str, str], tuple[str, dict]]:
    """(method, route) -> (url aimed at acme's or cb's objects, form data)."""
    a, f, d = v["application"], v["finding"], v["document"]
    return {
        ("GET", "/app/applications"): ("/app/applications", {}),
        ("GET", "/app/applications/new"): (f"/app/applications/new?footprint={v['footprint']}", {}),
        ("POST", "/app/applications/new"): (
            "/app/applications/new",
            {"footprint_id": v["footprint"], "certification_body_id": "x"},
        ),
        ("GET", "/app/applications/{application_id}"): (f"/app/applications/{a}", {}),
        ("POST", "/app/applications/{application_id}/evidence"): (f"/app/applications/{a}/evidence", {}),
        ("GET", "/app/applications/{application_id}/evidence/{document_id}"): (
            f"/app/applications/{a}/evidence/{d}",
            {},
        ),
        ("GET", "/app/applications/{application_id}/workbook"): (f"/app/applications/{a}/workbook", {}),
        ("POST", "/app/applications/{application_id}/findings/{finding_id}/answer"): (
            f"/app/applications/{a}/findings/{f}/answer",
            {"text": "intrusion"},
        ),
        ("POST", "/app/applications/{application_id}/actions/{action}"): (
            f"/app/applications/{a}/actions/withdraw",
            {},
        ),
        ("GET", "/app/review"): ("/app/review", {}),
        ("GET", "/app/review/{application_id}"): (f"/app/review/{a}", {}),
        ("GET", "/app/review/{application_id}/evidence/{document_id}"): (f"/app/review/{a}/evidence/{d}", {}),
        ("GET", "/app/review/{application_id}/workbook"): (f"/app/review/{a}/workbook", {}),
        ("POST", "/app/review/{application_id}/actions/{action}"): (
            f"/app/review/{a}/actions/reject",
            {"comment": "intrusion"},
        ),
        ("POST", "/app/review/{application_id}/findings"): (
            f"/app/review/{a}/findings",
            {"subject": "items[0]", "text": "intrusion"},
        ),
        ("POST", "/app/review/{application_id}/findings/{finding_id}/{action}"): (
            f"/app/review/{a}/findings/{f}/close",
            {},
        ),
        ("GET", "/app/labels"): ("/app/labels", {}),
        ("GET", "/app/labels/{number}"): (f"/app/labels/{v['label']}", {}),
        ("POST", "/app/labels/{number}/{action}"): (f"/app/labels/{v['label']}/revoke", {"comment": "intrusion"}),
    }


def test_every_route_of_the_router_has_an_isolation_case(victim):
    from footprint_api.web.routes import certification, labels

    routes = {
        (method, route.path)
        for part in (certification, labels)
        for route in part.router.routes
        for method in route.methods
        if method != "HEAD"
    }
    assert routes == set(cases(victim))


LISTS = {("GET", "/app/applications"), ("GET", "/app/review"), ("GET", "/app/labels")}


@pytest.mark.parametrize("intruder", ["rival-engineer", "cb2-verifier", "acme-engineer"])
def test_another_organisation_gets_404_and_the_wrong_role_403(app, victim, intruder):
    """rival-engineer: 404 on acme's objects, 403 on the body's pages; cb2-verifier: 404 on cb's application and
    label, 403 on the manufacturer's pages; acme-engineer (the owner) on the body's pages: 403."""
    browser = Browser(app, intruder)
    token = csrf_of(browser.get("/app/review" if intruder.startswith("cb") else "/app/applications").text)
    manufacturer = intruder.endswith("engineer")
    for (method, template), (url, data) in cases(victim).items():
        response = browser.get(url) if method == "GET" else browser.client.post(url, data={**data, "csrf_token": token})
        for_manufacturers = template.startswith("/app/applications")
        if manufacturer != for_manufacturers:
            expected = {403}
        elif (method, template) in LISTS:
            expected = {200}
        elif intruder == "acme-engineer":
            continue  # the owner: covered by the journeys
        else:
            expected = {404}
        assert response.status_code in expected, (intruder, method, template, response.status_code)
        if response.status_code != 200:
            assert "acme-confidential" not in response.text and "acme confidential" not in response.text
    if intruder == "acme-engineer":
        return
    lists = browser.get("/app/review" if not manufacturer else "/app/applications").text
    assert victim["application"] not in lists and victim["label"] not in lists


def test_a_page_of_an_unknown_application_is_404(verifier):
    assert verifier.get(f"/app/review/{uuid.uuid4()}").status_code == 404


def test_the_review_file_shows_captive_units_measured_emissions_and_the_electricity_account(world, engineer, verifier):
    """The captive-power smelter: the verifier sees each unit as submitted (fuel, generation, CEMS), the batch with
    its last serial, the electricity account (11,390 captive + 2,010 grid kWh per t, Xinjiang provincial factor)
    and may raise a finding on a unit."""
    job = calculated_footprint(world, example="aluminium-xinjiang-captive-2023.json", gtin=None)
    application = apply(world, engineer, job["footprint_id"])  # applied and submitted
    review = f"/app/review/{application}"
    assert verifier.post_form(review, f"{review}/actions/start_review").status_code == 303
    page = verifier.get(review).text
    captive = re.search(r"<table class=\"data\" data-captive>.*?</table>", page, re.S).group(0)
    assert "Unit 2, 350 MW subcritical" in captive and "2,480,000" in captive and "3,085,500" in captive
    electricity = re.search(r"<dl class=\"facts\" data-electricity>.*?</dl>", page, re.S).group(0)
    assert "11,390" in electricity and "2,010" in electricity and "province Xinjiang" in electricity
    assert "GEC-XJ-2023-W-" in page and "green-power contract" in page
    assert '<option value="captive_power.units[1]">' in page
