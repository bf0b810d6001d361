"""The storage a cache sits on: Redis, or a bounded in-process map when Redis is not
configured. Both speak in batches of raw bytes; typing, encoding and single-flight live a
level up (``entities.py``), so the two stores stay interchangeable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

OnMessage = Callable[[bytes], Awaitable[None]]


class CacheBackend(Protocol):
    """Failures never raise: a cache that cannot answer reports a miss and counts an error."""

    kind: str  # "redis" or "in-process": what /readyz says when all is well

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The values found; absent or unreadable keys are left out."""
        ...

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None: ...

    async def set_groups(self, groups: Mapping[float, Mapping[str, bytes]]) -> None:
        """Several ``set_many`` (by TTL) as one write: one pipeline, one round trip."""
        ...

    async def delete_many(self, keys: Sequence[str]) -> None: ...

    async def delete_prefix(self, prefix: str) -> None:
        """Drop every key starting with ``prefix`` (a whole type)."""
        ...

    async def add_members(self, sets: Mapping[str, Sequence[str]], ttl: float) -> None:
        """Add members to sets (response tags), each set living at least ``ttl``."""
        ...

    async def pop_members(self, keys: Sequence[str]) -> set[str]:
        """The members of these sets, deleting the sets."""
        ...

    async def publish(self, channel: str, message: bytes) -> None: ...

    async def listen(
        self, channel: str, on_message: OnMessage, on_reconnect: Callable[[], Awaitable[None]]
    ) -> None:
        """Deliver every message of ``channel`` until cancelled, reconnecting as needed;
        ``on_reconnect`` runs after any gap in which messages may have been lost."""
        ...

    async def health(self) -> str:
        """ "ok", "degraded" (Redis unreachable: serving from the sources) or "in-process"."""
        ...

    async def close(self) -> None: ...
