"""`make run`: `pcf serve --demo` migrates, seeds demo organisations and users, calculates the examples, serves."""

import os
import re
import sys

import httpx

from tests.conftest import ROOT
from tests.labelling import unique_serials
from tests.processes import Process, free_port, wait_ready


def serve_demo(env: dict[str, str], log_dir, name: str) -> tuple[Process, str, dict[str, str]]:
    port = free_port()
    process = Process(
        name, [sys.executable, "-m", "footprint_api.cli", "serve", "--demo", "--port", str(port)], env, log_dir
    ).start()
    base = f"http://127.0.0.1:{port}"
    wait_ready(f"{base}/healthz", process, timeout=120)
    printed = process.log.read_text()
    credentials = dict(re.findall(r"^\s+(\S+@\S+)\s+(\S+)$", printed, flags=re.MULTILINE))
    return process, base, credentials


def login(base: str, email: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )


def bearer(base: str, email: str, password: str) -> dict[str, str]:
    response = login(base, email, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_serve_demo_is_ready_to_use_and_restarts_cleanly(brightway_dir, tmp_path):
    env = {
        **os.environ,
        "PCF_DATABASE_URL": f"sqlite:///{tmp_path / 'pcf.db'}",
        "PCF_TASK_MODE": "in_process",
        "PCF_SECRET_KEY": "demo-test-key-" + "d" * 32,
        "PCF_LABEL_KEY_DIR": str(tmp_path / "keys"),
        "PCF_STORAGE_DIR": str(tmp_path / "objects"),
    }
    env.pop("PCF_BROKER_URL", None)
    env.pop("PCF_PUBLIC_BASE_URL", None)  # the embedded mode: labels point to the port served
    process, base, first = serve_demo(env, tmp_path, "first")
    try:
        assert {
            "engineer@manufacturer.example",
            "admin@other.example",
            "verifier@cb.example",
            "admin@pcf.example",
        } <= first.keys()
        engineer = bearer(base, "engineer@manufacturer.example", first["engineer@manufacturer.example"])
        footprints = httpx.get(f"{base}/api/v1/footprints", headers=engineer).json()
        examples = sorted((ROOT / "pcr_rules" / "examples").glob("*.json"))
        assert len(footprints) == len(examples) == 6  # two aluminium smelters
        assert {f["pcr_id"] for f in footprints} == {
            "PCR-CN-ALUMINIUM",
            "PCR-CN-CEMENT",
            "PCR-CN-ELECTRICITY",
            "PCR-CN-FLATGLASS",
            "PCR-CN-STEEL",
        }
        labels = re.findall(r"^\s+(PCF-\d{4}-\d{6}-\w)\s", process.log.read_text(), flags=re.MULTILINE)
        assert len(labels) == 6
        page = httpx.get(f"{base}/V/{labels[0]}")
        assert page.status_code == 200 and 'data-status="VALID"' in page.text
        printed = {label["qr_content"] for label in httpx.get(f"{base}/api/v1/labels", headers=engineer).json()}
        assert all(code.startswith(f"{base.upper()}/") for code in printed), printed  # the port actually served
        # a footprint nobody applied for: a restart must leave it uncertified
        inventory = httpx.get(f"{base}/api/v1/inventories", headers=engineer).json()[0]
        again = httpx.post(
            f"{base}/api/v1/inventories",
            headers=engineer,
            json={"product_id": inventory["product_id"], "inventory": unique_serials(inventory["data"])},
        )
        assert again.status_code == 201, again.text
        job = httpx.post(f"{base}/api/v1/inventories/{again.json()['id']}/calculations", headers=engineer, json={})
        assert job.status_code == 202, job.text
        other = bearer(base, "admin@other.example", first["admin@other.example"])
        assert httpx.get(f"{base}/api/v1/inventories", headers=other).json() == []
        assert httpx.get(f"{base}/api/v1/footprints", headers=other).json() == []
    finally:
        process.stop()

    process, base, second = serve_demo(env, tmp_path, "second")
    try:
        email = "engineer@manufacturer.example"
        assert second[email] != first[email]
        assert login(base, email, first[email]).status_code == 401
        engineer = bearer(base, email, second[email])
        assert len(httpx.get(f"{base}/api/v1/inventories", headers=engineer).json()) == 7  # examples not loaded again
        assert len(httpx.get(f"{base}/api/v1/labels", headers=engineer).json()) == 6  # nothing certified unasked
        assert httpx.get(
            f"{base}/api/v1/audit/verify", headers=bearer(base, "admin@pcf.example", second["admin@pcf.example"])
        ).json()["intact"]
    finally:
        process.stop()
