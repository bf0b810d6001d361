"""The two executors in-process: CPU per execution and peak memory per request.

Over HTTP a request's time also holds the server's parsing, the JSON and the socket, and
req/s on a shared machine moves with other load; the CPU time of executing the same
document N times in this process, one executor after the other over the same sources,
is the steadier comparison. Peak memory is tracemalloc's peak over one execution of the
large screen (250 products x SKUs x price and stock), the response included.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

from gateway.auth import ANONYMOUS, Permission, Viewer, ViewerKind
from gateway.execution import BREADTH_FIRST, STANDARD
from gateway.execution.inprocess import InProcess
from gateway.settings import Settings
from gateway.sources import Sources

from .queries import SCENARIOS
from .shop import Shop


@dataclass
class ExecutorResult:
    runs: int
    cpu_ms: dict[tuple[str, str], float] = field(default_factory=dict)  # (scenario, executor)
    peak_kib: dict[str, float] = field(default_factory=dict)  # executor -> large's peak


async def _measure(shop: Shop, scenarios: list[str], runs: int) -> ExecutorResult:
    values: dict[str, Any] = {f"{name}_database_url": url for name, url in shop.urls.items()}
    settings = Settings(
        **values, log_level="WARNING", log_format="console", max_page_size=250, max_cost=100_000
    )
    sources = Sources.from_settings(settings)
    in_process = InProcess(settings, sources)
    result = ExecutorResult(runs)
    thresholds = gc.get_threshold()
    try:
        for name in scenarios:
            scenario = SCENARIOS[name]
            variables = scenario.variables(shop.detail_slug)
            viewer = (
                Viewer(ViewerKind.STAFF, "1", frozenset(Permission(p) for p in scenario.staff))
                if scenario.staff
                else Viewer(ViewerKind.CUSTOMER, "1")
                if scenario.signed_in
                else ANONYMOUS
            )
            answers = []
            for executor in (STANDARD, BREADTH_FIRST):
                for _ in range(3):  # warm: compiled SQL, parsed document, plan
                    answer = await in_process.execute(
                        executor, scenario.query, variables, viewer=viewer
                    )
                answers.append(answer)
            if answers[0] != answers[1]:
                raise RuntimeError(f"the executors answer {name} differently")
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
                result.cpu_ms[(name, executor)] = statistics.median(measured)
        large = SCENARIOS["large"].query
        for executor in (STANDARD, BREADTH_FIRST):
            tracemalloc.start()
            await in_process.execute(executor, large)
            result.peak_kib[executor] = tracemalloc.get_traced_memory()[1] / 1024
            tracemalloc.stop()
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        await sources.close()
    return result


def measure(shop: Shop, scenarios: list[str], runs: int) -> ExecutorResult:
    return asyncio.run(_measure(shop, scenarios, runs))


def figures(result: ExecutorResult) -> dict[str, Any]:
    """CPU per execution by screen and executor, and the large screen's peak memory, for
    bench/results/storefront.json."""
    return {
        "runs": result.runs,
        "cpu_ms": [
            {"scenario": name, "executor": executor, "ms": ms}
            for (name, executor), ms in result.cpu_ms.items()
        ],
        "peak_kib": result.peak_kib,
    }


def section(result: ExecutorResult) -> str:
    lines = [
        "### The executors in-process",
        "",
        f"CPU per execution (median of {result.runs}, the two executors alternating, in "
        "this process over the same sources, under the served process's collector settings; "
        "steadier than req/s on a shared machine):",
        "",
        "| screen | standard ms | breadth-first ms | standard ÷ breadth-first |",
        "|---|--:|--:|--:|",
    ]
    for name in dict.fromkeys(s for s, _ in result.cpu_ms):
        std = result.cpu_ms[(name, STANDARD)]
        bf = result.cpu_ms[(name, BREADTH_FIRST)]
        lines.append(f"| {SCENARIOS[name].title} | {std:.1f} | {bf:.1f} | {std / bf:.2f}x |")
    if result.peak_kib:
        std_peak = result.peak_kib[STANDARD]
        bf_peak = result.peak_kib[BREADTH_FIRST]
        lines += [
            "",
            f"Peak memory of one large request (tracemalloc): standard {std_peak:,.0f} KiB, "
            f"breadth-first {bf_peak:,.0f} KiB ({1 - bf_peak / std_peak:.0%} less).",
        ]
    return "\n".join(lines)
