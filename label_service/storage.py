"""Object storage of label files: content-addressed names, SHA-256 checksums, one interface, two back-ends.

- `LocalObjectStore`: a folder (the embedded default);
- `S3ObjectStore`: MinIO or any S3 endpoint through the `minio` client, one bucket per environment (created again
  when found missing), every call under a total deadline.

A name is `labels/{sha256}.{ext}`: the same bytes always land at the same name, a stored object is never
overwritten with different content, and a reader can check what it got against the name.
"""

import hashlib
import io
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

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
    "json": "application/json",  # a factor-database release's JSON
    "zip": "application/zip",  # a factor-database release's openLCA JSON-LD
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

    def ping(self, deadline_seconds: float | None = None) -> None: ...

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

    def ping(self, deadline_seconds: float | None = None) -> None:
        """Readiness: the folder exists (or can be made) and is writable (a local disk has no deadline to keep)."""
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


def _reason(exc: BaseException) -> str:
    """What went wrong, without the endpoint's address: S3's error code, or the kind of failure (under urllib3's
    "too many retries", the last one's: NewConnectionError for a refused connection)."""
    cause = getattr(exc, "reason", None)
    if isinstance(cause, BaseException):
        return type(cause).__name__
    return getattr(exc, "code", None) or type(exc).__name__


# Every call to S3 runs under a deadline on its own thread; its connections are registered here while it runs.
_running = threading.local()

# A store slower than this is treated as not answering: a call moving n bytes is given n / rate seconds more, for at
# most the largest object the service keeps (uploads are limited to 25 MiB by default), whatever a server announces.
SLOWEST_BYTES_PER_SECOND = 1024 * 1024
LARGEST_OBJECT_BYTES = 64 * 1024 * 1024


class _Deadline:
    """The total time of one call to the store. urllib3's timeouts bound each connect and each read, not the call: a
    server that accepts and then trickles a byte at a time, or answers headers and stalls, would hold the caller for
    ever. When the time is up, the sockets of the call are shut down, so a blocked read returns at once, and any
    further connection of the call (a retry) is refused."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.until = time.monotonic() + seconds
        self.expired = False
        self._connections: list = []
        self._lock = threading.Lock()
        self._finished = False
        self._timer: threading.Timer | None = None

    def allow(self, size: int) -> None:
        """More time for a body of `size` bytes, known once the headers arrive."""
        with self._lock:
            self.until += min(size, LARGEST_OBJECT_BYTES) / SLOWEST_BYTES_PER_SECOND

    def watch(self, connection) -> None:
        with self._lock:
            if self.expired:
                raise TimeoutError(f"no answer within {self.seconds:g} s")
            if connection not in self._connections:
                self._connections.append(connection)

    def _arm(self) -> None:
        self._timer = threading.Timer(max(self.until - time.monotonic(), 0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            if time.monotonic() < self.until:  # extended by allow(): wait for the rest
                self._arm()
                return
            self.expired = True
            for connection in self._connections:
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    with suppress(OSError):  # already closed
                        # the plain socket's shutdown: on a TLS socket it also ends a read blocked in another thread
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def __enter__(self) -> "_Deadline":
        self._outer = getattr(_running, "deadline", None)
        _running.deadline = self
        self._arm()
        return self

    def __exit__(self, *_exc) -> None:
        with self._lock:
            self._finished = True
            self._connections.clear()
            if self._timer is not None:
                self._timer.cancel()
        _running.deadline = self._outer


def _watch(connection) -> None:
    deadline = getattr(_running, "deadline", None)
    if deadline is not None:
        deadline.watch(connection)


@lru_cache(maxsize=1)
def _watched_pools() -> dict[str, type]:
    """urllib3's connection pools whose connections register with the running call's deadline: on each request
    (a pooled connection reused) and on each connect (a new one)."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Watched:
        def connect(self):
            _watch(self)  # before: urllib3 sets the socket before the TLS handshake, so a stalled handshake is cut
            super().connect()
            _watch(self)  # after: a connection made once the time is up is not used

        def request(self, *args, **kwargs):
            _watch(self)
            return super().request(*args, **kwargs)

    class WatchedHTTPConnection(Watched, HTTPConnection):
        pass

    class WatchedHTTPSConnection(Watched, HTTPSConnection):
        pass

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    return {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}


# S3's answers when a bucket another process (or an earlier attempt) created in the meantime
_BUCKET_THERE = ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")


class S3ObjectStore:
    """Every call has a total deadline (`deadline_seconds`, plus time for the bytes it moves): a store that refuses,
    never answers or trickles gives StorageError (the service answers 503) within it, never a request (and a
    worker thread) held for as long as the store hangs. After a call ran out of time, calls in the next
    `deadline_seconds` fail at once instead of each waiting the whole deadline; a successful call or readiness
    probe ends that. A bucket found missing (the store came back empty) is created again on the next write or
    probe; without the right to create it, the error names the bucket."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = True,
        region: str | None = None,
        connect_seconds: float = 2.0,
        deadline_seconds: float = 5.0,
    ):
        import urllib3
        from minio import Minio

        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(connect_seconds, deadline_seconds), read=deadline_seconds),
            retries=urllib3.Retry(total=1, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504)),
            maxsize=16,
        )
        http.pool_classes_by_scheme = _watched_pools()
        self.client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=http
        )
        self.bucket = bucket
        self.deadline_seconds = deadline_seconds
        self._held_until = 0.0  # monotonic time before which calls fail at once (a call just ran out of time)

    @contextmanager
    def _call(self, what: str, seconds: float | None = None, probe: bool = False) -> Iterator[_Deadline]:
        """Runs the body under a total deadline and turns every failure into StorageError naming `what`. A probe
        (readiness) is tried even while calls are held back, and its own time running out holds nothing back."""
        seconds = seconds or self.deadline_seconds
        if not probe and time.monotonic() < self._held_until:
            raise StorageError(f"{what}: the store did not answer within {self.deadline_seconds:g} s just before")
        deadline = _Deadline(seconds)
        try:
            with deadline:
                yield deadline
        except StorageError:
            raise
        except Exception as exc:
            if deadline.expired:  # whatever a cut connection made the client raise
                if not probe:
                    self._held_until = time.monotonic() + self.deadline_seconds
                raise StorageError(f"{what}: no answer within {seconds:g} s") from exc
            if isinstance(exc, _unreachable()):
                raise StorageError(f"{what}: {_reason(exc)}") from exc
            raise
        self._held_until = 0.0

    def _create_bucket(self) -> None:
        """The bucket is missing (a new store, or one that came back empty): create it, or say why not, naming it."""
        from minio.error import S3Error

        try:
            self.client.make_bucket(self.bucket)
        except S3Error as exc:
            if exc.code in _BUCKET_THERE:
                return
            raise StorageError(
                f"bucket {self.bucket} is missing and could not be created ({exc.code}): create it, or allow the "
                "service's access key to (s3:CreateBucket)"
            ) from exc
        log.warning("bucket %s was missing: created again", self.bucket)

    def ping(self, deadline_seconds: float | None = None) -> None:
        """Readiness: the bucket answers within `deadline_seconds`; a missing one is created again (raises
        StorageError naming the bucket when it cannot be)."""
        with self._call(f"bucket {self.bucket}", deadline_seconds, probe=True):
            if not self.client.bucket_exists(self.bucket):
                self._create_bucket()

    def ensure_bucket(self) -> None:
        with self._call(f"bucket {self.bucket}"):
            if not self.client.bucket_exists(self.bucket):
                self._create_bucket()

    def put(self, data: bytes, extension: str, prefix: str = "labels") -> StoredObject:
        from minio.error import S3Error

        key, digest = content_key(data, extension, prefix)

        def upload() -> None:
            self.client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=CONTENT_TYPES[extension],
                metadata={"sha256": digest},
            )

        with self._call(f"upload of {key}") as deadline:
            deadline.allow(len(data))
            try:
                upload()
            except S3Error as exc:
                if exc.code != "NoSuchBucket":
                    raise
                self._create_bucket()
                upload()
        return StoredObject(key, digest, len(data), CONTENT_TYPES[extension])

    def get(self, key: str) -> bytes:
        with self._call(f"download of {key}") as deadline:
            response = self.client.get_object(self.bucket, key)
            try:
                deadline.allow(int(response.headers.get("content-length") or 0))
                return _checked(key, response.read())
            finally:
                response.close()
                response.release_conn()

    def delete(self, key: str) -> None:
        from minio.error import S3Error

        with self._call(f"removal of {key}"):
            try:
                self.client.remove_object(self.bucket, key)
            except S3Error as exc:
                if exc.code != "NoSuchBucket":  # no bucket: nothing to remove
                    raise
