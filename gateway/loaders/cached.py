"""Puts the shared cache behind a loader's fetch: the loader still batches one tick's keys
into one call, and that call becomes one MGET plus one source call for the misses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import TypeVar

from ..cache.codec import Codec
from ..cache.entities import LastKnown, ReadThrough
from ..cache.keys import Kind

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Fetch = Callable[[Sequence[K]], Awaitable[Mapping[K, V]]]


def read_through(
    cache: ReadThrough | None,
    kind: Kind,
    codec: Codec[V],
    fetch: Fetch[K, V],
    *,
    ident: Callable[[K], str] = str,
    ttl: Callable[[V], float] | None = None,
    last_known: LastKnown | None = None,
) -> Fetch[K, V]:
    if cache is None:
        return fetch

    async def cached(keys: Sequence[K]) -> Mapping[K, V]:
        return await cache.load(
            kind, codec, keys, fetch, ident=ident, ttl=ttl, last_known=last_known
        )

    return cached
