"""The PACT v3 API driven as an outside client would: over HTTPS, every response checked against the spec's schema
(footprint_api/services/pact/spec/openapi.yaml, spec 3.0.3)."""

import base64
import datetime as dt
import json
import ssl
import time
from pathlib import Path
from typing import Annotated

import httpx
import pytest
import uvicorn
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import ROOT
from tests.labelling import GTIN, calculated_footprint, issued_label, label_of
from tests.tls import self_signed, served_over_tls

SPEC = (
    ROOT / "footprint_api" / "services" / "pact" / "spec"
)  # the unmodified spec files, under their licence (LICENSE.md)


def _validator(schema: dict) -> Draft202012Validator:
    spec = yaml.safe_load((SPEC / "openapi.yaml").read_text())
    registry = Registry().with_resource("urn:pact", Resource.from_contents(spec, default_specification=DRAFT202012))
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


FOOTPRINT = {"$ref": "urn:pact#/components/schemas/ProductFootprint"}
LIST = {"type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": FOOTPRINT}}}
ONE = {"type": "object", "required": ["data"], "properties": {"data": FOOTPRINT}}
ERROR = {"$ref": "urn:pact#/components/schemas/Error"}


def assert_valid(schema: dict, body: dict) -> None:
    errors = sorted(_validator(schema).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_the_schema_check_itself_accepts_the_spec_examples_and_refuses_the_invalid_one():
    for name in ("example-1.json", "example-2.json"):
        assert_valid(FOOTPRINT, json.loads((SPEC / "examples" / name).read_text()))
    assert_valid(LIST, json.loads((SPEC / "examples" / "list-footprints-response.json").read_text()))
    invalid = json.loads((SPEC / "examples" / "invalid-response-all-properties.json").read_text())
    assert list(_validator(ONE if "data" in invalid else FOOTPRINT).iter_errors(invalid))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as a deployment's would be configured."""
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def https(world, certificate):
    """The service terminating TLS itself (what `pcf serve --ssl-certfile --ssl-keyfile` starts)."""
    from footprint_api.app import create_app

    with served_over_tls(create_app(), certificate) as base:
        context = ssl.create_default_context(cafile=str(certificate[0]))
        with httpx.Client(base_url=base, verify=context, timeout=30) as client:
            yield client, int(base.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def data(world):
    """Acme: a certified cement footprint and its certified successor, a shared glass footprint, an unshared
    steel one; a rival's certified footprint; and acme's PACT recipient client."""
    first = issued_label(world)  # cement, GTIN
    product = world.call("acme-engineer", "GET", f"/api/v1/applications/{first['application_id']}").json()
    newer = calculated_footprint(world, product_id=product["product_id"], **{"2.amount": 150_000_000})
    label_of(world, newer["footprint_id"])
    glass = calculated_footprint(world, example="flat-glass-hebei-2023.json", gtin=None)
    steel = calculated_footprint(world, example="steel-hebei-bfbof-2023.json", gtin=None)
    client = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/clients",
        json={"name": "customer ERP", "role": "pact_recipient"},
    ).json()
    shared = world.call(
        "acme-engineer",
        "POST",
        f"/api/v1/footprints/{glass['footprint_id']}/pact-shares",
        json={"client_id": client["client_id"]},
    )
    assert shared.status_code == 201, shared.text
    rival = calculated_footprint(world, user="rival-engineer", gtin=None)
    return {
        "first": product["footprint_id"],
        "newer": newer["footprint_id"],
        "glass": glass["footprint_id"],
        "steel": steel["footprint_id"],
        "rival": rival["footprint_id"],
        "client": client,
        "product_id": product["product_id"],
    }


def basic(client: dict, secret: str | None = None) -> dict:
    raw = f"{client['client_id']}:{secret or client['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.fixture(scope="module")
def bearer(https, data):
    client, _ = https
    response = client.post("/auth/token", data={"grant_type": "client_credentials"}, headers=basic(data["client"]))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_token_good_and_bad(https, data):
    client, _ = https
    good = client.post("/auth/token", data={"grant_type": "client_credentials"}, headers=basic(data["client"]))
    assert good.status_code == 200 and good.json()["token_type"] == "bearer" and good.json()["expires_in"] > 0
    wrong = client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers=basic(data["client"], "not-the-secret")
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = client.post("/auth/token", data={"grant_type": "password"}, headers=basic(data["client"]))
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    bare = client.post("/auth/token", data={"grant_type": "client_credentials"})
    assert bare.status_code == 401 and bare.json()["error"] == "invalid_client"
    discovery = client.get("/.well-known/openid-configuration").json()
    assert discovery["token_endpoint"].endswith("/auth/token") and discovery["token_endpoint"].startswith("https://")


def test_bad_or_missing_tokens_are_401_and_other_roles_403(world, https):
    client, _ = https
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = client.get("/3/footprints", headers=headers)
        assert response.status_code == 401
        assert_valid(ERROR, response.json())
    engineer = client.get("/3/footprints", headers=world.as_("acme-engineer"))
    assert engineer.status_code == 403 and engineer.json()["code"] == "AccessDenied"


def test_plain_http_is_refused(world, https, bearer):
    response = world.client.get("/3/footprints", headers=bearer)  # the same app over plain HTTP
    assert response.status_code == 400 and response.json() == {
        "code": "BadRequest",
        "message": "the PACT API is served over HTTPS only",
    }
    assert world.client.post("/auth/token", data={"grant_type": "client_credentials"}).status_code == 400
    _, port = https
    with pytest.raises(httpx.HTTPError):  # the TLS port does not speak plain HTTP
        response = httpx.get(f"http://127.0.0.1:{port}/3/footprints", headers=bearer, timeout=5)
        response.raise_for_status()


def test_the_list_holds_certified_and_shared_footprints_only(https, bearer, data):
    client, _ = https
    response = client.get("/3/footprints", headers=bearer)
    assert response.status_code == 200 and "link" not in response.headers
    assert_valid(LIST, response.json())
    ids = {footprint["id"] for footprint in response.json()["data"]}
    assert {data["first"], data["newer"], data["glass"]} <= ids
    assert data["steel"] not in ids and data["rival"] not in ids


def test_a_superseded_footprint_is_deprecated_and_named_by_its_successor(https, bearer, data):
    client, _ = https
    footprints = {f["id"]: f for f in client.get("/3/footprints", headers=bearer).json()["data"]}
    assert footprints[data["first"]]["status"] == "Deprecated"
    assert footprints[data["newer"]]["status"] == "Active"
    assert footprints[data["newer"]]["precedingPfIds"] == [data["first"]]


def test_pagination_follows_absolute_links_across_pages(https, bearer):
    client, port = https
    everything = [f["id"] for f in client.get("/3/footprints", headers=bearer).json()["data"]]
    seen, url = [], "/3/footprints?limit=1&geography=CN"
    while url:
        response = client.get(url, headers=bearer)
        assert response.status_code == 200 and len(response.json()["data"]) <= 1
        assert_valid(LIST, response.json())
        seen += [f["id"] for f in response.json()["data"]]
        link = response.headers.get("link")
        if link is None:
            break
        target = link.split(";")[0].strip("<>")
        assert target.startswith(f"https://127.0.0.1:{port}/3/footprints?") and 'rel="next"' in link
        assert client.get(target, headers=bearer).json() == client.get(target, headers=bearer).json()  # reusable
        url = target
    assert seen == everything and len(seen) >= 3


def _ids(client, bearer, **params) -> set[str]:
    response = client.get("/3/footprints", headers=bearer, params=params)
    assert response.status_code == 200, response.text
    assert_valid(LIST, response.json())
    return {f["id"] for f in response.json()["data"]}


def test_every_filter_matches_and_excludes(world, https, bearer, data):
    client, _ = https
    cement = {data["first"], data["newer"]}
    glass = {data["glass"]}
    company = f"urn:uuid:{world.organisations['acme']}"
    assert _ids(client, bearer, productId=f"urn:gtin:{GTIN}") == cement
    assert _ids(client, bearer, productId=f"URN:GTIN:{GTIN}") == cement  # case-insensitive
    assert _ids(client, bearer, productId="urn:gtin:0000000000000") == set()
    assert _ids(client, bearer, productId=[f"urn:gtin:{GTIN}", "urn:gtin:1"]) == cement  # repeated: OR
    assert cement | glass <= _ids(client, bearer, companyId=company)
    assert _ids(client, bearer, companyId="urn:uuid:00000000-0000-0000-0000-000000000000") == set()
    assert _ids(client, bearer, geography="CN-GZ") == cement
    assert _ids(client, bearer, geography="cn-he") == glass
    assert cement | glass <= _ids(client, bearer, geography="CN")
    assert _ids(client, bearer, geography="DE") == set()
    assert _ids(client, bearer, classification="urn:pact:productclassification:pcf-service-pcr:pcr-cn-cement") == cement
    assert _ids(client, bearer, classification="urn:pact:productclassification:other:x") == set()
    assert _ids(client, bearer, status="Deprecated") == {data["first"]}
    assert data["newer"] in _ids(client, bearer, status="active")
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cement <= _ids(client, bearer, validOn=today)
    assert _ids(client, bearer, validOn="2001-01-01T00:00:00Z") == set()
    assert cement <= _ids(client, bearer, validAfter="2020-01-01T00:00:00Z")
    assert not cement & _ids(client, bearer, validAfter="2099-01-01T00:00:00Z")
    assert cement <= _ids(client, bearer, validBefore="2099-01-01T00:00:00Z")
    assert not cement & _ids(client, bearer, validBefore="2020-01-01T00:00:00Z")
    assert _ids(client, bearer, geography="CN-GZ", status="Active") == {data["newer"]}  # different: AND
    assert _ids(client, bearer, status="Retired") == set()  # an unknown status matches nothing: 200, empty
    bad = client.get("/3/footprints", headers=bearer, params={"validOn": "yesterday"})
    assert bad.status_code == 400 and bad.json()["code"] == "BadRequest"
    assert client.get("/3/footprints", headers=bearer, params={"limit": "-1"}).status_code == 400


def test_get_by_id_unknown_and_forbidden(https, bearer, data):
    client, _ = https
    found = client.get(f"/3/footprints/{data['newer']}", headers=bearer)
    assert found.status_code == 200
    assert_valid(ONE, found.json())
    unknown = client.get("/3/footprints/00000000-0000-4000-8000-000000000000", headers=bearer)
    assert unknown.status_code == 404 and unknown.json()["code"] == "NotFound"
    assert_valid(ERROR, unknown.json())
    for hidden in (data["rival"], data["steel"]):  # exists, not for this recipient: the same answer as unknown
        hidden_answer = client.get(f"/3/footprints/{hidden}", headers=bearer)
        assert hidden_answer.status_code == 404 and hidden_answer.json() == unknown.json()
    assert client.get("/3/footprints/not-a-uuid", headers=bearer).status_code == 400


def test_the_mapping_of_the_cement_example(https, bearer, data, world):
    """Cement example (Guizhou, 2023, 1 t): declared unit 1 t = 1000 kilogram; pcfExcludingBiogenicUptake = our
    total + biogenic CO2 emitted; including = excluding - biogenic CO2 removed; reference period end exclusive."""
    client, _ = https
    footprint = client.get(f"/3/footprints/{data['newer']}", headers=bearer).json()["data"]
    ours = world.call("acme-engineer", "GET", f"/api/v1/footprints/{data['newer']}").json()["result"]
    pcf = footprint["pcf"]
    assert (pcf["declaredUnitOfMeasurement"], pcf["declaredUnitAmount"], pcf["productMassPerDeclaredUnit"]) == (
        "kilogram",
        "1000",
        "1000",
    )
    excluding = ours["total_kg_co2e"] + ours["biogenic_co2_emission_kg"]
    assert float(pcf["pcfExcludingBiogenicUptake"]) == pytest.approx(excluding, abs=1e-6)
    assert float(pcf["pcfIncludingBiogenicUptake"]) == pytest.approx(
        excluding - ours["biogenic_co2_removal_kg"], abs=1e-6
    )
    assert float(pcf["fossilGhgEmissions"]) == pytest.approx(ours["fossil_kg_co2e"], abs=1e-6)
    assert pcf["geographyCountrySubdivision"] == "CN-GZ" and "geographyCountry" not in pcf
    assert (pcf["referencePeriodStart"], pcf["referencePeriodEnd"]) == ("2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
    assert pcf["ipccCharacterizationFactors"] == ["AR6"] and pcf["crossSectoralStandards"] == ["ISO14067"]
    assert pcf["productOrSectorSpecificRules"][0]["ruleNames"] == ["PCR-CN-CEMENT 1.0.0"]
    assert pcf["verification"]["coverage"] == "product level"
    assert pcf["verification"]["comments"].startswith("carbon label PCF-")
    assert footprint["productIds"][0] == f"urn:gtin:0{GTIN}"  # stored and exchanged as GTIN-14


def test_sharing_goes_only_to_the_organisations_own_recipients(world, data):
    rival_client = world.call(
        "rival-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['rival']}/clients",
        json={"name": "rival ERP", "role": "pact_recipient"},
    ).json()
    response = world.call(
        "acme-engineer",
        "POST",
        f"/api/v1/footprints/{data['steel']}/pact-shares",
        json={"client_id": rival_client["client_id"]},
    )
    assert response.status_code == 404
    again = world.call(
        "acme-engineer",
        "POST",
        f"/api/v1/footprints/{data['glass']}/pact-shares",
        json={"client_id": data["client"]["client_id"]},
    )
    assert again.status_code == 409
    person = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/users",
        json={
            "email": "erp@test.example",
            "name": "ERP",
            "password": "a long enough password",
            "role": "pact_recipient",
        },
    )
    assert person.status_code == 403


# --- events -----------------------------------------------------------------------------------------------------

EVENT = "application/cloudevents+json"


@pytest.fixture(scope="module")
def recipient_api(certificate):
    """The customer's own PACT host over HTTPS: issues a token to this service, records the events it receives."""
    from fastapi import FastAPI, Form, Header, Request
    from fastapi.responses import JSONResponse, Response

    received: list[dict] = []
    app = FastAPI()

    @app.post("/auth/token")
    def token(grant_type: Annotated[str, Form()], authorization: Annotated[str, Header()] = ""):
        if authorization != "Basic " + base64.b64encode(b"pcf-service:issued-by-customer").decode():
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return {"access_token": "customer-token", "token_type": "bearer"}

    @app.post("/3/events")
    async def events(request: Request):
        if request.headers.get("authorization") != "Bearer customer-token":
            return JSONResponse({"code": "BadRequest", "message": "token"}, status_code=401)
        assert request.headers["content-type"] == EVENT
        received.append(json.loads(await request.body()))
        return Response(status_code=200)

    with served_over_tls(app, certificate) as base:
        yield base, received


@pytest.fixture
def trusts_the_test_certificate(certificate, monkeypatch):
    from footprint_api.core.settings import get_settings

    monkeypatch.setenv("PCF_PACT_CA_BUNDLE", str(certificate[0]))
    # the recipient's API of these tests listens on loopback: allowed explicitly, as a deployment allows a partner
    monkeypatch.setenv("PCF_OUTBOUND_ALLOWED_NETWORKS", '["127.0.0.1/32"]')
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def request_event(event_id: str, **criteria) -> dict:
    return {
        "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
        "specversion": "1.0",
        "id": event_id,
        "source": "//customer.example/3/events",
        "time": "2026-11-24T08:00:00Z",
        "data": criteria,
    }


def wait_for(received: list, request_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in received:
            if event["data"].get("requestEventId") == request_id:
                return event
        time.sleep(0.05)
    raise AssertionError(f"no answer to {request_id}")


def test_a_request_event_is_answered_by_a_callback(
    world, https, bearer, data, recipient_api, trusts_the_test_certificate
):
    client, _ = https
    base_url, received = recipient_api
    registered = world.call(
        "acme-admin",
        "PUT",
        f"/api/v1/pact-recipients/{data['client']['client_id']}/endpoint",
        json={"base_url": base_url, "client_id": "pcf-service", "client_secret": "issued-by-customer"},
    )
    assert registered.status_code == 200, registered.text
    wanted = request_event("req-cement-1", productId=[f"urn:gtin:{GTIN}"], status="Active")
    response = client.post("/3/events", content=json.dumps(wanted), headers={**bearer, "Content-Type": EVENT})
    assert response.status_code == 200 and response.content == b""
    answer = wait_for(received, "req-cement-1")
    assert answer["type"] == "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
    assert [pf["id"] for pf in answer["data"]["pfs"]] == [data["newer"]]
    events_schema = {"$ref": "urn:pact#/components/schemas/RequestFulfilledEvent"}
    assert_valid(events_schema, answer)

    unknown = request_event("req-unknown-2", productId=["urn:gtin:0000000000000"])
    assert (
        client.post("/3/events", content=json.dumps(unknown), headers={**bearer, "Content-Type": EVENT}).status_code
        == 200
    )
    rejected = wait_for(received, "req-unknown-2")
    assert rejected["type"] == "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"
    assert rejected["data"]["error"]["code"] == "NotFound"
    assert_valid({"$ref": "urn:pact#/components/schemas/RequestRejectedEvent"}, rejected)


def nested(levels: int) -> list:
    value: list = [1]
    for _ in range(levels):
        value = [value]
    return value


def test_malformed_events_are_400(https, bearer):
    client, _ = https
    good = request_event("req-x", productId=["urn:gtin:1"])
    cases = [
        (json.dumps(good), "application/json"),  # wrong media type
        ("{not json", EVENT),
        (json.dumps({**good, "type": "org.example.Unknown"}), EVENT),
        (json.dumps({k: v for k, v in good.items() if k != "source"}), EVENT),  # required attribute missing
        (json.dumps({**good, "data": {"productId": "not-a-list"}}), EVENT),
        (json.dumps({**good, "time": "not-a-date"}), EVENT),  # formats are checked, not only types
        (json.dumps({**good, "id": "x" * 5000}), EVENT),  # longer than the service keeps: 400, not a 500
        ('{"a":' * 5000 + "1" + "}" * 5000, EVENT),  # nested deeper than any event
        (json.dumps({**good, "data": {"productId": ["urn:gtin:1"], "deep": nested(40)}}), EVENT),
    ]
    for body, media in cases:
        response = client.post("/3/events", content=body, headers={**bearer, "Content-Type": media})
        assert response.status_code == 400 and response.json()["code"] == "BadRequest", (body, response.text)
    published = {
        "type": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
        "specversion": "1.0",
        "id": "p-1",
        "source": "//customer.example/3/events",
        "time": "2026-11-24T08:00:00Z",
        "data": {"pfIds": ["079e425a-464f-528d-341d-4a944a1dfd70"]},
    }
    not_a_uuid = {**published, "id": "p-2", "data": {"pfIds": ["not-a-uuid"]}}
    refused = client.post("/3/events", content=json.dumps(not_a_uuid), headers={**bearer, "Content-Type": EVENT})
    assert refused.status_code == 400 and "uuid" in refused.json()["message"]
    assert (
        client.post("/3/events", content=json.dumps(published), headers={**bearer, "Content-Type": EVENT}).status_code
        == 200
    )
    assert client.post("/3/events", content=json.dumps(good), headers={"Content-Type": EVENT}).status_code == 401


def test_a_recipient_endpoint_must_be_https(world, data):
    response = world.call(
        "acme-admin",
        "PUT",
        f"/api/v1/pact-recipients/{data['client']['client_id']}/endpoint",
        json={"base_url": "http://customer.example", "client_id": "x", "client_secret": "y"},
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "base_url"
    other = world.call(
        "rival-admin",
        "PUT",
        f"/api/v1/pact-recipients/{data['client']['client_id']}/endpoint",
        json={"base_url": "https://evil.example", "client_id": "x", "client_secret": "y"},
    )
    assert other.status_code == 404


def test_a_disabled_recipient_loses_access_at_once(world, https):
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import ApiClient

    client, _ = https
    erp = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/clients",
        json={"name": "old ERP", "role": "pact_recipient"},
    ).json()
    token = client.post("/auth/token", data={"grant_type": "client_credentials"}, headers=basic(erp)).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/3/footprints", headers=headers).status_code == 200
    with session_scope() as session:
        record = session.exec(select(ApiClient).where(ApiClient.client_id == erp["client_id"])).one()
        record.active = False
        session.add(record)
        session.commit()
    refused = client.get("/3/footprints", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "BadRequest"
    assert_valid(ERROR, refused.json())


def _served(trusted: list[str], peer: str):
    """The application as `pcf serve` runs it over plain HTTP (uvicorn's own wrapping, with the proxy options serve
    gives it), reached from `peer`."""
    from fastapi.testclient import TestClient

    from footprint_api.app import create_app
    from footprint_api.cli import proxy_headers
    from footprint_api.core.settings import Settings

    config = uvicorn.Config(create_app(), **proxy_headers(Settings(trusted_proxies=trusted)))
    config.load()
    return TestClient(config.loaded_app, client=(peer, 42000))


@pytest.mark.parametrize(("trusted", "peer"), [([], "192.0.2.8"), (["10.0.0.0/24"], "192.0.2.8")])
def test_x_forwarded_proto_from_an_untrusted_peer_is_not_tls(bearer, trusted, peer):
    """Issue 19 item 4: `X-Forwarded-Proto: https` over plain HTTP once satisfied the TLS-only rule."""
    with _served(trusted, peer) as client:
        response = client.get("/3/footprints", headers={**bearer, "X-Forwarded-Proto": "https"})
    assert response.status_code == 400 and response.json()["message"] == "the PACT API is served over HTTPS only"


def test_a_trusted_proxys_tls_is_the_requests_tls(bearer):
    with _served(["10.0.0.0/24"], "10.0.0.7") as client:
        response = client.get("/3/footprints", headers={**bearer, "X-Forwarded-Proto": "https"})
        plain = client.get("/3/footprints", headers=bearer)  # the proxy itself says nothing: plain HTTP
    assert response.status_code == 200 and plain.status_code == 400


def test_a_labels_validity_is_its_beijing_days_in_utc():
    """A label valid 2025-12-08 .. 2028-12-07 (Beijing calendar days, UTC+8) is valid in PACT from 2025-12-08 00:00
    Beijing = 2025-12-07T16:00:00Z until 2028-12-08 00:00 Beijing = 2028-12-07T16:00:00Z; so at 2025-12-07T22:50Z
    (06:50 on 8 December in Beijing) `validOn` finds it."""
    from datetime import date

    from footprint_api.services.pact.mapping import _label_day_start

    assert _label_day_start(date(2025, 12, 8)) == "2025-12-07T16:00:00Z"
    assert _label_day_start(date(2028, 12, 8)) == "2028-12-07T16:00:00Z"
