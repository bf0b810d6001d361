"""What a shutdown leaves of a SQLite database a cancelled task was using: nothing open.

A task cancelled in the middle of a call (the shutdown cancels running imports and the
sweeper) can leave a connection whose opening it cut short, or the cursor of the
statement it cut short, held by its cancellation's traceback where no pool reaches them.
``close_left_behind`` after the pools are disposed closes them: the database's last
connection closes and checkpoints its write-ahead log away, which is how a database
closed cleanly is told from one a process exited with still open. The task is cancelled
at many points of a write-and-read loop (after each of 0..N turns of the event loop, one
database each), so some cancellations land in a connect, a statement, a commit, a checkin.
"""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

from sqlalchemy import text

from sources.common.db import Database, close_left_behind

CANCEL_POINTS = 40


async def _write_and_read(db: Database) -> None:
    n = 0
    while True:
        n += 1
        async with db.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": n})
            await conn.execute(text("UPDATE t SET v = v + 1 WHERE id % 7 = 0"))
        await db.read(text("SELECT count(*) FROM t"), {})


async def _cancelled_after(db: Database, turns: int) -> None:
    task = asyncio.create_task(_write_and_read(db))
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    del task
    await db.dispose()


async def test_a_task_cancelled_mid_call_leaves_no_database_open(tmp_path: Path) -> None:
    paths = [tmp_path / f"cut{turns}.db" for turns in range(CANCEL_POINTS)]
    dbs = []
    for path in paths:
        db = Database(f"sqlite+aiosqlite:///{path}")
        async with db.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"))
        await db.dispose()
        dbs.append(db)
    # One database each, all at once: one collection afterwards, as at a shutdown.
    await asyncio.gather(*(_cancelled_after(db, turns) for turns, db in enumerate(dbs)))
    await close_left_behind()
    left = [p.name for p in paths if p.with_name(p.name + "-wal").exists()]
    assert left == [], f"databases still open after their tasks were cancelled: {left}"


async def test_nothing_left_behind_counts_nothing(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'calm.db'}")
    async with db.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    await db.read(text("SELECT count(*) FROM t"), {})
    await db.dispose()
    assert await close_left_behind() == 0
    assert not (tmp_path / "calm.db-wal").exists()


async def test_a_live_connection_is_not_touched(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'live.db'}")
    try:
        async with db.connect() as conn:
            assert await close_left_behind() == 0
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await db.dispose()


async def test_a_dead_weak_proxy_in_the_heap_does_not_stop_it() -> None:
    """A process's heap holds weak proxies whose objects are gone (libraries keep them);
    looking at one with ``isinstance`` raises ReferenceError, which had failed whole
    shutdowns in the suite."""

    class Thing:
        pass

    thing = Thing()
    proxy = weakref.proxy(thing)
    del thing
    holder = [proxy]  # a dead proxy the collector's object list will show
    assert await close_left_behind(timeout_s=1) == 0
    assert len(holder) == 1
