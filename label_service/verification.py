"""What a verifier is told about a label: one word, then the claim."""

from datetime import date
from enum import StrEnum

from label_service.workflow import LabelState


class Verdict(StrEnum):
    VALID = "VALID"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    SUPERSEDED = "SUPERSEDED"
    NOT_FOUND = "NOT_FOUND"


def verdict(state: LabelState | None, expires_on: date | None, today: date) -> Verdict:
    """Revocation, supersession and suspension take effect at once; validity ends after the expiry date even
    before the housekeeping task has marked the label expired."""
    if state is None:
        return Verdict.NOT_FOUND
    if state is LabelState.REVOKED:
        return Verdict.REVOKED
    if state is LabelState.SUPERSEDED:
        return Verdict.SUPERSEDED
    if state is LabelState.EXPIRED or (expires_on is not None and today > expires_on):
        return Verdict.EXPIRED
    if state is LabelState.SUSPENDED:
        return Verdict.SUSPENDED
    return Verdict.VALID
