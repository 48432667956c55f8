"""The compact offline code: a label's claim, signed, small enough for a QR code of its own.

The full signed statement (a JWS, `label_service.signing`) is about 900 characters: too much for a code on a pack.
This code keeps only what a verifier reads off and signs it with the same Ed25519 key, the way the EU Digital COVID
Certificate does (`HC1:`):

    text      = PREFIX + Base45(COSE_Sign1)                   RFC 9285 §4: alphanumeric QR mode, 5.5 bits a char
    COSE_Sign1 = tag 18 [protected, unprotected, payload, signature]                          RFC 9052 §4.2
    protected = {1 (alg): -8 (EdDSA), 4 (kid): 8 bytes}                          RFC 9052 §3.1, RFC 9053 §2.2
    payload   = CWT claims {1 iss, 2 sub, 4 exp, 6 iat, -65537 label}                        RFC 8392 §3.1, §9.1
    signature = Ed25519 over Sig_structure ["Signature1", protected, h'', payload]              RFC 9052 §4.4

`kid` is the key id of `label_service.signing` (16 hex digits) as its 8 bytes. `iat` and `exp` carry the claim's
dates — calendar days in China time, the days a label is issued and valid on — each written as 00:00 UTC of its
day: `iat` the day of issue, `exp` the day after the last day of validity, so both dates read back exactly (they
encode days, not moments: a label valid until 7 December is in force until midnight in Beijing). The label's own
fields go in one private-use claim (integer keys below -65536 are private use, RFC 8392 §9.1) whose map keys are
small integers (one byte each), listed in FIELDS. No zlib step (unlike HC1): a payload this short with a 64-byte
signature does not compress.

Size bound: the product name is carried whole up to PRODUCT_NAME_MAX_BYTES of UTF-8 (36 Latin or 12 Chinese
characters), the issuer's name up to ISSUER_NAME_MAX_BYTES (24 Latin or 8 Chinese); a longer one is cut at a
character boundary and ends with "…", so a reader sees that it was cut (the full names are in the JWS, online and
on the certificate). The rest is fixed or short (label number, dates, PCR id, units), and the signature (64
bytes) and header (14 bytes) take a third of the code, so a claim of the shipped PCRs fits QR version 11 at error
correction M (at most 366 characters, 61 modules: 28 mm with the quiet zone at 0.4 mm a module): the demo labels
need 329 to 350 characters, long Chinese names 361. Version 10 (311 characters) would need fields left out.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from label_service.signing import SignatureInvalid, key_id

PREFIX = "PCF1:"
MAX_TEXT_CHARS = 4096  # an honest code has at most 366 characters; refuse anything far larger before decoding it
PRODUCT_NAME_MAX_BYTES = 36
ISSUER_NAME_MAX_BYTES = 24
CUT_MARK = "…"

COSE_SIGN1_TAG = 18  # RFC 9052 §2, table 1
ALG, KID, EDDSA = 1, 4, -8  # RFC 9052 §3.1 header labels; RFC 9053 §2.2 EdDSA
ISS, SUB, EXP, IAT = 1, 2, 4, 6  # RFC 8392 §3.1
LAST_DAY = 253402214400  # 9999-12-31T00:00:00Z, the last NumericDate a date can hold
LABEL_CLAIM = -65537  # first private-use claim key, RFC 8392 §9.1
FIELDS = {  # key in the label claim -> path in the JWS claim (label_service.claim.build_claim)
    1: ("footprint", "value"),
    2: ("footprint", "unit"),
    3: ("footprint", "declared_unit"),
    4: ("pcr", "id"),
    5: ("pcr", "version"),
    6: ("product", "name"),
}
BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"  # RFC 9285 §4, table 1
BASE45_VALUE = {ch: i for i, ch in enumerate(BASE45)}


@dataclass(frozen=True)
class CompactStatement:
    number: str
    key_id: str
    fields: dict[str, Any]  # the signed fields, in the shape of the JWS claim (a subset of it)


# --- Base45, RFC 9285 -------------------------------------------------------------------------------------------


def b45encode(data: bytes) -> str:
    """RFC 9285 §4: two bytes (a*256+b) become three characters c+d*45+e*45², least significant first; a last
    single byte becomes two."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        out += [BASE45[n % 45], BASE45[n // 45 % 45], BASE45[n // 2025]]
    if len(data) % 2:
        out += [BASE45[data[-1] % 45], BASE45[data[-1] // 45]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    """RFC 9285 §4.2: a character outside the alphabet, a length of 3k+1 or a group above 65535 (a pair above
    255) is an error, not something to repair."""
    if len(text) % 3 == 1 or any(ch not in BASE45_VALUE for ch in text):
        raise ValueError("not Base45")
    out = bytearray()
    for i in range(0, len(text), 3):
        digits = [BASE45_VALUE[ch] for ch in text[i : i + 3]]
        n = sum(d * 45**k for k, d in enumerate(digits))
        if n > (0xFFFF if len(digits) == 3 else 0xFF):
            raise ValueError("not Base45: a group is out of range")
        out += n.to_bytes(2 if len(digits) == 3 else 1, "big")
    return bytes(out)


# --- the claims ---------------------------------------------------------------------------------------------------


def bounded(text: str, max_bytes: int) -> str:
    """The text if its UTF-8 fits max_bytes; otherwise its longest prefix that fits with CUT_MARK appended."""
    if len(text.encode()) <= max_bytes:
        return text
    room = max_bytes - len(CUT_MARK.encode())
    kept = text.encode()[:room].decode(errors="ignore")
    return kept.rstrip() + CUT_MARK


def _numeric_date(day: date) -> int:
    """RFC 8392 §2: seconds since 1970-01-01T00:00:00Z."""
    return int(datetime.combine(day, time(), UTC).timestamp())


def _day(numeric_date: int) -> date:
    return datetime.fromtimestamp(numeric_date, UTC).date()


def _at(claim: dict[str, Any], path: tuple[str, str]) -> Any:
    return claim[path[0]][path[1]]


def cwt_claims(claim: dict[str, Any]) -> dict[int, Any]:
    """The CWT claims set of a label claim (label_service.claim.build_claim)."""
    label = {key: _at(claim, path) for key, path in FIELDS.items()}
    label[6] = bounded(label[6], PRODUCT_NAME_MAX_BYTES)
    return {
        ISS: bounded(claim["issuer"]["name"], ISSUER_NAME_MAX_BYTES),
        SUB: claim["number"],
        EXP: _numeric_date(date.fromisoformat(claim["expires"]) + timedelta(days=1)),
        IAT: _numeric_date(date.fromisoformat(claim["issued"])),
        LABEL_CLAIM: label,
    }


def fields_of(claims: Mapping[int, Any]) -> dict[str, Any]:
    """The claims set read back into the shape of the JWS claim; SignatureInvalid if it is not one of ours."""
    label = claims.get(LABEL_CLAIM)
    if not isinstance(label, Mapping):
        raise SignatureInvalid("the compact code's claims are not a label's")
    texts = [claims.get(ISS), claims.get(SUB), *(label.get(key) for key in FIELDS)]
    dates = [claims.get(IAT), claims.get(EXP)]
    if not all(isinstance(t, str) for t in texts) or not all(type(d) is int and 0 <= d < LAST_DAY for d in dates):
        raise SignatureInvalid("the compact code's claims are not a label's")
    fields: dict[str, Any] = {
        "number": claims[SUB],
        "issuer": {"name": claims[ISS]},
        "issued": _day(claims[IAT]).isoformat(),
        "expires": (_day(claims[EXP]) - timedelta(days=1)).isoformat(),
    }
    for key, (group, name) in FIELDS.items():
        fields.setdefault(group, {})[name] = label[key]
    return fields


def agrees(fields: dict[str, Any], claim: dict[str, Any]) -> bool:
    """The compact code's fields are what this full claim gives when it is made compact (names cut alike)."""
    try:
        return fields_of(cwt_claims(claim)) == fields
    except (KeyError, TypeError, ValueError):
        return False


# --- COSE_Sign1 -----------------------------------------------------------------------------------------------------


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """RFC 9052 §4.4: what is signed; no external data (h'')."""
    return cbor2.dumps(["Signature1", protected, b"", payload], canonical=True)


def encode(claim: dict[str, Any], private_key: Ed25519PrivateKey) -> str:
    """The compact code of a label claim, signed with the issuer's key (deterministic CBOR, RFC 8949 §4.2.1)."""
    kid = bytes.fromhex(key_id(private_key.public_key()))
    protected = cbor2.dumps({ALG: EDDSA, KID: kid}, canonical=True)
    payload = cbor2.dumps(cwt_claims(claim), canonical=True)
    signature = private_key.sign(_sig_structure(protected, payload))
    message = cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature])
    return PREFIX + b45encode(cbor2.dumps(message, canonical=True))


def _strict_cbor(data: bytes) -> Any:
    """Decoding bounded in depth, with no indefinite lengths and no duplicate keys (RFC 8949 §5.6)."""
    try:
        return cbor2.loads(data, max_depth=8, allow_indefinite=False, allow_duplicate_keys=False)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, LookupError) as exc:
        raise SignatureInvalid(f"the compact code is not CBOR: {exc}") from None


def _sign1(text: str) -> tuple[bytes, bytes, bytes]:
    """(protected, payload, signature) of the code's COSE_Sign1, checked for shape only."""
    if len(text) > MAX_TEXT_CHARS:
        raise SignatureInvalid(f"the compact code is longer than {MAX_TEXT_CHARS} characters")
    text = text.strip("\r\n")
    if not text.startswith(PREFIX):
        raise SignatureInvalid(f"not a compact label code (it does not start with {PREFIX})")
    try:
        data = b45decode(text[len(PREFIX) :])
    except ValueError as exc:
        raise SignatureInvalid(f"the compact code is damaged: {exc}") from None
    message = _strict_cbor(data)
    if not (
        isinstance(message, cbor2.CBORTag)
        and message.tag == COSE_SIGN1_TAG
        and isinstance(message.value, (list, tuple))
        and len(message.value) == 4
    ):
        raise SignatureInvalid("the compact code is not a COSE_Sign1 message")
    protected, unprotected, payload, signature = message.value
    if not (
        all(isinstance(part, bytes) for part in (protected, payload, signature))
        and isinstance(unprotected, Mapping)
        and not unprotected
    ):
        raise SignatureInvalid("the compact code is not a COSE_Sign1 message")
    return protected, payload, signature


def _protected_kid(protected: bytes) -> str:
    """The key id, from a protected header that names EdDSA and nothing we do not understand (RFC 9052 §3.1)."""
    header = _strict_cbor(protected)
    if not (
        isinstance(header, Mapping)
        and set(header) == {ALG, KID}
        and type(header[ALG]) is int
        and header[ALG] == EDDSA
        and isinstance(header[KID], bytes)
    ):
        raise SignatureInvalid("the compact code's header is not EdDSA with a key id")
    return header[KID].hex()


def verify(text: str, public_keys: dict[str, Ed25519PublicKey]) -> CompactStatement:
    """Checks the signature with the key the header names, then reads the claims. Raises SignatureInvalid."""
    protected, payload, signature = _sign1(text)
    kid = _protected_kid(protected)
    if kid not in public_keys:
        raise SignatureInvalid(f"unknown signing key {kid}")
    try:
        public_keys[kid].verify(signature, _sig_structure(protected, payload))
    except InvalidSignature:
        raise SignatureInvalid("signature does not match the compact code") from None
    claims = _strict_cbor(payload)
    if not isinstance(claims, Mapping):
        raise SignatureInvalid("the compact code's payload is not a claims set")
    fields = fields_of(claims)
    return CompactStatement(fields["number"], kid, fields)
