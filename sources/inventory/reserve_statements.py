"""PostgreSQL: a reservation's statements folded with data-modifying CTEs.

``reserve_alone``: the whole reservation of warehouse items as one autocommit statement
(no ``BEGIN``, no ``COMMIT``, no row lock held across a round trip to Python), for the case
every checkout of a few units is: each SKU served whole by one warehouse.

- ``locked``: the SKUs' stock rows, locked in (SKU, warehouse id) order and read (a
  ``MATERIALIZED`` CTE: its own plan, its rows locked in its ORDER BY). Gated on the order
  having no reservation in the statement's snapshot: a retry locks nothing.
- ``chosen``: per SKU, the first warehouse by priority, then code, whose free stock
  (``on_hand - reserved``, read under the lock) covers the whole quantity: choose_warehouses'
  first rule, in SQL (the codes compared byte-wise, ``COLLATE "C"``, as Python compares
  strings).
- ``claimed``: the reservation row, inserted only when every SKU has a warehouse (else the
  statement writes nothing at all), ``ON CONFLICT DO NOTHING`` on its order_ref.
- ``taken``: each chosen row's ``reserved`` raised by its quantity, only for a claimed
  reservation. No ``on_hand - reserved >= quantity`` condition here: the quantity was
  chosen on the values read under this statement's own row lock, so it is free, and were
  it not, the ``reserved <= on_hand`` CHECK constraint fails the whole statement (nothing
  written; reservations.reserve retries an IntegrityError from the start), where a
  condition would let the statement commit a reservation that took less than its lines.
- ``recorded``: the reservation's lines, one per row taken, in the order asked.

The answer is the locked rows (with what was taken from each) under one head: the new
reservation's id, whether the snapshot already held one for the order, whether every SKU
had a warehouse. Nothing claimed and no warehouse missing: a concurrent reserve of the
order committed first (replayed by the caller). A SKU without a whole warehouse: the caller
plans on the rows (a shortage, or a split) and a split takes the two-statement transaction
below.

Lock order: this statement locks stock rows before it inserts the reservation row, the
reverse of the transactions (reservations.py). They can only meet on the same order_ref's
unique key, which two concurrent reserves of one order (a retry racing its first call, the
one a split and the other not) both insert; PostgreSQL then fails one of them with a
deadlock error, and reservations.reserve retries it, finding the other's reservation.

The two-statement transaction (splits):

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

from sqlalchemy import Boolean, Integer, String, bindparam, column, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common import lean
from sources.common.models import table_of

from . import models as m

_RESERVATIONS = table_of(m.Reservation)
_STOCK_ITEMS = table_of(m.StockItem)

# The reservation row's values and the SKUs: what both claiming statements bind.
_CLAIM_BINDS = (
    bindparam("order_ref", type_=String()),
    bindparam("status", type_=String()),
    bindparam("created_at", type_=_RESERVATIONS.c.created_at.type),
    bindparam("expires_at", type_=_RESERVATIONS.c.expires_at.type),
    bindparam("updated_at", type_=_RESERVATIONS.c.updated_at.type),
    bindparam("sku_ids", type_=ARRAY(Integer())),
)
# The locked stock rows, as both claiming statements answer them.
_LOCKED_COLUMNS = (
    column("sku_id", Integer()),
    column("warehouse_id", Integer()),
    column("code", String()),
    column("priority", Integer()),
    column("available", Integer()),
)

_RESERVE_ALONE = (
    text(
        """
WITH wanted AS (
    SELECT * FROM unnest(:sku_ids, :quantities) WITH ORDINALITY AS w(sku_id, quantity, ord)
), locked AS MATERIALIZED (
    SELECT stock_items.sku_id, stock_items.warehouse_id, warehouses.code, warehouses.priority,
        stock_items.on_hand - stock_items.reserved AS available
    FROM stock_items JOIN warehouses ON warehouses.id = stock_items.warehouse_id
    WHERE stock_items.sku_id = ANY(:sku_ids)
      AND NOT EXISTS (SELECT 1 FROM reservations WHERE reservations.order_ref = :order_ref)
    ORDER BY stock_items.sku_id, stock_items.warehouse_id
    FOR UPDATE OF stock_items
), chosen AS MATERIALIZED (
    SELECT DISTINCT ON (wanted.sku_id) wanted.ord, wanted.sku_id, wanted.quantity,
        locked.warehouse_id
    FROM wanted JOIN locked ON locked.sku_id = wanted.sku_id
    WHERE locked.available >= wanted.quantity
    ORDER BY wanted.sku_id, locked.priority, locked.code COLLATE "C"
), complete AS (
    SELECT count(*) = cardinality(:sku_ids) AS every_sku FROM chosen
), claimed AS (
    INSERT INTO reservations (order_ref, status, created_at, expires_at, updated_at)
    SELECT :order_ref, :status, :created_at, :expires_at, :updated_at
    FROM complete WHERE complete.every_sku
    ON CONFLICT (order_ref) DO NOTHING
    RETURNING id
), taken AS (
    UPDATE stock_items
    SET reserved = stock_items.reserved + chosen.quantity, updated_at = :updated_at
    FROM chosen, claimed
    WHERE stock_items.sku_id = chosen.sku_id AND stock_items.warehouse_id = chosen.warehouse_id
    RETURNING claimed.id AS reservation_id, chosen.ord, chosen.sku_id, chosen.warehouse_id,
        chosen.quantity
), recorded AS (
    INSERT INTO reservation_lines (reservation_id, sku_id, warehouse_id, supplier_id, quantity)
    SELECT taken.reservation_id, taken.sku_id, taken.warehouse_id, NULL, taken.quantity
    FROM taken ORDER BY taken.ord
)
SELECT head.reservation_id, head.existed, head.every_sku, locked.sku_id, locked.warehouse_id,
    locked.code, locked.priority, locked.available, taken.quantity AS taken
FROM (
    SELECT (SELECT id FROM claimed) AS reservation_id,
        EXISTS (SELECT 1 FROM reservations WHERE reservations.order_ref = :order_ref) AS existed,
        (SELECT every_sku FROM complete) AS every_sku
) AS head
LEFT JOIN locked ON true
LEFT JOIN taken ON taken.sku_id = locked.sku_id AND taken.warehouse_id = locked.warehouse_id
ORDER BY locked.sku_id, locked.warehouse_id
"""
    )
    .bindparams(*_CLAIM_BINDS, bindparam("quantities", type_=ARRAY(Integer())))
    .columns(
        column("reservation_id", Integer()),
        column("existed", Boolean()),
        column("every_sku", Boolean()),
        *_LOCKED_COLUMNS,
        column("taken", Integer()),
    )
)

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
    .bindparams(*_CLAIM_BINDS)
    .columns(
        column("reservation_id", Integer()),
        *_LOCKED_COLUMNS,
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


async def reserve_alone(
    conn: AsyncConnection, values: dict[str, Any], quantities: Mapping[int, int]
) -> list[Any]:
    """``_RESERVE_ALONE`` for ``quantities`` (SKU -> units, warehouse items) on an
    autocommit connection: rows of (reservation_id, existed, every_sku, sku_id,
    warehouse_id, code, priority, available, taken), the head's three repeated on every
    row; one row with the stock columns None when no stock row was locked."""
    params = {**values, "sku_ids": list(quantities), "quantities": list(quantities.values())}
    return list(await lean.execute(conn, _RESERVE_ALONE, params))


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
