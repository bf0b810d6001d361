"""The read-through as a loader sees it: exact records back, one source call for many
concurrent misses of one key, "does not exist" remembered, invalidation honoured."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from prometheus_client import CollectorRegistry

from gateway.cache import codec
from gateway.cache.entities import ReadThrough
from gateway.cache.keys import Kind
from gateway.cache.memory import InProcessCache
from gateway.cache.metrics import CacheMetrics
from gateway.cache.settings import CacheSettings
from gateway.cache.shared import SharedCache
from sources.catalog.records import FulfillmentMode, Presale, Product, ProductKind
from sources.inventory.records import StockLevel, WarehouseStock
from sources.pricing.records import Price, Promotion, PromotionKind, PromotionScope

from .redis_support import unique_prefix

AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def read_through() -> ReadThrough:
    settings = CacheSettings(key_prefix=unique_prefix())
    metrics = CacheMetrics(CollectorRegistry())
    return ReadThrough(SharedCache(settings, InProcessCache(1000), metrics))


def a_product(pid: int = 7) -> Product:
    presale = Presale(Decimal("100.00"), "CNY", AT, AT, AT)
    return Product(
        pid, "kettle", "Kettle", "Boils", ProductKind.PHYSICAL, FulfillmentMode.WAREHOUSE,
        True, 3, None, None, AT, presale, Decimal("9.90"), Decimal("19.00"), "CNY", True,
    )  # fmt: skip


def test_records_come_back_exactly_equal() -> None:
    promotion = Promotion(
        1, "Spring", PromotionKind.PERCENTAGE, "", PromotionScope.CATEGORIES, AT, None, None,
        10, False, Decimal("12.5"), None, Decimal("199.00"), None, None, "CNY",
        frozenset({1, 2}), frozenset({3}), usage_limit=5,
    )  # fmt: skip
    stock = StockLevel(4, (WarehouseStock("SH", 5, 2), WarehouseStock("BJ", 0, 0)), 3)
    price = Price(4, "CNY", Decimal("10.00"), Decimal("9.99"))

    assert codec.PRODUCT.decode(codec.PRODUCT.encode(a_product())) == a_product()
    assert codec.PROMOTIONS.decode(codec.PROMOTIONS.encode([promotion])) == [promotion]
    assert codec.STOCK.decode(codec.STOCK.encode(stock)) == stock
    assert codec.PRICE.decode(codec.PRICE.encode(price)) == price
    assert codec.PRODUCT.decode(codec.PRODUCT.encode(None)) is None


def test_many_concurrent_misses_of_one_key_cost_one_source_call() -> None:
    calls: list[Sequence[int]] = []

    async def slow_fetch(ids: Sequence[int]) -> dict[int, Product]:
        calls.append(ids)
        await asyncio.sleep(0.05)
        return {i: a_product(i) for i in ids}

    async def stampede() -> list[dict[int, Product]]:
        cache = read_through()
        return await asyncio.gather(
            *(cache.load(Kind.PRODUCT, codec.PRODUCT, [7], slow_fetch) for _ in range(50))
        )

    results = asyncio.run(stampede())

    assert len(calls) == 1
    assert all(r == {7: a_product(7)} for r in results)


def test_a_missing_entity_is_remembered_and_an_invalidation_forgets_it() -> None:
    calls: list[Sequence[int]] = []

    async def fetch(ids: Sequence[int]) -> dict[int, Product]:
        calls.append(ids)
        return {}

    async def scenario() -> None:
        cache = read_through()
        assert await cache.load(Kind.PRODUCT, codec.PRODUCT, [9], fetch) == {}
        await asyncio.sleep(0.6)  # past the single-flight memo: this is the shared cache
        assert await cache.load(Kind.PRODUCT, codec.PRODUCT, [9], fetch) == {}
        assert len(calls) == 1
        await cache.cache.invalidate([(Kind.PRODUCT, 9)])
        await cache.load(Kind.PRODUCT, codec.PRODUCT, [9], fetch)
        assert len(calls) == 2

    asyncio.run(scenario())


def test_the_in_process_cache_stays_within_its_bounds() -> None:
    async def scenario() -> None:
        cache = InProcessCache(100)
        await cache.set_many({f"k{i}": b"v" for i in range(250)}, 60)
        assert len(cache) == 100
        assert await cache.get_many(["k0", "k249"]) == {"k249": b"v"}

    asyncio.run(scenario())


def test_hits_and_misses_are_counted_by_type() -> None:
    """Each type's two series are looked up once and kept (CacheMetrics.lookups): what
    /metrics shows must not change with it."""
    registry = CollectorRegistry()
    cache = ReadThrough(
        SharedCache(
            CacheSettings(key_prefix=unique_prefix()), InProcessCache(1000), CacheMetrics(registry)
        )
    )

    async def fetch(ids: Sequence[int]) -> dict[int, Product]:
        return {i: a_product(i) for i in ids}

    async def scenario() -> None:
        await cache.load(Kind.PRODUCT, codec.PRODUCT, [1, 2], fetch)
        await asyncio.sleep(0.6)  # past the single-flight memo: this is the shared cache
        await cache.load(Kind.PRODUCT, codec.PRODUCT, [1, 2, 3], fetch)

    asyncio.run(scenario())

    def sample(name: str) -> float | None:
        return registry.get_sample_value(name, {"type": Kind.PRODUCT.value})

    assert sample("gateway_cache_hits_total") == 2
    assert sample("gateway_cache_misses_total") == 3
