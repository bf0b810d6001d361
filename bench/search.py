"""``python -m bench.search``: search and listing latency at 100,000 products over HTTP, on
SQLite and PostgreSQL, against issue 18's targets (``search`` with facets p50 <= 20 ms and p99
<= 50 ms at concurrency 1; ``predictiveSearch`` p50 <= 10 ms) and issue 17's (the first page
of any listing sort or a category with ``totalCount``, and page 100 by cursor: p50 <= 20 ms,
p99 <= 50 ms at concurrency 1).

A gateway process (uvicorn, one worker, caches off: every request reaches the engine) on a
seeded shop answers, one request at a time, the reference storefront's own search request
(examples/operations/storefront/Search.graphql: product cards, totalCount, every facet) for
a fixed mix of queries (Chinese, pinyin, English, a typo, a price word, a selected facet), and
``predictiveSearch`` for what a buyer types letter by letter. Each query is asked once to
warm, then ``--rounds`` times; p50 and p99 are over all timings of a kind. Beside it, in the
same run, the engine alone in this process (``CatalogStore.search_products``, no HTTP), so
the HTTP layer's share shows, and ``ILIKE '%term%'`` (the listing's search before the
engine) as the baseline a busy machine weighs on alike.

The listings are the storefront's own listing request (examples/operations/storefront/
Products.graphql: product cards with price range and promotions, ``totalCount``, first 50)
by each sort, a category page (``categorySlug`` of a category with subcategories), and page
100 by cursor (``endCursor`` followed 99 times, then the 100th page timed). The same server,
caches off: every request is executed.

Without ``--sqlite-dir`` / ``--postgresql-url`` the shops are bench/shop.py's, seeded once
and kept (data/bench-sqlite/p100000; the PostgreSQL database ``gw_bench_search``, apart from
the storefront bench's). PostgreSQL's tables are vacuumed first, as autovacuum would leave
them. The figures go to bench/results/search.json (docs/benchmarks.md renders them).

    python -m bench.search [--products 100000] [--rounds 20] [--backend sqlite,postgresql]
    python -m bench.search --sqlite-dir DIR        # a shop `gateway seed` wrote there
    python -m bench.search --postgresql-url URL    # ... or in that database
    python -m bench.search --parts listing         # the listings only, printed (or: search)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import orjson
from sqlalchemy import func, or_, select

from gateway.settings import SOURCE_NAMES
from sources.catalog import models as m
from sources.catalog.records import ProductFilter, ProductSort
from sources.catalog.store import CatalogStore, _product_select
from sources.common.db import Database

from .explain import page_100_cursor, timed
from .provenance import ROOT, Measurement
from .servers import Server, start
from .shop import Shop, prepare

# Its own PostgreSQL database: the storefront bench's gw_bench holds 1,000 products, and
# sharing one name would reseed it (minutes at 100,000) each time the other bench ran.
PG_DATABASE = "gw_bench_search"

TARGETS = {
    "search_p50": 20.0,
    "search_p99": 50.0,
    "predictive_p50": 10.0,
    "listing_p50": 20.0,
    "listing_p99": 50.0,
}
SEARCH_OPERATION = (ROOT / "examples/operations/storefront/Search.graphql").read_text()
FRAGMENTS = (ROOT / "examples/operations/fragments.graphql").read_text()


def _fragment(name: str) -> str:
    """One fragment of the storefront's shared file (GraphQL refuses unused ones)."""
    start = FRAGMENTS.index(f"fragment {name} ")
    end = FRAGMENTS.find("\nfragment ", start)
    return FRAGMENTS[start : end if end != -1 else None].strip()


SEARCH = "\n".join((SEARCH_OPERATION, _fragment("ProductCard"), _fragment("MoneyFields")))
LISTING = "\n".join(
    (
        (ROOT / "examples/operations/storefront/Products.graphql").read_text(),
        _fragment("ProductCard"),
        _fragment("MoneyFields"),
    )
)
PREDICTIVE = """query Predictive($query: String!) {
  predictiveSearch(query: $query, limit: 8) {
    queries products { id slug name } categories { id slug name }
  }
}"""

# (query, filter): what buyers type, and one facet selected.
QUERIES: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("耳机", None), ("降噪耳机", None), ("erji", None), ("ej", None), ("dianfanbao", None),
    ("headphones", None), ("headst", None), ("rice cooker", None), ("wireless earbuds", None),
    ("sofa", None), ("空气炸锅", None), ("手机", None), ("蓝牙耳机", {"priceBand": "100-300"}),
    ("headphones", {"inStock": True}),
)  # fmt: skip
TYPED = ("e", "耳", "er", "erj", "head", "wireless he", "dian", "空气")
# (label, sort, filter, page): issue 17's listings; page 100 is reached by cursor.
CATEGORY = {"categorySlug": "electronics"}  # a top-level category: audio, phones, ... below
LISTINGS: tuple[tuple[str, str, dict[str, Any] | None, int], ...] = (
    ("newest", "NEWEST", None, 1),
    ("price, low to high", "PRICE_ASC", None, 1),
    ("price, high to low", "PRICE_DESC", None, 1),
    ("name", "NAME", None, 1),
    ("category electronics, newest", "NEWEST", CATEGORY, 1),
    ("category electronics, price high to low", "PRICE_DESC", CATEGORY, 1),
    ("newest, page 100 by cursor", "NEWEST", None, 100),
    ("price, high to low, page 100 by cursor", "PRICE_DESC", None, 100),
    ("category electronics, page 100 by cursor", "NEWEST", CATEGORY, 100),
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(max(values), 2),
        "n": len(values),
    }


def _timed(client: httpx.Client, body: bytes, rounds: int) -> list[float]:
    headers = {"Content-Type": "application/json", "Accept-Language": "zh-CN"}

    def once() -> float:
        started = time.perf_counter()
        response = client.post("/graphql", content=body, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        payload = response.json()
        if response.status_code != 200 or "errors" in payload:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")
        return elapsed

    once()  # warm: the first ask of a query reads pages nothing read yet
    return [once() for _ in range(rounds)]


def _listing_body(sort: str, flt: dict[str, Any] | None, after: str | None) -> bytes:
    variables = {"first": 50, "after": after, "sort": sort, "filter": flt}
    return orjson.dumps({"query": LISTING, "variables": variables})


def listings_over_http(server: Server, rounds: int) -> list[dict[str, Any]]:
    """Each listing's page with totalCount, one request at a time; with the server's CPU
    per request (its warm-up request included), which a busy machine moves less than the
    wall time."""
    client = server.client
    rows: list[dict[str, Any]] = []
    for label, sort, flt, page in LISTINGS:
        after = None
        for _ in range(page - 1):  # a buyer paging: each request's endCursor is the next's after
            listed = client.post(
                "/graphql",
                content=_listing_body(sort, flt, after),
                headers={"Content-Type": "application/json"},
            ).json()["data"]["products"]
            if not listed["pageInfo"]["hasNextPage"]:
                raise RuntimeError(f"{label}: the listing ends before page {page}")
            after = listed["pageInfo"]["endCursor"]
        body = _listing_body(sort, flt, after)
        listed = client.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}
        ).json()["data"]["products"]
        if len(listed["edges"]) != 50:
            raise RuntimeError(f"{label}: {len(listed['edges'])} products on page {page}")
        cpu = server.cpu_seconds()
        timings = _timed(client, body, rounds)
        cpu_ms = (server.cpu_seconds() - cpu) * 1000 / (rounds + 1)
        rows.append(
            {"listing": label, "total": listed["totalCount"], **summary(timings),
             "server_cpu_ms": round(cpu_ms, 2)}
        )  # fmt: skip
    return rows


def over_http(
    shop: Shop, rounds: int, logs: Path, parts: set[str], listing_rounds: int
) -> dict[str, Any]:
    server = start("gateway", shop, 0.0, logs)
    try:
        result: dict[str, Any] = {}
        if "listing" in parts:
            result["listings"] = listings_over_http(server, listing_rounds)
        if "search" not in parts:
            return result
        per_query: list[dict[str, Any]] = []
        searches: list[float] = []
        for query, flt in QUERIES:
            variables = {"query": query, "first": 20, "sort": "RELEVANCE", "filter": flt}
            body = orjson.dumps({"query": SEARCH, "variables": variables})
            hits = server.client.post(
                "/graphql", content=body, headers={"Content-Type": "application/json"}
            ).json()["data"]["search"]["totalCount"]
            timings = _timed(server.client, body, rounds)
            searches += timings
            shown = query + (f" {flt}" if flt else "")
            per_query.append({"query": shown, "hits": hits, **summary(timings)})
        predictive: list[float] = []
        for typed in TYPED:
            body = orjson.dumps({"query": PREDICTIVE, "variables": {"query": typed}})
            predictive += _timed(server.client, body, rounds)
        return {
            **result,
            "search": summary(searches),
            "predictive": summary(predictive),
            "per_query": per_query,
        }
    finally:
        server.stop()


async def _ilike(store: CatalogStore, term: str) -> None:
    """The listing's search before the engine: a substring of name or description."""
    pattern = f"%{term}%"
    where = (
        m.Product.is_published.is_(True),
        or_(m.Product.name.ilike(pattern), m.Product.description.ilike(pattern)),
    )
    async with store.db.connect() as conn:
        await conn.execute(
            _product_select()
            .where(*where)
            .order_by(m.Product.created_at.desc(), m.Product.id.desc())
            .limit(21)
        )
        await conn.scalar(select(func.count()).select_from(m.Product).where(*where))


async def _measure(call: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    await call()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def listings_in_process(store: CatalogStore, rounds: int) -> list[dict[str, Any]]:
    """The store's listing alone (the page and the count, no HTTP, no GraphQL, no prices or
    promotions), so that the gateway's share of a listing over HTTP shows."""
    rows: list[dict[str, Any]] = []
    for label, sort, flt, page in LISTINGS:
        kwargs: dict[str, Any] = {
            "sort": ProductSort[sort],
            "filter": ProductFilter(category_slug=flt["categorySlug"]) if flt else ProductFilter(),
        }
        if page == 100:
            kwargs["after"] = await page_100_cursor(store, kwargs["sort"], kwargs["filter"])
        _, p50, p99, bare, total = await timed(store, label, kwargs, rounds)
        rows.append(
            {"listing": label, "total": total, "p50": round(p50, 2), "p99": round(p99, 2),
             "p50_without_total": round(bare, 2)}
        )  # fmt: skip
    return rows


async def in_process(url: str, rounds: int, parts: set[str], listing_rounds: int) -> dict[str, Any]:
    """The engine alone (no HTTP, no GraphQL) and the ILIKE baseline, in this process; the
    store's listings alone."""
    db = Database(url)
    store = CatalogStore(db)
    try:
        # Counted directly: a shop seeded before the count table (catalog_0011) has none.
        async with db.connect() as conn:
            published = await conn.scalar(
                select(func.count()).select_from(m.Product).where(m.Product.is_published.is_(True))
            )
        result: dict[str, Any] = {"published": int(published or 0)}
        if "listing" in parts:
            result["listings"] = await listings_in_process(store, listing_rounds)
        if "search" not in parts:
            return result
        engine: list[float] = []
        ilike: list[float] = []
        predictive: list[float] = []
        for query, _ in QUERIES:
            engine += await _measure(lambda q=query: store.search_products(q, first=20), rounds)
            ilike += await _measure(lambda q=query: _ilike(store, q), max(3, rounds // 4))
        for typed in TYPED:
            predictive += await _measure(
                lambda q=typed: store.predictive_search(q, limit=8), rounds
            )
        return {
            **result,
            "search": summary(engine),
            "predictive": summary(predictive),
            "ilike": summary(ilike),
        }
    finally:
        await db.dispose()


async def _vacuumed(url: str) -> None:
    """Pages marked visible, as autovacuum leaves them some time after a bulk load: only
    then does PostgreSQL read a match's columns from the covering index alone."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("VACUUM ANALYZE products, product_attribute_values, search_products")
    finally:
        await conn.close()


def _given_shop(backend: str, where: str, products: int) -> Shop:
    if backend == "sqlite":
        urls = {n: f"sqlite+aiosqlite:///{Path(where).resolve()}/{n}.db" for n in SOURCE_NAMES}
    else:
        urls = dict.fromkeys(SOURCE_NAMES, where)
    return Shop(backend, urls, products, "", False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--sqlite-dir", help="measure the shop seeded in this directory")
    parser.add_argument("--postgresql-url", help="measure the shop seeded in this database")
    parser.add_argument("--listing-rounds", type=int, default=30)
    parser.add_argument(
        "--parts", default="search,listing", help="what to measure: search, listing or both"
    )
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    measurement = Measurement.begin("search", "bench.search", argv)
    logs = Path(tempfile.mkdtemp(prefix="bench-search-"))
    given = {"sqlite": args.sqlite_dir, "postgresql": args.postgresql_url}
    parts = set(args.parts.split(","))
    backends: list[dict[str, Any]] = []
    for backend in args.backend.split(","):
        where = given[backend]
        shop = (
            _given_shop(backend, where, args.products)
            if where
            else asyncio.run(prepare(backend, args.products, database=PG_DATABASE))
        )
        if backend == "postgresql":
            asyncio.run(_vacuumed(shop.urls["catalog"]))
        load_before = round(os.getloadavg()[0], 2)
        http = over_http(shop, args.rounds, logs, parts, args.listing_rounds)
        alone = asyncio.run(
            in_process(shop.urls["catalog"], args.rounds, parts, args.listing_rounds)
        )
        row = {
            "backend": backend,
            "load_before": load_before,
            "load_after": round(os.getloadavg()[0], 2),
            "http": http,
            "in_process": alone,
        }
        backends.append(row)
        print(f"{backend}: {alone['published']:,} published products")
        for h, a in zip(http.get("listings", []), alone.get("listings", []), strict=True):
            print(
                f"  {h['listing']:<42}{h['total']:>7}  HTTP p50 {h['p50']:6.1f} p99 {h['p99']:6.1f}"
                f" (server CPU {h['server_cpu_ms']:.1f} ms/req)"
                f" | store p50 {a['p50']:6.1f} p99 {a['p99']:6.1f} ({a['p50_without_total']:.1f}"
                " without the count)"
            )
        if "search" not in parts:
            continue
        for q in http["per_query"]:
            print(
                f"  {q['query']:<40}{q['hits']:>7} hits  p50 {q['p50']:6.1f}  p99 {q['p99']:6.1f}"
            )
        for kind in ("search", "predictive"):
            h, a = http[kind], alone[kind]
            print(
                f"  {kind:<11} HTTP p50 {h['p50']:6.1f} p99 {h['p99']:6.1f} ms | "
                f"in process p50 {a['p50']:6.1f} p99 {a['p99']:6.1f} ms"
            )
        il = alone["ilike"]
        print(f"  ILIKE (in process) p50 {il['p50']:6.1f} p99 {il['p99']:6.1f} ms")
    figures = {
        "products": args.products,
        "rounds": args.rounds,
        "listing_rounds": args.listing_rounds,
        "parts": sorted(parts),
        "targets": TARGETS,
        "backends": backends,
    }
    if args.no_save or parts != {"search", "listing"}:
        print("(not saved: bench/results/search.json keeps a run of both parts)")
    else:
        measurement.save(figures)


if __name__ == "__main__":
    main()
