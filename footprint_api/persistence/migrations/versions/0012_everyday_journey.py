"""the everyday journey: organisation registration data, last sign-in, the uploaded workbook, notices

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 21:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("organisation") as table:
        table.add_column(sa.Column("uscc", _text(length=18), nullable=True))
        table.add_column(sa.Column("address", _text(length=300), nullable=True))
        table.add_column(sa.Column("contact_name", _text(length=100), nullable=True))
        table.add_column(sa.Column("contact_phone", _text(length=40), nullable=True))
        table.add_column(sa.Column("contact_email", _text(length=254), nullable=True))
        table.create_unique_constraint("uq_organisation_uscc", ["uscc"])
    with op.batch_alter_table("user") as table:
        table.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("inventory") as table:
        table.add_column(sa.Column("source_file_key", _text(length=200), nullable=True))
        table.add_column(sa.Column("source_file_name", _text(length=255), nullable=True))
    op.create_table(
        "notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", _text(length=60), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("link", _text(length=300), nullable=True),
        sa.Column("event_key", _text(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "event_key", name="uq_notice_event"),
    )
    op.create_index("ix_notice_organisation_id", "notice", ["organisation_id"])
    op.create_index("ix_notice_user_id", "notice", ["user_id"])
    # the inbox lists a user's unread notices newest first
    op.create_index("ix_notice_user_unread", "notice", ["user_id", "read_at", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_notice_user_unread", table_name="notice")
    op.drop_index("ix_notice_user_id", table_name="notice")
    op.drop_index("ix_notice_organisation_id", table_name="notice")
    op.drop_table("notice")
    with op.batch_alter_table("inventory") as table:
        table.drop_column("source_file_name")
        table.drop_column("source_file_key")
    with op.batch_alter_table("user") as table:
        table.drop_column("last_sign_in_at")
    with op.batch_alter_table("organisation") as table:
        table.drop_constraint("uq_organisation_uscc", type_="unique")
        for column in ("contact_email", "contact_phone", "contact_name", "address", "uscc"):
            table.drop_column(column)
