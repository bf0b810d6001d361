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


@dataclass(frozen=True)
class Scenario:
    name: str  # as given to --scenarios
    title: str  # as printed in the tables
    query: str
    handwritten_path: str  # the hand-written app's endpoint for the same screen

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
        Scenario("large", "large (250 products x SKUs x price, stock)", LARGE, "/large"),
        Scenario("detail", "product detail", DETAIL, "/product"),
        Scenario("categories", "category tree", CATEGORY_TREE, "/categories"),
    )
}
