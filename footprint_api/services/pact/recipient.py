"""This service as a PACT data recipient: a supplier's footprints fetched from its PACT API (Technical Specifications
3.0.3: Action Authenticate, GetFootprint, ListFootprints), under the outbound policy (infra.outbound) and within bounds.

Bounded, so that a supplier's system (slow, broken or hostile) cannot hold a request or a worker: every answer is read
to at most MAX_ANSWER_BYTES, every call within CALL_SECONDS, all the calls of one conversation (token, pages) within
the caller's deadline, a list to at most MAX_PAGES pages of MAX_FOOTPRINTS footprints in all, and redirects are not
followed. What fails is said as the user may read it: the supplier's HTTP status, or that its API could not be reached
(never connection details, which would tell which ports are open where; those go to the server log).
"""

import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from footprint_api.core.errors import ServiceError, Unprocessable
from footprint_api.core.settings import get_settings
from footprint_api.infra import outbound
from footprint_api.services.pact.documents import DocumentInvalid, loads

MAX_ANSWER_BYTES = 2 * 1024 * 1024
CALL_SECONDS = 10.0
MAX_PAGES = 5
MAX_FOOTPRINTS = 50
log = logging.getLogger(__name__)


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
        self._http = outbound.client(verify=str(ca) if ca else True, timeout=CALL_SECONDS)
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
            if not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
                raise SupplierFailed("the supplier's token answer holds no access token", code="suppliers.failed.shape")
            self._token = token["access_token"]
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
        try:
            with self._http.stream(method, url, timeout=timeout, **kwargs) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise SupplierFailed(
                            f"the supplier's answer is larger than {MAX_ANSWER_BYTES // 1024} KiB",
                            code="suppliers.failed.too_large",
                            params={"limit_kib": MAX_ANSWER_BYTES // 1024},
                        )
                    if time.monotonic() > self.deadline:
                        raise _failed(step)
                return Bounded(response.status_code, bytes(body), response.links)
        except httpx.HTTPError as exc:
            log.warning("PACT supplier call failed (%s %s): %s: %s", method, step, type(exc).__name__, exc)
            raise _failed(step) from None

    @staticmethod
    def _json(response: "Bounded", step: str):
        try:
            return loads(response.body)
        except DocumentInvalid:
            raise SupplierFailed(
                f"the supplier's answer is not JSON ({step})", code="suppliers.failed.not_json", params={"step": step}
            ) from None


@dataclass(frozen=True)
class Bounded:
    """An answer read within the bounds: status, body, and the parsed Link header."""

    status_code: int
    body: bytes
    links: dict
