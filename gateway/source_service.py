"""`gateway source serve NAME`, and `gateway serve --spawn-sources`: the sources as their
own processes.

A source service reads the same environment as the gateway: its own database URL
(``CATALOG_DATABASE_URL``, ...), ``GATEWAY_DB_POOL_SIZE`` and the shared
``GATEWAY_SERVICE_SECRET`` every caller must present. The distributed demo starts the four
services on loopback (ports 8101-8104 unless told otherwise), points the gateway at them
and stops them with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import IO

import httpx
import uvicorn
from starlette.applications import Starlette

from sources.apis import APIS
from sources.common.service import source_app

from .remote_settings import DEFAULT_PORTS
from .settings import SOURCE_NAMES, ConfigurationError, Settings
from .sources import store_factory
from .tracing import install_source_tracing


def build_source_app(name: str, settings: Settings) -> Starlette:
    if name not in APIS:
        raise ConfigurationError(f"unknown source {name!r}; one of {', '.join(SOURCE_NAMES)}")
    secret = settings.remote.service_secret
    if secret is None:
        raise ConfigurationError(
            "configuration error: GATEWAY_SERVICE_SECRET (16+ characters) must be set to "
            "serve a source: callers present it as `Authorization: Bearer <secret>`"
        )
    api = APIS[name]
    app = source_app(
        name,
        api.interface,
        api.errors,
        store_factory(name, settings),
        settings.database_urls()[name],
        secret=secret,
        pool_size=settings.db_pool_size,
        latency_s=settings.source_latency_ms / 1000,
    )
    install_source_tracing(app, settings.tracing, name)
    return app


def serve_source(name: str, settings: Settings, host: str | None, port: int | None) -> None:
    from sources.common.service_protocol import SourceHTTPProtocol

    app = build_source_app(name, settings)
    config = uvicorn.Config(
        app,
        http=SourceHTTPProtocol,  # each answer in one write, calls without an ASGI cycle
        host=host or "127.0.0.1",
        port=port or DEFAULT_PORTS[name],
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        # Its callers are gateways, never a proxy's clients: no X-Forwarded-* rewriting
        # and no Server and Date headers to build for each of the many small answers.
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )
    QuietServer(config).run()


class QuietServer(uvicorn.Server):
    """uvicorn's server without its tick: uvicorn wakes its process ten times a second to
    look at ``should_exit`` (and refresh the Date header, which a service does not send);
    this one sleeps until ``handle_exit`` (SIGINT, SIGTERM) or ``stop`` wakes it. A
    service idles between its gateways' calls, and on a machine of two cores shared by
    five processes each needless wake-up runs on caches the others have taken.

    It leans on ``Server.main_loop``, ``on_tick`` and ``handle_exit`` (uvicorn 0.54,
    uv.lock); tests/sources/test_service.py stops a served source by SIGTERM."""

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0  # on_tick's first call sets the default headers, as uvicorn's does
        while not await self.on_tick(counter):
            counter = 1  # and not again: they carry no date
            await self._wake.wait()
            self._wake.clear()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self.stop()

    def stop(self) -> None:
        """Exit as on SIGTERM (from any thread)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the source service at {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the source service at {url} did not start within {timeout_s:.0f}s")


@dataclass
class SpawnedSources:
    processes: list[subprocess.Popen[bytes]]
    env: dict[str, str]  # what points a gateway at them: their URLs and the shared secret

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_sources(
    env: Mapping[str, str],
    ports: Mapping[str, int] | None = None,
    *,
    host: str = "127.0.0.1",
    output: IO[bytes] | None = None,
) -> SpawnedSources:
    """Start the four ``gateway source serve`` processes and wait until each answers."""
    ports = ports or DEFAULT_PORTS
    secret = env.get("GATEWAY_SERVICE_SECRET") or secrets.token_urlsafe(32)
    child_env = {**env, "GATEWAY_SERVICE_SECRET": secret}
    for name in SOURCE_NAMES:  # a service serves its own database, never another service
        child_env.pop(f"{name.upper()}_URL", None)
    spawned = SpawnedSources([], {"GATEWAY_SERVICE_SECRET": secret})
    try:
        for name in SOURCE_NAMES:
            command = [sys.executable, "-m", "gateway", "source", "serve", name]
            command += ["--host", host, "--port", str(ports[name])]
            spawned.processes.append(
                subprocess.Popen(command, env=child_env, stdout=output, stderr=output)
            )
            spawned.env[f"{name.upper()}_URL"] = f"http://{host}:{ports[name]}"
        for process, name in zip(spawned.processes, SOURCE_NAMES, strict=True):
            wait_until_healthy(spawned.env[f"{name.upper()}_URL"], process)
    except BaseException:
        spawned.stop()
        raise
    return spawned


@contextlib.contextmanager
def spawned_sources(env: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """The four services for as long as the block runs; yields the gateway's environment."""
    spawned = start_sources(env)
    try:
        yield spawned.env
    finally:
        spawned.stop()
