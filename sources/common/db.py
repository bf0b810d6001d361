"""Engines and sessions for a source's own database.

Every source owns one database URL. SQLite files are the embedded default; PostgreSQL
(asyncpg) is production. The same code runs on both, so SQLite gets the pragmas that make
it behave under concurrent writers (WAL, a busy timeout, foreign keys).
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import sqlite3
import threading
import time
import warnings
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Executable, event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

_BEGIN_KEY = "sqlite_begin"
# Set on a SQLite connection's info by Database.connect / begin once their work ended
# normally (every hand-off awaited, the write committed): its check-in's rollback may be
# skipped (_skipping_idle_rollbacks).
_IDLE_KEY = "sqlite_idle"

log = logging.getLogger(__name__)


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class _SQLiteCompiler(SQLiteCompiler):
    """Renders a statement's SQLite table hints (``Select.with_hint(table, "INDEXED BY
    ix", "sqlite")``), which SQLAlchemy drops for SQLite: a search page names the covering
    index its matches are read from (sources/catalog/search/covering.py)."""

    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


def create_engine(url: str, *, pool_size: int = 10, overflow: int | None = None) -> AsyncEngine:
    """An async engine tuned for the backend behind ``url``: ``pool_size`` connections
    kept, and ``overflow`` more (as many again unless told) opened when all are busy and
    closed when they come back."""
    overflow = pool_size if overflow is None else overflow
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # JSON columns (translations, options, tags) are decoded by orjson: a listing reads
        # some 350 of them, and the standard library's decoder was ~6% of its CPU. Writes
        # keep the standard encoder, so what is stored does not change.
        # The pool is sized like PostgreSQL's (``pool_size`` kept, as many again in
        # overflow): SQLAlchemy's default for a file (5 + 10) closed every connection past
        # the fifth at check-in, so at 16 requests in flight connections were opened (a
        # thread, four PRAGMAs) and closed all the time.
        # (An in-memory database has one connection, SQLAlchemy's StaticPool: no sizes.)
        in_memory = not parsed.database or parsed.database == ":memory:"
        sizes = {} if in_memory else {"pool_size": pool_size, "max_overflow": overflow}
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, json_deserializer=orjson.loads, **sizes
        )
        engine.sync_engine.dialect.statement_compiler = _SQLiteCompiler

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # SQLAlchemy, not the driver, emits BEGIN (see _sqlite_begin).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # SQLite's lower() folds ASCII only; search must find "Crème" for "CRÈME"
            # as PostgreSQL does.
            dbapi_conn.create_function("lower", 1, _lower, deterministic=True)

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front (BEGIN IMMEDIATE) and queue on the busy
            # timeout; a deferred transaction that read first would instead fail with
            # "database is locked" when another writer committed in between. A read
            # (Database.connect) opens none: each statement is its own snapshot.
            begin = conn.info.pop(_BEGIN_KEY, "BEGIN")
            if begin:
                _sqlite_begin_in_one_hand_off(conn, begin)

        dialect = engine.sync_engine.dialect
        dialect.do_rollback = _skipping_idle_rollbacks(dialect.do_rollback)  # type: ignore[method-assign]
        return engine
    # JSON and JSONB columns decoded by orjson here too (asyncpg hands SQLAlchemy's codec
    # the text; its default is the standard library's json.loads): the checkout's catalog
    # rows carry some 80 of them (names' translations, options) per checkout.
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=overflow,
        pool_pre_ping=False,
        connect_args=_asyncpg_connect_args(parsed),
        json_deserializer=orjson.loads,
    )
    event.listen(engine.sync_engine, "connect", _known_array_types)
    for invalidated in ("invalidate", "soft_invalidate"):
        event.listen(engine.sync_engine, invalidated, _reopening(engine.sync_engine.pool))
    return engine


def _sqlite_begin_in_one_hand_off(conn: Any, begin: str) -> None:
    """``conn.exec_driver_sql(begin)`` in one hand-off to aiosqlite's thread, not three.

    Why: SQLAlchemy's cursor makes, executes and closes, each a hand-off, and each waits
    for the event loop to come round again; a write takes its ``BEGIN IMMEDIATE`` inside
    its writer turn (``Database.begin``), so on a busy process every hand-off there kept
    every other writer of the file waiting (a flash sale's order: 9 hand-offs, 11 ms held
    at 64 buyers in flight, of which the BEGIN's three; docs/checkout-performance.md). The
    cursor events fire as before (statement counts, tracing), and a driver error is
    raised as SQLAlchemy's execute raises it."""
    from sqlalchemy.util import await_only

    from . import lean

    adapted = conn.connection.dbapi_connection
    driver = adapted.driver_connection
    events = lean.cursor_events(conn, begin)
    try:
        await_only(driver._execute(lean.run_on_sqlite, driver._conn, begin, []))
    except Exception as error:
        try:
            adapted._handle_exception(error)
        except Exception as translated:
            error = translated
        conn._handle_dbapi_exception(error, begin, (), None, None)
        raise  # not reached: the line above raises
    finally:
        if events is not None:
            events.after()


def _skipping_idle_rollbacks(rollback: Any) -> Any:
    """The dialect's ``do_rollback``, skipped for a SQLite connection that
    ``Database.connect`` or ``begin`` gave back idle: no transaction open and nothing of
    it still running in aiosqlite's thread.

    Why: the pool rolls every connection back as it is checked in, and on aiosqlite that is
    one more hand-off to the driver's thread (queued, run, the loop woken), though with no
    transaction open sqlite3's rollback does nothing (Python 3.11+: it sends ROLLBACK only
    inside a transaction, and no longer resets cursors). A flash sale's marked loser made 2
    hand-offs (its cart's read and that rollback), a winner 16 of which 7 were these
    rollbacks (bench/RESULTS.md, "Issue 15, pass h21f"). Only a connection flagged
    ``_IDLE_KEY`` is skipped, and only while sqlite3 says no transaction is open: the
    flag is set when the caller's work ended normally, so every hand-off had been awaited.
    A caller cancelled in the middle of one (its ``BEGIN IMMEDIATE`` may still be waiting
    in the busy timeout, to open a transaction after this check) sets none, and its
    rollback is queued behind that statement in the driver's thread, as before."""

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            info = dbapi_connection.info
        except NotImplementedError:  # the engine's first connect: an ad hoc proxy, no info
            info = {}
        if info.pop(_IDLE_KEY, False):
            adapted = dbapi_connection.dbapi_connection
            driver = getattr(adapted, "driver_connection", None)
            sqlite = getattr(driver, "_conn", None)
            if sqlite is not None and not sqlite.in_transaction:
                return
        rollback(dbapi_connection)

    return do_rollback


# Pools that lost a connection lately (a disconnect invalidates every connection of the
# pool, each reopened at its next check-out): until then, check-outs take the greenlet
# path (_idle_connection), which reopens them, rather than try without one first.
_REOPENING: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
REOPENING_S = 30.0


def _reopening(pool: Any) -> Any:
    def invalidated(*_: Any) -> None:
        _REOPENING[pool] = time.monotonic() + REOPENING_S

    return invalidated


# Built-in array types the stores bind (``= ANY($1::INTEGER[])``, ``unnest`` of ids, names,
# amounts): int4[], int8[], text[], varchar[], numeric[], bool[], timestamptz[]. Their OIDs
# are PostgreSQL's own, the same on every server and database.
_ARRAY_TYPE_OIDS = (1007, 1016, 1009, 1015, 1231, 1000, 1185)
# asyncpg's description of those types, read once per process (the first connection).
_array_types: list[Any] | None = None


def _known_array_types(dbapi_connection: Any, _record: Any) -> None:
    """A new PostgreSQL connection knows the built-in array types before its first
    statement, without asking the server.

    Why: asyncpg has no codec of its own for int4[] or numeric[]; the first statement on a
    connection that binds or returns one makes it introspect the type (asyncpg's
    ``typeinfo_tree`` query, between two round trips that turn JIT off and on again). On a
    fresh backend that query's plan alone costs several ms: a connection that binds int4[]
    and numeric[] cost PostgreSQL 14 ms of CPU instead of 3.6 (branch h15p,
    docs/checkout-performance.md, "Lean statements on the driver, IN lists as arrays"), and
    a pool that grows or replaces an overflow connection under load pays it each time. The
    first connection of the process asks once for all the types of ``_ARRAY_TYPE_OIDS``;
    every later one registers that answer (asyncpg's own records, so the same codecs).
    Private asyncpg names (``_introspect_types``, the protocol's settings), pinned by
    uv.lock: if they move, this does nothing and asyncpg introspects on first use as
    before."""
    global _array_types
    from sqlalchemy.util import await_only

    try:
        raw = dbapi_connection.driver_connection
        settings = raw._protocol.get_settings()
        if _array_types is None:
            types, _ = await_only(raw._introspect_types(list(_ARRAY_TYPE_OIDS), 30))
            _array_types = list(types)
        settings.register_data_types(_array_types)
    except Exception:  # an optimisation only: asyncpg then introspects on first use
        log.debug("array types not registered up front", exc_info=True)


def _asyncpg_connect_args(url: URL) -> dict[str, Any]:
    """Behind a pooler in transaction mode (PgBouncer before 1.21), a prepared statement
    made on one server connection is not there on the next transaction's, so the URL's
    ``?prepared_statement_cache_size=0`` (SQLAlchemy's cache of them) must also turn off
    asyncpg's own cache: only then does asyncpg use the unnamed statement, which lives
    exactly as long as the one statement it runs (parse and execute are sent without a
    sync between them, so the pooler keeps them on one server connection). A URL's
    ``statement_cache_size`` is passed to asyncpg as the number it is."""
    query = url.query
    args: dict[str, Any] = {}
    for name in ("prepared_statement_cache_size", "statement_cache_size"):
        value = query.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.isdigit():
            raise ValueError(f"{name} in the database URL must be a whole number, not {value!r}")
        args[name] = int(value)
    if args.get("prepared_statement_cache_size") == 0:
        args.setdefault("statement_cache_size", 0)
    return args


# How long a write transaction waits for this process's turn at a SQLite file before it
# goes on without it (and queues on SQLite's own busy timeout, as before): the busy timeout.
WRITER_WAIT_S = 30.0
# Per event loop (an asyncio.Lock belongs to one), per SQLite file: this process's writers.
_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
# The files whose writer turn the running task (or the task that started it) holds.
_HOLDING: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "sqlite_writer_turns", default=frozenset()
)


def _writer_lock(path: str) -> asyncio.Lock:
    by_path = _WRITERS.setdefault(asyncio.get_running_loop(), {})
    lock = by_path.get(path)
    if lock is None:
        lock = by_path[path] = asyncio.Lock()
    return lock


# The sqlite3 connection whose write transaction runs its lean statements on the event
# loop's thread (``Database.begin(on_loop=True)``; lean.py reads it).
#
# Why: every hand-off to aiosqlite's thread waits for the event loop to come round again,
# and a write makes its hand-offs inside its writer turn, while every other writer of the
# file waits. In a flash sale's opening at 64 buyers in flight an order's 7 hand-offs held
# the orders file 7 ms (p50) for well under a millisecond of SQLite's work, and the file
# was held 83 % of the time (docs/checkout-performance.md). Once BEGIN IMMEDIATE holds the
# write lock (it is still handed off: it may wait in the busy timeout for another
# process), the statements after it never wait for a lock (WAL: a writer waits for no
# reader), so they run where the caller is, each a few dozen microseconds of the loop.
# COMMIT is still handed off (a commit may run a checkpoint, whose sync may take long).
SQLITE_ON_LOOP: contextvars.ContextVar[sqlite3.Connection | None] = contextvars.ContextVar(
    "sqlite_on_loop", default=None
)


async def _sqlite3_of(conn: AsyncConnection) -> sqlite3.Connection:
    raw = await conn.get_raw_connection()
    sqlite: sqlite3.Connection = raw.dbapi_connection.driver_connection._conn  # type: ignore[union-attr]
    return sqlite


class WriterTurn:
    """A held turn at a SQLite file's writer, given back by ``release`` as soon as the
    write is committed (the exit gives it back otherwise): the connection's return to the
    pool that follows (its reset, one more hand-off to the driver's thread, some 5-50 ms
    on a saturated machine) must not keep the next writer waiting."""

    __slots__ = ("_lock",)

    def __init__(self, lock: asyncio.Lock | None) -> None:
        self._lock = lock

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()


_NO_TURN = WriterTurn(None)


@asynccontextmanager
async def sqlite_writer_turn(path: str) -> AsyncIterator[WriterTurn]:
    """This process's turn at a SQLite file's one writer, first come first served.

    Without it, concurrent write transactions of one process met in ``BEGIN IMMEDIATE``:
    the losers slept in SQLite's busy handler, whose sleeps grow to 100 ms between tries,
    so a writer that had waited a while kept missing the short gaps between the others'
    transactions, and a checkout's p99 at 16 in flight went to seconds. Here they queue on
    an ``asyncio.Lock`` instead (FIFO, woken the moment the writer before commits) and
    take no pooled connection while they wait. Other processes on the file (a second
    worker, the CLI) still meet this one in SQLite's busy timeout, as before. A task that
    already holds the turn (a write inside a write of the same file) does not wait for it
    again; a wait longer than ``WRITER_WAIT_S`` goes on without the turn."""
    held = _HOLDING.get()
    if path in held:
        yield _NO_TURN  # the outer write gives the turn back
        return
    lock = _writer_lock(path)
    try:
        async with asyncio.timeout(WRITER_WAIT_S):
            await lock.acquire()
    except TimeoutError:
        log.warning("no writer turn at %s after %.0f s; writing without it", path, WRITER_WAIT_S)
        turn = False
    else:
        turn = True
    token = _HOLDING.set(held | {path})
    holding = WriterTurn(lock if turn else None)
    try:
        yield holding
    finally:
        _HOLDING.reset(token)
        holding.release()


class Database:
    """One source's engine plus an optional simulated network latency.

    ``latency_s`` exists for benchmarks: it models a source that is a remote service by
    holding a pooled connection for the round-trip time, as a real remote call would.
    """

    def __init__(
        self,
        url: str,
        *,
        latency_s: float = 0.0,
        pool_size: int = 10,
        overflow: int | None = None,
    ) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, overflow=overflow)
        self.latency_s = latency_s
        self.is_sqlite = is_sqlite(url)
        # The file whose writers queue in this process (sqlite_writer_turn); None for an
        # in-memory database (one connection per engine, nothing to share) and PostgreSQL.
        database = make_url(url).database if self.is_sqlite else None
        self._sqlite_file = (
            str(Path(database).resolve()) if database and database != ":memory:" else None
        )

    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for reads, outside any transaction: each statement sees what was
        committed when it ran (READ COMMITTED, as inside a transaction on PostgreSQL) and
        no BEGIN and ROLLBACK round trips are paid. Writes go through ``begin``.

        On PostgreSQL (no modelled latency) this is ``pooled`` itself, not a generator
        context around it: each ``@asynccontextmanager`` entered and left costs some 16,000
        instructions (its object, the generator's two steps through ``anext``), and every
        read and one-statement write of a checkout went through two or three of them
        (bench/RESULTS.md, "Issue 15/17, pass h23g")."""
        if not self.is_sqlite and not self.latency_s:
            return pooled(self.engine, autocommit=True)
        return self._connect()

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        if not self.is_sqlite:
            async with pooled(self.engine, autocommit=True) as conn:
                await asyncio.sleep(self.latency_s)
                yield conn
            return
        async with self.engine.connect() as conn:
            info = conn.sync_connection.info  # type: ignore[union-attr]
            info[_BEGIN_KEY] = ""
            info.pop(_IDLE_KEY, None)
            try:
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                yield conn
            finally:  # nothing ran: the next user of this connection begins as usual
                info.pop(_BEGIN_KEY, None)
            # Ended normally: nothing of it runs in the driver's thread any more, and no
            # transaction was opened, so the check-in's rollback is skipped.
            info[_IDLE_KEY] = True

    async def read(self, statement: Executable, params: dict[str, Any]) -> list[Any]:
        """One batch read: a statement built once (module level, ``bindparam`` keys with
        ``expanding=True`` for the id lists), so each call skips building and coercing it and
        SQLAlchemy finds its compiled form by the statement's memoised cache key; plain rows,
        all fetched in the one round trip, no ORM session or identity map; run on the driver
        below SQLAlchemy's execute (lean.py), with the same rows."""
        from . import lean

        async with self.connect() as conn:
            return list((await lean.execute(conn, statement, params)).all())

    @asynccontextmanager
    async def begin(self, *, on_loop: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed on success, rolled back on any exception. On
        SQLite it first waits for this process's turn at the file (sqlite_writer_turn).

        ``on_loop`` (SQLite; a short write of a few small statements, such as a checkout's
        reservation or order): once ``BEGIN IMMEDIATE`` holds the file's write lock, the
        lean statements of the transaction run on the event loop's own thread instead of
        each being handed to aiosqlite's thread (see ``SQLITE_ON_LOOP``). Not for a write
        whose statements may take long (a bulk import): it would stall the process."""
        connect = self.engine.connect() if self.is_sqlite else pooled(self.engine)
        async with self._writer_turn() as turn, connect as conn:
            if self.is_sqlite:
                info = conn.sync_connection.info  # type: ignore[union-attr]
                info[_BEGIN_KEY] = "BEGIN IMMEDIATE"
                info.pop(_IDLE_KEY, None)
            async with conn.begin():
                on_loop_token = (
                    SQLITE_ON_LOOP.set(await _sqlite3_of(conn))
                    if on_loop and self.is_sqlite
                    else None
                )
                try:
                    if self.latency_s:
                        await asyncio.sleep(self.latency_s)
                    yield conn
                finally:
                    if on_loop_token is not None:
                        SQLITE_ON_LOOP.reset(on_loop_token)
            turn.release()  # committed: the next writer need not wait for the pool's reset
            if self.is_sqlite:  # the commit was awaited: the check-in's rollback is skipped
                conn.sync_connection.info[_IDLE_KEY] = True  # type: ignore[union-attr]

    def _writer_turn(self) -> AbstractAsyncContextManager[WriterTurn]:
        """This process's turn at the SQLite file (sqlite_writer_turn; nothing to wait for
        on PostgreSQL). Always taken before a pooled connection, never while holding one:
        the turn's holder may be waiting for a connection, and a caller that held one
        while it waited for the turn could leave it none."""
        if self._sqlite_file is None:
            return nullcontext(_NO_TURN)
        return sqlite_writer_turn(self._sqlite_file)

    def write_alone(self, *, answer: object = None) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for a write that is one statement: no BEGIN and no COMMIT around
        it, each statement its own transaction, committed when it returns (autocommit, as
        ``connect`` runs reads). On SQLite it takes this process's writer turn first, like
        ``begin``, and holds the file's write lock for that one statement only. Anything
        that must see its own earlier statement under a lock, or undo one, uses ``begin``.
        With no turn to take (PostgreSQL, an in-memory SQLite), it is ``connect()``.

        ``answer``: what the caller returns, and all it does after, when the statement
        returns a row (a statement with RETURNING and no WITH list of its own). A source
        served over HTTP then stores that answer with the call's request key in the
        statement itself (request_keys.KeyedDatabase); nothing here."""
        if self._sqlite_file is None:
            return self.connect()
        return self._write_alone_in_turn()

    @asynccontextmanager
    async def _write_alone_in_turn(self) -> AsyncIterator[AsyncConnection]:
        async with self._writer_turn() as turn, self.connect() as conn:
            yield conn
            # The statement is done (a lean statement fetches its rows in its one hand-off,
            # and SQLite commits it then): the turn goes before the connection's reset. A
            # caller that left rows unread still holds the file's lock until that reset;
            # the next writer then waits in SQLite's busy timeout, as other processes do.
            turn.release()

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class pooled:  # lower case: entered like the function it was, ``async with pooled(...)``
    """``engine.connect()`` as a context (PostgreSQL), checked back in without the task of
    its own that ``AsyncConnection.__aexit__`` runs ``close()`` in; with ``autocommit``,
    each statement is its own transaction (``Database.connect``).

    Why: that task (``create_task`` + ``shield``, so that a cancelled caller cannot abandon
    a check-in half done) costs a task and a turn of the event loop per check-out, about 17
    us of CPU of the 58 a read's check-out and check-in cost (docs/checkout-performance.md,
    "Pooled connections"); a checkout makes some 14 of them. A check-in that sends nothing (no
    transaction open on asyncpg's connection, the connection not invalidated: the reset is
    then flags and the pool's queue) runs to completion without ever yielding to the event
    loop, so there is nothing to shield; any other (a transaction to roll back, a lost
    connection to close) still goes through ``__aexit__``, shielded as before.

    Autocommit is the DBAPI flag of asyncpg's adapter (``autocommit``: no ``BEGIN`` before
    a statement), set after the check-out and cleared before the check-in, not SQLAlchemy's
    ``isolation_level="AUTOCOMMIT"`` option: that option sets the level through the
    connection characteristics at every check-out and resets it at every check-in, and
    gives the engine an ``engine_connect`` listener, so every lean statement dispatched
    SQLAlchemy's (empty) cursor events too; about 25 us of CPU per check-out, and a
    checkout makes 8 (docs/checkout-performance.md, "Pooled connections"). What a
    statement sees is the same: asyncpg's adapter reads the same flag either way.

    A class, not an ``@asynccontextmanager`` generator: entered and left it costs about a
    quarter of the instructions (bench/RESULTS.md, "Issue 15/17, pass h23g"), and every
    source call on PostgreSQL goes through one."""

    __slots__ = ("_adapter", "_autocommit", "_conn", "_engine", "_sync")

    def __init__(self, engine: AsyncEngine, *, autocommit: bool = False) -> None:
        self._engine = engine
        self._autocommit = autocommit

    async def __aenter__(self) -> AsyncConnection:
        engine = self._engine
        conn = self._conn = _idle_connection(engine) or await engine.connect()
        sync = self._sync = conn.sync_connection
        adapter = self._adapter = (
            sync.connection.dbapi_connection if self._autocommit and sync is not None else None
        )
        if adapter is not None:
            adapter.autocommit = True
        return conn

    async def __aexit__(self, *exc_info: object) -> None:
        conn, sync, adapter = self._conn, self._sync, self._adapter
        if adapter is not None:  # the pool's next user begins its transactions as before
            adapter.autocommit = False
        if not _checks_in_quietly(conn):
            await conn.__aexit__(None, None, None)
        elif sync is not None and _pool_has_room(self._engine):
            sync.close()  # back in the pool's queue; nothing awaited (see _idle_connection)
        else:
            await conn.close()


def _idle_connection(engine: AsyncEngine) -> AsyncConnection | None:
    """A connection the pool holds idle, checked out without a greenlet; None when taking
    one needs an await (none idle, all overflow in use, a connection to reopen), and the
    caller goes through ``engine.connect()`` as before.

    Why: ``AsyncConnection.start`` and ``close`` each run SQLAlchemy's synchronous pool code
    in a new greenlet, though taking an idle connection and putting a quiet one back await
    nothing. Those two greenlets (each a stack switch and a fresh frame stack, mmap and
    munmap) cost a PostgreSQL source call 80-95 us of process CPU of 195-210 (a check-out,
    one statement and a check-in, 2026-12-06, branch h19c, bench/RESULTS.md "Issue 15, pass
    h19c"), and a checkout makes 8 calls. When the pool does need to await,
    ``sqlalchemy.util.await_only`` raises MissingGreenlet before anything is taken (a
    record taken to reopen goes back through the pool's own failed-checkout path), and
    the greenlet path runs instead; for a while after a connection was invalidated (a
    disconnect: every connection of the pool is then reopened) it runs first."""
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool) or pool.checkedin() == 0:
        return None
    if _REOPENING and _REOPENING.get(pool, 0.0) > time.monotonic():
        return None
    try:
        sync = engine.sync_engine.connect()
    except MissingGreenlet:
        # A connection to reopen that no invalidation announced (the pool's older ones
        # after a disconnect outlive the window): the greenlet path reopens the rest.
        _REOPENING[pool] = time.monotonic() + REOPENING_S
        return None
    return AsyncConnection(engine, sync)


# The connect coroutine SQLAlchemy closes unstarted when _idle_connection's check-out
# finds a connection to reopen (``await_only`` outside a greenlet raises MissingGreenlet
# and closes what it was given): the fallback reopens it, so the warning says nothing.
warnings.filterwarnings(
    "ignore",
    message=r"coroutine '.*' was never awaited",
    category=RuntimeWarning,
    module=r"sqlalchemy\.util\.concurrency",
)


def _pool_has_room(engine: AsyncEngine) -> bool:
    """Whether a checked-in connection stays in the pool's queue: a full queue closes it
    (an overflow connection), which awaits, so that check-in keeps its greenlet."""
    pool = engine.sync_engine.pool
    return isinstance(pool, QueuePool) and pool.checkedin() < pool.size()


def _checks_in_quietly(conn: AsyncConnection) -> bool:
    """True when closing ``conn`` sends nothing to PostgreSQL (see ``pooled``)."""
    sync = conn.sync_connection
    if sync is None or sync.invalidated:
        return False
    fairy = sync._dbapi_connection  # None once invalidated or closed
    if fairy is None or not fairy.is_valid:
        return False
    adapted = fairy.dbapi_connection
    return adapted is not None and getattr(adapted, "_transaction", True) is None


def _is(obj: object, cls: type) -> bool:
    """``isinstance`` by the object's own type: the collector's lists hold weak proxies,
    and ``isinstance`` on a proxy whose object is gone raises ReferenceError."""
    return issubclass(type(obj), cls)


def _is_open(connection: sqlite3.Connection) -> bool:
    try:
        connection.total_changes  # noqa: B018 - raises once the connection is closed
    except sqlite3.ProgrammingError:
        return False
    return True


async def _join(workers: list[threading.Thread], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        await asyncio.to_thread(worker.join, max(0.0, deadline - time.monotonic()))


async def close_left_behind(timeout_s: float = 5.0) -> int:
    """After every pool was disposed: close what of SQLite cancelled calls left open, and
    say how much (0: nothing was). Called once, at the end of a shutdown.

    A task cancelled in the middle of a database call (the shutdown cancels the running
    imports and the sweeper) leaves objects that no pool can reach: a connection whose
    opening was cancelled (SQLAlchemy drops it without closing it), or the cursor of the
    statement that was running, which keeps its connection open after its close (a
    "zombie") until the statement is finalized. They are held by the cancellation's
    traceback, a reference cycle freed only when the cycle collector next runs, and for
    a moment by the connection's own thread, still finishing the statement. A process
    that exits on its re-raised SIGTERM reaches neither: the database stays open and its
    write-ahead log is not checkpointed away. So: the threads of the closed connections
    are waited for, a collection finalizes what was left (an abandoned connection is then
    closed by its own thread, waited for too), and the last close of each database
    checkpoints its log. What is counted comes from the collection itself (unreachable
    objects kept aside once, counted, then let go): live connections never count.
    """
    import aiosqlite

    # Closed, its thread still finishing the last statement (whose cursor it holds): wait.
    # An open one is live, or abandoned (then the collection below closes it).
    finishing = [
        o._thread
        for o in gc.get_objects()
        if _is(o, aiosqlite.Connection) and o._connection is None and o._thread.is_alive()
    ]
    await _join(finishing, timeout_s)
    flags = gc.get_debug()
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        garbage = gc.garbage
        connections = sum(_is(o, sqlite3.Connection) and _is_open(o) for o in garbage)
        cursors = sum(_is(o, sqlite3.Cursor) and not _is_open(o.connection) for o in garbage)
        # An abandoned connection was told to close (its finalizer ran): its thread does it.
        abandoned = [
            o._thread for o in garbage if _is(o, aiosqlite.Connection) and o._thread.is_alive()
        ]
        del garbage
        gc.garbage.clear()
    finally:
        gc.set_debug(flags)
    gc.collect()  # freed now: statements finalized, zombie connections closed
    await _join(abandoned, timeout_s)
    if connections or cursors:
        log.warning(
            "closed %d SQLite connection(s) and %d statement(s) that cancelled calls had "
            "left open after the pools were disposed",
            connections,
            cursors,
        )
    return connections + cursors
