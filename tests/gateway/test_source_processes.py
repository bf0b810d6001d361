"""Several sources in one `gateway source serve` process: each keeps its own port, so the
gateway's per-source URLs do not change with the layout; each port answers its own
source's calls over the real database and refuses a caller without the service secret
before reading the body; a buyer checks out through the gateway over that one process;
and a SIGTERM lets a call in flight answer, then stops all of them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.cli import main
from gateway.remote_settings import RemoteSettings
from gateway.settings import SOURCE_NAMES
from gateway.source_service import SpawnedSources, start_sources, wait_until_healthy
from sources.common.wire import encode
from tests.conftest import _serve as serve_gateway
from tests.conftest import seeded_shop_urls, settings_for
from tests.gateway.checkout_helpers import PRODUCTS, Goods, Shop
from tests.remote import SECRET, free_port

# One read per source, and an id the demo shop has for it.
READS = {
    "catalog": ("skus_by_ids", {"ids": [1]}),
    "inventory": ("stock_by_sku_ids", {"sku_ids": [1]}),
    "pricing": ("prices_by_sku_ids", {"sku_ids": [1], "currency": "CNY"}),
    "orders": ("customers_by_ids", {"ids": [1]}),
}


def _shop_urls(backend: str, directory: Path) -> Iterator[dict[str, str]]:
    yield from seeded_shop_urls(backend, directory, PRODUCTS)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], SpawnedSources]]:
    """A fresh shop and the four sources in one `gateway source serve` process."""
    for urls in _shop_urls(request.param, tmp_path_factory.mktemp("one-process")):
        env = {
            **os.environ,
            **{f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()},
            "GATEWAY_SERVICE_SECRET": SECRET,
            "GATEWAY_DB_POOL_SIZE": "2",  # four pools on a shared PostgreSQL
        }
        ports = {name: free_port() for name in SOURCE_NAMES}
        spawned = start_sources(env, ports, one_process=True)
        try:
            yield urls, spawned
        finally:
            spawned.stop()


def _url(spawned: SpawnedSources, name: str) -> str:
    return spawned.env[f"{name.upper()}_URL"]


def test_one_process_answers_each_sources_calls_on_its_own_port(
    served: tuple[dict[str, str], SpawnedSources],
) -> None:
    _, spawned = served
    assert len(spawned.processes) == 1
    assert len({_url(spawned, name) for name in SOURCE_NAMES}) == 4, "a port per source"
    auth = {"authorization": f"Bearer {SECRET}"}
    for name, (method, arguments) in READS.items():
        url = _url(spawned, name)
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "source": name}
        assert httpx.get(f"{url}/readyz").json()["database"] == "ok"
        answered = httpx.post(f"{url}/v1/{name}/{method}", content=encode(arguments), headers=auth)
        assert answered.status_code == 200, answered.text
        assert list(answered.json()) == ["1"], f"{name}.{method} read its own database"
        forged = httpx.post(
            f"{url}/v1/{name}/{method}",
            content=encode(arguments),
            headers={"authorization": "Bearer not-the-secret-at-all"},
        )
        assert forged.status_code == 401
    # Each port is its own source's service, not a shared router.
    other = httpx.post(
        f"{_url(spawned, 'inventory')}/v1/catalog/skus_by_ids",
        content=encode({"ids": [1]}),
        headers=auth,
    )
    assert other.status_code == 404


def test_a_stranger_is_refused_before_its_body_is_read(
    served: tuple[dict[str, str], SpawnedSources],
) -> None:
    """A caller without the secret announcing a large body gets its 401 at once, with
    nothing sent after the headers: the service never waits for (or holds) the body."""
    _, spawned = served
    host, port = _url(spawned, "orders").removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/orders/customers_by_ids HTTP/1.1\r\nhost: x\r\n"
            b"authorization: Bearer wrong\r\ncontent-length: 10000000\r\n\r\n"
        )
        assert conn.recv(4096).startswith(b"HTTP/1.1 401 ")


def test_a_buyer_checks_out_through_the_gateway_over_one_source_process(
    served: tuple[dict[str, str], SpawnedSources],
) -> None:
    urls, spawned = served
    remote = RemoteSettings.model_validate(
        {f"{name}_url": _url(spawned, name) for name in SOURCE_NAMES}
        | {"service_secret": SECRET, "timeout_seconds": 60}
    )
    settings = settings_for(urls, sweep_interval_seconds=0, db_pool_size=2)
    settings = settings.model_copy(update={"remote": remote})
    backend = "sqlite" if urls["orders"].startswith("sqlite") else "postgresql"
    for live in serve_gateway(settings):
        shop = Shop(backend, urls, live)
        sku = Goods(shop.plain_skus()).take()
        before, calls_before = shop.available(sku.id), live.source_calls()

        order = shop.buy([(sku.id, 2)], token=shop.customer_token(1), key="one-process")

        assert order["status"] == "PENDING_PAYMENT"
        assert [line["quantity"] for line in order["lines"]] == [2]
        assert shop.available(sku.id) == before - 2, "the stock was reserved"
        number = {"n": order["number"]}
        assert shop.scalar("orders", "SELECT COUNT(*) FROM orders WHERE number = :n", number) == 1
        called = {
            source
            for (source, method), n in live.source_calls().items()
            if n > calls_before.get((source, method), 0)
        }
        assert called == set(SOURCE_NAMES), "every source answered, all from the one process"


def _one_process(shop: dict[str, str], *ports: int) -> list[str]:
    return [
        sys.executable, "-m", "gateway", "source", "serve",
        *(f"{name}:{port}" for name, port in zip(SOURCE_NAMES, ports, strict=True)),
    ]  # fmt: skip


def _env(shop: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        **{f"{name.upper()}_DATABASE_URL": url for name, url in shop.items()},
        "GATEWAY_SERVICE_SECRET": SECRET,
    }


def test_sigterm_lets_a_call_in_flight_answer_then_stops_every_source(
    sqlite_shop: dict[str, str],
) -> None:
    """A rolling restart of a process serving the four loses nothing: the call it is
    answering when the SIGTERM comes gets its answer, then every port closes."""
    ports = [free_port() for _ in SOURCE_NAMES]
    env = _env(sqlite_shop) | {"GATEWAY_SOURCE_LATENCY_MS": "1500"}  # a slow database
    process = subprocess.Popen(_one_process(sqlite_shop, *ports), env=env)
    inventory = f"http://127.0.0.1:{ports[1]}"
    answers: list[httpx.Response] = []
    try:
        for port in ports:
            wait_until_healthy(f"http://127.0.0.1:{port}", process)
        with httpx.Client(base_url=inventory, timeout=60) as client:
            client.get("/healthz")  # the connection accepted before the signal

            def call() -> None:
                answers.append(
                    client.post(
                        "/v1/inventory/stock_by_sku_ids",
                        content=encode({"sku_ids": [1]}),
                        headers={"authorization": f"Bearer {SECRET}"},
                    )
                )

            in_flight = threading.Thread(target=call)
            in_flight.start()
            time.sleep(0.7)
            process.terminate()
            in_flight.join(timeout=60)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert [answer.status_code for answer in answers] == [200]
    assert list(answers[0].json()) == ["1"]
    for port in ports:
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_a_port_in_use_stops_the_process_before_any_source_serves(
    sqlite_shop: dict[str, str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = [free_port(), free_port(), free_port(), taken.getsockname()[1]]
        done = subprocess.run(
            _one_process(sqlite_shop, *ports),
            env=_env(sqlite_shop),
            capture_output=True,
            timeout=120,
        )
    assert done.returncode == 3, done.stderr  # uvicorn's STARTUP_FAILURE
    assert b"address already in use" in done.stderr.lower()


def test_the_command_says_what_it_cannot_serve(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["source", "serve", "catalog", "inventory", "--port", "9000"]) == 2
    assert main(["source", "serve", "catalog:9000", "orders:9000"]) == 2
    assert main(["source", "serve", "catalog", "--all"]) == 2
    assert main(["source", "serve", "warehouse"]) == 2
    errors = capsys.readouterr().err
    assert "--port serves one source" in errors
    assert "each source needs a port of its own" in errors
    assert "not both" in errors
    assert "unknown source 'warehouse'" in errors
