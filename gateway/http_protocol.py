"""uvicorn's httptools protocol, with each response's head and body written in one call.

Why: uvicorn writes a response's status line and headers when the application sends
``http.response.start`` and the body when it sends ``http.response.body``: two writes, and
on a socket with ``TCP_NODELAY`` (uvloop sets it) two system calls and two segments, each
waking the client. On loopback the kernel does the receiving side's work in the sender's
system call too, so a write costs the server far more than the copy (py-spy: uvicorn's
``send`` was 5-7 % of a worker's samples under the checkout bench, nearly all of it the
two writes; docs/checkout-performance.md, "The gateway's per-request fixed costs"). The
gateway answers with one body message (``Content-Length`` known), so the head can wait for
it.

How: the cycle of each request sees the connection's transport through ``_HeadHolder``,
which keeps the head's bytes instead of writing them and writes them in front of the next
bytes written, or on ``close()``, or when the cycle's next message has been handled
(a ``HEAD`` response, or an empty body that writes nothing). So the bytes on the wire and
their order are uvicorn's; only the number of writes changes. Everything else (parsing,
keep-alive, flow control, pipelining, 100-continue, errors) is uvicorn's own code.

Used by ``gateway serve`` (gateway/cli.py) when httptools is installed; it leans on
``HttpToolsProtocol._start_asgi_task`` and ``RequestResponseCycle.transport``, pinned by
uv.lock (uvicorn 0.54) and tested by tests/gateway/test_http_protocol.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class _HeadHolder:
    """A cycle's view of the connection's transport: a held head goes out with the next
    write (or before a close, or at ``flush``)."""

    __slots__ = ("_head", "_transport", "holding")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None
        self.holding = False

    def write(self, data: bytes) -> None:
        if self.holding:  # the response head: kept for the body's write
            self.holding = False
            self._head = data
            return
        head = self._head
        if head is not None:
            self._head = None
            data = head + data
        self._transport.write(data)

    def flush(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, ...
        return getattr(self._transport, name)


class _CoalescingCycle(RequestResponseCycle):
    """uvicorn's cycle, whose ``http.response.start`` head waits for the body's write."""

    transport: Any

    async def send(self, message: Any) -> None:
        holder: _HeadHolder = self.transport
        if message["type"] == "http.response.start" and not self.response_started:
            holder.holding = True
            try:
                await super().send(message)
            finally:
                holder.holding = False
            return
        try:
            await super().send(message)
        finally:
            holder.flush()  # a body that wrote nothing (HEAD, empty) still gets its head out


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``--http httptools`` protocol with ``_CoalescingCycle`` cycles."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.__class__ = _CoalescingCycle
        cycle.transport = _HeadHolder(cycle.transport)  # type: ignore[assignment]
        super()._start_asgi_task(cycle, app)


def http_protocol() -> str:
    """uvicorn's ``http=`` for ``gateway serve``: this module's protocol when httptools is
    installed (uvicorn's ``auto`` picks httptools then too), else ``auto`` (h11)."""
    try:
        import httptools  # noqa: F401
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return "auto"
    return "gateway.http_protocol:CoalescingHttpToolsProtocol"
