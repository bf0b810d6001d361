"""Throwaway PostgreSQL databases for tests.

Each test that needs PostgreSQL creates its own database (a uuid name, so parallel runs never
meet) and drops it afterwards. PostgreSQL runs at 127.0.0.1:5432, user postgres, trust auth.
When it is unreachable the test is skipped with the reason, except in CI, where a skipped
PostgreSQL test would hide a broken set-up, so it fails.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import queue
import threading
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
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


class _Janitor:
    """Creates and drops test databases on a thread of its own.

    A ``CREATE DATABASE`` or ``DROP DATABASE`` costs the server a few hundred milliseconds
    of file work and fsyncs while the test's own process waits idle; with hundreds of
    PostgreSQL tests per run that wait was minutes of the suite. Here a test takes a
    database made ahead of time and hands its own back to be dropped later. At exit the
    process waits for every drop, so nothing is left behind.

    Drops go in batches, several at once. PostgreSQL 15's ``DROP DATABASE`` forces an
    immediate checkpoint of the whole cluster and waits for it: one drop at a time made a
    checkpoint per test, each flushing every other test's writes and making the next write
    of each page log a full page image. Drops that wait together share a checkpoint
    (16 serial drops: 16 checkpoints, 23 s; 16 at once: 2 checkpoints, 0.5-3 s).
    """

    SPARE = 2  # empty databases kept ready
    DROP_BATCH = 8  # used databases kept (a few MB each) until this many are dropped together
    DROP_CONNECTIONS = 4  # drops run at once, each on its own connection

    def __init__(self) -> None:
        self._work: queue.Queue[tuple[str, str, Future[None] | None]] = queue.Queue()
        self._spare: queue.Queue[str] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._made = 0

    def take(self) -> str | None:
        """An empty database made ahead, if one is ready; starts making the next."""
        try:
            name = self._spare.get_nowait()
        except queue.Empty:
            name = None
        self._ask("create", f"{_NAME_PREFIX}{uuid.uuid4().hex}")
        return name

    def drop(self, name: str) -> None:
        self._ask("drop", name)

    def give_back(self, name: str) -> None:
        """An empty database nobody used: a spare again, or dropped if enough are ready."""
        if self._spare.qsize() < self.SPARE:
            self._spare.put(name)
        else:
            self.drop(name)

    def finish(self) -> None:
        """Drop the spares, then wait for every drop asked for (at exit)."""
        if self._thread is None:
            return
        done: Future[None] = Future()
        self._work.put(("stop", "", done))
        done.result(timeout=300)

    def _ask(self, verb: str, name: str) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pg-janitor", daemon=True)
                self._thread.start()
        self._work.put((verb, name, None))

    def _run(self) -> None:
        # A loop of its own, driven between blocking gets: at exit the interpreter has
        # already shut asyncio's default executor down, so no ``to_thread`` here.
        loop = asyncio.new_event_loop()
        conns: list[asyncpg.Connection] = []
        doomed: list[str] = []
        while True:
            verb, name, done = self._work.get()
            try:
                conns = [c for c in conns if not c.is_closed()]
                if not conns:
                    conns.append(loop.run_until_complete(_admin_connection()))
                if verb == "create" and self._spare.qsize() < self.SPARE:
                    loop.run_until_complete(conns[0].execute(f'CREATE DATABASE "{name}"'))
                    self._spare.put(name)
                elif verb == "drop":
                    doomed.append(name)
                    if len(doomed) >= self.DROP_BATCH:
                        loop.run_until_complete(self._drop_all(conns, doomed))
                elif verb == "stop":
                    while not self._spare.empty():
                        doomed.append(self._spare.get_nowait())
                    loop.run_until_complete(self._drop_all(conns, doomed))
                    for conn in conns:
                        loop.run_until_complete(conn.close())
            except Exception:  # the janitor must outlive any one failure
                # A spare that could not be made is made by the test itself; a drop that
                # failed leaves a uuid-named database, never a wrong one.
                conns = []
            if done is not None:
                done.set_result(None)
                loop.close()
                return

    async def _drop_all(self, conns: list[asyncpg.Connection], names: list[str]) -> None:
        """Drop ``names`` (emptied as they go) over up to DROP_CONNECTIONS connections at
        once, so that their checkpoints coincide."""
        while len(conns) < min(self.DROP_CONNECTIONS, len(names)):
            conns.append(await _admin_connection())

        async def drain(conn: asyncpg.Connection) -> None:
            while names:
                await _drop(conn, names.pop())

        await asyncio.gather(*(drain(conn) for conn in conns), return_exceptions=True)


async def _drop(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_janitor = _Janitor()
atexit.register(_janitor.finish)


async def create_temp_database() -> str:
    """An empty database's SQLAlchemy (asyncpg) URL; made ahead when the janitor has one."""
    name = _janitor.take()
    if name is None:
        name = f"{_NAME_PREFIX}{uuid.uuid4().hex}"
        conn = await _admin_connection()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
    return f"postgresql+asyncpg://{USER}@{HOST}:{PORT}/{name}"


def is_temp_database(url: str) -> bool:
    """Whether ``url`` names a database this module made (and may replace or drop)."""
    return (make_url(url).database or "").startswith(_NAME_PREFIX)


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
        # The empty database steps aside under another name, to be a spare again (or
        # dropped later, off this test's clock, if something was written to it); a copy
        # takes its name.
        retired = f"{_NAME_PREFIX}{uuid.uuid4().hex}"
        try:
            empty = await _is_empty(url)
            await conn.execute(f'ALTER DATABASE "{name}" RENAME TO "{retired}"')
            if empty:
                _janitor.give_back(retired)
            else:
                _janitor.drop(retired)
        except (asyncpg.ObjectInUseError, asyncpg.InvalidCatalogNameError):
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    """Drop a database made by ``create_temp_database``, even with connections still open:
    soon, on the janitor's thread, and surely before this process exits."""
    name = make_url(url).database or ""
    # Only ever drop what this module created: a wrong URL must not cost a real database.
    if not name.startswith(_NAME_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a temporary test database")
    _janitor.drop(name)


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


async def _is_empty(url: str) -> bool:
    """No table in the database at ``url``: as ``CREATE DATABASE`` made it."""
    conn = await asyncpg.connect(
        host=HOST, port=PORT, user=USER, database=make_url(url).database, timeout=5
    )
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        )
    finally:
        await conn.close()
    return int(tables) == 0


async def _probe() -> None:
    conn = await _admin_connection()
    await conn.close()


async def _admin_connection() -> asyncpg.Connection:
    return await asyncpg.connect(
        host=HOST, port=PORT, user=USER, database=ADMIN_DATABASE, timeout=5
    )
