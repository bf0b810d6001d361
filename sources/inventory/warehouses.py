"""Adding a warehouse: its code is how stock files, adjustments and parcels name it, so it
is unique; the new warehouse holds nothing until stock is adjusted into it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select

from sources.common.audit import write_audit
from sources.common.db import Database

from . import models as m
from .records import Warehouse


async def create_warehouse(
    db: Database,
    *,
    code: str,
    name: str,
    region_code: str,
    priority: int | None,
    actor: str,
    now: datetime,
) -> Warehouse | None:
    """The new warehouse, or None when the code is taken (any case): nothing written.
    Without a priority it comes after every other (allocation tries it last)."""
    async with db.begin() as conn:
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
