"""The public registry: search valid labels, compare a category per declared unit, check a CSV of numbers."""

import csv
import io

from tests.labelling import issued_label


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


def test_compare_ranks_labels_of_one_category_per_declared_unit(world):
    low = issued_label(world, gtin=None)
    groups = world.client.get("/api/v1/public/compare", params={"pcr_id": "PCR-CN-CEMENT"}).json()["groups"]
    assert [group["declared_unit"] for group in groups] == ["1 t"]
    ranked = groups[0]["labels"]
    values = [entry["kg_co2e"] for entry in ranked]
    # competition ranking: equal values share a rank, the next value's rank counts every label before it
    assert [entry["rank"] for entry in ranked] == [1 + sum(v < value for v in values) for value in values]
    assert values == sorted(values) and groups[0]["min_kg_co2e"] == values[0]
    assert low["number"] in {entry["number"] for entry in ranked}


def test_bulk_verification_of_a_csv(world):
    valid = issued_label(world, gtin=None)["number"]
    revoked = issued_label(world, gtin=None)["number"]
    world.call("cb-verifier", "POST", f"/api/v1/labels/{revoked}/actions/revoke", json={"comment": "r"})
    body = f"label\n{valid}\n{revoked.lower()}\nPCF-2026-999999-0\nnot-a-number\n"
    response = world.client.post(
        "/api/v1/public/verify-batch", content=body.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["number"], row["status"]) for row in rows] == [
        (valid, "VALID"),
        (revoked, "REVOKED"),
        ("PCF-2026-999999-0", "NOT_FOUND"),
        ("not-a-number", "NOT_FOUND"),
    ]
    assert rows[0]["pcr"] == "PCR-CN-CEMENT 1.0.0" and rows[0]["unit"] == "kg CO2e"


def test_bulk_verification_refuses_what_it_cannot_read(world):
    response = world.client.post(
        "/api/v1/public/verify-batch", content=b"\xff\xfe\x00bad", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"


def test_a_csv_the_parser_refuses_is_422(world):
    """A 200 kB field exceeds the csv module's field limit (128 kB)."""
    response = world.client.post(
        "/api/v1/public/verify-batch", content=b"P" * 200_000, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"


def test_the_json_batch_check_keeps_codes_and_english_notes(world):
    """The JSON API answers machines: verdict codes, the code columns, and notes in English only."""
    valid = issued_label(world, gtin=None)["number"]
    typo = valid[:-1] + ("A" if valid[-1] != "A" else "B")  # the check character changed
    response = world.client.post(
        "/api/v1/public/verify-batch", content=f"{typo}\n".encode(), headers={"Content-Type": "text/csv"}
    )
    row = next(csv.DictReader(io.StringIO(response.text)))
    assert (row["number"], row["status"]) == (typo, "NOT_FOUND")
    assert row["note"].startswith("probably mistyped: ") and valid in row["note"] and "可能" not in row["note"]
