"""How every loader is built: per request, batching all keys of one tick into one call.

With batching switched off (a benchmark baseline only) each key becomes its own source
call and nothing is memoised: the N+1 that hand-built gateways start with.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

from aiodataloader import DataLoader, dispatch_queue
from aiodataloader import Loader as PendingKey

from ..metrics import Metrics

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# Loop turns a batch waits after its first key. GraphQL resolves sibling fields a few turns
# apart (a product's `skus { stock }` and its `inStock` ask for the same stock), so waiting
# a handful of turns (microseconds) merges them into one source call instead of two.
DISPATCH_TURNS = 6


class _PatientDataLoader(DataLoader[Any, Any]):
    def do_resolve_reject(self, key: object, future: object) -> None:
        self._queue.append(PendingKey(key=key, future=future))
        if len(self._queue) == 1:
            if self.batch:
                self._dispatch_after(DISPATCH_TURNS)
            else:
                dispatch_queue(self)

    def _dispatch_after(self, turns: int) -> None:
        if turns:
            self.loop.call_soon(self._dispatch_after, turns - 1)
        else:
            dispatch_queue(self)


class Loader(Generic[K, V]):
    """A typed DataLoader whose fetch function returns a mapping keyed like the input."""

    def __init__(
        self,
        name: str,
        fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]],
        *,
        metrics: Metrics,
        batching: bool = True,
        default: Callable[[], V] | None = None,
    ) -> None:
        # The DataLoader is made on first use: a request builds some thirty loaders and
        # uses a few (making one costs a metrics label lookup and aiodataloader's set-up,
        # about 40 us: a millisecond per request, for nothing).
        self._name = name
        self._fetch = fetch
        self._metrics = metrics
        self._batching = batching
        self._default = default
        self._made: DataLoader[K, V] | None = None

    @property
    def _loader(self) -> DataLoader[K, V]:
        made = self._made
        if made is None:
            made = self._made = self._make()
        return made

    def _make(self) -> DataLoader[K, V]:
        observe = self._metrics.batch_size.labels(self._name).observe
        fetch, default = self._fetch, self._default

        async def batch_load(keys: list[K]) -> list[V]:
            observe(len(keys))
            found = await fetch(keys)
            if default is None:  # V is Optional for loaders without a default
                return [cast(V, found.get(key)) for key in keys]
            return [found[key] if key in found else default() for key in keys]

        return _PatientDataLoader(batch_load, batch=self._batching, cache=self._batching)

    async def load(self, key: K) -> V:
        return await self._loader.load(key)

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        return await self._loader.load_many(keys)

    async def load_all(self, keys: Sequence[K]) -> list[V]:
        """``load_many`` for the breadth-first executor's batch forms (thousands of keys):
        the keys' futures are resolved together by one batch, so awaiting them in turn
        suspends once, without gather's callback per key."""
        load = self._loader.load
        futures = self._memoised(keys) if self._loader.cache else None
        if futures is None:
            futures = [load(key) for key in keys]
        try:
            return [await future for future in futures]
        except BaseException:
            for future in futures:  # retrieve the others' outcome: no "never retrieved"
                if future.done() and not future.cancelled():
                    future.exception()
            raise

    async def load_each(self, keys: Sequence[K]) -> list[V | Exception]:
        """``load_all``, but a key that failed gets its exception in place of its value
        (a source down with last-known copies for some keys only): each object keeps or
        loses its own field."""
        load = self._loader.load
        futures = self._memoised(keys) if self._loader.cache else None
        if futures is None:
            futures = [load(key) for key in keys]
        found: list[V | Exception] = []
        for future in futures:
            try:
                found.append(await future)
            except Exception as exc:
                found.append(exc)
        return found

    def _memoised(self, keys: Sequence[K]) -> list[asyncio.Future[V]] | None:
        """The keys' settled futures when every key has been read already in this request
        (a level's second field over the same SKUs' prices or stock), else None. Saves
        aiodataloader's per-key ``load`` on the memo hits the batch forms make by the
        hundred per listing; the values (and exceptions) are the same futures'."""
        memo = self._loader._cache
        futures: list[asyncio.Future[V]] = []
        for key in keys:
            future = memo.get(key)
            if future is None or not future.done() or future.cancelled():
                return None
            futures.append(future)
        return futures

    def prime(self, key: K, value: V) -> None:
        self._loader.prime(key, value)

    def requested(self, keys: Sequence[K]) -> list[K]:
        """Those of ``keys`` this request has already asked for (loaded or in flight), so
        a field can piggy-back on a sibling's read without causing one of its own."""
        if self._made is None:
            return []
        asked = self._made._cache  # aiodataloader's memo: key -> future
        return [key for key in keys if key in asked]

    def clear(self, key: K) -> None:
        """Forget a key after this request wrote it, so the payload shows the new value."""
        if self._made is not None:
            self._made.clear(key)


PageKey = tuple[int, int, str | None]  # (owner id, first, after)
P = TypeVar("P")


def pages_per_owner(
    fetch_pages: Callable[..., Awaitable[Mapping[int, P]]],
) -> Callable[[Sequence[PageKey]], Awaitable[dict[PageKey, P]]]:
    """A batch function for nested connections (a page of products per category, of orders
    per customer): owners asking for the same page size and cursor share one source call."""

    async def fetch(keys: Sequence[PageKey]) -> dict[PageKey, P]:
        groups: dict[tuple[int, str | None], list[int]] = defaultdict(list)
        for owner_id, first, after in keys:
            groups[(first, after)].append(owner_id)
        pages: dict[PageKey, P] = {}
        for (first, after), ids in groups.items():
            found = await fetch_pages(ids, first=first, after=after)
            pages.update({(owner, first, after): page for owner, page in found.items()})
        return pages

    return fetch
