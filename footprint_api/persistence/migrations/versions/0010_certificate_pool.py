"""certificate pool: a retirement is a batch (serial range) retired into a facility's (or product's) pool for a
period; inventories draw MWh from it; no two retired batches overlap, enforced by the database

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""

import json
import uuid
from datetime import date

import sqlalchemy as sa
import sqlmodel
from alembic import op

from pcr_rules.certificates import SerialProblem, serial_range

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Two batches overlap when their prefixes are equal and their number ranges intersect (pcr_rules.certificates).
POSTGRESQL = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE certificate_retirement ADD CONSTRAINT ex_certificate_retirement_overlap
    EXCLUDE USING gist (serial_prefix WITH =,
                        int8range(serial_first_number, serial_last_number, '[]') WITH &&);
"""

_OVERLAP = (
    "SELECT RAISE(ABORT, 'certificate_retirement: the serial range overlaps a retired batch') "
    "WHERE EXISTS (SELECT 1 FROM certificate_retirement AS r WHERE r.serial_prefix = NEW.serial_prefix "
    "AND r.serial_first_number <= NEW.serial_last_number "
    "AND NEW.serial_first_number <= r.serial_last_number{other})"
)
SQLITE_TRIGGERS = {
    "certificate_retirement_no_overlap_insert": f"CREATE TRIGGER certificate_retirement_no_overlap_insert BEFORE INSERT ON certificate_retirement "
    f"BEGIN {_OVERLAP.format(other='')}; END",
    "certificate_retirement_no_overlap_update": f"CREATE TRIGGER certificate_retirement_no_overlap_update "
    f"BEFORE UPDATE OF serial_prefix, serial_first_number, serial_last_number ON certificate_retirement "
    f"BEGIN {_OVERLAP.format(other=' AND r.id <> NEW.id')}; END",
}


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("certificate_retirement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("serial_last", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("serial_prefix", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("serial_first_number", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("serial_last_number", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("drawn_mwh", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("plant", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("facility_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("product_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("period_end", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("retired_by", sa.Uuid(), nullable=True))
        batch_op.alter_column(
            "amount_mwh",
            new_column_name="batch_mwh",
            existing_type=sa.Integer(),
            type_=sa.BigInteger(),
            existing_nullable=False,
        )

    op.create_table(
        "certificate_draw",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("retirement_id", sa.Uuid(), nullable=False),
        sa.Column("inventory_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("amount_mwh", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.CheckConstraint("amount_mwh > 0", name="ck_certificate_draw_amount"),
        sa.ForeignKeyConstraint(
            ["inventory_id"],
            ["inventory.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.ForeignKeyConstraint(
            ["retirement_id"],
            ["certificate_retirement.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("certificate_draw", schema=None) as batch_op:
        for column in ("inventory_id", "organisation_id", "product_id", "retirement_id"):
            batch_op.create_index(batch_op.f(f"ix_certificate_draw_{column}"), [column], unique=False)

    _batches_and_draws_of_earlier_retirements(connection)
    _refuse_overlaps(connection)

    with op.batch_alter_table("certificate_retirement", schema=None) as batch_op:
        for column in ("serial_last", "serial_prefix", "period_start", "period_end"):
            batch_op.alter_column(column, existing_type=sa.String(), nullable=False)
        for column in ("serial_first_number", "serial_last_number", "drawn_mwh"):
            batch_op.alter_column(column, existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_check_constraint("ck_certificate_retirement_range", "serial_first_number <= serial_last_number")
        batch_op.create_check_constraint("ck_certificate_retirement_drawn", "drawn_mwh >= 0 AND drawn_mwh <= batch_mwh")
        batch_op.create_foreign_key("fk_certificate_retirement_facility_id", "facility", ["facility_id"], ["id"])
        batch_op.create_foreign_key("fk_certificate_retirement_product_id", "product", ["product_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_certificate_retirement_facility_id"), ["facility_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_retirement_product_id"), ["product_id"], unique=False)
        batch_op.create_index(
            "ix_certificate_retirement_range",
            ["serial_prefix", "serial_first_number", "serial_last_number"],
            unique=False,
        )

    dialect = connection.dialect.name
    if dialect == "postgresql":
        op.execute(POSTGRESQL)
    elif dialect == "sqlite":
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)


def _batches_and_draws_of_earlier_retirements(connection) -> None:
    """Before 0010 a retirement was one serial for amount_mwh certificates: it becomes the batch of amount_mwh
    certificates from that serial on, retired into the pool of its inventory's facility (or product) for the
    inventory's reference period, and that inventory draws all of it. A serial without a trailing number stands
    for its whole batch (a range of one number, so no other entry can claim it again)."""
    rows = connection.execute(
        sa.text(
            "SELECT r.id, r.serial, r.batch_mwh, r.organisation_id, r.inventory_id, r.retired_at, i.facility_id, "
            "i.product_id, i.data, i.submitted_by FROM certificate_retirement AS r "
            "JOIN inventory AS i ON i.id = r.inventory_id"
        )
    ).all()
    for (
        retirement_id,
        serial,
        amount,
        organisation_id,
        inventory_id,
        retired_at,
        facility_id,
        product_id,
        data,
        submitted_by,
    ) in rows:
        data = json.loads(data) if isinstance(data, str) else data  # SQLite gives the JSON as text
        plant = next((c.get("plant") for c in data.get("green_certificates", []) if c.get("serial") == serial), None)
        try:
            batch = serial_range(serial, None, amount)
            prefix, first, last, serial_last = batch.prefix, batch.first, batch.last, batch.serial(batch.last)
        except SerialProblem:
            prefix, first, last, serial_last = serial, 0, 0, serial
        period = data["reference_period"]
        connection.execute(
            sa.text(
                "UPDATE certificate_retirement SET serial_last = :serial_last, serial_prefix = :prefix, "
                "serial_first_number = :first, serial_last_number = :last, drawn_mwh = batch_mwh, "
                "facility_id = :facility, product_id = :product, period_start = :start, period_end = :end, "
                "plant = :plant, retired_by = :by WHERE id = :id"
            ),
            {
                "serial_last": serial_last,
                "prefix": prefix,
                "first": first,
                "last": last,
                "facility": facility_id,
                "product": None if facility_id is not None else product_id,
                "start": date.fromisoformat(period["start"]),
                "end": date.fromisoformat(period["end"]),
                "plant": plant,
                "by": submitted_by,
                "id": retirement_id,
            },
        )
        connection.execute(
            sa.text(
                "INSERT INTO certificate_draw (id, retirement_id, inventory_id, product_id, organisation_id, amount_mwh, "
                "created_at) VALUES (:id, :retirement, :inventory, :product, :organisation, :amount, :at)"
            ),
            {
                "id": _uuid(connection, uuid.uuid4()),
                "retirement": retirement_id,
                "inventory": inventory_id,
                "product": product_id,
                "organisation": organisation_id,
                "amount": amount,
                "at": retired_at,
            },
        )


def _uuid(connection, value: uuid.UUID):
    """A new key as the table stores its keys (SQLite: 32 hex digits, as sa.Uuid writes them)."""
    return value.hex if connection.dialect.name == "sqlite" else value


def _refuse_overlaps(connection) -> None:
    """Serials retired before 0010 were compared as strings only; if two of them turn out to be overlapping
    batches, the migration stops and names them rather than decide which claim to drop."""
    overlapping = connection.execute(
        sa.text(
            "SELECT a.serial, a.inventory_id, b.serial, b.inventory_id FROM certificate_retirement AS a "
            "JOIN certificate_retirement AS b ON a.serial_prefix = b.serial_prefix AND a.id < b.id "
            "AND a.serial_first_number <= b.serial_last_number AND b.serial_first_number <= a.serial_last_number"
        )
    ).all()
    if overlapping:
        pairs = "; ".join(f"{a} (inventory {ia}) and {b} (inventory {ib})" for a, ia, b, ib in overlapping)
        raise RuntimeError(
            f"retired certificates overlap as batches: {pairs}. Correct or remove one of each pair "
            "(certificate_retirement) and run the migration again."
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("ALTER TABLE certificate_retirement DROP CONSTRAINT IF EXISTS ex_certificate_retirement_overlap")
    elif dialect == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    with op.batch_alter_table("certificate_draw", schema=None) as batch_op:
        for column in ("retirement_id", "product_id", "organisation_id", "inventory_id"):
            batch_op.drop_index(batch_op.f(f"ix_certificate_draw_{column}"))
    op.drop_table("certificate_draw")
    with op.batch_alter_table("certificate_retirement", schema=None) as batch_op:
        batch_op.drop_index("ix_certificate_retirement_range")
        batch_op.drop_index(batch_op.f("ix_certificate_retirement_product_id"))
        batch_op.drop_index(batch_op.f("ix_certificate_retirement_facility_id"))
        batch_op.drop_constraint("fk_certificate_retirement_product_id", type_="foreignkey")
        batch_op.drop_constraint("fk_certificate_retirement_facility_id", type_="foreignkey")
        batch_op.drop_constraint("ck_certificate_retirement_drawn", type_="check")
        batch_op.drop_constraint("ck_certificate_retirement_range", type_="check")
        batch_op.alter_column(
            "batch_mwh",
            new_column_name="amount_mwh",
            existing_type=sa.BigInteger(),
            type_=sa.Integer(),
            existing_nullable=False,
        )
        for column in (
            "retired_by",
            "period_end",
            "period_start",
            "product_id",
            "facility_id",
            "plant",
            "drawn_mwh",
            "serial_last_number",
            "serial_first_number",
            "serial_prefix",
            "serial_last",
        ):
            batch_op.drop_column(column)
