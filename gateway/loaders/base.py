"""How every loader is built: per request, batching all keys of one tick into one call.

A loader keeps, per request, what each key came to (its memo) and the keys queued for the
next source call. A key waits in its batch, and its batch has one future: a batch form
asking for a level's hundreds of keys at once (gateway/execution/catalog_batches.py) costs
a dictionary look-up per key and one await per batch, where aiodataloader made a future,
a queue entry, a callback and an await per key (about 350 per listing, most of them for
keys the request had read already).

The semantics are aiodataloader's, which this replaced: keys asked for within a few loop
turns of the first go out in one call (in the order first asked, each once); a key's value
is memoised for the rest of the request, and so is a per-key failure (an ``Exception`` in
place of its value), while a call that fails as a whole fails each of its keys' waiters
and memoises none; ``prime`` never overwrites; ``clear`` forgets. One difference: a waiter
that is cancelled leaves the shared batch alone (aiodataloader's shared per-key futures
were cancelled with it, and every other waiter on them got the ``CancelledError``).

With batching switched off (a benchmark baseline only) each key becomes its own source
call and nothing is memoised: the N+1 that hand-built gateways start with.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from itertools import repeat
from typing import Any, Generic, TypeVar

from ..metrics import Metrics

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# Loop turns a batch waits after its first key. GraphQL resolves sibling fields a few turns
# apart (a product's `skus { stock }` and its `inStock` ask for the same stock), so waiting
# a handful of turns (microseconds) merges them into one source call instead of two.
DISPATCH_TURNS = 6


class _Failed:
    """A key whose value is an exception (its fetch gave one, or its call failed)."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Batch:
    """Keys going out in one source call, and the futures of those waiting on it (one per
    waiting call, not per key)."""

    __slots__ = ("cancelled", "keys", "outcome", "task", "waiters")

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.waiters: list[asyncio.Future[None]] = []
        # key -> value or _Failed once the call has returned (a failed call: every key's
        # _Failed); None until then, and for good if the call was cancelled.
        self.outcome: dict[Any, Any] | None = None
        self.cancelled = False
        self.task: asyncio.Task[None] | None = None


class _Missing:
    """Not asked for yet in this request."""


_MISSING = _Missing()
_UNSETTLED = frozenset({_Batch, _Missing})  # what a memo look-up finds that is no outcome
_FAILED = frozenset({_Failed})


class Loader(Generic[K, V]):
    """A typed loader whose fetch function returns a mapping keyed like the input."""

    def __init__(
        self,
        name: str,
        fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]],
        *,
        metrics: Metrics,
        batching: bool = True,
        default: Callable[[], V] | None = None,
    ) -> None:
        # A request builds some thirty loaders and uses a few: nothing here costs more
        # than an empty dict (the metrics label is looked up on the first call).
        self._name = name
        self._fetch = fetch
        self._metrics = metrics
        self._batching = batching
        self._default = default
        self._observe: Callable[[float], None] | None = None
        # key -> its value, its _Failed, or the _Batch it waits in.
        self._memo: dict[K, Any] = {}
        self._open: _Batch | None = None  # the batch still taking keys
        self._cleared = False  # clear() was called: a call's keys are checked one by one

    # --- asking ------------------------------------------------------------------------

    async def load(self, key: K) -> V:
        return (await self.load_all([key]))[0]

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        return await self.load_all(keys)

    async def load_all(self, keys: Sequence[K]) -> list[V]:
        """Every key's value, in order; the first failed key's exception raised. Keys the
        request has read already cost a look-up each; the others wait for their call
        (one wait per call, however many keys)."""
        found = await self._outcomes(keys)
        if not _FAILED.isdisjoint(map(type, found)):
            raise next(value.error for value in found if type(value) is _Failed)
        return found

    async def load_each(self, keys: Sequence[K]) -> list[V | Exception]:
        """``load_all``, but a key that failed gets its exception in place of its value
        (a source down with last-known copies for some keys only): each object keeps or
        loses its own field."""
        return (await self.load_checked(keys))[0]

    async def load_checked(self, keys: Sequence[K]) -> tuple[list[Any], bool]:
        """``load_each``'s list, and whether every key has its value (no exception in the
        list): a batch form then skips its per-object check."""
        found = await self._outcomes(keys)
        if _FAILED.isdisjoint(map(type, found)):
            return found, True
        return [value.error if type(value) is _Failed else value for value in found], False

    def ask(self, keys: Sequence[K]) -> None:
        """Queue the keys this request has not asked for yet, without waiting for them:
        code that needs several loaders' values in one wave asks each, then awaits each
        (``load_*``), and the calls go out together with no task per wait (a task and
        its callbacks cost more than the look-ups it would run)."""
        if not self._batching:
            return
        memo = self._memo
        missing = [key for key in keys if key not in memo]
        if missing:
            if None in missing:
                raise TypeError("a loader key cannot be None")
            new = list(dict.fromkeys(missing))
            memo.update(dict.fromkeys(new, self._queue(new)))

    def prime(self, key: K, value: V) -> None:
        """Remember ``value`` for ``key`` unless the request has asked for it already."""
        if self._batching and key not in self._memo:
            self._memo[key] = _Failed(value) if isinstance(value, Exception) else value

    def prime_many(self, keys: Sequence[K], values: Sequence[V]) -> None:
        """``prime`` for each key and its value (a page of records: no call per key)."""
        if not self._batching:
            return
        if any(issubclass(kind, Exception) for kind in set(map(type, values))):
            for key, value in zip(keys, values, strict=True):
                self.prime(key, value)
            return
        memo = self._memo
        for key, value in zip(keys, values, strict=True):
            if key not in memo:
                memo[key] = value

    def requested(self, keys: Sequence[K]) -> list[K]:
        """Those of ``keys`` this request has already asked for (loaded or in flight), so
        a field can piggy-back on a sibling's read without causing one of its own."""
        memo = self._memo
        return [key for key in keys if key in memo]

    def clear(self, key: K) -> None:
        """Forget a key after this request wrote it, so the payload shows the new value."""
        self._cleared = True
        self._memo.pop(key, None)

    # --- waiting -----------------------------------------------------------------------

    async def _outcomes(self, keys: Sequence[K]) -> list[Any]:
        """Each key's value or _Failed, in order, once the calls they wait on are back."""
        if not self._batching:
            return await self._uncached(keys)
        memo = self._memo
        found: list[Any] = list(map(memo.get, keys, repeat(_MISSING)))  # no call per key
        if _UNSETTLED.isdisjoint(map(type, found)):
            return found  # all read already: the common case, no await
        missing = [key for key, value in zip(keys, found, strict=True) if value is _MISSING]
        if missing:
            if None in missing:
                raise TypeError("a loader key cannot be None")
            new = list(dict.fromkeys(missing))
            batch = self._queue(new)
            memo.update(dict.fromkeys(new, batch))
        # Every key is now read or waits in a batch: one wait per batch, then the batches'
        # outcomes by key (comprehensions, no Python call per key).
        found = [memo[key] for key in keys]
        batches = {value for value in found if type(value) is _Batch}  # by identity
        loop = asyncio.get_running_loop()
        for batch in batches:
            if batch.outcome is None and not batch.cancelled:
                waiter = loop.create_future()
                batch.waiters.append(waiter)
                await waiter  # cancelling this call cancels its own future only
            if batch.outcome is None:  # the call was cancelled
                raise asyncio.CancelledError()
        return [
            value.outcome[key] if type(value) is _Batch else value  # type: ignore[index]
            for key, value in zip(keys, found, strict=True)
        ]

    async def _uncached(self, keys: Sequence[K]) -> list[Any]:
        """Batching off: a call per key, all at once, nothing kept."""
        results = await asyncio.gather(*(self._call([key]) for key in keys), return_exceptions=True)
        found: list[Any] = []
        for result in results:
            if isinstance(result, Exception):
                found.append(_Failed(result))
            elif isinstance(result, BaseException):
                raise result
            else:
                found.append(_outcome(result[0]))
        return found

    # --- calling -----------------------------------------------------------------------

    def _queue(self, keys: list[K]) -> _Batch:
        batch = self._open
        if batch is None:
            batch = self._open = _Batch()
            self._after(DISPATCH_TURNS, asyncio.get_running_loop())
        batch.keys.extend(keys)
        return batch

    def _after(self, turns: int, loop: asyncio.AbstractEventLoop) -> None:
        if turns:
            loop.call_soon(self._after, turns - 1, loop)
            return
        batch = self._open
        self._open = None
        if batch is not None:
            batch.task = loop.create_task(self._run(batch))

    async def _run(self, batch: _Batch) -> None:
        keys = batch.keys
        memo = self._memo
        try:
            values = await self._call(keys)
        except asyncio.CancelledError:
            batch.cancelled = True
            self._forget(batch)
            for waiter in batch.waiters:
                waiter.cancel()
            raise
        except Exception as exc:
            batch.outcome = dict.fromkeys(keys, _Failed(exc))
            self._forget(batch)  # asked again, they are read again
        else:
            if any(issubclass(kind, Exception) for kind in set(map(type, values))):
                values = [_outcome(value) for value in values]
            outcome = batch.outcome = dict(zip(keys, values, strict=True))
            if not self._cleared:
                memo.update(outcome)
            else:
                for key, value in outcome.items():
                    if memo.get(key) is batch:
                        memo[key] = value
        for waiter in batch.waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _forget(self, batch: _Batch) -> None:
        memo = self._memo
        for key in batch.keys:
            if memo.get(key) is batch:
                del memo[key]

    async def _call(self, keys: list[K]) -> list[Any]:
        observe = self._observe
        if observe is None:
            observe = self._observe = self._metrics.batch_observer(self._name)
        observe(len(keys))
        found = await self._fetch(keys)
        default = self._default
        if default is None:  # V is Optional for loaders without a default
            return list(map(found.get, keys))
        return [found[key] if key in found else default() for key in keys]


def _outcome(value: Any) -> Any:
    return _Failed(value) if isinstance(value, Exception) else value


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
