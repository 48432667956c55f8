"""Builders for certification tests: a calculated footprint, and an application taken to an issued label."""

import uuid

from pcr_rules.certificates import split_serial
from tests.conftest import load_example
from tests.service import World

GTIN = "6901234567892"  # GTIN-13 of the example; check digit: 10 - (sum of 6,9,0,1,... weighted 1,3) mod 10 = 2


def unique_serials(data: dict) -> dict:
    """The example's certificate batches under a prefix of their own (a batch is retired once in the service); the
    trailing number stays, so each entry is still the batch of amount_mwh certificates from its first serial."""
    for certificate in data.get("green_certificates", []):
        token = uuid.uuid4().hex[:8]
        for key in ("serial", "serial_last"):
            if certificate.get(key):
                prefix, number, width = split_serial(certificate[key])
                certificate[key] = f"{prefix}{token}-{number:0{width}d}"
    return data


def calculated_footprint(
    world: World,
    user: str = "acme-engineer",
    example: str = "cement-guizhou-2023.json",
    product_id: str | None = None,
    gtin: str | None = GTIN,
    **changes,
) -> dict:
    """Submits the example (as a new product unless product_id is given), calculates it; returns the job."""
    if product_id is None:
        data = load_example(example)
        response = world.call(
            user,
            "POST",
            "/api/v1/products",
            json={
                "name": data["product"]["name"],
                "model": data["product"].get("model"),
                "gtin": gtin,
                "pcr_id": data["pcr"]["id"],
            },
        )
        assert response.status_code == 201, response.text
        product_id = response.json()["id"]
    data = unique_serials(load_example(example))
    for path, value in changes.items():
        index, key = path.split(".")
        data["items"][int(index)][key] = value
    inventory = world.submit(user, product_id, data)
    assert inventory.status_code == 201, inventory.text
    job = world.calculate(user, inventory.json()["id"])
    assert job["status"] == "succeeded", job
    return {"product_id": product_id, "inventory_id": inventory.json()["id"], "footprint_id": job["footprint_id"]}


def act(world: World, user: str, application_id: str, action: str, **body):
    return world.call(
        user,
        "POST",
        f"/api/v1/applications/{application_id}/actions/{action}",
        json={"comment": f"{action} by {user}", **body},
    )


def issued_label(world: World, example: str = "cement-guizhou-2023.json", gtin: str | None = GTIN) -> dict:
    """The short path: apply, submit, review, approve, issue. Returns the label (LabelOut)."""
    return label_of(world, calculated_footprint(world, example=example, gtin=gtin)["footprint_id"])


def label_of(world: World, footprint_id: str, body: str = "cb", applicant: str = "acme-engineer") -> dict:
    """A calculated footprint certified by `body`: applied for and submitted by `applicant`, reviewed, approved and
    issued. Returns the label (LabelOut)."""
    application = world.call(
        applicant,
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint_id, "certification_body_id": str(world.organisations[body])},
    )
    assert application.status_code == 201, application.text
    application_id = application.json()["id"]
    verifier = f"{body}-verifier"
    for user, action in (
        (applicant, "submit"),
        (verifier, "start_review"),
        (verifier, "approve"),
        (verifier, "issue_label"),
    ):
        response = act(world, user, application_id, action)
        assert response.status_code == 200, (action, response.text)
    labels = world.call(verifier, "GET", "/api/v1/labels").json()
    return next(label for label in labels if label["application_id"] == application_id)
