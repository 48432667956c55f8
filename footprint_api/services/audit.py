"""The audit trail: who did what, when, to which object, with before/after; append-only, hash-chained and sealed.

hash = SHA-256(prev_hash + canonical JSON of the entry). `prev_hash` is unique, so the chain cannot fork even under
concurrent writers (PostgreSQL additionally serialises appends with an advisory lock). Both databases refuse to
change, delete or truncate entries (triggers, migrations 0001 and 0007) — but whoever administers the database can
drop a trigger. So each entry also carries mac = HMAC-SHA256(hash) under a key derived from the service's secret
key, which the database does not hold: a chain recomputed after an edit lacks valid MACs. And the head of the trail
is checkpointed (seq, hash, MAC) by the housekeeping task and at every check: entries deleted from the end leave the
latest checkpoint pointing past the end.

Whoever administers the database can also delete the checkpoints, empty both tables, or strip the seals of a
recomputed chain. So each checkpoint's sealed head is also written outside the database, to the witness
(infra.witness: an append-only file, or a bucket with object lock), and only over a head the trail still holds. A
witnessed head commits to every entry up to it (each hash covers its predecessor's): a trail that no longer holds
it, or holds it with another hash, was rewritten. `verify_chain` checks all four; a witness that cannot be written
never fails the change being recorded, and shows as `behind` until the next checkpoint writes it.

Committed entries also tell the people they concern (services.notices: the inbox, and mail after the commit).
"""

import hashlib
import hmac
import json
import logging
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from footprint_api.core.settings import get_settings
from footprint_api.infra.witness import WitnessError, audit_witness
from footprint_api.persistence.db import reads_only
from footprint_api.persistence.models import AuditCheckpoint, AuditEvent, utcnow

GENESIS = "0" * 64
_ADVISORY_KEY = 0x50434641  # "PCFA"
_local_lock = threading.Lock()
_log = logging.getLogger(__name__)


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


# the head of the chain, as a Core statement built once (read under the append lock by every commit)
_HEAD = select(AuditEvent.__table__.c.hash).order_by(AuditEvent.__table__.c.seq.desc()).limit(1)


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
        previous = session.connection().execute(_HEAD).scalar() or GENESIS
        key = _seal_key()
        for event in pending:
            event.prev_hash = previous
            event.hash = previous = entry_hash(previous, event)
            event.mac = seal(key, event.hash)
        # one flush for the lot (not one per entry): the unit of work inserts one class's new rows in the order they
        # were added (SQLAlchemy's insert order, kept by its batched INSERT ... RETURNING), so the entries take
        # their seq in chain order, which verify_chain walks
        session.add_all(pending)
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


# Why a chain check failed: a code, the English sentence the JSON answer carries, and the parameters the pages word
# in the reader's language (adm.chain.reason.{code}).
REASONS = {
    "changed": "an entry was changed, inserted or removed here",
    "seal": "the entry's seal does not match: the chain was recomputed",
    "unsealed": "an unsealed entry after sealed ones",
    "checkpoint_seal": "a checkpoint's seal does not match",
    "deleted": "entries after {last} were deleted (a checkpoint sealed entry {checkpoint})",
    "checkpoint_differs": "the entry differs from the one its checkpoint sealed",
    "witness_deleted": "entries after {last} were deleted (the witness outside the database holds entry {witness})",
    "witness_emptied": "the trail was emptied (the witness outside the database holds entries up to {witness})",
    "witness_differs": "the entry differs from the one the witness outside the database holds: the chain was rewritten",
    "witness_seal": "a head the witness holds has no valid seal",
    "witness_damaged": "the witness outside the database is damaged (line {line}): it was edited or cut",
}


@dataclass(frozen=True)
class ChainCheck:
    """The verdict, and what the witness outside the database said: `witness` is ok (it holds the latest checkpoint
    and the trail matches it), behind (the database sealed a later checkpoint than the witness holds: it could not be
    written since, or lost its end), empty, unavailable (not readable: checked against the database alone) or
    damaged."""

    intact: bool
    first_broken_seq: int | None = None
    reason: str | None = None
    checkpoint_seq: int | None = None
    code: str | None = None
    params: dict[str, int] = field(default_factory=dict)
    witness: str = "empty"
    witness_seq: int | None = None
    witness_where: str | None = None


def _broken(code: str, seq: int | None, checkpoint_seq: int | None = None, **params: int) -> ChainCheck:
    """A failed check: `seq` is the first entry concerned (None when the witness itself is at fault)."""
    given = params if seq is None else {"seq": seq, **params}
    return ChainCheck(False, seq, REASONS[code].format(**params), checkpoint_seq, code, given)


def checkpoint(session: Session) -> AuditCheckpoint | None:
    """Seal the current head of the trail (once per head), then give the witness the latest sealed head if it does
    not hold it yet (a witness that was down is written again here; the housekeeping task calls this every minute)."""
    head = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    mark = None
    if head is not None and session.get(AuditCheckpoint, head.seq) is None:
        mark = AuditCheckpoint(seq=head.seq, hash=head.hash, mac=seal(_seal_key(), f"{head.seq}:{head.hash}"))
        session.add(mark)
        session.commit()
    _witness_latest(session)
    return mark


def _witness_latest(session: Session) -> None:
    """Write the latest checkpoint to the witness, only if the trail still holds the head the witness holds (a
    rewritten trail is never witnessed over the genuine head). Never raises: a gap shows at the next check."""
    latest = session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq).desc()).limit(1)).first()
    if latest is None:
        return
    store = audit_witness()
    try:
        held = store.latest()
        if held is not None and held.seq >= latest.seq:
            return
        still = held and session.exec(select(AuditEvent.hash).where(AuditEvent.seq == held.seq)).first()
        if held is not None and still != held.hash:
            _log.error("audit witness not written: the trail no longer holds entry %s as witnessed", held.seq)
            return
        store.append(latest.seq, latest.hash, latest.mac, _utc_iso(latest.at))
    except WitnessError as exc:
        _log.warning("audit witness %s not written (checkpoint %s): %s", store.where, latest.seq, exc)


def _hash_at(session: Session, seq: int) -> str | None:
    """The entry's hash as committed now: a reading session of its own, since the caller's may hold a snapshot
    older than a head the witness received meanwhile (SQLite's deferred reads, PostgreSQL's repeatable read)."""
    with reads_only(), Session(session.get_bind()) as fresh:
        return fresh.exec(select(AuditEvent.hash).where(AuditEvent.seq == seq)).first()


def verify_chain(session: Session) -> ChainCheck:
    """Every entry links to its predecessor, its hash matches and (once the trail is sealed) so does its MAC; every
    checkpoint is genuine and its entry is there with the hash it sealed; and every head the witness outside the
    database holds is genuine and still in the trail with the hash it held.

    The witness is read first: a head it holds is then already committed when the trail is read."""
    store = audit_witness()
    try:
        witnessed, witness_error = store.heads(), None
    except WitnessError as exc:
        witnessed, witness_error = [], exc
    check, last_seq, hashes = _verify_database(session)
    if not check.intact:
        return replace(check, witness_where=store.where)
    if witness_error is not None:
        if witness_error.damaged:
            broken = _broken("witness_damaged", None, line=witness_error.line or 0)
            return replace(broken, witness="damaged", witness_where=store.where)
        _log.warning("audit witness %s not readable: %s", store.where, witness_error)
        return replace(check, witness="unavailable", witness_where=store.where)
    return _compare_with_witness(session, check, witnessed, last_seq, hashes, store.where)


def _compare_with_witness(
    session: Session, check: ChainCheck, witnessed: list, last_seq: int, hashes: dict[int, str], where: str
) -> ChainCheck:
    key = _seal_key()
    for head in witnessed:
        if not hmac.compare_digest(head.mac, seal(key, f"{head.seq}:{head.hash}")):
            broken = _broken("witness_seal", None, witness=head.seq)
            return replace(broken, witness="damaged", witness_seq=head.seq, witness_where=where)
    for head in witnessed:
        held = hashes.get(head.seq)
        if held is None and head.seq > last_seq:
            held = _hash_at(session, head.seq)  # committed after this check read the trail, or deleted
            if held is None:
                broken = (
                    _broken("witness_emptied", 1, last=0, witness=head.seq)
                    if last_seq == 0
                    else _broken("witness_deleted", last_seq + 1, last=last_seq, witness=head.seq)
                )
                return replace(broken, witness="ok", witness_seq=head.seq, witness_where=where)
        if held != head.hash:
            broken = _broken("witness_differs", head.seq)
            return replace(broken, witness="ok", witness_seq=head.seq, witness_where=where)
    held = witnessed[-1].seq if witnessed else None
    state = "empty" if held is None else ("behind" if (check.checkpoint_seq or 0) > held else "ok")
    return replace(check, witness=state, witness_seq=held, witness_where=where)


def _verify_database(session: Session) -> tuple[ChainCheck, int, dict[int, str]]:
    """The trail against itself: links, hashes, seals and checkpoints; with the last seq and every entry's hash."""
    key, previous, sealed, last_seq, hashes = _seal_key(), GENESIS, False, 0, {}
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))):
        if event.prev_hash != previous or entry_hash(previous, event) != event.hash:
            return _broken_at("changed", event.seq)
        if event.mac is not None:
            sealed = True
            if not hmac.compare_digest(event.mac, seal(key, event.hash)):
                return _broken_at("seal", event.seq)
        elif sealed:
            return _broken_at("unsealed", event.seq)
        previous, last_seq = event.hash, event.seq
        hashes[event.seq] = event.hash
    latest = None
    for mark in session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq))):
        if not hmac.compare_digest(mark.mac, seal(key, f"{mark.seq}:{mark.hash}")):
            return _broken_at("checkpoint_seal", mark.seq)
        if mark.seq > last_seq:
            return _broken_at("deleted", last_seq + 1, mark.seq, last=last_seq, checkpoint=mark.seq)
        if hashes.get(mark.seq) != mark.hash:
            return _broken_at("checkpoint_differs", mark.seq, mark.seq)
        latest = mark.seq
    return ChainCheck(True, checkpoint_seq=latest), last_seq, hashes


def _broken_at(code: str, seq: int, checkpoint_seq: int | None = None, **params: int):
    return _broken(code, seq, checkpoint_seq, **params), 0, {}
