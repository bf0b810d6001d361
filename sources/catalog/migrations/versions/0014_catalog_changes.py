"""the catalog's change version, kept by triggers: what search's in-process facet table is
exact at

Revision ID: catalog_0014
Revises: catalog_0012
Create Date: 2026-12-04 21:50:00

One table, ``catalog_changes``, whose sum grows with every committed write to the
columns a search result page filters, counts and sorts by (sources/catalog/changes.py
says how, and why triggers). The triggers are created after the first row: on
PostgreSQL, CREATE TRIGGER locks the tables against writers until the migration commits.

(catalog_0013 is another branch's id; the two are chained at merge.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    from sources.catalog.changes import drop_statements

    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("catalog_changes")
