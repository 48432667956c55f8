"""Notices: what a person must know or do next, in their inbox (the pages and the JSON API) and in their mail when
an SMTP server is configured.

They come from the audit trail. When `audit.commit` writes a transaction's entries, `derive` turns those the table
RULES names (and those DERIVED names: a supplier value withdrawn, told to the buyer and to the certification bodies
whose labels rest on it) into notices to the people concerned, in the same transaction (a change and its notices
are committed together), so no service needs to know about notices. Who is concerned is looked up from the object an entry names
(an application's manufacturer or certification body, a label's manufacturer, and the buyers who awarded the label
in a tender: services.procurement says who they are): a notice goes only to the active people of that organisation,
never across organisations. The housekeeping task adds the one notice no entry causes: a label in force that expires
within 60 days (`warn_expiring`), to its manufacturer and its buyers.

A notice is stored as a kind and parameters and worded in the reader's language when shown (`render`: the
catalogue's `notice.{kind}.title` and `.body`). Each is once per person (`event_key`: the audit entry, or the label
with its expiry date), so deriving it again adds nothing.

Mail goes after the commit, from a thread of its own: a slow or absent mail server never delays or fails the request
that caused it. A notice is claimed (`emailed_at` set) before it is sent, so two senders never both mail it; a failed
send gives it back (`emailed_at` empty) and the housekeeping task tries again for `smtp_retry_hours`.
"""

import logging
import smtplib
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from footprint_api.core.errors import Forbidden, NotFound
from footprint_api.core.messages import LANGUAGES, catalogue
from footprint_api.core.settings import get_settings
from footprint_api.infra import mail
from footprint_api.infra.security import Principal
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import (
    Application,
    AuditEvent,
    InventoryRecord,
    Label,
    Notice,
    Organisation,
    Product,
    SupplyLink,
    User,
    utcnow,
)
from footprint_api.services import audit, procurement
from footprint_api.services.principals import CB_ROLES, MANUFACTURER_ROLES, actor
from label_service.workflow import LabelState
from pcr_rules import PCRNotFound, default_registry

log = logging.getLogger(__name__)

MANUFACTURER, BODY = "manufacturer", "certification_body"
AUDIENCE_ROLES = {MANUFACTURER: MANUFACTURER_ROLES, BODY: CB_ROLES}
PAGE_SIZE = 20  # notices per page of the inbox (the JSON API allows up to MAX_PAGE_SIZE)
MAX_PAGE_SIZE = 100
QUOTE_CHARS = 500  # of the other party's words (a finding, an answer, a reason) quoted in the notice
EXPIRY_NOTICE_DAYS = 60
IN_FORCE = (LabelState.ACTIVE.value, LabelState.SUSPENDED.value)
MAIL_BATCH = 100  # notices one housekeeping run mails at most
_MAIL_QUEUE = "notices.to_mail"  # session.info: the ids of the notices its transaction made, mailed after commit


@dataclass(frozen=True)
class Rule:
    """What an audited action tells whom: the notice's kind (catalogue keys `notice.{kind}.title` and `.body`), the
    party of the application or label that is told, and the entry's field holding the other party's words."""

    kind: str
    audience: str
    quote: str | None = None


RULES: dict[str, Rule] = {
    "finding.raised": Rule("finding.raised", MANUFACTURER, "text"),
    "finding.reply": Rule("finding.replied", MANUFACTURER, "text"),
    "finding.answer": Rule("finding.answered", BODY, "answer"),
    "application.submit": Rule("application.submitted", BODY, "comment"),
    "application.resubmit": Rule("application.resubmitted", BODY, "comment"),
    "application.approve": Rule("application.approved", MANUFACTURER),
    "application.request_corrections": Rule("application.returned", MANUFACTURER, "comment"),
    "application.reject": Rule("application.rejected", MANUFACTURER, "comment"),
    "label.issued": Rule("label.issued", MANUFACTURER),
    "label.suspend": Rule("label.suspended", MANUFACTURER, "comment"),
    "label.reinstate": Rule("label.reinstated", MANUFACTURER, "comment"),
    "label.revoke": Rule("label.revoked", MANUFACTURER, "comment"),
    "label.supersede": Rule("label.superseded", MANUFACTURER),
    "label.expire": Rule("label.expired", MANUFACTURER),
}
EXPIRING = "label.expiring"
# a supplier value a footprint rests on was withdrawn (services.supply_chain): the buyer is told, and so is every
# certification body whose label in force rests on that footprint; a reinstated label tells the buyer again
SUPPLY_AFFECTED, SUPPLY_LABEL_AT_RISK, SUPPLY_RESTORED = "supply.affected", "supply.label_at_risk", "supply.restored"
KINDS = tuple(
    sorted(
        {rule.kind for rule in RULES.values()}
        | {EXPIRING, SUPPLY_AFFECTED, SUPPLY_LABEL_AT_RISK, SUPPLY_RESTORED}
        | set(procurement.NOTICE_KINDS)
    )
)


# --- who is concerned ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """An application or a label as notices name it: its two parties, its words for the message, where to look."""

    parties: dict[str, uuid.UUID]  # audience -> organisation
    params: dict[str, str]
    links: dict[str, str]  # audience -> the page that audience opens


def _names(session: Session, *ids: uuid.UUID) -> dict[uuid.UUID, str]:
    return {o.id: o.name for o in session.exec(select(Organisation).where(col(Organisation.id).in_(set(ids))))}


def application_subject(session: Session, application_id: str) -> Subject | None:
    application = session.get(Application, _uuid(application_id))
    if application is None:
        return None
    names = _names(session, application.organisation_id, application.certification_body_id)
    product = session.get(Product, application.product_id)
    return Subject(
        parties={MANUFACTURER: application.organisation_id, BODY: application.certification_body_id},
        params={
            "product": product.name if product else "",
            "manufacturer": names.get(application.organisation_id, ""),
            "body": names.get(application.certification_body_id, ""),
        },
        links={MANUFACTURER: f"/app/applications/{application.id}", BODY: f"/app/review/{application.id}"},
    )


def label_subject(session: Session, label: Label | None, bodies: dict | None = None) -> Subject | None:
    """A label as notices name it; `bodies`: the issuers' names when the caller has them already."""
    if label is None:
        return None
    bodies = bodies if bodies is not None else _names(session, label.issuer_id)
    params = {
        "number": label.number,
        "product": label.product_name,
        "manufacturer": label.manufacturer_name,
        "body": bodies.get(label.issuer_id, ""),
        "expires_on": label.expires_on.isoformat(),
    }
    if label.superseded_by:
        params["by"] = label.superseded_by
    return Subject(
        parties={MANUFACTURER: label.organisation_id, BODY: label.issuer_id},
        params=params,
        links={MANUFACTURER: f"/app/applications/{label.application_id}", BODY: "/app/labels"},
    )


def _subject_of(session: Session, event: AuditEvent) -> Subject | None:
    if event.object_type == "application":
        return application_subject(session, event.object_id)
    if event.object_type == "label":
        return label_subject(session, session.exec(select(Label).where(Label.number == event.object_id)).first())
    return None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def people(session: Session, organisation_ids: Iterable[uuid.UUID], audience: str) -> dict[uuid.UUID, list[User]]:
    """The active people of these organisations who act for the audience (a manufacturer's members and admins, a
    body's verifiers and admins), by organisation."""
    found: dict[uuid.UUID, list[User]] = {}
    rows = session.exec(
        select(User).where(
            col(User.organisation_id).in_(set(organisation_ids)),
            col(User.active).is_(True),
            col(User.role).in_(AUDIENCE_ROLES[audience]),
        )
    )
    for user in rows:
        found.setdefault(user.organisation_id, []).append(user)
    return found


def _to(users: list[User], kind: str, params: dict, link: str | None, event_key: str) -> list[Notice]:
    return [
        Notice(
            organisation_id=user.organisation_id,
            user_id=user.id,
            kind=kind,
            params=dict(params),
            link=link,
            event_key=event_key,
        )
        for user in users
    ]


def _add(session: Session, candidates: list[Notice]) -> list[Notice]:
    """The candidates a person does not have yet (same event key), added to the session: one query for all."""
    if not candidates:
        return []
    existing = set(
        session.exec(
            select(Notice.user_id, Notice.event_key).where(
                col(Notice.user_id).in_({n.user_id for n in candidates}),
                col(Notice.event_key).in_({n.event_key for n in candidates}),
            )
        ).all()
    )
    fresh, seen = [], set(existing)
    for notice in candidates:
        if (notice.user_id, notice.event_key) not in seen:
            seen.add((notice.user_id, notice.event_key))
            fresh.append(notice)
    session.add_all(fresh)
    return fresh


# --- from the audit trail ------------------------------------------------------------------------------------------


def _from_event(session: Session, event: AuditEvent) -> list[Notice]:
    rule = RULES[event.action]
    subject = _subject_of(session, event)
    if subject is None:
        return []
    params = dict(subject.params)
    words = (event.after or {}).get(rule.quote) if rule.quote else None
    if isinstance(words, str) and words.strip():
        params["quote"] = words.strip()[:QUOTE_CHARS]
    organisation = subject.parties[rule.audience]
    recipients = people(session, [organisation], rule.audience).get(organisation, [])
    key = f"{event.action}:{event.object_id}:{event.seq}"
    told = _to(recipients, rule.kind, params, subject.links.get(rule.audience), key)
    if event.object_type == "label":  # and the buyers who awarded the label (services.procurement: the watch)
        told += procurement.buyer_notices(session, event.action, event.object_id, params, key)
    return told


# --- a supplier value withdrawn (services.supply_chain) -----------------------------------------------------------


def _supply_params(session: Session, event: AuditEvent) -> tuple[dict, SupplyLink, list[Label]] | None:
    """The values of a supply link's notices, in both languages where they are words (the item's name, the reason
    worded from its code), the link, and the labels in force resting on its inventory version."""
    from footprint_api.services import supply_chain  # imports labels, whose changes this module reports

    link, product, at_risk = supply_chain.concerned(session, _uuid(event.object_id))
    if link is None:
        return None
    facts = event.after or {}
    record = session.get(InventoryRecord, link.inventory_id)
    spec = _item_spec(record, link.item)
    params = {
        "product": product.name if product else "",
        "version": str(record.version) if record else "",
        "item": spec.label if spec else link.item,
        "item_zh": (spec.label_zh or spec.label) if spec else link.item,
        "source": link.reference,
        "supplier": link.supplier_name,
    }
    reason, values = facts.get("reason") or "", facts.get("params") or {}
    for lang in LANGUAGES:
        params[f"reason_{lang}"] = _worded(lang, f"supply.reason.{reason}", values)
    return params, link, at_risk


def _item_spec(record: InventoryRecord | None, item: str):
    if record is None:
        return None
    try:
        return default_registry().get(record.pcr_id, record.pcr_version).item(item)
    except PCRNotFound:
        return None


def _worded(lang: str, code: str, values: dict) -> str:
    try:
        return catalogue(lang)(code, **{k: str(v) for k, v in values.items()})
    except (KeyError, IndexError, ValueError):
        return code


def _buyer_link(session: Session, inventory_id: uuid.UUID) -> str:
    from footprint_api.services import supply_chain

    footprint = supply_chain.newest_footprint(session, inventory_id)
    return f"/app/footprints/{footprint.id}" if footprint else "/app/dashboard"


def _supply_affected(session: Session, event: AuditEvent) -> list[Notice]:
    """The buyer's people, and the people of each certification body with a label in force on that footprint."""
    found = _supply_params(session, event)
    if found is None:
        return []
    params, link, at_risk = found
    key = f"{event.action}:{event.object_id}:{event.seq}"
    buyers = people(session, [link.organisation_id], MANUFACTURER).get(link.organisation_id, [])
    made = _to(buyers, SUPPLY_AFFECTED, params, _buyer_link(session, link.inventory_id), key)
    bodies = people(session, {label.issuer_id for label in at_risk}, BODY)
    for label in at_risk:
        values = {**params, "number": label.number, "manufacturer": label.manufacturer_name}
        made += _to(
            bodies.get(label.issuer_id, []), SUPPLY_LABEL_AT_RISK, values, LABELS_AT_RISK_PAGE, f"{key}:{label.number}"
        )
    return made


def _supply_restored(session: Session, event: AuditEvent) -> list[Notice]:
    found = _supply_params(session, event)
    if found is None:
        return []
    params, link, _ = found
    key = f"{event.action}:{event.object_id}:{event.seq}"
    buyers = people(session, [link.organisation_id], MANUFACTURER).get(link.organisation_id, [])
    return _to(buyers, SUPPLY_RESTORED, params, _buyer_link(session, link.inventory_id), key)


LABELS_AT_RISK_PAGE = "/app/supply/labels-at-risk"  # the certification body's list (web.routes.supply)
# actions whose notices a function of their own makes (several parties, values of their own), beside RULES
DERIVED = {"supply.affected": _supply_affected, "supply.cleared": _supply_restored}


def derive(session: Session, events: list[AuditEvent]) -> None:
    """The notices of a transaction's audit entries, in that transaction (called by `audit.commit` once the entries
    are chained). In a savepoint of its own: a failure here is logged and never undoes the change it reports."""
    concerned = [event for event in events if event.action in RULES or event.action in DERIVED]
    if not concerned:
        return
    try:
        with session.begin_nested():
            made = _add(
                session,
                [
                    notice
                    for event in concerned
                    for notice in (DERIVED.get(event.action) or _from_event)(session, event)
                ],
            )
            session.flush()
    except Exception:  # a notice must never undo the audited change it reports; logged with its cause
        log.exception("the notices of %s could not be made", ", ".join(f"{e.action} #{e.seq}" for e in concerned))
        return
    session.info.setdefault(_MAIL_QUEUE, []).extend(notice.id for notice in made)


def committed(session: Session) -> None:
    """After the commit (`audit.commit`): the notices the transaction made go by mail, from the mail thread."""
    ids = session.info.pop(_MAIL_QUEUE, None)
    if ids and mail.configured():
        _mail_thread().submit(_deliver_logged, list(ids))


# --- a label about to expire (housekeeping) ------------------------------------------------------------------------


def warn_expiring(session: Session, today: date) -> int:
    """The manufacturer's people are told once of each label in force that expires within EXPIRY_NOTICE_DAYS days
    of `today` (a label's day: China time, services.verification.today), a person who joins meanwhile too; each
    label told is in the audit trail. Returns the notices made. A few queries whatever the number of labels: it
    runs with every housekeeping run."""
    due = session.exec(
        select(Label).where(
            col(Label.state).in_(IN_FORCE),
            Label.expires_on >= today,
            Label.expires_on <= today + timedelta(days=EXPIRY_NOTICE_DAYS),
        )
    ).all()
    if not due:
        return 0
    staff = people(session, {label.organisation_id for label in due}, MANUFACTURER)
    bodies = _names(session, *{label.issuer_id for label in due})
    candidates, subjects = [], {}
    for label in due:
        subject = label_subject(session, label, bodies)
        subjects[label.number] = subject.params
        key = f"{EXPIRING}:{label.number}:{label.expires_on.isoformat()}"
        candidates += _to(
            staff.get(label.organisation_id, []), EXPIRING, subject.params, subject.links[MANUFACTURER], key
        )
    candidates += procurement.expiring_buyer_notices(session, due, subjects)  # the buyers who awarded them
    made = _add(session, candidates)
    procurement.record_expiry_notices(session, made)
    for label in due:
        told = sum(1 for notice in made if notice.kind == EXPIRING and notice.params["number"] == label.number)
        if told:
            audit.record(
                session,
                audit.SYSTEM,
                "label.expiry_notice",
                "label",
                label.number,
                after={"expires_on": label.expires_on.isoformat(), "people": told},
                organisation_id=label.organisation_id,
            )
    session.flush()
    session.info.setdefault(_MAIL_QUEUE, []).extend(notice.id for notice in made)
    audit.commit(session)
    return len(made)


# --- the inbox ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    quote: str | None


class _Values(dict):
    """Parameters of a stored notice; one its wording asks for and it lacks (an older notice) shows as a dash."""

    def __missing__(self, key: str) -> str:
        return "–"


def render(notice: Notice, lang: str) -> Rendered:
    """The notice in a language: its title and sentence from the catalogue, filled with its parameters (one given
    in both languages, as `item` and `item_zh`, in the reader's)."""
    messages = catalogue(lang).messages
    values = _Values({k: str(v) for k, v in (notice.params or {}).items()})
    # a value given in each language (`item_zh`, `reason_en`) fills the placeholder of its plain name (`{item}`)
    suffix = f"_{lang}"
    values.update({k.removesuffix(suffix): v for k, v in list(values.items()) if k.endswith(suffix)})
    title = messages.get(f"notice.{notice.kind}.title", notice.kind).format_map(values)
    body = messages.get(f"notice.{notice.kind}.body", "").format_map(values)
    quote = (notice.params or {}).get("quote")
    return Rendered(title, body, str(quote) if quote else None)


def _reader(principal: Principal) -> uuid.UUID:
    """Notices are a person's: a machine client has none."""
    if principal.kind != "user":
        raise Forbidden("notices are for people signed in with their own account", code="notice.people_only")
    return principal.subject


def _mine(principal: Principal):
    return (Notice.user_id == _reader(principal), Notice.organisation_id == principal.organisation_id)


@dataclass(frozen=True)
class InboxPage:
    notices: list[Notice]
    total: int
    unread: int
    page: int
    pages: int
    page_size: int = PAGE_SIZE
    unread_only: bool = False


def inbox(
    session: Session, principal: Principal, page: int = 1, unread_only: bool = False, page_size: int = PAGE_SIZE
) -> InboxPage:
    """One page of the caller's notices, newest first (a page past the last shows the last)."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    mine = _mine(principal)
    unread = unread_count(session, principal.subject, principal.organisation_id)
    total = unread if unread_only else session.exec(select(func.count()).select_from(Notice).where(*mine)).one()
    pages = max(1, -(-total // page_size))
    page = max(1, min(page, pages))
    query = select(Notice).where(*mine)
    if unread_only:
        query = query.where(col(Notice.read_at).is_(None))
    rows = session.exec(
        query.order_by(col(Notice.created_at).desc(), col(Notice.id)).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return InboxPage(list(rows), total, unread, page, pages, page_size, unread_only)


def unread_count(session: Session, user_id: uuid.UUID, organisation_id: uuid.UUID) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notice)
        .where(Notice.user_id == user_id, Notice.organisation_id == organisation_id, col(Notice.read_at).is_(None))
    ).one()


def notice_of(session: Session, principal: Principal, notice_id: uuid.UUID) -> Notice:
    """The caller's own notice; anyone else's is not found (404), as if it did not exist."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.user_id != _reader(principal) or notice.organisation_id != principal.organisation_id:
        raise NotFound("no such notice of yours", code="notice.not_found")
    return notice


def mark_read(session: Session, principal: Principal, notice_id: uuid.UUID) -> Notice:
    """Read (once: marking a read notice again changes nothing and records nothing)."""
    notice = notice_of(session, principal, notice_id)
    if notice.read_at is None:
        notice.read_at = utcnow()
        session.add(notice)
        audit.record(session, actor(principal), "notice.read", "notice", notice.id, after={"kind": notice.kind})
        audit.commit(session)
    return notice


def mark_all_read(session: Session, principal: Principal) -> int:
    """Every unread notice of the caller read; returns how many."""
    changed = session.execute(
        update(Notice).where(*_mine(principal), col(Notice.read_at).is_(None)).values(read_at=utcnow())
    ).rowcount
    if changed:
        audit.record(
            session, actor(principal), "notice.read_all", "user", principal.subject, after={"notices": changed}
        )
    audit.commit(session)
    return changed


# --- mail ---------------------------------------------------------------------------------------------------------


def mail_of(notice: Notice, user: User) -> mail.Mail:
    """One message in both languages, Chinese first (a person has no language preference yet)."""
    base = get_settings().base_url.rstrip("/")
    texts, titles = [], []
    for lang in LANGUAGES:
        t, shown = catalogue(lang), render(notice, lang)
        lines = [t("notice.mail.greeting", name=user.name), "", shown.title, shown.body]
        if shown.quote:
            lines += ["", t("notice.mail.quote", quote=shown.quote)]
        if notice.link:
            lines += ["", t("notice.mail.open", url=base + notice.link)]
        texts.append("\n".join(lines))
        titles.append(shown.title)
    footer = "\n".join(catalogue(lang)("notice.mail.footer") for lang in LANGUAGES)
    return mail.Mail(
        to=user.email, subject=" / ".join(titles), text="\n\n————————\n\n".join(texts) + f"\n\n-- \n{footer}\n"
    )


@lru_cache(maxsize=1)
def _mail_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="pcf-mail")


def _deliver_logged(ids: list[uuid.UUID]) -> None:
    try:
        deliver(ids)
    except Exception:  # the mail thread outlives any one failure; the housekeeping task retries
        log.exception("mailing notices %s failed", ids)


def _claim(session: Session, ids: list[uuid.UUID] | None) -> list[tuple[Notice, User]]:
    """The notices to mail (these, or those of the retry window), unread and of active people, claimed by setting
    emailed_at where it is still empty: another sender claiming one first keeps it."""
    query = select(Notice, User).join(User, col(User.id) == col(Notice.user_id))
    query = query.where(col(Notice.emailed_at).is_(None), col(Notice.read_at).is_(None), col(User.active).is_(True))
    if ids is None:
        since = utcnow() - timedelta(hours=get_settings().smtp_retry_hours)
        query = query.where(Notice.created_at >= since).order_by(col(Notice.created_at)).limit(MAIL_BATCH)
    else:
        query = query.where(col(Notice.id).in_(ids))
    claimed, now = [], utcnow()
    for notice, user in session.exec(query).all():
        taken = session.execute(
            update(Notice).where(Notice.id == notice.id, col(Notice.emailed_at).is_(None)).values(emailed_at=now)
        ).rowcount
        if taken:
            claimed.append((notice, user))
    session.commit()
    return claimed


def _refused_for_good(exc: Exception) -> bool:
    """The server refused the recipient permanently (5xx, RFC 5321 §4.2.1): trying again would not help."""
    return isinstance(exc, smtplib.SMTPRecipientsRefused) and all(code >= 500 for code, _ in exc.recipients.values())


def deliver(ids: list[uuid.UUID] | None = None) -> int:
    """Mails these notices, or (None, the housekeeping task) those not mailed yet of the retry window, over one
    connection; returns how many went. One that failed is given back for the next try, and logged."""
    if not mail.configured():
        return 0
    with session_scope() as session:
        claimed = _claim(session, ids)
        if not claimed:
            return 0
        sent, given_up, cause = set(), set(), None
        try:
            with mail.connection() as send:
                for notice, user in claimed:
                    try:
                        send(mail_of(notice, user))
                        sent.add(notice.id)
                    except mail.MailError as exc:
                        if _refused_for_good(exc):
                            given_up.add(notice.id)
                            log.error(
                                "the mail server refuses %s for good: notice %s not mailed", user.email, notice.id
                            )
                        else:
                            cause = exc
        except mail.MailError as exc:
            cause = exc
        finally:
            failed = [notice.id for notice, _ in claimed if notice.id not in sent | given_up]
            if failed:
                session.execute(update(Notice).where(col(Notice.id).in_(failed)).values(emailed_at=None))
                session.commit()
                log.warning("%d notice(s) not mailed (%s); the housekeeping task tries again", len(failed), cause)
        return len(sent)
