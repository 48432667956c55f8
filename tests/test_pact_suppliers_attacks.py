"""The buyer's side of PACT attacked: by a malicious supplier (its PACT API answers what it likes, its events name
what it likes), by a malicious or careless employee of the buyer (files, URLs, forms), and by an outsider (another
organisation, a certification body). Each test is a finding or the proof that the attack fails; a test that guards a
fix says in its docstring what went wrong before.

The supplier's API here is a raw TLS server (`Hostile`): it writes whatever bytes the test tells it to, as slowly as
the test tells it to, so that redirects, endless or dripping answers and compression bombs are real on the wire.
"""

import base64
import gzip
import json
import logging
import re
import socket
import ssl
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.test_pact import SPEC, certificate  # noqa: F401 - the TLS certificate of the suppliers' APIs (a fixture)
from tests.test_pact_suppliers import buyer_policy  # noqa: F401 - the buyer allows 127.0.0.1 and trusts the test CA
from tests.tls import self_signed
from tests.web_client import Browser

EVENT = "application/cloudevents+json"
SHOTS = Path("/tmp/shots/suppliers-attack")


# --- a supplier's API that writes what the test says ---------------------------------------------------------------


class Hostile:
    """A PACT API over TLS that speaks raw HTTP/1.1: `answer(method, path, headers)` returns the bytes to send, or a
    function that writes them itself (slowly, endlessly) on the connection. Every request is recorded."""

    def __init__(self, certificate: tuple[Path, Path], answer: Callable):
        self.answer, self.requests, self.stopped = answer, [], threading.Event()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(certificate[0]), str(certificate[1]))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            raw.settimeout(30)
            connection = self.context.wrap_socket(raw, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            while len(body) < int(headers.get("content-length", "0")):
                body += connection.recv(65536)
            self.requests.append((method, path, headers))
            answer = self.answer(method, path, headers)
            if callable(answer):
                answer(connection, self.stopped)
            else:
                connection.sendall(answer)
        except (OSError, ValueError):
            pass
        finally:
            raw.close()

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.requests]

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


def http(status: int, body: bytes = b"", **headers: str) -> bytes:
    head = f"HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    return head.encode() + b"\r\n" + body


def as_json(value, status: int = 200, **headers: str) -> bytes:
    return http(status, json.dumps(value).encode(), Content_Type="application/json", **headers)


TOKEN = as_json({"access_token": "hostile-token", "token_type": "bearer"})


def footprint(pf_id: str | None = None, **changes) -> dict:
    """The spec's example 1 with another id (and the changes given, at the top level)."""
    document = json.loads((SPEC / "examples" / "example-1.json").read_text())
    return document | {"id": pf_id or str(uuid.uuid4())} | changes


@pytest.fixture
def hostile(certificate):
    servers = []

    def start(answer: Callable) -> Hostile:
        servers.append(Hostile(certificate, answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def connect(world, url: str, name: str | None = None, secret: str = "s3cret-issued-by-supplier") -> dict:
    response = world.call(
        "acme-admin",
        "POST",
        "/api/v1/supplier-connections",
        json={
            "name": name or f"supplier {uuid.uuid4().hex[:8]}",
            "base_url": url,
            "client_id": "buyer",
            "client_secret": secret,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def pull(world, connection: dict, user: str = "acme-engineer", **body):
    return world.call(user, "POST", f"/api/v1/supplier-connections/{connection['id']}/pulls", json=body)


def held(world, pf_id: str) -> list[dict]:
    return [
        row for row in world.call("acme-engineer", "GET", "/api/v1/supplier-footprints").json() if row["pf_id"] == pf_id
    ]


@pytest.fixture
def deadline(monkeypatch):
    """A pull's whole conversation bounded to 2 s (PULL_SECONDS) while each call keeps its own 10 s."""
    from footprint_api.services.pact import suppliers

    monkeypatch.setattr(suppliers, "PULL_SECONDS", 2.0)
    return 2.0


# --- 1. the outbound policy and what a supplier's API answers --------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "https://2852039166",  # 169.254.169.254 as one decimal number
        "https://0251.0376.0251.0376",  # ... in octal
        "https://0xa9fea9fe",  # ... in hexadecimal
        "https://169.254.43518",  # ... as inet_aton's a.b.c
        "https://[::ffff:169.254.169.254]",  # IPv4-mapped IPv6
        "https://[::ffff:a9fe:a9fe]",
        "https://167772161",  # 10.0.0.1
        "https://[fd00::1]",
        "https://[fe80::1]",
        "https://localhost.",
        "https://0",
    ],
)
def test_internal_addresses_in_any_spelling_are_refused_at_registration(world, buyer_policy, base_url):
    response = world.call(
        "acme-admin",
        "POST",
        "/api/v1/supplier-connections",
        json={"name": f"spelt {base_url}", "base_url": base_url, "client_id": "x", "client_secret": "y"},
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["base_url"]


@pytest.mark.parametrize(
    "base_url",
    [
        "https://93.184.216.34@169.254.169.254",  # userinfo that looks like the host
        "https://169.254.169.254\\@93.184.216.34",  # a backslash parsers disagree on
        "https://93.184.216.34#@169.254.169.254",
        "https://93.184.216.34?x=@169.254.169.254",
        "ftp://93.184.216.34",
        "https:///169.254.169.254",
        "https://93.184.216.34:99999",
        "https://[::1",
    ],
)
def test_urls_parsers_disagree_on_are_refused(world, buyer_policy, base_url):
    response = world.call(
        "acme-admin",
        "POST",
        "/api/v1/supplier-connections",
        json={"name": f"odd {base_url}", "base_url": base_url, "client_id": "x", "client_secret": "y"},
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["base_url"]


def test_a_name_that_rebinds_to_an_internal_address_is_never_connected_to(world, buyer_policy, monkeypatch):
    """DNS rebinding: the name resolves to a public address at registration, to the cloud's metadata address at
    the pull (the URL check refuses) and, when the URL check still saw the public one, at the moment of connecting
    (the connection's own check refuses). No TCP connection is ever opened to the internal address."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection
    answers = iter([])

    def resolve(host, port, *args, **kwargs):
        if host == "pact.rebind.example":
            address = next(answers, "169.254.169.254")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    opened = []

    def create_connection(address, *args, **kwargs):
        opened.append(address)
        if address[0] == "169.254.169.254":
            raise AssertionError("connected to the metadata address")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    answers = iter(["93.184.216.34"])
    found = connect(world, "https://pact.rebind.example")
    refused = pull(world, found, pf_id=str(uuid.uuid4()))
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "suppliers.url.private"
    answers = iter(["93.184.216.34"])  # the URL check sees the public address, the connection the internal one
    unreachable = pull(world, found, pf_id=str(uuid.uuid4()))
    assert unreachable.status_code == 502, unreachable.text
    assert unreachable.json()["detail"] == "the supplier's PACT API could not be reached (token)"
    assert "169.254" not in unreachable.text and opened == []


def test_a_token_endpoint_that_redirects_is_not_followed(world, buyer_policy, hostile):
    server = hostile(lambda *_: http(302, Location="https://169.254.169.254/latest/meta-data/"))
    response = pull(world, connect(world, server.url), pf_id=str(uuid.uuid4()))
    assert response.status_code == 502
    assert response.json()["detail"] == "the supplier's PACT API answered HTTP 302 (token)"
    assert "169.254" not in response.text and server.paths() == ["/auth/token"]


def test_a_footprint_answer_that_redirects_is_not_followed(world, buyer_policy, hostile):
    def answer(method, path, headers):
        return TOKEN if path == "/auth/token" else http(307, Location="https://10.0.0.1/3/footprints/x")

    server = hostile(answer)
    response = pull(world, connect(world, server.url), pf_id=str(uuid.uuid4()))
    assert response.status_code == 502 and "HTTP 307" in response.json()["detail"]
    assert len(server.requests) == 2 and "10.0.0.1" not in response.text


def _drip_headers(connection, stopped):
    """Slowloris: a status line, then one byte of header every 0.2 s, never the blank line that ends them."""
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    started = time.monotonic()
    while not stopped.is_set() and time.monotonic() - started < 60:
        connection.sendall(b"X")
        time.sleep(0.2)


def test_headers_dripped_byte_by_byte_end_at_the_deadline(world, buyer_policy, hostile, deadline):
    """Each byte came well within the 10 s a read may wait, so only a deadline over the whole call ends it. Before,
    the deadline was looked at between chunks of the body only: a supplier that never finished its headers held the
    request (and a worker thread) for as long as it liked."""
    server = hostile(lambda *_: _drip_headers)
    started = time.monotonic()
    response = pull(world, connect(world, server.url), pf_id=str(uuid.uuid4()))
    took = time.monotonic() - started
    assert response.status_code == 502 and response.json()["detail"].endswith("could not be reached (token)")
    assert took < deadline + 3, took


def _drip_body(connection, stopped):
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    started = time.monotonic()
    while not stopped.is_set() and time.monotonic() - started < 60:
        connection.sendall(b"1\r\n \r\n")
        time.sleep(0.2)


def _endless_body(connection, stopped):
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    started = time.monotonic()
    while not stopped.is_set() and time.monotonic() - started < 60:
        connection.sendall(chunk)


@pytest.mark.parametrize(("writer", "code"), [(_drip_body, "unreachable"), (_endless_body, "too_large")])
def test_a_chunked_answer_without_end_is_cut_by_the_deadline_or_the_size(
    world, buyer_policy, hostile, deadline, writer, code
):
    server = hostile(lambda method, path, headers: TOKEN if path == "/auth/token" else writer)
    started = time.monotonic()
    response = pull(world, connect(world, server.url), pf_id=str(uuid.uuid4()))
    assert response.status_code == 502 and response.json()["errors"][0]["code"] == f"suppliers.failed.{code}"
    assert time.monotonic() - started < deadline + 3


def _bomb(layers: int) -> bytes:
    """100 MiB of spaces inside a JSON string, gzipped `layers` times (a few hundred KiB, or a few KiB for two)."""
    body = gzip.compress(b'{"data": "' + b" " * (100 * 1024 * 1024) + b'"}', compresslevel=9)
    for _ in range(layers - 1):
        body = gzip.compress(body, compresslevel=9)
    return body


@pytest.mark.parametrize("layers", [1, 2])
def test_a_compression_bomb_is_refused_within_a_bounded_memory(world, buyer_policy, hostile, layers):
    """A gzip answer is decompressed in bounded steps: before, httpx inflated each 64 KiB chunk whole (~64 MiB at
    once for one layer) and, for `Content-Encoding: gzip, gzip`, the inner layer whole again (the 100 MiB at once,
    and a thousand times more for a bomb built for it) before the size bound was ever looked at."""
    bomb = _bomb(layers)
    encoding = ", ".join(["gzip"] * layers)

    def answer(method, path, headers):
        if path == "/auth/token":
            return TOKEN
        return http(200, bomb, Content_Type="application/json", Content_Encoding=encoding)

    server = hostile(answer)
    found = connect(world, server.url)
    tracemalloc.start()
    try:
        response = pull(world, found, pf_id=str(uuid.uuid4()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 502, response.text
    assert response.json()["errors"][0]["code"] in ("suppliers.failed.too_large", "suppliers.failed.encoding")
    assert peak < 24 * 1024 * 1024, peak


def test_a_gzip_answer_of_a_footprint_is_read(world, buyer_policy, hostile):
    """Compression itself is fine: one gzip layer of a real footprint is read as the footprint."""
    pf_id = str(uuid.uuid4())

    def answer(method, path, headers):
        if path == "/auth/token":
            return TOKEN
        body = gzip.compress(json.dumps({"data": footprint(pf_id)}).encode())
        return http(200, body, Content_Type="application/json", Content_Encoding="gzip")

    response = pull(world, connect(world, hostile(answer).url), pf_id=pf_id)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "token",
    [
        {"access_token": "jeton-é"},  # not ASCII: no HTTP header can carry it
        {"access_token": "a\r\nX-Injected: 1"},
        {"access_token": "x" * 100_000},
        {"access_token": ""},
        {"access_token": 42},
        ["access_token"],
    ],
)
def test_a_token_answer_that_is_no_usable_token_is_the_suppliers_failure(world, buyer_policy, hostile, token):
    """Before, a token that was not ASCII failed when httpx encoded the Authorization header (UnicodeEncodeError,
    outside the errors a call may end in): a 500."""
    server = hostile(lambda method, path, headers: as_json(token) if path == "/auth/token" else as_json({}))
    response = pull(world, connect(world, server.url), pf_id=str(uuid.uuid4()))
    assert response.status_code == 502, response.text
    assert response.json()["errors"][0]["code"] == "suppliers.failed.shape"
    assert server.paths() == ["/auth/token"]


def test_an_untrusted_certificate_is_said_as_unreachable_without_tls_details(world, buyer_policy, tmp_path):
    """A supplier whose certificate this service does not trust: the user reads that the API could not be reached
    (the TLS details go to the server log)."""
    other = self_signed(tmp_path, stem="other", ca=False)  # not the test CA the buyer trusts
    server = Hostile(other, lambda *_: TOKEN)
    try:
        response = pull(world, connect(world, server.url), pf_id=str(uuid.uuid4()))
    finally:
        server.close()
    assert response.status_code == 502
    assert response.json()["detail"] == "the supplier's PACT API could not be reached (token)"
    assert not re.search(r"certificate|ssl|tls|verify", response.text, re.I)


def test_pages_of_a_list_stay_on_the_suppliers_host_and_are_bounded(world, buyer_policy, hostile):
    """ListFootprints that always has a next page (the same one again), and a next page on another host: the
    buyer reads at most MAX_PAGES pages, and never follows the other host."""
    from footprint_api.services.pact import recipient

    calls = []

    def answer(method, path, headers):
        if path == "/auth/token":
            return TOKEN
        calls.append(path)
        if "elsewhere" in path:
            link = '<https://10.0.0.1/3/footprints?productId=x>; rel="next"'
        else:
            link = f'<https://{headers["host"]}{path}>; rel="next"'
        return as_json({"data": []}, Link=link)

    server = hostile(answer)
    found = connect(world, server.url)
    response = pull(world, found, product_id="urn:gtin:06901234567892")
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "suppliers.pull.no_product"
    assert len(calls) == recipient.MAX_PAGES
    calls.clear()
    response = pull(world, found, product_id="urn:pact:elsewhere")
    assert response.status_code == 422 and len(calls) == 1


# --- suppliers that answer as PACT APIs do (an honest one, a rogue one) ---------------------------------------------


class Supplier:
    """A PACT API over `Hostile`: its footprints by id (GetFootprint) and by product (ListFootprints), any token."""

    def __init__(self, hostile, *documents: dict, delay: float = 0):
        self.documents = {document["id"]: document for document in documents}
        self.delay = delay
        self.server = hostile(self._answer)
        self.url = self.server.url

    def _answer(self, method, path, headers):
        if path == "/auth/token":
            return TOKEN
        time.sleep(self.delay)
        if path.startswith("/3/footprints/"):
            found = self.documents.get(path.rsplit("/", 1)[1])
            return as_json({"data": found}) if found else as_json({"code": "NotFound", "message": "none"}, 404)
        return as_json({"data": list(self.documents.values())})

    def footprint_requests(self) -> int:
        return sum(path.startswith("/3/footprints") for path in self.server.paths())


def company(name: str, pf_id: str | None = None, preceding: list[str] | None = None, **pcf) -> dict:
    """A footprint of the company `name` (its companyIds name it), with the precedingPfIds and pcf values given."""
    document = footprint(pf_id, companyName=name, companyIds=[f"urn:company:test:{name}"])
    document["pcf"] = document["pcf"] | pcf
    if preceding:
        document["precedingPfIds"] = preceding
    return document


@pytest.fixture
def two_suppliers(world, buyer_policy, hostile):
    """The buyer holds Y from an honest supplier and Z from a rogue one (so that the rogue's connection is one an
    event about a footprint the buyer does not hold is asked over)."""
    y, z = company("honest"), company("rogue")
    honest, rogue = Supplier(hostile, y), Supplier(hostile, z)
    links = {"honest": connect(world, honest.url), "rogue": connect(world, rogue.url)}
    for name, document in (("honest", y), ("rogue", z)):
        assert pull(world, links[name], pf_id=document["id"]).status_code == 201
    return {"honest": honest, "rogue": rogue, "links": links, "y": y, "z": z}


def _supplier_client(world, user: str = "acme-admin", organisation: str = "acme") -> dict:
    response = world.call(
        user,
        "POST",
        f"/api/v1/organisations/{world.organisations[organisation]}/clients",
        json={"name": f"supplier system {uuid.uuid4().hex[:6]}", "role": "pact_supplier"},
    )
    assert response.status_code == 201, response.text
    raw = f"{response.json()['client_id']}:{response.json()['client_secret']}".encode()
    token = world.client.post(
        "https://testserver/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}", "Content-Type": EVENT}


def published_event(pf_ids: list[str], event_id: str | None = None) -> dict:
    return {
        "type": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "//supplier.example/3/events",
        "time": "2026-12-01T08:00:00Z",
        "data": {"pfIds": pf_ids},
    }


def send(world, headers: dict, event: dict | bytes):
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return world.client.post("https://testserver/3/events", content=body, headers=headers)


def test_another_supplier_cannot_deprecate_a_footprint_by_naming_it_as_preceding(world, two_suppliers):
    """The rogue supplier publishes X with precedingPfIds = [Y], Y being the honest supplier's footprint, and tells
    the buyer by event (X is not held: the buyer asks its connections, the rogue's among them). Before, the buyer
    kept X and deprecated Y with X as its successor: the affected inventories were offered the rogue's value."""
    y, rogue = two_suppliers["y"], two_suppliers["rogue"]
    x = company("rogue", preceding=[y["id"]], pcfExcludingBiogenicUptake="0.001")
    rogue.documents[x["id"]] = x
    assert send(world, _supplier_client(world), published_event([x["id"]])).status_code == 200
    [kept] = held(world, y["id"])
    assert (kept["status"], kept["successor_id"]) == ("Active", None)
    assert held(world, x["id"]) == []  # it succeeds nothing the rogue gave: not taken
    pulled = pull(world, two_suppliers["links"]["rogue"], pf_id=x["id"])  # asked for by the buyer itself
    assert pulled.status_code == 201 and pulled.json()[0]["status"] == "Active"
    assert held(world, y["id"])[0]["status"] == "Active"


def test_another_supplier_cannot_slip_in_a_newer_version_of_a_footprint(world, two_suppliers):
    """The rogue answers a footprint with the honest supplier's id and its own values. Before, the buyer kept it as
    the newer version of Y (the same id, other values), deprecated Y and resolved Y's id to the rogue's value."""
    y, rogue = two_suppliers["y"], two_suppliers["rogue"]
    rogue.documents[y["id"]] = company("rogue", y["id"], pcfExcludingBiogenicUptake="0.001")
    response = pull(world, two_suppliers["links"]["rogue"], pf_id=y["id"])
    assert response.status_code == 409, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("id", "suppliers.document.other_source")
    [kept] = held(world, y["id"])
    assert (kept["status"], kept["pcf_excluding_biogenic"], kept["connection_id"]) == (
        "Active",
        0.384,
        two_suppliers["links"]["honest"]["id"],
    )
    rogue.documents[y["id"]] = y | {"status": "Deprecated"}  # the honest document, marked Deprecated by the rogue
    assert pull(world, two_suppliers["links"]["rogue"], pf_id=y["id"]).status_code == 201
    assert held(world, y["id"])[0]["status"] == "Active"  # the same footprint: nothing of its life taken from there


def test_an_uploaded_file_does_not_deprecate_or_replace_a_pulled_footprint(world, two_suppliers):
    y = two_suppliers["y"]
    naming = company("someone", preceding=[y["id"]])
    assert upload(world, naming).status_code == 201
    assert held(world, y["id"])[0]["status"] == "Active"
    replacing = company("honest", y["id"], pcfExcludingBiogenicUptake="0.002")
    refused = upload(world, replacing)
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "id"
    engineer = Browser(world.client.app, "acme-engineer", lang="zh-CN")
    page = engineer.post_form(
        "/app/suppliers/upload", "/app/suppliers/upload", files={"file": ("y.json", json.dumps(replacing).encode())}
    )
    name = two_suppliers["links"]["honest"]["name"]
    assert page.status_code == 409 and f"您已从另一来源（{name}）收到编号为 {y['id']} 的碳足迹" in page.text
    assert [row["pcf_excluding_biogenic"] for row in held(world, y["id"])] == [0.384]


def test_uploaded_files_succeed_only_those_of_the_same_company(world):
    """A newer file of the same company (a shared companyIds entry) deprecates the older; a file of another
    company naming it among precedingPfIds does not."""
    older = company("kiln")
    assert upload(world, older).status_code == 201
    assert upload(world, company("mill", preceding=[older["id"]])).status_code == 201
    assert held(world, older["id"])[0]["status"] == "Active"
    newer = company("kiln", preceding=[older["id"]])
    assert upload(world, newer).status_code == 201
    [old] = held(world, older["id"])
    assert old["status"] == "Deprecated" and old["successor_id"] == held(world, newer["id"])[0]["id"]


def test_a_newer_version_under_the_same_id_is_received(world, two_suppliers):
    """PACT v2's way (and a supplier that corrects a footprint in place): the same id with other values is a newer
    version; the older is Deprecated with it as successor. Before, this could never be received: the older row's
    successor_id was written before the newer row existed (a flush writes a table's updates before its inserts),
    the foreign key failed, and the buyer got a 500 on upload and "received at the same time by another request"
    on every pull, event and poll, for ever."""
    y, honest = two_suppliers["y"], two_suppliers["honest"]
    honest.documents[y["id"]] = company("honest", y["id"], pcfExcludingBiogenicUptake="0.5")
    response = pull(world, two_suppliers["links"]["honest"], pf_id=y["id"])
    assert response.status_code == 201, response.text
    old, new = sorted(held(world, y["id"]), key=lambda row: row["pf_version"])
    assert (old["status"], old["successor_id"], new["status"], new["pcf_excluding_biogenic"]) == (
        "Deprecated",
        new["id"],
        "Active",
        0.5,
    )
    first = company("corrected")
    assert upload(world, first).status_code == 201
    corrected = upload(world, company("corrected", first["id"], pcfExcludingBiogenicUptake="0.7"))
    assert corrected.status_code == 201, corrected.text
    assert [row["status"] for row in sorted(held(world, first["id"]), key=lambda r: r["pf_version"])] == [
        "Deprecated",
        "Active",
    ]


def test_another_organisations_supplier_client_reaches_nothing_of_mine(world, two_suppliers):
    """Rival's administrator issues a pact_supplier client; its events name acme's footprints: rival holds none of
    them, so nothing is fetched over acme's connections and nothing of acme's changes."""
    honest, y = two_suppliers["honest"], two_suppliers["y"]
    before = honest.footprint_requests()
    rival = _supplier_client(world, "rival-admin", "rival")
    assert send(world, rival, published_event([y["id"], two_suppliers["z"]["id"]])).status_code == 200
    assert honest.footprint_requests() == before and two_suppliers["rogue"].footprint_requests() == 1
    assert held(world, y["id"])[0]["status"] == "Active"


def test_a_replayed_event_is_acted_on_once(world, two_suppliers):
    """Before, each copy of the same event (same source and id) made the buyer fetch every footprint it named
    again, and wrote an audit entry: a replay multiplied the calls to the suppliers."""
    honest, y = two_suppliers["honest"], two_suppliers["y"]
    headers, event = _supplier_client(world), published_event([y["id"]])
    assert send(world, headers, event).status_code == 200
    after_first = honest.footprint_requests()
    assert after_first == 2  # the pull, then the event's fetch
    for _ in range(5):
        assert send(world, headers, event).status_code == 200
    assert honest.footprint_requests() == after_first
    trail = world.call("acme-admin", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    assert [entry["object_id"] for entry in trail].count(event["id"]) == 1


def test_an_event_naming_ten_thousand_ids_costs_a_bounded_number_of_calls(world, two_suppliers):
    """10,000 ids the buyer does not hold: at most EVENT_MAX_UNHELD of them are asked for, one token per connection
    asked (before: every id over every candidate connection, a token each time)."""
    from footprint_api.services.pact import suppliers

    ids = [str(uuid.uuid4()) for _ in range(10_000)]
    started = time.monotonic()
    response = send(world, _supplier_client(world), published_event(ids))
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 20
    for supplier in (two_suppliers["honest"], two_suppliers["rogue"]):
        asked = supplier.server.paths()[2:]  # after the pull's token and footprint
        assert asked.count("/auth/token") <= 1 and len(asked) <= 1 + suppliers.EVENT_MAX_UNHELD


def test_an_oversize_or_malformed_event_is_refused_before_anything_is_fetched(world, two_suppliers):
    headers = _supplier_client(world)
    big = json.dumps(published_event([two_suppliers["y"]["id"]]) | {"padding": "x" * (1024 * 1024)}).encode()
    assert send(world, headers, big).status_code in (400, 413)
    huge = b"x" * (3 * 1024 * 1024)
    assert send(world, headers, huge).status_code == 413
    for pf_ids in (["１１１１１１１１-1111-4111-8111-111111111111"], ["../../admin"], "x"):
        refused = send(world, headers, published_event(pf_ids))
        assert refused.status_code == 400, (pf_ids, refused.text)
    assert two_suppliers["honest"].footprint_requests() == 1


def test_events_of_one_buyer_are_acted_on_one_at_a_time(world, buyer_policy, hostile):
    """While an event is being acted on (its supplier answers slowly), another of the same buyer is answered 503
    with Retry-After: before, each held a worker for up to EVENT_SECONDS, so a supplier's system that sent forty at
    once held every worker of the service."""
    slow = Supplier(hostile, company("slow"), delay=0)
    found = connect(world, slow.url)
    [document] = slow.documents.values()
    assert pull(world, found, pf_id=document["id"]).status_code == 201
    slow.delay = 3
    headers = _supplier_client(world)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(send, world, headers, published_event([document["id"]]))
        deadline = time.monotonic() + 10
        while slow.footprint_requests() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        second = send(world, headers, published_event([document["id"]]))
        assert second.status_code == 503 and second.headers["retry-after"] == "5"
        assert second.json()["code"] == "InternalError"
        assert first.result().status_code == 200
    slow.delay = 0
    assert send(world, headers, published_event([document["id"]])).status_code == 200


def test_a_slow_supplier_holds_nothing_of_the_database_while_it_answers(world, buyer_policy, hostile):
    """While a pull waits for a supplier that takes 3 s to answer, another person's change goes through at once.
    Before, the pull's transaction was open while the supplier answered: on SQLite (the embedded deployment) a
    writing request's transaction holds the one writer's lock from its start, so a slow or hostile supplier froze
    every change of the whole service for as long as the pull lasted."""
    slow = Supplier(hostile, company("迟缓供应商"))
    found = connect(world, slow.url)
    [document] = slow.documents.values()
    slow.delay = 3
    with ThreadPoolExecutor(1) as pool:
        pulling = pool.submit(pull, world, found, pf_id=document["id"])
        deadline = time.monotonic() + 10
        while slow.footprint_requests() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        other = world.call(
            "rival-engineer",
            "POST",
            "/api/v1/supplier-footprints",
            files={"file": ("f.json", json.dumps(footprint()).encode())},
        )
        assert other.status_code == 201 and time.monotonic() - started < 1.5
        assert pulling.result().status_code == 201


# --- 2. secrets -------------------------------------------------------------------------------------------------------


SECRET = "Sup3r-S3cret-issued-by-the-kiln-" + uuid.uuid4().hex


def test_the_secret_is_never_shown_logged_or_audited_and_is_sealed_at_rest(world, buyer_policy, hostile, caplog):
    """Registered through the page and the API, refused by the supplier (wrong credentials), changed through the
    page: the secret is in no answer, page, audit entry or log line (httpx's and httpcore's debug lines included),
    and the database holds it only sealed (Fernet), opened with the service's key for this purpose alone."""
    from footprint_api.core.settings import get_settings
    from footprint_api.infra.security import SecretUnreadable, open_secret
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import SupplierConnection
    from footprint_api.services.pact import suppliers

    caplog.set_level(logging.DEBUG)
    refusing = hostile(lambda *_: as_json({"error": "invalid_client"}, 401))
    seen = []
    created = connect(world, refusing.url, secret=SECRET)
    seen.append(json.dumps(created))
    seen.append(pull(world, created, pf_id=str(uuid.uuid4())).text)
    admin = Browser(world.client.app, "acme-admin", lang="zh-CN")
    form = admin.post_form(
        "/app/suppliers/connections/new",
        "/app/suppliers/connections",
        {"name": "密钥测试", "base_url": "https://10.0.0.9", "client_id": "c", "client_secret": SECRET},
    )
    seen.append(form.text)
    changed = admin.post_form(
        f"/app/suppliers/connections/{created['id']}",
        f"/app/suppliers/connections/{created['id']}",
        {"name": "密钥测试 2", "base_url": refusing.url, "client_id": "c", "client_secret": SECRET + "-new"},
    )
    assert changed.status_code == 303
    for url in ("/app/suppliers", f"/app/suppliers/connections/{created['id']}"):
        seen.append(admin.get(url).text)
    for user in ("acme-admin", "acme-engineer"):
        seen.append(world.call(user, "GET", "/api/v1/supplier-connections").text)
        seen.append(world.call(user, "GET", f"/api/v1/supplier-connections/{created['id']}").text)
    seen.append(world.call("acme-admin", "GET", "/api/v1/audit", params={"limit": 1000}).text)
    seen.append(caplog.text)
    assert refusing.requests and all(SECRET not in text for text in seen)
    with session_scope() as session:
        stored = session.get(SupplierConnection, uuid.UUID(created["id"]))
        assert SECRET not in stored.token_secret_encrypted and stored.token_secret_encrypted.startswith("gAAAA")
        key = get_settings().signing_key()
        assert open_secret(key, suppliers.SECRETS, stored.token_secret_encrypted) == SECRET + "-new"
        with pytest.raises(SecretUnreadable):
            open_secret(key, "pact-endpoint-secrets", stored.token_secret_encrypted)  # sealed for this purpose only


def test_a_changed_service_key_is_a_clear_conflict_never_a_500(world, buyer_policy, hostile, monkeypatch):
    """The service's secret key changed since the secret was sealed: the pull answers 409 with its code (in Chinese
    on the page: fill in the secret again), the background poll and events go on, and a new secret seals again."""
    from footprint_api.core.settings import get_settings
    from footprint_api.persistence.db import session_scope
    from footprint_api.services.pact import suppliers

    document = company("rekeyed")
    supplier = Supplier(hostile, document)
    found = connect(world, supplier.url)
    assert pull(world, found, pf_id=document["id"]).status_code == 201
    supplier_plant = _use_in_inventory(world, document["id"])
    changed = get_settings().model_copy(update={"secret_key": "another-key-" + "x" * 40})
    monkeypatch.setattr(suppliers, "get_settings", lambda: changed)
    refused = pull(world, found, pf_id=document["id"])
    assert refused.status_code == 409, refused.text
    [error] = refused.json()["errors"]
    assert (error["field"], error["code"]) == ("client_secret", "suppliers.connection.secret_unreadable")
    engineer = Browser(world.client.app, "acme-engineer", lang="zh-CN")
    page = engineer.post_form(
        f"/app/suppliers/connections/{found['id']}/pull",
        f"/app/suppliers/connections/{found['id']}/pull",
        {"pf_id": document["id"]},
    )
    assert page.status_code == 409 and "保存的密钥无法解密（服务密钥已更换），请重新填写客户端密钥" in page.text
    overview = engineer.get("/app/suppliers").text
    assert "最近一次失败：保存的密钥无法解密" in overview and "cannot be read" not in overview
    with session_scope() as session:
        tally = suppliers.poll(session, per_run=1000)
    assert tally.failed >= 1 and supplier_plant
    assert send(world, _supplier_client(world), published_event([document["id"]])).status_code == 200
    renewed = world.call(
        "acme-admin", "PATCH", f"/api/v1/supplier-connections/{found['id']}", json={"client_secret": "renewed"}
    )
    assert renewed.status_code == 200
    assert pull(world, found, pf_id=document["id"]).status_code == 201


def _use_in_inventory(world, pf_id: str) -> dict:
    from tests.labelling import calculated_footprint

    return calculated_footprint(
        world,
        example="electricity-guizhou-coal-2023.json",
        gtin=None,
        **{"6.supplier": {"kind": "pact", "reference": pf_id}},
    )


# --- 4. documents ---------------------------------------------------------------------------------------------------


def upload(world, document: dict | bytes, user: str = "acme-engineer"):
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return world.call(user, "POST", "/api/v1/supplier-footprints", files={"file": ("pf.json", body)})


def _raw(document: dict, old: str, new: str) -> bytes:
    text = json.dumps(document)
    assert old in text
    return text.replace(old, new, 1).encode()


def _hostile_documents():
    """(what, the file's bytes, the JSON path named, the code) — each refused with 422 before, or a 500 before."""
    pf = str(uuid.uuid4())
    base = footprint(pf)
    with_extension = base | {
        "extensions": [{"specVersion": "2.0.0", "dataSchema": "https://x.example/s.json", "data": {"v": 1}}]
    }
    yield (
        "1e400 in an extension (infinity: a 500 when answered)",
        _raw(with_extension, '"v": 1', '"v": 1e400'),
        "extensions[0].data.v",
        "number",
    )
    yield (
        "a duplicate key",
        _raw(base, '"status": "Active"', '"status": "Active", "status": "Deprecated"'),
        "status",
        "duplicate_key",
    )
    yield (
        "a lone surrogate in the company (a 500 when stored)",
        _raw(base, '"Company 1"', '"\\ud800"'),
        "companyName",
        "text",
    )
    yield "a NUL in the product name", _raw(base, '"Product 1"', '"Pro\\u0000duct"'), "productNameCompany", "text"
    yield (
        "a Decimal with letters after (a 500)",
        json.dumps(base | {"pcf": base["pcf"] | {"declaredUnitAmount": "1abc"}}).encode(),
        "pcf.declaredUnitAmount",
        "format",
    )
    yield (
        "a Decimal with letters before (a 500)",
        json.dumps(base | {"pcf": base["pcf"] | {"declaredUnitAmount": "xyz0.5"}}).encode(),
        "pcf.declaredUnitAmount",
        "format",
    )
    yield (
        "full-width digits",
        json.dumps(base | {"pcf": base["pcf"] | {"pcfExcludingBiogenicUptake": "８５０"}}).encode(),
        "pcf.pcfExcludingBiogenicUptake",
        "format",
    )
    yield (
        "a value with a line end",
        json.dumps(base | {"pcf": base["pcf"] | {"pcfExcludingBiogenicUptake": "850\n"}}).encode(),
        "pcf.pcfExcludingBiogenicUptake",
        "format",
    )
    yield (
        "an id in full-width digits",
        json.dumps(base | {"id": "１１１１１１１１-1111-4111-8111-111111111111"}).encode(),
        "id",
        "format",
    )
    yield "an id that is no UUID", json.dumps(base | {"id": "cement-2024"}).encode(), "id", "format"
    yield (
        "preceding itself",
        json.dumps(base | {"precedingPfIds": [pf.upper()]}).encode(),
        "precedingPfIds[0]",
        "preceding_self",
    )
    yield (
        "10,000 preceding ids",
        json.dumps(base | {"precedingPfIds": [str(uuid.uuid4()) for _ in range(10_000)]}).encode(),
        "precedingPfIds",
        "too_many",
    )
    yield (
        "a validity the calendar cannot hold",
        json.dumps(base | {"validityPeriodStart": "9999-12-31T23:00:00Z"}).encode(),
        "validityPeriodStart",
        "format",
    )
    yield (
        "a unit PACT does not know",
        json.dumps(base | {"pcf": base["pcf"] | {"declaredUnitOfMeasurement": "tonne"}}).encode(),
        "pcf.declaredUnitOfMeasurement",
        "enum",
    )
    yield (
        "a huge number",
        json.dumps(base | {"pcf": base["pcf"] | {"pcfExcludingBiogenicUptake": "9" * 400}}).encode(),
        "pcf.pcfExcludingBiogenicUptake",
        "range",
    )
    yield "nested 10,000 deep", b"[" * 10_000 + b"]" * 10_000, "(document)", "too_deep"
    yield "a key that is no text", b'{"a": {"\\ud800\\u0000": 1}}', "a.\\ud800\\x00", "text"


HOSTILE = list(_hostile_documents())


@pytest.mark.parametrize(("what", "body", "path", "code"), HOSTILE, ids=[case[0] for case in HOSTILE])
def test_a_hostile_file_is_422_naming_its_path_and_nothing_is_kept(world, what, body, path, code):
    before = world.call("acme-engineer", "GET", "/api/v1/supplier-footprints").json()
    response = upload(world, body)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == (path, f"suppliers.document.{code}")
    assert world.call("acme-engineer", "GET", "/api/v1/supplier-footprints").json() == before


@pytest.mark.parametrize(("what", "body", "path", "code"), HOSTILE[:6], ids=[case[0] for case in HOSTILE[:6]])
def test_a_hostile_file_is_refused_on_the_page_in_chinese(world, what, body, path, code):
    engineer = Browser(world.client.app, "acme-engineer", lang="zh-CN")
    response = engineer.post_form("/app/suppliers/upload", "/app/suppliers/upload", files={"file": ("pf.json", body)})
    assert response.status_code == 422
    shown = re.search(r'id="sup-file-error"[^>]*>(.*?)</p>', response.text, re.S).group(1)
    assert shown.startswith(path.replace("\\", "&#92;") if False else path[:5]) and re.search(r"[\u4e00-\u9fff]", shown)
    from tests.test_chinese_pages import english_phrases, visible_text

    assert english_phrases(visible_text(response.text)) == []


def test_files_too_large_are_refused_by_size(world):
    document = footprint() | {"comment": "x" * (10 * 1024 * 1024)}
    response = upload(world, document)
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "suppliers.document.too_large"
    assert upload(world, b" " * (30 * 1024 * 1024)).status_code == 413


def test_a_negative_or_odd_but_valid_footprint_is_kept_as_received_unverified(world):
    """PACT's pcfExcludingBiogenicUptake is a Decimal, negative allowed (removals); it is kept as the supplier
    states it, unverified without a verification, and shown as such — the buyer sees what it uses."""
    document = footprint() | {"productNameCompany": "负值产品 <script>alert(1)</script>"}
    document["pcf"] = document["pcf"] | {"pcfExcludingBiogenicUptake": "-5"}
    response = upload(world, document)
    assert response.status_code == 201, response.text
    assert (response.json()["pcf_excluding_biogenic"], response.json()["verified"]) == (-5.0, False)
    page = Browser(world.client.app, "acme-engineer", lang="zh-CN").get(
        f"/app/suppliers/footprints/{response.json()['id']}"
    )
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


def test_the_same_footprint_uploaded_twice_at_once_is_one_row(world):
    """Two uploads of a new file at the same moment: one is received, the other is the same row or told to try
    again (409); never a 500, never two rows."""
    document = footprint()
    body = json.dumps(document).encode()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: upload(world, body), range(4)))
    assert {answer.status_code for answer in answers} <= {201, 409}, [a.text for a in answers]
    assert len(held(world, document["id"])) == 1


def test_preceding_ids_in_a_cycle_end(world):
    """A names B, then B (other values) names A, then A again (other values) names B: each newer one deprecates
    the other's held versions; nothing loops, and the successor chain of the first ends at an Active footprint."""
    a, b = company("loop"), company("loop")
    a_id, b_id = a["id"], b["id"]
    assert upload(world, a | {"precedingPfIds": [b_id]}).status_code == 201
    assert upload(world, b | {"precedingPfIds": [a_id]}).status_code == 201
    again = company("loop", a_id, pcfExcludingBiogenicUptake="0.5") | {"precedingPfIds": [b_id]}
    assert upload(world, again).status_code == 201
    rows = held(world, a_id) + held(world, b_id)
    assert sorted(row["status"] for row in rows) == ["Active", "Deprecated", "Deprecated"]
    detail = world.call("acme-engineer", "GET", f"/api/v1/supplier-footprints/{rows[0]['id']}")
    assert detail.status_code == 200


def test_a_supplier_answer_with_a_duplicate_key_or_1e400_is_the_suppliers_failure(world, buyer_policy, hostile):
    pf = str(uuid.uuid4())
    body = _raw({"data": footprint(pf)}, '"status": "Active"', '"status": "Deprecated", "status": "Active"')
    server = hostile(
        lambda m, path, h: TOKEN if path == "/auth/token" else http(200, body, Content_Type="application/json")
    )
    response = pull(world, connect(world, server.url), pf_id=pf)
    assert response.status_code == 502, response.text
    assert response.json()["errors"][0]["code"] == "suppliers.failed.invalid"
    assert response.json()["errors"][0]["params"] == {"path": "data.status"}
    assert held(world, pf) == []


# --- 5. isolation ---------------------------------------------------------------------------------------------------


@pytest.fixture
def acmes(world, buyer_policy, hostile) -> dict:
    """An acme connection and a footprint received through it."""
    document = company("isolated")
    supplier = Supplier(hostile, document)
    found = connect(world, supplier.url)
    [row] = pull(world, found, pf_id=document["id"]).json()
    return {"connection_id": found["id"], "footprint_id": row["id"], "supplier": supplier}


def _routes(router, ids: dict) -> list[tuple[str, str]]:
    found = []
    for route in router.routes:
        path = route.path.replace("{connection_id}", ids["connection_id"]).replace(
            "{footprint_id}", ids["footprint_id"]
        )
        found += [(method, path) for method in route.methods - {"HEAD"}]
    return found


def test_every_api_route_is_404_for_another_organisation_and_403_for_a_certification_body(world, acmes):
    from footprint_api.api.suppliers import router

    bodies = {"POST": {"pf_id": str(uuid.uuid4())}, "PATCH": {"name": "stolen"}}
    for method, path in _routes(router, acmes):
        files = {"file": ("f.json", b"{}")} if path.endswith("/supplier-footprints") and method == "POST" else None
        body = None if files else bodies.get(method)
        for user in ("cb-verifier", "cb-admin", "root"):
            assert world.call(user, method, path, json=body, files=files).status_code == 403, (user, method, path)
        if acmes["connection_id"] in path or acmes["footprint_id"] in path:
            assert world.call("rival-admin", method, path, json=body).status_code == 404, (method, path)
            # a member is refused an administrator's route before anything is looked up: 403 tells nothing either
            assert world.call("rival-engineer", method, path, json=body).status_code in (403, 404), (method, path)
    for method, path in _routes(router, acmes):  # an outsider, without a token or with a forged one
        for headers in ({}, {"Authorization": "Bearer " + "e30." * 3}):
            answer = world.client.request(method, path, headers=headers, json=bodies.get(method))
            assert answer.status_code == 401, (method, path, answer.text)
    assert acmes["supplier"].footprint_requests() == 1  # nothing was pulled for anyone else
    listed = world.call("rival-admin", "GET", "/api/v1/supplier-footprints").text
    assert acmes["footprint_id"] not in listed
    assert acmes["connection_id"] not in world.call("rival-admin", "GET", "/api/v1/supplier-connections").text


def test_every_page_is_404_for_another_organisation_and_403_for_a_certification_body(world, acmes):
    from footprint_api.web.routes.suppliers import router

    app = world.client.app
    rival, verifier = Browser(app, "rival-admin", lang="zh-CN"), Browser(app, "cb-verifier", lang="zh-CN")
    outsider = Browser(app, lang="zh-CN")
    for method, path in _routes(router, acmes):
        answer = outsider.client.request(method, path)
        assert answer.status_code in (303, 401, 403) and acmes["footprint_id"] not in answer.text, (method, path)
        if method == "GET":
            assert verifier.get(path).status_code == 403, path
            if acmes["connection_id"] in path or acmes["footprint_id"] in path:
                assert rival.get(path).status_code == 404, path
        else:
            data = {"pf_id": str(uuid.uuid4()), "name": "stolen", "base_url": "https://93.184.216.34", "client_id": "x"}
            if acmes["connection_id"] in path:
                assert rival.post_form("/app/suppliers", path, data).status_code == 404, path
    assert acmes["supplier"].footprint_requests() == 1
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import SupplierConnection

    with session_scope() as session:
        stored = session.get(SupplierConnection, uuid.UUID(acmes["connection_id"]))
        assert stored.active and stored.name != "stolen"


def test_a_done_notice_says_nothing_a_link_wrote(world, acmes):
    """Before, the notice above the overview was made of the redirect's query (`?done=registered&name=…`): a link
    could put any words on the page in the service's voice ("已登记供应商连接“请致电 400-…”"). Now the query names
    a connection or a footprint by id, looked up among the reader's own."""
    engineer = Browser(world.client.app, "acme-engineer", lang="zh-CN")
    from tests.test_chinese_pages import visible_text

    forged = engineer.get("/app/suppliers?done=registered&name=请立即致电400-000-0000重新验证").text
    assert "400-000-0000" not in visible_text(forged) and "已登记" not in visible_text(forged)
    theirs = Browser(world.client.app, "rival-engineer", lang="zh-CN")
    peeked = theirs.get(f"/app/suppliers?done=uploaded&footprint={acmes['footprint_id']}").text
    assert "isolated" not in peeked and "已上传" not in peeked
    own = engineer.get(f"/app/suppliers?done=pulled&connection={acmes['connection_id']}&count=1").text
    assert "收到 1 条碳足迹" in own


# --- 6. pages, in Chinese, at a phone's and a desktop's width ---------------------------------------------------------

from tests.browser import assert_accessible, browser, serving, sign_in, visit  # noqa: E402, F401 - fixtures


@pytest.fixture
def crowded(world, buyer_policy, hostile) -> dict:
    """What a hostile supplier and a careless administrator leave on the pages: names and ids of the longest the
    service keeps, without a place to break a line; a connection that failed; a Deprecated, negative, unverified
    footprint with a hundred product ids and a verification of long texts."""
    unique = uuid.uuid4().hex[:6]
    long_name = "供" + unique + "x" * 193
    product = "P" + "·II熟料" * 3 + "y" * 280
    active = company("z" * 300, pcfExcludingBiogenicUptake="-123456789.123456")
    active |= {"productNameCompany": product, "productIds": [f"urn:gtin:{i:014d}" for i in range(100)]}
    active["pcf"] |= {
        "verification": {
            "coverage": "product level",
            "providerName": "核" * 10 + "v" * 300,
            "standardName": "ISO" + "9" * 300,
            "completedAt": "2025-04-08T14:47:32Z",
        }
    }
    supplier = Supplier(hostile, active)
    base = supplier.url + "/" + "p" * 400
    found = connect(world, base, name=long_name)
    supplier.documents = {}
    assert pull(world, found, pf_id=active["id"]).status_code == 502  # the long path: no footprint answered there
    good = connect(world, supplier.url, name="好" + unique + "w" * 150)
    supplier.documents = {active["id"]: active}
    [row] = pull(world, good, pf_id=active["id"]).json()
    supplier.documents[active["id"]] = active | {"status": "Deprecated"}
    assert pull(world, good, pf_id=active["id"]).status_code == 201
    refusing = connect(
        world, hostile(lambda *_: as_json({"error": "invalid_client"}, 401)).url, name="拒" + unique + "r" * 100
    )
    assert pull(world, refusing, pf_id=str(uuid.uuid4())).status_code == 502
    return {"footprint": row["id"], "connection": found["id"], "refusing": refusing["id"], "data": [long_name, product]}


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_pages_hold_hostile_data_in_chinese_without_overflow(world, visit, crowded, width, tmp_path):
    """Before, a name or URL of one long word widened the connections table past the page (1,214 px at desktop
    width) and squeezed the other columns to a letter a line."""
    from tests.test_chinese_pages import english_phrases, visible_text

    SHOTS.mkdir(parents=True, exist_ok=True)
    with serving(world.client.app) as served:
        tab = visit(width, "zh")
        sign_in(tab, served, "acme-admin")
        pages = [
            ("/app/suppliers", "overview"),
            (f"/app/suppliers/footprints/{crowded['footprint']}", "footprint"),
            (f"/app/suppliers/connections/{crowded['connection']}", "connection"),
            (f"/app/suppliers/connections/{crowded['refusing']}/pull", "pull"),
            ("/app/suppliers/upload", "upload"),
        ]
        for path, name in pages:
            tab.page.goto(f"{served}{path}")
            tab.page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            _check(tab, path, english_phrases, visible_text)
        # refusals, shown where they belong
        tab.page.goto(f"{served}/app/suppliers/connections/{crowded['refusing']}/pull")
        tab.page.fill("#sup-pf_id", str(uuid.uuid4()))
        tab.page.click("main form button[type=submit]")
        tab.page.wait_for_load_state()
        assert "拒绝了客户端凭据" in tab.page.content()
        _check(tab, "pull refused", english_phrases, visible_text)
        tab.page.screenshot(path=str(SHOTS / f"pull-refused-{width}.png"), full_page=True)
        tab.page.goto(f"{served}/app/suppliers/upload")
        broken = tmp_path / "broken.json"
        broken.write_bytes(_raw(footprint(), '"status": "Active"', '"status": "Active", "status": "Deprecated"'))
        tab.page.set_input_files("#sup-file", str(broken))
        tab.page.click("main form button[type=submit]")
        tab.page.wait_for_load_state()
        assert "同一对象中该字段出现了两次" in tab.page.content()
        _check(tab, "upload refused", english_phrases, visible_text)
        tab.page.screenshot(path=str(SHOTS / f"upload-refused-{width}.png"), full_page=True)
        tab.page.goto(f"{served}/app/suppliers/connections/new")
        for field, value in (
            ("name", "内网"),
            ("base_url", "https://2852039166"),
            ("client_id", "c"),
            ("client_secret", "s"),
        ):
            tab.page.fill(f"#sup-{field}", value)
        tab.page.click("main form button[type=submit]")
        tab.page.wait_for_load_state()
        assert "出站访问策略不允许" in tab.page.content()
        _check(tab, "connection refused", english_phrases, visible_text)
        tab.page.screenshot(path=str(SHOTS / f"connection-refused-{width}.png"), full_page=True)


def _check(tab, path: str, english_phrases, visible_text) -> None:
    overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (path, overflow)
    assert english_phrases(visible_text(tab.page.content())) == [], path
    assert_accessible(tab.page)


def test_each_message_is_defined_once_so_the_pull_forms_labels_are_labels(world, acmes, hostile):
    """The catalogues defined `suppliers.pull.pf_id` and `suppliers.pull.product_id` twice, as the field's label and
    as its error: YAML keeps the last, so the pull form's fields were labelled with their error messages ("PACT 碳足迹
    编号应为 UUID"). And an error above the form (the supplier refused the credentials) said "fix the marked
    fields" where no field was marked."""
    import yaml

    class Once(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
            assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})
            return super().construct_mapping(node, deep)

    root = Path(__file__).resolve().parents[1] / "footprint_api" / "core" / "locales"
    for lang in ("zh", "en"):
        yaml.load((root / lang / "suppliers.yaml").read_text(encoding="utf-8"), Loader=Once)
    engineer = Browser(world.client.app, "acme-engineer", lang="zh-CN")
    form = engineer.get(f"/app/suppliers/connections/{acmes['connection_id']}/pull").text
    assert re.search(r'<label[^>]*for="sup-pf_id"[^>]*>\s*PACT 碳足迹编号\s*<', form), form
    assert "应为 UUID" not in form
    acmes["supplier"].documents.clear()
    missing = engineer.post_form(
        f"/app/suppliers/connections/{acmes['connection_id']}/pull",
        f"/app/suppliers/connections/{acmes['connection_id']}/pull",
        {"pf_id": str(uuid.uuid4())},
    )
    assert missing.status_code == 422 and "请修改标出的字段" in missing.text  # at the pf_id field
    server = hostile(lambda *_: as_json({"error": "invalid_client"}, 401))
    refusing = connect(world, server.url, name=f"拒绝 {uuid.uuid4().hex[:6]}")
    refused = engineer.post_form(
        f"/app/suppliers/connections/{refusing['id']}/pull",
        f"/app/suppliers/connections/{refusing['id']}/pull",
        {"pf_id": str(uuid.uuid4())},
    )
    assert refused.status_code == 502 and "请修改标出的字段" not in refused.text


# --- this service as a PACT data owner, answering a recipient's request: the same bounds -----------------------------


def _endpoint(url: str):
    from footprint_api.core.settings import get_settings
    from footprint_api.infra.security import seal_secret
    from footprint_api.persistence.models import PactEndpoint
    from footprint_api.services.pact import events

    secret = seal_secret(get_settings().signing_key(), events.ENDPOINT_SECRETS, "recipient-issued")
    return PactEndpoint(client_id=uuid.uuid4(), base_url=url, token_client_id="us", token_secret_encrypted=secret)


@pytest.mark.parametrize(
    ("token", "said"),
    [
        (as_json({"token": "none here"}), "the recipient's token answer holds no access token"),
        (as_json({"access_token": "jeton-é"}), "the recipient's token answer holds no access token"),
        (
            http(200, b"[" * 60_000, Content_Type="application/json"),
            "the recipient's token answer holds no access token",
        ),
        (http(200, b"x" * (1024 * 1024)), "the recipient's answer is too large"),
        (lambda *_: _drip_headers, "the recipient's API could not be reached"),
        (http(302, Location="https://169.254.169.254/"), "the recipient's API answered HTTP 302"),
    ],
)
def test_a_recipients_answers_are_bounded_when_this_service_delivers(
    world, buyer_policy, hostile, monkeypatch, token, said
):
    """Delivering a RequestFulfilledEvent to a recipient's /3/events. Before: its token answer was read whole
    (`token.json()`), a missing `access_token` was a KeyError and `[[[[…` a RecursionError (neither an httpx error:
    the background task failed and the request stayed unanswered), a non-ASCII token a UnicodeEncodeError, and a
    recipient that dripped its headers held the task for as long as it liked."""
    from footprint_api.services.pact import events

    monkeypatch.setattr(events, "DELIVERY_SECONDS", 2.0)
    server = hostile(token if callable(token) else (lambda *_: token))
    started = time.monotonic()
    with pytest.raises(httpx.HTTPError) as raised:
        events.deliver(_endpoint(server.url), {"type": "x"})
    assert events._delivery_error(raised.value) == said
    assert time.monotonic() - started < 5
    assert server.paths() == ["/auth/token"]


def test_the_poll_is_bounded_in_time_whatever_a_supplier_does(world, buyer_policy, hostile):
    """A footprint in use whose supplier now drips its answers: the housekeeping poll ends by its deadline."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.services.pact import suppliers

    document = company("drips later")
    supplier = Supplier(hostile, document)
    found = connect(world, supplier.url)
    assert pull(world, found, pf_id=document["id"]).status_code == 201
    _use_in_inventory(world, document["id"])
    supplier.server.answer = lambda *_: _drip_headers
    started = time.monotonic()
    with session_scope() as session:
        tally = suppliers.poll(session, per_run=1000, seconds=2)
    assert time.monotonic() - started < 5 and tally.failed >= 1
