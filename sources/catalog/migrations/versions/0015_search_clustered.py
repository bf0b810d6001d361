"""PostgreSQL's search documents laid out by category

Revision ID: catalog_0015
Revises: catalog_0014
Create Date: 2026-12-05 00:30:00

A match reads every matching row of ``search_products`` (a bitmap heap scan: the GIN index
gives row addresses, the heap the product ids), and the documents are about 1.9 kB each,
four to a page. Written in product id order, the products of one category are spread over
the whole table, so the 7,442 matches of 耳机 at 100,000 products read 6,477 of its 21,354
pages (15-21 ms under load). Laid out by category, a query's matches, mostly products of a
few categories, sit on a few runs of pages: 1,988 for 耳机 (4-5 ms). ``gateway search
reindex`` writes them in that order (search/index.py); fillfactor 90 leaves a document
rewritten by a catalog write room on its own page. SQLite's FTS5 keeps its own doclists by
rowid: nothing to do there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "catalog_0015"
down_revision: str | Sequence[str] | None = "catalog_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TEMP TABLE search_products_by_category ON COMMIT DROP AS "
        "SELECT p.category_id, s.product_id, s.document FROM search_products s "
        "LEFT JOIN products p ON p.id = s.product_id"
    )
    op.execute("DROP INDEX IF EXISTS ix_search_products_document")
    op.execute("TRUNCATE search_products")
    op.execute("ALTER TABLE search_products SET (fillfactor = 90)")
    op.execute(
        "INSERT INTO search_products (product_id, document) "
        "SELECT product_id, document FROM search_products_by_category "
        "ORDER BY category_id NULLS FIRST, product_id"
    )
    op.execute(
        "CREATE INDEX ix_search_products_document ON search_products USING GIN (document)"
    )
    op.execute("ANALYZE search_products")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_products RESET (fillfactor)")
