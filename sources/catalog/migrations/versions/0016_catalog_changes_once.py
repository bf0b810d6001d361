"""the catalog's change version bumped once per transaction on PostgreSQL

Revision ID: catalog_0016
Revises: catalog_0015
Create Date: 2026-12-05 01:15:00

The statement trigger of catalog_0014 updated the version row once per statement. An
executemany is a statement per row, so a bulk load (the demo seed, an import) updated
the same row hundreds of thousands of times in one transaction, each update walking the
row's growing version chain: quadratic. Readers only see the version at commit, so the
function now bumps once per transaction (sources/catalog/changes.py). SQLite's row
triggers update one row in place: nothing to do there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "catalog_0016"
down_revision: str | Sequence[str] | None = "catalog_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from sources.catalog.changes import pg_function

    op.execute(pg_function())


def downgrade() -> None:
    pass  # the per-statement bump is correct too, only slower
