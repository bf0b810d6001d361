"""Remote ÷ embedded server CPU per checkout, alternated, with each process's share.

``python -m bench.remote_ab --backend postgresql --concurrency 1 16 --rounds 3
--duration 6 --pool-size 5 [--layouts each one]``

bench.checkout measures the embedded gateway and then the remote one, minutes apart, on a
machine whose load drifts by more than the gap being measured. Here one shop is seeded
once and the two servers take turns on it (embedded, remote, embedded, ...), each turn
running every concurrency; each remote row also says where its CPU went (the gateway and
each source service), how many times each process woke up per checkout (voluntary
context switches: it slept until a socket had something for it; the involuntary ones,
"preempted", are the machine's load), and its read and write system calls, which is what
five processes on two cores pay beside their Python; each round prints the source calls
per checkout by method, embedded / remote. Before its warm-up each turn makes a cart of
every SKU (``--no-browse``: not), so both gateways measure with the same SKUs cached.
The ratio of a round is taken between its own turns; read the medians.

``--layouts each one`` measures both ways of running the remote sources in the same
rounds: a ``gateway source serve`` process per source (rows ``remote``, the default) and
one process serving the four on their ports (rows ``remote-1p``, its split says
``sources``); the turns rotate (embedded, remote, remote-1p; then remote, remote-1p,
embedded; ...), so no layout always runs first or last.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.auth import ViewerKind, issue_token
from gateway.settings import SOURCE_NAMES, Settings

from .checkout import (
    CART_CREATE,
    GatewayProcess,
    _graphql,
    _sku_gid,
    prepare_shop,
    run_checkout_bench,
)
from .client import GraphQLClient
from .client import run as run_on_uvloop
from .servers import CLOCK_TICKS
from .shop import ROOT


def _switches(pid: int) -> tuple[int, int]:
    """Voluntary and involuntary context switches of a process's threads so far. The
    voluntary ones are its wake-ups (it slept until a socket had something for it); the
    involuntary ones are the machine's load (preempted while it could run)."""
    voluntary = involuntary = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            for line in status.read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    voluntary += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    involuntary += int(line.split()[1])
        except OSError:
            continue
    return voluntary, involuntary


def _syscalls(pid: int) -> tuple[int, int]:
    """Read and write system calls of a process so far (/proc/<pid>/io: read(2), write(2),
    and their vectored forms, on sockets too)."""
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(fields["syscr"]), int(fields["syscw"])


def _cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def _sample(server: GatewayProcess) -> dict[str, tuple[float, float, int, int, int, int]]:
    """Per process: user and system CPU seconds, voluntary and involuntary switches,
    read and write system calls."""
    named = {"gateway": server.process.pid}
    if len(server.companions) == 1:  # the four sources in one process
        named["sources"] = server.companions[0].pid
    else:
        named |= {name: p.pid for name, p in zip(SOURCE_NAMES, server.companions, strict=False)}
    return {name: (*_cpu(pid), *_switches(pid), *_syscalls(pid)) for name, pid in named.items()}


async def _sessions(shop: Any) -> int:
    """Connections PostgreSQL has opened to the shop's database so far (0 on SQLite)."""
    if shop.backend != "postgresql":
        return 0
    import asyncpg

    url = shop.urls["orders"].replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(url)
    try:
        name = url.rsplit("/", 1)[1]
        sessions: int = await conn.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = $1", name
        )
    finally:
        await conn.close()
    return sessions - 1  # less this one


async def _browse(url: str, token: str, sku_ids: Sequence[int]) -> None:
    """A cart of every SKU on sale, three at a time, thrown away: the gateway's caches then
    hold every SKU's catalog record, price and promotions (300 s and 30 s), as a gateway
    that has served for a while holds them. Without it the slower of the two gateways
    ends its 2 s warm-up having seen fewer SKUs, and its measured checkouts make cache-miss
    calls the other's do not (remote 11.3-12.2 source calls per checkout against 9.4-10
    embedded in the same round: ``skus_by_ids``, ``prices_by_sku_ids``, ...)."""
    async with GraphQLClient(url) as client:
        for start in range(0, len(sku_ids), 3):
            lines = [{"skuId": _sku_gid(s), "quantity": 1} for s in sku_ids[start : start + 3]]
            await _graphql(client, CART_CREATE, {"input": {"lines": lines}}, token, "cartCreate")


# The remote layouts a turn can serve: a process per source, or one for the four.
LAYOUTS = {"each": "remote", "one": "remote-1p"}


async def _turn(
    shop: Any,
    mode: str,
    concurrencies: Sequence[int],
    duration: float,
    pool: int | None,
    warmup: float,
    browse: bool,
) -> list[dict[str, Any]]:
    server = GatewayProcess(
        shop,
        ROOT / "bench" / "results" / "logs" / f"remote-ab-{mode}.log",
        pool,
        remote=mode != "embedded",
        sources_in_one_process=mode == LAYOUTS["one"],
    )
    rows = []
    try:
        settings = Settings()
        tokens = [
            issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(c))
            for c in shop.customer_ids
        ]
        if browse:
            await _browse(server.url, tokens[0], shop.sku_ids)
        for conc in concurrencies:
            # Warm first (statements compiled, pools filled, caches loaded): a turn's
            # figures are then the steady state's, not its start's.
            await run_checkout_bench(server.url, tokens, shop.sku_ids, conc, warmup, seed=0)
            before, opened = _sample(server), await _sessions(shop)
            result = await run_checkout_bench(
                server.url, tokens, shop.sku_ids, conc, duration, seed=conc,
                orders_database_url=shop.urls["orders"],
            )  # fmt: skip
            after, opened = _sample(server), await _sessions(shop) - opened
            n = result["checkouts"] + 1
            split = {
                name: (
                    round((after[name][0] - before[name][0]) * 1000 / n, 2),
                    round((after[name][1] - before[name][1]) * 1000 / n, 2),
                    *(round((after[name][i] - before[name][i]) / n, 1) for i in range(2, 6)),
                )
                for name in after
            }
            rows.append(
                {
                    "mode": mode,
                    "concurrency": conc,
                    "orders_per_s": result["orders_per_s"],
                    "calls": result["source_calls_per_checkout_under_load"],
                    "by_method": result["source_calls_by_method_under_load"],
                    "cpu_ms": round(sum(v[0] + v[1] for v in split.values()), 2),
                    "sys_ms": round(sum(v[1] for v in split.values()), 2),
                    "switches": round(sum(v[2] for v in split.values()), 1),
                    "preempted": round(sum(v[3] for v in split.values()), 1),
                    "split": split,
                    "connects": round(opened / n, 2),
                    "bad": len(result["lost"]) + len(result["duplicates"]),
                    "failed": sum(result["failed"].values()),
                    "load": round(os.getloadavg()[0], 1),
                }
            )
    finally:
        server.stop()
    return rows


async def _main(args: argparse.Namespace) -> int:
    shop = await prepare_shop(args.backend, args.products)
    remotes = [LAYOUTS[layout] for layout in args.layouts]
    modes = ["embedded", *remotes]
    ratios: dict[tuple[str, int], list[float]] = {
        (mode, c): [] for mode in remotes for c in args.concurrency
    }
    wakeups: dict[tuple[str, int], list[float]] = {
        (m, c): [] for m in modes for c in args.concurrency
    }
    try:
        for round_ in range(args.rounds):
            turns: dict[str, list[dict[str, Any]]] = {}
            shift = round_ % len(modes)  # each mode first in turn, round after round
            order = modes[shift:] + modes[:shift]
            try:
                for mode in order:
                    turns[mode] = await _turn(
                        shop,
                        mode,
                        args.concurrency,
                        args.duration,
                        args.pool_size,
                        args.warmup,
                        not args.no_browse,
                    )
            except Exception as exc:  # a shared database out of connections: the next round
                print(f"round {round_} failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            for i, emb in enumerate(turns["embedded"]):
                conc = emb["concurrency"]
                rows = [emb, *(turns[mode][i] for mode in remotes)]
                for row in rows:
                    wakeups[(row["mode"], conc)].append(row["switches"])
                    split = "  ".join(
                        f"{k} {v[0]:.1f}+{v[1]:.1f} ms/{v[2]:.1f}+{v[3]:.0f} sw/"
                        f"{v[4]:.0f}r{v[5]:.0f}w"
                        for k, v in row["split"].items()
                    )
                    print(
                        f"round {round_} {row['mode']:9} c={conc:<3} "
                        f"{row['orders_per_s']:6.1f}/s calls {row['calls']} cpu "
                        f"{row['cpu_ms']:5.1f} ms (sys {row['sys_ms']:.1f})  "
                        f"wake-ups {row['switches']:.1f} (+{row['preempted']:.0f} preempted)  "
                        f"[{split}]  db connects {row['connects']}  "
                        f"bad {row['bad']} failed {row['failed']} load {row['load']}",
                        flush=True,
                    )
                for rem in rows[1:]:
                    ratio = rem["cpu_ms"] / emb["cpu_ms"] if emb["cpu_ms"] else float("nan")
                    ratios[(rem["mode"], conc)].append(ratio)
                    methods = sorted(set(emb["by_method"]) | set(rem["by_method"]))
                    calls = "  ".join(
                        f"{m} {emb['by_method'].get(m, 0):.2f}/{rem['by_method'].get(m, 0):.2f}"
                        for m in methods
                    )
                    print(f"round {round_} c={conc} calls embedded/{rem['mode']}: {calls}")
                    print(f"round {round_} c={conc} {rem['mode']}/embedded {ratio:.2f}")
    finally:
        if shop.cleanup is not None:
            await shop.cleanup()
    for (mode, conc), values in ratios.items():
        if not values:
            continue
        print(
            f"c={conc}: {mode}/embedded median {statistics.median(values):.2f} "
            f"({', '.join(f'{v:.2f}' for v in values)})"
        )
    for (mode, conc), values in wakeups.items():
        if values:
            print(
                f"c={conc}: {mode} wake-ups per checkout median {statistics.median(values):.1f} "
                f"({', '.join(f'{v:.1f}' for v in values)})"
            )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.remote_ab")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--products", type=int, default=240)
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument(
        "--layouts",
        nargs="+",
        choices=sorted(LAYOUTS),
        default=["each"],
        help="the remote side's processes: each (a `gateway source serve` per source, rows "
        "'remote') and/or one (the four in one process, rows 'remote-1p'); every layout "
        "given takes its turn in each round, alternated with embedded",
    )
    parser.add_argument(
        "--no-browse",
        action="store_true",
        help="no cart of every SKU before a turn's warm-up (the caches as 2 s of checkouts "
        "leave them: fewer SKUs seen by the slower gateway)",
    )
    args = parser.parse_args(argv)
    result: int = run_on_uvloop(_main(args))
    return result


if __name__ == "__main__":
    sys.exit(main())
