"""Prometheus metrics and per-request accounting of source calls.

Each app owns its registry, so two apps in one process (tests, benchmarks) never mix
their counts. ``gateway_source_calls_total`` counts one per batch call to a store, which is
what reveals an N+1: a listing of 50 products must not make 50 calls.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram

from .tracing.spans import active_tracer, source_call_span

P = ParamSpec("P")
R = TypeVar("R")


# Set while the gateway asks a source for itself (a /metrics scrape), not for a request:
# such calls stay out of gateway_source_calls_total, which must read as what requests cost.
_housekeeping: ContextVar[bool] = ContextVar("housekeeping", default=False)


@contextlib.contextmanager
def housekeeping_calls() -> Iterator[None]:
    """Source calls made inside are not counted (they still pass every other guard)."""
    token = _housekeeping.set(True)
    try:
        yield
    finally:
        _housekeeping.reset(token)


@dataclass
class RequestStats:
    """What one request cost; logged once at its end."""

    source_calls: int = 0
    calls_by_method: dict[str, int] = field(default_factory=dict)
    queued_s: float = 0.0  # waiting at the door (admission.py) before any work


current_request: ContextVar[RequestStats | None] = ContextVar("current_request", default=None)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gateway_requests",
            "GraphQL requests by operation name",
            ["operation"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "GraphQL request latency by operation name",
            ["operation"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.errors = Counter(
            "gateway_errors", "GraphQL errors by code", ["code"], registry=self.registry
        )
        self.source_calls = Counter(
            "gateway_source_calls",
            "Batch calls to a source, by source and store method",
            ["source", "method"],
            registry=self.registry,
        )
        self.executions = Counter(
            "gateway_executions",
            "Operations executed, by executor; reason: why the breadth-first executor left "
            "one to standard execution (mutation, subscription, introspection, ...)",
            ["executor", "reason"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "gateway_loader_batch_size",
            "Keys per DataLoader batch",
            ["loader"],
            registry=self.registry,
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
        )

        # The requests counter and latency histogram of each operation name, looked up once
        # (``labels`` validates, locks and builds a key per call). As many as the labels
        # already keep: one per name seen.
        self._operation_series: dict[str, tuple[Any, Any]] = {}
        # Each loader's batch-size series, likewise (a request builds its loaders anew).
        self._batch_observers: dict[str, Callable[[float], None]] = {}

    def operation_series(self, name: str) -> tuple[Any, Any]:
        """The ``gateway_requests`` and ``gateway_request_duration_seconds`` series of an
        operation name."""
        series = self._operation_series.get(name)
        if series is None:
            series = self._operation_series[name] = (
                self.requests.labels(name),
                self.latency.labels(name),
            )
        return series

    def batch_observer(self, loader: str) -> Callable[[float], None]:
        """``observe`` of a loader's ``gateway_loader_batch_size`` series."""
        observe = self._batch_observers.get(loader)
        if observe is None:
            observe = self._batch_observers[loader] = self.batch_size.labels(loader).observe
        return observe

    def count_calls(self, store: Any) -> None:
        """Wrap every public coroutine method of ``store`` so each call is counted (and,
        with tracing on, gets its span: the same calls, seen in a trace)."""
        source = store.source
        for name, method in inspect.getmembers(store, inspect.iscoroutinefunction):
            if name.startswith("_"):
                continue
            setattr(store, name, self._counted(source, name, method))

    def _counted(
        self, source: str, method_name: str, method: Callable[P, Awaitable[R]]
    ) -> Callable[P, Awaitable[R]]:
        counter = self.source_calls.labels(source, method_name)
        key = f"{source}.{method_name}"

        @functools.wraps(method)
        async def counted(*args: P.args, **kwargs: P.kwargs) -> R:
            if _housekeeping.get():
                return await method(*args, **kwargs)
            counter.inc()
            stats = current_request.get()
            if stats is not None:
                stats.source_calls += 1
                stats.calls_by_method[key] = stats.calls_by_method.get(key, 0) + 1
            if active_tracer.get() is None:  # tracing off: nothing more to pay
                return await method(*args, **kwargs)
            with source_call_span(source, method_name, args, kwargs):
                return await method(*args, **kwargs)

        return counted


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started
