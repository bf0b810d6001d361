"""Pricing tables: prices per SKU and currency, promotions and what they target."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sources.common.import_jobs import ImportJobColumns, ImportRowErrorColumns
from sources.common.models import NAMING_CONVENTION, AuditColumns, IdempotencyColumns
from sources.common.types import MoneyColumn, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Price(Base):
    __tablename__ = "prices"
    sku_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    list_amount: Mapped[Decimal] = mapped_column(MoneyColumn())
    sale_amount: Mapped[Decimal] = mapped_column(MoneyColumn())
    cost_amount: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("sale_amount > 0", name="sale_positive"),
        CheckConstraint("sale_amount <= list_amount", name="sale_within_list"),
    )


class Promotion(Base):
    """One promotion. ``scope`` says what it targets: ORDER (the whole cart), PRODUCTS or
    CATEGORIES (listed in promotion_targets). Which fields matter depends on ``kind``:
    PERCENTAGE uses percent; FIXED_AMOUNT uses amount; THRESHOLD uses threshold and amount
    or percent; BUY_X_GET_Y uses buy_quantity and get_quantity."""

    __tablename__ = "promotions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    coupon_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    is_exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    percent: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    amount: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    threshold: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    buy_quantity: Mapped[int | None] = mapped_column(Integer)
    get_quantity: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # Name and terms in each shop language beyond the base ones:
    # {"zh-CN": {"name": "满500减50", "description": "..."}}.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    # Codes made by couponCodesGenerate are promotions of their own (each with its own
    # usage limit, so the engine and coupon accounting need nothing new) under the coupon
    # promotion they copy; product pages show only the parent.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("promotions.id"), index=True)


class PromotionTarget(Base):
    __tablename__ = "promotion_targets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(Integer, index=True)
    category_id: Mapped[int | None] = mapped_column(Integer, index=True)


class CouponUse(Base):
    """One use of a coupon by one order. A released use (the order was cancelled or its
    placement undone) no longer counts against the coupon's limits; the row stays, so
    ``order_ref`` keeps recording idempotent and the history stays readable."""

    __tablename__ = "coupon_usages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"))
    customer_id: Mapped[int] = mapped_column(Integer)
    order_ref: Mapped[str] = mapped_column(String(200), index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("promotion_id", "order_ref", name="uq_coupon_usages_promotion_order"),
        Index("ix_coupon_usages_promotion_customer", "promotion_id", "customer_id"),
    )


class AuditEntry(AuditColumns, Base):
    __tablename__ = "pricing_audit"
    __table_args__ = (Index("ix_pricing_audit_entity", "entity_type", "entity_id", "id"),)


class IdempotencyKey(IdempotencyColumns, Base):
    """Bulk price changes applied once per key."""

    __tablename__ = "pricing_idempotency_keys"


class ImportJob(ImportJobColumns, Base):
    """A price file being applied (see sources/common/import_jobs.py)."""

    __tablename__ = "pricing_import_jobs"


class ImportRowError(ImportRowErrorColumns, Base):
    __tablename__ = "pricing_import_row_errors"
