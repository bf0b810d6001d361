"""CPU, source calls and SQL statements of one checkout, in-process, for comparing two
commits: ``cartCreate`` with 3 lines, ``cartShippingAddressSet``, ``checkoutComplete`` through
httpx's ASGITransport on a freshly seeded shop (no profiler, so the CPU is the real one).

``python -m bench.checkout_statements --backend postgresql --checkouts 10 --rounds 3``
prints the source calls and the statements the driver ran for one checkout (by verb:
SQLite's BEGINs are statements of their own; PostgreSQL's BEGIN/COMMIT are not counted
there), the transaction control around them (``BEGIN``, ``COMMIT``, ``ROLLBACK`` as the
driver sent them: asyncpg's Transaction, sqlite3's commit of an open transaction) and the
round trips to the database they add up to (statements plus transaction control; on
PostgreSQL each is one request and its answer over the socket, on SQLite one hand-off to
the connection's thread), then the process CPU per checkout of each round and their
median, and each request kind's share of it (``cartCreate``, ``checkoutComplete``, ...,
the in-process client's part included). To compare with an older commit on a shared
machine, run it alternately from that commit's tree (``git archive <commit> | tar -x -C
/tmp/old``, then ``cd /tmp/old`` and the same command with this worktree's
``.venv/bin/python``) and compare medians taken minutes apart.

``--cache cold`` runs the gateway with its shared cache (the in-process one) and counts a
checkout of SKUs no request has read yet; ``--cache warm`` one whose SKUs a throwaway
``cartCreate`` has just read (so cached: catalog, prices, promotions, display stock), as
on a shop whose buyers browse what they buy. The CPU rounds are warmed the same way,
outside the timing. Default ``off``: caches off, every request reads its sources.

``--pycalls``: after the rounds, one more round of ``--checkouts`` under cProfile, printed
as Python function calls per checkout (deterministic, unlike the CPU on a shared machine).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .checkout import prepare_shop
from .checkout_profile import FLOWS, browse_cart, in_process_app, one_checkout, source_call_counts
from .profile import _run


def _counting_transaction_control(control: Counter[str], listed: list[str]) -> Any:
    """Patches the drivers' transaction control to count it into ``control``; returns the
    function that undoes the patches."""
    import asyncpg.transaction
    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

    undo: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, verb: str, *, sqlite: bool = False) -> None:
        original = getattr(owner, name)
        undo.append((owner, name, original))
        if sqlite:

            def counted_sync(self: Any) -> Any:
                raw = getattr(self._connection, "_conn", None)
                if raw is not None and raw.in_transaction:
                    control[verb] += 1
                    listed.append(f"({verb})")
                return original(self)

            setattr(owner, name, counted_sync)
            return

        async def counted(self: Any) -> Any:
            control[verb] += 1
            listed.append(f"({verb})")
            return await original(self)

        setattr(owner, name, counted)

    patch(asyncpg.transaction.Transaction, "start", "BEGIN")
    patch(asyncpg.transaction.Transaction, "commit", "COMMIT")
    patch(asyncpg.transaction.Transaction, "rollback", "ROLLBACK")
    patch(AsyncAdapt_aiosqlite_connection, "commit", "COMMIT", sqlite=True)
    patch(AsyncAdapt_aiosqlite_connection, "rollback", "ROLLBACK", sqlite=True)

    def restore() -> None:
        for owner, name, original in undo:
            setattr(owner, name, original)

    return restore


async def _backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes serving ``url``'s database (this run's own)."""
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, database="postgres"
    )
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", parsed.database
        )
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


def _cpu_ms(pids: list[int]) -> float:
    """User + system CPU of these processes so far (a process gone since counts 0)."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def _cpu_probe(spent: dict[str, float]) -> Any:
    """A probe for ``one_checkout`` adding each request's process CPU to ``spent``."""

    @contextmanager
    def probe(name: str) -> Iterator[None]:
        begun = time.process_time()
        try:
            yield
        finally:
            spent[name] += time.process_time() - begun

    return probe


def measure(
    backend: str,
    checkouts: int,
    rounds: int,
    cache: str = "off",
    pycalls: bool = False,
    flow: str = "three",
) -> dict[str, Any]:
    statements: Counter[str] = Counter()
    control: Counter[str] = Counter()
    listed: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[statement.split(None, 1)[0].upper()] += 1
        listed.append(" ".join(statement.split())[:160])

    async def session() -> dict[str, Any]:
        shop = await prepare_shop(backend, 60)
        app, tokens, picks = in_process_app(
            shop, 11 + (rounds + pycalls) * checkouts, cache != "off"
        )
        cpu: list[float] = []
        # Each request kind's process CPU per round (the client's share of it included).
        by_request: dict[str, list[float]] = defaultdict(list)
        server_cpu: list[float] = []  # PostgreSQL's backends for this run's database
        py_calls: float | None = None
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    for i in range(10):  # warm: compiled SQL, parsed documents, pools
                        await one_checkout(client, tokens[i % len(tokens)], picks.pop(), flow)
                    if cache == "warm":
                        await browse_cart(client, tokens[1], picks[-1])
                    before = source_call_counts(app)
                    event.listen(Engine, "before_cursor_execute", count)
                    restore = _counting_transaction_control(control, listed)
                    try:
                        await one_checkout(client, tokens[0], picks.pop(), flow)
                    finally:
                        restore()
                        event.remove(Engine, "before_cursor_execute", count)
                    calls = source_call_counts(app) - before
                    postgres = backend == "postgresql"
                    for _ in range(rounds):
                        if cache == "warm":
                            for i in range(checkouts):
                                await browse_cart(client, tokens[1], picks[-1 - i])
                        pids = await _backend_pids(shop.urls["orders"]) if postgres else []
                        server_started = _cpu_ms(pids)
                        spent: dict[str, float] = defaultdict(float)
                        probe = _cpu_probe(spent)

                        started = time.process_time()
                        for i in range(checkouts):
                            await one_checkout(
                                client, tokens[i % len(tokens)], picks.pop(), flow, probe
                            )
                        cpu.append((time.process_time() - started) * 1000 / checkouts)
                        for name, seconds in spent.items():
                            by_request[name].append(seconds * 1000 / checkouts)
                        if postgres:  # the pools' connections, and any opened meanwhile
                            pids = sorted(set(pids) | set(await _backend_pids(shop.urls["orders"])))
                            server_cpu.append((_cpu_ms(pids) - server_started) / checkouts)
                    if pycalls:
                        if cache == "warm":
                            for i in range(checkouts):
                                await browse_cart(client, tokens[1], picks[-1 - i])
                        profile = cProfile.Profile()
                        profile.enable()
                        for i in range(checkouts):
                            await one_checkout(client, tokens[i % len(tokens)], picks.pop(), flow)
                        profile.disable()
                        py_calls = pstats.Stats(profile).total_calls / checkouts  # type: ignore[attr-defined]
        finally:
            if shop.cleanup is not None:
                await shop.cleanup()
        return {
            "calls": calls,
            "statements": dict(statements),
            "control": dict(control),
            "listed": listed,
            "cpu_ms": cpu,
            "by_request_ms": dict(by_request),
            "server_cpu_ms": server_cpu,
            "py_calls": py_calls,
        }

    result: dict[str, Any] = _run(session)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout_statements")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--flow", choices=FLOWS, default="three", help="bench.checkout's flows")
    parser.add_argument("--checkouts", type=int, default=10, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--list", action="store_true", help="print the counted checkout's statements, in order"
    )
    parser.add_argument(
        "--cache",
        choices=("off", "cold", "warm"),
        default="off",
        help="the shared cache off, on but not holding the SKUs, or holding them",
    )
    parser.add_argument(
        "--pycalls", action="store_true", help="also Python calls per checkout (cProfile)"
    )
    args = parser.parse_args(argv)
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        r = measure(backend, args.checkouts, args.rounds, args.cache, args.pycalls, args.flow)
        # SQLite's BEGINs are statements already; PostgreSQL's come from asyncpg's Transaction.
        trips = sum(r["statements"].values()) + sum(r["control"].values())
        print(f"## {backend} (cache {args.cache}): {sum(r['calls'].values())} source calls, "
              f"{sum(r['statements'].values())} statements {r['statements']}, "
              f"transaction control {r['control']}, {trips} round trips; "
              f"process CPU per checkout {statistics.median(r['cpu_ms']):.1f} ms (median; rounds "
              f"{', '.join(f'{x:.1f}' for x in r['cpu_ms'])}); "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        for name, ms in r["by_request_ms"].items():
            print(f"   {name}: {statistics.median(ms):.2f} ms of process CPU per request (median; "
                  f"rounds {', '.join(f'{x:.2f}' for x in ms)})")  # fmt: skip
        if r["server_cpu_ms"]:
            print(f"   PostgreSQL backends' CPU per checkout "
                  f"{statistics.median(r['server_cpu_ms']):.1f} ms (median; rounds "
                  f"{', '.join(f'{x:.1f}' for x in r['server_cpu_ms'])})")  # fmt: skip
        if r["py_calls"] is not None:
            print(f"  Python calls per checkout (cProfile): {r['py_calls']:,.0f}")
        if args.list:
            for call, n in sorted(r["calls"].items()):
                print(f"  call {call} x{n}")
            for statement in r["listed"]:
                print(f"  {statement}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
