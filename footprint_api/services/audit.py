"""The audit trail: who did what, when, to which object, with before/after; append-only, hash-chained and sealed.

hash = SHA-256(prev_hash + canonical JSON of the entry). `prev_hash` is unique, so the chain cannot fork even under
concurrent writers (PostgreSQL additionally serialises appends with an advisory lock). Both databases refuse to
change, delete or truncate entries (triggers, migrations 0001 and 0007) — but whoever administers the database can
drop a trigger. So each entry also carries mac = HMAC-SHA256(hash) under a key derived from the service's secret
key, which the database does not hold: a chain recomputed after an edit lacks valid MACs. And the head of the trail
is checkpointed (seq, hash, MAC) by the housekeeping task and at every check: entries deleted from the end leave the
latest checkpoint pointing past the end. `verify_chain` checks all three.

Committed entries also tell the people they concern (services.notices: the inbox, and mail after the commit).
"""

import hashlib
import hmac
import json
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from footprint_api.core.settings import get_settings
from footprint_api.persistence.models import AuditCheckpoint, AuditEvent, utcnow

GENESIS = "0" * 64
_ADVISORY_KEY = 0x50434641  # "PCFA"
_local_lock = threading.Lock()


@dataclass(frozen=True)
class Actor:
    id: str | None
    kind: str  # user | client | system
    organisation_id: Any = None


SYSTEM = Actor(None, "system")


def _utc_iso(moment: datetime) -> str:
    """The same text before and after a database round trip (SQLite drops the time zone, PostgreSQL keeps it)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def _canonical(event: AuditEvent) -> str:
    return json.dumps(
        {
            "at": _utc_iso(event.at),
            "actor_id": event.actor_id,
            "actor_kind": event.actor_kind,
            "organisation_id": str(event.organisation_id) if event.organisation_id else None,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "before": event.before,
            "after": event.after,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def entry_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + _canonical(event)).encode()).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any,
    before: dict | None = None,
    after: dict | None = None,
    organisation_id: Any = None,
) -> None:
    """Queue an entry in the caller's unit of work; `commit` chains and writes it with the change it describes."""
    session.info.setdefault("audit", []).append(
        AuditEvent(
            at=utcnow(),
            actor_id=actor.id,
            actor_kind=actor.kind,
            organisation_id=organisation_id if organisation_id is not None else actor.organisation_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=_jsonable(before),
            after=_jsonable(after),
            prev_hash="",
            hash="",
        )
    )


def commit(session: Session) -> None:
    """Commit the transaction with its audit entries appended to the chain, atomically.

    PostgreSQL: a transaction-scoped advisory lock serialises appends across processes. SQLite (embedded mode, one
    process): a process lock. In both, the unique `prev_hash` makes a fork impossible rather than unlikely.
    """
    pending: list[AuditEvent] = session.info.pop("audit", [])
    if not pending:
        session.commit()
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    with nullcontext() if postgres else _local_lock:
        if postgres:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
        previous = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
        previous = previous or GENESIS
        key = _seal_key()
        for event in pending:
            event.prev_hash = previous
            event.hash = previous = entry_hash(previous, event)
            event.mac = seal(key, event.hash)
            session.add(event)
            session.flush()
        _notify(session, pending)
        session.commit()
    _notified(session)


def _notify(session: Session, events: list[AuditEvent]) -> None:
    """The hook of the notices: the people concerned by these entries are told in the same transaction
    (services.notices.derive; never failing it)."""
    from footprint_api.services import notices  # notices records its own steps here: imported when first used

    notices.derive(session, events)


def _notified(session: Session) -> None:
    """After the commit: the notices the transaction made go by mail (services.notices.committed)."""
    from footprint_api.services import notices

    notices.committed(session)


def _jsonable(value: dict | None) -> dict | None:
    return None if value is None else json.loads(json.dumps(value, default=str))


def _seal_key() -> bytes:
    return hashlib.sha256(b"pcf-audit-seal:" + get_settings().signing_key().encode()).digest()


def seal(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    intact: bool
    first_broken_seq: int | None = None
    reason: str | None = None
    checkpoint_seq: int | None = None


def checkpoint(session: Session) -> AuditCheckpoint | None:
    """Seal the current head of the trail (once per head)."""
    head = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    if head is None or session.get(AuditCheckpoint, head.seq) is not None:
        return None
    mark = AuditCheckpoint(seq=head.seq, hash=head.hash, mac=seal(_seal_key(), f"{head.seq}:{head.hash}"))
    session.add(mark)
    session.commit()
    return mark


def verify_chain(session: Session) -> ChainCheck:
    """Every entry links to its predecessor, its hash matches and (once the trail is sealed) so does its MAC; every
    checkpoint is genuine and its entry is there with the hash it sealed."""
    key, previous, sealed, last_seq, hashes = _seal_key(), GENESIS, False, 0, {}
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))):
        if event.prev_hash != previous or entry_hash(previous, event) != event.hash:
            return ChainCheck(False, event.seq, "an entry was changed, inserted or removed here")
        if event.mac is not None:
            sealed = True
            if not hmac.compare_digest(event.mac, seal(key, event.hash)):
                return ChainCheck(False, event.seq, "the entry's seal does not match: the chain was recomputed")
        elif sealed:
            return ChainCheck(False, event.seq, "an unsealed entry after sealed ones")
        previous, last_seq = event.hash, event.seq
        hashes[event.seq] = event.hash
    latest = None
    for mark in session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq))):
        if not hmac.compare_digest(mark.mac, seal(key, f"{mark.seq}:{mark.hash}")):
            return ChainCheck(False, mark.seq, "a checkpoint's seal does not match")
        if mark.seq > last_seq:
            return ChainCheck(
                False,
                last_seq + 1,
                f"entries after {last_seq} were deleted (a checkpoint sealed entry {mark.seq})",
                mark.seq,
            )
        if hashes.get(mark.seq) != mark.hash:
            return ChainCheck(False, mark.seq, "the entry differs from the one its checkpoint sealed", mark.seq)
        latest = mark.seq
    return ChainCheck(True, checkpoint_seq=latest)
