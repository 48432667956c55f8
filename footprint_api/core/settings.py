"""Settings of the service, from the environment (prefix PCF_). Defaults are the embedded mode of `make run`."""

import ipaddress
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR = Path.cwd() / "var"
DEV_BASE_URL = "http://127.0.0.1:8000"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PCF_", extra="ignore")

    database_url: str = f"sqlite:///{VAR / 'pcf.db'}"
    # Signing key of access tokens. Never in the repository: set PCF_SECRET_KEY in production; the embedded mode
    # generates one into var/secret_key on first start.
    secret_key: str | None = None
    secret_key_file: Path = VAR / "secret_key"
    access_token_minutes: int = 60
    # A browser session (the web application): an access token in a Secure, HttpOnly, SameSite=Lax cookie.
    web_session_minutes: int = Field(default=480, ge=5, le=24 * 60)
    task_mode: Literal["in_process", "celery"] = "in_process"
    broker_url: str = "redis://127.0.0.1:6379/0"
    result_backend: str | None = None
    # Redis redelivers a task not acknowledged within the visibility timeout (a dead worker's task); kombu looks for
    # such tasks every restore interval x throttle seconds (kombu defaults: 10 x 10).
    visibility_timeout_seconds: int = 3600
    unacked_restore_interval_seconds: int = 10
    unacked_restore_throttle: int = 10
    # A running job renews its lease every heartbeat; the housekeeping task (every minute) queues again a job whose
    # lease is older than job_lease_seconds (its worker died), and Celery kills a task past job_time_limit_seconds.
    job_heartbeat_seconds: float = Field(default=10, gt=0)
    job_lease_seconds: int = Field(default=90, ge=5)
    job_time_limit_seconds: int = Field(default=1800, ge=60)
    in_process_workers: int = 2
    # The job outbox (issue 19): a request sending a job waits this long for the broker at most; a job the broker
    # did not take stays queued and unsent, and the housekeeping task sends it.
    broker_send_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # Connections per process: at least the request thread pool (40, anyio's default) plus the in-process workers,
    # so requests wait for a thread, never for a connection. PostgreSQL: processes x (size + overflow) must stay
    # under its max_connections (or put PgBouncer in front).
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=30, ge=0)
    db_pool_timeout_seconds: float = Field(default=30, gt=0)
    # Database outages (issue 19; footprint_api.persistence.db): a PostgreSQL connection attempt gives up after
    # db_connect_timeout_seconds, and a request the database cannot serve (refused, gone away, shut down, read-only,
    # no free connection) answers 503 with Retry-After: db_retry_after_seconds. During an outage the public
    # verification answer (services.verification) may come from the process's cache, marked as such, only when it was
    # confirmed against the database at most verification_outage_confirmed_seconds before the outage's first failure,
    # and for at most verification_outage_serve_seconds after that failure; otherwise 503.
    db_connect_timeout_seconds: int = Field(default=5, ge=2, le=60)
    db_retry_after_seconds: int = Field(default=5, ge=1, le=300)
    verification_outage_confirmed_seconds: float = Field(default=1, ge=0, le=30)
    verification_outage_serve_seconds: float = Field(default=300, ge=0, le=3600)
    # The service's public address, printed in every label's QR code (so it must be right before a label is issued):
    # `pcf serve` sets it to the address it serves in the embedded mode; outside `dev` it must be set, and a
    # loopback, private or link-local address is refused (label_service.public_url).
    public_base_url: str | None = None
    seed_demo: bool = False
    cors_origins: list[str] = Field(default_factory=list)

    # Carbon labels. Private signing keys live in label_key_dir (mount it from the secret store in production),
    # PKCS#8-encrypted with label_key_passphrase when set. Files go to a local folder or an S3 bucket (MinIO).
    environment: str = Field(default="dev", pattern=r"^[a-z0-9-]{2,20}$")
    label_key_dir: Path = VAR / "keys"
    label_key_passphrase: str | None = None
    label_validity_years: int = Field(default=3, ge=1, le=10)
    label_font: Path | None = None
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path = VAR / "objects"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_secure: bool = True
    s3_region: str | None = None
    s3_bucket: str | None = None  # default: pcf-labels-{environment}
    # A store that hangs (label_service.storage.S3ObjectStore): every S3 call gives up after s3_deadline_seconds in
    # all (plus 1 s per MiB it moves), however the store fails to answer, and the service answers 503 + Retry-After;
    # /readyz checks the database, the store and the broker at once, each within readiness_check_seconds, so it
    # answers within the health check's 3 s.
    s3_deadline_seconds: float = Field(default=5, gt=0, le=60)
    readiness_check_seconds: float = Field(default=2, gt=0, le=10)

    # TLS of `pcf serve` (the PACT API is served over HTTPS only): PEM certificate chain and key.
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    # Proxy headers (issue 19): X-Forwarded-For and X-Forwarded-Proto are believed only from these peers, the
    # addresses or networks (CIDR) of the reverse proxies in front of the service (`pcf serve` gives them to uvicorn).
    # Default none: a request's address and scheme are its connection's, so a client cannot pick the address the
    # sign-in throttle counts, nor claim HTTPS for the PACT API. "*" is refused: name the proxies.
    trusted_proxies: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        """Each entry as uvicorn compares it: an address, or a network written from its first address."""
        try:
            return [str(_address_or_network(entry.strip())) for entry in value]
        except ValueError as exc:
            raise ValueError(f"PCF_TRUSTED_PROXIES: not an address or a network (CIDR) of a proxy: {exc}") from None

    # Request bodies (footprint_api.infra.limits): JSON, CSV and form posts; multipart uploads (workbooks, documents, photos)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # Outbound requests to URLs users give (PACT recipients' APIs) reach only the public internet; networks listed
    # here (CIDR, e.g. a partner's API inside the same closed network) are allowed as well (footprint_api.infra.outbound).
    outbound_allowed_networks: list[str] = Field(default_factory=list)
    # CA bundle for calls to PACT recipients' APIs (answers to their requests); None: the system's CAs.
    pact_ca_bundle: Path | None = None
    # Public verification answers are cached per process; other processes' label changes are noticed within this.
    verification_recheck_seconds: float = Field(default=0.25, ge=0, le=10)

    # E-mail of the notices (services.notices): off unless smtp_host is set. The mail goes from smtp_from through
    # that server (STARTTLS and a login when given), after the change it reports is committed; a failed send is
    # tried again by the housekeeping task for smtp_retry_hours.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_from: str | None = None
    smtp_timeout_seconds: float = Field(default=10, gt=0, le=120)
    smtp_retry_hours: int = Field(default=72, ge=1, le=24 * 30)

    # The audit trail's witness outside the database (footprint_api.infra.witness): the sealed head of every checkpoint
    # is also written to an append-only file (storage_backend local; default {storage_dir}/audit-witness/heads.log) or to
    # a bucket of its own in the S3 store (default pcf-audit-witness-{environment}, created with object lock when
    # missing), and the chain check compares the trail with it. Each head is kept under a COMPLIANCE retention of
    # audit_witness_retention_days where the bucket has object lock (0: the bucket's default retention only).
    audit_witness_file: Path | None = None
    audit_witness_bucket: str | None = None
    audit_witness_retention_days: int = Field(default=3650, ge=0, le=36500)

    @model_validator(mode="after")
    def _mail_has_a_sender(self) -> "Settings":
        if self.smtp_host and not self.smtp_from:
            raise ValueError("PCF_SMTP_FROM is required when PCF_SMTP_HOST is set (the notices' sender address)")
        return self

    @property
    def base_url(self) -> str:
        """The public base URL, or the embedded default when none is set (dev only; issuance checks it)."""
        return self.public_base_url or DEV_BASE_URL

    @property
    def bucket(self) -> str:
        return self.s3_bucket or f"pcf-labels-{self.environment}"

    def signing_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.secret_key_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def _address_or_network(entry: str) -> object:
    """A proxy's address, or its network (CIDR; host bits are dropped, as `ip_network(strict=False)` does)."""
    return ipaddress.ip_network(entry, strict=False) if "/" in entry else ipaddress.ip_address(entry)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
