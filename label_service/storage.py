"""Object storage of label files: content-addressed names, SHA-256 checksums, one interface, two back-ends.

- `LocalObjectStore`: a folder (the embedded default);
- `S3ObjectStore`: MinIO or any S3 endpoint through the `minio` client, one bucket per environment.

A name is `labels/{sha256}.{ext}`: the same bytes always land at the same name, a stored object is never
overwritten with different content, and a reader can check what it got against the name.
"""

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# every kind of object the service stores: label renderings and certificates, evidence documents
CONTENT_TYPES = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain",
}


class StorageError(RuntimeError):
    pass


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    content_type: str


def content_key(data: bytes, extension: str, prefix: str = "labels") -> tuple[str, str]:
    digest = hashlib.sha256(data).hexdigest()
    return f"{prefix}/{digest}.{extension}", digest


class ObjectStore(Protocol):
    def put(self, data: bytes, extension: str, prefix: str = "labels") -> StoredObject: ...

    def get(self, key: str) -> bytes: ...

    def ping(self) -> None: ...

    def delete(self, key: str) -> None: ...


def _checked(key: str, data: bytes) -> bytes:
    expected = key.rsplit("/", 1)[-1].split(".", 1)[0]
    if hashlib.sha256(data).hexdigest() != expected:
        raise StorageError(f"{key}: content does not match its checksum")
    return data


class LocalObjectStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise StorageError(f"{key!r} is outside the store")
        return path

    def put(self, data: bytes, extension: str, prefix: str = "labels") -> StoredObject:
        key, digest = content_key(data, extension, prefix)
        path = self._path(key)
        if not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:  # atomic: write, rename
                    handle.write(data)
                os.replace(handle.name, path)
            except OSError as exc:  # a full or read-only disk
                raise StorageError(f"writing {key} failed: {exc.strerror}") from exc
        return StoredObject(key, digest, len(data), CONTENT_TYPES[extension])

    def ping(self) -> None:
        """Readiness: the folder exists (or can be made) and is writable."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.root}: {exc.strerror}") from exc
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"{self.root} is not writable")

    def get(self, key: str) -> bytes:
        try:
            return _checked(key, self._path(key).read_bytes())
        except FileNotFoundError:
            raise StorageError(f"{key} is not stored") from None
        except OSError as exc:
            raise StorageError(f"reading {key} failed: {exc.strerror}") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _unreachable() -> tuple[type[BaseException], ...]:
    """What the S3 client raises when the server is down or answers wrongly: MinIO's errors, sockets, and urllib3's
    own (MaxRetryError and friends are not OSErrors)."""
    from minio.error import MinioException
    from urllib3.exceptions import HTTPError

    return MinioException, OSError, HTTPError


class S3ObjectStore:
    """Short connect and read timeouts and one retry: when the store is down, the caller answers 503 within
    seconds instead of holding a request (and a worker thread) through urllib3's default back-off."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = True,
        region: str | None = None,
        connect_seconds: float = 2.0,
        read_seconds: float = 10.0,
    ):
        import urllib3
        from minio import Minio

        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_seconds, read=read_seconds),
            retries=urllib3.Retry(total=1, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504)),
            maxsize=16,
        )
        self.client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=http
        )
        self.bucket = bucket

    def ping(self) -> None:
        """Readiness: the bucket answers (raises StorageError)."""
        try:
            if not self.client.bucket_exists(self.bucket):
                raise StorageError(f"bucket {self.bucket} does not exist")
        except _unreachable() as exc:
            raise StorageError(f"bucket {self.bucket}: {type(exc).__name__}") from exc

    def ensure_bucket(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except _unreachable() as exc:
            raise StorageError(f"bucket {self.bucket}: {exc}") from exc

    def put(self, data: bytes, extension: str, prefix: str = "labels") -> StoredObject:
        key, digest = content_key(data, extension, prefix)
        try:
            self.client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=CONTENT_TYPES[extension],
                metadata={"sha256": digest},
            )
        except _unreachable() as exc:
            raise StorageError(f"upload of {key} failed: {exc}") from exc
        return StoredObject(key, digest, len(data), CONTENT_TYPES[extension])

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(self.bucket, key)
            try:
                return _checked(key, response.read())
            finally:
                response.close()
                response.release_conn()
        except _unreachable() as exc:
            raise StorageError(f"download of {key} failed: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.remove_object(self.bucket, key)
        except _unreachable() as exc:
            raise StorageError(f"removal of {key} failed: {exc}") from exc
