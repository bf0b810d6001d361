"""Cart holds (reserve on add) in the inventory source, on SQLite and PostgreSQL, in process
and over HTTP: a resize is all or nothing, a lapsed hold is not resized, extension happens
once, and converting holds into an order's reservation never takes the units twice."""

# ruff: noqa: F401, F811  (the fixtures ``db`` and ``store`` are test_reservations')

from __future__ import annotations

from datetime import timedelta

from sources.common.db import Database
from sources.inventory.records import ReservationStatus
from sources.inventory.store import InventoryStore
from tests.sources.inventory.test_reservations import (
    NOW,
    SKU,
    TTL,
    db,
    status_of,
    stock_rows,
    store,
    two_warehouses,
    want,
)

REF = "cart:c1:sku:101"


async def test_a_refused_increase_leaves_the_old_hold_whole(
    store: InventoryStore, db: Database
) -> None:
    await two_warehouses(db, main=2, overflow=1)
    held = await store.hold_stock(hold_ref=REF, items=[want(2)], now=NOW, ttl=TTL)
    assert held.ok and held.expires_at == NOW + TTL
    refused = await store.hold_stock(hold_ref=REF, items=[want(5)], now=NOW, ttl=TTL)
    assert not refused.ok and refused.shortages == {SKU: 3}  # what this hold could have
    assert await stock_rows(db) == {"MAIN": (2, 2), "OVERFLOW": (1, 0)}
    grown = await store.hold_stock(hold_ref=REF, items=[want(3)], now=NOW, ttl=TTL)
    assert grown.ok and grown.expires_at == NOW + TTL  # a resize keeps the expiry
    assert await stock_rows(db) == {"MAIN": (2, 2), "OVERFLOW": (1, 1)}


async def test_a_lapsed_hold_is_not_resized_down_but_can_be_taken_afresh(
    store: InventoryStore,
    db: Database,
) -> None:
    await two_warehouses(db, main=3, overflow=0)
    await store.hold_stock(hold_ref=REF, items=[want(2)], now=NOW, ttl=TTL)
    later = NOW + TTL + timedelta(seconds=1)  # lapsed; the sweeper has not come yet
    shrunk = await store.hold_stock(hold_ref=REF, items=[want(1)], now=later, ttl=TTL, create=False)
    assert not shrunk.ok
    assert await stock_rows(db) == {"MAIN": (3, 2), "OVERFLOW": (0, 0)}  # the sweeper's
    again = await store.hold_stock(hold_ref=REF, items=[want(3)], now=later, ttl=TTL)
    assert again.ok and again.expires_at == later + TTL
    assert await stock_rows(db) == {"MAIN": (3, 3), "OVERFLOW": (0, 0)}  # counted once


async def test_a_hold_is_extended_once(store: InventoryStore, db: Database) -> None:
    await two_warehouses(db, main=1, overflow=0)
    await store.hold_stock(hold_ref=REF, items=[want(1)], now=NOW, ttl=TTL)
    first = NOW + timedelta(minutes=5)
    assert await store.extend_holds([REF], first, TTL) == {REF: first + TTL}
    assert await store.extend_holds([REF], first + timedelta(minutes=5), TTL) == {}
    assert await store.sweep_expired(first + TTL) == 1
    assert await stock_rows(db) == {"MAIN": (1, 0), "OVERFLOW": (0, 0)}


async def test_converting_holds_takes_the_order_once_across_warehouses(
    store: InventoryStore,
    db: Database,
) -> None:
    await two_warehouses(db, main=2, overflow=2)
    await store.hold_stock(hold_ref=REF, items=[want(3)], now=NOW, ttl=TTL)  # split 2 + 1
    order = await store.reserve_converting_holds(
        order_ref="order-1", items=[want(4)], hold_refs=[REF], now=NOW, ttl=TTL
    )
    assert order.ok
    assert await stock_rows(db) == {"MAIN": (2, 2), "OVERFLOW": (2, 2)}  # 4, not 3 + 4
    assert await status_of(store, REF) is ReservationStatus.RELEASED
    short = await store.reserve_converting_holds(
        order_ref="order-2", items=[want(1)], hold_refs=[REF], now=NOW, ttl=TTL
    )
    assert not short.ok and short.shortages == {SKU: 0}  # a spent hold gives nothing


async def test_a_carts_holds_and_stock_come_in_one_call(
    store: InventoryStore, db: Database
) -> None:
    await two_warehouses(db, main=3, overflow=1)
    await store.hold_stock(hold_ref=REF, items=[want(2)], now=NOW, ttl=TTL)
    seen = await store.cart_stock([REF, "cart:c1:sku:999"], [SKU, 999])
    assert set(seen.holds) == {REF} and seen.holds[REF].status is ReservationStatus.HELD
    assert seen.stock[SKU].available == 2, "the hold is counted out of the stock"
    assert seen.stock[999].available == 0, "every SKU asked for gets a level"
    nothing = await store.cart_stock([], [])
    assert (nothing.holds, nothing.stock) == ({}, {})
