"""product counts per listing key, kept by triggers on products (totalCount without counting);
a listing index per category and sort (category pages in index order); products by brand

Revision ID: catalog_0011
Revises: catalog_0010
Create Date: 2026-12-04 19:10:00

The triggers are created before the backfill: on PostgreSQL, CREATE TRIGGER locks
``products`` against writers until the migration commits, so no write falls between the
count and the triggers; SQLite's migration holds the write lock throughout anyway.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0011"
down_revision: str | Sequence[str] | None = "catalog_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from sources.catalog.counts import BACKFILL, create_statements

    op.create_table(
        "product_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("in_stock", sa.Boolean(), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("product_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_counts")),
    )
    op.create_index(
        "ix_product_counts_key",
        "product_counts",
        ["category_id", "kind", "in_stock", "is_published"],
    )
    for statement in create_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.execute(BACKFILL)
    for name, key in (
        ("newest", [sa.column("created_at")]),
        ("name", [sa.column("name")]),
        ("price_asc", [sa.func.coalesce(sa.column("price_min"), sa.literal_column("1000000000000"))]),
        ("price_desc", [sa.func.coalesce(sa.column("price_min"), sa.literal_column("-1"))]),
    ):
        op.create_index(
            f"ix_products_category_{name}",
            "products",
            [sa.column("category_id"), sa.column("is_published"), *key, sa.column("id")],
        )
    op.create_index("ix_products_brand", "products", ["brand_id", "is_published"])


def downgrade() -> None:
    from sources.catalog.counts import drop_statements

    op.drop_index("ix_products_brand", table_name="products")
    for name in ("price_desc", "price_asc", "name", "newest"):
        op.drop_index(f"ix_products_category_{name}", table_name="products")
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index("ix_product_counts_key", table_name="product_counts")
    op.drop_table("product_counts")
