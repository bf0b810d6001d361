"""Cache counters, registered on the app's own registry beside the gateway's metrics."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge


class CacheMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.hits = Counter("gateway_cache_hits", "Cache hits by type", ["type"], registry=registry)
        self.misses = Counter(
            "gateway_cache_misses", "Cache misses by type", ["type"], registry=registry
        )
        self.errors = Counter(
            "gateway_cache_errors",
            "Redis errors and timeouts by operation (the request was served from the sources)",
            ["operation"],
            registry=registry,
        )
        self.skipped = Counter(
            "gateway_cache_skipped",
            "Cache operations not tried because the circuit breaker was open",
            ["operation"],
            registry=registry,
        )
        self.coalesced = Counter(
            "gateway_cache_coalesced",
            "Misses served by another request's source call (single-flight), by type",
            ["type"],
            registry=registry,
        )
        self.invalidations = Counter(
            "gateway_cache_invalidations",
            "Invalidation messages applied, by origin (local or remote)",
            ["origin"],
            registry=registry,
        )
        self.breaker_open = Gauge(
            "gateway_cache_breaker_open",
            "1 while the Redis circuit breaker is open",
            registry=registry,
        )
        # Each type's hit and miss series, looked up once: ``labels`` validates, locks and
        # builds a key per call, and a cart mutation's reads look up some six types.
        self._lookups: dict[str, tuple[Callable[[float], None], Callable[[float], None]]] = {}

    def lookups(self, kind: str) -> tuple[Callable[[float], None], Callable[[float], None]]:
        """``inc`` of the ``gateway_cache_hits`` and ``gateway_cache_misses`` series of a
        cached type."""
        series = self._lookups.get(kind)
        if series is None:
            series = self._lookups[kind] = (
                self.hits.labels(kind).inc,
                self.misses.labels(kind).inc,
            )
        return series
