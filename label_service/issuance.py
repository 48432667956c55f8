"""Issuing a label's signed statement and files: sign, encode the QR code, render, store. All or nothing.

The caller records the label in its database only after this succeeded; if storing any file fails, the files
already stored for this label are removed, so a failure leaves no half-issued label behind.
"""

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from label_service.claim import LabelFacts, build_claim, label_view
from label_service.qr import qr_content
from label_service.render import LabelView, render_pdf, render_png, render_svg
from label_service.signing import SignedStatement, sign
from label_service.storage import ObjectStore, StorageError, StoredObject


@dataclass(frozen=True)
class IssuedFiles:
    statement: SignedStatement
    qr_content: str
    files: dict[str, StoredObject]  # by format: svg, png, pdf


def render_all(view: LabelView, font: Path) -> dict[str, bytes]:
    return {"svg": render_svg(view), "png": render_png(view, font), "pdf": render_pdf(view, font)}


def issue_files(facts: LabelFacts, private_key: Ed25519PrivateKey, base_url: str, store: ObjectStore,
                font: Path) -> IssuedFiles:
    statement = sign(build_claim(facts), private_key)
    content = qr_content(base_url, facts.number, statement.token, facts.gtin)
    renderings = render_all(label_view(statement.claim, content), font)
    stored: dict[str, StoredObject] = {}
    try:
        for extension, data in renderings.items():
            stored[extension] = store.put(data, extension)
    except StorageError:
        for done in stored.values():
            try:
                store.delete(done.key)
            except StorageError:  # pragma: no cover - best effort; content-addressed names make orphans harmless
                pass
        raise
    return IssuedFiles(statement, content, stored)
