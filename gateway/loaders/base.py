"""How every loader is built: per request, batching all keys of one tick into one call.

With batching switched off (a benchmark baseline only) each key becomes its own source
call and nothing is memoised: the N+1 that hand-built gateways start with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

from aiodataloader import DataLoader

from ..metrics import Metrics

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Loader(DataLoader, Generic[K, V]):  # type: ignore[misc]
    """A typed DataLoader whose batch function returns a mapping keyed like the input."""

    def __init__(
        self,
        name: str,
        fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]],
        *,
        metrics: Metrics,
        batching: bool = True,
        default: Callable[[], V] | None = None,
    ) -> None:
        observe = metrics.batch_size.labels(name).observe

        async def batch_load(keys: list[K]) -> list[V | None]:
            observe(len(keys))
            found = await fetch(keys)
            if default is None:
                return [found.get(key) for key in keys]
            return [found[key] if key in found else default() for key in keys]

        super().__init__(batch_load, batch=batching, cache=batching)

    async def load(self, key: K) -> V:  # narrowing the untyped base
        return await super().load(key)  # type: ignore[no-any-return]

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        return await super().load_many(keys)  # type: ignore[no-any-return]

