"""What compression costs and saves on the storefront's largest everyday answer.

The 50-product listing (bench/queries.py) is fetched once from a gateway over the seeded
SQLite shop; each encoder then compresses that same body at several levels, and the table
shows the bytes on the wire beside the CPU each response costs (process time, so the
figures hold on a busy machine), with the gateway's configured level marked. The targets:
at most 6 KB with brotli, at most 1 ms of CPU per response. The figures are also written
to bench/results/compression.json (docs/benchmarks.md is rendered from it).

    python -m bench.compression [--products 1000] [--repeats 300]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import time
from collections.abc import Callable

import brotli
import httpx
import zstandard

from bench.provenance import Measurement
from bench.queries import LISTING
from bench.shop import prepare
from gateway.app import create_app
from gateway.compression import CompressionSettings
from gateway.settings import Settings


async def listing_body(products: int) -> bytes:
    shop = await prepare("sqlite", products)
    settings = Settings(
        **{f"{name}_database_url": url for name, url in shop.urls.items()},
        log_level="WARNING",
        compression={"enabled": False},
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            response = await client.post("/graphql", json={"query": LISTING})
    response.raise_for_status()
    return response.content


Encoder = Callable[[bytes], bytes]


def cpu_ms(encode: Encoder, body: bytes, repeats: int) -> tuple[float, int]:
    size = len(encode(body))
    started = time.process_time()
    for _ in range(repeats):
        encode(body)
    return (time.process_time() - started) / repeats * 1000, size


def encoder(name: str, level: int) -> Encoder:
    if name == "zstd":
        return zstandard.ZstdCompressor(level=level).compress
    if name == "br":
        return lambda body: brotli.compress(body, quality=level)
    return lambda body: gzip.compress(body, compresslevel=level)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    measurement = Measurement.begin("compression", "bench.compression")
    body = asyncio.run(listing_body(args.products))
    chosen = CompressionSettings()
    configured = {
        "zstd": chosen.zstd_level,
        "br": chosen.brotli_quality,
        "gzip": chosen.gzip_level,
    }
    print(f"50-product listing: {len(body):,} bytes of JSON ({args.products} products seeded)")
    print(f"{'encoding':<8} {'level':>5} {'bytes':>8} {'ratio':>6} {'CPU ms':>7}")
    rows = []
    for name, level_now in configured.items():
        for level in sorted({1, 3, 4, 5, 6, 9, level_now}):
            ms, size = cpu_ms(encoder(name, level), body, args.repeats)
            mark = "  <- configured" if level == level_now else ""
            print(f"{name:<8} {level:>5} {size:>8,} {len(body) / size:>6.1f} {ms:>7.3f}{mark}")
            rows.append(
                {
                    "encoding": name,
                    "level": level,
                    "bytes": size,
                    "cpu_ms": ms,
                    "configured": level == level_now,
                }
            )
    measurement.save(
        {"products": args.products, "repeats": args.repeats, "json_bytes": len(body), "rows": rows}
    )


if __name__ == "__main__":
    main()
