"""The last good answer of each catalog read, kept in this process (bounded, least recently
used dropped first) to serve while the catalog is down: stale-if-error. The shared cache
cannot do it: its entries expire at their TTL, which is exactly when they would be needed.

Batch reads (``products_by_ids([...]) -> {id: record}``) are remembered per id, so any
later batch of known ids can be answered; other reads by their whole argument list.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

MISSING: Any = object()
_ABSENT: Any = object()  # asked for and not found: "does not exist" is an answer too


def _is_batch(args: tuple[Any, ...], result: Any) -> bool:
    return bool(args) and isinstance(args[0], list | tuple) and isinstance(result, Mapping)


def _hashable(value: Any) -> Hashable:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value  # type: ignore[no-any-return]


class StaleCopies:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def _key(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
        return (name, tuple(_hashable(a) for a in args), _hashable(tuple(sorted(kwargs.items()))))

    def _put(self, key: Hashable, value: Any) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def remember(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any
    ) -> None:
        if _is_batch(args, result):
            rest = args[1:]
            for item in args[0]:
                key = self._key(name, (_hashable(item), *rest), kwargs)
                self._put(key, result.get(item, _ABSENT))
            return
        self._put(self._key(name, args, kwargs), result)

    def recall(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args and isinstance(args[0], list | tuple):
            found: dict[Any, Any] = {}
            rest = args[1:]
            for item in args[0]:
                key = self._key(name, (_hashable(item), *rest), kwargs)
                if key not in self._entries:
                    break
                value = self._entries[key]
                if value is not _ABSENT:
                    found[item] = value
            else:
                return found
        return self._entries.get(self._key(name, args, kwargs), MISSING)
