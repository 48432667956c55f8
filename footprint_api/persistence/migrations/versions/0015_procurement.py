"""procurement: comparable groups and grades of labels, benchmarks, procurement organisations and their evaluations

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 01:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # the enum types of 0001 (values are the member names)
        op.execute("ALTER TYPE organisationkind ADD VALUE IF NOT EXISTS 'PROCUREMENT'")
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'PROCUREMENT_OFFICER'")
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'PROCUREMENT_ADMIN'")
    op.create_table(
        "benchmark",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pcr_id", _text(length=100), nullable=False),
        sa.Column("pcr_major", sa.Integer(), nullable=False),
        sa.Column("product_class", _text(length=200), nullable=False),
        sa.Column("declared_unit", _text(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("basis", _text(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("percentiles", sa.JSON(), nullable=False),
        sa.Column("label_count", sa.Integer(), nullable=False),
        sa.Column("citation", sa.Text(), nullable=True),
        sa.Column("citation_zh", sa.Text(), nullable=True),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        _when("superseded_at"),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _when("created_at", False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "pcr_id", "pcr_major", "product_class", "declared_unit", "year", "version", name="uq_benchmark"
        ),
    )
    op.create_index(
        "ix_benchmark_group", "benchmark", ["pcr_id", "pcr_major", "product_class", "declared_unit", "year"]
    )
    with op.batch_alter_table("label") as table:
        table.add_column(sa.Column("pcr_major", sa.Integer(), nullable=True))
        table.add_column(sa.Column("product_class", _text(length=200), nullable=True))
        table.add_column(sa.Column("reference_year", sa.Integer(), nullable=True))
        table.add_column(sa.Column("province", _text(length=60), nullable=True))
        table.add_column(sa.Column("benchmark_at_issue_id", sa.Uuid(), nullable=True))
        table.add_column(sa.Column("grade_at_issue", sa.Integer(), nullable=True))
        table.add_column(sa.Column("grade_ratio_at_issue", sa.Float(), nullable=True))
        table.create_foreign_key("fk_label_benchmark_at_issue", "benchmark", ["benchmark_at_issue_id"], ["id"])
    op.create_table(
        "procurement_evaluation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("title", _text(length=300), nullable=False),
        sa.Column("reference", _text(length=100), nullable=True),
        sa.Column("pcr_id", _text(length=100), nullable=False),
        sa.Column("pcr_major", sa.Integer(), nullable=False),
        sa.Column("product_class", _text(length=200), nullable=False),
        sa.Column("declared_unit", _text(length=40), nullable=False),
        sa.Column("rule", _text(length=20), nullable=False),
        sa.Column("rule_value", sa.Float(), nullable=False),
        sa.Column("award_date", sa.Date(), nullable=False),
        sa.Column("min_validity_days", sa.Integer(), nullable=False),
        sa.Column("benchmark_id", sa.Uuid(), nullable=True),
        sa.Column("state", _text(length=20), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        _when("evaluated_at"),
        sa.Column("sheet_files", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _when("created_at", False),
        _when("updated_at", False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["benchmark_id"], ["benchmark.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_procurement_evaluation_organisation_id", "procurement_evaluation", ["organisation_id"])
    op.create_table(
        "evaluation_candidate",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("evaluation_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("given", _text(length=100), nullable=False),
        sa.Column("given_kind", _text(length=20), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("label_id", sa.Uuid(), nullable=True),
        sa.Column("verdict", _text(length=20), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("margin", sa.Float(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        _when("awarded_at"),
        sa.Column("awarded_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["evaluation_id"], ["procurement_evaluation.id"]),
        sa.ForeignKeyConstraint(["label_id"], ["label.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("evaluation_id", "position", name="uq_evaluation_candidate_position"),
    )
    op.create_index("ix_evaluation_candidate_evaluation_id", "evaluation_candidate", ["evaluation_id"])
    op.create_index("ix_evaluation_candidate_label_id", "evaluation_candidate", ["label_id"])
    op.create_index("ix_evaluation_candidate_awarded_at", "evaluation_candidate", ["awarded_at"])


def downgrade() -> None:
    op.drop_table("evaluation_candidate")
    op.drop_table("procurement_evaluation")
    with op.batch_alter_table("label") as table:
        table.drop_constraint("fk_label_benchmark_at_issue", type_="foreignkey")
        for column in (
            "grade_ratio_at_issue",
            "grade_at_issue",
            "benchmark_at_issue_id",
            "province",
            "reference_year",
            "product_class",
            "pcr_major",
        ):
            table.drop_column(column)
    op.drop_index("ix_benchmark_group", table_name="benchmark")
    op.drop_table("benchmark")
