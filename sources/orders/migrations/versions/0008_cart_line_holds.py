"""cart_lines.reserved_until: a flash-sale line's stock hold

Revision ID: orders_0008
Revises: orders_0007
Create Date: 2026-12-03 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orders_0008"
down_revision: str | Sequence[str] | None = "orders_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cart_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cart_lines", schema=None) as batch_op:
        batch_op.drop_column("reserved_until")
