"""search: translations, and the search engine's index (FTS5 or tsvector + pg_trgm)

Revision ID: catalog_0006
Revises: catalog_0005
Create Date: 2026-12-03 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0006"
down_revision: str | Sequence[str] | None = "catalog_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from sources.catalog.search.engine import engine_for

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("translations", sa.JSON(), server_default="{}", nullable=False)
        )
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("translations", sa.JSON(), server_default="{}", nullable=False)
        )
    bind = op.get_bind()
    for statement in engine_for(bind.dialect.name).create_statements():
        op.execute(statement)
    # Products already in the catalogue are indexed by `gateway search reindex`.


def downgrade() -> None:
    from sources.catalog.search.engine import engine_for

    bind = op.get_bind()
    for statement in engine_for(bind.dialect.name).drop_statements():
        op.execute(statement)
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("translations")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("translations")
