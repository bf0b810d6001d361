"""Carts and orders: carts and their lines, orders with lines, line discounts and status
history, and checkout attempts (one per customer and idempotency key).

Revision ID: orders_0002
Revises: orders_0001
Create Date: 2026-11-25 23:11:55.301975
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orders_0002"
down_revision: str | Sequence[str] | None = "orders_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("coupon_codes", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ship_name", sa.String(length=200), nullable=True),
        sa.Column("ship_phone", sa.String(length=32), nullable=True),
        sa.Column("ship_country", sa.String(length=2), nullable=True),
        sa.Column("ship_region", sa.String(length=16), nullable=True),
        sa.Column("ship_city", sa.String(length=100), nullable=True),
        sa.Column("ship_line1", sa.String(length=300), nullable=True),
        sa.Column("ship_postal_code", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_carts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
    )
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carts_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "cart_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cart_id", sa.String(length=32), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_cart_lines_cart_id_carts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_lines")),
        sa.UniqueConstraint("cart_id", "sku_id", name="uq_cart_lines_cart_id_sku_id"),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("cart_id", sa.String(length=32), nullable=False),
        sa.Column("order_ref", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("discount_total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("shipping_total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("deposit_due", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ship_name", sa.String(length=200), nullable=True),
        sa.Column("ship_phone", sa.String(length=32), nullable=True),
        sa.Column("ship_country", sa.String(length=2), nullable=True),
        sa.Column("ship_region", sa.String(length=16), nullable=True),
        sa.Column("ship_city", sa.String(length=100), nullable=True),
        sa.Column("ship_line1", sa.String(length=300), nullable=True),
        sa.Column("ship_postal_code", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["cart_id"], ["carts.id"], name=op.f("fk_orders_cart_id_carts")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("cart_id", name=op.f("uq_orders_cart_id")),
        sa.UniqueConstraint("number", name=op.f("uq_orders_number")),
        sa.UniqueConstraint("order_ref", name=op.f("uq_orders_order_ref")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_customer_newest", ["customer_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_orders_newest", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_orders_status_newest", ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "checkout_attempts",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("order_ref", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_checkout_attempts_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_checkout_attempts_order_id_orders")
        ),
        sa.PrimaryKeyConstraint(
            "customer_id", "idempotency_key", name=op.f("pk_checkout_attempts")
        ),
        sa.UniqueConstraint("order_ref", name=op.f("uq_checkout_attempts_order_ref")),
    )
    with op.batch_alter_table("checkout_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkout_attempts_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(length=300), nullable=False),
        sa.Column("sku_name", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("subtotal", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("deposit", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("fulfillment", sa.String(length=16), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_status_changes_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_status_changes")),
    )
    with op.batch_alter_table("order_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_status_changes_order_id"), ["order_id"], unique=False
        )

    op.create_table(
        "order_line_discounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("promotion_id", sa.Integer(), nullable=False),
        sa.Column("promotion_name", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["order_lines.id"],
            name=op.f("fk_order_line_discounts_line_id_order_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line_discounts")),
    )
    with op.batch_alter_table("order_line_discounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_line_discounts_line_id"), ["line_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("order_line_discounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_line_discounts_line_id"))

    op.drop_table("order_line_discounts")
    with op.batch_alter_table("order_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_status_changes_order_id"))

    op.drop_table("order_status_changes")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))

    op.drop_table("order_lines")
    with op.batch_alter_table("checkout_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkout_attempts_updated_at"))

    op.drop_table("checkout_attempts")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_status_newest")
        batch_op.drop_index("ix_orders_newest")
        batch_op.drop_index("ix_orders_customer_newest")

    op.drop_table("orders")
    op.drop_table("cart_lines")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carts_customer_id"))

    op.drop_table("carts")
