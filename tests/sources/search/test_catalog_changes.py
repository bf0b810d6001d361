"""The catalog's change version (sources/catalog/changes.py): it moves with every committed
write a search page depends on, whatever the backend, and on PostgreSQL a transaction of
many statements moves it once (a bulk load's executemany is a statement per row)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sources.catalog.changes import version
from sources.common.db import Database

INSERT_BRAND = text("INSERT INTO brands (name, translations) VALUES (:name, '{}')")


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
async def test_the_version_moves_with_each_committed_write_and_not_with_a_rolled_back_one(
    fresh_url: str,
) -> None:
    db = Database(fresh_url)
    try:
        async with db.connect() as conn:
            start = await version(conn)
        async with db.begin() as conn:
            await conn.execute(INSERT_BRAND, [{"name": f"Brand {n}"} for n in range(200)])
        async with db.connect() as conn:
            after_bulk = await version(conn)
        assert after_bulk > start
        if db.engine.dialect.name == "postgresql":
            assert after_bulk == start + 1, "one bump per transaction, not per statement"
        with pytest.raises(RuntimeError):
            async with db.begin() as conn:
                await conn.execute(INSERT_BRAND, {"name": "Never"})
                raise RuntimeError("rolled back")
        async with db.connect() as conn:
            assert await version(conn) == after_bulk
        async with db.begin() as conn:
            await conn.execute(INSERT_BRAND, {"name": "Later"})
        async with db.connect() as conn:
            assert await version(conn) > after_bulk
    finally:
        await db.dispose()
