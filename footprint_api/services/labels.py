"""Carbon labels: signing keys, issuance (number, signed statement, files), state changes, public status."""

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from footprint_api.core.errors import Conflict, NotFound, ServiceError
from footprint_api.core.settings import DEV_BASE_URL, get_settings
from footprint_api.infra.objects import object_store
from footprint_api.infra.security import Principal
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import (
    Application,
    Footprint,
    InventoryRecord,
    Label,
    LabelCounter,
    Organisation,
    Product,
    SigningKey,
    utcnow,
)
from footprint_api.services import audit
from footprint_api.services.principals import actor
from footprint_api.services.verification import nearest  # noqa: F401  (also: its session events keep verification answers fresh)
from label_service.claim import LabelFacts
from label_service.issuance import issue_files
from label_service.keys import KeyStore
from label_service.numbering import InvalidLabelNumber, label_number, normalise
from label_service.public_url import BaseUrlRefused, check_base_url
from label_service.render import find_font
from label_service.signing import jwk, key_id, public_key_from_text, public_key_text
from label_service.storage import StorageError
from label_service.verification import Verdict, verdict
from label_service.workflow import IllegalTransition, LabelState, Party, next_label_state
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
    """Signs, renders and stores the label, then records it; a storage failure leaves nothing behind."""
    settings = get_settings()
    try:
        base_url = check_base_url(
            settings.public_base_url or (DEV_BASE_URL if settings.environment == "dev" else None), settings.environment
        )
    except BaseUrlRefused as exc:
        raise IssuanceNotConfigured(str(exc)) from None
    today = today or datetime.now(UTC).date()
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
    superseded = _supersede_earlier(session, label)
    session.add(label)
    try:
        session.flush()
    except IntegrityError:  # a concurrent issue_label: of this application, or of the same product and PCR
        session.rollback()
        for stored in issued.files.values():
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
        },
        organisation_id=body.id,
    )
    return label


def _supersede_earlier(session: Session, newer: Label) -> list[str]:
    """The product's labels in force under the same PCR give way to the new one (one label in force per product
    and PCR; the database's partial unique index `uq_label_in_force` decides between concurrent issues)."""
    earlier = session.exec(
        select(Label).where(
            Label.product_id == newer.product_id, Label.pcr_id == newer.pcr_id, col(Label.state).in_(IN_FORCE)
        )
    ).all()
    reason = f"superseded by label {newer.number} (issued {newer.issued_on.isoformat()})"
    for label in earlier:
        _move(session, label, "supersede", Party.SYSTEM, audit.SYSTEM, reason)
        label.superseded_by = newer.number
    session.flush()  # the earlier labels leave the partial unique index before the new one enters it
    return [label.number for label in earlier]


def _move(session: Session, label: Label, action: str, party: Party, who, reason: str | None) -> None:
    """One state change of a label by the transition table, with its time and reason, in the audit trail."""
    try:
        new = next_label_state(LabelState(label.state), action, party)
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from None
    before = label.state
    label.state, label.state_reason = new.value, reason
    label.updated_at = label.state_changed_at = utcnow()
    session.add(label)
    audit.record(
        session,
        who,
        f"label.{action}",
        "label",
        label.number,
        before={"state": before},
        after={"state": new.value, "comment": reason},
        organisation_id=label.issuer_id,
    )


def lookup(session: Session, number: str) -> tuple[Label | None, str]:
    """The label of a number typed or scanned in any spelling, and that number's canonical spelling (or the
    input, shortened, when it is not a label number at all)."""
    try:
        canonical = normalise(number)
    except InvalidLabelNumber:
        return None, number[:40]
    return session.exec(select(Label).where(Label.number == canonical)).first(), canonical


def change_state(session: Session, principal: Principal, number: str, action: str, comment: str) -> Label:
    label, _ = lookup(session, number)
    if label is None or principal.organisation_id != label.issuer_id:
        raise NotFound("no such label issued by you")
    _move(session, label, action, Party.CERTIFICATION_BODY, actor(principal), comment)
    audit.commit(session)  # the verification cache forgets the label on commit: effective at once
    return label


def expire_due(session: Session, today: date) -> int:
    """Housekeeping: labels past their validity become expired (the verdict already says so from that day)."""
    due = session.exec(select(Label).where(col(Label.state).in_(IN_FORCE), Label.expires_on < today)).all()
    for label in due:
        _move(session, label, "expire", Party.SYSTEM, audit.SYSTEM, f"validity ended on {label.expires_on.isoformat()}")
    audit.commit(session)
    return len(due)


def valid_on(day: date) -> tuple:
    """Query conditions of a label in force on a day (active and not past its validity)."""
    return Label.state == LabelState.ACTIVE.value, Label.expires_on >= day


def status(label: Label | None, today: date | None = None) -> Verdict:
    today = today or datetime.now(UTC).date()
    return verdict(LabelState(label.state) if label else None, label.expires_on if label else None, today)
