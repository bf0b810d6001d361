"""listing indexes: price sorts by their sort key, counts by filter from an index

Revision ID: catalog_0009
Revises: catalog_0008
Create Date: 2026-12-03 18:55:00

The price sorts order by ``coalesce(price_min, sentinel)`` (a product without a price last
either way): an index on that very expression turns a price-sorted page into an index walk
instead of sorting every published product. The two others let a filtered listing's
totalCount read an index alone (published and in a category; published and in stock).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0009"
down_revision: str | Sequence[str] | None = "catalog_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_products_published_category", "products", ["is_published", "category_id"]
    )
    op.create_index(
        "ix_products_published_in_stock",
        "products",
        ["is_published", "in_stock", "created_at", "id"],
    )
    for name, sentinel in (("asc", "1000000000000"), ("desc", "-1")):
        op.create_index(
            f"ix_products_listing_price_{name}",
            "products",
            [
                sa.column("is_published"),
                sa.func.coalesce(sa.column("price_min"), sa.literal_column(sentinel)),
                sa.column("id"),
            ],
        )


def downgrade() -> None:
    for name in (
        "ix_products_listing_price_desc",
        "ix_products_listing_price_asc",
        "ix_products_published_in_stock",
        "ix_products_published_category",
    ):
        op.drop_index(name, table_name="products")
