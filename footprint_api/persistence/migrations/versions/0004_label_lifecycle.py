"""label lifecycle: supersession, the reason and time of a state change, the offline code, GTIN-14

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from label_service.gs1 import InvalidGTIN, gtin14

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("state_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("superseded_by", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("product_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("compact", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_label_product_id"), ["product_id"], unique=False)
        batch_op.create_foreign_key("fk_label_product_id", "product", ["product_id"], ["id"])
    connection = op.get_bind()
    connection.execute(
        sa.text(
            "UPDATE label SET product_id = (SELECT application.product_id FROM application "
            "WHERE application.id = label.application_id)"
        )
    )
    _gtins_to_14_digits(connection)
    _supersede_duplicates(connection)
    in_force = sa.text("state IN ('active', 'suspended')")
    op.create_index(
        "uq_label_in_force",
        "label",
        ["product_id", "pcr_id"],
        unique=True,
        sqlite_where=in_force,
        postgresql_where=in_force,
    )


def _gtins_to_14_digits(connection) -> None:
    """GTINs are stored as GTIN-14 (GS1 General Specifications §3.3.2); one with a wrong check digit is kept as
    it was entered, for its owner to correct (the API refuses such GTINs from now on)."""
    for table in ("product", "label"):
        rows = connection.execute(sa.text(f"SELECT id, gtin FROM {table} WHERE gtin IS NOT NULL")).all()
        for row_id, gtin in rows:
            try:
                normalised = gtin14(gtin)
            except InvalidGTIN:
                continue
            if normalised != gtin:
                connection.execute(
                    sa.text(f"UPDATE {table} SET gtin = :gtin WHERE id = :id"), {"gtin": normalised, "id": row_id}
                )


def _supersede_duplicates(connection) -> None:
    """Labels issued before supersession existed: of a product's labels in force under one PCR, the newest stays
    in force and the earlier ones become superseded by it."""
    rows = connection.execute(
        sa.text(
            "SELECT id, number, product_id, pcr_id FROM label WHERE state IN ('active', 'suspended') "
            "AND product_id IS NOT NULL ORDER BY year DESC, sequence DESC"
        )
    ).all()
    newest: dict = {}
    now = datetime.now(UTC)
    for label_id, number, product_id, pcr_id in rows:
        key = (product_id, pcr_id)
        if key not in newest:
            newest[key] = number
            continue
        connection.execute(
            sa.text(
                "UPDATE label SET state = 'superseded', superseded_by = :newer, state_changed_at = :now, "
                "state_reason = :reason, updated_at = :now WHERE id = :id"
            ),
            {
                "newer": newest[key],
                "now": now,
                "id": label_id,
                "reason": f"superseded by label {newest[key]} of the same product and PCR",
            },
        )


def downgrade() -> None:
    op.drop_index("uq_label_in_force", table_name="label")
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.drop_constraint("fk_label_product_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_label_product_id"))
        batch_op.drop_column("compact")
        batch_op.drop_column("product_id")
        batch_op.drop_column("superseded_by")
        batch_op.drop_column("state_reason")
        batch_op.drop_column("state_changed_at")
