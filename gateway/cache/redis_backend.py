"""Redis (standalone or Cluster) as the cache backend.

Every call is bounded by a short socket timeout and guarded by a circuit breaker, and no
error ever leaves this module: a read that fails is a miss, a write that fails is skipped,
both counted in ``gateway_cache_errors_total``. Reads are one MGET per batch (per slot on a
Cluster, pipelined per node by redis-py's ``mget_nonatomic``); writes are one pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from .backend import OnMessage
from .breaker import CircuitBreaker
from .metrics import CacheMetrics

log = structlog.get_logger("gateway.cache")
T = TypeVar("T")
FAILURES = (RedisError, OSError, asyncio.TimeoutError)
SCAN_BATCH = 500


def cluster_url(url: str) -> str:
    """``redis+cluster://host:port`` -> ``redis://host:port`` (what redis-py expects)."""
    return url.replace("+cluster://", "://", 1)


class RedisCache:
    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        cluster: bool,
        timeout: float,
        max_connections: int,
        breaker: CircuitBreaker,
        metrics: CacheMetrics,
    ) -> None:
        self.cluster = cluster
        self.timeout = timeout
        self.breaker = breaker
        self.metrics = metrics
        self._is_warm = not cluster
        url = cluster_url(url)
        self.client: Any
        common: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        if cluster:
            self.client = RedisCluster.from_url(url, max_connections=max_connections, **common)
        else:
            pool = BlockingConnectionPool.from_url(
                url, max_connections=max_connections, timeout=timeout, **common
            )
            self.client = Redis(connection_pool=pool)
        # Pub/sub blocks on reads, so it gets its own connection without a read timeout. On a
        # Cluster, PUBLISH reaches every node: subscribing on the first one is enough.
        parts = urlsplit(url)
        self._listen_url = url if not cluster else f"{parts.scheme}://{parts.netloc}/0"

    async def _run(self, operation: str, call: Callable[[], Awaitable[T]], fallback: T) -> T:
        if not self.breaker.allow():
            self.metrics.skipped.labels(operation).inc()
            return fallback
        # The socket timeout bounds each read; this bounds a whole pipeline or connect. The
        # first call on a Cluster also discovers its slots: it gets longer.
        deadline = self.timeout * 3 if self._is_warm else max(self.timeout * 3, 2.0)
        try:
            async with asyncio.timeout(deadline):
                result = await call()
        except FAILURES as exc:
            self.breaker.failed()
            self.metrics.errors.labels(operation).inc()
            self.metrics.breaker_open.set(1 if self.breaker.is_open else 0)
            log.warning("cache unavailable", operation=operation, error=type(exc).__name__)
            return fallback
        if self.breaker.is_open or self.breaker.failures:
            log.info("cache available again", operation=operation)
        self.breaker.succeeded()
        self.metrics.breaker_open.set(0)
        self._is_warm = True
        return result

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        if not keys:
            return {}

        async def mget() -> dict[str, bytes]:
            if self.cluster:
                values = await self.client.mget_nonatomic(list(keys))
            else:
                values = await self.client.mget(list(keys))
            return {k: v for k, v in zip(keys, values, strict=True) if v is not None}

        return await self._run("get", mget, {})

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None:
        await self.set_groups({ttl: items})

    async def set_groups(self, groups: Mapping[float, Mapping[str, bytes]]) -> None:
        groups = {ttl: items for ttl, items in groups.items() if items and ttl > 0}
        if not groups:
            return

        async def write() -> None:
            pipe = self.client.pipeline(transaction=False)
            for ttl, items in groups.items():
                px = max(int(ttl * 1000), 1)
                for key, value in items.items():
                    pipe.set(key, value, px=px)
            await pipe.execute()

        await self._run("set", write, None)

    async def delete_many(self, keys: Sequence[str]) -> None:
        if keys:
            await self._run("delete", lambda: self.client.unlink(*keys), None)

    async def delete_prefix(self, prefix: str) -> None:
        async def purge() -> None:
            batch: list[str] = []
            async for key in self.client.scan_iter(match=f"{prefix}*", count=SCAN_BATCH):
                batch.append(key.decode() if isinstance(key, bytes) else key)
                if len(batch) >= SCAN_BATCH:
                    await self.client.unlink(*batch)
                    batch.clear()
            if batch:
                await self.client.unlink(*batch)

        # A type purge walks the keyspace: give it more than a read's timeout.
        await self._run("purge", lambda: asyncio.wait_for(purge(), 5.0), None)

    async def add_members(self, sets: Mapping[str, Sequence[str]], ttl: float) -> None:
        if not sets:
            return
        px = max(int(ttl * 1000), 1)

        async def write() -> None:
            pipe = self.client.pipeline(transaction=False)
            for key, members in sets.items():
                pipe.sadd(key, *members)
                pipe.pexpire(key, px, gt=True)
                pipe.pexpire(key, px, nx=True)
            await pipe.execute()

        await self._run("tag", write, None)

    async def pop_members(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()

        async def pop() -> set[str]:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.smembers(key)
            results = await pipe.execute()
            await self.client.unlink(*keys)
            return {m.decode() for found in results for m in found}

        return await self._run("untag", pop, set())

    async def publish(self, channel: str, message: bytes) -> None:
        await self._run("publish", lambda: self.client.publish(channel, message), None)

    async def listen(
        self, channel: str, on_message: OnMessage, on_reconnect: Callable[[], Awaitable[None]]
    ) -> None:
        delay = 0.1
        while True:
            client = Redis.from_url(self._listen_url, socket_connect_timeout=self.timeout)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(channel)
                    await on_reconnect()  # whatever was published while away is lost
                    delay = 0.1
                    while True:
                        message = await pubsub.get_message(timeout=1.0)
                        if message is not None and message["type"] == "message":
                            await on_message(message["data"])
            except FAILURES as exc:
                log.warning("invalidation channel lost", error=type(exc).__name__)
            finally:
                with contextlib.suppress(*FAILURES):
                    await client.aclose()
            await on_reconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def health(self) -> str:
        async def ping() -> bool:
            return bool(await self.client.ping())

        return "ok" if await self._run("ping", ping, False) else "degraded"

    async def close(self) -> None:
        with contextlib.suppress(*FAILURES):
            await self.client.aclose()
