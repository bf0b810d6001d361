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
