"""``gateway serve`` (what ``make run`` ends with) prints where GraphiQL is and how to get a
token, once the server answers: the URL printed is one that already works."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from gateway.ready_banner import banner, public_host

from .cli import REPO, gateway, sqlite_env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_prints_a_working_graphiql_url_and_the_token_command(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    assert gateway("seed", "--products", "60", env=env, cwd=tmp_path).returncode == 0
    port = _free_port()
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**base, "PYTHONPATH": str(REPO), "GATEWAY_LOG_FORMAT": "console", **env},
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    printed: list[str] = []
    announced = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            printed.append(line)
            if line.startswith("A token:"):
                announced.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert announced.wait(60), "".join(printed)
        url = f"http://127.0.0.1:{port}/graphql"
        assert f"GraphiQL: {url}\n" in printed
        assert "gateway token customer customer1@example.com" in printed[-1]
        page = httpx.get(url, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
    finally:
        process.terminate()
        process.wait(20)


def test_a_bind_all_address_is_printed_as_one_a_browser_opens() -> None:
    assert public_host("0.0.0.0") == "127.0.0.1"
    assert public_host("gateway.internal") == "gateway.internal"
    assert banner("http://127.0.0.1:8000", graphiql=False).startswith("GraphQL : ")


def test_with_the_examples_on_the_banner_says_where_the_shop_is() -> None:
    text = banner("http://127.0.0.1:8000", graphiql=True, examples=True)
    assert "http://127.0.0.1:8000/shop" in text and "/backoffice" in text
    assert "/shop" not in banner("http://127.0.0.1:8000", graphiql=True)
