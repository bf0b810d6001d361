"""The upsert (INSERT ... ON CONFLICT) of whichever backend a connection speaks: SQLite
and PostgreSQL spell it the same, but SQLAlchemy builds it per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection


def upsert_insert(conn: AsyncConnection, table: Any) -> Any:
    """``insert(table)`` with ``on_conflict_do_update``/``on_conflict_do_nothing``."""
    if conn.dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)
