"""A bounded LRU map with a TTL per entry: the cache of a gateway without Redis, and the
near cache in front of Redis (then with a short TTL, emptied by invalidation messages)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence

from .backend import OnMessage


class InProcessCache:
    kind = "in-process"

    def __init__(
        self,
        max_entries: int,
        *,
        max_ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_ttl = max_ttl
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._sets: dict[str, tuple[float, set[str]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        now = self.clock()
        found: dict[str, bytes] = {}
        entries = self._entries
        get, move_to_end = entries.get, entries.move_to_end  # bound once: a screen asks hundreds
        for key in keys:
            entry = get(key)
            if entry is None:
                continue
            if entry[0] <= now:
                del entries[key]
                continue
            move_to_end(key)
            found[key] = entry[1]
        return found

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None:
        if self.max_ttl is not None:
            ttl = min(ttl, self.max_ttl)
        if ttl <= 0:
            return
        expires = self.clock() + ttl
        entries = self._entries
        for key, value in items.items():
            entries[key] = (expires, value)
            entries.move_to_end(key)
        while len(entries) > self.max_entries:
            entries.popitem(last=False)

    async def set_groups(self, groups: Mapping[float, Mapping[str, bytes]]) -> None:
        for ttl, items in groups.items():
            await self.set_many(items, ttl)

    async def delete_many(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._entries.pop(key, None)
            self._sets.pop(key, None)

    async def delete_prefix(self, prefix: str) -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]
        for key in [k for k in self._sets if k.startswith(prefix)]:
            del self._sets[key]

    def clear(self) -> None:
        self._entries.clear()
        self._sets.clear()

    async def add_members(self, sets: Mapping[str, Sequence[str]], ttl: float) -> None:
        now = self.clock()
        for key, members in sets.items():
            expires, current = self._sets.get(key, (0.0, set()))
            if expires <= now:
                current = set()
            self._sets[key] = (max(expires, now + ttl), current | set(members))
        if len(self._sets) > self.max_entries:  # expired tag sets are only ever swept here
            self._sets = {k: v for k, v in self._sets.items() if v[0] > now}

    async def pop_members(self, keys: Sequence[str]) -> set[str]:
        now = self.clock()
        members: set[str] = set()
        for key in keys:
            expires, found = self._sets.pop(key, (0.0, set()))
            if expires > now:
                members |= found
        return members

    async def publish(self, channel: str, message: bytes) -> None:
        """One process, one map: the writer already dropped the keys."""

    async def listen(
        self,
        channel: str,
        on_message: OnMessage,
        on_reconnect: Callable[[], Awaitable[None]],
    ) -> None:
        await asyncio.Event().wait()  # nothing to hear; runs until the app stops

    async def health(self) -> str:
        return "in-process"

    async def close(self) -> None:
        self.clear()
