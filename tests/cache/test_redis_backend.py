"""The Redis backend against real servers: a Cluster (keys of many slots in one batch) and
a server that dies and comes back (the breaker stops trying, then probes and recovers)."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import CollectorRegistry

from gateway.cache.breaker import CircuitBreaker
from gateway.cache.metrics import CacheMetrics
from gateway.cache.redis_backend import RedisCache

from .redis_support import private_cluster, private_redis, unique_prefix


def backend(url: str, *, cluster: bool, reset: float = 0.3, timeout: float = 0.1) -> RedisCache:
    return RedisCache(
        url,
        cluster=cluster,
        timeout=timeout,
        max_connections=16,
        breaker=CircuitBreaker(3, reset),
        metrics=CacheMetrics(CollectorRegistry()),
    )


def test_a_cluster_reads_and_purges_keys_of_many_slots_in_one_batch() -> None:
    with private_cluster() as nodes:
        prefix = unique_prefix()
        keys = [f"{prefix}:v1:Product:{i}" for i in range(200)]

        async def scenario() -> None:
            # Patient: this is about slots, not timeouts, and a loaded machine (a parallel
            # suite) can take longer than the production 100 ms to answer CLUSTER SLOTS.
            cache = backend(f"redis+cluster://127.0.0.1:{nodes[0].port}", cluster=True, timeout=5.0)
            await cache.set_many({k: k.encode() for k in keys}, 60)
            found = await cache.get_many(keys)
            assert found == {k: k.encode() for k in keys}
            await cache.add_members({f"{prefix}:tag:a": ["r1", "r2"]}, 60)
            assert await cache.pop_members([f"{prefix}:tag:a"]) == {"r1", "r2"}
            await cache.delete_prefix(f"{prefix}:v1:Product:")
            assert await cache.get_many(keys) == {}
            assert await cache.health() == "ok"
            await cache.close()

        asyncio.run(scenario())
        # Keys really were spread over the nodes: the batch crossed slots.
        assert sum(1 for n in nodes if n.client().dbsize() == 0) == len(nodes)


@pytest.mark.load_sensitive
def test_a_dead_server_costs_misses_not_errors_and_is_used_again_when_back() -> None:
    with private_redis() as server:

        async def scenario() -> None:
            cache = backend(server.url, cluster=False)
            await cache.set_many({"k": b"v"}, 60)
            server.kill()
            started = time.perf_counter()
            for _ in range(20):
                assert await cache.get_many(["k"]) == {}
            assert time.perf_counter() - started < 1.0
            assert cache.breaker.is_open
            assert await cache.health() == "degraded"
            server.start()
            await asyncio.sleep(0.4)
            await cache.set_many({"k": b"again"}, 60)
            assert await cache.get_many(["k"]) == {"k": b"again"}
            assert not cache.breaker.is_open
            await cache.close()

        asyncio.run(scenario())
