"""The public registry: search valid labels, compare a category within its comparable groups, check a CSV of
numbers. (The procurement side, with hand-computed ranks and grades: tests/test_public_procurement.py.)"""

import csv
import io

from footprint_api.persistence.db import session_scope
from footprint_api.services import benchmarks
from tests.labelling import issued_label


def grouped() -> None:
    """The comparable group of every label (filled at issue; for labels issued before, by the backfill)."""
    with session_scope() as session:
        benchmarks.backfill(session)


def test_registry_finds_valid_labels_by_category_manufacturer_and_value(world):
    cement = issued_label(world, gtin=None)
    glass = issued_label(world, example="flat-glass-hebei-2023.json", gtin=None)
    found = world.client.get("/api/v1/public/registry", params={"pcr_id": "PCR-CN-CEMENT", "limit": 500}).json()
    numbers = {label["number"] for label in found}
    assert cement["number"] in numbers and glass["number"] not in numbers
    assert all(label["status"] == "VALID" for label in found)
    value = float(cement["value"])
    below = world.client.get("/api/v1/public/registry", params={"max_kg_co2e": value - 100, "limit": 500}).json()
    assert cement["number"] not in {label["number"] for label in below}
    by_name = world.client.get("/api/v1/public/registry", params={"manufacturer": "acme", "limit": 500}).json()
    assert {cement["number"], glass["number"]} <= {label["number"] for label in by_name}

    world.call("cb-verifier", "POST", f"/api/v1/labels/{cement['number']}/actions/suspend", json={"comment": "s"})
    found = world.client.get("/api/v1/public/registry", params={"pcr_id": "PCR-CN-CEMENT", "limit": 500}).json()
    assert cement["number"] not in {label["number"] for label in found}
    everything = world.client.get(
        "/api/v1/public/registry", params={"pcr_id": "PCR-CN-CEMENT", "include_invalid": True, "limit": 500}
    ).json()
    assert {"number": cement["number"], "status": "SUSPENDED"}.items() <= next(
        label for label in everything if label["number"] == cement["number"]
    ).items()


def test_compare_lists_labels_of_one_category_within_their_groups(world):
    low = issued_label(world, gtin=None)
    grouped()
    groups = world.client.get("/api/v1/public/compare", params={"pcr_id": "PCR-CN-CEMENT"}).json()["groups"]
    assert [(group["group"], group["declared_unit"]) for group in groups] == [("PCR-CN-CEMENT~1~~1 t", "1 t")]
    listed = groups[0]["labels"]
    assert low["number"] in {entry["number"] for entry in listed}
    # fewer than five labels: not ranked, and said so
    assert groups[0]["count"] == len(listed) < 5 and groups[0]["not_ranked"] == "too_small"
    assert {entry["rank"] for entry in listed} == {None}


def test_bulk_verification_of_a_csv(world):
    valid = issued_label(world, gtin=None)["number"]
    revoked = issued_label(world, gtin=None)["number"]
    world.call("cb-verifier", "POST", f"/api/v1/labels/{revoked}/actions/revoke", json={"comment": "r"})
    body = f"label\n{valid}\n{revoked.lower()}\nPCF-2026-999999-0\nnot-a-number\n"
    response = world.client.post(
        "/api/v1/public/verify-batch", content=body.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    # the buyer's column ("label") kept as typed; the number as checked and the verdict appended
    assert [(row["label"], row["number"], row["status"]) for row in rows] == [
        (valid, valid, "VALID"),
        (revoked.lower(), revoked, "REVOKED"),
        ("PCF-2026-999999-0", "PCF-2026-999999-0", "NOT_FOUND"),
        ("not-a-number", "not-a-number", "NOT_FOUND"),
    ]
    assert rows[0]["pcr"] == "PCR-CN-CEMENT 1.0.0" and rows[0]["unit"] == "kg CO2e"


def test_bulk_verification_refuses_what_it_cannot_read(world):
    response = world.client.post(
        "/api/v1/public/verify-batch", content=b"\xff\xfe bad", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"


def test_a_csv_the_parser_refuses_is_422(world):
    """A 200 kB field exceeds the csv module's field limit (128 kB)."""
    response = world.client.post(
        "/api/v1/public/verify-batch", content=b"P" * 200_000, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"


def test_the_json_batch_check_keeps_codes_and_english_notes(world):
    """The JSON API answers machines: verdict codes, the code columns, and notes in English only. A list without a
    heading row gets its columns' letters as headings (A)."""
    valid = issued_label(world, gtin=None)["number"]
    typo = valid[:-1] + ("A" if valid[-1] != "A" else "B")  # the check character changed
    response = world.client.post(
        "/api/v1/public/verify-batch", content=f"{typo}\n".encode(), headers={"Content-Type": "text/csv"}
    )
    row = next(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert (row["A"], row["number"], row["status"]) == (typo, typo, "NOT_FOUND")
    assert row["note"].startswith("probably mistyped: ") and valid in row["note"] and "可能" not in row["note"]
