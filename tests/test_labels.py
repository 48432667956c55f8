"""Labels end to end with real parts: render, decode the QR code, verify the signature offline, ask online."""

import io
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image

from label_service.claim import significant
from label_service.numbering import InvalidLabelNumber, label_number, normalise
from label_service.qr import parse_verification_url, version
from label_service.signing import SignatureInvalid, public_key_from_text, verify
from tests.labelling import GTIN, issued_label


def decode_qr(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, found
    return found[0].text


def published_keys(world) -> dict:
    response = world.client.get("/.well-known/pcf-label-keys.json")
    assert response.status_code == 200
    return {key["kid"]: public_key_from_text(key["x"]) for key in response.json()["keys"]}


def flip_one_payload_byte(token: str) -> str:
    header, payload, signature = token.split(".")
    middle = len(payload) // 2
    replacement = "A" if payload[middle] != "A" else "B"
    return ".".join((header, payload[:middle] + replacement + payload[middle + 1 :], signature))


def test_scan_print_verify_offline_then_online_then_revoke(world):
    label = issued_label(world, gtin=None)
    png = world.client.get(f"/labels/{label['number']}.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).info["dpi"][0] == pytest.approx(300, abs=1)

    content = decode_qr(png.content)
    # the short URL only, on the embedded default base URL (no PCF_PUBLIC_BASE_URL in the tests' dev environment)
    assert content == f"HTTP://127.0.0.1:8000/V/{label['number']}" and version(content) <= 5
    base, number = parse_verification_url(content)
    assert (base, number) == ("http://127.0.0.1:8000", label["number"])
    token = world.client.get(f"/api/v1/public/labels/{number}").json()["token"]  # the signed statement, online
    statement = verify(token, published_keys(world))
    assert statement.claim["number"] == number and statement.claim["pcr"]["id"] == "PCR-CN-CEMENT"
    with pytest.raises(SignatureInvalid):
        verify(flip_one_payload_byte(token), published_keys(world))

    page = world.client.get(urlsplit(content).path)
    assert page.status_code == 200 and 'data-status="VALID"' in page.text
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"

    world.call("cb-verifier", "POST", f"/api/v1/labels/{number}/actions/revoke", json={"comment": "withdrawn"})
    page = world.client.get(urlsplit(content).path)
    assert 'data-status="REVOKED"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "REVOKED"


def test_the_label_claims_what_was_certified(world, engine):
    """Cement example: the stored footprint total, rounded to 4 significant digits, per 1 t."""
    label = issued_label(world, gtin=None)
    claim = world.client.get(f"/api/v1/public/labels/{label['number']}").json()["claim"]
    footprint = world.call("acme-engineer", "GET", "/api/v1/footprints").json()
    total = next(f["total_kg_co2e"] for f in footprint if f["id"] == str(_footprint_of(world, label)))
    assert claim["footprint"] == {"value": significant(total), "unit": "kg CO2e", "declared_unit": "1 t"}
    assert claim["standard"] == "GB/T 24067-2024 (ISO 14067:2018)"
    assert claim["pcr"] == {"id": "PCR-CN-CEMENT", "version": "1.0.0"}
    assert date.fromisoformat(claim["expires"]) - date.fromisoformat(claim["issued"]) >= timedelta(days=3 * 365)


def _footprint_of(world, label) -> str:
    application = world.call("acme-engineer", "GET", f"/api/v1/applications/{label['application_id']}").json()
    return application["footprint_id"]


def test_a_gtin_label_uses_gs1_digital_link_and_resolves(world):
    label = issued_label(world, gtin=GTIN)
    content = decode_qr(world.client.get(f"/labels/{label['number']}.png").content)
    assert content == f"HTTP://127.0.0.1:8000/01/0{GTIN}?label={label['number']}"
    parts = urlsplit(content)
    resolved = world.client.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    assert resolved.status_code == 307 and resolved.headers["location"] == f"/V/{label['number']}"


def test_svg_and_pdf_renderings_are_served_with_their_checksums(world):
    label = issued_label(world, gtin=None)
    for fmt, media, magic in (("svg", "image/svg+xml", b"<svg"), ("pdf", "application/pdf", b"%PDF")):
        response = world.client.get(f"/labels/{label['number']}.{fmt}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(media)
        assert response.content.startswith(magic)
        assert response.headers["etag"] == f'"{label["files"][f"qr30.{fmt}"]["sha256"]}"'
    svg = world.client.get(f"/labels/{label['number']}.svg").text
    assert "碳足迹标签" in svg and label["number"] in svg
    assert world.client.get(f"/labels/{label['number']}.gif").status_code == 404


def test_key_rotation_keeps_earlier_labels_verifiable(world):
    before = issued_label(world, gtin=None)
    rotated = world.call("cb-admin", "POST", "/api/v1/signing-keys")
    assert rotated.status_code == 201 and rotated.json()["kid"] != before["key_id"]
    after = issued_label(world, gtin=None)
    assert after["key_id"] == rotated.json()["kid"]
    keys = published_keys(world)
    assert verify(before["token"], keys).claim["number"] == before["number"]
    assert verify(after["token"], keys).claim["number"] == after["number"]
    listed = world.client.get("/.well-known/pcf-label-keys.json").json()["keys"]
    assert next(k for k in listed if k["kid"] == before["key_id"])["retired_at"] is not None
    assert world.call("cb-verifier", "POST", "/api/v1/signing-keys").status_code == 403


def test_unknown_and_mistyped_numbers_are_not_found(world):
    number = issued_label(world, gtin=None)["number"]
    mistyped = number[:-3] + ("1" if number[-3] != "1" else "2") + number[-2:]
    for candidate in (mistyped, "PCF-1999-000001-X", "nonsense"):
        assert world.client.get(f"/api/v1/public/labels/{candidate}").json()["status"] == "NOT_FOUND"
        page = world.client.get(f"/V/{candidate}")
        assert page.status_code == 404 and 'data-status="NOT_FOUND"' in page.text
    assert world.client.get(f"/v/{number.lower().replace('-', '')}").status_code == 200  # typed loosely


def test_label_numbers_carry_a_check_character():
    number = label_number(2026, 123)
    assert number.startswith("PCF-2026-000123-") and normalise(number.lower()) == number
    for position in (4, 9, 14):  # any single changed digit is caught
        digits = list(number)
        digits[position] = "9" if digits[position] != "9" else "8"
        with pytest.raises(InvalidLabelNumber):
            normalise("".join(digits))


def test_expired_labels_say_so_even_before_housekeeping(world):
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Label
    from footprint_api.services import jobs as tasks

    number = issued_label(world, gtin=None)["number"]
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        label.expires_on = date.today() - timedelta(days=1)
        session.add(label)
        session.commit()
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "EXPIRED"
    assert tasks.housekeeping()["labels_expired"] >= 1
    with session_scope() as session:
        assert session.exec(select(Label).where(Label.number == number)).one().state == "expired"


def test_a_change_made_by_another_process_reaches_the_verification_answer(world):
    """Another process (an API worker, the Celery housekeeping) writes the database directly: the cached answer
    is replaced within the recheck interval (0.25 s)."""
    import time

    from sqlmodel import select

    from footprint_api.core.settings import get_settings
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Label, utcnow

    number = issued_label(world, gtin=None)["number"]
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"  # now cached
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        label.state, label.updated_at = "suspended", utcnow()
        session.add(label)
        session.commit()
    time.sleep(get_settings().verification_recheck_seconds + 0.05)
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "SUSPENDED"
