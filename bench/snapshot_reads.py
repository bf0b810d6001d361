"""Python's side of the checkout snapshot's two combined reads: process CPU and Python
function calls per call of ``catalog.cart_catalog`` and ``pricing.pricing_for_checkout``
for a 3-SKU cart (2 products, 3 categories, 4 live promotions), in-process, on fresh
databases (the catalog of tests/sources/test_catalog_store.py).

``python -m bench.snapshot_reads --backend postgresql --calls 1000``

To compare trees, run it from each with ``PYTHONPATH=<tree>``, alternated (the machine is
shared: read the function calls first, they are exact).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from sources.catalog.store import CatalogStore
from sources.common.db import Database
from sources.pricing import models as pm
from sources.pricing.store import PricingStore
from tests.migrated import upgrade_fresh
from tests.pg import create_temp_database, drop_database
from tests.sources.pricing.factories import AT, promotion_row
from tests.sources.test_catalog_store import build_catalog

SKUS = [2011, 1001, 2071]


async def _measure(call: Callable[[], Awaitable[Any]], calls: int) -> tuple[float, float]:
    started = time.process_time()
    for _ in range(calls):
        await call()
    cpu_us = (time.process_time() - started) / calls * 1e6
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(100):
        await call()
    profile.disable()
    return cpu_us, pstats.Stats(profile).total_calls / 100  # type: ignore[attr-defined]


async def main(backend: str, calls: int) -> None:
    if backend == "postgresql":
        catalog_url, pricing_url = await create_temp_database(), await create_temp_database()
    else:
        folder = tempfile.mkdtemp()
        catalog_url = f"sqlite+aiosqlite:///{folder}/catalog.db"
        pricing_url = f"sqlite+aiosqlite:///{folder}/pricing.db"
    try:
        await build_catalog(catalog_url)
        pricing_db = Database(pricing_url)
        await upgrade_fresh("pricing", pricing_db)
        async with pricing_db.begin() as conn:
            rows = [promotion_row(i, coupon_code=None, priority=i % 3) for i in range(1, 5)]
            await conn.execute(insert(pm.Promotion), rows)
        pricing = PricingStore(pricing_db)
        for sku in SKUS:
            await pricing.set_price(
                sku_id=sku,
                currency="CNY",
                list_amount=Decimal("10"),
                sale_amount=Decimal("9"),
                actor="bench",
                now=AT,
            )
        catalog_db = Database(catalog_url)
        catalog = CatalogStore(catalog_db)

        def read_catalog() -> Awaitable[Any]:
            return catalog.cart_catalog(SKUS)

        def read_pricing() -> Awaitable[Any]:
            return pricing.pricing_for_checkout(SKUS, "CNY", [], AT, None)

        for _ in range(50):  # warm: compiled statements, prepared statements
            await read_catalog()
            await read_pricing()
        for name, call in (("cart_catalog", read_catalog), ("pricing_for_checkout", read_pricing)):
            cpu_us, function_calls = await _measure(call, calls)
            print(f"{backend} {name}: {cpu_us:.0f} us CPU/call, {function_calls:.0f} calls/call")
        await catalog_db.dispose()
        await pricing_db.dispose()
    finally:
        if backend == "postgresql":
            await drop_database(catalog_url)
            await drop_database(pricing_url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--calls", type=int, default=1000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.backend, arguments.calls))
