"""Throttling of password and client-credential attempts, per account and per address (OWASP Authentication
Cheat Sheet: protect against automated attacks with account lockout and rate limits; OWASP ASVS 4.0 V2.2.1).

An account is locked for the rest of its window after ACCOUNT_LIMIT failures within WINDOW; an address after
ADDRESS_LIMIT (many accounts tried from one place). A locked key answers 429 with Retry-After before the password is
even checked, so guessing stops costing the service an argon2 hash per try. The counters live in the database, so
every API process shares them. Failures and lockouts are in the audit trail.
"""

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from footprint_api.core.errors import ServiceError
from footprint_api.persistence.models import AuthThrottle, utcnow
from footprint_api.services import audit

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 30


class TooManyAttempts(ServiceError):
    status, title = 429, "Too many attempts"

    def __init__(self, retry_after_seconds: int):
        super().__init__(f"too many failed attempts; try again in {retry_after_seconds} s")
        self.headers = {"Retry-After": str(retry_after_seconds)}


def keys(account: str, address: str | None) -> list[tuple[str, int]]:
    """The throttled keys of one attempt, with their limits."""
    found = [(f"account:{account.strip().lower()[:250]}", ACCOUNT_LIMIT)]
    if address:
        found.append((f"address:{address[:250]}", ADDRESS_LIMIT))
    return found


def refuse_if_locked(session: Session, attempt: list[tuple[str, int]]) -> None:
    now = utcnow()
    for key, _limit in attempt:
        row = session.get(AuthThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            raise TooManyAttempts(max(1, int((row.locked_until - now).total_seconds()) + 1))


def failed(session: Session, attempt: list[tuple[str, int]], kind: str) -> None:
    """Counts a failure on every key; locks a key that reached its limit. Committed at once (the caller is about
    to answer 401, and its own transaction is rolled back)."""
    now = utcnow()
    locked = []
    for key, limit in attempt:
        row = session.get(AuthThrottle, key) or AuthThrottle(key=key, failures=0, window_start=now)
        if now - row.window_start > WINDOW:
            row.failures, row.window_start, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= limit and row.locked_until is None:
            row.locked_until = row.window_start + WINDOW
            locked.append(key)
        session.add(row)
    audit.record(
        session,
        audit.SYSTEM,
        f"auth.{kind}_failed",
        "credential",
        attempt[0][0],
        after={"keys": [key for key, _ in attempt], "locked": locked},
    )
    try:
        audit.commit(session)
    except IntegrityError:  # a concurrent first failure of the same key: counted by the other request
        session.rollback()


def succeeded(session: Session, attempt: list[tuple[str, int]]) -> None:
    """A successful sign-in clears its account's counter (not its address's: one good account does not unlock an
    address that guesses others), in the caller's transaction."""
    row = session.get(AuthThrottle, attempt[0][0])
    if row is not None:
        session.delete(row)


def account_key(account: str) -> str:
    return keys(account, None)[0][0]


def locks(session: Session, accounts: list[str]) -> dict[str, datetime]:
    """Until when each of these accounts (e-mail addresses or `client:` ids) is locked: those locked now only."""
    wanted = {account_key(account): account for account in accounts}
    if not wanted:
        return {}
    rows = session.exec(
        select(AuthThrottle).where(col(AuthThrottle.key).in_(wanted), col(AuthThrottle.locked_until) > utcnow())
    ).all()
    return {wanted[row.key]: row.locked_until for row in rows}


def clear(session: Session, account: str) -> datetime | None:
    """Lift an account's lock and forget its failures, in the caller's transaction; returns until when it was
    locked (None: it was not)."""
    row = session.get(AuthThrottle, account_key(account))
    if row is None:
        return None
    locked_until = row.locked_until if row.locked_until and row.locked_until > utcnow() else None
    session.delete(row)
    return locked_until
