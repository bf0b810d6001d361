"""Idle keep-alive connections stay open as long as GATEWAY_KEEP_ALIVE_SECONDS says: a
proxy in front reuses its idle connections to the gateway for up to a minute, and a
connection the gateway closed first loses the request sent on it (a 502 at the proxy).
A real ``gateway serve``, a raw socket kept idle between two requests."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import _migrate_and_seed, sqlite_urls
from tests.gateway.checkout_helpers import run
from tests.gateway.lifecycle.processes import spawn_gateway
from tests.remote import free_port

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"


def _answered(conn: socket.socket) -> bool:
    """Whether a request on ``conn`` gets an answer (False: the server had closed it)."""
    try:
        conn.sendall(REQUEST)
        return conn.recv(65536).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


@pytest.mark.parametrize(("keep_alive", "still_open"), [("1", False), ("30", True)])
def test_an_idle_connection_lives_as_long_as_configured(
    tmp_path: Path, keep_alive: str, still_open: bool
) -> None:
    urls = sqlite_urls(tmp_path)
    run(lambda: _migrate_and_seed(urls, products=60))
    port = free_port()
    env = {
        **os.environ,
        **{f"{source.upper()}_DATABASE_URL": url for source, url in urls.items()},
        "GATEWAY_KEEP_ALIVE_SECONDS": keep_alive,
    }
    process = spawn_gateway(port, env, tmp_path, tmp_path / "gateway.log")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            assert _answered(conn)
            time.sleep(2.5)  # idle past the short keep-alive, well within the long one
            assert _answered(conn) is still_open
    finally:
        process.terminate()
        process.wait(timeout=30)
