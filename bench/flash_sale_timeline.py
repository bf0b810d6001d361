"""The flash sale's timeline: where its slowest answers come from.

``python -m bench.flash_sale --timeline`` sends every attempt with its own request id and
runs the gateway with its request log on (one JSON line per request: its id, its duration
from the ASGI middleware in to the last byte handed to the server, its source calls, the
time it was written). Joined on the id, each attempt has two clocks:

- the client's: sent (seconds after the sale opened) and answered (its latency);
- the server's: when the request reached the app and how long the app held it; of that,
  how long it waited at the door before any work (``queued_ms``, gateway/admission.py;
  0 in a tree without it), counted apart as ``door``.

What lies between them (``outside`` = client latency - app time) is the queue neither the
app nor the database sees: the server's event loop busy with other requests before it
parses this one or sends its answer, and the client's loop (the bench's own Python, on the
same two cores) late to write the request or read the answer. The client's share is read
directly: a ticker on the client's loop records how late each 5 ms sleep wakes
(``client lag``). What the app's time holds (the database's writer, a row lock, the pool)
is py-spy's to show.

Each attempt's outcome: ``winner`` (an order), ``marked`` (a loser refused by a sold-out
mark before any claim: one source call, ``orders.checkout_lookup``) or ``refused`` (a loser
that went to the database: claimed its key, read the snapshot or tried the reservation,
and was refused there).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .checkout import _percentile

BUCKET_S = 0.1
TICK_S = 0.005
OUTCOMES = ("winner", "refused", "marked")


@dataclass(frozen=True, slots=True)
class Sent:
    """One attempt as the client saw it."""

    request_id: str
    sent_at: float  # wall clock, time.time()
    sent: float  # seconds after the sale opened
    took: float  # seconds until the whole answer was read
    won: bool | None  # None: no answer (HTTP error, timeout)


@dataclass(frozen=True, slots=True)
class Served:
    """The same request in the gateway's request log."""

    started_at: float  # wall clock: the app got the request
    seconds: float  # in the app, after the door
    source_calls: int
    queued: float  # at the door


@dataclass(frozen=True, slots=True)
class Attempt:
    sent: Sent
    served: Served | None
    outcome: str

    @property
    def outside(self) -> float | None:
        """Client latency not spent in the app nor at its door: the two event loops' queues
        and the wire."""
        if self.served is None:
            return None
        return self.sent.took - self.served.seconds - self.served.queued

    @property
    def before_app(self) -> float | None:
        """From the client's send to the app's start (the client's write, the server's
        accept/parse and its loop's queue)."""
        return None if self.served is None else self.served.started_at - self.sent.sent_at


class LoopLag:
    """How late the client's own event loop wakes a 5 ms sleep: the client as the queue."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (seconds after the origin, lateness)
        self._task: asyncio.Task[None] | None = None

    @contextmanager
    def running(self, origin: float) -> Iterator[LoopLag]:
        self._task = asyncio.get_running_loop().create_task(self._tick(origin))
        try:
            yield self
        finally:
            self._task.cancel()

    async def _tick(self, origin: float) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK_S)
            self.samples.append((before - origin, time.perf_counter() - before - TICK_S))


def read_request_log(path: Path, request_ids: set[str]) -> dict[str, Served]:
    """The gateway's ``request`` lines for these ids (other lines and runs are skipped)."""
    served: dict[str, Served] = {}
    with path.open("rb") as log:
        for raw in log:
            if not raw.startswith(b"{") or b'"request"' not in raw:
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            request_id = line.get("request_id")
            if line.get("event") != "request" or request_id not in request_ids:
                continue
            seconds = float(line["duration_ms"]) / 1000
            queued = float(line.get("queued_ms") or 0) / 1000
            ended = datetime.fromisoformat(line["timestamp"]).timestamp()
            served[request_id] = Served(
                ended - seconds, seconds - queued, int(line["source_calls"]), queued
            )
    return served


def join(sent: Iterable[Sent], served: dict[str, Served]) -> list[Attempt]:
    attempts = []
    for one in sent:
        server = served.get(one.request_id)
        if one.won:
            outcome = "winner"
        elif one.won is None:
            outcome = "error"
        else:  # one source call: the lookup, refused by a mark before any claim
            outcome = "marked" if server is not None and server.source_calls == 1 else "refused"
        attempts.append(Attempt(one, server, outcome))
    return attempts


def _ms(values: Sequence[float], q: float) -> str:
    return f"{_percentile([v * 1000 for v in values], q):.0f}" if values else "-"


def _max_ms(values: Sequence[float]) -> str:
    return f"{max(values) * 1000:.0f}" if values else "-"


def format_timeline(attempts: list[Attempt], lag: LoopLag) -> str:
    """The 100 ms buckets (by when each attempt was sent), then the slowest 1 %."""
    if not attempts:
        return "  (no attempts)"
    lines = [
        "  sent at   n  win ref mark | client p50 p99 max ms | door max ms | app p50 max ms | "
        "outside p50 max ms | client lag max ms"
    ]
    buckets = int(max(a.sent.sent for a in attempts) / BUCKET_S) + 1
    for index in range(buckets):
        low, high = index * BUCKET_S, (index + 1) * BUCKET_S
        here = [a for a in attempts if low <= a.sent.sent < high]
        if not here:
            continue
        kinds = Counter(a.outcome for a in here)
        took = [a.sent.took for a in here]
        app = [a.served.seconds for a in here if a.served is not None]
        door = [a.served.queued for a in here if a.served is not None]
        outside = [o for a in here if (o := a.outside) is not None]
        lags = [late for at, late in lag.samples if low <= at < high]
        lines.append(
            f"  {low:5.1f} s {len(here):4d} {kinds['winner']:4d} {kinds['refused']:3d} "
            f"{kinds['marked']:4d} | {_ms(took, 50):>6} {_ms(took, 99):>5} {_max_ms(took):>5}    "
            f"| {_max_ms(door):>8}    | {_ms(app, 50):>5} {_max_ms(app):>5}   "
            f"| {_ms(outside, 50):>7} {_max_ms(outside):>5}    | {_max_ms(lags):>6}"
        )
    lines.extend(format_tail(attempts, lag))
    return "\n".join(lines)


def format_tail(attempts: list[Attempt], lag: LoopLag) -> list[str]:
    """Who the slowest 1 % are (outcome, when sent) and which clock holds their time."""
    threshold = _percentile([a.sent.took for a in attempts], 99)
    slow = [a for a in attempts if a.sent.took >= threshold]
    kinds = Counter(a.outcome for a in slow)
    first_mark = min((a.sent.sent for a in attempts if a.outcome == "marked"), default=None)
    last_win = max(
        (a.sent.sent + a.sent.took for a in attempts if a.outcome == "winner"), default=None
    )
    sent = [a.sent.sent for a in slow]
    app = [a.served.seconds for a in slow if a.served is not None]
    door = [a.served.queued for a in slow if a.served is not None]
    before = [b for a in slow if (b := a.before_app) is not None]
    outside = [o for a in slow if (o := a.outside) is not None]
    lags = [late for _, late in lag.samples]
    by_kind = ", ".join(f"{kinds[k]} {k}" for k in (*OUTCOMES, "error") if kinds[k])
    everyone = Counter(a.outcome for a in attempts)
    calls = Counter((a.outcome, a.served.source_calls) for a in attempts if a.served is not None)
    return [
        f"  outcomes: {dict(everyone)}; source calls by outcome: "
        + ", ".join(f"{k} {c}: {n}" for (k, c), n in sorted(calls.items())),
        f"  the last winner answered {last_win:.2f} s after the sale opened; "
        f"the first marked refusal was sent at {first_mark:.2f} s"
        if last_win is not None and first_mark is not None
        else "  (no winner or no marked refusal)",
        f"  slowest 1 % (>= {threshold * 1000:.0f} ms, {len(slow)} attempts): {by_kind}; "
        f"sent {min(sent):.2f}-{max(sent):.2f} s after the sale opened",
        f"    their time at the door p50 {_ms(door, 50)} / max {_max_ms(door)} ms, "
        f"in the app p50 {_ms(app, 50)} / max {_max_ms(app)} ms; "
        f"outside the app p50 {_ms(outside, 50)} / max {_max_ms(outside)} ms "
        f"(before the app got them: p50 {_ms(before, 50)} / max {_max_ms(before)} ms)",
        f"    the client's loop over the whole sale: lag p99 {_ms(lags, 99)} / max "
        f"{_max_ms(lags)} ms "
        f"(median {statistics.median(lags) * 1000 if lags else 0:.1f} ms)",
    ]


def write_csv(path: Path, attempts: list[Attempt]) -> None:
    """The raw attempts, for a closer look than the table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        out.write("sent_s,took_ms,outcome,app_ms,source_calls,before_app_ms,door_ms\n")
        for a in sorted(attempts, key=lambda a: a.sent.sent):
            app = a.served.seconds * 1000 if a.served else float("nan")
            calls = a.served.source_calls if a.served else -1
            before = (a.before_app or float("nan")) * 1000
            door = a.served.queued * 1000 if a.served else float("nan")
            out.write(
                f"{a.sent.sent:.4f},{a.sent.took * 1000:.1f},{a.outcome},{app:.1f},{calls},"
                f"{before:.1f},{door:.1f}\n"
            )
