"""The two executors in-process: CPU per execution and peak memory per request.

Over HTTP a request's time also holds the server's parsing, the JSON and the socket, and
req/s on a shared machine moves with other load; the CPU time of executing the same
document N times in this process, one executor after the other over the same sources,
is the steadier comparison. Peak memory is tracemalloc's peak over one execution of the
large screen (250 products x SKUs x price and stock), the response included.

Both with caches off (every read from its source: what the two executors add to the same
source calls, diluted by them) and on (the in-process shared cache, warm: listings and the
read-through records from it, as the served app executes a signed-in buyer's request; an
anonymous one is answered from the response cache before any execution).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from gateway.auth import ANONYMOUS, Permission, Viewer, ViewerKind
from gateway.cache.factory import build_cache
from gateway.execution import BREADTH_FIRST, STANDARD
from gateway.execution.inprocess import InProcess
from gateway.settings import Settings
from gateway.sources import Sources

from .queries import SCENARIOS
from .shop import Shop

CACHES = ("off", "on")  # every read from its source; the shared cache warm, as served


@dataclass
class ExecutorResult:
    runs: int
    # (scenario, executor, caches) -> median CPU ms; (executor, caches) -> the large's peak
    cpu_ms: dict[tuple[str, str, str], float] = field(default_factory=dict)
    peak_kib: dict[tuple[str, str], float] = field(default_factory=dict)


def _viewer(name: str) -> Viewer:
    scenario = SCENARIOS[name]
    if scenario.staff:
        return Viewer(ViewerKind.STAFF, "1", frozenset(Permission(p) for p in scenario.staff))
    return Viewer(ViewerKind.CUSTOMER, "1") if scenario.signed_in else ANONYMOUS


async def _measure(shop: Shop, scenarios: list[str], runs: int) -> ExecutorResult:
    values: dict[str, Any] = {f"{name}_database_url": url for name, url in shop.urls.items()}
    settings = Settings(
        **values, log_level="WARNING", log_format="console", max_page_size=250, max_cost=100_000,
        redis_url=None, redis_cluster_url=None,
    )  # fmt: skip
    sources = Sources.from_settings(settings)
    result = ExecutorResult(runs)
    thresholds = gc.get_threshold()
    try:
        for caches in CACHES:
            # Caches on: the in-process shared cache of a gateway without Redis (`make run`),
            # warmed by the first executions: listings and the read-through loaders' records
            # come from it, as a signed-in buyer's request is executed by the served app.
            cache = build_cache(settings, CollectorRegistry()) if caches == "on" else None
            in_process = InProcess(settings, sources, cache=cache)
            for name in scenarios:
                await _screen(in_process, name, shop.detail_slug, caches, runs, result)
            large = SCENARIOS["large"].query
            for executor in (STANDARD, BREADTH_FIRST):
                tracemalloc.start()
                await in_process.execute(executor, large)
                result.peak_kib[(executor, caches)] = tracemalloc.get_traced_memory()[1] / 1024
                tracemalloc.stop()
            gc.set_threshold(*thresholds)
            gc.unfreeze()
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        await sources.close()
    return result


async def _screen(
    in_process: InProcess,
    name: str,
    detail_slug: str,
    caches: str,
    runs: int,
    result: ExecutorResult,
) -> None:
    scenario = SCENARIOS[name]
    variables = scenario.variables(detail_slug)
    viewer = _viewer(name)
    answers = []
    for executor in (STANDARD, BREADTH_FIRST):
        for _ in range(3):  # warm: compiled SQL, parsed document, plan (and the cache)
            answer = await in_process.execute(executor, scenario.query, variables, viewer=viewer)
        answers.append(answer)
    if answers[0] != answers[1]:
        raise RuntimeError(f"the executors answer {name} differently (caches {caches})")
    # The collector as the served process has it (gateway/asgi.py): what is alive
    # now is frozen and young collections come every 10,000 objects. Left at the
    # defaults, a full collection walked this process's whole heap (some 300,000
    # objects) every few standard executions: the large screen's standard median
    # read 105-230 ms from one run to the next, 88 ms of it execution
    # (bench/RESULTS.md, "Issue 17, pass h22x").
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    # Alternate the two, and take the median: other load on the machine hits both.
    times: dict[str, list[float]] = {STANDARD: [], BREADTH_FIRST: []}
    for _ in range(runs):
        for executor in (STANDARD, BREADTH_FIRST):
            started = time.process_time()
            await in_process.execute(executor, scenario.query, variables, viewer=viewer)
            times[executor].append((time.process_time() - started) * 1000)
    for executor, measured in times.items():
        result.cpu_ms[(name, executor, caches)] = statistics.median(measured)


def measure(shop: Shop, scenarios: list[str], runs: int) -> ExecutorResult:
    return asyncio.run(_measure(shop, scenarios, runs))


def figures(result: ExecutorResult) -> dict[str, Any]:
    """CPU per execution by screen, executor and caches, and the large screen's peak memory,
    for bench/results/storefront.json."""
    peak: dict[str, dict[str, float]] = {}
    for (executor, caches), kib in result.peak_kib.items():
        peak.setdefault(caches, {})[executor] = kib
    return {
        "runs": result.runs,
        "cpu_ms": [
            {"scenario": name, "executor": executor, "caches": caches, "ms": ms}
            for (name, executor, caches), ms in result.cpu_ms.items()
        ],
        "peak_kib": peak,
    }


def section(result: ExecutorResult) -> str:
    lines = [
        "### The executors in-process",
        "",
        f"CPU per execution (median of {result.runs}, the two executors alternating, in "
        "this process over the same sources, under the served process's collector settings; "
        "steadier than req/s on a shared machine). Caches off: every read goes to its source; "
        "on: the in-process shared cache, warm, as a served signed-in request reads:",
        "",
        "| screen | caches | standard ms | breadth-first ms | standard ÷ breadth-first |",
        "|---|---|--:|--:|--:|",
    ]
    for (name, executor, caches), std in result.cpu_ms.items():
        if executor == STANDARD:
            bf = result.cpu_ms[(name, BREADTH_FIRST, caches)]
            title = SCENARIOS[name].title
            lines.append(f"| {title} | {caches} | {std:.1f} | {bf:.1f} | {std / bf:.2f}x |")
    for caches in CACHES:
        std_peak = result.peak_kib.get((STANDARD, caches))
        bf_peak = result.peak_kib.get((BREADTH_FIRST, caches))
        if std_peak and bf_peak:
            lines += [
                "",
                f"Peak memory of one large request, caches {caches} (tracemalloc): standard "
                f"{std_peak:,.0f} KiB, breadth-first {bf_peak:,.0f} KiB "
                f"({1 - bf_peak / std_peak:.0%} less).",
            ]
    return "\n".join(lines)
