"""The catalog's last good answers as bytes (gateway/resilience/stale.py), over real
answers of the catalog store: a batch is kept per id and answered again for any batch
of known ids, "does not exist" included, never half; other reads by their whole
arguments, keyword order and all; a copy decodes to records equal to the source's."""

from __future__ import annotations

from typing import Any

from gateway.cache.memory import InProcessCache
from gateway.resilience.stale import MISSING, StaleCopies
from sources.catalog.api import CatalogSource
from sources.catalog.store import CatalogStore
from sources.common.db import Database
from tests.gateway.checkout_helpers import run

ABSENT = 99_999_999


def test_copies_answer_known_ids_and_whole_calls_never_half(sqlite_shop: dict[str, str]) -> None:
    async def go() -> None:
        db = Database(sqlite_shop["catalog"])
        store = CatalogStore(db)
        copies = StaleCopies(CatalogSource, InProcessCache(1000), prefix="catalog:", ttl=3600)

        async def kept(name: str, *args: Any, **kwargs: Any) -> Any:
            result = await getattr(store, name)(*args, **kwargs)
            await copies.remember(name, args, kwargs, result)
            return result

        try:
            products = await kept("products_by_ids", [1, 2, 3, ABSENT])
            skus = await kept("skus_by_product_ids", [1, 2])
            first = await kept("list_products", first=5, after=None)
            second = await kept("list_products", first=5, after=first.cursors[-1])
            tree = await kept("all_categories")

            # Any batch of ids each seen once, in any order and grouping.
            assert await copies.recall("products_by_ids", ([3, 1],), {}) == {
                3: products[3],
                1: products[1],
            }
            assert await copies.recall("skus_by_product_ids", ([2],), {}) == {2: skus[2]}
            assert await copies.recall("products_by_ids", ([ABSENT],), {}) == {}
            # One id never seen: no answer rather than half of one.
            assert await copies.recall("products_by_ids", ([1, 4],), {}) is MISSING
            # Whole calls, by their arguments, however they were passed.
            assert await copies.recall("list_products", (), {"after": None, "first": 5}) == first
            assert (
                await copies.recall("list_products", (), {"first": 5, "after": first.cursors[-1]})
                == second
            )
            assert await copies.recall("list_products", (), {"first": 6}) is MISSING
            assert await copies.recall("all_categories", (), {}) == tree
            # Not part of the interface: nothing to keep it as.
            await copies.remember("not_a_read", (), {}, object())
            assert await copies.recall("not_a_read", (), {}) is MISSING
        finally:
            await db.dispose()

    run(go)


def test_a_copy_is_written_again_at_most_once_per_refresh_window(
    sqlite_shop: dict[str, str],
) -> None:
    """The same read answered again within a second keeps the copy written a moment
    before (no encoding, no write); a new id in the batch is kept at once; after the
    window the copy is rewritten, so an outage serves the answer read at most a second
    before the last good one."""

    async def go() -> None:
        db = Database(sqlite_shop["catalog"])
        store = CatalogStore(db)
        cache = InProcessCache(1000)
        now = [100.0]
        copies = StaleCopies(
            CatalogSource, cache, prefix="catalog:", ttl=3600, refresh=1.0, clock=lambda: now[0]
        )
        writes: list[list[str]] = []
        set_many = cache.set_many

        async def counted(items: Any, ttl: float) -> None:
            writes.append(sorted(items))
            await set_many(items, ttl)

        cache.set_many = counted  # type: ignore[method-assign]
        try:
            skus = await store.skus_by_product_ids([1, 2])
            await copies.remember("skus_by_product_ids", ([1, 2],), {}, skus)
            assert len(writes) == 1 and len(writes[0]) == 2
            # Within the window: nothing written again, the copy answers as before.
            now[0] += 0.5
            await copies.remember("skus_by_product_ids", ([1, 2],), {}, skus)
            assert len(writes) == 1
            # A new id is kept at once, the known one is not written again.
            more = await store.skus_by_product_ids([2, 3])
            await copies.remember("skus_by_product_ids", ([2, 3],), {}, more)
            assert len(writes) == 2 and len(writes[1]) == 1 and writes[1][0].endswith(":3")
            # A whole call likewise.
            page = await store.list_products(first=5)
            await copies.remember("list_products", (), {"first": 5}, page)
            await copies.remember("list_products", (), {"first": 5}, page)
            assert len(writes) == 3
            # After the window every read's copy is written again.
            now[0] += 1.0
            await copies.remember("skus_by_product_ids", ([1, 2],), {}, skus)
            await copies.remember("list_products", (), {"first": 5}, page)
            assert len(writes) == 5
            assert await copies.recall("skus_by_product_ids", ([1, 3],), {}) == {
                1: skus[1],
                3: more[3],
            }
            assert await copies.recall("list_products", (), {"first": 5}) == page
        finally:
            await db.dispose()

    run(go)
