"""The last good answer of each catalog read, kept to serve while the catalog is down:
stale-if-error. The fresh cache entries cannot do it: they expire at their TTL, which is
exactly when they would be needed.

The copies live where the last-known prices do (gateway/cache/entities.py): in the shared
cache, under ``LastKnown`` keys kept ``CACHE_LAST_KNOWN_HOURS``, so with Redis every
gateway process can serve what any one of them read (a process started during the outage
included); with the cache off, in this process only (bounded by
``SOURCE_STALE_MAX_ENTRIES``, least recently used dropped first).

A copy is the source's own wire encoding of the answer (sources/common/wire.py), so it
decodes to the same frozen records in whichever process reads it. Batch reads
(``products_by_ids([...]) -> {id: record}``) are kept per id, so any later batch of known
ids can be answered, "does not exist" included; other reads by their whole argument list.

A copy is written again at most once a second (``REFRESH_SECONDS``): a listing read the same
page, its 50 products' SKUs and their categories on every request, and encoding and storing
them again each time was about half a millisecond of a 13 ms listing (bench/RESULTS.md,
"The collector and the last-known copies") for a copy no different from the one kept a
moment before. So what an outage serves is an answer read at most a second before the last
good one: an outage lasts far longer than that, and a copy is shown marked as one whatever
its age.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import msgspec
import structlog

from sources.common.wire import MethodSpec, encode, interface_methods

from ..cache.keys import Kind
from ..cache.memory import InProcessCache
from ..cache.shared import SharedCache

log = structlog.get_logger("gateway.resilience")

MISSING: Any = object()
_NOTHING = b"{}"  # a batch's id asked for and not found: "does not exist" is an answer too
REFRESH_SECONDS = 1.0  # a copy is written again at most this often (see the module)


class CopyStore(Protocol):
    """Bytes by key, in batches: the shared cache, or an in-process map."""

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]: ...

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None: ...


def _is_batch(args: tuple[Any, ...], result: Any) -> bool:
    return bool(args) and isinstance(args[0], list | tuple) and isinstance(result, Mapping)


def _digest(arguments: Mapping[str, Any]) -> str:
    if not arguments:
        return "-"
    data = encode(dict(sorted(arguments.items())))
    return hashlib.blake2b(data, digest_size=12).hexdigest()


class StaleCopies:
    """One source's last good answers, by method and arguments, in ``store``."""

    def __init__(
        self,
        interface: type,
        store: CopyStore,
        *,
        prefix: str,
        ttl: float,
        refresh: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.specs: dict[str, MethodSpec] = interface_methods(interface)
        self.store = store
        self.prefix = prefix
        self.ttl = ttl
        self.refresh = refresh
        self.clock = clock
        # The keys written since ``_since``: skipped until ``refresh`` has passed (then the
        # set starts again, so it holds at most one window's keys).
        self._written: set[str] = set()
        # A batch's ids written in the window, by the key prefix of their method and other
        # arguments: a repeated batch is found written without a key made per id.
        self._written_ids: dict[str, set[Any]] = {}
        self._since = -float("inf")

    def _recent(self) -> set[str]:
        """The keys written in the current window: each less than ``refresh`` ago."""
        now = self.clock()
        if now - self._since >= self.refresh:
            self._written = set()
            self._written_ids = {}
            self._since = now
        return self._written

    def _keys(
        self, spec: MethodSpec, args: tuple[Any, ...], kwargs: dict[str, Any], *, batch: bool
    ) -> tuple[str, list[str]]:
        """The key of the whole call, and (``batch``) one key per id of its first argument."""
        bound = spec.bind(args, kwargs)
        whole = f"{self.prefix}{spec.name}:{_digest(bound)}"
        if not batch:
            return whole, []
        head = self._batch_head(spec, args, kwargs, bound)
        return whole, [f"{head}{item}" for item in args[0]]

    def _batch_head(
        self,
        spec: MethodSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        bound: dict[str, Any] | None = None,
    ) -> str:
        """What a batch's per-id keys start with: the method and its other arguments."""
        if bound is None:
            bound = spec.bind(args, kwargs)
        first = spec.parameters[0].name
        rest = _digest({name: value for name, value in bound.items() if name != first})
        return f"{self.prefix}{spec.name}:{rest}:"

    async def remember(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any
    ) -> None:
        spec = self.specs.get(name)
        if spec is None:  # not part of the interface: no encoding to keep it in
            return
        recent = self._recent()
        ids: list[Any] = []
        head = ""
        try:
            if _is_batch(args, result):
                head = self._batch_head(spec, args, kwargs)
                written = self._written_ids.get(head)
                ids = list(args[0]) if written is None else [i for i in args[0] if i not in written]
                items = {
                    f"{head}{item}": encode({item: result[item]}) if item in result else _NOTHING
                    for item in ids
                }
            else:
                whole, _ = self._keys(spec, args, kwargs, batch=False)
                items = {} if whole in recent else {whole: encode(result)}
        except (TypeError, ValueError, NotImplementedError, msgspec.EncodeError) as exc:
            log.warning("stale copy not kept", method=name, error=repr(exc))
            return
        if not items:
            return  # every copy written within the last ``refresh`` seconds
        await self.store.set_many(items, self.ttl)
        if ids:
            self._written_ids.setdefault(head, set()).update(ids)
        else:
            recent.update(items)

    async def recall(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The answer kept for this call, or ``MISSING``; a batch only when every id has
        a copy (half an answer would pass for a whole one)."""
        spec = self.specs.get(name)
        if spec is None:
            return MISSING
        batch = bool(args) and isinstance(args[0], list | tuple)
        try:
            whole, keys = self._keys(spec, args, kwargs, batch=batch)
        except (TypeError, ValueError, NotImplementedError, msgspec.EncodeError):
            return MISSING  # arguments no copy could have been kept under
        try:
            if keys:
                found = await self.store.get_many(keys)
                if all(key in found for key in keys):
                    answer: dict[Any, Any] = {}
                    for key in keys:
                        answer.update(spec.result.decode(found[key]))
                    return answer
            copy = (await self.store.get_many([whole])).get(whole)
            return MISSING if copy is None else spec.result.decode(copy)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:  # an older shape
            log.warning("stale copy unreadable", method=name, error=repr(exc))
            return MISSING


def stale_copies(
    source: str,
    interface: type,
    *,
    shared: SharedCache | None,
    hours: float,
    max_entries: int,
) -> StaleCopies | None:
    """Where ``source``'s copies are kept: the shared cache when there is one, else a map
    of this process; None when they are switched off (either setting 0)."""
    if hours <= 0 or max_entries <= 0:
        return None
    if shared is not None:
        prefix = shared.keys.key(Kind.LAST_KNOWN, f"{source}:")
        return StaleCopies(interface, shared, prefix=prefix, ttl=hours * 3600)
    store = InProcessCache(max_entries)
    return StaleCopies(interface, store, prefix=f"{source}:", ttl=hours * 3600)
