"""Public verification answers, from a per-process cache that keeps the verification routes near the speed of a
bare endpoint (they are the most read part of the service) without serving a status that is no longer true.

Freshness: a committed change of any label made in this process (issue, suspension, revocation, expiry) clears
the cache at once, through one session event below; changes made by other processes (other
API workers, the Celery housekeeping that expires labels) are noticed by comparing the labels' generation
(count and latest `updated_at`) at most every `verification_recheck_seconds` (0.25 s by default; 0 checks on
every request). Expiry by date needs no change at all: the verdict is computed for today on every request.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import chain

from anyio import to_thread
from sqlalchemy import event, func
from sqlmodel import Session, col, select

from footprint_api.core.settings import get_settings
from footprint_api.persistence.db import reads_only, session_scope
from footprint_api.persistence.models import Label
from label_service.numbering import InvalidLabelNumber, normalise, one_typo_away
from label_service.signing import unverified_claim
from label_service.verification import Verdict, verdict
from label_service.workflow import LabelState


@dataclass
class Snapshot:
    """What anyone may know of one label (None fields: no such label), and its rendered answers."""

    number: str
    state: LabelState | None = None
    expires_on: date | None = None
    public: dict = field(default_factory=dict)
    rendered: dict = field(default_factory=dict)  # (verdict, format) -> bytes

    def verdict(self, today: date) -> Verdict:
        return verdict(self.state, self.expires_on, today)


def public_fields(label: Label) -> dict:
    """What anyone may know of a label besides its verdict: the signed claim, where to check it, and what the
    certification body said when the label last changed state."""
    return {
        "number": label.number,
        "claim": unverified_claim(label.token),
        "token": label.token,
        "compact": label.compact,
        "key_id": label.key_id,
        "verification_url": label.qr_content.split("#", 1)[0],
        "files": file_paths(label),
        "state_changed_at": label.state_changed_at.isoformat() if label.state_changed_at else None,
        "state_reason": label.state_reason,
        "superseded_by": label.superseded_by,
    }


def file_paths(label: Label) -> dict[str, str]:
    """Rendering name -> path: `qr30.png` -> /labels/{number}/qr30.png (labels of the first design: `png`)."""
    return {
        name: f"/labels/{label.number}/{name}" if "." in name else f"/labels/{label.number}.{name}"
        for name in label.files
    }


def load_snapshot(number: str) -> Snapshot:
    with reads_only(), session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).first()
        if label is None:
            return Snapshot(number)
        return Snapshot(label.number, LabelState(label.state), label.expires_on, public_fields(label))


def current_generation() -> tuple:
    with reads_only(), session_scope() as session:
        return tuple(session.exec(select(func.count(Label.id), func.max(Label.updated_at))).one())


class VerificationCache:
    def __init__(self, recheck_seconds: float, max_entries: int = 50_000):
        self.recheck_seconds, self.max_entries = recheck_seconds, max_entries
        self._entries: OrderedDict[str, Snapshot] = OrderedDict()
        self._generation: object = None
        self._checked_at = float("-inf")
        self._rechecking = False
        self._lock = threading.Lock()

    def claim_recheck(self) -> bool:
        """True for the one caller that should recheck now; the others answer from the cache meanwhile (single
        flight: a crowd does not turn into a crowd of database queries)."""
        with self._lock:
            if self._rechecking or time.monotonic() - self._checked_at < self.recheck_seconds:
                return False
            self._rechecking = True
            return True

    def recheck(self) -> None:
        """Compare the labels' generation with the cached one; on a difference forget everything."""
        try:
            generation = current_generation()
            with self._lock:
                if generation != self._generation:
                    self._entries.clear()
                    self._generation = generation
                self._checked_at = time.monotonic()
        finally:
            self._rechecking = False

    def invalidate(self) -> None:
        """A label changed in this process: forget at once, and re-read the generation before the next answer."""
        with self._lock:
            self._entries.clear()
            self._generation = object()
            self._checked_at = float("-inf")

    def get(self, number: str) -> tuple[Snapshot | None, object]:
        with self._lock:
            snapshot = self._entries.get(number)
            if snapshot is not None:
                self._entries.move_to_end(number)
            return snapshot, self._generation

    def put(self, snapshot: Snapshot, generation: object) -> None:
        """Keeps the snapshot unless the cache was invalidated while it was being read."""
        with self._lock:
            if generation is not self._generation:
                return
            self._entries[snapshot.number] = snapshot
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


@lru_cache(maxsize=1)
def verification_cache() -> VerificationCache:
    return VerificationCache(get_settings().verification_recheck_seconds)


def today() -> date:
    return datetime.now(UTC).date()


@event.listens_for(Session, "after_flush")
def _note_label_changes(session: Session, _context) -> None:
    if any(isinstance(obj, Label) for obj in chain(session.new, session.dirty, session.deleted)):
        session.info["labels_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_changed_labels(session: Session) -> None:
    if session.info.pop("labels_changed", False):
        verification_cache().invalidate()


@event.listens_for(Session, "after_rollback")
def _nothing_changed(session: Session) -> None:
    session.info.pop("labels_changed", None)


def nearest(session: Session, text: str) -> list[str]:
    """Issued labels whose number is one typing error away from a number whose check character does not match."""
    candidates = one_typo_away(text)
    if not candidates:
        return []
    return list(
        session.exec(select(Label.number).where(col(Label.number).in_(candidates)).order_by(Label.number).limit(5))
    )


Renderer = Callable[[dict, Verdict, str], bytes]  # (public fields, verdict, language) -> the answer's bytes


def _unknown_number(text: str) -> dict:
    """What is said of a number that names no label: whether it was mistyped, and the labels it may have meant."""
    shown = text[:40]
    if not one_typo_away(text):
        return {"number": shown}
    with reads_only(), session_scope() as session:
        return {"number": shown, "mistyped": True, "nearest": nearest(session, text)}


async def answer(number: str, fmt: str, render: Renderer, lang: str = "zh") -> tuple[bytes, bool]:
    """The rendered answer for a number and whether the label exists. Rendered once per label, verdict, format
    and language; the verdict itself is decided on every request."""
    try:
        canonical = normalise(number)
    except InvalidLabelNumber:
        public = await to_thread.run_sync(_unknown_number, number)
        return render(public, Verdict.NOT_FOUND, lang), False
    cache = verification_cache()
    if cache.claim_recheck():
        await to_thread.run_sync(cache.recheck)
    snapshot, generation = cache.get(canonical)
    if snapshot is None:
        snapshot = await to_thread.run_sync(load_snapshot, canonical)
        cache.put(snapshot, generation)
    status = snapshot.verdict(today())
    body = snapshot.rendered.get((status, fmt, lang))
    if body is None:
        body = snapshot.rendered[(status, fmt, lang)] = render(
            {"number": snapshot.number, **snapshot.public}, status, lang
        )
    return body, snapshot.state is not None
