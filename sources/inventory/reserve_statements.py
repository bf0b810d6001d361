"""PostgreSQL: a reservation's four statements as two (data-modifying CTEs), in the same
transaction and the same lock order as reservations.py's.

- ``claim_and_lock``: the reservation row (``ON CONFLICT DO NOTHING`` on its order_ref),
  then, only once it is written (the lock read is gated on it), the SKUs' warehouse stock
  rows locked in (SKU, warehouse id) order and read (a ``MATERIALIZED`` CTE: its own plan,
  its rows locked in its ORDER BY, never folded into the outer query). No row back: the
  order already has a reservation (a retry), nothing locked.
- ``take_and_record``: the conditional UPDATE of every warehouse row taken (each only
  where ``on_hand - reserved`` still covers its quantity: the one statement that takes
  stock, as before) and the reservation's lines, returning how many rows took; the caller
  rolls the transaction back unless all did.

The planning between them (which warehouse serves what, reservations.choose_warehouses)
stays in Python, on the values read under the lock. Supplier (drop-ship) items keep the
statements of reservations.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, bindparam, column, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common import lean
from sources.common.models import table_of

from . import models as m

_RESERVATIONS = table_of(m.Reservation)
_STOCK_ITEMS = table_of(m.StockItem)

_CLAIM_AND_LOCK = (
    text(
        """
WITH claimed AS (
    INSERT INTO reservations (order_ref, status, created_at, expires_at, updated_at)
    VALUES (:order_ref, :status, :created_at, :expires_at, :updated_at)
    ON CONFLICT (order_ref) DO NOTHING
    RETURNING id
), locked AS MATERIALIZED (
    SELECT stock_items.sku_id, stock_items.warehouse_id, warehouses.code, warehouses.priority,
        stock_items.on_hand - stock_items.reserved AS available
    FROM stock_items JOIN warehouses ON warehouses.id = stock_items.warehouse_id
    WHERE stock_items.sku_id = ANY(:sku_ids) AND EXISTS (SELECT 1 FROM claimed)
    ORDER BY stock_items.sku_id, stock_items.warehouse_id
    FOR UPDATE OF stock_items
)
SELECT claimed.id AS reservation_id, locked.sku_id, locked.warehouse_id, locked.code,
    locked.priority, locked.available
FROM claimed LEFT JOIN locked ON true
ORDER BY locked.sku_id, locked.warehouse_id
"""
    )
    .bindparams(
        bindparam("order_ref", type_=String()),
        bindparam("status", type_=String()),
        bindparam("created_at", type_=_RESERVATIONS.c.created_at.type),
        bindparam("expires_at", type_=_RESERVATIONS.c.expires_at.type),
        bindparam("updated_at", type_=_RESERVATIONS.c.updated_at.type),
        bindparam("sku_ids", type_=ARRAY(Integer())),
    )
    .columns(
        column("reservation_id", Integer()),
        column("sku_id", Integer()),
        column("warehouse_id", Integer()),
        column("code", String()),
        column("priority", Integer()),
        column("available", Integer()),
    )
)

_TAKE_AND_RECORD = (
    text(
        """
WITH wanted AS (
    SELECT * FROM unnest(:sku_ids, :warehouse_ids, :quantities)
        AS w(sku_id, warehouse_id, quantity)
), taken AS (
    UPDATE stock_items
    SET reserved = stock_items.reserved + wanted.quantity, updated_at = :updated_at
    FROM wanted
    WHERE stock_items.sku_id = wanted.sku_id AND stock_items.warehouse_id = wanted.warehouse_id
      AND stock_items.on_hand - stock_items.reserved >= wanted.quantity
    RETURNING 1
), recorded AS (
    INSERT INTO reservation_lines (reservation_id, sku_id, warehouse_id, supplier_id, quantity)
    SELECT :reservation_id, wanted.sku_id, wanted.warehouse_id, NULL, wanted.quantity
    FROM wanted
)
SELECT count(*) AS taken FROM taken
"""
    )
    .bindparams(
        bindparam("sku_ids", type_=ARRAY(Integer())),
        bindparam("warehouse_ids", type_=ARRAY(Integer())),
        bindparam("quantities", type_=ARRAY(Integer())),
        bindparam("updated_at", type_=_STOCK_ITEMS.c.updated_at.type),
        bindparam("reservation_id", type_=Integer()),
    )
    .columns(column("taken", Integer()))
)


async def claim_and_lock(
    conn: AsyncConnection, values: dict[str, Any], sku_ids: Sequence[int]
) -> list[Any]:
    """Rows of (reservation_id, sku_id, warehouse_id, code, priority, available), the
    stock columns None when no stock row matched; no row when the reservation exists."""
    params = {**values, "sku_ids": list(sku_ids)}
    return list(await lean.execute(conn, _CLAIM_AND_LOCK, params))


async def take_and_record(
    conn: AsyncConnection,
    reservation_id: int,
    takes: Mapping[tuple[int, int], int],
    now: datetime,
) -> int:
    """How many of ``takes`` ((SKU, warehouse id) -> quantity) took their quantity; every
    one's reservation line is written (the caller rolls back unless all took)."""
    params = {
        "sku_ids": [sku for sku, _ in takes],
        "warehouse_ids": [warehouse for _, warehouse in takes],
        "quantities": list(takes.values()),
        "updated_at": now,
        "reservation_id": reservation_id,
    }
    taken: int = (await lean.execute(conn, _TAKE_AND_RECORD, params)).scalar_one()
    return taken
