"""pcr registry: PCR versions with their life cycle in the database, the consultation's comments, standards bodies

The PCR files shipped in pcr_rules/data/ when the migration was written become the seed (`SEEDED`: the eight of 1.0.0
and 1.1.0, and aluminium 1.2.0 of the pot-cell technology): each is stored as a published version, issued by no standards body (the
platform admin hands each PCR to one), with

    effective_from 2023-01-01   the earliest reference year of the example inventories and of the life-cycle
                                electricity factors the PCRs take (MEE/NBS/NEA 2023 factors, announcement 2025
                                No. 3): the example inventories and every test's (reference years 2023 and 2024)
                                follow a version in force for their reference period
    valid_until    2030-12-31   after the labels issued on them today (three years' validity) have expired; the
                                committee replaces them earlier by publishing successors, with a transition period

The versions of one PCR stay side by side, as the files applied them: each remains published (none supersedes
another), so the footprints and labels made under any of them keep their version. A file added to the package after
a database was migrated is not loaded by it: a new version is published through the service or seeded by a migration
of its own (0016).

A published version is the record every process caches for good: the database refuses a change of its document,
dates or issuer and the deletion of it or of its comment log (triggers, as for the audit trail in 0007).

PostgreSQL cannot drop a value from an enum type: a downgrade leaves standards_body, pcr_author and pcr_chair in
the organisationkind and role types (unused).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 18:41:20
"""

import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa
import sqlmodel
import yaml
from alembic import op

from pcr_rules.lifecycle import semver
from pcr_rules.models import PCR
from pcr_rules.registry import DATA_DIR

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

EFFECTIVE_FROM, VALID_UNTIL = date(2023, 1, 1), date(2030, 12, 31)
SEED_NAMESPACE = uuid.UUID("6f1c1b3e-4a57-5d0c-9c77-0d5c2f0a9e11")  # seeded versions have the same id everywhere
# the files this migration seeds (those of the package when it was written); later files have migrations of their own
SEEDED = (
    "aluminium-1.0.0.yaml",
    "aluminium-1.1.0.yaml",
    "aluminium-1.2.0.yaml",
    "cement-1.0.0.yaml",
    "cement-1.1.0.yaml",
    "electricity-1.0.0.yaml",
    "flat-glass-1.0.0.yaml",
    "steel-1.0.0.yaml",
    "steel-1.1.0.yaml",
)

_FROZEN = ("pcr_id", "version", "document", "effective_from", "valid_until", "organisation_id")
POSTGRESQL = f"""
CREATE FUNCTION pcr_version_published_kept() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'pcr_version: a published version is kept';
    END IF;
    IF {" OR ".join(f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in _FROZEN)} THEN
        RAISE EXCEPTION 'pcr_version: a published version is immutable';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER pcr_version_published_kept BEFORE UPDATE OR DELETE ON pcr_version
    FOR EACH ROW WHEN (OLD.published_at IS NOT NULL) EXECUTE FUNCTION pcr_version_published_kept();
CREATE FUNCTION pcr_comment_record_kept() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pcr_version WHERE published_at IS NOT NULL
               AND id = CASE WHEN TG_OP = 'INSERT' THEN NEW.version_id ELSE OLD.version_id END) THEN
        RAISE EXCEPTION 'pcr_comment: the comment log of a published version is part of its record';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER pcr_comment_record_kept BEFORE INSERT OR UPDATE OR DELETE ON pcr_comment
    FOR EACH ROW EXECUTE FUNCTION pcr_comment_record_kept();
"""
_PUBLISHED_COMMENT = "(SELECT published_at FROM pcr_version WHERE id = {row}.version_id) IS NOT NULL"
SQLITE_TRIGGERS = {
    "pcr_version_published_immutable": f"CREATE TRIGGER pcr_version_published_immutable BEFORE UPDATE OF "
    f"{', '.join(_FROZEN)} ON pcr_version WHEN OLD.published_at IS NOT NULL "
    "BEGIN SELECT RAISE(ABORT, 'pcr_version: a published version is immutable'); END",
    "pcr_version_published_kept": "CREATE TRIGGER pcr_version_published_kept BEFORE DELETE ON pcr_version "
    "WHEN OLD.published_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'pcr_version: a published version is kept'); END",
    **{
        f"pcr_comment_record_kept_{verb.lower()}": f"CREATE TRIGGER pcr_comment_record_kept_{verb.lower()} "
        f"BEFORE {verb} ON pcr_comment WHEN {_PUBLISHED_COMMENT.format(row=row)} "
        "BEGIN SELECT RAISE(ABORT, 'pcr_comment: the comment log of a published version is part of its record'); END"
        for verb, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD"))
    },
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":  # the enum types of 0001 (values are the member names); usable once committed
        op.execute("ALTER TYPE organisationkind ADD VALUE IF NOT EXISTS 'STANDARDS_BODY'")
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'PCR_AUTHOR'")
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'PCR_CHAIR'")
    registry_state = op.create_table(
        "pcr_registry_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    pcr = op.create_table(
        "pcr",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("steward_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["steward_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pcr", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pcr_steward_id"), ["steward_id"], unique=False)
    version = op.create_table(
        "pcr_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pcr_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("patch", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("based_on", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("consultation_until", sa.Date(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("transition_until", sa.Date(), nullable=True),
        sa.Column("superseded_by", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["pcr_id"], ["pcr.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pcr_id", "version", name="uq_pcr_version"),
    )
    with op.batch_alter_table("pcr_version", schema=None) as batch_op:
        batch_op.create_index("ix_pcr_version_order", ["pcr_id", "major", "minor", "patch"], unique=False)
        batch_op.create_index(batch_op.f("ix_pcr_version_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pcr_version_state"), ["state"], unique=False)
    op.create_table(
        "pcr_comment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.Uuid(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["pcr_version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pcr_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pcr_comment_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pcr_comment_version_id"), ["version_id"], unique=False)

    _seed(registry_state, pcr, version)
    if dialect == "postgresql":
        op.execute(POSTGRESQL)
    elif dialect == "sqlite":
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)


def _seed(registry_state: sa.Table, pcr: sa.Table, version: sa.Table) -> None:
    """The files as published versions (each checked against the PCR schema first: a broken file stops here)."""
    now = datetime.now(UTC)
    seeds = [DATA_DIR / name for name in SEEDED]
    documents = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in seeds]
    checked = [PCR.model_validate(document) for document in documents]
    op.bulk_insert(pcr, [{"id": i, "steward_id": None, "created_at": now} for i in sorted({p.id for p in checked})])
    rows = []
    for path, document, parsed in zip(seeds, documents, checked, strict=True):
        major, minor, patch = semver(parsed.version)
        rows.append(
            {
                "id": uuid.uuid5(SEED_NAMESPACE, parsed.ref),
                "pcr_id": parsed.id,
                "version": parsed.version,
                "major": major,
                "minor": minor,
                "patch": patch,
                "state": "published",
                "document": document,
                "organisation_id": None,
                "source": f"seed:pcr_rules/data/{path.name}",
                "effective_from": EFFECTIVE_FROM,
                "valid_until": VALID_UNTIL,
                "created_at": now,
                "updated_at": now,
                "published_at": now,
                "state_changed_at": now,
            }
        )
    op.bulk_insert(version, rows)
    op.bulk_insert(registry_state, [{"id": 1, "generation": 1, "changed_at": now}])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS pcr_comment_record_kept ON pcr_comment")
        op.execute("DROP TRIGGER IF EXISTS pcr_version_published_kept ON pcr_version")
        op.execute("DROP FUNCTION IF EXISTS pcr_comment_record_kept()")
        op.execute("DROP FUNCTION IF EXISTS pcr_version_published_kept()")
    elif dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("pcr_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pcr_comment_version_id"))
        batch_op.drop_index(batch_op.f("ix_pcr_comment_organisation_id"))
    op.drop_table("pcr_comment")
    with op.batch_alter_table("pcr_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pcr_version_state"))
        batch_op.drop_index(batch_op.f("ix_pcr_version_organisation_id"))
        batch_op.drop_index("ix_pcr_version_order")
    op.drop_table("pcr_version")
    with op.batch_alter_table("pcr", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pcr_steward_id"))
    op.drop_table("pcr")
    op.drop_table("pcr_registry_state")
