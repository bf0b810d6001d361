"""Many price changes in one transaction: one read of the prices they replace, one
statement each for the updates, the new rows and the audit entries, whatever the batch's
size. Rules about amounts are the caller's (the gateway checks single and bulk writes with
the same function); the table's CHECK constraints are the last line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from sources.common.audit import audit_row, write_audits
from sources.common.batches import BatchKey, BatchRefusal, ImportMovedOn, ImportProgress
from sources.common.db import Database
from sources.common.idempotency import IdempotencyKeyReused, remember, replay
from sources.common.import_jobs import record_progress

from . import models as m
from .records import Price, PriceBatch, PriceChange


def _stored(price: Price | None) -> dict[str, Any] | None:
    if price is None:
        return None
    return {
        "sku": price.sku_id,
        "currency": price.currency,
        "list": str(price.list_amount),
        "sale": str(price.sale_amount),
    }


def _loaded(value: dict[str, Any] | None) -> Price | None:
    from decimal import Decimal

    if value is None:
        return None
    return Price(value["sku"], value["currency"], Decimal(value["list"]), Decimal(value["sale"]))


async def set_prices(
    db: Database,
    changes: Sequence[PriceChange],
    *,
    actor: str,
    now: datetime,
    key: BatchKey | None = None,
    progress: ImportProgress | None = None,
) -> PriceBatch:
    for attempt in range(2):
        try:
            return await _set_once(db, changes, actor, now, key, progress)
        except IdempotencyKeyReused:
            return PriceBatch((), refusal=BatchRefusal.KEY_REUSED)
        except ImportMovedOn:
            return PriceBatch((), refusal=BatchRefusal.IMPORT_MOVED_ON)
        except IntegrityError:
            # A concurrent write created a SKU's first price (or claimed the same key)
            # after we looked: run again, seeing it.
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _set_once(
    db: Database,
    changes: Sequence[PriceChange],
    actor: str,
    now: datetime,
    key: BatchKey | None,
    progress: ImportProgress | None,
) -> PriceBatch:
    async with db.begin() as conn:
        if key is not None:
            stored = await replay(conn, m.IdempotencyKey, key.key, key.fingerprint, now)
            if stored is not None:
                if len(stored["before"]) != len(changes):
                    raise IdempotencyKeyReused(key.key)
                return PriceBatch(tuple(_loaded(v) for v in stored["before"]), replayed=True)
        current: dict[tuple[int, str], Price] = {}
        if changes:
            rows = await conn.execute(
                select(m.Price.sku_id, m.Price.currency, m.Price.list_amount, m.Price.sale_amount)
                .where(m.Price.sku_id.in_({c.sku_id for c in changes}))
                .with_for_update()
            )
            current = {(r[0], r[1]): Price(*r) for r in rows}
        existed = set(current)
        costs: dict[tuple[int, str], Decimal] = {}  # only where a change names one
        before: list[Price | None] = []
        audits: list[dict[str, Any]] = []
        for c in changes:
            old = current.get((c.sku_id, c.currency))
            before.append(old)
            current[(c.sku_id, c.currency)] = Price(
                c.sku_id, c.currency, c.list_amount, c.sale_amount
            )
            after = {"list": c.list_amount, "sale": c.sale_amount, "currency": c.currency}
            if c.cost_amount is not None:
                after["cost"] = c.cost_amount
                costs[(c.sku_id, c.currency)] = c.cost_amount
            audits.append(
                audit_row(
                    at=now,
                    actor=actor,
                    action="price.set",
                    entity_type="sku",
                    entity_id=c.sku_id,
                    before={"list": old.list_amount, "sale": old.sale_amount} if old else {},
                    after=after,
                )
            )
        touched = {(c.sku_id, c.currency) for c in changes}
        updates = [_values(current[k]) for k in touched & existed]
        inserts = [_values(current[k]) | {"b_cost": costs.get(k)} for k in touched - existed]
        if updates:
            await conn.execute(
                update(m.Price)
                .where(m.Price.sku_id == bindparam("b_sku"), m.Price.currency == bindparam("b_cur"))
                .values(
                    list_amount=bindparam("b_list"),
                    sale_amount=bindparam("b_sale"),
                    updated_at=now,
                ),
                updates,
            )
        if inserts:
            await conn.execute(
                insert(m.Price),
                [
                    {
                        "sku_id": v["b_sku"],
                        "currency": v["b_cur"],
                        "list_amount": v["b_list"],
                        "sale_amount": v["b_sale"],
                        "cost_amount": v["b_cost"],
                        "updated_at": now,
                    }
                    for v in inserts
                ],
            )
        cost_updates = [
            {"b_sku": sku_id, "b_cur": currency, "b_cost": cost}
            for (sku_id, currency), cost in costs.items()
            if (sku_id, currency) in existed
        ]
        if cost_updates:
            await conn.execute(
                update(m.Price)
                .where(m.Price.sku_id == bindparam("b_sku"), m.Price.currency == bindparam("b_cur"))
                .values(cost_amount=bindparam("b_cost")),
                cost_updates,
            )
        await write_audits(conn, m.AuditEntry, audits)
        if progress is not None:
            await record_progress(conn, m.ImportJob, m.ImportRowError, progress, (), now)
        if key is not None:
            result = {"before": [_stored(p) for p in before]}
            await remember(conn, m.IdempotencyKey, key.key, key.fingerprint, result, now)
        return PriceBatch(tuple(before))


def _values(price: Price) -> dict[str, Any]:
    return {
        "b_sku": price.sku_id,
        "b_cur": price.currency,
        "b_list": price.list_amount,
        "b_sale": price.sale_amount,
    }
