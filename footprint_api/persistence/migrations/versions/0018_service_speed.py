"""the service around the engine: batch items as jobs, stored result bytes, the credential generation

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job") as table:
        table.add_column(sa.Column("batch_id", sa.Uuid(), nullable=True))
        table.add_column(sa.Column("position", sa.Integer(), nullable=True))
    op.create_index("ix_job_batch_id", "job", ["batch_id"])
    with op.batch_alter_table("footprint") as table:
        table.add_column(sa.Column("result_json", sa.LargeBinary(), nullable=True))
    op.create_table(
        "credential_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO credential_generation (id, value) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("credential_generation")
    with op.batch_alter_table("footprint") as table:
        table.drop_column("result_json")
    op.drop_index("ix_job_batch_id", table_name="job")
    with op.batch_alter_table("job") as table:
        table.drop_column("position")
        table.drop_column("batch_id")
