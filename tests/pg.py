"""Throwaway PostgreSQL databases for tests.

Each test that needs PostgreSQL creates its own database (a uuid name, so parallel runs never
meet) and drops it afterwards. PostgreSQL runs at 127.0.0.1:5432, user postgres, trust auth.
When it is unreachable the test is skipped with the reason, except in CI, where a skipped
PostgreSQL test would hide a broken set-up, so it fails.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

HOST = "127.0.0.1"
PORT = 5432
USER = "postgres"
ADMIN_DATABASE = "test"
_NAME_PREFIX = "gw_test_"


def postgres_available() -> str | None:
    """None when PostgreSQL accepts connections, else the reason it does not.

    Synchronous, for sync fixtures and skip conditions; the probe runs on its own event
    loop in a worker thread, so it also works when the caller's loop is running.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, _probe()).result()
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            return f"{HOST}:{PORT}: {exc!r}"
    return None


async def create_temp_database() -> str:
    """Create an empty database and return its SQLAlchemy (asyncpg) URL."""
    name = f"{_NAME_PREFIX}{uuid.uuid4().hex}"
    conn = await _admin_connection()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://{USER}@{HOST}:{PORT}/{name}"


async def clone_database(template_url: str, url: str) -> None:
    """Replace the (empty, unused) database at ``url`` with a copy of ``template_url``:
    PostgreSQL copies the files, a few hundred times cheaper than migrating and seeding."""
    template = make_url(template_url).database or ""
    name = make_url(url).database or ""
    for database in (template, name):
        if not database.startswith(_NAME_PREFIX):
            raise ValueError(f"refusing to replace {database!r}: not a temporary test database")
    conn = await _admin_connection()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    """Drop a database made by ``create_temp_database``, even with connections still open."""
    name = make_url(url).database or ""
    # Only ever drop what this module created: a wrong URL must not cost a real database.
    if not name.startswith(_NAME_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a temporary test database")
    conn = await _admin_connection()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def temp_database() -> AsyncIterator[str]:
    """A temporary database's URL for the length of the block; skips (or, in CI, fails)
    the test when PostgreSQL is unreachable."""
    try:
        url = await create_temp_database()
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL is unreachable: {HOST}:{PORT}: {exc!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield url
    finally:
        await drop_database(url)


async def _probe() -> None:
    conn = await _admin_connection()
    await conn.close()


async def _admin_connection() -> asyncpg.Connection:
    return await asyncpg.connect(
        host=HOST, port=PORT, user=USER, database=ADMIN_DATABASE, timeout=5
    )
