"""The gateway over sources it reaches over HTTP, whatever `--sources` says: a storefront sees
the same JSON for the same source calls as with embedded sources, a back office can tell
from /readyz when a source service is down, and a remote source without a service secret
is a configuration error, not a silent failure on the first request."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from gateway.settings import ConfigurationError, load_settings
from tests.conftest import LiveGateway, _serve, settings_for, with_remote_sources

from .test_listing import LISTING, LISTING_CALLS


@pytest.fixture(scope="module")
def embedded(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    settings = settings_for(sqlite_shop, cache={"enabled": False})
    yield from _serve(settings)


@pytest.fixture
def remote(sqlite_shop: dict[str, str]) -> Iterator[tuple[LiveGateway, ExitStack]]:
    with ExitStack() as services:
        settings = with_remote_sources(
            settings_for(sqlite_shop, cache={"enabled": False}), services
        )
        for gateway in _serve(settings):
            yield gateway, services


def test_a_listing_over_remote_sources_is_the_same_json_for_the_same_calls(
    embedded: LiveGateway, remote: tuple[LiveGateway, ExitStack]
) -> None:
    gateway, _ = remote
    assert gateway.settings.remote.remote_sources == ["catalog", "inventory", "pricing", "orders"]

    local, local_calls = embedded.calls_during(LISTING, operation_name="Listing")
    over_http, remote_calls = gateway.calls_during(LISTING, operation_name="Listing")

    assert "errors" not in over_http, over_http["errors"]
    assert over_http == local
    assert remote_calls == local_calls == LISTING_CALLS, "one loader batch is one HTTP call"


def test_readiness_names_a_source_service_that_is_down(
    remote: tuple[LiveGateway, ExitStack],
) -> None:
    gateway, services = remote
    ready = gateway.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["sources"] == dict.fromkeys(
        ("catalog", "inventory", "pricing", "orders"), "ok"
    )

    services.close()  # every source service stops

    down = gateway.client.get("/readyz")
    assert down.status_code == 503
    assert all(state.startswith("error") for state in down.json()["sources"].values())
    result = gateway.query("{ categories { slug } }")
    assert result["errors"], "a source that cannot be reached is an error, not empty data"


def test_a_remote_source_needs_the_service_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_URL", "http://127.0.0.1:8102")
    monkeypatch.delenv("GATEWAY_SERVICE_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match=r"GATEWAY_SERVICE_SECRET.*inventory"):
        load_settings()
    monkeypatch.setenv("INVENTORY_URL", "inventory:8102")
    with pytest.raises(ConfigurationError, match="INVENTORY_URL"):
        load_settings()


def test_the_distributed_demo_serves_the_shop_from_four_source_processes(
    sqlite_shop: dict[str, str],
) -> None:
    """What `gateway serve --spawn-sources` starts (on free ports here): four `gateway source
    serve` processes, and a gateway pointed at them by their URLs and secret."""
    from gateway.remote_settings import RemoteSettings
    from gateway.source_service import start_sources
    from tests.remote import free_port

    env = {
        **os.environ,
        **{f"{name.upper()}_DATABASE_URL": url for name, url in sqlite_shop.items()},
    }
    spawned = start_sources(env, {name: free_port() for name in sqlite_shop})
    try:
        assert all(process.poll() is None for process in spawned.processes)
        remote = RemoteSettings(
            **{f"{name}_url": spawned.env[f"{name.upper()}_URL"] for name in sqlite_shop},
            service_secret=spawned.env["GATEWAY_SERVICE_SECRET"],
        )
        settings = settings_for(sqlite_shop).model_copy(update={"remote": remote})
        for gateway in _serve(settings):
            result, calls = gateway.calls_during(LISTING, operation_name="Listing")
            assert "errors" not in result, result["errors"]
            assert len(result["data"]["products"]["edges"]) == 50
            assert calls == LISTING_CALLS
    finally:
        spawned.stop()
    assert all(process.poll() is not None for process in spawned.processes)
