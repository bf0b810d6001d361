"""Fresh databases at a source's head revision, for the tests that start from an empty source.

Running a source's Alembic history costs a test half a second to two seconds (more on a
busy machine), and hundreds of tests start that way. The history runs for real once per
test process and source, into a template; every later fresh database is a copy of it (a
file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL). tests/sources/
test_migrations.py still runs every history step by step.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from sources.common.db import Database
from sources.common.migrate import upgrade_source
from tests.conftest import _copy_sqlite
from tests.pg import clone_database, create_temp_database, drop_database, is_temp_database

# (backend, source) -> the template's URL
_TEMPLATES: dict[tuple[str, str], str] = {}


async def upgrade_fresh(name: str, db: Database) -> None:
    """Bring ``db``, a new and unused database, to ``name``'s head revision."""
    url = make_url(db.url)
    backend = "sqlite" if db.is_sqlite else "postgresql"
    copyable = is_temp_database(db.url) if backend == "postgresql" else bool(url.database)
    if not copyable:  # SQLite in memory, or a database these tests did not make
        await upgrade_source(name, db)
        return
    template = _TEMPLATES.get((backend, name))
    if template is None:
        template = await _make_template(backend, name)
        _TEMPLATES[(backend, name)] = template
    if backend == "sqlite":
        _copy_sqlite(template, db.url)
    else:
        await clone_database(template, db.url)


async def _make_template(backend: str, name: str) -> str:
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"migrated-{name}-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # the session's template
        url = f"sqlite+aiosqlite:///{folder}/{name}.db"
    else:
        url = await create_temp_database()
        atexit.register(_drop_at_exit, url)
    db = Database(url)
    try:
        await upgrade_source(name, db)
    finally:
        await db.dispose()
    return url


def _drop_at_exit(url: str) -> None:
    asyncio.run(drop_database(url))


def orders_with_one_customer(directory: Path, created_at: datetime) -> str:
    """A fresh SQLite orders database in ``directory`` holding customer 1 (the service
    and request-key tests write orders and carts for them)."""
    url = f"sqlite+aiosqlite:///{directory}/orders.db"
    asyncio.run(migrate_orders_with_one_customer(url, created_at))
    return url


async def migrate_orders_with_one_customer(url: str, created_at: datetime) -> None:
    """The orders database at ``url`` (new and unused, either backend) brought to head,
    holding customer 1."""
    from sqlalchemy import insert

    from sources.orders import models

    db = Database(url)
    try:
        await upgrade_fresh("orders", db)
        async with db.begin() as conn:
            await conn.execute(
                insert(models.Customer),
                [{"id": 1, "email": "c1@example.com", "name": "C1", "is_blocked": False,
                  "created_at": created_at}],
            )  # fmt: skip
    finally:
        await db.dispose()
