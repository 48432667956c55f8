"""A store that hangs, a store that came back empty, and readiness that answers in time whatever hangs.

The faults are real sockets: a server that accepts and never answers, one that trickles its answer a byte at a
time (each read well inside the read timeout, so only a total deadline ends the call), S3 (moto's server) with the
bucket deleted, an S3 that refuses to create a bucket, and a database server that accepts and never answers. The
bounds are generous (a deadline plus seconds of slack): before these changes the same calls took about 20 s.
"""

import contextlib
import hashlib
import socket
import socketserver
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import create_engine

from label_service.storage import S3ObjectStore, StorageError
from tests.labelling import act, calculated_footprint, issued_label
from tests.test_label_storage import count_labels, reset_storage, s3_endpoint, use_s3  # noqa: F401 - a fixture

DEADLINE = 1.0  # seconds, for the stores built in this file
SLACK = 2.0  # what a loaded test machine may add to a deadline


class HangingServer(socketserver.ThreadingTCPServer):
    """Accepts every connection and then, by `mode`:
    - "silent": reads the request and never answers;
    - "trickle": answers one byte of a status line every 0.2 s, so the answer's headers never end;
    - "stall": answers complete headers (a 100-byte body), then one body byte every 0.2 s."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str):
        self.mode, self.accepted, self.held, self.stopping = mode, 0, [], threading.Event()
        super().__init__(("127.0.0.1", 0), _Hang)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_):
        self.stopping.set()
        self.shutdown()
        for connection in self.held:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)  # wakes the handler blocked on it, tells the client
            connection.close()
        self.server_close()


class _Hang(socketserver.BaseRequestHandler):
    def handle(self):
        server: HangingServer = self.server
        server.accepted += 1
        server.held.append(self.request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            received += chunk
        answer = {
            "silent": b"",
            "trickle": b"HTTP/1.1 200 OK\r\nServer: frozen\r\n" * 1000,
            "stall": b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100\r\n\r\n" + b"x" * 100,
        }[server.mode]
        if server.mode == "stall":
            self.request.sendall(answer[:-100])
            answer = answer[-100:]
        for byte in answer:
            if server.stopping.wait(0.2):
                return
            try:
                self.request.sendall(bytes([byte]))
            except OSError:  # the client gave up and cut the connection
                return
        server.stopping.wait()


def store_at(endpoint: str, bucket: str = "pcf-labels-test", deadline: float = DEADLINE, **options) -> S3ObjectStore:
    options = {"secure": False, "region": "us-east-1", "deadline_seconds": deadline, **options}
    return S3ObjectStore(endpoint, "testing", "testing", bucket, **options)


def timed(call) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - the test looks at what was raised
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize("mode", ["silent", "trickle"])
def test_an_upload_to_a_store_that_hangs_gives_up_within_the_deadline(mode):
    """Before: urllib3's 10 s read timeout, tried twice, held the upload ~20 s, and a trickle held it for ever."""
    with HangingServer(mode) as server:
        error, seconds = timed(lambda: store_at(server.endpoint).put(b"<svg>label</svg>", "svg"))
    assert isinstance(error, StorageError) and "no answer within 1 s" in str(error)
    assert DEADLINE <= seconds < DEADLINE + SLACK


def test_a_tls_store_that_never_answers_the_hello_gives_up_within_the_deadline():
    """The handshake stalls: the connect timeout is cut to the deadline, and the retry is refused once it passed."""
    with HangingServer("silent") as server:
        store = store_at(server.endpoint, secure=True)
        error, seconds = timed(lambda: store.put(b"<svg>label</svg>", "svg"))
    assert isinstance(error, StorageError) and "no answer within 1 s" in str(error)
    assert DEADLINE <= seconds < DEADLINE + SLACK


def test_a_download_whose_body_stalls_gives_up_within_the_deadline():
    """The headers arrive at once and promise 100 bytes; they come one every 0.2 s (20 s in all). The call is given
    its deadline plus 100 B / 1 MiB/s (0.0001 s), and no more."""
    with HangingServer("stall") as server:
        error, seconds = timed(lambda: store_at(server.endpoint).get("labels/" + "0" * 64 + ".png"))
    assert isinstance(error, StorageError) and "no answer within 1 s" in str(error)
    assert DEADLINE <= seconds < DEADLINE + SLACK


def test_after_a_call_ran_out_of_time_the_next_calls_fail_at_once_until_the_deadline_has_passed():
    """One thread waits out a frozen store, not one per request: the calls right after fail without connecting;
    once deadline_seconds have passed, the store is tried again."""
    with HangingServer("silent") as server:
        store = store_at(server.endpoint)
        error, _ = timed(lambda: store.put(b"first", "txt"))
        first = server.accepted  # the write's connections: 1, or 2 on a loaded machine (see the closing note)
        assert isinstance(error, StorageError) and first in (1, 2)
        error, seconds = timed(lambda: store.get("labels/" + "0" * 64 + ".txt"))
        assert isinstance(error, StorageError) and "did not answer within 1 s just before" in str(error)
        assert seconds < 0.1 and server.accepted == first  # held back: no connection at all
        time.sleep(DEADLINE)
        error, _ = timed(lambda: store.delete("labels/" + "0" * 64 + ".txt"))
        assert isinstance(error, StorageError) and "no answer within 1 s" in str(error)
        assert server.accepted == first + 1  # tried again: one connection


def test_a_readiness_probe_is_tried_while_calls_are_held_back_and_has_its_own_deadline():
    with HangingServer("silent") as server:
        store = store_at(server.endpoint)
        timed(lambda: store.put(b"first", "txt"))
        before = server.accepted  # the write's own connection(s): one, or two where the machine is slow to shut it
        error, seconds = timed(lambda: store.ping(0.5))
    assert isinstance(error, StorageError) and "no answer within 0.5 s" in str(error)
    assert 0.5 <= seconds < 0.5 + SLACK and server.accepted == before + 1  # the probe itself reached the store


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch):
    """A store on moto's S3 with its bucket, and a client that can delete the bucket behind the store's back."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = store_at(s3_endpoint, f"pcf-labels-test-{uuid.uuid4().hex[:8]}", deadline=5)
    store.ensure_bucket()
    return store


def empty_the_store(store: S3ObjectStore) -> None:
    """What a store that comes back empty looks like: the bucket and everything in it are gone."""
    for stored in store.client.list_objects(store.bucket, recursive=True):
        store.client.remove_object(store.bucket, stored.object_name)
    store.client.remove_bucket(store.bucket)
    assert not store.client.bucket_exists(store.bucket)


def test_the_next_write_creates_a_missing_bucket_again(s3_bucket):
    """Before: every upload failed with NoSuchBucket until someone created the bucket by hand."""
    s3_bucket.put(b"<svg>before</svg>", "svg")
    empty_the_store(s3_bucket)
    stored = s3_bucket.put(b"<svg>after</svg>", "svg")
    assert s3_bucket.client.bucket_exists(s3_bucket.bucket)
    assert s3_bucket.get(stored.key) == b"<svg>after</svg>"
    assert stored.sha256 == hashlib.sha256(b"<svg>after</svg>").hexdigest()


def test_a_readiness_probe_creates_a_missing_bucket_again(s3_bucket):
    empty_the_store(s3_bucket)
    s3_bucket.ping(2)
    assert s3_bucket.client.bucket_exists(s3_bucket.bucket)


def test_removing_from_a_missing_bucket_removes_nothing_and_fails_nothing(s3_bucket):
    empty_the_store(s3_bucket)
    s3_bucket.delete("labels/" + "0" * 64 + ".svg")
    assert not s3_bucket.client.bucket_exists(s3_bucket.bucket)


class RefusingS3(BaseHTTPRequestHandler):
    """An S3 whose bucket is gone and whose key may not create buckets: every object call answers NoSuchBucket,
    creating the bucket answers AccessDenied, as S3 and MinIO word them."""

    def _error(self, status: int, code: str) -> None:
        body = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>{code}</Message></Error>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        bucket_only = self.path.split("?")[0].strip("/").count("/") == 0
        self._error(403, "AccessDenied") if bucket_only else self._error(404, "NoSuchBucket")

    def do_HEAD(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


@pytest.fixture
def refusing_s3():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingS3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_without_the_right_to_create_the_bucket_the_error_names_it(refusing_s3):
    store = store_at(refusing_s3, "pcf-labels-prod")
    with pytest.raises(
        StorageError, match=r"bucket pcf-labels-prod is missing and could not be created \(AccessDenied\)"
    ):
        store.put(b"<svg/>", "svg")
    with pytest.raises(StorageError, match="bucket pcf-labels-prod is missing"):
        store.ping(1)


def test_the_service_names_the_bucket_it_may_not_create(world, refusing_s3, monkeypatch):
    bucket = use_s3(monkeypatch, refusing_s3)
    try:
        ready = world.client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"]
        assert ready.json()["checks"]["storage"] == (
            f"unavailable (bucket {bucket} is missing and could not be created (AccessDenied): create it, or allow "
            "the service's access key to (s3:CreateBucket))"
        )
    finally:
        reset_storage(monkeypatch)


def approved_application(world) -> str:
    footprint = calculated_footprint(world, gtin=None)
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()
    for user, action in (("acme-engineer", "submit"), ("cb-verifier", "start_review"), ("cb-verifier", "approve")):
        assert act(world, user, application["id"], action).status_code == 200
    return application["id"]


def test_issuing_with_a_frozen_store_answers_503_within_the_deadline_and_issues_nothing(world, monkeypatch):
    """Before: 503 after ~20 s. Now the first file's upload gives up at the deadline (2 s): 503 + Retry-After, no
    label row, the application still approved."""
    application = approved_application(world)
    with HangingServer("silent") as server:
        use_s3(monkeypatch, server.endpoint)
        monkeypatch.setenv("PCF_S3_DEADLINE_SECONDS", "2")
        try:
            labels_before = count_labels()
            started = time.monotonic()
            response = act(world, "cb-verifier", application, "issue_label")
            seconds = time.monotonic() - started
        finally:
            reset_storage(monkeypatch)
    assert response.status_code == 503 and response.headers["retry-after"], response.text
    assert "nothing was issued" in response.json()["detail"] and "no answer within 2 s" in response.json()["detail"]
    assert 2 <= seconds < 2 + SLACK
    assert count_labels() == labels_before
    assert world.call("cb-verifier", "GET", f"/api/v1/applications/{application}").json()["state"] == "approved"


def test_a_label_file_from_a_stalling_store_answers_503_within_the_deadline(world, monkeypatch):
    number = issued_label(world, gtin=None)["number"]
    with HangingServer("stall") as server:
        use_s3(monkeypatch, server.endpoint)
        monkeypatch.setenv("PCF_S3_DEADLINE_SECONDS", "2")
        try:
            started = time.monotonic()
            response = world.client.get(f"/labels/{number}.png")
            seconds = time.monotonic() - started
        finally:
            reset_storage(monkeypatch)
    assert response.status_code == 503 and response.headers["retry-after"]
    assert 2 <= seconds < 2 + SLACK


def test_readyz_with_a_frozen_store_answers_503_in_less_than_3_seconds(world, monkeypatch):
    """Before: 20 s (the compose health check gives up at 3 s and calls the service dead, not unready)."""
    with HangingServer("silent") as server:
        bucket = use_s3(monkeypatch, server.endpoint)
        try:
            started = time.monotonic()
            ready = world.client.get("/readyz")
            seconds = time.monotonic() - started
        finally:
            reset_storage(monkeypatch)
    assert ready.status_code == 503 and ready.headers["retry-after"]
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "storage": f"unavailable (bucket {bucket}: no answer within 2 s)"},
    }
    assert seconds < 3


def test_readyz_with_a_hung_database_answers_503_in_less_than_3_seconds_without_stacking_checks(world, monkeypatch):
    """The database server accepts and never answers (PostgreSQL's driver waits for ever): each probe answers 503
    within 3 s naming the database, and a second probe waits on the same check instead of opening a second
    connection."""
    import footprint_api.app as application

    server = HangingServer("silent").__enter__()
    hung = create_engine(f"postgresql+psycopg://pcf@{server.endpoint}/pcf")
    monkeypatch.setattr(application, "get_engine", lambda: hung)
    try:
        for _probe in range(2):
            started = time.monotonic()
            ready = world.client.get("/readyz")
            assert time.monotonic() - started < 3
            assert ready.status_code == 503 and ready.headers["retry-after"]
            assert ready.json()["checks"] == {"database": "unavailable (no answer within 2 s)", "storage": "ok"}
        assert server.accepted == 1
    finally:
        monkeypatch.undo()
        server.__exit__()
        hung.dispose()
    wait_until_checked(world)


def wait_until_checked(world) -> None:
    """The hung check ends when its server goes; the next probe starts a fresh one and finds the database again."""
    deadline = time.monotonic() + 10
    while world.client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "readiness did not recover after the database came back"
        time.sleep(0.2)


def test_readyz_answers_ready_when_everything_answers(world):
    assert world.client.get("/readyz").json() == {"status": "ready", "checks": {"database": "ok", "storage": "ok"}}


def test_a_free_port_refuses_at_once():
    """A store that is down (nothing listens) is not a frozen one: it fails fast, without waiting out the deadline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error, seconds = timed(lambda: store_at(f"127.0.0.1:{port}", deadline=5).put(b"x", "txt"))
    assert isinstance(error, StorageError) and str(error).endswith(".txt: NewConnectionError") and seconds < 2
