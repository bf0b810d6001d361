"""One served checkout (issue 15's flow two) in figures that do not move with the machine's
load: the gateway process's instructions, Python calls and source calls per checkout.

``python -m bench.checkout_instructions [--backend postgresql|sqlite] [--checkouts N]
[--rounds R] [--count | --callgrind | --cprofile [--request NAME]]``

A checkout is bench.checkout's flow two: ``cartCreate`` with 3 lines and the address, then
``checkoutComplete`` with the total the cart showed, a customer's token each. Requests go
straight to the ASGI app (no HTTP client or server protocol in the figures), one checkout at
a time, on a gateway set up as ``bench.checkout`` serves it (the environment of its
``GatewayProcess``: in-process shared cache on, the request log at WARNING, the served
collector settings of gateway/asgi.py) on uvloop, over a shop seeded by ``prepare_shop``.
Before every round the round's SKUs are browsed (a throwaway ``cartCreate`` of all of them,
outside the count), so a checkout finds its catalog, prices, promotions and display stock
cached, as a served checkout of SKUs its buyers keep ordering does (their display stock
as the checkouts before it left it: each reservation drops its SKUs' copies). The sweeper
is off, the catalog, prices, promotions and display stock outlive a round, and a write's
second delete of its cache keys follows the first at once (see ``main``).

- Without a mode: the main thread's CPU per checkout (``time.thread_time``), median of
  the rounds, and the source calls per checkout by method.
- ``--count``: Python calls per checkout by request (``sys.setprofile``; each resumption
  of a coroutine counts as a call), ``call_soon`` and tasks (the default event loop, since
  uvloop's methods cannot be counted).
- ``--cprofile``: the functions with the most own calls and own time (cProfile; time is
  cProfile's, so read the calls), for one request kind with ``--request``.
- ``--callgrind``: run it under ``valgrind --tool=callgrind --instr-atstart=no
  --separate-threads=yes``; instrumentation is switched on (``callgrind_control``) for the
  rounds only, so the main thread's instruction count (``totals:`` of the thread 1 file)
  divided by the checkouts counted is the figure (with the few spins of the loop that
  waits for the switch, the same in any tree). Under valgrind the sources' timeouts are
  the longest allowed (valgrind's pace is no outage).
- ``--callgrind --part MODULE:QUALNAME`` (with valgrind's ``--collect-atstart=no`` as
  well): the same, counting only while that function runs, what it calls included (for a
  coroutine function, each of its steps): how many of a checkout's instructions one
  function and its callees take, where ``--count`` says only how many Python calls.

Run it from the tree to measure, alternately with another tree for an A/B.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from . import asgi_direct
from .checkout import (
    ADDRESS,
    CART_CREATE,
    CART_CREATE_ADDRESSED,
    CHECKOUT,
    _sku_gid,
    payload_of,
    prepare_shop,
)
from .checkout_profile import source_call_counts
from .listing_instructions import _served_refresh, _switch_callgrind, _toggle_helper
from .servers import SCRUBBED_PREFIXES

Post = Callable[[str, dict[str, Any], str, str], Awaitable[dict[str, Any]]]


def _asgi_post(app: Any) -> Post:
    """POST /graphql straight to the ASGI app; the mutation's payload (or CheckoutFailed)."""

    async def post(query: str, variables: dict[str, Any], token: str, name: str) -> dict[str, Any]:
        body = orjson.dumps({"query": query, "variables": variables})
        headers = [
            (b"host", b"bench"),
            (b"accept-encoding", b"identity"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        call, reply = asgi_direct.request(app, "POST", "/graphql", headers, body)
        await call
        return payload_of(name, reply.status, orjson.loads(reply.body) if reply.chunks else None)

    return post


Probe = Callable[[str], Any]


async def _checkout(post: Post, token: str, skus: list[int], probe: Probe | None) -> None:
    """bench.checkout's flow two; ``probe(name)`` wraps each request when given."""
    lines = [{"skuId": _sku_gid(s), "quantity": 1} for s in skus]
    variables = {"input": {"lines": lines, "shippingAddress": ADDRESS}}
    if probe is not None:
        probe("cartCreate")
    cart = await post(CART_CREATE_ADDRESSED, variables, token, "cartCreate")
    total = cart["cart"]["cost"]["total"]["amount"]
    variables = {"cartId": cart["cart"]["id"], "key": uuid.uuid4().hex, "total": total}
    if probe is not None:
        probe("checkoutComplete")
    await post(CHECKOUT, variables, token, "checkoutComplete")
    if probe is not None:
        probe("")


def _count_only_inside(target: str) -> None:
    """Collect instructions only while ``target`` (``module:Qual.name``) runs: collection
    toggled at the outermost entry and exit of each of its calls (or coroutine steps)."""
    import functools
    import importlib
    import inspect
    import types

    toggle = _toggle_helper()
    module_name, qualname = target.split(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    fn = getattr(owner, name)
    depth = [0]

    def enter() -> None:
        depth[0] += 1
        if depth[0] == 1:
            toggle()

    def leave() -> None:
        depth[0] -= 1
        if depth[0] == 0:
            toggle()

    if inspect.iscoroutinefunction(fn):

        @types.coroutine
        def stepped(coro: Any) -> Any:
            value: Any = None
            error: BaseException | None = None
            while True:
                enter()
                try:
                    yielded = coro.send(value) if error is None else coro.throw(error)
                except StopIteration as stop:
                    return stop.value
                finally:
                    leave()
                try:
                    value, error = (yield yielded), None
                except BaseException as exc:
                    value, error = None, exc

        @functools.wraps(fn)
        async def counted_coroutine(*args: Any, **kwargs: Any) -> Any:
            return await stepped(fn(*args, **kwargs))

        wrapped: Any = counted_coroutine
    else:

        @functools.wraps(fn)
        def counted(*args: Any, **kwargs: Any) -> Any:
            enter()
            try:
                return fn(*args, **kwargs)
            finally:
                leave()

        wrapped = counted
    if isinstance(inspect.getattr_static(owner, name), staticmethod):
        wrapped = staticmethod(wrapped)
    setattr(owner, name, wrapped)


async def measure(
    backend: str, checkouts: int, rounds: int, mode: str | None, request: str
) -> None:
    import random

    from gateway.app import create_app
    from gateway.auth import ViewerKind, issue_token
    from gateway.settings import load_settings

    shop = await prepare_shop(backend, 240)
    try:
        for name, url in shop.urls.items():
            os.environ[f"{name.upper()}_DATABASE_URL"] = url
        settings = load_settings()
        app = create_app(settings)
        tokens = [
            issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(c))
            for c in shop.customer_ids[:8]
        ]
        rng = random.Random(1)
        skus = rng.sample(shop.sku_ids, 30)
        post = _asgi_post(app)
        done = 0

        def picks() -> list[list[int]]:
            return [rng.sample(skus, 3) for _ in range(checkouts)]

        async def browse(rounds_picks: list[list[int]]) -> None:
            every = sorted({s for p in rounds_picks for s in p})
            for start in range(0, len(every), 10):
                lines = [{"skuId": _sku_gid(s), "quantity": 1} for s in every[start : start + 10]]
                await post(CART_CREATE, {"input": {"lines": lines}}, tokens[0], "cartCreate")

        async def round_(chosen: list[list[int]], probe: Probe | None = None) -> None:
            nonlocal done
            for pick in chosen:
                await _checkout(post, tokens[done % len(tokens)], pick, probe)
                done += 1

        async with app.router.lifespan_context(app):
            for _ in range(2):  # warm: compiled SQL, plans, pools, every token verified once
                chosen = picks()
                await browse(chosen)
                await round_(chosen)
            gc.collect()
            gc.freeze()
            gc.set_threshold(10_000, 10, 10)
            calls = Counter[str]()
            if mode == "count":
                await _count(rounds, picks, browse, round_, checkouts)
            elif mode == "cprofile":
                await _cprofile(rounds, picks, browse, round_, checkouts, request)
            elif mode == "callgrind":
                for _ in range(rounds):
                    chosen = picks()
                    await browse(chosen)
                    before = source_call_counts(app)
                    _switch_callgrind("on")
                    await round_(chosen)
                    _switch_callgrind("off")
                    calls += source_call_counts(app) - before
                print(f"{backend}: {rounds * checkouts} checkouts instrumented")
            else:
                times = []
                for _ in range(rounds):
                    chosen = picks()
                    await browse(chosen)
                    before = source_call_counts(app)
                    started = time.thread_time()
                    await round_(chosen)
                    times.append((time.thread_time() - started) / checkouts * 1000)
                    calls += source_call_counts(app) - before
                shown = " ".join(f"{t:.2f}" for t in times)
                print(f"{backend}: {statistics.median(times):.2f} ms main-thread CPU per checkout "
                      f"({shown}), load {os.getloadavg()[0]:.1f}")  # fmt: skip
            if calls:
                total = rounds * checkouts
                per = ", ".join(f"{k} {v / total:g}" for k, v in sorted(calls.items()))
                print(f"source calls per checkout {sum(calls.values()) / total:g}: {per}")
    finally:
        if shop.cleanup is not None:
            await shop.cleanup()


async def _count(
    rounds: int,
    picks: Callable[[], list[list[int]]],
    browse: Callable[[list[list[int]]], Awaitable[None]],
    round_: Callable[..., Awaitable[None]],
    checkouts: int,
) -> None:
    loop = asyncio.get_running_loop()
    counts: Counter[str] = Counter()
    current = {"request": ""}
    call_soon, create_task = loop.call_soon, loop.create_task

    def counted_call_soon(*args: Any, **kwargs: Any) -> Any:
        counts[f"{current['request']} call_soon"] += 1
        return call_soon(*args, **kwargs)

    def counted_create_task(*args: Any, **kwargs: Any) -> Any:
        counts[f"{current['request']} tasks"] += 1
        return create_task(*args, **kwargs)

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            counts[f"{current['request']} calls"] += 1

    def probe(name: str) -> None:
        current["request"] = name

    for _ in range(rounds):
        chosen = picks()
        await browse(chosen)
        loop.call_soon = counted_call_soon  # type: ignore[method-assign]
        loop.create_task = counted_create_task  # type: ignore[method-assign]
        sys.setprofile(profile)
        try:
            await round_(chosen, probe)
        finally:
            sys.setprofile(None)
            loop.call_soon, loop.create_task = call_soon, create_task  # type: ignore[method-assign]
    total = rounds * checkouts
    for request in ("cartCreate", "checkoutComplete"):
        print(f"{request}: {counts[f'{request} calls'] / total:,.0f} Python calls, "
              f"{counts[f'{request} call_soon'] / total:.1f} call_soon, "
              f"{counts[f'{request} tasks'] / total:.1f} tasks")  # fmt: skip
    both = counts["cartCreate calls"] + counts["checkoutComplete calls"]
    print(f"checkout: {both / total:,.0f} Python calls (the bench's own frames in them)")


async def _cprofile(
    rounds: int,
    picks: Callable[[], list[list[int]]],
    browse: Callable[[list[list[int]]], Awaitable[None]],
    round_: Callable[..., Awaitable[None]],
    checkouts: int,
    request: str,
) -> None:
    profile = cProfile.Profile()

    def probe(name: str) -> None:
        if request:
            (profile.enable if name == request else profile.disable)()

    for _ in range(rounds):
        chosen = picks()
        await browse(chosen)
        if not request:
            profile.enable()
        await round_(chosen, probe)
        profile.disable()
    stats = pstats.Stats(profile)
    total = rounds * checkouts
    print(
        f"{stats.total_calls / total:,.0f} Python calls per checkout"  # type: ignore[attr-defined]
        f"{f' ({request} only)' if request else ''}"
    )
    rows = []
    for (path, line, fn), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((nc / total, tt / total * 1e6, ct / total * 1e6, f"{path}:{line}({fn})"))
    print("own calls per checkout, own µs, cumulative µs (cProfile's clock), function")
    for row in sorted(rows, reverse=True)[:40]:
        print(f"{row[0]:8.1f} {row[1]:8.1f} {row[2]:9.1f}  {row[3]}")
    print("-- by own time")
    for row in sorted(rows, key=lambda r: -r[1])[:40]:
        print(f"{row[0]:8.1f} {row[1]:8.1f} {row[2]:9.1f}  {row[3]}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout_instructions")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--checkouts", type=int, default=10, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    modes = parser.add_mutually_exclusive_group()
    for mode in ("count", "callgrind", "cprofile"):
        modes.add_argument(f"--{mode}", dest="mode", action="store_const", const=mode)
    parser.add_argument("--request", default="", help="--cprofile: this request kind only")
    parser.add_argument("--part", help="--callgrind: count only inside this module:function")
    args = parser.parse_args()
    if args.part is not None:
        if args.mode != "callgrind":
            parser.error("--part goes with --callgrind")
        _count_only_inside(args.part)
    for name in [n for n in os.environ if n.startswith(SCRUBBED_PREFIXES)]:
        del os.environ[name]
    os.environ.pop("REDIS_URL", None)
    os.environ["GATEWAY_LOG_LEVEL"] = "WARNING"
    # What a served checkout meets about once per interval, valgrind's pace (50-100 times
    # slower) would meet in nearly every round: the sweeper's passes, promotions and prices
    # expiring from the cache. Off and long here, so every mode counts the same checkout.
    os.environ["GATEWAY_SWEEP_INTERVAL_SECONDS"] = "0"
    for name in ("CATALOG", "PRICES", "PROMOTIONS"):
        os.environ[f"CACHE_TTL_{name}_SECONDS"] = "3600"
    os.environ["CACHE_TTL_STOCK_SECONDS"] = "300"  # the longest allowed; reservations drop it
    # A write's second delete of its keys (half a second later, served) lands at once: at
    # valgrind's pace it landed in whichever checkout ran then, and the display-stock reads
    # it causes moved from run to run (0.6-0.85 a checkout, about 0.4 M instructions each).
    import gateway.cache.shared as shared

    shared.SECOND_DELETE_AFTER = 0.0
    if args.mode == "callgrind":  # valgrind's pace is no outage
        os.environ["SOURCE_READ_TIMEOUT_SECONDS"] = "600"
        os.environ["SOURCE_WRITE_TIMEOUT_SECONDS"] = "600"
        _served_refresh()
    if args.mode != "count":
        import uvloop

        uvloop.install()
    asyncio.run(measure(args.backend, args.checkouts, args.rounds, args.mode, args.request))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
