"""``python -m bench.search``: search latency in the catalog source, the engine against
the ILIKE substring match it replaces, on a seeded catalog (``gateway seed --products N``).

For each query of a fixed mix (Chinese, pinyin, English, a typo), runs the engine's
``search_products`` (page of 20 with its count and every facet: three queries) and the old
listing search (``ILIKE '%term%'`` on name and description, newest first, page of 20 and
its count), ``--rounds`` times each after a warm-up, and prints p50 and p99 per method.
Reads ``CATALOG_DATABASE_URL`` (as the gateway does) or ``--url``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import func, or_, select

from sources.catalog import models as m
from sources.catalog.records import ProductFilter
from sources.catalog.store import CatalogStore, _product_select
from sources.common.db import Database

QUERIES = ("耳机", "降噪耳机", "erji", "dianfanbao", "headphones", "headst", "rice cooker",
           "wireless earbuds", "sofa", "空气炸锅")  # fmt: skip


async def ilike_search(store: CatalogStore, term: str) -> int:
    """The listing's search before the engine: a substring of name or description."""
    pattern = f"%{term}%"
    where = (
        m.Product.is_published.is_(True),
        or_(m.Product.name.ilike(pattern), m.Product.description.ilike(pattern)),
    )
    async with store.db.connect() as conn:
        rows = (
            await conn.execute(
                _product_select()
                .where(*where)
                .order_by(m.Product.created_at.desc(), m.Product.id.desc())
                .limit(21)
            )
        ).all()
        await conn.scalar(select(func.count()).select_from(m.Product).where(*where))
    return len(rows)


async def measure(call: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    await call()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(url: str, rounds: int) -> None:
    db = Database(url)
    store = CatalogStore(db)
    try:
        total = await store.list_products(first=0, filter=ProductFilter())
        print(f"catalog: {url.split('://')[0]}, {total.total_count} published products")
        engine: list[float] = []
        ilike: list[float] = []
        print(f"{'query':<18}{'hits':>7}{'engine p50':>12}{'ILIKE p50':>11}")
        for query in QUERIES:
            page = await store.search_products(query, first=20)
            fast = await measure(lambda q=query: store.search_products(q, first=20), rounds)
            slow = await measure(lambda q=query: ilike_search(store, q), rounds)
            engine += fast
            ilike += slow
            print(
                f"{query:<18}{page.total_count:>7}{statistics.median(fast):>10.1f}ms"
                f"{statistics.median(slow):>9.1f}ms"
            )
        for name, values in (("engine (with facets)", engine), ("ILIKE", ilike)):
            print(
                f"{name:<22} p50 {percentile(values, 0.5):6.1f} ms  "
                f"p99 {percentile(values, 0.99):6.1f} ms"
            )
        predictive = []
        for query in ("e", "耳", "head", "wireless he", "dian"):
            predictive += await measure(lambda q=query: store.predictive_search(q, limit=8), rounds)
        print(f"{'predictiveSearch':<22} p50 {percentile(predictive, 0.5):6.1f} ms  "
              f"p99 {percentile(predictive, 0.99):6.1f} ms")  # fmt: skip
    finally:
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("CATALOG_DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if not args.url:
        parser.error("give --url or set CATALOG_DATABASE_URL")
    asyncio.run(main(args.url, args.rounds))
