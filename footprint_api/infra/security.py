"""Passwords (argon2id through pwdlib) and access tokens (signed JWT with expiry and a revocable id)."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
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
