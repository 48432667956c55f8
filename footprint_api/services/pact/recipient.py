"""This service as a PACT data recipient: a supplier's footprints fetched from its PACT API (Technical Specifications
3.0.3: Action Authenticate, GetFootprint, ListFootprints), under the outbound policy (infra.outbound) and within bounds.

Bounded, so that a supplier's system (slow, broken or hostile) cannot hold a request or a worker: every answer is read
to at most MAX_ANSWER_BYTES (after decompression, which is done here in bounded steps: one layer of gzip or deflate,
never more than the bound at once), every call within CALL_SECONDS, all the calls of one conversation (token, pages)
within the caller's deadline, a list to at most MAX_PAGES pages of MAX_FOOTPRINTS footprints in all, and redirects are
not followed. The deadline holds on the socket itself (`bounded_client`): each read and write of the connection, the
TLS handshake and the headers included, waits at most until the deadline, so that an answer dripped a byte at a time
ends when the conversation's time is up. What fails is said as the user may read it: the supplier's HTTP status, or
that its API could not be reached (never connection details, which would tell which ports are open where; those go to
the server log).
"""

import logging
import re
import ssl
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpcore
import httpx

from footprint_api.core.errors import ServiceError, Unprocessable
from footprint_api.core.settings import get_settings
from footprint_api.infra import outbound
from footprint_api.services.pact.documents import ROOT, DocumentInvalid, loads

MAX_ANSWER_BYTES = 2 * 1024 * 1024
CALL_SECONDS = 10.0
MAX_PAGES = 5
MAX_FOOTPRINTS = 50
MAX_TOKEN_CHARS = 8192
# RFC 6750 2.1: a bearer token is b64token, which is all an HTTP header can carry of it
BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# what the answers may be compressed with: one layer, inflated here in bounded steps (zlib window bits)
ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 32 + zlib.MAX_WBITS}
log = logging.getLogger(__name__)


class Overdue(httpcore.TimeoutException):
    """The conversation's deadline passed while a call was still on the wire (httpx reads it as a timeout)."""


def _wait(deadline: float, timeout: float | None) -> float:
    """How long the next step on the wire may wait: its own timeout, cut to what is left before the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise Overdue("the conversation's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake waits at most until the deadline (time.monotonic())."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float):
        self._stream, self._deadline = stream, deadline

    def _wait(self, timeout: float | None) -> float:
        return _wait(self._deadline, timeout)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._wait(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._wait(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, self._wait(timeout)), self._deadline
        )

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """The outbound policy's backend (which connects only to allowed addresses), its connections held to a deadline."""

    def __init__(self, inner: httpcore.NetworkBackend, deadline: float):
        self._inner, self._deadline = inner, deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        connected = self._inner.connect_tcp(host, port, _wait(self._deadline, timeout), local_address, socket_options)
        return _DeadlineStream(connected, self._deadline)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("no Unix sockets for outbound calls")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, max(0.0, self._deadline - time.monotonic())))


def bounded_client(verify: ssl.SSLContext | str | bool, deadline: float, timeout: float = CALL_SECONDS) -> httpx.Client:
    """outbound.client (the policy at connect time, no redirects, no proxies), every connection held to `deadline`.

    httpx has no hook for a connection's network streams: the policy's backend in the transport's pool is wrapped
    (tests/test_pact_suppliers_attacks.py fails if this stops taking effect)."""
    http = outbound.client(verify=verify, timeout=timeout)
    pool = http._transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend, deadline)
    return http


class _Inflater:
    """One layer of gzip or deflate (or none), inflated in bounded steps: a bomb stops at the bound."""

    def __init__(self, encoding: str):
        self._zlib = zlib.decompressobj(ENCODINGS[encoding]) if encoding else None
        self._fed = False

    def feed(self, data: bytes, room: int) -> bytes:
        """What `data` inflates to, at most room + 1 bytes (more than `room` means: too large)."""
        if self._zlib is None or not data:
            return data
        self._fed = True
        try:
            return self._zlib.decompress(data, room + 1)
        except zlib.error:
            raise httpx.DecodingError("the answer's compression is broken") from None

    def end(self, room: int) -> bytes:
        """What is left; an answer that said it was compressed and is empty (an error's, often) is empty."""
        if self._zlib is None or not self._fed:
            return b""
        if not self._zlib.eof:
            raise httpx.DecodingError("the answer's compression ends early")
        return self._zlib.flush()[: room + 1]


def read_bounded(response: httpx.Response, limit: int, deadline: float, overdue, too_large) -> bytes:
    """The answer's body, decompressed, at most `limit` bytes, before `deadline`: `overdue()` or `too_large()` is
    raised otherwise, and httpx.DecodingError for an encoding that is not one layer of gzip or deflate."""
    encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",") if e.strip()]
    encodings = [e for e in encodings if e != "identity"]
    if len(encodings) > 1 or (encodings and encodings[0] not in ENCODINGS):
        raise httpx.DecodingError(f"content encoding {', '.join(encodings)[:100]} is not accepted")
    inflater = _Inflater(encodings[0] if encodings else "")
    body = bytearray()
    for chunk in response.iter_raw():
        body += inflater.feed(chunk, limit - len(body))
        if len(body) > limit:
            raise too_large()
        if time.monotonic() > deadline:
            raise overdue()
    body += inflater.end(limit - len(body))
    if len(body) > limit:
        raise too_large()
    return bytes(body)


class SupplierFailed(ServiceError):
    """The supplier's PACT API did not give what was asked: its HTTP status, or no usable answer (502: the service
    stood between the user and the supplier, as a gateway does). Its one error entry names the connection whose
    supplier failed, with the code and values the pages word."""

    status, title = 502, "Supplier's API failed"

    def __init__(self, detail: str, code: str, params: dict | None = None):
        entry = {"field": "connection_id", "reason": detail, "code": code, "params": params or {}}
        super().__init__(detail, [entry], code, params)


class CredentialsRefused(SupplierFailed):
    """The supplier refused the credentials it issued (its /auth/token answered 400 or 401, or a call 401/403)."""


class FootprintMissing(Unprocessable):
    """The supplier has no such footprint for this buyer: GetFootprint answered 404, or the list is empty. The
    request's field (`pf_id` or `product_id`) is named: it is what the user may have mistyped."""

    def __init__(self, field: str, value: str, status: int | None):
        params = {"status": status} if status else {}
        code = "suppliers.pull.no_footprint" if status else "suppliers.pull.no_product"
        reason = f"the supplier has no footprint {value} for you" + (f" (HTTP {status})" if status else "")
        super().__init__(reason, [{"field": field, "reason": reason, "code": code, "params": params}], code, params)


def _failed(step: str, status: int | None = None) -> SupplierFailed:
    if status is None:
        return SupplierFailed(
            f"the supplier's PACT API could not be reached ({step})",
            code="suppliers.failed.unreachable",
            params={"step": step},
        )
    return SupplierFailed(
        f"the supplier's PACT API answered HTTP {status} ({step})",
        code="suppliers.failed.status",
        params={"status": status, "step": step},
    )


@dataclass
class SupplierApi:
    """One conversation with a supplier's PACT API: a token taken once, then footprints, all before `deadline`
    (time.monotonic()). Use as a context manager."""

    base_url: str
    client_id: str
    client_secret: str
    deadline: float
    _http: httpx.Client | None = field(default=None, init=False)
    _token: str | None = field(default=None, init=False)

    def __enter__(self) -> "SupplierApi":
        outbound.check_url(self.base_url)  # again: what a name resolves to may have changed since registration
        ca = get_settings().pact_ca_bundle
        self._http = bounded_client(str(ca) if ca else True, self.deadline)
        return self

    def __exit__(self, *_exc) -> None:
        if self._http is not None:
            self._http.close()

    # --- the calls --------------------------------------------------------------------------------------------------
    def footprint(self, pf_id: str) -> dict:
        """GetFootprint: the ProductFootprint (not yet checked); FootprintMissing on 404."""
        answer, _ = self._get(f"{self.base_url}/3/footprints/{pf_id}", "footprint", missing_ok=True)
        if answer is None:
            raise FootprintMissing("pf_id", pf_id, 404)
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise SupplierFailed("the supplier's answer holds no footprint", code="suppliers.failed.shape")
        return data

    def footprints(self, product_id: str) -> list[dict]:
        """ListFootprints filtered by product id, following `Link: rel="next"` within MAX_PAGES and MAX_FOOTPRINTS."""
        found: list[dict] = []
        url: str | None = f"{self.base_url}/3/footprints"
        params: dict | None = {"productId": product_id, "limit": str(MAX_FOOTPRINTS)}
        for _ in range(MAX_PAGES):
            answer, url = self._get(url, "list", params=params)
            data = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(data, list) or not all(isinstance(pf, dict) for pf in data):
                raise SupplierFailed("the supplier's answer holds no list of footprints", code="suppliers.failed.shape")
            found += data
            params = None  # the next page's URL carries the query
            if url is None or len(found) >= MAX_FOOTPRINTS:
                break
        return found[:MAX_FOOTPRINTS]

    # --- the conversation -------------------------------------------------------------------------------------------
    def _access_token(self) -> str:
        if self._token is None:
            response = self._send(
                "POST",
                f"{self.base_url}/auth/token",
                "token",
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
            )
            if response.status_code in (400, 401, 403):
                raise CredentialsRefused(
                    f"the supplier's PACT API refused the credentials (HTTP {response.status_code})",
                    code="suppliers.failed.credentials",
                    params={"status": response.status_code},
                )
            if response.status_code != 200:
                raise _failed("token", response.status_code)
            token = self._json(response, "token")
            access = token.get("access_token") if isinstance(token, dict) else None
            # a bearer token goes into an HTTP header: RFC 6750's characters only (anything else could not be sent, or
            # would write other headers), and not more than a header may hold
            if not isinstance(access, str) or len(access) > MAX_TOKEN_CHARS or not BEARER_TOKEN.fullmatch(access):
                raise SupplierFailed("the supplier's token answer holds no access token", code="suppliers.failed.shape")
            self._token = access
        return self._token

    def _get(self, url: str, step: str, params: dict | None = None, missing_ok: bool = False) -> tuple:
        """(the answer's JSON, the next page's URL or None); (None, None) for a 404 when `missing_ok`."""
        headers = {"Authorization": f"Bearer {self._access_token()}", "Accept": "application/json"}
        response = self._send("GET", url, step, params=params, headers=headers)
        if response.status_code == 404 and missing_ok:
            return None, None
        if response.status_code in (401, 403):
            raise CredentialsRefused(
                f"the supplier's PACT API refused access (HTTP {response.status_code})",
                code="suppliers.failed.credentials",
                params={"status": response.status_code},
            )
        if response.status_code != 200:
            raise _failed(step, response.status_code)
        return self._json(response, step), self._next_page(response)

    def _next_page(self, response: "Bounded") -> str | None:
        """The next page's absolute URL, on the supplier's own host only (the spec: the host of the request)."""
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        return link if urlsplit(link).netloc == urlsplit(self.base_url).netloc and link.startswith("https://") else None

    def _send(self, method: str, url: str, step: str, **kwargs) -> "Bounded":
        """One call, its answer read to at most MAX_ANSWER_BYTES before the deadline."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _failed(step)
        timeout = httpx.Timeout(min(CALL_SECONDS, remaining))
        headers = {"Accept-Encoding": "gzip, deflate", **kwargs.pop("headers", {})}
        try:
            with self._http.stream(method, url, timeout=timeout, headers=headers, **kwargs) as response:
                body = read_bounded(response, MAX_ANSWER_BYTES, self.deadline, lambda: _failed(step), _too_large)
                return Bounded(response.status_code, body, response.links)
        except httpx.DecodingError as exc:
            log.warning("PACT supplier answer undecodable (%s %s): %s", method, step, exc)
            raise SupplierFailed(
                f"the supplier's answer is compressed in a way that is not accepted ({step})",
                code="suppliers.failed.encoding",
                params={"step": step},
            ) from None
        except httpx.HTTPError as exc:
            log.warning("PACT supplier call failed (%s %s): %s: %s", method, step, type(exc).__name__, exc)
            raise _failed(step) from None

    @staticmethod
    def _json(response: "Bounded", step: str):
        try:
            return loads(response.body)
        except DocumentInvalid as exc:
            if exc.path != ROOT:  # JSON, with something no footprint may hold (a key twice, 1e400, a NUL) at a path
                raise SupplierFailed(
                    f"the supplier's answer is not a valid PACT answer: {exc}",
                    code="suppliers.failed.invalid",
                    params={"path": exc.path},
                ) from None
            raise SupplierFailed(
                f"the supplier's answer is not JSON ({step})", code="suppliers.failed.not_json", params={"step": step}
            ) from None


def _too_large() -> SupplierFailed:
    return SupplierFailed(
        f"the supplier's answer is larger than {MAX_ANSWER_BYTES // 1024} KiB",
        code="suppliers.failed.too_large",
        params={"limit_kib": MAX_ANSWER_BYTES // 1024},
    )


@dataclass(frozen=True)
class Bounded:
    """An answer read within the bounds: status, body, and the parsed Link header."""

    status_code: int
    body: bytes
    links: dict
