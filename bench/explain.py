"""The listing's SQL on a big catalog: each common listing's statements, their query plans
and how long the store takes to answer (p50/p99 over repeated calls, one at a time).

``python -m bench.explain [--products 100000] [--runs 30] [--backend sqlite]``
``python -m bench.explain --synthetic 100000 [--backend postgresql]`` (catalog only, in seconds)

The statements are captured as the catalog store sends them (``list_products``: the
category lookup, the page, the count), then explained with the same parameters
(SQLite's ``EXPLAIN QUERY PLAN``, PostgreSQL's ``EXPLAIN``). Prints markdown for
bench/RESULTS.md.

``--synthetic N`` does not seed a whole shop of N products (an hour on a busy machine): it
copies the 1,000-product bench shop's catalog and repeats its products (new ids and slugs,
the same categories, prices, stock flags and dates, each copy a second older than the
last) to N rows, migrated to head. Only the catalog store's listing is measured on it.
With ``--backend postgresql`` the same rows are copied into a database of their own
(``gw_explain_synthetic``, migrated to head) and analysed.

``--all-categories`` adds every category's first page (newest and price high to low) and
prints their worst p50/p99: the target is any category, not the one shown.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select

from sources.catalog.models import Base
from sources.catalog.records import ProductFilter, ProductSort
from sources.catalog.store import CatalogStore
from sources.common.db import Database
from sources.common.migrate import upgrade_source

from .shop import prepare

CASES: list[tuple[str, dict[str, Any]]] = [
    ("newest", {"sort": ProductSort.NEWEST}),
    ("price, high to low", {"sort": ProductSort.PRICE_DESC}),
    ("price, low to high", {"sort": ProductSort.PRICE_ASC}),
    ("name", {"sort": ProductSort.NAME}),
    ("category electronics", {"filter": ProductFilter(category_slug="electronics")}),
    ("in stock", {"filter": ProductFilter(in_stock=True)}),
]


async def page_100_cursor(
    store: CatalogStore, sort: ProductSort, flt: ProductFilter = ProductFilter()
) -> str | None:
    after = None
    for _ in range(99):
        page = await store.list_products(
            first=50, after=after, sort=sort, filter=flt, with_total=False
        )
        after = page.cursors[-1] if page.cursors else None
    return after


Timing = tuple[str, float, float, float, int | None]


async def timed(store: CatalogStore, name: str, kwargs: dict[str, Any], runs: int) -> Timing:
    """p50 and p99 with the count, p50 without, alternating the two so that a busy
    moment of the machine falls on both."""
    await store.list_products(first=50, **kwargs)  # warm
    took: list[float] = []
    uncounted: list[float] = []
    total = None
    for _ in range(runs):
        started = time.perf_counter()
        page = await store.list_products(first=50, **kwargs)
        took.append((time.perf_counter() - started) * 1000)
        total = page.total_count
        started = time.perf_counter()  # a storefront paging by cursor, not showing the count
        await store.list_products(first=50, with_total=False, **kwargs)
        uncounted.append((time.perf_counter() - started) * 1000)
    took.sort()
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    return name, statistics.median(took), p99, statistics.median(uncounted), total


async def run(url: str, runs: int, all_categories: bool = False) -> str:
    db = Database(url)
    store = CatalogStore(db)
    captured: list[tuple[str, Any]] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        captured.append((statement, params))

    lines: list[str] = []
    cases = [*CASES]
    for sort, label in (
        (ProductSort.NEWEST, "newest"),
        (ProductSort.PRICE_DESC, "price, high to low"),
    ):
        deep = await page_100_cursor(store, sort)
        cases.append((f"{label}, page 100 by cursor", {"sort": sort, "after": deep}))
    electronics = ProductFilter(category_slug="electronics")
    deep = await page_100_cursor(store, ProductSort.NEWEST, electronics)
    cases.append(
        ("category electronics, page 100 by cursor", {"filter": electronics, "after": deep})
    )
    timings = []
    for name, kwargs in cases:
        timings.append(await timed(store, name, kwargs, runs))
        captured.clear()
        page = await store.list_products(first=50, **kwargs)
        lines += [f"**{name}** (totalCount {page.total_count}):", "", "```"]
        for statement, params in captured:
            if statement.strip().upper().startswith(("BEGIN", "ROLLBACK", "COMMIT")):
                continue
            lines.append(statement.strip())
            lines.append("--")
            lines += await explain(db, statement, params)
            lines.append("")
        lines += ["```", ""]
    if all_categories:
        per_category = []
        for category in await store.all_categories():
            for sort in (ProductSort.NEWEST, ProductSort.PRICE_DESC, ProductSort.NAME):
                kwargs = {"filter": ProductFilter(category_slug=category.slug), "sort": sort}
                per_category.append(
                    await timed(store, f"{category.slug}, {sort.value}", kwargs, runs)
                )
        worst_p50 = max(per_category, key=lambda t: t[1])
        worst_p99 = max(per_category, key=lambda t: t[2])
        timings += [
            (f"every category x 3 sorts ({len(per_category)}): worst p50 ({worst_p50[0]})",
             *worst_p50[1:]),
            (f"every category x 3 sorts: worst p99 ({worst_p99[0]})", *worst_p99[1:]),
        ]  # fmt: skip
    await db.dispose()
    head = [
        "| listing (first: 50) | with totalCount p50 ms | p99 ms | without p50 ms | totalCount |",
        "|---|--:|--:|--:|--:|",
        *(
            f"| {n} | {p50:.1f} | {p99:.1f} | {bare:.1f} | {total} |"
            for n, p50, p99, bare, total in timings
        ),
        "",
    ]
    return "\n".join(head + lines)


async def explain(db: Database, statement: str, params: Any) -> list[str]:
    async with db.connect() as conn:
        raw = await conn.get_raw_connection()
        if db.is_sqlite:
            cursor = raw.driver_connection  # aiosqlite
            rows = await (
                await cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
            ).fetchall()
            return [f"{'  ' * 0}{r[3]}" for r in rows]
        # asyncpg's own connection: the statement is already in its $n form.
        rows = await raw.driver_connection.fetch("EXPLAIN ANALYZE " + statement, *params)
        return [r[0] for r in rows]


def synthetic(products: int) -> str:
    """A catalog of ``products`` rows made from the bench shop's (see the module doc)."""
    shop = asyncio.run(prepare("sqlite", 1000))
    source = Path(str(shop.urls["catalog"]).split("///", 1)[1])
    target = source.parent.parent / f"synthetic-{products}" / "catalog.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as conn:  # a consistent copy, WAL included
        conn.execute("PRAGMA wal_checkpoint(FULL)")
    shutil.copyfile(source, target)
    with sqlite3.connect(target) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(products)")]
        base = conn.execute("SELECT count(*) FROM products").fetchone()[0]
        copies = -(-products // base) - 1
        values = {
            "id": "NULL",
            "slug": "p.slug || '-c' || k.n",
            "created_at": "datetime(p.created_at, '-' || k.n || ' seconds')",
        }
        chosen = ", ".join(values.get(c, f"p.{c}") for c in columns)
        conn.execute(
            f"WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < {copies}) "
            f"INSERT INTO products ({', '.join(columns)}) "
            f"SELECT {chosen} FROM products p, k WHERE p.id <= (SELECT max(id) FROM products)"
            f" LIMIT {products - base}"
        )
        conn.execute("ANALYZE")
    url = f"sqlite+aiosqlite:///{target}"

    async def migrate() -> None:
        db = Database(url)
        await upgrade_source("catalog", db)
        await db.dispose()

    asyncio.run(migrate())
    return url


PG_SYNTHETIC = "gw_explain_synthetic"
_COPIED = ("categories", "brands", "suppliers", "products")


async def synthetic_postgres(sqlite_url: str) -> str:
    """The SQLite synthetic catalog's rows in a PostgreSQL database of their own."""
    from .shop import PG_HOST, PG_PORT, PG_USER, _admin

    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_SYNTHETIC}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{PG_SYNTHETIC}"')
    finally:
        await admin.close()
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_SYNTHETIC}"
    source, target = Database(sqlite_url), Database(url)
    try:
        await upgrade_source("catalog", target)
        tables = [Base.metadata.tables[name] for name in _COPIED]
        async with source.connect() as read, target.begin() as write:
            for table in tables:
                rows = [dict(r._mapping) for r in await read.execute(select(table))]
                for start in range(0, len(rows), 5000):
                    await write.execute(insert(table), rows[start : start + 5000])
                await write.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
        await CatalogStore(target).compact_listing_counts()  # as the sweeper would next
        async with target.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
    finally:
        await source.dispose()
        await target.dispose()
    return url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--synthetic", type=int, default=None, metavar="N")
    parser.add_argument("--catalog-url", default=None, help="explain this catalog instead")
    parser.add_argument("--all-categories", action="store_true")
    args = parser.parse_args(argv)
    if args.catalog_url:
        url = args.catalog_url
    elif args.synthetic:
        url = synthetic(args.synthetic)
        if args.backend == "postgresql":
            url = asyncio.run(synthetic_postgres(url))
    else:
        url = asyncio.run(prepare(args.backend, args.products)).urls["catalog"]
    print(asyncio.run(run(url, args.runs, args.all_categories)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
