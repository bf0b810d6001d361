"""Loaders over the pricing store. Prices are in the request's currency; promotions are
those live at the request's start, so one response never mixes two moments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from sources.common.audit import AuditRecord
from sources.pricing.api import PricingSource
from sources.pricing.records import Price, Promotion

from ..cache import codec
from ..cache.entities import ReadThrough
from ..cache.keys import Kind
from ..metrics import Metrics
from ..resilience.degrade import carry_mark, last_known_for
from .audit import AuditKey, audit_loader
from .base import Loader
from .cached import read_through

# (product id, its category path): the pricing source does not own categories.
PromotionKey = tuple[int, tuple[int, ...]]


class PricingLoaders:
    """Each loader is made the first time the request asks for it."""

    def __init__(
        self,
        store: PricingSource,
        metrics: Metrics,
        batching: bool,
        *,
        currency: str,
        now: datetime,
        cache: ReadThrough | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._batching = batching
        self._currency = currency
        self._now = now
        self._cache = cache

    @cached_property
    def price(self) -> Loader[int, Price | None]:
        store, currency = self._store, self._currency

        async def prices(ids: Sequence[int]) -> dict[int, Price]:
            return await store.prices_by_sku_ids(ids, currency)

        # Browsing may be answered from last-known prices while pricing is down (marked
        # stale); the checkout reads the source itself and never sees them.
        cached_prices = read_through(
            self._cache,
            Kind.PRICE,
            codec.PRICE,
            prices,
            ident=lambda i: f"{currency}:{i}",
            last_known=last_known_for("pricing"),
        )
        return Loader(
            "pricing.price", cached_prices, metrics=self._metrics, batching=self._batching
        )

    @cached_property
    def cost_price(self) -> Loader[int, Decimal | None]:
        store, currency = self._store, self._currency

        async def costs(ids: Sequence[int]) -> dict[int, Decimal]:
            return await store.cost_prices_by_sku_ids(ids, currency)

        return Loader("pricing.cost_price", costs, metrics=self._metrics, batching=self._batching)

    @cached_property
    def promotions(self) -> Loader[PromotionKey, list[Promotion]]:
        store, cache, now = self._store, self._cache, self._now

        def promotions_ttl(found: list[Promotion]) -> float:
            """Never past the end of a promotion it shows; new ones appear within the TTL."""
            ttl = cache.cache.keys.ttl(Kind.PROMOTIONS) if cache else 0.0
            ends = [(p.ends_at - now).total_seconds() for p in found if p.ends_at is not None]
            return max(min([ttl, *ends]), 0.0)

        async def promotions(keys: Sequence[PromotionKey]) -> dict[PromotionKey, list[Promotion]]:
            found = await store.promotions_for_products(dict(keys), now)
            return {key: found.get(key[0], []) for key in keys}

        # Browsing may be answered from last-known promotions while pricing is down.
        cached_promotions = read_through(
            cache,
            Kind.PROMOTIONS,
            codec.PROMOTIONS,
            promotions,
            ident=_promotion_ident,
            ttl=promotions_ttl,
            last_known=last_known_for("pricing"),
        )

        async def live_promotions(
            keys: Sequence[PromotionKey],
        ) -> dict[PromotionKey, list[Promotion]]:
            """A last-known copy may hold promotions that have ended since: never shown."""
            found = dict(await cached_promotions(keys))
            # Each promotion asked once: a page's products share the same few records.
            lists = [value for value in found.values() if isinstance(value, list)]
            every = [p for value in lists for p in value]
            distinct = dict(zip(map(id, every), every, strict=True))
            ended = {i for i, p in distinct.items() if not p.is_live(now)}
            if not ended:
                return found
            for key, value in found.items():
                if isinstance(value, list) and any(id(p) in ended for p in value):
                    found[key] = carry_mark(value, [p for p in value if id(p) not in ended])
            return found

        return Loader(
            "pricing.promotions",
            live_promotions,
            metrics=self._metrics,
            batching=self._batching,
            default=list,
        )

    @cached_property
    def audit(self) -> Loader[AuditKey, list[AuditRecord]]:
        return audit_loader(
            "pricing.audit", self._store.audit_by_sku_ids, self._metrics, self._batching
        )

    @cached_property
    def promotion(self) -> Loader[int, Promotion | None]:
        return Loader(
            "pricing.promotion",
            self._store.promotions_by_ids,
            metrics=self._metrics,
            batching=self._batching,
        )


def _promotion_ident(key: PromotionKey) -> str:
    product_id, path = key
    return f"{product_id}:{'.'.join(map(str, path))}"
