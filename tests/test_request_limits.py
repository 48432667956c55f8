"""Bodies are bounded before they are parsed: 413 naming the limit, nothing stored (issue 11 item 5)."""

import json

from tests.conftest import load_example


def _inventories(world) -> int:
    return len(world.call("acme-engineer", "GET", "/api/v1/inventories").json())


def test_a_json_body_over_the_limit_is_refused_before_parsing(world):
    product = world.product("acme-engineer", "PCR-CN-CEMENT", "oversized")
    data = load_example("cement-guizhou-2023.json")
    data["padding"] = "x" * (3 * 1024 * 1024)  # 3 MiB: over the 2 MiB JSON limit
    before = _inventories(world)
    response = world.submit("acme-engineer", product["id"], data)
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"
    assert "2048 KiB" in response.json()["detail"] and _inventories(world) == before


def test_a_body_without_a_declared_length_is_counted_as_it_arrives(world):
    def chunks():
        for _ in range(40):
            yield b" " * 100_000  # 4 MB in all, sent chunked

    response = world.call(
        "acme-engineer", "POST", "/api/v1/inventories", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_an_upload_over_the_upload_limit_is_refused(world):
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/inventories/excel",
        files={"file": ("big.xlsx", b"\0" * (26 * 1024 * 1024))},
        data={"product_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert response.status_code == 413


def test_bodies_within_the_limits_are_untouched(world):
    product = world.product("acme-engineer", "PCR-CN-CEMENT", "ordinary")
    body = {"product_id": product["id"], "inventory": load_example("cement-guizhou-2023.json")}
    assert len(json.dumps(body)) < 2 * 1024 * 1024
    for certificate in body["inventory"].get("green_certificates", []):
        certificate["serial"] = certificate["serial"].replace("GEC-", "GEC-LIMITS-")
    assert world.call("acme-engineer", "POST", "/api/v1/inventories", json=body).status_code == 201


def test_a_nul_character_in_the_url_is_a_400_everywhere(world):
    """PostgreSQL cannot compare text with NUL: refused before any handler reads a parameter (issue 11 item 6)."""
    for url in (
        "/api/v1/public/registry?pcr_id=%00",
        "/api/v1/public/compare?pcr_id=a%00b",
        "/V/PCF%00",
        "/registry?manufacturer=%00",
    ):
        response = world.client.get(url)
        assert response.status_code == 400 and response.json()["errors"][0]["reason"] == "contains NUL", url


def test_a_nul_character_in_a_json_or_form_body_is_a_422_and_nothing_is_stored(world):
    """PostgreSQL text cannot hold NUL: it is refused as the body arrives (found by the PostgreSQL fuzz run)."""
    facilities = len(world.call("acme-engineer", "GET", "/api/v1/facilities").json())
    response = world.call(
        "acme-engineer", "POST", "/api/v1/facilities", json={"name": "kiln \u0000 line", "province": "Guizhou"}
    )
    assert response.status_code == 422 and "NUL" in response.json()["detail"]
    assert len(world.call("acme-engineer", "GET", "/api/v1/facilities").json()) == facilities
    form = world.client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": "a\x00b", "password": "x"}
    )
    assert form.status_code == 422
    assert world.call("root", "GET", "/api/v1/audit", params={"after_seq": 2**63 - 1}).status_code == 422
