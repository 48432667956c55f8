"""The buyer's side of PACT: a supplier connection to a SECOND instance of this service, started here as the supplier
in a process of its own (its own SQLite file, secret key, label keys and files) over real HTTPS; the buyer (the
in-process service of `world`) allows only that address (PCF_OUTBOUND_ALLOWED_NETWORKS=127.0.0.1/32) and trusts the
test certificate (PCF_PACT_CA_BUNDLE).

The supplier's manufacturer ("acme" over there, a cement works) certifies its cement footprint and creates a PACT
recipient client for the buyer; the buyer ("acme" here, a coal power plant) registers the connection, pulls the
footprint and uses it for the cement of its plant's construction. Then the supplier certifies a newer footprint and
tells the buyer with a PublishedEvent; another footprint is found deprecated by the housekeeping poll. Refusals: a
URL outside the policy, wrong credentials, a malformed file, answers too large or not a footprint.
"""

import base64
import json
import os
import ssl
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from sqlmodel import select

from tests.conftest import ROOT
from tests.labelling import GTIN, calculated_footprint, label_of
from tests.processes import Process, free_port
from tests.service import World
from tests.test_pact import SPEC, certificate  # noqa: F401 - the module's TLS certificate (a fixture)
from tests.tls import served_over_tls

EVENT = "application/cloudevents+json"
# the buyer's coal power plant: 5000 t of cement for its construction, amortised over 6000 GWh (the example)
CEMENT_ITEM, CEMENT_TONNES = 6, 5000
SEED = """
import json
from footprint_api.core.settings import get_settings
from footprint_api.persistence.migrate import upgrade
upgrade(get_settings().database_url)
from tests.service import seed_world
print(json.dumps({name: str(value) for name, value in seed_world().items()}))
"""


def _supplier_env(folder) -> dict[str, str]:
    """The supplier's own configuration: nothing of the buyer's (database, key, files, outbound policy)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PCF_")}
    env.update(
        {
            "PCF_DATABASE_URL": f"sqlite:///{folder / 'supplier.db'}",
            "PCF_SECRET_KEY": "supplier-signing-key-" + "s" * 32,
            "PCF_LABEL_KEY_DIR": str(folder / "keys"),
            "PCF_STORAGE_DIR": str(folder / "objects"),
            "PCF_STORAGE_BACKEND": "local",
            "PCF_TASK_MODE": "in_process",
            "PCF_BRIGHTWAY_DIR": os.environ["PCF_BRIGHTWAY_DIR"],
        }
    )
    return env


def _wait_ready(url: str, process: Process, verify: ssl.SSLContext, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"the supplier's service exited:\n{process.tail()}")
        try:
            if httpx.get(url, verify=verify, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the supplier's service did not start in {timeout} s:\n{process.tail()}")


@pytest.fixture(scope="module")
def supplier(world, certificate, tmp_path_factory):
    """The supplier's service: migrated and seeded (the test organisations, tests.service.seed_world) by a process of
    its own, then served by uvicorn with the test certificate. Yields a World over its HTTPS address."""
    folder = tmp_path_factory.mktemp("supplier")
    env = _supplier_env(folder)
    seeded = subprocess.run(
        [sys.executable, "-c", SEED], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    organisations = {name: uuid.UUID(value) for name, value in json.loads(seeded.stdout.splitlines()[-1]).items()}
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "footprint_api.app:app", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--ssl-certfile", str(certificate[0]), "--ssl-keyfile", str(certificate[1]), "--log-level", "warning"]
    process = Process("supplier", args, env, folder).start()
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    try:
        _wait_ready(f"https://127.0.0.1:{port}/healthz", process, trust)
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=trust, timeout=120) as client:
            yield World(client, organisations)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def buyer_policy(world, certificate):
    """The buyer calls out to the supplier's loopback address only because it is allowed explicitly, over TLS it
    trusts through the CA bundle (as events.deliver does for recipients)."""
    from footprint_api.core.settings import get_settings

    saved = {name: os.environ.get(name) for name in ("PCF_OUTBOUND_ALLOWED_NETWORKS", "PCF_PACT_CA_BUNDLE")}
    os.environ["PCF_OUTBOUND_ALLOWED_NETWORKS"] = '["127.0.0.1/32"]'
    os.environ["PCF_PACT_CA_BUNDLE"] = str(certificate[0])
    get_settings.cache_clear()
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def shared(supplier):
    """Over at the supplier: its cement footprint certified (a label: PACT `verification`), and a PACT recipient
    client for the buyer."""
    cement = calculated_footprint(supplier, example="cement-guizhou-2023.json", gtin=GTIN)
    label = label_of(supplier, cement["footprint_id"])
    client = supplier.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{supplier.organisations['acme']}/clients",
        json={"name": "buyer's purchasing system", "role": "pact_recipient"},
    )
    assert client.status_code == 201, client.text
    return {**cement, "label": label, "client": client.json()}


@pytest.fixture(scope="module")
def connection(world, supplier, shared, buyer_policy) -> dict:
    response = world.call(
        "acme-admin",
        "POST",
        "/api/v1/supplier-connections",
        json={
            "name": "Qianbei Cement (supplier)",
            "base_url": str(supplier.client.base_url).rstrip("/") + "/",
            "client_id": shared["client"]["client_id"],
            "client_secret": shared["client"]["client_secret"],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _supplier_document(supplier: World, shared: dict, pf_id: str) -> dict:
    """The footprint as the supplier's PACT API gives it to the buyer's client."""
    raw = f"{shared['client']['client_id']}:{shared['client']['client_secret']}".encode()
    token = supplier.client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    ).json()["access_token"]
    answer = supplier.client.get(f"/3/footprints/{pf_id}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _pull(world: World, connection: dict, **body) -> httpx.Response:
    return world.call("acme-engineer", "POST", f"/api/v1/supplier-connections/{connection['id']}/pulls", json=body)


# --- registration ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "code"),
    [
        ("https://10.20.30.40", "suppliers.url.private"),  # a private network: not allowed, whatever it serves
        ("https://169.254.169.254/latest", "suppliers.url.private"),
        ("http://93.184.216.34", "suppliers.url.https"),
        ("https://user:pw@93.184.216.34", "suppliers.url.credentials"),
        ("https://no-such-host.invalid", "suppliers.url.unresolved"),
    ],
)
def test_a_url_outside_the_outbound_policy_is_refused_naming_base_url(world, buyer_policy, base_url, code):
    before = world.call("acme-admin", "GET", "/api/v1/supplier-connections").json()
    response = world.call(
        "acme-admin",
        "POST",
        "/api/v1/supplier-connections",
        json={"name": f"refused {code}", "base_url": base_url, "client_id": "x", "client_secret": "y"},
    )
    assert response.status_code == 422, response.text
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("base_url", code)]
    assert world.call("acme-admin", "GET", "/api/v1/supplier-connections").json() == before  # nothing kept


def test_only_an_administrator_registers_and_the_secret_is_never_shown(world, supplier, shared, connection):
    member = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/supplier-connections",
        json={"name": "by a member", "base_url": connection["base_url"], "client_id": "x", "client_secret": "y"},
    )
    assert member.status_code == 403
    listed = world.call("acme-engineer", "GET", "/api/v1/supplier-connections")
    assert listed.status_code == 200 and shared["client"]["client_secret"] not in listed.text
    assert connection["client_id"] == shared["client"]["client_id"] and "client_secret" not in connection
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import AuditEvent, SupplierConnection

    with session_scope() as session:
        stored = session.get(SupplierConnection, uuid.UUID(connection["id"]))
        assert shared["client"]["client_secret"] not in stored.token_secret_encrypted  # sealed, not in clear
        trail = session.exec(select(AuditEvent).where(AuditEvent.object_id == connection["id"])).all()
    assert [event.action for event in trail] == ["supplier.connection_registered"]
    assert shared["client"]["client_secret"] not in json.dumps([event.after for event in trail])


def test_another_organisation_sees_nothing_of_the_connection(world, connection):
    for method, url, body in (
        ("GET", f"/api/v1/supplier-connections/{connection['id']}", None),
        ("PATCH", f"/api/v1/supplier-connections/{connection['id']}", {"name": "stolen"}),
        ("POST", f"/api/v1/supplier-connections/{connection['id']}/pulls", {"product_id": f"urn:gtin:{GTIN}"}),
        ("POST", f"/api/v1/supplier-connections/{connection['id']}/deactivate", None),
    ):
        response = world.call("rival-admin", method, url, json=body)
        assert response.status_code == 404, (method, url, response.text)
    assert world.call("rival-admin", "GET", "/api/v1/supplier-connections").json() == []


# --- pulling ------------------------------------------------------------------------------------------------------


def test_wrong_credentials_are_a_clear_error_naming_the_suppliers_answer(world, supplier, shared, connection):
    wrong = world.call(
        "acme-admin",
        "POST",
        "/api/v1/supplier-connections",
        json={
            "name": "Qianbei Cement, mistyped secret",
            "base_url": connection["base_url"],
            "client_id": shared["client"]["client_id"],
            "client_secret": "not the secret the supplier issued",
        },
    ).json()
    response = _pull(world, wrong, pf_id=shared["footprint_id"])
    assert response.status_code == 502, response.text
    problem = response.json()
    assert problem["detail"] == "the supplier's PACT API refused the credentials (HTTP 401)"
    assert problem["errors"][0]["code"] == "suppliers.failed.credentials"
    assert problem["errors"][0]["params"] == {"status": 401}
    after = world.call("acme-admin", "GET", f"/api/v1/supplier-connections/{wrong['id']}").json()
    assert after["last_error"] == problem["detail"] and after["last_used_at"] is None


def test_an_unknown_footprint_names_the_field_and_the_suppliers_status(world, connection):
    response = _pull(world, connection, pf_id="00000000-0000-4000-8000-000000000000")
    assert response.status_code == 422
    assert response.json()["errors"][0] | {"reason": ""} == {
        "field": "pf_id",
        "reason": "",
        "code": "suppliers.pull.no_footprint",
        "params": {"status": 404},
    }
    not_a_uuid = _pull(world, connection, pf_id="cement please")
    assert not_a_uuid.status_code == 422 and not_a_uuid.json()["errors"][0]["field"] == "pf_id"
    neither = _pull(world, connection)
    assert neither.status_code == 422 and neither.json()["errors"][0]["code"] == "suppliers.pull.one_of"


def test_the_pulled_footprint_is_kept_as_received_verified_by_its_label(world, supplier, shared, connection):
    """The supplier's cement: 1 t declared unit, which PACT writes as "1000" "kilogram"; its value per declared unit
    is kept as the supplier states it (pcfExcludingBiogenicUptake, kg CO2e per 1000 kg), the document byte for byte
    as JSON; it carries the supplier's label as PACT verification (coverage "product level", provider the
    certification body), so it is verified; primaryDataShare is a percentage, kept as a share (p % -> p / 100);
    the validity is the label's: from its issue day to its expiry day (Beijing days)."""
    response = _pull(world, connection, pf_id=shared["footprint_id"])
    assert response.status_code == 201, response.text
    [pulled] = response.json()
    document = _supplier_document(supplier, shared, shared["footprint_id"])
    pcf = document["pcf"]
    assert (pulled["pf_id"], pulled["origin"], pulled["status"], pulled["pf_version"]) == (
        shared["footprint_id"],
        "pulled",
        "Active",
        0,
    )
    assert (pulled["declared_unit"], pulled["declared_amount"]) == ("kilogram", 1000.0)
    assert pulled["pcf_excluding_biogenic"] == float(pcf["pcfExcludingBiogenicUptake"])
    assert pulled["primary_data_share"] == pytest.approx(float(pcf["primaryDataShare"]) / 100)
    assert pulled["verified"] is True and pulled["assurance"]["coverage"] == "product level"
    assert (pulled["valid_from"], pulled["valid_until"]) == (
        shared["label"]["issued_on"],
        shared["label"]["expires_on"],
    )
    assert (pulled["reference_period_start"], pulled["reference_period_end"]) == ("2023-01-01", "2023-12-31")
    detail = world.call("acme-engineer", "GET", f"/api/v1/supplier-footprints/{pulled['id']}").json()
    assert detail["document"] == document
    download = world.call("acme-engineer", "GET", f"/api/v1/supplier-footprints/{pulled['id']}/document")
    assert download.status_code == 200 and json.loads(download.content) == document


def test_the_same_footprint_pulled_again_by_product_is_the_same_row(world, shared, connection):
    """By product: the GTIN as typed (6901234567892) is asked for as the URN urn:gtin:6901234567892, which the
    supplier's API compares in its GTIN-14 form; the footprint comes back unchanged and stays one row."""
    before = world.call("acme-engineer", "GET", "/api/v1/supplier-footprints").json()
    response = _pull(world, connection, product_id=GTIN)
    assert response.status_code == 201, response.text
    assert [row["pf_id"] for row in response.json()] == [shared["footprint_id"]]
    after = world.call("acme-engineer", "GET", "/api/v1/supplier-footprints").json()
    assert len(after) == len(before)
    unknown = _pull(world, connection, product_id="urn:gtin:00000000000000")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "product_id"


@pytest.fixture(scope="module")
def used(world, shared, connection) -> dict:
    """The buyer's power plant names the supplier's PACT footprint for the cement of its construction."""
    pulled = _pull(world, connection, pf_id=shared["footprint_id"])
    assert pulled.status_code == 201, pulled.text
    supplier_ref = {"kind": "pact", "reference": shared["footprint_id"]}
    plant = calculated_footprint(
        world, example="electricity-guizhou-coal-2023.json", gtin=None, **{f"{CEMENT_ITEM}.supplier": supplier_ref}
    )
    return {**plant, "received": pulled.json()[0]}


def test_the_pulled_footprint_is_used_for_the_cement_of_the_plant(world, used):
    """The supplier states v kg CO2e per 1000 kg of cement, so v kg per t (1000 kg = 1 t); the plant's 5000 t of
    construction cement rest on it: 5000 t x v kg/t = 5000 v kg CO2e in the inventory, which the footprint spreads
    over its declared unit like any other input."""
    value = used["received"]["pcf_excluding_biogenic"]
    sources = world.call("acme-engineer", "GET", f"/api/v1/footprints/{used['footprint_id']}/supply")
    assert sources.status_code == 200, sources.text
    [source] = sources.json()
    assert (source["kind"], source["reference"], source["item"]) == (
        "pact",
        used["received"]["pf_id"],
        "construction_cement",
    )
    assert source["value_per_declared_unit"] == value
    assert source["value_per_item_unit"] == pytest.approx(value * 1000 / 1000)  # per 1000 kg -> per t
    assert source["verified"] is True and source["affected_at"] is None
    assert source["amount"] == CEMENT_TONNES
    listed = world.call("acme-engineer", "GET", f"/api/v1/supplier-footprints/{used['received']['id']}").json()
    assert [(u["inventory_id"], u["item"], u["affected"]) for u in listed["used_by"]] == [
        (used["inventory_id"], "construction_cement", False)
    ]


# --- deprecation ------------------------------------------------------------------------------------------------------


def _client_token(world: World, client: dict) -> dict:
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    token = world.client.post(
        "https://testserver/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _published(pf_ids: list[str]) -> str:
    return json.dumps(
        {
            "type": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "//qianbei-cement.example/3/events",
            "time": "2026-12-01T08:00:00Z",
            "data": {"pfIds": pf_ids},
        }
    )


@pytest.fixture(scope="module")
def event_client(world) -> dict:
    """The buyer issues the supplier's system a client of role pact_supplier (its administrator's)."""
    response = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/clients",
        json={"name": "Qianbei Cement's PACT system", "role": "pact_supplier"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_suppliers_client_sends_published_events_only(world, event_client):
    headers = {**_client_token(world, event_client), "Content-Type": EVENT}
    assert world.client.get("https://testserver/3/footprints", headers=headers).status_code == 403
    request = json.loads(_published([str(uuid.uuid4())]))
    request |= {"type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3", "data": {"productId": ["urn:x:1"]}}
    refused = world.client.post("https://testserver/3/events", content=json.dumps(request), headers=headers)
    assert refused.status_code == 403 and refused.json()["code"] == "AccessDenied"
    unknown = world.client.post("https://testserver/3/events", content=_published([str(uuid.uuid4())]), headers=headers)
    assert unknown.status_code == 200  # a footprint the buyer never held: accepted, nothing fetched or kept


def test_a_newer_certified_footprint_reaches_the_buyer_by_event_and_the_link_is_affected(
    world, supplier, shared, used, event_client
):
    """The supplier certifies a newer footprint of the same cement: its PACT API now lists the first as Deprecated
    and the newer with precedingPfIds = [first]. Its system tells the buyer (PublishedEvent naming the newer); the
    buyer fetches it, keeps it, marks the first Deprecated with the newer as successor, and the plant's inventory
    that rests on the first is affected (reason pact.deprecated, the successor named)."""
    newer = calculated_footprint(supplier, product_id=shared["product_id"], **{"2.amount": 150_000_000})
    label_of(supplier, newer["footprint_id"])
    headers = {**_client_token(world, event_client), "Content-Type": EVENT}
    told = world.client.post(
        "https://testserver/3/events", content=_published([newer["footprint_id"]]), headers=headers
    )
    assert told.status_code == 200, told.text

    received = {row["pf_id"]: row for row in world.call("acme-engineer", "GET", "/api/v1/supplier-footprints").json()}
    old, new = received[shared["footprint_id"]], received[newer["footprint_id"]]
    assert (old["status"], old["successor_id"]) == ("Deprecated", new["id"])
    assert (new["status"], new["origin"], new["verified"]) == ("Active", "event", True)
    [source] = world.call("acme-engineer", "GET", f"/api/v1/footprints/{used['footprint_id']}/supply").json()
    assert source["affected_reason"] == "pact.deprecated" and source["affected_params"]["successor"] == new["pf_id"]
    affected = world.call("acme-engineer", "GET", "/api/v1/supply/affected").json()
    assert any(row["inventory_id"] == used["inventory_id"] and row["newer"] for row in affected)
    refused = world.submit(
        "acme-engineer",
        used["product_id"],
        _plant_inventory({"kind": "pact", "reference": shared["footprint_id"]}),
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "supply.pact_deprecated"


def _plant_inventory(supplier_ref: dict) -> dict:
    from tests.conftest import load_example
    from tests.labelling import unique_serials

    data = unique_serials(load_example("electricity-guizhou-coal-2023.json"))
    data["items"][CEMENT_ITEM]["supplier"] = supplier_ref
    return data


def test_the_poll_finds_a_deprecation_no_event_told(world, supplier, shared, connection):
    """A second product of the supplier, shared with the buyer without a label (so unverified), pulled and used by
    a second plant; the supplier shares a newer footprint of it and tells nobody. The housekeeping poll re-reads the
    footprints in use, finds the first Deprecated at the supplier, finds its successor among the product's
    footprints (precedingPfIds) and deprecates it here too."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import SupplierFootprint
    from footprint_api.services.pact import suppliers

    first = calculated_footprint(supplier, gtin=None)
    _share(supplier, shared, first["footprint_id"])
    pulled = _pull(world, connection, pf_id=first["footprint_id"])
    assert pulled.status_code == 201, pulled.text
    assert pulled.json()[0]["verified"] is False  # shared, not certified: no verification
    plant = calculated_footprint(
        world,
        example="electricity-guizhou-coal-2023.json",
        gtin=None,
        **{f"{CEMENT_ITEM}.supplier": {"kind": "pact", "reference": first["footprint_id"]}},
    )
    second = calculated_footprint(supplier, product_id=first["product_id"], **{"2.amount": 150_000_000})
    _share(supplier, shared, second["footprint_id"])

    with session_scope() as session:
        tally = suppliers.poll(session, per_run=100)
    assert tally.deprecated >= 1 and tally.failed == 0
    with session_scope() as session:
        rows = {
            row.pf_id: row
            for row in session.exec(
                select(SupplierFootprint).where(
                    SupplierFootprint.pf_id.in_([first["footprint_id"], second["footprint_id"]])
                )
            )
        }
    assert rows[first["footprint_id"]].status == "Deprecated"
    assert rows[first["footprint_id"]].successor_id == rows[second["footprint_id"]].id
    [source] = world.call("acme-engineer", "GET", f"/api/v1/footprints/{plant['footprint_id']}/supply").json()
    assert source["affected_reason"] == "pact.deprecated"


def _share(supplier: World, shared: dict, footprint_id: str) -> None:
    response = supplier.call(
        "acme-engineer",
        "POST",
        f"/api/v1/footprints/{footprint_id}/pact-shares",
        json={"client_id": shared["client"]["client_id"]},
    )
    assert response.status_code == 201, response.text


def test_a_deactivated_connection_is_not_called(world, supplier, shared, connection):
    spare = world.call(
        "acme-admin",
        "POST",
        "/api/v1/supplier-connections",
        json={
            "name": "Qianbei Cement, old contract",
            "base_url": connection["base_url"],
            "client_id": shared["client"]["client_id"],
            "client_secret": shared["client"]["client_secret"],
        },
    ).json()
    done = world.call("acme-admin", "POST", f"/api/v1/supplier-connections/{spare['id']}/deactivate")
    assert done.status_code == 200 and done.json()["active"] is False
    response = _pull(world, spare, pf_id=shared["footprint_id"])
    assert response.status_code == 409 and response.json()["detail"] == "the supplier connection is deactivated"


# --- uploads ----------------------------------------------------------------------------------------------------------


def _example() -> dict:
    return json.loads((SPEC / "examples" / "example-1.json").read_text())


def _upload(world: World, body: bytes, user: str = "acme-engineer") -> httpx.Response:
    return world.call(user, "POST", "/api/v1/supplier-footprints", files={"file": ("pf.json", body)})


def test_an_uploaded_file_is_kept_unverified_without_a_verification(world):
    """The spec's example 1 (bioethanol): 0.384 kg CO2e per 1 kilogram; primaryDataShare "12.9" % -> 0.129; its
    reference period 2024-01-01T00:00Z .. 2024-12-31T00:00Z (end exclusive) -> 1 January to 30 December 2024;
    validity 2024-12-31T00:00Z .. 2027-12-31T00:00Z (end exclusive) in Beijing days: from 31 December 2024
    (08:00 Beijing) to 31 December 2027 (the end instant is 08:00 Beijing on 31 December, so that day is the last);
    no `verification`: unverified. The same file again is the same footprint."""
    document = _example()
    document["id"] = str(uuid.uuid4())
    response = _upload(world, json.dumps(document).encode())
    assert response.status_code == 201, response.text
    row = response.json()
    assert (row["origin"], row["verified"], row["assurance"], row["connection_id"]) == ("uploaded", False, None, None)
    assert (row["pcf_excluding_biogenic"], row["pcf_including_biogenic"]) == (0.384, -1.23)
    assert (row["declared_unit"], row["declared_amount"]) == ("kilogram", 1.0)
    assert row["primary_data_share"] == pytest.approx(0.129)
    assert (row["reference_period_start"], row["reference_period_end"]) == ("2024-01-01", "2024-12-30")
    assert (row["valid_from"], row["valid_until"]) == ("2024-12-31", "2027-12-31")
    again = _upload(world, json.dumps(document, indent=4).encode())
    assert again.status_code == 201 and again.json()["id"] == row["id"]


def test_an_uploaded_file_with_a_verification_is_verified(world):
    document = _example() | {"id": str(uuid.uuid4())}
    document["pcf"] = document["pcf"] | {
        "verification": {"coverage": "product level", "providerName": "An Auditor", "standardName": "ISO 14067"}
    }
    response = _upload(world, json.dumps(document).encode())
    assert response.status_code == 201, response.text
    assert response.json()["verified"] is True and response.json()["assurance"]["providerName"] == "An Auditor"
    unnamed = _example() | {"id": str(uuid.uuid4())}
    unnamed["pcf"] = unnamed["pcf"] | {"verification": {"coverage": "product level"}}
    assert _upload(world, json.dumps(unnamed).encode()).json()["verified"] is False  # no verifier named


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (lambda d: d["pcf"].update(declaredUnitAmount=1), "pcf.declaredUnitAmount", "suppliers.document.type_string"),
        (
            lambda d: d["pcf"].pop("pcfExcludingBiogenicUptake"),
            "pcf.pcfExcludingBiogenicUptake",
            "suppliers.document.required",
        ),
        (lambda d: d.update(productIds=["6901234567892"]), "productIds[0]", "suppliers.document.format"),
        (
            lambda d: d["pcf"].update(declaredUnitOfMeasurement="tonne"),
            "pcf.declaredUnitOfMeasurement",
            "suppliers.document.enum",
        ),
        (lambda d: d["pcf"].update(primaryDataShare="120"), "pcf.primaryDataShare", "suppliers.document.range"),
        (lambda d: d.update(id="not-a-uuid"), "id", "suppliers.document.format"),
    ],
)
def test_a_malformed_file_is_422_naming_the_json_path_of_the_first_problem(world, change, field, code):
    document = _example() | {"id": str(uuid.uuid4())}
    change(document)
    before = len(world.call("acme-engineer", "GET", "/api/v1/supplier-footprints").json())
    response = _upload(world, json.dumps(document).encode())
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["code"], error["params"]["path"]) == (field, code, field)
    assert len(world.call("acme-engineer", "GET", "/api/v1/supplier-footprints").json()) == before


def test_an_uploaded_cement_footprint_computes_in_the_plant_by_hand(world):
    """A cement works without a PACT API sends a file: 850 kg CO2e per 1000 kilogram, primaryDataShare 80 %.
    - per t of cement: 850 kg / 1000 kg x 1000 kg/t = 850 kg CO2e/t;
    - the plant's 5000 t of construction cement: 5000 t x 850 kg/t = 4,250,000 kg CO2e;
    - per declared unit of the plant (1 kWh of 6000 GWh = 6,000,000,000 kWh): 4,250,000 / 6,000,000,000
      = 0.000708333 kg CO2e/kWh;
    - the source's primary data share: 80 / 100 = 0.8; unverified (no verification in the file)."""
    document = _example() | {"id": str(uuid.uuid4()), "productNameCompany": "P·O 42.5 cement, bulk"}
    document["pcf"] = document["pcf"] | {
        "declaredUnitAmount": "1000",
        "productMassPerDeclaredUnit": "1000",
        "pcfExcludingBiogenicUptake": "850",
        "pcfIncludingBiogenicUptake": "850",
        "primaryDataShare": "80",
    }
    uploaded = _upload(world, json.dumps(document).encode())
    assert uploaded.status_code == 201, uploaded.text
    plant = calculated_footprint(
        world,
        example="electricity-guizhou-coal-2023.json",
        gtin=None,
        **{f"{CEMENT_ITEM}.supplier": {"kind": "pact", "reference": document["id"]}},
    )
    [source] = world.call("acme-engineer", "GET", f"/api/v1/footprints/{plant['footprint_id']}/supply").json()
    assert (source["value_per_declared_unit"], source["value_per_item_unit"]) == (850.0, pytest.approx(850.0))
    assert source["kg_co2e"] == pytest.approx(4_250_000 / 6_000_000_000, rel=1e-9)
    assert (source["primary_data_share"], source["verified"]) == (pytest.approx(0.8), False)


def test_a_file_that_is_no_json_object_is_422(world):
    for body, code in ((b'{"id": ', "suppliers.document.not_json"), (b"[1, 2]", "suppliers.document.not_object")):
        response = _upload(world, body)
        assert response.status_code == 422 and response.json()["errors"][0]["code"] == code


def test_an_uploaded_footprint_is_the_organisations_own(world):
    row = _upload(world, json.dumps(_example() | {"id": str(uuid.uuid4())}).encode()).json()
    assert world.call("rival-engineer", "GET", f"/api/v1/supplier-footprints/{row['id']}").status_code == 404
    assert world.call("rival-engineer", "GET", f"/api/v1/supplier-footprints/{row['id']}/document").status_code == 404
    assert row["id"] not in world.call("rival-engineer", "GET", "/api/v1/supplier-footprints").text
    assert world.call("cb-verifier", "GET", "/api/v1/supplier-footprints").status_code == 403


# --- a supplier's API that misbehaves -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def odd_supplier(certificate):
    """A PACT API over HTTPS that issues tokens, then answers footprints that are too large or not footprints."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, Response

    app = FastAPI()

    @app.post("/auth/token")
    def token():
        return {"access_token": "odd", "token_type": "bearer"}

    @app.get("/3/footprints/{pf_id}")
    def footprint(pf_id: str):
        if pf_id.startswith("11111111"):
            return Response(b'{"data": "' + b"x" * (3 * 1024 * 1024) + b'"}', media_type="application/json")
        if pf_id.startswith("22222222"):
            broken = _example() | {"id": pf_id}
            broken["pcf"] = broken["pcf"] | {"declaredUnitAmount": 1000}
            return {"data": broken}
        return JSONResponse({"code": "InternalError", "message": "down"}, status_code=500)

    with served_over_tls(app, certificate) as base:
        yield base


@pytest.mark.parametrize(
    ("pf_id", "code", "detail"),
    [
        ("11111111-0000-4000-8000-000000000000", "suppliers.failed.too_large", "larger than 2048 KiB"),
        ("22222222-0000-4000-8000-000000000000", "suppliers.failed.invalid", "pcf.declaredUnitAmount"),
        ("33333333-0000-4000-8000-000000000000", "suppliers.failed.status", "answered HTTP 500"),
    ],
)
def test_what_a_supplier_answers_wrongly_is_refused_and_nothing_kept(
    world, buyer_policy, odd_supplier, pf_id, code, detail
):
    found = world.call("acme-admin", "GET", "/api/v1/supplier-connections").json()
    odd = (
        next((c for c in found if c["name"] == "odd supplier"), None)
        or world.call(
            "acme-admin",
            "POST",
            "/api/v1/supplier-connections",
            json={"name": "odd supplier", "base_url": odd_supplier, "client_id": "buyer", "client_secret": "s"},
        ).json()
    )
    response = _pull(world, odd, pf_id=pf_id)
    assert response.status_code == 502, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("connection_id", code) and detail in response.json()["detail"]
    held = world.call("acme-engineer", "GET", "/api/v1/supplier-footprints").json()
    assert pf_id not in {row["pf_id"] for row in held}


def test_an_unreachable_supplier_is_said_so_without_connection_details(world, buyer_policy):
    port = free_port()  # nothing listens there
    dead = world.call(
        "acme-admin",
        "POST",
        "/api/v1/supplier-connections",
        json={"name": "gone supplier", "base_url": f"https://127.0.0.1:{port}", "client_id": "b", "client_secret": "s"},
    ).json()
    response = _pull(world, dead, pf_id=str(uuid.uuid4()))
    assert response.status_code == 502
    assert response.json()["detail"] == "the supplier's PACT API could not be reached (token)"
    assert "refused" not in response.text.lower() and str(port) not in response.json()["detail"]
