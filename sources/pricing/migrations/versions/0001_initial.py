"""Pricing tables: prices, promotions and their targets.

Revision ID: pricing_0001
Revises: (none)
Create Date: 2026-11-25 22:55:09.988320
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pricing_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prices",
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("list_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("sale_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("cost_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sale_amount <= list_amount", name=op.f("ck_prices_sale_within_list")),
        sa.CheckConstraint("sale_amount > 0", name=op.f("ck_prices_sale_positive")),
        sa.PrimaryKeyConstraint("sku_id", "currency", name=op.f("pk_prices")),
    )
    op.create_table(
        "promotions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("coupon_code", sa.String(length=64), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("is_exclusive", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("percent", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("threshold", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("buy_quantity", sa.Integer(), nullable=True),
        sa.Column("get_quantity", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
        sa.UniqueConstraint("coupon_code", name=op.f("uq_promotions_coupon_code")),
    )
    op.create_table(
        "promotion_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("promotion_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name=op.f("fk_promotion_targets_promotion_id_promotions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_targets")),
    )
    op.create_index(
        op.f("ix_promotion_targets_category_id"), "promotion_targets", ["category_id"], unique=False
    )
    op.create_index(
        op.f("ix_promotion_targets_product_id"), "promotion_targets", ["product_id"], unique=False
    )
    op.create_index(
        op.f("ix_promotion_targets_promotion_id"),
        "promotion_targets",
        ["promotion_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_promotion_targets_promotion_id"), table_name="promotion_targets")
    op.drop_index(op.f("ix_promotion_targets_product_id"), table_name="promotion_targets")
    op.drop_index(op.f("ix_promotion_targets_category_id"), table_name="promotion_targets")
    op.drop_table("promotion_targets")
    op.drop_table("promotions")
    op.drop_table("prices")
