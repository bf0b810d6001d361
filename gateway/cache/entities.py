"""Read-through for batches of entities, with single-flight per key.

One batch is one MGET; the misses go to the source in one call and are written back in one
pipeline, "does not exist" included (briefly). When many requests miss the same key at
once (a hot key just expired), only the first asks the source: the others wait for its
answer instead of stampeding the source.

Kinds read with a ``LastKnown`` policy (prices, promotions, display stock) also keep a
last-known copy for hours, written in that same pipeline (no extra round trip), stamped
with when it was read. When the source fails and the policy allows (a query, never a
checkout), the keys it could not answer are answered from those copies; a key with no copy
gets the failure itself, so only the objects that need it lose their field.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from ..tracing.spans import batch_cache_hits, note_cache_lookup
from .codec import Codec
from .keys import Kind
from .shared import InvalidationListener, SharedCache
from .tags import record_reads

I = TypeVar("I", bound=Hashable)  # noqa: E741
V = TypeVar("V")
# A filled value stays shareable this long, so a request whose MGET raced the fill's write
# does not ask the source again. Invalidation drops it at once.
GRACE_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class LastKnown:
    """How a read may stand in for its source: ``may_serve(error)`` says whether this
    failure, in this request, may be answered from last-known copies; ``served(value,
    read_at)`` is told of every value so answered (``read_at``: epoch seconds)."""

    may_serve: Callable[[BaseException], bool]
    served: Callable[[Any, float], None]


class StaleAnswers:
    """Told by the source guard when it answers a read from a stale copy (its source is
    down): a fill that was answered so shows the copy to its own request, marked, but never
    caches it as the current value nor hands it to requests waiting on the same keys."""

    seen = False


# Set around each fill's fetch; tasks the fetch starts share the same holder.
stale_answers: ContextVar[StaleAnswers | None] = ContextVar("stale_answers", default=None)


class ReadThrough(InvalidationListener):
    def __init__(self, cache: SharedCache) -> None:
        self.cache = cache
        self.metrics = cache.metrics
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self._dirty: set[str] = set()  # invalidated while their fill was in flight
        cache.listeners.append(self)

    async def load(
        self,
        kind: Kind,
        codec: Codec[V],
        ids: Sequence[I],
        fetch: Callable[[Sequence[I]], Awaitable[Mapping[I, V]]],
        *,
        ident: Callable[[I], str] = str,
        ttl: Callable[[V], float] | None = None,
        last_known: LastKnown | None = None,
    ) -> dict[I, V]:
        """The values of ``ids`` that exist, from the cache or else ``fetch``. With
        ``last_known``, an id its source could not answer maps to a last-known value or,
        with none, to the source's exception (a loader fails just that key)."""
        unique = list(dict.fromkeys(ids))
        prefix = self.cache.keys.kind_prefix(kind)  # KeySpace.key's, the enum read once
        key_of = {i: f"{prefix}{ident(i)}" for i in unique}
        keys = list(key_of.values())
        record_reads(kind, keys)
        waits: dict[I, asyncio.Future[bytes]] = {}
        ask = self._split(unique, key_of, waits, done_ok=False)
        raw: dict[I, bytes] = {}
        if ask:
            found = await self.cache.get_many(keys if ask is unique else [key_of[i] for i in ask])
            raw = {i: data for i in ask if (data := found.get(key_of[i])) is not None}
            hit, miss = self.metrics.lookups(kind.value)
            hit(len(raw))
            miss(len(ask) - len(raw))
            note_cache_lookup(kind.value, len(raw), len(ask) - len(raw))
        before = set(waits)
        missed = [i for i in ask if i not in raw] if len(raw) < len(ask) else []
        mine = self._split(missed, key_of, waits, done_ok=True)
        # Missed in the cache yet just filled here (a flush, an eviction): write them back.
        refill = [i for i in waits if i not in before and waits[i].done()]
        keep = last_known is not None
        try:
            if mine:
                hits = batch_cache_hits.set(len(unique) - len(mine))  # the source span says
                try:
                    filled = await self._fill(kind, codec, mine, key_of, fetch, ident, ttl, keep)
                finally:
                    batch_cache_hits.reset(hits)
                raw.update(filled)
            if waits:
                raw.update(await self._wait(kind, codec, waits, key_of, fetch, ident, ttl, keep))
        except Exception as exc:
            if last_known is None or not last_known.may_serve(exc):
                raise
            missing = [i for i in unique if i not in raw]
            return self._decoded(raw, codec) | await self._last_known(
                codec, missing, key_of, exc, last_known
            )
        if refill:
            await self._write(kind, codec, {key_of[i]: raw[i] for i in refill if i in raw}, ttl)
        return self._decoded(raw, codec)

    @staticmethod
    def _decoded(raw: dict[I, bytes], codec: Codec[V]) -> dict[I, V]:
        """Decoded once per process for the same bytes (``Codec.shared``): a cart priced
        from the cache would otherwise decode the same records on every request."""
        return codec.shared_all(raw)

    async def _last_known(
        self,
        codec: Codec[V],
        ids: list[I],
        key_of: dict[I, str],
        error: Exception,
        policy: LastKnown,
    ) -> dict[I, V]:
        """One MGET of the copies (only ever on an outage); ``error`` for ids without."""
        keys = self.cache.keys
        copies = await self.cache.get_many([keys.last_known(key_of[i]) for i in ids])
        values: dict[I, Any] = {}
        for i in ids:
            copy = copies.get(keys.last_known(key_of[i]))
            stamp, _, data = copy.partition(b"\n") if copy is not None else (b"", b"", b"")
            try:
                read_at = float(stamp)
            except ValueError:
                values[i] = error
                continue
            value = codec.decode(data)  # its own object: marked stale by its identity
            if value is not None:
                policy.served(value, read_at)
                values[i] = value
        return cast("dict[I, V]", values)

    def _split(
        self,
        ids: list[I],
        key_of: dict[I, str],
        waits: dict[I, asyncio.Future[bytes]],
        *,
        done_ok: bool,
    ) -> list[I]:
        """Ids someone else is fetching (or, after a miss, has just fetched) go to
        ``waits``; the rest are returned."""
        inflight = self._inflight
        if not inflight:  # the usual case once the hot set is cached: nothing to wait for
            return ids
        rest: list[I] = []
        for i in ids:
            future = inflight.get(key_of[i])
            if (
                future is None
                or future.cancelled()
                or (future.done() and (not done_ok or future.exception()))
            ):
                rest.append(i)
            else:
                waits[i] = future
        return rest

    async def _wait(
        self,
        kind: Kind,
        codec: Codec[V],
        waits: dict[I, asyncio.Future[bytes]],
        key_of: dict[I, str],
        fetch: Callable[[Sequence[I]], Awaitable[Mapping[I, V]]],
        ident: Callable[[I], str],
        ttl: Callable[[V], float] | None,
        keep: bool = False,
    ) -> dict[I, bytes]:
        # shield: this request giving up must not cancel the fill other requests wait on.
        results = await asyncio.gather(
            *(asyncio.shield(f) for f in waits.values()), return_exceptions=True
        )
        raw: dict[I, bytes] = {}
        retry: list[I] = []
        for i, result in zip(waits, results, strict=True):
            if isinstance(result, bytes):
                raw[i] = result
            elif isinstance(result, asyncio.CancelledError):
                retry.append(i)  # the request that was fetching went away: fetch ourselves
            else:
                raise result
        self.metrics.coalesced.labels(kind.value).inc(len(raw))
        if retry:
            raw.update(await self._fill(kind, codec, retry, key_of, fetch, ident, ttl, keep))
        return raw

    async def _fill(
        self,
        kind: Kind,
        codec: Codec[V],
        ids: list[I],
        key_of: dict[I, str],
        fetch: Callable[[Sequence[I]], Awaitable[Mapping[I, V]]],
        ident: Callable[[I], str],
        ttl: Callable[[V], float] | None,
        keep: bool = False,
    ) -> dict[I, bytes]:
        loop = asyncio.get_running_loop()
        futures = {key_of[i]: loop.create_future() for i in ids}
        self._inflight.update(futures)
        answers = StaleAnswers()
        token = stale_answers.set(answers)
        try:
            fetched = await fetch(ids)
        except BaseException as exc:
            for key, future in futures.items():
                if self._inflight.get(key) is future:
                    del self._inflight[key]
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            stale_answers.reset(token)
        if answers.seen:
            for key, future in futures.items():
                if self._inflight.get(key) is future:
                    del self._inflight[key]
                future.cancel()  # waiters ask for themselves, and are told it is a copy
            self._dirty.difference_update(futures)
            return {i: codec.encode(fetched.get(i)) for i in ids}
        keys = self.cache.keys
        raw: dict[I, bytes] = {}
        writes: dict[float, dict[str, bytes]] = defaultdict(dict)
        keep_for = keys.ttl(Kind.LAST_KNOWN) if keep else 0.0
        stamp = f"{time.time():.3f}\n".encode()
        # Extra values the source sent along (a category's ancestors) are cached too.
        for i in [*ids, *(x for x in fetched if x not in key_of)]:
            value = fetched.get(i)
            data = codec.encode(value)
            key = key_of.get(i) or keys.key(kind, ident(i))
            if i in key_of:
                raw[i] = data
            if key not in self._dirty:
                writes[self._ttl(kind, value, ttl)][key] = data
                if keep_for > 0:
                    writes[keep_for][keys.last_known(key)] = stamp + data
        for i in ids:
            key, future = key_of[i], futures[key_of[i]]
            if not future.done():
                future.set_result(raw[i])
            loop.call_later(GRACE_SECONDS, self._expire, key, future)
        self._dirty.difference_update(futures)
        await self.cache.set_groups(writes)  # one pipeline, last-known copies included
        return raw

    def _ttl(self, kind: Kind, value: V | None, ttl: Callable[[V], float] | None) -> float:
        if value is None:
            return self.cache.keys.settings.missing_ttl
        return ttl(value) if ttl is not None else self.cache.keys.ttl(kind)

    async def _write(
        self,
        kind: Kind,
        codec: Codec[V],
        items: dict[str, bytes],
        ttl: Callable[[V], float] | None,
    ) -> None:
        writes: dict[float, dict[str, bytes]] = defaultdict(dict)
        for key, data in items.items():
            writes[self._ttl(kind, codec.shared(data), ttl)][key] = data
        for seconds, batch in writes.items():
            await self.cache.set_many(batch, seconds)

    def _expire(self, key: str, future: asyncio.Future[bytes]) -> None:
        if self._inflight.get(key) is future:
            del self._inflight[key]

    def forget(self, keys: list[str], prefixes: list[str]) -> None:
        doomed = set(keys)
        if prefixes:
            doomed.update(k for k in self._inflight if k.startswith(tuple(prefixes)))
        for key in doomed:
            future = self._inflight.get(key)
            if future is None:
                continue
            if future.done():
                del self._inflight[key]
            else:
                self._dirty.add(key)

    def forget_all(self) -> None:
        self.forget(list(self._inflight), [])

    async def store(
        self, kind: Kind, codec: Codec[V], values: Mapping[I, V], *, ident: Callable[[I], str] = str
    ) -> None:
        """Write values fetched another way (products found by slug) under their own keys."""
        items = {self.cache.keys.key(kind, ident(i)): codec.encode(v) for i, v in values.items()}
        await self.cache.set_many(items, self.cache.keys.ttl(kind))
