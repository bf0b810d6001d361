"""Audit entries as records, and the two operations every source needs on them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .models import AuditColumns


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    source: str
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: int
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str


def _json(value: Mapping[str, Any]) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS).decode()


def audit_row(
    *,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: int,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reason: str = "",
) -> dict[str, Any]:
    """One audit entry's column values (single writes and batches write the same shape)."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": _json(before),
        "after": _json(after),
        "reason": reason,
    }


async def write_audit(
    conn: AsyncConnection,
    model: type[AuditColumns],
    *,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: int,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reason: str = "",
) -> None:
    """Written in the caller's transaction, so a change and its audit entry commit together."""
    row = audit_row(
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        reason=reason,
    )
    await conn.execute(insert(model), row)


async def write_audits(
    conn: AsyncConnection, model: type[AuditColumns], rows: Sequence[Mapping[str, Any]]
) -> None:
    """A batch's entries (one per item, from ``audit_row``) in one statement."""
    if rows:
        await conn.execute(insert(model), list(rows))


async def read_audit(
    conn: AsyncConnection,
    model: Any,
    source: str,
    entity_type: str,
    entity_ids: Sequence[int],
    limit: int,
) -> dict[int, list[AuditRecord]]:
    """The newest ``limit`` entries per entity, for many entities in one query."""
    rank = (
        func.row_number().over(partition_by=model.entity_id, order_by=model.id.desc()).label("rank")
    )
    ranked = (
        select(model, rank)
        .where(model.entity_type == entity_type, model.entity_id.in_(set(entity_ids)))
        .subquery()
    )
    rows = await conn.execute(
        select(ranked)
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.entity_id, ranked.c.id.desc())
    )
    found: dict[int, list[AuditRecord]] = defaultdict(list)
    for r in rows:
        found[r.entity_id].append(
            AuditRecord(
                id=r.id,
                source=source,
                at=r.at,
                actor=r.actor,
                action=r.action,
                entity_type=r.entity_type,
                entity_id=r.entity_id,
                before=orjson.loads(r.before),
                after=orjson.loads(r.after),
                reason=r.reason,
            )
        )
    return {eid: found.get(eid, []) for eid in entity_ids}
