"""The back office's composed order views over real HTTP on SQLite and PostgreSQL: one
order with its customer, lines, the live stock of each SKU, parcels, after-sales requests
and status history in one query, and the orders listing (by status, customer and placement
date, paged). Source calls are pinned: one per source method, whatever the page size."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.gateway.checkout_helpers import BACKENDS, Goods, Shop, global_id
from tests.gateway.order_ops import (
    after_sales_staff,
    ask,
    db_time,
    delivered_order,
    manager,
    order_shop,
    paid_order,
    pk_of,
    place,
    resolve,
)

DETAIL_FIELDS = """
  id number status createdAt
  cost { total { amount } }
  customer { id email name }
  lines {
    id productName quantity unitPrice { amount } total { amount }
    sku { id code stock { available onHand reserved warehouses { warehouseCode available } } }
  }
  shipments { id source status trackingNumber items { quantity line { id } } }
  payments { stage amount { amount } }
  afterSalesRequests {
    id kind status overdue refundAmount { amount }
    items { quantity line { id } }
    statusHistory { toStatus actor note }
  }
  statusHistory { fromStatus toStatus actor reason at }
"""
DETAIL = f"query OrderDetail($id: ID!) {{ order(id: $id) {{ {DETAIL_FIELDS} }} }}"
LISTING = f"""
query Orders($first: Int, $after: String, $status: OrderStatus, $customerId: ID,
             $createdFrom: DateTime, $createdTo: DateTime) {{
  orders(first: $first, after: $after, status: $status, customerId: $customerId,
         createdFrom: $createdFrom, createdTo: $createdTo) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ {DETAIL_FIELDS} }} }}
  }}
}}"""
# One call per source method, whatever the number of orders, lines, parcels or requests.
DETAIL_CALLS = {
    "orders.orders_by_ids": 1,
    "orders.customers_by_ids": 1,
    "orders.order_lines_by_order_ids": 1,
    "orders.shipments_by_order_ids": 1,
    "orders.payments_by_order_ids": 1,
    "orders.after_sales_by_order_ids": 1,
    "orders.after_sales_history_by_ids": 1,
    "orders.status_history_by_order_ids": 1,
    "catalog.skus_by_ids": 1,
    "inventory.stock_by_sku_ids": 1,
}


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from order_shop(tmp_path_factory, request.param, "backoffice-orders")


@pytest.fixture(scope="module")
def orders(shop: Shop) -> list[dict[str, Any]]:
    """Twelve orders of three buyers in every state, with parcels and requests."""
    goods = Goods(shop.plain_skus())
    skus = [goods.take() for _ in range(6)]
    made: list[dict[str, Any]] = []
    for n in range(12):
        buyer = 1 + n % 3
        lines = [(skus[n % 6].id, 1 + n % 2), (skus[(n + 1) % 6].id, 1)]
        key = f"view-{n}"
        if n % 4 == 0:
            made.append(place(shop, lines, buyer=buyer, key=key))
            continue
        order = paid_order(shop, lines, buyer=buyer, key=key)
        if n % 4 >= 2:
            order = delivered_order(shop, order)
            asked = ask(shop, order, "RETURN", [(order["lines"][0]["id"], 1)], buyer=buyer)
            if n % 4 == 3:
                assert resolve(shop, asked["request"]["id"], approve=True)["userErrors"] == []
        made.append(order)
    return made


def test_one_order_with_everything_staff_need_in_one_query(
    shop: Shop, orders: list[dict[str, Any]]
) -> None:
    order = orders[3]
    token = shop.staff_token("MANAGE_ORDERS", "MANAGE_STOCK")
    result, calls = shop.live.calls_during(DETAIL, {"id": order["id"]}, token=token)
    assert "errors" not in result, result["errors"]
    detail = result["data"]["order"]
    assert detail["customer"]["email"] == "customer1@example.com"
    assert detail["status"] == "COMPLETED"
    assert all(line["sku"]["stock"]["warehouses"] for line in detail["lines"])
    assert detail["shipments"] and all(s["status"] == "DELIVERED" for s in detail["shipments"])
    assert [r["status"] for r in detail["afterSalesRequests"]] == ["APPROVED"]
    assert [h["toStatus"] for h in detail["afterSalesRequests"][0]["statusHistory"]] == [
        "OPEN",
        "APPROVED",
    ]
    assert [h["toStatus"] for h in detail["statusHistory"]][-1] == "COMPLETED"
    assert calls == DETAIL_CALLS, calls
    print(
        f"\nback-office order detail ({shop.backend}): {sum(calls.values())} source calls {calls}"
    )


@pytest.mark.parametrize("first", [2, 12])
def test_a_page_of_orders_costs_one_call_per_source_method_whatever_its_size(
    shop: Shop, orders: list[dict[str, Any]], first: int
) -> None:
    token = shop.staff_token("MANAGE_ORDERS", "MANAGE_STOCK")
    result, calls = shop.live.calls_during(LISTING, {"first": first}, token=token)
    assert "errors" not in result, result["errors"]
    page = result["data"]["orders"]
    assert len(page["edges"]) == min(first, len(orders))
    expected = {k: v for k, v in DETAIL_CALLS.items() if k != "orders.orders_by_ids"}
    assert calls == {**expected, "orders.list_orders": 1}, calls


def test_the_listing_filters_by_status_customer_and_date_and_pages(
    shop: Shop, orders: list[dict[str, Any]]
) -> None:
    token = manager(shop)

    def walk(**filters: Any) -> tuple[list[str], int]:
        ids: list[str] = []
        after = None
        while True:
            page = shop.query(LISTING, {"first": 3, "after": after, **filters}, token=token)[
                "orders"
            ]
            ids += [e["node"]["id"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return ids, page["totalCount"]
            after = page["pageInfo"]["endCursor"]

    everything, total = walk()
    assert total == len(everything) == len(set(everything)) == len(orders)
    assert everything == [o["id"] for o in reversed(orders)], "newest first"

    pending, count = walk(status="PENDING_PAYMENT")
    assert set(pending) == {o["id"] for o in orders if o["status"] == "PENDING_PAYMENT"}
    assert count == len(pending) == 3

    customer = global_id("Customer", shop.customer_id("customer2@example.com"))
    mine, count = walk(customerId=customer)
    assert set(mine) == {o["id"] for i, o in enumerate(orders) if i % 3 == 1} and count == 4
    assert walk(customerId=customer, status="COMPLETED")[0] == [
        o["id"] for o in reversed(orders) if o["status"] == "COMPLETED" and orders.index(o) % 3 == 1
    ]
    assert walk(customerId=global_id("Sku", 1)) == ([], 0), "another type's id: nobody's orders"

    # Placement dates: move the first four orders back a week.
    week_ago = datetime.now(UTC) - timedelta(days=7)
    for o in orders[:4]:
        shop.sql(
            "orders",
            "UPDATE orders SET created_at = :t WHERE id = :i",
            {"t": db_time(shop, week_ago), "i": pk_of(o["id"])},
        )
    cut = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent, count = walk(createdFrom=cut)
    assert set(recent) == {o["id"] for o in orders[4:]} and count == 8
    older, count = walk(createdTo=cut)
    assert set(older) == {o["id"] for o in orders[:4]} and count == 4
    window = walk(
        createdFrom=(week_ago - timedelta(hours=1)).isoformat(), createdTo=cut, status="PAID"
    )
    assert window == ([orders[1]["id"]], 1)


def test_the_order_reads_the_same_for_its_buyer_without_staff_details(
    shop: Shop, orders: list[dict[str, Any]]
) -> None:
    order = orders[3]
    mine = shop.query(DETAIL, {"id": order["id"]}, token=shop.customer_token(1))["order"]
    assert mine["customer"]["email"] == "customer1@example.com"
    assert all(line["sku"]["stock"]["onHand"] is None for line in mine["lines"])
    assert {h["actor"] for h in mine["statusHistory"]} <= {"customer", "staff", "system"}
    assert shop.query(DETAIL, {"id": order["id"]}, token=shop.customer_token(2))["order"] is None
    # After-sales staff reach the order through a request, and see who acted.
    listed = shop.query(
        "query { afterSalesRequests(first: 50) { edges { node { id order { id number } } } } }",
        token=after_sales_staff(shop),
    )["afterSalesRequests"]["edges"]
    assert order["id"] in {e["node"]["order"]["id"] for e in listed}
