"""The operations GraphiQL opens on: one tab each, in the order a newcomer meets the shop.

The first runs as it is on the demo shop (anonymous browsing); the cart tab creates a cart
anonymously and needs a customer's token only to place the order; the back-office tabs need
a staff token. Each tab's headers explain how to print one. Keys starting with ``//`` in the
headers editor are notes: the page's fetcher drops them (GraphiQL only accepts JSON there,
and JSON has no comments). tests/graphiql/test_examples.py validates every
operation against the schema and runs it on the demo shop, so an example cannot drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# A plain warehouse SKU of the deterministic demo shop `gateway seed` writes (240 products
# by default): Sable Soymilk Maker Mini, 200+ in stock, no purchase limit, no presale.
DEMO_SKU_ID = "U2t1OjE="  # the Relay id of Sku 1
DEMO_ADDRESS = {
    "name": "Wang Wei",
    "phone": "13800138000",
    "country": "CN",
    "region": "CN-SH",
    "city": "Shanghai",
    "line1": "1 Renmin Road",
    "postalCode": "200000",
}
NOTES_KEY = "//"
TOKEN_NOTE = "// run"  # the command that prints a token


def token_notes(kind: str, account: str, *, needed_for: str) -> dict[str, str]:
    """Headers that explain, in the headers editor itself, how to paste a demo token."""
    return {
        NOTES_KEY: needed_for,
        TOKEN_NOTE: f".venv/bin/gateway token {kind} {account}",
        "// Authorization": "Bearer <paste it, drop the // on the left>",
        "// notes": "keys starting with // are not sent",
    }


@dataclass(frozen=True, slots=True)
class Example:
    title: str  # for the README and the tests; GraphiQL names a tab after its first operation
    query: str
    variables: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def tab(self) -> dict[str, str]:
        """As GraphiQL's ``defaultTabs`` takes it: three strings."""
        return {
            "query": self.query,
            "variables": json.dumps(self.variables, indent=2) if self.variables else "",
            "headers": json.dumps(self.headers, indent=2) if self.headers else "",
        }


STOREFRONT = Example(
    title="Storefront: a product listing",
    query="""# The commerce gateway's GraphiQL, on the demo shop.
#
# Ctrl-Enter (or the pink play button) runs this
# listing as a storefront does: anonymously, in one
# round trip, prices and stock included.
#
# More tabs above: cart and checkout, a back-office
# order view, a low-stock list. Explorer (left): click
# a query together. Docs (book icon): the schema.
query StorefrontProducts {
  products(
    first: 5
    filter: {categorySlug: "electronics", inStock: true}
    sort: PRICE_ASC
  ) {
    totalCount
    edges {
      node {
        name
        brand
        priceRange { min { amount currency } }
        inStock
        promotions { name }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
""",
    headers=token_notes(
        "customer",
        "customer1@example.com",
        needed_for="No token needed: you browse as an anonymous buyer.",
    ),
)

CART_AND_CHECKOUT = Example(
    title="Cart and checkout (with variables)",
    query="""# A buyer's cart and checkout, in three operations:
# put the cursor in one and press Ctrl-Enter (or pick
# it from the play button's menu).
#
# 1. CartCreate: a cart with one SKU and a Shanghai
#    address (anonymous is fine).
# 2. Copy cart.id into "cartId" and cost.total.amount
#    into "expectedTotal" (Variables, below); CartReview
#    shows every problem checkout would find.
# 3. CheckoutComplete places the order; it needs a
#    customer's token (see Headers). The same
#    idempotencyKey twice returns the same order.
mutation CartCreate($lines: [CartLineInput!], $address: AddressInput) {
  cartCreate(input: {lines: $lines, shippingAddress: $address}) {
    cart { ...CartView }
    userErrors { code field message lineId }
  }
}

query CartReview($cartId: ID!) {
  cart(id: $cartId) { ...CartView }
}

mutation CheckoutComplete(
  $cartId: ID!
  $idempotencyKey: String!
  $expectedTotal: Decimal!
) {
  checkoutComplete(
    cartId: $cartId
    idempotencyKey: $idempotencyKey
    expectedTotal: $expectedTotal
  ) {
    order { id number status cost { total { amount currency } } }
    userErrors { code field message lineId }
  }
}

fragment CartView on Cart {
  id
  lines {
    quantity
    sku { code product { name } }
    unitPrice { amount }
    total { amount }
  }
  cost {
    subtotal { amount }
    discountTotal { amount }
    shippingTotal { amount }
    total { amount currency }
  }
  validation { ok errors { code field message lineId } }
}
""",
    variables={
        "lines": [{"skuId": DEMO_SKU_ID, "quantity": 1}],
        "address": DEMO_ADDRESS,
        "cartId": "<paste cart.id from CartCreate>",
        "expectedTotal": "<paste cost.total.amount>",
        "idempotencyKey": "my-first-order-1",
    },
    headers=token_notes(
        "customer",
        "customer1@example.com",
        needed_for="CheckoutComplete needs a customer's token.",
    ),
)

BACK_OFFICE_ORDERS = Example(
    title="Back office: orders with customer, lines, live stock and parcels",
    query="""# The back office's order view, from four systems in
# one query: each order with its customer, its lines
# and the live stock per warehouse of each SKU,
# parcels, payments, after-sales requests, history.
#
# Needs a staff token with MANAGE_ORDERS (MANAGE_STOCK
# for the stock detail): see Headers. Empty until an
# order is placed (the cart tab places one).
query BackOfficeOrders {
  orders(first: 5) {
    totalCount
    edges {
      node {
        number
        status
        createdAt
        customer { email name }
        cost { total { amount currency } }
        lines {
          productName
          quantity
          total { amount }
          sku {
            code
            stock { available onHand reserved warehouses { warehouseCode available } }
          }
        }
        shipments { source status carrier trackingNumber }
        payments { stage amount { amount } }
        afterSalesRequests { kind status overdue }
        statusHistory { fromStatus toStatus actor at }
      }
    }
  }
}
""",
    headers=token_notes(
        "staff", "admin@example.com", needed_for="Staff only: without a token, no orders."
    ),
)

LOW_STOCK = Example(
    title="Back office: low-stock list",
    query="""# SKUs whose stock available to sell is under the
# threshold, lowest first, with each warehouse's stock.
# Needs a staff token with MANAGE_STOCK: see Headers.
query LowStock($threshold: Int!) {
  lowStock(threshold: $threshold, first: 20) {
    totalCount
    edges {
      available
      node {
        code
        name
        product { name }
        stock { onHand reserved warehouses { warehouseCode available } }
      }
    }
  }
}
""",
    variables={"threshold": 10},
    headers=token_notes(
        "staff", "admin@example.com", needed_for="Staff only: without a token, null."
    ),
)

EXAMPLES = (STOREFRONT, CART_AND_CHECKOUT, BACK_OFFICE_ORDERS, LOW_STOCK)


def default_tabs() -> list[dict[str, str]]:
    return [example.tab() for example in EXAMPLES]
