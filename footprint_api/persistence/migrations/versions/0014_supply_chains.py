"""supply chains: supplier connections and footprints, the supply links of inventories, the factor database

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 01:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # the enum type of 0001 (values are the member names)
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'PACT_SUPPLIER'")
    op.create_table(
        "supplier_connection",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", _text(length=200), nullable=False),
        sa.Column("base_url", _text(length=500), nullable=False),
        sa.Column("token_client_id", _text(length=200), nullable=False),
        sa.Column("token_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _when("created_at", False),
        _when("updated_at", False),
        _when("last_used_at"),
        sa.Column("last_error", _text(length=500), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organisation_id", "name", name="uq_supplier_connection_name"),
    )
    op.create_index("ix_supplier_connection_organisation_id", "supplier_connection", ["organisation_id"])
    op.create_table(
        "supplier_footprint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("origin", _text(length=20), nullable=False),
        sa.Column("pf_id", _text(length=64), nullable=False),
        sa.Column("pf_version", sa.Integer(), nullable=False),
        sa.Column("status", _text(length=20), nullable=False),
        sa.Column("company_name", _text(length=300), nullable=False),
        sa.Column("product_name", _text(length=300), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("declared_unit", _text(length=40), nullable=False),
        sa.Column("declared_amount", sa.Float(), nullable=False),
        sa.Column("pcf_excluding_biogenic", sa.Float(), nullable=False),
        sa.Column("pcf_including_biogenic", sa.Float(), nullable=True),
        sa.Column("primary_data_share", sa.Float(), nullable=True),
        sa.Column("dqi", sa.JSON(), nullable=True),
        sa.Column("assurance", sa.JSON(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("reference_period_start", sa.Date(), nullable=True),
        sa.Column("reference_period_end", sa.Date(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("received_by", sa.Uuid(), nullable=True),
        _when("received_at", False),
        _when("deprecated_at"),
        sa.Column("successor_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["connection_id"], ["supplier_connection.id"]),
        sa.ForeignKeyConstraint(["successor_id"], ["supplier_footprint.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organisation_id", "pf_id", "pf_version", name="uq_supplier_footprint"),
    )
    op.create_index("ix_supplier_footprint_organisation_id", "supplier_footprint", ["organisation_id"])
    op.create_index("ix_supplier_footprint_connection_id", "supplier_footprint", ["connection_id"])
    op.create_index("ix_supplier_footprint_pf_id", "supplier_footprint", ["pf_id"])
    op.create_table(
        "factor_release",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", _text(length=20), nullable=False),
        sa.Column("title", _text(length=300), nullable=False),
        sa.Column("title_zh", _text(length=300), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("previous_id", sa.Uuid(), nullable=True),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("label_count", sa.Integer(), nullable=False),
        sa.Column("digest", _text(length=64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("cut_by", sa.Uuid(), nullable=True),
        _when("cut_at", False),
        sa.ForeignKeyConstraint(["previous_id"], ["factor_release.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_table(
        "factor_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("release_id", sa.Uuid(), nullable=False),
        sa.Column("key", _text(length=300), nullable=False),
        sa.Column("pcr_id", _text(length=100), nullable=False),
        sa.Column("pcr_major", sa.Integer(), nullable=False),
        sa.Column("pcr_versions", sa.JSON(), nullable=False),
        sa.Column("product_category", _text(length=100), nullable=False),
        sa.Column("product_class", _text(length=200), nullable=False),
        sa.Column("declared_unit", _text(length=40), nullable=False),
        sa.Column("reference_year", sa.Integer(), nullable=False),
        sa.Column("province", _text(length=60), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("gases", sa.JSON(), nullable=False),
        sa.Column("dqr", sa.Float(), nullable=True),
        sa.Column("label_count", sa.Integer(), nullable=False),
        sa.Column("organisation_count", sa.Integer(), nullable=False),
        sa.Column("value_min", sa.Float(), nullable=False),
        sa.Column("value_max", sa.Float(), nullable=False),
        sa.Column("value_sd", sa.Float(), nullable=True),
        sa.Column("named_manufacturer", _text(length=300), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["factor_release.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("release_id", "key", name="uq_factor_entry_key"),
    )
    op.create_index("ix_factor_entry_release_id", "factor_entry", ["release_id"])
    op.create_index("ix_factor_entry_pcr_id", "factor_entry", ["pcr_id"])
    op.create_table(
        "factor_consent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("label_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("level", _text(length=20), nullable=False),
        sa.Column("given_by", sa.Uuid(), nullable=True),
        _when("given_at", False),
        _when("withdrawn_at"),
        sa.ForeignKeyConstraint(["label_id"], ["label.id"]),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("label_id"),
    )
    op.create_index("ix_factor_consent_organisation_id", "factor_consent", ["organisation_id"])
    op.create_table(
        "supply_link",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("inventory_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
        sa.Column("item", _text(length=100), nullable=False),
        sa.Column("kind", _text(length=20), nullable=False),
        sa.Column("reference", _text(length=400), nullable=False),
        sa.Column("label_id", sa.Uuid(), nullable=True),
        sa.Column("supplier_footprint_id", sa.Uuid(), nullable=True),
        sa.Column("release_entry_id", sa.Uuid(), nullable=True),
        sa.Column("supplier_name", _text(length=300), nullable=False),
        sa.Column("supplier_product", _text(length=300), nullable=False),
        sa.Column("supplier_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("supplier_product_id", sa.Uuid(), nullable=True),
        sa.Column("value_per_declared_unit", sa.Float(), nullable=False),
        sa.Column("declared_unit", _text(length=40), nullable=False),
        sa.Column("value_per_item_unit", sa.Float(), nullable=False),
        sa.Column("item_unit", _text(length=40), nullable=False),
        sa.Column("pcr_ref", _text(length=140), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("assurance", _text(length=300), nullable=True),
        sa.Column("primary_data_share", sa.Float(), nullable=True),
        sa.Column("dqr", sa.Float(), nullable=True),
        _when("created_at", False),
        _when("affected_at"),
        sa.Column("affected_reason", _text(length=60), nullable=True),
        sa.Column("affected_params", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["inventory_id"], ["inventory.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"]),
        sa.ForeignKeyConstraint(["label_id"], ["label.id"]),
        sa.ForeignKeyConstraint(["supplier_footprint_id"], ["supplier_footprint.id"]),
        sa.ForeignKeyConstraint(["release_entry_id"], ["factor_entry.id"]),
        sa.ForeignKeyConstraint(["supplier_organisation_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["supplier_product_id"], ["product.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inventory_id", "item_index", name="uq_supply_link_item"),
    )
    for column in ("organisation_id", "inventory_id", "product_id", "label_id", "supplier_footprint_id"):
        op.create_index(f"ix_supply_link_{column}", "supply_link", [column])
    op.create_index("ix_supply_link_release_entry_id", "supply_link", ["release_entry_id"])
    op.create_index("ix_supply_link_affected_at", "supply_link", ["affected_at"])


def downgrade() -> None:
    op.drop_table("supply_link")
    op.drop_table("factor_consent")
    op.drop_table("factor_entry")
    op.drop_table("factor_release")
    op.drop_table("supplier_footprint")
    op.drop_table("supplier_connection")
