"""``/readyz`` never says "ok" for a database it cannot query or one that is not at the
code's revision, on the gateway and on a source's own service; in production ``gateway
serve`` starts anyway and lets ``/readyz`` hold traffic back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.settings import SOURCE_NAMES, Settings
from sources.common.db import Database
from sources.common.migrate import upgrade_source
from tests.conftest import serve, settings_for
from tests.remote import source_service

from .cli import REPO, sqlite_env


def _urls(directory: Path) -> dict[str, str]:
    return {n: f"sqlite+aiosqlite:///{directory}/{n}.db" for n in SOURCE_NAMES}


async def _migrate(urls: dict[str, str], names: list[str]) -> None:
    for name in names:
        db = Database(urls[name])
        try:
            await upgrade_source(name, db)
        finally:
            await db.dispose()


def test_readyz_names_the_database_that_was_never_migrated(tmp_path: Path) -> None:
    urls = _urls(tmp_path)
    asyncio.run(_migrate(urls, ["catalog", "inventory", "pricing"]))

    for gateway in serve(settings_for(urls)):
        response = gateway.client.get("/readyz")

        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["sources"]["orders"].startswith("no database file")
        assert "gateway migrate" in body["sources"]["orders"]
        assert [n for n, v in body["sources"].items() if v == "ok"] == [
            "catalog",
            "inventory",
            "pricing",
        ]


def test_readyz_is_not_ok_for_an_empty_database_file(tmp_path: Path) -> None:
    urls = _urls(tmp_path)
    asyncio.run(_migrate(urls, ["catalog", "inventory", "pricing"]))
    (tmp_path / "orders.db").touch()  # there, reachable, and empty

    for gateway in serve(settings_for(urls)):
        body = gateway.client.get("/readyz").json()

        assert body["sources"]["orders"].startswith("not migrated")


def test_a_source_service_is_not_ready_until_its_database_is_migrated(tmp_path: Path) -> None:
    urls = _urls(tmp_path)
    (tmp_path / "orders.db").touch()

    with source_service("orders", urls["orders"]) as url:
        before = httpx.get(f"{url}/readyz")
        asyncio.run(_migrate(urls, ["orders"]))
        after = httpx.get(f"{url}/readyz")

    assert before.status_code == 503
    assert before.json()["database"].startswith("not migrated")
    assert after.status_code == 200 and after.json()["database"] == "ok"


def test_a_gateway_over_a_remote_source_says_why_it_is_not_ready(tmp_path: Path) -> None:
    urls = _urls(tmp_path)
    asyncio.run(_migrate(urls, ["catalog", "inventory", "pricing"]))
    (tmp_path / "orders.db").touch()
    from gateway.remote_settings import RemoteSettings
    from tests.remote import SECRET

    with source_service("orders", urls["orders"]) as orders_url:
        remote = RemoteSettings(orders_url=orders_url, service_secret=SECRET)
        settings: Settings = settings_for(urls).model_copy(update={"remote": remote})
        for gateway in serve(settings):
            body = gateway.client.get("/readyz").json()

    assert body["sources"]["orders"].startswith("not migrated")


def test_production_serve_starts_unmigrated_and_readyz_holds_traffic_back(
    tmp_path: Path,
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        **sqlite_env(tmp_path),
        "PYTHONPATH": str(REPO),
        "GATEWAY_ENV": "production",
        "GATEWAY_JWT_SECRET": "x" * 40,
        "GATEWAY_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response is not None, "the production gateway did not start"
        assert response.status_code == 503
        assert set(response.json()["sources"].values()) != {"ok"}
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert "starting the gateway anyway" in stderr
    assert "Traceback" not in stderr
