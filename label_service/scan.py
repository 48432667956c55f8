"""Reading a label as a phone or a procurement tool does: decode the codes, check the signatures, ask the service.

What a scan can hold, from the pack or the certificate document:
- the on-pack code: a short URL or GS1 Digital Link (`label_service.qr`), which names the label and the service
  but carries no signature: the signed statement is fetched from the service and checked here;
- the compact offline code (`PCF1:…`, `label_service.compact`): signed, checked with the published keys alone;
- the full signed statement (a JWS), as printed on the certificate, or in the fragment of a first-design code.
A signature is only ever checked with keys the verifier holds (`--keys`) or fetched from the service it asks.
"""

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from label_service import compact as compact_code
from label_service.qr import parse_verification_url, signed_statement_in
from label_service.signing import SignatureInvalid, public_key_from_text, verify

MAX_IMAGE_BYTES = 40_000_000  # a phone photo or a 600 dpi A4 scan; larger is refused before it is decoded
MAX_RESPONSE_BYTES = 1_000_000  # a public label answer is a few KB, a key set smaller still
MAX_REDIRECTS = 3
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
JWS_PATTERN = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")  # RFC 7515 §7.1 compact form


class UnreadableCode(ValueError):
    pass


class ServiceUnavailable(RuntimeError):
    """The service could not be asked, or answered something that is not a label record."""


@dataclass(frozen=True)
class Scanned:
    """The label codes found in one scan or text."""

    url: str | None = None  # a verification URL: names the service and the label
    token: str | None = None  # the full signed statement (JWS)
    compact: str | None = None  # the compact offline code

    @property
    def signed(self) -> bool:
        return self.token is not None or self.compact is not None

    def service_base_url(self) -> str | None:
        return parse_verification_url(self.url)[0] if self.url else None


@dataclass(frozen=True)
class Checked:
    number: str
    key_id: str
    claim: dict[str, Any]  # the JWS claim, or the compact code's fields (the same shape, fewer fields)
    signed_as: str  # which code's signature was checked


# --- decoding -----------------------------------------------------------------------------------------------------


def read_codes(image: Path) -> list[str]:
    """The texts of every QR code in a photo or scan (zxing-cpp), in the order found."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        if image.stat().st_size > MAX_IMAGE_BYTES:
            raise UnreadableCode(f"{image}: larger than {MAX_IMAGE_BYTES // 1_000_000} MB")
        picture = Image.open(image)
        picture.load()
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise UnreadableCode(f"{image}: not an image ({exc})") from None
    found = zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)
    if not found:
        raise UnreadableCode(f"{image}: no QR code found")
    return [code.text for code in found]


def texts_of(source: str) -> list[str]:
    """The codes of a command-line argument: a photo's, if it names a file, else the argument itself."""
    try:
        is_file = Path(source).is_file()
    except (OSError, ValueError):  # a code's text is no file name: too long, or with a NUL
        is_file = False
    return read_codes(Path(source)) if is_file else [source]


def scanned(texts: list[str]) -> Scanned:
    """Sorts the texts of a scan (or one typed text) into the three kinds of label code; the first of each kind
    counts. Raises UnreadableCode when none is a label code."""
    found = Scanned()
    for text in (t.strip() for t in texts):  # no Base45 code ends in a space (RFC 9285 §4: last digit < 36)
        if text.startswith(compact_code.PREFIX):
            found = found if found.compact else replace(found, compact=text)
        elif JWS_PATTERN.match(text):
            found = found if found.token else replace(found, token=text)
        elif _is_verification_url(text) and not found.url:
            found = replace(found, url=text, token=found.token or signed_statement_in(text))
    if found == Scanned():
        raise UnreadableCode("not a carbon label code (neither its URL, nor a signed statement, nor PCF1:)")
    return found


def _is_verification_url(text: str) -> bool:
    try:
        parse_verification_url(text)
    except ValueError:
        return False
    return True


def keys_from_jwks(document: str | bytes) -> dict[str, Ed25519PublicKey]:
    try:
        keys = json.loads(document)["keys"]
        return {key["kid"]: public_key_from_text(key["x"]) for key in keys if key.get("crv") == "Ed25519"}
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a key set (JWKS): {exc}") from None


# --- checking -----------------------------------------------------------------------------------------------------


def check(found: Scanned, keys: dict[str, Ed25519PublicKey]) -> Checked:
    """Checks every signed code of the scan (the full statement is preferred for what is shown) and that the codes
    name one label. Raises SignatureInvalid."""
    checks = []
    if found.token:
        statement = verify(found.token, keys)
        checks.append(Checked(statement.claim.get("number"), statement.key_id, statement.claim, "JWS"))
    if found.compact:
        short = compact_code.verify(found.compact, keys)
        checks.append(Checked(short.number, short.key_id, short.fields, "compact code (COSE_Sign1)"))
    if not checks:
        raise SignatureInvalid("the code carries no signed statement: only the service can tell what it claims")
    first = checks[0]
    if len(checks) == 2 and not compact_code.agrees(checks[1].claim, first.claim):
        raise SignatureInvalid("the compact code and the signed statement state different things")
    if found.url and parse_verification_url(found.url)[1] != first.number:
        raise SignatureInvalid(
            f"the code's URL names {parse_verification_url(found.url)[1]}, its signed statement {first.number}"
        )
    return first


def agrees_with_record(checked: Checked, record: dict[str, Any]) -> bool:
    """The service's record states what the checked code states (for the compact code: as far as it goes); a
    service that knows no such label has nothing to contradict."""
    claim = record.get("claim")
    if claim is None:
        return True
    if not isinstance(claim, dict):
        return False
    return claim == checked.claim if checked.signed_as == "JWS" else compact_code.agrees(checked.claim, claim)


@dataclass(frozen=True)
class Verification:
    checked: Checked | None  # None: the URL names a label the service does not know
    status: str | None  # the service's verdict; None: not asked


def verify_label(
    found: Scanned, keys: dict[str, Ed25519PublicKey] | None, service: "LabelService | None"
) -> Verification:
    """Signature first (with the keys given, else the service's), then the status from the service if there is
    one. A scan holding only a URL needs the service for its signed statement too."""
    if keys is None and service is None:
        raise ValueError(
            "no keys to check the signature with: give --keys (the service's "
            "/.well-known/pcf-label-keys.json, saved earlier) or --service URL"
        )
    keys = keys if keys is not None else service.keys()
    record = None
    if not found.signed:
        if service is None:
            raise ValueError("the code holds only a URL: its signed statement is online, so the service is needed")
        record = service.record(parse_verification_url(found.url)[1])
        if not record.get("token"):
            return Verification(None, record["status"])
        found = replace(found, token=record["token"])
    checked = check(found, keys)
    if service is not None:
        record = record or service.record(checked.number)
        if not agrees_with_record(checked, record):
            raise SignatureInvalid("the service's record differs from the signed statement in the code")
    return Verification(checked, record["status"] if record else None)


def summary(claim: dict[str, Any]) -> str:
    """One line of what a label claims; the compact code names no manufacturer."""
    footprint, by = claim["footprint"], f" by {claim['manufacturer']}" if claim.get("manufacturer") else ""
    return (
        f"label {claim['number']}: {claim['product']['name']}{by}, {footprint['value']} {footprint['unit']} "
        f"per {footprint['declared_unit']}, {claim['pcr']['id']} {claim['pcr']['version']}, "
        f"issued by {claim['issuer']['name']}, valid {claim['issued']} to {claim['expires']}"
    )


# --- the service --------------------------------------------------------------------------------------------------


def open_client() -> httpx.Client:
    """Redirects are followed by LabelService itself, and only on the service's own host."""
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False, headers={"Accept": "application/json"})


class LabelService:
    """The public, read-only part of a PCF service: its label records and its published keys."""

    def __init__(self, base_url: str, client: httpx.Client):
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http(s) service URL")
        self.base_url, self.host, self.client = parts.geturl(), parts.hostname, client

    def keys(self) -> dict[str, Ed25519PublicKey]:
        return keys_from_jwks(self._get("/.well-known/pcf-label-keys.json", (200,)))

    def record(self, number: str) -> dict[str, Any]:
        """The public record of a label (status, claim, token, compact…); an unknown number is NOT_FOUND."""
        try:
            record = json.loads(self._get(f"/api/v1/public/labels/{number}", (200, 404)))
        except ValueError as exc:
            raise ServiceUnavailable(f"{self.base_url} did not answer with a label record: {exc}") from None
        if not isinstance(record, dict) or not isinstance(record.get("status"), str):
            raise ServiceUnavailable(f"{self.base_url} did not answer with a label record")
        return record

    def _get(self, path: str, statuses: tuple[int, ...]) -> bytes:
        url = self.base_url + path
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with self.client.stream("GET", url) as response:
                    if not response.is_redirect:
                        return self._body(response, statuses)
                    url = self._redirect_target(url, response.headers.get("location", ""))
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(f"{self.base_url} could not be asked: {exc}") from None
        raise ServiceUnavailable(f"{self.base_url}: more than {MAX_REDIRECTS} redirects")

    def _redirect_target(self, url: str, location: str) -> str:
        """A redirect is followed only on the service's host, and never from https down to http."""
        target = urlsplit(urljoin(url, location))
        if target.hostname != self.host or (urlsplit(url).scheme == "https" and target.scheme != "https"):
            raise ServiceUnavailable(f"{self.base_url} redirected off its host, to {target.geturl()}: not followed")
        return target.geturl()

    def _body(self, response: httpx.Response, statuses: tuple[int, ...]) -> bytes:
        if response.status_code not in statuses:
            raise ServiceUnavailable(f"{response.url}: HTTP {response.status_code}")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_RESPONSE_BYTES:
                raise ServiceUnavailable(f"{response.url}: answer larger than {MAX_RESPONSE_BYTES} bytes")
        return bytes(body)
