"""Orders for the bench shop, so the back-office order view has something to show.

The demo seed has customers but no orders. These are placed the way a shop gets them:
each through the gateway's own checkout (``cartCreate``, ``cartShippingAddressSet``,
``checkoutComplete`` as the buyer), then moved along by staff (``orderMarkPaid``, the
parcels shipped and delivered) and, for some, a return asked for by the buyer, all
in-process over the shop's sources. Which buyer, which SKUs and how far each order goes
is fixed by a seeded random generator, so every freshly seeded shop holds the same orders
(their numbers and times are the day's).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from sqlalchemy import text

from gateway.auth import Permission, Viewer, ViewerKind
from gateway.execution import STANDARD
from gateway.execution.inprocess import InProcess
from gateway.settings import Settings
from gateway.sources import Sources
from sources.common.db import Database

from .checkout import ADDRESS, ADDRESS_SET, CART_CREATE, CHECKOUT, _plain_skus, _sku_gid

ORDER_COUNT = 16
BUYERS = 8  # customer1..8
MANAGER = Viewer(
    ViewerKind.STAFF, "1", frozenset({Permission.MANAGE_ORDERS, Permission.MANAGE_STOCK})
)

MARK_PAID = """
mutation MarkPaid($id: ID!) {
  orderMarkPaid(orderId: $id) {
    order { id status shipments { id } lines { id } }
    userErrors { code message }
  }
}"""
SHIP = """
mutation Ship($id: ID!, $tracking: String!) {
  shipmentMarkShipped(shipmentId: $id, carrier: "SF Express", trackingNumber: $tracking) {
    shipment { id } userErrors { code message }
  }
}"""
DELIVER = """
mutation Deliver($id: ID!) {
  shipmentMarkDelivered(shipmentId: $id) { shipment { id } userErrors { code message } }
}"""
ASK = """
mutation Ask($input: AfterSalesRequestInput!) {
  afterSalesRequestCreate(input: $input) { request { id } userErrors { code message } }
}"""


class SeedFailed(RuntimeError):
    pass


def _buyer(number: int) -> Viewer:
    return Viewer(ViewerKind.CUSTOMER, str(number))


async def _run(
    gateway: InProcess, query: str, variables: dict[str, Any], viewer: Viewer, name: str
) -> dict[str, Any]:
    answer = await gateway.execute(STANDARD, query, variables, viewer=viewer)
    if answer.get("errors"):
        raise SeedFailed(f"{name}: {answer['errors'][0].get('message')}")
    payload: dict[str, Any] = answer["data"][name]
    if payload["userErrors"]:
        raise SeedFailed(f"{name}: {payload['userErrors']}")
    return payload


async def _stocked(inventory_url: str, minimum: int) -> set[int]:
    """SKUs with at least ``minimum`` units free over their warehouses."""
    db = Database(inventory_url)
    try:
        async with db.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT sku_id FROM stock_items GROUP BY sku_id "
                    "HAVING SUM(on_hand - reserved) >= :minimum"
                ),
                {"minimum": minimum},
            )
            return {int(i) for (i,) in rows}
    finally:
        await db.dispose()


async def _blocked(orders_url: str) -> set[int]:
    db = Database(orders_url)
    try:
        async with db.connect() as conn:
            rows = await conn.execute(text("SELECT id FROM customers WHERE is_blocked"))
            return {int(i) for (i,) in rows}
    finally:
        await db.dispose()


async def seed_orders(urls: dict[str, str], count: int = ORDER_COUNT) -> None:
    """``count`` orders of customers 1..BUYERS: a quarter left unpaid, a quarter paid,
    a quarter delivered, a quarter delivered with a return asked for."""
    dbs = {name: Database(url) for name, url in urls.items()}
    try:
        plain = await _plain_skus(dbs)
    finally:
        for db in dbs.values():
            await db.dispose()
    stocked = await _stocked(urls["inventory"], 2 * count)
    skus = [s for s in plain if s in stocked][:200]
    blocked = await _blocked(urls["orders"])
    buyers = [n for n in range(1, BUYERS + 1) if n not in blocked]
    values: dict[str, Any] = {f"{name}_database_url": url for name, url in urls.items()}
    settings = Settings(**values, log_level="WARNING", log_format="console")
    sources = Sources.from_settings(settings)
    gateway = InProcess(settings, sources)
    rng = random.Random(20261125)
    try:
        for n in range(count):
            buyer = _buyer(buyers[n % len(buyers)])
            chosen = rng.sample(skus, 1 + n % 3)
            lines = [{"skuId": _sku_gid(s), "quantity": 1 + rng.randrange(2)} for s in chosen]
            cart = await _run(
                gateway, CART_CREATE, {"input": {"lines": lines}}, buyer, "cartCreate"
            )
            cart_id = cart["cart"]["id"]
            addressed = await _run(
                gateway,
                ADDRESS_SET,
                {"cartId": cart_id, "address": ADDRESS},
                buyer,
                "cartShippingAddressSet",
            )
            placed = await _run(
                gateway,
                CHECKOUT,
                {
                    "cartId": cart_id,
                    "key": uuid.UUID(int=rng.getrandbits(128)).hex,
                    "total": addressed["cart"]["cost"]["total"]["amount"],
                },
                buyer,
                "checkoutComplete",
            )
            stage = n % 4
            if stage == 0:
                continue
            order = (
                await _run(
                    gateway, MARK_PAID, {"id": placed["order"]["id"]}, MANAGER, "orderMarkPaid"
                )
            )["order"]
            if stage == 1:
                continue
            for i, shipment in enumerate(order["shipments"]):
                tracking = f"SF{n:04d}{i:02d}"
                await _run(
                    gateway,
                    SHIP,
                    {"id": shipment["id"], "tracking": tracking},
                    MANAGER,
                    "shipmentMarkShipped",
                )
                await _run(
                    gateway, DELIVER, {"id": shipment["id"]}, MANAGER, "shipmentMarkDelivered"
                )
            if stage == 3:
                request = {
                    "orderId": order["id"],
                    "kind": "RETURN",
                    "lines": [{"orderLineId": order["lines"][0]["id"], "quantity": 1}],
                    "reason": "not as described",
                }
                await _run(gateway, ASK, {"input": request}, buyer, "afterSalesRequestCreate")
    finally:
        await sources.close()
