"""Labels end to end with real parts: render, decode the QR code, verify the signature offline, ask online."""

import io
import random
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from label_service.claim import significant
from label_service.numbering import InvalidLabelNumber, label_number, normalise
from label_service.qr import parse_verification_url, version
from label_service.render import declared_value, gtin_shown, label_figure
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


# --- defect 8: one calendar, one figure, one GTIN ------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_label_day_is_the_beijing_calendar_day():
    """01:16 on 8 December in Beijing is 17:16 on 7 December in UTC (UTC+8): the label's day is the 8th."""
    from footprint_api.services.verification import label_day

    assert label_day(datetime(2025, 12, 7, 17, 16, tzinfo=UTC)) == date(2025, 12, 8)
    assert label_day(datetime(2025, 12, 7, 15, 59, tzinfo=UTC)) == date(2025, 12, 7)  # 23:59 in Beijing
    assert label_day(datetime(2025, 12, 7, 16, 0)) == date(2025, 12, 8)  # a naive instant is UTC


def test_a_label_issued_at_01_16_in_beijing_is_valid_from_that_beijing_day_everywhere(world, monkeypatch):
    """Defect 8: issued at 2025-12-07T17:16Z = 2025-12-08 01:16 in Beijing, the label is valid from 2025-12-08 to
    2028-12-07 (three years less a day), on the printed label, its certificate, the verification page and the JSON;
    the JSON keeps the instant of a state change with its offset."""
    from footprint_api.services import verification

    monkeypatch.setattr(verification, "current_instant", lambda: datetime(2025, 12, 7, 17, 16, tzinfo=UTC))
    label = issued_label(world, gtin=None)
    number = label["number"]
    assert number.startswith("PCF-2025-")
    assert (label["issued_on"], label["expires_on"]) == ("2025-12-08", "2028-12-07")
    claim = world.client.get(f"/api/v1/public/labels/{number}").json()["claim"]
    assert (claim["issued"], claim["expires"]) == ("2025-12-08", "2028-12-07")
    for name in ("qr20.pdf", "qr50.pdf", "certificate.pdf"):
        assert "2025-12-08 – 2028-12-07" in pdf_text(world.client.get(f"/labels/{number}/{name}").content), name
    page = world.client.get(f"/V/{number}", headers={"Accept-Language": "zh-CN"}).text
    assert "2025-12-08 – 2028-12-07" in page and "2025-12-07" not in page


def test_a_label_is_in_force_until_the_end_of_its_last_beijing_day(world, monkeypatch):
    """Valid until 2028-12-07: still VALID at 23:59 Beijing time that day (15:59Z), EXPIRED at 00:00 on the 8th
    (16:00Z), though the UTC day is still the 7th."""
    from footprint_api.services import verification

    clock = {"now": datetime(2025, 12, 7, 17, 16, tzinfo=UTC)}
    monkeypatch.setattr(verification, "current_instant", lambda: clock["now"])
    number = issued_label(world, gtin=None)["number"]
    clock["now"] = datetime(2028, 12, 7, 15, 59, tzinfo=UTC)
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"
    clock["now"] = datetime(2028, 12, 7, 16, 0, tzinfo=UTC)
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "EXPIRED"
    assert 'data-status="EXPIRED"' in world.client.get(f"/V/{number}").text


def test_a_labels_figure_has_four_significant_digits_also_before_the_decimal_point():
    """Defect 8: the label said 11,220 where the dashboard said 11,215. 11215.3 has its fourth significant digit
    in the tens: 1121|5.3, the dropped 5.3 tens are above half, so 1122 tens = 11220, shown 11,220. A signed value
    (a decimal string) is shown as signed."""
    assert declared_value(11215.3) == "11220" and label_figure(11215.3) == "11,220"
    assert label_figure("11220") == "11,220" and label_figure(784.83) == "784.8" and label_figure(0.0545) == "0.05450"
    assert label_figure(None) == "" and label_figure(0.0) == "0"


def test_the_signed_digits_and_the_shown_figure_follow_the_same_rule():
    """The claim's rounding (label_service.claim.significant) and the shown figure (render.declared_value) agree on
    100,000 totals from 1e-5 to 1e9: one rule, whichever function a page calls."""
    rng = random.Random(18)
    for _ in range(100_000):
        value = rng.uniform(1, 10) * 10 ** rng.randint(-5, 8)
        assert declared_value(value) == significant(value), value


def test_the_figure_on_every_page_is_the_signed_one(world):
    """The body's label list, the label's page and the verification page show the label's footprint total rounded
    by the one rule (the cement example: 784.9… -> 785.0, four significant digits, the trailing zero kept)."""
    from tests.web_client import Browser

    label = issued_label(world, gtin=None)
    footprints = world.call("acme-engineer", "GET", "/api/v1/footprints").json()
    total = next(f["total_kg_co2e"] for f in footprints if f["id"] == str(_footprint_of(world, label)))
    shown = label_figure(total)
    assert shown == label_figure(label["value"]) and len(shown.replace(",", "").replace(".", "").lstrip("0")) == 4
    body = Browser(world.client.app, "cb-verifier", lang="zh")
    assert f"{shown} <span" in body.get(f"/app/labels?q={label['number']}").text
    assert f"<strong>{shown}</strong>" in body.get(f"/app/labels/{label['number']}").text
    assert f'<span class="n">{shown}</span>' in world.client.get(f"/V/{label['number']}").text


def test_a_gtin_is_shown_as_on_the_pack_everywhere_the_label_shows_it(world):
    """Defect 8: stored as GTIN-14 (06901234567892, GS1 §3.3.2), shown as the pack's EAN-13 6901234567892 on the
    verification page, the certificate and the body's label pages; the Digital Link keeps the 14 digits."""
    from tests.web_client import Browser

    assert gtin_shown("06901234567892") == GTIN and gtin_shown("16901234567899") == "16901234567899"
    label = issued_label(world, gtin=GTIN)
    number = label["number"]
    page = world.client.get(f"/V/{number}").text
    assert f"<dd>{GTIN}</dd>" in page and f"0{GTIN}</dd>" not in page
    certificate = pdf_text(world.client.get(f"/labels/{number}/certificate.pdf").content)
    assert f"GTIN {GTIN}" in certificate and f"GTIN 0{GTIN}" not in certificate
    body = Browser(world.client.app, "cb-verifier", lang="zh")
    for url in (f"/app/labels?q={number}", f"/app/labels/{number}"):
        text = body.get(url).text
        assert GTIN in text and f"0{GTIN}" not in text, url
