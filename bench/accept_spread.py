"""How a burst of keep-alive connections lands on the workers of one ``gateway serve``: with
uvicorn's own accept (``GATEWAY_BALANCE_CONNECTIONS=false``) and with gateway/serving.py's
balanced accept, alternating, trial by trial.

Each trial is a fresh wrk (``--connections`` connections opened at once, as wrk and a load
balancer's pool open them) posting the signed-in listing for ``--seconds``; once every
connection is accepted, the connections each worker holds are counted from /proc, and each
worker's CPU over the trial is read. The distribution is what decides whether N workers
can use N cores, and unlike listings/s it does not depend much on how busy the shared
machine is. The figures go to bench/results/spread.json.

    python -m bench.accept_spread [--workers 2] [--trials 10] [--rounds 2] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import threading
import time
import uuid
from typing import Any

import orjson

from gateway.auth import ViewerKind, issue_token
from gateway.settings import Settings

from . import wrk
from .checkout import prepare_shop
from .cpu_split import _children, _cmdline, connections_by_process, tree_cpu_seconds
from .processes import UNBALANCED, _wait_until_quiet, start_serve
from .provenance import Measurement
from .queries import LISTING_PERSONAL
from .shop import ROOT

VARIANTS = {"uvicorn accept": UNBALANCED, "balanced accept": {}}


def _trial(
    url: str, body: bytes, token: str, pid: int, port: int, args: argparse.Namespace
) -> dict[str, Any]:
    workers = [p for p in _children(pid) if "resource_tracker" not in _cmdline(p)]
    before = {p: tree_cpu_seconds(p) for p in workers}
    seen: list[list[int]] = []

    def sample() -> None:
        # The first count with every connection accepted (wrk itself may be slow to start
        # on a loaded machine), else the last one.
        deadline = time.monotonic() + args.seconds - 0.2
        time.sleep(0.3)
        while True:
            counts = connections_by_process([pid], {port})
            if sum(counts) >= args.connections or time.monotonic() > deadline:
                seen.append(counts)
                return
            time.sleep(0.1)

    thread = threading.Thread(target=sample)
    thread.start()
    run = wrk.run([url], body, [token], connections=args.connections, duration=args.seconds)[0]
    thread.join()
    cpu = sorted((tree_cpu_seconds(p) - before[p] for p in workers), reverse=True)
    return {
        "connections": seen[0],
        "worker_cpu_s": [round(c, 2) for c in cpu],
        "listings_per_s": round(run.rps, 1),
        "failures": run.failures,
        "load": round(os.getloadavg()[0], 1),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    shop = await prepare_shop("postgresql", 240)
    token = issue_token(Settings(), kind=ViewerKind.CUSTOMER, subject=str(shop.customer_ids[0]))
    body = orjson.dumps({"query": LISTING_PERSONAL, "operationName": "BenchListingPersonal"})
    log = ROOT / "bench" / "results" / "logs" / "accept_spread.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    trials: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    try:
        for round_ in range(args.rounds):
            for name, extra in VARIANTS.items():
                serve = start_serve(shop, args.workers, f"as{uuid.uuid4().hex[:8]}", log, extra)
                try:
                    url = f"{serve.url}/graphql"
                    wrk.run([url], body, [token], connections=args.connections, duration=1)
                    for _ in range(args.trials):
                        # What the last wrk left in flight, served first (bench.processes).
                        _wait_until_quiet([serve])
                        trial = _trial(url, body, token, serve.process.pid, serve.port, args)
                        trials[name].append(trial)
                        print(f"round {round_ + 1} {name:<16} {trial}", flush=True)
                finally:
                    serve.stop()
    finally:
        if shop.cleanup is not None:
            await shop.cleanup()
    summary = {}
    for name, found in trials.items():
        counts = collections.Counter("/".join(map(str, t["connections"])) for t in found)
        idle = sum(1 for t in found if len(t["connections"]) < 2 or min(t["connections"]) == 0)
        summary[name] = {
            "trials": len(found),
            "distributions": dict(counts.most_common()),
            "a_worker_left_idle": idle,
        }
        print(f"{name:<16} {len(found)} trials: {dict(counts.most_common())}; "
              f"a worker with no connection in {idle}")  # fmt: skip
    return {"trials": trials, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=10, help="per variant and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0, help="each trial's wrk run")
    args = parser.parse_args()
    if wrk.wrk_path() is None:
        parser.error("wrk is not installed (make wrk)")
    measurement = Measurement.begin("spread", "bench.accept_spread")
    figures = asyncio.run(main_async(args))
    measurement.save(
        {
            "workers": args.workers,
            "rounds": args.rounds,
            "trials_per_round": args.trials,
            "connections": args.connections,
            "seconds": args.seconds,
            **figures,
        }
    )


if __name__ == "__main__":
    main()
