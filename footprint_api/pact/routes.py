"""The PACT v3 API (Technical Specifications 3.0.3): OAuth2 client credentials, ListFootprints, GetFootprint.

Served over HTTPS only: a request that did not arrive over TLS (the service's own, `pcf serve --ssl-certfile`, or a
proxy's, trusted through uvicorn's --proxy-headers) is refused. Errors are the spec's `{code, message}` bodies;
token errors are OAuth2's (RFC 6749 5.2).
"""

import base64
import binascii
import re
import uuid
from datetime import UTC
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from footprint_api.core.errors import ServiceError
from footprint_api.core.settings import get_settings
from footprint_api.infra.security import Principal, TokenInvalid
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import Role
from footprint_api.services import accounts, jobs
from footprint_api.services.pact import events, suppliers
from footprint_api.services.pact import footprints as service
from footprint_api.services.principals import authenticate
from footprint_api.services.throttle import TooManyAttempts

router = APIRouter(tags=["PACT v3"])
MAX_LIMIT = 1000
EVENT_RETRY_SECONDS = 5  # a supplier's event sent while another of the same buyer is being acted on


class PactError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        self.status, self.code, self.message, self.headers = status, code, message, headers


def pact_error_response(_request: Request, exc: PactError) -> JSONResponse:
    return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status, headers=exc.headers)


def https_only(request: Request) -> None:
    if request.url.scheme != "https":
        raise PactError(400, "BadRequest", "the PACT API is served over HTTPS only")


def _client(request: Request, session: SessionDep) -> Principal:
    """The PACT client of the bearer token; the spec's 401 when there is none or it is not good."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise PactError(401, "BadRequest", "a bearer access token is required")
    try:
        principal = authenticate(session, token.strip())
    except TokenInvalid as exc:
        if "expired" in str(exc):
            raise PactError(401, "TokenExpired", "the access token has expired") from None
        reason = {
            "token revoked": "the access token was revoked",
            "account disabled": "the client of this access token is disabled",
        }.get(str(exc))
        raise PactError(401, "BadRequest", reason or "the access token is not valid") from None
    return principal


def recipient(request: Request, session: SessionDep, _: Annotated[None, Depends(https_only)]) -> Principal:
    principal = _client(request, session)
    if principal.role is not Role.PACT_RECIPIENT:
        raise PactError(403, "AccessDenied", "this client is not a PACT data recipient")
    return principal


def event_sender(request: Request, session: SessionDep, _: Annotated[None, Depends(https_only)]) -> Principal:
    """Who may send events: a data recipient (its requests), or a supplier's system telling the buyer that issued
    it a client of role pact_supplier of its published footprints."""
    principal = _client(request, session)
    if principal.role not in (Role.PACT_RECIPIENT, Role.PACT_SUPPLIER):
        raise PactError(403, "AccessDenied", "this client may not send PACT events")
    return principal


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="pact"'} if status == 401 else None
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


@router.post(
    "/auth/token",
    summary="PACT Action Authenticate: OAuth2 client credentials (HTTP Basic)",
    dependencies=[Depends(https_only)],
)
async def token(request: Request, session: SessionDep):
    form = await request.form()
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        client_id = secret = ""
    if scheme.lower() != "basic" or not client_id or not secret:
        return _oauth_error(401, "invalid_client", "client credentials are required as HTTP Basic")
    try:
        access, _ = accounts.client_login(session, client_id, secret, request.client.host if request.client else None)
    except TooManyAttempts as exc:
        answer = _oauth_error(429, "invalid_client", "too many failed attempts; try again later")
        answer.headers.update(exc.headers)
        return answer
    except ServiceError:
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
    return JSONResponse(
        {"access_token": access, "token_type": "bearer", "expires_in": get_settings().access_token_minutes * 60},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/.well-known/openid-configuration", summary="Where PACT clients get tokens")
def openid_configuration(request: Request):
    base = f"https://{request.headers.get('host', request.url.netloc)}"
    return {
        "issuer": base,
        "token_endpoint": f"{base}/auth/token",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "response_types_supported": ["token"],
        "jwks_uri": f"{base}/.well-known/pcf-label-keys.json",
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["HS256"],
    }


# Query values are read here, not by FastAPI, so that a bad one answers the spec's 400 BadRequest: an integer is ASCII
# digits only (`str.isdigit` also takes `²` and `①`, which `int` refuses), a date-time is RFC 3339's, and every value
# is bounded in length and in number.
_INTEGER = re.compile(r"[0-9]{1,9}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
MAX_FILTER_VALUES = 20
MAX_FILTER_LENGTH = 200


def _limit_and_offset(request: Request) -> tuple[int | None, int]:
    values = {}
    for name in ("limit", "offset"):
        raw = request.query_params.get(name)
        if raw is None:
            continue
        if not _INTEGER.fullmatch(raw):
            raise PactError(400, "BadRequest", f"{name} must be a non-negative integer (digits 0-9, at most 9)")
        values[name] = int(raw)
    limit = values.get("limit")
    if limit == 0:
        raise PactError(400, "BadRequest", "limit must be at least 1")
    return (min(limit, MAX_LIMIT) if limit is not None else None), values.get("offset", 0)


def _filters(request: Request) -> dict[str, list[str]]:
    filters = {name: request.query_params.getlist(name) for name in service.FILTERS}
    for name, values in filters.items():
        if len(values) > MAX_FILTER_VALUES or any(len(value) > MAX_FILTER_LENGTH for value in values):
            raise PactError(
                400, "BadRequest", f"{name}: at most {MAX_FILTER_VALUES} values of {MAX_FILTER_LENGTH} characters"
            )
    for name in ("validOn", "validAfter", "validBefore"):
        filters[name] = [value.upper() for value in filters[name]]  # RFC 3339 5.6: `t` and `z` may be lowercase
        for value in filters[name]:
            if not _DATE_TIME.fullmatch(value) or not _instant_in_range(value):
                raise PactError(400, "BadRequest", f"{name} must be an RFC 3339 date-time")
    return filters  # an unknown status matches nothing: 200 with an empty list, as the conformance tests expect


def _instant_in_range(value: str) -> bool:
    """Whether the date-time is one Python can compare in UTC (0001-01-01T00:00:00+01:00 is before year 1)."""
    try:
        service._instant(value).astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return True


# The query of ListFootprints, declared for clients and fuzzers alike (read by `_limit_and_offset` and `_filters`).
_LIST_QUERY = [
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
    {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
    *(
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "array", "items": {"type": "string", "maxLength": MAX_FILTER_LENGTH}},
            "style": "form",
            "explode": True,
        }
        for name in service.FILTERS
    ),
]


@router.get(
    "/3/footprints",
    summary="PACT Action ListFootprints",
    openapi_extra={"parameters": _LIST_QUERY},
    responses={400: {"description": "BadRequest: a query value that is not one (PACT `{code, message}`)"}},
)
def list_footprints(request: Request, session: SessionDep, principal: Annotated[Principal, Depends(recipient)]):
    limit, offset = _limit_and_offset(request)
    filters = _filters(request)
    found = [f for f in service.visible_product_footprints(session, principal) if service.matches(f, filters)]
    page = found[offset : offset + limit] if limit is not None else found[offset:]
    headers = {}
    if limit is not None and offset + limit < len(found):
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
        query.append(("offset", str(offset + limit)))
        host = request.headers.get("host", request.url.netloc)  # the spec: the host of the original request
        headers["Link"] = f'<https://{host}/3/footprints?{urlencode(query)}>; rel="next"'
    return JSONResponse({"data": page}, headers=headers)


@router.get("/3/footprints/{footprint_id}", summary="PACT Action GetFootprint")
def get_footprint(footprint_id: str, session: SessionDep, principal: Annotated[Principal, Depends(recipient)]):
    try:
        wanted = str(uuid.UUID(footprint_id))
    except ValueError:
        raise PactError(400, "BadRequest", "the footprint id must be a UUID") from None
    for footprint in service.visible_product_footprints(session, principal):
        if footprint["id"] == wanted:
            return JSONResponse({"data": footprint})
    # another company's footprint and an unknown id answer alike: the answer never tells that a footprint exists
    raise PactError(404, "NotFound", "the requested footprint could not be found")


@router.post(
    "/3/events",
    summary="PACT Action Events: CloudEvents in structured mode; a RequestCreatedEvent is "
    "answered later by a RequestFulfilledEvent or RequestRejectedEvent sent to the requester's /3/events; a "
    "supplier's PublishedEvent makes this buyer fetch the footprints it names",
)
async def receive_event(request: Request, session: SessionDep, principal: Annotated[Principal, Depends(event_sender)]):
    body = await request.body()
    try:
        event = events.parse(body, request.headers.get("content-type", ""))
    except events.EventInvalid as exc:
        raise PactError(400, "BadRequest", str(exc)) from None
    if not events.accepted_from(principal, event):
        raise PactError(403, "AccessDenied", "a supplier's system sends PublishedEvent only")
    try:
        accepted = await run_in_threadpool(events.accept, session, principal, event)
    except suppliers.EventBusy as exc:  # another event of this buyer's suppliers is being acted on
        raise PactError(503, "InternalError", exc.detail, {"Retry-After": str(EVENT_RETRY_SECONDS)}) from None
    if accepted is not None:
        await run_in_threadpool(jobs.dispatch_pact_answer, str(accepted.id))  # not on the event loop
    return Response(status_code=200)
