"""The long modules first, one share per xdist worker.

pytest-xdist (``--dist worksteal``) hands each worker an equal count of the collected
tests, in order, and idle workers later steal from the end of the others' queues. A module
that runs for most of a minute (the soak, the rolling restarts, the outage matrix) that
happened to sit at the end of a worker's share ran alone while the other workers had
finished: the run's last 40 s on one core. Here the modules marked ``long`` are spread over
the workers' shares, heaviest first, each at the head of its share, so they start at once
and the short tests fill in around them. Modules stay whole (their module-scoped fixtures
are built once) and the order stays the one pytest-randomly chose within each part.
"""

from __future__ import annotations

import os

import pytest


def _shares(total: int, workers: int) -> list[int]:
    """The counts xdist's first distribution gives each worker (WorkStealingScheduling)."""
    sizes, left = [], total
    for i in range(workers):
        size = left // (workers - i)
        sizes.append(size)
        left -= size
    return sizes


def long_modules_first(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place; a no-op outside an xdist worker."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers < 2:
        return
    modules: dict[str, list[pytest.Item]] = {}
    weights: dict[str, float] = {}
    rest: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("long")
        if marker is None:
            rest.append(item)
            continue
        module = item.nodeid.split("::")[0]
        modules.setdefault(module, []).append(item)
        weights[module] = float(marker.kwargs.get("seconds", 30))
    if not modules:
        return
    heads: list[list[pytest.Item]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for module in sorted(modules, key=lambda m: (-weights[m], m)):
        k = load.index(min(load))
        heads[k].extend(modules[module])
        load[k] += weights[module]
    ordered: list[pytest.Item] = []
    for head, share in zip(heads, _shares(len(items), workers), strict=True):
        ordered.extend(head)
        fill = max(0, share - len(head))
        ordered.extend(rest[:fill])
        del rest[:fill]
    ordered.extend(rest)
    items[:] = ordered
