"""The PDF footprint report: the figures of the stored result, the certificates, the versions, the label."""

import io

from pypdf import PdfReader

from tests.conftest import ROOT
from tests.labelling import calculated_footprint, issued_label


def text_of(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_report_shows_what_was_calculated(world):
    footprint = calculated_footprint(world, example="aluminium-guizhou-2023.json", gtin=None)["footprint_id"]
    response = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    result = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}").json()["result"]
    text = text_of(response.content)
    assert "Product carbon footprint report" in text and "产品碳足迹报告" in text
    assert f"{result['total_kg_co2e']:,.6g}" in text
    assert "PCR-CN-ALUMINIUM 1.0.0" in text and "cn-2025.1" in text and "bw2calc 3.1.0" in text
    assert result["electricity"]["certificates"][0]["serial"] in "".join(text.split())  # a cell may wrap it
    assert "not certified" in text


def test_a_certified_footprint_names_its_label_and_others_cannot_read_it(world):
    label = issued_label(world, gtin=None)
    footprint = world.call("acme-engineer", "GET", f"/api/v1/applications/{label['application_id']}").json()[
        "footprint_id"
    ]
    assert label["number"] in text_of(
        world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf").content
    )
    assert world.call("cb-verifier", "GET", f"/api/v1/footprints/{footprint}/report.pdf").status_code == 200
    assert world.call("rival-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf").status_code == 404


def test_an_approved_footprint_carries_the_verification_statement_and_its_uncertainty(world):
    """Monte Carlo of 200 iterations: the report prints the 2.5th–97.5th percentile interval and the count; the
    approval's statement, verifier, body and label number follow. Names with markup characters print as typed."""
    from tests.conftest import load_example
    from tests.labelling import act, unique_serials

    product = world.call(
        "acme-engineer", "POST", "/api/v1/products", json={"name": "Cement <b>grey</b> & co", "pcr_id": "PCR-CN-CEMENT"}
    ).json()
    inventory = world.submit("acme-engineer", product["id"], unique_serials(load_example("cement-guizhou-2023.json")))
    job = world.calculate("acme-engineer", inventory.json()["id"], monte_carlo_iterations=200, seed=7)
    footprint = job["footprint_id"]
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint, "certification_body_id": str(world.organisations["cb"])},
    ).json()["id"]
    act(world, "acme-engineer", application, "submit")
    act(world, "cb-verifier", application, "start_review")
    statement = "We verified the inventory <with site visit> & found it fair."
    assert act(world, "cb-verifier", application, "approve", comment="").status_code == 422  # no statement
    assert (
        world.call(
            "cb-verifier", "POST", f"/api/v1/applications/{application}/actions/approve", json={"comment": statement}
        ).status_code
        == 200
    )
    act(world, "cb-verifier", application, "issue_label")
    number = next(
        label["number"]
        for label in world.call("acme-engineer", "GET", "/api/v1/labels").json()
        if label["application_id"] == application
    )

    pdf = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf").content
    text = " ".join(text_of(pdf).split())
    uncertainty = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}").json()["result"]["uncertainty"]
    assert "Verification statement" in text and statement in text and "cb-verifier" in text
    assert text.count(number) >= 2  # the label line and the statement's
    assert "Cement <b>grey</b> & co" in text
    assert "Uncertainty (Monte Carlo)" in text and f"{uncertainty['p2_5_kg_co2e']:,.6g}" in text
    assert f"{uncertainty['p97_5_kg_co2e']:,.6g}" in text and "200 · 7" in text
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "report-verified.pdf").write_bytes(pdf)


def test_markup_in_a_product_name_neither_breaks_the_report_nor_reads_a_file(world, tmp_path):
    """Product names were once read as reportlab markup: an unbalanced tag gave a 500 and an <img> tag embedded a
    file from the server's disk into the report (issue 11 item 2). Now they print as typed."""
    secret = tmp_path / "secret.png"
    from PIL import Image

    Image.new("RGB", (40, 40), "#ff0000").save(secret)
    from tests.conftest import load_example
    from tests.labelling import unique_serials

    for name in (f'<img src="{secret}" width="40" height="40"/>', "<para><font name='nope'>broken", "a </b> b"):
        product = world.call(
            "acme-engineer", "POST", "/api/v1/products", json={"name": name, "pcr_id": "PCR-CN-CEMENT"}
        ).json()
        inventory = world.submit(
            "acme-engineer", product["id"], unique_serials(load_example("cement-guizhou-2023.json"))
        ).json()
        footprint = world.calculate("acme-engineer", inventory["id"])["footprint_id"]
        response = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf")
        assert response.status_code == 200, name
        reader = PdfReader(io.BytesIO(response.content))
        printed = "".join("".join(page.extract_text() for page in reader.pages).split())
        assert "".join(name.split()) in printed  # as typed (a long name may wrap anywhere)
        assert not any(page.images for page in reader.pages)  # no picture came from the server's disk
