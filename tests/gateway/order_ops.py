"""What the order-operations tests share (lifecycle, after-sales, settlement, back-office
views): the back office's and the buyer's requests as a client sends them, and small steps
that put an order where a test needs it (placed, paid, shipped), each through the API."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.gateway.checkout_helpers import Goods, Shop, SkuFacts, codes, open_shop

USER_ERRORS = "userErrors { code field message lineId }"
LINE = "id productName quantity sku { id } unitPrice { amount } total { amount }"
SHIPMENT = """
  id source status carrier trackingNumber shippedAt deliveredAt
  items { quantity line { id } }
  lines { id }
"""
REQUEST = """
  id kind status reason createdAt overdue resolutionNote
  refundAmount { amount currency }
  items { quantity refundAmount { amount } line { id } }
  lines { id }
  order { id }
  statusHistory { fromStatus toStatus note actor at }
"""
ORDER = f"""
  id number status createdAt
  cost {{ subtotal {{ amount }} discountTotal {{ amount }} shippingTotal {{ amount }}
          total {{ amount }} depositDue {{ amount }} }}
  lines {{ {LINE} discounts {{ amount {{ amount }} promotion {{ id name }} }} }}
  shipments {{ {SHIPMENT} }}
  serviceAppointments {{ id status line {{ id }} }}
  payments {{ stage amount {{ amount }} at }}
  statusHistory {{ fromStatus toStatus reason actor at }}
  afterSalesRequests {{ id kind status refundAmount {{ amount }} }}
"""

MARK_PAID = f"""
mutation MarkPaid($id: ID!) {{
  orderMarkPaid(orderId: $id) {{ order {{ {ORDER} }} {USER_ERRORS} }}
}}"""
SHIP = f"""
mutation Ship($id: ID!, $carrier: String!, $tracking: String!) {{
  shipmentMarkShipped(shipmentId: $id, carrier: $carrier, trackingNumber: $tracking) {{
    shipment {{ {SHIPMENT} order {{ id status }} }} {USER_ERRORS}
  }}
}}"""
DELIVER = f"""
mutation Deliver($id: ID!) {{
  shipmentMarkDelivered(shipmentId: $id) {{
    shipment {{ {SHIPMENT} order {{ id status }} }} {USER_ERRORS}
  }}
}}"""
CANCEL = f"""
mutation Cancel($id: ID!, $reason: String!) {{
  orderCancel(orderId: $id, reason: $reason) {{ order {{ {ORDER} }} {USER_ERRORS} }}
}}"""
ORDER_QUERY = f"query Order($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}"
REQUEST_CREATE = f"""
mutation Ask($input: AfterSalesRequestInput!) {{
  afterSalesRequestCreate(input: $input) {{ request {{ {REQUEST} }} {USER_ERRORS} }}
}}"""
REQUEST_RESOLVE = f"""
mutation Resolve($id: ID!, $approve: Boolean!, $note: String!, $key: String) {{
  afterSalesRequestResolve(requestId: $id, approve: $approve, note: $note, idempotencyKey: $key) {{
    request {{ {REQUEST} }} {USER_ERRORS}
  }}
}}"""
REQUEST_COMPLETE = f"""
mutation Complete($id: ID!) {{
  afterSalesRequestComplete(requestId: $id) {{ request {{ {REQUEST} }} {USER_ERRORS} }}
}}"""
REQUESTS = f"""
query Requests($first: Int, $after: String, $status: AfterSalesStatus) {{
  afterSalesRequests(first: $first, after: $after, status: $status) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ {REQUEST} }} }}
  }}
}}"""


def order_shop(
    tmp_path_factory: pytest.TempPathFactory, backend: str, name: str, **kw: Any
) -> Iterator[Shop]:
    """A freshly seeded shop for one module on ``backend`` (writes never reach the session
    shop), its shared cache off so the stock a test reads is the stock the sources hold."""
    kw.setdefault("cache", {"enabled": False})
    # One approval per request, as these tests were written (the demo shop's refunds often
    # pass the default ¥2,000.00); test_four_eyes_refunds.py sets its own threshold.
    kw.setdefault("refund_second_approval_above", Decimal("1000000000.00"))
    yield from open_shop(backend, tmp_path_factory.mktemp(f"{name}-{backend}"), **kw)


WAREHOUSE_STOCK = """
query Stock($id: ID!) {
  node(id: $id) {
    ... on Sku {
      stock { onHand reserved available
              warehouses { warehouseCode onHand reserved available } }
    }
  }
}"""


def stock(shop: Shop, sku_gid: str) -> dict[str, Any]:
    """A SKU's stock as MANAGE_STOCK staff see it."""
    found: dict[str, Any] = shop.query(
        WAREHOUSE_STOCK, {"id": sku_gid}, token=shop.staff_token("MANAGE_STOCK")
    )["node"]["stock"]
    return found


def by_warehouse(shop: Shop, sku_gid: str) -> dict[str, dict[str, int]]:
    return {w["warehouseCode"]: w for w in stock(shop, sku_gid)["warehouses"]}


def manager(shop: Shop) -> str:
    return shop.staff_token("MANAGE_ORDERS")


def after_sales_staff(shop: Shop) -> str:
    return shop.staff_token("MANAGE_AFTER_SALES")


def place(
    shop: Shop,
    lines: list[tuple[int, int]],
    *,
    buyer: int,
    key: str,
    coupons: list[str] | None = None,
) -> dict[str, Any]:
    """A placed order (PENDING_PAYMENT) of customer ``buyer``, read back in full."""
    placed = shop.buy(lines, token=shop.customer_token(buyer), key=key, coupons=coupons)
    return read_order(shop, placed["id"])


def mark_paid(shop: Shop, order_id: str, *, token: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = shop.query(MARK_PAID, {"id": order_id}, token=token or manager(shop))[
        "orderMarkPaid"
    ]
    return payload


def paid(shop: Shop, order_id: str) -> dict[str, Any]:
    payload = mark_paid(shop, order_id)
    assert payload["userErrors"] == [], payload["userErrors"]
    assert payload["order"]["status"] == "PAID", payload["order"]["status"]
    return payload["order"]  # type: ignore[no-any-return]


def paid_order(
    shop: Shop,
    lines: list[tuple[int, int]],
    *,
    buyer: int,
    key: str,
    coupons: list[str] | None = None,
) -> dict[str, Any]:
    order = place(shop, lines, buyer=buyer, key=key, coupons=coupons)
    return paid(shop, order["id"])


def ship(shop: Shop, shipment_id: str, *, tracking: str = "SF100200300") -> dict[str, Any]:
    payload: dict[str, Any] = shop.query(
        SHIP,
        {"id": shipment_id, "carrier": "SF Express", "tracking": tracking},
        token=manager(shop),
    )["shipmentMarkShipped"]
    return payload


def deliver(shop: Shop, shipment_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = shop.query(DELIVER, {"id": shipment_id}, token=manager(shop))[
        "shipmentMarkDelivered"
    ]
    return payload


def delivered_order(shop: Shop, order: dict[str, Any]) -> dict[str, Any]:
    for shipment in order["shipments"]:
        assert ship(shop, shipment["id"])["userErrors"] == []
        assert deliver(shop, shipment["id"])["userErrors"] == []
    return read_order(shop, order["id"])


def read_order(shop: Shop, order_id: str, *, token: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = shop.query(ORDER_QUERY, {"id": order_id}, token=token or manager(shop))[
        "order"
    ]
    return found


def ask(
    shop: Shop,
    order: dict[str, Any],
    kind: str,
    units: list[tuple[str, int]],
    *,
    buyer: int,
    reason: str = "not as described",
) -> dict[str, Any]:
    """afterSalesRequestCreate as the buyer sends it: the payload."""
    payload: dict[str, Any] = shop.query(
        REQUEST_CREATE,
        {
            "input": {
                "orderId": order["id"],
                "kind": kind,
                "lines": [{"orderLineId": lid, "quantity": qty} for lid, qty in units],
                "reason": reason,
            }
        },
        token=shop.customer_token(buyer),
    )["afterSalesRequestCreate"]
    return payload


def resolve(
    shop: Shop, request_id: str, *, approve: bool, note: str = "ok", key: str | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = shop.query(
        REQUEST_RESOLVE,
        {"id": request_id, "approve": approve, "note": note, "key": key},
        token=after_sales_staff(shop),
    )["afterSalesRequestResolve"]
    return payload


def complete(shop: Shop, request_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = shop.query(
        REQUEST_COMPLETE, {"id": request_id}, token=after_sales_staff(shop)
    )["afterSalesRequestComplete"]
    return payload


def amount(value: dict[str, Any] | None) -> Decimal:
    assert value is not None
    return Decimal(value["amount"])


def error_codes(payload: dict[str, Any]) -> list[str]:
    return codes(payload["userErrors"])


def sku_in_two_warehouses(shop: Shop, goods: Goods) -> SkuFacts:
    """A plain SKU stocked in at least two warehouses (to split an order over them)."""
    for _ in range(50):
        sku = goods.take()
        if len(shop.stock_rows(sku.id)) >= 2:
            return sku
    raise AssertionError("no plain SKU of the demo shop is stocked in two warehouses")


def db_time(shop: Shop, value: datetime) -> Any:
    """A moment as the sources' columns store it (naive UTC text on SQLite), for SQL that
    moves a row back in time."""
    if shop.backend == "sqlite":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def unit_shares(total: Decimal, quantity: int) -> list[Decimal]:
    """The test's own largest-remainder split of a line total over its units (the extra
    cents to the first units), to check the gateway's refunds against."""
    cents = int(total * 100)
    base, extra = divmod(cents, quantity)
    return [Decimal(base + (1 if i < extra else 0)) / 100 for i in range(quantity)]


def pk_of(global_id: str) -> int:
    return int(
        base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode().split(":")[1]
    )
