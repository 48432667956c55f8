"""The PDF footprint report: the figures of the stored result, the certificates, the versions, the label."""

import io

from pypdf import PdfReader

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
        "footprint_id"]
    assert label["number"] in text_of(world.call("acme-engineer", "GET",
                                                 f"/api/v1/footprints/{footprint}/report.pdf").content)
    assert world.call("cb-verifier", "GET", f"/api/v1/footprints/{footprint}/report.pdf").status_code == 200
    assert world.call("rival-engineer", "GET", f"/api/v1/footprints/{footprint}/report.pdf").status_code == 404
