"""bench.processes' wrk load: every request carries the GraphQL body and one of the buyers'
tokens in turn, and an answer with GraphQL ``errors`` (or not a 200) is counted as a
failure, so a broken listing cannot pass for a fast one."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import wrk


@pytest.fixture(autouse=True)
def _wrk_installed() -> None:
    """`make test` installs wrk (as root, from Debian); in CI a missing one fails."""
    if wrk.wrk_path() is None:
        reason = "wrk not installed (make wrk)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: Counter[str] = Counter()
    bodies: set[bytes] = set()
    answer = b'{"data": {"ok": true}}'

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen[self.headers["Authorization"]] += 1
        type(self).bodies.add(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Handler", (_Recorder,), {"seen": Counter(), "bodies": set()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/graphql", handler
    httpd.shutdown()
    httpd.server_close()


def test_wrk_sends_the_body_with_each_token_in_turn(server: tuple[str, type[_Recorder]]) -> None:
    url, handler = server
    body = b'{"query": "{ viewer { id } }"}'

    (result,) = wrk.run([url], body, ["tok-a", "tok-b", "tok-c"], connections=1, duration=1)

    assert result.failures == 0 and result.requests > 3
    assert handler.bodies == {body}
    counts = handler.seen
    assert set(counts) == {"Bearer tok-a", "Bearer tok-b", "Bearer tok-c"}
    assert max(counts.values()) - min(counts.values()) <= 1
    assert result.cpu_seconds < 1.0  # what bench.processes reports as the generator's CPU


def test_wrk_counts_graphql_errors_as_failures(server: tuple[str, type[_Recorder]]) -> None:
    url, handler = server
    handler.answer = b'{"errors": [{"message": "not signed in"}]}'

    (result,) = wrk.run([url], b"{}", ["tok"], connections=1, duration=1)

    assert result.requests > 0 and result.failures == result.requests
    assert "not signed in" in result.first_failure
