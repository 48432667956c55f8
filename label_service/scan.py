"""Reading a label as a phone or a procurement tool does: decode the QR code, check the statement offline."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from label_service.qr import parse_qr_content
from label_service.signing import SignatureInvalid, public_key_from_text, verify


class UnreadableCode(ValueError):
    pass


@dataclass(frozen=True)
class OfflineCheck:
    number: str
    verification_url: str
    service_base_url: str
    key_id: str
    claim: dict[str, Any]


def read_code(image: Path) -> str:
    """The text of the one QR code in a photo or scan (zxing-cpp)."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        picture = Image.open(image)
    except (OSError, UnidentifiedImageError) as exc:
        raise UnreadableCode(f"{image}: not an image ({exc})") from None
    found = zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)
    if not found:
        raise UnreadableCode(f"{image}: no QR code found")
    return found[0].text


def keys_from_jwks(document: str | bytes) -> dict[str, Ed25519PublicKey]:
    try:
        keys = json.loads(document)["keys"]
        return {key["kid"]: public_key_from_text(key["x"]) for key in keys if key.get("crv") == "Ed25519"}
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a key set (JWKS): {exc}") from None


def base_url_of(verification_url: str) -> str:
    parts = urlsplit(verification_url)
    path = parts.path
    for marker in ("/verify/", "/01/"):
        if marker in path:
            path = path[: path.index(marker)]
            break
    return f"{parts.scheme}://{parts.netloc}{path}"


def check_offline(content: str, keys: dict[str, Ed25519PublicKey]) -> OfflineCheck:
    """Signature and consistency of a scanned code; raises SignatureInvalid or ValueError."""
    url, number, token = parse_qr_content(content)
    if token is None:
        raise SignatureInvalid("the code carries no signed statement: only an online check is possible")
    statement = verify(token, keys)
    if statement.claim.get("number") != number:
        raise SignatureInvalid(f"the code's URL names {number}, its statement {statement.claim.get('number')}")
    return OfflineCheck(number, url, base_url_of(url), statement.key_id, statement.claim)
