"""Token buckets: a viewer's budget refills at a steady rate up to a burst; a request
takes its cost in tokens or is refused with the seconds until it would fit.

In Redis the whole check-and-take is one Lua script on one key (atomic across every
gateway process, clock from Redis ``TIME`` so processes' clocks need not agree). Without
Redis, the same arithmetic runs in-process. A Redis that fails or is slow lets the request
through (fail open): a cache outage must not become a shop outage.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from ..cache.breaker import CircuitBreaker

log = structlog.get_logger("gateway.ratelimit")


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str  # "cost" or "checkout": part of the key, and the metric label
    capacity: float  # the burst
    rate: float  # tokens per second


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until the request would fit (0 when allowed)
    remaining: float


def refill(tokens: float, elapsed: float, bucket: Bucket) -> float:
    return min(bucket.capacity, tokens + max(0.0, elapsed) * bucket.rate)


def take(tokens: float, cost: float, bucket: Bucket) -> tuple[Decision, float]:
    """(the decision, the tokens left). A cost above the burst is charged as the burst:
    the query limit, not the rate limit, decides whether a query is too big."""
    cost = min(cost, bucket.capacity)
    if cost <= tokens:
        return Decision(True, 0.0, tokens - cost), tokens - cost
    return Decision(False, (cost - tokens) / bucket.rate, tokens), tokens


class Buckets(Protocol):
    kind: str

    async def acquire(self, key: str, bucket: Bucket, cost: float) -> Decision | None:
        """None: the store could not answer (the caller lets the request through)."""
        ...

    async def close(self) -> None: ...


class InProcessBuckets:
    """One process's buckets, least recently used dropped past ``max_keys`` (a dropped
    bucket comes back full: generous, never wrong against a viewer)."""

    kind = "memory"

    def __init__(self, max_keys: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def acquire(self, key: str, bucket: Bucket, cost: float) -> Decision | None:
        now = self.clock()
        full_key = f"{bucket.name}:{key}"
        tokens, stamp = self._state.pop(full_key, (bucket.capacity, now))
        decision, left = take(refill(tokens, now - stamp, bucket), cost, bucket)
        self._state[full_key] = (left, now)
        while len(self._state) > self.max_keys:
            self._state.popitem(last=False)
        return decision

    async def close(self) -> None:
        self._state.clear()


# KEYS[1]: the bucket; ARGV: capacity, rate per second, cost. Returns {allowed, retry, left}
# (as strings: Lua numbers would come back truncated to integers).
TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = math.min(tonumber(ARGV[3]), capacity)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local allowed = 0
local retry = 0
if cost <= tokens then
  tokens = tokens - cost
  allowed = 1
else
  retry = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {allowed, tostring(retry), tostring(tokens)}
"""


class RedisBuckets:
    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        cluster: bool,
        timeout: float,
        max_connections: int,
        breaker: CircuitBreaker,
        on_error: Callable[[], None],
    ) -> None:
        # Imported here: a gateway without Redis (most processes tests start) need not
        # import its client, a tenth of a second of CPU.
        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.asyncio.cluster import RedisCluster
        from redis.exceptions import RedisError

        from ..cache.redis_backend import cluster_url

        self.failures: tuple[type[BaseException], ...] = (
            RedisError,
            OSError,
            asyncio.TimeoutError,
        )
        self.prefix = prefix
        self.timeout = timeout
        self.breaker = breaker
        self.on_error = on_error
        common: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        self.client: Any
        if cluster:
            self.client = RedisCluster.from_url(
                cluster_url(url), max_connections=max_connections, **common
            )
        else:
            pool = BlockingConnectionPool.from_url(
                url, max_connections=max_connections, timeout=timeout, **common
            )
            self.client = Redis(connection_pool=pool)
        self.script = self.client.register_script(TOKEN_BUCKET)

    async def acquire(self, key: str, bucket: Bucket, cost: float) -> Decision | None:
        if not self.breaker.allow():
            return None
        redis_key = f"{self.prefix}:rl:{bucket.name}:{{{key}}}"
        try:
            async with asyncio.timeout(max(self.timeout * 3, 0.05)):
                allowed, retry, left = await self.script(
                    keys=[redis_key], args=[bucket.capacity, bucket.rate, cost]
                )
        except self.failures as exc:
            self.breaker.failed()
            self.on_error()
            log.warning("rate limit store failed; letting the request through", error=repr(exc))
            return None
        self.breaker.succeeded()
        return Decision(bool(int(allowed)), float(retry), float(left))

    async def close(self) -> None:
        close = getattr(self.client, "aclose", None) or self.client.close
        await close()


def retry_after_header(seconds: float) -> str:
    """Whole seconds, rounded up, at least 1 (what Retry-After allows)."""
    return str(max(1, math.ceil(seconds)))
