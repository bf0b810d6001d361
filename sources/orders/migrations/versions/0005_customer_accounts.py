"""customer accounts from the identity provider, the shop profile, the orders audit log

Revision ID: orders_0005
Revises: orders_0004
Create Date: 2026-12-03 13:19:45.571294
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orders_0005"
down_revision: str | Sequence[str] | None = "orders_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders_audit")),
    )
    with op.batch_alter_table("orders_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_audit_at"), ["at"], unique=False)
        batch_op.create_index(
            "ix_orders_audit_entity", ["entity_type", "entity_id", "id"], unique=False
        )

    op.create_table(
        "shop_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("languages", sa.String(length=200), nullable=False),
        sa.Column("free_shipping_over", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_profile")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_customers_subject"), ["subject"])



def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_customers_subject"), type_="unique")
        batch_op.drop_column("subject")

    op.drop_table("shop_profile")
    with op.batch_alter_table("orders_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_audit_entity")
        batch_op.drop_index(batch_op.f("ix_orders_audit_at"))

    op.drop_table("orders_audit")
