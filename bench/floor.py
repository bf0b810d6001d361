"""The bare-SQL floor of a checkout: what the database allows, measured beside the gateway.

One order = read the 3 SKUs' prices, take one unit of each by a conditional
``UPDATE stock_items SET reserved = reserved + 1 WHERE ... AND on_hand - reserved >= 1``,
insert the order and its 3 lines (tables of the floor's own, ``floor_orders`` and
``floor_order_lines``, in the orders database), commit. Straight from the drivers (asyncpg,
aiosqlite), no ORM, no GraphQL. On PostgreSQL the four sources share one database, so an
order is one transaction; on SQLite each source is a file of its own, so an order is a
read and two short write transactions, as the gateway's sources must do it too.
``run_floor`` reports orders/s and the client's CPU per order at a concurrency.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import make_url

from .shop import PG_HOST, PG_PORT, PG_USER

PG_TABLES = (
    "CREATE TABLE IF NOT EXISTS floor_orders (id serial PRIMARY KEY, customer_id int NOT NULL,"
    " total numeric(12, 2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS floor_order_lines (id serial PRIMARY KEY, order_id int NOT NULL"
    " REFERENCES floor_orders (id), sku_id int NOT NULL, unit_price numeric(12, 2) NOT NULL)",
)
SQLITE_TABLES = (
    "CREATE TABLE IF NOT EXISTS floor_orders (id INTEGER PRIMARY KEY, customer_id int NOT NULL,"
    " total text NOT NULL, created_at text NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS floor_order_lines (id INTEGER PRIMARY KEY, order_id int NOT NULL"
    " REFERENCES floor_orders (id), sku_id int NOT NULL, unit_price text NOT NULL)",
)


async def run_floor_pg(
    urls: dict[str, str], sku_ids: Sequence[int], concurrency: int, duration: float
) -> dict[str, Any]:
    import asyncpg  # type: ignore[import-untyped]

    database = make_url(urls["orders"]).database
    pool = await asyncpg.create_pool(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database=database,
        min_size=concurrency, max_size=concurrency,
    )  # fmt: skip
    try:
        async with pool.acquire() as conn:
            for statement in PG_TABLES:
                await conn.execute(statement)
            rows = await conn.fetch(
                "SELECT sku_id, MIN(warehouse_id) AS w FROM stock_items GROUP BY sku_id"
            )
        warehouse = {int(r["sku_id"]): int(r["w"]) for r in rows}
        skus = [s for s in sku_ids if s in warehouse]

        async def order(rng: random.Random) -> bool:
            chosen = sorted(rng.sample(skus, 3))  # sorted: no deadlock between orders
            async with pool.acquire() as conn, conn.transaction():
                prices = await conn.fetch(
                    "SELECT sku_id, sale_amount FROM prices WHERE sku_id = ANY($1::int[])", chosen
                )
                for sku in chosen:
                    taken = await conn.execute(
                        "UPDATE stock_items SET reserved = reserved + 1 WHERE sku_id = $1 AND "
                        "warehouse_id = $2 AND on_hand - reserved >= 1",
                        sku, warehouse[sku],
                    )  # fmt: skip
                    if taken != "UPDATE 1":
                        raise RuntimeError("the floor ran out of stock")
                total = sum(r["sale_amount"] for r in prices)
                order_id = await conn.fetchval(
                    "INSERT INTO floor_orders (customer_id, total) VALUES ($1, $2) RETURNING id",
                    1, total,
                )  # fmt: skip
                await conn.executemany(
                    "INSERT INTO floor_order_lines (order_id, sku_id, unit_price) "
                    "VALUES ($1, $2, $3)",
                    [(order_id, r["sku_id"], r["sale_amount"]) for r in prices],
                )
            return True

        return await _drive(order, concurrency, duration)
    finally:
        await pool.close()


async def run_floor_sqlite(
    urls: dict[str, str], sku_ids: Sequence[int], concurrency: int, duration: float
) -> dict[str, Any]:
    import aiosqlite

    def path(name: str) -> str:
        return str(make_url(urls[name]).database)

    async def connect(name: str) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(path(name), isolation_level=None)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=30000")
        return conn

    conns = [
        {name: await connect(name) for name in ("pricing", "inventory", "orders")}
        for _ in range(concurrency)
    ]
    try:
        first = conns[0]
        for statement in SQLITE_TABLES:
            await first["orders"].execute(statement)
        cursor = await first["inventory"].execute(
            "SELECT sku_id, MIN(warehouse_id) FROM stock_items GROUP BY sku_id"
        )
        warehouse = {int(s): int(w) for s, w in await cursor.fetchall()}
        skus = [s for s in sku_ids if s in warehouse]
        free = asyncio.Queue[dict[str, aiosqlite.Connection]]()
        for c in conns:
            free.put_nowait(c)

        async def order(rng: random.Random) -> bool:
            chosen = sorted(rng.sample(skus, 3))
            c = await free.get()
            try:
                marks = ",".join("?" * len(chosen))
                cursor = await c["pricing"].execute(
                    f"SELECT sku_id, sale_amount FROM prices WHERE sku_id IN ({marks})", chosen
                )
                prices = await cursor.fetchall()
                inventory = c["inventory"]
                await inventory.execute("BEGIN IMMEDIATE")
                try:
                    for sku in chosen:
                        cursor = await inventory.execute(
                            "UPDATE stock_items SET reserved = reserved + 1 WHERE sku_id = ? "
                            "AND warehouse_id = ? AND on_hand - reserved >= 1",
                            (sku, warehouse[sku]),
                        )
                        if cursor.rowcount != 1:
                            raise RuntimeError("the floor ran out of stock")
                    await inventory.execute("COMMIT")
                except BaseException:
                    await inventory.execute("ROLLBACK")
                    raise
                orders = c["orders"]
                await orders.execute("BEGIN IMMEDIATE")
                cursor = await orders.execute(
                    "INSERT INTO floor_orders (customer_id, total) VALUES (?, ?) RETURNING id",
                    (1, str(sum(float(p) for _, p in prices))),
                )
                (order_id,) = await cursor.fetchone() or (None,)
                await orders.executemany(
                    "INSERT INTO floor_order_lines (order_id, sku_id, unit_price) VALUES (?, ?, ?)",
                    [(order_id, s, str(p)) for s, p in prices],
                )
                await orders.execute("COMMIT")
            finally:
                free.put_nowait(c)
            return True

        return await _drive(order, concurrency, duration)
    finally:
        for c in conns:
            for conn in c.values():
                await conn.close()


async def _drive(order: Any, concurrency: int, duration: float) -> dict[str, Any]:
    done = 0
    deadline = time.perf_counter() + duration

    async def worker(index: int) -> None:
        nonlocal done
        rng = random.Random(index)
        while time.perf_counter() < deadline:
            await order(rng)
            done += 1

    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu_ms = (time.process_time() - cpu) * 1000
    return {
        "concurrency": concurrency,
        "orders": done,
        "orders_per_s": round(done / elapsed, 1) if elapsed else 0.0,
        "client_cpu_ms_per_order": round(cpu_ms / done, 2) if done else None,
    }


async def run_floor(
    backend: str, urls: dict[str, str], sku_ids: Sequence[int], concurrency: int, duration: float
) -> dict[str, Any]:
    run = run_floor_pg if backend == "postgresql" else run_floor_sqlite
    return await run(urls, sku_ids, concurrency, duration)
