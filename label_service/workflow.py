"""The certification workflow and the label's life, as transition tables (CNCA general implementing rules, 2025:
application → inspection/review → decision → certificate; then surveillance: suspension, revocation, expiry).

An application: draft → submitted → under_review → (findings → corrected → under_review …) → approved | rejected;
approved → label_issued. A label: active ⇄ suspended, active | suspended → revoked, active | suspended → expired,
active | suspended → superseded (a newer label of the same product and PCR was issued: one label in force per
product, so a registry and a comparison count each product once). A finding: open → answered (the manufacturer's
answer) → open again (the verifier's reply) … → closed, by the verifier only: a resubmission closes nothing, and an
application is approved only when none of its findings is open or answered (ISO 14065 §9.6: the verification body
evaluates the responses to its findings before it decides).
"""

from enum import StrEnum


class ApplicationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    FINDINGS = "findings"
    CORRECTED = "corrected"
    APPROVED = "approved"
    REJECTED = "rejected"
    LABEL_ISSUED = "label_issued"


class LabelState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


class FindingState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class Party(StrEnum):
    MANUFACTURER = "manufacturer"
    CERTIFICATION_BODY = "certification_body"
    SYSTEM = "system"


A, L, F = ApplicationState, LabelState, FindingState
# action: (allowed from, to, who may do it)
APPLICATION_ACTIONS: dict[str, tuple[frozenset, ApplicationState, Party]] = {
    "submit": (frozenset({A.DRAFT}), A.SUBMITTED, Party.MANUFACTURER),
    "withdraw": (frozenset({A.DRAFT, A.SUBMITTED}), A.REJECTED, Party.MANUFACTURER),
    "start_review": (frozenset({A.SUBMITTED, A.CORRECTED}), A.UNDER_REVIEW, Party.CERTIFICATION_BODY),
    "request_corrections": (frozenset({A.UNDER_REVIEW}), A.FINDINGS, Party.CERTIFICATION_BODY),
    "resubmit": (frozenset({A.FINDINGS}), A.CORRECTED, Party.MANUFACTURER),
    "approve": (frozenset({A.UNDER_REVIEW}), A.APPROVED, Party.CERTIFICATION_BODY),
    "reject": (frozenset({A.UNDER_REVIEW, A.FINDINGS}), A.REJECTED, Party.CERTIFICATION_BODY),
    "issue_label": (frozenset({A.APPROVED}), A.LABEL_ISSUED, Party.CERTIFICATION_BODY),
}
LABEL_ACTIONS: dict[str, tuple[frozenset, LabelState, Party]] = {
    "suspend": (frozenset({L.ACTIVE}), L.SUSPENDED, Party.CERTIFICATION_BODY),
    "reinstate": (frozenset({L.SUSPENDED}), L.ACTIVE, Party.CERTIFICATION_BODY),
    "revoke": (frozenset({L.ACTIVE, L.SUSPENDED}), L.REVOKED, Party.CERTIFICATION_BODY),
    "expire": (frozenset({L.ACTIVE, L.SUSPENDED}), L.EXPIRED, Party.SYSTEM),
    "supersede": (frozenset({L.ACTIVE, L.SUSPENDED}), L.SUPERSEDED, Party.SYSTEM),
}
FINDING_ACTIONS: dict[str, tuple[frozenset, FindingState, Party]] = {
    "answer": (frozenset({F.OPEN, F.ANSWERED}), F.ANSWERED, Party.MANUFACTURER),
    "reply": (frozenset({F.OPEN, F.ANSWERED}), F.OPEN, Party.CERTIFICATION_BODY),  # kept open, with a reply
    "close": (frozenset({F.OPEN, F.ANSWERED}), F.CLOSED, Party.CERTIFICATION_BODY),
}


class IllegalTransition(ValueError):
    """`kind`: "party" (not this caller's step), "state" (not from this state) or "action" (no such step).

    The message is English; `code` (`cert.error.party`, `cert.error.state`, `cert.error.action`) and `params` (what
    the step is about, the action, the state, and the party who may or the states it is allowed from, all codes)
    let an edge word the refusal in its reader's language."""

    def __init__(self, subject: str, action: str, state: str, reason: str, kind: str = "state", **params: object):
        self.action, self.state, self.reason, self.kind = action, state, reason, kind
        self.code = f"cert.error.{kind}"
        self.params = {"subject": SUBJECTS.get(subject, subject), "action": action, "state": str(state), **params}
        super().__init__(f"cannot {action.replace('_', ' ')} a {subject} that is {state.replace('_', ' ')}: {reason}")


SUBJECTS = {"certification application": "application", "label": "label", "finding": "finding"}  # their codes


def _next(table: dict, subject: str, state, action: str, party: Party):
    if action not in table:
        known = list(table)
        raise IllegalTransition(
            subject, action, state, f"unknown action (one of {', '.join(known)})", "action", known=known
        )
    sources, target, actor = table[action]
    if party is not actor:
        reason = f"only the {actor.value.replace('_', ' ')} may"
        raise IllegalTransition(subject, action, state, reason, "party", party=actor.value)
    if state not in sources:
        allowed = [s.value for s in type(target) if s in sources]  # in the order of the workflow
        raise IllegalTransition(subject, action, state, f"allowed from {', '.join(allowed)}", allowed=allowed)
    return target


def next_application_state(state: ApplicationState, action: str, party: Party) -> ApplicationState:
    return _next(APPLICATION_ACTIONS, "certification application", state, action, party)


def next_label_state(state: LabelState, action: str, party: Party) -> LabelState:
    return _next(LABEL_ACTIONS, "label", state, action, party)


def next_finding_state(state: FindingState, action: str, party: Party) -> FindingState:
    return _next(FINDING_ACTIONS, "finding", state, action, party)
