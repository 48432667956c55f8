"""The audit trail's witness outside the database: the sealed heads of its checkpoints, kept where the database's
owner cannot rewrite them.

Each head is (seq, hash, mac, at) as the checkpoint sealed it, plus `prev`, the record hash of the witness's previous
head, and `record` = SHA-256(prev + canonical JSON of the head): the witness is itself a chain.

- `FileWitness` (embedded mode): one JSON line per head in a file opened O_APPEND, written under an exclusive lock
  and fsync'd; reading checks every line's link, so an edited, removed or cut line shows.
- `S3Witness` (production): one object per head in a bucket of its own, created with object lock (hence
  versioning) when the service creates it, each head kept under a COMPLIANCE retention when the bucket has object
  lock. Names sort newest first, so the latest head is one listing away.

A witness that cannot be reached raises `WitnessError`; the caller (services.audit) never fails a request for it.
"""

import base64
import fcntl
import hashlib
import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from footprint_api.core.settings import get_settings

GENESIS = "0" * 64
_FIELDS = ("seq", "hash", "mac", "at")
_S3_PREFIX = "audit-witness/heads/"
_S3_SEQ_LIMIT = 10**15  # names hold 10**15 - seq, zero-padded: the newest head sorts first


class WitnessError(RuntimeError):
    """The witness could not be read or written (`damaged` False), or what it holds is broken (`damaged` True,
    at `line` for the file)."""

    def __init__(self, message: str, damaged: bool = False, line: int | None = None):
        super().__init__(message)
        self.damaged = damaged
        self.line = line


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    mac: str
    at: str
    prev: str
    record: str


def record_hash(prev: str, seq: int, hash: str, mac: str, at: str) -> str:
    body = json.dumps({"seq": seq, "hash": hash, "mac": mac, "at": at}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev + body).encode()).hexdigest()


def make_head(previous: Head | None, seq: int, hash: str, mac: str, at: str) -> Head:
    prev = previous.record if previous else GENESIS
    return Head(seq, hash, mac, at, prev, record_hash(prev, seq, hash, mac, at))


def _text(head: Head) -> str:
    return json.dumps(head.__dict__, sort_keys=True, separators=(",", ":"))


def parse(text: str, line: int | None = None) -> Head:
    """One stored head, its record hash checked (raises WitnessError, damaged)."""
    try:
        data = json.loads(text)
        head = Head(
            int(data["seq"]), str(data["hash"]), str(data["mac"]), str(data["at"]), str(data["prev"]), data["record"]
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise WitnessError(f"unreadable head: {type(exc).__name__}", damaged=True, line=line) from exc
    if record_hash(head.prev, head.seq, head.hash, head.mac, head.at) != head.record:
        raise WitnessError("a head does not match its record hash", damaged=True, line=line)
    return head


class Witness(Protocol):
    where: str

    def heads(self) -> list[Head]:
        """What the witness holds, oldest first (at least the latest head), its links checked."""
        ...

    def latest(self) -> Head | None: ...

    def append(self, seq: int, hash: str, mac: str, at: str) -> Head:
        """Write a head newer than the latest; an older or equal one is not written again."""
        ...


class FileWitness:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.where = str(self.path)

    def heads(self) -> list[Head]:
        try:
            with self.path.open("rb") as handle:
                lines = handle.read().split(b"\n")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise WitnessError(f"{self.path}: {exc.strerror}") from exc
        if lines[-1]:  # every head ends with a newline: a last line without one was cut
            raise WitnessError("the last line was cut", damaged=True, line=len(lines))
        heads: list[Head] = []
        for number, raw in enumerate(lines[:-1], start=1):
            head = parse(raw.decode("utf-8", "replace"), number)
            previous = heads[-1] if heads else None
            if head.prev != (previous.record if previous else GENESIS) or (previous and head.seq <= previous.seq):
                raise WitnessError("a line does not link to the one before it", damaged=True, line=number)
            heads.append(head)
        return heads

    def latest(self) -> Head | None:
        heads = self.heads()
        return heads[-1] if heads else None

    def append(self, seq: int, hash: str, mac: str, at: str) -> Head:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise WitnessError(f"{self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # two processes append one after the other, each linking the last
            latest = self.latest()
            if latest is not None and latest.seq >= seq:
                return latest
            head = make_head(latest, seq, hash, mac, at)
            os.write(descriptor, (_text(head) + "\n").encode())
            os.fsync(descriptor)
            return head
        except OSError as exc:
            raise WitnessError(f"{self.path}: {exc.strerror}") from exc
        finally:
            os.close(descriptor)  # releases the lock


def _unreachable() -> tuple[type[BaseException], ...]:
    """The store down or answering wrongly (MinIO's errors, sockets, urllib3's own), or a bucket name it refuses."""
    from minio.error import MinioException
    from urllib3.exceptions import HTTPError

    return MinioException, OSError, HTTPError, ValueError


class S3Witness:
    """Short timeouts and no retry: a witness that does not answer is a gap reported later, not a held request."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = True,
        region: str | None = None,
        retention_days: int = 0,
        connect_seconds: float = 2.0,
        read_seconds: float = 5.0,
    ):
        import urllib3
        from minio import Minio

        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_seconds, read=read_seconds), retries=False, maxsize=4
        )
        self.client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=http
        )
        self.bucket = bucket
        self.retention_days = retention_days
        self.where = f"s3://{bucket}/{_S3_PREFIX}"

    @staticmethod
    def key(seq: int) -> str:
        return f"{_S3_PREFIX}{_S3_SEQ_LIMIT - seq:016d}.json"

    def _read(self, key: str) -> Head:
        response = self.client.get_object(self.bucket, key)
        try:
            return parse(response.read().decode("utf-8", "replace"))
        finally:
            response.close()
            response.release_conn()

    def _newest_keys(self, count: int) -> list[str]:
        keys = []
        for item in self.client.list_objects(self.bucket, prefix=_S3_PREFIX):
            keys.append(item.object_name)
            if len(keys) == count:
                break
        return keys

    def heads(self) -> list[Head]:
        """The latest head, and the one before it to check the link between them."""
        try:
            if not self.client.bucket_exists(self.bucket):
                return []
            heads = [self._read(key) for key in reversed(self._newest_keys(2))]
        except _unreachable() as exc:
            raise WitnessError(f"{self.where}: {type(exc).__name__}") from exc
        if len(heads) == 2 and heads[1].prev != heads[0].record:
            raise WitnessError(f"head {heads[1].seq} does not link to head {heads[0].seq}", damaged=True)
        return heads

    def latest(self) -> Head | None:
        heads = self.heads()
        return heads[-1] if heads else None

    def _ensure_bucket(self) -> bool:
        """The bucket, created with object lock when missing; whether it has object lock."""
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket, object_lock=True)
            return True
        try:
            return self.client.get_object_lock_config(self.bucket) is not None
        except _unreachable():
            return False  # no object lock configuration on this bucket

    def append(self, seq: int, hash: str, mac: str, at: str) -> Head:
        from minio.commonconfig import COMPLIANCE
        from minio.retention import Retention

        try:
            locked = self._ensure_bucket()
            latest = self.latest()
            if latest is not None and latest.seq >= seq:
                return latest
            head = make_head(latest, seq, hash, mac, at)
            data = _text(head).encode()
            retention = None
            if locked and self.retention_days:
                until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=self.retention_days)
                retention = Retention(COMPLIANCE, until)
            checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()  # S3 requires one under object lock
            self.client.put_object(
                self.bucket,
                self.key(seq),
                io.BytesIO(data),
                len(data),
                content_type="application/json",
                metadata={"x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": checksum},
                retention=retention,
            )
            return head
        except _unreachable() as exc:
            raise WitnessError(f"{self.where}: {type(exc).__name__}") from exc


@lru_cache(maxsize=4)
def _witness(backend: str, location: str, endpoint: str, access: str, secret: str, secure: bool, region, days: int):
    if backend == "local":
        return FileWitness(Path(location))
    return S3Witness(endpoint, access, secret, location, secure=secure, region=region, retention_days=days)


def audit_witness() -> Witness:
    """The witness the settings choose: beside the label files (a file under the storage folder, or a bucket of its
    own in the same S3 store), unless PCF_AUDIT_WITNESS_FILE / PCF_AUDIT_WITNESS_BUCKET say where."""
    settings = get_settings()
    if settings.storage_backend == "local":
        path = settings.audit_witness_file or settings.storage_dir / "audit-witness" / "heads.log"
        return _witness("local", str(path), "", "", "", False, None, 0)
    bucket = settings.audit_witness_bucket or f"pcf-audit-witness-{settings.environment}"
    return _witness(
        "s3",
        bucket,
        settings.s3_endpoint,
        settings.s3_access_key or "",
        settings.s3_secret_key or "",
        settings.s3_secure,
        settings.s3_region,
        settings.audit_witness_retention_days,
    )
