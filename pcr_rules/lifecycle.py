"""The life of a PCR version, as transition tables (the form of label_service.workflow).

A version: draft (seen only by its standards body; its authors submit it) → consultation (a stated period: any
signed-in user comments on a section or an item) → review (the committee's chair answers every comment: accepted,
or rejected with a reason) → published (immutable from then on) → superseded by a newer version of the same PCR, or expired at its validity
end; the chair may withdraw a version at any stage before that. ISO 14025:2006 asks the same of a programme's PCRs:
prepared in an open consultation with interested parties, the comments and their answers documented, and a stated
period of validity.

A published version applies to the inventories whose reference period ends within its validity (`effective_from`
.. `valid_until`); once superseded, only to those ending by the transition end its successor stated, so a manufacturer
finishing a year under the old rule may still submit it. A version that expired or was withdrawn certifies nothing
new; labels already issued under it keep their own validity.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from pcr_rules.errors import FieldError


class PCRState(StrEnum):
    DRAFT = "draft"
    CONSULTATION = "consultation"
    REVIEW = "review"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class CommentState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Party(StrEnum):
    AUTHOR = "author"  # a PCR author of the standards body that issues the version (its chair is one too)
    CHAIR = "chair"  # the chair of that body's committee
    PARTICIPANT = "participant"  # anyone signed in: the public of a consultation
    SYSTEM = "system"  # the service itself (a successor published, a validity ended)


S, C = PCRState, CommentState
EVER_PUBLISHED = frozenset({S.PUBLISHED, S.SUPERSEDED, S.EXPIRED})  # and WITHDRAWN when it was published first
# action: (allowed from, to, who may do it). The authors submit their draft for consultation (the chair, an author
# too, may as well); closing it, answering the comments and publishing are the chair's.
VERSION_ACTIONS: dict[str, tuple[frozenset, PCRState, Party]] = {
    "open_consultation": (frozenset({S.DRAFT}), S.CONSULTATION, Party.AUTHOR),
    "close_consultation": (frozenset({S.CONSULTATION}), S.REVIEW, Party.CHAIR),
    "publish": (frozenset({S.REVIEW}), S.PUBLISHED, Party.CHAIR),
    "withdraw": (frozenset({S.DRAFT, S.CONSULTATION, S.REVIEW, S.PUBLISHED, S.SUPERSEDED}), S.WITHDRAWN, Party.CHAIR),
    "supersede": (frozenset({S.PUBLISHED}), S.SUPERSEDED, Party.SYSTEM),
    "expire": (frozenset({S.PUBLISHED, S.SUPERSEDED}), S.EXPIRED, Party.SYSTEM),
}
# work on a version that leaves its state as it is: (allowed in, who may do it)
VERSION_WORK: dict[str, tuple[frozenset, Party]] = {
    "revise": (frozenset({S.DRAFT, S.REVIEW}), Party.AUTHOR),  # replace the document; review works in the answers
    "comment": (frozenset({S.CONSULTATION}), Party.PARTICIPANT),
    "answer": (frozenset({S.REVIEW}), Party.CHAIR),
}
# an answer may be changed until the version is published (the audit trail keeps every one)
COMMENT_ACTIONS: dict[str, tuple[frozenset, CommentState, Party]] = {
    "accept": (frozenset(C), C.ACCEPTED, Party.CHAIR),
    "reject": (frozenset(C), C.REJECTED, Party.CHAIR),
}


class IllegalTransition(ValueError):
    """`kind`: "party" (not this caller's step), "state" (not from this state) or "action" (no such step).

    The message is English; `code` (`pcr.error.party`, `pcr.error.state`, `pcr.error.action`) and `params` (the
    action, the state, and the party who may or the states it is allowed in, all codes) let an edge word the refusal
    in its reader's language."""

    def __init__(self, subject: str, action: str, state: str, reason: str, kind: str = "state", **params: object):
        self.action, self.state, self.reason, self.kind = action, state, reason, kind
        self.code = f"pcr.error.{kind}"
        self.params = {"action": action, "state": str(state), **params}
        super().__init__(f"cannot {action.replace('_', ' ')} a {subject} that is {state.replace('_', ' ')}: {reason}")


def _allowed(subject: str, state, action: str, sources: frozenset, actor: Party, parties: frozenset) -> None:
    if actor not in parties:
        reason = f"only the {actor.value.replace('_', ' ')} may"
        raise IllegalTransition(subject, action, state, reason, "party", party=actor.value)
    if state not in sources:
        allowed = sorted(s.value for s in sources)
        raise IllegalTransition(subject, action, state, f"allowed in {', '.join(allowed)}", allowed=allowed)


def next_version_state(state: PCRState, action: str, parties: frozenset[Party]) -> PCRState:
    """The state after `action` by someone acting as `parties` (a chair acts as an author too)."""
    if action not in VERSION_ACTIONS:
        known = ", ".join(VERSION_ACTIONS)
        raise IllegalTransition(
            "PCR version", action, state, f"unknown action (one of {known})", "action", known=list(VERSION_ACTIONS)
        )
    sources, target, actor = VERSION_ACTIONS[action]
    _allowed("PCR version", state, action, sources, actor, parties)
    return target


def check_work(state: PCRState, work: str, parties: frozenset[Party]) -> None:
    sources, actor = VERSION_WORK[work]
    _allowed("PCR version", state, work, sources, actor, parties)


def next_comment_state(state: CommentState, action: str, parties: frozenset[Party]) -> CommentState:
    if action not in COMMENT_ACTIONS:
        known = ", ".join(COMMENT_ACTIONS)
        raise IllegalTransition(
            "comment", action, state, f"unknown answer (one of {known})", "action", known=list(COMMENT_ACTIONS)
        )
    sources, target, actor = COMMENT_ACTIONS[action]
    _allowed("comment", state, action, sources, actor, parties)
    return target


# Semantic versions (semver.org 2.0.0: MAJOR.MINOR.PATCH); a PCR version is a release, so no pre-release part. The
# numbers are bounded (four digits) so that they fit any integer column.
SEMVER = r"^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$"
_SEMVER = re.compile(SEMVER)


def semver(version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of '1.2.0'; ValueError naming the form otherwise."""
    found = _SEMVER.match(version or "")
    if found is None:
        raise ValueError(f"{version!r} is not a version MAJOR.MINOR.PATCH (e.g. 1.2.0; numbers up to 9999)")
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


@dataclass(frozen=True)
class Validity:
    """When a version applies: its state and dates, as the registry stores them."""

    pcr_id: str
    version: str
    state: PCRState
    effective_from: date | None
    valid_until: date | None
    transition_until: date | None = None
    superseded_by: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.pcr_id} {self.version}"

    @property
    def applies_until(self) -> date | None:
        """The last day a reference period may end on: the transition end once superseded (never past validity)."""
        if self.state is S.SUPERSEDED and self.transition_until is not None:
            return min(self.transition_until, self.valid_until) if self.valid_until else self.transition_until
        return self.valid_until

    def refusal_for_period(self, end: date) -> str | None:
        """Why an inventory whose reference period ends on `end` may not follow this version; None if it may."""
        if self.state is S.WITHDRAWN:
            return f"{self.ref} was withdrawn"
        if self.state not in EVER_PUBLISHED or self.effective_from is None:
            return f"{self.ref} is not published"
        if end < self.effective_from:
            return (
                f"{self.ref} applies to reference periods ending on or after {self.effective_from.isoformat()}; "
                f"this one ends {end.isoformat()}"
            )
        until = self.applies_until
        if until is not None and end > until:
            if self.state is S.SUPERSEDED:
                return (
                    f"{self.ref} was superseded by {self.superseded_by}; its transition period covers reference "
                    f"periods ending up to {until.isoformat()}, this one ends {end.isoformat()}"
                )
            return (
                f"{self.ref} applies to reference periods ending up to {until.isoformat()}; "
                f"this one ends {end.isoformat()}"
            )
        return None

    def expired_on(self, today: date) -> bool:
        return self.state is S.EXPIRED or (self.valid_until is not None and today > self.valid_until)

    def refusal_for_certification(self, today: date) -> str | None:
        """Why nothing may be certified under this version today (expired or withdrawn); None if it may."""
        if self.state is S.WITHDRAWN:
            return f"{self.ref} was withdrawn; nothing is certified under it"
        if self.state not in EVER_PUBLISHED:
            return f"{self.ref} is not published"
        if self.expired_on(today):
            return f"{self.ref} expired on {self.valid_until.isoformat() if self.valid_until else 'its validity end'}"
        return None

    def in_force_on(self, day: date) -> bool:
        """Published (or superseded, within its transition) and within its dates on `day`: what a new inventory
        form offers."""
        if self.state not in (S.PUBLISHED, S.SUPERSEDED) or self.effective_from is None:
            return False
        until = self.applies_until
        return self.effective_from <= day and (until is None or day <= until)

    def status_on(self, day: date) -> PCRState:
        """The state as a reader should see it today (a validity end passes before the housekeeping notices)."""
        return S.EXPIRED if self.state in (S.PUBLISHED, S.SUPERSEDED) and self.expired_on(day) else self.state


def publication_problems(
    effective_from: date | None, valid_until: date | None, transition_until: date | None, today: date
) -> list[FieldError]:
    """The dates a chair gives when publishing: an effective date, a validity end after it and not yet past, and a
    transition end (for the versions this one supersedes) not before the new version takes effect."""
    problems = []
    if effective_from is None:
        problems.append(FieldError("effective_from", "required to publish", "pcr.error.required"))
    if valid_until is None:
        problems.append(FieldError("valid_until", "required to publish", "pcr.error.required"))
    elif valid_until < today:
        problems.append(FieldError("valid_until", f"already past ({valid_until.isoformat()})", "pcr.error.past"))
    if effective_from and valid_until and valid_until <= effective_from:
        problems.append(FieldError("valid_until", "must be after effective_from", "pcr.error.valid_after"))
    if effective_from and transition_until and transition_until < effective_from - timedelta(days=1):
        reason = "must not end before the day before effective_from (no gap between versions)"
        problems.append(FieldError("transition_until", reason, "pcr.error.transition_gap"))
    return problems


def default_transition_until(effective_from: date) -> date:
    """Without a stated transition, the earlier version covers reference periods ending up to the day before the new
    one takes effect: no gap and no overlap."""
    return effective_from - timedelta(days=1)
