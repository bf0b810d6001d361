"""One checkout's reservation alone, on PostgreSQL: N ``reserve`` calls of 3 SKUs (one unit
each, every SKU stocked in two warehouses, so each is served whole by one), in a row, on a
fresh database; prints per call the process CPU (the client: SQLAlchemy, asyncpg, the
event loop), the backend's CPU (/proc: its share of the protocol, transaction control and
commits) and the round trips (statements plus ``BEGIN``/``COMMIT``).

To compare two commits, run it alternately from each tree (the module is the same in
both: copy it into the older tree), against the same server::

    python -m bench.reserve_cpu --port 5432 --calls 500 --rounds 3

Nothing else runs on the database meanwhile, so the backend's CPU is the reservations'.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, insert

from sources.common.db import Database
from sources.inventory import models as m
from sources.inventory.records import ReservationRequest
from sources.inventory.store import InventoryStore
from tests.migrated import upgrade_fresh

from . import shop as shop_bench
from .checkout_statements import _backend_pids, _counting_transaction_control, _cpu_ms

SKUS = 300


async def _round(port: int, calls: int) -> tuple[float, float, float]:
    import asyncpg  # type: ignore[import-untyped]

    name = f"reserve_cpu_{int(time.time() * 1000)}"
    admin = await asyncpg.connect(
        host=shop_bench.PG_HOST, port=port, user=shop_bench.PG_USER, database="postgres"
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://{shop_bench.PG_USER}@{shop_bench.PG_HOST}:{port}/{name}"
    db = Database(url, pool_size=1)
    try:
        await upgrade_fresh("inventory", db)
        now = datetime.now(UTC)
        async with db.begin() as conn:
            for warehouse in (1, 2):
                await conn.execute(
                    insert(m.Warehouse).values(
                        id=warehouse, code=f"W{warehouse}", name="w", region_code="CN-SH",
                        priority=warehouse,
                    )
                )  # fmt: skip
            await conn.execute(
                insert(m.StockItem),
                [
                    {"sku_id": sku, "warehouse_id": w, "on_hand": 10_000, "reserved": 0,
                     "updated_at": now}
                    for sku in range(1, SKUS + 1)
                    for w in (1, 2)
                ],
            )  # fmt: skip
        store = InventoryStore(db)

        async def reserve(n: int) -> None:
            skus = [1 + (n * 7 + k * 101) % SKUS for k in range(3)]
            result = await store.reserve(
                order_ref=f"o-{n}",
                items=[ReservationRequest(sku_id=s, quantity=1) for s in skus],
                now=now,
                ttl=timedelta(minutes=15),
                confirmed=True,
            )
            assert result.ok

        for n in range(20):  # the connection's statements prepared, plans settled
            await reserve(-1 - n)
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1

        counted: Counter[str] = Counter()
        undo = _counting_transaction_control(counted, [])
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        pids = await _backend_pids(url)
        backend, client = _cpu_ms(pids), time.process_time()
        try:
            for n in range(calls):
                await reserve(n)
        finally:
            client = (time.process_time() - client) * 1000 / calls
            backend = (_cpu_ms(pids) - backend) / calls
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
            undo()
        trips = (statements + counted["BEGIN"] + counted["COMMIT"] + counted["ROLLBACK"]) / calls
        return client, backend, trips
    finally:
        await db.dispose()
        await admin.execute(f'DROP DATABASE "{name}"')
        await admin.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reserve_cpu")
    parser.add_argument("--port", type=int, default=shop_bench.PG_PORT)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rounds = [asyncio.run(_round(args.port, args.calls)) for _ in range(args.rounds)]
    client = [r[0] for r in rounds]
    backend = [r[1] for r in rounds]
    print(
        f"reserve of 3 SKUs, {args.calls} calls x {args.rounds}: round trips per call "
        f"{rounds[0][2]:.2f}; client CPU per call {statistics.median(client) * 1000:.0f} us "
        f"(rounds {', '.join(f'{c * 1000:.0f}' for c in client)}); backend CPU per call "
        f"{statistics.median(backend) * 1000:.0f} us "
        f"(rounds {', '.join(f'{b * 1000:.0f}' for b in backend)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
