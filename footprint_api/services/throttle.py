"""Throttling of password and client-credential attempts, per account and per address (OWASP Authentication
Cheat Sheet: protect against automated attacks with account lockout and rate limits; OWASP ASVS 4.0 V2.2.1).

Every attempt is counted on each of its keys before its secret is checked (`reserve`), in one statement per key
that the database serialises (INSERT … ON CONFLICT DO UPDATE … RETURNING, on PostgreSQL and SQLite alike), and
committed at once. An account key allows ACCOUNT_LIMIT attempts in a WINDOW, an address key ADDRESS_LIMIT (many
accounts tried from one place): the attempt past the limit answers 429 with Retry-After, until the window that began
with the key's first attempt ends. However many attempts arrive at once, no more than the limit are ever checked
(no read-modify-write to race), and guessing stops costing the service an argon2 hash per try.

A successful attempt gives its place back: it clears its account's count, and takes itself off its address's count
(an office behind one address signs in all day). The counters live in the database, so every API process shares
them. Failures, with the keys they locked, are in the audit trail; an attempt refused with 429 is not (it changes
nothing but a counter, and an attacker would otherwise write the trail).
"""

from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from footprint_api.core.errors import ServiceError
from footprint_api.persistence.models import AuthThrottle, utcnow
from footprint_api.services import audit

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 30
_RESERVED = "throttle.reserved"  # session.info: the keys this session counted for the attempt in progress
_TABLE = AuthThrottle.__table__


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


def reserve(session: Session, attempt: list[tuple[str, int]]) -> None:
    """Count this attempt on every key and commit, before the secret is checked; TooManyAttempts (429) when a key
    is past its limit. The session must carry no other change (it is committed here)."""
    now = utcnow()
    waits = []
    for key, limit in attempt:
        counted, window_start = _count(session, key, now)
        if counted >= limit:  # the next attempt will be refused: shown as locked (admins' lists, `locks`)
            _mark_locked(session, key, window_start)
        if counted > limit:
            waits.append(_seconds_until(window_start + WINDOW, now))
    session.commit()
    if waits:
        raise TooManyAttempts(max(waits))
    session.info[_RESERVED] = {key for key, _ in attempt}


def failed(session: Session, attempt: list[tuple[str, int]], kind: str) -> None:
    """A wrong secret: in the audit trail, with the keys that are now locked; committed at once (the caller is about
    to answer 401, and its own transaction is rolled back). An attempt that was not reserved is counted now."""
    reserved = session.info.pop(_RESERVED, set())
    for key, limit in attempt:
        if key not in reserved:
            counted, window_start = _count(session, key, utcnow())
            if counted >= limit:
                _mark_locked(session, key, window_start)
    session.commit()
    locked = [key for key, _ in attempt if key in locks_of(session, [key])]
    audit.record(
        session,
        audit.SYSTEM,
        f"auth.{kind}_failed",
        "credential",
        attempt[0][0],
        after={"keys": [key for key, _ in attempt], "locked": locked},
    )
    audit.commit(session)


def succeeded(session: Session, attempt: list[tuple[str, int]]) -> None:
    """The right secret, in the caller's transaction: its account's count is cleared; its address gets back the
    place this attempt took (one good account does not unlock an address that guesses others)."""
    session.info.pop(_RESERVED, None)
    (account, _), *addresses = attempt
    session.execute(delete(_TABLE).where(_TABLE.c.key == account))
    for key, limit in addresses:
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.key == key, _TABLE.c.failures > 0)
            .values(
                failures=_TABLE.c.failures - 1,
                locked_until=case((_TABLE.c.failures - 1 < limit, None), else_=_TABLE.c.locked_until),
            )
        )


def _count(session: Session, key: str, now: datetime) -> tuple[int, datetime]:
    """One more attempt on `key`, in one statement: a new key, or a key whose window is over, starts a window of one
    attempt. Returns the attempts counted in the key's window, this one included, and when the window began."""
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert
    stamp = literal(now, _TABLE.c.window_start.type)
    over = _TABLE.c.window_start <= now - WINDOW
    statement = (
        insert(_TABLE)
        .values(key=key, failures=1, window_start=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={
                "failures": case((over, 1), else_=_TABLE.c.failures + 1),
                "window_start": case((over, stamp), else_=_TABLE.c.window_start),
                "locked_until": case((over, None), else_=_TABLE.c.locked_until),
            },
        )
        .returning(_TABLE.c.failures, _TABLE.c.window_start)
    )
    counted, window_start = session.execute(statement).one()
    return counted, window_start


def _mark_locked(session: Session, key: str, window_start: datetime) -> None:
    """Locked for the rest of the window that began at `window_start` (no-op once marked, or in a newer window)."""
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.key == key, _TABLE.c.window_start == window_start, _TABLE.c.locked_until.is_(None))
        .values(locked_until=window_start + WINDOW)
    )


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds()) + 1)


def account_key(account: str) -> str:
    return keys(account, None)[0][0]


def locks_of(session: Session, throttle_keys: list[str]) -> dict[str, datetime]:
    """Until when each of these keys is locked: those locked now only."""
    if not throttle_keys:
        return {}
    rows = session.exec(
        select(AuthThrottle).where(col(AuthThrottle.key).in_(throttle_keys), col(AuthThrottle.locked_until) > utcnow())
    ).all()
    return {row.key: row.locked_until for row in rows}


def locks(session: Session, accounts: list[str]) -> dict[str, datetime]:
    """Until when each of these accounts (e-mail addresses or `client:` ids) is locked: those locked now only."""
    wanted = {account_key(account): account for account in accounts}
    return {wanted[key]: until for key, until in locks_of(session, list(wanted)).items()}


def clear(session: Session, account: str) -> datetime | None:
    """Lift an account's lock and forget its attempts, in the caller's transaction; returns until when it was
    locked (None: it was not)."""
    key = account_key(account)
    locked_until = locks_of(session, [key]).get(key)
    session.execute(delete(_TABLE).where(_TABLE.c.key == key))
    return locked_until
