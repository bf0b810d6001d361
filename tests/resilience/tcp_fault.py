"""A TCP proxy in front of a real server (PostgreSQL here) that a test can break the way
networks break: cut every connection, or go silent (accept and never answer, as a hung
host or a full firewall queue does), or break one connection at the worst moment: right
after it sent a given statement (``trap``), or a given HTTP call in front of a source's
service (its answer lost after the service wrote). Runs its own event loop in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

# PostgreSQL's Execute message for the unnamed portal, all rows: what makes the server run
# the statement a Parse (or a prepared statement) and a Bind set up.
EXECUTE = b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00"
SYNC = b"S\x00\x00\x00\x04"
TrapAction = Literal["cut", "stall", "drop"]
STALL_S = 4.0  # how long a stalled connection hangs before it is cut


@dataclass
class Trap:
    """Springs on the first connection whose client sends ``pattern`` (a statement's text;
    use ``?prepared_statement_cache_size=0`` so every run sends it), at that statement's
    Execute:

    - ``cut``: the Execute reaches the server, then the client's side of the connection is
      cut: the server runs and commits the statement, its answer is lost;
    - ``stall``: the Execute reaches the server, its answer never reaches the client (a
      reply lost in an overloaded network; the client's own timeout ends the wait); the
      connection is cut when the client speaks on it again, or after ``STALL_S``;
    - ``drop``: the Execute is swallowed and the client cut: the statement never ran.

    With ``refuse_after``, every new connection is refused from then on (the database
    is unreachable until ``recover``)."""

    pattern: bytes
    action: TrapAction
    refuse_after: bool = False
    sprung: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Link:
    armed: bool = False  # the last statement parsed is the trapped one
    executed: bool = False  # and its Execute: the Sync after it springs the trap
    stalled: bool = False  # the server's answers go nowhere
    cut_on_answer: bool = False  # and the connection is cut when the first one comes


def _springs(trap: Trap, link: _Link, data: bytes) -> bool:
    """Whether ``data`` completes the trapped statement on this link: its Execute (to
    drop it) or the Sync after it (a single statement commits at its Sync). An unnamed
    statement is parsed again before each run, its Bind and Execute in the same write or
    the next; the last Parse says which statement an Execute runs (the driver's own type
    look-ups, between a describe of ours and its run, parse theirs)."""
    if data.startswith(b"Q"):  # a simple query (a transaction's COMMIT) runs at once
        return trap.pattern in data
    if data.startswith(b"POST "):  # an HTTP call (a source's service): written in one go
        return trap.pattern in data
    if data.startswith(b"P"):
        link.armed = trap.pattern in data
    at = data.find(EXECUTE)
    if at >= 0 and link.armed:
        if trap.action == "drop":
            return True
        link.executed = True
    return link.executed and SYNC in data[max(at, 0) :]


class FaultyProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.silent = False
        self.refusing = False
        self.canned: bytes | None = None  # an answer given to every request instead
        self.trap: Trap | None = None
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

    def set_trap(self, pattern: bytes, action: TrapAction, *, refuse_after: bool = False) -> Trap:
        """Break the next connection that sends ``pattern`` (see ``Trap``); one-shot."""
        trap = Trap(pattern, action, refuse_after)
        self.trap = trap
        return trap

    def recover(self) -> None:
        if self.silent:
            self.cut()  # the connections held silent would hang their callers forever
        self.silent = False
        self.refusing = False
        self.canned = None
        self.trap = None

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
        link = _Link()

        async def upstream() -> None:
            """The client's bytes to the server, until a trap springs on them."""
            with contextlib.suppress(Exception):
                while data := await reader.read(65536):
                    if self.silent:
                        return
                    if link.stalled:  # the client speaks again on a dead link: it is cut
                        writer.transport.abort()
                        break
                    trap = self.trap
                    if trap is not None and _springs(trap, link, data):
                        self.trap = None
                        self._spring(trap, data, writer, up_writer, link)
                        if trap.action == "drop":
                            return
                        continue  # the link dies with the answer, or in STALL_S
                    up_writer.write(data)
                    await up_writer.drain()
            up_writer.transport.abort()

        async def downstream() -> None:
            with contextlib.suppress(Exception):
                while data := await up_reader.read(65536):
                    if self.silent or writer.transport.is_closing():
                        break
                    if link.stalled:
                        if link.cut_on_answer:  # the statement ran: its answer is lost
                            break
                        continue
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()
            up_writer.transport.abort()

        await asyncio.gather(upstream(), downstream())

    def _spring(
        self,
        trap: Trap,
        data: bytes,
        client: asyncio.StreamWriter,
        server: asyncio.StreamWriter,
        link: _Link,
    ) -> None:
        if trap.action != "drop":
            server.write(data)
        if trap.action == "cut":
            link.stalled = link.cut_on_answer = True
        elif trap.action == "stall":
            link.stalled = True

            def give_up() -> None:  # as TCP does in the end: the dead link is cut
                client.transport.abort()
                server.transport.abort()

            self._loop.call_later(STALL_S, give_up)
        else:
            client.transport.abort()
            server.transport.abort()
        if trap.refuse_after:
            self.refusing = True
        trap.sprung.set()


@contextmanager
def faulty_proxy(url: str) -> Iterator[FaultyProxy]:
    parts = urlsplit(url)
    proxy = FaultyProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    try:
        yield proxy
    finally:
        proxy.stop()
