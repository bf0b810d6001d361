"""What turning the prepared-statement caches off costs (``?prepared_statement_cache_size=0``,
the setting a transaction-mode PgBouncer needs; docs/deployment.md): CPU and wall time of
a pair of catalog reads (``products_by_ids`` of 50 ids and a 20-product ``list_products``),
caches on and off in alternating rounds on the bench's PostgreSQL shop, medians printed.

    python -m bench.statement_cache [--rounds 5] [--calls 200] [--pooler-port 6432]

With ``--pooler-port``, a third row reads through a PgBouncer on that port (transaction
mode, in front of the same PostgreSQL) with the caches off.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from sources.catalog.store import CatalogStore
from sources.common.db import Database

from .shop import PG_HOST, PG_PORT, postgres_shop

OFF = "?prepared_statement_cache_size=0"


async def _pair_ms(url: str, calls: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per pair of reads, after a warm-up."""
    db = Database(url, pool_size=1)
    store = CatalogStore(db)
    ids = list(range(1, 51))
    try:
        for _ in range(30):
            await store.products_by_ids(ids)
            await store.list_products(first=20)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            await store.products_by_ids(ids)
            await store.list_products(first=20)
        return (
            (time.process_time() - cpu) / calls * 1000,
            (time.perf_counter() - wall) / calls * 1000,
        )
    finally:
        await db.dispose()


async def main(rounds: int, calls: int, pooler_port: int | None) -> None:
    shop = await postgres_shop(240)
    url = shop.urls["catalog"]
    rows: dict[str, list[tuple[float, float]]] = {"caches on": [], "caches off": []}
    pooled = None
    if pooler_port is not None:
        pooled = url.replace(f"{PG_HOST}:{PG_PORT}", f"127.0.0.1:{pooler_port}") + OFF
        rows["pgbouncer, caches off"] = []
    for _ in range(rounds):
        rows["caches on"].append(await _pair_ms(url, calls))
        rows["caches off"].append(await _pair_ms(url + OFF, calls))
        if pooled is not None:
            rows["pgbouncer, caches off"].append(await _pair_ms(pooled, calls))
    for name, samples in rows.items():
        cpu = statistics.median(s[0] for s in samples)
        wall = statistics.median(s[1] for s in samples)
        print(f"{name:<22} CPU {cpu:5.2f} ms/pair  wall {wall:5.2f} ms/pair  (median of {rounds})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--pooler-port", type=int, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.calls, args.pooler_port))
