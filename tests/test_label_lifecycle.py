"""Labels that stay truthful over time and point where phones can go: the on-pack code, the public base URL,
supersession, state reasons, mistyped numbers and GS1 correctness."""

import os

import pytest
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from qrcode.util import MODE_ALPHA_NUM

from label_service import gs1, qr
from label_service.numbering import label_number, one_typo_away
from label_service.public_url import BaseUrlRefused, check_base_url
from tests.labelling import GTIN, act, calculated_footprint, issued_label, label_of

BASE_30 = "https://labels.pcf-service.cn.ex"  # a production base URL of 32 characters
NUMBER = label_number(2026, 123)


def test_the_on_pack_code_holds_only_the_short_url_in_alphanumeric_mode():
    """Upper-case scheme, host and number: every character is in the QR alphanumeric set (ISO/IEC 18004 §7.4.4),
    so the whole code is one alphanumeric segment: 42 characters -> version 3 at error correction Q."""
    content = qr.verification_url("https://pcf.example.cn", NUMBER)
    assert content == f"HTTPS://PCF.EXAMPLE.CN/V/{NUMBER}"
    code = qr.symbol(content)
    assert [segment.mode for segment in code.data_list] == [MODE_ALPHA_NUM]
    assert code.version == 3 and qr.error_correction_of(content) == "Q"


@pytest.mark.parametrize("gtin", [None, GTIN])
def test_a_production_base_url_keeps_the_code_within_version_5(gtin):
    content = qr.verification_url(BASE_30, NUMBER, gtin)
    assert qr.version(content) <= 5 and qr.error_correction_of(content) in ("M", "Q")
    assert qr.parse_verification_url(content) == (BASE_30, NUMBER)


def test_codes_of_the_first_design_are_still_understood():
    old = f"https://pcf.example.cn/verify/{NUMBER}#jws=eyJhbGciOiJFZERTQSJ9.e30.c2ln"
    assert qr.parse_verification_url(old) == ("https://pcf.example.cn", NUMBER)
    assert qr.signed_statement_in(old) == "eyJhbGciOiJFZERTQSJ9.e30.c2ln"


def test_the_digital_link_is_valid_for_a_gs1_parser():
    content = qr.verification_url("https://pcf.example.cn", NUMBER, GTIN)
    parsed = GS1DigitalLinkURI.parse(content)
    assert parsed.element_strings[0].ai.ai == "01" and parsed.element_strings[0].gtin.value == f"0{GTIN}"


@pytest.mark.parametrize(
    "gtin, stored",
    [
        ("96385074", "00000096385074"),
        ("036000291452", "00036000291452"),
        ("6901234567892", "06901234567892"),
        ("16901234567899", "16901234567899"),
    ],
)
def test_gtins_of_every_length_are_stored_as_gtin_14(gtin, stored):
    """Check digits by GS1 mod 10: 6901234567892 -> 3×(9+1+3+5+7+9) + (6+0+2+4+6+8) = 102+26 = 128, 10-8 = 2."""
    assert gs1.gtin14(gtin) == stored


def test_a_gtin_with_a_wrong_check_digit_is_refused_naming_the_digit():
    with pytest.raises(gs1.InvalidGTIN, match="should be 2"):
        gs1.gtin14("6901234567891")


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "http://127.0.0.1:8000",
        "https://localhost",
        "https://10.1.2.3",
        "https://192.168.1.10:8443",
        "https://[::1]",
        "https://169.254.1.1",
        "https://pcf-server",
        "https://labels.factory.local",
        "http://pcf.example.cn",
        "ftp://pcf.example.cn",
    ],
)
def test_outside_dev_a_base_url_phones_cannot_reach_is_refused(url):
    with pytest.raises(BaseUrlRefused):
        check_base_url(url, "prod")


def test_a_public_https_base_url_is_accepted_and_dev_accepts_the_loopback():
    assert check_base_url("https://pcf.example.cn", "prod") == "https://pcf.example.cn"
    assert check_base_url("http://127.0.0.1:8100", "dev") == "http://127.0.0.1:8100"


def test_pcf_serve_points_dev_labels_to_the_port_it_serves(monkeypatch):
    from footprint_api.cli import _public_base_url
    from footprint_api.core.settings import get_settings

    monkeypatch.delenv("PCF_PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PCF_ENVIRONMENT", "dev")
    get_settings.cache_clear()
    try:
        assert _public_base_url(get_settings(), "http", "0.0.0.0", 8100).public_base_url == "http://127.0.0.1:8100"
    finally:
        os.environ.pop("PCF_PUBLIC_BASE_URL", None)  # set by `pcf serve` for its process
        monkeypatch.undo()
        get_settings.cache_clear()


def test_issuing_outside_dev_without_a_public_base_url_is_refused_and_nothing_is_issued(world, monkeypatch):
    from footprint_api.core.settings import get_settings

    footprint = calculated_footprint(world, gtin=None)
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()
    for user, action in (("acme-engineer", "submit"), ("cb-verifier", "start_review"), ("cb-verifier", "approve")):
        assert act(world, user, application["id"], action).status_code == 200
    monkeypatch.setenv("PCF_ENVIRONMENT", "prod")
    monkeypatch.delenv("PCF_PUBLIC_BASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        refused = act(world, "cb-verifier", application["id"], "issue_label")
        monkeypatch.setenv("PCF_PUBLIC_BASE_URL", "https://192.168.0.7")
        get_settings.cache_clear()
        private = act(world, "cb-verifier", application["id"], "issue_label")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert refused.status_code == 503 and "PCF_PUBLIC_BASE_URL" in refused.json()["detail"]
    assert private.status_code == 503 and "private" in private.json()["detail"]
    state = world.call("acme-engineer", "GET", f"/api/v1/applications/{application['id']}").json()["state"]
    assert state == "approved"
    assert act(world, "cb-verifier", application["id"], "issue_label").status_code == 200  # once configured


def _second_label_of(world, first: dict) -> dict:
    """A corrected footprint of the same product, certified again."""
    application = world.call("acme-engineer", "GET", f"/api/v1/applications/{first['application_id']}").json()
    footprint = calculated_footprint(world, product_id=application["product_id"])
    return label_of(world, footprint["footprint_id"])


def test_a_new_label_of_the_same_product_supersedes_the_earlier_one(world):
    first = issued_label(world, gtin=None)
    second = _second_label_of(world, first)
    old = world.client.get(f"/api/v1/public/labels/{first['number']}").json()
    assert old["status"] == "SUPERSEDED" and old["superseded_by"] == second["number"]
    assert second["number"] in old["state_reason"] and old["state_changed_at"]
    assert world.client.get(f"/api/v1/public/labels/{second['number']}").json()["status"] == "VALID"
    page = world.client.get(f"/V/{first['number']}")
    assert 'data-status="SUPERSEDED"' in page.text and f"/V/{second['number']}" in page.text

    listed = world.client.get("/api/v1/public/registry", params={"pcr_id": "PCR-CN-CEMENT", "limit": 500}).json()
    numbers = {label["number"] for label in listed}
    assert second["number"] in numbers and first["number"] not in numbers
    ranked = world.client.get("/api/v1/public/compare", params={"pcr_id": "PCR-CN-CEMENT"}).json()
    in_ranking = [entry["number"] for group in ranked["groups"] for entry in group["labels"]]
    assert first["number"] not in in_ranking and in_ranking.count(second["number"]) == 1
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import AuditEvent

    with session_scope() as session:
        entry = session.exec(
            select(AuditEvent).where(AuditEvent.action == "label.supersede", AuditEvent.object_id == first["number"])
        ).one()
    assert entry.actor_kind == "system" and entry.after["state"] == "superseded"


def test_suspension_and_revocation_carry_the_bodys_reason_and_date(world):
    number = issued_label(world, gtin=None)["number"]
    world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/labels/{number}/actions/suspend",
        json={"comment": "surveillance audit found unverified kiln fuel data"},
    )
    suspended = world.client.get(f"/api/v1/public/labels/{number}").json()
    assert suspended["status"] == "SUSPENDED"
    assert suspended["state_reason"] == "surveillance audit found unverified kiln fuel data"
    assert suspended["state_changed_at"].startswith(str(__import__("datetime").date.today().year))
    world.call("cb-verifier", "POST", f"/api/v1/labels/{number}/actions/revoke", json={"comment": "not corrected"})
    page = world.client.get(f"/V/{number}").text
    assert 'data-status="REVOKED"' in page and "not corrected" in page


def test_a_number_with_a_wrong_check_character_is_probably_mistyped(world):
    number = issued_label(world, gtin=None)["number"]
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    answer = world.client.get(f"/api/v1/public/labels/{wrong}").json()
    assert answer["status"] == "NOT_FOUND" and answer["mistyped"] is True and number in answer["nearest"]
    swapped = number[:9] + number[10] + number[9] + number[11:]  # two neighbouring digits swapped
    if swapped != number:
        assert number in world.client.get(f"/api/v1/public/labels/{swapped}").json()["nearest"]
    never = world.client.get("/api/v1/public/labels/nonsense").json()
    assert never["mistyped"] is False and never["nearest"] == []


def test_one_typo_away_finds_substitutions_and_transpositions():
    assert NUMBER in one_typo_away(NUMBER[:-1] + "0")
    assert NUMBER in one_typo_away(NUMBER.replace("000123", "000213"))
    assert one_typo_away("hello") == []


def test_the_look_up_form_opens_the_page_of_the_number_typed(world):
    response = world.client.get("/verify", params={"number": f" {NUMBER.lower()} "}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/V/{NUMBER}"


def test_products_refuse_a_gtin_with_a_wrong_check_digit(world):
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/products",
        json={"name": "clinker", "pcr_id": "PCR-CN-CEMENT", "gtin": "6901234567891"},
    )
    assert response.status_code == 422
    assert any(error["field"] == "gtin" and "check digit" in error["reason"] for error in response.json()["errors"])
    stored = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/products",
        json={"name": "clinker", "pcr_id": "PCR-CN-CEMENT", "gtin": "6901234567892"},
    ).json()
    assert stored["gtin"] == "06901234567892"


def test_the_resolver_answers_only_for_the_label_of_that_gtin(world):
    with_gtin = issued_label(world, gtin=GTIN)
    other = issued_label(world, gtin=None)
    wrong = world.client.get(f"/01/0{GTIN}", params={"label": other["number"]}, follow_redirects=False)
    assert wrong.status_code == 404
    right = world.client.get(f"/01/{GTIN}", params={"label": with_gtin["number"]}, follow_redirects=False)
    assert right.status_code == 307 and right.headers["location"] == f"/V/{with_gtin['number']}"
    bad = world.client.get("/01/6901234567891", follow_redirects=False)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "gtin"


def test_the_resolver_gives_the_linkset_for_link_type_all(world):
    label = issued_label(world, gtin=GTIN)
    for params in ({"linkType": "all", "label": label["number"]}, {"linkType": "linkset", "label": label["number"]}):
        response = world.client.get(f"/01/0{GTIN}", params=params)
        assert response.status_code == 200 and response.headers["content-type"] == "application/linkset+json"
        entry = response.json()["linkset"][0]
        assert entry["anchor"].endswith(f"/01/0{GTIN}")
        pages = entry["https://gs1.org/voc/certificationInfo"]
        assert pages[0]["href"].endswith(f"/V/{label['number']}") and pages[0]["type"] == "text/html"
        assert entry["https://gs1.org/voc/defaultLink"][0]["href"] == pages[0]["href"]


# --- defect 5: the reasons the service gives, by code ------------------------------------------------------------


def _audit_after(action: str, number: str) -> dict:
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import AuditEvent

    with session_scope() as session:
        entry = session.exec(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == number)
        ).one()
        return entry.after


def test_a_supersession_is_recorded_by_code_and_worded_in_each_readers_language(world):
    """Defect 5: the supersession reason was an English sentence on Chinese pages. The audit entry keeps its code
    and values; the JSON keeps the English; the verification page and the body's label page word it in Chinese."""
    from tests.web_client import Browser

    first = issued_label(world, gtin=None)
    second = _second_label_of(world, first)["number"]
    after = _audit_after("label.supersede", first["number"])
    assert after["reason"] == {"code": "labels.reason.superseded", "params": {"number": second}}
    assert after["comment"] == f"superseded by label {second} of the same product and PCR"
    answer = world.client.get(f"/api/v1/public/labels/{first['number']}").json()
    assert answer["state_reason"] == f"superseded by label {second} of the same product and PCR"

    chinese = f"已被同一产品、同一产品种类规则的新标签 {second} 替代"
    page = world.client.get(f"/V/{first['number']}", headers={"Accept-Language": "zh-CN"}).text
    assert chinese in page and "superseded by" not in page
    body = Browser(world.client.app, "cb-verifier", lang="zh").get(f"/app/labels/{first['number']}").text
    assert chinese in body and "superseded by" not in body


def test_an_expiry_is_recorded_by_code_and_worded_in_each_readers_language(world):
    """The housekeeping's reason ('validity ended on …') is worded in Chinese on a Chinese page as well."""
    from datetime import date, timedelta

    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Label
    from footprint_api.services import labels

    number = issued_label(world, gtin=None)["number"]
    ended = date(2026, 1, 31)
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        label.expires_on = ended
        session.add(label)
        session.commit()
        labels.expire_due(session, ended + timedelta(days=1))
    assert _audit_after("label.expire", number)["reason"] == {
        "code": "labels.reason.expired",
        "params": {"expires": "2026-01-31"},
    }
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["state_reason"] == "validity ended on 2026-01-31"
    page = world.client.get(f"/V/{number}", headers={"Accept-Language": "zh-CN"}).text
    assert "有效期已于 2026-01-31 届满" in page and "validity ended" not in page
