"""Organisation isolation: every read and write route tried as another organisation's user gives 403/404, never data."""

import uuid
from datetime import date, timedelta

import pytest

from tests.conftest import ROOT, load_example
from tests.labelling import act, issued_label
from tests.test_api_inventories import unique_serials

# Routes that hold no organisation's data (or only the caller's own identity), so isolation does not apply.
NOT_ORGANISATION_DATA = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/revoke"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/pcrs"),
    ("GET", "/api/v1/pcrs/{pcr_id}"),
    ("GET", "/api/v1/pcrs/{pcr_id}/template.xlsx"),
    ("GET", "/api/v1/pcrs/language/schema.json"),
    ("GET", "/api/v1/certification-bodies"),
    ("POST", "/api/v1/organisations"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    # creating in one's own organisation: the created object belongs to the caller
    ("POST", "/api/v1/products"),
    ("POST", "/api/v1/facilities"),
    ("POST", "/api/v1/signing-keys"),
    ("POST", "/api/v1/applications"),  # applying with another's footprint: test_certification covers the 404
    ("POST", "/api/v1/notices/read-all"),  # marks the caller's own notices only (tests/test_notices.py)
    # a batch of another's inventories is refused as unknown ids are, each named: tests/test_batches.py
    ("POST", "/api/v1/batches"),
    # public by design: what a label claims, for anyone who scans it
    ("GET", "/verify/{number}"),
    ("GET", "/V/{number}"),
    ("GET", "/verify"),
    ("GET", "/api/v1/public/labels/{number}"),
    ("GET", "/01/{gtin}"),
    ("GET", "/labels/{number}.{fmt}"),
    ("GET", "/labels/{number}/{name}"),
    ("GET", "/.well-known/pcf-label-keys.json"),
    ("GET", "/api/v1/public/registry"),
    ("GET", "/api/v1/public/compare"),
    ("POST", "/api/v1/public/verify-batch"),
    # PACT: HTTPS only and for PACT recipient clients; what each recipient sees is tested in tests/test_pact.py
    ("POST", "/auth/token"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/3/footprints"),
    ("GET", "/3/footprints/{footprint_id}"),
    ("POST", "/3/events"),
    # creating in one's own organisation (a buyer's supplier connection, a PACT file it was given)
    ("POST", "/api/v1/supplier-connections"),
    ("POST", "/api/v1/supplier-footprints"),
    # the factor database: public by design (a release publishes only what its disclosure rule allows)
    ("GET", "/api/v1/factor-releases"),
    ("GET", "/api/v1/factor-releases/{number}"),
    ("GET", "/api/v1/factor-releases/{number}/entries"),
    ("GET", "/api/v1/factor-releases/{number}/entries/{key}"),
    ("GET", "/api/v1/factor-releases/{number}/files/{name}"),
    # benchmarks, grades and the open data of the registry: public
    ("GET", "/api/v1/public/benchmarks"),
    ("GET", "/api/v1/public/benchmarks/{key}"),
    ("GET", "/api/v1/public/label-grades/{number}"),
    ("GET", "/api/v1/public/open-data/registry.{fmt}"),
    ("GET", "/api/v1/public/open-data/benchmarks.{fmt}"),
    # the platform admin's platform-wide benchmarks (403 for everyone else: tests/test_web_benchmarks.py)
    ("POST", "/api/v1/benchmarks/registry"),
    ("POST", "/api/v1/benchmarks/cited"),
    ("POST", "/api/v1/benchmarks/cited/preview"),
    # the comparable groups of the public registry, offered to buyers
    ("GET", "/api/v1/procurement/groups"),
    # the activities of the background databases in use: the deployment's, for every signed-in PCR author
    ("GET", "/api/v1/backgrounds/activities"),
}


@pytest.fixture(scope="module")
def victim(world):
    """Acme's objects: a product, a facility, an inventory with certificates, a job, a footprint (submitted to cb)."""
    product = world.product("acme-engineer", "PCR-CN-ALUMINIUM", "acme confidential smelter")
    facility = world.call(
        "acme-engineer", "POST", "/api/v1/facilities", json={"name": "acme plant", "province": "Guizhou"}
    ).json()
    data = unique_serials(load_example("aluminium-guizhou-2023.json"))
    inventory = world.submit("acme-engineer", product["id"], data).json()
    job = world.calculate("acme-engineer", inventory["id"])
    world.call(
        "acme-engineer",
        "POST",
        f"/api/v1/footprints/{job['footprint_id']}/submissions",
        json={"certification_body_id": str(world.organisations["cb"])},
    )
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": job["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()
    act(world, "acme-engineer", application["id"], "submit")
    act(world, "cb-verifier", application["id"], "start_review")
    finding = world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/applications/{application['id']}/findings",
        json={"subject": "items[0]", "text": "show the meter"},
    ).json()
    document = world.call(
        "acme-engineer",
        "POST",
        f"/api/v1/applications/{application['id']}/evidence",
        files={"file": ("meter.pdf", b"%PDF-1.4\n%%EOF\n")},
    ).json()
    label = issued_label(world, gtin=None)
    draft = world.call(
        "sb-author", "POST", f"/api/v1/pcrs/{SB_DRAFT}/versions", json={"version": "0.1.0", "start_from": "empty"}
    )
    assert draft.status_code == 201, draft.text
    acme_users = world.call("acme-admin", "GET", f"/api/v1/organisations/{world.organisations['acme']}/users").json()
    client = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/clients",
        json={"name": "acme connector", "role": "manufacturer_member"},
    ).json()
    notice = world.call("acme-engineer", "GET", "/api/v1/notices").json()["items"][
        0
    ]  # one of acme's engineer's notices
    connection = world.call(
        "acme-admin",
        "POST",
        "/api/v1/supplier-connections",
        json={
            "name": "acme confidential supplier",
            "base_url": "https://93.184.216.34",
            "client_id": "x",
            "client_secret": "y",
        },
    )
    assert connection.status_code == 201, connection.text
    example = (ROOT / "footprint_api/services/pact/spec/examples/example-1.json").read_bytes()
    received = world.call("acme-engineer", "POST", "/api/v1/supplier-footprints", files={"file": ("pf.json", example)})
    assert received.status_code == 201, received.text
    return {
        "supplier_connection_id": connection.json()["id"],
        "supplier_footprint_id": received.json()["id"],
        "notice_id": notice["id"],
        "user_id": next(u["id"] for u in acme_users if u["name"] == "acme-engineer"),
        "client_id": client["id"],
        "product": product,
        "facility": facility,
        "inventory": inventory,
        "job": job,
        "application_id": application["id"],
        "label": label["number"],
        "finding_id": finding["id"],
        "document_id": document["id"],
        "footprint_id": job["footprint_id"],
        "serial": data["green_certificates"][0]["serial"],
        "organisation_id": str(world.organisations["acme"]),
    }


def attempts(world, victim):
    """(method, route template, url, kwargs) for every route holding organisation data, aimed at acme's objects."""
    other_inventory = unique_serials(load_example("aluminium-guizhou-2023.json"))
    acme = victim["organisation_id"]
    application = victim["application_id"]
    return [
        ("GET", "/api/v1/products/{product_id}", f"/api/v1/products/{victim['product']['id']}", {}),
        ("GET", "/api/v1/facilities/{facility_id}", f"/api/v1/facilities/{victim['facility']['id']}", {}),
        (
            "GET",
            "/api/v1/facilities/{facility_id}/certificate-pool",
            f"/api/v1/facilities/{victim['facility']['id']}/certificate-pool",
            {},
        ),
        (
            "PATCH",
            "/api/v1/products/{product_id}",
            f"/api/v1/products/{victim['product']['id']}",
            {"json": {"name": "stolen"}},
        ),
        (
            "PATCH",
            "/api/v1/facilities/{facility_id}",
            f"/api/v1/facilities/{victim['facility']['id']}",
            {"json": {"name": "stolen"}},
        ),
        ("GET", "/api/v1/inventories/{inventory_id}", f"/api/v1/inventories/{victim['inventory']['id']}", {}),
        (
            "POST",
            "/api/v1/inventories",
            "/api/v1/inventories",
            {"json": {"product_id": victim["product"]["id"], "inventory": other_inventory}},
        ),
        (
            "POST",
            "/api/v1/inventories/excel",
            "/api/v1/inventories/excel",
            {"data": {"product_id": victim["product"]["id"]}, "files": {"file": ("x.xlsx", b"not a workbook")}},
        ),
        (
            "POST",
            "/api/v1/inventories/{inventory_id}/calculations",
            f"/api/v1/inventories/{victim['inventory']['id']}/calculations",
            {"json": {}},
        ),
        ("GET", "/api/v1/jobs/{job_id}", f"/api/v1/jobs/{victim['job']['id']}", {}),
        *batch_attempts(victim),
        ("GET", "/api/v1/footprints/{footprint_id}", f"/api/v1/footprints/{victim['footprint_id']}", {}),
        (
            "POST",
            "/api/v1/footprints/{footprint_id}/submissions",
            f"/api/v1/footprints/{victim['footprint_id']}/submissions",
            {"json": {"certification_body_id": str(world.organisations["cb2"])}},
        ),
        (
            "POST",
            "/api/v1/organisations/{organisation_id}/users",
            f"/api/v1/organisations/{acme}/users",
            {
                "json": {
                    "email": "intruder@test.example",
                    "name": "I",
                    "password": "a long enough password",
                    "role": "manufacturer_admin",
                }
            },
        ),
        (
            "POST",
            "/api/v1/organisations/{organisation_id}/clients",
            f"/api/v1/organisations/{acme}/clients",
            {"json": {"name": "intruder", "role": "manufacturer_admin"}},
        ),
        (
            "PUT",
            "/api/v1/pact-recipients/{client_id}/endpoint",
            "/api/v1/pact-recipients/pcf_victim/endpoint",
            {"json": {"base_url": "https://evil.example", "client_id": "x", "client_secret": "y"}},
        ),
        (
            "GET",
            "/api/v1/footprints/{footprint_id}/report.pdf",
            f"/api/v1/footprints/{victim['footprint_id']}/report.pdf",
            {},
        ),
        ("GET", "/api/v1/footprints/{footprint_id}/cbam", f"/api/v1/footprints/{victim['footprint_id']}/cbam", {}),
        ("GET", "/api/v1/footprints/{footprint_id}/supply", f"/api/v1/footprints/{victim['footprint_id']}/supply", {}),
        (
            "POST",
            "/api/v1/footprints/{footprint_id}/actions/recalculate-with-newer-supplier-data",
            f"/api/v1/footprints/{victim['footprint_id']}/actions/recalculate-with-newer-supplier-data",
            {},
        ),
        (
            "POST",
            "/api/v1/footprints/{footprint_id}/pact-shares",
            f"/api/v1/footprints/{victim['footprint_id']}/pact-shares",
            {"json": {"client_id": "pcf_anything"}},
        ),
        ("GET", "/api/v1/applications/{application_id}", f"/api/v1/applications/{application}", {}),
        ("GET", "/api/v1/applications/{application_id}/review", f"/api/v1/applications/{application}/review", {}),
        ("GET", "/api/v1/applications/{application_id}/findings", f"/api/v1/applications/{application}/findings", {}),
        (
            "POST",
            "/api/v1/applications/{application_id}/findings",
            f"/api/v1/applications/{application}/findings",
            {"json": {"subject": "items[0]", "text": "intrusion"}},
        ),
        (
            "POST",
            "/api/v1/applications/{application_id}/actions/{action}",
            f"/api/v1/applications/{application}/actions/approve",
            {"json": {"comment": "x"}},
        ),
        (
            "POST",
            "/api/v1/applications/{application_id}/findings/{finding_id}/actions/{action}",
            f"/api/v1/applications/{application}/findings/{victim['finding_id']}/actions/answer",
            {"json": {"text": "intrusion"}},
        ),
        (
            "POST",
            "/api/v1/applications/{application_id}/evidence",
            f"/api/v1/applications/{application}/evidence",
            {"files": {"file": ("x.pdf", b"%PDF-1.4\n")}},
        ),
        ("GET", "/api/v1/applications/{application_id}/evidence", f"/api/v1/applications/{application}/evidence", {}),
        ("GET", "/api/v1/applications/{application_id}/workbook", f"/api/v1/applications/{application}/workbook", {}),
        (
            "GET",
            "/api/v1/applications/{application_id}/evidence/{document_id}",
            f"/api/v1/applications/{application}/evidence/{victim['document_id']}",
            {},
        ),
        (
            "POST",
            "/api/v1/labels/{number}/actions/{action}",
            f"/api/v1/labels/{victim['label']}/actions/revoke",
            {"json": {"comment": "intrusion"}},
        ),
        ("GET", "/api/v1/organisations/{organisation_id}/users", f"/api/v1/organisations/{acme}/users", {}),
        ("GET", "/api/v1/organisations/{organisation_id}/clients", f"/api/v1/organisations/{acme}/clients", {}),
        ("POST", "/api/v1/users/{user_id}/disable", f"/api/v1/users/{victim['user_id']}/disable", {}),
        ("POST", "/api/v1/users/{user_id}/enable", f"/api/v1/users/{victim['user_id']}/enable", {}),
        (
            "POST",
            "/api/v1/users/{user_id}/password",
            f"/api/v1/users/{victim['user_id']}/password",
            {"json": {"password": "an intruder's password"}},
        ),
        ("POST", "/api/v1/clients/{client_id}/disable", f"/api/v1/clients/{victim['client_id']}/disable", {}),
        ("POST", "/api/v1/clients/{client_id}/enable", f"/api/v1/clients/{victim['client_id']}/enable", {}),
        ("POST", "/api/v1/notices/{notice_id}/read", f"/api/v1/notices/{victim['notice_id']}/read", {}),
        (
            "PATCH",
            "/api/v1/organisations/{organisation_id}",
            f"/api/v1/organisations/{acme}",
            {"json": {"address": "stolen"}},
        ),
        *supplier_attempts(victim),
        *factor_attempts(victim),
        *procurement_attempts(),
    ]


def supplier_attempts(victim):
    """Acme's connection to a supplier's PACT API and a PACT file it uploaded (a rival 404, a body 403)."""
    connection = f"/api/v1/supplier-connections/{victim['supplier_connection_id']}"
    footprint = f"/api/v1/supplier-footprints/{victim['supplier_footprint_id']}"
    return [
        ("GET", "/api/v1/supplier-connections/{connection_id}", connection, {}),
        ("PATCH", "/api/v1/supplier-connections/{connection_id}", connection, {"json": {"name": "stolen"}}),
        ("POST", "/api/v1/supplier-connections/{connection_id}/deactivate", f"{connection}/deactivate", {}),
        (
            "POST",
            "/api/v1/supplier-connections/{connection_id}/pulls",
            f"{connection}/pulls",
            {"json": {"pf_id": "12345678-9abc-def0-1234-567812345678"}},
        ),
        ("GET", "/api/v1/supplier-footprints/{footprint_id}", footprint, {}),
        ("GET", "/api/v1/supplier-footprints/{footprint_id}/document", f"{footprint}/document", {}),
    ]


def factor_attempts(victim):
    """The platform admin's cut of a factor-database release (403 for everyone else) and acme's consent on its label
    (a rival 404, a body 403)."""
    consent = f"/api/v1/labels/{victim['label']}/factor-consent"
    return [
        ("GET", "/api/v1/factor-releases/preview", "/api/v1/factor-releases/preview", {}),
        (
            "POST",
            "/api/v1/factor-releases",
            "/api/v1/factor-releases",
            {"json": {"number": "2099.1", "title": "x", "title_zh": "x"}},
        ),
        ("PUT", "/api/v1/labels/{number}/factor-consent", consent, {"json": {"level": "named"}}),
        ("DELETE", "/api/v1/labels/{number}/factor-consent", consent, {}),
    ]


def procurement_attempts():
    """A buyer's evaluations: procurement roles only (403 for the intruders, whatever the id); another buyer's
    evaluation is 404 (tests/test_procurement.py)."""
    evaluation = f"/api/v1/procurement/evaluations/{uuid.uuid4()}"
    return [
        (
            "POST",
            "/api/v1/procurement/evaluations",
            "/api/v1/procurement/evaluations",
            {
                "json": {
                    "title": "t",
                    "group": "PCR-CN-CEMENT~1~~1 t",
                    "rule": "max_value",
                    "rule_value": 1,
                    "award_date": "2030-01-01",
                }
            },
        ),
        ("GET", "/api/v1/procurement/evaluations/{evaluation_id}", evaluation, {}),
        (
            "POST",
            "/api/v1/procurement/evaluations/{evaluation_id}/candidates",
            f"{evaluation}/candidates",
            {"json": {"candidates": ["6901234567892"]}},
        ),
        (
            "POST",
            "/api/v1/procurement/evaluations/{evaluation_id}/candidates/upload",
            f"{evaluation}/candidates/upload",
            {"files": {"file": ("l.csv", b"GTIN\n6901234567892\n")}},
        ),
        (
            "DELETE",
            "/api/v1/procurement/evaluations/{evaluation_id}/candidates/{candidate_id}",
            f"{evaluation}/candidates/{uuid.uuid4()}",
            {},
        ),
        ("POST", "/api/v1/procurement/evaluations/{evaluation_id}/evaluate", f"{evaluation}/evaluate", {}),
        (
            "POST",
            "/api/v1/procurement/evaluations/{evaluation_id}/award",
            f"{evaluation}/award",
            {"json": {"candidate_ids": [str(uuid.uuid4())]}},
        ),
        (
            "GET",
            "/api/v1/procurement/evaluations/{evaluation_id}/sheets/{number}.{fmt}",
            f"{evaluation}/sheets/1.pdf",
            {},
        ),
    ]


# a standards body's draft (a PCR of its own, never published): only that body sees it
SB_DRAFT = "PCR-SB-CONFIDENTIAL-DRAFT"
PCR_VERSION = f"/api/v1/pcrs/{SB_DRAFT}/versions/0.1.0"


def pcr_attempts():
    """The PCR registry's routes aimed at the standards body's draft (and at the PCR it stewards)."""
    return [
        ("GET", "/api/v1/pcrs/{pcr_id}/versions/{version}", PCR_VERSION, {}),
        (
            "PUT",
            "/api/v1/pcrs/{pcr_id}/versions/{version}/document",
            f"{PCR_VERSION}/document",
            {"json": {"id": SB_DRAFT, "version": "0.1.0"}},
        ),
        (
            "POST",
            "/api/v1/pcrs/{pcr_id}/versions/{version}/actions/{action}",
            f"{PCR_VERSION}/actions/withdraw",
            {"json": {"reason": "intrusion"}},
        ),
        (
            "POST",
            "/api/v1/pcrs/{pcr_id}/versions/{version}/comments",
            f"{PCR_VERSION}/comments",
            {"json": {"path": "general", "text": "intrusion"}},
        ),
        (
            "POST",
            "/api/v1/pcrs/{pcr_id}/versions/{version}/comments/{comment_id}/answer",
            f"{PCR_VERSION}/comments/00000000-0000-4000-8000-000000000000/answer",
            {"json": {"decision": "accepted"}},
        ),
        (
            "POST",
            "/api/v1/pcrs/{pcr_id}/versions",
            f"/api/v1/pcrs/{SB_DRAFT}/versions",
            {"json": {"version": "0.2.0", "start_from": "empty"}},
        ),
        (
            "PUT",
            "/api/v1/pcrs/{pcr_id}/steward",
            f"/api/v1/pcrs/{SB_DRAFT}/steward",
            {"json": {"organisation_id": "00000000-0000-4000-8000-000000000000"}},
        ),
        *background_attempts(),
    ]


def batch_attempts(victim) -> list:
    """Acme's job followed by server-sent events, and acme's job read as a batch (the job of a single calculation is
    no batch: 404 for acme too; acme's own batches: tests/test_batches.py)."""
    job = victim["job"]["id"]
    return [
        ("GET", "/api/v1/jobs/{job_id}/events", f"/api/v1/jobs/{job}/events", {}),
        ("GET", "/api/v1/batches/{batch_id}", f"/api/v1/batches/{job}", {}),
    ]


def background_attempts() -> list:
    """The platform admin's background databases: 403 for everyone else (tests/test_background_api.py)."""
    version = "/api/v1/backgrounds/00000000-0000-4000-8000-000000000000"
    upload = {
        "data": {"name": "stolen", "version": "1", "format": "csv"},
        "files": {"file": ("db.csv", b"Database,stolen\n")},
    }
    return [
        ("POST", "/api/v1/backgrounds", "/api/v1/backgrounds", upload),
        ("GET", "/api/v1/backgrounds", "/api/v1/backgrounds", {}),
        ("GET", "/api/v1/backgrounds/{database_id}", version, {}),
        *(
            ("POST", f"/api/v1/backgrounds/{{database_id}}/{action}", f"{version}/{action}", {})
            for action in ("proceed", "discard", "activate", "retire")
        ),
    ]


LISTS = [
    "/api/v1/products",
    "/api/v1/facilities",
    "/api/v1/inventories",
    "/api/v1/footprints",
    "/api/v1/certificates/retirements",
    "/api/v1/users",
    "/api/v1/audit",
    "/api/v1/audit/verify",
    "/api/v1/applications",
    "/api/v1/labels",
    "/api/v1/organisations",
    "/api/v1/pcrs",
    "/api/v1/notices",
    "/api/v1/audit/export",
    "/api/v1/supply/affected",
    "/api/v1/certification/labels-at-risk",
    "/api/v1/supplier-connections",
    "/api/v1/supplier-footprints",
    "/api/v1/factor-consents",
    "/api/v1/procurement/evaluations",
    "/api/v1/procurement/watched",
]


def test_every_route_is_covered_by_this_test(world, victim):
    paths = world.client.get("/openapi.json").json()["paths"]
    routes = {(method.upper(), path) for path, operations in paths.items() for method in operations}
    covered = {(m, t) for m, t, _, _ in attempts(world, victim) + pcr_attempts()} | {("GET", p) for p in LISTS}
    assert routes - covered - NOT_ORGANISATION_DATA == set()


@pytest.mark.parametrize("intruder", ["rival-engineer", "rival-admin", "cb2-verifier"])
def test_another_organisation_gets_403_or_404_and_no_data(world, victim, intruder):
    secrets = [
        victim["product"]["id"],
        victim["inventory"]["id"],
        victim["footprint_id"],
        victim["serial"],
        "acme confidential smelter",
        victim["facility"]["id"],
        victim["application_id"],
        "acme-engineer@test.example",
        "acme connector",
        "acme confidential supplier",
        victim["supplier_footprint_id"],
        SB_DRAFT,
    ]
    for method, template, url, kwargs in attempts(world, victim) + pcr_attempts():
        response = world.call(intruder, method, url, **kwargs)
        assert response.status_code in (403, 404), (intruder, method, template, response.status_code, response.text)
        assert not any(s in response.text for s in secrets), (intruder, template)


def _list_query(url: str) -> dict | None:
    """The whole visible trail: the newest 1,000 entries, or the export of the days around today."""
    if url.endswith("/export"):
        return {
            "from": (date.today() - timedelta(days=1)).isoformat(),
            "to": (date.today() + timedelta(days=1)).isoformat(),
        }
    return {"limit": 1000} if "audit" in url else None


@pytest.mark.parametrize("intruder", ["rival-engineer", "rival-admin", "cb2-verifier"])
def test_lists_of_another_organisation_show_nothing_of_acme(world, victim, intruder):
    secrets = [
        victim["product"]["id"],
        victim["inventory"]["id"],
        victim["footprint_id"],
        victim["serial"],
        "acme confidential smelter",
        victim["application_id"],
        "acme confidential supplier",
        victim["supplier_footprint_id"],
        SB_DRAFT,
    ]
    for url in LISTS:
        response = world.call(intruder, "GET", url, params=_list_query(url))
        assert response.status_code in (200, 403, 404), (intruder, url)
        assert not any(s in response.text for s in secrets), (intruder, url)


def test_the_certification_body_sees_what_was_submitted_to_it_and_nothing_else(world, victim):
    assert world.call("cb-verifier", "GET", f"/api/v1/footprints/{victim['footprint_id']}").status_code == 200
    listed = world.call("cb-verifier", "GET", "/api/v1/footprints").json()
    assert victim["footprint_id"] in [f["id"] for f in listed]
    assert all(world.call("cb-verifier", "GET", f"/api/v1/footprints/{f['id']}").status_code == 200 for f in listed)
    assert world.call("cb2-verifier", "GET", "/api/v1/footprints").json() == []
    assert world.call("cb-verifier", "GET", f"/api/v1/inventories/{victim['inventory']['id']}").status_code == 403
    assert world.call("cb2-verifier", "GET", f"/api/v1/footprints/{victim['footprint_id']}").status_code == 404
