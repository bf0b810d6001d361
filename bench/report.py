"""Markdown tables of a run: one per backend and latency, rows screen x variant x
concurrency, with the gateway's throughput as a multiple of each baseline's."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .load import CellResult
from .profile import ProfileResult
from .queries import SCENARIOS

VARIANT_TITLES = {
    "gateway": "gateway (breadth-first)",
    "standard": "gateway, standard execution",
    "remote": "gateway, sources remote",
    "n+1": "N+1 (loaders off)",
    "floor": "hand-written floor",
    "memory": "hand-written, in memory",
    "cached": "gateway, caches on",
}
BACKEND_TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass
class Config:
    backend: str
    latency_ms: float

    @property
    def title(self) -> str:
        latency = f"{self.latency_ms:g} ms" if self.latency_ms else "none"
        return f"{BACKEND_TITLES[self.backend]}, simulated source latency {latency}"


@dataclass
class ConfigResult:
    config: Config
    # (scenario, variant, concurrency) -> cell
    cells: dict[tuple[str, str, int], CellResult] = field(default_factory=dict)
    # (scenario, variant) -> source calls of one request by 'source.method'
    calls: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    # (scenario, variant, concurrency) -> why the cell was not run
    skipped: dict[tuple[str, str, int], str] = field(default_factory=dict)
    load_before: float = 0.0  # 1-minute load average when the config started / ended
    load_after: float = 0.0


@dataclass
class RunResult:
    machine: str
    command: str
    settings: str
    configs: list[ConfigResult] = field(default_factory=list)
    client_ceiling: CellResult | None = None
    profile: ProfileResult | None = None
    executors: str | None = None  # bench/executor.py's section
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(c.errors for r in self.configs for c in r.cells.values())


LEGEND = (
    "Variants: **gateway** with its caches off (CACHE_ENABLED=false, "
    "RESPONSE_CACHE_ENABLED=false), so every request reaches the sources, on the "
    "breadth-first executor; **standard** the same on standard (graphql-core, field by "
    "field) execution (GATEWAY_EXECUTOR=standard); **N+1** the same "
    "schema with loaders off "
    "(GATEWAY_BATCHING=false: one source call per field); **floor** a hand-written Starlette "
    "endpoint per screen (bench/handwritten.py) returning the same JSON straight from the "
    "stores, checked equal to the gateway's before measuring; **in memory** the same "
    "endpoints over records read once and kept (no SQL: Starlette, dicts and orjson, the "
    "web stack's physical limit); **gateway, sources remote** "
    "the gateway (caches off) reaching its four sources over HTTP, each a `gateway source "
    "serve` process on loopback (server CPU adds up the five processes; its ratio is its "
    "req/s over the embedded gateway's); **gateway, caches on** the "
    "gateway as `make run` starts it (in-process entity and response caches, warm: the "
    "same screen is asked again and again). conc. = requests kept in "
    "flight; n = responses measured (* = the cell hit its time cap with requests still in "
    "flight, so req/s is what completed and p50/p99 are lower bounds); server CPU ms/req = "
    "the server process's CPU time over the cell / responses (the database's own CPU on "
    "PostgreSQL not included); it is the figure least disturbed by other load on the machine. "
    "Ratios are gateway req/s over the baseline's at the same concurrency (> 1: the gateway "
    "is faster)."
)


def _rps(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _cell_rps(cell: CellResult) -> str:
    if cell.requests == 0:
        return f"< {_rps(1 / cell.seconds)}"
    return _rps(cell.rps)


def _cell_ms(cell: CellResult, q: float) -> str:
    if cell.requests == 0:  # nothing finished: every request took longer than the window
        return f"> {cell.seconds * 1000:,.0f}"
    return _ms(cell.percentile(q))


def _ratio(a: float, b: float, *, upper: float | None = None) -> str:
    if not b:
        # The baseline finished nothing: the ratio is at least gateway / (1 per window).
        return f"> {_ratio(a, upper)}" if upper else "-"
    r = a / b
    return f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def _cpu(cell: CellResult) -> str:
    ms = cell.server_cpu_ms
    return "-" if ms is None else _ms(ms)


def _ratio_cells(gateway: CellResult, base: CellResult) -> str:
    return _ratio(gateway.rps, base.rps, upper=1 / base.seconds)


def _gateway_ratio(result: ConfigResult, scenario: str, base: str, conc: int) -> str:
    """Gateway req/s over a baseline's at one concurrency. A baseline cell not run (too
    slow) is bounded instead: one worker cannot serve more than 1000 / (its CPU ms per
    request at the lowest concurrency) requests a second."""
    gateway = result.cells.get((scenario, "gateway", conc))
    if gateway is None:
        return "-"
    other = result.cells.get((scenario, base, conc))
    if other is not None:
        return _ratio_cells(gateway, other)
    if (scenario, base, conc) in result.skipped:
        lowest = min(c for (s, v, c) in result.cells if s == scenario and v == base)
        cpu_ms = result.cells[(scenario, base, lowest)].server_cpu_ms
        if cpu_ms:
            return f"> {_ratio(gateway.rps, 1000 / cpu_ms)}"
    return "-"


def config_table(result: ConfigResult, scenarios: list[str], concurrencies: list[int]) -> str:
    lines = [
        f"#### {result.config.title}",
        "",
        f"1-minute load average {result.load_before:.1f} at the start, "
        f"{result.load_after:.1f} at the end.",
        "",
        "| screen | variant | conc. | req/s | p50 ms | p99 ms | n | server CPU ms/req "
        "| source calls/query | gateway ÷ standard | gateway ÷ N+1 | gateway ÷ floor "
        "| remote ÷ embedded | ÷ in memory |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    notes: list[str] = []
    for scenario in scenarios:
        for variant in VARIANT_TITLES:
            for conc in concurrencies:
                cell = result.cells.get((scenario, variant, conc))
                calls = sum(result.calls.get((scenario, variant), {}).values())
                skipped = result.skipped.get((scenario, variant, conc))
                if skipped is not None:
                    notes.append(skipped)
                    lines.append(
                        f"| {SCENARIOS[scenario].title} | {VARIANT_TITLES[variant]} | {conc} "
                        f"| not run [{len(notes)}] | | | | | {calls} | | | | | |"
                    )
                    continue
                if cell is None:
                    continue
                ratios = ["", "", "", ""]
                if variant == "gateway":
                    ratios = [
                        _gateway_ratio(result, scenario, b, conc)
                        for b in ("standard", "n+1", "floor")
                    ]
                    ratios.append("")
                embedded = result.cells.get((scenario, "gateway", conc))
                if variant == "remote" and embedded is not None:
                    ratios[3] = _ratio_cells(cell, embedded)
                memory = result.cells.get((scenario, "memory", conc))
                ratios.append(
                    _ratio_cells(cell, memory)
                    if memory is not None and variant in ("gateway", "cached", "floor")
                    else ""
                )
                errors = f" ⚠ {cell.errors} errors" if cell.errors else ""
                lines.append(
                    f"| {SCENARIOS[scenario].title} | {VARIANT_TITLES[variant]}{errors} | {conc} "
                    f"| {_cell_rps(cell)} | {_cell_ms(cell, 50)} | {_cell_ms(cell, 99)} "
                    f"| {cell.requests}{'*' if cell.truncated else ''} | {_cpu(cell)} | {calls} "
                    f"| {ratios[0]} | {ratios[1]} | {ratios[2]} | {ratios[3]} | {ratios[4]} |"
                )
    lines += [""] + [f"[{i}] Not run: {note}." for i, note in enumerate(notes, 1)]
    return "\n".join(lines).rstrip()


def summary_table(run: RunResult, scenarios: list[str], concurrencies: list[int]) -> str:
    """Gateway req/s as a multiple of standard execution's, N+1's and the floor's, every
    config side by side."""
    header = "| screen | conc. | " + " | ".join(
        f"{BACKEND_TITLES[r.config.backend]} {r.config.latency_ms:g} ms" for r in run.configs
    )
    lines = [
        "gateway (breadth-first) req/s ÷ standard execution's / ÷ N+1's / ÷ the floor's:",
        "",
        header + " |",
        "|---|--:|" + "--:|" * len(run.configs),
    ]
    for scenario in scenarios:
        for conc in concurrencies:
            row = [SCENARIOS[scenario].title, str(conc)]
            for r in run.configs:
                ratios = [
                    _gateway_ratio(r, scenario, b, conc) for b in ("standard", "n+1", "floor")
                ]
                row.append(" / ".join(ratios))
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def limit_table(run: RunResult, scenarios: list[str], concurrencies: list[int]) -> str:
    """The physical limit: the gateway with its caches on (as ``make run`` starts it) and
    the hand-written floor, as multiples of the hand-written endpoint over records in memory,
    in the same run (empty when the in-memory variant did not run)."""
    if not any(v == "memory" for r in run.configs for (_, v, _) in r.cells):
        return ""
    header = "| screen | conc. | " + " | ".join(
        f"{BACKEND_TITLES[r.config.backend]} {r.config.latency_ms:g} ms" for r in run.configs
    )
    lines = [
        "caches on ÷ in memory / gateway (caches off) ÷ in memory / floor ÷ in memory "
        "(req/s, same run):",
        "",
        header + " |",
        "|---|--:|" + "--:|" * len(run.configs),
    ]
    for scenario in scenarios:
        for conc in concurrencies:
            row = [SCENARIOS[scenario].title, str(conc)]
            for r in run.configs:
                memory = r.cells.get((scenario, "memory", conc))
                ratios = []
                for variant in ("cached", "gateway", "floor"):
                    cell = r.cells.get((scenario, variant, conc))
                    ok = cell is not None and memory is not None
                    ratios.append(_ratio_cells(cell, memory) if ok else "-")  # type: ignore[arg-type]
                row.append(" / ".join(ratios))
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def calls_table(run: RunResult, scenarios: list[str]) -> str:
    """Source calls of one request by store method (the same on every backend and latency;
    a config that differs is listed apart)."""
    if not run.configs:
        return ""
    first = run.configs[0]
    lines = [
        "| screen | variant | calls | by source method |",
        "|---|---|--:|---|",
    ]
    for scenario in scenarios:
        for variant in VARIANT_TITLES:
            calls = first.calls.get((scenario, variant))
            if calls is None:
                continue
            detail = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
            lines.append(
                f"| {SCENARIOS[scenario].title} | {VARIANT_TITLES[variant]} "
                f"| {sum(calls.values())} | {detail} |"
            )
    differing = [
        f"{r.config.title}: {s} {v}: {sum(r.calls[(s, v)].values())} calls"
        for r in run.configs[1:]
        for (s, v) in r.calls
        if r.calls[(s, v)] != first.calls.get((s, v))
    ]
    if differing:
        lines += [
            "",
            "Counts can vary by a call or two between runs (keys that reach a loader in "
            "different event-loop ticks are fetched in separate batches). Differs in: "
            + "; ".join(differing)
            + ".",
        ]
    return "\n".join(lines)


def client_note(run: RunResult) -> str:
    cells = [c for r in run.configs for c in r.cells.values()]
    if not cells:
        return ""
    busiest = max(cells, key=lambda c: c.client_cpu)
    fastest = max(cells, key=lambda c: c.rps)
    text = (
        f"Load generator (one process, asyncio on uvloop, raw keep-alive HTTP/1.1): at most "
        f"{busiest.client_cpu:.0%} of one core in any cell; the fastest cell ran at "
        f"{_rps(fastest.rps)} req/s."
    )
    if run.client_ceiling is not None:
        c = run.client_ceiling
        text += (
            f" Against the floor app's trivial /healthz at concurrency "
            f"{c.concurrency} it drives {_rps(c.rps)} req/s using {c.client_cpu:.0%} of a "
            "core, so the client is not the limit of any cell above."
        )
    return text


def profile_section(profile: ProfileResult) -> str:
    shares = "\n".join(f"| {name} | {share:.1%} |" for name, share in profile.components)
    return "\n".join(
        [
            f"Listing query in-process (httpx ASGITransport, SQLite, no latency), "
            f"{profile.requests} requests: {profile.plain_ms_per_request:.1f} ms/request "
            f"without the profiler, {profile.ms_per_request:.1f} ms under it. "
            f"HTML: `{profile.html_path}`.",
            "",
            "Sampled time by component (innermost Python frame; C builtins charged to caller):",
            "",
            "| component | share |",
            "|---|--:|",
            shares,
            "",
            "Top functions by self time:",
            "",
            "```",
            profile.flat,
            "```",
            "",
            "Call tree (top):",
            "",
            "```",
            profile.tree,
            "```",
        ]
    )


def render(run: RunResult, scenarios: list[str], concurrencies: list[int]) -> str:
    parts = [
        "## Benchmarks",
        "",
        f"Machine: {run.machine}. Command: `{run.command}`. {run.settings}",
        "",
    ]
    if run.configs:
        parts += [LEGEND, ""]
    for result in run.configs:
        parts += [config_table(result, scenarios, concurrencies), ""]
    if run.configs:
        parts += ["#### Summary", "", summary_table(run, scenarios, concurrencies), ""]
        limits = limit_table(run, scenarios, concurrencies)
        if limits:
            parts += [limits, ""]
        parts += ["#### Source calls per query", "", calls_table(run, scenarios), ""]
    note = client_note(run)
    if note:
        parts += [note, ""]
    parts += [f"- {n}" for n in run.notes]
    if run.notes:
        parts.append("")
    if run.executors is not None:
        parts += [run.executors, ""]
    if run.profile is not None:
        parts += ["#### Profile", "", profile_section(run.profile), ""]
    return "\n".join(parts)


def _cell_figures(key: tuple[str, str, int], cell: CellResult) -> dict[str, Any]:
    scenario, variant, conc = key
    return {
        "scenario": scenario,
        "variant": variant,
        "concurrency": conc,
        "rps": cell.rps if cell.requests else None,
        "p50_ms": cell.percentile(50),
        "p99_ms": cell.percentile(99),
        "requests": cell.requests,
        "server_cpu_ms": cell.server_cpu_ms,
        "errors": cell.errors,
        "capped": cell.truncated,
    }


def run_figures(run: RunResult) -> dict[str, Any]:
    """What bench/results/storefront.json keeps of a run: each cell's derived figures (not
    its latencies), source calls and skipped cells per config, and the profile's shares."""
    configs = []
    for result in run.configs:
        configs.append(
            {
                "backend": result.config.backend,
                "latency_ms": result.config.latency_ms,
                "load_before": result.load_before,
                "load_after": result.load_after,
                "cells": [_cell_figures(k, c) for k, c in result.cells.items()],
                "calls": [
                    {"scenario": s, "variant": v, "by_method": calls}
                    for (s, v), calls in result.calls.items()
                ],
                "skipped": [
                    {"scenario": s, "variant": v, "concurrency": c, "why": why}
                    for (s, v, c), why in result.skipped.items()
                ],
            }
        )
    profile = None
    if run.profile is not None:
        profile = {
            "requests": run.profile.requests,
            "ms_per_request": run.profile.ms_per_request,
            "plain_ms_per_request": run.profile.plain_ms_per_request,
            "components": [[name, share] for name, share in run.profile.components],
        }
    return {
        "machine": run.machine,
        "settings": run.settings,
        "configs": configs,
        "client_ceiling_rps": run.client_ceiling.rps if run.client_ceiling else None,
        "profile": profile,
        "errors": run.errors,
    }
