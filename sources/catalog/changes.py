"""The catalog's change version: a number that grows with every committed write to what a
search result page filters, counts facets of, names them by and sorts by (``products``'
search columns, ``product_attribute_values``, ``attributes``, ``categories``, ``brands``),
kept by the database itself.

What reads it: search's in-process facet table (search/facet_table.py), which holds those
columns for every product and is exact only while the version it was read at is the
database's. Every write path (the back office, bulk writes, imports, the demo seed, an
operator's SQL, another gateway process) goes through these tables, so a trigger cannot be
forgotten by the next one, and it commits or rolls back with the write.

As with the product counts (counts.py), no new lock waits for writers:

- SQLite serialises writers anyway: a row trigger adds one to the table's one row.
- PostgreSQL: one counter row would be a lock every catalog writer queues on (a checkout
  flipping a product's stock flag among them). A statement trigger adds one to a row no
  other transaction holds (``FOR UPDATE SKIP LOCKED``: it never waits), or inserts a new
  row when every one is held. The version is the sum of the rows: each committed write
  adds at least one (exactly one: see ``_BUMPED``), and rows are never deleted, so a
  later snapshot's sum is larger exactly when a write committed in between (whatever
  order concurrent writers committed in; a counter per transaction would not be, as
  sequence numbers commit out of order).

A reader reads the version *before* the rows it keeps: a write committing in between makes
the rows newer than the version, never older, and the next read of the version sees it.

Note for later migrations: SQLite's batch mode rebuilds a table by dropping it, which drops
its triggers; such a migration must create them again (``create_statements``).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

TABLE = "catalog_changes"
# The columns of ``products`` a search page reads from its facet table (models.SEARCH_COLUMNS).
_PRODUCT_COLUMNS = (
    "id, is_published, category_id, brand_id, kind, in_stock, price_min, price_max, created_at"
)
_WATCHED = (
    ("products", _PRODUCT_COLUMNS),
    ("product_attribute_values", "product_id, attribute_id, text_value"),
    ("attributes", "id, code, name, kind"),
    ("categories", "id, slug, name, path, translations"),
    ("brands", "id, name, translations"),
)

_SQLITE_BUMP = f"UPDATE {TABLE} SET changes = changes + 1;"


def _sqlite_create() -> list[str]:
    statements = []
    for table, columns in _WATCHED:
        for event in ("INSERT", "DELETE", f"UPDATE OF {columns}"):
            name = f"{TABLE}_on_{table}_{event.split()[0].lower()}"
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table} "
                f"BEGIN {_SQLITE_BUMP} END"
            )
    return statements


def _sqlite_drop() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {TABLE}_on_{table}_{event}"
        for table, _ in _WATCHED
        for event in ("insert", "delete", "update")
    ]


# Once per transaction (a transaction-local setting marks it): readers see the version move
# at commit, so one bump says as much as a thousand, and an executemany (a statement per
# row, each firing the statement trigger) would otherwise update the same row again and
# again in one transaction, each update walking the row's ever longer version chain:
# quadratic (a bulk load of 100,000 products' specification values never finished).
_BUMPED = "gateway.catalog_changes_bumped"
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {TABLE}_bump() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF current_setting('{_BUMPED}', true) = 'y' THEN
        RETURN NULL;
    END IF;
    UPDATE {TABLE} SET changes = changes + 1
     WHERE id = (SELECT id FROM {TABLE} ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED);
    IF NOT FOUND THEN
        INSERT INTO {TABLE} (changes) VALUES (1);
    END IF;
    PERFORM set_config('{_BUMPED}', 'y', true);
    RETURN NULL;
END
$body$"""


def pg_function() -> str:
    """The bump's function as this module makes it (catalog_0016 replaces the older one)."""
    return _PG_FUNCTION


def _pg_create() -> list[str]:
    statements = [_PG_FUNCTION]
    for table, columns in _WATCHED:
        for event in ("INSERT", "DELETE", "TRUNCATE", f"UPDATE OF {columns}"):
            name = f"{TABLE}_on_{event.split()[0].lower()}"
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_bump()"
            )
    return statements


def _pg_drop() -> list[str]:
    return [
        *(
            f"DROP TRIGGER IF EXISTS {TABLE}_on_{event} ON {table}"
            for table, _ in _WATCHED
            for event in ("insert", "delete", "truncate", "update")
        ),
        f"DROP FUNCTION IF EXISTS {TABLE}_bump()",
    ]


# The table's first row (SQLite's triggers update it; PostgreSQL's add rows as needed).
SEED = f"INSERT INTO {TABLE} (changes) VALUES (0)"


def create_statements(dialect: str) -> list[str]:
    return _pg_create() if dialect == "postgresql" else _sqlite_create()


def drop_statements(dialect: str) -> list[str]:
    return _pg_drop() if dialect == "postgresql" else _sqlite_drop()


async def version(conn: AsyncConnection) -> int:
    """The catalog's change version now (see the module docstring)."""
    found = await conn.scalar(text(f"SELECT coalesce(sum(changes), 0) FROM {TABLE}"))
    return int(found or 0)
