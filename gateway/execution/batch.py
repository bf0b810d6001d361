"""Batch forms of fields: a list of parents in, a list of values out.

The breadth-first executor resolves a field once for every object at its position, so a
field that reads a source can ask for all its keys in one go instead of once per object
through a DataLoader's per-key futures. ``@batch_field("Sku", "price")`` registers such a
form for a field of the strawberry schema; the per-object resolver stays the field's
definition (standard execution and the SDL use it), and a test checks that both give the
same answers. A batch form returns one value per parent, in order; an ``Exception`` in
place of a value is that object's field error, exactly as if its resolver had raised it.

Only fields without strawberry field extensions (permission guards) may have one: the
guard runs per object in the adapter, and a batch form would skip it.

``records=True`` says the form also takes its type's records as parents (the values of
its ``RecordForm``, gateway/execution/records.py), all of one kind in a call: a position
whose fields all come from the form's table or from such batch forms then keeps the
records and builds no strawberry object per parent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import strawberry

# (parents, info, arguments) -> values. ``info`` is one strawberry Info for the whole
# batch (its path is the first parent's).
BatchResolver = Callable[
    [Sequence[Any], strawberry.Info[Any, Any], dict[str, Any]], Awaitable[Sequence[Any]]
]

_REGISTRY: dict[tuple[str, str], BatchResolver] = {}
_TAKES_RECORDS: set[tuple[str, str]] = set()


def batch_field(
    type_name: str, field_name: str, *, records: bool = False
) -> Callable[[BatchResolver], BatchResolver]:
    """Register ``fn`` as the batch form of ``type_name.field_name`` (GraphQL names)."""

    def register(fn: BatchResolver) -> BatchResolver:
        _REGISTRY[(type_name, field_name)] = fn
        if records:
            _TAKES_RECORDS.add((type_name, field_name))
        return fn

    return register


def batch_takes_records(type_name: str, field_name: str) -> bool:
    return (type_name, field_name) in _TAKES_RECORDS


def batch_resolver_for(type_name: str, field_name: str) -> BatchResolver | None:
    return _REGISTRY.get((type_name, field_name))


def registered() -> dict[tuple[str, str], BatchResolver]:
    return dict(_REGISTRY)
