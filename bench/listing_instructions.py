"""The signed-in listing, caches off, one side at a time: figures that do not move with the
machine's load, and where the main thread's CPU goes.

``python -m bench.listing_instructions SIDE [--rounds N] [--count | --split | --callgrind
[--part PART]]``
with SIDE one of ``gateway`` (the listing, a customer's token), ``floor``
(bench/handwritten.py's ``/listing``), ``typename`` (a signed-in ``{ __typename }``: the
gateway's fixed cost of a request) or ``healthz`` (the floor's ``/healthz``).

Requests go straight to the ASGI app (no HTTP client in the figures), 64 a round, 16 at a
time, with the bench's settings for the ``gateway`` variant (bench/servers.py) and the
served collector settings (gateway/asgi.py), on uvloop as served. Without a mode: the
main thread's CPU per request (``time.thread_time``), median of the rounds.

- ``--count``: Python calls (``sys.setprofile``), ``call_soon`` and tasks per request
  (the default event loop, since uvloop's methods cannot be counted).
- ``--split``: the main thread's CPU per request inside the stores' methods (every
  source: the same code on both sides) and, for the gateway, in its parts (executor,
  loaders, batch forms, outage check, guard, ...) each without what it calls of the
  others; timing every step costs a little, so the parts read high.
- ``--callgrind``: run under ``valgrind --tool=callgrind --instr-atstart=no
  --separate-threads=yes``; instrumentation is switched on (``callgrind_control``) for
  ``--rounds`` rounds only, so the main thread's instruction count (``totals:`` of the
  thread 1 file) over 64 x rounds requests is the figure: it repeats within about 1 %
  from run to run, where CPU time on a shared machine moves 25 %.
  A read that outlives the sources' timeout takes the outage path and changes the work
  (valgrind runs some fifty times slower, more with other runs beside it): under
  ``--callgrind`` the read timeout is the longest allowed. So is the stale copies'
  window (one second served): at valgrind's pace every listing wrote its copies again,
  some 1.3 M instructions a listing that a served listing pays about once a second
  (figures before 2026-12-06 05:50 UTC include them; ``--part "stale copies"``).
- ``--callgrind --part PART`` (with valgrind's ``--collect-atstart=no`` as well): the
  same, counting only while PART's own code runs (one of
  ``--split``'s parts: ``executor``, ``loaders``, ``batch forms``, ..., ``sources``, ``app
  (the rest)``, or ``other``: the loop, the collector, callbacks); collection is toggled
  at each part's entry and exit by a valgrind client request (a helper compiled with
  ``cc`` against valgrind's ``callgrind.h`` on first use). Run it once per part: the
  split in instructions, where ``--split``'s times move with the load. The toggling
  costs a little in the parts with many entries (the loaders' loop turns): the parts add
  up to about a tenth more than ``--callgrind``'s total.

Run it from the tree to measure (``PYTHONPATH=.`` and a ``data`` link to share the shop):
two trees alternated are an A/B.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import gc
import inspect
import os
import shutil
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import orjson

from . import asgi_direct, handwritten, servers
from .listing_floor_cpu import _settings
from .queries import LISTING
from .shop import prepare

REQUESTS = 64
CONCURRENCY = 16

PARTS: collections.Counter[str] = collections.Counter()
_NESTED: list[float] = []
# --part: the parts entered and not left (the innermost last), the part counted, whether
# callgrind collects now, and the helper that toggles it.
_STACK: list[str] = []
_COUNTED: dict[str, Any] = {"part": None, "enabled": False, "on": False, "toggle": None}

_TOGGLE_SOURCE = """#include <valgrind/callgrind.h>
void toggle_collect(void) { CALLGRIND_TOGGLE_COLLECT; }
"""


def _enter(part: str) -> float:
    _NESTED.append(0.0)
    if _COUNTED["part"] is not None:
        _STACK.append(part)
        _collect()
    return time.thread_time()


def _leave(part: str, started: float) -> None:
    spent = time.thread_time() - started
    PARTS[part] += spent - _NESTED.pop()
    if _NESTED:
        _NESTED[-1] += spent
    if _COUNTED["part"] is not None:
        _STACK.pop()
        _collect()


def _collect() -> None:
    """Callgrind collects while the innermost part entered is the one counted."""
    wanted = _COUNTED["enabled"] and (_STACK[-1] if _STACK else "other") == _COUNTED["part"]
    if wanted != _COUNTED["on"]:
        _COUNTED["toggle"]()
        _COUNTED["on"] = wanted


def _toggle_helper() -> Callable[[], None]:
    """``CALLGRIND_TOGGLE_COLLECT`` callable from Python: a client request is a few
    instructions valgrind recognises in the code it runs, so a C function made of one."""
    import ctypes
    import tempfile

    folder = tempfile.mkdtemp(prefix="listing-instructions-")
    source, library = os.path.join(folder, "toggle.c"), os.path.join(folder, "toggle.so")
    with open(source, "w") as out:
        out.write(_TOGGLE_SOURCE)
    try:
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", library, source], check=True)
        toggle: Callable[[], None] = ctypes.CDLL(library).toggle_collect
    finally:
        shutil.rmtree(folder)  # a loaded library stays mapped
    return toggle


@types.coroutine
def _stepped(coro: Any, part: str) -> Generator[Any, Any, Any]:
    value: Any = None
    error: BaseException | None = None
    while True:
        started = _enter(part)
        try:
            yielded = coro.send(value) if error is None else coro.throw(error)
        except StopIteration as stop:
            _leave(part, started)
            return stop.value
        except BaseException:
            _leave(part, started)
            raise
        _leave(part, started)
        try:
            value, error = (yield yielded), None
        except BaseException as exc:
            value, error = None, exc


def _timed(fn: Callable[..., Any], part: str) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
            return await _stepped(fn(*args, **kwargs), part)

        return timed_coroutine

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = _enter(part)
        try:
            result = fn(*args, **kwargs)
        finally:
            _leave(part, started)
        if inspect.iscoroutine(result):

            async def rest(result: Any = result) -> Any:
                return await _stepped(result, part)

            return rest()
        return result

    return timed


def _instrument() -> None:
    """Every store method (both sides) and the gateway's parts, timed step by step."""
    import gateway.app as app_module
    import gateway.execution.batch as batch_module
    import gateway.execution.catalog_batches as catalog_batches
    import gateway.execution.executor as executor_module
    import gateway.loaders.base as loaders_module
    import gateway.resilience.guard as guard_module
    import gateway.resilience.listing as listing_module
    import gateway.resilience.stale as stale_module
    import gateway.resolvers.catalog as catalog_resolvers
    from sources.catalog.store import CatalogStore
    from sources.inventory.store import InventoryStore
    from sources.orders.store import OrdersStore
    from sources.pricing.store import PricingStore

    for store in (CatalogStore, InventoryStore, OrdersStore, PricingStore):
        for name, method in inspect.getmembers(store, inspect.iscoroutinefunction):
            if not name.startswith("_"):
                setattr(store, name, _timed(method, "sources"))
    guard = guard_module.SourceGuard
    for name in ("call", "_attempt"):  # a closed breaker's call goes to ``_attempt`` directly
        setattr(guard, name, _timed(getattr(guard, name), "guard"))
    stale = stale_module.StaleCopies
    stale.remember = _timed(stale.remember, "stale copies")  # type: ignore[method-assign]
    for name in ("_run", "_outcomes", "_call", "_after", "prime_many"):
        setattr(
            loaders_module.Loader, name, _timed(getattr(loaders_module.Loader, name), "loaders")
        )
    executor = executor_module.BreadthFirstExecutor
    for name in ("_run", "_level", "_complete_field", "_resolve", "_recovering"):
        setattr(executor, name, _timed(getattr(executor, name), "executor"))
    executor_module._checked = _timed(executor_module._checked, "executor")  # type: ignore[assignment]
    listing_module._failures = _timed(listing_module._failures, "outage check")  # type: ignore[assignment]
    listing_module._promotions = _timed(listing_module._promotions, "outage check")  # type: ignore[assignment]
    for key, fn in list(batch_module._REGISTRY.items()):
        batch_module._REGISTRY[key] = _timed(fn, "batch forms")
    view = app_module.GatewayGraphQL
    view.encode_json = _timed(view.encode_json, "encode")  # type: ignore[method-assign]
    view.__call__ = _timed(view.__call__, "strawberry, extension")  # type: ignore[method-assign]
    page = _timed(catalog_resolvers.product_page, "product_page")
    catalog_resolvers.product_page = page  # type: ignore[assignment]
    catalog_batches.product_page = page  # type: ignore[assignment]


def _request(side: str, settings: Any) -> tuple[Any, str, str, bytes, list[tuple[bytes, bytes]]]:
    from gateway.app import create_app
    from gateway.auth import ViewerKind, issue_token

    plain = [(b"host", b"bench"), (b"accept-encoding", b"identity")]
    if side in ("floor", "healthz"):
        path = "/listing" if side == "floor" else "/healthz"
        return handwritten.create_app(settings), "GET", path, b"", plain
    query = LISTING if side == "gateway" else "query T { __typename }"
    body = orjson.dumps({"query": query})
    token = issue_token(settings, kind=ViewerKind.CUSTOMER, subject="1")
    headers = [
        *plain,
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return create_app(settings), "POST", "/graphql", body, headers


def _switch_callgrind(state: str) -> None:
    """Instrumentation on or off, waiting until it has taken (a spin loop's speed says:
    ``callgrind_control`` is heard at valgrind's next check, not at once)."""

    def spin() -> float:
        started = time.perf_counter()
        total = 0
        for i in range(2000):
            total += i
        return time.perf_counter() - started

    before = min(spin() for _ in range(20))
    command = ["callgrind_control", "-i", state, str(os.getpid())]
    subprocess.run(command, check=True, capture_output=True)
    for _ in range(100_000):
        now = spin()
        if (state == "on" and now > before * 8) or (state == "off" and now * 8 < before):
            return
    raise RuntimeError(f"callgrind instrumentation did not switch {state}")


async def measure(side: str, rounds: int, mode: str | None) -> None:
    shop = await prepare("sqlite", 1000)
    settings = _settings(shop.urls, {})
    app, method, path, body, headers = _request(side, settings)

    async def one() -> None:
        call, reply = asgi_direct.request(app, method, path, headers, body)
        parts = mode == "split" or _COUNTED["part"] is not None
        await (_stepped(call, "app (the rest)") if parts else call)
        if reply.status != 200:
            raise RuntimeError(f"{side}: status {reply.status}")

    async def round_() -> float:
        async def worker(n: int) -> None:
            for _ in range(n):
                await one()

        started = time.thread_time()
        await asyncio.gather(*(worker(REQUESTS // CONCURRENCY) for _ in range(CONCURRENCY)))
        return (time.thread_time() - started) / REQUESTS * 1000

    async with app.router.lifespan_context(app):
        await one()
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)
        await round_()
        await round_()
        if mode == "count":
            await _count(side, round_)
            return
        if mode == "callgrind":
            _switch_callgrind("on")
            _COUNTED["enabled"] = True
            _collect()
            for _ in range(rounds):
                await round_()
            _COUNTED["enabled"] = False
            _collect()
            _switch_callgrind("off")
            counted = "" if _COUNTED["part"] is None else f" ({_COUNTED['part']} only)"
            print(f"{side}: {rounds * REQUESTS} requests instrumented{counted}")
            return
        PARTS.clear()
        times = [await round_() for _ in range(rounds)]
        load = os.getloadavg()[0]
        shown = " ".join(f"{t:.1f}" for t in times)
        print(f"{side}: {statistics.median(times):.2f} ms CPU/request ({shown}), load {load:.1f}")
        if mode == "split":
            total = statistics.mean(times)
            for part, seconds in PARTS.most_common():
                print(f"  {part:<24} {seconds / rounds / REQUESTS * 1000:6.3f} ms")
            rest = total - sum(PARTS.values()) / rounds / REQUESTS * 1000
            print(f"  {'loop, collector, other':<24} {rest:6.3f} ms (mean total {total:.2f})")


async def _count(side: str, round_: Callable[[], Awaitable[float]]) -> None:
    loop = asyncio.get_running_loop()
    counts = {"call_soon": 0, "tasks": 0, "calls": 0}
    call_soon, create_task = loop.call_soon, loop.create_task

    def counted_call_soon(*args: Any, **kwargs: Any) -> Any:
        counts["call_soon"] += 1
        return call_soon(*args, **kwargs)

    def counted_create_task(*args: Any, **kwargs: Any) -> Any:
        counts["tasks"] += 1
        return create_task(*args, **kwargs)

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            counts["calls"] += 1

    loop.call_soon = counted_call_soon  # type: ignore[method-assign]
    loop.create_task = counted_create_task  # type: ignore[method-assign]
    sys.setprofile(profile)
    try:
        await round_()
    finally:
        sys.setprofile(None)
        loop.call_soon, loop.create_task = call_soon, create_task  # type: ignore[method-assign]
    per = {name: n / REQUESTS for name, n in counts.items()}
    print(
        f"{side}: per request {per['calls']:.0f} Python calls, {per['call_soon']:.1f}"
        f" call_soon, {per['tasks']:.1f} tasks"
    )


def _served_refresh() -> None:
    """The stale copies' window as a served listing sees it: some hundred listings a
    second at c=16 rewrite their copies about once in a hundred, where valgrind's pace
    (under a listing a second) had every listing rewrite them, 1.3 M instructions each
    that a served listing does not pay. Ten minutes: none rewritten during the round."""
    from gateway.resilience.stale import StaleCopies

    defaults = StaleCopies.__init__.__kwdefaults__
    assert defaults is not None and "refresh" in defaults
    defaults["refresh"] = 600.0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.listing_instructions")
    parser.add_argument("side", choices=("gateway", "floor", "typename", "healthz"))
    parser.add_argument("--rounds", type=int, default=6)
    modes = parser.add_mutually_exclusive_group()
    for mode in ("count", "split", "callgrind"):
        modes.add_argument(f"--{mode}", dest="mode", action="store_const", const=mode)
    parser.add_argument(
        "--part", help="with --callgrind: count only this part's own code (see the module)"
    )
    args = parser.parse_args()
    if args.part is not None and args.mode != "callgrind":
        parser.error("--part goes with --callgrind")
    for name in [n for n in os.environ if n.startswith(servers.SCRUBBED_PREFIXES)]:
        del os.environ[name]
    os.environ.update(servers.VARIANT_ENV["gateway"])
    os.environ.update(servers._LANGUAGE)
    os.environ.update(servers._LIMITS)
    if args.mode == "callgrind":
        os.environ["SOURCE_READ_TIMEOUT_SECONDS"] = "600"  # valgrind's pace is no outage
        _served_refresh()
    if args.part is not None:
        _COUNTED["part"] = args.part
        _COUNTED["toggle"] = _toggle_helper()
    if args.mode == "split" or args.part is not None:
        _instrument()
    if args.mode != "count":
        import uvloop

        uvloop.install()
    asyncio.run(measure(args.side, args.rounds, args.mode))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
