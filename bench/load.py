"""The load generator: N keep-alive HTTP/1.1 connections, each sending its next request as
soon as the previous answer is read (a closed loop), for a fixed duration after a warm-up.

It writes pre-encoded request bytes and reads responses with asyncio streams (on uvloop
when installed) instead of a full HTTP client: a client library's per-request cost would
otherwise eat into the one spare core of a small machine and be measured as server time.
Every response is checked (status 200, no GraphQL ``errors``), and the client's own CPU
time is recorded, so a table can show the client was not the limit.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from time import perf_counter


def build_request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: application/json"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class ResponseError(Exception):
    pass


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        return status, await reader.readexactly(int(lower[at + 17 : end]))
    if b"\r\ntransfer-encoding: chunked" in lower:
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    raise ResponseError("response without Content-Length or chunked body")


@dataclass
class CellResult:
    concurrency: int
    seconds: float  # from the window's start to the last measured answer (or the cap)
    # Per connection, (sent, answered) times of each request sent inside the window.
    per_connection: list[list[tuple[float, float]]] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    client_cpu: float = 0.0  # the load generator's CPU seconds / window seconds
    truncated: bool = False  # stopped at the cell's time cap with requests in flight
    completed: int = 0  # every successful response, warm-up included
    server_cpu: float | None = None  # the server's CPU seconds over the whole cell

    @property
    def latencies(self) -> list[float]:
        return [done - sent for conn in self.per_connection for sent, done in conn]

    @property
    def requests(self) -> int:
        return sum(len(conn) for conn in self.per_connection)

    @property
    def rps(self) -> float:
        """Each connection's requests over the time from its first send to its last answer
        (it is never idle in between), summed over connections. Requests are chosen by
        when they were sent, and each is waited for, so slow ones are not cut off by the
        end of the window (which would favour fast ones) and a closed loop's bursts of
        answers do not bias the count."""
        return sum(len(conn) / (conn[-1][1] - conn[0][0]) for conn in self.per_connection if conn)

    @property
    def server_cpu_ms(self) -> float | None:
        """Server CPU per response (ms): robust to other load on the machine, unlike req/s.
        None for a capped cell, whose abandoned requests used CPU without completing."""
        if self.server_cpu is None or self.truncated or not self.completed:
            return None
        return self.server_cpu / self.completed * 1000

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile in milliseconds (NaN when nothing completed)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        return ordered[rank - 1] * 1000


async def run_cell(
    host: str,
    port: int,
    request: bytes,
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    min_requests: int = 5,
    max_seconds: float = 10.0,
) -> CellResult:
    """Keep ``concurrency`` requests in flight. Requests sent in the window (from
    ``warmup`` seconds on, for ``duration`` seconds, longer until ``min_requests`` are
    answered and every connection has had one) are measured, each to its answer. A cell
    never runs longer than ``max_seconds``: requests still in flight then are abandoned
    (``truncated``; the caller should restart the server, which is still working on them).
    """
    connections = [await asyncio.open_connection(host, port) for _ in range(concurrency)]
    started = perf_counter()
    window_start = started + warmup
    window_min_end = window_start + duration
    hard_end = started + max(max_seconds, warmup + duration)
    stop = False
    per_connection: list[list[tuple[float, float]]] = [[] for _ in connections]
    measured = 0
    errors = 0
    completed = 0
    first_error: str | None = None

    async def worker(
        samples: list[tuple[float, float]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        nonlocal errors, completed, measured, first_error, stop
        while not stop:
            sent = perf_counter()
            writer.write(request)
            status, body = await _read_response(reader)
            done = perf_counter()
            if status != 200 or b'"errors"' in body:
                errors += 1
                if first_error is None:
                    first_error = f"HTTP {status}: {body[:300]!r}"
                if errors >= 20:  # a broken cell: report it, do not wait out the clock
                    stop = True
                continue
            completed += 1
            if sent < window_start:
                continue
            samples.append((sent, done))
            measured += 1
            if done >= window_min_end and measured >= min_requests and all(per_connection):
                stop = True

    tasks = [
        asyncio.ensure_future(worker(samples, r, w))
        for samples, (r, w) in zip(per_connection, connections, strict=True)
    ]
    await asyncio.sleep(max(0.0, window_start - perf_counter()))
    cpu_start = time.process_time()
    try:
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, hard_end - perf_counter()))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in tasks:
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                raise failure
    finally:
        for _, writer in connections:
            writer.close()
    ended = perf_counter()
    cpu = time.process_time() - cpu_start
    last = max((conn[-1][1] for conn in per_connection if conn), default=ended)
    seconds = max((ended if pending else last) - window_start, 1e-9)
    return CellResult(
        concurrency=concurrency,
        seconds=seconds,
        per_connection=per_connection,
        errors=errors,
        first_error=first_error,
        client_cpu=cpu / max(ended - window_start, 1e-9),
        truncated=bool(pending),
        completed=completed,
    )
