"""The audit trail: who did what, when, to which object, with before/after; append-only and hash-chained.

hash = SHA-256(prev_hash + canonical JSON of the entry). `prev_hash` is unique, so the chain cannot fork even under
concurrent writers (PostgreSQL additionally serialises appends with an advisory lock); `verify_chain` recomputes it.
"""

import hashlib
import json
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from footprint_api.models import AuditEvent, utcnow

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
    return json.dumps({
        "at": _utc_iso(event.at), "actor_id": event.actor_id, "actor_kind": event.actor_kind,
        "organisation_id": str(event.organisation_id) if event.organisation_id else None,
        "action": event.action, "object_type": event.object_type, "object_id": event.object_id,
        "before": event.before, "after": event.after,
    }, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + _canonical(event)).encode()).hexdigest()


def record(session: Session, actor: Actor, action: str, object_type: str, object_id: Any,
           before: dict | None = None, after: dict | None = None, organisation_id: Any = None) -> None:
    """Queue an entry in the caller's unit of work; `commit` chains and writes it with the change it describes."""
    session.info.setdefault("audit", []).append(AuditEvent(
        at=utcnow(), actor_id=actor.id, actor_kind=actor.kind,
        organisation_id=organisation_id if organisation_id is not None else actor.organisation_id,
        action=action, object_type=object_type, object_id=str(object_id),
        before=_jsonable(before), after=_jsonable(after), prev_hash="", hash="",
    ))


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
        for event in pending:
            event.prev_hash = previous
            event.hash = previous = entry_hash(previous, event)
            session.add(event)
            session.flush()
        session.commit()


def _jsonable(value: dict | None) -> dict | None:
    return None if value is None else json.loads(json.dumps(value, default=str))


def verify_chain(session: Session) -> tuple[bool, int | None]:
    """(True, None) when every entry links to its predecessor and its hash matches; else (False, first bad seq)."""
    previous = GENESIS
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))):
        if event.prev_hash != previous or entry_hash(previous, event) != event.hash:
            return False, event.seq
        previous = event.hash
    return True, None


