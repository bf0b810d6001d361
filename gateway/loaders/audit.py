"""Audit trails, per entity, from the source that made each change."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

from sources.common.audit import AuditRecord

from ..metrics import Metrics
from .base import Loader

AuditKey = tuple[int, int]  # (entity id, how many entries)
AuditFetch = Callable[[Sequence[int], int], Awaitable[dict[int, list[AuditRecord]]]]


def audit_loader(
    name: str, fetch: AuditFetch, metrics: Metrics, batching: bool
) -> Loader[AuditKey, list[AuditRecord]]:
    async def load(keys: Sequence[AuditKey]) -> dict[AuditKey, list[AuditRecord]]:
        by_limit: dict[int, list[int]] = defaultdict(list)
        for entity_id, limit in keys:
            by_limit[limit].append(entity_id)
        found: dict[AuditKey, list[AuditRecord]] = {}
        for limit, ids in by_limit.items():
            entries = await fetch(ids, limit)
            found.update({(eid, limit): entries.get(eid, []) for eid in ids})
        return found

    return Loader(name, load, metrics=metrics, batching=batching, default=list)
