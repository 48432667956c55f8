"""Schemathesis against the live API on PostgreSQL: whatever it sends, as whoever, the service never answers 5xx.

Issue 11, item 6, "Must show": Schemathesis with all checks (stateful included) against the API on PostgreSQL:
0 server errors. Issue 19, item 6: units pint could not tokenise and `limit=²` on the PACT list still answered 500;
now a PACT data recipient is fuzzed too (through the TLS its proxy, this process at 127.0.0.1, vouches for), the PACT
list declares its query, and the cases the fuzzer found are replayed by name after it. The run is Schemathesis' own (its CLI, over HTTP against the stack's uvicorn process, reading the
live /openapi.json): every phase (examples, coverage, fuzzing, and stateful, whose links Schemathesis infers from
the schema and from Location headers, the document declaring none), every check (`--checks all`), as three
principals. Only a server error fails the test; what the other checks find (a status code or a schema the document
does not declare, and so on) is printed with the test's output, for information.
"""

import base64
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import OrganisationKind, Role
from footprint_api.services import accounts
from tests.conftest import load_example
from tests.service import PASSWORD

pytestmark = pytest.mark.integration

SECONDS_PER_PRINCIPAL = int(os.environ.get("PCF_FUZZ_SECONDS", "30"))  # four principals: about 3 min of CI
SERVER_ERROR_CHECK = "not_a_server_error"
# Operations that end the signed-in principal's own credentials (revoke its token, change its password, disable
# it; a platform admin may disable anyone, the accounts of the other stack tests included): fuzzed anonymously only,
# else the rest of the run would be 401s.
ENDS_OWN_CREDENTIALS = r"^/api/v1/(auth/revoke|users/\{user_id\}/(password|disable))$"
PRINCIPALS = {
    "manufacturer engineer": (OrganisationKind.MANUFACTURER, Role.MANUFACTURER_MEMBER),
    "platform admin": (OrganisationKind.PLATFORM, Role.PLATFORM_ADMIN),
    "anonymous": None,
}
# The PACT API answers requests over TLS only: the stack's uvicorn believes X-Forwarded-Proto from 127.0.0.1 (its
# default), as it would from the TLS proxy in front of it.
BEHIND_TLS = {"X-Forwarded-Proto": "https"}
PACT_PATHS = r"^/(3/|auth/token|\.well-known/openid-configuration)"


def fuzz_principals(world) -> dict[str, dict[str, str]]:
    """Headers per principal. The signed-in ones belong to organisations made for the run, so what the fuzzer
    creates, changes or disables is theirs, not the accounts the other stack tests sign in with."""
    headers: dict[str, dict[str, str]] = {}
    with session_scope() as session:
        for name, spec in PRINCIPALS.items():
            if spec is None:
                continue
            kind, role = spec
            organisation = accounts.create_organisation(session, None, f"fuzz {name} {uuid.uuid4().hex[:6]}", kind)
            email = f"fuzz-{role.value}-{uuid.uuid4().hex[:6]}@test.example".replace("_", "-")
            accounts.create_user(session, None, organisation.id, email, f"fuzz {name}", PASSWORD, role)
            headers[name] = {"email": email}
    for name, entry in headers.items():
        response = world.client.post(
            "/api/v1/auth/token", data={"grant_type": "password", "username": entry["email"], "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        headers[name] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    headers["anonymous"] = {}
    headers["PACT recipient"] = {**BEHIND_TLS, "Authorization": f"Bearer {pact_token(world)}"}
    return headers


def pact_token(world) -> str:
    """A token of a PACT data recipient of an organisation made for the run (PACT Action Authenticate)."""
    with session_scope() as session:
        organisation = accounts.create_organisation(
            session, None, f"fuzz pact {uuid.uuid4().hex[:6]}", OrganisationKind.MANUFACTURER
        )
        client, secret = accounts.create_client(session, None, organisation.id, "fuzz recipient", Role.PACT_RECIPIENT)
        client_id = client.client_id
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = world.client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers={**BEHIND_TLS, "Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def run_schemathesis(base_url: str, headers: dict[str, str], report: Path, seconds: int) -> subprocess.CompletedProcess:
    """Schemathesis' CLI, all phases and checks, a time budget; events to an NDJSON report."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-time",
        str(seconds),
        "--workers",
        "2",
        "--max-examples",
        "25",
        "--seed",
        "11",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
        "--continue-on-failure",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if "X-Forwarded-Proto" in headers:  # the PACT recipient: its own API only
        command += ["--include-path-regex", PACT_PATHS]
    elif headers:
        command += ["--exclude-path-regex", ENDS_OWN_CREDENTIALS]
    return subprocess.run(command, capture_output=True, text=True, timeout=seconds * 4 + 120)


def interactions(report: Path) -> list[dict]:
    """Every request of the run with its response and the checks' verdicts, from the scenarios' recorders."""
    found = []
    for line in report.read_text().splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario["recorder"]
        for case_id, interaction in recorder.get("interactions", {}).items():
            failed = [check for check in recorder.get("checks", {}).get(case_id, []) if check["status"] == "failure"]
            found.append(
                {
                    "phase": scenario["phase"],
                    "request": interaction["request"],
                    "response": interaction.get("response") or {},
                    "failed": failed,
                }
            )
    return found


def is_server_error(interaction: dict) -> bool:
    return interaction["response"].get("status_code", 0) >= 500 or any(
        check["name"] == SERVER_ERROR_CHECK for check in interaction["failed"]
    )


def operation(interaction: dict) -> str:
    """'GET /api/v1/audit': the method and path, without host or query."""
    request = interaction["request"]
    return f"{request['method']} /{request['uri'].split('//', 1)[-1].split('/', 1)[-1].split('?', 1)[0]}"


def described(interaction: dict) -> str:
    """The request as a reader reproduces it, and the start of the answer."""
    request, response = interaction["request"], interaction["response"]
    body = _decoded(request.get("body"))
    return (
        f"{request['method']} {request['uri']} {body[:500]!r} -> {response.get('status_code')} "
        f"{_decoded(response.get('content'))[:300]!r}"
    )


def _decoded(payload) -> str:
    if isinstance(payload, dict) and "$base64" in payload:
        return base64.b64decode(payload["$base64"]).decode("utf-8", "replace")
    return "" if payload is None else str(payload)


def test_schemathesis_finds_no_server_error_on_postgresql(stack, tmp_path):
    world, _env, logs, _worker = stack
    base_url = str(world.client.base_url).rstrip("/")
    server_errors, noted, requests = [], Counter(), Counter()
    for name, headers in fuzz_principals(world).items():
        report = tmp_path / f"{name.replace(' ', '-')}.ndjson"
        run = run_schemathesis(base_url, headers, report, SECONDS_PER_PRINCIPAL)
        assert report.exists(), run.stderr[-3000:]
        for interaction in interactions(report):
            requests[(name, interaction["phase"])] += 1
            if is_server_error(interaction):
                server_errors.append((name, operation(interaction), described(interaction)))
            for check in interaction["failed"]:
                noted[(name, check["name"])] += 1
    for (name, phase), count in sorted(requests.items()):
        print(f"requests: {name}, {phase}: {count}")
    for (name, check), count in sorted(noted.items()):
        print(f"for information, failed check: {name}: {check} x {count}")
    assert sum(requests.values()) > 1000, requests
    api_log = (logs / "api.log").read_text(errors="replace")[-8000:] if (logs / "api.log").exists() else ""
    first = {(name, op): text for name, op, text in reversed(server_errors)}
    assert not server_errors, (
        f"{len(server_errors)} server errors, first of each operation:\n"
        + "\n".join(f"{name}: {text}" for (name, _op), text in sorted(first.items()))
        + "\n--- API log:\n"
        + api_log
    )


# What the fuzzer once found (issue 19, item 6), replayed by name: each a 4xx, never a 500.
NOT_UNITS = ["(", "t)", "t (", "t\\", "m**9**9**9"]
PACT_QUERIES = ["limit=²", "offset=²", "limit=①", "limit=0", "validOn=0001-01-01T00:00:00%2B01:00"]


def test_the_cases_the_fuzzer_found_answer_4xx(stack):
    world = stack[0]
    product = world.product("acme-engineer", "PCR-CN-CEMENT", "fuzz replay")
    for field in ("production", "item"):
        for text in NOT_UNITS:
            data = load_example("cement-guizhou-2023.json")
            data["green_certificates"] = []
            (data["production"] if field == "production" else data["items"][0])["unit"] = text
            response = world.submit("acme-engineer", product["id"], data)
            assert response.status_code == 422, (field, text, response.text)
    for amount in (1e-308, 5e-324):
        data = load_example("cement-guizhou-2023.json")
        data["production"]["amount"] = amount
        response = world.submit("acme-engineer", product["id"], data)
        fields = [error["field"] for error in response.json()["errors"]]
        assert response.status_code == 422 and fields == ["inventory.production.amount"], response.text
    headers = {**BEHIND_TLS, "Authorization": f"Bearer {pact_token(world)}"}
    for query in PACT_QUERIES:
        response = world.client.get(f"/3/footprints?{query}", headers=headers)
        assert response.status_code == 400 and response.json()["code"] == "BadRequest", (query, response.text)
    assert world.client.get("/3/footprints?limit=1", headers=headers).status_code == 200
