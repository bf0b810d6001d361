"""search covering indexes: a result page's matches never read their wide rows

Revision ID: catalog_0012
Revises: catalog_0011
Create Date: 2026-12-04 19:10:00

A search page filters, ranks, counts and facets a few thousand matches at 100,000
products. Each lookup into ``products`` by id read the whole row (its description and
translations, often on overflow pages) to reach ``is_published`` or ``price_min``;
``ix_products_search`` holds those columns, so the matches are read from the index alone
(sources/catalog/search/covering.py). ``ix_product_attribute_values_search`` does the same
for the specification facets' choice values.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "catalog_0012"
down_revision: str | Sequence[str] | None = "catalog_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_COLUMNS = [
    "id", "is_published", "category_id", "brand_id", "kind", "in_stock", "price_min",
    "price_max", "created_at",
]  # fmt: skip


def upgrade() -> None:
    op.create_index("ix_products_search", "products", SEARCH_COLUMNS)
    op.create_index(
        "ix_product_attribute_values_search",
        "product_attribute_values",
        ["product_id", "attribute_id", "text_value"],
    )


def downgrade() -> None:
    op.drop_index("ix_product_attribute_values_search", table_name="product_attribute_values")
    op.drop_index("ix_products_search", table_name="products")
