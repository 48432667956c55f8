"""Who is calling (a bearer token → Principal) and the role groups that decide what they may do. The one check of
every edge: the JSON API, the PACT API and the browser sessions of the web pages, which word their errors
differently.

A token checked against the database is trusted by this process for CACHE_SECONDS without asking again, but only
while the credential generation (`CredentialGeneration`, raised in the transaction of every change that ends
credentials) is the number read with it, and that number is read again at most GENERATION_SECONDS after the last
read: a revocation in any process is honoured by every process within GENERATION_SECONDS and the time of one read
(the bound is 250 ms). When the generation cannot be read, nothing is trusted from memory: every request is checked
against the database, as before the cache."""

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from footprint_api.core.settings import get_settings
from footprint_api.infra.security import Principal, TokenInvalid, read_token
from footprint_api.persistence.db import credentials_ended
from footprint_api.persistence.models import ApiClient, CredentialGeneration, RevokedToken, Role, User
from footprint_api.services.audit import Actor

MANUFACTURER_ROLES = (Role.MANUFACTURER_MEMBER, Role.MANUFACTURER_ADMIN)
CB_ROLES = (Role.VERIFIER, Role.CB_ADMIN)
ADMIN_ROLES = (Role.MANUFACTURER_ADMIN, Role.CB_ADMIN, Role.PROCUREMENT_ADMIN, Role.PLATFORM_ADMIN)

# how long a checked token is trusted from memory (while the generation stays the same); a few seconds keeps the
# signature check and the two account queries off all but one request in thousands at load
CACHE_SECONDS = 5.0
# how old the generation read may be when a request trusts the memory: with the read itself (~1 ms) and the request's
# own time this keeps a revocation's reach under 250 ms (the service's bound, tests/test_credential_cache.py)
GENERATION_SECONDS = 0.1
CACHE_ENTRIES = 20_000  # bounded memory: past this the cache starts again empty


@dataclass(frozen=True)
class _Checked:
    principal: Principal
    generation: int
    at: float  # time.monotonic() of the database check


class CredentialCache:
    """The tokens this process checked, and the credential generation as last read (per database URL: a process
    pointed at another database starts again empty)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[str, _Checked] = {}
        self._url: str | None = None
        self.generation: int | None = None
        self.generation_at = float("-inf")  # time.monotonic() of the read that gave `generation`

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.generation, self.generation_at = None, float("-inf")

    def _same_database(self) -> bool:
        url = get_settings().database_url
        if url != self._url:
            self.clear()
            self._url = url
        return True

    def trusted(self, token: str) -> Principal | None:
        """The principal of a token checked within CACHE_SECONDS under the generation read within
        GENERATION_SECONDS; None: check it against the database (`authenticate`). No I/O: safe on the event loop."""
        self._same_database()
        now = time.monotonic()
        generation = self.generation
        if generation is None or now - self.generation_at > GENERATION_SECONDS:
            return None
        entry = self._entries.get(token)
        if entry is None or entry.generation != generation or now - entry.at > CACHE_SECONDS:
            return None
        if entry.principal.expires_at <= datetime.now(UTC):
            return None
        return entry.principal

    def read_generation(self, session: Session) -> int | None:
        """The generation now (one primary-key read); None when it cannot be read (nothing is then kept)."""
        started = time.monotonic()
        try:
            value = session.exec(select(CredentialGeneration.value).where(CredentialGeneration.id == 1)).first()
        except SQLAlchemyError:
            session.rollback()
            with self._lock:
                self.generation, self.generation_at = None, float("-inf")
            raise
        value = int(value or 0)
        with self._lock:
            if value != self.generation:
                self._entries.clear()  # entries of an older generation are never trusted again
            self.generation, self.generation_at = value, started  # as old as the moment the read began
        return value

    def keep(self, token: str, principal: Principal, generation: int, at: float) -> None:
        with self._lock:
            if len(self._entries) >= CACHE_ENTRIES:
                self._entries.clear()
            self._entries[token] = _Checked(principal, generation, at)


credential_cache = CredentialCache()
credentials_ended.append(credential_cache.clear)  # a change committed by this process is honoured here at once


def authenticate(session: Session, token: str) -> Principal:
    """The principal of a bearer token that is signed, unexpired, not revoked, of an active account, with the role
    the account has now, and issued after the account's credentials were last ended (disable, password reset); else
    TokenInvalid ("token expired", "token invalid", "token revoked", "account disabled"). Answered from this process's
    memory when it may be (see the module), else checked against the database and remembered."""
    cached = credential_cache.trusted(token)
    if cached is not None:
        return cached
    credential_cache._same_database()
    checked_at = time.monotonic()
    generation = credential_cache.read_generation(session)  # read before the check: a change after it is seen next
    cached = credential_cache.trusted(token)  # the generation read now is unchanged: the entry holds under it
    if cached is not None:
        return cached
    principal = _check(session, token)
    credential_cache.keep(token, principal, generation, checked_at)
    return principal


def _check(session: Session, token: str) -> Principal:
    principal = read_token(token, get_settings().signing_key())
    if session.get(RevokedToken, principal.jti) is not None:
        raise TokenInvalid("token revoked")
    holder = session.get(User if principal.kind == "user" else ApiClient, principal.subject)
    if holder is None or not holder.active:
        raise TokenInvalid("account disabled")
    if holder.role != principal.role or holder.organisation_id != principal.organisation_id:
        raise TokenInvalid("token revoked")  # the account's role changed since the token was issued
    ended = holder.credentials_valid_after
    if ended is not None and (
        not isinstance(principal.issued_at, int | float) or principal.issued_at <= ended.timestamp()
    ):
        raise TokenInvalid("token revoked")
    return principal


def actor(principal: Principal) -> Actor:
    return Actor(str(principal.subject), principal.kind, principal.organisation_id)
