"""Issuing a label's signed statement and files: sign, encode the codes, render, store. All or nothing.

The caller records the label in its database only after this succeeded; if storing any file fails, the files
already stored for this label are removed, so a failure leaves no half-issued label behind.
"""

from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from label_service import compact as compact_code
from label_service.certificate import render_certificate
from label_service.claim import LabelFacts, build_claim, label_view
from label_service.qr import verification_url
from label_service.render import render_all
from label_service.signing import SignedStatement, sign
from label_service.storage import ObjectStore, StorageError, StoredObject

CERTIFICATE = "certificate.pdf"


@dataclass(frozen=True)
class IssuedFiles:
    statement: SignedStatement
    qr_content: str  # what the on-pack code carries: the short URL or GS1 Digital Link, no signature
    compact: str  # the compact offline code (label_service.compact), printed on the certificate
    files: dict[str, StoredObject]  # by file name: "qr20.png", "qr50.pdf", …, "certificate.pdf"


def renderings(statement: SignedStatement, qr_content: str, compact: str, font: Path) -> dict[str, bytes]:
    """Every file of a label by name: the label in each size and format, and its certificate."""
    files = render_all(label_view(statement.claim, qr_content), font)
    files[CERTIFICATE] = render_certificate(statement, qr_content, compact, font)
    return files


def store_all(store: ObjectStore, files: dict[str, bytes]) -> dict[str, StoredObject]:
    """Stores every file or, on the first failure, removes those already stored and raises StorageError."""
    stored: dict[str, StoredObject] = {}
    try:
        for name, data in files.items():
            stored[name] = store.put(data, name.rsplit(".", 1)[-1])
    except StorageError:
        for done in stored.values():
            with suppress(StorageError):  # best effort; content-addressed names make orphans harmless
                store.delete(done.key)
        raise
    return stored


def issue_files(
    facts: LabelFacts, private_key: Ed25519PrivateKey, base_url: str, store: ObjectStore, font: Path
) -> IssuedFiles:
    statement = sign(build_claim(facts), private_key)
    content = verification_url(base_url, facts.number, facts.gtin)
    compact = compact_code.encode(statement.claim, private_key)
    stored = store_all(store, renderings(statement, content, compact, font))
    return IssuedFiles(statement, content, compact, stored)
