"""background databases: imported versions (bw2io) and their activities

`background_database` holds one row per name and version (its state, progress, problems, counts, timings); at most
one version of a name is in use (a partial unique index). `background_activity` holds the activities of ready
versions for the search PCR authors link items through.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 04:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "background_database",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", _text(length=100), nullable=False),
        sa.Column("version", _text(length=40), nullable=False),
        sa.Column("format", _text(length=20), nullable=False),
        sa.Column("state", _text(length=20), nullable=False),
        sa.Column("stage", _text(length=40), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("in_use", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_name", _text(length=300), nullable=True),
        sa.Column("source_bytes", sa.BigInteger(), nullable=True),
        sa.Column("source_digest", _text(length=64), nullable=True),
        sa.Column("project", _text(length=200), nullable=False),
        sa.Column("drop_unlinked", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("dropped", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("solver", sa.JSON(), nullable=True),
        sa.Column("digest", _text(length=64), nullable=True),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("failure_code", _text(length=80), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _when("created_at", False),
        _when("dispatched_at"),
        _when("started_at"),
        _when("heartbeat_at"),
        _when("finished_at"),
        _when("activated_at"),
        _when("updated_at", False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "version", name="uq_background_database_version"),
    )
    op.create_index("ix_background_database_name", "background_database", ["name"])
    op.create_index("ix_background_database_state", "background_database", ["state"])
    op.create_index(
        "uq_background_database_in_use",
        "background_database",
        ["name"],
        unique=True,
        postgresql_where=sa.text("in_use"),
        sqlite_where=sa.text("in_use = 1"),
    )
    op.create_table(
        "background_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("database_id", sa.Uuid(), nullable=False),
        sa.Column("column", sa.Integer(), nullable=False),
        sa.Column("code", _text(length=100), nullable=False),
        sa.Column("name", _text(length=500), nullable=False),
        sa.Column("reference_product", _text(length=500), nullable=True),
        sa.Column("location", _text(length=100), nullable=False),
        sa.Column("unit", _text(length=50), nullable=False),
        sa.Column("unit_score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["database_id"], ["background_database.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("database_id", "code", name="uq_background_activity_code"),
    )
    op.create_index("ix_background_activity_name", "background_activity", ["database_id", "name"])


def downgrade() -> None:
    op.drop_index("ix_background_activity_name", table_name="background_activity")
    op.drop_table("background_activity")
    op.drop_index("uq_background_database_in_use", table_name="background_database")
    op.drop_index("ix_background_database_state", table_name="background_database")
    op.drop_index("ix_background_database_name", table_name="background_database")
    op.drop_table("background_database")
