"""`gateway source serve NAME [NAME ...]`, and `gateway serve --spawn-sources`: the sources as
services, one process per source or several sources in one process.

A source service reads the same environment as the gateway: its own database URL
(``CATALOG_DATABASE_URL``, ...), ``GATEWAY_DB_POOL_SIZE`` and the shared
``GATEWAY_SERVICE_SECRET`` every caller must present. The distributed demo starts the four
services on loopback (ports 8101-8104 unless told otherwise), points the gateway at them
and stops them with it.

Several sources in one process keep what one source has on its own: its own port (so the
gateway's ``CATALOG_URL``, ``INVENTORY_URL``, ... do not change with the layout), its own
app, database pool, ``/healthz`` and ``/readyz``, and its own uvicorn server; they share
the process's event loop, so a checkout's calls wake one process instead of four
(docs/remote-sources.md, "One process or one per source").
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import IO

import uvicorn
from starlette.applications import Starlette
from uvicorn.server import HANDLED_SIGNALS

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


def _server_config(name: str, settings: Settings, host: str | None, port: int) -> uvicorn.Config:
    from sources.common.service_protocol import SourceHTTPProtocol

    return uvicorn.Config(
        build_source_app(name, settings),
        http=SourceHTTPProtocol,  # each answer in one write, calls without an ASGI cycle
        host=host or "127.0.0.1",
        port=port,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        # Its callers are gateways, never a proxy's clients: no X-Forwarded-* rewriting
        # and no Server and Date headers to build for each of the many small answers.
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )


def source_ports(
    names: Sequence[str], *, every: bool = False, port: int | None = None
) -> dict[str, int]:
    """What `gateway source serve` was asked to serve, each source on its port: ``NAME`` on
    its usual port (8101-8104, ``DEFAULT_PORTS``) or on ``--port`` when it is the only one,
    ``NAME:PORT`` on PORT, ``--all`` the four on their usual ports. Ports are what the
    gateway's ``<SOURCE>_URL`` point at, so they are said per source, never derived from
    one another."""
    if every and names:
        raise ConfigurationError("name the sources to serve or give --all, not both")
    wanted = [f"{name}:{DEFAULT_PORTS[name]}" for name in SOURCE_NAMES] if every else names
    if not wanted:
        raise ConfigurationError("name a source to serve (or several, or --all)")
    if port is not None and len(wanted) > 1:
        raise ConfigurationError("--port serves one source; for several, say NAME:PORT each")
    ports: dict[str, int] = {}
    for item in wanted:
        name, _, given = item.partition(":")
        if name not in APIS:
            raise ConfigurationError(f"unknown source {name!r}; one of {', '.join(SOURCE_NAMES)}")
        if name in ports:
            raise ConfigurationError(f"the {name} source is named twice")
        try:
            ports[name] = int(given) if given else port or DEFAULT_PORTS[name]
        except ValueError:
            raise ConfigurationError(f"{item!r}: the port must be a number") from None
        if not 0 < ports[name] < 65536:
            raise ConfigurationError(f"{item!r}: the port must be between 1 and 65535")
    if len(set(ports.values())) < len(ports):
        raise ConfigurationError("each source needs a port of its own")
    return ports


def serve_source(name: str, settings: Settings, host: str | None, port: int | None) -> None:
    serve_sources({name: port or DEFAULT_PORTS[name]}, settings, host)


def serve_sources(ports: Mapping[str, int], settings: Settings, host: str | None) -> None:
    """Serve each source of ``ports`` on its port, all in this process: one source is one
    ``QuietServer`` as always; several are a ``SourceServers`` group on one event loop."""
    configs = [_server_config(name, settings, host, port) for name, port in ports.items()]
    if len(configs) == 1:
        QuietServer(configs[0]).run()
    else:
        SourceServers([QuietServer(config) for config in configs]).run()


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


class SourceServers:
    """Several sources' servers in one process and one event loop, each on its own port.

    Every port is bound before any source starts (a port in use stops the process before
    any source serves, with uvicorn's start-up failure, 3); the sources then start one
    after another, and one that fails to start (its lifespan: the request keys' table)
    stops those already started and the process, as a lone source's failure does. SIGINT
    and SIGTERM reach every server at once: each stops taking connections and lets its
    calls in flight answer (uvicorn's graceful shutdown, ``timeout_graceful_shutdown``),
    all together, so a shutdown of four takes as long as the slowest, not the sum. Like
    ``QuietServer`` it leans on uvicorn's ``Server.startup``, ``main_loop`` and
    ``shutdown`` (uvicorn 0.54, uv.lock); tests/gateway/test_source_processes.py serves
    four, and stops them by SIGTERM with a call in flight."""

    def __init__(self, servers: Sequence[QuietServer]) -> None:
        self.servers = list(servers)
        self._signals: list[int] = []

    def run(self) -> None:
        sockets = [server.config.bind_socket() for server in self.servers]
        with asyncio.Runner(loop_factory=self.servers[0].config.get_loop_factory()) as runner:
            runner.run(self.serve(sockets))

    async def serve(self, sockets: Sequence[socket.socket]) -> None:
        with self._capture_signals():
            started: list[tuple[QuietServer, socket.socket]] = []
            try:
                for server, sock in zip(self.servers, sockets, strict=True):
                    server.config.load()
                    server.lifespan = server.config.lifespan_class(server.config)
                    if server.should_exit:
                        break
                    await server.startup(sockets=[sock])
                    started.append((server, sock))
                await asyncio.gather(*(server.main_loop() for server, _ in started))
            finally:
                self.stop()
                await asyncio.gather(*(server.shutdown(sockets=[sock]) for server, sock in started))
                for sock in sockets:
                    sock.close()

    def stop(self) -> None:
        """Exit as on SIGTERM (from any thread)."""
        for server in self.servers:
            server.stop()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._signals.append(sig)
        for server in self.servers:
            server.handle_exit(sig, frame)

    @contextlib.contextmanager
    def _capture_signals(self) -> Iterator[None]:
        """As uvicorn's ``Server.capture_signals``, for every server at once: the signal's
        own handler runs again after the graceful shutdown (a SIGTERM still ends the
        process as a SIGTERM does)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
        for captured in reversed(self._signals):
            signal.raise_signal(captured)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    import httpx  # the parent's (gateway serve --spawn-sources); a source never calls it

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
    one_process: bool = False,
) -> SpawnedSources:
    """Start the four sources as ``gateway source serve`` processes, one per source or
    (``one_process``) one for the four, each source on its own port either way, and wait
    until each answers."""
    ports = ports or DEFAULT_PORTS
    secret = env.get("GATEWAY_SERVICE_SECRET") or secrets.token_urlsafe(32)
    child_env = {**env, "GATEWAY_SERVICE_SECRET": secret}
    for name in SOURCE_NAMES:  # a service serves its own database, never another service
        child_env.pop(f"{name.upper()}_URL", None)
    spawned = SpawnedSources([], {"GATEWAY_SERVICE_SECRET": secret})
    serve = [sys.executable, "-m", "gateway", "source", "serve", "--host", host]
    groups = [list(SOURCE_NAMES)] if one_process else [[name] for name in SOURCE_NAMES]
    waits: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for names in groups:
            command = serve + [f"{name}:{ports[name]}" for name in names]
            process = subprocess.Popen(command, env=child_env, stdout=output, stderr=output)
            spawned.processes.append(process)
            for name in names:
                spawned.env[f"{name.upper()}_URL"] = f"http://{host}:{ports[name]}"
                waits.append((spawned.env[f"{name.upper()}_URL"], process))
        for url, process in waits:
            wait_until_healthy(url, process)
    except BaseException:
        spawned.stop()
        raise
    return spawned


@contextlib.contextmanager
def spawned_sources(
    env: Mapping[str, str], *, one_process: bool = False
) -> Iterator[dict[str, str]]:
    """The four services for as long as the block runs; yields the gateway's environment."""
    spawned = start_sources(env, one_process=one_process)
    try:
        yield spawned.env
    finally:
        spawned.stop()
