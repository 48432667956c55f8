"""Product category rules as data with a life cycle (pcr_rules.lifecycle): a standards body drafts a version, anyone
signed in comments during a stated consultation, the committee's chair answers every comment and publishes; from
then on the version is immutable and the service applies it only where it is in force.

Every step is one transaction with its audit entry. A step that changes the published set (publish, supersede,
expire, withdraw) raises the registry's generation in the same transaction, which is how every other process learns
that its listing of versions in force is stale (services.pcrs.source).
"""

import copy
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from pydantic import ValidationError
from sqlalchemy import and_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from footprint_api.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PCRNotInForce,
    ServiceError,
    Unprocessable,
)
from footprint_api.core.messages import Catalogue
from footprint_api.infra.security import Principal
from footprint_api.persistence.models import (
    Organisation,
    OrganisationKind,
    PCRComment,
    PCRRegistryState,
    PCRVersion,
    ProductCategoryRule,
    Role,
    utcnow,
)
from footprint_api.services import audit
from footprint_api.services.pcrs.source import today_utc, validity
from footprint_api.services.principals import actor
from lca_models.config import LCASettings
from lca_models.factor_set import load_factor_set
from pcr_rules.errors import FieldError, PCRNotFound
from pcr_rules.formulas import CATALOGUE
from pcr_rules.lifecycle import (
    VERSION_ACTIONS,
    VERSION_WORK,
    CommentState,
    IllegalTransition,
    Party,
    PCRState,
    check_work,
    default_transition_until,
    next_comment_state,
    next_version_state,
    publication_problems,
    semver,
)
from pcr_rules.models import PCR

AUTHOR_ROLES = (Role.PCR_AUTHOR, Role.PCR_CHAIR)
MAX_DOCUMENT_BYTES = 1024 * 1024  # a PCR document (the largest seed is ~12 KiB)
MAX_COMMENT_CHARS = 4000
MAX_REASON_CHARS = 4000
MAX_PATH_CHARS = 200
PCR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,99}$")
# a section or an item of the document: `electricity`, `items[alumina]`, `items[alumina].parameters[purity]`
COMMENT_PATH = re.compile(r"^[a-z_]+(\[[^\[\]]{1,100}\])?(\.[a-z_]+(\[[^\[\]]{1,100}\])?)*$")
GENERAL = "general"  # a comment on the version as a whole
AUTHORED = "authored"  # PCRVersion.source of a version written here (else: the seed file it was loaded from)


def field_errors(problems: list[FieldError]) -> list[dict]:
    """As problem responses list them; `code` (when the check gives one) lets a page word it in its language."""
    return [
        {"field": p.loc, "reason": p.message, **({"code": p.code} if getattr(p, "code", "") else {})} for p in problems
    ]


# --- refusals, with a code a page words in its reader's language ------------------------------------------------
# Every refusal of this module carries a code (a message of core/locales/*/pcr.yaml, `pcr.error.*`) and its
# parameters, beside the English wording the JSON API answers with: the exception's `code` / `params`, and each of
# its `errors` its own `code` / `params`.


def _error(field: str, code: str, reason: str, **params: object) -> dict:
    """One field's refusal: the English reason, its code and, when it has any, its parameters (JSON values)."""
    return {"field": field, "reason": reason, "code": code, **({"params": params} if params else {})}


def _refusal(
    kind: type[ServiceError], code: str, detail: str, field: str, reason: str = "", **params: object
) -> ServiceError:
    """A refusal naming one field: `detail` for the whole, `reason` (default: the detail) at the field."""
    return kind(detail, [_error(field, code, reason or detail, **params)], code=code, params=params)


# parameters of a refusal that are codes themselves, and where the catalogue names them
WORDED_PARAMS = {"state": "pcr.status", "allowed": "pcr.status", "action": "pcr.action", "party": "pcr.party"}


def _worded(t: Catalogue, name: str, value: object) -> str:
    if isinstance(value, list):
        return ("、" if t.lang == "zh" else ", ").join(f"“{_worded(t, name, v)}”" for v in value)
    prefix = WORDED_PARAMS.get(name)
    return t.messages.get(f"{prefix}.{value}", str(value)) if prefix else str(value)


def reason_in(t: Catalogue, code: str, params: dict | None = None, english: str = "") -> str:
    """A refusal in the reader's language: the message of its code filled with its parameters (those that are
    codes by their names); the English wording where the catalogue has no message for the code."""
    if not code or code not in t.messages:
        return english
    return t(code, **{name: _worded(t, name, value) for name, value in (params or {}).items()})


def refusal_in(t: Catalogue, exc: ServiceError) -> str:
    """The refusal as a whole, in the reader's language."""
    return reason_in(t, exc.code, exc.params, exc.detail)


def field_reasons_in(t: Catalogue, exc: ServiceError) -> dict[str, str]:
    """The reason at each field the refusal names, in the reader's language (the first, where a field has several)."""
    reasons: dict[str, str] = {}
    for error in exc.errors:
        field = str(error.get("field", ""))
        reasons.setdefault(
            field, reason_in(t, error.get("code", ""), error.get("params"), str(error.get("reason", "")))
        )
    return reasons


def _ref(row: PCRVersion) -> str:
    return f"{row.pcr_id}@{row.version}"


# --- who may see and do what --------------------------------------------------------------------------------------


def issuer_id(session: Session, row: PCRVersion) -> uuid.UUID | None:
    """The standards body a version belongs to: its authors', or for a seeded version the PCR's steward."""
    if row.organisation_id is not None:
        return row.organisation_id
    family = session.get(ProductCategoryRule, row.pcr_id)
    return family.steward_id if family else None


def parties(session: Session, principal: Principal | None, row: PCRVersion) -> frozenset[Party]:
    """As whom the caller acts on this version: anyone signed in is a participant; the issuer's authors and chair."""
    if principal is None:
        return frozenset()
    found = {Party.PARTICIPANT}
    if principal.role in AUTHOR_ROLES and principal.organisation_id == issuer_id(session, row):
        found.add(Party.AUTHOR)
        if principal.role is Role.PCR_CHAIR:
            found.add(Party.CHAIR)
    return frozenset(found)


def _visible(session: Session, principal: Principal | None, row: PCRVersion) -> bool:
    """Published versions (whatever became of them since) are public; a consultation and its review are open to
    anyone signed in; a draft only to its own standards body."""
    if row.published_at is not None:
        return True
    if principal is None:
        return False
    if principal.organisation_id == issuer_id(session, row):
        return True
    return row.state in (PCRState.CONSULTATION, PCRState.REVIEW)


def visible_version(session: Session, principal: Principal | None, pcr_id: str, version: str) -> PCRVersion:
    row = session.exec(select(PCRVersion).where(PCRVersion.pcr_id == pcr_id, PCRVersion.version == version)).first()
    if row is None or not _visible(session, principal, row):
        # the caller's own words are not echoed
        raise NotFound("no such PCR version visible to you", code="pcr.error.not_found")
    return row


def refused(exc: IllegalTransition, field: str) -> ServiceError:
    """An illegal step as an answer: not the caller's to take (403), not from this state (409), no such step (422)."""
    kind = {"party": Forbidden, "action": Unprocessable}.get(exc.kind, Conflict)
    return _refusal(kind, exc.code, str(exc), field, exc.reason, **exc.params)


def _step(session: Session, principal: Principal, row: PCRVersion, action: str) -> PCRState:
    try:
        return next_version_state(PCRState(row.state), action, parties(session, principal, row))
    except IllegalTransition as exc:
        raise refused(exc, "action") from None


def _work(session: Session, principal: Principal, row: PCRVersion, work: str, field: str) -> None:
    try:
        check_work(PCRState(row.state), work, parties(session, principal, row))
    except IllegalTransition as exc:
        raise refused(exc, field) from None


def _require_author(principal: Principal) -> None:
    if principal.role not in AUTHOR_ROLES:
        raise Forbidden(
            f"role {principal.role.value} does not write PCRs",
            code="pcr.error.not_author",
            params={"role": principal.role.value},
        )


# --- the names a PCR may use -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """The names a PCR may use (what the full check accepts): the engine's factor set and the formula catalogue."""

    factor_set: str
    activities: tuple[tuple[str, str, str], ...]  # code, name, unit
    fuels: tuple[tuple[str, str, str], ...]  # key, label, unit
    constants: dict[str, tuple[str, ...]]  # factor-set section a formula setting names -> its keys
    technologies: tuple[str, ...]

    def fuel_unit(self, key: str) -> str | None:
        return next((unit for fuel, _, unit in self.fuels if fuel == key), None)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """Read once per process: the factor set is a versioned data file, fixed while the service runs."""
    factor_set = load_factor_set(LCASettings().factor_set)
    return Vocabulary(
        factor_set=factor_set.id,
        activities=_item_activities(factor_set),
        fuels=tuple(
            (key, str(fuel.get("label", key)), str(fuel.get("unit", ""))) for key, fuel in factor_set.fuels.items()
        ),
        constants=_setting_constants(factor_set),
        technologies=tuple(k for k in factor_set.technology if k != "transmission_distribution"),
    )


def _item_activities(factor_set) -> tuple[tuple[str, str, str], ...]:
    """The background activities an item may name: not the yearly copies (`code@year`) nor the grid factors."""
    return tuple(
        (code, activity.name, activity.unit)
        for code, activity in factor_set.activities.items()
        if "@" not in code and not code.startswith("electricity-")  # yearly copies and grid factors: not for items
    )


def _setting_constants(factor_set) -> dict[str, tuple[str, ...]]:
    """The keys of each factor-set section a constant setting of the catalogue names."""
    sections = {s.section for spec in CATALOGUE for s in spec.settings if s.kind == "constant" and s.section}
    return {
        section: tuple(factor_set.fuels if section == "fuels" else (factor_set.process.get(section) or {}))
        for section in sections
    }


# --- the document -------------------------------------------------------------------------------------------------


def check_document(document: dict) -> list[FieldError]:
    """Every problem of a PCR document, by field path. `lca_models.pcr_check.check_pcr` checks the language in full
    (the formulas, the factor-set references); until it is installed, the PCR schema alone."""
    try:
        from lca_models.pcr_check import check_pcr
    except ModuleNotFoundError as exc:
        if exc.name != "lca_models.pcr_check":
            raise
        return _schema_problems(document)
    return list(check_pcr(document))


def _schema_problems(document: dict) -> list[FieldError]:
    try:
        PCR.model_validate(document)
    except ValidationError as exc:
        return [FieldError(_path(e["loc"]), e["msg"]) for e in exc.errors()]
    return []


def _path(loc) -> str:
    """('items', 2, 'unit') -> 'items[2].unit', as the inventory checks name fields."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(document)"


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number a PCR may hold")


def _too_large() -> ServiceError:
    kib = MAX_DOCUMENT_BYTES // 1024
    detail, reason = f"a PCR document is at most {kib} KiB", f"larger than {MAX_DOCUMENT_BYTES} bytes"
    return _refusal(PayloadTooLarge, "pcr.error.too_large", detail, "document", reason, max_kib=kib)


def parse_document(raw: bytes) -> dict:
    """A document sent as JSON: at most 1 MiB, an object, finite numbers only, nesting a parser can follow."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise _too_large()
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise _refusal(
            Unprocessable, "pcr.error.not_json", "the document is not valid JSON", "document", reason
        ) from None
    if not isinstance(document, dict):
        raise _refusal(
            Unprocessable, "pcr.error.not_object", "a PCR document is a JSON object", "document", "not an object"
        )
    return document


def _digest(document: dict) -> tuple[str, int]:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(text).hexdigest(), len(text)


def _check_identity(document: dict, pcr_id: str, version: str) -> None:
    errors = [
        _error(field, "pcr.error.identity", f"must be {expected!r}, as the version's address says", expected=expected)
        for field, expected in (("id", pcr_id), ("version", version))
        if document.get(field) != expected
    ]
    if errors:
        raise Unprocessable("the document names another PCR or version", errors, code="pcr.error.identity_mismatch")


# --- drafts -------------------------------------------------------------------------------------------------------


def _semver(version: str) -> tuple[int, int, int]:
    try:
        return semver(version)
    except ValueError as exc:
        raise _refusal(Unprocessable, "pcr.error.semver", str(exc), "version", version=version) from None


def _versions(session: Session, pcr_id: str) -> list[PCRVersion]:
    return list(session.exec(select(PCRVersion).where(PCRVersion.pcr_id == pcr_id)))


def _key(row: PCRVersion) -> tuple[int, int, int]:
    return row.major, row.minor, row.patch


def latest_published(session: Session, pcr_id: str) -> PCRVersion | None:
    """The newest version ever published and not withdrawn: what a new draft starts as a copy of."""
    rows = [r for r in _versions(session, pcr_id) if r.published_at is not None and r.state != PCRState.WITHDRAWN.value]
    return max(rows, key=_key, default=None)


def _refuse_not_newer(session: Session, pcr_id: str, version: str) -> None:
    published = [r for r in _versions(session, pcr_id) if r.published_at is not None]
    newest = max(published, key=_key, default=None)
    if newest is not None and _semver(version) <= _key(newest):
        reason = f"must be newer than {newest.version}, the newest version of {pcr_id} published"
        raise _refusal(Unprocessable, "pcr.error.not_newer", reason, "version", newest=newest.version, pcr_id=pcr_id)


def _check_pcr_id(pcr_id: str) -> None:
    if not PCR_ID.match(pcr_id or ""):
        reason = "3 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        raise _refusal(
            Unprocessable, "pcr.error.pcr_id", f"{pcr_id!r} is not a PCR id", "pcr_id", reason, pcr_id=pcr_id
        )


def _check_steward(family: ProductCategoryRule | None, principal: Principal, pcr_id: str) -> None:
    """The versions of an existing PCR are written by its steward alone."""
    if family is not None and family.steward_id != principal.organisation_id:
        detail = f"the versions of {pcr_id} are written by another standards body"
        raise Forbidden(detail, code="pcr.error.other_body", params={"pcr_id": pcr_id})


def _starting_point(session: Session, pcr_id: str, start_from: str) -> PCRVersion | None:
    """The published version a draft copies (`"latest"`), or None for an empty document."""
    if start_from != "latest":
        return None
    base = latest_published(session, pcr_id)
    if base is None:
        reason = f"{pcr_id} has no published version to start from; start from an empty document"
        raise _refusal(Unprocessable, "pcr.error.no_published", reason, "start_from", pcr_id=pcr_id)
    return base


def _insert_draft(session: Session, principal: Principal, family: ProductCategoryRule | None, row: PCRVersion) -> None:
    """The draft (and a new PCR with the caller's body as its steward) in one transaction with its audit entry."""
    try:
        if family is None:  # a new PCR: the body that drafts its first version writes its versions
            session.add(ProductCategoryRule(id=row.pcr_id, steward_id=principal.organisation_id))
            session.flush()
        session.add(row)
        audit.commit(session)
    except IntegrityError:  # the same version created meanwhile (or the same new PCR id by another body)
        session.rollback()
        session.info.pop("audit", None)
        detail = f"{row.pcr_id} version {row.version} exists"
        raise _refusal(
            Conflict, "pcr.error.exists", detail, "version", "exists already", pcr_id=row.pcr_id, version=row.version
        ) from None


def create_draft(
    session: Session, principal: Principal, pcr_id: str, version: str, start_from: str = "latest"
) -> PCRVersion:
    """A new version in draft, of the caller's standards body: a copy of the latest published version of the PCR
    (`start_from="latest"`), or an empty document (`"empty"`; a new PCR id starts so, and the body becomes its
    steward)."""
    _require_author(principal)
    _check_pcr_id(pcr_id)
    major, minor, patch = _semver(version)
    family = session.get(ProductCategoryRule, pcr_id)
    _check_steward(family, principal, pcr_id)
    _refuse_not_newer(session, pcr_id, version)
    base = _starting_point(session, pcr_id, start_from)
    document = copy.deepcopy(base.document) if base else {}
    document.update({"id": pcr_id, "version": version})
    row = PCRVersion(
        pcr_id=pcr_id,
        version=version,
        major=major,
        minor=minor,
        patch=patch,
        document=document,
        organisation_id=principal.organisation_id,
        based_on=base.version if base else None,
        created_by=principal.subject,
    )
    audit.record(
        session,
        actor(principal),
        "pcr.draft_created",
        "pcr_version",
        _ref(row),
        after={"state": row.state, "based_on": row.based_on, "sha256": _digest(document)[0]},
    )
    _insert_draft(session, principal, family, row)
    return row


def replace_document(
    session: Session, principal: Principal, pcr_id: str, version: str, document: dict
) -> tuple[PCRVersion, list[FieldError]]:
    """The authors' new text of a draft (or, in review, with the accepted comments worked in). Returns the version
    and the problems the full check finds now: they do not stop a draft, they stop it leaving draft."""
    row = visible_version(session, principal, pcr_id, version)
    _work(session, principal, row, "revise", "document")
    _check_identity(document, pcr_id, version)
    digest, size = _digest(document)
    if size > MAX_DOCUMENT_BYTES:
        raise _too_large()
    before = _digest(row.document)[0]
    row.document, row.updated_at = document, utcnow()
    session.add(row)
    audit.record(
        session,
        actor(principal),
        "pcr.document_replaced",
        "pcr_version",
        _ref(row),
        before={"sha256": before},
        after={"sha256": digest, "bytes": size, "state": row.state},
        organisation_id=issuer_id(session, row),
    )
    audit.commit(session)
    return row, check_document(document)


def previous_version(session: Session, row: PCRVersion) -> PCRVersion | None:
    """The version this one revises, which its changes are listed against: the one it was drafted as a copy of
    (`based_on`), else the newest earlier version of the same PCR that was published and not withdrawn (the seeded
    versions, and a draft started empty, name no base). None for the first version."""
    if row.based_on is not None:
        return session.exec(
            select(PCRVersion).where(PCRVersion.pcr_id == row.pcr_id, PCRVersion.version == row.based_on)
        ).first()
    earlier = [
        r
        for r in _versions(session, row.pcr_id)
        if r.published_at is not None and r.state != PCRState.WITHDRAWN.value and _key(r) < _key(row)
    ]
    return max(earlier, key=_key, default=None)


def base_documents(
    session: Session, principal: Principal | None, pcr_id: str, version: str
) -> tuple[dict | None, dict]:
    """The document of the previous version (`previous_version`; None for the first) and the version's own: the
    pair a diff compares."""
    row = visible_version(session, principal, pcr_id, version)
    base = previous_version(session, row)
    return (base.document if base else None), row.document


def changes_from_base(session: Session, principal: Principal | None, pcr_id: str, version: str) -> list | None:
    """What changed from the previous version (`previous_version`, `pcr_rules.diff`), None when no changes can be
    computed: for the first version, while either side is not yet a valid PCR (a draft being written), or while
    the diff is not installed. For the authors' page and, later, the API."""
    base, own = base_documents(session, principal, pcr_id, version)
    try:
        from pcr_rules.diff import diff
    except ModuleNotFoundError as exc:
        if exc.name != "pcr_rules.diff":
            raise
        return None
    if base is None:
        return None
    try:
        return diff(base, own)
    except ValidationError:  # the diff reads both sides as PCRs: a draft that is not one yet has no changes to list
        return None


def record_view(session: Session, principal: Principal | None, pcr_id: str, version: str):
    """The version's life-cycle record as the PCR document (exports.pcr_document) prints it: status, issuer, dates,
    the comment log with its answers, and the rules it revises."""
    from footprint_api.exports.pcr_document import PcrComment, PcrRecordView

    view = version_view(session, principal, pcr_id, version)
    base, _ = base_documents(session, principal, pcr_id, version)
    return PcrRecordView(
        status=view["status"],
        issuer_name=view["issuer"]["name"] if view["issuer"] else "",
        seeded=view["issuer"] is None and view["source"] != AUTHORED,
        published_at=view["published_at"].date() if view["published_at"] else None,
        effective_from=view["effective_from"],
        valid_until=view["valid_until"],
        superseded_by=view["superseded_by"],
        transition_until=view["transition_until"],
        comments=[
            PcrComment(
                c["path"], c["text"], c["organisation"], None if c["state"] == "open" else c["state"], c["answer"] or ""
            )
            for c in view["comments"]
        ],
        previous_version=base,
    )


# --- consultation and review --------------------------------------------------------------------------------------


def _move(
    session: Session,
    principal: Principal,
    row: PCRVersion,
    action: str,
    target: PCRState,
    details: dict,
    who: audit.Actor | None = None,
) -> None:
    before = row.state
    row.state, row.updated_at = target.value, utcnow()
    row.state_changed_at = row.updated_at
    session.add(row)
    audit.record(
        session,
        who or actor(principal),
        f"pcr.{action}",
        "pcr_version",
        _ref(row),
        before={"state": before},
        after={"state": target.value, **details},
        organisation_id=issuer_id(session, row),
    )


def _refuse_problems(row: PCRVersion) -> None:
    problems = check_document(row.document)
    if problems:
        raise Unprocessable(
            f"{row.pcr_id} {row.version} does not satisfy the PCR language: {len(problems)} problem(s)",
            field_errors(problems),
            code="pcr.error.not_clean",
            params={"pcr_id": row.pcr_id, "version": row.version, "count": len(problems)},
        )


def open_consultation(
    session: Session, principal: Principal, pcr_id: str, version: str, until: date | None, today: date | None = None
) -> PCRVersion:
    """The draft, checked in full, goes out for public comment until `until` (inclusive)."""
    today = today or today_utc()
    row = visible_version(session, principal, pcr_id, version)
    target = _step(session, principal, row, "open_consultation")
    if until is None:
        detail = "a consultation states its end"
        raise _refusal(Unprocessable, "pcr.error.required", detail, "consultation_until", "required")
    if until < today:
        reason = f"already past ({until.isoformat()})"
        detail = f"the consultation would end {reason}"
        raise _refusal(Unprocessable, "pcr.error.past", detail, "consultation_until", reason, date=until.isoformat())
    _refuse_problems(row)
    row.consultation_until = until
    _move(session, principal, row, "open_consultation", target, {"consultation_until": until.isoformat()})
    audit.commit(session)
    return row


def close_consultation(
    session: Session, principal: Principal, pcr_id: str, version: str, today: date | None = None
) -> PCRVersion:
    """After the stated period: the comments go to review (the period is not cut short)."""
    today = today or today_utc()
    row = visible_version(session, principal, pcr_id, version)
    target = _step(session, principal, row, "close_consultation")
    if row.consultation_until is not None and today <= row.consultation_until:
        until = row.consultation_until.isoformat()
        reason = f"the consultation runs until {until}"
        raise _refusal(Conflict, "pcr.error.consultation_running", reason, "consultation_until", until=until)
    comments = len(comments_of(session, row))
    _move(session, principal, row, "close_consultation", target, {"comments": comments})
    audit.commit(session)
    return row


def _check_path_form(path: str) -> None:
    if len(path) > MAX_PATH_CHARS or not COMMENT_PATH.match(path):
        reason = "a section or item of the PCR, e.g. `electricity` or `items[alumina]` (`general`: the whole)"
        raise _refusal(Unprocessable, "pcr.error.path", f"{path[:80]!r} names no part of the PCR", "path", reason)


def _check_section(name: str) -> None:
    if name != GENERAL and name not in PCR.model_fields:
        reason = f"{name!r} is not a section of a PCR"
        raise _refusal(Unprocessable, "pcr.error.no_section", reason, "path", section=name)


def _check_item(row: PCRVersion, wanted: str) -> None:
    """An item of this version, by its id (or its position, as the inventory checks name items)."""
    items = row.document.get("items", [])
    item_ids = {i.get("id") for i in items if isinstance(i, dict)}
    if wanted not in item_ids and not (wanted.isdigit() and int(wanted) < len(items)):
        reason = f"this version has no item {wanted!r}"
        raise _refusal(Unprocessable, "pcr.error.no_item", reason, "path", item=wanted)


def _check_path(row: PCRVersion, path: str) -> str:
    """The part of the version a comment names: a section, or one of its items (and a part of that)."""
    path = (path or "").strip()
    _check_path_form(path)
    name, _, key = path.split(".", 1)[0].partition("[")
    _check_section(name)
    if name == "items" and key:
        _check_item(row, key.rstrip("]"))
    return path


def _text(value: str, field: str, limit: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _refusal(Unprocessable, "pcr.error.required", f"{field} is required", field, "required")
    if len(value) > limit:
        reason = f"at most {limit} characters"
        raise _refusal(Unprocessable, "pcr.error.too_long", f"{field}: {reason}", field, reason, max=limit)
    return value


def comment(
    session: Session,
    principal: Principal,
    pcr_id: str,
    version: str,
    path: str,
    text: str,
    today: date | None = None,
) -> PCRComment:
    """A signed-in user's comment on one section or item, during the consultation period."""
    today = today or today_utc()
    row = visible_version(session, principal, pcr_id, version)
    _work(session, principal, row, "comment", "path")
    if row.consultation_until is not None and today > row.consultation_until:
        until = row.consultation_until.isoformat()
        reason = f"the consultation ended on {until}"
        raise _refusal(Conflict, "pcr.error.consultation_ended", reason, "consultation_until", until=until)
    path = _check_path(row, path)
    text = _text(text, "text", MAX_COMMENT_CHARS)
    note = PCRComment(
        version_id=row.id, path=path, text=text, author_id=principal.subject, organisation_id=principal.organisation_id
    )
    session.add(note)
    audit.record(
        session,
        actor(principal),
        "pcr.comment",
        "pcr_version",
        _ref(row),
        after={"comment_id": str(note.id), "path": path, "text": text},
    )
    audit.commit(session)
    return note


ANSWERS = {"accepted": "accept", "rejected": "reject"}


def answer(
    session: Session,
    principal: Principal,
    pcr_id: str,
    version: str,
    comment_id: uuid.UUID,
    decision: str,
    reason: str = "",
) -> PCRComment:
    """The chair's answer during review: accepted (the authors work it into the document), or rejected with the
    reason, which is published with the version."""
    row = visible_version(session, principal, pcr_id, version)
    _work(session, principal, row, "answer", "decision")
    note = session.get(PCRComment, comment_id)
    if note is None or note.version_id != row.id:
        raise NotFound("no such comment on this version", code="pcr.error.no_comment")
    if decision not in ANSWERS:
        detail = "an answer accepts or rejects"
        raise _refusal(Unprocessable, "pcr.error.decision", detail, "decision", "accepted or rejected")
    try:
        target = next_comment_state(CommentState(note.state), ANSWERS[decision], parties(session, principal, row))
    except IllegalTransition as exc:
        raise refused(exc, "decision") from None
    reason = _text(reason, "reason", MAX_REASON_CHARS, required=decision == "rejected")
    before = {"comment_id": str(note.id), "state": note.state}
    note.state, note.answer, note.answered_by, note.answered_at = target.value, reason, principal.subject, utcnow()
    session.add(note)
    audit.record(
        session,
        actor(principal),
        f"pcr.comment_{target.value}",
        "pcr_version",
        _ref(row),
        before=before,
        after={"comment_id": str(note.id), "state": target.value, "reason": reason},
        organisation_id=issuer_id(session, row),
    )
    audit.commit(session)
    return note


def comments_of(session: Session, row: PCRVersion) -> list[PCRComment]:
    return list(
        session.exec(select(PCRComment).where(PCRComment.version_id == row.id).order_by(col(PCRComment.created_at)))
    )


# --- publication and after ----------------------------------------------------------------------------------------


def _raise_generation(session: Session) -> None:
    """In the transaction of the change: the row lock (PostgreSQL) or the write lock (SQLite) it takes also puts
    concurrent publications one after the other."""
    session.execute(
        update(PCRRegistryState)
        .where(col(PCRRegistryState.id) == 1)
        .values(generation=PCRRegistryState.generation + 1, changed_at=utcnow())
    )


def _refuse_dates(
    effective_from: date | None, valid_until: date | None, transition_until: date | None, today: date
) -> None:
    problems = publication_problems(effective_from, valid_until, transition_until, today)
    if problems:
        raise Unprocessable("the publication's dates are not sound", field_errors(problems), code="pcr.error.dates")


def _refuse_unanswered(session: Session, row: PCRVersion) -> None:
    """The chair answers every comment before the version is published: the comments and their answers are part of
    the version's record (ISO 14025:2006 asks a programme to document both)."""
    unanswered = [c for c in comments_of(session, row) if c.state == CommentState.OPEN.value]
    if unanswered:
        raise Conflict(
            f"answer every comment before publishing: {len(unanswered)} unanswered",
            [
                _error(f"comments[{c.id}]", "pcr.error.not_answered", f"{c.path}: not answered", path=c.path)
                for c in unanswered
            ],
            code="pcr.error.unanswered",
            params={"count": len(unanswered)},
        )


def _supersede_earlier(session: Session, principal: Principal, row: PCRVersion, transition_until: date) -> list[str]:
    """The earlier versions of the PCR in force become superseded, applying until `transition_until`; their
    numbers."""
    superseded = []
    for earlier in _versions(session, row.pcr_id):
        if earlier.state == PCRState.PUBLISHED.value and _key(earlier) < _key(row):
            earlier.transition_until, earlier.superseded_by = transition_until, row.version
            details = {"superseded_by": row.version, "transition_until": transition_until.isoformat()}
            _move(session, principal, earlier, "supersede", PCRState.SUPERSEDED, details, audit.SYSTEM)
            superseded.append(earlier.version)
    return superseded


def publish(
    session: Session,
    principal: Principal,
    pcr_id: str,
    version: str,
    effective_from: date | None,
    valid_until: date | None,
    transition_until: date | None = None,
    today: date | None = None,
) -> PCRVersion:
    """Publish a reviewed version: every comment answered, the document checked in full, the dates sound. The
    versions of the PCR in force so far are superseded: they keep applying to reference periods ending up to
    `transition_until` (default: the day before this one takes effect)."""
    today = today or today_utc()
    row = visible_version(session, principal, pcr_id, version)
    target = _step(session, principal, row, "publish")
    _refuse_dates(effective_from, valid_until, transition_until, today)
    _refuse_unanswered(session, row)
    _refuse_problems(row)
    _raise_generation(session)
    _refuse_not_newer(session, pcr_id, version)
    transition_until = transition_until or default_transition_until(effective_from)
    superseded = _supersede_earlier(session, principal, row, transition_until)
    row.effective_from, row.valid_until = effective_from, valid_until
    row.published_at, row.published_by = utcnow(), principal.subject
    details = {
        "effective_from": effective_from.isoformat(),
        "valid_until": valid_until.isoformat(),
        "transition_until": transition_until.isoformat(),
        "supersedes": superseded,
        "sha256": _digest(row.document)[0],
        "comments": len(comments_of(session, row)),
    }
    _move(session, principal, row, "publish", target, details)
    audit.commit(session)
    return row


def withdraw(session: Session, principal: Principal, pcr_id: str, version: str, reason: str) -> PCRVersion:
    """The chair ends a version before its time, with the reason: a draft abandoned, or a published version that
    must no longer be applied (nothing more is certified under it; labels issued keep their validity)."""
    row = visible_version(session, principal, pcr_id, version)
    target = _step(session, principal, row, "withdraw")
    reason = _text(reason, "reason", MAX_REASON_CHARS)
    if row.published_at is not None:
        _raise_generation(session)
    row.reason = reason
    _move(session, principal, row, "withdraw", target, {"reason": reason})
    audit.commit(session)
    return row


def expire_due(session: Session, today: date) -> int:
    """Housekeeping: published and superseded versions past their validity become expired (every rule already
    treats them so from that day; this makes the state say it)."""
    due = list(
        session.exec(
            select(PCRVersion).where(
                col(PCRVersion.state).in_((PCRState.PUBLISHED.value, PCRState.SUPERSEDED.value)),
                col(PCRVersion.valid_until) < today,
            )
        )
    )
    if due:
        _raise_generation(session)
    for row in due:
        details = {"valid_until": row.valid_until.isoformat()}
        _move(session, None, row, "expire", PCRState.EXPIRED, details, audit.SYSTEM)
    audit.commit(session)
    return len(due)


def assign_steward(
    session: Session, principal: Principal | None, pcr_id: str, organisation_id: uuid.UUID
) -> ProductCategoryRule:
    """The platform admin hands a PCR (a seeded one, or one whose body gave it up) to a standards body, which writes
    its next versions."""
    if principal is not None and principal.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("only the platform admin assigns a PCR to a standards body", code="pcr.error.admin_only")
    family = session.get(ProductCategoryRule, pcr_id)
    if family is None:
        raise NotFound(f"no PCR {pcr_id}", code="pcr.error.no_pcr", params={"pcr_id": pcr_id})
    body = session.get(Organisation, organisation_id)
    if body is None or body.kind is not OrganisationKind.STANDARDS_BODY:
        reason = "not a standards body"
        raise _refusal(Unprocessable, "pcr.error.not_standards_body", reason, "organisation_id")
    before = {"steward_id": str(family.steward_id) if family.steward_id else None}
    family.steward_id = body.id
    session.add(family)
    audit.record(
        session,
        actor(principal) if principal else audit.SYSTEM,
        "pcr.steward_assigned",
        "pcr",
        pcr_id,
        before=before,
        after={"steward_id": str(body.id), "name": body.name},
        organisation_id=body.id,
    )
    audit.commit(session)
    return family


# --- the rules the service obeys ----------------------------------------------------------------------------------


def _published(session: Session, pcr_id: str, version: str) -> PCRVersion | None:
    row = session.exec(select(PCRVersion).where(PCRVersion.pcr_id == pcr_id, PCRVersion.version == version)).first()
    return row if row is not None and row.published_at is not None else None


def require_usable(
    session: Session, pcr_id: str, version: str, period_end: date, field: str = "inventory.pcr.version"
) -> None:
    """An inventory may follow a version only if it is in force for its reference period: published (or superseded,
    within the transition its successor stated), not withdrawn, and the period ends within its dates."""
    row = _published(session, pcr_id, version)
    if row is None:
        raise PCRNotFound(pcr_id, version)
    reason = validity(row).refusal_for_period(period_end)
    if reason:
        raise PCRNotInForce(reason, [{"field": field, "reason": reason}])


def require_certifiable(
    session: Session, pcr_id: str, version: str, today: date | None = None, field: str = "pcr"
) -> None:
    """Nothing is applied for or approved under a version that expired or was withdrawn (superseded is fine)."""
    row = _published(session, pcr_id, version)
    reason = (
        validity(row).refusal_for_certification(today or today_utc()) if row else f"{pcr_id} {version} is not published"
    )
    if reason:
        raise PCRNotInForce(reason, [{"field": field, "reason": reason}])


# --- what readers see ---------------------------------------------------------------------------------------------


def _issuers(session: Session, rows: list[PCRVersion]) -> dict[uuid.UUID, Organisation]:
    ids = {issuer_id(session, r) for r in rows} - {None}
    return {o.id: o for o in session.exec(select(Organisation).where(col(Organisation.id).in_(ids)))} if ids else {}


_PARSED: dict[uuid.UUID, PCR] = {}  # published versions never change: parsed once per process


def _heading(row: PCRVersion) -> dict:
    """Title, category and declared unit: of a published version as the registry reads it (defaults filled in, as
    the list of PCRs answered before), of a draft as far as its authors have written them."""
    if row.published_at is not None:
        if row.id not in _PARSED:
            _PARSED[row.id] = PCR.model_validate(row.document)
        pcr = _PARSED[row.id]
        return {
            "title": pcr.title,
            "title_zh": pcr.title_zh,
            "product_category": pcr.product_category,
            "category_label": pcr.product_category_label,
            "category_label_zh": pcr.product_category_label_zh,
            "declared_unit": pcr.declared_unit.model_dump(),
        }
    document = row.document if isinstance(row.document, dict) else {}
    named = ("title", "title_zh", "product_category", "product_category_label", "product_category_label_zh")
    text = {k: document.get(k) if isinstance(document.get(k), str) else None for k in named}
    unit = document.get("declared_unit")
    return {
        "title": text["title"] or "",
        "title_zh": text["title_zh"],
        "product_category": text["product_category"],
        "category_label": text["product_category_label"],
        "category_label_zh": text["product_category_label_zh"],
        "declared_unit": unit if isinstance(unit, dict) else None,
    }


def _summary(session: Session, row: PCRVersion, issuers: dict, today: date) -> dict:
    facts = validity(row)
    issuer = issuers.get(issuer_id(session, row))
    return {
        "id": row.pcr_id,
        "version": row.version,
        **_heading(row),
        "status": facts.status_on(today).value,
        "in_force": facts.in_force_on(today),
        "consultation_until": row.consultation_until,
        "effective_from": row.effective_from,
        "valid_until": row.valid_until,
        "transition_until": row.transition_until,
        "superseded_by": row.superseded_by,
        "based_on": row.based_on,
        "published_at": row.published_at,
        "issuer": {"id": issuer.id, "name": issuer.name} if issuer else None,
        "source": row.source,
    }


def list_versions(
    session: Session, principal: Principal | None, pcr_id: str | None = None, today: date | None = None
) -> list[dict]:
    """The versions the caller may see, by PCR and version: every published one (with what became of it), the
    consultations open to anyone signed in, and the caller's own body's drafts."""
    query = select(PCRVersion)
    if pcr_id is not None:
        query = query.where(PCRVersion.pcr_id == pcr_id)
    shown = [col(PCRVersion.published_at).is_not(None)]
    if principal is not None:
        shown.append(col(PCRVersion.state).in_((PCRState.CONSULTATION.value, PCRState.REVIEW.value)))
        shown.append(PCRVersion.organisation_id == principal.organisation_id)
        stewarded = select(ProductCategoryRule.id).where(ProductCategoryRule.steward_id == principal.organisation_id)
        shown.append(and_(col(PCRVersion.organisation_id).is_(None), col(PCRVersion.pcr_id).in_(stewarded)))
    rows = [r for r in session.exec(query.where(or_(*shown))) if _visible(session, principal, r)]
    rows.sort(key=lambda r: (r.pcr_id, _key(r)))
    issuers, today = _issuers(session, rows), today or today_utc()
    return [_summary(session, r, issuers, today) for r in rows]


def version_view(
    session: Session, principal: Principal | None, pcr_id: str, version: str, today: date | None = None
) -> dict:
    """One version as its page shows it: status and dates, issuer, the document and the comment log with its
    answers (part of the published record), and what the caller may do with it now."""
    row = visible_version(session, principal, pcr_id, version)
    today = today or today_utc()
    return {
        **_summary(session, row, _issuers(session, [row]), today),
        "reason": row.reason,
        "document": row.document,
        "comments": _comment_views(session, comments_of(session, row)),
        "actions": available_actions(session, principal, row),
    }


def replace_and_view(session: Session, principal: Principal, pcr_id: str, version: str, document: dict) -> dict:
    """`replace_document`, answered as the version's view with the problems the full check finds."""
    row, problems = replace_document(session, principal, pcr_id, version, document)
    return {**version_view(session, principal, row.pcr_id, row.version), "problems": field_errors(problems)}


def _comment_views(session: Session, notes: list[PCRComment]) -> list[dict]:
    ids = {n.organisation_id for n in notes}
    names = (
        {o.id: o.name for o in session.exec(select(Organisation).where(col(Organisation.id).in_(ids)))} if ids else {}
    )
    return [
        {
            "id": n.id,
            "path": n.path,
            "text": n.text,
            "organisation": names.get(n.organisation_id, ""),
            "created_at": n.created_at,
            "state": n.state,
            "answer": n.answer,
            "answered_at": n.answered_at,
        }
        for n in notes
    ]


def comment_view(session: Session, note: PCRComment) -> dict:
    return _comment_views(session, [note])[0]


def available_actions(session: Session, principal: Principal | None, row: PCRVersion) -> list[str]:
    """What the caller may do with the version in its present state (for the pages' buttons): by the tables."""
    who, state = parties(session, principal, row), PCRState(row.state)
    steps = [a for a, (sources, _, party) in VERSION_ACTIONS.items() if state in sources and party in who]
    work = [w for w, (sources, party) in VERSION_WORK.items() if state in sources and party in who]
    return steps + work
