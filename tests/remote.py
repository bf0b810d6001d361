"""Sources as services in tests: the same app `gateway source serve NAME` runs, served by
uvicorn on a free port (in a thread of the test process, so a test can start one per
database in a few milliseconds), and the HTTP adapter the gateway uses to reach it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from typing import Any

import uvicorn

from sources.apis import APIS
from sources.common.client import RemoteSource
from sources.common.service import source_app
from sources.common.service_protocol import SourceHTTPProtocol

SECRET = "test-service-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def source_service(name: str, database_url: str, *, secret: str = SECRET) -> Iterator[str]:
    """One source's service over ``database_url``; yields its base URL."""
    api = APIS[name]
    app = source_app(name, api.interface, api.errors, api.make_store, database_url, secret=secret)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        # as `gateway source serve` runs it (without proxy headers' middleware around the
        # app, the protocol answers the calls itself: service_protocol.py)
        http=SourceHTTPProtocol,
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name=f"source-{name}")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {name} service did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


_shared: dict[tuple[str, str], tuple[ExitStack, str]] = {}


def shared_service(name: str, database_url: str) -> str:
    """A service kept for the session, for a database many tests use in turn."""
    key = (name, database_url)
    if key not in _shared:
        stack = ExitStack()
        _shared[key] = (stack, stack.enter_context(source_service(name, database_url)))
    return _shared[key][1]


def stop_shared_services() -> None:
    for stack, _ in _shared.values():
        stack.close()
    _shared.clear()


def remote_client(name: str, url: str, **options: Any) -> RemoteSource:
    api = APIS[name]
    return RemoteSource(name, api.interface, api.errors, url, secret=SECRET, **options)


@asynccontextmanager
async def adapter_for(
    adapter: str, name: str, store: Any, *, shared: bool = False
) -> AsyncIterator[Any]:
    """``store`` itself (adapter "store"), or the HTTP adapter talking to a service over the
    same database (adapter "http"; ``shared``: the service outlives the test, for a database
    the session reuses). The client keeps ``db`` (the test's own connection to that
    database), so a test inspects rows the same way with either adapter."""
    if adapter == "store":
        yield store
        return
    with ExitStack() as stack:
        if shared:
            url = shared_service(name, store.db.url)
        else:
            url = stack.enter_context(source_service(name, store.db.url))
        client = remote_client(name, url)
        client.db = store.db  # type: ignore[attr-defined]
        try:
            yield client
        finally:
            await client.service.close()
