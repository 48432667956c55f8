"""The compact offline code: a label's claim as a CWT in a COSE_Sign1 (Ed25519), Base45, behind `PCF1:`."""

from datetime import date

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from label_service import compact
from label_service.claim import LabelFacts, build_claim
from label_service.qr import version
from label_service.signing import SignatureInvalid, key_id

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # fixed: the same claim gives the same code
KEYS = {key_id(KEY.public_key()): KEY.public_key()}
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")  # ISO/IEC 18004 §7.4.4
LONG_CHINESE_NAME = "普通硅酸盐水泥 P·O 42.5 贵州省黔南布依族苗族自治州某某水泥有限公司二号熟料生产线袋装产品"


def claim(
    product: str = "Ordinary Portland cement (cement-guizhou-2023)",
    issuer: str = "Demo Certification Body",
    pcr_id: str = "PCR-CN-CEMENT",
    declared_unit: str = "1 t",
) -> dict:
    """A demo label's claim: the cement example, 11172.97 kg CO2e per t shown as '11170'."""
    return build_claim(
        LabelFacts(
            number="PCF-2026-000123-F",
            product=product,
            model="P.O 42.5 (GB 175)",
            gtin="06901234567892",
            manufacturer="Demo Manufacturing Group",
            total_kg_co2e=11172.97,
            declared_unit=declared_unit,
            pcr_id=pcr_id,
            pcr_version="1.0.0",
            standard="GB/T 24067-2024 (ISO 14067:2018)",
            issuer_name=issuer,
            issuer_id="cb-1",
            issued=date(2026, 3, 1),
            expires=date(2029, 2, 28),
            factor_set="CN-2024.1",
        )
    )


def cose_bytes(text: str) -> bytes:
    return compact.b45decode(text[len(compact.PREFIX) :])


def code_of(data: bytes) -> str:
    return compact.PREFIX + compact.b45encode(data)


@pytest.mark.parametrize(
    "data, text", [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0")]
)
def test_base45_matches_the_examples_of_rfc_9285(data, text):
    """RFC 9285 §4.3 and §4.4."""
    assert compact.b45encode(data) == text and compact.b45decode(text) == data


@pytest.mark.parametrize("text", ["GGW", "A", "ZZZZ", "ab"])
def test_base45_refuses_what_rfc_9285_calls_invalid(text):
    """'GGW' is 65536 (above 0xFFFF), 'A' a lone character, 'ZZZZ' 3k+1 long, 'ab' outside the alphabet."""
    with pytest.raises(ValueError):
        compact.b45decode(text)


def test_a_code_reads_back_what_the_label_states():
    text = compact.encode(claim(), KEY)
    statement = compact.verify(text, KEYS)
    assert statement.number == "PCF-2026-000123-F" and statement.key_id == key_id(KEY.public_key())
    assert statement.fields == {
        "number": "PCF-2026-000123-F",
        "product": {"name": "Ordinary Portland cement (cement-…"},  # 36 bytes: 33 characters and the cut mark
        "footprint": {"value": "11170", "unit": "kg CO2e", "declared_unit": "1 t"},
        "pcr": {"id": "PCR-CN-CEMENT", "version": "1.0.0"},
        "issuer": {"name": "Demo Certification Body"},
        "issued": "2026-03-01",
        "expires": "2029-02-28",
    }


def test_the_code_uses_only_qr_alphanumeric_characters():
    assert set(compact.encode(claim(), KEY)) <= QR_ALPHANUMERIC


def test_the_code_is_a_tagged_cose_sign1_with_eddsa_and_the_key_id_in_the_protected_header():
    message = cbor2.loads(cose_bytes(compact.encode(claim(), KEY)))
    assert message.tag == 18
    protected, unprotected, payload, signature = message.value
    assert cbor2.loads(protected) == {1: -8, 4: bytes.fromhex(key_id(KEY.public_key()))} and not unprotected
    claims = cbor2.loads(payload)
    assert claims[1] == "Demo Certification Body" and claims[2] == "PCF-2026-000123-F"
    assert claims[6] == 1772323200  # iat: 2026-03-01T00:00:00Z = 20513 days x 86400 s
    assert claims[4] == 1867017600  # exp: 2029-03-01T00:00:00Z, the day after the last valid day (20609 days)
    assert len(signature) == 64


def test_the_same_claim_and_key_give_the_same_code():
    """Ed25519 is deterministic (RFC 8032 §5.1.6) and the CBOR is in deterministic order (RFC 8949 §4.2.1)."""
    assert compact.encode(claim(), KEY) == compact.encode(claim(), KEY)


def test_one_flipped_byte_is_a_signature_failure():
    data = bytearray(cose_bytes(compact.encode(claim(), KEY)))
    data[len(data) // 2] ^= 0x01
    with pytest.raises(SignatureInvalid):
        compact.verify(code_of(bytes(data)), KEYS)


def test_every_single_character_change_of_the_text_is_refused():
    """Enumerated, not sampled: each character in turn replaced by the next of the Base45 alphabet."""
    text = compact.encode(claim(), KEY)
    for i in range(len(compact.PREFIX), len(text)):
        changed = text[:i] + compact.BASE45[(compact.BASE45.index(text[i]) + 1) % 45] + text[i + 1 :]
        with pytest.raises(SignatureInvalid):
            compact.verify(changed, KEYS)


def test_a_changed_claim_under_the_original_signature_fails():
    original = cbor2.loads(cose_bytes(compact.encode(claim(), KEY)))
    other = cbor2.loads(cose_bytes(compact.encode(claim(product="Something else"), KEY)))
    forged = cbor2.CBORTag(18, [original.value[0], {}, other.value[2], original.value[3]])
    with pytest.raises(SignatureInvalid, match="signature does not match"):
        compact.verify(code_of(cbor2.dumps(forged)), KEYS)


def test_an_unknown_key_is_refused():
    other = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    with pytest.raises(SignatureInvalid, match=f"unknown signing key {key_id(other.public_key())}"):
        compact.verify(compact.encode(claim(), other), KEYS)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("HC1:NCFOXN%TS3DH", "does not start with PCF1:"),
        ("PCF1:GGW", "damaged"),
        ("PCF1:" + compact.b45encode(b"\xff\xff"), "not CBOR"),
        ("PCF1:" + compact.b45encode(cbor2.dumps([1, 2, 3, 4])), "not a COSE_Sign1"),
        (
            "PCF1:" + compact.b45encode(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {}, b"", b""]))),
            "not EdDSA",
        ),
    ],
)
def test_what_is_not_a_compact_code_is_refused_with_a_reason(text, reason):
    with pytest.raises(SignatureInvalid, match=reason):
        compact.verify(text, KEYS)


def test_an_oversized_input_is_refused_before_it_is_decoded():
    with pytest.raises(SignatureInvalid, match="longer than 4096"):
        compact.verify(compact.PREFIX + "A" * 100_000, KEYS)


def test_a_long_chinese_product_name_is_cut_visibly_and_the_code_stays_within_version_11():
    """The name's first 33 bytes (36 less the 3-byte cut mark) end inside '贵', so it keeps '普通硅酸盐水泥 P·O 42.5'
    (7 x 3 + 1 + 9 = 31 bytes, the trailing space dropped) and the mark. With the longest shipped PCR id and unit
    and a long Chinese issuer (cut at 24 bytes) the code has 361 characters; version 11 at M holds 366."""
    long_claim = claim(
        product=LONG_CHINESE_NAME,
        issuer="中国质量认证中心有限公司碳标签评价部",
        pcr_id="PCR-CN-ELECTRICITY",
        declared_unit="1 kWh",
    )
    text = compact.encode(long_claim, KEY)
    fields = compact.verify(text, KEYS).fields
    assert fields["product"]["name"] == "普通硅酸盐水泥 P·O 42.5…"
    assert fields["issuer"]["name"] == "中国质量认证中…"  # 24 bytes: 7 characters (21 bytes) and the mark
    assert len(text) == 361 and version(text, "M") == 11


@pytest.mark.parametrize(
    "product",
    [
        "Ordinary Portland cement (cement-guizhou-2023)",
        "Float glass (flatglass)",
        "Electricity, coal-fired, at busbar (electricity-coal-2023)",
    ],
)
def test_the_demo_labels_fit_version_11_at_error_correction_m(product):
    assert version(compact.encode(claim(product=product), KEY), "M") == 11


def test_the_fields_agree_with_the_full_claim_they_were_made_from_and_with_no_other():
    fields = compact.verify(compact.encode(claim(product=LONG_CHINESE_NAME), KEY), KEYS).fields
    assert compact.agrees(fields, claim(product=LONG_CHINESE_NAME))
    assert not compact.agrees(fields, claim(product=LONG_CHINESE_NAME.replace("42.5", "52.5")))
