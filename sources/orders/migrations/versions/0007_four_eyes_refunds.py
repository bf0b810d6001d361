"""Four-eyes refunds: an after-sales request's status may be AWAITING_SECOND_APPROVAL
(24 characters), so the status columns of requests and their history widen to 32.

Revision ID: orders_0007
Revises: orders_0006
Create Date: 2026-12-03 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orders_0007"
down_revision: str | Sequence[str] | None = "orders_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("after_sales_requests", "status", False),
    ("after_sales_status_changes", "from_status", True),
    ("after_sales_status_changes", "to_status", False),
)


def _resize(old: int, new: int) -> None:
    for table, column, nullable in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=old),
                type_=sa.String(length=new),
                existing_nullable=nullable,
            )


def upgrade() -> None:
    _resize(16, 32)


def downgrade() -> None:
    # The older code knows no such status: requests awaiting a second approval go back to
    # OPEN, and so do the history's mentions of it (who approved once stays in the audit).
    op.execute(
        "UPDATE after_sales_requests SET status = 'OPEN' "
        "WHERE status = 'AWAITING_SECOND_APPROVAL'"
    )
    for column in ("from_status", "to_status"):
        op.execute(
            f"UPDATE after_sales_status_changes SET {column} = 'OPEN' "  # noqa: S608
            f"WHERE {column} = 'AWAITING_SECOND_APPROVAL'"
        )
    _resize(32, 16)
