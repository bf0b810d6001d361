"""Writes over HTTP answered once per request key, so a client may retry them.

A remote write carries an ``Idempotency-Key`` header. The service claims the key in the
source's own database and stores the answer (status and body, domain errors included)
after the write, so a retry of a write whose answer was lost replays the stored answer
instead of writing twice; a retry that arrives while the first attempt still runs is told
to wait (409, retryable), and the same key with another body is refused.

The claim rides in the write's own transaction: the service's database is a
:class:`KeyedDatabase`, whose first write transaction during a keyed call inserts the
key's row before the store's statements, so the key and the write commit together or not
at all (a crash mid-write leaves nothing to take over), and the claim costs one statement,
not a transaction of its own. A row already there (a retry, or the same key running) makes
that insert fail before the store wrote anything: the transaction rolls back, every later
one of the call refuses to start, and the service answers as the row says (replay, wait,
refuse). A write that committed nothing (it found its work done) records key and answer in
one statement. The answer is stored by one autocommitted UPDATE, except after a keyed
call's first write transaction on PostgreSQL, which is held open ("parked") until the call's
answer is known: its COMMIT then carries the UPDATE of the answer in the same round trip
(``RequestKeys.answer``), and its claim rides in its first statement (``_ClaimFirst``, as
below). The key, the write and the answer so commit together: a retry finds either nothing
(it runs the write) or the answer (it replays it), never a claim without one. Any other use
of the database during the call commits the parked transaction first (plain COMMIT; the
answer is then stored by the UPDATE as before); a call that is cancelled while one is
parked rolls it back, key and write with it, so its retry runs
the write again (one that fails commits it with its failure as the answer, as before).

A write that is one statement with no transaction (``Database.write_alone``: the cart's
creation and address, the checkout's claim, the order's placement, ...) claims the key the
same way, without giving back the round trips it saves: on PostgreSQL the key's INSERT
rides in the statement itself, a data-modifying CTE put in front of it (``_ClaimFirst``:
both commit or neither, a key already there fails the statement before it wrote), and its
connection is held for the answer's UPDATE (``Parked`` with ``committed``) instead of
being checked in and another checked out for it (one simple query, its values quoted here);
on SQLite, where a transaction costs no network round trip, the statement runs in a short
keyed transaction (``begin``). A one-statement write that knows its call's answer before
it runs (``write_alone(answer=...)``: the checkout's claim) stores that answer with the
key in the statement itself, only if the statement returns a row, and needs no UPDATE
after it (``_ClaimFirst``). Every write of a keyed call is so applied at most once per
key: a retry of a write whose answer was lost replays that answer.

The table (``service_requests_<source>``) belongs to the transport, not to the domain: the
service creates it when it starts, outside the source's migrations (which ignore it). A claim
whose attempt died without an answer (the process crashed between the write's commit and
its answer) is taken over after ``LEASE``; the stores' own idempotency (reservations by
order_ref, orders by key, coupon uses by order_ref, restock by return_ref) keeps that rare
second run harmless.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from . import lean
from .db import Database, pooled
from .types import UTCDateTime, utcnow
from .wire import encode

T = TypeVar("T")

LEASE = timedelta(seconds=60)
RETENTION = timedelta(hours=24)
TABLE_PREFIX = "service_requests_"


class Claim(enum.Enum):
    RUN = "run"  # this attempt owns the key: run the write, then remember its answer
    REPLAY = "replay"  # answered before: send the stored answer
    BUSY = "busy"  # another attempt is running it now
    REUSED = "reused"  # the key was used with another body


@dataclass(frozen=True, slots=True)
class Claimed:
    claim: Claim
    status: int = 0
    body: bytes = b""


def fingerprint(method: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b"\0" + body).hexdigest()


class KeyTaken(Exception):
    """The key's row was already there when the write's transaction tried to claim it:
    nothing of this attempt was written; the service answers as the row says."""


@dataclass(slots=True)
class Pending:
    """One keyed call: its key, and what its transactions did with it."""

    key: str
    fingerprint: str
    claimed: bool = False  # a committed (or committing) transaction holds the key's row
    # When this attempt's claim was sent (its row's created_at): a claim whose commit was
    # not heard (the connection died) is found again by it (RequestKeys.claimed_unanswered).
    sent: datetime | None = None
    taken: bool = False  # the row was there already: this attempt must not write
    done: bool = False  # the call is over (a task it started may outlive it)
    # The claiming transaction, done but not committed yet: committed with the answer.
    parked: Parked | None = None
    # The answer its claim stored with it (a 200), when its write knew it before it ran.
    answered: bytes | None = None


@dataclass(slots=True)
class Parked:
    """A keyed call's claiming transaction whose statements all ran, its COMMIT held back
    until the call's answer can go with it (``RequestKeys.answer``); or (``committed``) a
    one-statement write's connection, its statement and claim committed already, held
    for the answer's UPDATE, so that UPDATE is sent on it instead of on a connection
    checked out again."""

    conn: AsyncConnection
    # Database.begin's context (or the pooled connection's): entered, not left yet.
    context: AbstractAsyncContextManager[AsyncConnection]
    committed: bool = False

    async def commit(self) -> None:
        await self.context.__aexit__(None, None, None)

    async def roll_back(self, error: BaseException) -> None:
        await self.context.__aexit__(type(error), error, error.__traceback__)


_PENDING: ContextVar[Pending | None] = ContextVar("request_key", default=None)


class KeyedDatabase(Database):
    """A source's database in its service: during a keyed call (``RequestKeys.running``)
    the first write transaction also claims the call's key (module docstring)."""

    keys: RequestKeys | None = None

    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """``Database.connect``; a parked transaction of the call commits first (a read
        sees what the call wrote). Without one (a read call, a write's read before its
        write), ``Database.connect``'s own context, not a second generator around it."""
        pending = _PENDING.get()
        if pending is not None and pending.parked is not None and not pending.done:
            return self._connect_after_parked(pending)
        return super().connect()

    @asynccontextmanager
    async def _connect_after_parked(self, pending: Pending) -> AsyncIterator[AsyncConnection]:
        await _commit_parked(pending)
        async with super().connect() as conn:
            yield conn

    @asynccontextmanager
    async def begin(self, *, on_loop: bool = False) -> AsyncIterator[AsyncConnection]:
        pending = _PENDING.get()
        if pending is None or pending.done or self.keys is None:
            async with super().begin(on_loop=on_loop) as conn:
                yield conn
            return
        if pending.parked is not None:
            await _commit_parked(pending)
        if pending.taken:
            raise KeyTaken(pending.key)
        claiming = not pending.claimed
        if claiming and not self.is_sqlite:
            async with self._parking(self.keys, pending) as conn:
                yield conn
            return
        try:
            async with super().begin(on_loop=on_loop) as conn:
                if claiming:
                    await self.keys.claim_in(conn, pending)
                yield conn
        except BaseException:
            if claiming:  # rolled back: the key's row with it
                pending.claimed = False
            raise

    @asynccontextmanager
    async def _parking(self, keys: RequestKeys, pending: Pending) -> AsyncIterator[AsyncConnection]:
        """The call's claiming transaction on PostgreSQL: the claim in its first lean
        statement (or, when none ran, a statement of its own before the COMMIT), and the
        COMMIT held back for the answer (``Pending.parked``)."""
        context = super().begin()
        conn = await context.__aenter__()
        first = _ClaimFirst(conn, keys, pending)
        token = lean.FIRST.set(first)
        try:
            try:
                yield conn
            finally:
                lean.FIRST.reset(token)
            if not first.used:
                await keys.claim_in(conn, pending)
        except BaseException as error:
            pending.claimed = False  # rolled back: the key's row with it
            await Parked(conn, context).roll_back(error)
            raise
        pending.claimed = True
        pending.parked = Parked(conn, context)

    @asynccontextmanager
    async def write_alone(self, *, answer: object = None) -> AsyncIterator[AsyncConnection]:
        """``Database.write_alone``; during a keyed call whose key no transaction claimed
        yet, its statement claims it (module docstring): on PostgreSQL in the statement
        (the first lean statement on the connection), on SQLite in a short transaction.
        With ``answer`` (PostgreSQL), the statement claims the key only if it returns a
        row, and stores the call's answer with it: no UPDATE of the answer after it."""
        pending = _PENDING.get()
        if pending is not None and pending.parked is not None and not pending.done:
            await _commit_parked(pending)
        if pending is None or pending.done or self.keys is None or pending.claimed:
            async with super().write_alone() as conn:
                yield conn
            return
        if pending.taken:
            raise KeyTaken(pending.key)
        if self.is_sqlite:
            async with self.begin() as conn:
                yield conn
            return
        # Database.write_alone on PostgreSQL (no writer turn): one pooled connection,
        # autocommitted. It is kept, not checked in, once the statement committed with
        # its claim: the answer's UPDATE goes on it (``RequestKeys.answer``), which spares
        # the answer a check-out and check-in of its own, about a fifth of the Python
        # calls of a keyed write's service call.
        context = pooled(self.engine, autocommit=True)
        conn = await context.__aenter__()
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            stored = None if answer is None else encode(answer)
            first = _ClaimFirst(conn, self.keys, pending, stored)
            token = lean.FIRST.set(first)
            try:
                yield conn
            finally:
                lean.FIRST.reset(token)
            if not first.used:  # a statement not run by lean would have gone unkeyed
                raise RuntimeError("a keyed write_alone ran no lean statement: nothing claimed")
        except BaseException as error:
            await context.__aexit__(type(error), error, error.__traceback__)
            raise
        if pending.claimed and not pending.done:
            pending.parked = Parked(conn, context, committed=True)
        else:
            await context.__aexit__(None, None, None)


async def _commit_parked(pending: Pending) -> None:
    """The call's parked transaction, committed now without its answer (the call uses the
    database again: it must see, and not wait for, what it wrote)."""
    parked, pending.parked = pending.parked, None
    assert parked is not None
    try:
        await parked.commit()
    except BaseException:
        if not parked.committed:
            pending.claimed = False  # as far as the call can tell (claimed_unanswered)
        raise


def _literal(text: str) -> str:
    """``text`` as a dollar-quoted SQL literal (the answer's UPDATE goes with the COMMIT
    in one simple query, which takes no parameters); its tag is one ``text`` lacks."""
    n = 0
    while f"$k{n}$" in text:
        n += 1
    return f"$k{n}${text}$k{n}$"


_WITH = re.compile(r"\s*WITH(\s+RECURSIVE)?\s+", re.IGNORECASE)


class _ClaimFirst:
    """The key's claim carried by a one-statement write on PostgreSQL (lean.FIRST): the
    statement becomes ``WITH service_request AS (INSERT INTO <keys> ...) <statement>``
    (joined to the statement's own WITH list), its arguments the statement's and then the
    key's. PostgreSQL runs a data-modifying CTE to completion whether or not the statement
    reads it, in the statement's transaction: the key and the write commit together, and a
    key already there fails the statement (its unique key) before anything of it is
    committed.

    With the call's answer known before its statement (``answer``: the write's caller
    returns it when the statement returns a row), the statement becomes ``WITH written AS
    (<statement>), service_request AS (INSERT INTO <keys> ... answer ... WHERE EXISTS
    (SELECT FROM written)) SELECT * FROM written``: a row back, and the key and its answer
    commit with the write (a key already there fails the whole statement); no row, and
    nothing was claimed (a later write of the call claims the key, as if this one had not
    run). The call's answer then needs no UPDATE of its own (``RequestKeys.answer``)."""

    __slots__ = ("answer", "conn", "keys", "pending", "used")

    def __init__(
        self,
        conn: AsyncConnection,
        keys: RequestKeys,
        pending: Pending,
        answer: bytes | None = None,
    ) -> None:
        self.conn = conn
        self.keys = keys
        self.pending = pending
        self.answer = answer
        self.used = False

    def rewrite(self, sql: str, args: list[Any]) -> tuple[str, list[Any]]:
        self.used = True
        n = len(args)
        if self.answer is not None:
            return self._with_answer(sql, args, self.answer)
        claim = (
            f'service_request AS (INSERT INTO "{self.keys.table.name}" '
            '("key", fingerprint, created_at) '
            f"VALUES (${n + 1}::VARCHAR, ${n + 2}::VARCHAR, ${n + 3}::TIMESTAMP WITH TIME ZONE))"
        )
        found = _WITH.match(sql)
        if found is None:
            claimed = f"WITH {claim} {sql.lstrip()}"
        else:
            recursive = "RECURSIVE " if found.group(1) else ""
            claimed = f"WITH {recursive}{claim}, {sql[found.end() :]}"
        self.pending.sent = sent = utcnow()
        return claimed, [*args, self.pending.key, self.pending.fingerprint, sent]

    def _with_answer(self, sql: str, args: list[Any], answer: bytes) -> tuple[str, list[Any]]:
        if _WITH.match(sql):
            raise TypeError("a write stored with its answer has no WITH list of its own")
        n = len(args)
        claimed = (
            f"WITH written AS ({sql.strip()}), "
            f'service_request AS (INSERT INTO "{self.keys.table.name}" '
            '("key", fingerprint, created_at, status, body) '
            f"SELECT ${n + 1}::VARCHAR, ${n + 2}::VARCHAR, ${n + 3}::TIMESTAMP WITH TIME ZONE, "
            f"200, ${n + 4}::TEXT WHERE EXISTS (SELECT FROM written)) "
            "SELECT * FROM written"
        )
        self.pending.sent = sent = utcnow()
        return claimed, [*args, self.pending.key, self.pending.fingerprint, sent, answer.decode()]

    def succeeded(self, rows: int) -> None:
        if self.answer is None:
            self.pending.claimed = True
        elif rows:  # the key is claimed, and answered
            self.pending.claimed = True
            self.pending.answered = self.answer
        else:  # nothing written, nothing claimed
            self.pending.sent = None

    def failed(self, error: Exception) -> None:
        if isinstance(error, IntegrityError) and self.keys.taken_by(error):
            self.pending.taken = True
            raise KeyTaken(self.pending.key) from None


class RequestKeys:
    def __init__(self, source: str, db: Database) -> None:
        self.db = db
        self.table = Table(
            f"{TABLE_PREFIX}{source}",
            MetaData(),
            Column("key", String(128), primary_key=True),
            Column("fingerprint", String(64), nullable=False),
            Column("status", Integer, nullable=True),  # None while the write runs
            Column("body", Text, nullable=True),
            Column("created_at", UTCDateTime(), nullable=False),
        )
        t = self.table
        # Built once: lean.execute compiles each statement once per dialect.
        self._claim = insert(t).values(
            key=bindparam("key"),
            fingerprint=bindparam("fingerprint"),
            status=bindparam("status"),
            created_at=bindparam("now"),
        )
        self._record = insert(t).values(
            key=bindparam("key"),
            fingerprint=bindparam("fingerprint"),
            status=bindparam("status"),
            body=bindparam("body"),
            created_at=bindparam("now"),
        )
        self._remember = (
            update(t)
            .where(t.c.key == bindparam("k"))
            .values(status=bindparam("status"), body=bindparam("body"))
        )
        if isinstance(db, KeyedDatabase):
            db.keys = self
        self._primary_key = f'"{self.table.name}_pkey"'  # PostgreSQL's name for it

    def taken_by(self, error: IntegrityError) -> bool:
        """Whether ``error`` is a claim's INSERT finding the key's row there (PostgreSQL)."""
        return self._primary_key in str(error.orig)

    async def running(self, pending: Pending, call: Awaitable[T]) -> T:
        """``call`` with ``pending`` as the keyed call its write transactions claim for.
        A transaction it left parked is the caller's to finish (``answer``: with the
        call's result, or with its failure when it raised, as a committed write's failure
        is answered), unless the call was cancelled: then it is rolled back here."""
        token = _PENDING.set(pending)
        try:
            return await call
        except Exception:
            raise
        except BaseException as error:
            parked, pending.parked = pending.parked, None
            if parked is not None and parked.committed:  # written: its key waits its lease
                await parked.commit()
            elif parked is not None:
                pending.claimed = False
                await parked.roll_back(error)
            raise
        finally:
            _PENDING.reset(token)
            pending.done = True

    async def answer(self, pending: Pending, status: int, body: bytes) -> None:
        """Store the answer of a claimed key: nothing to send when its claim stored it
        (``Pending.answered``, the same answer); with the parked transaction's COMMIT in
        one round trip (``UPDATE ...; COMMIT`` as one simple query); on a one-statement
        write's held connection; else by ``remember``. If that COMMIT fails, nothing of
        the call is known to have committed (``pending.claimed`` is False) and the error
        is raised."""
        parked, pending.parked = pending.parked, None
        if pending.answered is not None and status == 200 and body == pending.answered:
            if parked is not None:  # stored with the claim (_ClaimFirst): nothing to send
                await parked.commit()
            return
        if parked is None:
            await self.remember(pending.key, status, body)
            return
        if parked.committed:  # a one-statement write's own connection, autocommitted
            try:  # one simple query, its values quoted here (lean.execute_text)
                await lean.execute_text(
                    parked.conn,
                    f"UPDATE {self.table.name} SET status = {int(status)}, "
                    f'body = {_literal(body.decode())} WHERE "key" = {_literal(pending.key)}',
                )
            finally:
                await parked.commit()
            return
        sync = parked.conn.sync_connection
        fairy = None if sync is None else sync._dbapi_connection
        adapted: Any = None if fairy is None else fairy.dbapi_connection
        transaction = None if adapted is None else adapted._transaction
        if transaction is None:  # nothing begun on the driver: the UPDATE, then COMMIT
            try:
                await lean.execute(
                    parked.conn, self._remember,
                    {"k": pending.key, "status": status, "body": body.decode()},
                )  # fmt: skip
                await parked.commit()
            except BaseException as error:
                pending.claimed = False
                await parked.roll_back(error)
                raise
            return
        # The key's row must be there to take the answer: were it not (its claim undone
        # with a savepoint, say), the division fails and nothing commits, so the write
        # cannot commit without its key.
        sql = (
            f'WITH answered AS (UPDATE "{self.table.name}" SET status = {int(status)}, '
            f'body = {_literal(body.decode())} WHERE "key" = {_literal(pending.key)} '
            "RETURNING 1) SELECT 1 / COUNT(*) FROM answered; COMMIT"
        )
        driver = adapted.driver_connection
        events = lean._Events.of(sync, sql, (), many=False)
        try:
            # asyncpg's Transaction.commit, with the UPDATE in front of its COMMIT.
            if driver._top_xact is transaction:
                driver._top_xact = None
            await driver.execute(sql)
        except BaseException as error:
            pending.claimed = False
            await parked.roll_back(error)  # the driver's transaction is still open: ROLLBACK
            raise
        finally:
            if events is not None:
                events.after()
        transaction._state = type(transaction._state).COMMITTED
        adapted._transaction = None  # SQLAlchemy's COMMIT now sends nothing
        await parked.commit()

    async def claim_in(self, conn: AsyncConnection, pending: Pending) -> None:
        """The key's row, in the write's own transaction (``conn``), before its statements."""
        pending.sent = sent = utcnow()
        try:
            await lean.execute(
                conn,
                self._claim,
                {
                    "key": pending.key,
                    "fingerprint": pending.fingerprint,
                    "status": None,
                    "now": sent,
                },
            )
        except IntegrityError:
            pending.taken = True
            raise KeyTaken(pending.key) from None
        pending.claimed = True

    async def claimed_unanswered(self, pending: Pending) -> bool:
        """Whether ``pending``'s own claim committed, though its write failed as far as the
        call could tell (the connection died with the COMMIT or the one statement in flight):
        then its write may have committed with it, and a retry must not run it again. False
        when the database cannot say now (the row then waits out its lease)."""
        if pending.sent is None or pending.claimed or pending.taken:
            return False
        t = self.table
        try:
            async with self.db.connect() as conn:
                row = (
                    await conn.execute(
                        select(t.c.status, t.c.created_at).where(t.c.key == pending.key)
                    )
                ).first()
        except Exception:
            return False
        return row is not None and row.status is None and row.created_at == pending.sent

    async def record(self, key: str, print_: str, status: int, body: bytes) -> bool:
        """Key and answer of a write that committed no transaction, in one statement; False
        when the key's row is there already (another attempt claimed it meanwhile)."""
        values: dict[str, Any] = {
            "key": key,
            "fingerprint": print_,
            "status": status,
            "body": body.decode(),
            "now": utcnow(),
        }
        try:
            async with self.db.connect() as conn:  # one statement: autocommitted
                await lean.execute(conn, self._record, values)
        except IntegrityError:
            return False
        return True

    async def create(self) -> None:
        async with self.db.engine.begin() as conn:
            await conn.run_sync(self.table.create, checkfirst=True)

    async def claim(self, key: str, print_: str) -> Claimed:
        now = utcnow()
        t = self.table
        try:
            async with self.db.begin() as conn:
                await conn.execute(
                    insert(t).values(key=key, fingerprint=print_, status=None, created_at=now)
                )
            return Claimed(Claim.RUN)
        except IntegrityError:
            pass
        async with self.db.begin() as conn:
            row = (await conn.execute(select(t).where(t.c.key == key))).first()
            if row is None:  # forgotten in between: ours now
                await conn.execute(
                    insert(t).values(key=key, fingerprint=print_, status=None, created_at=now)
                )
                return Claimed(Claim.RUN)
            if row.fingerprint != print_:
                return Claimed(Claim.REUSED)
            if row.status is not None:
                return Claimed(Claim.REPLAY, row.status, row.body.encode())
            if row.created_at > now - LEASE:
                return Claimed(Claim.BUSY)
            taken = await conn.execute(
                update(t)
                .where(t.c.key == key, t.c.status.is_(None), t.c.created_at == row.created_at)
                .values(created_at=now)
            )
            return Claimed(Claim.RUN if taken.rowcount == 1 else Claim.BUSY)

    async def remember(self, key: str, status: int, body: bytes) -> None:
        """The answer of a claimed key: one autocommitted UPDATE (no transaction of its
        own to begin and commit), outside any keyed call's claiming."""
        values = {"k": key, "status": status, "body": body.decode()}
        async with self.db.write_alone() as conn:  # on SQLite, in this process's writer turn
            await lean.execute(conn, self._remember, values)

    async def release(self, key: str) -> None:
        """The write failed unexpectedly (nothing to replay): a retry runs it again."""
        async with self.db.begin() as conn:
            await conn.execute(delete(self.table).where(self.table.c.key == key))

    async def forget_expired(self, now: datetime) -> None:
        async with self.db.begin() as conn:
            await conn.execute(delete(self.table).where(self.table.c.created_at < now - RETENTION))
