"""Each source's migrations build exactly its models' tables, on SQLite and PostgreSQL, with
all four sources sharing one database as they do in tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

import sources
from sources.catalog.search.engine import TABLE_PREFIX
from sources.common.db import Database
from sources.common.migrate import (
    SOURCES,
    current_revision,
    drop_source,
    schema_differences,
    source_metadata,
    upgrade_source,
    version_table,
)
from tests.pg import temp_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'sources.db'}")
        yield database
        await database.dispose()
        return
    async with temp_database() as url:
        database = Database(url)
        yield database
        await database.dispose()


def head_of(name: str) -> str | None:
    migrations = Path(sources.__file__).parent / name / "migrations"
    return ScriptDirectory(str(migrations)).get_current_head()


def tables_of(name: str) -> set[str]:
    return set(source_metadata(name).tables)


async def upgrade_all(db: Database) -> None:
    for name in SOURCES:
        await upgrade_source(name, db)


async def schema_snapshot(db: Database) -> dict[str, Any]:
    """Tables with their columns and indexes, as the database reports them."""

    def snapshot(conn: Connection) -> dict[str, Any]:
        inspector = inspect(conn)
        return {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                sorted(i["name"] or "" for i in inspector.get_indexes(table)),
            )
            for table in sorted(inspector.get_table_names())
        }

    async with db.connect() as conn:
        return await conn.run_sync(snapshot)


async def test_upgrade_creates_every_table_of_each_source(db: Database) -> None:
    for name in SOURCES:
        assert await current_revision(name, db) is None

    await upgrade_all(db)

    snapshot = await schema_snapshot(db)
    expected = {version_table(name) for name in SOURCES}
    expected |= {table for name in SOURCES for table in tables_of(name)}
    # The catalog's search engine keeps its own tables (FTS5 adds shadow tables to its one).
    engine_tables = {table for table in snapshot if table.startswith(TABLE_PREFIX)}
    assert {"search_products", "search_terms"} <= engine_tables
    assert set(snapshot) == expected | engine_tables
    for name in SOURCES:
        assert await current_revision(name, db) == head_of(name)


async def test_upgrading_again_changes_nothing(db: Database) -> None:
    regions = source_metadata("orders").tables["regions"]
    await upgrade_all(db)
    before = await schema_snapshot(db)
    async with db.begin() as conn:
        await conn.execute(regions.insert().values(code="CN-SH", country="CN", name="Shanghai"))

    await upgrade_all(db)

    assert await schema_snapshot(db) == before
    for name in SOURCES:
        assert await current_revision(name, db) == head_of(name)
    async with db.connect() as conn:
        assert (await conn.execute(select(regions.c.code))).scalars().all() == ["CN-SH"]


@pytest.mark.parametrize("dropped", SOURCES)
async def test_drop_then_upgrade_rebuilds_only_that_source(db: Database, dropped: str) -> None:
    await upgrade_all(db)
    full = await schema_snapshot(db)

    await drop_source(dropped, db)

    remaining = set(await schema_snapshot(db))
    owned = tables_of(dropped)
    if dropped == "catalog":  # and its search engine's tables
        owned |= {table for table in full if table.startswith(TABLE_PREFIX)}
    assert remaining == set(full) - owned - {version_table(dropped)}
    assert await current_revision(dropped, db) is None

    await upgrade_source(dropped, db)

    assert await schema_snapshot(db) == full
    assert await current_revision(dropped, db) == head_of(dropped)


async def test_upgrades_started_together_do_not_collide(db: Database) -> None:
    # Without serialisation this raised on PostgreSQL and hung on SQLite: fail, not hang.
    async with asyncio.timeout(60):
        await asyncio.gather(*(upgrade_source(name, db) for name in SOURCES for _ in range(2)))

    for name in SOURCES:
        assert await current_revision(name, db) == head_of(name)
        assert await schema_differences(name, db) == [], name


async def test_models_and_migrations_agree(db: Database) -> None:
    await upgrade_all(db)

    for name in SOURCES:
        assert await schema_differences(name, db) == [], name


async def test_a_schema_drift_is_reported_for_its_source_only(db: Database) -> None:
    """Guards the check above: a comparison that always came back empty would prove nothing."""
    await upgrade_all(db)
    async with db.begin() as conn:
        await conn.execute(text("DROP INDEX ix_skus_product_id"))

    differences = await schema_differences("catalog", db)

    assert [(d[0], d[1].name) for d in differences] == [("add_index", "ix_skus_product_id")]
    for name in SOURCES:
        if name != "catalog":
            assert await schema_differences(name, db) == [], name


async def test_an_unknown_source_is_refused(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(ValueError, match="unknown source 'shipping'"):
            await upgrade_source("shipping", database)
    finally:
        await database.dispose()
