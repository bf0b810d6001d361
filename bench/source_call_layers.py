"""What one PostgreSQL source call costs the gateway's process, layer by layer: the same
read (the stock of three SKUs, ``InventoryStore.stock_by_sku_ids``) timed N times at each
layer, in-process, process CPU per call (the median of ``--rounds``):

- ``raw``: asyncpg's ``fetch`` of the statement's SQL text on a held connection (the floor:
  the driver, the socket, the kernel's share of the round trip);
- ``lean``: ``lean.execute`` on a held SQLAlchemy connection (sources/common/lean.py);
- ``check-out``: ``Database.connect()`` entered and left, nothing run (the pool);
- ``db.read``: ``Database.read`` (check-out, lean statement, rows, check-in);
- ``store``: the store's own method (the records built from the rows);
- ``guarded``: the method as the gateway calls it (sources wrapped by metrics and the
  source guard: timeout, breaker).

A checkout makes 8 such calls (flow two, caches warm), so each microsecond here is 8 per
checkout. ``python -m bench.source_call_layers`` from two trees alternately compares them
(the numbers drift with the machine's load; the order between layers does not).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sources.common import lean

from .checkout import prepare_shop
from .checkout_profile import in_process_app
from .profile import _run


def measure(calls: int, rounds: int) -> dict[str, float]:
    async def session() -> dict[str, float]:
        from sources.inventory.store import _STOCK_BY_SKU_IDS

        shop = await prepare_shop("postgresql", 60)
        app, _tokens, picks = in_process_app(shop, 5, True)
        try:
            async with app.router.lifespan_context(app):
                store = app.state.sources.inventory
                skus = picks[0]
                bare = type(store).stock_by_sku_ids.__get__(store)
                db = store.db
                params = {"ids": sorted(skus)}
                await db.read(_STOCK_BY_SKU_IDS, params)

                async def timed(call: Callable[[], Awaitable[Any]]) -> float:
                    for _ in range(200):
                        await call()
                    spent = []
                    for _ in range(rounds):
                        started = time.process_time()
                        for _ in range(calls):
                            await call()
                        spent.append((time.process_time() - started) * 1e6 / calls)
                    return round(sorted(spent)[len(spent) // 2], 1)

                async def check_out() -> None:
                    async with db.connect():
                        pass

                found: dict[str, float] = {}
                async with db.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver = raw.dbapi_connection.driver_connection  # type: ignore[union-attr]
                    entry = next(v[1] for v in lean._COMPILED.values() if v[0] is _STOCK_BY_SKU_IDS)
                    variant = entry.array
                    sql, args = variant.sql, lean._arguments(variant, params)
                    found["raw"] = await timed(lambda: driver.fetch(sql, *args))
                    found["lean"] = await timed(
                        lambda: lean.execute(conn, _STOCK_BY_SKU_IDS, params)
                    )
                found["check-out"] = await timed(check_out)
                found["db.read"] = await timed(lambda: db.read(_STOCK_BY_SKU_IDS, params))
                found["store"] = await timed(lambda: bare(skus))
                found["guarded"] = await timed(lambda: store.stock_by_sku_ids(skus))
                return found
        finally:
            if shop.cleanup is not None:
                await shop.cleanup()

    result: dict[str, float] = _run(session)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.source_call_layers")
    parser.add_argument("--calls", type=int, default=2000, help="per round and layer")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    found = measure(args.calls, args.rounds)
    layers = "  ".join(f"{name} {us}" for name, us in found.items())
    print(f"µs of process CPU per call: {layers}; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
