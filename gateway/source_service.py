"""`gateway source serve NAME`, and `gateway serve --spawn-sources`: the sources as their
own processes.

A source service reads the same environment as the gateway: its own database URL
(``CATALOG_DATABASE_URL``, ...), ``GATEWAY_DB_POOL_SIZE`` and the shared
``GATEWAY_SERVICE_SECRET`` every caller must present. The distributed demo starts the four
services on loopback (ports 8101-8104 unless told otherwise), points the gateway at them
and stops them with it.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping

import httpx
from starlette.applications import Starlette

from sources.apis import APIS
from sources.common.service import source_app

from .remote_settings import DEFAULT_PORTS
from .settings import SOURCE_NAMES, ConfigurationError, Settings


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
    return source_app(
        name,
        api.interface,
        api.errors,
        api.make_store,
        settings.database_urls()[name],
        secret=secret,
        pool_size=settings.db_pool_size,
    )


def serve_source(name: str, settings: Settings, host: str | None, port: int | None) -> None:
    import uvicorn

    app = build_source_app(name, settings)
    uvicorn.run(
        app,
        host=host or "127.0.0.1",
        port=port or DEFAULT_PORTS[name],
        access_log=False,
        log_level="warning",
    )


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


@contextlib.contextmanager
def spawned_sources(
    env: Mapping[str, str], ports: Mapping[str, int] | None = None, host: str = "127.0.0.1"
) -> Iterator[dict[str, str]]:
    """Start the four ``gateway source serve`` processes; yield the environment that points
    a gateway at them (their URLs and the shared secret); stop them on exit."""
    ports = ports or DEFAULT_PORTS
    secret = env.get("GATEWAY_SERVICE_SECRET") or secrets.token_urlsafe(32)
    child_env = {**env, "GATEWAY_SERVICE_SECRET": secret}
    for name in SOURCE_NAMES:  # a service serves its own database, never another service
        child_env.pop(f"{name.upper()}_URL", None)
    processes: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    try:
        for name in SOURCE_NAMES:
            command = [sys.executable, "-m", "gateway", "source", "serve", name]
            command += ["--host", host, "--port", str(ports[name])]
            processes.append(subprocess.Popen(command, env=child_env))
            urls[name] = f"http://{host}:{ports[name]}"
        for process, url in zip(processes, urls.values(), strict=True):
            wait_until_healthy(url, process)
        yield {
            "GATEWAY_SERVICE_SECRET": secret,
            **{f"{name.upper()}_URL": url for name, url in urls.items()},
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
