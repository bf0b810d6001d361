"""Redis is only a cache: flushed, killed or frozen, the gateway keeps answering from the
sources, says "degraded" in /readyz, and uses Redis again once it is back, without a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis

from gateway.cache.entities import GRACE_SECONDS
from tests.cache.live import LISTING, browsing_calls, cache_settings, live_gateway, seed_small_shop
from tests.cache.redis_support import PrivateRedis, private_redis
from tests.conftest import LiveGateway

pytestmark = pytest.mark.load_sensitive  # tests/conftest.py: run again if the machine made it miss


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return seed_small_shop(tmp_path_factory.mktemp("outage-shop"))


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


@pytest.fixture
def gateway(shop: dict[str, str], redis_server: PrivateRedis) -> Iterator[LiveGateway]:
    cache = cache_settings(breaker_reset=0.5, local_ttl=0)
    with live_gateway(shop, cache, redis_url=redis_server.url) as live:
        yield live


def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_flushing_redis_loses_nothing(gateway: LiveGateway, redis_server: PrivateRedis) -> None:
    cold, _ = gateway.calls_during(LISTING)
    redis_server.client().flushall()

    refilled, calls = gateway.calls_during(LISTING)
    warm, warm_calls = gateway.calls_during(LISTING)

    assert refilled == cold == warm
    assert browsing_calls(calls), "the next request after a flush refills from the sources"
    assert browsing_calls(warm_calls) == {}


def test_killing_redis_under_load_fails_no_request_and_recovery_needs_no_restart(
    gateway: LiveGateway, redis_server: PrivateRedis
) -> None:
    expected = gateway.query(LISTING)
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def browse() -> None:
        nonlocal answered
        while not stop.is_set():
            response = gateway.client.post("/graphql", json={"query": LISTING})
            if response.status_code != 200 or response.json() != expected:
                failures.append(response.text[:200])
            answered += 1

    workers = [threading.Thread(target=browse) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(0.3)
    redis_server.kill()
    time.sleep(1.0)
    ready = gateway.client.get("/readyz")
    stop.set()
    for worker in workers:
        worker.join(timeout=30)

    assert failures == []
    assert answered > 10
    assert ready.status_code == 200 and ready.json()["cache"] == "degraded"
    time.sleep(GRACE_SECONDS + 0.1)  # past the in-process single-flight memo
    _, calls = gateway.calls_during(LISTING)
    assert browsing_calls(calls), "with Redis down the sources answer"

    redis_server.start()
    wait_for(lambda: gateway.client.get("/readyz").json()["cache"] == "ok")
    # Refill the empty Redis. A write that races the breaker's first probe back can be
    # skipped, so recovery is judged on the third request, not the second.
    gateway.query(LISTING)
    gateway.query(LISTING)
    _, calls = gateway.calls_during(LISTING)
    assert browsing_calls(calls) == {}


FREEZE_SECONDS = 6


def test_a_frozen_redis_costs_a_bounded_delay_then_none(
    gateway: LiveGateway, redis_server: PrivateRedis
) -> None:
    gateway.query(LISTING)
    # A client that outwaits the freeze: one that timed out first would retry the command
    # (redis-py retries timeouts) and freeze the server again, once per retry.
    freezer = redis.Redis(port=redis_server.port, socket_timeout=FREEZE_SECONDS + 10)
    frozen = threading.Thread(
        target=lambda: freezer.execute_command("DEBUG", "SLEEP", str(FREEZE_SECONDS))
    )
    frozen.start()
    time.sleep(0.1)
    timings = []
    for _ in range(8):
        started = time.perf_counter()
        result = gateway.query(LISTING)
        timings.append(time.perf_counter() - started)
        assert "errors" not in result
    frozen.join()

    # Each cache call waits at most its socket timeout until the breaker opens; then none.
    # The bound is half the freeze, not a tight figure: a loaded CI machine slows the
    # listing itself, and what matters is that no request waits for Redis to wake up.
    assert max(timings) < FREEZE_SECONDS / 2, timings
    assert sorted(timings)[len(timings) // 2] < 0.5, timings
