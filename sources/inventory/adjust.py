"""Stock adjustments by back-office staff: one conditional UPDATE per change, so two
concurrent adjustments of one SKU both apply and on-hand never drops below reserved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from sources.common.audit import write_audit
from sources.common.db import Database
from sources.common.idempotency import IdempotencyKeyReused, fingerprint, remember, replay

from . import models as m


class AdjustmentRefusal(StrEnum):
    WAREHOUSE_NOT_FOUND = "WAREHOUSE_NOT_FOUND"
    BELOW_RESERVED = "BELOW_RESERVED"
    KEY_REUSED = "KEY_REUSED"


@dataclass(frozen=True, slots=True)
class StockAdjustment:
    sku_id: int
    warehouse_code: str
    on_hand_before: int | None
    on_hand_after: int | None
    refusal: AdjustmentRefusal | None = None
    replayed: bool = False


async def adjust_stock(
    db: Database,
    *,
    sku_id: int,
    warehouse_code: str,
    delta: int,
    actor: str,
    reason: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> StockAdjustment:
    arguments = {"sku": sku_id, "warehouse": warehouse_code, "delta": delta, "reason": reason}
    print_ = fingerprint(arguments)
    for attempt in range(2):
        try:
            return await _adjust_once(
                db, sku_id, warehouse_code, delta, actor, reason, now, idempotency_key, print_
            )
        except IdempotencyKeyReused:
            return StockAdjustment(sku_id, warehouse_code, None, None, AdjustmentRefusal.KEY_REUSED)
        except IntegrityError:
            # A concurrent request committed first: the same idempotency key (replay its
            # result) or the SKU's first stock row in this warehouse (update it instead).
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _adjust_once(
    db: Database,
    sku_id: int,
    warehouse_code: str,
    delta: int,
    actor: str,
    reason: str,
    now: datetime,
    key: str | None,
    print_: str,
) -> StockAdjustment:
    async with db.begin() as conn:
        if key is not None:
            stored = await replay(conn, m.IdempotencyKey, key, print_, now)
            if stored is not None:
                return StockAdjustment(
                    sku_id, warehouse_code, stored["before"], stored["after"], replayed=True
                )
        warehouse_id = (
            await conn.execute(select(m.Warehouse.id).where(m.Warehouse.code == warehouse_code))
        ).scalar_one_or_none()
        if warehouse_id is None:
            return StockAdjustment(
                sku_id, warehouse_code, None, None, AdjustmentRefusal.WAREHOUSE_NOT_FOUND
            )
        change = (
            update(m.StockItem)
            .where(
                m.StockItem.sku_id == sku_id,
                m.StockItem.warehouse_id == warehouse_id,
                m.StockItem.on_hand + delta >= m.StockItem.reserved,
            )
            .values(on_hand=m.StockItem.on_hand + delta, updated_at=now)
            .returning(m.StockItem.on_hand)
        )
        after = (await conn.execute(change)).scalar_one_or_none()
        if after is None:
            exists = (
                await conn.execute(
                    select(m.StockItem.on_hand).where(
                        m.StockItem.sku_id == sku_id, m.StockItem.warehouse_id == warehouse_id
                    )
                )
            ).scalar_one_or_none()
            if exists is not None and delta > 0:
                # Another adjustment created the row after our UPDATE looked: a positive
                # delta can never go below reserved, so apply it to that row.
                after = (await conn.execute(change)).scalar_one()
            elif exists is not None or delta < 0:
                return StockAdjustment(
                    sku_id,
                    warehouse_code,
                    exists or 0,
                    exists or 0,
                    AdjustmentRefusal.BELOW_RESERVED,
                )
        if after is None:
            await conn.execute(
                insert(m.StockItem).values(
                    sku_id=sku_id,
                    warehouse_id=warehouse_id,
                    on_hand=delta,
                    reserved=0,
                    updated_at=now,
                )
            )
            after = delta
        before = after - delta
        await write_audit(
            conn,
            m.AuditEntry,
            at=now,
            actor=actor,
            action="stock.adjust",
            entity_type="sku",
            entity_id=sku_id,
            before={"warehouse": warehouse_code, "onHand": before},
            after={"warehouse": warehouse_code, "onHand": after, "delta": delta},
            reason=reason,
        )
        if key is not None:
            await remember(
                conn, m.IdempotencyKey, key, print_, {"before": before, "after": after}, now
            )
        return StockAdjustment(sku_id, warehouse_code, before, after)
