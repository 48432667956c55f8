"""PostgreSQL stopped for ten seconds under load, and started again (issue 19 item 1).

The test starts a PostgreSQL cluster of its own (tests.processes.PostgresCluster: a temporary directory, a free
port; never the machine's shared server), migrates the service onto it and serves it with uvicorn in a process of
its own. Five request streams run while the cluster is stopped (`pg_ctl stop -m fast`: every session is ended, new
connections are refused) and started again:

- the public label JSON and the verification page of a label: 200 from the process's cache (marked as such) during
  the outage, since they were confirmed against the database within the last moments before it began;
- a signed-in read (the product list), a signed-in write (a new product, with its audit entry), a signed-in page
  (the product page of the web application): 503 with Retry-After.

And a label revoked behind the API's back (as another API process would) before the outage is never answered VALID.
"""

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.integration.conftest import unavailable
from tests.labelling import issued_label
from tests.processes import PostgresCluster, api_process, free_port, wait_ready

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 10
PAUSE_SECONDS = 0.05  # between two requests of one stream
RECOVERY_SECONDS = 5  # every stream answers as before within this after the cluster accepts connections again


@pytest.fixture(scope="module")
def cluster():
    postgres = PostgresCluster()
    if not postgres.available:
        unavailable("PostgreSQL's server binaries", FileNotFoundError(str(postgres.bin)))
    with postgres:
        yield postgres


@pytest.fixture(scope="module")
def service(cluster, engine, tmp_path_factory):
    """The API (uvicorn, its own process) on the private cluster; yields (World over HTTP, the API process)."""
    from footprint_api.persistence.migrate import upgrade
    from tests.service import World, configure, seed_world

    url = cluster.create_database("pcf")
    configure(url, PCF_TASK_MODE="in_process")
    upgrade(url)
    logs = tmp_path_factory.mktemp("outage-logs")
    port = free_port()
    api = api_process({**os.environ}, port, logs).start()
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", api)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield World(client, seed_world()), api
    finally:
        api.stop()


@dataclass
class Answer:
    phase: str  # before, outage, restarting, after: when the request was sent
    status: int | str  # the HTTP status, or the name of the connection error
    retry_after: str | None
    from_cache: bool  # marked as served from the cache (PCF-Answer-Source)
    said: str  # the label's status in a label JSON, the body of a 5xx
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class Stream:
    """One client asking the same thing again and again."""

    name: str
    request: Callable[[httpx.Client], httpx.Response]
    answers: list[Answer] = field(default_factory=list)


def _streams(world, label: str, revoked: str) -> list[Stream]:
    token = world.token("acme-engineer")
    bearer = {"Authorization": f"Bearer {token}"}
    html = {"Accept": "text/html", "Accept-Language": "zh-CN"}
    written = []

    def write(client: httpx.Client) -> httpx.Response:
        name = f"outage-{uuid.uuid4().hex[:12]}"
        response = client.post("/api/v1/products", json={"name": name, "pcr_id": "PCR-CN-CEMENT"}, headers=bearer)
        written.append((name, response.status_code))
        return response

    streams = [
        Stream("label JSON", lambda c: c.get(f"/api/v1/public/labels/{label}")),
        Stream("verification page", lambda c: c.get(f"/V/{label}", headers=html)),
        Stream("signed-in read", lambda c: c.get("/api/v1/products", headers=bearer)),
        Stream("signed-in write", write),
        Stream("signed-in page", lambda c: c.get("/app/products", headers=html, cookies={"pcf_session": token})),
        Stream("revoked label", lambda c: c.get(f"/api/v1/public/labels/{revoked}")),
    ]
    return streams, written


def _run(stream: Stream, base_url: str, phase: dict, stop: threading.Event) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        while not stop.is_set():
            current = phase["name"]  # the phase the request was sent in
            try:
                response = stream.request(client)
            except httpx.HTTPError as exc:  # a reset or refused connection is a defect of its own: noted, not raised
                stream.answers.append(Answer(current, type(exc).__name__, None, False, str(exc)))
            else:
                json = "json" in response.headers.get("content-type", "")
                body = response.json() if json and response.status_code == 200 else None
                said = body.get("status", "") if isinstance(body, dict) else ""
                stream.answers.append(
                    Answer(
                        current,
                        response.status_code,
                        response.headers.get("retry-after"),
                        "pcf-answer-source" in response.headers,
                        said if said else (response.text[:300] if response.status_code >= 500 else ""),
                    )
                )
            time.sleep(PAUSE_SECONDS)


def _revoke_behind_the_apis_back(number: str) -> None:
    """As another API process would: the API under test learns of it only through its generation check."""
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Label, utcnow

    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        label.state, label.state_reason, label.updated_at = "revoked", "withdrawn before the outage", utcnow()
        session.add(label)
        session.commit()


def test_a_database_outage_answers_503_or_the_confirmed_cache_and_nothing_is_half_written(service, cluster):
    world, api = service
    label = issued_label(world)["number"]
    revoked = issued_label(world)["number"]
    for number in (label, revoked):
        assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"
    streams, written = _streams(world, label, revoked)
    phase, stop = {"name": "before"}, threading.Event()
    threads = [
        threading.Thread(target=_run, args=(s, str(world.client.base_url), phase, stop), daemon=True) for s in streams
    ]
    for thread in threads:
        thread.start()
    time.sleep(2)
    _revoke_behind_the_apis_back(revoked)
    time.sleep(1)  # the label JSON stream keeps the API's generation checks going: the revocation is noticed
    phase["name"] = "outage"
    cluster.stop("fast")
    time.sleep(OUTAGE_SECONDS)
    phase["name"] = "restarting"
    cluster.start()
    restarted = time.monotonic()
    phase["name"] = "after"
    time.sleep(RECOVERY_SECONDS + 1)
    stop.set()
    for thread in threads:
        thread.join(30)

    everything = [a for s in streams for a in s.answers]
    print("\nanswers by stream, phase and status:")
    for stream in streams:
        counted = Counter((a.phase, a.status) for a in stream.answers)
        print(f"  {stream.name}: {dict(sorted(counted.items(), key=str))}")
    print(
        f"  in all: {len(everything)} requests, {sum(a.status == 503 for a in everything)} x 503, "
        f"{sum(a.status == 500 for a in everything)} x 500, "
        f"{sum(isinstance(a.status, str) for a in everything)} connection errors, "
        f"{sum(a.from_cache for a in everything)} from the cache"
    )

    # no server error and no dropped connection, in any phase
    assert [a for a in everything if a.status == 500 or isinstance(a.status, str)] == []
    during = {s.name: [a for a in s.answers if a.phase == "outage"] for s in streams}
    assert all(during.values()), "every stream was answered during the outage"
    # the label's answers, confirmed just before the outage: 200 (from the cache, marked as such, once the API noticed)
    for name in ("label JSON", "verification page"):
        assert {a.status for a in during[name]} == {200}, during[name]
        assert any(a.from_cache for a in during[name]), f"{name}: some answers during the outage come from the cache"
    assert {a.said for a in during["label JSON"]} == {"VALID"}
    # everything else needs the database: 503 with Retry-After once the outage is noticed, never another answer
    for name in ("signed-in read", "signed-in write", "signed-in page"):
        refused = [a for a in during[name] if a.status not in (200, 201)]
        assert refused and {(a.status, a.retry_after) for a in refused} == {(503, "5")}, during[name]
        assert all(a.status not in (200, 201) for a in during[name][during[name].index(refused[0]) :])
    # the label revoked behind the API's back before the outage: never VALID again (503 during the outage: its
    # REVOKED answer was never read, and its VALID one was forgotten when the change was noticed)
    revoked_answers = next(s for s in streams if s.name == "revoked label").answers
    first_revoked = next(i for i, a in enumerate(revoked_answers) if a.said == "REVOKED")
    assert all(a.phase == "before" for a in revoked_answers[:first_revoked])
    assert all(a.said != "VALID" for a in revoked_answers[first_revoked:])
    assert {(a.status, a.said) for a in during["revoked label"]} <= {(200, "REVOKED"), (503, "")}

    # after the restart: every stream answers as before within RECOVERY_SECONDS, and from then on only so
    for stream in streams:
        after = [a for a in stream.answers if a.phase == "after"]
        first = next((i for i, a in enumerate(after) if a.status in (200, 201) and not a.from_cache), None)
        assert first is not None, f"{stream.name} never recovered: {after[-5:]}"
        assert after[first].at - restarted < RECOVERY_SECONDS, stream.name
        assert all(a.status in (200, 201) and not a.from_cache for a in after[first:]), (stream.name, after[first:])

    # nothing half-written: each product answered 201 exists with its audit entry; none answered 503 exists
    from sqlmodel import col, select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import AuditEvent, Product

    with session_scope() as session:
        stored = {
            p.name: str(p.id) for p in session.exec(select(Product).where(col(Product.name).startswith("outage-")))
        }
        audited = set(
            session.exec(
                select(AuditEvent.object_id).where(
                    AuditEvent.action == "product.created", col(AuditEvent.object_id).in_(list(stored.values()))
                )
            )
        )
    created = {name for name, status in written if status == 201}
    assert {status for _, status in written} == {201, 503}
    assert set(stored) == created
    assert audited == set(stored.values())
    log = api.tail(400)
    assert log.count("database unreachable") == 1 and log.count("database serves again") == 1, log
    assert "Traceback" not in log, log
