"""findings that the verifier closes (answer, reply, state), evidence documents, the verification statement

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 19:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_footprint_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("statement", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_application_previous_footprint_id", "footprint", ["previous_footprint_id"], ["id"]
        )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default="open")
        )
        batch_op.add_column(sa.Column("answer", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("answer_footprint_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("answered_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reply", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_finding_answer_footprint_id", "footprint", ["answer_footprint_id"], ["id"])
    # findings a resubmission had resolved before the verifier closed them: closed, as they were treated
    op.execute("UPDATE finding SET state = 'closed' WHERE resolved_at IS NOT NULL")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.alter_column("state", server_default=None)
    op.create_table(
        "evidence_document",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evidence_document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_document_application_id"), ["application_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_document_application_id"))
    op.drop_table("evidence_document")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_constraint("fk_finding_answer_footprint_id", type_="foreignkey")
        for column in ("closed_by", "reply", "answered_at", "answered_by", "answer_footprint_id", "answer", "state"):
            batch_op.drop_column(column)
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_constraint("fk_application_previous_footprint_id", type_="foreignkey")
        for column in ("verified_at", "verified_by", "statement", "previous_footprint_id"):
            batch_op.drop_column(column)
