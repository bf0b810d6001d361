"""The door: how many GraphQL requests one process works on at once; the rest wait their
turn, first come first served, before any work is done for them.

Why: a process's requests share one event loop and one core. Past a few dozen in flight
the loop's time is split over all of them, so a request that holds something others wait
for (SQLite's one writer, a row lock, a pooled connection) keeps it for as many turns of
the loop as it has awaits, each turn as long as everyone's work. A flash sale at 64
buyers in flight showed it: once the sold-out mark answered the losers cheaply, those
sixty-odd losers kept the loop busy, each write the last winners and the losers already
past the mark still had to make held the orders file's writer for 40-190 ms instead of
4-10, and they were answered 2-3 s late (the sale's p99; bench/RESULTS.md, "The flash sale
at 64 in flight"). Let in at most ``limit`` at a time, the others queued here (cheaply: no
parsing, no source call), and the requests inside finish at the speed of a lightly loaded
process; the total rate is the same (the core was already full), the queue is at the door
and fair.

Only ``/graphql`` waits: probes, metrics and the rest never queue behind the shop. The
wait is logged with the request (``queued_ms``).

A place is held for ``hold_s`` at most (``GATEWAY_IN_FLIGHT_HOLD_SECONDS``, 1 s): a request
still inside by then is waiting on something slow (a payment provider, a remote source, a
long answer stream), not working the core, and gives its place up while it finishes. A
count of requests cannot tell the two apart; without this, sixteen checkouts stuck on a
provider that takes its ten-second timeout would hold every other buyer at the door.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from .metrics import current_request

GATED_PATHS = frozenset({"/graphql"})


class AdmissionGate:
    """Pure ASGI, inside the request log (its line counts the wait) and outside the app."""

    def __init__(self, app: ASGIApp, limit: int, hold_s: float = 1.0) -> None:
        self.app = app
        self.limit = limit
        self.hold_s = hold_s
        self._slots: asyncio.Semaphore | None = None  # made on the serving loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in GATED_PATHS:
            await self.app(scope, receive, send)
            return
        slots = self._slots
        if slots is None:
            slots = self._slots = asyncio.Semaphore(self.limit)
        if slots.locked():
            waited_from = time.perf_counter()
            await slots.acquire()
            stats = current_request.get()
            if stats is not None:
                stats.queued_s = time.perf_counter() - waited_from
        else:
            await slots.acquire()
        place = _Place(slots)
        overdue = asyncio.get_running_loop().call_later(self.hold_s, place.give_up)
        try:
            await self.app(scope, receive, send)
        finally:
            overdue.cancel()
            place.give_up()


class _Place:
    """One request's place inside the door, given back once: at its end, or when it has
    held it for ``hold_s``, whichever comes first."""

    __slots__ = ("_slots",)

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self._slots: asyncio.Semaphore | None = slots

    def give_up(self) -> None:
        slots, self._slots = self._slots, None
        if slots is not None:
            slots.release()
