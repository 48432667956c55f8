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

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}


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
    def put(self, data: bytes, extension: str) -> StoredObject: ...

    def get(self, key: str) -> bytes: ...

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

    def put(self, data: bytes, extension: str) -> StoredObject:
        key, digest = content_key(data, extension)
        path = self._path(key)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:  # atomic: write, rename
                handle.write(data)
            os.replace(handle.name, path)
        return StoredObject(key, digest, len(data), CONTENT_TYPES[extension])

    def get(self, key: str) -> bytes:
        try:
            return _checked(key, self._path(key).read_bytes())
        except FileNotFoundError:
            raise StorageError(f"{key} is not stored") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3ObjectStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = True,
                 region: str | None = None):
        from minio import Minio

        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region)
        self.bucket = bucket

    def ensure_bucket(self) -> None:
        from minio.error import S3Error

        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except S3Error as exc:
            raise StorageError(f"bucket {self.bucket}: {exc}") from exc

    def put(self, data: bytes, extension: str) -> StoredObject:
        from minio.error import MinioException

        key, digest = content_key(data, extension)
        try:
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data),
                                   content_type=CONTENT_TYPES[extension], metadata={"sha256": digest})
        except (MinioException, OSError) as exc:
            raise StorageError(f"upload of {key} failed: {exc}") from exc
        return StoredObject(key, digest, len(data), CONTENT_TYPES[extension])

    def get(self, key: str) -> bytes:
        from minio.error import MinioException

        try:
            response = self.client.get_object(self.bucket, key)
            try:
                return _checked(key, response.read())
            finally:
                response.close()
                response.release_conn()
        except (MinioException, OSError) as exc:
            raise StorageError(f"download of {key} failed: {exc}") from exc

    def delete(self, key: str) -> None:
        from minio.error import MinioException

        try:
            self.client.remove_object(self.bucket, key)
        except (MinioException, OSError) as exc:
            raise StorageError(f"removal of {key} failed: {exc}") from exc
