"""A TCP proxy in front of a real server (PostgreSQL here) that a test can break the way
networks break: cut every connection, or go silent (accept and never answer, as a hung
host or a full firewall queue does). Runs its own event loop in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


class FaultyProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.silent = False
        self.refusing = False
        self.canned: bytes | None = None  # an answer given to every request instead
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def start(self) -> FaultyProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def url_for(self, url: str) -> str:
        """``url`` with its host and port replaced by this proxy's."""
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)
        userinfo = netloc[0] + "@" if len(netloc) == 2 else ""
        return urlunsplit(parts._replace(netloc=f"{userinfo}127.0.0.1:{self.port}"))

    def cut(self) -> None:
        """Close every open connection, both ways (like a terminated backend)."""

        def close_all() -> None:
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self._loop.call_soon_threadsafe(close_all)

    def go_silent(self) -> None:
        """Cut what is open; accept new connections and never answer them."""
        self.silent = True
        self.cut()

    def refuse(self) -> None:
        """Cut what is open; close every new connection at once (a host that refuses)."""
        self.refusing = True
        self.cut()

    def answer(self, response: bytes) -> None:
        """Cut what is open; answer every new connection's first request with
        ``response`` (an HTTP source gone wrong: a 502 page, garbage) and close."""
        self.canned = response
        self.cut()

    def recover(self) -> None:
        if self.silent:
            self.cut()  # the connections held silent would hang their callers forever
        self.silent = False
        self.refusing = False
        self.canned = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.silent:
            return  # hold the socket open, say nothing
        if self.refusing:
            writer.transport.abort()
            return
        if self.canned is not None:
            with contextlib.suppress(Exception):
                await reader.read(65536)
                writer.write(self.canned)
                await writer.drain()
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    if self.silent:
                        return
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@contextmanager
def faulty_proxy(url: str) -> Iterator[FaultyProxy]:
    parts = urlsplit(url)
    proxy = FaultyProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    try:
        yield proxy
    finally:
        proxy.stop()
