"""Payments, shipments and after-sales: payments (one per order and stage), shipments with
their lines and service appointments (one per service line), after-sales requests with their
lines and status history, and the source's idempotency keys.

Revision ID: orders_0003
Revises: orders_0002
Create Date: 2026-11-25 23:53:31.538349
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orders_0003"
down_revision: str | Sequence[str] | None = "orders_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders_idempotency_keys",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_orders_idempotency_keys")),
    )
    with op.batch_alter_table("orders_idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_orders_idempotency_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "after_sales_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("refund_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "refund_amount >= 0", name=op.f("ck_after_sales_requests_refund_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_after_sales_requests_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_after_sales_requests_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_after_sales_requests")),
    )
    with op.batch_alter_table("after_sales_requests", schema=None) as batch_op:
        batch_op.create_index("ix_after_sales_requests_oldest", ["created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_after_sales_requests_order_id"), ["order_id"], unique=False
        )
        batch_op.create_index(
            "ix_after_sales_requests_status_oldest", ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_payments_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payments_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("order_id", "stage", name="uq_payments_order_id_stage"),
    )
    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_code", sa.String(length=32), nullable=True),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_shipments_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipments_order_id"), ["order_id"], unique=False)

    op.create_table(
        "after_sales_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("refund_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_after_sales_lines_quantity_positive")),
        sa.CheckConstraint(
            "refund_amount >= 0", name=op.f("ck_after_sales_lines_refund_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_after_sales_lines_order_line_id_order_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["after_sales_requests.id"],
            name=op.f("fk_after_sales_lines_request_id_after_sales_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_after_sales_lines")),
    )
    with op.batch_alter_table("after_sales_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_after_sales_lines_order_line_id"), ["order_line_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_after_sales_lines_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "after_sales_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["after_sales_requests.id"],
            name=op.f("fk_after_sales_status_changes_request_id_after_sales_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_after_sales_status_changes")),
    )
    with op.batch_alter_table("after_sales_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_after_sales_status_changes_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "service_appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_service_appointments_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_service_appointments_order_line_id_order_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_appointments")),
        sa.UniqueConstraint("order_line_id", name=op.f("uq_service_appointments_order_line_id")),
    )
    with op.batch_alter_table("service_appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_appointments_order_id"), ["order_id"], unique=False
        )

    op.create_table(
        "shipment_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_shipment_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_shipment_lines_order_line_id_order_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_lines_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_lines")),
    )
    with op.batch_alter_table("shipment_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipment_lines_shipment_id"), ["shipment_id"], unique=False
        )



def downgrade() -> None:
    with op.batch_alter_table("shipment_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_lines_shipment_id"))

    op.drop_table("shipment_lines")
    with op.batch_alter_table("service_appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_appointments_order_id"))

    op.drop_table("service_appointments")
    with op.batch_alter_table("after_sales_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_after_sales_status_changes_request_id"))

    op.drop_table("after_sales_status_changes")
    with op.batch_alter_table("after_sales_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_after_sales_lines_request_id"))
        batch_op.drop_index(batch_op.f("ix_after_sales_lines_order_line_id"))

    op.drop_table("after_sales_lines")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipments_order_id"))

    op.drop_table("shipments")
    op.drop_table("payments")
    with op.batch_alter_table("after_sales_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_after_sales_requests_status_oldest")
        batch_op.drop_index(batch_op.f("ix_after_sales_requests_order_id"))
        batch_op.drop_index("ix_after_sales_requests_oldest")

    op.drop_table("after_sales_requests")
    with op.batch_alter_table("orders_idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_idempotency_keys_created_at"))

    op.drop_table("orders_idempotency_keys")
