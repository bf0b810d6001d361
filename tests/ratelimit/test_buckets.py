"""The token bucket's arithmetic, with a clock the test turns: a burst, then a steady
rate, and a refusal that says exactly when the request would fit."""

from __future__ import annotations

import asyncio

import pytest

from gateway.ratelimit.buckets import Bucket, InProcessBuckets, retry_after_header

BUCKET = Bucket("cost", capacity=100, rate=10)  # 100 at once, then 10 a second


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_then_exact_retry_after() -> None:
    clock = Clock()
    buckets = InProcessBuckets(1000, clock=clock)

    async def go() -> None:
        assert (await buckets.acquire("ip:a", BUCKET, 60)).allowed  # type: ignore[union-attr]
        assert (await buckets.acquire("ip:a", BUCKET, 40)).allowed  # type: ignore[union-attr]
        refused = await buckets.acquire("ip:a", BUCKET, 25)
        assert refused is not None and not refused.allowed
        assert refused.retry_after == pytest.approx(2.5)
        assert retry_after_header(refused.retry_after) == "3"
        clock.now += 2.5
        assert (await buckets.acquire("ip:a", BUCKET, 25)).allowed  # type: ignore[union-attr]
        # Another viewer has a budget of its own.
        assert (await buckets.acquire("ip:b", BUCKET, 100)).allowed  # type: ignore[union-attr]

    asyncio.run(go())


def test_a_cost_above_the_burst_is_charged_as_the_burst() -> None:
    clock = Clock()
    buckets = InProcessBuckets(1000, clock=clock)

    async def go() -> None:
        assert (await buckets.acquire("k", BUCKET, 10_000)).allowed  # type: ignore[union-attr]
        refused = await buckets.acquire("k", BUCKET, 10_000)
        assert refused is not None and refused.retry_after == pytest.approx(10)

    asyncio.run(go())


def test_the_in_process_store_stays_bounded() -> None:
    buckets = InProcessBuckets(100, clock=Clock())

    async def go() -> None:
        for n in range(1000):
            await buckets.acquire(f"ip:{n}", BUCKET, 1)

    asyncio.run(go())
    assert len(buckets._state) == 100
