"""The source services' HTTP protocol: uvicorn's httptools protocol, each answer in one write.

uvicorn writes an answer's status line and headers when the app sends
``http.response.start`` and its body when it sends ``http.response.body``: two writes, so
on loopback (TCP_NODELAY) two segments, and the gateway, woken by the first, often runs
its event loop once for the head and is woken again for the body (1.75 segments per
answer measured on one keep-alive connection). Between processes a wake-up costs more
CPU than the parsing around it, and a checkout makes 14 source calls. Here the transport
the protocol writes to keeps what one turn of the event loop writes and sends it at the
end of that turn: one write, one segment, one wake-up per answer.

Nothing else of uvicorn changes (keep-alive, flow control, limits, shutdown): the
transport it is given forwards everything but ``write``, ``close`` and ``abort``, and
``close`` sends what is kept first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _OneWrite:
    """A transport whose writes within one turn of the event loop leave as one."""

    __slots__ = ("_kept", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._kept: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._kept:
            self._loop.call_soon(self._flush)
        self._kept.append(data)

    def _flush(self) -> None:
        kept = self._kept
        if not kept:
            return
        self._kept = []
        if self._transport.is_closing():
            return
        if len(kept) == 1:
            self._transport.write(kept[0])
        else:  # one writev on uvloop: the body is not copied behind the head
            self._transport.writelines(kept)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._kept = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class SourceHTTPProtocol(HttpToolsProtocol):
    """``uvicorn.run(app, http=SourceHTTPProtocol)``: answers in one write (module docstring)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_OneWrite(transport, self.loop))  # type: ignore[arg-type]
