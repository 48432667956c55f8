"""Background databases through the JSON API (services.backgrounds, in-process queue): uploads imported end to end
to `ready`, activities searchable with unit scores equal to a bw2calc LCA on the imported project, unlinked
exchanges stopping the import until the admin proceeds, unsafe or wrong uploads refused with nothing stored, only
the platform admin writing, versions and activation, and an import the broker did not take sent again by the
housekeeping task."""

import time
import uuid
from pathlib import Path

import pytest

from footprint_api.services import backgrounds
from tests import background_fixtures as fixtures

ADMIN = "root"
NAMES = {a.key: a.name for a in fixtures.SYSTEM}
EXPECTED = fixtures.expected_scores()


@pytest.fixture(scope="module", autouse=True)
def backgrounds_dir(tmp_path_factory):
    """A pack folder of this module's own, and 200 pre-sampled background results (enough for the tests; the
    service's default is 1,000)."""
    folder = tmp_path_factory.mktemp("backgrounds")
    with pytest.MonkeyPatch.context() as patched:
        patched.setenv("PCF_BACKGROUNDS_DIR", str(folder))
        patched.setenv("PCF_BACKGROUND_SAMPLES", "200")
        yield folder


def upload(world, path: Path, name: str, version: str, format: str, user: str = ADMIN):
    with open(path, "rb") as handle:
        return world.call(
            user,
            "POST",
            "/api/v1/backgrounds",
            data={"name": name, "version": version, "format": format},
            files={"file": (path.name, handle.read())},
        )


def wait(world, database_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = world.call(ADMIN, "GET", f"/api/v1/backgrounds/{database_id}").json()
        if row["state"] not in backgrounds.RUNNING:
            return row
        time.sleep(0.05)
    raise AssertionError(f"import {database_id} did not finish in {timeout} s: {row}")


def imported(world, path: Path, name: str, version: str, format: str) -> dict:
    response = upload(world, path, name, version, format)
    assert response.status_code == 202, response.text
    assert response.json()["state"] in backgrounds.RUNNING
    return wait(world, response.json()["id"])


def search(world, user: str = "acme-engineer", **params) -> tuple[list[dict], int]:
    response = world.call(user, "GET", "/api/v1/backgrounds/activities", params=params)
    assert response.status_code == 200, response.text
    return response.json(), int(response.headers["X-Total-Count"])


def bw2calc_scores(project: str, database: str, codes: list[str]) -> dict[str, float]:
    """An independent bw2calc LCA (fresh, IPCC 2021 GWP100) of one unit of each activity, on the imported project."""
    import bw2calc

    from lca_models.backgrounds.importing import in_project
    from lca_models.config import LCASettings
    from lca_models.factor_set import load_factor_set

    method = load_factor_set(LCASettings().factor_set).methods["total"]
    scores = {}
    with in_project(project) as bd:
        for code in codes:
            lca = bw2calc.LCA({bd.get_node(database=database, code=code).id: 1.0}, method)
            lca.lci()
            lca.lcia()
            scores[code] = lca.score
    return scores


@pytest.fixture(scope="module")
def es2(world, tmp_path_factory) -> dict:
    """The ecospold2 fixture imported as es2-db 1."""
    folder = tmp_path_factory.mktemp("es2")
    return imported(world, fixtures.ecospold2_zip(folder / "es2.zip"), "es2-db", "1", "ecospold2")


def test_an_ecospold2_upload_is_imported_prepared_and_searchable(world, es2):
    """Ready with its counts, the solver named, timings per stage, and in use (the first version of its name).
    Each activity's unit score in the search equals a fresh bw2calc LCA on the imported project (the pack is
    computed from the same numbers: within 1e-9) and the independent numpy computation of the fixture (within 1e-6,
    Brightway's datapackages keep amounts in float32)."""
    assert es2["state"] == "ready" and es2["progress"] == 1.0 and es2["in_use"] is True
    assert es2["counts"]["activities"] == 6 and es2["counts"]["indexed"] == 6
    assert es2["problems"] == {"unlinked": [], "other": []} and es2["dropped"] == []
    assert es2["solver"]["solver"] and es2["digest"] and es2["samples"] == 200
    assert {"extracting", "import", "prepare", "sample", "index"} <= set(es2["timings"])
    rows, total = search(world, database="es2-db", size=10)
    assert total == 6 and len(rows) == 6
    assert {(r["database"], r["version"]) for r in rows} == {("es2-db", "1")}
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == set(NAMES.values())
    assert by_name[NAMES["power"]]["unit"] == "kilowatt hour" and by_name[NAMES["power"]]["location"] == "CN"
    assert by_name[NAMES["cement"]]["reference_product"] == "cement, Portland"
    computed = bw2calc_scores("pcf-bg-es2-db-1", "es2-db", [r["code"] for r in rows])
    for row in rows:
        assert row["unit_score"] == pytest.approx(computed[row["code"]], rel=1e-9)
    expected = {NAMES[key]: value for key, value in EXPECTED.items()}
    assert {r["name"]: r["unit_score"] for r in rows} == pytest.approx(expected, rel=1e-6)


def test_the_search_filters_and_pages(world, es2):
    """'cement' is in one name and one reference product (the same activity); RoW holds diesel and the lorry;
    'kilowatt hour' only power; a page beyond the last shows the last; LIKE wildcards are literal."""
    rows, total = search(world, q="CEMENT", database="es2-db")
    assert total == 1 and rows[0]["name"] == NAMES["cement"]
    rows, total = search(world, location="RoW", database="es2-db")
    assert total == 2 and {r["name"] for r in rows} == {NAMES["diesel"], NAMES["lorry"]}
    rows, total = search(world, unit="kilowatt hour", database="es2-db")
    assert [r["name"] for r in rows] == [NAMES["power"]]
    rows, total = search(world, database="es2-db", size=10, page=3)  # beyond the last page: the last page
    assert total == 6 and len(rows) == 6
    assert search(world, q="%", database="es2-db")[1] == 0
    assert (
        world.call("acme-engineer", "GET", "/api/v1/backgrounds/activities", params={"q": "x" * 101}).status_code == 422
    )
    assert world.call(None, "GET", "/api/v1/backgrounds/activities").status_code == 401


def test_a_footprint_of_an_item_linked_to_an_imported_activity_records_the_database_and_version(
    world, es2, monkeypatch
):
    """The aluminium example's alumina (384,000 t for 200,000 t of aluminium) linked to es2-db's cement activity
    (per kilogram), calculated as a job of the service: the alumina row is the item's kilograms per declared unit
    (384,000 / 200,000 × the allocation factor × 1,000 kg/t) times the activity's unit score the search shows, and
    the stored footprint records es2-db, its version in use and the pack's digest. (The job's engine is one whose
    PCR registry holds the linked PCR; the service's own registry is unchanged.)"""
    from footprint_api.services import jobs
    from lca_models.config import LCASettings
    from lca_models.engine import FootprintEngine
    from pcr_rules.models import PCR
    from pcr_rules.registry import default_registry
    from tests.conftest import load_example
    from tests.test_api_inventories import unique_serials

    [cement], _ = search(world, database="es2-db", q=NAMES["cement"])
    data = unique_serials(load_example("aluminium-guizhou-2023.json"))
    base = default_registry().get(data["pcr"]["id"], data["pcr"]["version"])
    document = base.model_dump(mode="json", exclude_none=True)
    for item in document["items"]:
        if item["id"] == "alumina":
            item["background"] = {
                "database": "es2-db",
                "activity": cement["code"],
                "unit": "kg",
                "name": cement["name"],
            }
    linked = PCR.model_validate(document)

    class Registry:
        def get(self, pcr_id: str, version: str | None = None) -> PCR:
            if (pcr_id, version) == (linked.id, linked.version):
                return linked
            return default_registry().get(pcr_id, version)

        def list(self) -> list[PCR]:
            return [linked]

    engine = FootprintEngine(LCASettings(), Registry())
    monkeypatch.setattr(jobs, "_engine", lambda: engine)
    product = world.product("acme-engineer", data["pcr"]["id"], "linked smelter")
    submitted = world.submit("acme-engineer", product["id"], data)
    assert submitted.status_code == 201, submitted.text
    job = world.calculate("acme-engineer", submitted.json()["id"])
    assert job["status"] == "succeeded", job
    result = world.call("acme-engineer", "GET", f"/api/v1/footprints/{job['footprint_id']}").json()["result"]
    assert result["backgrounds"] == [{"name": "es2-db", "version": "1", "digest": es2["digest"]}]
    alumina = next(i for i in data["items"] if i["item"] == "alumina")["amount"]
    kilograms = alumina / data["production"]["amount"] * float(result["allocation"]["factor"]) * 1000.0
    row = next(c for c in result["contributions"] if c["item"] == "alumina")
    assert (row["database"], row["version"]) == ("es2-db", "1")
    assert row["kg_co2e"] == pytest.approx(kilograms * cement["unit_score"], rel=1e-9)


def test_a_json_ld_package_is_imported_to_ready(world, tmp_path):
    """openLCA's reference unit of energy is the MJ: electricity's score is per MJ (the kWh score / 3.6)."""
    row = imported(world, fixtures.jsonld_zip(tmp_path / "olca.zip"), "olca-db", "1", "jsonld")
    assert row["state"] == "ready", row
    rows, _ = search(world, database="olca-db", size=25)
    processes = [r for r in rows if r["name"] in NAMES.values()]
    assert len(processes) == 6
    expected = {NAMES[key]: value for key, value in EXPECTED.items()}
    expected[NAMES["power"]] /= 3.6
    assert {r["name"]: r["unit_score"] for r in processes} == pytest.approx(expected, rel=1e-6)


def test_an_unlinked_flow_stops_the_import_until_the_admin_proceeds(world, tmp_path):
    """Cement emits 0.5 kg of a flow biosphere3 lacks: needs_attention naming it, nothing written or searchable;
    proceed drops exactly it (listed on the version for good), the import ends ready; each step audited."""
    flow = (fixtures.UNKNOWN_FLOW[0], fixtures.UNKNOWN_FLOW[1], 0.5)
    path = fixtures.ecospold2_zip(tmp_path / "unknown.zip", extra_flow={"cement": flow})
    row = imported(world, path, "unknown-db", "1", "ecospold2")
    assert row["state"] == "needs_attention"
    [group] = row["problems"]["unlinked"]
    assert (group["name"], group["type"], group["unit"], group["count"]) == (
        "Unobtainium hexafluoride",
        "biosphere",
        "kilogram",
        1,
    )
    assert group["activities"] == [NAMES["cement"]]
    assert search(world, database="unknown-db")[1] == 0
    from lca_models.backgrounds.importing import in_project

    with in_project("pcf-bg-unknown-db-1") as bd:
        assert "unknown-db" not in bd.databases
    assert world.call(ADMIN, "POST", f"/api/v1/backgrounds/{row['id']}/activate").status_code == 409
    proceeded = world.call(ADMIN, "POST", f"/api/v1/backgrounds/{row['id']}/proceed")
    assert proceeded.status_code == 202, proceeded.text
    done = wait(world, row["id"])
    assert done["state"] == "ready" and done["dropped"] == [group] and done["problems"]["unlinked"] == []
    assert search(world, database="unknown-db")[1] == 6
    trail = world.call(ADMIN, "GET", "/api/v1/audit", params={"limit": 1000}).json()
    actions = [e["action"] for e in trail if e["object_id"] == row["id"]]
    for action in (
        "background.import_queued",
        "background.needs_attention",
        "background.proceeded",
        "background.ready",
    ):
        assert action in actions, actions
    again = world.call(ADMIN, "POST", f"/api/v1/backgrounds/{row['id']}/proceed")
    assert again.status_code == 409


def _nothing_stored(world, before: int, root: Path) -> None:
    assert len(world.call(ADMIN, "GET", "/api/v1/backgrounds").json()) == before
    staging = root / "_imports" / "_staging"
    assert not staging.exists() or list(staging.iterdir()) == []


def test_unsafe_wrong_and_huge_uploads_are_refused_naming_the_field_with_nothing_stored(
    world, tmp_path, backgrounds_dir
):
    before = len(world.call(ADMIN, "GET", "/api/v1/backgrounds").json())
    imports = set((backgrounds_dir / "_imports").glob("*"))
    text = tmp_path / "text.zip"
    text.write_text("not a zip")
    cases = [
        (fixtures.zip_slip(tmp_path / "slip.zip"), "ecospold2", "file", "backgrounds.archive.unsafe_path"),
        (fixtures.zip_bomb(tmp_path / "bomb.zip"), "ecospold2", "file", "backgrounds.archive.bomb"),
        (text, "ecospold2", "file", "backgrounds.archive.not_zip"),
        (fixtures.jsonld_zip(tmp_path / "olca.zip"), "ecospold2", "format", "backgrounds.wrong_format"),
        (fixtures.ecospold2_zip(tmp_path / "es2.zip"), "excel", "format", "backgrounds.wrong_format"),
    ]
    for path, format, field, code in cases:
        response = upload(world, path, "refused-db", "1", format)
        assert response.status_code == 422, (path.name, response.text)
        assert [(e["field"], e.get("code")) for e in response.json()["errors"]] == [(field, code)], path.name
    response = upload(world, fixtures.ecospold2_zip(tmp_path / "ok.zip"), "../escape", "1", "simapro")
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"name", "format"}
    huge = tmp_path / "huge.zip"
    huge.write_bytes(b"\0" * (25 * 1024 * 1024 + 1))
    assert upload(world, huge, "huge-db", "1", "ecospold2").status_code == 413
    _nothing_stored(world, before, backgrounds_dir)
    assert set((backgrounds_dir / "_imports").glob("*")) - imports <= {backgrounds_dir / "_imports" / "_staging"}


def test_only_the_platform_admin_writes(world, es2, tmp_path):
    path = fixtures.csv_file(tmp_path / "db.csv")
    for user in ("acme-admin", "cb-admin", "acme-engineer"):
        assert upload(world, path, "intruder-db", "1", "csv", user=user).status_code == 403
        assert world.call(user, "GET", "/api/v1/backgrounds").status_code == 403
        assert world.call(user, "GET", f"/api/v1/backgrounds/{es2['id']}").status_code == 403
        for action in ("activate", "retire", "proceed", "discard"):
            assert world.call(user, "POST", f"/api/v1/backgrounds/{es2['id']}/{action}").status_code == 403
        assert search(world, user=user, database="es2-db")[1] == 6


def test_a_taken_version_is_refused(world, es2, tmp_path):
    response = upload(world, fixtures.ecospold2_zip(tmp_path / "again.zip"), "es2-db", "1", "ecospold2")
    assert response.status_code == 409
    assert [e["field"] for e in response.json()["errors"]] == ["version"]


def test_a_later_version_is_activated_explicitly_and_the_earlier_retired(world, es2, tmp_path, backgrounds_dir):
    """Version 2 doubles power's CO2 (0.9 → 1.8 kg/kWh): ready but not in use until activated; the search then
    gives version 2's scores (power: (1.8 + 0.0596 + 0.01 × h_diesel) / ...), version 1 is retired, and the one in
    use cannot be."""
    system = [
        fixtures.Activity(**{**vars(a), "emissions": {**a.emissions, "co2": 1.8}}) if a.key == "power" else a
        for a in fixtures.SYSTEM
    ]
    second = imported(world, fixtures.ecospold2_zip(tmp_path / "v2.zip", system=system), "es2-db", "2", "ecospold2")
    assert second["state"] == "ready" and second["in_use"] is False
    rows, _ = search(world, database="es2-db", q=NAMES["power"])
    assert rows[0]["version"] == "1"
    activated = world.call(ADMIN, "POST", f"/api/v1/backgrounds/{second['id']}/activate")
    assert activated.status_code == 200 and activated.json()["in_use"] is True
    assert world.call(ADMIN, "GET", f"/api/v1/backgrounds/{es2['id']}").json()["in_use"] is False
    rows, _ = search(world, database="es2-db", q=NAMES["power"])
    expected = fixtures.expected_scores(system)["power"]
    assert rows[0]["version"] == "2" and rows[0]["unit_score"] == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(EXPECTED["power"] + 0.9 / (1 - 0.001), rel=1e-12)
    assert world.call(ADMIN, "POST", f"/api/v1/backgrounds/{second['id']}/retire").status_code == 409
    retired = world.call(ADMIN, "POST", f"/api/v1/backgrounds/{es2['id']}/retire")
    assert retired.status_code == 200 and retired.json()["state"] == "retired"
    assert backgrounds.library().current("es2-db").version == "2"
    assert not (backgrounds_dir / "es2-db" / "1").exists()


def test_a_brightway_csv_is_imported(world, tmp_path):
    row = imported(world, fixtures.csv_file(tmp_path / "db.csv", database="anything"), "csv-db", "1", "csv")
    assert row["state"] == "ready" and row["counts"]["activities"] == 6
    assert search(world, database="csv-db")[1] == 6


def test_an_import_the_broker_did_not_take_is_sent_by_the_housekeeping_task(world, tmp_path, monkeypatch):
    from footprint_api.infra import queue

    def down(*args, **kwargs):
        raise queue.BrokerUnavailable("broker down")

    with monkeypatch.context() as patched:
        patched.setattr(queue, "send", down)
        response = upload(world, fixtures.csv_file(tmp_path / "db.csv"), "late-db", "1", "csv")
    assert response.status_code == 202 and response.json()["state"] == "queued"
    database_id = uuid.UUID(response.json()["id"])
    monkeypatch.setattr(backgrounds, "OUTBOX_GRACE_SECONDS", 0)
    time.sleep(0.01)
    assert backgrounds.resend_imports() >= 1
    assert wait(world, str(database_id))["state"] == "ready"


def test_the_cli_imports_from_the_servers_disk_with_its_progress(world, tmp_path):
    """`pcf backgrounds import PATH`: the same service function, run in the console with its progress printed;
    an archive with an unlinked flow ends needing attention (exit 1) with the flow named and what to do next."""
    from typer.testing import CliRunner

    from footprint_api.cli import app

    runner = CliRunner()
    path = fixtures.ecospold2_zip(tmp_path / "es2.zip")
    done = runner.invoke(
        app, ["backgrounds", "import", str(path), "--format", "ecospold2", "--name", "cli-db", "--version", "1"]
    )
    assert done.exit_code == 0, done.output
    assert "cli-db 1 [ecospold2] ready (in use)" in done.output and "100.0 %" in done.output
    assert "cli-db 1 [ecospold2] ready" in runner.invoke(app, ["backgrounds", "list"]).output
    assert search(world, database="cli-db")[1] == 6
    flow = (fixtures.UNKNOWN_FLOW[0], fixtures.UNKNOWN_FLOW[1], 0.5)
    unknown = fixtures.ecospold2_zip(tmp_path / "unknown.zip", extra_flow={"steel": flow})
    stopped = runner.invoke(
        app, ["backgrounds", "import", str(unknown), "--format", "ecospold2", "--name", "cli-db", "--version", "2"]
    )
    assert stopped.exit_code == 1
    assert (
        "unlinked: Unobtainium hexafluoride" in stopped.output and "pcf backgrounds proceed cli-db 2" in stopped.output
    )
    taken = runner.invoke(
        app, ["backgrounds", "import", str(path), "--format", "ecospold2", "--name", "cli-db", "--version", "1"]
    )
    assert taken.exit_code == 2 and "exists" in taken.output
