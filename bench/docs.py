"""``python -m bench.docs``: docs/benchmarks.md's tables, rendered from the figures the
last ``make bench`` wrote (bench/results/<name>.json), each under the command, date, commit
and machine load that produced it.

The page's prose is written by hand; each table sits between two markers,
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``, and only what is between them is
rewritten. A bench that has not written its JSON shows no figures, only how to produce
them: a figure nobody measured again is not kept. ``--check`` changes nothing and fails
when the page differs from what the JSON gives (a hand edit, or JSON not rendered).

    python -m bench.docs [--check]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .provenance import RESULTS_DIR, ROOT, load
from .queries import SCENARIOS
from .report import BACKEND_TITLES, VARIANT_TITLES

DOC = ROOT / "docs" / "benchmarks.md"
BLOCK = re.compile(
    r"(<!-- bench:(?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /bench:(?P=name) -->)", re.S
)

# What produces each file, for a page whose bench has not run yet.
PRODUCERS = {
    "storefront": "python -m bench",
    "imports": "python -m bench.imports",
    "compression": "python -m bench.compression",
    "tracing": "python -m bench.tracing",
    "processes": "python -m bench.processes",
    "search": "python -m bench.search",
    "spread": "python -m bench.accept_spread",
}


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def provenance(data: dict[str, Any]) -> str:
    """The line every table stands under: which command, when, at which commit, on how
    busy a machine."""
    commit = data.get("commit") or {}
    sha = (commit.get("sha") or "unknown")[:10]
    dirty = " plus uncommitted changes" if commit.get("dirty") else ""
    load = data.get("load_average") or {}
    before, after = load.get("before") or [None], load.get("after") or [None]
    cores = data.get("cores") or int(str(data.get("machine", "0")).split()[0] or 0)
    busiest = max(x for x in (before[0], after[0], 0.0) if x is not None)
    busy = (
        f" The machine was loaded (load above its {cores} cores): wall times and req/s are "
        "rough there, CPU figures steadier."
        if cores and busiest > cores
        else ""
    )
    when = datetime.fromisoformat(data["date"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Measured {when} at commit `{sha}`{dirty} with "
        f"`{data['command']}` ({_num(data.get('seconds'), 0)} s), 1-minute load average "
        f"{_num(before[0])} at the start and {_num(after[0])} at the end, on "
        f"{data.get('machine', 'an unknown machine')}.{busy}"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    align = ["---" if i < numeric_from else "--:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def storefront(figures: dict[str, Any]) -> str:
    parts: list[str] = []
    for config in figures["configs"]:
        cells = {(c["scenario"], c["variant"], c["concurrency"]): c for c in config["cells"]}
        skipped = {(s["scenario"], s["variant"], s["concurrency"]) for s in config["skipped"]}
        variants = [v for v in VARIANT_TITLES if any(k[1] == v for k in cells)]
        latency = config["latency_ms"]
        parts.append(
            f"**{BACKEND_TITLES[config['backend']]}, simulated source latency "
            f"{f'{latency:g} ms' if latency else 'none'}** (load average "
            f"{_num(config['load_before'])} → {_num(config['load_after'])}): req/s · server "
            "CPU ms per request (* the cell hit its time cap)."
        )
        rows = []
        for scenario in figures["scenarios"]:
            for conc in figures["concurrency"]:
                row = [SCENARIOS[scenario].title, str(conc)]
                for variant in variants:
                    cell = cells.get((scenario, variant, conc))
                    if cell is None:
                        row.append("not run" if (scenario, variant, conc) in skipped else "")
                        continue
                    capped = "*" if cell["capped"] else ""
                    errors = f" ⚠ {cell['errors']} errors" if cell["errors"] else ""
                    rps = "none done" if cell["rps"] is None else _num(cell["rps"])
                    row.append(f"{rps}{capped} · {_num(cell['server_cpu_ms'])}{errors}")
                rows.append(row)
        header = ["screen", "conc.", *(VARIANT_TITLES[v] for v in variants)]
        parts += ["", _table(header, rows, numeric_from=1), ""]
    if figures["configs"]:
        first = figures["configs"][0]
        calls = {
            (c["scenario"], c["variant"]): sum(c["by_method"].values()) for c in first["calls"]
        }
        variants = [v for v in VARIANT_TITLES if any(k[1] == v for k in calls)]
        rows = [
            [SCENARIOS[s].title, *(str(calls.get((s, v), "")) for v in variants)]
            for s in figures["scenarios"]
        ]
        header = ["source calls per request", *(VARIANT_TITLES[v] for v in variants)]
        parts += [_table(header, rows), ""]
    executors = figures.get("executors")
    if executors:
        # Figures before the caches-on runs carry no "caches": theirs were all off.
        ms = {
            (c["scenario"], c["executor"], c.get("caches", "off")): c["ms"]
            for c in executors["cpu_ms"]
        }
        rows = []
        for scenario, executor, caches in ms:
            if executor == "standard":
                standard, breadth = (
                    ms[(scenario, executor, caches)],
                    ms[(scenario, "breadth-first", caches)],
                )
                ratio = f"{standard / breadth:.2f}x"
                rows.append(
                    [SCENARIOS[scenario].title, caches, _num(standard), _num(breadth), ratio]
                )
        parts += [
            f"In-process CPU per execution (median of {executors['runs']}, the executors "
            "alternating over the same sources, under the served process's collector settings: "
            "frozen heap, young collections at 10,000). Caches off: every read goes to its "
            "source; on: the in-process shared cache, warm, as the served app executes a "
            "signed-in buyer's request:",
            "",
            _table(
                ["screen", "caches", "standard ms", "breadth-first ms", "standard ÷ breadth-first"],
                rows,
            ),
            "",
        ]
        peaks = executors.get("peak_kib") or {}
        if "standard" in peaks:  # before the caches-on runs: one pair, caches off
            peaks = {"off": peaks}
        for caches, peak in peaks.items():
            if "standard" in peak and "breadth-first" in peak:
                parts += [
                    f"Peak memory of one large request, caches {caches} (tracemalloc): standard "
                    f"{peak['standard']:,.0f} KiB, breadth-first {peak['breadth-first']:,.0f} KiB.",
                    "",
                ]
    profile = figures.get("profile")
    if profile:
        rows = [[name, f"{share:.0%}"] for name, share in profile["components"]]
        parts += [
            f"Where the listing's time goes (pyinstrument, {profile['requests']} requests "
            f"in-process, {_num(profile['plain_ms_per_request'])} ms each unprofiled):",
            "",
            _table(["component", "share of sampled time"], rows),
            "",
        ]
    return "\n".join(parts).rstrip()


def imports(figures: dict[str, Any]) -> str:
    rows = []
    price = figures.get("price_import")
    if price:
        rows.append(
            [
                f"`gateway import prices` of {price['rows']:,} rows "
                f"({price['mib']:.1f} MiB, SQLite)",
                f"{_num(price['wall_s'])} s ({price['rows'] / price['wall_s']:,.0f} rows/s; "
                f"with nothing to do {_num(price['idle_wall_s'])} s)",
                f"{_num(price['cpu_s'])} s (with nothing to do {_num(price['idle_cpu_s'])} s)",
                f"peak RSS {price['peak_rss_mib']:.0f} MiB (with nothing to do "
                f"{price['idle_peak_rss_mib']:.0f} MiB)",
                "",
            ]
        )
    bulk = figures.get("price_set_bulk")
    if bulk:
        rows.append(
            [
                f"`priceSetBulk` of {bulk['items']:,} items (SQLite, caches off)",
                f"median {_num(bulk['median_ms'], 0)} ms (min {_num(bulk['min_ms'], 0)}, "
                f"{bulk['requests']} requests)",
                "-",
                f"Python heap peak {bulk['heap_peak_mib']:.1f} MiB",
                f"{sum(bulk['calls'].values()):.0f}",
            ]
        )
    products = figures.get("product_import")
    if products:
        rows.append(
            [
                f"`gateway import products` of a Shopify export of {products['products']:,} "
                f"products ({products['rows']:,} rows, SQLite, `--no-images`)",
                f"{_num(products['wall_s'])} s",
                f"{_num(products['cpu_s'])} s",
                "-",
                "",
            ]
        )
        rows.append(
            [
                "the same catalog again (every row matched, nothing written)",
                f"{_num(products['again_wall_s'])} s",
                f"{_num(products['again_cpu_s'])} s",
                "-",
                "",
            ]
        )
    return _table(["what", "wall", "CPU", "memory", "source calls"], rows)


def compression(figures: dict[str, Any]) -> str:
    body = figures["json_bytes"]
    rows = [
        [
            r["encoding"] + (" (configured)" if r["configured"] else ""),
            str(r["level"]),
            f"{r['bytes']:,}",
            f"{body / r['bytes']:.1f}",
            f"{r['cpu_ms']:.3f}",
        ]
        for r in figures["rows"]
    ]
    return (
        f"The 50-product listing, {body:,} bytes of JSON ({figures['products']:,} products "
        f"seeded), each level timed over {figures['repeats']} compressions:\n\n"
        + _table(["encoding", "level", "bytes", "ratio", "CPU ms per response"], rows)
    )


def tracing(figures: dict[str, Any]) -> str:
    off, on = figures["median_off_ms"], figures["median_on_ms"]
    pairs = zip(figures["cpu_ms_off"], figures["cpu_ms_on"], strict=False)
    rounds = ", ".join(f"{a:.2f} / {b:.2f}" for a, b in pairs)
    return (
        f"Signed-in listing, caches on, {figures['products']:,} products, SQLite, sampling "
        f"{figures['ratio']:g}, {figures['rounds']} rounds of {figures['duration_s']:g} s at "
        f"concurrency {figures['concurrency']}: server CPU per request **{off:.2f} ms off, "
        f"{on:.2f} ms on, {(on / off - 1) * 100:+.1f}%** (medians; off / on per round: "
        f"{rounds}; {figures['exports']} OTLP exports received)."
    )


def _cpu_split_table(rows_in: Sequence[dict[str, Any]], key: str, what: str) -> str:
    """Where one kind of request's CPU went: ms per request and cores kept busy by each
    owner, so a layout that gave the gateway no more cores shows why."""
    rows = []
    for r in rows_in:
        split = r.get(key)
        if not split:
            continue
        seconds = max(float(split["seconds"]), 1e-9)
        # A serve's parent process idles; its workers are the ones that should share.
        shares = [x / seconds for x in split.get("gateway_processes_s", [])]
        busy = [x for x in shares if x >= 0.02]

        def cell(owner: str, split: dict[str, Any] = split) -> str:
            return f"{_num(split[f'{owner}_ms'])} · {split[f'{owner}_cores']:.2f}"

        rows.append(
            [
                r["layout"],
                cell("gateway"),
                (" / ".join(f"{x:.2f}" for x in busy) or "-")
                + (
                    f" ({' / '.join(str(c) for c in split['connections_by_process'])} conn.)"
                    if split.get("connections_by_process")
                    else ""
                ),
                f"{cell('postgres_bench_db')} ({cell('postgres')})",
                cell("redis"),
                cell("load_generator"),
                cell("other"),
                f"{split['machine_busy_cores']:.2f}",
            ]
        )
    if not rows:
        return ""
    header = [
        "layout",
        "gateway",
        "cores per gateway process (connections held)",
        "PostgreSQL: bench db (whole server)",
        "Redis",
        "load generator",
        "other work",
        "cores busy",
    ]
    return f"\n\nWhere the CPU went, per {what}: ms per {what} · cores kept busy:\n\n" + _table(
        header, rows
    )


def _round_spread(x: dict[str, Any]) -> str:
    """One round's distribution over the gateway's processes, and the other work's cores."""
    connections = x.get("connections_by_process") or []
    cores = x.get("listing_cores_by_process") or []
    spread = ""
    if len(connections) > 1:
        spread += f"; {'/'.join(map(str, connections))} conn."
    if len(cores) > 1:
        spread += f", {' / '.join(f'{c:.2f}' for c in cores)} cores"
    if "listing_other_cores" in x:
        spread += f"; other work {x['listing_other_cores']:.2f}"
    return spread


def processes(figures: dict[str, Any]) -> str:
    rows_in = figures["rows"]
    base = rows_in[0]["listing_rps"] if rows_in else 0
    base_checkout = rows_in[0]["checkouts_per_s"] if rows_in else 0
    rows = [
        [
            r["layout"],
            _num(r["listing_rps"]),
            f"{r['listing_rps'] / base:.2f}" if base else "-",
            _num(r["listing_cpu_ms"]),
            _num(r.get("listing_p99_ms")),
            _num(r["checkouts_per_s"]),
            f"{r['checkouts_per_s'] / base_checkout:.2f}" if base_checkout else "-",
            _num(r["checkout_cpu_ms"]),
            str(r["lost"]),
            _num(r["load"]),
        ]
        for r in rows_in
    ]
    header = [
        "layout",
        "listing/s",
        "x 1 worker",
        "CPU ms/listing",
        "listing p99 ms",
        "checkouts/s",
        "x 1 worker",
        "CPU ms/checkout",
        "orders lost",
        "load",
    ]
    rounds = int(figures.get("rounds", 1))
    per_round = ""
    if rounds > 1:
        per_round = (
            f"\n\n{rounds} rounds, the layouts alternating (1, 2, ... then again): each row "
            "averages its rounds' rates and adds up their CPU (and the connections each "
            "process held). Listings/s round by round (x the same round's 1 worker; with "
            "several processes, the connections each held and the cores each got; the "
            "cores other work took): "
            + "; ".join(
                f"{r['layout']} "
                + ", ".join(
                    f"{x['listing_rps']:.1f} ({x['listing_x_1_worker']:.2f}x"
                    + _round_spread(x)
                    + ")"
                    for x in r.get("rounds", [])
                )
                for r in rows_in
            )
            + "."
        )
    pinned = figures.get("pinned_load_cpus")
    generator = figures.get("generator", "python (bench/load.py)")
    return (
        f"{figures['products']:,} products on PostgreSQL, concurrency {figures['concurrency']}, "
        f"{figures['duration_s']:g} s per measurement. Listing load: {generator}"
        + (f" (wrk pinned to CPU {pinned})" if pinned and "taskset" not in generator else "")
        + f"; checkout load: {figures.get('checkout_generator', 'python')}. CPU ms/listing "
        "and CPU ms/checkout are the gateway's processes only.\n\n"
        + _table(header, rows)
        + per_round
        + _cpu_split_table(rows_in, "listing_split", "listing")
        + _cpu_split_table(rows_in, "checkout_split", "checkout")
    )


def search(figures: dict[str, Any]) -> str:
    targets = figures["targets"]
    backends = figures["backends"]
    titles = [BACKEND_TITLES.get(b["backend"], b["backend"]) for b in backends]

    def cells(kind: str, source: str) -> list[str]:
        return [
            f"{_num(b[source][kind]['p50'])} / {_num(b[source][kind]['p99'])}" for b in backends
        ]

    rows = [
        [
            "`search` with facets, over HTTP",
            f"{_num(targets['search_p50'], 0)} / {_num(targets['search_p99'], 0)}",
            *cells("search", "http"),
        ],
        [
            "`predictiveSearch`, over HTTP",
            f"{_num(targets['predictive_p50'], 0)} / -",
            *cells("predictive", "http"),
        ],
        ["the engine's search alone, in process", "", *cells("search", "in_process")],
        ["the engine's suggestions alone, in process", "", *cells("predictive", "in_process")],
        ["`ILIKE '%term%'` (before the engine), in process", "", *cells("ilike", "in_process")],
    ]
    loads = ", ".join(
        f"{t} {_num(b['load_before'])} → {_num(b['load_after'])}"
        for t, b in zip(titles, backends, strict=True)
    )
    per_query = [
        [
            f"`{q['query']}`",
            str(q["hits"]),
            *(
                f"{_num(b['http']['per_query'][n]['p50'])} / "
                f"{_num(b['http']['per_query'][n]['p99'])}"
                for b in backends
            ),
        ]
        for n, q in enumerate(backends[0]["http"]["per_query"])
    ] if backends else []  # fmt: skip
    listing = _listings(figures, backends, titles)
    if "search" not in figures.get("parts", ["search"]):
        return (
            f"{figures['products']:,} products seeded (load average per engine: {loads}).\n\n"
            + listing
        )
    return (
        f"{figures['products']:,} products seeded, concurrency 1, {figures['rounds']} rounds "
        f"per query after one to warm, milliseconds p50 / p99 (load average per engine: "
        f"{loads}):\n\n"
        + _table(["what", "target", *titles], rows)
        + "\n\nBy query, over HTTP (hits as seeded on the first engine):\n\n"
        + _table(["query", "hits", *titles], per_query)
        + (f"\n\n{listing}" if listing else "")
    )


def _listings(figures: dict[str, Any], backends: list[dict[str, Any]], titles: list[str]) -> str:
    """Issue 17's listings at the same catalog size: over HTTP, with the server's CPU per
    request and the store alone beside them (empty for a run from before they were added)."""
    if not backends or "listings" not in backends[0]["http"]:
        return ""
    targets = figures["targets"]
    rows = [
        [
            h["listing"],
            str(h["total"]),
            *(
                f"{_num(b['http']['listings'][n]['p50'])} / "
                f"{_num(b['http']['listings'][n]['p99'])} "
                f"({_num(b['http']['listings'][n]['server_cpu_ms'])}; "
                f"{_num(b['in_process']['listings'][n]['p50'])} / "
                f"{_num(b['in_process']['listings'][n]['p99'])})"
                for b in backends
            ),
        ]
        for n, h in enumerate(backends[0]["http"]["listings"])
    ]
    return (
        f"Listings (`Products.graphql`, first 50, with `totalCount`), over HTTP, concurrency 1, "
        f"{figures['listing_rounds']} requests each after one to warm, milliseconds p50 / p99 "
        f"(target {_num(targets['listing_p50'], 0)} / {_num(targets['listing_p99'], 0)}); in "
        "brackets the server's CPU per request, then the catalog store's own p50 / p99 for "
        "the same page and count, in process:\n\n"
        + _table(["listing", "totalCount", *titles], rows)
    )


def spread(figures: dict[str, Any]) -> str:
    """How bursts of keep-alive connections landed on the workers, accept by accept."""
    rows = []
    for name, summary in figures["summary"].items():
        trials = figures["trials"][name]
        loads = [t["load"] for t in trials]
        shares = sorted(
            min(t["worker_cpu_s"]) / max(t["worker_cpu_s"])
            for t in trials
            if t["worker_cpu_s"] and max(t["worker_cpu_s"]) > 0
        )
        rows.append(
            [
                name,
                str(summary["trials"]),
                f"{summary['a_worker_left_idle']}",
                ", ".join(f"{k} ({v})" for k, v in summary["distributions"].items()),
                f"{shares[len(shares) // 2]:.2f}" if shares else "-",
                f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-",
            ]
        )
    return (
        f"{figures['workers']} workers, {figures['rounds']} rounds of "
        f"{figures['trials_per_round']} "
        f"trials per variant (the variants alternating), each a fresh wrk opening "
        f"{figures['connections']} connections at once and posting the signed-in listing "
        f"for {figures['seconds']:g} s; the connections each worker held once all were "
        "accepted, and how the two workers' CPU over the trial compare:\n\n"
        + _table(
            [
                "accept",
                "trials",
                "a worker left with no connection",
                "connections per worker (times seen)",
                "least / most busy worker's CPU (median)",
                "load",
            ],
            rows,
        )
    )


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "storefront": storefront,
    "imports": imports,
    "compression": compression,
    "tracing": tracing,
    "processes": processes,
    "search": search,
    "spread": spread,
}


def block(name: str, results: Path = RESULTS_DIR) -> str:
    """One marked block's content: the figures under their provenance, or how to get them."""
    data = load(name, results)
    if data is None:
        return (
            f"Not measured yet: `make bench` (or `{PRODUCERS[name]}`) writes "
            f"`bench/results/{name}.json`, then `python -m bench.docs` renders it here."
        )
    return provenance(data) + "\n\n" + RENDERERS[name](data["figures"])


def render(page: str, results: Path = RESULTS_DIR) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in RENDERERS:
            raise ValueError(f"docs/benchmarks.md has a block no bench writes: {name}")
        return f"{match[1]}{block(name, results)}\n{match[4]}"

    return BLOCK.sub(replace, page)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.docs", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="fail if the page is not what the JSON gives"
    )
    args = parser.parse_args(argv)
    page = DOC.read_text()
    rendered = render(page)
    if args.check:
        if rendered != page:
            print(f"{DOC} differs from bench/results/*.json: run python -m bench.docs")
            return 1
        return 0
    if rendered != page:
        DOC.write_text(rendered)
        print(f"{DOC} rendered from bench/results/*.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
