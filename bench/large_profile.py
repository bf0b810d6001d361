"""Where the large screen's CPU goes, per executor, in process (issue 17's 10x target).

``python -m bench.large_profile [--executor breadth-first|standard] [--runs N] [--top N]
[--sort tottime|cumulative|calls] [--time] [--caches on]``

The same in-process execution as bench/executor.py (InProcess, a fresh request context each
time, the bench shop on SQLite): ``--time`` prints each executor's median CPU per execution
over alternated runs without a profiler; otherwise cProfile (CPU clock) over ``--runs``
executions of one executor, the own time split by component, then the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import statistics
import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

import gateway.schema  # noqa: F401 - first: the import order bench/executor.py gets from bench
from gateway.cache.entities import GRACE_SECONDS
from gateway.cache.factory import build_cache
from gateway.execution import BREADTH_FIRST, STANDARD
from gateway.execution.inprocess import InProcess
from gateway.settings import Settings
from gateway.sources import Sources

from .cprofile_listing import shares
from .queries import LARGE_SIZE, SCENARIOS
from .shop import prepare


async def _sources_once(sources: Sources, settings: Settings) -> None:
    """The four source calls the large screen makes (the page, SKUs, prices, stock), in the
    order the executor makes them: what both executors pay."""
    page = await sources.catalog.list_products(first=LARGE_SIZE, with_total=False)
    skus = await sources.catalog.skus_by_product_ids([p.id for p in page.products])
    sku_ids = [s.id for found in skus.values() for s in found]
    await asyncio.gather(
        sources.pricing.prices_by_sku_ids(sku_ids, settings.currency),
        sources.inventory.stock_by_sku_ids(sku_ids),
    )


async def _sources_ms(sources: Sources, settings: Settings, runs: int) -> float:
    """Median CPU of the screen's source calls alone (the database threads' included)."""
    measured = []
    for _ in range(runs + 3):
        started = time.process_time()
        await _sources_once(sources, settings)
        measured.append((time.process_time() - started) * 1000)
    return statistics.median(measured[3:])


async def _run(args: argparse.Namespace) -> None:
    shop = await prepare("sqlite", 1000)
    values = {f"{name}_database_url": url for name, url in shop.urls.items()}
    settings = Settings(  # type: ignore[arg-type]
        **values, log_level="WARNING", log_format="console", max_page_size=250, max_cost=100_000,
        redis_url=None, redis_cluster_url=None,
    )  # fmt: skip
    sources = Sources.from_settings(settings)
    # --caches on: the in-process shared cache, warm, as bench/executor.py's caches-on rows.
    cache = build_cache(settings, CollectorRegistry()) if args.caches == "on" else None
    in_process = InProcess(settings, sources, cache=cache)
    query = SCENARIOS[args.scenario].query
    try:
        for executor in (STANDARD, BREADTH_FIRST):
            for _ in range(3):
                await in_process.execute(executor, query)
        if cache is not None:
            await asyncio.sleep(GRACE_SECONDS * 1.2)  # the warm-up's fills out of flight
        if args.gc == "served":  # as gateway/asgi.py leaves the served process
            gc.freeze()
            gc.set_threshold(10_000, 10, 10)
        collecting: list[float] = []
        in_gc = [0.0]

        def timed(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                collecting.append(time.process_time())
            else:
                in_gc[0] += time.process_time() - collecting.pop()

        if args.callgrind:  # under valgrind --tool=callgrind --instr-atstart=no
            from .listing_instructions import _switch_callgrind

            what = "the source calls" if args.sources else args.executor
            _switch_callgrind("on")
            for _ in range(args.runs):
                if args.sources:
                    await _sources_once(sources, settings)
                else:
                    await in_process.execute(args.executor, query)
            _switch_callgrind("off")
            print(f"{what}: {args.runs} executions instrumented")
            return
        if args.sources:
            alone = await _sources_ms(sources, settings, args.runs)
            print(f"the large screen's source calls alone: {alone:.2f} ms")
            return
        if args.time:
            gc.callbacks.append(timed)
            times: dict[str, list[float]] = {STANDARD: [], BREADTH_FIRST: []}
            gc_ms: dict[str, list[float]] = {STANDARD: [], BREADTH_FIRST: []}
            for _ in range(args.runs):
                for executor in (STANDARD, BREADTH_FIRST):
                    in_gc[0] = 0.0
                    started = time.process_time()
                    await in_process.execute(executor, query)
                    times[executor].append((time.process_time() - started) * 1000)
                    gc_ms[executor].append(in_gc[0] * 1000)
            gc.callbacks.remove(timed)
            for executor, measured in times.items():
                collector = gc_ms[executor]
                without = [t - g for t, g in zip(measured, collector, strict=True)]
                print(
                    f"{executor}: median {statistics.median(measured):.2f} ms, "
                    f"min {min(measured):.2f} ms, collector {sum(collector) / args.runs:.2f} "
                    f"ms a run on average, median without it {statistics.median(without):.2f} "
                    f"ms ({args.runs} runs, gc {args.gc})"
                )
            return
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(args.runs):
            await in_process.execute(args.executor, query)
        profiler.disable()
    finally:
        await sources.close()
    stats = pstats.Stats(profiler)
    if args.dump:
        stats.dump_stats(args.dump)
    total = sum(t for (_, _, t, _, _) in stats.stats.values())  # type: ignore[attr-defined]
    print(f"{args.executor}: {total / args.runs * 1000:.2f} ms profiled per execution")
    for name, share in shares(stats):
        print(f"  {share:6.1%}  {share * total / args.runs * 1000:7.2f} ms  {name}")
    stats.sort_stats(args.sort).print_stats(args.top)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.large_profile")
    parser.add_argument("--executor", choices=(BREADTH_FIRST, STANDARD), default=BREADTH_FIRST)
    parser.add_argument("--scenario", default="large")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", choices=("tottime", "cumulative", "calls"), default="tottime")
    parser.add_argument("--time", action="store_true", help="alternated CPU, no profiler")
    parser.add_argument("--callgrind", action="store_true", help="instructions, under valgrind")
    parser.add_argument("--sources", action="store_true", help="the source calls alone")
    parser.add_argument("--dump", default=None, metavar="PATH")
    parser.add_argument(
        "--caches",
        choices=("off", "on"),
        default="off",
        help="on: reads through the in-process shared cache, warmed first",
    )
    parser.add_argument(
        "--gc",
        choices=("default", "served"),
        default="default",
        help="served: frozen heap and thresholds as gateway/asgi.py sets them",
    )
    asyncio.run(_run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
