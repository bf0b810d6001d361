"""A seeded demo shop per backend, prepared once and reused by later runs.

SQLite: four files under ``data/bench-sqlite/p<N>/``. PostgreSQL: one database named
``gw_bench`` on 127.0.0.1:5432 (user postgres) holding the four sources' tables, as the
tests do. A fingerprint of the seed code, the models, the migrations and the product count
is stored next to the data (a marker file; the database comment), so a shop seeded by an
older version of the code is rebuilt instead of silently benchmarked.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import select

from gateway.settings import SOURCE_NAMES
from sources.catalog import models as catalog_models
from sources.common.db import Database
from sources.common.migrate import upgrade_source
from sources.demo.seed import seed_demo_shop

ROOT = Path(__file__).resolve().parent.parent
SQLITE_DIR = ROOT / "data" / "bench-sqlite"
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
PG_DATABASE = "gw_bench"
PG_ADMIN_DATABASE = "postgres"


@dataclass(frozen=True)
class Shop:
    backend: str
    urls: dict[str, str]  # source name -> SQLAlchemy URL
    products: int
    detail_slug: str  # the product the detail scenario asks for
    seeded_now: bool  # seeded by this run (False: reused)

    def env(self) -> dict[str, str]:
        return {f"{name.upper()}_DATABASE_URL": url for name, url in self.urls.items()}


def fingerprint(products: int) -> str:
    """What the seeded rows depend on: the product count and the code that writes them."""
    digest = hashlib.sha256(f"products={products}".encode())
    files = sorted(
        [
            *(ROOT / "sources" / "demo").glob("*.py"),
            ROOT / "bench" / "orders_seed.py",
            ROOT / "bench" / "checkout.py",  # the seeded orders' cart and checkout requests
            *(ROOT / "sources").glob("*/models.py"),
            *(ROOT / "sources").glob("*/migrations/versions/*.py"),
        ]
    )
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


async def _migrate_and_seed(urls: dict[str, str], products: int) -> None:
    dbs = {name: Database(url) for name, url in urls.items()}
    try:
        for name in SOURCE_NAMES:
            await upgrade_source(name, dbs[name])
        await seed_demo_shop(dbs, products=products, now=datetime.now(UTC))
    finally:
        for db in dbs.values():
            await db.dispose()
    from .orders_seed import seed_orders  # it reuses bench.checkout, which imports this

    await seed_orders(urls)  # the back-office order view's orders, through the checkout


async def _detail_slug(catalog_url: str) -> str:
    """A published bundle (the detail page with the most parts: SKUs, bundle items,
    promotions), the same one every run."""
    db = Database(catalog_url)
    try:
        async with db.connect() as conn:
            p = catalog_models.Product
            slug = await conn.scalar(
                select(p.slug)
                .where(p.kind == "BUNDLE", p.is_published.is_(True))
                .order_by(p.id)
                .limit(1)
            )
            if slug is None:
                slug = await conn.scalar(
                    select(p.slug).where(p.is_published.is_(True)).order_by(p.id).limit(1)
                )
    finally:
        await db.dispose()
    if slug is None:
        raise RuntimeError("the bench shop has no published product")
    return str(slug)


async def sqlite_shop(products: int, *, reseed: bool = False) -> Shop:
    directory = SQLITE_DIR / f"p{products}"
    marker = directory / "seeded.json"
    expected = fingerprint(products)
    urls = {name: f"sqlite+aiosqlite:///{directory}/{name}.db" for name in SOURCE_NAMES}
    seeded_now = False
    current = json.loads(marker.read_text()) if marker.exists() else {}
    if reseed or current.get("fingerprint") != expected:
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        started = time.perf_counter()
        await _migrate_and_seed(urls, products)
        marker.write_text(
            json.dumps(
                {
                    "fingerprint": expected,
                    "products": products,
                    "seeded_at": datetime.now(UTC).isoformat(),
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        )
        seeded_now = True
    return Shop("sqlite", urls, products, await _detail_slug(urls["catalog"]), seeded_now)


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DATABASE, timeout=5
    )


async def postgres_shop(
    products: int, *, reseed: bool = False, database: str = PG_DATABASE
) -> Shop:
    """``database``: a bench whose shop differs in size keeps its own (bench.search's
    100,000 products), so benches run one after the other do not reseed each other's."""
    expected = fingerprint(products)
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"
    urls = dict.fromkeys(SOURCE_NAMES, url)
    conn = await _admin()
    try:
        comment = await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            database,
        )
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        fresh = bool(exists) and not reseed and comment == expected
        if not fresh:
            if exists:
                await conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    if not fresh:
        await _migrate_and_seed(urls, products)
        conn = await _admin()
        try:
            # ANALYZE so the planner sees the real row counts, as it would in production.
            db = await asyncpg.connect(
                host=PG_HOST, port=PG_PORT, user=PG_USER, database=database, timeout=5
            )
            try:
                await db.execute("ANALYZE")
            finally:
                await db.close()
            await conn.execute(f"COMMENT ON DATABASE \"{database}\" IS '{expected}'")
        finally:
            await conn.close()
    return Shop("postgresql", urls, products, await _detail_slug(url), not fresh)


async def postgres_unavailable() -> str | None:
    try:
        conn = await _admin()
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"{PG_HOST}:{PG_PORT}: {exc!r}"
    await conn.close()
    return None


async def prepare(
    backend: str, products: int, *, reseed: bool = False, database: str = PG_DATABASE
) -> Shop:
    if backend == "sqlite":
        return await sqlite_shop(products, reseed=reseed)
    if backend == "postgresql":
        return await postgres_shop(products, reseed=reseed, database=database)
    raise ValueError(f"unknown backend {backend!r}")


if __name__ == "__main__":  # python -m bench.shop: prepare both shops
    for name in ("sqlite", "postgresql"):
        print(asyncio.run(prepare(name, 1000)))
