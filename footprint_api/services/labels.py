"""Carbon labels: signing keys, issuance (number, signed statement, files), state changes, public status, and the
certification body's list of the labels it issued (search, filter, sort, pages) with each label's history."""

import math
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from footprint_api.core.errors import Conflict, Forbidden, NotFound, ServiceError, Unprocessable
from footprint_api.core.messages import catalogue
from footprint_api.core.settings import DEV_BASE_URL, get_settings
from footprint_api.infra.objects import object_store
from footprint_api.infra.security import Principal
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import (
    Application,
    AuditEvent,
    Footprint,
    InventoryRecord,
    Label,
    LabelCounter,
    Organisation,
    Product,
    SigningKey,
    User,
    utcnow,
)
from footprint_api.services import audit, supply_chain, verification
from footprint_api.services.principals import CB_ROLES, actor
from footprint_api.services.verification import (
    SYSTEM_REASONS,
    Reason,
    label_day,
    nearest,  # noqa: F401  (also: its session events keep verification answers fresh)
    system_reason,
)
from label_service.claim import LabelFacts
from label_service.issuance import CERTIFICATE, issue_files
from label_service.keys import KeyStore
from label_service.numbering import InvalidLabelNumber, label_number, normalise
from label_service.public_url import BaseUrlRefused, check_base_url
from label_service.render import LABEL_SIZES, find_font
from label_service.signing import jwk, key_id, public_key_from_text, public_key_text
from label_service.storage import StorageError
from label_service.verification import Verdict, verdict
from label_service.workflow import LABEL_ACTIONS, IllegalTransition, LabelState, Party, next_label_state
from pcr_rules import default_registry

IN_FORCE = (LabelState.ACTIVE.value, LabelState.SUSPENDED.value)


class StorageUnavailable(ServiceError):
    status, title = 503, "Label storage unavailable"


class IssuanceNotConfigured(ServiceError):
    status, title = 503, "Label issuance not configured"


def key_store() -> KeyStore:
    settings = get_settings()
    return KeyStore(settings.label_key_dir, settings.label_key_passphrase)


def active_key(session: Session, organisation_id: uuid.UUID) -> SigningKey | None:
    return session.exec(
        select(SigningKey).where(SigningKey.organisation_id == organisation_id, col(SigningKey.retired_at).is_(None))
    ).first()


def rotate_key(session: Session, principal: Principal | None, organisation_id: uuid.UUID) -> SigningKey:
    """A new active key for the body; the previous one is retired but stays published for earlier labels."""
    private = key_store().create()
    new = SigningKey(
        kid=key_id(private.public_key()),
        organisation_id=organisation_id,
        public_key=public_key_text(private.public_key()),
    )
    previous = active_key(session, organisation_id)
    if previous is not None:
        previous.retired_at = utcnow()
        session.add(previous)
    session.add(new)
    who = actor(principal) if principal else audit.SYSTEM
    audit.record(
        session,
        who,
        "signing_key.rotated",
        "signing_key",
        new.kid,
        before={"kid": previous.kid} if previous else None,
        after={"kid": new.kid},
        organisation_id=organisation_id,
    )
    audit.commit(session)
    return new


def published_keys(session: Session) -> list[dict]:
    """Every key ever used (JWK), with its body and whether it still signs: what offline verifiers need."""
    rows = session.exec(
        select(SigningKey, Organisation)
        .join(Organisation, col(Organisation.id) == col(SigningKey.organisation_id))
        .order_by(SigningKey.created_at)
    )
    return [
        {
            **jwk(public_key_from_text(key.public_key)),
            "issuer": {"id": str(body.id), "name": body.name},
            "created_at": key.created_at.isoformat(),
            "retired_at": key.retired_at.isoformat() if key.retired_at else None,
        }
        for key, body in rows
    ]


def footprint_standard(standards: list[str]) -> str:
    """The PCR's first standard by its designation: 'GB/T 24067-2024 (ISO 14067:2018) Greenhouse gases …' ->
    'GB/T 24067-2024 (ISO 14067:2018)'."""
    first = standards[0]
    return first[: first.index(")") + 1] if ")" in first else first.split(" - ")[0]


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def allocate_sequence(year: int) -> int:
    """The next label sequence number of the year, in a transaction of its own (held for one statement)."""
    counter = update(LabelCounter).where(LabelCounter.year == year).values(last=LabelCounter.last + 1)
    for _attempt in range(3):
        with session_scope() as session:
            taken = session.execute(counter.returning(LabelCounter.last)).scalar_one_or_none()
            if taken is None:
                session.add(LabelCounter(year=year, last=1))
                taken = 1
            try:
                session.commit()
                return taken
            except IntegrityError:  # another process created the year's counter first: increment it instead
                session.rollback()
    raise Conflict("could not allocate a label number; try again")


def issue(session: Session, principal: Principal, application: Application, today: date | None = None) -> Label:
    """Signs, renders and stores the label, then records it; a storage failure leaves nothing behind. It is issued
    on today's date in China time (`label_day`): the day its validity starts and its number's year."""
    settings = get_settings()
    try:
        base_url = check_base_url(
            settings.public_base_url or (DEV_BASE_URL if settings.environment == "dev" else None), settings.environment
        )
    except BaseUrlRefused as exc:
        raise IssuanceNotConfigured(str(exc)) from None
    now = verification.current_instant()
    today = today or label_day(now)
    footprint = session.get(Footprint, application.footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    product = session.get(Product, application.product_id)
    manufacturer = session.get(Organisation, application.organisation_id)
    body = session.get(Organisation, application.certification_body_id)
    key = active_key(session, body.id) or rotate_key(session, principal, body.id)
    private = key_store().load(key.kid)
    pcr = default_registry().get(record.pcr_id, record.pcr_version)
    session.commit()  # no transaction (on SQLite: no write lock) is held while numbering, signing and rendering
    year, sequence = today.year, allocate_sequence(today.year)
    facts = LabelFacts(
        number=label_number(year, sequence),
        product=product.name,
        model=product.model,
        gtin=product.gtin,
        manufacturer=manufacturer.name,
        total_kg_co2e=footprint.total_kg_co2e,
        declared_unit=footprint.declared_unit,
        pcr_id=record.pcr_id,
        pcr_version=record.pcr_version,
        standard=footprint_standard(pcr.standards),
        issuer_name=body.name,
        issuer_id=str(body.id),
        issued=today,
        expires=_add_years(today, settings.label_validity_years) - timedelta(days=1),
        factor_set=footprint.factor_set,
        kind=application.label_kind,
    )
    try:
        issued = issue_files(facts, private, base_url, object_store(), find_font(settings.label_font))
    except StorageError as exc:
        raise StorageUnavailable(f"the label files could not be stored ({exc}); nothing was issued") from None
    label = Label(
        number=facts.number,
        year=year,
        sequence=sequence,
        application_id=application.id,
        footprint_id=footprint.id,
        organisation_id=manufacturer.id,
        issuer_id=body.id,
        kind=facts.kind,
        pcr_id=facts.pcr_id,
        pcr_version=facts.pcr_version,
        product_name=issued.statement.claim["product"]["name"],
        manufacturer_name=manufacturer.name,
        gtin=product.gtin,
        value=issued.statement.claim["footprint"]["value"],
        total_kg_co2e=footprint.total_kg_co2e,
        declared_unit=footprint.declared_unit,
        issued_on=facts.issued,
        expires_on=facts.expires,
        key_id=issued.statement.key_id,
        token=issued.statement.token,
        compact=issued.compact,
        qr_content=issued.qr_content,
        product_id=product.id,
        files={
            name: {"key": f.key, "sha256": f.sha256, "size": f.size, "content_type": f.content_type}
            for name, f in issued.files.items()
        },
    )
    from footprint_api.services.benchmarks import record_at_issue  # it reads labels' validity: imported here

    record_at_issue(session, label, pcr, record.data, facts.issued)  # group and grade: never in the signed claim
    superseded = _supersede_earlier(session, label, now)
    session.add(label)
    try:
        session.flush()
    except IntegrityError:  # a concurrent issue_label: of this application, or of the same product and PCR
        session.rollback()
        for stored in issued.files.values():
            with suppress(StorageError):  # best effort: content-addressed names make an orphan harmless
                object_store().delete(stored.key)
        raise Conflict("a label of this application or product was issued meanwhile; reload and try again") from None
    audit.record(
        session,
        actor(principal),
        "label.issued",
        "label",
        label.number,
        after={
            "application_id": str(application.id),
            "value": label.value,
            "declared_unit": label.declared_unit,
            "expires_on": label.expires_on.isoformat(),
            "kid": label.key_id,
            "supersedes": superseded,
            "grade_at_issue": label.grade_at_issue,
        },
        organisation_id=body.id,
    )
    return label


def reason_shown(label: Label, lang: str) -> str | None:
    """Why the label is in its state, in the reader's language: the service's own reason worded in `lang`; the
    certification body's reason as the body wrote it."""
    reason = system_reason(label)
    return reason.text(lang) if reason else label.state_reason


def _supersede_earlier(session: Session, newer: Label, now: datetime) -> list[str]:
    """The product's labels in force under the same PCR give way to the new one (one label in force per product
    and PCR; the database's partial unique index `uq_label_in_force` decides between concurrent issues)."""
    earlier = session.exec(
        select(Label).where(
            Label.product_id == newer.product_id, Label.pcr_id == newer.pcr_id, col(Label.state).in_(IN_FORCE)
        )
    ).all()
    for label in earlier:
        label.superseded_by = newer.number
        _move(
            session,
            label,
            "supersede",
            Party.SYSTEM,
            audit.SYSTEM,
            SYSTEM_REASONS[LabelState.SUPERSEDED.value](label),
            now,
        )
    session.flush()  # the earlier labels leave the partial unique index before the new one enters it
    return [label.number for label in earlier]


def _move(
    session: Session, label: Label, action: str, party: Party, who, reason: str | Reason, at: datetime | None = None
) -> None:
    """One state change of a label by the transition table, with its time and reason, in the audit trail: the
    reason as written (`comment`, English for the service's own) and, for the service's own, its code and values."""
    try:
        new = next_label_state(LabelState(label.state), action, party)
    except IllegalTransition as exc:
        raise Conflict(
            str(exc),
            code="labels.refused.transition",
            params={"action": action, "state": str(getattr(exc.state, "value", exc.state))},
        ) from None
    before = label.state
    comment = reason.text("en") if isinstance(reason, Reason) else reason
    label.state, label.state_reason = new.value, comment
    label.updated_at = label.state_changed_at = at or utcnow()
    session.add(label)
    after = {"state": new.value, "comment": comment}
    if isinstance(reason, Reason):
        after["reason"] = {"code": reason.code, "params": reason.params}
    audit.record(
        session,
        who,
        f"label.{action}",
        "label",
        label.number,
        before={"state": before},
        after=after,
        organisation_id=label.issuer_id,
    )
    _tell_buyers(session, label)


def _tell_buyers(session: Session, label: Label) -> None:
    """The footprints of other products resting on the label follow its state in the same transaction: a label
    suspended, revoked, superseded or expired marks their supply links affected; a reinstated one clears the marks
    its suspension made (services.supply_chain)."""
    if label.state in supply_chain.LABEL_REASONS:
        supply_chain.label_withdrawn(session, label, supply_chain.LABEL_REASONS[label.state])
    elif label.state == LabelState.ACTIVE.value:
        supply_chain.label_reinstated(session, label)


def lookup(session: Session, number: str) -> tuple[Label | None, str]:
    """The label of a number typed or scanned in any spelling, and that number's canonical spelling (or the
    input, shortened, when it is not a label number at all)."""
    try:
        canonical = normalise(number)
    except InvalidLabelNumber:
        return None, number[:40]
    return session.exec(select(Label).where(Label.number == canonical)).first(), canonical


BODY_STEPS = ("suspend", "reinstate", "revoke")  # what a certification body does to a label it issued
REASON_MAX_CHARS = 2000


def change_state(session: Session, principal: Principal, number: str, action: str, comment: str) -> Label:
    """A step of the label's certification body, effective at once; the reason is required (everyone who checks
    the label reads it) and kept in the audit trail."""
    label = issued_by(session, principal, number)
    comment = (comment or "").strip()
    if not comment:
        raise Unprocessable(
            "a reason is required",
            [{"field": "comment", "reason": "a reason is required", "code": "labels.step.reason_missing"}],
        )
    if len(comment) > REASON_MAX_CHARS:
        reason = f"at most {REASON_MAX_CHARS} characters"
        raise Unprocessable(
            reason,
            [
                {
                    "field": "comment",
                    "reason": reason,
                    "code": "labels.step.reason_too_long",
                    "params": {"limit": REASON_MAX_CHARS},
                }
            ],
        )
    _move(session, label, action, Party.CERTIFICATION_BODY, actor(principal), comment)
    audit.commit(session)  # the verification cache forgets the label on commit: effective at once
    return label


def issued_by(session: Session, principal: Principal, number: str) -> Label:
    """A label the caller's certification body issued; 404 for any other (another body's label is not named)."""
    label, _ = lookup(session, number)
    if label is None or principal.organisation_id != label.issuer_id:
        raise NotFound("no such label issued by you", code="labels.refused.not_found")
    return label


def steps(label: Label) -> list[str]:
    """The steps the label's certification body may take now, by the transition table."""
    return [action for action in BODY_STEPS if LabelState(label.state) in LABEL_ACTIONS[action][0]]


def expire_due(session: Session, today: date) -> int:
    """Housekeeping: labels past their validity become expired (the verdict already says so from that day).
    `today` is the day in China time (`label_day`): validity ends with the last Beijing day."""
    due = session.exec(select(Label).where(col(Label.state).in_(IN_FORCE), Label.expires_on < today)).all()
    for label in due:
        _move(session, label, "expire", Party.SYSTEM, audit.SYSTEM, SYSTEM_REASONS[LabelState.EXPIRED.value](label))
    audit.commit(session)
    return len(due)


def valid_on(day: date) -> tuple:
    """Query conditions of a label in force on a day (active and not past its validity)."""
    return Label.state == LabelState.ACTIVE.value, Label.expires_on >= day


def status(label: Label | None, today: date | None = None) -> Verdict:
    """The verdict on a label for a day, by default today in China time."""
    today = today or label_day()
    return verdict(LabelState(label.state) if label else None, label.expires_on if label else None, today)


# --- the files of a label, named for people ---------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    name: str  # the stored file's name: "qr20.pdf", "certificate.pdf"
    href: str
    title: str  # in the reader's language: "标签 PDF（二维码 20 mm）"
    detail: str  # what the file is for: the label's printed size, or what the certificate holds


def downloads(label: Label, lang: str) -> list[Download]:
    """The label's files in the reader's language, the certificate first, then the label by size (smallest
    first) in PDF, PNG and SVG; a file name says nothing about what `20` means, the title does (the printed side of
    the QR code, in mm)."""
    found = []
    for name in sorted(label.files, key=_file_order):
        href = f"/labels/{label.number}/{name}" if "." in name else f"/labels/{label.number}.{name}"
        found.append(Download(name, href, *file_title(name, lang)))
    return found


FORMAT_ORDER = ("pdf", "png", "svg")


def _file_order(name: str) -> tuple:
    size, _, fmt = name.rpartition(".")
    if name == CERTIFICATE:
        return (0, 0, 0)
    sizes = list(LABEL_SIZES)
    return (1, sizes.index(size) if size in sizes else -1, FORMAT_ORDER.index(fmt) if fmt in FORMAT_ORDER else 9)


def file_title(name: str, lang: str) -> tuple[str, str]:
    """(title, what it is for) of a label's file in `lang`: 'qr20.pdf' -> ('标签 PDF（二维码 20 mm）', '矢量文件，适合
    印刷：标签 72 × 53 mm，二维码印刷边长 20 mm。'); 'certificate.pdf'; a label of the first design's 'png'."""
    t = catalogue(lang)
    if name == CERTIFICATE:
        return t("labels.file.certificate"), t("labels.file.certificate_detail")
    size, _, fmt = name.rpartition(".")
    spec = LABEL_SIZES.get(size)
    fmt = (fmt or name).lower()
    if spec is None or fmt not in FORMAT_ORDER:  # a label of the first design: one size, named by its format
        return t("labels.file.label", format=fmt.upper()), t("labels.file.first_design")
    mm = {"width": f"{spec.width:g}", "height": f"{spec.height:g}", "qr": f"{spec.qr:g}"}
    return t("labels.file.sized", format=fmt.upper(), qr=mm["qr"]), t(f"labels.file.detail.{fmt}", **mm)


# --- the certification body's list of labels ----------------------------------------------------------------------

PER_PAGE = 20
MAX_PAGE = 10_000
MAX_TEXT = 100  # characters of a search: a label number is 17, a product name seldom more than 60
STATES = tuple(state.value for state in LabelState)
SORTS: dict[str, tuple] = {  # name -> ORDER BY, the label's number last so that every order is total
    "issued": (col(Label.issued_on).desc(), col(Label.year).desc(), col(Label.sequence).desc()),
    "expires": (col(Label.expires_on), col(Label.year), col(Label.sequence)),
    "product": (col(Label.product_name), col(Label.year).desc(), col(Label.sequence).desc()),
    "number": (col(Label.year), col(Label.sequence)),
}


@dataclass(frozen=True)
class LabelQuery:
    """What the body asks of its list: text in a label number, product or manufacturer name; a state; an order; a
    page (from 1)."""

    text: str = ""
    state: str = ""
    sort: str = "issued"
    page: int = 1


def label_query(text: str = "", state: str = "", sort: str = "", page: str | int = "") -> LabelQuery:
    """The query of the list from what a person typed or a link carried; Unprocessable naming each field that is
    not understood (with a code and values for the page's language), never a server error."""
    errors = []
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())  # control characters: spaces
    if len(text) > MAX_TEXT:
        errors.append(_query_error("q", "labels.query.too_long", f"at most {MAX_TEXT} characters", limit=MAX_TEXT))
    if state and state not in STATES:
        errors.append(_query_error("state", "labels.query.state", f"one of {', '.join(STATES)}"))
    if sort and sort not in SORTS:
        errors.append(_query_error("sort", "labels.query.sort", f"one of {', '.join(SORTS)}"))
    number = 1
    if str(page).strip():
        try:
            number = int(str(page).strip())
        except ValueError:
            number = 0
        if not 1 <= number <= MAX_PAGE:
            errors.append(
                _query_error("page", "labels.query.page", f"a whole number from 1 to {MAX_PAGE}", limit=MAX_PAGE)
            )
    if errors:
        raise Unprocessable("the label list does not understand the query", errors, code="labels.query.invalid")
    return LabelQuery(text, state, sort or "issued", number)


def _query_error(name: str, code: str, reason: str, **params) -> dict:
    return {"field": name, "reason": reason, "code": code, "params": params}


@dataclass
class LabelPage:
    rows: list[Label]
    count: int  # labels matching the text and state
    page: int
    pages: int
    by_state: dict[str, int] = field(default_factory=dict)  # labels matching the text, by state


def _matching(principal: Principal, text: str) -> list:
    conditions = [Label.issuer_id == principal.organisation_id]
    if text:
        try:
            return [*conditions, Label.number == normalise(text)]  # a whole number, in any spelling
        except InvalidLabelNumber:
            pass
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                col(Label.number).ilike(pattern, escape="\\"),
                col(Label.product_name).ilike(pattern, escape="\\"),
                col(Label.manufacturer_name).ilike(pattern, escape="\\"),
            )
        )
    return conditions


def search(session: Session, principal: Principal, query: LabelQuery) -> LabelPage:
    """One page of the labels the caller's body issued that match the query, with the counts by state of those
    matching the text (the filter's choices). A page past the last shows the last."""
    if principal.role not in CB_ROLES:
        raise Forbidden("only a certification body lists the labels it issued")
    matching = _matching(principal, query.text)
    by_state = dict(
        session.exec(select(Label.state, func.count(Label.id)).where(*matching).group_by(Label.state)).all()
    )
    count = by_state.get(query.state, 0) if query.state else sum(by_state.values())
    pages = max(1, math.ceil(count / PER_PAGE))
    page = min(query.page, pages)
    conditions = [*matching, Label.state == query.state] if query.state else matching
    rows = session.exec(
        select(Label).where(*conditions).order_by(*SORTS[query.sort]).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    return LabelPage(list(rows), count, page, pages, by_state)


def history(session: Session, label: Label) -> list[dict]:
    """The label's audit entries, oldest first: when, what, who (a person's name, or the service), and the
    reason, worded again from its code where the service gave it."""
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_type == "label", AuditEvent.object_id == label.number)
        .order_by(col(AuditEvent.seq))
    ).all()
    ids = {e.actor_id for e in events if e.actor_kind == "user" and e.actor_id}
    people = {
        str(user.id): user.name
        for user in session.exec(select(User).where(col(User.id).in_([uuid.UUID(i) for i in ids])))
    }
    return [
        {
            "at": e.at,
            "action": e.action.removeprefix("label."),
            "actor": people.get(e.actor_id or "", "") if e.actor_kind == "user" else (e.actor_id or ""),
            "actor_kind": e.actor_kind,
            "comment": (e.after or {}).get("comment"),
            "reason": (e.after or {}).get("reason") or _earlier_reason(e, label),
        }
        for e in events
    ]


def _earlier_reason(event: AuditEvent, label: Label) -> dict | None:
    """The code of a supersession or expiry recorded before reasons had codes: both states are final, so the
    label's columns still hold the values its reason was made from."""
    state = (event.after or {}).get("state")
    if event.actor_kind != "system" or state != label.state or state not in SYSTEM_REASONS:
        return None
    reason = SYSTEM_REASONS[state](label)
    return {"code": reason.code, "params": reason.params}
