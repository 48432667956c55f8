"""the job outbox: when the broker took a job's message

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-14 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job") as table:
        table.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
    # the jobs written before the outbox were sent by their request: not sent again
    op.execute("UPDATE job SET dispatched_at = created_at")
    op.create_index("ix_job_outbox", "job", ["status", "dispatched_at"])


def downgrade() -> None:
    op.drop_index("ix_job_outbox", table_name="job")
    with op.batch_alter_table("job") as table:
        table.drop_column("dispatched_at")
