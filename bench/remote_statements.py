"""Database round trips per remote source call: the gateway and its four source services in
one process (as bench.remote_cprofile runs them), each statement counted to the service
call that sent it.

``python -m bench.remote_statements --backend postgresql --checkouts 10 [--list]``

A remote checkout at one buyer pays mostly for waking processes (bench.remote_ab), and each
PostgreSQL round trip of a service wakes it once more; this counts them exactly, where
remote_ab's CPU moves with the machine's load. Per ``source.method``: the calls, the
statements the driver ran (SQLAlchemy's ``before_cursor_execute``, which the lean path and
the request keys' ``UPDATE ...; COMMIT`` fire too) and the transaction control the driver
sent (asyncpg's ``BEGIN``/``COMMIT``/``ROLLBACK``; sqlite3's commit or rollback of an open
transaction, its ``BEGIN IMMEDIATE`` being a statement), and round trips per call, their
sum. Caches on, and every SKU browsed first, as remote_ab's turns measure; ``--list``
prints one checkout's statements in order.
"""

from __future__ import annotations

import argparse
import os
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine

from gateway.auth import ViewerKind, issue_token
from gateway.remote_settings import RemoteSettings
from gateway.settings import Settings

from .checkout import prepare_shop
from .checkout_profile import browse_cart, one_checkout
from .profile import _run
from .remote_cprofile import SECRET, source_services

_END = "-- end of the first checkout"
_CALL: ContextVar[str] = ContextVar("remote_statements_call", default="gateway")

Direct = Callable[[list[tuple[bytes, bytes]], bytes], Awaitable[Any]]


def _named(path: bytes, direct: Direct, calls: Counter[str]) -> Direct:
    """``direct`` with the call's ``source.method`` as the context of what it sends."""
    name = path.decode().removeprefix("/v1/").replace("/", ".")

    async def call(headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        calls[name] += 1
        token = _CALL.set(name)
        try:
            return await direct(headers, body)
        finally:
            _CALL.reset(token)

    return call


def counted_services(
    urls: dict[str, str], calls: Counter[str]
) -> AbstractAsyncContextManager[dict[str, str]]:
    """The four services on loopback in this event loop, each call counted by name."""

    def count_calls(app: Any) -> None:
        for path, direct in list(app.direct.items()):
            app.direct[path] = _named(path, direct, calls)

    return source_services(urls, count_calls)


def _counting_control(control: dict[str, Counter[str]]) -> Callable[[], None]:
    """The drivers' transaction control counted into ``control`` by the current call;
    returns what undoes the patches."""
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
                    control[_CALL.get()][verb] += 1
                return original(self)

            setattr(owner, name, counted_sync)
            return

        async def counted(self: Any) -> Any:
            control[_CALL.get()][verb] += 1
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


def measure(backend: str, checkouts: int) -> dict[str, Any]:
    """Calls, statements by verb and transaction control by call name over ``checkouts``
    checkouts (after ten to warm), and the statements of the first one in order."""
    statements: dict[str, Counter[str]] = defaultdict(Counter)
    control: dict[str, Counter[str]] = defaultdict(Counter)
    calls: Counter[str] = Counter()
    listed: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        where = _CALL.get()
        statements[where][statement.split(None, 1)[0].upper()] += 1
        listed.append(f"{where}: {' '.join(statement.split())[:240]}")

    async def run_checkouts(client: httpx.AsyncClient, tokens: list[str], skus: list[int],
                        picks: list[list[int]]) -> None:  # fmt: skip
        for start in range(0, len(skus), 3):  # every SKU cached, as remote_ab's turns
            await browse_cart(client, tokens[0], skus[start : start + 3])
        for i in range(10):
            await one_checkout(client, tokens[i % len(tokens)], picks.pop())
        calls.clear()
        event.listen(Engine, "before_cursor_execute", count)
        restore = _counting_control(control)
        try:
            for i in range(checkouts):
                await one_checkout(client, tokens[i % len(tokens)], picks.pop())
                if i == 0:
                    listed.append(_END)
        finally:
            restore()
            event.remove(Engine, "before_cursor_execute", count)

    async def session() -> None:
        shop = await prepare_shop(backend, 60)
        tokens = [
            issue_token(Settings(), kind=ViewerKind.CUSTOMER, subject=str(c))
            for c in shop.customer_ids
        ]
        rng = random.Random(1)
        picks = [rng.sample(shop.sku_ids, 3) for _ in range(10 + checkouts)]
        try:
            async with counted_services(shop.urls, calls) as remote:
                app = _cached_gateway(shop.urls, remote)
                async with app.router.lifespan_context(app):
                    transport = httpx.ASGITransport(app=app)
                    async with httpx.AsyncClient(transport=transport, base_url="http://b") as c:
                        await run_checkouts(c, tokens, shop.sku_ids, picks)
        finally:
            if shop.cleanup is not None:
                await shop.cleanup()

    _run(session)
    first = listed[: listed.index(_END)] if _END in listed else listed
    return {"calls": calls, "statements": statements, "control": control, "listed": first}


def _cached_gateway(urls: dict[str, str], remote: dict[str, str]) -> Any:
    """bench.remote_cprofile's remote gateway with its shared cache on (remote_ab's)."""
    from gateway.app import create_app

    values: dict[str, Any] = {f"{n}_database_url": u for n, u in urls.items()}
    values["remote"] = RemoteSettings(
        **{f"{n}_url": u for n, u in remote.items()}, service_secret=SECRET
    )
    os.environ["CACHE_ENABLED"] = "true"
    return create_app(Settings(**values, log_level="WARNING", log_format="console"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.remote_statements")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--checkouts", type=int, default=10)
    parser.add_argument("--list", action="store_true", help="the first checkout's statements")
    args = parser.parse_args(argv)
    r = measure(args.backend, args.checkouts)
    n = args.checkouts
    total_trips = 0.0
    print(f"{args.backend}, per checkout ({n} checkouts):")
    names = sorted(set(r["calls"]) | set(r["statements"]) | set(r["control"]))
    for name in names:
        made = r["calls"].get(name, 0)
        verbs = r["statements"].get(name, Counter())
        control = r["control"].get(name, Counter())
        trips = sum(verbs.values()) + sum(control.values())
        if name != "gateway":
            total_trips += trips
        per_call = f"{trips / made:.2f} per call" if made else "-"
        print(
            f"  {name:38s} calls {made / n:4.2f}  round trips {trips / n:5.2f} ({per_call})  "
            f"statements {dict(verbs)}  control {dict(control)}"
        )
    by_source: Counter[str] = Counter()
    for name in names:
        if name == "gateway":
            continue
        source = name.split(".", 1)[0]
        by_source[source] += sum(r["statements"].get(name, Counter()).values())
        by_source[source] += sum(r["control"].get(name, Counter()).values())
    print(
        "  per source: "
        + ", ".join(f"{s} {v / n:.2f}" for s, v in sorted(by_source.items()))
        + f"; services in all {total_trips / n:.2f} round trips per checkout"
    )
    if args.list:
        print("\n".join(r["listed"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
