"""The registry every reader asks (`pcr_rules.registry.default_registry()`): the package's files where there is no
database; in the service, the published versions of the database, fresh in every process without a restart."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml
from sqlalchemy import create_engine, event
from sqlmodel import Session
from typer.testing import CliRunner

from footprint_api.infra.security import Principal
from footprint_api.persistence.migrate import upgrade
from footprint_api.persistence.models import OrganisationKind, Role
from footprint_api.services import accounts, pcr_registry
from footprint_api.services.pcrs.source import DatabaseSource
from pcr_rules import registry
from pcr_rules.errors import PCRNotFound
from pcr_rules.registry import DATA_DIR, file_registry
from tests.service import configure

TODAY = datetime.now(UTC).date()
EIGHT = {
    ("PCR-CN-ALUMINIUM", "1.0.0"),
    ("PCR-CN-ALUMINIUM", "1.1.0"),
    ("PCR-CN-CEMENT", "1.0.0"),
    ("PCR-CN-CEMENT", "1.1.0"),
    ("PCR-CN-ELECTRICITY", "1.0.0"),
    ("PCR-CN-FLATGLASS", "1.0.0"),
    ("PCR-CN-STEEL", "1.0.0"),
    ("PCR-CN-STEEL", "1.1.0"),
}


@pytest.fixture
def database(tmp_path):
    """A migrated database file, and two engines over it: two processes of one deployment."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    configure(url)
    upgrade(url)
    first, second = create_engine(url), create_engine(url)
    yield first, second
    first.dispose()
    second.dispose()


def standards_body(session: Session) -> tuple[Principal, Principal]:
    body = accounts.create_organisation(
        session, None, f"committee {uuid.uuid4().hex[:6]}", OrganisationKind.STANDARDS_BODY
    )
    people = []
    for role in (Role.PCR_AUTHOR, Role.PCR_CHAIR):
        user = accounts.create_user(
            session, None, body.id, f"{role.value}-{uuid.uuid4().hex[:6]}@test.example", role.value, "p" * 16, role
        )
        people.append(Principal(user.id, "user", body.id, role, "test", datetime.now(UTC)))
    return people[0], people[1]


def publish_new_pcr(session: Session, pcr_id: str) -> Principal:
    """A new PCR (the cement rules under another id), through consultation and review to published; its chair."""
    author, chair = standards_body(session)
    document = {**yaml.safe_load((DATA_DIR / "cement-1.1.0.yaml").read_text(encoding="utf-8")), "id": pcr_id}
    document["version"] = "1.0.0"
    pcr_registry.create_draft(session, author, pcr_id, "1.0.0", "empty")
    pcr_registry.replace_document(session, author, pcr_id, "1.0.0", document)
    pcr_registry.open_consultation(session, chair, pcr_id, "1.0.0", TODAY)
    later = TODAY + timedelta(days=1)
    pcr_registry.close_consultation(session, chair, pcr_id, "1.0.0", today=later)
    pcr_registry.publish(session, chair, pcr_id, "1.0.0", date(2023, 1, 1), date(2030, 12, 31), today=later)
    return chair


def test_the_eight_seeds_load_as_published_versions(database):
    source = DatabaseSource(lambda: database[0])
    published = {(v.pcr_id, v.version): v for v in source.published()}
    assert set(published) >= EIGHT
    assert set(published) == {(p.id, p.version) for p in file_registry().list()}  # every file of the package
    assert {v.state.value for v in published.values()} == {"published"}
    assert all(v.effective_from == date(2023, 1, 1) and v.valid_until == date(2030, 12, 31) for v in published.values())


def test_the_seeded_documents_are_the_files(database):
    source = DatabaseSource(lambda: database[0])
    assert [p.model_dump() for p in source.list()] == [p.model_dump() for p in file_registry().list()]


def test_a_version_published_through_one_process_is_read_by_another(database):
    first, second = database
    reader = DatabaseSource(lambda: first)
    before = {p.ref for p in reader.list()}  # the reader keeps its listing of what is in force
    pcr_id = f"PCR-T-{uuid.uuid4().hex[:8].upper()}"
    with Session(second, expire_on_commit=False) as session:
        publish_new_pcr(session, pcr_id)
    assert reader.get(pcr_id, "1.0.0").id == pcr_id
    assert reader.get(pcr_id).version == "1.0.0"
    assert {p.ref for p in reader.list()} == before | {f"{pcr_id}@1.0.0"}


def test_a_withdrawal_in_another_process_leaves_the_listing_of_every_process(database):
    first, second = database
    reader = DatabaseSource(lambda: first)
    pcr_id = f"PCR-T-{uuid.uuid4().hex[:8].upper()}"
    with Session(second, expire_on_commit=False) as session:
        chair = publish_new_pcr(session, pcr_id)
        assert f"{pcr_id}@1.0.0" in {p.ref for p in reader.list()}
        pcr_registry.withdraw(session, chair, pcr_id, "1.0.0", "the clinker factor is wrong")
    assert f"{pcr_id}@1.0.0" not in {p.ref for p in reader.list()}
    assert reader.get(pcr_id, "1.0.0").id == pcr_id  # the footprints made under it still read its rules


def test_a_published_document_is_read_from_the_database_once_per_process(database):
    first, _ = database
    statements = []
    event.listen(first, "before_cursor_execute", lambda *args: statements.append(args[2]))
    reader = DatabaseSource(lambda: first)
    assert reader.get("PCR-CN-CEMENT", "1.0.0") is reader.get("PCR-CN-CEMENT", "1.0.0")
    assert sum("document" in s for s in statements) == 1


def test_a_listing_costs_one_primary_key_read_while_nothing_was_published(database):
    first, _ = database
    reader = DatabaseSource(lambda: first)
    reader.list()
    statements = []
    event.listen(first, "before_cursor_execute", lambda *args: statements.append(args[2]))
    reader.list()
    assert len(statements) == 1 and "pcr_registry_state" in statements[0]


def test_a_draft_is_not_in_the_registry(database):
    first, second = database
    pcr_id = f"PCR-T-{uuid.uuid4().hex[:8].upper()}"
    with Session(second, expire_on_commit=False) as session:
        author, _ = standards_body(session)
        pcr_registry.create_draft(session, author, pcr_id, "1.0.0", "empty")
    with pytest.raises(PCRNotFound):
        DatabaseSource(lambda: first).get(pcr_id, "1.0.0")


def test_without_a_database_the_files_answer():
    registry.install(None)
    assert registry.default_registry().source is file_registry()
    assert registry.default_registry().get("PCR-CN-CEMENT", "1.0.0") is file_registry().get("PCR-CN-CEMENT", "1.0.0")


def test_an_engine_built_before_the_service_started_reads_the_installed_source(engine):
    class Answer:
        def get(self, pcr_id, version=None):
            return file_registry().get("PCR-CN-FLATGLASS", "1.0.0")

        def list(self):
            return []

    assert engine.registry is registry.default_registry()
    registry.install(Answer())
    try:
        assert engine.registry.get("PCR-CN-CEMENT", "1.0.0").id == "PCR-CN-FLATGLASS"
    finally:
        registry.install(None)


def test_the_cli_reads_the_files_when_the_database_holds_no_registry(tmp_path):
    from footprint_api.cli import app

    configure(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    out = CliRunner().invoke(app, ["pcr", "list"])
    assert out.exit_code == 0, out.output
    assert "PCR-CN-CEMENT" in out.stdout and "PCRs from the files shipped with the package" in out.stderr
    assert not (tmp_path / "never-migrated.db").exists()


def test_the_cli_reads_the_database_registry_when_there_is_one(database):
    from footprint_api.cli import app

    pcr_id = f"PCR-T-{uuid.uuid4().hex[:8].upper()}"
    with Session(database[1], expire_on_commit=False) as session:
        publish_new_pcr(session, pcr_id)
    out = CliRunner().invoke(app, ["pcr", "list"])
    assert out.exit_code == 0, out.output
    assert pcr_id in out.stdout
