"""The storefront screens the benchmark measures, as the GraphQL a client sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MONEY = "{ amount currency }"

LISTING = f"""
query BenchListing {{
  products(first: 50) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{
      cursor
      node {{
        id slug name kind inStock
        category {{ id name }}
        priceRange {{ min {MONEY} max {MONEY} }}
        promotions {{ id name kind }}
        skus {{
          id code name
          price {{ list {MONEY} sale {MONEY} }}
          stock {{ available inStock }}
        }}
      }}
    }}
  }}
}}
"""

# The listing with the customer's own account beside it: a personal field, so the answer is
# the viewer's and always executes (the entity cache still serves the catalog part). What
# bench.tracing and bench.processes measure: execution, not the response cache.
LISTING_PERSONAL = LISTING.replace(
    "query BenchListing {", "query BenchListingPersonal {\n  viewer { id email }", 1
)

DETAIL = f"""
query BenchDetail($slug: String!) {{
  product(slug: $slug) {{
    id slug name description kind fulfillment published brand inStock
    presale {{ deposit {MONEY} startsAt endsAt shipsFrom }}
    category {{ id slug name parent {{ id slug name }} }}
    priceRange {{ min {MONEY} max {MONEY} }}
    skus {{
      id code name active purchaseLimit
      price {{ list {MONEY} sale {MONEY} }}
      stock {{ available inStock }}
    }}
    bundleItems {{
      quantity
      sku {{
        id code name
        product {{ id slug name }}
        price {{ list {MONEY} sale {MONEY} }}
        stock {{ available inStock }}
      }}
    }}
    promotions {{ id name kind description startsAt endsAt couponRequired }}
  }}
}}
"""

CATEGORY_TREE = f"""
query BenchCategoryTree {{
  categories {{
    id slug name
    parent {{ id }}
    products(first: 5) {{
      totalCount
      edges {{ node {{ id name priceRange {{ min {MONEY} max {MONEY} }} }} }}
    }}
  }}
}}
"""


LARGE_SIZE = 250

LARGE = f"""
query BenchLarge {{
  products(first: {LARGE_SIZE}) {{
    edges {{
      node {{
        id name
        skus {{
          id code
          price {{ list {MONEY} sale {MONEY} }}
          stock {{ available inStock }}
        }}
      }}
    }}
  }}
}}
"""


# The back office's order view (as tests/gateway/test_backoffice_order_view.py pins it at
# one source call per method): a page of orders, each with its customer, lines and the
# live stock of their SKUs, parcels, payments and after-sales requests.
ORDERS_SIZE = 10

ORDERS = f"""
query BenchOrders {{
  orders(first: {ORDERS_SIZE}) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{
      cursor
      node {{
        id number status createdAt
        cost {{ subtotal {MONEY} shippingTotal {MONEY} total {MONEY} }}
        customer {{ id email name }}
        lines {{
          id productName quantity unitPrice {MONEY} total {MONEY}
          sku {{ id code stock {{ available warehouses {{ warehouseCode available }} }} }}
        }}
        shipments {{ id source status trackingNumber items {{ quantity line {{ id }} }} }}
        payments {{ stage amount {MONEY} }}
        afterSalesRequests {{
          id kind status refundAmount {MONEY}
          items {{ quantity line {{ id }} }}
        }}
      }}
    }}
  }}
}}
"""
# What the staff member asking for it holds (warehouse stock is MANAGE_STOCK's).
ORDERS_PERMISSIONS = ("MANAGE_ORDERS", "MANAGE_STOCK")


@dataclass(frozen=True)
class Scenario:
    name: str  # as given to --scenarios
    title: str  # as printed in the tables
    query: str
    handwritten_path: str  # the hand-written app's endpoint for the same screen
    staff: tuple[str, ...] = ()  # permissions of the staff token sent with it (none: anonymous)
    signed_in: bool = False  # sent with a customer's token (a signed-in buyer)

    def variables(self, detail_slug: str) -> dict[str, Any]:
        return {"slug": detail_slug} if self.name == "detail" else {}

    def path(self, detail_slug: str) -> str:
        if self.name == "detail":
            return f"{self.handwritten_path}?slug={detail_slug}"
        return self.handwritten_path


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("listing", "listing (50 products)", LISTING, "/listing"),
        Scenario(
            "listing-signed-in",
            "listing, signed in (50 products)",
            LISTING,
            "/listing",
            signed_in=True,
        ),
        Scenario("large", "large (250 products x SKUs x price, stock)", LARGE, "/large"),
        Scenario("detail", "product detail", DETAIL, "/product"),
        Scenario("categories", "category tree", CATEGORY_TREE, "/categories"),
        Scenario("orders", "back-office order view", ORDERS, "/orders", ORDERS_PERMISSIONS),
    )
}
