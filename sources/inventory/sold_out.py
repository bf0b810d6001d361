"""Sold-out marks: a flash sale's losers answered from memory, not from behind the winners'
row locks.

When a reservation's locked read finds too little of an item, the store notes what it saw
(``available`` of that SKU and source). A later reservation that asks for more than that
is refused at once with the same shortage, without opening a transaction. The database
stays the only truth: a mark only ever *refuses*, so a stale one may delay a sale but can
never oversell; any stock increase through this store clears every mark, and a mark
expires after ``ttl`` seconds in any case (stock can rise behind this process's back:
another worker, another process on the database).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

Item = tuple[int, int | None]  # (SKU id, supplier id or None for the warehouses)
DEFAULT_TTL_S = 2.0


class SoldOutMarks:
    """In-process and per store: a small dict, no locks (one event loop)."""

    def __init__(
        self, ttl: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._marks: dict[Item, tuple[int, float]] = {}  # item -> (available seen, expiry)

    def note(self, seen: Mapping[Item, int]) -> None:
        """What a locked read found for items it could not serve."""
        expires = self._clock() + self.ttl
        for item, available in seen.items():
            self._marks[item] = (max(available, 0), expires)

    def shortages(self, wanted: Mapping[Item, int]) -> dict[int, int]:
        """SKU -> available as last seen, for every item wanted beyond its live mark;
        empty when the reservation must go to the database."""
        if not self._marks:
            return {}
        now = self._clock()
        short: dict[int, int] = {}
        for item, quantity in wanted.items():
            mark = self._marks.get(item)
            if mark is None:
                continue
            available, expires = mark
            if expires <= now:
                del self._marks[item]
            elif quantity > available:
                short[item[0]] = short.get(item[0], 0) + available
        return short

    def live(self) -> bool:
        """Whether any mark may still refuse something (expired ones are dropped here): a
        caller with a cheaper path for refusals takes it only then."""
        if not self._marks:
            return False
        now = self._clock()
        for item in [item for item, (_, expires) in self._marks.items() if expires <= now]:
            del self._marks[item]
        return bool(self._marks)

    def clear(self) -> None:
        """Stock went up somewhere: every mark may be wrong now."""
        self._marks.clear()
