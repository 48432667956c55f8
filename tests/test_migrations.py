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
