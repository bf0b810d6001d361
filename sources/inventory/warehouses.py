"""Adding a warehouse: its code is how stock files, adjustments and parcels name it, so it
is unique; the new warehouse holds nothing until stock is adjusted into it. With a key, a
retried request gets the warehouse the first one created, not "code taken"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.audit import write_audit
from sources.common.batches import BatchKey
from sources.common.db import Database
from sources.common.idempotency import remember, replay

from . import models as m
from .records import Warehouse, WarehouseWrite


async def create_warehouse(
    db: Database,
    *,
    code: str,
    name: str,
    region_code: str,
    priority: int | None,
    actor: str,
    now: datetime,
    key: BatchKey | None = None,
) -> WarehouseWrite:
    """The new warehouse, or none when the code is taken (any case): nothing written.
    Without a priority it comes after every other (allocation tries it last). The key is
    stored in the same transaction; a reused key with other arguments raises
    ``IdempotencyKeyReused``."""
    try:
        async with db.begin() as conn:
            replayed = await _replayed(conn, key, now)
            if replayed is not None:
                return replayed
            warehouse = await _insert(conn, code, name, region_code, priority, actor=actor, now=now)
            if warehouse is not None and key is not None:
                stored = {"id": warehouse.id}
                await remember(conn, m.IdempotencyKey, key.key, key.fingerprint, stored, now)
            return WarehouseWrite(warehouse)
    except IntegrityError:
        # A concurrent request took the code (or the key) first: with the same key, it
        # was this very request's retry, and its warehouse is the answer.
        async with db.begin() as conn:
            return await _replayed(conn, key, now) or WarehouseWrite(None)


async def _replayed(
    conn: AsyncConnection, key: BatchKey | None, now: datetime
) -> WarehouseWrite | None:
    if key is None:
        return None
    stored = await replay(conn, m.IdempotencyKey, key.key, key.fingerprint, now)
    if stored is None:
        return None
    row = (
        await conn.execute(select(m.Warehouse).where(m.Warehouse.id == int(stored["id"])))
    ).first()
    if row is None:  # removed since: nothing to replay
        return WarehouseWrite(None, replayed=True)
    return WarehouseWrite(Warehouse(row.id, row.code, row.name, row.region_code), replayed=True)


async def _insert(
    conn: AsyncConnection,
    code: str,
    name: str,
    region_code: str,
    priority: int | None,
    *,
    actor: str,
    now: datetime,
) -> Warehouse | None:
    taken = await conn.scalar(
        select(m.Warehouse.id).where(func.upper(m.Warehouse.code) == code.upper())
    )
    if taken is not None:
        return None
    if priority is None:
        priority = int(
            await conn.scalar(select(func.coalesce(func.max(m.Warehouse.priority), 0) + 1)) or 1
        )
    row = {"code": code, "name": name, "region_code": region_code, "priority": priority}
    warehouse_id = int(
        (
            await conn.execute(insert(m.Warehouse).values(**row).returning(m.Warehouse.id))
        ).scalar_one()
    )
    await write_audit(conn, m.AuditEntry, at=now, actor=actor, action="warehouse.create",
                      entity_type="warehouse", entity_id=warehouse_id, before={},
                      after=row)  # fmt: skip
    return Warehouse(warehouse_id, code, name, region_code)
