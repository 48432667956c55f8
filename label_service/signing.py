"""Signed label statements: a canonical JSON payload signed with the issuer's Ed25519 key as a compact JWS.

JWS (RFC 7515) with EdDSA (RFC 8037): any JOSE library can check a label given the issuer's public key, which the
service publishes with its key id (`kid`, in the protected header). The payload bytes are canonical JSON (sorted
keys, no insignificant whitespace, UTF-8), so the same claim always gives the same payload.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"
_jws = jwt.PyJWS()


class SignatureInvalid(ValueError):
    pass


def canonical_json(claim: dict[str, Any]) -> bytes:
    return json.dumps(claim, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_text(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64url: the `x` of its JWK (RFC 8037)."""
    return _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def public_key_from_text(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_unb64(text))


def key_id(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key: names a key without revealing anything."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def jwk(key: Ed25519PublicKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": public_key_text(key),
        "kid": key_id(key),
        "alg": ALGORITHM,
        "use": "sig",
    }


@dataclass(frozen=True)
class SignedStatement:
    token: str  # compact JWS: header.payload.signature
    key_id: str
    claim: dict[str, Any]


def sign(claim: dict[str, Any], private_key: Ed25519PrivateKey) -> SignedStatement:
    kid = key_id(private_key.public_key())
    token = _jws.encode(canonical_json(claim), private_key, algorithm=ALGORITHM, headers={"kid": kid})
    return SignedStatement(token, kid, claim)


def unverified_key_id(token: str) -> str:
    try:
        kid = _jws.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise SignatureInvalid(f"not a signed label statement: {exc}") from None
    if not isinstance(kid, str):
        raise SignatureInvalid("the statement names no key")
    return kid


def unverified_claim(token: str) -> dict[str, Any]:
    """The claim of a statement whose signature was checked before (e.g. when it was stored)."""
    try:
        return json.loads(_unb64(token.split(".")[1]))
    except (IndexError, ValueError) as exc:
        raise SignatureInvalid(f"not a signed label statement: {exc}") from None


def verify(token: str, public_keys: dict[str, Ed25519PublicKey]) -> SignedStatement:
    """Checks the signature with the key the header names; returns the claim. Raises SignatureInvalid."""
    kid = unverified_key_id(token)
    if kid not in public_keys:
        raise SignatureInvalid(f"unknown signing key {kid}")
    try:
        payload = _jws.decode(token, public_keys[kid], algorithms=[ALGORITHM])
        claim = json.loads(payload)
    except (jwt.PyJWTError, ValueError) as exc:
        raise SignatureInvalid(f"signature does not match the statement: {exc}") from None
    if payload != canonical_json(claim):
        raise SignatureInvalid("payload is not in canonical form")
    return SignedStatement(token, kid, claim)
