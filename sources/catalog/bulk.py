"""Publishing many products, and refreshing many listing projections, in one transaction
each: a bulk write costs the catalog one call, whatever its size."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from sources.common.audit import audit_row, write_audits
from sources.common.batches import BatchKey, BatchRefusal
from sources.common.db import Database
from sources.common.idempotency import IdempotencyKeyReused, remember, replay

from . import models as m
from .records import ListingUpdate, Product, PublishBatch, PublishChange


class _Refused(Exception):
    pass


async def set_published_many(
    db: Database,
    changes: Sequence[PublishChange],
    *,
    actor: str,
    now: datetime,
    atomic: bool,
    key: BatchKey | None,
    load: Any,
) -> PublishBatch:
    """``load(conn, ids)`` reads products as the store shows them (one query)."""
    try:
        async with db.begin() as conn:
            if key is not None:
                stored = await replay(conn, m.IdempotencyKey, key.key, key.fingerprint, now)
                if stored is not None:
                    if len(stored["products"]) != len(changes):
                        raise IdempotencyKeyReused(key.key)
                    found = await load(conn, [i for i in stored["products"] if i is not None])
                    return PublishBatch(
                        tuple(found.get(i) if i is not None else None for i in stored["products"]),
                        replayed=True,
                    )
            ids = {c.product_id for c in changes}
            rows = await conn.execute(
                select(m.Product.id, m.Product.is_published)
                .where(m.Product.id.in_(ids))
                .with_for_update()
            )
            state: dict[int, bool] = {pid: published for pid, published in rows}
            if atomic and len(state) < len(ids):
                raise _Refused
            audits: list[dict[str, Any]] = []
            for c in changes:
                if c.product_id not in state:
                    continue
                audits.append(
                    audit_row(
                        at=now,
                        actor=actor,
                        action="product.publish",
                        entity_type="product",
                        entity_id=c.product_id,
                        before={"published": state[c.product_id]},
                        after={"published": c.published},
                    )
                )
                state[c.product_id] = c.published
            final = [{"b_id": pid, "b_published": value} for pid, value in state.items()]
            if final:
                await conn.execute(
                    update(m.Product)
                    .where(m.Product.id == bindparam("b_id"))
                    .values(is_published=bindparam("b_published")),
                    final,
                )
            await write_audits(conn, m.AuditEntry, audits)
            products: dict[int, Product] = await load(conn, list(state))
            shown = tuple(products.get(c.product_id) for c in changes)
            if key is not None:
                result = {"products": [p.id if p else None for p in shown]}
                await remember(conn, m.IdempotencyKey, key.key, key.fingerprint, result, now)
            return PublishBatch(shown)
    except _Refused:
        return PublishBatch((), refusal=BatchRefusal.REFUSED_ITEMS)
    except IdempotencyKeyReused:
        return PublishBatch((), refusal=BatchRefusal.KEY_REUSED)


async def update_listings(db: Database, updates: Sequence[ListingUpdate]) -> None:
    price_rows = [
        {"b_id": u.product_id, "b_min": u.price_range[0], "b_max": u.price_range[1]}
        for u in updates
        if u.price_range is not None
    ]
    stock_rows = [
        {"b_id": u.product_id, "b_in_stock": u.in_stock} for u in updates if u.in_stock is not None
    ]
    if not price_rows and not stock_rows:
        return
    async with db.begin() as conn:
        if price_rows:
            await conn.execute(
                update(m.Product)
                .where(m.Product.id == bindparam("b_id"))
                .values(price_min=bindparam("b_min"), price_max=bindparam("b_max")),
                price_rows,
            )
        if stock_rows:
            await conn.execute(
                update(m.Product)
                .where(m.Product.id == bindparam("b_id"))
                .values(in_stock=bindparam("b_in_stock")),
                stock_rows,
            )
