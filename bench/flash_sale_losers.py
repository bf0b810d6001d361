"""What one losing attempt of a flash sale costs, in-process: its source calls and SQL
statements, and its CPU by component (cProfile with process time as its clock).

``python -m bench.flash_sale_losers --backend both --attempts 200 --rounds 3`` seeds a shop,
gives a crowd of buyers one cart each with a SKU that has no stock left, and sends every
buyer's ``checkoutComplete`` once through httpx's ASGITransport (the in-process client's
CPU is counted too, a few tenths of a millisecond). It prints the calls and statements of
the first loser (nothing marked yet: it claims its key, reads the cart's snapshot, is
refused and releases its key) and of the next one (the sold-out mark that refusal left is
live), then the process CPU per losing attempt in rounds, and with ``--profile`` where it
goes. Run it alternately from two commits' trees to compare them (see
bench/checkout_statements.py).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from sources.common.db import Database

from .checkout import ADDRESS, _sku_gid, prepare_shop
from .checkout_cprofile import component
from .checkout_profile import in_process_app, source_call_counts
from .flash_sale import CART_CREATE, CHECKOUT
from .profile import _run


async def _sold_out(urls: dict[str, str], sku_id: int) -> None:
    db = Database(urls["inventory"], pool_size=1)
    try:
        async with db.begin() as conn:
            await conn.execute(
                text("UPDATE stock_items SET on_hand = reserved WHERE sku_id = :s"), {"s": sku_id}
            )
    finally:
        await db.dispose()


async def _post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{response.status_code} {body}")
    return body["data"]


def measure(backend: str, attempts: int, rounds: int, profile: bool) -> dict[str, Any]:
    statements: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[statement.split(None, 1)[0].upper()] += 1

    async def session() -> dict[str, Any]:
        buyers = 2 + attempts * (rounds + (1 if profile else 0))
        shop = await prepare_shop(backend, 60, crowd=buyers + 60)
        sku_id = shop.sku_ids[0]
        app, _tokens, _picks = in_process_app(shop, 0)
        from gateway.auth import ViewerKind, issue_token
        from gateway.settings import Settings

        settings = Settings()
        crowd = [c for c in shop.customer_ids if c > 50][:buyers]
        tokens = [issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(c)) for c in crowd]
        cart_input = {
            "lines": [{"skuId": _sku_gid(sku_id), "quantity": 1}],
            "shippingAddress": ADDRESS,
        }
        result: dict[str, Any] = {"cpu_ms": []}
        try:
            await _sold_out(shop.urls, sku_id)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    carts = [
                        (
                            t,
                            (await _post(client, CART_CREATE, {"input": cart_input}, t))[
                                "cartCreate"
                            ]["cart"],
                        )
                        for t in tokens
                    ]

                    async def lose(token: str, cart: dict[str, Any]) -> None:
                        variables = {
                            "cartId": cart["id"],
                            "key": uuid.uuid4().hex,
                            "total": cart["cost"]["total"]["amount"],
                        }
                        answer = (await _post(client, CHECKOUT, variables, token))[
                            "checkoutComplete"
                        ]
                        codes = [e["code"] for e in answer["userErrors"]]
                        if answer["order"] is not None or codes != ["INSUFFICIENT_STOCK"]:
                            raise RuntimeError(f"not a loser: {answer}")

                    for label in ("first loser (no mark yet)", "next loser (marked)"):
                        before = source_call_counts(app)
                        statements.clear()
                        event.listen(Engine, "before_cursor_execute", count)
                        try:
                            await lose(*carts.pop(0))
                        finally:
                            event.remove(Engine, "before_cursor_execute", count)
                        calls = source_call_counts(app) - before
                        result[label] = {"calls": dict(calls), "statements": dict(statements)}
                    for _ in range(rounds):
                        started = time.process_time()
                        for _ in range(attempts):
                            await lose(*carts.pop(0))
                        result["cpu_ms"].append((time.process_time() - started) * 1000 / attempts)
                    if profile:
                        profiler = cProfile.Profile(time.process_time)
                        profiler.enable()
                        for _ in range(attempts):
                            await lose(*carts.pop(0))
                        profiler.disable()
                        result["profile"] = pstats.Stats(profiler)
        finally:
            if shop.cleanup is not None:
                await shop.cleanup()
        return result

    measured: dict[str, Any] = _run(session)
    return measured


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flash_sale_losers")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--attempts", type=int, default=200, help="losing attempts per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="one more round under cProfile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        r = measure(backend, args.attempts, args.rounds, args.profile)
        cpu = r["cpu_ms"]
        print(
            f"## {backend}: process CPU per losing attempt {statistics.median(cpu):.2f} ms "
            f"(median; rounds {', '.join(f'{c:.2f}' for c in cpu)}); "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        for label in ("first loser (no mark yet)", "next loser (marked)"):
            seen = r[label]
            print(
                f"  {label}: {sum(seen['calls'].values())} source calls {seen['calls']}, "
                f"{sum(seen['statements'].values())} statements {seen['statements']}"
            )
        if args.profile:
            stats = r["profile"]
            raw: dict[Any, Any] = stats.stats
            total = sum(entry[2] for entry in raw.values())
            groups: dict[str, float] = defaultdict(float)
            for (filename, _line, _name), entry in raw.items():
                groups[component(filename)] += entry[2]
            print(f"  under cProfile: {total * 1000 / args.attempts:.2f} ms per losing attempt")
            for name, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
                if seconds / total >= 0.005:
                    print(
                        f"    {name:40s} {seconds * 1000 / args.attempts:6.3f} ms "
                        f"{100 * seconds / total:5.1f} %"
                    )
            stats.sort_stats("cumtime").print_stats(r"/gateway/|/sources/", args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
