"""Importing background databases with bw2io (lca_models.backgrounds.importing): small databases written by the
tests in each format (tests/background_fixtures.py) give the same unit scores as an independent numpy computation of
the same system, through a bw2calc LCA on the imported project; unlinked exchanges are listed and stop the import
until dropped on purpose; unsafe archives are refused with nothing left behind."""

import zipfile

import pytest

from lca_models.backgrounds import importing
from lca_models.backgrounds.importing import ArchiveRefused, ImportFailed, Limits
from tests import background_fixtures as fixtures

EXPECTED = fixtures.expected_scores()


def _scores(project: str, database: str) -> dict[str, float]:
    """bw2calc's LCA score (IPCC 2021 GWP100) of one unit of each activity's product, keyed by activity name.
    Compared within 1e-6: Brightway's datapackages hold amounts in single precision (bw_processing's
    `create_array`, float32: a relative rounding of up to 6e-8 per number)."""
    import bw2calc

    from lca_models.config import LCASettings
    from lca_models.factor_set import load_factor_set

    method = load_factor_set(LCASettings().factor_set).methods["total"]
    scores = {}
    with importing.in_project(project) as bd:
        products = [(node["name"], node.id) for node in bd.Database(database)]
        lca = bw2calc.LCA({products[0][1]: 1.0}, method)  # one LCA, factorised once; a demand per activity
        lca.lci(factorize=False)
        lca.lcia()
        for name, node in products:
            lca.redo_lcia({node: 1.0})  # the demand is one unit of the activity's product itself
            scores[name] = lca.score
    return scores


def _by_name(values: dict[str, float]) -> dict[str, float]:
    return {next(a.name for a in fixtures.SYSTEM if a.key == key): value for key, value in values.items()}


def _import(tmp_path, format: str, name: str, **kwargs):
    if format == "ecospold2":
        source = importing.unpack(fixtures.ecospold2_zip(tmp_path / "es2.zip", **kwargs), tmp_path / "es2")
    elif format == "jsonld":
        source = importing.unpack(fixtures.jsonld_zip(tmp_path / "olca.zip", **kwargs), tmp_path / "olca")
    elif format == "excel":
        source = fixtures.excel_file(tmp_path / "db.xlsx")
    else:
        source = fixtures.csv_file(tmp_path / "db.csv")
    return source


@pytest.mark.parametrize("format", ["ecospold2", "excel", "csv"])
def test_an_import_gives_the_scores_of_an_independent_computation(tmp_path, format):
    """Six activities, a loop (power 0.01 kg diesel/kWh, diesel 0.1 kWh/kg): h = c B A^-1 solved with numpy
    (`expected_scores`), e.g. power: (0.9 + 0.002 × 29.8 + 0.01 × h_diesel) / 1 with h_diesel = 0.3 + 0.003 ×
    29.8 + 0.1 × h_power → h_power = (0.9596 + 0.01 × 0.3894) / (1 − 0.001) = 0.96446… kg CO2e/kWh."""
    project = f"pcf-test-bg-{format}"
    report = importing.import_database(
        _import(tmp_path, format, "db"), format=format, project=project, name=f"test-{format}"
    )
    assert report.written and report.unlinked == [] and report.dropped == []
    assert report.counts["activities"] == 6
    assert report.counts["technosphere"] == 11 and report.counts["biosphere"] == 11
    assert EXPECTED["power"] == pytest.approx((0.9596 + 0.01 * 0.3894) / (1 - 0.001), rel=1e-12)
    scores = _scores(project, f"test-{format}")
    assert scores == pytest.approx(_by_name(EXPECTED), rel=1e-6)
    importing.delete_project(project)


def test_a_json_ld_package_links_its_elementary_flows_to_biosphere3(tmp_path):
    """Each process is the activity (its product merged into it, its `@id` the code PCR items link to), elementary
    flows are biosphere3's. openLCA converts amounts to the flow property's reference unit:
    electricity's kWh become MJ (1 kWh = 3.6 MJ), so its score per MJ is the kWh score / 3.6, and the inputs of it,
    written per kWh, are per MJ × 3.6: the other activities' scores per unit are unchanged."""
    project = "pcf-test-bg-jsonld"
    report = importing.import_database(
        _import(tmp_path, "jsonld", "db"), format="jsonld", project=project, name="test-jsonld"
    )
    assert report.written and report.unlinked == []
    assert report.counts["activities"] == 6 and report.counts["products"] == 0  # each merged into its process
    expected = _by_name(EXPECTED)
    expected["electricity production, hard coal"] /= 3.6
    assert _scores(project, "test-jsonld") == pytest.approx(expected, rel=1e-6)
    with importing.in_project(project) as bd:
        nodes = list(bd.Database("test-jsonld"))
        biosphere = {exc.input["database"] for node in nodes for exc in node.biosphere()}
        assert {node["code"] for node in nodes} == {a.id for a in fixtures.SYSTEM}  # the processes' @id
        assert {node["reference product"] for node in nodes} == {a.product for a in fixtures.SYSTEM}
    assert biosphere == {"biosphere3"}
    importing.delete_project(project)


@pytest.mark.parametrize("format", ["ecospold2", "jsonld"])
def test_an_unlinked_flow_is_listed_and_nothing_is_written_until_it_is_dropped_on_purpose(tmp_path, format):
    """Cement emits 0.5 kg of a flow biosphere3 does not have: the import names it (name, unit, type, count 1,
    the activity), writes nothing; given exactly that group to drop, it writes the database without it and lists
    it as dropped; the scores are those of the system without the flow (which no method characterises anyway)."""
    flow = (fixtures.UNKNOWN_FLOW[0], fixtures.UNKNOWN_FLOW[1], 0.5)
    source = _import(tmp_path, format, "db", extra_flow={"cement": flow})
    project = f"pcf-test-bg-unlinked-{format}"
    report = importing.import_database(source, format=format, project=project, name="test-unlinked")
    assert not report.written
    [group] = report.unlinked
    assert group["name"] == "Unobtainium hexafluoride"
    assert (group["type"], group["count"], group["activities"]) == ("biosphere", 1, ["cement production, Portland"])
    assert group["unit"] == "kilogram"
    with importing.in_project(project) as bd:
        assert "test-unlinked" not in bd.databases
    again = importing.import_database(source, format=format, project=project, name="test-unlinked", drop=[group])
    assert again.written and again.unlinked == [] and again.dropped == [group]
    expected = _by_name(EXPECTED)
    if format == "jsonld":
        expected["electricity production, hard coal"] /= 3.6
    assert _scores(project, "test-unlinked") == pytest.approx(expected, rel=1e-6)
    importing.delete_project(project)


def test_a_drop_list_that_misses_a_group_stops_again(tmp_path):
    flow = (fixtures.UNKNOWN_FLOW[0], fixtures.UNKNOWN_FLOW[1], 0.5)
    source = _import(tmp_path, "ecospold2", "db", extra_flow={"cement": flow, "steel": flow})
    project = "pcf-test-bg-partial-drop"
    report = importing.import_database(source, format="ecospold2", project=project, name="test-partial")
    [group] = report.unlinked
    assert group["count"] == 2 and sorted(group["activities"]) == [
        "cement production, Portland",
        "steel production, converter, low-alloyed",
    ]
    other = {**group, "name": "something else"}
    again = importing.import_database(source, format="ecospold2", project=project, name="test-partial", drop=[other])
    assert not again.written and again.unlinked == [group]
    importing.delete_project(project)


def test_zero_production_stops_the_import_with_the_activity_named(tmp_path):
    """A produced amount of 0 makes the technosphere matrix singular: the import fails naming the activity."""
    rows = fixtures.brightway_rows("zero")
    at = next(
        i
        for i, row in enumerate(rows)
        if row and row[0] == "diesel production, petroleum refinery" and row[6:7] == ["production"]
    )
    rows[at][1] = 0.0
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(tmp_path / "zero.xlsx")
    with pytest.raises(ImportFailed) as failed:
        importing.import_database(tmp_path / "zero.xlsx", format="excel", project="pcf-test-bg-zero", name="zero")
    blocking = [p for p in failed.value.problems if p["blocking"]]
    assert [(p["code"], p["activity"]) for p in blocking] == [
        ("zero_production", "diesel production, petroleum refinery")
    ]
    importing.delete_project("pcf-test-bg-zero")


# --- archives --------------------------------------------------------------------------------------------------------


def test_a_path_leaving_the_folder_is_refused_and_nothing_is_unpacked(tmp_path):
    with pytest.raises(ArchiveRefused) as refused:
        importing.unpack(fixtures.zip_slip(tmp_path / "slip.zip"), tmp_path / "out")
    assert refused.value.code == "unsafe_path"
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "escaped.spold").exists()


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path):
    """64 MiB of zeros deflate to about 64 KiB: a ratio of about 1,000, over the limit of 200."""
    bomb = fixtures.zip_bomb(tmp_path / "bomb.zip")
    member = zipfile.ZipFile(bomb).infolist()[0]
    assert member.file_size / member.compress_size > 200
    with pytest.raises(ArchiveRefused) as refused:
        importing.unpack(bomb, tmp_path / "out")
    assert refused.value.code == "bomb" and not (tmp_path / "out").exists()


def test_a_forged_size_in_the_archive_is_caught_while_unpacking(tmp_path):
    """A member whose header claims fewer bytes than it expands to: the copy counts the real bytes and stops."""
    path = tmp_path / "forged.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("datasets/a.spold", b"x" * 4096)
    data = bytearray(path.read_bytes())
    directory = data.rfind(b"PK\x01\x02")
    data[directory + 24 : directory + 28] = (16).to_bytes(4, "little")  # uncompressed size in the directory: 16
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveRefused) as refused:
        importing.unpack(path, tmp_path / "out")
    assert refused.value.code in ("bomb", "unreadable") and not (tmp_path / "out").exists()


def test_limits_on_members_and_size(tmp_path):
    archive = fixtures.ecospold2_zip(tmp_path / "es2.zip")
    with pytest.raises(ArchiveRefused) as refused:
        importing.unpack(archive, tmp_path / "a", Limits(max_members=5))
    assert refused.value.code == "too_many_members"
    with pytest.raises(ArchiveRefused) as refused:
        importing.unpack(archive, tmp_path / "b", Limits(max_bytes=1000))
    assert refused.value.code == "too_large"
    with pytest.raises(ArchiveRefused) as refused:
        importing.unpack(_not_zip(tmp_path), tmp_path / "c")
    assert refused.value.code == "not_zip"


def _not_zip(tmp_path):
    path = tmp_path / "text.zip"
    path.write_text("not a zip")
    return path


def test_an_ecospold2_file_declaring_entities_is_not_parsed(tmp_path):
    source = importing.unpack(fixtures.doctype_zip(tmp_path / "lol.zip"), tmp_path / "lol")
    with pytest.raises(ImportFailed) as failed:
        importing.import_database(source, format="ecospold2", project="pcf-test-bg-lol", name="lol")
    assert failed.value.code == "unsafe_xml"
    importing.delete_project("pcf-test-bg-lol")


def test_the_wrong_format_is_said_so(tmp_path):
    source = importing.unpack(fixtures.jsonld_zip(tmp_path / "olca.zip"), tmp_path / "olca")
    with pytest.raises(ImportFailed) as failed:
        importing.import_database(source, format="ecospold2", project="pcf-test-bg-wrong", name="wrong")
    assert failed.value.code == "wrong_format"


# --- the search index at ecoinvent's size, on SQLite and PostgreSQL ------------------------------------------------

ACTIVITIES = 23_500  # ecoinvent 3.10 cut-off: 23,523
LOCATIONS = ("CN", "RoW", "GLO", "RER", "US")
UNITS = ("kilogram", "kilowatt hour", "ton kilometer")


def _postgres_database() -> str:
    import os
    import uuid

    import psycopg

    server = os.environ.get("PCF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"pcf_bg_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


def _drop_postgres(url: str) -> None:
    import os

    import psycopg

    server = os.environ.get("PCF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_23500_activities_are_indexed_in_seconds_and_searched(tmp_path, backend):
    """The index of a database of ecoinvent's size: 23,500 rows inserted in batches (measured: 0.3 s on
    SQLite, 1.0 s on PostgreSQL on this machine; bounded here at 15 s so a slow CI runner does not fail it, where one
    ORM object per row took minutes). The search: 'activity 1234' is in the names 'activity 1234' and 'activity
    12340' … 'activity 12349' (11 rows); every fifth activity is in CN (4,700 rows); CN in kilograms: i ≡ 0 (mod 5)
    and i ≡ 0 (mod 3), every 15th: ⌈23,500 / 15⌉ = 1,567; a version not in use is not searched."""
    import time
    import uuid

    from sqlalchemy import create_engine
    from sqlmodel import Session

    from footprint_api.persistence.migrate import upgrade
    from footprint_api.persistence.models import BackgroundActivity, BackgroundDatabase
    from footprint_api.services import backgrounds

    url = f"sqlite:///{tmp_path / 'index.db'}" if backend == "sqlite" else _postgres_database()
    try:
        engine = create_engine(url)
        if backend == "postgresql":
            upgrade(url)  # migration 0017 on PostgreSQL (tests/test_migrations.py runs them on SQLite)
        else:
            tables = [BackgroundDatabase.__table__, BackgroundActivity.__table__]
            BackgroundDatabase.metadata.create_all(engine, tables=tables)
        with Session(engine, expire_on_commit=False) as session:
            used = BackgroundDatabase(
                name="big", version="1", format="ecospold2", source="-", project="p", state="ready", in_use=True
            )
            unused = BackgroundDatabase(
                name="big", version="0", format="ecospold2", source="-", project="q", state="ready"
            )
            session.add_all([used, unused])
            session.commit()
            rows = [
                {
                    "database_id": used.id,
                    "column": i,
                    "code": uuid.uuid5(uuid.NAMESPACE_OID, str(i)).hex,
                    "name": f"activity {i}",
                    "reference_product": f"product {i}",
                    "location": LOCATIONS[i % 5],
                    "unit": UNITS[i % 3],
                    "unit_score": i / 1000,
                }
                for i in range(ACTIVITIES)
            ]
            started = time.perf_counter()
            backgrounds.insert_activities(session, rows)
            session.commit()
            seconds = time.perf_counter() - started
            backgrounds.insert_activities(session, [{**rows[0], "database_id": unused.id}])
            session.commit()
            assert seconds < 15, seconds
            found = backgrounds.search_activities(session, q="activity 1234", size=25)
            assert found.total == 11 and {a.name for a, _ in found.rows} == {"activity 1234"} | {
                f"activity 1234{d}" for d in range(10)
            }
            assert backgrounds.search_activities(session, location="CN").total == 4700
            assert backgrounds.search_activities(session, location="CN", unit="kilogram").total == 1567
            assert backgrounds.search_activities(session, q="product 7", database="big", size=10).total == 1111
            assert backgrounds.search_activities(session, q="activity 0").rows[0][1].version == "1"
            assert backgrounds.search_activities(session, q="100%").total == 0
        engine.dispose()
        print(f"{backend}: {ACTIVITIES} activities indexed in {seconds:.2f} s")
    finally:
        if backend == "postgresql":
            _drop_postgres(url)
