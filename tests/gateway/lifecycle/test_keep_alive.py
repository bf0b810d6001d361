"""Idle keep-alive connections stay open as long as GATEWAY_KEEP_ALIVE_SECONDS says: a
proxy in front reuses its idle connections to the gateway for up to a minute, and a
connection the gateway closed first loses the request sent on it (a 502 at the proxy).
A real ``gateway serve``, one connection kept idle between two requests."""

from __future__ import annotations

import http.client
import os
import time
from pathlib import Path

import pytest

from tests.conftest import _migrate_and_seed, sqlite_urls
from tests.gateway.checkout_helpers import run
from tests.gateway.lifecycle.processes import spawn_gateway
from tests.remote import free_port


def _answered(conn: http.client.HTTPConnection) -> bool:
    """Whether a request on ``conn``'s open connection gets an answer (False: the server
    had closed it; http.client does not reconnect an open connection on its own)."""
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()  # the whole answer, so the next one starts clean
        return response.status == 200
    except (http.client.HTTPException, OSError):
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
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            assert _answered(conn)
            first = conn.sock
            time.sleep(2.5)  # idle past the short keep-alive, well within the long one
            assert _answered(conn) is still_open
            if still_open:
                assert conn.sock is first, "answered on a new connection"
        finally:
            conn.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
