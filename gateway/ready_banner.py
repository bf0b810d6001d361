"""What ``gateway serve`` prints once the server answers: where GraphiQL is and how to get a
token. Printed after /healthz answers, not before uvicorn starts, so the URL printed is one
that works (a newcomer's first click)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

import httpx

STARTUP_TIMEOUT = 60.0


def public_host(host: str) -> str:
    """A bind-all address is not one a browser can open; the loopback one is."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def banner(base_url: str, *, graphiql: bool, examples: bool = False) -> str:
    where = "GraphiQL" if graphiql else "GraphQL "
    shop = f"Shop:     {base_url}/shop   (back office: {base_url}/backoffice)\n" if examples else ""
    return (
        f"{where}: {base_url}/graphql\n"
        + shop
        + "A token:  .venv/bin/gateway token customer customer1@example.com"
        "   (staff: .venv/bin/gateway token staff admin@example.com)\n"
    )


def announce_when_ready(
    host: str, port: int, *, graphiql: bool, examples: bool = False, out: TextIO = sys.stderr
) -> threading.Thread:
    """Watch the server from a daemon thread; print the banner once /healthz answers (or
    nothing if it never does: uvicorn has said why)."""
    base_url = f"http://{public_host(host)}:{port}"

    def watch() -> None:
        stopped = threading.Event()
        with httpx.Client(timeout=1.0) as client:
            for _ in range(int(STARTUP_TIMEOUT / 0.1)):
                try:
                    if client.get(f"{base_url}/healthz").status_code == 200:
                        out.write(banner(base_url, graphiql=graphiql, examples=examples))
                        out.flush()
                        return
                except httpx.TransportError:
                    pass
                stopped.wait(0.1)  # the server is still starting: look again shortly

    thread = threading.Thread(target=watch, name="ready-banner", daemon=True)
    thread.start()
    return thread
