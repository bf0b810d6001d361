"""A remote source's write whose answer was lost is applied once, however it is written.

The orders service runs over real HTTP behind a TCP proxy that lets one call through, lets
the service write and answer, and cuts the connection as the answer comes back: the
client retries the call with the same request key (sources/common/client.py). The
service must replay its first answer and must not write again, also for the writes that
are one statement with no transaction (``Database.write_alone``: the cart's creation and
address on PostgreSQL, the address on SQLite, the checkout's claim), which the request
key's claim inside ``begin()`` did not cover. What the database did is counted by triggers
on its tables, one row of ``writes_seen`` per row written, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import text

from sources.common.db import Database
from sources.orders.api import OrdersSource
from sources.orders.records import Address, AttemptState
from tests.conftest import require_postgres
from tests.migrated import migrate_orders_with_one_customer
from tests.pg import create_temp_database, drop_database
from tests.remote import remote_client, source_service
from tests.resilience.tcp_fault import FaultyProxy, faulty_proxy

NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
ADDRESS = Address(name="A", phone="+15550100", country="US", region="US-CA", city="B", line1="C")
WATCHED = {  # table: the operations counted
    "carts": ("INSERT", "UPDATE"),
    "cart_lines": ("INSERT", "UPDATE"),
    "checkout_attempts": ("INSERT", "DELETE"),
}


def _triggers(dialect: str) -> list[str]:
    statements = ["CREATE TABLE writes_seen (what VARCHAR(64) NOT NULL)"]
    if dialect == "postgresql":
        statements.append(
            "CREATE FUNCTION note_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO writes_seen VALUES (TG_TABLE_NAME || ' ' || TG_OP); RETURN NULL; "
            "END $$"
        )
    for table, operations in WATCHED.items():
        for op in operations:
            name = f"seen_{table}_{op.lower()}"
            if dialect == "postgresql":
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {op} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION note_write()"
                )
            else:
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {op} ON {table} BEGIN "
                    f"INSERT INTO writes_seen VALUES ('{table} {op}'); END"
                )
    return statements


async def _prepare(url: str) -> None:
    await migrate_orders_with_one_customer(url, NOW)
    db = Database(url)
    try:
        async with db.begin() as conn:
            for statement in _triggers("sqlite" if db.is_sqlite else "postgresql"):
                await conn.execute(text(statement))
    finally:
        await db.dispose()


def _orders_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/orders.db"
        asyncio.run(_prepare(url))
        yield url
        return
    require_postgres()
    url = asyncio.run(create_temp_database())
    try:
        asyncio.run(_prepare(url))
        yield url
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def orders_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _orders_database(request.param, tmp_path)


@pytest.fixture
def pg_orders_url(tmp_path: Path) -> Iterator[str]:
    """PostgreSQL only: where a test's race or fault exists there alone."""
    yield from _orders_database("postgresql", tmp_path)


def _proxied(orders_url: str) -> Iterator[tuple[str, FaultyProxy]]:
    with source_service("orders", orders_url) as url, faulty_proxy(url) as proxy:
        yield f"http://127.0.0.1:{proxy.port}", proxy


@pytest.fixture
def proxied(orders_url: str) -> Iterator[tuple[str, FaultyProxy]]:
    """The orders service over ``orders_url``, and the proxy in front of it."""
    yield from _proxied(orders_url)


@pytest.fixture
def pg_proxied(pg_orders_url: str) -> Iterator[tuple[str, FaultyProxy]]:
    yield from _proxied(pg_orders_url)


def seen(url: str) -> dict[str, int]:
    """How many rows each watched operation wrote, by ``"table OPERATION"``."""

    async def read() -> dict[str, int]:
        db = Database(url)
        try:
            async with db.connect() as conn:
                rows = await conn.execute(
                    text("SELECT what, COUNT(*) FROM writes_seen GROUP BY what")
                )
                return {str(what): int(n) for what, n in rows}
        finally:
            await db.dispose()

    return asyncio.run(read())


def statements_sent(db: Database) -> list[str]:
    """Every SQL statement ``db`` sends from now on, in order (a list that grows)."""
    from sqlalchemy import event

    sent: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, *_: sent.append(sql),
    )
    return sent


async def _keyed_orders(url: str) -> tuple[Any, Any, Any]:
    """A service's orders database with its request keys' table, and the store over it."""
    from sources.common.request_keys import KeyedDatabase, RequestKeys
    from sources.orders.store import OrdersStore

    db = KeyedDatabase(url)
    keys = RequestKeys("orders", db)
    await keys.create()
    return db, keys, OrdersStore(db)


async def _stored(db: Database, keys: Any, key: str) -> Any:
    """The key's row as the service left it: its status and stored answer."""
    from sqlalchemy import select

    async with db.connect() as conn:
        statement = select(keys.table.c.status, keys.table.c.body).where(keys.table.c.key == key)
        return (await conn.execute(statement)).one()


def call(base: str, proxy: FaultyProxy | None, method: str, **arguments: Any) -> Any:
    """``method`` through the remote client; with ``proxy``, its first answer is lost after
    the service wrote (the client retries with the same key)."""

    async def run() -> Any:
        client = remote_client("orders", base, timeout_s=5.0, retries=2)
        try:
            return await getattr(client, method)(**arguments)
        finally:
            await client.service.close()

    trap = proxy.set_trap(f"POST /v1/orders/{method} ".encode(), "cut") if proxy else None
    result = asyncio.run(run())
    if trap is not None:
        assert trap.sprung.is_set(), "the first answer was not lost"
    return result


def test_a_created_cart_whose_answer_was_lost_is_created_once(
    proxied: tuple[str, FaultyProxy], orders_url: str
) -> None:
    base, proxy = proxied
    written = call(
        base, proxy, "create_cart_with_buyer", customer_id=1, now=NOW, lines=[(101, 2)],
        address=ADDRESS,
    )  # fmt: skip
    assert seen(orders_url) == {"carts INSERT": 1, "cart_lines INSERT": 1}
    again = call(base, None, "carts_by_ids", ids=[written.cart.id])
    assert again[written.cart.id] == written.cart, "the replay is the first answer"


def test_an_address_whose_answer_was_lost_is_written_once(
    proxied: tuple[str, FaultyProxy], orders_url: str
) -> None:
    base, proxy = proxied
    cart = call(base, None, "create_cart", customer_id=1, now=NOW, lines=[(101, 2)])
    before = seen(orders_url)
    written = call(
        base, proxy, "set_owned_cart_address", cart_id=cart.id, customer_id=1, address=ADDRESS,
        now=NOW + timedelta(seconds=1),
    )  # fmt: skip
    after = seen(orders_url)
    assert after.get("carts UPDATE", 0) - before.get("carts UPDATE", 0) == 1
    assert written.cart.shipping_address == ADDRESS


def test_a_checkout_claim_whose_answer_was_lost_is_claimed_once(
    proxied: tuple[str, FaultyProxy], orders_url: str
) -> None:
    base, proxy = proxied
    cart = call(base, None, "create_cart", customer_id=1, now=NOW, lines=[(101, 2)])
    started = call(
        base, proxy, "checkout_start", cart_id=cart.id, customer_id=1, idempotency_key="k1",
        now=NOW, stale_after=timedelta(minutes=2),
    )  # fmt: skip
    assert seen(orders_url).get("checkout_attempts INSERT") == 1
    assert started.attempt is not None
    assert started.attempt.state is AttemptState.CLAIMED, "the replay is the first answer"
    assert started.buyer is not None


def test_an_abandoned_claim_whose_answer_was_lost_is_deleted_once(
    proxied: tuple[str, FaultyProxy], orders_url: str
) -> None:
    """The retry's answer is the first one (True: it deleted the attempt), not the
    second run's (False: nothing left to delete)."""
    base, proxy = proxied
    cart = call(base, None, "create_cart", customer_id=1, now=NOW, lines=[(101, 2)])
    start = {"cart_id": cart.id, "customer_id": 1, "idempotency_key": "k2", "now": NOW,
             "stale_after": timedelta(minutes=2)}  # fmt: skip
    call(base, None, "checkout_start", **start)
    assert call(base, proxy, "abandon_checkout_attempt", customer_id=1, idempotency_key="k2")
    assert seen(orders_url).get("checkout_attempts DELETE") == 1


def test_a_retry_while_the_first_attempt_still_writes_gets_its_answer(
    pg_proxied: tuple[str, FaultyProxy], pg_orders_url: str
) -> None:
    """PostgreSQL: the first attempt's statement waits for the cart's row lock (another
    writer holds it) past the client's timeout, so the retry arrives while it runs. The
    retry's claim waits for the first one's, finds it, and the client waits for the first
    answer (409 InProgress, then the replay): one UPDATE, the first attempt's answer."""
    # (PostgreSQL only: SQLite serialises the service's writers in its process, no overlap.)
    base, _ = pg_proxied
    orders_url = pg_orders_url
    cart = call(base, None, "create_cart", customer_id=1, now=NOW, lines=[(101, 2)])

    async def run() -> Any:
        db = Database(orders_url)
        client = remote_client("orders", base, timeout_s=1.0, retries=2)
        try:
            async with db.begin() as lock:
                await lock.execute(
                    text("SELECT id FROM carts WHERE id = :id FOR UPDATE"), {"id": cart.id}
                )
                orders = cast(OrdersSource, client)  # the client implements it over HTTP
                written = asyncio.create_task(
                    orders.set_owned_cart_address(
                        cart_id=cart.id, customer_id=1, address=ADDRESS, now=NOW
                    )
                )
                await asyncio.sleep(1.6)  # the first attempt timed out, the retry waits
                assert not written.done()
            return await written
        finally:
            await client.service.close()
            await db.dispose()

    written = asyncio.run(run())
    assert seen(orders_url).get("carts UPDATE") == 1
    assert written.cart.shipping_address == ADDRESS


def test_a_keyed_one_statement_write_is_still_one_statement(orders_url: str) -> None:
    """The claim costs the one-statement writes no statement of their own on PostgreSQL
    (it rides in theirs); SQLite runs the claim and the write in one short transaction."""
    from sources.common.request_keys import Pending

    async def run() -> tuple[list[str], dict[str, Any]]:
        db, keys, store = await _keyed_orders(orders_url)
        cart = await store.create_cart(customer_id=1, now=NOW, lines=[(101, 2)])
        statements = statements_sent(db)
        pending = Pending("k-one", "print")
        try:
            await keys.running(pending, store.set_owned_cart_address(cart.id, 1, ADDRESS, NOW))
            first_call = list(statements)
            again = Pending("k-one", "print")
            with pytest.raises(Exception) as taken:
                await keys.running(again, store.set_owned_cart_address(cart.id, 1, ADDRESS, NOW))
            return first_call, {"claimed": pending.claimed, "taken": again.taken,
                                "error": type(taken.value).__name__}  # fmt: skip
        finally:
            await db.dispose()

    statements, outcome = asyncio.run(run())
    assert outcome == {"claimed": True, "taken": True, "error": "KeyTaken"}
    assert seen(orders_url).get("carts UPDATE") == 1
    if orders_url.startswith("sqlite"):  # a short transaction: the claim, the UPDATE
        assert statements[0] == "BEGIN IMMEDIATE"
        assert "service_requests_orders" in statements[1]
        assert "UPDATE carts" in statements[2]
    else:  # one statement: the claim and the UPDATE (and the read) in one round trip
        assert len(statements) == 1
        assert "service_requests_orders" in statements[0]
        assert "UPDATE carts" in statements[0]


def test_a_keyed_one_statement_write_stores_its_answer_on_its_own_connection(
    pg_orders_url: str,
) -> None:
    """PostgreSQL: the answer of a keyed one-statement write (the address) is stored on the
    connection its statement committed on, held for it: one check-out from the pool for
    the write and its answer, two statements, and the connection back in the pool after."""
    from sqlalchemy import event

    from sources.common.request_keys import Pending

    async def run() -> tuple[int, list[str], Any, int]:
        db, keys, store = await _keyed_orders(pg_orders_url)
        cart = await store.create_cart(customer_id=1, now=NOW, lines=[(101, 2)])
        pool = db.engine.sync_engine.pool
        checkouts: list[object] = []
        event.listen(pool, "checkout", lambda *_: checkouts.append(None))
        statements = statements_sent(db)
        pending = Pending("k-held", "print")
        try:
            await keys.running(pending, store.set_owned_cart_address(cart.id, 1, ADDRESS, NOW))
            await keys.answer(pending, 200, b'{"held": true}')
            taken, sent, in_use = len(checkouts), list(statements), pool.checkedout()  # type: ignore[attr-defined]
            row = await _stored(db, keys, "k-held")
            return taken, sent, tuple(row), in_use
        finally:
            await db.dispose()

    taken, statements, row, in_use = asyncio.run(run())
    assert taken == 1, "the answer went on the write's own connection"
    assert in_use == 0, "and that connection went back to the pool"
    assert row == (200, '{"held": true}')
    assert len(statements) == 2
    assert "UPDATE carts" in statements[0]
    assert statements[1].startswith("UPDATE service_requests_orders")
    assert seen(pg_orders_url).get("carts UPDATE") == 1


def test_a_checkout_claim_stores_its_answer_in_its_own_statement(pg_orders_url: str) -> None:
    """PostgreSQL: ``checkout_start`` knows its answer before its INSERT (the cart, the
    buyer and the new order_ref came from its read), so the INSERT carries the key's claim
    and that answer together: two statements for the call (the read, the INSERT), no
    UPDATE of the answer, the key's row answered, a retry with the key stopped before it
    writes."""
    from sources.common.request_keys import KeyTaken, Pending
    from sources.common.wire import encode

    start = {"customer_id": 1, "idempotency_key": "buyer-1", "now": NOW,
             "stale_after": timedelta(minutes=2)}  # fmt: skip

    async def run() -> tuple[list[str], Any, bytes, bool, int]:
        db, keys, store = await _keyed_orders(pg_orders_url)
        cart = await store.create_cart(customer_id=1, now=NOW, lines=[(101, 2)])
        statements = statements_sent(db)
        pending = Pending("k-start", "print")
        try:
            started = await keys.running(pending, store.checkout_start(cart_id=cart.id, **start))
            await keys.answer(pending, 200, encode(started))
            sent = list(statements)
            in_use = db.engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
            again = Pending("k-start", "print")
            with pytest.raises(KeyTaken):
                await keys.running(again, store.checkout_start(cart_id=cart.id, **start))
            row = await _stored(db, keys, "k-start")
            return sent, tuple(row), encode(started), again.taken, in_use
        finally:
            await db.dispose()

    statements, row, answer, taken, in_use = asyncio.run(run())
    assert row == (200, answer.decode()), "the key's row has the call's answer"
    assert taken
    assert in_use == 0
    assert len(statements) == 2, statements
    assert statements[1].startswith("WITH written AS (INSERT INTO checkout_attempts")
    assert "service_requests_orders" in statements[1]
    assert seen(pg_orders_url).get("checkout_attempts INSERT") == 1


def test_a_write_with_its_answer_that_writes_nothing_claims_nothing(pg_orders_url: str) -> None:
    """PostgreSQL: the INSERT of ``checkout_start``'s claim finds the attempt there (another
    call took it between the read and the INSERT): it returns no row, so neither the key
    nor the answer it carried is stored, and the call's later write claims the key."""
    from sources.common.request_keys import Pending
    from sources.orders import checkout_attempts

    async def run() -> tuple[Any, bool, bool, Any]:
        db, keys, store = await _keyed_orders(pg_orders_url)
        cart = await store.create_cart(customer_id=1, now=NOW, lines=[(101, 2)])
        await store.checkout_start(cart_id=cart.id, customer_id=1, idempotency_key="buyer-2",
                                   now=NOW, stale_after=timedelta(minutes=2))  # fmt: skip

        pending = Pending("k-late", "print")

        async def late_claim() -> tuple[str | None, tuple[bool, bool]]:
            async with db.write_alone(answer={"never": "stored"}) as conn:
                inserted = await checkout_attempts._insert(conn, 1, "buyer-2", "fp", NOW)
            after = (pending.claimed, pending.answered is not None)
            await store.create_cart(customer_id=1, now=NOW)  # the call's next write
            return inserted, after

        try:
            inserted, after = await keys.running(pending, late_claim())
            claimed_later = pending.claimed
            await keys.answer(pending, 200, b'{"later": true}')
            return inserted, after, claimed_later, tuple(await _stored(db, keys, "k-late"))
        finally:
            await db.dispose()

    inserted, after, claimed_later, row = asyncio.run(run())
    assert inserted is None
    assert after == (False, False), "no row back: no key, no answer"
    assert claimed_later, "the next write claimed the key"
    assert row == (200, '{"later": true}')


def test_a_call_that_fails_after_it_wrote_is_not_run_again(
    orders_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call whose write committed with its key and which then failed for a passing
    reason (a 503 the client retries: here its store loses its database connection
    after the real write, once): its retries are answered that failure, the write is not
    run again (its key was released before, and the retry wrote a second cart)."""
    import dataclasses

    from sources.apis import APIS
    from sources.common.wire_errors import RemoteSourceError
    from sources.orders.store import OrdersStore

    class FailsAfterItsWrite(OrdersStore):
        failed = False

        async def create_cart(self, **arguments: Any) -> Any:
            cart = await super().create_cart(**arguments)
            if not FailsAfterItsWrite.failed:
                FailsAfterItsWrite.failed = True
                raise ConnectionResetError("the database connection was lost")
            return cart

    orders = dataclasses.replace(APIS["orders"], make_store=FailsAfterItsWrite)
    monkeypatch.setitem(APIS, "orders", orders)
    with source_service("orders", orders_url) as base:
        with pytest.raises(RemoteSourceError) as failed:
            call(base, None, "create_cart", customer_id=1, now=NOW, lines=[(101, 2)])
    assert failed.value.status == 503
    assert seen(orders_url) == {"carts INSERT": 1, "cart_lines INSERT": 1}


def test_a_write_whose_commit_the_service_did_not_hear_is_not_run_again(
    pg_orders_url: str,
) -> None:
    """PostgreSQL: the service's own database connection dies right after its one
    statement (the address, with the key's claim) went out; the server commits it. The
    service finds its claim committed and answers the failure (503) to the client and to
    each retry at once: one UPDATE, and no wait for the claim's lease."""
    import time

    from sources.common.wire_errors import RemoteSourceError

    orders_url = pg_orders_url  # a TCP proxy stands between the service and PostgreSQL only
    with faulty_proxy(orders_url) as database:
        cut_url = database.url_for(orders_url) + "?prepared_statement_cache_size=0"
        with source_service("orders", cut_url) as base:
            cart = call(base, None, "create_cart", customer_id=1, now=NOW, lines=[(101, 2)])
            trap = database.set_trap(b"UPDATE carts SET", "cut")
            started = time.monotonic()
            with pytest.raises(RemoteSourceError) as failed:
                call(
                    base, None, "set_owned_cart_address", cart_id=cart.id, customer_id=1,
                    address=ADDRESS, now=NOW,
                )  # fmt: skip
            took = time.monotonic() - started
    assert trap.sprung.is_set()
    assert failed.value.status == 503
    assert took < 3.0, f"the retries waited {took:.1f} s for a claim nobody would answer"
    assert seen(orders_url).get("carts UPDATE") == 1


def test_a_keyed_transaction_commits_its_answer_with_its_write(pg_orders_url: str) -> None:
    """PostgreSQL: a keyed call's first write transaction (the cart with its lines) carries
    its key's claim in its first statement and is committed by the UPDATE of its answer
    and the COMMIT in one round trip: the key's row has the answer, a second attempt with
    the key stops before it writes."""
    from sources.common.request_keys import KeyTaken, Pending

    async def run() -> tuple[list[str], Any, bool]:
        db, keys, store = await _keyed_orders(pg_orders_url)
        statements = statements_sent(db)
        pending = Pending("k-tx", "print")
        try:
            await keys.running(pending, store.create_cart(customer_id=1, now=NOW, lines=[(101, 2)]))
            assert pending.parked is not None, "the transaction waits for its answer"
            await keys.answer(pending, 200, b'{"id": "it\'s $k0$ done"}')
            sent = list(statements)
            again = Pending("k-tx", "print")
            with pytest.raises(KeyTaken):
                await keys.running(again, store.create_cart(customer_id=1, now=NOW, lines=[]))
            row = await _stored(db, keys, "k-tx")
            return sent, tuple(row), again.taken
        finally:
            await db.dispose()

    statements, row, taken = asyncio.run(run())
    assert row == (200, '{"id": "it\'s $k0$ done"}')
    assert taken
    assert seen(pg_orders_url) == {"carts INSERT": 1, "cart_lines INSERT": 1}
    assert "service_requests_orders" in statements[0] and "carts" in statements[0]
    assert not any(s.lstrip().startswith("INSERT INTO service_requests") for s in statements)
    assert statements[-1].startswith('WITH answered AS (UPDATE "service_requests_orders"')
    assert statements[-1].endswith("; COMMIT")


def test_a_keyed_call_that_reads_after_its_transaction_sees_its_write(
    pg_orders_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a call that uses its database again after its first write transaction
    has that transaction committed first (its read sees the cart); its answer is still
    kept for the key's retries."""
    import dataclasses

    from sources.apis import APIS
    from sources.orders.store import OrdersStore

    class ReadsItsCart(OrdersStore):
        async def create_cart(self, **arguments: Any) -> Any:
            cart = await super().create_cart(**arguments)
            return (await self.carts_by_ids([cart.id]))[cart.id]

    orders = dataclasses.replace(APIS["orders"], make_store=ReadsItsCart)
    monkeypatch.setitem(APIS, "orders", orders)
    with source_service("orders", pg_orders_url) as base:
        cart = call(base, None, "create_cart", customer_id=1, now=NOW, lines=[(101, 2)])
    assert cart is not None and [line.quantity for line in cart.lines] == [2]
    assert seen(pg_orders_url) == {"carts INSERT": 1, "cart_lines INSERT": 1}


def test_a_keyed_call_cancelled_after_its_transaction_writes_nothing(pg_orders_url: str) -> None:
    """PostgreSQL: a call cancelled while its transaction waits for its answer rolls it
    back, key and write: a retry runs the write (once)."""
    from sources.common.request_keys import Pending

    async def run() -> bool:
        db, keys, store = await _keyed_orders(pg_orders_url)

        async def then_cancelled() -> None:
            await store.create_cart(customer_id=1, now=NOW, lines=[(101, 2)])
            raise asyncio.CancelledError

        pending = Pending("k-cancel", "print")
        try:
            with pytest.raises(asyncio.CancelledError):
                await keys.running(pending, then_cancelled())
            retry = Pending("k-cancel", "print")
            await keys.running(retry, store.create_cart(customer_id=1, now=NOW, lines=[(101, 2)]))
            await keys.answer(retry, 200, b"{}")
            return pending.claimed
        finally:
            await db.dispose()

    assert asyncio.run(run()) is False
    assert seen(pg_orders_url) == {"carts INSERT": 1, "cart_lines INSERT": 1}


def test_a_keyed_transaction_whose_key_row_is_gone_commits_nothing(pg_orders_url: str) -> None:
    """PostgreSQL: the answer's UPDATE finds no row of the key (here the call's key was
    swapped after its claim): the COMMIT does not happen, the write is rolled back with the
    claim, and the call fails (its retry runs the write)."""
    from sources.common.request_keys import Pending

    async def run() -> tuple[str, bool]:
        db, keys, store = await _keyed_orders(pg_orders_url)
        pending = Pending("k-gone", "print")
        try:
            await keys.running(pending, store.create_cart(customer_id=1, now=NOW, lines=[(101, 2)]))
            pending.key = "k-never-claimed"
            with pytest.raises(Exception) as failed:
                await keys.answer(pending, 200, b"{}")
            return type(failed.value).__name__, pending.claimed
        finally:
            await db.dispose()

    error, claimed = asyncio.run(run())
    assert not claimed, error
    assert seen(pg_orders_url) == {}


def test_a_transaction_whose_answer_and_commit_were_cut_is_written_once(
    pg_orders_url: str,
) -> None:
    """PostgreSQL: the service's database connection dies as the answer's UPDATE and the
    COMMIT go out: whether the server committed them or not, the client's retries end with
    one cart (replayed, or written by the retry)."""
    orders_url = pg_orders_url
    with faulty_proxy(orders_url) as database:
        cut_url = database.url_for(orders_url) + "?prepared_statement_cache_size=0"
        with source_service("orders", cut_url) as base:
            trap = database.set_trap(b"WITH answered AS", "cut")
            try:
                cart = call(base, None, "create_cart", customer_id=1, now=NOW, lines=[(101, 2)])
            except Exception as exc:  # a 503 the retries could not get past is fine too
                cart = exc
    assert trap.sprung.is_set()
    assert seen(orders_url) in ({"carts INSERT": 1, "cart_lines INSERT": 1}, {}), cart
    if seen(orders_url):
        assert not isinstance(cart, Exception), cart
