"""docker-compose.yml: valid for Compose, and every service configured with settings the application reads."""

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from footprint_api.core.settings import Settings
from tests.conftest import ROOT

SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "PCF_SECRET_KEY": "k" * 48,
    "MINIO_ROOT_USER": "storage-user",
    "MINIO_ROOT_PASSWORD": "storage-secret",
    "PCF_LABEL_KEY_PASSPHRASE": "key-passphrase",
    "PCF_PUBLIC_BASE_URL": "https://pcf.example.cn",
}
APPLICATION_SERVICES = ("migrate", "api", "worker", "beat")


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: `make test` installs Debian's docker-compose")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PCF_", "POSTGRES_", "MINIO_"))}
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def stack() -> dict:
    result = compose_config(SECRETS)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_refuses_to_start_without_the_secrets():
    result = compose_config({k: v for k, v in SECRETS.items() if k != "PCF_SECRET_KEY"})
    assert result.returncode != 0 and "set PCF_SECRET_KEY in .env" in result.stderr


def test_the_stack_has_every_part_with_health_checks(stack):
    services = stack["services"]
    assert {"postgres", "redis", "minio", "migrate", "api", "worker", "beat"} <= services.keys()
    for name in ("postgres", "redis", "minio", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert {"postgres-data", "redis-data", "minio-data", "label-keys"} <= stack["volumes"].keys()
    for name in ("api", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["pcf", "migrate"]
    assert "--workers" in services["api"]["command"]


def test_every_setting_given_to_the_application_is_one_it_reads(stack, monkeypatch):
    """Read as the application reads them: from the environment (a list is JSON there); the engine's settings
    (Brightway directory, prepared backgrounds, solver) are read by lca_models.config.LCASettings."""
    from lca_models.config import LCASettings

    known = {f"PCF_{name.upper()}" for name in (*Settings.model_fields, *LCASettings.model_fields)}
    for name in APPLICATION_SERVICES:
        environment = stack["services"][name]["environment"]
        given = {key for key in environment if key.startswith("PCF_")}
        assert given - known == set(), (name, given - known)
        for key in known:
            monkeypatch.delenv(key, raising=False)
        for key in given:
            monkeypatch.setenv(key, str(environment[key]))
        settings = Settings()
        assert settings.task_mode == "celery" and settings.storage_backend == "s3"
        assert settings.secret_key == SECRETS["PCF_SECRET_KEY"]


def test_the_application_reaches_the_services_by_their_compose_names(stack):
    services = stack["services"]
    environment = services["api"]["environment"]
    database = re.match(r"postgresql\+psycopg://(\w+):(.+)@(\w+):(\d+)/(\w+)$", environment["PCF_DATABASE_URL"])
    assert database and database.group(3) in services and database.group(2) == SECRETS["POSTGRES_PASSWORD"]
    postgres = services["postgres"]["environment"]
    assert (database.group(1), database.group(5)) == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])
    assert environment["PCF_BROKER_URL"].split("//")[1].split(":")[0] in services
    assert environment["PCF_S3_ENDPOINT"] == "minio:9000"
    minio = services["minio"]["environment"]
    assert (environment["PCF_S3_ACCESS_KEY"], environment["PCF_S3_SECRET_KEY"]) == (
        minio["MINIO_ROOT_USER"],
        minio["MINIO_ROOT_PASSWORD"],
    )


def test_the_image_contains_every_package_of_the_distribution():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("pcr_rules", "lca_models", "label_service", "footprint_api"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "fonts-wqy-microhei" in dockerfile and "pcf setup" in dockerfile


def test_compose_refuses_to_start_without_the_public_base_url():
    """It is printed in every label's QR code: a default (localhost) would make printed labels unverifiable."""
    result = compose_config({k: v for k, v in SECRETS.items() if k != "PCF_PUBLIC_BASE_URL"})
    assert result.returncode != 0 and "set PCF_PUBLIC_BASE_URL in .env" in result.stderr


def test_the_api_believes_proxy_headers_only_from_the_reverse_proxy_of_this_host(stack):
    """Issue 19 item 4: uvicorn ran with `--forwarded-allow-ips "*"` on a published port. Now `pcf serve` gives it
    PCF_TRUSTED_PROXIES: the gateway of the stack's network (this host's reverse proxy), and the port is published on
    this host's loopback only."""
    api = stack["services"]["api"]
    assert api["command"][:2] == ["pcf", "serve"] and "*" not in api["command"]
    assert not {"--proxy-headers", "--forwarded-allow-ips"} & set(api["command"])
    [network] = stack["networks"]["default"]["ipam"]["config"]
    trusted = json.loads(api["environment"]["PCF_TRUSTED_PROXIES"])
    assert Settings(trusted_proxies=trusted).trusted_proxies == [network["gateway"]]
    assert [_host_of(port) for port in api["ports"]] == ["127.0.0.1"]


def _host_of(port: str | dict) -> str:
    """The host address a published port listens on (Compose v1 writes `127.0.0.1:8000:8000/tcp`, v2 a mapping)."""
    return port["host_ip"] if isinstance(port, dict) else port.rsplit(":", 2)[0]


def test_the_image_starts_the_api_through_pcf_serve():
    command = (ROOT / "Dockerfile").read_text().split("\nCMD ", 1)[1]
    assert command.startswith('["pcf", "serve"') and "proxy-headers" not in command and "*" not in command


def test_trusting_every_peer_is_refused_as_a_setting():
    with pytest.raises(ValueError, match="PCF_TRUSTED_PROXIES"):
        Settings(trusted_proxies=["*"])
    assert Settings(trusted_proxies=["10.1.2.3/8", " ::1"]).trusted_proxies == ["10.0.0.0/8", "::1"]
