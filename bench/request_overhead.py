"""The gateway's fixed cost of one GraphQL request, without any source call: process CPU
per request in-process (httpx's ASGITransport, the client's share included), for comparing
two commits on a shared machine.

``python -m bench.request_overhead --requests 500 --rounds 5``

Two requests, each signed in with a customer's bearer token, repeated:

- ``cartShippingAddressSet`` of the checkout (bench/checkout.py's document and address)
  with a global id that is no cart's (a SKU's): everything a checkout mutation pays before and after
  its source calls (the HTTP and ASGI layers, the token, the operation's checks and plan,
  variables and the ``AddressInput`` argument, the resolver, the payload, JSON in and out),
  answered ``CART_NOT_FOUND`` without a source call;
- ``{ __typename }``: the pipeline alone.

Between them and a checkout's CPU (bench.checkout_statements) lies what the source calls
cost. Without a database wait in the loop, the figure moves less with the neighbours than a
checkout's: alternate runs from two trees (``git archive <commit> | tar -x -C /tmp/old``,
copy this module there, run with this worktree's ``.venv/bin/python`` from each).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import httpx

from .checkout import ADDRESS, ADDRESS_SET, prepare_shop
from .checkout_profile import in_process_app, source_call_counts
from .profile import _run

REQUESTS: dict[str, dict[str, Any]] = {
    "cartShippingAddressSet (no such cart)": {
        "query": ADDRESS_SET,
        "variables": {"cartId": "U2t1OjE=", "address": ADDRESS},  # Sku:1
    },
    "{ __typename }": {"query": "{ __typename }"},
}


def measure(requests: int, rounds: int) -> dict[str, list[float]]:
    async def session() -> dict[str, list[float]]:
        shop = await prepare_shop("sqlite", 60)
        app, tokens, _ = in_process_app(shop, 0)
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        cpu: dict[str, list[float]] = {name: [] for name in REQUESTS}
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    for body in REQUESTS.values():
                        response = await client.post("/graphql", json=body, headers=headers)
                        answer = response.json()
                        assert response.status_code == 200 and "errors" not in answer, answer
                        for _ in range(200):  # warm
                            await client.post("/graphql", json=body, headers=headers)
                    before = source_call_counts(app)
                    for _ in range(rounds):
                        for name, body in REQUESTS.items():
                            started = time.process_time()
                            for _ in range(requests):
                                await client.post("/graphql", json=body, headers=headers)
                            elapsed = time.process_time() - started
                            cpu[name].append(elapsed * 1e6 / requests)
                    calls = source_call_counts(app) - before
                    assert not calls, f"the requests called sources: {dict(calls)}"
        finally:
            if shop.cleanup is not None:
                await shop.cleanup()
        return cpu

    result: dict[str, list[float]] = _run(session)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.request_overhead")
    parser.add_argument("--requests", type=int, default=500, help="per round and request")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    for name, rounds in measure(args.requests, args.rounds).items():
        print(f"{name}: {statistics.median(rounds):.0f} µs of process CPU per request (median; "
              f"rounds {', '.join(f'{x:.0f}' for x in rounds)}); "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
