"""gateway/serving.py: the workers of one ``gateway serve`` share a burst of keep-alive
connections instead of one worker taking them all, and a draining or dead worker is never
waited for.

Each "worker" here is an event loop (uvloop, as in production) in a thread with its own
descriptor of one listening socket and its own slot in one connection table, as uvicorn's
spawned workers have; the connections are real TCP connections on loopback. End to end,
tests/gateway/lifecycle/test_restarts.py restarts a worker of a ``GATEWAY_WORKERS=2``
gateway (which serves through this) under checkout load, and ``python -m bench.processes``
counts the connections each worker holds.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from gateway import serving
from gateway.serving import SLOT, SLOTS, BalancedServer, Board


class Worker:
    """One event loop serving the shared socket through a BalancedServer."""

    def __init__(self, listener: socket.socket, board: Path) -> None:
        self.loop = uvloop.new_event_loop()
        self.transports: list[asyncio.BaseTransport] = []
        self.board = Board(board)
        self.server = BalancedServer(self.loop, listener.dup(), self._protocol, self.board)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _protocol(self) -> asyncio.Protocol:
        worker = self

        class Held(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                worker.transports.append(transport)

        return Held()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.start_serving())
        self.loop.run_forever()

    def call(self, fn: object) -> None:
        self.loop.call_soon_threadsafe(fn)  # type: ignore[arg-type]

    @property
    def held(self) -> int:
        return len(self.transports)

    def stop(self) -> None:
        self.call(self.server.close)
        self.call(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    yield sock
    sock.close()


@pytest.fixture
def board(tmp_path: Path) -> Path:
    path = tmp_path / "board"
    path.write_bytes(bytes(SLOT.size * SLOTS))
    return path


def _connect(listener: socket.socket, n: int) -> list[socket.socket]:
    return [socket.create_connection(listener.getsockname()) for _ in range(n)]


def _wait(predicate: object, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.005)
    return time.monotonic() - started


def test_a_burst_of_connections_is_shared_between_two_workers(
    listener: socket.socket, board: Path
) -> None:
    workers = [Worker(listener, board), Worker(listener, board)]
    try:
        clients = _connect(listener, 8)  # at once, as wrk or a balancer's pool opens them
        _wait(lambda: sum(w.held for w in workers) == 8)
        assert sorted(w.held for w in workers) == [4, 4]
        # Closed connections are counted off, so the next burst is shared again.
        for client in clients:
            client.close()
        _wait(lambda: all(w.board.fewest_elsewhere() == 0 for w in workers))
        more = _connect(listener, 4)
        _wait(lambda: sum(w.held for w in workers) == 12)
        assert sorted(w.held for w in workers) == [6, 6]
        for client in more:
            client.close()
    finally:
        for worker in workers:
            worker.stop()


def test_a_busy_sibling_holds_a_connection_back_for_a_quarter_second_at_most(
    listener: socket.socket, board: Path
) -> None:
    idle, busy = Worker(listener, board), Worker(listener, board)
    try:
        # The busy one holds nothing but is stuck in a long request (its loop blocked).
        busy.call(lambda: time.sleep(4))
        time.sleep(0.05)
        clients = _connect(listener, 3)
        took = _wait(lambda: idle.held == 3, timeout=2.5)
        # The first was taken at once (a tie), each of the other two after waiting out
        # MAX_DEFER_SECONDS for the sibling with fewer.
        assert 2 * serving.MAX_DEFER_SECONDS <= took < 2.5
        assert busy.held == 0
        # A later connection waits again: that wait is over, this is a new one.
        time.sleep(serving.MAX_DEFER_SECONDS + 0.05)
        clients += _connect(listener, 1)
        assert _wait(lambda: idle.held == 4, timeout=1) >= serving.MAX_DEFER_SECONDS * 0.9
        assert busy.held == 0
        for client in clients:
            client.close()
    finally:
        idle.stop()
        busy.stop()


def test_a_draining_worker_is_not_waited_for_and_leaves_the_queue_to_its_sibling(
    listener: socket.socket, board: Path
) -> None:
    draining, other = Worker(listener, board), Worker(listener, board)
    try:
        clients = _connect(listener, 2)
        _wait(lambda: draining.held + other.held == 2)
        # SIGTERM: uvicorn closes the worker's server (gateway/lifecycle.py); it leaves the
        # table, and the listening socket stays open in its sibling (and the parent).
        draining.call(draining.server.close)
        _wait(lambda: other.board.fewest_elsewhere() is None)
        before = other.held
        clients += _connect(listener, 4)
        took = _wait(lambda: other.held == before + 4)
        assert took < serving.MAX_DEFER_SECONDS  # never deferred to the draining worker
        for client in clients:
            client.close()
    finally:
        draining.stop()
        other.stop()


def test_a_dead_workers_slot_is_skipped_and_reused(board: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    gone = int(dead.stdout)
    with board.open("r+b") as file:
        data = bytearray(file.read())
        SLOT.pack_into(data, 0, gone, 0)  # died holding nothing: would win every choice
        file.seek(0)
        file.write(data)
    first = Board(board)
    assert first.slot == 0  # the dead worker's slot, taken over
    second = Board(board)
    assert second.slot == 1
    second.set_mine(3)
    assert first.fewest_elsewhere() == 3
    second.leave()
    assert first.fewest_elsewhere() is None
    first.leave()


def test_the_parent_creates_the_table_and_removes_it() -> None:
    with serving.connection_board() as path:
        assert path is not None
        assert path == serving.board_path(os.getpid())
        assert path.stat().st_size == SLOT.size * SLOTS
    assert not path.exists()


def test_without_a_place_for_the_table_the_workers_serve_without_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(serving, "BOARD_DIR", tmp_path / "missing")
    with serving.connection_board() as path:
        assert path is None
