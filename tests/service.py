"""A running service for tests: a migrated database, organisations and users, and an HTTP client."""

import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import OrganisationKind, Role
from footprint_api.services import accounts

PASSWORD = "correct horse battery staple"
ORGANISATIONS = {
    "platform": (OrganisationKind.PLATFORM, {"root": Role.PLATFORM_ADMIN}),
    "acme": (
        OrganisationKind.MANUFACTURER,
        {"acme-admin": Role.MANUFACTURER_ADMIN, "acme-engineer": Role.MANUFACTURER_MEMBER},
    ),
    "rival": (
        OrganisationKind.MANUFACTURER,
        {"rival-admin": Role.MANUFACTURER_ADMIN, "rival-engineer": Role.MANUFACTURER_MEMBER},
    ),
    "cb": (OrganisationKind.CERTIFICATION_BODY, {"cb-verifier": Role.VERIFIER, "cb-admin": Role.CB_ADMIN}),
    "cb2": (OrganisationKind.CERTIFICATION_BODY, {"cb2-verifier": Role.VERIFIER}),
    "sb": (OrganisationKind.STANDARDS_BODY, {"sb-author": Role.PCR_AUTHOR, "sb-chair": Role.PCR_CHAIR}),
    "sb2": (OrganisationKind.STANDARDS_BODY, {"sb2-chair": Role.PCR_CHAIR}),
}


def configure(database_url: str, **extra: str) -> None:
    """Points the service at a database; label keys and files go to a scratch folder unless given."""
    scratch = Path(tempfile.mkdtemp(prefix="pcf-test-"))
    os.environ.update(
        {
            "PCF_DATABASE_URL": database_url,
            "PCF_SECRET_KEY": "test-signing-key-" + "k" * 32,
            "PCF_LABEL_KEY_DIR": str(scratch / "keys"),
            "PCF_STORAGE_DIR": str(scratch / "objects"),
            "PCF_STORAGE_BACKEND": "local",
            **extra,
        }
    )
    from footprint_api.core.settings import get_settings
    from footprint_api.infra.objects import object_store
    from footprint_api.services.verification import verification_cache

    get_settings.cache_clear()
    object_store.cache_clear()
    verification_cache.cache_clear()


def seed_world() -> dict[str, uuid.UUID]:
    """Creates the organisations and users above (password PASSWORD); returns organisation ids by name."""
    ids = {}
    with session_scope() as session:
        for name, (kind, users) in ORGANISATIONS.items():
            organisation = accounts.create_organisation(session, None, f"{name} {uuid.uuid4().hex[:6]}", kind)
            ids[name] = organisation.id
            for user, role in users.items():
                accounts.create_user(session, None, organisation.id, f"{user}@test.example", user, PASSWORD, role)
    return ids


@dataclass
class World:
    client: httpx.Client
    organisations: dict[str, uuid.UUID]
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, user: str) -> str:
        if user not in self._tokens:
            response = self.client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": f"{user}@test.example", "password": PASSWORD},
            )
            assert response.status_code == 200, response.text
            self._tokens[user] = response.json()["access_token"]
        return self._tokens[user]

    def as_(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def call(self, user: str | None, method: str, url: str, **kwargs) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **(self.as_(user) if user else {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def product(self, user: str, pcr_id: str, name: str = "product") -> dict:
        response = self.call(user, "POST", "/api/v1/products", json={"name": name, "pcr_id": pcr_id})
        assert response.status_code == 201, response.text
        return response.json()

    def submit(self, user: str, product_id: str, inventory: dict) -> httpx.Response:
        return self.call(user, "POST", "/api/v1/inventories", json={"product_id": product_id, "inventory": inventory})

    def calculate(self, user: str, inventory_id: str, timeout: float = 60.0, **body) -> dict:
        response = self.call(user, "POST", f"/api/v1/inventories/{inventory_id}/calculations", json=body)
        assert response.status_code == 202, response.text
        return self.wait(user, response.json()["id"], timeout)

    def wait(self, user: str, job_id: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.call(user, "GET", f"/api/v1/jobs/{job_id}").json()
            if job["status"] in ("succeeded", "failed"):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")
