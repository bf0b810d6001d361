"""The benchmark's back-office order view: over a shop seeded as ``make bench`` seeds it
(orders placed through the checkout, then paid, shipped, delivered, returned), the
hand-written floor answers exactly what the gateway answers on either executor, with no
more source calls. ``make bench`` checks the same over HTTP before measuring; this keeps
the floor from drifting from the schema between bench runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from bench.handwritten import Handwritten
from bench.queries import SCENARIOS
from bench.shop import _migrate_and_seed
from gateway.auth import Permission, Viewer, ViewerKind
from gateway.execution import BREADTH_FIRST, STANDARD
from gateway.execution.inprocess import InProcess
from gateway.metrics import Metrics
from gateway.settings import SOURCE_NAMES
from gateway.sources import Sources
from tests.conftest import settings_for


def _calls(metrics: Metrics) -> dict[str, float]:
    return {
        f"{s.labels['source']}.{s.labels['method']}": s.value
        for metric in metrics.source_calls.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    }


async def _answers(urls: dict[str, str]) -> dict[str, tuple[Any, dict[str, float]]]:
    await _migrate_and_seed(urls, 60)
    settings = settings_for(urls)
    metrics = Metrics()
    sources = Sources.from_settings(settings)
    for store in sources.stores():
        metrics.count_calls(store)
    scenario = SCENARIOS["orders"]
    staff = Viewer(ViewerKind.STAFF, "1", frozenset(Permission(p) for p in scenario.staff))
    in_process = InProcess(settings, sources, metrics)
    floor = Handwritten(settings, sources)
    found: dict[str, tuple[Any, dict[str, float]]] = {}
    try:
        for name in (STANDARD, BREADTH_FIRST, "floor"):
            before = _calls(metrics)
            if name == "floor":
                answer: Any = await floor.orders_view()
            else:
                answer = await in_process.execute(name, scenario.query, viewer=staff)
            after = _calls(metrics)
            calls = {k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}
            found[name] = (orjson.loads(orjson.dumps(answer)), calls)
    finally:
        await sources.close()
    return found


def test_the_floor_answers_the_order_view_as_the_gateway_does(tmp_path: Path) -> None:
    urls = {name: f"sqlite+aiosqlite:///{tmp_path}/{name}.db" for name in SOURCE_NAMES}
    found = asyncio.run(_answers(urls))
    reference, reference_calls = found[STANDARD]
    assert "errors" not in reference, reference["errors"]
    orders = [e["node"] for e in reference["data"]["orders"]["edges"]]
    assert len(orders) == 10 and reference["data"]["orders"]["totalCount"] == 16
    # The seeded page holds every stage the view shows.
    assert any(o["shipments"] for o in orders) and any(o["payments"] for o in orders)
    assert any(o["afterSalesRequests"] for o in orders)
    assert all(line["sku"]["stock"]["warehouses"] for o in orders for line in o["lines"])
    for name in (BREADTH_FIRST, "floor"):
        answer, calls = found[name]
        assert answer == reference, name
        assert sum(calls.values()) <= sum(reference_calls.values()), (name, calls)
    assert sum(reference_calls.values()) == 8, reference_calls
