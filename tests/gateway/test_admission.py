"""The door (gateway/admission.py, GATEWAY_MAX_IN_FLIGHT): GraphQL requests beyond the
limit wait their turn and are all answered, none refused; the probes never wait; a request
that holds its place too long (waiting on something slow) lets the next one in.

Each request here reads the catalog through a source that takes 300 ms a call
(``source_latency_ms``, the benchmarks' simulated round trip), so what the door does is
visible on the clock: with one request let in at a time, three sent together cannot all be
answered in less than three such calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.settings import load_settings
from tests.conftest import LiveGateway, serve, settings_for

LATENCY_S = 0.3
PRODUCTS = "{ products(first: 1) { edges { node { id } } } }"


@pytest.fixture(scope="module")
def one_at_a_time(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    settings = settings_for(
        sqlite_shop,
        max_in_flight=1,
        in_flight_hold_seconds=30,  # longer than any request here: places are never given up
        source_latency_ms=LATENCY_S * 1000,
        cache={"enabled": False},
        sweep_interval_seconds=0,
    )
    yield from serve(settings)


async def _burst(url: str, requests: int) -> tuple[list[httpx.Response], float, float]:
    """``requests`` catalog reads sent at once and, while they are being served, a probe:
    (the reads' answers, seconds until the last one, seconds until the probe's)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        started = time.perf_counter()
        reads = [
            asyncio.create_task(client.post("/graphql", json={"query": PRODUCTS}))
            for _ in range(requests)
        ]
        await asyncio.sleep(LATENCY_S / 3)  # the first read is inside, the others wait
        probe = await client.get("/healthz")
        probed = time.perf_counter() - started
        assert probe.status_code == 200
        answers = await asyncio.gather(*reads)
        return answers, time.perf_counter() - started, probed


def test_requests_beyond_the_limit_wait_their_turn_and_are_all_answered(
    one_at_a_time: LiveGateway,
) -> None:
    one_at_a_time.query(PRODUCTS)  # warm: the first request's set-up is not timed
    answers, last, probed = asyncio.run(_burst(one_at_a_time.url, 3))

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.json()["data"]["products"]["edges"] for a in answers)
    assert last >= 3 * LATENCY_S  # served one after the other: none overtook the door
    assert probed < last  # the probe did not queue behind the shop's requests


@pytest.fixture(scope="module")
def one_at_a_time_held_briefly(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    settings = settings_for(
        sqlite_shop,
        max_in_flight=1,
        in_flight_hold_seconds=0.1,
        source_latency_ms=LATENCY_S * 1000,
        cache={"enabled": False},
        sweep_interval_seconds=0,
    )
    yield from serve(settings)


def test_a_request_waiting_on_a_slow_source_gives_its_place_up(
    one_at_a_time_held_briefly: LiveGateway,
) -> None:
    """Sixteen checkouts stuck on a slow payment provider must not hold the whole shop at
    the door: past the hold, the next request goes in beside the slow one."""
    gateway = one_at_a_time_held_briefly
    gateway.query(PRODUCTS)  # warm
    started = time.perf_counter()
    gateway.query(PRODUCTS)
    alone = time.perf_counter() - started  # at least one slow source call

    answers, last, _ = asyncio.run(_burst(gateway.url, 3))

    assert [a.status_code for a in answers] == [200, 200, 200]
    # One after the other they would take three times as long as one; let in after 0.1 s
    # each, they overlap.
    assert last < 2 * alone


@pytest.mark.parametrize(
    ("workers", "setting", "places"),
    [(1, None, 16), (2, None, 8), (3, None, 6), (8, None, 4), (2, 16, 16), (2, 0, 0)],
)
def test_the_door_shares_the_hosts_places_among_its_workers_unless_set(
    workers: int, setting: int | None, places: int
) -> None:
    """Unset, the host's 16 places are split among its workers (a hot row's lock is the
    host's); set, each worker has exactly that many (0: no door)."""
    env = {"GATEWAY_WORKERS": str(workers)}
    if setting is not None:
        env["GATEWAY_MAX_IN_FLIGHT"] = str(setting)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("GATEWAY_MAX_IN_FLIGHT", raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        assert load_settings().in_flight_limit == places
