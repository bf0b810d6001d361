"""Alembic migrations, one history per source.

Each source keeps its history in ``sources/<name>/migrations`` and records its revision in
its own version table (``alembic_version_<name>``), so the four sources can share one
database (as in tests) and still upgrade independently. The programmatic API runs alembic
on a connection the caller hands in (``config.attributes["connection"]``), so it works
inside a running event loop; each ``env.py`` is one call to :func:`run_env`, which also
serves the ``alembic -n <name> ...`` command line (see ``alembic.ini``).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import weakref
import zlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from logging.config import fileConfig
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, Table, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeDecorator

from sources.common.db import Database

# The history's head and a database's revision are read without alembic (a process that
# only checks its databases need not import it); they are re-exported for callers here.
from .revisions import SOURCES as SOURCES
from .revisions import current_revision as current_revision
from .revisions import head_revision as head_revision
from .revisions import known_revisions as known_revisions
from .revisions import previous_revision as previous_revision
from .revisions import version_table as version_table

_SOURCES_DIR = Path(__file__).resolve().parent.parent
_alembic_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def source_metadata(name: str) -> MetaData:
    """The metadata of a source's models: what its migrations must produce."""
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; expected one of {', '.join(SOURCES)}")
    metadata: MetaData = importlib.import_module(f"sources.{name}.models").Base.metadata
    return metadata


async def upgrade_source(name: str, db: Database, revision: str = "head") -> None:
    """Bring a source's tables to ``revision``; a no-op when already there."""
    source_metadata(name)
    async with _alembic_lock(), _migration_connection(name, db) as conn:
        await conn.run_sync(_run_upgrade, name, revision)


async def drop_source(name: str, db: Database) -> None:
    """Drop a source's tables and its version table, leaving other sources' tables alone.

    Drops the tables of the current models, so a table that a later migration removed from
    the models is not dropped; ``upgrade_source`` would then fail on it, loudly.
    """
    metadata = source_metadata(name)
    version = Table(version_table(name), MetaData(), Column("version_num", String(32)))
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(version.drop, checkfirst=True)


async def schema_differences(name: str, db: Database) -> list[Any]:
    """What autogenerate would change: empty when the database matches the models."""
    metadata = source_metadata(name)
    async with db.engine.connect() as conn:
        return await conn.run_sync(_schema_differences, name, metadata)


def run_env(name: str) -> None:
    """The whole of a source's ``env.py``."""
    from alembic import context

    config = context.config
    options = _context_options(name)
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run_migrations(connection, options)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = os.environ.get(f"{name.upper()}_DATABASE_URL", f"sqlite+aiosqlite:///./data/{name}.db")
    if context.is_offline_mode():
        context.configure(
            url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **options
        )
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_standalone(name, url, options))


def _alembic_lock() -> asyncio.Lock:
    """One alembic command at a time per event loop: alembic's ``context`` and ``op`` are
    process-wide proxies, and two upgrades interleaving at their awaits (``asyncio.gather``)
    would tear down each other's."""
    return _alembic_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())


@asynccontextmanager
async def _migration_connection(name: str, db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection fit for running migrations, committed at the end.

    SQLite: foreign keys are off while migrating, because batch mode rebuilds a table by
    dropping it, which fails (or cascades) with foreign keys on and rows referring to it.
    The pragma is a no-op inside a transaction, so it is set before the first statement.
    PostgreSQL: an advisory lock per source, so gateway processes starting together do not
    race to create the same tables.
    """
    async with db.engine.connect() as conn:
        is_sqlite = conn.dialect.name == "sqlite"
        if is_sqlite:
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()
        try:
            async with conn.begin():
                if conn.dialect.name == "postgresql":
                    key = zlib.crc32(version_table(name).encode())
                    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
                yield conn
        finally:
            if is_sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()


def _alembic_config(name: str, connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SOURCES_DIR / name / "migrations"))
    config.attributes["connection"] = connection
    return config


def _run_upgrade(connection: Connection, name: str, revision: str) -> None:
    command.upgrade(_alembic_config(name, connection), revision)


def _schema_differences(connection: Connection, name: str, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts=_context_options(name))
    return list(compare_metadata(context, metadata))


async def _run_standalone(name: str, url: str, options: dict[str, Any]) -> None:
    db = Database(url, pool_size=1)
    try:
        async with _migration_connection(name, db) as conn:
            await conn.run_sync(_run_migrations, options)
    finally:
        await db.dispose()


def _run_migrations(connection: Connection, options: dict[str, Any]) -> None:
    from alembic import context

    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


def _context_options(name: str) -> dict[str, Any]:
    """Alembic options shared by migrating, autogenerating and comparing a source."""
    metadata = source_metadata(name)
    other_tables = {
        table for other in SOURCES if other != name for table in source_metadata(other).tables
    }

    def include_name(obj_name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
        # In a database shared by several sources, the other sources' tables (and their
        # version tables) are not this source's to drop.
        if type_ == "table":
            # The services' request-key tables belong to the transport, not the models;
            # search_* tables to the catalog's search engine (its own DDL per dialect).
            return obj_name not in other_tables and not (obj_name or "").startswith(
                ("alembic_version", "service_requests_", "search_")
            )
        return True

    return {
        "target_metadata": metadata,
        "version_table": version_table(name),
        "include_name": include_name,
        "render_as_batch": True,  # SQLite can only alter a table by rebuilding it
        "render_item": _render_item,
        "compare_type": True,
        "process_revision_directives": _name_revision(name),
    }


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render our TypeDecorators as the plain type they store, so a migration never
    imports application code that may change after the migration is written."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        if type(impl).__module__ == "sqlalchemy.sql.sqltypes":  # generic types only
            return f"sa.{impl!r}"
    return False


def _name_revision(name: str) -> Any:
    """Number new revisions ``<name>_0002``, ... unless ``--rev-id`` was given, and write no
    file when autogenerate found nothing to change."""

    def process(context: MigrationContext, _revision: Any, directives: list[Any]) -> None:
        script: MigrationScript = directives[0]
        cmd_opts = getattr(context.config, "cmd_opts", None) if context.config else None
        if getattr(cmd_opts, "autogenerate", False) and script.upgrade_ops_list[0].is_empty():
            print(f"No changes in the {name} models; no revision written.")
            directives[:] = []
            return
        if re.fullmatch(r"[0-9a-f]{12}", script.rev_id or "") and context.config is not None:
            existing = ScriptDirectory.from_config(context.config).walk_revisions()
            script.rev_id = f"{name}_{_next_number(name, (s.revision for s in existing)):04d}"

    return process


def _next_number(name: str, revisions: Iterable[str]) -> int:
    numbers = [
        int(match.group(1))
        for revision in revisions
        if (match := re.fullmatch(rf"{name}_(\d+)", revision))
    ]
    return max(numbers, default=0) + 1
