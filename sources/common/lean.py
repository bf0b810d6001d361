"""The checkout's hot statements run straight on the driver, below SQLAlchemy's execute.

Why: a statement through ``AsyncConnection.execute`` costs 0.5-1 ms of CPU (execution
context, compiled-cache lookup, result metadata, and on asyncio the greenlet bridge to the
driver, on aiosqlite four thread hand-offs: cursor, execute, fetch, close); the same
statement on the bare driver costs 0.2-0.4 ms. A checkout runs about 35 of them.

What stays SQLAlchemy's: the statement (a Core statement built once, as before), its SQL
(compiled once per dialect with the engine's own dialect, once more per length of each
expanding ``IN`` list on SQLite; on PostgreSQL an ``IN`` list is one array parameter,
``= ANY($n::TYPE[])``, one text for every length: ``_array_variant``), the values' bind
and result processors (the types' own, so the records are exactly those of
``conn.execute``), the pooled connection and its transaction (``Database.connect`` /
``Database.begin``: on PostgreSQL the transaction SQLAlchemy would open lazily is opened
here before the first lean statement; on SQLite SQLAlchemy already sent ``BEGIN
IMMEDIATE``), and its errors (a driver error goes through the connection's own
``_handle_dbapi_exception``: the same ``IntegrityError`` / ``OperationalError`` wrappers, a
lost connection invalidated, so the outage rules in outages.py see what they saw).

Prepared statements: on PostgreSQL the SQL goes to asyncpg's ``fetch``/``execute``, which
use asyncpg's own statement cache, sized by the URL (db.py, ``_asyncpg_connect_args``):
behind PgBouncer in transaction mode ``?prepared_statement_cache_size=0`` turns it off, and
asyncpg then uses the unnamed statement, exactly as SQLAlchemy's path does there. A
statement's result types are read once per process from an unnamed ``prepare`` (a describe:
nothing is left on the server).

Use: ``await lean.execute(conn, STATEMENT, params)`` where ``conn.execute(STATEMENT,
params)`` was; the result has the methods the stores use (``all``, iteration, ``one``,
``one_or_none``, ``first``, ``scalar``, ``scalar_one``, ``scalar_one_or_none``, ``scalars``,
``rowcount``) and rows with the same keys (attribute and index access, ``_mapping``). One
parameter set per call (``execute_many`` for an executemany without RETURNING); a statement
object kept between calls (module level: each is compiled once per dialect and set of
parameter keys, and kept); no Python-side column defaults left to fill (an INSERT or UPDATE
must name them: checked when it is compiled). ``SQLALCHEMY_PATH``, when set, sends every
call back through ``conn.execute`` (tests/sources/test_lean_sql.py compares the two).

A statement may be given a prefix by its caller's context (``FIRST``: the request key's
claim of a remote write that is one statement, request_keys.py): the next lean statement on
that connection runs with it, in the same round trip.

It leans on a few private names, pinned by uv.lock: SQLAlchemy's compiled
``_bind_processors`` / ``_result_columns`` and ``Connection._handle_dbapi_exception``, its
asyncpg adapter's ``_transaction`` / ``_start_transaction`` / ``_handle_exception``, and
aiosqlite's ``_execute`` / ``_conn``. An upgrade that moves them fails
tests/sources/test_lean_sql.py first.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

from .db import SQLITE_ON_LOOP

SQLALCHEMY_PATH = False

_ROWCOUNT = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+|MERGE) (\d+)")


class First(Protocol):
    """What the next lean statement on ``conn`` carries (``FIRST``): ``rewrite`` gives its
    SQL and arguments, once; then ``succeeded`` (with its row count: the rows it returned,
    or changed) or ``failed`` (the error as SQLAlchemy raises it; it may raise another
    instead)."""

    conn: AsyncConnection
    used: bool

    def rewrite(self, sql: str, args: list[Any]) -> tuple[str, list[Any]]: ...

    def succeeded(self, rows: int) -> None: ...

    def failed(self, error: Exception) -> None: ...


FIRST: ContextVar[First | None] = ContextVar("lean_first", default=None)


class _Scalars:
    __slots__ = ("_values",)

    def __init__(self, values: list[Any]) -> None:
        self._values = values

    def all(self) -> list[Any]:
        return self._values

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def first(self) -> Any:
        return self._values[0] if self._values else None

    def one(self) -> Any:
        if len(self._values) != 1:
            raise _count_error(len(self._values))
        return self._values[0]


def _count_error(n: int) -> Exception:
    from sqlalchemy.exc import MultipleResultsFound, NoResultFound

    if n == 0:
        return NoResultFound("No row was found when one was required")
    return MultipleResultsFound("Multiple rows were found when exactly one was required")


class LeanResult:
    """The rows of one lean statement, all fetched; the subset of SQLAlchemy's Result the
    stores use."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def all(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise _count_error(len(self._rows))
        return self._rows[0]

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise _count_error(len(self._rows))
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalars(self) -> _Scalars:
        return _Scalars([row[0] for row in self._rows])


def _row_class(keys: Sequence[str]) -> type:
    """A tuple with the result's keys as attributes (what the stores read off a Row), and
    ``_mapping`` by key."""
    base: type = namedtuple("LeanRow", keys)  # type: ignore[misc]

    def _mapping(self: Any) -> dict[str, Any]:
        return dict(zip(keys, self, strict=True))

    return type("LeanRow", (base,), {"__slots__": (), "_mapping": property(_mapping)})


_Processor = Callable[[Any], Any] | None


@dataclass(slots=True)
class _Variant:
    """One SQL text of a statement: the dialect's, with each expanding list at one length."""

    sql: str
    # each positional argument: (parameter name, index in its list or -1, constant, processor)
    plan: list[tuple[str | None, int, Any, _Processor]]
    returns_rows: bool
    keys: list[str]
    row_class: type | None
    result_processors: list[_Processor] | None  # None until the first run found the types
    # (column index, processor) of the columns that have one, once ``_rows`` has run
    processed: list[tuple[int, Callable[[Any], Any]]] | None = None


@dataclass(slots=True)
class _Compiled:
    compiled: SQLCompiler
    expanding: tuple[str, ...]
    variants: dict[Any, _Variant]
    # PostgreSQL: the one SQL text for every length of the IN lists (``_array_variant``),
    # ``None`` until tried, ``False`` when the statement's text did not allow it.
    array: _Variant | bool | None = None


# (id of the statement, dialect name, parameter keys) -> the compiled statement. Statements
# are module-level objects kept for the process's life; the statement itself is held in the
# value so an id is never reused while its entry lives.
_VARIANTS = 64  # SQL texts kept per statement (one per length of its IN lists)
_COMPILED: dict[tuple[int, str, tuple[str, ...]], tuple[Any, _Compiled]] = {}


def _compile(
    statement: Any, dialect: Dialect, keys: tuple[str, ...], *, many: bool = False
) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=many)
    if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
        names = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        raise TypeError(f"lean statements name every column; Python defaults left for {names}")
    expanding = tuple(
        compiled.bind_names[b] for b in compiled.bind_names if b in compiled.post_compile_params
    )
    return _Compiled(compiled, expanding, {})


def _variant(entry: _Compiled, params: dict[str, Any]) -> _Variant:
    compiled: Any = entry.compiled
    state = compiled.construct_expanded_state(params, escape_names=False)
    where: dict[str, tuple[str, int]] = {}
    for name, expanded in state.parameter_expansion.items():
        for index, key in enumerate(expanded):
            where[key] = (name, index)
    processors = {**compiled._bind_processors, **state.processors}
    plan: list[tuple[str | None, int, Any, _Processor]] = []
    for key in state.positiontup or ():
        processor = processors.get(key)
        if key in where:
            name, index = where[key]
            plan.append((name, index, None, processor))
        elif key in params:
            plan.append((key, -1, None, processor))
        else:  # a value bound in the statement itself
            plan.append((None, -1, state.parameters[key], processor))
    columns = compiled._result_columns or []
    returns_rows = bool(columns)
    keys = [c.keyname for c in columns]
    if returns_rows and (len(set(keys)) != len(keys) or not all(k.isidentifier() for k in keys)):
        raise TypeError(f"lean statements need distinct identifier keys, not {keys}")
    return _Variant(
        state.statement,
        plan,
        returns_rows,
        keys,
        _row_class(keys) if returns_rows else None,
        None,
    )


# An expanding list rendered at length one by the asyncpg dialect: ``IN ($4::INTEGER)``,
# or ``NOT IN (...)``, with the bind cast SQLAlchemy puts on each value (if any).
_ONE_IN = r"(NOT )?IN \(\$%d(::[A-Z][A-Z0-9_ ]*(?:\(\d+(?:, ?\d+)?\))?)?\)"
_WHOLE_LIST = -2  # a plan entry's index: the whole list, as one array argument


def _array_variant(entry: _Compiled, params: dict[str, Any]) -> _Variant | None:
    """PostgreSQL: the statement with each expanding ``IN`` list as one array parameter,
    ``col = ANY($n::TYPE[])`` (``NOT IN``: ``col <> ALL(...)``), the same text for every
    length of the lists; None when the SQL is not the shape this rewrite knows.

    Why: an ``IN`` list rendered per length is a new SQL text for each length, so on each
    pooled connection a new prepared statement (a Parse round trip more on first use) and,
    for its first five runs there, a plan of its own (PostgreSQL's custom plans before it
    settles on a generic one). Batch reads of 1 to 5 ids on 10 fresh pools of 4
    connections: 1,218 plans for 1,260 statements per length, 813 as one text; warm, none
    either way (issue 15, branch h15p, bench/RESULTS.md, "PostgreSQL's own CPU per
    checkout"). The rows are the same: ``= ANY`` of an empty array is false as ``IN ()`` is,
    a NULL element compares as NULL either way, and ``<> ALL`` of an empty array is true as
    ``NOT IN ()`` is."""
    one = {name: [next(iter(params[name]), None)] for name in entry.expanding}
    state: Any = entry.compiled.construct_expanded_state({**params, **one}, escape_names=False)
    sql: str = state.statement
    positions = list(state.positiontup or ())
    whole: dict[str, str] = {}
    for name, expanded in state.parameter_expansion.items():
        if name not in one or len(expanded) != 1:
            return None  # a tuple IN list, or anything else this does not know
        number = positions.index(expanded[0]) + 1
        pattern = re.compile(_ONE_IN % number)
        if not pattern.search(sql):
            return None
        sql = pattern.sub(partial(_as_array, number), sql)
        if re.search(rf"(?<!ANY\()(?<!ALL\()\${number}(?!\d)", sql):
            return None  # the value also used outside an IN list
        whole[expanded[0]] = name
    base = _variant(entry, {**params, **one})
    plan = [
        (whole[key], _WHOLE_LIST, None, step[3]) if key in whole else step
        for key, step in zip(positions, base.plan, strict=True)
    ]
    return _Variant(sql, plan, base.returns_rows, base.keys, base.row_class, None)


def _as_array(number: int, found: re.Match[str]) -> str:
    """``IN ($n::TYPE)`` as ``= ANY($n::TYPE[])``, ``NOT IN`` as ``<> ALL``."""
    cast = found.group(2) or ""
    operator = "<> ALL" if found.group(1) else "= ANY"
    return f"{operator}(${number}{cast}{'[]' if cast else ''})"


def _arguments(variant: _Variant, params: dict[str, Any]) -> list[Any]:
    args = []
    for name, index, constant, processor in variant.plan:
        if index == _WHOLE_LIST:
            values = params[name]  # type: ignore[index]
            args.append(
                [v if v is None else processor(v) for v in values]
                if processor is not None
                else values
                if type(values) is list or type(values) is tuple
                else list(values)
            )
            continue
        value = constant if name is None else params[name] if index < 0 else params[name][index]
        args.append(value if processor is None or value is None else processor(value))
    return args


def _result_processors(
    compiled: Any, dialect: Dialect, coltypes: Sequence[Any]
) -> list[_Processor]:
    return [
        column.type._cached_result_processor(dialect, coltype)
        for column, coltype in zip(compiled._result_columns, coltypes, strict=True)
    ]


_new_row: Callable[[type, Any], Any] = tuple.__new__


def _rows(variant: _Variant, raw: Sequence[Sequence[Any]]) -> list[Any]:
    """The rows as the variant's row class, each value through its column's processor.

    Built by ``tuple.__new__`` (what a named tuple's ``_make`` does) from a list of the
    row's values, with only the columns that have a processor touched: the catalog's SKU
    rows have 48 columns and 5 processors, and a Python call of 48 arguments to the named
    tuple's ``__new__`` plus a test per column cost a checkout about 0.87 M instructions of
    its 16 M (bench/RESULTS.md, "Issue 15, pass h21c")."""
    make = variant.row_class
    assert make is not None
    processed = variant.processed
    if processed is None:
        assert variant.result_processors is not None
        processed = variant.processed = [
            (index, p) for index, p in enumerate(variant.result_processors) if p is not None
        ]
    if not processed:
        return [_new_row(make, row) for row in raw]
    rows: list[Any] = []
    for row in raw:
        values = list(row)
        for index, process in processed:
            value = values[index]
            if value is not None:
                values[index] = process(value)
        rows.append(_new_row(make, values))
    return rows


async def execute(conn: AsyncConnection, statement: Any, params: dict[str, Any]) -> Any:
    """``conn.execute(statement, params)`` on the driver under ``conn`` (module docstring)."""
    if SQLALCHEMY_PATH:
        return await conn.execute(statement, params)
    sync = conn.sync_connection
    assert sync is not None
    dialect = sync.dialect
    keys = tuple(params)
    found = _COMPILED.get((id(statement), dialect.name, keys))
    if found is None:
        found = (statement, _compile(statement, dialect, keys))
        _COMPILED[(id(statement), dialect.name, keys)] = found
    entry = found[1]
    variant: _Variant | None = None
    if entry.expanding and dialect.name == "postgresql":
        if entry.array is None:
            entry.array = _array_variant(entry, params) or False
        if entry.array is not False:
            variant = entry.array  # type: ignore[assignment]
    if variant is None:
        lengths = tuple(len(params[name]) for name in entry.expanding)
        variant = entry.variants.get(lengths)
        if variant is None:
            variant = _variant(entry, params)
            if len(entry.variants) < _VARIANTS:  # a batch read of any length: keep a few
                entry.variants[lengths] = variant
    args = _arguments(variant, params)
    sql = variant.sql
    first = FIRST.get()
    if first is not None and (
        first.conn is not conn or first.used or sync.in_nested_transaction()
    ):  # never in a savepoint: one rolled back would take the prefix's work with it
        first = None
    if first is not None:
        sql, args = first.rewrite(sql, args)
    events = _Events.of(sync, sql, tuple(args), many=False)
    fairy = sync._dbapi_connection
    if fairy is None:  # invalidated: let SQLAlchemy reconnect, as execute would
        fairy = await conn.get_raw_connection()
    adapted: Any = fairy.dbapi_connection
    try:
        if dialect.name == "postgresql":
            result = await _on_asyncpg(adapted, variant, entry, dialect, args, sql)
        else:
            result = await _on_aiosqlite(adapted, variant, entry, dialect, args, sql)
    except Exception as error:  # the exceptions SQLAlchemy's execute would raise
        try:
            await _raise_as_sqlalchemy(conn, adapted, error, sql, args)
        except Exception as raised:
            if first is not None:
                first.failed(raised)
            raise
        raise  # not reached
    finally:
        if events is not None:
            events.after()
    if first is not None:
        first.succeeded(result.rowcount)
    return result


async def execute_many(
    conn: AsyncConnection, statement: Any, rows: Sequence[dict[str, Any]]
) -> None:
    """``conn.execute(statement, rows)`` (an INSERT or UPDATE without RETURNING, one
    parameter set per row, every row with the same keys) as the driver's executemany: one
    round trip on asyncpg, one thread hand-off on aiosqlite."""
    if SQLALCHEMY_PATH or not rows:
        await conn.execute(statement, list(rows))
        return
    sync = conn.sync_connection
    assert sync is not None
    dialect = sync.dialect
    keys = tuple(rows[0])
    found = _COMPILED.get((id(statement), dialect.name + " many", keys))
    if found is None:
        found = (statement, _compile(statement, dialect, keys, many=True))
        _COMPILED[(id(statement), dialect.name + " many", keys)] = found
    entry = found[1]
    if entry.expanding:
        raise TypeError("execute_many takes no expanding parameters")
    variant = entry.variants.get(())
    if variant is None:
        variant = entry.variants[()] = _variant(entry, dict(rows[0]))
    if variant.returns_rows:
        raise TypeError("execute_many returns no rows")
    every = [_arguments(variant, row) for row in rows]
    events = _Events.of(sync, variant.sql, every, many=True)
    fairy = sync._dbapi_connection
    if fairy is None:
        fairy = await conn.get_raw_connection()
    adapted: Any = fairy.dbapi_connection
    try:
        if dialect.name == "postgresql":
            if adapted._transaction is None and adapted.isolation_level != "autocommit":
                await adapted._start_transaction()
            await adapted.driver_connection.executemany(variant.sql, every)
        else:
            driver = adapted.driver_connection
            sqlite = driver._conn
            if _on_loop(sqlite):  # db.SQLITE_ON_LOOP
                _run_many_on_sqlite(sqlite, variant.sql, every)
            else:
                await driver._execute(_run_many_on_sqlite, sqlite, variant.sql, every)
    except Exception as error:
        await _raise_as_sqlalchemy(conn, adapted, error, variant.sql, every)
        raise
    finally:
        if events is not None:
            events.after()


async def execute_text(conn: AsyncConnection, sql: str) -> None:
    """``sql``, its values written into it (no parameters), on the asyncpg connection under
    ``conn`` as PostgreSQL's simple query: one message, no prepared statement, none of
    asyncpg's statement cache and argument encoding, nor of this module's parameter plan.
    ``conn`` is in autocommit (``Database.connect``'s): the statement is its own
    transaction. Errors are raised as ``execute`` raises them.

    Why: request_keys stores each keyed write's answer by one UPDATE whose three values it
    can quote itself (``request_keys._literal``); through ``execute`` that UPDATE cost the
    service about 30 Python calls more, on every remote write."""
    sync = conn.sync_connection
    assert sync is not None
    fairy = sync._dbapi_connection
    if fairy is None:  # invalidated: let SQLAlchemy reconnect, as execute would
        fairy = await conn.get_raw_connection()
    adapted: Any = fairy.dbapi_connection
    events = _Events.of(sync, sql, (), many=False)
    try:
        await adapted.driver_connection.execute(sql)
    except Exception as error:
        await _raise_as_sqlalchemy(conn, adapted, error, sql, ())
        raise
    finally:
        if events is not None:
            events.after()


def _run_many_on_sqlite(sqlite: Any, sql: str, every: list[list[Any]]) -> None:
    sqlite.executemany(sql, every).close()


async def _on_asyncpg(
    adapted: Any, variant: _Variant, entry: _Compiled, dialect: Dialect, args: list[Any], sql: str
) -> LeanResult:
    if adapted._transaction is None and adapted.isolation_level != "autocommit":
        await adapted._start_transaction()  # what SQLAlchemy's cursor does before a statement
    driver = adapted.driver_connection
    if not variant.returns_rows:
        status = await driver.execute(sql, *args)
        found = _ROWCOUNT.match(status or "")
        return LeanResult([], int(found.group(1)) if found else -1)
    if variant.result_processors is None:
        described = await driver.prepare(variant.sql)  # unnamed: a describe, nothing kept
        oids = [attribute.type.oid for attribute in described.get_attributes()]
        variant.result_processors = _result_processors(entry.compiled, dialect, oids)
    raw = await driver.fetch(sql, *args)
    return LeanResult(_rows(variant, raw), len(raw))


def _on_loop(sqlite: Any) -> bool:
    """Whether ``sqlite``'s statements run here (db.SQLITE_ON_LOOP): its write holds the
    lock (``BEGIN IMMEDIATE`` ran) and it asked for it."""
    on_loop = SQLITE_ON_LOOP.get()
    return on_loop is not None and sqlite is on_loop and on_loop.in_transaction


def run_on_sqlite(sqlite: Any, sql: str, args: list[Any]) -> tuple[list[Any], int]:
    """One statement on sqlite3's connection, in aiosqlite's thread: executed, its rows
    fetched, its cursor closed (one hand-off for all three)."""
    cursor = sqlite.execute(sql, args)
    try:
        return cursor.fetchall(), cursor.rowcount
    finally:
        cursor.close()


async def _on_aiosqlite(
    adapted: Any, variant: _Variant, entry: _Compiled, dialect: Dialect, args: list[Any], sql: str
) -> LeanResult:
    driver = adapted.driver_connection
    sqlite = driver._conn
    if _on_loop(sqlite):  # db.SQLITE_ON_LOOP
        raw, rowcount = run_on_sqlite(sqlite, sql, args)
    else:  # one hand-off to aiosqlite's thread (execute, fetch, close there), not four
        raw, rowcount = await driver._execute(run_on_sqlite, sqlite, sql, args)
    if not variant.returns_rows:
        return LeanResult([], rowcount)
    if variant.result_processors is None:  # sqlite3 describes no types: SQLAlchemy's None
        columns = entry.compiled._result_columns
        variant.result_processors = _result_processors(
            entry.compiled, dialect, [None] * len(columns)
        )
    return LeanResult(_rows(variant, raw), len(raw) if rowcount < 0 else rowcount)


def cursor_events(sync: Any, sql: str) -> _Events | None:
    """The cursor events of a statement sent outside SQLAlchemy's execute (``after()``
    once it is done), or None when nothing listens."""
    return _Events.of(sync, sql, (), many=False)


class _Events:
    """SQLAlchemy's cursor events for one lean statement: ``before_cursor_execute`` before
    it, ``after_cursor_execute`` once it is done (failed too: a listener's per-statement
    state is released either way). Listeners keep that state on the execution context,
    which a lean statement does not have, so they get a bare object of their own here
    (OpenTelemetry's SQLAlchemy instrumentation keeps its span on it; the statement counts
    of the tests and benches only count)."""

    def __init__(self, sync: Any, sql: str, args: Any, many: bool) -> None:
        self.sync, self.sql, self.args, self.many = sync, sql, args, many

    @classmethod
    def of(cls, sync: Any, sql: str, args: Any, *, many: bool) -> _Events | None:
        if not (sync._has_events or sync.engine._has_events):
            return None
        events = cls(sync, sql, args, many)
        sync.dispatch.before_cursor_execute(sync, None, sql, args, events, many)
        return events

    def after(self) -> None:
        self.sync.dispatch.after_cursor_execute(
            self.sync, None, self.sql, self.args, self, self.many
        )


async def _raise_as_sqlalchemy(
    conn: AsyncConnection, adapted: Any, error: Exception, sql: str, args: Sequence[Any]
) -> None:
    """Raise ``error`` as ``conn.execute`` would have: first the adapter's translation to
    its DBAPI error classes, then the connection's wrapping (and invalidation when the
    connection was lost)."""
    try:
        adapted._handle_exception(error)
    except Exception as translated:
        error = translated

    def wrap(sync: Any) -> None:
        sync._handle_dbapi_exception(error, sql, args, None, None)

    await conn.run_sync(wrap)
