"""What must hold in a shop's databases whatever was sent to it: stock never negative,
reserved never above on hand, each order's line discounts add up to its discount, and
every live order holds its stock. Read straight from the sources' databases (SQL), not
through the gateway being tested. Shared by the fuzzers and the soak."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from sources.common.db import Database


async def _rows(url: str, statement: str) -> list[Any]:
    db = Database(url, pool_size=1)
    try:
        async with db.connect() as conn:
            return list((await conn.execute(text(statement))).all())
    finally:
        await db.dispose()


def rows(url: str, statement: str) -> list[Any]:
    return asyncio.run(_rows(url, statement))


def violations(urls: dict[str, str]) -> list[str]:
    """Every broken invariant, described; [] when the shop is consistent."""
    found: list[str] = []
    for sku, warehouse, on_hand, reserved in rows(
        urls["inventory"],
        "SELECT sku_id, warehouse_id, on_hand, reserved FROM stock_items "
        "WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand",
    ):
        found.append(f"stock of SKU {sku} in warehouse {warehouse}: {on_hand=} {reserved=}")
    discounts = {
        order_id: (Decimal(str(total)), Decimal(str(lines or 0)))
        for order_id, total, lines in rows(
            urls["orders"],
            "SELECT o.id, o.discount_total, (SELECT SUM(d.amount) FROM order_line_discounts d"
            " JOIN order_lines l ON l.id = d.line_id WHERE l.order_id = o.id) FROM orders o",
        )
    }
    for order_id, (total, lines) in discounts.items():
        if total != lines:
            found.append(f"order {order_id}: discount {total} but its lines' discounts {lines}")
    live = {
        ref
        for (ref,) in rows(
            urls["orders"], "SELECT order_ref FROM orders WHERE status <> 'CANCELLED'"
        )
    }
    held = {
        ref
        for (ref,) in rows(
            urls["inventory"],
            "SELECT order_ref FROM reservations WHERE status IN ('CONFIRMED', 'SOLD')",
        )
    }
    for ref in sorted(live - held):
        found.append(f"order {ref} holds no stock")
    return found


def counts(urls: dict[str, str]) -> dict[str, int]:
    """Orders, units ordered and units held or sold: for the soak's 'orders = stock sold'."""
    [(orders, units)] = rows(
        urls["orders"],
        "SELECT COUNT(DISTINCT o.id), COALESCE(SUM(l.quantity), 0) FROM orders o "
        "JOIN order_lines l ON l.order_id = o.id WHERE o.status <> 'CANCELLED'",
    )
    [(held,)] = rows(
        urls["inventory"],
        "SELECT COALESCE(SUM(rl.quantity), 0) FROM reservation_lines rl JOIN reservations r"
        " ON r.id = rl.reservation_id WHERE r.status IN ('CONFIRMED', 'SOLD')",
    )
    [(pending,)] = rows(
        urls["inventory"], "SELECT COUNT(*) FROM reservations WHERE status = 'HELD'"
    )
    return {
        "orders": int(orders),
        "units_ordered": int(units),
        "units_held_or_sold": int(held),
        "holds_pending": int(pending),
    }
