"""The head, the previous revision and the known revisions read from the revision files
(sources/common/revisions.py) are alembic's own answers for every source, and a
database's revision is read as alembic reads it, including a branched version table."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import text

import sources
from sources.common.db import Database
from sources.common.revisions import (
    SOURCES,
    current_revision,
    head_revision,
    known_revisions,
    previous_revision,
    version_table,
)


@pytest.mark.parametrize("name", SOURCES)
def test_the_history_read_from_the_files_is_alembics(name: str) -> None:
    script = ScriptDirectory(str(Path(sources.__file__).parent / name / "migrations"))
    head = script.get_current_head()

    assert head_revision(name) == head
    assert previous_revision(name) == script.get_revision(head).down_revision
    assert known_revisions(name) == {s.revision for s in script.walk_revisions()}


def test_an_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        head_revision("warehouse")


async def test_a_databases_revision_is_read_as_alembic_reads_it(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}")
    table = version_table("orders")
    try:
        assert await current_revision("orders", db) is None  # no version table yet
        async with db.engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {table} (version_num VARCHAR(32))"))
        assert await current_revision("orders", db) is None  # an empty one
        async with db.engine.begin() as conn:
            await conn.execute(text(f"INSERT INTO {table} VALUES ('orders_0003')"))
            alembics = await conn.run_sync(
                lambda c: MigrationContext.configure(
                    c, opts={"version_table": table}
                ).get_current_revision()
            )
        assert await current_revision("orders", db) == alembics == "orders_0003"
        async with db.engine.begin() as conn:
            await conn.execute(text(f"INSERT INTO {table} VALUES ('orders_0004')"))
        with pytest.raises(CommandError, match="more than one head"):
            await current_revision("orders", db)
    finally:
        await db.dispose()
