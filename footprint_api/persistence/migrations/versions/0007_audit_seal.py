"""audit trail sealed: keyed MACs, signed checkpoints of its head, append-only on both databases

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PROTECTED = ("audit_event", "audit_checkpoint")

POSTGRESQL = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""


def _sqlite_triggers() -> list[str]:
    """SQLite has no TRUNCATE (DELETE without WHERE is refused by the same trigger)."""
    return [
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for table in PROTECTED
        for verb in ("UPDATE", "DELETE")
    ]


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.String(), nullable=True))
    op.create_table(
        "audit_checkpoint",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mac", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(POSTGRESQL)
    elif dialect == "sqlite":
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for trigger, table in (
            ("audit_event_no_truncate", "audit_event"),
            ("audit_checkpoint_append_only", "audit_checkpoint"),
            ("audit_checkpoint_no_truncate", "audit_checkpoint"),
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    elif dialect == "sqlite":
        for table in PROTECTED:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    op.drop_table("audit_checkpoint")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("mac")
