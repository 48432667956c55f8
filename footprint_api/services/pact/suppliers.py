"""A buyer's PACT suppliers: the connections to their PACT APIs, the footprints received from them, and what happens
when a supplier deprecates one.

- A connection is the supplier's API base URL and the client credentials the supplier issued to the buyer; the
  secret is sealed (infra.security) and never shown again. The outbound policy checks the URL when it is registered
  and again at every connection (services.pact.recipient).
- A footprint is received three ways: pulled over a connection (by PACT id or by product id), fetched after a
  supplier's `PublishedEvent`, or uploaded as a file by a buyer whose supplier has no API. Each is checked against
  the PACT schema (services.pact.documents) and kept as received, with the values read from it; the same document
  received again is the same row.
- Deprecation follows PACT's life cycle (Technical Specifications 3.0.3 "Product footprint lifecycle"): a footprint
  whose status turns `Deprecated`, one named in a newer footprint's `precedingPfIds`, or one whose id comes back with
  other values (a v2-style update) is marked Deprecated, its successor named where one is known, and every supply
  link resting on it is marked affected (services.supply_chain.supplier_footprint_deprecated). A supplier's system
  tells the buyer with a PublishedEvent (an ApiClient of role pact_supplier the buyer issued); the housekeeping poll
  finds what no event told, re-reading the Active footprints that inventories use.

A footprint's life is taken from where it came from, and from nowhere else: its newer versions, its deprecation and
the footprints it succeeds (`precedingPfIds`) count only from the same source — the same connection, or, for uploaded
files, a file of the same company (a shared `companyIds` entry). Otherwise one supplier could deprecate another's
footprints, or slip its own values in as their newer version, by naming their ids. A footprint id the buyer holds
from one source, received with other values from another, is refused (OtherSource) and nothing of it is kept.

A supplier's system sends its events one at a time per buyer (another while one is being acted on is answered "busy,
send again": EventBusy), and an event it sends again (the same source and id) is acted on once: an event costs the
buyer calls to its suppliers, so neither a flood nor a replay multiplies them.

Every change is in the audit trail; a failed call to a supplier is too (for the background poll, only when the
connection's error changes, so that a supplier down for a week does not write one entry a minute).
"""

import json
import logging
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from footprint_api.core.errors import Conflict, NotFound, ServiceError, Unprocessable
from footprint_api.core.settings import get_settings
from footprint_api.infra import outbound
from footprint_api.infra.security import Principal, SecretUnreadable, open_secret, seal_secret
from footprint_api.persistence.models import (
    AuditEvent,
    InventoryRecord,
    Product,
    SupplierConnection,
    SupplierFootprint,
    SupplyLink,
    utcnow,
)
from footprint_api.services import audit, supply_chain
from footprint_api.services.pact import documents
from footprint_api.services.pact.documents import DocumentInvalid, Received, canonical
from footprint_api.services.pact.recipient import FootprintMissing, SupplierApi, SupplierFailed
from footprint_api.services.principals import actor
from label_service import gs1

SECRETS = "supplier-connection-secrets"  # the purpose the suppliers' secrets are sealed for
ACTIVE, DEPRECATED = "Active", "Deprecated"
# what a form or a JSON body may give (the columns of SupplierConnection)
MAX_NAME, MAX_URL, MAX_CLIENT_ID, MAX_SECRET, MAX_PRODUCT_ID = 200, 500, 200, 500, 200
MAX_ERROR = 500
PULL_SECONDS = 30.0  # all the calls of one pull: token, footprint or pages, a successor search
EVENT_SECONDS = 30.0  # what a PublishedEvent may cost the supplier's system that waits for the answer
EVENT_MAX_IDS = 20  # footprints of one event looked at (more: the poll finds the rest of those in use)
EVENT_MAX_UNHELD = 5  # of those, footprints the buyer does not hold yet, asked for over other connections
EVENT_MAX_CONNECTIONS = 5  # connections asked for a footprint the buyer does not hold yet
EVENT_REPLAY_MEMORY = 10_000  # (organisation, source, id) of the events acted on lately, to act on each once
POLL_PER_RUN = 20  # footprints the housekeeping task re-reads per run (every minute)
POLL_SECONDS = 40.0
SUCCESSOR_PRODUCT_IDS = 3  # product ids of a deprecated footprint searched for its successor
log = logging.getLogger(__name__)


# --- connections -----------------------------------------------------------------------------------------------------


def connections(session: Session, principal: Principal) -> list[SupplierConnection]:
    return list(
        session.exec(
            select(SupplierConnection)
            .where(SupplierConnection.organisation_id == principal.organisation_id)
            .order_by(col(SupplierConnection.active).desc(), SupplierConnection.name)
        )
    )


def connection(session: Session, principal: Principal, connection_id: uuid.UUID) -> SupplierConnection:
    found = session.get(SupplierConnection, connection_id)
    if found is None or found.organisation_id != principal.organisation_id:
        raise NotFound("no such supplier connection in your organisation", code="suppliers.connection.not_found")
    return found


def _field_error(field: str, code: str, reason: str, **params) -> dict:
    return {"field": field, "reason": reason, "code": code, "params": params}


def _text_errors(values: dict[str, str | None], limits: dict[str, int]) -> list[dict]:
    errors = []
    for name, value in values.items():
        if value is None:
            continue
        if not value.strip():
            errors.append(_field_error(name, "suppliers.field.required", "required"))
        elif len(value) > limits[name]:
            errors.append(
                _field_error(name, "suppliers.field.too_long", f"at most {limits[name]} characters", limit=limits[name])
            )
    return errors


def _url_error(base_url: str) -> dict | None:
    """Why the outbound policy refuses the URL, as a coded error naming `base_url`; None if it allows it."""
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 - a port out of range or not a number raises here
    except ValueError:
        return _field_error("base_url", "suppliers.url.https", "not a URL")
    if parts.scheme != "https" or not parts.hostname:
        return _field_error("base_url", "suppliers.url.https", "only https URLs with a host name are allowed")
    if parts.username or parts.password:
        return _field_error("base_url", "suppliers.url.credentials", "credentials in the URL are not allowed")
    if parts.query or parts.fragment:
        return _field_error("base_url", "suppliers.url.query", "the base URL has no query or fragment")
    try:
        outbound.check_url(base_url)
    except outbound.OutboundRefused as exc:
        code = "suppliers.url.unresolved" if "does not resolve" in str(exc) else "suppliers.url.private"
        return _field_error("base_url", code, str(exc))
    except ValueError:  # a port out of range, an address that is none
        return _field_error("base_url", "suppliers.url.https", "not a URL")
    return None


def _checked(name: str | None, base_url: str | None, client_id: str | None, secret: str | None) -> dict:
    """The given fields, tidied; every problem at once, each naming its field (Unprocessable)."""
    values = {"name": name, "base_url": base_url, "client_id": client_id, "client_secret": secret}
    limits = {"name": MAX_NAME, "base_url": MAX_URL, "client_id": MAX_CLIENT_ID, "client_secret": MAX_SECRET}
    tidy = {k: (v.strip() if k != "client_secret" and v is not None else v) for k, v in values.items()}
    errors = _text_errors(tidy, limits)
    if tidy["base_url"] and not any(e["field"] == "base_url" for e in errors):
        tidy["base_url"] = tidy["base_url"].rstrip("/")
        problem = _url_error(tidy["base_url"])
        if problem:
            errors.append(problem)
    if errors:
        raise Unprocessable(f"{len(errors)} problem(s)", errors, code="suppliers.connection.invalid")
    return tidy


def _name_taken(session: Session, organisation_id: uuid.UUID, name: str, other: uuid.UUID | None = None) -> None:
    found = session.exec(
        select(SupplierConnection).where(
            SupplierConnection.organisation_id == organisation_id, SupplierConnection.name == name
        )
    ).first()
    if found is not None and found.id != other:
        raise _taken(name)


def _taken(name: str) -> Unprocessable:
    reason = f"a connection named {name!r} exists"
    return Unprocessable(reason, [_field_error("name", "suppliers.connection.name_taken", reason, name=name)])


def _commit(session: Session, name: str) -> None:
    try:
        audit.commit(session)
    except IntegrityError:  # the unique (organisation, name): another request registered it just now
        _undo(session)
        raise _taken(name) from None


def _shown(found: SupplierConnection) -> dict:
    """A connection as the audit trail keeps it: never the secret."""
    return {"name": found.name, "base_url": found.base_url, "client_id": found.token_client_id, "active": found.active}


def register(
    session: Session, principal: Principal, name: str, base_url: str, client_id: str, client_secret: str
) -> SupplierConnection:
    values = _checked(name, base_url, client_id, client_secret)
    _name_taken(session, principal.organisation_id, values["name"])
    found = SupplierConnection(
        organisation_id=principal.organisation_id,
        name=values["name"],
        base_url=values["base_url"],
        token_client_id=values["client_id"],
        token_secret_encrypted=seal_secret(get_settings().signing_key(), SECRETS, client_secret),
        created_by=principal.subject,
    )
    session.add(found)
    audit.record(
        session,
        actor(principal),
        "supplier.connection_registered",
        "supplier_connection",
        found.id,
        after=_shown(found),
    )
    _commit(session, found.name)
    return found


def update(
    session: Session,
    principal: Principal,
    connection_id: uuid.UUID,
    name: str | None = None,
    base_url: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> SupplierConnection:
    """Changes what is given (None: unchanged); a new secret replaces the sealed one."""
    found = connection(session, principal, connection_id)
    values = _checked(name, base_url, client_id, client_secret)
    if values["name"] is not None:
        _name_taken(session, principal.organisation_id, values["name"], found.id)
    before = _shown(found)
    if all(value is None for value in values.values()):
        return found  # nothing asked to change: nothing to record
    found.name = values["name"] or found.name
    found.base_url = values["base_url"] or found.base_url
    found.token_client_id = values["client_id"] or found.token_client_id
    if client_secret is not None:
        found.token_secret_encrypted = seal_secret(get_settings().signing_key(), SECRETS, client_secret)
    found.updated_at = utcnow()
    session.add(found)
    audit.record(
        session,
        actor(principal),
        "supplier.connection_updated",
        "supplier_connection",
        found.id,
        before=before,
        after={**_shown(found), "secret_replaced": client_secret is not None},
    )
    _commit(session, found.name)
    return found


def deactivate(session: Session, principal: Principal, connection_id: uuid.UUID) -> SupplierConnection:
    """No more calls over it (pulls, events, the poll); what was received through it stays."""
    found = connection(session, principal, connection_id)
    if not found.active:
        return found
    found.active, found.updated_at = False, utcnow()
    session.add(found)
    audit.record(
        session,
        actor(principal),
        "supplier.connection_deactivated",
        "supplier_connection",
        found.id,
        before={"active": True},
        after={"active": False},
    )
    audit.commit(session)
    return found


def _api(found: SupplierConnection, deadline: float) -> SupplierApi:
    try:
        secret = open_secret(get_settings().signing_key(), SECRETS, found.token_secret_encrypted)
    except SecretUnreadable as exc:  # the service's key changed since: the secret must be given again (its field)
        code = "suppliers.connection.secret_unreadable"
        raise Conflict(str(exc), [_field_error("client_secret", code, str(exc))], code=code) from None
    return SupplierApi(found.base_url, found.token_client_id, secret, deadline)


# --- receiving footprints ----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one pull, event or poll did: rows received, footprints deprecated, calls that failed."""

    received: list[SupplierFootprint]
    deprecated: int = 0
    checked: int = 0
    failed: int = 0


def _versions(session: Session, organisation_id: uuid.UUID, pf_id: str) -> list[SupplierFootprint]:
    return list(
        session.exec(
            select(SupplierFootprint)
            .where(SupplierFootprint.organisation_id == organisation_id, SupplierFootprint.pf_id == pf_id)
            .order_by(SupplierFootprint.pf_version)
        )
    )


def _row(received: Received, organisation_id, origin, connection_id, received_by, pf_version) -> SupplierFootprint:
    return SupplierFootprint(
        organisation_id=organisation_id,
        connection_id=connection_id,
        origin=origin,
        pf_id=received.pf_id,
        pf_version=pf_version,
        status=received.status,
        company_name=received.company_name,
        product_name=received.product_name,
        product_ids=received.product_ids,
        declared_unit=received.declared_unit,
        declared_amount=received.declared_amount,
        pcf_excluding_biogenic=received.pcf_excluding_biogenic,
        pcf_including_biogenic=received.pcf_including_biogenic,
        primary_data_share=received.primary_data_share,
        dqi=received.dqi,
        assurance=received.verification,
        verified=received.verified,
        reference_period_start=received.reference_period_start,
        reference_period_end=received.reference_period_end,
        valid_from=received.valid_from,
        valid_until=received.valid_until,
        document=received.document,
        received_by=received_by,
        deprecated_at=utcnow() if received.status == DEPRECATED else None,
    )


# what changes in a footprint's life without changing the footprint: its status, and the list of the versions it
# replaced (a supplier sharing an older version later lengthens it)
LIFECYCLE_FIELDS = frozenset({"status", "precedingPfIds"})


def _content(document: dict) -> str:
    """What makes two documents the same footprint: all but its life-cycle fields, its id in canonical text."""
    content = {key: value for key, value in document.items() if key not in LIFECYCLE_FIELDS}
    content["id"] = str(content.get("id", "")).lower()
    return canonical(content)


class OtherSource(Conflict):
    """A footprint id the buyer holds from one source (a connection, or an uploaded file of one company), received
    with other values from another: one supplier does not replace another's footprint by naming its id. Its error
    names the document's `id`."""

    def __init__(self, held: SupplierFootprint, through: str | None):
        # the connection's name, or an uploaded file (worded in Chinese for the pages: messages' `_zh` values)
        params = {"pf_id": held.pf_id, "source": through or "an uploaded file"}
        if through is None:
            params["source_zh"] = "上传的文件"
        reason = f"footprint {held.pf_id} is held from another source ({params['source']}) with other values; nothing is kept"
        entry = {"field": "id", "reason": reason, "code": "suppliers.document.other_source", "params": params}
        super().__init__(reason, [entry], "suppliers.document.other_source", params)


def _company_ids(document: dict) -> set[str]:
    return {str(company).casefold() for company in document.get("companyIds", []) if isinstance(company, str)}


def _same_source(row: SupplierFootprint, connection_id: uuid.UUID | None, company_ids: set[str]) -> bool:
    """Whether a footprint received from this source may change the life of `row`: the same connection; or, both
    uploaded, files of the same company."""
    if row.connection_id is not None or connection_id is not None:
        return row.connection_id == connection_id
    return bool(_company_ids(row.document) & company_ids)


def _source_name(session: Session, row: SupplierFootprint) -> str | None:
    """The connection a footprint came through, by name; None for an uploaded file."""
    through = session.get(SupplierConnection, row.connection_id) if row.connection_id else None
    return through.name if through is not None else None


def _receive(
    session: Session,
    who: audit.Actor,
    organisation_id: uuid.UUID,
    received: Received,
    origin: str,
    connection_id: uuid.UUID | None,
    received_by: uuid.UUID | None,
    tally: Tally,
) -> SupplierFootprint:
    """The row of a checked footprint: the one held when the same document comes again; a new row otherwise. Then
    PACT's life cycle, from the same source only: the footprints it succeeds are deprecated, and it is deprecated
    itself when it says so. The same document from another source is the row held, unchanged; other values under
    an id held from another source are refused (OtherSource)."""
    versions = _versions(session, organisation_id, received.pf_id)
    latest = versions[-1] if versions else None
    companies = _company_ids(received.document)
    if latest is not None and not _same_source(latest, connection_id, companies):
        if _content(latest.document) == _content(received.document):
            return latest  # the same footprint, told by someone else: nothing of its life is taken from them
        raise OtherSource(latest, _source_name(session, latest))
    if latest is not None and _content(latest.document) == _content(received.document):
        # the same footprint again, or at another point of its life: the document stays as first received (the
        # evidence behind the values that were used), the status column says what is known now
        row = latest
    else:
        row = _row(
            received,
            organisation_id,
            origin,
            connection_id,
            received_by,
            latest.pf_version + 1 if latest else 0,
        )
        if row.status == DEPRECATED:
            row.successor_id = _held_successor(session, row)
        session.add(row)
        # written now: the older version's successor_id is about to name it, and a flush writes a table's updates
        # before its inserts (the foreign key would name a row not there yet)
        session.flush()
        tally.received.append(row)
        audit.record(
            session,
            who,
            "supplier.footprint_received",
            "supplier_footprint",
            row.id,
            after={
                "pf_id": row.pf_id,
                "version": row.pf_version,
                "origin": origin,
                "status": row.status,
                "company": row.company_name,
                "product": row.product_name,
                "value": row.pcf_excluding_biogenic,
                "declared_unit": f"{received.document['pcf']['declaredUnitAmount']} {row.declared_unit}",
                "verified": row.verified,
            },
            organisation_id=organisation_id,
        )
        if latest is not None and latest.status == ACTIVE:  # the same id with other values: a newer version
            _deprecate(session, who, latest, row if row.status == ACTIVE else None, tally)
    if received.status == DEPRECATED and row.status == ACTIVE:
        _deprecate(session, who, row, _held(session, _held_successor(session, row)), tally)
    if row.status == ACTIVE:
        for preceding in received.preceding_ids:
            for older in _versions(session, organisation_id, preceding):
                if older.id != row.id and _same_source(older, connection_id, companies):
                    _deprecate(session, who, older, row, tally)
    return row


def _held(session: Session, row_id: uuid.UUID | None) -> SupplierFootprint | None:
    return session.get(SupplierFootprint, row_id) if row_id else None


def _held_successor(session: Session, old: SupplierFootprint) -> uuid.UUID | None:
    """The Active footprint the buyer holds from the same source that names this one among its precedingPfIds."""
    companies = _company_ids(old.document)
    if old.connection_id is not None:
        same_source = col(SupplierFootprint.connection_id) == old.connection_id
    else:
        same_source = col(SupplierFootprint.connection_id).is_(None)
    for row in session.exec(
        select(SupplierFootprint).where(
            SupplierFootprint.organisation_id == old.organisation_id, SupplierFootprint.status == ACTIVE, same_source
        )
    ):
        named = row.document.get("precedingPfIds", [])
        if old.pf_id in {str(pf).lower() for pf in named} and _same_source(row, old.connection_id, companies):
            return row.id
    return None


def _deprecate(
    session: Session, who: audit.Actor, old: SupplierFootprint, successor: SupplierFootprint | None, tally: Tally
) -> None:
    """Marks `old` Deprecated (its successor named when known) and the supply links resting on it affected. A
    footprint deprecated before its successor was known is told again when it is: the links then name it."""
    first = old.status != DEPRECATED
    learnt = successor is not None and old.successor_id is None
    if not first and not learnt:
        return
    before = {"status": old.status, "successor": None}
    old.status = DEPRECATED
    old.deprecated_at = old.deprecated_at or utcnow()
    if successor is not None:
        old.successor_id = successor.id
    session.add(old)
    audit.record(
        session,
        who,
        "supplier.footprint_deprecated",
        "supplier_footprint",
        old.id,
        before=before,
        after={"status": DEPRECATED, "successor": successor.pf_id if successor else None},
        organisation_id=old.organisation_id,
    )
    session.flush()
    supply_chain.supplier_footprint_deprecated(session, old, successor)
    tally.deprecated += first


def _checked_document(document: dict) -> Received:
    """A footprint from a supplier's API, checked: one that is not valid is the supplier's failure (502)."""
    try:
        return documents.check(document)
    except DocumentInvalid as exc:
        raise SupplierFailed(
            f"the supplier's footprint is not a valid PACT ProductFootprint: {exc}",
            code="suppliers.failed.invalid",
            params={"path": exc.path},
        ) from None


def _successors(api: SupplierApi, old: Received) -> list[Received]:
    """The supplier's footprints naming `old` among their precedingPfIds, found by its product ids."""
    found = []
    for product_id in old.product_ids[:SUCCESSOR_PRODUCT_IDS]:
        for document in api.footprints(product_id):
            named = document.get("precedingPfIds")
            if isinstance(named, list) and old.pf_id in {str(pf).lower() for pf in named}:  # only these are checked
                received = _checked_document(document)
                if received.status == ACTIVE:
                    found.append(received)
        if found:
            break
    return found


@dataclass(frozen=True)
class Source:
    """Where footprints come from in one conversation: the connection's id and its buyer, read before the
    conversation (no database object is touched while the supplier answers)."""

    connection_id: uuid.UUID
    organisation_id: uuid.UUID


def _release(session: Session) -> None:
    """Ends the session's transaction before the supplier is called: nothing of the database is held while a
    supplier answers (on SQLite a writing request's transaction holds the one writer's lock from its start, so a
    supplier that takes its time froze every other change of the whole service). Called with nothing to write."""
    session.rollback()


def _download(api: SupplierApi, pf_id: str) -> tuple[Received, list[Received]]:
    """GetFootprint, checked; a Deprecated one with its successors (network only: no database)."""
    received = _checked_document(api.footprint(pf_id))
    return received, _successors(api, received) if received.status == DEPRECATED else []


def _keep(
    session: Session,
    who: audit.Actor,
    source: Source,
    downloaded: tuple[Received, list[Received]],
    origin: str,
    received_by: uuid.UUID | None,
    tally: Tally,
    only_successors: bool = False,
) -> SupplierFootprint | None:
    """A downloaded footprint received, its successors first (so that its deprecation names them).
    `only_successors`: kept only if it succeeds a footprint the buyer holds from the same connection (an event
    naming a footprint the buyer never asked for)."""
    received, successors = downloaded
    if only_successors and not any(
        row.connection_id == source.connection_id
        for pf in received.preceding_ids
        for row in _versions(session, source.organisation_id, pf)
    ):
        return None
    for successor in successors:
        _receive(session, who, source.organisation_id, successor, origin, source.connection_id, received_by, tally)
    return _receive(session, who, source.organisation_id, received, origin, source.connection_id, received_by, tally)


def _undo(session: Session) -> None:
    """Rolls back what a failed step had begun, audit entries queued for it included (a rollback leaves those in
    the session, and the next commit would write them: a footprint "received" that never was)."""
    session.rollback()
    session.info.pop("audit", None)


def _failure(session: Session, who: audit.Actor, found: SupplierConnection, exc: Exception, always: bool) -> None:
    """Keeps what went wrong on the connection (and in the audit trail, with the code and values a page words it
    with: always for a person's pull, on a change for the background's calls), after undoing what the failed
    conversation had begun."""
    _undo(session)
    message = str(getattr(exc, "detail", exc))[:MAX_ERROR]
    if not always and found.last_error == message:
        return
    found.last_error = message
    session.add(found)
    code, params = _error_code(exc)
    audit.record(
        session,
        who,
        "supplier.connection_failed",
        "supplier_connection",
        found.id,
        after={"error": message, "code": code, "params": params},
        organisation_id=found.organisation_id,
    )
    audit.commit(session)


def _error_code(exc: Exception) -> tuple[str, dict]:
    """The message code and values of a failure (the first error entry's, which the pages word)."""
    if isinstance(exc, outbound.OutboundRefused):
        code = "suppliers.url.unresolved" if "does not resolve" in str(exc) else "suppliers.url.private"
        return code, {}
    if isinstance(exc, ServiceError):
        entry = exc.errors[0] if exc.errors else {}
        return str(entry.get("code") or exc.code), dict(entry.get("params") or exc.params)
    return "", {}


def last_errors(session: Session, principal: Principal, found: Iterable[SupplierConnection]) -> dict[uuid.UUID, dict]:
    """The code and values of each failing connection's last error (its latest `supplier.connection_failed` entry),
    for the pages to word it in the reader's language; `last_error` itself is the English the JSON API answers."""
    failing = {str(connection.id): connection.id for connection in found if connection.last_error}
    if not failing:
        return {}
    entries = session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.organisation_id == principal.organisation_id,
            AuditEvent.action == "supplier.connection_failed",
            col(AuditEvent.object_id).in_(list(failing)),
        )
        .order_by(col(AuditEvent.seq).desc())
    )
    worded: dict[uuid.UUID, dict] = {}
    for entry in entries:
        connection_id = failing[entry.object_id]
        if connection_id not in worded and (entry.after or {}).get("code"):
            worded[connection_id] = {"code": entry.after["code"], "params": entry.after.get("params") or {}}
        if len(worded) == len(failing):
            break
    return worded


def _succeeded(session: Session, found: SupplierConnection) -> None:
    found.last_used_at, found.last_error = utcnow(), None
    session.add(found)


def _refused_url(exc: outbound.OutboundRefused) -> Unprocessable:
    code = "suppliers.url.unresolved" if "does not resolve" in str(exc) else "suppliers.url.private"
    return Unprocessable(f"base_url: {exc}", [_field_error("base_url", code, str(exc))], code=code)


SUPPLIER_ERRORS = (SupplierFailed, outbound.OutboundRefused, Conflict)  # what a call to a supplier may end in


def pull(
    session: Session,
    principal: Principal,
    connection_id: uuid.UUID,
    pf_id: str | None = None,
    product_id: str | None = None,
) -> list[SupplierFootprint]:
    """Fetches one footprint by PACT id, or a product's footprints by product id (a URN; a bare GTIN is read as
    `urn:gtin:`), and keeps them as received. Returns their rows: new ones, or those held already (the same
    document received again)."""
    wanted_id, wanted_product = _pull_request(pf_id, product_id)
    found = connection(session, principal, connection_id)
    if not found.active:
        raise Conflict("the supplier connection is deactivated", code="suppliers.connection.inactive")
    who, tally = actor(principal), Tally([])
    source = Source(found.id, found.organisation_id)
    try:
        api = _api(found, time.monotonic() + PULL_SECONDS)
        _release(session)
        with api:  # the supplier's answers first, then what is kept of them
            if wanted_id:
                downloaded = [_download(api, wanted_id)]
            else:
                downloaded = _product_footprints(api, wanted_product)
        rows = [_keep(session, who, source, each, "pulled", principal.subject, tally) for each in downloaded]
        _succeeded(session, found)
        audit.commit(session)
    except (FootprintMissing, OtherSource):  # not there, or not taken from here: the connection itself is fine
        _undo(session)
        raise
    except SUPPLIER_ERRORS as exc:
        _failure(session, who, found, exc, always=True)
        if isinstance(exc, outbound.OutboundRefused):
            raise _refused_url(exc) from None
        raise
    except IntegrityError:  # the same footprint received by another request at this moment
        _undo(session)
        raise _busy() from None
    return rows


def _busy() -> Conflict:
    return Conflict("received at the same time by another request: try again", code="suppliers.pull.busy")


def _pull_request(pf_id: str | None, product_id: str | None) -> tuple[str | None, str | None]:
    pf_id, product_id = (pf_id or "").strip() or None, (product_id or "").strip() or None
    if (pf_id is None) == (product_id is None):
        reason = "give a footprint id or a product id"
        raise Unprocessable(reason, [_field_error("pf_id", "suppliers.pull.one_of", reason)])
    if pf_id is not None:
        try:
            return str(uuid.UUID(pf_id)), None
        except ValueError:
            reason = "a PACT footprint id is a UUID"
            raise Unprocessable(reason, [_field_error("pf_id", "suppliers.pull.pf_id_invalid", reason)]) from None
    if len(product_id) > MAX_PRODUCT_ID:
        reason = f"at most {MAX_PRODUCT_ID} characters"
        raise Unprocessable(
            reason, [_field_error("product_id", "suppliers.field.too_long", reason, limit=MAX_PRODUCT_ID)]
        )
    if gs1.is_gtin(product_id):
        return None, f"urn:gtin:{product_id}"
    if not product_id.lower().startswith("urn:"):
        reason = "a PACT product id is a URN (urn:gtin:…, urn:pact:…) or a GTIN"
        raise Unprocessable(reason, [_field_error("product_id", "suppliers.pull.product_id_invalid", reason)])
    return None, product_id


def _product_footprints(api: SupplierApi, product_id: str) -> list[tuple[Received, list[Received]]]:
    """A product's footprints, checked, Deprecated ones first so that the Active ones that succeed them name them
    (network only)."""
    listed = [_checked_document(document) for document in api.footprints(product_id)]
    if not listed:
        raise FootprintMissing("product_id", product_id, None)
    listed.sort(key=lambda received: received.status != DEPRECATED)
    return [(received, []) for received in listed]


def upload(session: Session, principal: Principal, body: bytes) -> SupplierFootprint:
    """A ProductFootprint file from a supplier without an API: checked as a pulled one (422 naming the JSON path of
    the first problem, nothing kept), marked uploaded and verified only if it carries a verification."""
    try:
        received = documents.check(documents.parse(body))
    except DocumentInvalid as exc:
        raise Unprocessable(
            f"not a valid PACT ProductFootprint: {exc}", [exc.entry()], code=exc.code, params=exc.params
        ) from None
    tally = Tally([])
    try:  # receiving flushes (the deprecations it causes): the same file uploaded at this moment collides there too
        row = _receive(
            session, actor(principal), principal.organisation_id, received, "uploaded", None, principal.subject, tally
        )
        audit.commit(session)
    except OtherSource:
        _undo(session)
        raise
    except IntegrityError:
        _undo(session)
        raise _busy() from None
    return row


# --- what the supplier tells, and what the poll finds -------------------------------------------------------------


class EventBusy(ServiceError):
    """Another event of this buyer's suppliers is being acted on: send this one again shortly (503)."""

    status, title = 503, "Busy"


_events_lock = threading.Lock()
_events_running: set[uuid.UUID] = set()  # organisations an event is being acted on for (in this process)
_events_seen: OrderedDict[tuple[uuid.UUID, str, str], None] = OrderedDict()  # (organisation, source, id), oldest first


@contextmanager
def event_slot(organisation_id: uuid.UUID) -> Iterator[None]:
    """One event at a time per buyer (EventBusy otherwise): each costs calls to its suppliers, within EVENT_SECONDS,
    and a supplier's system that sends many at once would otherwise hold as many of the service's workers."""
    with _events_lock:
        if organisation_id in _events_running:
            raise EventBusy(
                "another event of your organisation is being acted on: send this one again in a few seconds",
                code="suppliers.event.busy",
            )
        _events_running.add(organisation_id)
    try:
        yield
    finally:
        with _events_lock:
            _events_running.discard(organisation_id)


def first_time(organisation_id: uuid.UUID, source: str, event_id: str) -> bool:
    """Whether this event (CloudEvents: `source` and `id` name it) is new here; remembered for the next time. The
    memory is this process's latest EVENT_REPLAY_MEMORY events: a replay costs nothing while it is remembered, and
    one fetch of footprints the buyer holds already (the same documents: the same rows) after."""
    key = (organisation_id, source, event_id)
    with _events_lock:
        if key in _events_seen:
            _events_seen.move_to_end(key)
            return False
        _events_seen[key] = None
        while len(_events_seen) > EVENT_REPLAY_MEMORY:
            _events_seen.popitem(last=False)
    return True


def published(session: Session, principal: Principal, pf_ids: Iterable[str]) -> Tally:
    """A supplier's PublishedEvent (its system holds a client of role pact_supplier the buyer issued): the named
    footprints the buyer holds are fetched again over the connection each came through (one conversation per
    connection); those it does not hold (at most EVENT_MAX_UNHELD) are looked for over the buyer's connections that
    hold Active footprints, and kept only if they succeed one received over the same connection. A failure is kept on
    the connection; the event is still accepted (the poll tries again later). Callers hold `event_slot`."""
    who, tally = actor(principal), Tally([])
    deadline = time.monotonic() + EVENT_SECONDS
    by_connection: dict[uuid.UUID, list[str]] = {}
    unheld: list[str] = []
    for pf_id in dict.fromkeys(str(uuid.UUID(pf)) for pf in list(pf_ids)[:EVENT_MAX_IDS]):
        held = _versions(session, principal.organisation_id, pf_id)
        if not held:
            unheld.append(pf_id)
        elif held[-1].connection_id is not None:  # an uploaded footprint has no API to ask
            by_connection.setdefault(held[-1].connection_id, []).append(pf_id)
    for connection_id, wanted in by_connection.items():
        found = session.get(SupplierConnection, connection_id)
        if found is not None and found.active and found.organisation_id == principal.organisation_id:
            _refresh(session, who, found, wanted, deadline, tally)
    unheld = unheld[:EVENT_MAX_UNHELD]
    for found in _event_candidates(session, principal.organisation_id) if unheld else []:
        kept = _refresh(session, who, found, unheld, deadline, tally, adopt=True)
        unheld = [pf_id for pf_id in unheld if pf_id not in kept]
        if not unheld or time.monotonic() >= deadline:
            break
    return tally


def _event_candidates(session: Session, organisation_id: uuid.UUID) -> list[SupplierConnection]:
    holding = select(SupplierFootprint.connection_id).where(
        SupplierFootprint.organisation_id == organisation_id, SupplierFootprint.status == ACTIVE
    )
    return list(
        session.exec(
            select(SupplierConnection)
            .where(
                SupplierConnection.organisation_id == organisation_id,
                col(SupplierConnection.active).is_(True),
                col(SupplierConnection.id).in_(holding),
            )
            .order_by(col(SupplierConnection.last_used_at).desc())
            .limit(EVENT_MAX_CONNECTIONS)
        )
    )


def _refresh(
    session: Session,
    who: audit.Actor,
    found: SupplierConnection,
    pf_ids: list[str],
    deadline: float,
    tally: Tally,
    adopt: bool = False,
) -> set[str]:
    """Fetches these footprints again over one connection (one token), each received and committed; returns the
    ids kept. `adopt`: footprints the buyer does not hold, kept only if they succeed one held from this connection
    (one the supplier does not have is no failure then: another connection may). A footprint not taken from here
    (OtherSource) is skipped; a failed call ends the conversation and is kept on the connection."""
    kept: set[str] = set()
    source = Source(found.id, found.organisation_id)
    try:
        api = _api(found, deadline)
        _release(session)  # before the name is resolved and the token taken
        with api:
            for pf_id in pf_ids:
                tally.checked += 1
                _release(session)
                try:
                    downloaded = _download(api, pf_id)
                except FootprintMissing as missing:  # no longer shared with the buyer: the others may still be
                    if not adopt:
                        tally.failed += 1
                        _failure(session, who, found, missing, always=False)
                    continue
                try:
                    row = _keep(session, who, source, downloaded, "event", None, tally, only_successors=adopt)
                except OtherSource as exc:
                    _undo(session)
                    tally.failed += 1
                    log.warning("supplier connection %s: %s", source.connection_id, exc)
                    continue
                _succeeded(session, found)
                audit.commit(session)
                if row is not None:
                    kept.add(pf_id)
    except SUPPLIER_ERRORS as exc:
        tally.failed += 1
        log.info("supplier connection %s: %s", source.connection_id, exc)
        _failure(session, who, found, exc, always=False)
    except IntegrityError:  # received at this moment by a person's pull: the next run looks again
        _undo(session)
        tally.failed += 1
    return kept


def poll(session: Session, per_run: int = POLL_PER_RUN, seconds: float = POLL_SECONDS) -> Tally:
    """Housekeeping: re-reads Active supplier footprints that inventories use (at most `per_run`, drawn at random so
    that every one comes round however many there are, one token per connection), and deprecates what the supplier
    has deprecated since."""
    linked = select(SupplyLink.supplier_footprint_id).where(col(SupplyLink.supplier_footprint_id).is_not(None))
    rows = session.exec(
        select(SupplierFootprint.pf_id, SupplierConnection)
        .join(SupplierConnection, col(SupplierConnection.id) == col(SupplierFootprint.connection_id))
        .where(
            SupplierFootprint.status == ACTIVE,
            col(SupplierConnection.active).is_(True),
            col(SupplierFootprint.id).in_(linked),
        )
    ).all()
    chosen = random.sample(rows, min(per_run, len(rows)))
    by_connection: dict[uuid.UUID, tuple[SupplierConnection, list[str]]] = {}
    for pf_id, found in chosen:
        by_connection.setdefault(found.id, (found, []))[1].append(pf_id)
    deadline, tally = time.monotonic() + seconds, Tally([])
    for found, pf_ids in by_connection.values():
        if time.monotonic() >= deadline:
            break
        who = audit.Actor(None, "system", found.organisation_id)
        _refresh(session, who, found, pf_ids, deadline, tally)
    return tally


# --- what the buyer holds ------------------------------------------------------------------------------------------


def received_footprints(session: Session, principal: Principal) -> list[SupplierFootprint]:
    """The buyer's received footprints, Active first, newest first."""
    return list(
        session.exec(
            select(SupplierFootprint)
            .where(SupplierFootprint.organisation_id == principal.organisation_id)
            .order_by(col(SupplierFootprint.status), col(SupplierFootprint.received_at).desc())
        )
    )


def document_bytes(found: SupplierFootprint) -> bytes:
    """The document as received, as a file (its values unchanged; indented for reading)."""
    return json.dumps(found.document, ensure_ascii=False, indent=2).encode()


def document_name(found: SupplierFootprint) -> str:
    return f"pact-footprint-{found.pf_id}-{found.pf_version}.json"


def received_footprint(session: Session, principal: Principal, footprint_id: uuid.UUID) -> SupplierFootprint:
    found = session.get(SupplierFootprint, footprint_id)
    if found is None or found.organisation_id != principal.organisation_id:
        raise NotFound("no such supplier footprint in your organisation", code="suppliers.footprint.not_found")
    return found


@dataclass(frozen=True)
class Use:
    """One inventory version resting on a received footprint."""

    supplier_footprint_id: uuid.UUID
    inventory_id: uuid.UUID
    product_id: uuid.UUID
    product_name: str
    inventory_version: int
    item: str
    affected: bool


def uses(session: Session, principal: Principal, footprint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Use]]:
    """Which of the buyer's inventory versions use each of these footprints (its supply links)."""
    wanted = list(footprint_ids)
    found: dict[uuid.UUID, list[Use]] = {footprint_id: [] for footprint_id in wanted}
    if not wanted:
        return found
    rows = session.exec(
        select(SupplyLink, InventoryRecord, Product)
        .join(InventoryRecord, col(InventoryRecord.id) == col(SupplyLink.inventory_id))
        .join(Product, col(Product.id) == col(SupplyLink.product_id))
        .where(
            SupplyLink.organisation_id == principal.organisation_id,
            col(SupplyLink.supplier_footprint_id).in_(wanted),
        )
        .order_by(Product.name, InventoryRecord.version)
    ).all()
    for link, record, product in rows:
        found[link.supplier_footprint_id].append(
            Use(
                link.supplier_footprint_id,
                record.id,
                product.id,
                product.name,
                record.version,
                link.item,
                link.affected_at is not None,
            )
        )
    return found
