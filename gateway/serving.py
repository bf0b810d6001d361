"""Spreading keep-alive connections over the workers of one ``gateway serve``.

uvicorn's workers share one listening socket. Each worker's event loop (uvloop: libuv
accepts until the queue is empty; asyncio: up to ``backlog``, 2048, per wake-up) takes
every connection waiting when it wakes, and a keep-alive connection then stays with the
worker that took it. A client or load balancer that opens its few long-lived connections
in a burst (wrk does, so does a balancer's pool after a deploy) can so leave them all on
one worker and the others idle: measured, 8 of 8 connections on one of 2 workers in 7 of
12 trials (docs/benchmarks.md#many-processes).

The fix here keeps the one shared socket, which is what makes a worker's restart safe:
a worker that closes its copy on SIGTERM leaves the connections queued in the kernel to
its siblings (SO_REUSEPORT would give each worker its own queue, and closing it resets the
connections waiting there unless ``net.ipv4.tcp_migrate_req`` is on; docs/deployment.md).
Instead each worker

- accepts one connection per wake-up (so a burst is taken turn by turn, not in one gulp);
- counts the connections it holds in a small shared table (one slot per worker, in a file
  under /dev/shm that the parent creates and removes), and lets a connection wait while a
  live sibling holds fewer: the least-connections choice Envoy's ``exact_balance`` and
  HAProxy's ``leastconn`` make, taken by the workers themselves. A sibling that does not
  take it within ``MAX_DEFER_SECONDS`` (it is busy in a long request) leaves it to this
  one, so a connection is never held back for longer than that.

The table is advisory: a stale or torn count only makes one accept less well placed, never
loses a connection (every connection is accepted by whichever worker calls accept). A
worker clears its slot when it stops accepting (a draining worker is no sibling to wait
for) and a dead worker's slot is skipped (its pid is gone) and reused by the next worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import mmap
import os
import socket
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SLOTS = 64  # GATEWAY_WORKERS is at most 64
SLOT = struct.Struct("=qq")  # pid, connections held
DEFER_SECONDS = 0.002  # how often a deferring worker looks again
# Then it takes the connection itself. A sibling turns its event loop between requests;
# 20 ms was too short on the shared bench machine (a sibling busy in a listing did not
# turn in time and one worker took all 8), nginx's accept_mutex_delay is 500 ms.
MAX_DEFER_SECONDS = 0.25
BOARD_DIR = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())


def board_path(parent_pid: int) -> Path:
    """The table of one ``gateway serve``'s workers, found by its workers from their parent."""
    return BOARD_DIR / f"gateway-accept-{parent_pid}"


@contextlib.contextmanager
def connection_board() -> Iterator[Path | None]:
    """For the parent of the workers: the shared table, zeroed, removed when serving ends.
    Where it cannot be written (a read-only filesystem), None: the workers then accept one
    connection per wake-up without it, and serve all the same."""
    path = board_path(os.getpid())
    try:
        path.write_bytes(bytes(SLOT.size * SLOTS))
    except OSError as exc:
        logger.warning("no connection table for the workers (%s): %s", path, exc)
        yield None
        return
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


class Board:
    """This worker's view of the table: its own slot and its siblings' counts."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), SLOT.size * SLOTS)
        self.slot = self._claim()

    def _claim(self) -> int:
        """The first slot that is free or whose worker is gone, taken under a file lock."""
        fcntl.flock(self._file, fcntl.LOCK_EX)
        try:
            for index in range(SLOTS):
                pid, _ = SLOT.unpack_from(self._map, index * SLOT.size)
                if pid == 0 or not _alive(pid):
                    SLOT.pack_into(self._map, index * SLOT.size, os.getpid(), 0)
                    return index
        finally:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        raise RuntimeError(f"no free slot in the connection table ({SLOTS} workers at most)")

    def set_mine(self, connections: int) -> None:
        SLOT.pack_into(self._map, self.slot * SLOT.size, os.getpid(), connections)

    def fewest_elsewhere(self) -> int | None:
        """The fewest connections a live sibling holds (None: no sibling accepting)."""
        fewest: int | None = None
        for index in range(SLOTS):
            if index == self.slot:
                continue
            pid, held = SLOT.unpack_from(self._map, index * SLOT.size)
            if pid != 0 and (fewest is None or held < fewest) and _alive(pid):
                fewest = held
        return fewest

    def leave(self) -> None:
        """Out of the table: siblings stop waiting for this worker."""
        if not self._map.closed:
            SLOT.pack_into(self._map, self.slot * SLOT.size, 0, 0)
            self._map.close()
            self._file.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BalancedServer(asyncio.AbstractServer):
    """What ``loop.create_server(sock=...)`` returns, accepting as the module says.

    uvicorn uses ``close()`` and ``wait_closed()`` (and the listening socket it passed,
    which it closes itself); the accepted connections are ordinary transports
    (``loop.connect_accepted_socket``), so the protocol serves them as it would have."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        board: Board | None,
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._protocol_factory = protocol_factory
        self._board = board
        self._held = 0
        self._deferred_since: float | None = None
        self._last_look = 0.0
        self._retry: asyncio.TimerHandle | None = None
        self._serving = False
        self._tasks: set[asyncio.Task[None]] = set()
        sock.setblocking(False)

    # asyncio.AbstractServer
    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return (self._sock,)

    async def start_serving(self) -> None:
        if not self._serving:
            self._serving = True
            self._loop.add_reader(self._sock.fileno(), self._on_readable)

    async def serve_forever(self) -> None:  # pragma: no cover - uvicorn never calls it
        await self.start_serving()
        await asyncio.Future()

    def close(self) -> None:
        if not self._serving:
            return
        self._serving = False
        if self._retry is not None:
            self._retry.cancel()
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._sock.fileno())
        if self._board is not None:
            self._board.leave()

    async def wait_closed(self) -> None:
        return None

    # accepting
    def _on_readable(self) -> None:
        if not self._serving:
            return
        if self._should_defer():
            self._loop.remove_reader(self._sock.fileno())
            self._retry = self._loop.call_later(DEFER_SECONDS, self._resume)
            return
        try:
            conn, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError):
            return  # a sibling took it
        except OSError as exc:  # out of file descriptors, or the like: look again later
            logger.warning("accept failed: %s", exc)
            self._loop.remove_reader(self._sock.fileno())
            self._retry = self._loop.call_later(0.1, self._resume)
            return
        self._deferred_since = None
        self._count(+1)

        task = self._loop.create_task(self._serve(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _should_defer(self) -> bool:
        if self._board is None:
            return False
        fewest = self._board.fewest_elsewhere()
        if fewest is None or self._held <= fewest:
            self._deferred_since = None
            return False
        now = self._loop.time()
        # A new wait, unless this one is still going on (the last look was recent): a
        # connection a sibling took ends a wait without this worker hearing of it.
        if self._deferred_since is None or now - self._last_look > MAX_DEFER_SECONDS:
            self._deferred_since = now
        self._last_look = now
        return now - self._deferred_since < MAX_DEFER_SECONDS

    def _resume(self) -> None:
        self._retry = None
        if self._serving:
            self._loop.add_reader(self._sock.fileno(), self._on_readable)

    def _count(self, delta: int) -> None:
        self._held += delta
        if self._board is not None and self._serving:
            self._board.set_mine(self._held)

    async def _serve(self, conn: socket.socket) -> None:
        def counted() -> asyncio.BaseProtocol:
            protocol = self._protocol_factory()
            lost = protocol.connection_lost

            def connection_lost(exc: Exception | None) -> None:
                self._count(-1)
                lost(exc)

            protocol.connection_lost = connection_lost  # type: ignore[method-assign]
            return protocol

        try:
            await self._loop.connect_accepted_socket(counted, conn)
        except Exception:  # the client went away before its transport was made
            self._count(-1)
            conn.close()


def _balanced_create_server(base: type[asyncio.AbstractEventLoop]) -> Any:
    async def create_server(
        self: asyncio.AbstractEventLoop,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        host: Any = None,
        port: Any = None,
        *,
        sock: socket.socket | None = None,
        ssl: Any = None,
        **kwargs: Any,
    ) -> asyncio.AbstractServer:
        if sock is None or ssl is not None:
            return await base.create_server(
                self, protocol_factory, host, port, sock=sock, ssl=ssl, **kwargs
            )
        # uvicorn's parent binds the socket; listening is left to each worker's loop.
        sock.listen(kwargs.get("backlog") or 100)
        path = board_path(os.getppid())
        board = Board(path) if path.exists() else None
        server = BalancedServer(self, sock, protocol_factory, board)
        await server.start_serving()
        return server

    return create_server


def loop_factory() -> asyncio.AbstractEventLoop:
    """uvicorn's ``loop=`` for the workers of a ``gateway serve --workers N`` (N > 1):
    uvloop when installed (as uvicorn's ``auto``), its ``create_server(sock=...)``
    accepting as the module says."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        base: type[asyncio.AbstractEventLoop] = asyncio.SelectorEventLoop
    else:
        base = uvloop.Loop
    loop_class = type("BalancedLoop", (base,), {"create_server": _balanced_create_server(base)})
    loop: asyncio.AbstractEventLoop = loop_class()
    return loop
