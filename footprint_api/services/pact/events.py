"""PACT v3 events (CloudEvents 1.0, structured mode): accept what recipients send; answer their requests.

A RequestCreatedEvent is validated, stored and answered later (a background task) by calling the recipient's own
PACT API: a token from its /auth/token with the credentials it issued to this service, then a
RequestFulfilledEvent (the matching footprints it may see) or a RequestRejectedEvent (NotFound) to its /3/events.
That conversation is bounded as the buyer's calls to its suppliers are (services.pact.recipient): a deadline on the
socket, answers read to at most a bound, a token answer checked before it is sent back in a header.
"""

import json
import logging
import time
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import httpx
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from footprint_api.core.errors import NotFound, Unprocessable
from footprint_api.core.settings import get_settings
from footprint_api.infra import outbound
from footprint_api.infra.security import Principal, SecretUnreadable, open_secret, seal_secret
from footprint_api.persistence.models import ApiClient, PactEndpoint, PactRequest, Role, utcnow
from footprint_api.services import audit
from footprint_api.services.pact import documents, recipient, suppliers
from footprint_api.services.pact import footprints as service
from footprint_api.services.principals import actor

SPEC = Path(__file__).with_name("spec") / "openapi.yaml"
EVENT_TYPES = {
    f"org.wbcsd.pact.ProductFootprint.{name}.3": name
    for name in ("RequestCreatedEvent", "RequestFulfilledEvent", "RequestRejectedEvent", "PublishedEvent")
}
CLOUDEVENTS_JSON = "application/cloudevents+json"
MAX_EVENT_BYTES = 1024 * 1024
MAX_DEPTH = 32
DELIVERY_SECONDS = 60.0  # the whole delivery of one answer: token and event
MAX_DELIVERY_ANSWER_BYTES = 64 * 1024  # what a recipient answers its token request or the event with
log = logging.getLogger(__name__)


class EventInvalid(ValueError):
    pass


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    registry = Registry().with_resource("urn:pact", Resource.from_contents(spec, default_specification=DRAFT202012))
    schema = {"oneOf": [{"$ref": f"urn:pact#/components/schemas/{name}"} for name in EVENT_TYPES.values()]}
    # formats are assertions here (uuid of pfIds, date-time of time): JSON Schema makes them annotations by default;
    # a uuid is ASCII hex, as the footprints' own ids (services.pact.documents)
    return Draft202012Validator(schema, registry=registry, format_checker=documents.format_checker())


def parse(body: bytes, content_type: str) -> dict:
    """The event, checked against the spec's event schemas; raises EventInvalid with the reason."""
    if content_type.split(";")[0].strip().lower() != CLOUDEVENTS_JSON:
        raise EventInvalid(f"events are sent as {CLOUDEVENTS_JSON}")
    if len(body) > MAX_EVENT_BYTES:
        raise EventInvalid(f"an event is at most {MAX_EVENT_BYTES // 1024} KiB")
    try:
        event = json.loads(body)
    except RecursionError:
        raise EventInvalid("the body is nested too deeply") from None
    except ValueError as exc:
        raise EventInvalid(f"the body is not JSON: {exc}") from None
    if not isinstance(event, dict) or event.get("type") not in EVENT_TYPES:
        raise EventInvalid(f"unknown event type; one of: {', '.join(EVENT_TYPES)}")
    if _depth(event) > MAX_DEPTH:
        raise EventInvalid(f"the event is nested deeper than {MAX_DEPTH} levels")
    errors = list(_validator().iter_errors(event))
    if errors:
        raise EventInvalid(f"not a valid {EVENT_TYPES[event['type']]}: {errors[0].message[:300]}")
    for field, most in (("id", 200), ("source", 500)):  # the columns that keep them (PactRequest)
        if len(str(event.get(field, ""))) > most:
            raise EventInvalid(f"{field} is longer than {most} characters")
    return event


def _depth(value, level: int = 0) -> int:
    """How deeply a JSON value nests (iterative limit: stops counting past MAX_DEPTH)."""
    if level > MAX_DEPTH or not isinstance(value, (dict, list)):
        return level
    children = value.values() if isinstance(value, dict) else value
    return max((_depth(child, level + 1) for child in children), default=level + 1)


def accepted_from(principal: Principal, event: dict) -> bool:
    """Whether this client may send this event: a recipient any of them; a supplier's system (a client of role
    pact_supplier the buyer issued) only PublishedEvent, which tells the buyer of its new and changed footprints."""
    return principal.role is not Role.PACT_SUPPLIER or EVENT_TYPES[event["type"]] == "PublishedEvent"


def accept(session: Session, principal: Principal, event: dict) -> PactRequest | None:
    """Stores a request (to be answered) or records a notification; a repeated event is accepted once. A supplier's
    PublishedEvent is acted on at once: the footprints it names are fetched over the buyer's connection
    (services.pact.suppliers.published), within a bound of time, so the supplier's system waits a little."""
    kind = EVENT_TYPES[event["type"]]
    if kind == "PublishedEvent" and principal.role is Role.PACT_SUPPLIER:
        # one at a time per buyer (suppliers.EventBusy otherwise), and once per event: a replay is accepted and
        # neither recorded nor acted on again
        with suppliers.event_slot(principal.organisation_id):
            if suppliers.first_time(principal.organisation_id, event["source"], event["id"]):
                _notification(session, principal, kind, event)
                suppliers.published(session, principal, event["data"].get("pfIds", []))
        return None
    if kind != "RequestCreatedEvent":
        _notification(session, principal, kind, event)
        return None
    request = PactRequest(
        event_id=event["id"], source=event["source"], client_id=principal.subject, criteria=event["data"]
    )
    session.add(request)
    audit.record(
        session,
        actor(principal),
        "pact.request_received",
        "pact_request",
        request.id,
        after={"event_id": event["id"], "criteria": event["data"]},
    )
    try:
        audit.commit(session)
    except IntegrityError:  # the same event again: already accepted
        session.rollback()
        return None
    return request


def _notification(session: Session, principal: Principal, kind: str, event: dict) -> None:
    audit.record(
        session, actor(principal), f"pact.{kind}", "pact_event", event["id"], after={"source": event["source"]}
    )
    audit.commit(session)


ENDPOINT_SECRETS = "pact-endpoint-secrets"  # the purpose the recipients' secrets are sealed for


def register_endpoint(
    session: Session, principal: Principal, client_id: str, base_url: str, token_client_id: str, token_secret: str
) -> PactEndpoint:
    client = session.exec(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    if (
        client is None
        or client.organisation_id != principal.organisation_id
        or (client.role is not Role.PACT_RECIPIENT)
    ):
        raise NotFound("no such PACT recipient of your organisation")
    try:
        outbound.check_url(base_url)
    except outbound.OutboundRefused as exc:
        raise Unprocessable(f"base_url: {exc}", [{"field": "base_url", "reason": str(exc)}]) from None
    endpoint = session.exec(select(PactEndpoint).where(PactEndpoint.client_id == client.id)).first() or (
        PactEndpoint(client_id=client.id, base_url="", token_client_id="", token_secret_encrypted="")
    )
    endpoint.base_url, endpoint.token_client_id = base_url.rstrip("/"), token_client_id
    endpoint.token_secret_encrypted = seal_secret(get_settings().signing_key(), ENDPOINT_SECRETS, token_secret)
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    audit.record(
        session,
        actor(principal),
        "pact.endpoint_registered",
        "api_client",
        client.id,
        after={"base_url": endpoint.base_url, "token_client_id": token_client_id},
    )
    audit.commit(session)
    return endpoint


def _criteria_as_filters(criteria: dict) -> dict[str, list[str]]:
    filters = {}
    for name in service.FILTERS:
        value = criteria.get(name)
        if value is not None:
            filters[name] = value if isinstance(value, list) else [value]
    return filters


def answer_event(session: Session, request: PactRequest, client: ApiClient) -> dict:
    principal = Principal(client.id, "client", client.organisation_id, client.role, "pact-answer", utcnow())
    found = [
        f
        for f in service.visible_product_footprints(session, principal)
        if service.matches(f, _criteria_as_filters(request.criteria))
    ]
    base = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"//{_host()}/3/events",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if found:
        return {
            **base,
            "type": "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
            "data": {"requestEventId": request.event_id, "pfs": found},
        }
    return {
        **base,
        "type": "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
        "data": {
            "requestEventId": request.event_id,
            "error": {"code": "NotFound", "message": "no footprint matching the request is available"},
        },
    }


def _host() -> str:
    return httpx.URL(get_settings().base_url).netloc.decode()


class Undeliverable(httpx.HTTPError):
    """The recipient's answer could not be used (no access token in it, an answer too large or too slow); the
    message is safe to show."""


def deliver(endpoint: PactEndpoint, event: dict) -> None:
    """Token from the recipient's /auth/token, then the event to its /3/events, all within DELIVERY_SECONDS and
    each answer read to at most MAX_DELIVERY_ANSWER_BYTES. Raises httpx.HTTPError (Undeliverable among them)."""
    try:
        secret = open_secret(get_settings().signing_key(), ENDPOINT_SECRETS, endpoint.token_secret_encrypted)
    except SecretUnreadable as exc:
        raise Undeliverable(str(exc)) from None
    ca = get_settings().pact_ca_bundle
    outbound.check_url(endpoint.base_url)  # again: what a name resolves to may have changed since registration
    deadline = time.monotonic() + DELIVERY_SECONDS
    with recipient.bounded_client(str(ca) if ca else True, deadline, timeout=30) as http:
        token = _send(
            http,
            deadline,
            f"{endpoint.base_url}/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(endpoint.token_client_id, secret),
        )
        try:
            answer = documents.loads(token)  # depth-bounded: `[[[[…` is refused, not a RecursionError
        except documents.DocumentInvalid:
            answer = None
        access = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(access, str) or len(access) > recipient.MAX_TOKEN_CHARS:
            raise Undeliverable("the recipient's token answer holds no access token")
        if not recipient.BEARER_TOKEN.fullmatch(access):
            raise Undeliverable("the recipient's token answer holds no access token")
        _send(
            http,
            deadline,
            f"{endpoint.base_url}/3/events",
            content=json.dumps(event),
            headers={"Content-Type": CLOUDEVENTS_JSON, "Authorization": f"Bearer {access}"},
        )


def _send(http: httpx.Client, deadline: float, url: str, **kwargs) -> bytes:
    """One POST, its answer read within the bounds; httpx.HTTPStatusError for an answer other than 2xx."""
    with http.stream("POST", url, **kwargs) as response:
        response.raise_for_status()  # before the body: an error's body is not read at all
        body = recipient.read_bounded(
            response,
            MAX_DELIVERY_ANSWER_BYTES,
            deadline,
            lambda: Undeliverable("the recipient's API did not answer in time"),
            lambda: Undeliverable("the recipient's answer is too large"),
        )
    return body


def _delivery_error(exc: Exception) -> str:
    """What the audit trail and the manufacturer see: the recipient's HTTP status when it answered, otherwise a
    generic sentence — connection details (refused, reset, timed out) would tell which ports are open where."""
    log.warning("PACT delivery failed: %s: %s", type(exc).__name__, exc)
    if isinstance(exc, outbound.OutboundRefused):
        return f"refused by the outbound policy: {exc}"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"the recipient's API answered HTTP {exc.response.status_code}"
    if isinstance(exc, Undeliverable):
        return str(exc)
    return "the recipient's API could not be reached"


def answer(session: Session, request_id: uuid.UUID) -> PactRequest:
    """Background task body: answer one accepted request once (a second run finds it answered)."""
    request = session.get(PactRequest, request_id)
    if request is None or request.status != "accepted":
        return request
    client = session.get(ApiClient, request.client_id)
    event = answer_event(session, request, client)
    endpoint = session.exec(select(PactEndpoint).where(PactEndpoint.client_id == client.id)).first()
    status = "fulfilled" if event["type"].endswith("RequestFulfilledEvent.3") else "rejected"
    error = None
    if endpoint is None:
        status, error = "undeliverable", "the recipient has no registered PACT endpoint"
    else:
        # nothing of the database is held while the recipient answers (on SQLite a task's transaction holds the one
        # writer's lock from its start): the endpoint is kept as read, the transaction ended
        session.expunge(endpoint)
        session.rollback()
        try:
            deliver(endpoint, event)
        except (httpx.HTTPError, outbound.OutboundRefused) as exc:
            status, error = "undeliverable", _delivery_error(exc)
    request.status, request.error, request.answered_at = status, error, utcnow()
    request.answer = {
        "type": event["type"],
        "id": event["id"],
        "pfIds": [pf["id"] for pf in event["data"].get("pfs", [])],
    }
    session.add(request)
    audit.record(
        session,
        audit.SYSTEM,
        f"pact.request_{status}",
        "pact_request",
        request.id,
        after={"answer": request.answer, "error": error},
        organisation_id=client.organisation_id,
    )
    audit.commit(session)
    return request
