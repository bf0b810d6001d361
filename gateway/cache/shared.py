"""The cache one gateway process holds: an optional near cache in front of the backend,
invalidation (delete, purge, publish) and the listener that applies other processes'
invalidations to this process's near cache."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping, Sequence

import orjson
import structlog

from .backend import CacheBackend
from .cdn import PurgeHook, surrogate_tags
from .keys import DEPENDENT_KINDS, KeySpace, Kind
from .memory import InProcessCache
from .metrics import CacheMetrics
from .settings import CacheSettings

log = structlog.get_logger("gateway.cache")
# A fill that raced a write may land just after the write's delete: delete once more later.
SECOND_DELETE_AFTER = 0.5


class SharedCache:
    def __init__(
        self,
        settings: CacheSettings,
        backend: CacheBackend,
        metrics: CacheMetrics,
        *,
        near: InProcessCache | None = None,
        purge: PurgeHook | None = None,
    ) -> None:
        self.settings = settings
        self.purge = purge
        self.backend = backend
        self.near = near
        self.metrics = metrics
        self.keys = KeySpace(settings)
        self.origin = uuid.uuid4().hex
        self.listeners: list[InvalidationListener] = []
        self._later: set[asyncio.Task[None]] = set()

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        if self.near is None:
            return await self.backend.get_many(keys)
        found = await self.near.get_many(keys)
        rest = [k for k in keys if k not in found]
        if rest:
            remote = await self.backend.get_many(rest)
            if remote:
                await self.near.set_many(remote, self.settings.local_ttl)
                found.update(remote)
        return found

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None:
        if self.near is not None:
            await self.near.set_many(items, ttl)
        await self.backend.set_many(items, ttl)

    async def set_groups(self, groups: Mapping[float, Mapping[str, bytes]]) -> None:
        if self.near is not None:
            await self.near.set_groups(groups)
        await self.backend.set_groups(groups)

    async def invalidate(
        self, entities: Iterable[tuple[Kind, object]] = (), kinds: Iterable[Kind] = ()
    ) -> None:
        """Drop entity keys and whole types everywhere, with the responses that showed them.
        Best effort on Redis (failures are counted); the TTLs bound what a failure leaves."""
        keys = sorted({self.keys.key(kind, ident) for kind, ident in entities})
        every_kind = set(kinds)
        for kind in kinds:
            every_kind.update(DEPENDENT_KINDS.get(kind, ()))
        prefixes = sorted(self.keys.kind_prefix(k) for k in every_kind)
        tags = [self.keys.key(Kind.TAG, key) for key in keys]
        tags += [self.keys.key(Kind.TAG, f"kind:{kind.value}") for kind in every_kind]
        responses = await self.backend.pop_members(tags)
        if self.purge is not None:  # a CDN in front holds these responses too
            self.purge.purge(surrogate_tags(self.keys, keys, every_kind))
        doomed = keys + sorted(responses)
        await self._apply(doomed, prefixes, also_backend=True)
        message = {"origin": self.origin, "keys": doomed, "prefixes": prefixes}
        await self.backend.publish(self.settings.channel, orjson.dumps(message))
        self.metrics.invalidations.labels("local").inc()
        task = asyncio.get_running_loop().create_task(self._delete_again(doomed))
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def invalidate_everything(self) -> None:
        """After a reseed: every key of this prefix and version, in every process."""
        await self._apply([], [self.keys.base], also_backend=True)
        message = {"origin": self.origin, "keys": [], "prefixes": [self.keys.base]}
        await self.backend.publish(self.settings.channel, orjson.dumps(message))

    async def _delete_again(self, keys: list[str]) -> None:
        await asyncio.sleep(SECOND_DELETE_AFTER)
        await self._apply(keys, [], also_backend=True)

    async def _apply(self, keys: list[str], prefixes: list[str], *, also_backend: bool) -> None:
        if also_backend:
            await self.backend.delete_many(keys)
            for prefix in prefixes:
                await self.backend.delete_prefix(prefix)
        if self.near is not None:
            await self.near.delete_many(keys)
            for prefix in prefixes:
                await self.near.delete_prefix(prefix)
        for listener in self.listeners:
            listener.forget(keys, prefixes)

    async def on_message(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            if message.get("origin") == self.origin:
                return
            keys = [str(k) for k in message.get("keys", [])]
            prefixes = [str(p) for p in message.get("prefixes", [])]
        except (orjson.JSONDecodeError, AttributeError, TypeError):
            log.warning("unreadable invalidation message")
            return
        await self._apply(keys, prefixes, also_backend=False)
        self.metrics.invalidations.labels("remote").inc()

    async def on_reconnect(self) -> None:
        """Messages may have been missed: the near cache can no longer be trusted."""
        if self.near is not None:
            self.near.clear()
        for listener in self.listeners:
            listener.forget_all()

    async def listen(self) -> None:
        await self.backend.listen(self.settings.channel, self.on_message, self.on_reconnect)

    async def health(self) -> str:
        return await self.backend.health()

    async def close(self) -> None:
        for task in list(self._later):
            task.cancel()
        if self.purge is not None:
            await self.purge.close()
        await self.backend.close()


class InvalidationListener:
    """Something holding in-process copies (single-flight results) to drop on invalidation."""

    def forget(self, keys: list[str], prefixes: list[str]) -> None:
        raise NotImplementedError

    def forget_all(self) -> None:
        raise NotImplementedError
