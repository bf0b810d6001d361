"""A draining gateway, as a load balancer and a client see it: out of rotation at once,
new requests refused with a retryable 503, and a readiness probe that answers on time
even when one dependency hangs."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.remote_settings import RemoteSettings
from tests.conftest import serve, settings_for
from tests.gateway.tracing.support import served
from tests.remote import SECRET

pytestmark = pytest.mark.load_sensitive  # tests/conftest.py: run again if the machine made it miss


@pytest.fixture
def app(sqlite_shop: dict[str, str]) -> Starlette:
    return create_app(settings_for(sqlite_shop, sweep_interval_seconds=0))


def test_a_draining_gateway_leaves_rotation_and_refuses_new_requests_retryably(
    app: Starlette,
) -> None:
    with served(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/readyz").status_code == 200
        app.state.lifecycle.drain()  # what SIGTERM does first

        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "draining"}
        refused = client.post("/graphql", json={"query": "{ categories { id } }"})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["connection"] == "close"
        assert refused.json()["errors"][0]["extensions"]["code"] == "SERVER_DRAINING"
        assert client.get("/healthz").status_code == 200  # alive, just leaving
        assert client.get("/metrics").status_code == 200


def test_readiness_answers_on_time_when_a_source_hangs(sqlite_shop: dict[str, str]) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        hung = f"http://127.0.0.1:{silent.getsockname()[1]}"
        remote = RemoteSettings(catalog_url=hung, service_secret=SECRET, timeout_seconds=30)
        settings = settings_for(
            sqlite_shop, remote=remote, readiness_timeout_seconds=0.5, sweep_interval_seconds=0
        )
        for live in serve(settings):
            started = time.monotonic()
            ready = live.client.get("/readyz")
            took = time.monotonic() - started
    assert ready.status_code == 503
    body = ready.json()
    assert body["sources"]["catalog"] == "error: no answer within 0.5 s"
    assert body["sources"]["orders"] == "ok"  # the others answered for themselves
    assert took < 5
