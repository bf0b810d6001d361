"""sources/common/lean.py, the checkout's statements on the driver below SQLAlchemy's
execute, on SQLite and PostgreSQL: every hot statement returns exactly the rows (keys,
values, value types) of ``conn.execute``, the stores' checkout reads make the same records,
writes run inside the caller's transaction and roll back with it, the conditional stock
UPDATE moves a row only while it has the units free, and a driver error is the same
SQLAlchemy exception."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from sources.catalog import store as catalog_store
from sources.catalog.store import CatalogStore
from sources.common import lean
from sources.common.db import Database
from sources.inventory import models as inventory_models
from sources.inventory import reservations
from sources.inventory import store as inventory_store
from sources.inventory.store import InventoryStore
from sources.orders import buyers, carts
from sources.pricing import store as pricing_store
from sources.pricing.store import PricingStore

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
async def dbs(shop: dict[str, str]) -> AsyncIterator[dict[str, Database]]:
    opened = {name: Database(url) for name, url in shop.items()}
    try:
        yield opened
    finally:
        for db in opened.values():
            await db.dispose()


def _typed(rows: Any) -> list[list[tuple[type, Any]]]:
    return [[(type(value), value) for value in row] for row in rows]


async def _both(db: Database, statement: Any, params: dict[str, Any]) -> tuple[Any, Any]:
    """(SQLAlchemy's result, lean's) for one statement on one read connection."""
    async with db.connect() as conn:
        expected = await conn.execute(statement, params)
        keys, rows = list(expected.keys()), expected.all()
        got = (await lean.execute(conn, statement, params)).all()
    return (keys, rows), got


async def _some(db: Database, statement: Any, n: int) -> list[Any]:
    async with db.connect() as conn:
        return list((await conn.execute(statement.limit(n))).scalars())


async def test_every_hot_read_returns_sqlalchemys_rows(dbs: dict[str, Database]) -> None:
    catalog, pricing, inventory, orders = (
        dbs["catalog"],
        dbs["pricing"],
        dbs["inventory"],
        dbs["orders"],
    )
    sku_ids = await _some(catalog, select(text("id")).select_from(text("skus")), 6)
    category_ids = await _some(
        catalog, select(text("category_id")).select_from(text("products")).distinct(), 3
    )
    customer_ids = await _some(orders, select(text("id")).select_from(text("customers")), 2)
    regions = await _some(orders, select(text("code")).select_from(text("regions")), 2)
    cases: list[tuple[Database, Any, dict[str, Any]]] = [
        (catalog, catalog_store._SKUS_WITH_PRODUCTS_BY_IDS, {"ids": sku_ids}),
        (catalog, catalog_store._SKUS_WITH_PRODUCTS_BY_IDS, {"ids": [*sku_ids[:1], 10**9]}),
        (catalog, catalog_store._CATEGORIES_WITH_ANCESTORS, {"ids": category_ids}),
        (catalog, catalog_store._PRODUCTS_BY_IDS, {"ids": [1, 2, 3]}),
        (pricing, pricing_store._PRICES_BY_SKU_IDS, {"ids": sku_ids, "currency": "CNY"}),
        (pricing, pricing_store._AUTOMATIC_LIVE, {"at": NOW}),
        (inventory, inventory_store._STOCK_BY_SKU_IDS, {"ids": sku_ids}),
        (orders, buyers.CUSTOMERS_BY_IDS, {"ids": customer_ids}),
        (orders, buyers.REGIONS_BY_CODES, {"codes": regions}),
        (
            orders,
            buyers.CUSTOMER_AND_REGION,
            {"customer_id": customer_ids[0], "region_code": regions[0]},
        ),
        (orders, buyers.CUSTOMER_AND_REGION, {"customer_id": 10**9, "region_code": "nowhere"}),
    ]
    for db, statement, params in cases:
        (keys, expected), got = await _both(db, statement, params)
        assert expected, f"the demo shop should answer {params}"
        assert _typed(got) == _typed(expected)
        assert [list(row._mapping) for row in got] == [keys] * len(got)
        for row, want in zip(got, expected, strict=True):
            assert all(getattr(row, key) == getattr(want, key) for key in keys)


async def test_the_stores_checkout_reads_make_the_same_records(
    dbs: dict[str, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    sku_ids = await _some(dbs["catalog"], select(text("id")).select_from(text("skus")), 5)
    catalog = CatalogStore(dbs["catalog"])
    pricing = PricingStore(dbs["pricing"])
    inventory = InventoryStore(dbs["inventory"])

    async def read() -> tuple[Any, ...]:
        return (
            await catalog.cart_catalog(sku_ids),
            await pricing.pricing_for_checkout(sku_ids, "CNY", [], NOW, None),
            await inventory.cart_stock([], sku_ids),
        )

    lean_records = await read()
    monkeypatch.setattr(lean, "SQLALCHEMY_PATH", True)
    assert lean_records == await read()


async def test_an_in_list_of_any_length_is_one_statement_with_sqlalchemys_rows(
    dbs: dict[str, Database],
) -> None:
    """On PostgreSQL an expanding ``IN`` list runs as one array parameter (``= ANY``): one
    SQL text for every length, so one prepared statement and one plan per connection; the
    rows are those of SQLAlchemy's ``IN`` at every length, none included (SQLite keeps the
    per-length ``IN``)."""
    pricing, catalog = dbs["pricing"], dbs["catalog"]
    sku_ids = await _some(catalog, select(text("id")).select_from(text("skus")), 2)
    async with pricing.connect() as conn:
        codes = list(
            (
                await conn.execute(
                    text("SELECT lower(coupon_code) FROM promotions WHERE coupon_code IS NOT NULL")
                )
            ).scalars()
        )[:2]
    assert codes, "the demo shop has coupons"
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    cases: list[tuple[Database, Any, dict[str, Any]]] = []
    for n in (0, 1, 3):
        ids = [*sku_ids[:2], 10**9][:n]  # one id no SKU has among them
        cases += [
            (catalog, catalog_store._SKUS_WITH_PRODUCTS_BY_IDS, {"ids": ids}),
            (pricing, pricing_store._PRICES_BY_SKU_IDS, {"ids": ids, "currency": "CNY"}),
            (
                pricing,
                pricing_store._PRICES_AND_AUTOMATIC_LIVE_OR_TYPED,
                {"ids": ids, "keys": codes[:n], "at": NOW, "currency": "CNY"},
            ),
        ]
    for db, statement, params in cases:
        (_keys, expected), _ = await _both(db, statement, params)
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            async with db.connect() as conn:
                got = (await lean.execute(conn, statement, params)).all()
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        assert _typed(got) == _typed(expected), params
    if not dbs["pricing"].is_sqlite:
        assert len(set(seen)) == 3  # one text per statement, whatever the lengths
        assert all("= ANY(" in sql and "IN ($" not in sql for sql in seen)


async def test_a_cart_written_and_read_lean_is_sqlalchemys_and_rolls_back(
    dbs: dict[str, Database],
) -> None:
    db = dbs["orders"]
    sku_ids = await _some(dbs["catalog"], select(text("id")).select_from(text("skus")), 3)

    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        async with db.begin() as conn:
            cart = await carts._insert_cart(conn, None, NOW, [(s, 1) for s in sku_ids], [], None)
            params = {"ids": [cart.id]}
            expected = (await conn.execute(carts._CARTS_WITH_LINES, params)).all()
            got = (await lean.execute(conn, carts._CARTS_WITH_LINES, params)).all()
            assert _typed(got) == _typed(expected) and len(got) == 3
            assert (await carts.load_carts(conn, [cart.id]))[cart.id] == cart
            raise Undo
    async with db.connect() as conn:
        assert (await lean.execute(conn, carts._CARTS_WITH_LINES, {"ids": [cart.id]})).all() == []


async def test_the_conditional_stock_update_takes_only_free_units(
    dbs: dict[str, Database],
) -> None:
    db = dbs["inventory"]
    items = inventory_models.StockItem
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                select(items.sku_id, items.warehouse_id, items.on_hand - items.reserved)
                .where(items.on_hand - items.reserved > 0)
                .order_by(items.sku_id, items.warehouse_id)
                .limit(3)
            )
        ).all()
    assert len(rows) == 3

    class Undo(Exception):
        pass

    def params(takes: list[tuple[int, int, int]]) -> dict[str, Any]:
        values: dict[str, Any] = {"updated_at": NOW}
        for i, (sku, warehouse, quantity) in enumerate(takes):
            values.update({f"sku_{i}": sku, f"warehouse_{i}": warehouse, f"quantity_{i}": quantity})
        return values

    for n in (1, 3):
        with pytest.raises(Undo):
            async with db.begin() as conn:
                free = [(s, w, a) for s, w, a in rows[:n]]
                too_many = params([(s, w, a + 1) for s, w, a in free])
                statement = reservations._warehouse_take(n)
                assert (await lean.execute(conn, statement, too_many)).rowcount == 0
                exact = params(free)
                assert (await lean.execute(conn, statement, exact)).rowcount == n
                after = (
                    await conn.execute(
                        select(items.on_hand - items.reserved)
                        .where(items.sku_id.in_([s for s, _, _ in free]))
                        .where(items.warehouse_id.in_([w for _, w, _ in free]))
                    )
                ).scalars()
                assert all(a == 0 for a in after)
                assert (await lean.execute(conn, statement, exact)).rowcount == 0
                raise Undo


async def test_a_driver_error_is_sqlalchemys_and_the_statement_is_counted(
    dbs: dict[str, Database],
) -> None:
    db = dbs["orders"]
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        with pytest.raises(IntegrityError):
            async with db.begin() as conn:
                cart = await carts._insert_cart(conn, None, NOW, [], [], None)
                values = {
                    "id": cart.id,  # the same primary key again
                    "customer_id": None,
                    "status": "OPEN",
                    "coupon_codes": "[]",
                    "created_at": NOW,
                    "updated_at": NOW,
                    **carts.address_values(None),
                }
                await lean.execute(conn, carts._INSERT_CART, values)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert sum(s.startswith("INSERT INTO carts") for s in seen) == 2
    async with db.connect() as conn:  # rolled back, and the pool's connection still works
        assert (await lean.execute(conn, carts._CARTS_WITH_LINES, {"ids": [cart.id]})).all() == []


async def test_a_new_postgresql_connection_binds_arrays_without_asking_for_their_types(
    postgres_shop: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """db.py's ``_known_array_types``: asyncpg introspects int4[] and numeric[] once per
    process, not on every new connection's first statement that binds one (three round
    trips and a catalog query a fresh backend plans in several ms); the values still
    arrive as arrays of the right type."""
    import asyncpg.connection

    orders = Database(postgres_shop["orders"])

    async def arrays(db: Database) -> list[Any]:
        async with db.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT CAST(:ids AS INTEGER[]) AS ids, CAST(:amounts AS NUMERIC[]) AS a"),
                    {"ids": [1, 2], "amounts": [Decimal("1.50")]},
                )
            ).one()
        return [row.ids, row.a]

    try:
        await arrays(orders)  # the process's first connection may ask, once
    finally:
        await orders.dispose()
    asked: list[list[int]] = []
    introspect = asyncpg.connection.Connection._introspect_types

    async def spy(self: Any, typeoids: Any, *rest: Any) -> Any:
        asked.append(sorted(typeoids))
        return await introspect(self, typeoids, *rest)

    monkeypatch.setattr(asyncpg.connection.Connection, "_introspect_types", spy)
    fresh = Database(postgres_shop["orders"], pool_size=1, overflow=0)
    try:
        assert await arrays(fresh) == [[1, 2], [Decimal("1.50")]]
    finally:
        await fresh.dispose()
    assert asked == []


async def test_a_failed_transaction_writes_nothing_on_a_connection_reads_used_before(
    postgres_shop: dict[str, str],
) -> None:
    """Reads and one-statement writes run in autocommit on PostgreSQL (db.py ``pooled``:
    asyncpg's adapter flag, set at check-out, cleared at check-in); the pool's one
    connection, handed next to a write transaction, still begins one: a statement that
    fails after a first one leaves neither written."""
    db = Database(postgres_shop["orders"], pool_size=1, overflow=0)
    insert = text(
        "INSERT INTO carts (id, status, coupon_codes, created_at, updated_at)"
        " VALUES (:id, 'OPEN', '[]', now(), now())"
    )
    found = text("SELECT id FROM carts WHERE id IN ('autocommit-a', 'autocommit-b')")
    try:
        async with db.write_alone() as conn:  # its own transaction: committed at once
            await conn.execute(insert, {"id": "autocommit-a"})
        with pytest.raises(IntegrityError):
            async with db.begin() as conn:
                await conn.execute(insert, {"id": "autocommit-b"})
                await conn.execute(insert, {"id": "autocommit-a"})  # taken: fails
        async with db.connect() as conn:
            assert (await conn.execute(found)).scalars().all() == ["autocommit-a"]
        async with db.write_alone() as conn:
            await conn.execute(text("DELETE FROM carts WHERE id = 'autocommit-a'"))
    finally:
        await db.dispose()


def test_a_row_costs_no_python_call_but_its_columns_processors() -> None:
    """Rows are built in C (``tuple.__new__``) and only the columns with a processor are
    touched: a Python call per row (the named tuple's ``__new__``) or per column came to
    0.87 M instructions of a checkout's 16 M (bench/RESULTS.md, "Issue 15, pass h21c")."""
    import sys

    keys = [f"c{i}" for i in range(48)]
    calls: list[str] = []

    def upper(value: Any) -> Any:
        return value.upper()

    variant = lean._Variant("", [], True, keys, lean._row_class(keys), [None] * 48)
    variant.result_processors[3] = upper  # type: ignore[index]
    variant.result_processors[40] = upper  # type: ignore[index]
    raw = [tuple(f"v{r}{i}" if i != 40 or r else None for i in range(48)) for r in range(3)]

    def profile(frame: Any, event: str, _arg: Any) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)

    lean._rows(variant, raw[:1])  # the processed columns are found once, on first use
    sys.setprofile(profile)
    try:
        rows = lean._rows(variant, raw)
    finally:
        sys.setprofile(None)
    assert calls == ["_rows", *["upper"] * 5]  # row 0's column 40 is NULL: not processed
    assert [tuple(r) for r in rows] == [
        tuple(upper(v) if i in (3, 40) and v is not None else v for i, v in enumerate(row))
        for row in raw
    ]
    assert rows[1].c3 == "V13" and rows[0].c40 is None and rows[2]._mapping["c47"] == "v247"
    plain = lean._Variant("", [], True, keys, lean._row_class(keys), [None] * 48)
    assert [tuple(r) for r in lean._rows(plain, raw)] == raw
