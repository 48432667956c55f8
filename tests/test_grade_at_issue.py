"""A label issued through the certification workflow carries its comparable group and its grade against the
benchmark in force that day, in its own columns and the audit trail, never in the signed claim."""

import base64
import json

from sqlmodel import select

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent, Benchmark, Label
from tests.labelling import issued_label

GROUP = "PCR-CN-CEMENT~1~~1 t"  # the cement example follows PCR-CN-CEMENT 1.0.0: no classification, one class


def _claim(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_label_is_issued_with_its_group_and_its_grade_against_the_benchmark_in_force(world):
    """The Guizhou cement example (reference period 2023) states 785.0 kg CO2e/t. With a cited benchmark of 1,000
    for its group and 2023 in force: 785.0 / 1,000 = 0.785 (0.6 < 0.785 ≤ 0.8) -> grade 2 at issue."""
    cited = world.call(
        "root",
        "POST",
        "/api/v1/benchmarks/cited",
        json={
            "group": GROUP,
            "year": 2023,
            "value": 1000,
            "citation": "Test industry average",
            "citation_zh": "测试行业平均值",
        },
    )
    assert cited.status_code == 201, cited.text
    label = issued_label(world, gtin=None)
    assert label["value"] == "785.0"
    with session_scope() as session:
        row = session.exec(select(Label).where(Label.number == label["number"])).one()
        benchmark = session.get(Benchmark, row.benchmark_at_issue_id)
        issued = session.exec(
            select(AuditEvent).where(AuditEvent.action == "label.issued", AuditEvent.object_id == row.number)
        ).one()
    assert (row.pcr_major, row.product_class, row.reference_year, row.province) == (1, "", 2023, "Guizhou")
    assert (row.grade_at_issue, row.grade_ratio_at_issue) == (2, 0.785)
    assert str(benchmark.id) == cited.json()["id"]
    assert issued.after["grade_at_issue"] == 2
    claim = _claim(row.token)
    assert "grade" not in json.dumps(claim) and "benchmark" not in json.dumps(claim)
    grades = world.client.get(f"/api/v1/public/label-grades/{row.number}").json()
    assert grades["at_issue"]["grade"] == grades["current"]["grade"] == 2
