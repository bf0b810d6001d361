"""Where PostgreSQL's own CPU per checkout goes, statement by statement: ``pg_stat_statements``
over N in-process checkouts (``cartCreate`` with 3 lines, ``cartShippingAddressSet``,
``checkoutComplete``; caches off, as ``bench.checkout_statements``), per checkout: each
statement's calls, plans and planning time, executor time, WAL records, and the backends'
CPU (/proc) beside them.

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
from .checkout_profile import in_process_app, one_checkout
from .checkout_statements import _backend_pids, _cpu_ms

WARM = 15

_STATEMENTS = """
SELECT calls, plans, total_plan_time, total_exec_time, wal_records,
    left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)
ORDER BY total_plan_time + total_exec_time DESC
"""


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


async def measure(port: int, checkouts: int) -> None:
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
                    await one_checkout(client, tokens[i % len(tokens)], picks.pop())
                await _admin(port, "SELECT pg_stat_statements_reset()")
                pids = await _backend_pids(shop.urls["orders"])
                cpu, started = _cpu_ms(pids), time.process_time()
                for i in range(checkouts):
                    await one_checkout(client, tokens[i % len(tokens)], picks.pop())
                client_ms = (time.process_time() - started) * 1000 / checkouts
                pids = sorted(set(pids) | set(await _backend_pids(shop.urls["orders"])))
                server_ms = (_cpu_ms(pids) - cpu) / checkouts
        rows = await _admin(port, _STATEMENTS, database=database)
    finally:
        if shop.cleanup is not None:
            await shop.cleanup()
    plan = sum(r["total_plan_time"] for r in rows) * 1000 / checkouts
    execute = sum(r["total_exec_time"] for r in rows) * 1000 / checkouts
    print(
        f"{checkouts} checkouts: PostgreSQL backends {server_ms:.2f} ms CPU per checkout "
        f"(of it planning {plan:.0f} us, executor {execute:.0f} us; the rest is protocol, "
        f"transaction control and commits); statements per checkout "
        f"{sum(r['calls'] for r in rows) / checkouts:.1f}; client {client_ms:.1f} ms"
    )
    print("calls | plans | plan us | exec us | WAL records  (per checkout) | statement")
    for r in rows:
        print(
            f"{r['calls'] / checkouts:5.2f} | {r['plans'] / checkouts:5.2f} | "
            f"{r['total_plan_time'] * 1000 / checkouts:7.0f} | "
            f"{r['total_exec_time'] * 1000 / checkouts:7.0f} | "
            f"{r['wal_records'] / checkouts:5.1f} | {r['query']}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout_pgss")
    parser.add_argument("--port", type=int, required=True, help="a server with pg_stat_statements")
    parser.add_argument("--checkouts", type=int, default=50)
    args = parser.parse_args(argv)
    asyncio.run(measure(args.port, args.checkouts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
