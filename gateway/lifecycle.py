"""Graceful shutdown: what a SIGTERM does to a serving gateway, so a rolling restart in the
middle of a sale loses nothing.

uvicorn, given ``timeout_graceful_shutdown`` (``GATEWAY_SHUTDOWN_GRACE``), already stops
accepting connections, closes idle keep-alive connections, lets the requests in flight
finish within the grace, and only then runs the app's shutdown (background work stops,
pools close). What it cannot know is the app's side, added here:

- ``/readyz`` answers 503 ``draining`` from the moment the signal arrives, so a load
  balancer or an orchestrator that can still reach the process takes it out of rotation;
- a request that reaches the app after the signal (one already on its way when the
  listener closed) is answered 503 with ``Retry-After`` and ``Connection: close``: a
  retryable refusal the client or load balancer sends elsewhere, never half a checkout.

The signal is heard by wrapping the server's own handler while the app runs (uvicorn's, or
any ASGI server that handles SIGTERM itself), so a process serves exactly as before, only
draining first.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
RETRY_AFTER_SECONDS = 1

Handler = Callable[[int, FrameType | None], Any] | int | None


class Lifecycle:
    """Whether this app is draining; turned on by a shutdown signal (or ``drain()``)."""

    def __init__(self) -> None:
        self.is_draining = False

    def drain(self) -> None:
        self.is_draining = True

    @contextlib.contextmanager
    def draining_on_signals(self) -> Iterator[None]:
        """For the app's lifetime: a SIGTERM or SIGINT marks it draining, then goes on to
        the handler that was there (the server's, which starts its graceful shutdown).
        Only the main thread may set signal handlers: elsewhere (a test's server in a
        thread) nothing is wrapped and ``drain()`` is called by hand."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous: dict[int, Handler] = {}
        for sig in DRAIN_SIGNALS:
            before = signal.getsignal(sig)
            previous[sig] = before
            signal.signal(sig, self._handler(before))
        try:
            yield
        finally:
            for number, handler in previous.items():
                # Put back what was there, unless the server has since set its own.
                if getattr(signal.getsignal(number), "drains", None) is self:
                    signal.signal(number, handler)

    def _handler(self, before: Handler) -> Callable[[int, FrameType | None], None]:
        def handle(sig: int, frame: FrameType | None) -> None:
            self.drain()
            if callable(before):
                before(sig, frame)
            elif before == signal.SIG_DFL:
                signal.signal(sig, signal.SIG_DFL)
                signal.raise_signal(sig)

        handle.drains = self  # type: ignore[attr-defined]
        return handle


class DrainGate:
    """Pure ASGI: while draining, every request but the probes is refused, retryably."""

    def __init__(self, app: ASGIApp, lifecycle: Lifecycle) -> None:
        self.app = app
        self.lifecycle = lifecycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.lifecycle.is_draining or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {
                "errors": [
                    {
                        "message": "this server is restarting; send the request again",
                        "extensions": {"code": "SERVER_DRAINING"},
                    }
                ]
            },
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"},
        )
        await response(scope, receive, send)
