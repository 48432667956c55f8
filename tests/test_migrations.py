"""The Alembic migrations build exactly the schema the models describe, and downgrade cleanly."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

import footprint_api.persistence.models  # noqa: F401  (registers the tables)
from footprint_api.persistence.migrate import alembic_config, upgrade


def test_migrated_schema_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade(url)
    with create_engine(url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_downgrade_to_the_first_revision_removes_the_label_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'down.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0001")
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"label", "application", "finding", "signing_key"}.isdisjoint(tables) and "footprint" in tables


def test_pcr_versions_added_after_the_registry_are_seeded_once(tmp_path):
    """0011 seeds the nine files it was written with; 0016 the five added for supply chains and comparable groups
    (clinker 1.0.0, cement 1.2.0, aluminium 1.3.0, steel 2.0.0, flat glass 1.1.0), published as the others and the
    registry's generation raised; run again on a database that already has them (downgrade to 0015 keeps published
    versions), it inserts nothing twice."""
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    command.upgrade(alembic_config(url), "0015")
    engine = create_engine(url)
    with engine.connect() as connection:
        before = connection.exec_driver_sql("SELECT count(*) FROM pcr_version").scalar()
        generation = connection.exec_driver_sql("SELECT generation FROM pcr_registry_state").scalar()
    assert before == 9
    upgrade(url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT pcr_id, version, state FROM pcr_version WHERE source LIKE 'seed:%' ORDER BY pcr_id, version"
        ).all()
        assert connection.exec_driver_sql("SELECT generation FROM pcr_registry_state").scalar() == generation + 1
    assert len(rows) == 14 and {("PCR-CN-CLINKER", "1.0.0", "published")} <= set(rows)
    assert ("PCR-CN-CEMENT", "1.2.0", "published") in rows and ("PCR-CN-ALUMINIUM", "1.3.0", "published") in rows
    command.downgrade(alembic_config(url), "0015")
    upgrade(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM pcr_version").scalar() == 14
