"""What a query selects under a field, for resolvers that can skip work nobody asked for
(a listing's count, a product's prices)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from strawberry.types.nodes import SelectedField


def fields(selections: Iterable[Any]) -> Iterator[SelectedField]:
    """The fields of a selection, fragments spread in place."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:  # a fragment spread or an inline fragment
            yield from fields(selection.selections)


def selects(info: Any, name: str) -> bool:
    """Whether the resolved field selects ``name`` directly (under any alias or fragment;
    a field skipped by ``@skip``/``@include`` still counts: the work is merely wasted)."""
    return any(child.name == name for f in info.selected_fields for child in fields(f.selections))
