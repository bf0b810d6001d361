"""Where one checkout's CPU goes: cartCreate + cartShippingAddressSet + checkoutComplete
in-process (httpx ASGITransport, no sockets) under pyinstrument, on a freshly seeded shop.

``python -m bench.checkout_profile --backend sqlite|postgresql --checkouts 40`` prints the
process CPU per checkout without the profiler (``time.process_time``: the in-process client
is included, a few ms), the source calls of one checkout by method, the sampled self time by
component and the heaviest call paths; the HTML profile goes to bench/results/.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import httpx
from pyinstrument import Profiler
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.auth import ViewerKind, issue_token
from gateway.settings import Settings

from .checkout import (
    ADDRESS,
    ADDRESS_SET,
    CART_CREATE,
    CART_CREATE_ADDRESSED,
    CHECKOUT,
    _sku_gid,
    payload_of,
    prepare_shop,
)
from .profile import _head, _run, components
from .shop import ROOT

Probe = Callable[[str], AbstractContextManager[Any]]
"""Wraps each request of a checkout by its mutation's name (a profiler per request kind)."""


async def _graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    token: str,
    name: str,
    probe: Probe | None = None,
) -> dict[str, Any]:
    """In-process (httpx's ASGITransport): the bench's socket client has no ASGI transport."""
    with probe(name) if probe is not None else nullcontext():
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = response.json() if response.status_code == 200 else response.text
    return payload_of(name, response.status_code, body)


async def browse_cart(client: httpx.AsyncClient, token: str, skus: Sequence[int]) -> None:
    """A throwaway ``cartCreate`` of these SKUs: with a shared cache, it leaves their
    catalog, prices, promotions and display stock cached (a warm checkout of them next)."""
    lines = [{"skuId": _sku_gid(s), "quantity": 1} for s in skus]
    await _graphql(client, CART_CREATE, {"input": {"lines": lines}}, token, "cartCreate")


FLOWS = ("three", "two")
"""``three``: cartCreate, cartShippingAddressSet, checkoutComplete; ``two`` (issue 15's
figures): cartCreate with the lines and the address, then checkoutComplete."""


async def one_checkout(
    client: httpx.AsyncClient,
    token: str,
    skus: Sequence[int],
    flow: str = "three",
    probe: Probe | None = None,
) -> None:
    lines = [{"skuId": _sku_gid(s), "quantity": 1} for s in skus]
    if flow == "two":
        addressed = await _graphql(
            client, CART_CREATE_ADDRESSED,
            {"input": {"lines": lines, "shippingAddress": ADDRESS}}, token, "cartCreate", probe,
        )  # fmt: skip
        cart_id = addressed["cart"]["id"]
    else:
        created = await _graphql(
            client, CART_CREATE, {"input": {"lines": lines}}, token, "cartCreate", probe
        )
        cart_id = created["cart"]["id"]
        addressed = await _graphql(
            client, ADDRESS_SET, {"cartId": cart_id, "address": ADDRESS}, token,
            "cartShippingAddressSet", probe,
        )  # fmt: skip
    total = addressed["cart"]["cost"]["total"]["amount"]
    await _graphql(
        client, CHECKOUT, {"cartId": cart_id, "key": uuid.uuid4().hex, "total": total}, token,
        "checkoutComplete", probe,
    )  # fmt: skip


def source_call_counts(app: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    for family in app.state.metrics.registry.collect():
        if family.name == "gateway_source_calls":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    counts[f"{sample.labels['source']}.{sample.labels['method']}"] += int(
                        sample.value
                    )
    return counts


def in_process_app(
    shop: Any, picks: int, cache: bool = False
) -> tuple[Starlette, list[str], list[list[int]]]:
    """The gateway over a prepared ``shop`` in this process (caches off unless ``cache``:
    every checkout reads its sources), a token per customer, and ``picks`` sets of three
    SKUs, the same sets in every run (a seeded draw) so that runs of two trees compare."""
    os.environ["CACHE_ENABLED"] = "true" if cache else "false"
    values: dict[str, Any] = {f"{n}_database_url": u for n, u in shop.urls.items()}
    settings = Settings(**values, log_level="WARNING", log_format="console")
    app = create_app(settings)
    tokens = [
        issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(c)) for c in shop.customer_ids
    ]
    rng = random.Random(1)
    return app, tokens, [rng.sample(shop.sku_ids, 3) for _ in range(picks)]


def profile_checkout(backend: str, checkouts: int, html: Path) -> dict[str, Any]:
    async def session() -> dict[str, Any]:
        shop = await prepare_shop(backend, 240)
        app, tokens, picks = in_process_app(shop, 2 * checkouts + 11)
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    for i in range(10):  # warm: compiled SQL, parsed documents, pools
                        await one_checkout(client, tokens[i % len(tokens)], picks.pop())
                    before = source_call_counts(app)
                    await one_checkout(client, tokens[0], picks.pop())
                    calls = source_call_counts(app) - before
                    cpu = time.process_time()
                    for i in range(checkouts):
                        await one_checkout(client, tokens[i % len(tokens)], picks.pop())
                    cpu_ms = (time.process_time() - cpu) * 1000 / checkouts
                    profiler = Profiler(interval=0.0005, async_mode="disabled")
                    profiler.start()
                    for i in range(checkouts):
                        await one_checkout(client, tokens[i % len(tokens)], picks.pop())
                    profiler.stop()
        finally:
            if shop.cleanup is not None:
                await shop.cleanup()
        html.parent.mkdir(parents=True, exist_ok=True)
        profiler.write_html(html)
        if profiler.last_session is not None:
            profiler.last_session.save(str(html.with_suffix(".pyisession")))
        root = profiler.last_session.root_frame() if profiler.last_session else None
        return {
            "cpu_ms": cpu_ms,
            "calls": calls,
            "components": components(root) if root is not None else [],
            "tree": _head(profiler.output_text(unicode=True, color=False), 70),
            "flat": _head(
                profiler.output_text(unicode=True, color=False, flat=True), 30, drop_idle=True
            ),
        }

    result: dict[str, Any] = _run(session)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout_profile")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--checkouts", type=int, default=40)
    parser.add_argument("--tree", action="store_true", help="also print the call tree")
    args = parser.parse_args(argv)
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        html = ROOT / "bench" / "results" / f"checkout-profile-{backend}.html"
        r = profile_checkout(backend, args.checkouts, html)
        print(f"## {backend}: {r['cpu_ms']:.1f} ms process CPU per checkout (3 requests, "
              f"in-process client included); load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"source calls: {sum(r['calls'].values())} {dict(sorted(r['calls'].items()))}")
        for name, share in r["components"]:
            print(f"  {share:6.1%}  {name}")
        print(r["flat"])
        if args.tree:
            print(r["tree"])
        print(f"(profile: {html})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
