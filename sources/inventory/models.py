"""Inventory tables. ``reserved <= on_hand`` is a database constraint, so no code path
can leave stock negative, whatever the concurrency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sources.common.import_jobs import ImportJobColumns, ImportRowErrorColumns
from sources.common.models import NAMING_CONVENTION, AuditColumns, IdempotencyColumns
from sources.common.types import UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Warehouse(Base):
    __tablename__ = "warehouses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)


class StockItem(Base):
    __tablename__ = "stock_items"
    sku_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )


class SupplierStock(Base):
    """The drop-ship feed: what a supplier says it can ship for a SKU."""

    __tablename__ = "supplier_stock"
    sku_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    available: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("available >= 0", name="available_not_negative"),)


class AuditEntry(AuditColumns, Base):
    __tablename__ = "inventory_audit"
    __table_args__ = (Index("ix_inventory_audit_entity", "entity_type", "entity_id", "id"),)


class IdempotencyKey(IdempotencyColumns, Base):
    __tablename__ = "inventory_idempotency_keys"


class Reservation(Base):
    """Stock held for one order while the checkout saga runs.

    ``order_ref`` is unique, so an order can hold stock once whatever the retries; a HELD
    reservation lapses at ``expires_at`` (the sweeper gives its stock back), a CONFIRMED one
    has no expiry. Status moves only by conditional UPDATEs on it, so each move happens once.
    """

    __tablename__ = "reservations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_ref: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A cart's hold (holds.py) is extended once by the buyer's activity: when it was.
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('HELD', 'CONFIRMED', 'RELEASED', 'SOLD')", name="status_known"),
        # The sweeper's search: HELD reservations by expiry.
        Index("ix_reservations_status_expires_at", "status", "expires_at"),
    )


class ReservationLine(Base):
    """What a reservation holds: a quantity of a SKU in one warehouse, or from one
    drop-ship supplier (exactly one of the two)."""

    __tablename__ = "reservation_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id"), index=True)
    sku_id: Mapped[int] = mapped_column(Integer)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    supplier_id: Mapped[int | None] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("(warehouse_id IS NULL) <> (supplier_id IS NULL)", name="one_stock_source"),
    )


class ImportJob(ImportJobColumns, Base):
    """A stock file being applied (see sources/common/import_jobs.py)."""

    __tablename__ = "inventory_import_jobs"


class ImportRowError(ImportRowErrorColumns, Base):
    __tablename__ = "inventory_import_row_errors"
