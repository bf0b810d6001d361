"""Where PostgreSQL's own CPU per checkout goes, statement by statement: ``pg_stat_statements``
over N in-process checkouts (``cartCreate`` with 3 lines, ``cartShippingAddressSet``,
``checkoutComplete``, or with ``--flow two`` issue 15's ``cartCreate`` with the lines and the
address, then ``checkoutComplete``; caches off, as ``bench.checkout_statements``), per
checkout: each statement's calls, plans and planning time, executor time, WAL records, and
the backends' CPU (/proc) beside them; then the write transactions (transaction ids given
out: one checkout at a time, each such commit is a WAL flush of its own). ``--full``
prints each statement's whole text.

``pg_stat_statements`` must be loaded by the server (``shared_preload_libraries``), which
the shared development server does not do; a private cluster takes a minute (as the
``postgres`` user, any free port)::

    initdb -D /tmp/pgss/data -U postgres --auth=trust
    cat >> /tmp/pgss/data/postgresql.conf <<EOF
    port = 55432
    unix_socket_directories = '/tmp/pgss'
    shared_preload_libraries = 'pg_stat_statements'
    pg_stat_statements.track = all
    pg_stat_statements.track_planning = on
    EOF
    pg_ctl -D /tmp/pgss/data -l /tmp/pgss/log start
    psql -h 127.0.0.1 -p 55432 -U postgres -c 'CREATE EXTENSION pg_stat_statements'

    python -m bench.checkout_pgss --port 55432 --checkouts 50

The counters are reset after 15 warm-up checkouts, so each connection has prepared its
statements and (after five custom plans) settled on generic ones: this is the steady state,
not a pool's first minutes. Executor time is wall time inside the executor, foreign-key
checks included (their own rows, ``SELECT 1 FROM ONLY ... FOR KEY SHARE``); a checkout run
alone waits on no lock, so it is CPU. What the backends spend beyond planning and
execution is the protocol (a round trip per statement), transaction control and commits
(a WAL flush per write transaction).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx

from . import checkout as checkout_bench
from . import shop as shop_bench
from .checkout_profile import FLOWS, in_process_app, one_checkout
from .checkout_statements import _backend_pids, _cpu_ms

WARM = 15

_STATEMENTS = """
SELECT toplevel, calls, plans, total_plan_time, total_exec_time, wal_records,
    left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)
ORDER BY total_plan_time + total_exec_time DESC
"""
_FULL = _STATEMENTS.replace("left(regexp_replace(query, '\\s+', ' ', 'g'), 110)", "query")


async def _admin(port: int, *statements: str, database: str | None = None) -> list[Any]:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(
        host=shop_bench.PG_HOST, port=port, user=shop_bench.PG_USER, database="postgres"
    )
    try:
        rows: list[Any] = []
        for statement in statements:
            rows = await (conn.fetch(statement, database) if database else conn.fetch(statement))
        return rows
    finally:
        await conn.close()


async def _next_xid(port: int) -> int:
    """The next transaction id, read without taking one: the write transactions since a
    reading are the difference (PostgreSQL gives an id to a transaction when it first
    writes; the shop is the cluster's only writer)."""
    (row,) = await _admin(port, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x")
    return int(row["x"])


async def measure(port: int, checkouts: int, flow: str = "three", full: bool = False) -> None:
    # The bench's shop helpers read the port from their modules: point them at this one.
    shop_bench.PG_PORT = checkout_bench.PG_PORT = port  # type: ignore[misc]
    shop = await checkout_bench.prepare_shop("postgresql", 60)
    database = shop.urls["orders"].rsplit("/", 1)[1]
    app, tokens, picks = in_process_app(shop, WARM + checkouts + 5, False)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                for i in range(WARM):
                    await one_checkout(client, tokens[i % len(tokens)], picks.pop(), flow)
                await _admin(port, "SELECT pg_stat_statements_reset()")
                xid = await _next_xid(port)
                pids = await _backend_pids(shop.urls["orders"])
                cpu, started = _cpu_ms(pids), time.process_time()
                for i in range(checkouts):
                    await one_checkout(client, tokens[i % len(tokens)], picks.pop(), flow)
                client_ms = (time.process_time() - started) * 1000 / checkouts
                pids = sorted(set(pids) | set(await _backend_pids(shop.urls["orders"])))
                server_ms = (_cpu_ms(pids) - cpu) / checkouts
                writes = await _next_xid(port) - xid
        rows = await _admin(port, _STATEMENTS if not full else _FULL, database=database)
    finally:
        if shop.cleanup is not None:
            await shop.cleanup()
    plan = sum(r["total_plan_time"] for r in rows) * 1000 / checkouts
    execute = sum(r["total_exec_time"] for r in rows) * 1000 / checkouts
    print(
        f"{checkouts} checkouts: PostgreSQL backends {server_ms:.2f} ms CPU per checkout "
        f"(of it planning {plan:.0f} us, executor {execute:.0f} us; the rest is protocol, "
        f"transaction control and commits); statements per checkout "
        f"{sum(r['calls'] for r in rows) / checkouts:.1f} (sent by the client "
        f"{sum(r['calls'] for r in rows if r['toplevel']) / checkouts:.1f}, the rest run "
        f"inside them: foreign-key checks); client {client_ms:.1f} ms"
    )
    print("calls | plans | plan us | exec us | WAL records  (per checkout) | statement")
    for r in rows:
        print(
            f"{r['calls'] / checkouts:5.2f} | {r['plans'] / checkouts:5.2f} | "
            f"{r['total_plan_time'] * 1000 / checkouts:7.0f} | "
            f"{r['total_exec_time'] * 1000 / checkouts:7.0f} | "
            f"{r['wal_records'] / checkouts:5.1f} | {r['query']}"
        )
    print(
        f"write transactions per checkout {writes / checkouts:.2f} (each one WAL flush at "
        f"its commit, unless committed asynchronously)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout_pgss")
    parser.add_argument("--port", type=int, required=True, help="a server with pg_stat_statements")
    parser.add_argument("--checkouts", type=int, default=50)
    parser.add_argument("--flow", choices=FLOWS, default="three", help="bench.checkout's flows")
    parser.add_argument("--full", action="store_true", help="each statement's whole text")
    args = parser.parse_args(argv)
    asyncio.run(measure(args.port, args.checkouts, args.flow, args.full))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
