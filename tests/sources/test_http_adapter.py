"""The HTTP adapter's manners on a real network, against a stand-in service on a free port
that misbehaves on purpose (answers 503, is slow, counts what is in flight): reads retry,
writes retry only under one request key, a burst is held to the concurrency limit, the
request id goes along, a slow service times out."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sources.common.wire_errors import RemoteSourceError
from sources.orders.errors import CartNotFound
from tests.remote import free_port, remote_client


@dataclass
class StandIn:
    """What the stand-in saw, and how it should misbehave next."""

    url: str = ""
    failures_left: int = 0
    busy_left: int = 0
    delay_s: float = 0.0
    seen: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    state = StandIn()

    async def answer(request: Request) -> Response:
        state.seen.append(dict(request.headers))
        state.in_flight += 1
        state.most_in_flight = max(state.most_in_flight, state.in_flight)
        try:
            await asyncio.sleep(state.delay_s)
            if state.failures_left > 0:
                state.failures_left -= 1
                return JSONResponse({"error": {"type": "Unavailable"}}, status_code=503)
            if state.busy_left > 0:
                state.busy_left -= 1
                busy = {"type": "InProgress", "message": "the first attempt still runs"}
                return JSONResponse({"error": busy}, status_code=409)
            method = request.path_params["method"]
            if method == "regions":
                return Response(b"[]", media_type="application/json")
            if method == "attach_cart":
                error = {"type": "CartNotFound", "fields": {"cart_id": "c-1"}, "message": ""}
                return JSONResponse({"error": error}, status_code=409)
            return JSONResponse({"error": {"type": "Unavailable"}}, status_code=503)
        finally:
            state.in_flight -= 1

    app = Starlette(routes=[Route("/v1/orders/{method}", answer, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    state.url = f"http://127.0.0.1:{port}"
    yield state
    server.should_exit = True
    thread.join(timeout=10)


async def test_a_read_is_retried_until_the_service_answers(stand_in: StandIn) -> None:
    stand_in.failures_left = 2
    client = remote_client("orders", stand_in.url, retries=2, backoff_s=0.001)
    try:
        assert await client.regions() == []  # type: ignore[attr-defined]
    finally:
        await client.service.close()
    assert len(stand_in.seen) == 3
    assert all("idempotency-key" not in headers for headers in stand_in.seen)


async def test_a_read_gives_up_after_its_retries_with_a_remote_error(stand_in: StandIn) -> None:
    stand_in.failures_left = 10
    client = remote_client("orders", stand_in.url, retries=1, backoff_s=0.001)
    try:
        with pytest.raises(RemoteSourceError, match="503"):
            await client.regions()  # type: ignore[attr-defined]
    finally:
        await client.service.close()
    assert len(stand_in.seen) == 2


async def test_a_retried_write_carries_one_request_key(stand_in: StandIn) -> None:
    stand_in.failures_left = 1
    client = remote_client("orders", stand_in.url, retries=2, backoff_s=0.001)
    try:
        with pytest.raises(CartNotFound) as raised:
            await client.attach_cart("c-1", 1, now=None)  # type: ignore[attr-defined]
    finally:
        await client.service.close()
    assert raised.value.cart_id == "c-1", "the domain error comes back as its own class"
    keys = {headers.get("idempotency-key") for headers in stand_in.seen}
    assert len(stand_in.seen) == 2 and len(keys) == 1 and None not in keys


async def test_a_write_still_running_on_the_service_is_waited_for(stand_in: StandIn) -> None:
    stand_in.busy_left = 5  # more than the retries: waiting is not failing
    client = remote_client("orders", stand_in.url, retries=1, backoff_s=0.001)
    try:
        with pytest.raises(CartNotFound):
            await client.attach_cart("c-1", 1, now=None)  # type: ignore[attr-defined]
    finally:
        await client.service.close()
    assert len(stand_in.seen) == 6
    assert len({headers["idempotency-key"] for headers in stand_in.seen}) == 1


async def test_the_request_id_and_the_service_secret_go_along(stand_in: StandIn) -> None:
    client = remote_client("orders", stand_in.url, request_id=lambda: "req-42")
    try:
        await client.regions()  # type: ignore[attr-defined]
    finally:
        await client.service.close()
    assert stand_in.seen[0]["x-request-id"] == "req-42"
    assert stand_in.seen[0]["authorization"].startswith("Bearer ")


async def test_a_burst_is_held_to_the_concurrency_limit(stand_in: StandIn) -> None:
    stand_in.delay_s = 0.05
    client = remote_client("orders", stand_in.url, concurrency=2)
    try:
        await asyncio.gather(*(client.regions() for _ in range(8)))  # type: ignore[attr-defined]
    finally:
        await client.service.close()
    assert len(stand_in.seen) == 8
    assert stand_in.most_in_flight == 2


@pytest.mark.load_sensitive
async def test_a_slow_service_times_out_as_a_remote_error(stand_in: StandIn) -> None:
    stand_in.delay_s = 1.0
    client = remote_client("orders", stand_in.url, timeout_s=0.1, retries=0)
    try:
        started = time.monotonic()
        with pytest.raises(RemoteSourceError, match="Timeout"):
            await client.regions()  # type: ignore[attr-defined]
        assert time.monotonic() - started < 0.9
    finally:
        await client.service.close()
