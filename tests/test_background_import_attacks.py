"""Background database imports attacked as an adversary and as a careless operator would: archives that expand a
thousand times through many small members, an ecospold2 file whose document type declaration is pushed past the
head by a comment, names and versions that join into the same bw2data project, the same name and version uploaded
twice at once, a worker that stops beating (once: taken over; a third time: the version fails with its reason; a
run that was taken over stops without overwriting or removing anything of the run replacing it), hostile activity
and flow names on the pages, LIKE wildcards and pages out of range in the search, write routes without the form
token, and the stage names the pages word (every stage the import, the preparation and the sampling report).

Each case is small (a few files, rows written straight into the tables where the import itself is not the point);
the whole module takes seconds beside the service it shares (`world`)."""

import re
import threading
import time
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from footprint_api.core.errors import Conflict
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent, BackgroundActivity, BackgroundDatabase, utcnow
from footprint_api.services import backgrounds
from lca_models.backgrounds import importing
from lca_models.backgrounds.importing import ArchiveRefused, ImportFailed, Limits
from tests import background_fixtures as fixtures
from tests.web_client import Browser, csrf_of

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "root"


@pytest.fixture(scope="module", autouse=True)
def backgrounds_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backgrounds")
    with pytest.MonkeyPatch.context() as patched:
        patched.setenv("PCF_BACKGROUNDS_DIR", str(folder))
        patched.setenv("PCF_BACKGROUND_SAMPLES", "20")
        yield folder


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


# --- archives and XML (no service needed) ------------------------------------------------------------------------


def test_many_small_members_expanding_a_thousand_times_are_a_bomb(tmp_path):
    """200 members of 1 MiB of zeros each (at the per-member floor, so no member's own ratio is checked) pack into
    about 0.2 MiB: 200 MiB / ~0.22 MiB ≈ 900 times, over the 200 allowed for the archive as a whole. The fixture's
    real ecospold2 zip (a few KiB of text) passes."""
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(200):
            archive.writestr(f"datasets/m{number}.spold", b"\0" * importing.RATIO_FLOOR)
    packed = sum(member.compress_size for member in zipfile.ZipFile(path).infolist())
    assert 200 * 1024**2 / packed > 200
    with pytest.raises(ArchiveRefused) as refused:
        importing.inspect(path, Limits())
    assert refused.value.code == "bomb"
    with pytest.raises(ArchiveRefused):
        importing.unpack(path, tmp_path / "out", backgrounds.upload_limits())
    assert not (tmp_path / "out").exists()
    assert len(importing.inspect(fixtures.ecospold2_zip(tmp_path / "es2.zip"))) == len(fixtures.SYSTEM)


def _zip(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = 0o120777 << 16  # a symbolic link to /etc/passwd
            archive.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(
    ("label", "members", "link", "field", "code"),
    [
        ("absolute", {"/tmp/evil.spold": b"<ecoSpold/>"}, None, "file", "backgrounds.archive.unsafe_path"),
        ("backslash", {"datasets\\..\\..\\evil.spold": b"x"}, None, "file", "backgrounds.archive.unsafe_path"),
        ("drive", {"C:/evil.spold": b"x"}, None, "file", "backgrounds.archive.unsafe_path"),
        ("link", {"datasets/a.spold": b"<ecoSpold/>"}, "datasets/b.spold", "file", "backgrounds.archive.unsafe_path"),
        ("nested", {"release.zip": b"PK\x03\x04 a zip in the zip"}, None, "format", "backgrounds.wrong_format"),
        ("empty member", {"datasets/": b""}, None, "format", "backgrounds.wrong_format"),
    ],
)
def test_unsafe_and_wrong_archives_are_refused_before_anything_is_unpacked(tmp_path, label, members, link, field, code):
    from footprint_api.core.errors import Unprocessable

    path = _zip(tmp_path / "upload.zip", members, link)
    with pytest.raises(Unprocessable) as refused:
        backgrounds.check_file(path, "ecospold2", "upload.zip")
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [(field, code)], label
    if field == "file":
        with pytest.raises(ArchiveRefused):
            importing.unpack(path, tmp_path / "out")
        assert not (tmp_path / "out").exists()


def test_an_empty_file_and_a_zip_named_like_csv_are_refused(tmp_path):
    from footprint_api.core.errors import Unprocessable

    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    with pytest.raises(Unprocessable) as refused:
        backgrounds.check_file(empty, "ecospold2", "empty.zip")
    assert [e["code"] for e in refused.value.errors] == ["backgrounds.file_empty"]
    zipped = fixtures.ecospold2_zip(tmp_path / "db.csv")
    with pytest.raises(Unprocessable) as refused:
        backgrounds.check_file(zipped, "csv", "db.csv")
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [("file", "backgrounds.csv_not_text")]


def _padded_xxe(folder: Path, secret: Path) -> Path:
    """The fixture's system with cement's dataset declaring an external entity after a 70,000-character comment
    (past any 64 KiB head), its name using the entity."""
    folder.mkdir()
    for activity in fixtures.SYSTEM:
        text = fixtures.spold(activity, fixtures.SYSTEM)
        if activity.key == "cement":
            head, rest = text.split("\n", 1)
            declaration = f'<!DOCTYPE ecoSpold [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
            text = head + "\n<!--" + "x" * 70_000 + "-->" + declaration + rest.replace(activity.name, "cement &xxe;")
        (folder / f"{activity.id}_{activity.product_id}.spold").write_text(text, encoding="utf-8")
    return folder


def test_a_document_type_pushed_past_the_head_by_a_comment_is_refused(tmp_path):
    """Before: only the first 64 KiB were looked at, so the file was parsed (the entity not resolved: the name
    silently became "cement "); now the file is refused before bw2io reads anything."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    folder = _padded_xxe(tmp_path / "datasets", secret)
    with pytest.raises(ImportFailed) as refused:
        importing.check_xml(folder)
    cement = next(a for a in fixtures.SYSTEM if a.key == "cement")
    assert refused.value.code == "unsafe_xml" and refused.value.detail.startswith(cement.id)
    # a declaration cut in two by the chunks read is found too
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "a.spold").write_bytes(b" " * (importing.XML_CHUNK - 4) + b"<!ENTITY x 'y'>")
    with pytest.raises(ImportFailed):
        importing.check_xml(cut)


# --- names, versions and projects ----------------------------------------------------------------------------------


def test_names_and_versions_that_join_alike_get_bw2data_projects_of_their_own(world, tmp_path):
    """ "x-a-b" 1 and "x-a" "b-1" both made the project pcf-bg-x-a-b-1: discarding one deleted the other's
    database. Each version now has a project of its own; paths and unicode are refused naming the field."""
    name = _unique("pcf-x")
    source = fixtures.csv_file(tmp_path / "db.csv")
    with session_scope() as session:
        first = backgrounds.import_path(session, None, source, name=f"{name}-a", version="b-1", format="csv")
        second = backgrounds.import_path(session, None, source, name=name, version="a-b-1", format="csv")
        projects = (first.project, second.project)
    assert projects[0] == f"pcf-bg-{name}-a-b-1" and projects[1] != projects[0]
    assert projects[1].startswith(f"pcf-bg-{name}-a-b-1-")
    for bad in ("../etc", "a/b", "ecoinvent-3.10-切", "a\x00b", ".hidden", "a" * 101):
        with session_scope() as session, pytest.raises(Exception) as refused:
            backgrounds.import_path(session, None, source, name=bad, version="1", format="csv")
        assert [e["field"] for e in refused.value.errors] == ["name"], bad
    for bad in ("../1", "1/2", "３", "-1", "1" * 41):
        with session_scope() as session, pytest.raises(Exception) as refused:
            backgrounds.import_path(session, None, source, name=name, version=bad, format="csv")
        assert [e["field"] for e in refused.value.errors] == ["version"], bad


def test_the_same_name_and_version_uploaded_twice_at_once_is_imported_once(world, tmp_path, backgrounds_dir):
    """Two uploads of one name+version racing: exactly one is queued, the other is refused as taken (409, the field
    version), and the refused one leaves no import folder behind."""
    from tests.test_pcr_lifecycle import principal

    name = _unique("race")
    admin = principal(ADMIN)
    barrier = threading.Barrier(2)
    outcomes: list = []
    before = set((backgrounds_dir / "_imports").glob("*")) if (backgrounds_dir / "_imports").exists() else set()

    def race(number: int) -> None:
        staged = tmp_path / f"upload-{number}.csv"
        fixtures.csv_file(staged)
        barrier.wait()
        try:
            with session_scope() as session:
                row = backgrounds.upload(
                    session, admin, name=name, version="1", format="csv", filename="db.csv", staged=staged
                )
                outcomes.append(row.id)
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=race, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [x for x in outcomes if isinstance(x, uuid.UUID)]
    conflicts = [x for x in outcomes if isinstance(x, Conflict)]
    assert len(ids) == 1 and len(conflicts) == 1, outcomes
    assert [e["field"] for e in conflicts[0].errors] == ["version"]
    added = set((backgrounds_dir / "_imports").glob("*")) - before - {backgrounds_dir / "_imports" / "_staging"}
    assert added == {backgrounds.imports_dir(ids[0])}


# --- workers that stop ---------------------------------------------------------------------------------------------


def _row(**values) -> uuid.UUID:
    name = values.pop("name", _unique("stall"))
    defaults = {"name": name, "version": "1", "format": "csv", "source": "/nowhere", "project": f"pcf-bg-{name}-1"}
    with session_scope() as session:
        row = BackgroundDatabase(**{**defaults, **values})
        session.add(row)
        session.commit()
        return row.id


def _stall(database_id: uuid.UUID, state: str = "sampling") -> None:
    with session_scope() as session:
        row = session.get(BackgroundDatabase, database_id)
        row.state, row.stage = state, state
        row.heartbeat_at = utcnow() - timedelta(seconds=backgrounds.STALLED_AFTER_SECONDS + 60)
        session.commit()


def _get(database_id: uuid.UUID) -> BackgroundDatabase:
    with session_scope() as session:
        row = session.get(BackgroundDatabase, database_id)
        session.expunge(row)
        return row


def _actions(database_id: uuid.UUID) -> list[str]:
    from sqlmodel import select

    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEvent.action).where(AuditEvent.object_id == str(database_id)).order_by(AuditEvent.seq)
            )
        )


def test_a_worker_that_stops_a_third_time_fails_the_version_with_its_reason(world, backgrounds_dir):
    """Before: a database that kills its worker (out of memory) was queued again every 30 minutes, for ever, its
    page saying "sampling". Twice it is queued again (each audited); the third time it fails, worded in both
    languages, its half-written pack removed, the failure audited."""
    from footprint_api.web import i18n

    database_id = _row()
    row = _get(database_id)
    pack = backgrounds_dir / row.name / row.version
    for attempt in (1, 2):
        _stall(database_id)
        with session_scope() as session:
            backgrounds.unsent_imports(session)
        assert _get(database_id).state == "queued", attempt
    pack.mkdir(parents=True)
    (pack / "unit_scores.npy").write_bytes(b"half")
    _stall(database_id, "sampling")
    with session_scope() as session:
        assert database_id not in backgrounds.unsent_imports(session)
    failed = _get(database_id)
    assert (failed.state, failed.failure_code) == ("failed", "backgrounds.import.worker_lost")
    assert "stopped 3 times" in failed.failure and failed.stage is None
    assert not pack.exists()
    assert _actions(database_id)[-3:] == ["background.requeued", "background.requeued", "background.failed"]
    for lang in ("zh", "en"):
        assert "backgrounds.import.worker_lost" in i18n.catalogue(lang).messages, lang
    with session_scope() as session:  # failed stays failed: not queued again
        backgrounds.unsent_imports(session)
    assert _get(database_id).state == "failed"


def test_a_run_taken_over_stops_without_overwriting_or_removing_the_run_replacing_it(world, backgrounds_dir):
    """A worker only slow (no heartbeat for 30 minutes) is taken over: the row is queued and claimed by a new run.
    The old run's next write (progress, a state change, its failure) raises Superseded: the row keeps the new
    run's state, and the new run's pack folder is not removed by the old run's failure."""
    database_id = _row(state="queued")
    old = backgrounds._claim(database_id)
    stale = backgrounds._Row(database_id, None, old.started_at)
    _stall(database_id, "importing")
    with session_scope() as session:
        backgrounds.unsent_imports(session)
    time.sleep(0.01)
    new = backgrounds._claim(database_id)
    assert new is not None and new.started_at != old.started_at
    current = backgrounds._Row(database_id, None, new.started_at)
    current.progress("import", "linking", 0.5)
    with pytest.raises(backgrounds.Superseded):
        stale.progress("prepare", "factorisation", 0.5)
    with pytest.raises(backgrounds.Superseded):
        stale.move("needs_attention", "importing", problems={"unlinked": [{"name": "stale"}], "other": []})
    out = backgrounds_dir / new.name / new.version
    out.mkdir(parents=True)
    (out / "manifest.json").write_text("{}")
    with pytest.raises(backgrounds.Superseded):
        backgrounds._failed(new, stale, {}, out, RuntimeError("the old run's error"))
    assert out.exists()
    row = _get(database_id)
    assert (row.state, row.stage, row.progress) == ("importing", "linking", 0.25)
    assert row.failure is None and row.problems in (None, {})


def test_the_database_down_when_the_first_version_becomes_ready_leaves_no_pack_in_use(world, tmp_path, monkeypatch):
    """The first ready version of a name is put in use: `current.json` is written, then the transaction commits.
    With the database down at that commit, `current.json` stayed pointing at the version whose row is not ready
    (and whose pack the failure handling then removed): footprints would take a version the service never called
    ready. Now the version in use is put back (none) when the commit fails."""
    from sqlalchemy.exc import OperationalError

    from footprint_api.services import audit
    from lca_models.backgrounds.library import BackgroundLibrary

    name = _unique("down")
    with session_scope() as session:
        row = backgrounds.import_path(
            session, None, fixtures.csv_file(tmp_path / "db.csv"), name=name, version="1", format="csv"
        )
        database_id = row.id
    activated = []
    real_activate, real_commit = BackgroundLibrary.activate, audit.commit

    def activate(library, *args):
        activated.append(args)
        return real_activate(library, *args)

    def commit(session):
        if activated:
            raise OperationalError("COMMIT", {}, Exception("the database is down"))
        return real_commit(session)

    monkeypatch.setattr(BackgroundLibrary, "activate", activate)
    monkeypatch.setattr(audit, "commit", commit)
    with pytest.raises(OperationalError):
        backgrounds.run_import(database_id)
    monkeypatch.undo()
    assert activated == [(name, "1")]
    assert backgrounds.library().current_version(name) is None
    assert backgrounds.library().current(name) is None
    found = _get(database_id)
    assert found.state == "sampling" and not found.in_use  # the housekeeping task takes it over later
    with session_scope() as session:
        assert backgrounds.search_activities(session, database=name).total == 0


def test_an_upload_while_the_database_is_down_answers_503_and_keeps_nothing(world, tmp_path, backgrounds_dir):
    """The commit of a new version fails (the database went away after the checks): 503 with Retry-After, no row,
    no import folder, no staged file."""
    from footprint_api.persistence.db import DatabaseUnavailable
    from footprint_api.services import audit

    def down(session):
        raise DatabaseUnavailable("the database is down")

    before = set((backgrounds_dir / "_imports").rglob("*")) if (backgrounds_dir / "_imports").exists() else set()
    name = _unique("outage")
    path = fixtures.csv_file(tmp_path / "db.csv")
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(audit, "commit", down)
        response = world.call(
            ADMIN,
            "POST",
            "/api/v1/backgrounds",
            data={"name": name, "version": "1", "format": "csv"},
            files={"file": (path.name, path.read_bytes())},
        )
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    assert set((backgrounds_dir / "_imports").rglob("*")) - before <= {backgrounds_dir / "_imports" / "_staging"}
    assert name not in {row["name"] for row in world.call(ADMIN, "GET", "/api/v1/backgrounds").json()}


def test_steps_out_of_turn_are_refused_naming_the_state(world):
    """Discard a running import, activate one being prepared, proceed a queued one, retire the one in use: 409 each,
    nothing changed. Activating a ready version whose prepared results are missing on this server (a worker on
    another host without the shared folder, a folder removed by hand) is refused too, not a server error."""
    running = _row(state="preparing", stage="factorisation")
    queued = _row(state="queued")
    name = _unique("steps")
    in_use = _row(name=name, state="ready", in_use=True)
    missing = _row(name=name, version="2", state="ready")
    cases = [(running, "discard"), (running, "activate"), (queued, "proceed"), (in_use, "retire")]
    for database_id, step in cases:
        response = world.call(ADMIN, "POST", f"/api/v1/backgrounds/{database_id}/{step}")
        assert response.status_code == 409, (step, response.text)
    response = world.call(ADMIN, "POST", f"/api/v1/backgrounds/{missing}/activate")
    assert response.status_code == 409, response.text
    assert [e["code"] for e in response.json()["errors"]] == ["backgrounds.activated.missing"]
    assert [_get(x).state for x in (running, queued, in_use, missing)] == ["preparing", "queued", "ready", "ready"]
    assert _get(in_use).in_use and not _get(missing).in_use


# --- the pages and the search --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(world):
    """A version needing attention whose imported data names flows and activities with markup, and a version in
    use whose activities hold LIKE's wildcards."""
    script = "<script>alert('flow')</script>"
    problems = {
        "unlinked": [
            {
                "name": script,
                "categories": ["<img src=x onerror=alert(1)>"],
                "location": None,
                "unit": '"><svg onload=alert(2)>',
                "type": "biosphere",
                "count": 1,
                "activities": ["<iframe src=javascript:alert(3)>"],
            }
        ],
        "other": [{"code": "no_production", "activity": "<b onmouseover=alert(4)>", "detail": "</td><script>x"}],
    }
    attention = _row(state="needs_attention", problems=problems, source_name="<script>file</script>.zip")
    name = _unique("wild")
    in_use = _row(name=name, state="ready", in_use=True, progress=1.0)
    with session_scope() as session:
        for column, label in enumerate(["100% steel", "steel_plate", "steelXplate", "steel plate"]):
            session.add(
                BackgroundActivity(
                    database_id=in_use,
                    column=column,
                    code=f"c{column}",
                    name=label,
                    location="CN",
                    unit="kilogram",
                    unit_score=1.0 + column,
                )
            )
        session.commit()
    return {"attention": attention, "name": name}


def test_hostile_names_from_imported_data_are_shown_as_text(world, hostile):
    browser = Browser(world.client.app, ADMIN, lang="en")
    page = browser.get(f"/app/admin/backgrounds/{hostile['attention']}")
    assert page.status_code == 200
    for raw in (
        "<script>alert",
        "<img src=x",
        "<svg onload",
        "<iframe",
        "<b onmouseover",
        "</td><script>",
        "<script>file",
    ):
        assert raw not in page.text, raw
    assert "&lt;script&gt;alert(&#39;flow&#39;)&lt;/script&gt;" in page.text


def test_the_search_takes_wildcards_literally_and_bounds_pages_and_queries(world, hostile):
    name = hostile["name"]

    def found(**params):
        response = world.call("acme-engineer", "GET", "/api/v1/backgrounds/activities", params=params)
        assert response.status_code == 200, response.text
        return [row["name"] for row in response.json()], int(response.headers["X-Total-Count"])

    assert found(database=name, q="steel_plate") == (["steel_plate"], 1)
    assert found(database=name, q="_") == (["steel_plate"], 1)
    assert found(database=name, q="100%") == (["100% steel"], 1)
    assert found(database=name, q="%")[1] == 1
    names, total = found(database=name, size=10, page=1_000_000)  # beyond the last page: the last page
    assert total == 4 and len(names) == 4
    for params in ({"q": "x" * 101}, {"page": 0}, {"size": 1000}, {"sort": "name; drop table"}):
        response = world.call("acme-engineer", "GET", "/api/v1/backgrounds/activities", params=params)
        assert response.status_code == 422, params
    browser = Browser(world.client.app, "acme-engineer", lang="en")
    pages = {"%": 200, "_" * 300: 422, "\x01": 422, "steel_": 200}
    for query, status in pages.items():
        response = browser.get("/app/backgrounds/activities", params={"q": query, "database": name, "page": "-1"})
        assert response.status_code == status, (query, response.status_code)
    response = browser.get("/app/backgrounds/activities", params={"q": "\x00"})
    assert response.status_code in (400, 422)  # refused before or by the page, never a server error


def test_the_write_pages_refuse_a_form_without_its_token_and_other_roles(world, hostile):
    database_id = hostile["attention"]
    url = f"/app/admin/backgrounds/{database_id}"
    admin = Browser(world.client.app, ADMIN, lang="en")
    for step in ("proceed", "discard", "activate", "retire"):
        response = admin.client.post(f"{url}/{step}", data={"confirm": "yes"})
        assert response.status_code in (400, 403), (step, response.status_code)
    assert admin.client.post("/app/admin/backgrounds", data={"name": "x", "version": "1"}).status_code in (400, 403)
    token = csrf_of(admin.get(url).text)
    other = Browser(world.client.app, "acme-admin", lang="en")
    for step in ("proceed", "discard"):
        response = other.client.post(f"{url}/{step}", data={"confirm": "yes", "csrf_token": token})
        assert response.status_code in (303, 403), response.status_code
        assert response.status_code == 403 or "/login" in response.headers.get("location", "")
    assert _get(database_id).state == "needs_attention"


# --- the stages the pages word -------------------------------------------------------------------------------------


def _reported_stages() -> set[str]:
    """Every stage name the import (lca_models.backgrounds.importing), the preparation and the sampling
    (prepare.py, sampling.py) and the service (services/backgrounds.py) report, read from their sources."""
    found: set[str] = set()
    sources = {
        "lca_models/backgrounds/prepare.py": r'progress\("(\w+)"',
        "lca_models/backgrounds/sampling.py": r'progress\("(\w+)"',
        "lca_models/backgrounds/importing.py": r'say\("(\w+)"',
        "footprint_api/services/backgrounds.py": r'(?:progress\("\w+", |stage=)"(\w+)"',
    }
    for path, pattern in sources.items():
        found |= set(re.findall(pattern, (ROOT / path).read_text(encoding="utf-8")))
    return found


def test_the_pages_word_every_stage_and_timing_the_import_reports_in_both_languages():
    stages = _reported_stages()
    assert {"extracting", "reading", "linking", "checking", "writing", "matrices", "factorisation"} <= stages
    assert {"unit_scores", "gases", "sampling", "indexing"} <= stages
    timings = {"extracting", "import", "prepare", "sample", "index"}
    for lang in ("zh", "en"):
        catalogue = yaml.safe_load(
            (ROOT / "footprint_api" / "core" / "locales" / lang / "backgrounds.yaml").read_text(encoding="utf-8")
        )
        worded = {key.removeprefix("bg.stage.") for key in catalogue if key.startswith("bg.stage.")}
        assert stages | timings <= worded, (lang, sorted((stages | timings) - worded))


def test_an_amount_beyond_single_precision_stops_the_import_with_the_activity_named():
    """1e39 is a finite float64 but above float32's 3.4028e38: Brightway's matrix held infinity and the preparation
    failed as an "unexpected error" (SingularMatrix); the import now names the activity and the exchange."""
    data = [
        {
            "name": "cement production",
            "code": "c",
            "type": "process",
            "exchanges": [
                {"type": "production", "name": "cement", "amount": 1.0},
                {"type": "technosphere", "name": "clinker", "amount": 1e39},
                {"type": "technosphere", "name": "lime", "amount": -3.4e38},
            ],
        }
    ]
    [problem] = [p for p in importing._problems(data) if p["code"] == "non_finite_amount"]
    assert problem["activity"] == "cement production" and problem["blocking"] is True
    assert problem["detail"].startswith("clinker: amount 1e+39")


def test_the_template_project_is_written_and_copied_under_a_lock_between_processes(brightway_dir, monkeypatch):
    """A new version's project is copied from the template holding biosphere3 and the methods. Two workers (two
    processes) starting their first imports at once both wrote it, or one copied it half-written: the template is
    now written and copied holding an exclusive file lock, which another process (here: another open file, as
    flock locks are per open file) cannot take meanwhile."""
    import fcntl

    seen = []
    real = importing._template

    def template(bd, factor_set):
        with open(Path(brightway_dir) / importing.TEMPLATE_LOCK, "a") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                seen.append("held")
            else:
                fcntl.flock(other, fcntl.LOCK_UN)
                seen.append("free")
        return real(bd, factor_set)

    from lca_models.config import LCASettings
    from lca_models.factor_set import load_factor_set

    monkeypatch.setattr(importing, "_template", template)
    project = _unique("pcf-test-bg-lock")
    with importing.in_project(project, factor_set=load_factor_set(LCASettings().factor_set)) as bd:
        assert bd.projects.current == project and "biosphere3" in bd.databases
    importing.delete_project(project)
    assert seen == ["held"]


@pytest.mark.parametrize("name, version", [("a..b", "1"), ("eco", "1..2"), ("..", "1")])
def test_a_name_or_version_with_dot_dot_is_refused_at_once_naming_the_field(name, version):
    """The pack library and a PCR's link refuse ".." in a database name or version; the import refuses it when it is
    asked for, not later at its preparation."""
    from footprint_api.core.errors import Unprocessable
    from footprint_api.services.backgrounds import checked_fields

    with pytest.raises(Unprocessable) as refused:
        checked_fields(name, version, "csv")
    fields = {e["field"] if isinstance(e, dict) else e.field for e in refused.value.errors}
    assert fields == ({"name"} if ".." in name else {"version"})
