"""Returned goods back on the shelf: once per return, whatever the retries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from sources.common.audit import write_audit
from sources.common.db import Database
from sources.common.idempotency import fingerprint, remember, replay

from . import models as m


async def restock(
    db: Database,
    *,
    return_ref: str,
    items: Sequence[tuple[int, str, int]],
    actor: str,
    now: datetime,
) -> bool:
    """Add (sku, warehouse code, quantity) back to on-hand stock, audited, applied once per
    ``return_ref`` (the after-sales request). False when it had already been applied or a
    warehouse is unknown (then nothing changes)."""
    try:
        return await _restock_once(db, return_ref, items, actor, now)
    except IntegrityError:  # a concurrent call with the same return_ref won
        return False


async def _restock_once(
    db: Database, return_ref: str, items: Sequence[tuple[int, str, int]], actor: str, now: datetime
) -> bool:
    key = f"restock:{return_ref}"
    print_ = fingerprint({"items": sorted(items)})
    async with db.begin() as conn:
        if await replay(conn, m.IdempotencyKey, key, print_, now) is not None:
            return False
        codes = {code for _, code, _ in items}
        warehouses = dict(
            (
                await conn.execute(
                    select(m.Warehouse.code, m.Warehouse.id).where(m.Warehouse.code.in_(codes))
                )
            ).all()
        )
        if set(warehouses) != codes:
            return False
        for sku_id, code, quantity in items:
            if quantity <= 0:
                raise ValueError("a restocked quantity must be positive")
            after = (
                await conn.execute(
                    update(m.StockItem)
                    .where(
                        m.StockItem.sku_id == sku_id, m.StockItem.warehouse_id == warehouses[code]
                    )
                    .values(on_hand=m.StockItem.on_hand + quantity, updated_at=now)
                    .returning(m.StockItem.on_hand)
                )
            ).scalar_one_or_none()
            if after is None:
                await conn.execute(
                    insert(m.StockItem).values(
                        sku_id=sku_id,
                        warehouse_id=warehouses[code],
                        on_hand=quantity,
                        reserved=0,
                        updated_at=now,
                    )
                )
                after = quantity
            await write_audit(
                conn,
                m.AuditEntry,
                at=now,
                actor=actor,
                action="stock.restock",
                entity_type="sku",
                entity_id=sku_id,
                before={"warehouse": code, "onHand": after - quantity},
                after={"warehouse": code, "onHand": after, "delta": quantity},
                reason=f"return {return_ref}",
            )
        await remember(conn, m.IdempotencyKey, key, print_, {"items": len(items)}, now)
    return True
