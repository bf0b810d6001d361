"""Builds the process's cache from settings: Redis (standalone or Cluster) with a short-lived
near cache in front, or, with no Redis configured, one bounded in-process map."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from ..settings import Settings
from .backend import CacheBackend
from .breaker import CircuitBreaker
from .cdn import PurgeHook
from .entities import ReadThrough
from .memory import InProcessCache
from .metrics import CacheMetrics
from .shared import SharedCache


def build_cache(settings: Settings, registry: CollectorRegistry) -> ReadThrough | None:
    """None when caching is switched off (CACHE_ENABLED=false): every read goes to a source."""
    config = settings.cache
    if not config.enabled:
        return None
    metrics = CacheMetrics(registry)
    backend: CacheBackend
    near: InProcessCache | None = None
    url = settings.redis_cluster_url or settings.redis_url
    if url is None:
        backend = InProcessCache(config.local_max_entries)
    else:
        # Imported here: without Redis (an in-process cache) its client is never loaded.
        from .redis_backend import RedisCache

        backend = RedisCache(
            url,
            cluster=settings.redis_cluster_url is not None or "+cluster://" in url,
            timeout=settings.redis_socket_timeout_ms / 1000,
            max_connections=settings.redis_max_connections,
            breaker=CircuitBreaker(config.breaker_failures, config.breaker_reset),
            metrics=metrics,
        )
        if config.local_ttl > 0:
            near = InProcessCache(config.local_max_entries, max_ttl=config.local_ttl)
    purge = (
        PurgeHook(config.cdn_purge_url, config.cdn_purge_headers) if config.cdn_purge_url else None
    )
    return ReadThrough(SharedCache(config, backend, metrics, near=near, purge=purge))
