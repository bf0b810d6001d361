"""PricingStore: prices and promotions in batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)

from sources.common import lean
from sources.common.audit import AuditRecord, read_audit, write_audit
from sources.common.batches import BatchKey, ImportProgress
from sources.common.db import Database
from sources.common.import_jobs import ImportJobs
from sources.common.translations import translations_from

from . import bulk, coupons, manage
from . import models as m
from .engine import CheckoutPricing, CouponUsage, coupon_key
from .records import (
    CouponBatch,
    Price,
    PriceBatch,
    PriceChange,
    Promotion,
    PromotionFields,
    PromotionKind,
    PromotionScope,
    PromotionWrite,
)


def _live_at(at: datetime | BindParameter[datetime]) -> tuple[ColumnElement[bool], ...]:
    return (
        m.Promotion.is_active.is_(True),
        or_(m.Promotion.starts_at.is_(None), m.Promotion.starts_at <= at),
        or_(m.Promotion.ends_at.is_(None), m.Promotion.ends_at > at),
    )


# Built once (Database.read): the listing's price batch.
_PRICES_BY_SKU_IDS = select(m.Price.sku_id, m.Price.list_amount, m.Price.sale_amount).where(
    m.Price.sku_id.in_(bindparam("ids", expanding=True)),
    m.Price.currency == bindparam("currency"),
)


def _with_targets(
    *conditions: ColumnElement[bool],
) -> Select[m.Promotion, int | None, int | None]:
    """Promotions and their targets in one statement: a promotion's row comes once per
    target (once with none), in the engine's order (priority, then id)."""
    return (
        select(
            m.Promotion,
            m.PromotionTarget.product_id.label("target_product_id"),
            m.PromotionTarget.category_id.label("target_category_id"),
        )
        .outerjoin(m.PromotionTarget, m.PromotionTarget.promotion_id == m.Promotion.id)
        .where(*conditions)
        .order_by(m.Promotion.priority.desc(), m.Promotion.id)
    )


_AUTOMATIC_LIVE = _with_targets(
    m.Promotion.coupon_code.is_(None),
    *_live_at(bindparam("at", type_=m.Promotion.starts_at.type)),
)


# pricing_for_checkout's prices and promotions in one statement (one round trip): the
# promotions with their targets (part 0, the columns and order of _with_targets) then,
# UNION ALL, the SKUs' prices (part 1), each part's columns NULL in the other's rows (typed
# NULLs: every column keeps its type's result processor). Two kept statements: the live
# automatic promotions (the checkout without a coupon), and those or a typed code's.
_PRICE_LABELLED = (
    m.Price.sku_id.label("price_sku_id"),
    m.Price.list_amount.label("price_list_amount"),
    m.Price.sale_amount.label("price_sale_amount"),
)
_PROMOTION_PART = (
    *m.Promotion.__table__.c,
    m.PromotionTarget.product_id.label("target_product_id"),
    m.PromotionTarget.category_id.label("target_category_id"),
)


def _nulls(columns: Sequence[Any]) -> list[Any]:
    return [cast(null(), column.type).label(column.key) for column in columns]


def _prices_and_promotions(*conditions: ColumnElement[bool]) -> Any:
    both = union_all(
        select(literal(0).label("part"), *_PROMOTION_PART, *_nulls(_PRICE_LABELLED))
        .outerjoin(m.PromotionTarget, m.PromotionTarget.promotion_id == m.Promotion.id)
        .where(*conditions),
        select(literal(1).label("part"), *_nulls(_PROMOTION_PART), *_PRICE_LABELLED).where(
            m.Price.sku_id.in_(bindparam("ids", expanding=True)),
            m.Price.currency == bindparam("currency"),
        ),
    )
    part, priority, pk = (both.selected_columns[k] for k in ("part", "priority", "id"))
    return both.order_by(part, priority.desc(), pk)


_AT = bindparam("at", type_=m.Promotion.starts_at.type)
_AUTOMATIC_LIVE_AT = (m.Promotion.coupon_code.is_(None), *_live_at(_AT))
_PRICES_AND_AUTOMATIC_LIVE = _prices_and_promotions(*_AUTOMATIC_LIVE_AT)
_PRICES_AND_AUTOMATIC_LIVE_OR_TYPED = _prices_and_promotions(
    or_(
        and_(*_AUTOMATIC_LIVE_AT),
        func.lower(m.Promotion.coupon_code).in_(bindparam("keys", expanding=True)),
    )
)


def _promotions_of(rows: Any) -> list[Promotion]:
    """The promotions of _with_targets rows (a promotion's row once per target)."""
    promos: dict[int, Any] = {}
    products: dict[int, set[int]] = defaultdict(set)
    categories: dict[int, set[int]] = defaultdict(set)
    # Columns by name through each row's mapping: a SQLAlchemy Row's attributes cost a
    # formatted and dropped AttributeError each (catalog/store.py's _product says more).
    for row in rows:
        c = row._mapping
        promos.setdefault(c["id"], c)
        if c["target_product_id"] is not None:
            products[c["id"]].add(c["target_product_id"])
        if c["target_category_id"] is not None:
            categories[c["id"]].add(c["target_category_id"])
    return [
        Promotion(
            id=p["id"],
            name=p["name"],
            kind=PromotionKind(p["kind"]),
            description=p["description"],
            scope=PromotionScope(p["scope"]),
            starts_at=p["starts_at"],
            ends_at=p["ends_at"],
            coupon_code=p["coupon_code"],
            priority=p["priority"],
            is_exclusive=p["is_exclusive"],
            percent=p["percent"],
            amount=p["amount"],
            threshold=p["threshold"],
            buy_quantity=p["buy_quantity"],
            get_quantity=p["get_quantity"],
            currency=p["currency"],
            product_ids=frozenset(products.get(p["id"], ())),
            category_ids=frozenset(categories.get(p["id"], ())),
            usage_limit=p["usage_limit"],
            per_customer_limit=p["per_customer_limit"],
            is_active=p["is_active"],
            translations=translations_from(p["translations"]),
        )
        for p in promos.values()
    ]


class PricingStore(ImportJobs):
    source = "pricing"
    import_job_model = m.ImportJob
    import_row_error_model = m.ImportRowError

    def __init__(self, db: Database) -> None:
        self.db = db

    async def prices_by_sku_ids(self, sku_ids: Sequence[int], currency: str) -> dict[int, Price]:
        return await self._prices(sku_ids, currency)

    async def _prices(
        self, sku_ids: Sequence[int], currency: str, conn: Any = None
    ) -> dict[int, Price]:
        params = {"ids": sorted(set(sku_ids)), "currency": currency}
        if conn is None:
            rows = await self.db.read(_PRICES_BY_SKU_IDS, params)
        else:
            rows = (await lean.execute(conn, _PRICES_BY_SKU_IDS, params)).all()
        return {
            sku_id: Price(sku_id, currency, list_amount, sale_amount)
            for sku_id, list_amount, sale_amount in rows
        }

    async def cost_prices_by_sku_ids(
        self, sku_ids: Sequence[int], currency: str
    ) -> dict[int, Decimal]:
        """Kept apart from the sale price so that only finance-facing views ever load it."""
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(m.Price.sku_id, m.Price.cost_amount).where(
                    m.Price.sku_id.in_(set(sku_ids)),
                    m.Price.currency == currency,
                    m.Price.cost_amount.is_not(None),
                )
            )
            return {sku_id: cost for sku_id, cost in rows if cost is not None}

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
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    select(m.Price.list_amount, m.Price.sale_amount).where(
                        m.Price.sku_id == sku_id, m.Price.currency == currency
                    )
                )
            ).first()
            before = Price(sku_id, currency, row.list_amount, row.sale_amount) if row else None
            if row is None:
                await conn.execute(
                    insert(m.Price).values(
                        sku_id=sku_id,
                        currency=currency,
                        list_amount=list_amount,
                        sale_amount=sale_amount,
                        updated_at=now,
                    )
                )
            else:
                await conn.execute(
                    update(m.Price)
                    .where(m.Price.sku_id == sku_id, m.Price.currency == currency)
                    .values(list_amount=list_amount, sale_amount=sale_amount, updated_at=now)
                )
            after = Price(sku_id, currency, list_amount, sale_amount)
            await write_audit(
                conn,
                m.AuditEntry,
                at=now,
                actor=actor,
                action="price.set",
                entity_type="sku",
                entity_id=sku_id,
                before={"list": before.list_amount, "sale": before.sale_amount} if before else {},
                after={"list": list_amount, "sale": sale_amount, "currency": currency},
            )
        return before, after

    async def set_prices(
        self,
        changes: Sequence[PriceChange],
        *,
        actor: str,
        now: datetime,
        key: BatchKey | None = None,
        progress: ImportProgress | None = None,
    ) -> PriceBatch:
        """Apply every change in one transaction (audited, one entry each), with the
        batch's idempotency key or an import job's progress. See bulk.py."""
        return await bulk.set_prices(
            self.db, changes, actor=actor, now=now, key=key, progress=progress
        )

    async def audit_by_sku_ids(
        self, sku_ids: Sequence[int], limit: int
    ) -> dict[int, list[AuditRecord]]:
        async with self.db.connect() as conn:
            return await read_audit(conn, m.AuditEntry, self.source, "sku", sku_ids, limit)

    @asynccontextmanager
    async def _reading(self, conn: Any) -> AsyncIterator[Any]:
        """The caller's connection (a combined read), or a read connection of its own."""
        if conn is not None:
            yield conn
            return
        async with self.db.connect() as own:
            yield own

    async def promotions_by_ids(self, ids: Sequence[int]) -> dict[int, Promotion]:
        promos = await self._promotions(m.Promotion.id.in_(set(ids)))
        return {p.id: p for p in promos}

    async def live_promotions(self, at: datetime) -> list[Promotion]:
        return await self._promotions(*_live_at(at))

    async def _promotions(
        self, *conditions: ColumnElement[bool], at: datetime | None = None, conn: Any = None
    ) -> list[Promotion]:
        """``at`` alone: the live automatic promotions (the checkout's case, one statement
        kept between calls); otherwise those matching ``conditions``."""
        if at is not None and not conditions:
            statement, params = _AUTOMATIC_LIVE, {"at": at}
        else:
            statement, params = _with_targets(*conditions), {}
        async with self._reading(conn) as reader:
            rows = (
                await lean.execute(reader, statement, params)
                if statement is _AUTOMATIC_LIVE
                else await reader.execute(statement, params)
            )
            return _promotions_of(rows)

    async def promotions_for_products(
        self, category_paths: Mapping[int, tuple[int, ...]], at: datetime
    ) -> dict[int, list[Promotion]]:
        """Live promotions that can apply to each product now, keyed by product id.

        The caller passes each product's category path (the catalog owns categories), so a
        promotion on a parent category reaches products in its subcategories.
        """
        # Generated coupon codes stand in for their promotion, which the page shows.
        live = await self._promotions(*_live_at(at), m.Promotion.parent_id.is_(None))
        return {
            pid: [p for p in live if p.targets(pid, path)] for pid, path in category_paths.items()
        }

    async def promotions_for_checkout(
        self, coupon_codes: Sequence[str], at: datetime, hint_days: int | None = None
    ) -> list[Promotion]:
        return await self._promotions_for_checkout(coupon_codes, at, hint_days)

    async def _promotions_for_checkout(
        self,
        coupon_codes: Sequence[str],
        at: datetime,
        hint_days: int | None = None,
        conn: Any = None,
    ) -> list[Promotion]:
        """What the promotion engine needs to price a cart: the live automatic promotions,
        plus every promotion whose coupon code matches a typed code (case-insensitive),
        whatever its window or pause switch, so the engine can say EXPIRED, not NOT_FOUND.

        With ``hint_days`` (a cart shown to its buyer, never a checkout): also the shared
        coupon promotions (not generated codes) and the automatic ones that are not paused
        and whose window is open, or ended or opens within that many days, so the engine
        can say what each line is missing. The engine prices the cart the same either way.
        """
        keys = sorted({coupon_key(code) for code in coupon_codes} - {""})
        if hint_days is None and not keys:
            return await self._promotions(at=at, conn=conn)  # the checkout's: a kept statement
        automatic = and_(m.Promotion.coupon_code.is_(None), *_live_at(at))
        if hint_days is not None:
            near = timedelta(days=hint_days)
            automatic = and_(
                m.Promotion.parent_id.is_(None),
                m.Promotion.is_active.is_(True),
                or_(m.Promotion.starts_at.is_(None), m.Promotion.starts_at <= at + near),
                or_(m.Promotion.ends_at.is_(None), m.Promotion.ends_at > at - near),
            )
        if not keys:
            return await self._promotions(automatic, conn=conn)
        typed = func.lower(m.Promotion.coupon_code).in_(keys)
        return await self._promotions(or_(automatic, typed), conn=conn)

    async def coupon_usage(
        self, promotion_ids: Sequence[int], customer_id: int | None
    ) -> dict[int, CouponUsage]:
        """Uses that count against each coupon's limits (released ones do not), in total
        and by ``customer_id`` (0 for an anonymous buyer); every id asked for is a key."""
        return await coupons.coupon_usage(self.db, promotion_ids, customer_id)

    async def pricing_for_checkout(
        self,
        sku_ids: Sequence[int],
        currency: str,
        coupon_codes: Sequence[str],
        at: datetime,
        customer_id: int | None,
    ) -> CheckoutPricing:
        """Prices, promotions (as promotions_for_checkout) and the coupons' usage in one
        call, read in that order; usage is read only when a coupon promotion came back."""
        # One connection, and the private forms: the public ones each count as a call.
        async with self.db.connect() as conn:
            if sku_ids:
                prices, promotions = await self._prices_and_promotions(
                    conn, sku_ids, currency, coupon_codes, at
                )
            else:
                prices = {}
                promotions = await self._promotions_for_checkout(coupon_codes, at, conn=conn)
            coupon_ids = [p.id for p in promotions if p.coupon_code is not None]
            usage = await coupons.usage_on(conn, coupon_ids, customer_id) if coupon_ids else {}
        return CheckoutPricing(prices, promotions, usage)

    async def _prices_and_promotions(
        self,
        conn: Any,
        sku_ids: Sequence[int],
        currency: str,
        coupon_codes: Sequence[str],
        at: datetime,
    ) -> tuple[dict[int, Price], list[Promotion]]:
        """``_prices`` and ``_promotions_for_checkout`` (no hint) in one statement: the same
        rows, so the same records (tests/sources/pricing/test_prices_and_promotions.py)."""
        keys = sorted({coupon_key(code) for code in coupon_codes} - {""})
        params: dict[str, Any] = {"ids": sorted(set(sku_ids)), "currency": currency, "at": at}
        statement = _PRICES_AND_AUTOMATIC_LIVE
        if keys:
            statement, params["keys"] = _PRICES_AND_AUTOMATIC_LIVE_OR_TYPED, keys
        rows = (await lean.execute(conn, statement, params)).all()
        cut = next((i for i, row in enumerate(rows) if row.part), len(rows))
        prices = {
            r.price_sku_id: Price(
                r.price_sku_id, currency, r.price_list_amount, r.price_sale_amount
            )
            for r in rows[cut:]
        }
        return prices, _promotions_of(rows[:cut])

    async def record_coupon_uses(
        self, *, order_ref: str, customer_id: int, promotion_ids: Sequence[int], at: datetime
    ) -> list[int]:
        """Record one use of each coupon promotion among ``promotion_ids`` for an order, all
        or nothing: returns the ids whose limit is reached (then nothing is recorded), or
        [] on success and when ``order_ref`` was already recorded. See coupons.py."""
        return await coupons.record_coupon_uses(
            self.db,
            order_ref=order_ref,
            customer_id=customer_id,
            promotion_ids=promotion_ids,
            at=at,
        )

    async def release_coupon_uses(self, order_ref: str, at: datetime) -> int:
        """Give an order's coupon uses back, exactly once; returns how many were released."""
        return await coupons.release_coupon_uses(self.db, order_ref, at)

    # -----------------------------------------------------------------------------------
    # Back-office writes (sources/pricing/manage.py): judged by the engine's rules, audited.

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
        return await manage.create_promotion(
            self.db, fields, currency=currency, actor=actor, now=now, key=key
        )

    async def update_promotion(
        self, promotion_id: int, fields: PromotionFields, *, actor: str, now: datetime
    ) -> PromotionWrite:
        """Its terms with these changes, judged as a whole (its codes follow)."""
        return await manage.update_promotion(
            self.db, promotion_id, fields, load=self.promotions_by_ids, actor=actor, now=now
        )

    async def end_promotion(
        self, promotion_id: int, *, actor: str, now: datetime
    ) -> PromotionWrite:
        """Close its window now, with its generated codes'."""
        return await manage.end_promotion(
            self.db, promotion_id, load=self.promotions_by_ids, actor=actor, now=now
        )

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
        return await manage.generate_codes(
            self.db,
            promotion_id,
            count=count,
            usage_limit=usage_limit,
            prefix=prefix,
            load=self.promotions_by_ids,
            actor=actor,
            now=now,
            key=key,
        )
