"""PricingSource: prices, promotions and coupon uses as a typed interface, implemented by
``PricingStore`` in process and by ``RemoteSource`` over HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sources.common.audit import AuditRecord
from sources.common.batches import BatchKey, ImportProgress
from sources.common.import_jobs import ImportJobsSource
from sources.common.wire import read

from .engine import CheckoutPricing, CouponUsage
from .records import (
    CouponBatch,
    Price,
    PriceBatch,
    PriceChange,
    Promotion,
    PromotionFields,
    PromotionWrite,
)

ERRORS: tuple[type[Exception], ...] = ()


class PricingSource(ImportJobsSource, Protocol):
    source: str

    @read
    async def prices_by_sku_ids(
        self, sku_ids: Sequence[int], currency: str
    ) -> dict[int, Price]: ...

    @read
    async def cost_prices_by_sku_ids(
        self, sku_ids: Sequence[int], currency: str
    ) -> dict[int, Decimal]:
        """Kept apart from the sale price so that only finance-facing views ever load it."""

    async def set_price(
        self,
        *,
        sku_id: int,
        currency: str,
        list_amount: Decimal,
        sale_amount: Decimal,
        actor: str,
        now: datetime,
    ) -> tuple[Price | None, Price]:
        """Set a SKU's list and sale price; returns (before, after). Audited."""

    @read
    async def audit_by_sku_ids(
        self, sku_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]: ...

    @read
    async def promotions_by_ids(self, ids: Sequence[int]) -> dict[int, Promotion]: ...

    @read
    async def live_promotions(self, at: datetime) -> list[Promotion]: ...

    @read
    async def promotions_for_products(
        self, category_paths: Mapping[int, tuple[int, ...]], at: datetime
    ) -> dict[int, list[Promotion]]:
        """Live promotions that can apply to each product now, keyed by product id.

        The caller passes each product's category path (the catalog owns categories), so a
        promotion on a parent category reaches products in its subcategories."""

    @read
    async def promotions_for_checkout(
        self, coupon_codes: Sequence[str], at: datetime, hint_days: int | None = None
    ) -> list[Promotion]:
        """What the promotion engine needs to price a cart: the live automatic promotions,
        plus every promotion whose coupon code matches a typed code (case-insensitive),
        whatever its window or pause switch, so the engine can say EXPIRED, not NOT_FOUND.
        With ``hint_days`` (a cart shown to its buyer): also the shared coupons and the
        unpaused promotions whose window is open or within that many days (hints.py)."""

    @read
    async def coupon_usage(
        self, promotion_ids: Sequence[int], customer_id: int | None
    ) -> dict[int, CouponUsage]:
        """Uses that count against each coupon's limits (released ones do not), in total
        and by ``customer_id`` (0 for an anonymous buyer); every id asked for is a key."""

    @read
    async def pricing_for_checkout(
        self,
        sku_ids: Sequence[int],
        currency: str,
        coupon_codes: Sequence[str],
        at: datetime,
        customer_id: int | None,
    ) -> CheckoutPricing:
        """:meth:`prices_by_sku_ids`, :meth:`promotions_for_checkout` and the
        :meth:`coupon_usage` of the coupon promotions among them, in one call."""

    async def record_coupon_uses(
        self, *, order_ref: str, customer_id: int, promotion_ids: Sequence[int], at: datetime
    ) -> list[int]:
        """Record one use of each coupon promotion among ``promotion_ids`` for an order, all
        or nothing: returns the ids whose limit is reached (then nothing is recorded), or
        [] on success and when ``order_ref`` was already recorded. See coupons.py."""

    async def release_coupon_uses(self, order_ref: str, at: datetime) -> int:
        """Give an order's coupon uses back, exactly once; returns how many were released."""

    async def set_prices(
        self,
        changes: Sequence[PriceChange],
        *,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
        progress: ImportProgress | None = None,
    ) -> PriceBatch:
        """Many prices in one transaction, audited per item (bulk writes and imports)."""

    async def create_promotion(
        self,
        fields: PromotionFields,
        *,
        currency: str,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> PromotionWrite:
        """A promotion the engine can apply, or the problems that stop it; once per key."""

    async def update_promotion(
        self, promotion_id: int, fields: PromotionFields, *, actor: str, now: datetime
    ) -> PromotionWrite:
        """Its terms with these changes, judged as a whole (its codes follow)."""

    async def end_promotion(
        self, promotion_id: int, *, actor: str, now: datetime
    ) -> PromotionWrite:
        """Close its window now, with its generated codes'."""

    async def generate_coupon_codes(
        self,
        promotion_id: int,
        *,
        count: int,
        usage_limit: int,
        prefix: str,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
    ) -> CouponBatch:
        """Unique, unguessable codes for a coupon promotion, each with its own limit."""
