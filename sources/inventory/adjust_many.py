"""Many stock adjustments in one transaction, with the guarantees of a single one.

The batch's stock rows are read under lock (FOR UPDATE on PostgreSQL; SQLite's writer
holds the database from BEGIN IMMEDIATE), so the rule "on-hand never below reserved" is
checked on the values the writes replace, item after item (two items on one row add up),
and the writes go out as one UPDATE statement with many parameter sets. A refused item
writes nothing; with ``atomic`` one refused item means nothing at all is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from sources.common.audit import audit_row, write_audits
from sources.common.batches import (
    BatchKey,
    BatchRefusal,
    ImportMovedOn,
    ImportProgress,
    RowError,
)
from sources.common.db import Database
from sources.common.idempotency import IdempotencyKeyReused, remember, replay
from sources.common.import_jobs import record_progress

from . import models as m
from .adjust import AdjustmentRefusal, StockAdjustment

# How a refused import row reads in the job's errors (the gateway's userError codes).
ROW_ERROR_CODES = {
    AdjustmentRefusal.WAREHOUSE_NOT_FOUND: (
        "WAREHOUSE_NOT_FOUND",
        "no such warehouse",
        "warehouse",
    ),
    AdjustmentRefusal.BELOW_RESERVED: (
        "INSUFFICIENT_STOCK",
        "the adjustment would take on-hand stock below what is reserved",
        "delta",
    ),
}


@dataclass(frozen=True, slots=True)
class StockChange:
    """Add ``delta`` (negative: remove) to one SKU's on-hand stock in one warehouse;
    ``ref`` is the caller's (a request index, a file line)."""

    sku_id: int
    warehouse_code: str
    delta: int
    reason: str
    ref: int = 0


@dataclass(frozen=True, slots=True)
class StockBatch:
    """One result per change, in the order asked; ``replayed`` when an earlier batch with
    the same key applied them; ``refusal`` when nothing was applied."""

    results: tuple[StockAdjustment, ...]
    replayed: bool = False
    refusal: BatchRefusal | None = None


class _Refused(Exception):
    def __init__(self, results: list[StockAdjustment]) -> None:
        self.results = results


async def adjust_stock_many(
    db: Database,
    changes: Sequence[StockChange],
    *,
    actor: str,
    now: datetime,
    atomic: bool = False,
    key: BatchKey | None = None,
    progress: ImportProgress | None = None,
) -> StockBatch:
    for attempt in range(2):
        try:
            return await _adjust_once(db, changes, actor, now, atomic, key, progress)
        except _Refused as refused:
            return StockBatch(tuple(refused.results), refusal=BatchRefusal.REFUSED_ITEMS)
        except IdempotencyKeyReused:
            return StockBatch((), refusal=BatchRefusal.KEY_REUSED)
        except ImportMovedOn:
            return StockBatch((), refusal=BatchRefusal.IMPORT_MOVED_ON)
        except IntegrityError:
            # A concurrent adjustment created a first stock row (or claimed the same key)
            # after we looked: run again, seeing it.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _stored(a: StockAdjustment) -> list[Any]:
    return [a.on_hand_before, a.on_hand_after, a.refusal.value if a.refusal else None]


async def _adjust_once(
    db: Database,
    changes: Sequence[StockChange],
    actor: str,
    now: datetime,
    atomic: bool,
    key: BatchKey | None,
    progress: ImportProgress | None,
) -> StockBatch:
    async with db.begin() as conn:
        if key is not None:
            stored = await replay(conn, m.IdempotencyKey, key.key, key.fingerprint, now)
            if stored is not None:
                if len(stored["results"]) != len(changes):
                    raise IdempotencyKeyReused(key.key)  # a fingerprint can only say so much
                return StockBatch(
                    tuple(
                        StockAdjustment(
                            c.sku_id,
                            c.warehouse_code,
                            before,
                            after,
                            AdjustmentRefusal(refusal) if refusal else None,
                            replayed=True,
                        )
                        for c, (before, after, refusal) in zip(
                            changes, stored["results"], strict=True
                        )
                    ),
                    replayed=True,
                )
        warehouses: dict[str, int] = {}
        rows: dict[tuple[int, int], list[int]] = {}
        if changes:
            found = await conn.execute(
                select(m.Warehouse.code, m.Warehouse.id).where(
                    m.Warehouse.code.in_({c.warehouse_code for c in changes})
                )
            )
            warehouses = {code: wid for code, wid in found}
            stock = await conn.execute(
                select(m.StockItem.sku_id, m.StockItem.warehouse_id, m.StockItem.on_hand)
                .add_columns(m.StockItem.reserved)
                .where(m.StockItem.sku_id.in_({c.sku_id for c in changes}))
                .with_for_update()
            )
            rows = {(s, w): [on_hand, reserved] for s, w, on_hand, reserved in stock}
        existed = set(rows)
        results: list[StockAdjustment] = []
        audits: list[dict[str, Any]] = []
        refused: list[RowError] = []
        for c in changes:
            wid = warehouses.get(c.warehouse_code)
            if wid is None:
                results.append(
                    StockAdjustment(
                        c.sku_id,
                        c.warehouse_code,
                        None,
                        None,
                        AdjustmentRefusal.WAREHOUSE_NOT_FOUND,
                    )
                )
                continue
            row = rows.get((c.sku_id, wid))
            on_hand, reserved = row if row is not None else (0, 0)
            if on_hand + c.delta < reserved or (row is None and c.delta < 0):
                results.append(
                    StockAdjustment(
                        c.sku_id,
                        c.warehouse_code,
                        on_hand,
                        on_hand,
                        AdjustmentRefusal.BELOW_RESERVED,
                    )
                )
                continue
            rows[(c.sku_id, wid)] = [on_hand + c.delta, reserved]
            results.append(StockAdjustment(c.sku_id, c.warehouse_code, on_hand, on_hand + c.delta))
            audits.append(
                audit_row(
                    at=now,
                    actor=actor,
                    action="stock.adjust",
                    entity_type="sku",
                    entity_id=c.sku_id,
                    before={"warehouse": c.warehouse_code, "onHand": on_hand},
                    after={
                        "warehouse": c.warehouse_code,
                        "onHand": on_hand + c.delta,
                        "delta": c.delta,
                    },
                    reason=c.reason,
                )
            )
        for c, r in zip(changes, results, strict=True):
            if r.refusal is not None:
                code, message, field = ROW_ERROR_CODES[r.refusal]
                refused.append(RowError(c.ref, code, message, field))
        if atomic and refused:
            raise _Refused(results)  # rolls the transaction back: nothing written
        touched = {
            (c.sku_id, warehouses[c.warehouse_code])
            for c, r in zip(changes, results, strict=True)
            if r.refusal is None
        }
        updates = [
            {"b_sku": s, "b_wh": w, "b_on_hand": rows[(s, w)][0]} for s, w in touched & existed
        ]
        if updates:
            await conn.execute(
                update(m.StockItem)
                .where(
                    m.StockItem.sku_id == bindparam("b_sku"),
                    m.StockItem.warehouse_id == bindparam("b_wh"),
                )
                .values(on_hand=bindparam("b_on_hand"), updated_at=now),
                updates,
            )
        created = [
            {"sku_id": s, "warehouse_id": w, "on_hand": rows[(s, w)][0], "reserved": 0}
            | {"updated_at": now}
            for s, w in touched - existed
        ]
        if created:
            await conn.execute(insert(m.StockItem), created)
        await write_audits(conn, m.AuditEntry, audits)
        if progress is not None:
            await record_progress(conn, m.ImportJob, m.ImportRowError, progress, refused, now)
        if key is not None:
            result = {"results": [_stored(r) for r in results]}
            await remember(conn, m.IdempotencyKey, key.key, key.fingerprint, result, now)
        return StockBatch(tuple(results))
