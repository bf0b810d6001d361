"""``python -m bench.imports`` (part of ``make bench``): back-office work at scale.

1. A 100,000-row price import, as staff run it: ``gateway import prices FILE.csv`` in its
   own process over a freshly seeded shop; wall time, CPU time and the process's peak
   resident memory (ru_maxrss), beside the same command on a file already imported (the
   interpreter and its imports alone), so the import's own memory shows.
2. A 1,000-item ``priceSetBulk`` over the ASGI app: time per request (median of a few),
   the Python heap's peak during one (tracemalloc) and its source calls.
3. A Shopify product export of 10,000 products (a third with Shopify's one "Default
   Title" variant, a third with two sizes, a third with three colours: 20,000 SKUs, each
   product with a picture URL and an HTML description) imported into an empty shop with
   ``gateway import products FILE --no-images`` in its own process; then the same catalog
   in a file one byte longer (a new job: every row matched, nothing written). The issue's
   target: under a minute.

Figures move with the machine's load: the CPU times and call counts are the steady ones.
They are also written to bench/results/imports.json (docs/benchmarks.md is rendered from it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from gateway.app import create_app
from gateway.auth import ViewerKind, issue_token
from gateway.settings import SOURCE_NAMES, Settings
from sources.catalog import models as catalog
from sources.common.db import Database
from sources.common.migrate import upgrade_source
from sources.demo.seed import seed_demo_shop

from .provenance import Measurement

ROOT = Path(__file__).resolve().parents[1]
BULK = """
mutation Bulk($items: [PriceSetItemInput!]!) {
  priceSetBulk(items: $items) { results { applied } userErrors { code } }
}
"""


async def _seed(urls: dict[str, str], products: int) -> list[tuple[int, str]]:
    dbs = {name: Database(url) for name, url in urls.items()}
    try:
        for name in SOURCE_NAMES:
            await upgrade_source(name, dbs[name])
        await seed_demo_shop(dbs, products=products)
        async with dbs["catalog"].connect() as conn:
            rows = await conn.execute(select(catalog.Sku.id, catalog.Sku.code))
            return [(int(i), str(c)) for i, c in rows]
    finally:
        for db in dbs.values():
            await db.dispose()


def _write_prices(path: Path, codes: Sequence[str], rows: int) -> None:
    with path.open("w") as f:
        f.write("sku,list,sale\n")
        for i in range(rows):
            f.write(f"{codes[i % len(codes)]},{100 + i % 90}.00,{50 + i % 40}.00\n")


def _run_cli(
    env: dict[str, str], path: Path, kind: str = "prices", *extra: str
) -> tuple[float, float, int, str]:
    """(wall s, CPU s, peak RSS KiB, output) of one `gateway import KIND` process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "import", kind, str(path), "--no-progress", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"gateway import failed ({proc.returncode}): {out}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out.strip()


async def _bulk(settings: Settings, skus: Sequence[int], repeats: int) -> dict[str, Any]:
    import base64

    app = create_app(settings)
    token = issue_token(
        settings, kind=ViewerKind.STAFF, subject="bench", permissions=["MANAGE_PRICES"]
    )
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    times: list[float] = []
    peak = 0
    calls: dict[str, float] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for n in range(repeats):
            items = [
                {
                    "skuId": base64.urlsafe_b64encode(
                        f"Sku:{skus[i % len(skus)]}".encode()
                    ).decode(),
                    "list": f"{200 + n}.00",
                    "sale": f"{150 + (i % 40)}.00",
                }
                for i in range(1000)
            ]
            before = _calls(app)
            if n == 0:
                tracemalloc.start()
            started = time.perf_counter()
            response = await client.post(
                "/graphql", json={"query": BULK, "variables": {"items": items}}, headers=headers
            )
            times.append(time.perf_counter() - started)
            if n == 0:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                after = _calls(app)
                calls = {k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}
            body = response.json()
            assert "errors" not in body, body
            applied = sum(r["applied"] for r in body["data"]["priceSetBulk"]["results"])
            assert applied == 1000, body["data"]["priceSetBulk"]["userErrors"]
    await app.state.sources.close()
    return {"times": times, "peak": peak, "calls": calls}


def _calls(app: Any) -> dict[str, float]:
    metric = app.state.metrics.source_calls
    return {
        f"{s.labels['source']}.{s.labels['method']}": s.value
        for family in metric.collect()
        for s in family.samples
        if s.name.endswith("_total")
    }


def _write_shopify(path: Path, products: int) -> int:
    """A product export as Shopify writes it; returns its data rows."""
    import csv

    from gateway.backoffice.shopify_rows import SHOPIFY_COLUMNS

    rows = 0
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SHOPIFY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for n in range(products):
            handle = f"bench-product-{n}"
            first = {
                "Handle": handle, "Title": f"Bench Product {n}",
                "Body (HTML)": f"<p>Product <b>{n}</b>, as described.</p><script>x()</script>",
                "Vendor": f"Brand {n % 40}", "Type": f"Type {n % 25}", "Tags": "a, b",
                "Published": "true", "Status": "active", "Variant Grams": "250.0",
                "Image Src": f"https://cdn.example.com/{handle}.jpg", "Image Position": "1",
                "SEO Title": f"Bench Product {n}",
            }  # fmt: skip
            if n % 3 == 0:
                variants = [{"Option1 Name": "Title", "Option1 Value": "Default Title"}]
            elif n % 3 == 1:
                variants = [{"Option1 Name": "Size", "Option1 Value": v} for v in ("S", "L")]
            else:
                variants = [
                    {"Option1 Name": "Colour", "Option1 Value": v} for v in ("Red", "Green", "Blue")
                ]
            for i, variant in enumerate(variants):
                row = (first if i == 0 else {"Handle": handle}) | variant
                if i:
                    row.pop("Option1 Name")
                row |= {
                    "Variant SKU": f"B{n}-{i}", "Variant Price": f"{20 + n % 50}.00",
                    "Variant Compare At Price": f"{30 + n % 50}.00",
                    "Variant Inventory Qty": str(n % 17),
                }  # fmt: skip
                writer.writerow({c: row.get(c, "") for c in SHOPIFY_COLUMNS})
                rows += 1
    return rows


def _product_import(products: int) -> dict[str, Any]:
    from gateway.setup.databases import migrate_sources
    from gateway.sources import Sources
    from sources.inventory.records import WarehouseSetup

    with tempfile.TemporaryDirectory(prefix="bench-products-") as tmp:
        directory = Path(tmp)
        urls = {n: f"sqlite+aiosqlite:///{directory}/{n}.db" for n in SOURCE_NAMES}
        settings = Settings(**{f"{n}_database_url": u for n, u in urls.items()})

        async def empty_shop() -> None:
            await migrate_sources(settings)
            sources = Sources.from_settings(settings)
            try:
                await sources.inventory.save_warehouses([WarehouseSetup("W1", "W1", "CN-SH", 1)])
            finally:
                await sources.close()

        asyncio.run(empty_shop())
        env = dict(os.environ) | {f"{n.upper()}_DATABASE_URL": u for n, u in urls.items()}
        path = directory / "products_export.csv"
        rows = _write_shopify(path, products)
        wall, cpu, _, out = _run_cli(env, path, "products", "--no-images")
        again = directory / "products_export_again.csv"
        again.write_bytes(path.read_bytes() + b"\n")
        re_wall, re_cpu, _, re_out = _run_cli(env, again, "products", "--no-images")
        print(f"import of a Shopify export of {products:,} products ({rows:,} rows, SQLite):")
        print(f"  {out.splitlines()[0]}")
        print(f"  wall {wall:.1f} s, CPU {cpu:.1f} s ({products / wall:,.0f} products/s)")
        print(f"  the same catalog again: wall {re_wall:.1f} s, CPU {re_cpu:.1f} s")
        print(f"  {re_out.splitlines()[0]}")
    return {
        "products": products,
        "rows": rows,
        "wall_s": wall,
        "cpu_s": cpu,
        "summary": out.splitlines()[0],
        "again_wall_s": re_wall,
        "again_cpu_s": re_cpu,
        "again_summary": re_out.splitlines()[0],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="import rows (100000)")
    parser.add_argument("--repeats", type=int, default=5, help="bulk requests timed (5)")
    parser.add_argument("--quick", action="store_true", help="10,000 rows, 3 bulk requests")
    parser.add_argument(
        "--products", type=int, default=10_000, help="products in the Shopify file (10000)"
    )
    parser.add_argument(
        "--products-only", action="store_true", help="only the Shopify product import"
    )
    args = parser.parse_args(argv)
    measurement = Measurement.begin("imports", "bench.imports", argv)
    if args.products_only:
        measurement.save({"product_import": _product_import(args.products)})
        return 0
    rows, repeats = (10_000, 3) if args.quick else (args.rows, args.repeats)
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
        directory = Path(tmp)
        urls = {n: f"sqlite+aiosqlite:///{directory}/{n}.db" for n in SOURCE_NAMES}
        skus = asyncio.run(_seed(urls, products=240))
        env = dict(os.environ) | {f"{n.upper()}_DATABASE_URL": u for n, u in urls.items()}
        path = directory / "prices.csv"
        _write_prices(path, [code for _, code in skus], rows)
        size = path.stat().st_size
        wall, cpu, rss, out = _run_cli(env, path)
        base_wall, base_cpu, base_rss, _ = _run_cli(env, path)  # imported before: no work
        print(f"import of {rows:,} price rows ({size / 2**20:.1f} MiB, SQLite, batches of 1,000):")
        print(f"  {out.splitlines()[0]}")
        print(
            f"  wall {wall:.1f} s, CPU {cpu:.1f} s ({rows / wall:,.0f} rows/s), peak RSS "
            f"{rss / 1024:.0f} MiB; the same command with nothing to do: wall {base_wall:.1f} s, "
            f"CPU {base_cpu:.1f} s, peak RSS {base_rss / 1024:.0f} MiB"
        )
        settings = Settings(
            **{f"{n}_database_url": u for n, u in urls.items()},
            log_level="WARNING",
            log_format="console",
            cache={"enabled": False},
        )
        bulk = asyncio.run(_bulk(settings, [i for i, _ in skus], repeats))
        times = bulk["times"]
        print("priceSetBulk of 1,000 items (SQLite, over the ASGI app, caches off):")
        print(
            f"  median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
            f"max {max(times) * 1000:.0f}, {len(times)} requests), Python heap peak "
            f"{bulk['peak'] / 2**20:.1f} MiB, {sum(bulk['calls'].values()):.0f} source calls: "
            + ", ".join(f"{k} {v:.0f}" for k, v in sorted(bulk["calls"].items()))
        )
    figures: dict[str, Any] = {
        "price_import": {
            "rows": rows,
            "mib": size / 2**20,
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mib": rss / 1024,
            "summary": out.splitlines()[0],
            "idle_wall_s": base_wall,
            "idle_cpu_s": base_cpu,
            "idle_peak_rss_mib": base_rss / 1024,
        },
        "price_set_bulk": {
            "items": 1000,
            "requests": len(times),
            "median_ms": statistics.median(times) * 1000,
            "min_ms": min(times) * 1000,
            "max_ms": max(times) * 1000,
            "heap_peak_mib": bulk["peak"] / 2**20,
            "calls": bulk["calls"],
        },
    }
    figures["product_import"] = _product_import(args.products)
    measurement.save(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
