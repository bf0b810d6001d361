"""the catalog's change version, kept by triggers: what search's in-process facet table is
exact at; SQLite's search index with prefix indexes

Revision ID: catalog_0014
Revises: catalog_0012
Create Date: 2026-12-04 21:50:00

One table, ``catalog_changes``, whose sum grows with every committed write to the
columns a search result page filters, counts and sorts by (sources/catalog/changes.py
says how, and why triggers). The triggers are created after the first row: on
PostgreSQL, CREATE TRIGGER locks the tables against writers until the migration commits.

On SQLite the FTS5 table is made again with prefix indexes of one to four letters
(sources/catalog/search/engine.py, FTS_COLUMNS), its rows copied as they are (the terms
are already made): about 25 s and twice the index's size at 100,000 products.

(catalog_0013 is another branch's id; the two are chained at merge.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# As made by this revision (the engine's later changes are later revisions' business).
FTS_COLUMNS = (
    "title, labels, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4'"
)

revision: str = "catalog_0014"
down_revision: str | Sequence[str] | None = "catalog_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from sources.catalog.changes import SEED, create_statements

    op.create_table(
        "catalog_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_changes")),
    )
    op.execute(SEED)
    for statement in create_statements(op.get_bind().dialect.name):
        op.execute(statement)
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_fts(FTS_COLUMNS)


def _sqlite_fts(columns: str) -> None:
    op.execute(f"CREATE VIRTUAL TABLE search_products_copy USING fts5({columns})")
    op.execute(
        "INSERT INTO search_products_copy (rowid, title, labels, body) "
        "SELECT rowid, title, labels, body FROM search_products"
    )
    op.execute("DROP TABLE search_products")
    op.execute("ALTER TABLE search_products_copy RENAME TO search_products")


def downgrade() -> None:
    from sources.catalog.changes import drop_statements

    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("catalog_changes")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_fts("title, labels, body, tokenize = 'unicode61 remove_diacritics 2'")
