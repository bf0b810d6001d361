"""Product counts per listing key (category, kind, in stock, published), kept by the
database itself, so a listing's totalCount adds up a few hundred rows instead of counting
a big catalog on every request.

Why triggers: every write path that can move a product between keys (create, import,
archive, publish and its bulk form, the listing projection's stock flag, the demo seed,
an operator's SQL) goes through the ``products`` table; a trigger there cannot be
forgotten by the next write path, and it commits or rolls back with the write, so the
counts are exact whenever the rows are.

The two backends keep them differently, for the same reason: no new lock waits for
writers.

- SQLite serialises writers anyway: a row trigger adds the change to its key's one row.
- PostgreSQL: a counter row per key would be a lock every writer of that key queues on,
  and a lock taken after the product's own row lock: a bulk stock update holding key K
  while it waits for product P, and a checkout holding P while it waits for K, would
  deadlock. So a statement trigger adds the statement's net change per key to a row of
  that key no other transaction holds (``FOR UPDATE SKIP LOCKED``: it never waits), or
  to a new row when every one is held; a key has as many rows as writers once ran on it
  together, and ``compact`` folds them back to one from time to time (the sweeper). A
  read sums the rows of its keys either way.

A count read answers only what the table keys: the published flag, a category (with its
subcategories), kind and stock. A filter on anything else (search, price, brands,
attributes) is counted on ``products`` as before.

Note for later migrations: SQLite's batch mode rebuilds ``products`` by dropping it, which
drops these triggers; such a migration must create them again (``create_statements``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import models as m
from .records import ProductFilter

_KEY = "category_id, kind, in_stock, is_published"
_SQLITE_ADD = """
    UPDATE product_counts SET product_count = product_count + {delta}
     WHERE category_id = coalesce({row}.category_id, 0) AND kind = {row}.kind
       AND in_stock = {row}.in_stock AND is_published = {row}.is_published;
    INSERT INTO product_counts ({key}, product_count)
    SELECT coalesce({row}.category_id, 0), {row}.kind, {row}.in_stock, {row}.is_published,
           {delta}
     WHERE changes() = 0;"""

_SQLITE_CREATE = [
    "CREATE TRIGGER IF NOT EXISTS product_counts_on_insert AFTER INSERT ON products BEGIN"
    + _SQLITE_ADD.format(row="NEW", delta="1", key=_KEY)
    + "\nEND",
    "CREATE TRIGGER IF NOT EXISTS product_counts_on_update "
    "AFTER UPDATE OF category_id, kind, in_stock, is_published ON products "
    "WHEN OLD.category_id IS NOT NEW.category_id OR OLD.kind IS NOT NEW.kind "
    "OR OLD.in_stock IS NOT NEW.in_stock OR OLD.is_published IS NOT NEW.is_published BEGIN"
    + _SQLITE_ADD.format(row="OLD", delta="-1", key=_KEY)
    + _SQLITE_ADD.format(row="NEW", delta="1", key=_KEY)
    + "\nEND",
    "CREATE TRIGGER IF NOT EXISTS product_counts_on_delete AFTER DELETE ON products BEGIN"
    + _SQLITE_ADD.format(row="OLD", delta="-1", key=_KEY)
    + "\nEND",
]
_SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS product_counts_on_{event}" for event in ("insert", "update", "delete")
]


def _pg_function(name: str, changes: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    changed record;
BEGIN
    FOR changed IN
        SELECT {_KEY}, sum(delta) AS delta FROM ({changes}) AS rows_changed
         GROUP BY {_KEY} HAVING sum(delta) <> 0
    LOOP
        UPDATE product_counts SET product_count = product_count + changed.delta
         WHERE id = (
            SELECT id FROM product_counts
             WHERE category_id = changed.category_id AND kind = changed.kind
               AND in_stock = changed.in_stock AND is_published = changed.is_published
             LIMIT 1 FOR UPDATE SKIP LOCKED);
        IF NOT FOUND THEN
            INSERT INTO product_counts ({_KEY}, product_count)
            VALUES (changed.category_id, changed.kind, changed.in_stock,
                    changed.is_published, changed.delta);
        END IF;
    END LOOP;
    RETURN NULL;
END
$body$"""


def _pg_rows(table: str, delta: str) -> str:
    return (
        f"SELECT coalesce(category_id, 0) AS category_id, kind, in_stock, is_published, "
        f"{delta} AS delta FROM {table}"
    )


_PG_CREATE = [
    _pg_function("product_counts_inserted", _pg_rows("new_rows", "1")),
    _pg_function(
        "product_counts_updated",
        _pg_rows("old_rows", "-1") + " UNION ALL " + _pg_rows("new_rows", "1"),
    ),
    _pg_function("product_counts_deleted", _pg_rows("old_rows", "-1")),
    """
CREATE OR REPLACE FUNCTION product_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    DELETE FROM product_counts;
    RETURN NULL;
END
$body$""",
    "CREATE TRIGGER product_counts_on_insert AFTER INSERT ON products "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION product_counts_inserted()",
    "CREATE TRIGGER product_counts_on_update AFTER UPDATE ON products "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION product_counts_updated()",
    "CREATE TRIGGER product_counts_on_delete AFTER DELETE ON products "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION product_counts_deleted()",
    "CREATE TRIGGER product_counts_on_truncate AFTER TRUNCATE ON products "
    "FOR EACH STATEMENT EXECUTE FUNCTION product_counts_truncated()",
]
_PG_DROP = [
    *(
        f"DROP TRIGGER IF EXISTS product_counts_on_{event} ON products"
        for event in ("insert", "update", "delete", "truncate")
    ),
    *(
        f"DROP FUNCTION IF EXISTS product_counts_{event}()"
        for event in ("inserted", "updated", "deleted", "truncated")
    ),
]

# Counts what is there now; run with the triggers in place and ``products`` not written
# (in the migration, the triggers' creation locks out writers until it commits).
BACKFILL = (
    f"INSERT INTO product_counts ({_KEY}, product_count) "
    f"SELECT coalesce(category_id, 0), kind, in_stock, is_published, count(*) "
    f"FROM products GROUP BY coalesce(category_id, 0), kind, in_stock, is_published"
)


def create_statements(dialect: str) -> list[str]:
    return list(_PG_CREATE if dialect == "postgresql" else _SQLITE_CREATE)


def drop_statements(dialect: str) -> list[str]:
    return list(_PG_DROP if dialect == "postgresql" else _SQLITE_DROP)


def answers(flt: ProductFilter) -> bool:
    """Whether the count table alone gives this filter's total."""
    return not (
        (flt.search and flt.search.strip())
        or flt.min_price is not None
        or flt.max_price is not None
        or flt.attributes
        or flt.brands
        or flt.category_slugs
        or flt.price_band is not None
    )


async def total(
    conn: AsyncConnection, flt: ProductFilter, category_ids: Sequence[int] | None
) -> int:
    """The number of products matching ``flt`` (which ``answers``), ``category_ids``
    being its category's subtree when it names one."""
    return int(await conn.scalar(total_select(flt, category_ids)) or 0)


def total_select(flt: ProductFilter, category_ids: Sequence[int] | None) -> Select[Any]:
    """``total``'s statement, for a caller that sends it inside its own (the listing's
    page carries it as a scalar subquery: one round trip instead of two)."""
    c = m.ProductCount
    conditions: list[ColumnElement[bool]] = []
    if not flt.include_unpublished:
        conditions.append(c.is_published.is_(True))
    if category_ids is not None:
        conditions.append(c.category_id.in_(category_ids))
    if flt.kind is not None:
        conditions.append(c.kind == flt.kind.value)
    if flt.in_stock is not None:
        conditions.append(c.in_stock.is_(flt.in_stock))
    return select(func.coalesce(func.sum(c.product_count), 0)).where(*conditions)


async def compact(conn: AsyncConnection) -> int:
    """Fold each key's rows into one (PostgreSQL; SQLite keeps one already). Safe beside
    writers and other compactions: one statement deletes the rows its snapshot sees (a row
    a writer holds is waited for and taken with the writer's change) and re-inserts their
    sums; rows made meanwhile are left for next time. Writers never wait on it: they skip
    the rows it holds. Returns the rows folded away."""
    if conn.dialect.name != "postgresql":
        return 0
    before = int(await conn.scalar(select(func.count()).select_from(m.ProductCount)) or 0)
    await conn.exec_driver_sql(
        f"WITH gone AS (DELETE FROM product_counts RETURNING {_KEY}, product_count) "
        f"INSERT INTO product_counts ({_KEY}, product_count) "
        f"SELECT {_KEY}, sum(product_count) FROM gone GROUP BY {_KEY} "
        f"HAVING sum(product_count) <> 0"
    )
    after = int(await conn.scalar(select(func.count()).select_from(m.ProductCount)) or 0)
    return max(0, before - after)
