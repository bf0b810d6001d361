"""One process's writers of a SQLite file take turns, first come first served.

SQLite has one writer. Write transactions of one process used to meet in ``BEGIN
IMMEDIATE``, where the losers slept in SQLite's busy handler (sleeps growing to 100 ms
between tries): whoever happened to try at the right moment went next, and a writer that
had waited a while kept missing its turn. ``Database.begin`` now queues them on the
process's own turn (sources/common/db.py, ``sqlite_writer_turn``): each transaction
commits in the order it asked, and each waits only for the ones before it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sources.common.db import Database

WRITERS = 12
HELD_S = 0.02  # each transaction awaits something while it holds the writer


async def _read(db: Database) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(text("SELECT n FROM counter"))).scalar_one())


async def _counter(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    async with db.begin() as conn:
        await conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        await conn.execute(text("INSERT INTO counter (n) VALUES (0)"))
    return db


async def test_writers_of_one_file_commit_in_the_order_they_asked(tmp_path: Path) -> None:
    db = await _counter(tmp_path)
    committed: list[int] = []

    async def writer(index: int) -> float:
        asked = time.monotonic()
        async with db.begin() as conn:
            seen = (await conn.execute(text("SELECT n FROM counter"))).scalar_one()
            await asyncio.sleep(HELD_S)  # the event loop runs the others meanwhile
            await conn.execute(text("UPDATE counter SET n = :n"), {"n": seen + 1})
            committed.append(index)
        return time.monotonic() - asked

    try:
        waited = await asyncio.gather(*(writer(i) for i in range(WRITERS)))
        final = await _read(db)
    finally:
        await db.dispose()

    assert final == WRITERS  # read-modify-write under the writer: no update lost
    assert committed == list(range(WRITERS))
    # The last one waited for the eleven before it, not for a busy handler's back-off.
    assert max(waited) < WRITERS * HELD_S + 1.0


async def test_reads_do_not_wait_for_the_writers_turn(tmp_path: Path) -> None:
    db = await _counter(tmp_path)
    release = asyncio.Event()

    async def long_writer() -> None:
        async with db.begin() as conn:
            await conn.execute(text("UPDATE counter SET n = 41"))
            await release.wait()
            await conn.execute(text("UPDATE counter SET n = 42"))

    try:
        writing = asyncio.create_task(long_writer())
        await asyncio.sleep(0.05)
        # WAL: a read sees the last commit while the writer holds its turn and its lock.
        assert await asyncio.wait_for(_read(db), 5) == 0
        release.set()
        await writing
        assert await _read(db) == 42
    finally:
        release.set()
        await db.dispose()


async def test_writers_waiting_for_their_turn_hold_no_pooled_connection(tmp_path: Path) -> None:
    """The turn is taken before a pooled connection, never while holding one: with two
    connections (pool 1 + 1 overflow) and many checkouts' claims, address writes and cart
    writes at once, everything finishes. A claim that held its read connection while it
    waited for the turn could leave the turn's holder (a cart write, waiting for a
    connection) none: a stall until the pool's 30 s timeout."""
    from datetime import UTC, datetime, timedelta

    from sources.common.migrate import upgrade_source
    from sources.orders.records import Address
    from sources.orders.store import OrdersStore

    url = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
    setup = Database(url)
    try:
        await upgrade_source("orders", setup)
        async with setup.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO customers (id, email, name, is_blocked, created_at) "
                    "VALUES (1, 'c1@example.com', 'C1', 0, '2026-11-01 00:00:00')"
                )
            )
    finally:
        await setup.dispose()
    db = Database(url, pool_size=1)
    store = OrdersStore(db)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    address = Address("Li Wei", "13800000000", "CN", "CN-SH", "Shanghai", "1 Road", "200120")
    try:
        carts = [
            await store.create_cart(customer_id=1, now=now, lines=[(101, 1)]) for _ in range(8)
        ]

        async def checkout(n: int) -> None:
            await store.set_owned_cart_address(carts[n].id, 1, address, now)
            await store.checkout_start(
                cart_id=carts[n].id,
                customer_id=1,
                idempotency_key=f"k{n}",
                now=now,
                stale_after=timedelta(minutes=5),
            )

        async def new_cart() -> None:
            await store.create_cart(customer_id=1, now=now, lines=[(102, 1)])

        work = [checkout(n) for n in range(8)] + [new_cart() for _ in range(8)]
        await asyncio.wait_for(asyncio.gather(*work), 20)
    finally:
        await db.dispose()


async def test_a_write_takes_its_begin_in_one_hand_off_to_the_driver_thread(
    tmp_path: Path,
) -> None:
    """Each hand-off to aiosqlite's thread waits for the event loop to come round again,
    and a write makes its hand-offs while every other writer of the file waits for it. A
    write of one statement is three: ``BEGIN IMMEDIATE``, the statement, ``COMMIT`` (six
    while the BEGIN took three: a cursor made, executed, closed; four while the pool's
    reset rolled the committed connection back, a no-op, in one more). The BEGIN is still
    a statement to SQLAlchemy's cursor events (statement counts, tracing)."""
    import aiosqlite
    from sqlalchemy import event, insert, table
    from sqlalchemy.sql import column

    from sources.common import lean

    db = await _counter(tmp_path)
    counter = table("counter", column("n"))
    increment = insert(counter)
    hand_offs = 0
    per_write: list[int] = []
    seen: list[str] = []
    driver_execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal hand_offs
        hand_offs += 1
        return await driver_execute(self, fn, *args, **kwargs)

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append(sql)

    event.listen(db.engine.sync_engine, "before_cursor_execute", statement)
    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
    try:
        for _ in range(2):  # the second on a pooled connection, as a served write is
            hand_offs = 0
            async with db.begin() as conn:
                await lean.execute(conn, increment, {"n": 1})
            per_write.append(hand_offs)
        async with db.connect() as conn:  # both committed
            rows = (await conn.execute(text("SELECT count(*) FROM counter"))).scalar_one()
        assert rows == 3
    finally:
        aiosqlite.Connection._execute = driver_execute  # type: ignore[method-assign]
        await db.dispose()

    assert per_write == [3, 3]
    assert seen.count("BEGIN IMMEDIATE") == 2


async def test_a_short_write_runs_its_statements_without_handing_them_off(
    tmp_path: Path,
) -> None:
    """``Database.begin(on_loop=True)``: once BEGIN IMMEDIATE holds the write lock, the
    statements run on the event loop's thread, so however many there are the write makes
    two hand-offs (BEGIN, COMMIT), not one more per statement. What
    it writes is committed, and a statement that fails rolls the whole write back with
    SQLAlchemy's error, as before."""
    import aiosqlite
    from sqlalchemy import insert, table
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.sql import column

    from sources.common import lean

    db = await _counter(tmp_path)
    async with db.begin() as conn:
        await conn.execute(text("CREATE TABLE once (n INTEGER PRIMARY KEY)"))
    counter, once = table("counter", column("n")), table("once", column("n"))
    hand_offs = 0
    driver_execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal hand_offs
        hand_offs += 1
        return await driver_execute(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
    try:
        async with db.begin(on_loop=True) as conn:
            for n in (1, 2, 3):
                await lean.execute(conn, insert(counter), {"n": n})
            await lean.execute_many(conn, insert(once), [{"n": 1}, {"n": 2}])
        written = hand_offs
        with pytest.raises(IntegrityError):
            async with db.begin(on_loop=True) as conn:
                await lean.execute(conn, insert(counter), {"n": 4})
                await lean.execute(conn, insert(once), {"n": 1})  # taken: the write fails
        async with db.connect() as conn:
            counted_rows = (await conn.execute(text("SELECT count(*) FROM counter"))).scalar()
            once_rows = (await conn.execute(text("SELECT count(*) FROM once"))).scalar()
    finally:
        aiosqlite.Connection._execute = driver_execute  # type: ignore[method-assign]
        await db.dispose()

    assert written == 2
    assert (counted_rows, once_rows) == (4, 2)  # the first write's, none of the second's


async def _counting_hand_offs(db: Database) -> tuple[list[int], Any]:
    """``[hand-offs so far]`` to aiosqlite's thread, and the undo of the counting."""
    import aiosqlite

    counted_so_far = [0]
    driver_execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counted_so_far[0] += 1
        return await driver_execute(self, fn, *args, **kwargs)

    def undo() -> None:
        aiosqlite.Connection._execute = driver_execute  # type: ignore[method-assign]

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
    return counted_so_far, undo


async def test_a_read_is_one_hand_off_with_no_rollback_at_check_in(tmp_path: Path) -> None:
    """A read (``Database.connect``) opens no transaction, so the pool's rollback as the
    connection goes back (a no-op in sqlite3, and one more hand-off) is skipped: a flash
    sale's marked loser, whose one source call reads its cart, made two hand-offs."""
    from sqlalchemy import select, table
    from sqlalchemy.sql import column

    from sources.common import lean

    db = await _counter(tmp_path)
    statement = select(table("counter", column("n")).c.n)
    await db.read(statement, {})  # the pool's first connection opened outside the count
    counted_so_far, undo = await _counting_hand_offs(db)
    try:
        for _ in range(3):
            assert await db.read(statement, {}) == [(0,)]
        async with db.connect() as conn:
            await lean.execute(conn, statement, {})
            await lean.execute(conn, statement, {})
    finally:
        undo()
        await db.dispose()
    assert counted_so_far[0] == 5


async def test_a_write_that_failed_or_was_cancelled_is_still_rolled_back(tmp_path: Path) -> None:
    """Only a connection given back after its work ended normally skips the check-in's
    rollback: one whose write failed, or whose task was cancelled while it waited in
    ``BEGIN IMMEDIATE`` for another process's lock (the BEGIN goes on in the driver's
    thread and would open a transaction after any check), is rolled back as before, so
    the next user of the pooled connection never finds a transaction left open."""
    import sqlite3

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}", pool_size=1, overflow=0)
    async with db.begin() as conn:
        await conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
    other = sqlite3.connect(tmp_path / "turns.db", isolation_level=None)
    try:
        with pytest.raises(RuntimeError):
            async with db.begin() as conn:
                await conn.execute(text("INSERT INTO counter (n) VALUES (1)"))
                raise RuntimeError("the write fails after its statement")
        other.execute("BEGIN IMMEDIATE")  # another process holds the file's write lock
        waiting = asyncio.create_task(_write_one(db))
        await asyncio.sleep(0.3)  # in BEGIN IMMEDIATE, in the busy timeout
        waiting.cancel()
        await asyncio.sleep(0.1)  # the cancelled write gives its connection back meanwhile
        other.execute("COMMIT")  # the driver's BEGIN now succeeds; the queued rollback undoes it
        with pytest.raises(asyncio.CancelledError):
            await waiting
        async with db.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM counter"))).scalar()
            raw = await conn.get_raw_connection()
            assert not raw.driver_connection._conn.in_transaction  # type: ignore[union-attr]
        assert rows == 0
        other.execute("BEGIN IMMEDIATE")  # nothing of this process holds the lock
        other.execute("COMMIT")
    finally:
        other.close()
        await db.dispose()


async def _write_one(db: Database) -> None:
    async with db.begin() as conn:
        await conn.execute(text("INSERT INTO counter (n) VALUES (2)"))


async def test_a_new_cart_is_a_short_write(tmp_path: Path) -> None:
    """The cart's write (``cartCreate`` on SQLite: the cart, its lines) is a short write:
    BEGIN IMMEDIATE and COMMIT handed off, its INSERTs run on the event loop, so it holds
    the orders file's writer for two hand-offs, not four (before that, one more for the
    pool's reset)."""
    from datetime import UTC, datetime

    from sources.common.migrate import upgrade_source
    from sources.orders.store import OrdersStore

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}")
    try:
        await upgrade_source("orders", db)
        now = datetime(2026, 11, 25, tzinfo=UTC)
        store = OrdersStore(db)
        await store.create_cart(customer_id=None, now=now, lines=[(100, 1)])  # warm
        counted_so_far, undo = await _counting_hand_offs(db)
        try:
            cart = await store.create_cart(customer_id=None, now=now, lines=[(101, 2), (102, 1)])
        finally:
            undo()
        async with db.connect() as conn:
            lines = (
                await conn.execute(
                    text("SELECT sku_id, quantity FROM cart_lines WHERE cart_id = :c ORDER BY id"),
                    {"c": cart.id},
                )
            ).all()
    finally:
        await db.dispose()
    assert counted_so_far[0] == 2
    assert [tuple(line) for line in lines] == [(101, 2), (102, 1)]
