"""Issuers' private signing keys, kept out of the database and the repository.

One PEM file (PKCS#8, encrypted when a passphrase is configured) per key id, in a directory that production mounts
from its secret store. Rotation creates a new key; retired keys stay published so earlier labels still verify.
"""

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from label_service.signing import key_id


class KeyMissing(LookupError):
    pass


class KeyStore:
    def __init__(self, directory: Path, passphrase: str | None = None):
        self.directory = Path(directory)
        self._passphrase = passphrase.encode() if passphrase else None

    def create(self) -> Ed25519PrivateKey:
        key = Ed25519PrivateKey.generate()
        encryption = (
            serialization.BestAvailableEncryption(self._passphrase)
            if self._passphrase
            else serialization.NoEncryption()
        )
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / f"{key_id(key.public_key())}.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        return key

    def load(self, kid: str) -> Ed25519PrivateKey:
        path = self.directory / f"{kid}.pem"
        if not kid.isalnum() or not path.exists():
            raise KeyMissing(f"private key {kid} is not in the key store")
        key = serialization.load_pem_private_key(path.read_bytes(), password=self._passphrase)
        if not isinstance(key, Ed25519PrivateKey) or key_id(key.public_key()) != kid:
            raise KeyMissing(f"key file {path.name} does not hold Ed25519 key {kid}")
        return key
