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

from footprint_api.core.china_time import china_day
from footprint_api.core.messages import catalogue
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


@dataclass(frozen=True)
class Reason:
    """Why the service itself moved a label (a supersession, an expiry): a message of the catalogue
    (`locales/*/labels.yaml`) and its values. The label keeps the English wording as its `state_reason` (what the
    JSON API answers); pages word it in their reader's language; the audit entry keeps code and values."""

    code: str
    params: dict[str, str]

    def text(self, lang: str = "en") -> str:
        return catalogue(lang)(self.code, **self.params)


# The states only the service moves a label into (label_service.workflow: party SYSTEM), each with the reason it
# gives, made from the label's own columns, so that a page words it again in any language for any such label.
SYSTEM_REASONS: dict[str, Callable[[Label], Reason]] = {
    LabelState.SUPERSEDED.value: lambda label: Reason(
        "labels.reason.superseded", {"number": label.superseded_by or ""}
    ),
    LabelState.EXPIRED.value: lambda label: Reason("labels.reason.expired", {"expires": label.expires_on.isoformat()}),
}


def system_reason(label: Label) -> Reason | None:
    """The reason the service gave for the label's state, or None when the certification body gave it."""
    made = SYSTEM_REASONS.get(label.state)
    return made(label) if made else None


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
        **_reason_code(label),
        "superseded_by": label.superseded_by,
    }


def _reason_code(label: Label) -> dict:
    """The code and values of the service's own reason, for a page to word it in its reader's language."""
    reason = system_reason(label)
    return {"state_reason_code": reason.code, "state_reason_params": reason.params} if reason else {}


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


def current_instant() -> datetime:
    """Now, in UTC: the one clock that dates a label's issue and decides its verdict (a test sets it here)."""
    return datetime.now(UTC)


def label_day(moment: datetime | None = None) -> date:
    """The calendar day of a moment in China time (a naive moment is UTC; None is now): the day a label is issued
    on, the days of its validity and the day its verdict is decided for are the days its readers and its
    certification body live by, not the UTC day (a label issued at 01:16 on 8 December in Beijing is valid from
    8 December, though it is still 7 December in UTC)."""
    moment = moment or current_instant()
    return china_day(moment)


def today() -> date:
    """The day verdicts are decided for: today in China time."""
    return label_day()


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
