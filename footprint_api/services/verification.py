"""Public verification answers, from a per-process cache that keeps the verification routes near the speed of a
bare endpoint (they are the most read part of the service) without serving a status that is no longer true.

Freshness: a committed change of any label made in this process (issue, suspension, revocation, expiry) clears
the cache at once, through one session event below; changes made by other processes (other
API workers, the Celery housekeeping that expires labels) are noticed by comparing the labels' generation
(count and latest `updated_at`) at most every `verification_recheck_seconds` (0.25 s by default; 0 checks on
every request). Expiry by date needs no change at all: the verdict is computed for today on every request.

When the database does not answer, a cached answer is served (marked as such) only if it cannot be a stale VALID
for a label revoked or suspended before the outage: it must have been confirmed against the database at most
`verification_outage_confirmed_seconds` before the outage's first failure (an entry is confirmed when it is read,
and again by every successful generation check while it stays cached), and it is served for at most
`verification_outage_serve_seconds` after that failure. Everything else answers 503. A generation check that hangs
for longer than the confirmation window counts as an outage that began when the check began.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import chain

from anyio import to_thread
from sqlalchemy import event, func
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from footprint_api.core.china_time import china_day
from footprint_api.core.messages import catalogue
from footprint_api.core.settings import get_settings
from footprint_api.persistence.db import DatabaseUnavailable, outage, reads_only, session_scope, unavailable
from footprint_api.persistence.models import Footprint, Label
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
    loaded_at: float = float("-inf")  # time.monotonic() when the read that made it began

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


def label_data_quality(session: Session, label: Label) -> dict | None:
    """The data quality of the labelled footprint as the public label shows it: its primary data share (0..1) and
    data-quality rating (1 best .. 5). A buyer whose footprint uses the label carries them through its own
    (services.supply_chain; PACT v3 primaryDataShare), so they are public as the value is. Only that part of the
    stored result is read."""
    return labels_data_quality(session, [label])[label.id]


def labels_data_quality(session: Session, labels: list[Label]) -> dict:
    """`label_data_quality` of many labels in one query (a page of the registry), by label id."""
    rows = session.exec(
        select(Footprint.id, Footprint.result["data_quality"]).where(
            col(Footprint.id).in_({label.footprint_id for label in labels})
        )
    ).all()
    quality = {footprint_id: _shown_quality(value) for footprint_id, value in rows}
    return {label.id: quality.get(label.footprint_id) for label in labels}


def _shown_quality(quality) -> dict | None:
    if not isinstance(quality, dict) or not {"primary_data_share", "dqr"} & set(quality):
        return None
    return {"primary_data_share": quality.get("primary_data_share"), "dqr": quality.get("dqr")}


_LOOK_UP = object()  # public_fields: the data quality is not given, look it up


def public_fields(label: Label, data_quality: dict | object | None = _LOOK_UP) -> dict:
    """What anyone may know of a label besides its verdict: the signed claim, where to check it, what the
    certification body said when the label last changed state, and the data quality of the labelled footprint
    (given by a listing that read a page of them at once, else looked up in the label's own session)."""
    if data_quality is _LOOK_UP:
        session = object_session(label)
        data_quality = label_data_quality(session, label) if session is not None else None
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
        "data_quality": data_quality,
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
    started = time.monotonic()
    with reads_only(), session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).first()
        if label is None:
            return Snapshot(number, loaded_at=started)
        return Snapshot(
            label.number, LabelState(label.state), label.expires_on, public_fields(label), loaded_at=started
        )


def current_generation() -> tuple:
    with reads_only(), session_scope() as session:
        return tuple(session.exec(select(func.count(Label.id), func.max(Label.updated_at))).one())


class VerificationCache:
    def __init__(
        self,
        recheck_seconds: float,
        max_entries: int = 50_000,
        outage_confirmed_seconds: float = 1.0,
        outage_serve_seconds: float = 300.0,
    ):
        self.recheck_seconds, self.max_entries = recheck_seconds, max_entries
        self.outage_confirmed_seconds, self.outage_serve_seconds = outage_confirmed_seconds, outage_serve_seconds
        self._entries: OrderedDict[str, Snapshot] = OrderedDict()
        self._generation: object = None
        self._checked_at = float("-inf")  # when the last successful generation check began
        self._attempt_started: float | None = None  # when the generation check in flight began
        self._failed_since: float | None = None  # when the first failed read since the last success began
        self._failed_at = float("-inf")  # when the last failed check ended
        self._rechecking = False
        self._lock = threading.Lock()

    def claim_recheck(self) -> bool:
        """True for the one caller that should recheck now; the others answer from the cache meanwhile (single
        flight: a crowd does not turn into a crowd of database queries). While the database fails, it is asked
        again at the same pace."""
        with self._lock:
            now = time.monotonic()
            last = self._checked_at if self._failed_since is None else self._failed_at
            if self._rechecking or now - last < self.recheck_seconds:
                return False
            self._rechecking, self._attempt_started = True, now
            return True

    def recheck(self) -> None:
        """Compare the labels' generation with the cached one; on a difference forget everything. A success confirms
        every entry still cached as of when the check began."""
        started = self._attempt_started if self._attempt_started is not None else time.monotonic()
        try:
            generation = current_generation()
        except SQLAlchemyError as exc:
            self.failed(exc, started)
            raise
        else:
            with self._lock:
                if generation != self._generation:
                    self._entries.clear()
                    self._generation = generation
                self._checked_at, self._failed_since = started, None
        finally:
            with self._lock:
                self._rechecking, self._attempt_started = False, None

    def failed(self, exc: SQLAlchemyError, started: float) -> None:
        """A read begun at `started` failed: if the database is unavailable, the outage began then at the latest."""
        if not unavailable(exc):
            return
        outage.failed(exc, started, answered=False)
        with self._lock:
            self._failed_since = started if self._failed_since is None else min(self._failed_since, started)
            self._failed_at = time.monotonic()

    def outage_began(self, now: float) -> float | None:
        """When the database stopped answering this process's reads (None: it answers), by the earliest sign: a
        failed read, a failure elsewhere in the process, a check in flight for longer than the confirmation window."""
        with self._lock:
            signs = [self._failed_since, outage.unreachable_since()]
            if self._attempt_started is not None and now - self._attempt_started > self.outage_confirmed_seconds:
                signs.append(self._attempt_started)
        return min((sign for sign in signs if sign is not None), default=None)

    def confirmed(self, snapshot: Snapshot) -> float:
        """When the snapshot was last confirmed against the database (it is cached: no check since found a change)."""
        with self._lock:
            return max(snapshot.loaded_at, self._checked_at)

    def servable_in_outage(self, snapshot: Snapshot | None, began: float, now: float) -> bool:
        """Only an answer confirmed shortly before the outage began, and only for a short while into it."""
        if snapshot is None or now - began > self.outage_serve_seconds:
            return False
        return self.confirmed(snapshot) >= began - self.outage_confirmed_seconds

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
    settings = get_settings()
    return VerificationCache(
        settings.verification_recheck_seconds,
        outage_confirmed_seconds=settings.verification_outage_confirmed_seconds,
        outage_serve_seconds=settings.verification_outage_serve_seconds,
    )


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


ANSWER_SOURCE = "PCF-Answer-Source"  # the header marking an answer served from the cache during an outage
Renderer = Callable[[dict, Verdict, str], bytes]  # (public fields, verdict, language) -> the answer's bytes


def _unknown_number(text: str) -> dict:
    """What is said of a number that names no label: whether it was mistyped, and the labels it may have meant (none
    named while the database does not answer: the number is wrong all the same)."""
    shown = text[:40]
    if not one_typo_away(text):
        return {"number": shown}
    if outage.unreachable_since() is not None:
        return {"number": shown, "mistyped": True, "nearest": []}
    try:
        with reads_only(), session_scope() as session:
            return {"number": shown, "mistyped": True, "nearest": nearest(session, text)}
    except SQLAlchemyError as exc:
        if not unavailable(exc):
            raise
        outage.failed(exc, answered=False)
        return {"number": shown, "mistyped": True, "nearest": []}


@dataclass(frozen=True)
class Answer:
    """A rendered verification answer: its bytes, whether the label exists, and, for an answer served from the cache
    while the database does not answer, when it was last confirmed against the database (None: confirmed now)."""

    body: bytes
    found: bool
    from_cache_confirmed_at: datetime | None = None

    def source_headers(self) -> dict[str, str]:
        """For an answer from the cache during an outage: its age (RFC 9111 Age, seconds since it was confirmed) and
        where it comes from (PCF-Answer-Source: cache; confirmed-at=...). None for an answer confirmed now."""
        if self.from_cache_confirmed_at is None:
            return {}
        confirmed = self.from_cache_confirmed_at.astimezone(UTC)
        age = max(0, int((datetime.now(UTC) - confirmed).total_seconds()))
        return {ANSWER_SOURCE: f"cache; confirmed-at={confirmed:%Y-%m-%dT%H:%M:%SZ}", "Age": str(age)}


def _wall_time(monotonic: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=time.monotonic() - monotonic)


async def _snapshot(cache: VerificationCache, number: str) -> tuple[Snapshot, datetime | None]:
    """The label's snapshot, and when it was confirmed if it comes from the cache during an outage; raises the
    database's error (answered 503) when no answer can be given."""
    if cache.claim_recheck():
        try:
            await to_thread.run_sync(cache.recheck)
        except SQLAlchemyError as exc:
            if not unavailable(exc):
                raise
    snapshot, generation = cache.get(number)
    now = time.monotonic()
    began = cache.outage_began(now)
    if began is None:
        if snapshot is not None:
            return snapshot, None
        started = time.monotonic()
        try:
            snapshot = await to_thread.run_sync(load_snapshot, number)
        except SQLAlchemyError as exc:
            cache.failed(exc, started)
            raise
        cache.put(snapshot, generation)
        return snapshot, None
    if cache.servable_in_outage(snapshot, began, now):
        return snapshot, _wall_time(cache.confirmed(snapshot))
    raise DatabaseUnavailable("the database does not answer, and no answer confirmed before the outage is cached")


async def answer(number: str, fmt: str, render: Renderer, lang: str = "zh") -> Answer:
    """The rendered answer for a number and whether the label exists. Rendered once per label, verdict, format
    and language; the verdict itself is decided on every request."""
    try:
        canonical = normalise(number)
    except InvalidLabelNumber:
        public = await to_thread.run_sync(_unknown_number, number)
        return Answer(render(public, Verdict.NOT_FOUND, lang), False)
    snapshot, confirmed_at = await _snapshot(verification_cache(), canonical)
    status = snapshot.verdict(today())
    body = snapshot.rendered.get((status, fmt, lang))
    if body is None:
        body = snapshot.rendered[(status, fmt, lang)] = render(
            {"number": snapshot.number, **snapshot.public}, status, lang
        )
    return Answer(body, snapshot.state is not None, confirmed_at)
