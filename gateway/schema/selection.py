"""What a query selects under a field, for resolvers that can skip work nobody asked for
(a listing's count, a product's prices)."""

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from strawberry.types.nodes import SelectedField


def fields(selections: Iterable[Any]) -> Iterator[SelectedField]:
    """The fields of a selection, fragments spread in place."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:  # a fragment spread or an inline fragment
            yield from fields(selection.selections)


# Names selected under a field, by its nodes (and what was asked of them): they depend on
# the parsed document only (its fragments included), never on the variables, so a
# repeated query finds them here instead of converting its whole selection again.
_NAMES: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], frozenset[str]]] = OrderedDict()
_NAMES_MAX = 1024


def names_under(info: Any, key: Any, collect: Callable[[Any], frozenset[str]]) -> frozenset[str]:
    """``collect(info)`` (names read from ``info.selected_fields``), remembered under the
    field's nodes and ``key``; the nodes are held so their ids stay theirs."""
    raw = getattr(info, "_raw_info", None)
    if raw is None:  # not a strawberry Info: nothing to key it by
        return collect(info)
    nodes = tuple(raw.field_nodes)
    cache_key = (key, *map(id, nodes))
    found = _NAMES.get(cache_key)
    if found is not None and all(a is b for a, b in zip(found[0], nodes, strict=True)):
        return found[1]
    names = collect(info)
    _NAMES[cache_key] = (nodes, names)
    if len(_NAMES) > _NAMES_MAX:
        _NAMES.popitem(last=False)
    return names


def _direct(info: Any) -> frozenset[str]:
    return frozenset(child.name for f in info.selected_fields for child in fields(f.selections))


def selects(info: Any, name: str) -> bool:
    """Whether the resolved field selects ``name`` directly (under any alias or fragment;
    a field skipped by ``@skip``/``@include`` still counts: the work is merely wasted)."""
    return name in names_under(info, "direct", _direct)
