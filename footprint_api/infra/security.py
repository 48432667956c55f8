"""Passwords (argon2id through pwdlib), access tokens (signed JWT with expiry and a revocable id), and the secrets
the service keeps for calling other systems (sealed with a key derived from its own)."""

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.fernet import Fernet, InvalidToken
from pwdlib import PasswordHash

from footprint_api.persistence.models import Role

_hasher = PasswordHash.recommended()  # argon2id with current parameters
ALGORITHM = "HS256"


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret: str, hashed: str) -> bool:
    try:
        return _hasher.verify(secret, hashed)
    except Exception:  # noqa: BLE001 - a malformed hash (any error of the hasher) never authenticates
        return False


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


class SecretUnreadable(Exception):
    """A sealed secret that the current key cannot open (the service's secret key changed since it was stored)."""


def _sealing(key: str, purpose: str) -> Fernet:
    """A Fernet key for one purpose, derived from the service's secret key: credentials another system issued to this
    service (a PACT recipient's, a supplier's) must be sent back in clear, so they are encrypted, not hashed; each
    purpose has a key of its own, so a secret stored for one is never opened as another's."""
    digest = hashlib.sha256(f"{purpose}:".encode() + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal_secret(key: str, purpose: str, secret: str) -> str:
    return _sealing(key, purpose).encrypt(secret.encode()).decode()


def open_secret(key: str, purpose: str, sealed: str) -> str:
    try:
        return _sealing(key, purpose).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("the stored credentials cannot be read (secret key changed?)") from None


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person (user) or a machine (client), in one organisation, with one role."""

    subject: uuid.UUID
    kind: str  # user | client
    organisation_id: uuid.UUID
    role: Role
    jti: str
    expires_at: datetime
    issued_at: float | None = None  # seconds since the epoch, with microseconds


class TokenInvalid(Exception):
    pass


def issue_token(
    subject: uuid.UUID, kind: str, organisation_id: uuid.UUID, role: Role, key: str, minutes: int
) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=minutes)
    claims = {
        "sub": str(subject),
        "kind": kind,
        "org": str(organisation_id),
        "role": role.value,
        # RFC 7519 §2: a NumericDate may have fractional seconds; microseconds order a token against the
        # moment its account's credentials were ended (auth.authenticate)
        "jti": uuid.uuid4().hex,
        "iat": round(now.timestamp(), 6),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), expires


def read_token(token: str, key: str) -> Principal:
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "jti"]})
        return Principal(
            uuid.UUID(claims["sub"]),
            claims["kind"],
            uuid.UUID(claims["org"]),
            Role(claims["role"]),
            claims["jti"],
            datetime.fromtimestamp(claims["exp"], UTC),
            claims.get("iat"),
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenInvalid("token expired") from exc
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise TokenInvalid("token invalid") from exc
